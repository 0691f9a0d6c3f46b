/*
 * Datasets: building from arrays, splitting, subsets, standardisation
 * statistics, and rw_dataset_open, which turns a SPEC into one of the
 * formats in idx.c, csv.c or synth.c (the object itself: dataset_alloc.c).
 */
#include "data/data.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The LABEL part of a name written by rw_dataset_describe: everything
 * before the last ": " (the counts after it never contain one). */
static void name_label(const rw_dataset *ds, char *out, size_t cap)
{
    const char *end = NULL;
    for (const char *p = strstr(ds->name, ": "); p; p = strstr(p + 1, ": "))
        end = p;
    size_t len = end ? (size_t)(end - ds->name) : strlen(ds->name);
    if (len >= cap)
        len = cap - 1;
    memcpy(out, ds->name, len);
    out[len] = '\0';
}

/* ---------------- building, subsets, splits ---------------- */

/* The checks shared by rw_dataset_from_arrays and rw_dataset_wrap; `what`
 * starts the messages. Returns false with err set. */
static bool check_arrays(const char *what, const float *x,
                         const int32_t *labels, const float *targets,
                         size_t n, size_t n_features, size_t n_targets,
                         size_t n_classes, rw_error *err)
{
    if (!x || n == 0 || n_features == 0) {
        rw_fail(err, RW_ERR_ARG, "%s: needs x with n > 0 "
                "samples and > 0 features (got n=%zu, features=%zu)", what,
                n, n_features);
        return false;
    }
    if (n_classes > 0) {
        if (!labels || targets) {
            rw_fail(err, RW_ERR_ARG, "%s: with %zu classes "
                    "give labels and no targets", what, n_classes);
            return false;
        }
        if (n_classes > INT32_MAX) {
            rw_fail(err, RW_ERR_ARG, "%s: %zu classes is "
                    "too many", what, n_classes);
            return false;
        }
    } else if (!targets || labels || n_targets == 0) {
        rw_fail(err, RW_ERR_ARG, "%s: with 0 classes "
                "(regression) give targets (n_targets > 0) and no labels", what);
        return false;
    }

    size_t nx, ny = 0;
    if (!rw_mul_ok(n, n_features, &nx) ||
        (n_classes == 0 && !rw_mul_ok(n, n_targets, &ny))) {
        rw_fail(err, RW_ERR_NOMEM, "%s: size overflows", what);
        return false;
    }
    for (size_t i = 0; i < nx; i++)
        if (!isfinite(x[i])) {
            rw_fail(err, RW_ERR_DATA, "%s: x of sample %zu, "
                    "feature %zu is not a finite number", what,
                    i / n_features, i % n_features);
            return false;
        }
    if (n_classes > 0) {
        for (size_t i = 0; i < n; i++)
            if (labels[i] < 0 || (size_t)labels[i] >= n_classes) {
                rw_fail(err, RW_ERR_DATA, "%s: label %d of "
                        "sample %zu is outside 0..%zu", what, (int)labels[i], i,
                        n_classes - 1);
                return false;
            }
    } else {
        for (size_t i = 0; i < ny; i++)
            if (!isfinite(targets[i])) {
                rw_fail(err, RW_ERR_DATA, "%s: target %zu of "
                        "sample %zu is not a finite number", what, i % n_targets,
                        i / n_targets);
                return false;
            }
    }

    return true;
}

rw_dataset *rw_dataset_from_arrays(const float *x, const int32_t *labels,
                                   const float *targets, size_t n,
                                   size_t n_features, size_t n_targets,
                                   size_t n_classes, rw_error *err)
{
    if (!check_arrays("dataset from arrays", x, labels, targets, n,
                      n_features, n_targets, n_classes, err))
        return NULL;
    size_t nx = n * n_features, ny = n_classes ? 0 : n * n_targets;
    rw_dataset *ds = rw_dataset_alloc(n, n_features, n_classes,
                                      n_classes ? 0 : n_targets, err);
    if (!ds)
        return NULL;
    memcpy(ds->x, x, nx * sizeof(float));
    if (n_classes)
        memcpy(ds->labels, labels, n * sizeof(int32_t));
    else
        memcpy(ds->y, targets, ny * sizeof(float));
    rw_dataset_describe(ds, "arrays");
    return ds;
}

