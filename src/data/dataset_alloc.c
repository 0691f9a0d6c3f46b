/*
 * The dataset object: allocation, freeing, accessors, the name every
 * format writes, and the loading options' defaults. The formats (idx.c,
 * csv.c, synth.c) and the dispatcher (dataset.c) build on it.
 */
#include "data/data.h"

#include <stdio.h>
#include <string.h>

/* ---------------- lifecycle and accessors ---------------- */

rw_dataset *rw_dataset_alloc(size_t n, size_t f, size_t classes,
                             size_t targets, rw_error *err)
{
    if (f == 0) {
        rw_fail(err, RW_ERR_ARG, "dataset: 0 features");
        return NULL;
    }
    size_t nx;
    if (!rw_mul_ok(n, f, &nx)) {
        rw_fail(err, RW_ERR_NOMEM, "dataset: %zu x %zu features overflow", n, f);
        return NULL;
    }
    rw_dataset *ds = rw_calloc(1, sizeof *ds, "dataset", err);
    if (!ds)
        return NULL;
    ds->n = n;
    ds->f = f;
    ds->classes = targets ? 0 : classes;
    ds->targets = targets;
    ds->x = rw_alloc(nx, sizeof(float), "dataset features", err);
    if (!ds->x)
        goto fail;
    if (targets) {
        ds->y = rw_alloc(n, targets * sizeof(float), "dataset targets", err);
        if (!ds->y)
            goto fail;
    } else if (classes) {
        ds->labels = rw_alloc(n, sizeof(int32_t), "dataset labels", err);
        if (!ds->labels)
            goto fail;
    }
    return ds;
fail:
    rw_dataset_free(ds);
    return NULL;
}

void rw_dataset_free(rw_dataset *ds)
{
    if (!ds)
        return;
    if (!ds->borrowed) {
        rw_free(ds->x);
        rw_free(ds->labels);
        rw_free(ds->y);
    }
    rw_free(ds);
}

size_t rw_dataset_size(const rw_dataset *ds) { return ds ? ds->n : 0; }
size_t rw_dataset_features(const rw_dataset *ds) { return ds ? ds->f : 0; }
size_t rw_dataset_classes(const rw_dataset *ds) { return ds ? ds->classes : 0; }
size_t rw_dataset_targets(const rw_dataset *ds) { return ds ? ds->targets : 0; }
const float *rw_dataset_x(const rw_dataset *ds) { return ds ? ds->x : NULL; }
const int32_t *rw_dataset_labels(const rw_dataset *ds)
{
    return ds ? ds->labels : NULL;
}
const float *rw_dataset_y(const rw_dataset *ds) { return ds ? ds->y : NULL; }
const char *rw_dataset_name(const rw_dataset *ds) { return ds ? ds->name : ""; }

size_t rw_dataset_csv_header(const rw_dataset *ds, size_t *numbers,
                             size_t *fields)
{
    if (numbers)
        *numbers = ds ? ds->header_numbers : 0;
    if (fields)
        *fields = ds ? ds->header_fields : 0;
    return ds ? ds->header_line : 0;
}

rw_status rw_dataset_set_image_shape(rw_dataset *ds, size_t h, size_t w,
                                     rw_error *err)
{
    if (!ds)
        return rw_fail(err, RW_ERR_ARG, "image shape: NULL dataset");
    if ((h == 0) != (w == 0) || (h && (w > ds->f / h || h * w != ds->f)))
        return rw_fail(err, RW_ERR_ARG, "image shape %zu x %zu does not match "
                       "%zu features", h, w, ds->f);
    ds->img_h = h;
    ds->img_w = w;
    return RW_OK;
}

void rw_dataset_image_shape(const rw_dataset *ds, size_t *h, size_t *w)
{
    if (h)
        *h = ds ? ds->img_h : 0;
    if (w)
        *w = ds ? ds->img_w : 0;
}

const char *rw_dataset_class_name(const rw_dataset *ds, size_t c)
{
    if (!ds || !ds->class_names || c >= ds->classes)
        return NULL;
    return ds->class_names[c];
}

void rw_dataset_describe(rw_dataset *ds, const char *label)
{
    /* The label is cut to 160 bytes so the counts always fit. */
    if (ds->targets)
        snprintf(ds->name, sizeof ds->name, "%.160s: %zu x %zu, %zu target%s",
                 label, ds->n, ds->f, ds->targets, ds->targets == 1 ? "" : "s");
    else if (!ds->labels)
        snprintf(ds->name, sizeof ds->name, "%.160s: %zu x %zu, unlabelled",
                 label, ds->n, ds->f);
    else
        snprintf(ds->name, sizeof ds->name, "%.160s: %zu x %zu, %zu class%s",
                 label, ds->n, ds->f, ds->classes,
                 ds->classes == 1 ? "" : "es");
}

rw_data_options rw_data_options_defaults(void)
{
    rw_data_options o;
    memset(&o, 0, sizeof o);
    o.label_column = RW_LABEL_LAST;
    o.regression = 0;
    o.synth_samples = 0;
    o.synth_seed = 1;
    return o;
}