rw_dataset *rw_dataset_wrap(const float *x, const int32_t *labels,
                            const float *targets, size_t n,
                            size_t n_features, size_t n_targets,
                            size_t n_classes, rw_error *err)
{
    if (!check_arrays("dataset wrapping arrays", x, labels, targets, n,
                      n_features, n_targets, n_classes, err))
        return NULL;
    rw_dataset *ds = rw_calloc(1, sizeof *ds, "dataset", err);
    if (!ds)
        return NULL;
    ds->n = n;
    ds->f = n_features;
    ds->classes = n_classes;
    ds->targets = n_classes ? 0 : n_targets;
    /* Never written through: every user of a dataset reads it. */
    ds->x = (float *)x;
    ds->labels = n_classes ? (int32_t *)labels : NULL;
    ds->y = n_classes ? NULL : (float *)targets;
    ds->borrowed = 1;
    rw_dataset_describe(ds, "arrays");
    return ds;
}

/* Copies the listed rows into a new dataset carrying the same metadata. */
static rw_dataset *gather(const rw_dataset *ds, const size_t *idx, size_t n,
                          const char *label, rw_error *err)
{
    rw_dataset *out = rw_dataset_alloc(n, ds->f, ds->classes, ds->targets, err);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t r = idx[i];
        memcpy(out->x + i * ds->f, ds->x + r * ds->f, ds->f * sizeof(float));
        if (ds->targets)
            memcpy(out->y + i * ds->targets, ds->y + r * ds->targets,
                   ds->targets * sizeof(float));
        else if (ds->labels)
            out->labels[i] = ds->labels[r];
    }
    out->img_h = ds->img_h;
    out->img_w = ds->img_w;
    out->class_names = ds->class_names;
    char base[sizeof ds->name];
    char full[sizeof ds->name + 32];
    name_label(ds, base, sizeof base);
    snprintf(full, sizeof full, "%s (%s)", base, label);
    rw_dataset_describe(out, full);
    return out;
}

rw_dataset *rw_dataset_subset(const rw_dataset *ds, const size_t *idx,
                              size_t n, rw_error *err)
{
    if (!ds || !idx || n == 0) {
        rw_fail(err, RW_ERR_ARG, "dataset subset: needs a dataset and at "
                "least one index");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= ds->n) {
            rw_fail(err, RW_ERR_ARG, "dataset subset: index %zu (position %zu) "
                    "is out of range for %zu samples", idx[i], i, ds->n);
            return NULL;
        }
    return gather(ds, idx, n, "subset", err);
}

rw_status rw_dataset_split(const rw_dataset *ds, double fraction,
                           uint64_t seed, rw_dataset **rest,
                           rw_dataset **held_out, rw_error *err)
{
    if (rest)
        *rest = NULL;
    if (held_out)
        *held_out = NULL;
    if (!ds || !rest || !held_out)
        return rw_fail(err, RW_ERR_ARG, "dataset split: NULL argument");
    if (!(fraction > 0.0 && fraction < 1.0))
        return rw_fail(err, RW_ERR_ARG, "dataset split: fraction %g is not "
                       "between 0 and 1", fraction);
    size_t n_held = (size_t)floor(fraction * (double)ds->n + 0.5);
    if (n_held == 0 || n_held >= ds->n)
        return rw_fail(err, RW_ERR_ARG, "dataset split: a fraction of %g of "
                       "%zu samples leaves one part empty", fraction, ds->n);

    size_t *perm = rw_alloc(ds->n, sizeof *perm, "dataset split", err);
    if (!perm)
        return err ? err->status : RW_ERR_NOMEM;
    for (size_t i = 0; i < ds->n; i++)
        perm[i] = i;
    rw_rng rng;
    rw_rng_seed(&rng, seed);
    for (size_t i = ds->n - 1; i > 0; i--) {
        size_t j = (size_t)rw_rng_below(&rng, (uint64_t)i + 1);
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    size_t n_rest = ds->n - n_held;
    rw_dataset *a = gather(ds, perm, n_rest, "rest of split", err);
    rw_dataset *b = a ? gather(ds, perm + n_rest, n_held, "held out", err) : NULL;
    rw_free(perm);
    if (!b) {
        rw_dataset_free(a);
        return err ? err->status : RW_ERR_NOMEM;
    }
    *rest = a;
    *held_out = b;
    return RW_OK;
}

/* ---------------- standardisation ---------------- */

/* Largest |x - mean| * scale a training value can reach: std is floored at
 * the largest deviation divided by this, so a feature that is nearly
 * constant with rare spikes (a border pixel) is not blown up. */
#define STD_MAX_Z 20.0
/* For images, whose pixels share one unit, std is also floored at this
 * share of the mean std over all pixels. */
#define STD_IMAGE_SHARE 0.1

rw_status rw_dataset_fit_standardize(const rw_dataset *ds, float *shift,
                                     float *scale, rw_error *err)
{
    if (!ds || !shift || !scale)
        return rw_fail(err, RW_ERR_ARG, "standardize: NULL argument");
    if (ds->n == 0)
        return rw_fail(err, RW_ERR_ARG, "standardize: empty dataset");
    size_t f = ds->f;
    double *acc = rw_calloc(f, 3 * sizeof(double), "standardize", err);
    if (!acc)
        return err ? err->status : RW_ERR_NOMEM;
    double *mean = acc, *var = acc + f, *maxdev = acc + 2 * f;
    for (size_t i = 0; i < ds->n; i++) {
        const float *row = ds->x + i * f;
        for (size_t j = 0; j < f; j++)
            mean[j] += row[j];
    }
    for (size_t j = 0; j < f; j++)
        mean[j] /= (double)ds->n;
    /* Second pass on centred values: no cancellation from sum of squares. */
    for (size_t i = 0; i < ds->n; i++) {
        const float *row = ds->x + i * f;
        for (size_t j = 0; j < f; j++) {
            double d = row[j] - mean[j];
            var[j] += d * d;
            if (fabs(d) > maxdev[j])
                maxdev[j] = fabs(d);
        }
    }
    double image_floor = 0.0;
    if (ds->img_h && ds->img_w) {
        for (size_t j = 0; j < f; j++)
            image_floor += sqrt(var[j] / (double)ds->n);
        image_floor *= STD_IMAGE_SHARE / (double)f;
    }
    for (size_t j = 0; j < f; j++) {
        double sd = sqrt(var[j] / (double)ds->n);
        if (sd < maxdev[j] / STD_MAX_Z)
            sd = maxdev[j] / STD_MAX_Z;
        if (sd < image_floor)
            sd = image_floor;
        shift[j] = (float)mean[j];
        /* Constant features (sd 0, or too small to invert) keep scale 1:
         * x - mean is 0 on the training data anyway. */
        scale[j] = sd > 1e-30 && 1.0 / sd < 1e30 ? (float)(1.0 / sd) : 1.0f;
    }
    rw_free(acc);
    return RW_OK;
}

/* ---------------- opening a SPEC ---------------- */

static const char *const fashion_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
static const char *const digit_names[10] = {"0", "1", "2", "3", "4",
                                            "5", "6", "7", "8", "9"};

typedef struct named_set {
    const char *name;
    const char *dir;
    const char *install_hint;
    const char *const *class_names;
} named_set;

static const named_set named_sets[] = {
    {"fashion-mnist", "/usr/share/datasets/fashion-mnist",
     "install it with: apt-get install dataset-fashion-mnist", fashion_names},
    {"mnist", "/usr/share/datasets/mnist",
     "put the four IDX files there or give another folder as mnist:DIR",
     digit_names},
};

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Why a path that should be a data file is not one. */
static const char *not_a_file(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return "not found";
    const char *why = rw_not_regular(&st);
    return why ? why : "a file that cannot be read";
}

/* Finds DIR/BASE.gz or else DIR/BASE; when neither exists, leaves the .gz
 * name in `path` and returns 0. */
static int find_idx_file(const char *dir, const char *base, char *path,
                         size_t cap)
{
    int k = snprintf(path, cap, "%s/%s", dir, base);
    if (k < 0 || (size_t)k + 4 > cap)
        return 0;
    int raw = is_regular_file(path);
    memcpy(path + k, ".gz", 4);
    if (is_regular_file(path))
        return 1;
    if (raw)
        path[k] = '\0';
    return raw;
}

static rw_dataset *open_named(const named_set *ns, const char *dir,
                              rw_split split, rw_error *err)
{
    const char *part = split == RW_SPLIT_TEST ? "t10k" : "train";
    char img_base[64], lab_base[64], img[4096], lab[4096];
    snprintf(img_base, sizeof img_base, "%s-images-idx3-ubyte", part);
    snprintf(lab_base, sizeof lab_base, "%s-labels-idx1-ubyte", part);
    int custom = dir != NULL;
    if (!dir)
        dir = ns->dir;
    if (strlen(dir) > sizeof img - 64) {
        rw_fail(err, RW_ERR_ARG, "%s: folder name too long", ns->name);
        return NULL;
    }
    const char *missing = NULL;
    if (!find_idx_file(dir, img_base, img, sizeof img))
        missing = img;
    else if (!find_idx_file(dir, lab_base, lab, sizeof lab))
        missing = lab;
    if (missing) {
        if (custom)
            rw_fail(err, RW_ERR_IO, "%s: %s not found (expected %s and %s, "
                    "raw or .gz, in %s)", ns->name, missing, img_base,
                    lab_base, dir);
        else
            rw_fail(err, RW_ERR_IO, "%s: the dataset is not installed: %s not "
                    "found; %s", ns->name, missing, ns->install_hint);
        return NULL;
    }
    rw_dataset *ds = rw_idx_load_files(img, lab, 10, err);
    if (!ds)
        return NULL;
    ds->class_names = ns->class_names;
    char label[128];
    snprintf(label, sizeof label, "%s %s", ns->name,
             split == RW_SPLIT_TEST ? "test" : "train");
    rw_dataset_describe(ds, label);
    return ds;
}

static rw_dataset *open_idx_pair(const char *img, const char *lab,
                                 rw_error *err)
{
    rw_dataset *ds = rw_idx_load_files(img, lab, 0, err);
    if (ds)
        rw_dataset_describe(ds, rw_base_name(img));
    return ds;
}

rw_dataset *rw_dataset_open(const char *spec, rw_split split,
                            const rw_data_options *opts, rw_error *err)
{
    rw_data_options defaults = rw_data_options_defaults();
    if (!opts)
        opts = &defaults;
    if (!spec || !*spec) {
        rw_fail(err, RW_ERR_ARG, "dataset: empty SPEC (expected a built-in "
                "name, a CSV file or IMAGES,LABELS)");
        return NULL;
    }
    if (split != RW_SPLIT_TRAIN && split != RW_SPLIT_TEST) {
        rw_fail(err, RW_ERR_ARG, "dataset: unknown split %d", (int)split);
        return NULL;
    }
    if (opts->label_column < RW_LABEL_LAST) {
        rw_fail(err, RW_ERR_ARG, "dataset: label column %d is invalid "
                "(expected -1 for the last column or a 0-based index)",
                opts->label_column);
        return NULL;
    }

    for (size_t i = 0; i < sizeof named_sets / sizeof named_sets[0]; i++) {
        const named_set *ns = &named_sets[i];
        size_t len = strlen(ns->name);
        if (strncmp(spec, ns->name, len) != 0)
            continue;
        if (spec[len] == '\0')
            return open_named(ns, NULL, split, err);
        if (spec[len] == ':' && spec[len + 1] != '\0')
            return open_named(ns, spec + len + 1, split, err);
    }
    int synth = rw_synth_lookup(spec);
    if (synth >= 0)
        return rw_synth_make(synth, split, opts, err);

    if (is_regular_file(spec)) {
        if (rw_idx_sniff(spec)) {
            rw_fail(err, RW_ERR_FORMAT, "%s: byte 0: this is an IDX file; "
                    "give images and labels as a pair: IMAGES,LABELS", spec);
            return NULL;
        }
        return rw_csv_load_file(spec, opts, err);
    }
    struct stat st;
    if (stat(spec, &st) == 0) {
        rw_fail(err, RW_ERR_IO, "%s: %s; expected a CSV file, an IDX pair "
                "or a dataset name", spec, not_a_file(spec));
        return NULL;
    }

    /* "IMAGES,LABELS": paths may hold commas, so try every split point. */
    const char *first_comma = strchr(spec, ',');
    if (first_comma) {
        size_t len = strlen(spec);
        char *buf = rw_alloc(len + 1, 1, "dataset spec", err);
        if (!buf)
            return NULL;
        for (const char *c = first_comma; c; c = strchr(c + 1, ',')) {
            size_t k = (size_t)(c - spec);
            memcpy(buf, spec, len + 1);
            buf[k] = '\0';
            if (is_regular_file(buf) && is_regular_file(buf + k + 1)) {
                rw_dataset *ds = open_idx_pair(buf, buf + k + 1, err);
                rw_free(buf);
                return ds;
            }
        }
        size_t k = (size_t)(first_comma - spec);
        memcpy(buf, spec, len + 1);
        buf[k] = '\0';
        const char *missing = is_regular_file(buf) ? buf + k + 1 : buf;
        if (!*missing)
            rw_fail(err, RW_ERR_ARG, "\"%s\": the %s file's name is empty: "
                    "expected an IDX pair IMAGES,LABELS", spec,
                    missing == buf ? "images" : "labels");
        else
            rw_fail(err, RW_ERR_IO, "%s: %s (reading the IDX pair "
                    "IMAGES,LABELS \"%s\")", missing, not_a_file(missing), spec);
        rw_free(buf);
        return NULL;
    }

    size_t len = strlen(spec);
    if ((len > 4 && strcmp(spec + len - 4, ".csv") == 0) ||
        (len > 7 && strcmp(spec + len - 7, ".csv.gz") == 0) ||
        strchr(spec, '/')) {
        rw_fail(err, RW_ERR_IO, "%s: %s", spec, not_a_file(spec));
        return NULL;
    }
    rw_fail(err, RW_ERR_ARG, "unknown dataset \"%s\": not a built-in name "
            "(fashion-mnist, mnist, %s), not an existing file and not an "
            "IMAGES,LABELS pair", spec, rw_synth_names());
    return NULL;
}
