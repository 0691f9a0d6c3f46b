/* The model file (specification: docs/model-format.md).
 *
 *   header   "RWMODEL\0", u32 version
 *   sections tag[4], u64 length, payload  (CONF, LAYR per layer, XFRM, DATA,
 *            OPTM, TRCE; unknown tags are skipped)
 *   trailer  u32 CRC32 of every byte before it
 *
 * All integers are little-endian and assembled byte by byte; floats are
 * IEEE-754 binary32 (weights) or binary64 (densities), little-endian.
 *
 * Writing streams through a small buffer with a running CRC into
 * "<path>.tmp.<pid>", which is flushed, fsynced, closed and renamed over
 * the target, so a failure never damages the previous file; a successful
 * save removes the temporary files of earlier writers killed mid-write. Reading takes
 * the whole file into memory (sized by fstat, never by a header), checks
 * magic, version and CRC, then parses with a cursor that compares every
 * count with the bytes that remain before it allocates anything. */
#include "io/io.h"

#include "base/bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC_LEN 8
#define HEADER_LEN 12   /* magic + version */
#define SECTION_HEAD 12 /* tag + u64 payload length */
#define CRC_LEN 4
#define CONF_HEAD 28    /* n_inputs, n_layers, loss, init, seed */
#define CONF_LAYER 24   /* units, activation, kind, density */
#define LAYER_HEAD 48   /* index, kind, inputs, outputs, nnz, initial x2 */
#define XFRM_HEAD 8     /* inputs */
#define DATA_LEN 4      /* the training data's label column */
#define OPTM_HEAD 16    /* step, has_moments, moments_for */
#define OPTM_M1 1u      /* per-layer flags in OPTM */
#define OPTM_M2 2u
#define OPTM_STEPS 4u   /* per-connection Adam step counts */
#define TRCE_HEAD 4     /* n_layers */
/* Per-layer flags in TRCE: the per-connection traces' flags come with
 * their arrays from rw_conn_arrays (layers/layer.c), the per-neuron ones
 * are here. */
#define TRCE_ACTIVITY 8u
#define TRCE_SILENT 16u
#define TRCE_ALL 31u

static const unsigned char MAGIC[MAGIC_LEN] = RW_MODEL_MAGIC;

/* ------------------------------------------------------------------ */
/* Byte order and checked u64 arithmetic                               */
/* ------------------------------------------------------------------ */

/* *acc += a * b; false on overflow (the accumulator is then meaningless). */
static bool muladd_u64(uint64_t *acc, uint64_t a, uint64_t b)
{
    if (a != 0 && b > UINT64_MAX / a)
        return false;
    if (a * b > UINT64_MAX - *acc)
        return false;
    *acc += a * b;
    return true;
}

/* Exact payload length of a LAYR section; false on overflow. */
static bool layer_payload_len(rw_layer_kind kind, uint64_t out, uint64_t nnz,
                              uint64_t *len)
{
    *len = LAYER_HEAD;
    uint64_t per = kind == RW_LAYER_SPARSE ? 8 : 4; /* bias (+row count) */
    uint64_t per_conn = kind == RW_LAYER_SPARSE ? 8 : 4; /* w (+column) */
    return muladd_u64(len, out, per) && muladd_u64(len, nnz, per_conn);
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

#define WBUF (1u << 16)

static int errno_or_eio(void) { return errno ? errno : EIO; }

typedef struct writer {
    FILE *f;
    uint32_t crc; /* of every byte handed to fwrite so far */
    size_t n;     /* bytes waiting in buf */
    int err_no;   /* errno of the first failed write, 0 while all is well */
    unsigned char buf[WBUF];
} writer;

static void w_flush(writer *w)
{
    if (w->n == 0 || w->err_no)
        return;
    w->crc = rw_crc32(w->crc, w->buf, w->n);
    errno = 0;
    if (fwrite(w->buf, 1, w->n, w->f) != w->n)
        w->err_no = errno_or_eio();
    w->n = 0;
}

/* Room for `need` (<= 8) more bytes in the buffer. */
static unsigned char *w_room(writer *w, size_t need)
{
    if (WBUF - w->n < need)
        w_flush(w);
    if (w->err_no)
        w->n = 0; /* keep discarding after a failure */
    unsigned char *p = w->buf + w->n;
    w->n += need;
    return p;
}

static void w_u32(writer *w, uint32_t v) { put_u32(w_room(w, 4), v); }
static void w_u64(writer *w, uint64_t v) { put_u64(w_room(w, 8), v); }
static void w_f64(writer *w, double d) { w_u64(w, f64_bits(d)); }

static void w_f32s(writer *w, const float *a, size_t n)
{
    for (size_t i = 0; i < n && !w->err_no; i++)
        put_u32(w_room(w, 4), f32_bits(a[i]));
}

static void w_section(writer *w, const char tag[4], uint64_t len)
{
    unsigned char *p = w_room(w, 4);
    memcpy(p, tag, 4);
    w_u64(w, len);
}

static void write_conf(writer *w, const rw_net *net)
{
    const rw_net_config *c = &net->cfg;
    w_section(w, "CONF", CONF_HEAD + (uint64_t)CONF_LAYER * c->n_layers);
    w_u64(w, c->n_inputs);
    w_u32(w, (uint32_t)c->n_layers);
    w_u32(w, (uint32_t)c->loss);
    w_u32(w, (uint32_t)c->init);
    w_u64(w, c->seed);
    for (size_t l = 0; l < c->n_layers; l++) {
        const rw_layer_spec *s = &c->layers[l];
        w_u64(w, s->units);
        w_u32(w, (uint32_t)s->act);
        w_u32(w, (uint32_t)s->kind);
        w_f64(w, s->density);
    }
}

static void write_layer(writer *w, const rw_layer *L, size_t index)
{
    uint64_t len;
    layer_payload_len(L->kind, L->out, L->nw, &len); /* checked by caller */
    w_section(w, "LAYR", len);
    w_u32(w, (uint32_t)index);
    w_u32(w, (uint32_t)L->kind);
    w_u64(w, L->in);
    w_u64(w, L->out);
    w_u64(w, L->nw);
    w_u64(w, L->initial_nnz);
    w_u64(w, L->initial_alive);
    if (L->kind == RW_LAYER_SPARSE) {
        for (size_t o = 0; o < L->out; o++)
            w_u32(w, (uint32_t)(L->row_ptr[o + 1] - L->row_ptr[o]));
        for (size_t k = 0; k < L->nw && !w->err_no; k++)
            w_u32(w, L->col[k]);
    }
    w_f32s(w, L->w, L->nw);
    w_f32s(w, L->b, L->out);
}

static bool has_optim_state(const rw_net *net)
{
    if (net->step || net->has_moments)
        return true;
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].m1 || net->layers[l].m2)
            return true;
    return false;
}

/* The step count a parameter has when the file says nothing: the global
 * step (every parameter as old as the moments). */
static float implied_steps(const rw_net *net)
{
    return net->step < (uint64_t)RW_ADAM_STEP_MAX ? (float)net->step
                                                  : RW_ADAM_STEP_MAX;
}

/* Adam's per-parameter step counts are written only where some differ
 * from the global step (a layer that rewired or grew neurons), so files
 * of networks that never rewired are what they were before the counts. */
static bool steps_needed(const rw_net *net, const rw_layer *L)
{
    if (!L->m2 || !L->mstep || !L->bmstep)
        return false;
    float s = implied_steps(net);
    for (size_t k = 0; k < L->nw; k++)
        if (L->mstep[k] != s)
            return true;
    for (size_t o = 0; o < L->out; o++)
        if (L->bmstep[o] != s)
            return true;
    return false;
}

static uint32_t moment_flags(const rw_net *net, const rw_layer *L)
{
    uint32_t fl = (L->m1 && L->bm1 ? OPTM_M1 : 0) | (L->m2 && L->bm2 ? OPTM_M2 : 0);
    return (fl & OPTM_M2) && steps_needed(net, L) ? fl | OPTM_STEPS : fl;
}

static void write_optim(writer *w, const rw_net *net)
{
    uint64_t len = OPTM_HEAD;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        uint32_t fl = moment_flags(net, L);
        int arrays = (fl & OPTM_M1 ? 1 : 0) + (fl & OPTM_M2 ? 1 : 0) +
                     (fl & OPTM_STEPS ? 1 : 0);
        len += 4 + (uint64_t)arrays * 4 * (L->nw + L->out);
    }
    w_section(w, "OPTM", len);
    w_u64(w, net->step);
    w_u32(w, net->has_moments ? 1u : 0u);
    w_u32(w, (uint32_t)net->moments_for);
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        uint32_t fl = moment_flags(net, L);
        w_u32(w, fl);
        if (fl & OPTM_M1) {
            w_f32s(w, L->m1, L->nw);
            w_f32s(w, L->bm1, L->out);
        }
        if (fl & OPTM_M2) {
            w_f32s(w, L->m2, L->nw);
            w_f32s(w, L->bm2, L->out);
        }
        if (fl & OPTM_STEPS) {
            for (size_t k = 0; k < L->nw && !w->err_no; k++)
                w_u32(w, (uint32_t)L->mstep[k]);
            for (size_t o = 0; o < L->out && !w->err_no; o++)
                w_u32(w, (uint32_t)L->bmstep[o]);
        }
    }
}

/* Usage traces (plasticity.c): which arrays a layer holds. */
static uint32_t trace_flags(const rw_layer *L)
{
    uint32_t fl = (L->activity ? TRCE_ACTIVITY : 0) | (L->silent ? TRCE_SILENT : 0);
    for (size_t i = 0; i < rw_conn_array_count; i++)
        if (rw_conn_arrays[i].trce && rw_conn_get(L, &rw_conn_arrays[i]))
            fl |= rw_conn_arrays[i].trce;
    return fl;
}

/* How many per-connection traces the flags announce. */
static int conn_traces(uint32_t fl)
{
    int n = 0;
    for (size_t i = 0; i < rw_conn_array_count; i++)
        n += rw_conn_arrays[i].trce && (fl & rw_conn_arrays[i].trce);
    return n;
}

static void write_traces(writer *w, const rw_net *net)
{
    uint64_t len = TRCE_HEAD;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        uint32_t fl = trace_flags(L);
        int per_neuron = ((fl & TRCE_ACTIVITY) != 0) + ((fl & TRCE_SILENT) != 0);
        len += 4 + 4 * ((uint64_t)conn_traces(fl) * L->nw + (uint64_t)per_neuron * L->out);
    }
    w_section(w, "TRCE", len);
    w_u32(w, (uint32_t)net->n_layers);
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        uint32_t fl = trace_flags(L);
        w_u32(w, fl);
        for (size_t i = 0; i < rw_conn_array_count; i++)
            if (rw_conn_arrays[i].trce & fl)
                w_f32s(w, rw_conn_get(L, &rw_conn_arrays[i]), L->nw);
        if (fl & TRCE_ACTIVITY)
            w_f32s(w, L->activity, L->out);
        if (fl & TRCE_SILENT)
            for (size_t o = 0; o < L->out && !w->err_no; o++)
                w_u32(w, L->silent[o]);
    }
}

static void write_model(writer *w, const rw_net *net,
                        const rw_model_section *x, size_t nx)
{
    memcpy(w_room(w, MAGIC_LEN), MAGIC, MAGIC_LEN);
    w_u32(w, RW_MODEL_VERSION);
    write_conf(w, net);
    for (size_t l = 0; l < net->n_layers; l++)
        write_layer(w, &net->layers[l], l);
    if (net->shift && net->scale) {
        size_t n = net->cfg.n_inputs;
        w_section(w, "XFRM", XFRM_HEAD + 8 * (uint64_t)n);
        w_u64(w, n);
        w_f32s(w, net->shift, n);
        w_f32s(w, net->scale, n);
    }
    if (net->label_code) {
        w_section(w, "DATA", DATA_LEN);
        w_u32(w, net->label_code - 1);
    }
    if (has_optim_state(net))
        write_optim(w, net);
    bool traces = false;
    for (size_t l = 0; l < net->n_layers; l++)
        traces |= trace_flags(&net->layers[l]) != 0;
    if (traces)
        write_traces(w, net);
    for (size_t i = 0; i < nx; i++) {
        w_section(w, x[i].tag, x[i].len);
        const unsigned char *p = x[i].payload;
        for (size_t done = 0; done < x[i].len;) {
            size_t chunk = x[i].len - done < 4096 ? x[i].len - done : 4096;
            memcpy(w_room(w, chunk), p + done, chunk);
            done += chunk;
        }
    }
    w_flush(w);
    uint32_t crc = w->crc;
    w_u32(w, crc);
    w_flush(w);
}

/* First non-finite value of a[0..n), or -1. */
static long first_nonfinite(const float *a, size_t n)
{
    if (!a)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return (long)i;
    return -1;
}

/* Refuses a network whose file the loader would reject, so that a save
 * never produces a model that cannot be read back. */
static rw_status check_saveable(const rw_net *net, const char *path,
                                rw_error *err)
{
    size_t in = net->cfg.n_inputs;
    if (net->n_layers == 0 || net->n_layers != net->cfg.n_layers)
        return rw_fail(err, RW_ERR_ARG, "cannot save %s: the network has no "
                       "layers or disagrees with its config", path);
    /* The file holds at least the layers' payloads (and the transform):
     * the loader accepts a sparse layer of up to an eighth of that in
     * inputs. */
    uint64_t least = net->shift ? 8 * (uint64_t)in : 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        uint64_t len;
        if (layer_payload_len(net->layers[l].kind, net->layers[l].out,
                              net->layers[l].nw, &len))
            least += len;
    }
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        const rw_layer_spec *s = &net->cfg.layers[l];
        uint64_t len;
        if (L->in != in || L->out != s->units || L->kind != s->kind ||
            L->act != s->act || !layer_payload_len(L->kind, L->out, L->nw, &len))
            return rw_fail(err, RW_ERR_ARG, "cannot save %s: layer %zu "
                           "disagrees with the network config", path, l + 1);
        if (!isfinite(s->density))
            return rw_fail(err, RW_ERR_ARG, "cannot save %s: layer %zu "
                           "density is not finite", path, l + 1);
        if (L->kind == RW_LAYER_SPARSE && L->in > RW_MODEL_FREE_INPUTS &&
            L->in > least / 8)
            return rw_fail(err, RW_ERR_UNSUPPORTED, "cannot save %s: sparse "
                           "layer %zu has %zu inputs but only %zu "
                           "connections; a model file may hold a sparse layer "
                           "of more than %llu inputs only with at least 8 "
                           "bytes of file per input", path, l + 1, L->in,
                           L->nw, (unsigned long long)RW_MODEL_FREE_INPUTS);
        struct { const float *a; size_t n; const char *what; } arr[] = {
            {L->w, L->nw, "weight"}, {L->b, L->out, "bias"},
            {L->m1, L->nw, "optimizer moment"}, {L->bm1, L->out, "optimizer moment"},
            {L->m2, L->nw, "optimizer moment"}, {L->bm2, L->out, "optimizer moment"},
            {L->credit, L->nw, "credit trace"}, {L->coact, L->nw, "co-activation trace"},
            {L->perm, L->nw, "permanence"}, {L->activity, L->out, "activity trace"},
        };
        for (size_t i = 0; i < sizeof arr / sizeof arr[0]; i++) {
            long k = first_nonfinite(arr[i].a, arr[i].n);
            if (k >= 0)
                return rw_fail(err, RW_ERR_ARG,
                               "cannot save %s: layer %zu %s %ld is %g (the "
                               "model has diverged; a model file holds finite "
                               "values only)",
                               path, l + 1, arr[i].what, k, arr[i].a[k]);
        }
        in = L->out;
    }
    long k = first_nonfinite(net->shift, net->shift ? net->cfg.n_inputs : 0);
    if (k < 0)
        k = first_nonfinite(net->scale, net->scale ? net->cfg.n_inputs : 0);
    if (k >= 0)
        return rw_fail(err, RW_ERR_ARG, "cannot save %s: input transform "
                       "value %ld is not finite", path, k);
    return RW_OK;
}

static rw_status save_impl(const rw_net *net, const char *path,
                           const rw_model_section *x, size_t nx, rw_error *err)
{
    if (!net || !path || !*path)
        return rw_fail(err, RW_ERR_ARG, "save: NULL network or empty path");
    rw_status st = check_saveable(net, path, err);
    if (st != RW_OK)
        return st;
    char *real = rw_alloc(4096, 1, "model path", err);
    if (!real)
        return RW_ERR_NOMEM;
    if ((st = rw_save_target(path, "model", real, 4096, err)) != RW_OK) {
        rw_free(real);
        return st;
    }
    const char *shown = path;
    path = real; /* written and renamed where the link leads */
    size_t tmp_len = strlen(path) + 32;
    char *tmp = rw_alloc(tmp_len, 1, "temporary file name", err);
    writer *w = rw_alloc(1, sizeof *w, "model writer", err);
    if (!tmp || !w) {
        rw_free(tmp);
        rw_free(w);
        rw_free(real);
        return RW_ERR_NOMEM;
    }
    snprintf(tmp, tmp_len, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = rw_fail(err, RW_ERR_IO, "cannot save model to %s: cannot create "
                     "%s: %s", shown, tmp, strerror(errno));
        goto done;
    }
    w->f = f;
    w->crc = 0;
    w->n = 0;
    w->err_no = 0;
    write_model(w, net, x, nx);
    int e = w->err_no;
    const char *stage = "writing";
    errno = 0;
    if (!e && fflush(f) != 0) {
        e = errno_or_eio();
        stage = "flushing";
    }
    errno = 0;
    if (!e && fsync(fileno(f)) != 0) {
        e = errno_or_eio();
        stage = "syncing";
    }
    errno = 0;
    if (fclose(f) != 0 && !e) {
        e = errno_or_eio();
        stage = "closing";
    }
    errno = 0;
    if (!e && rename(tmp, path) != 0) {
        e = errno_or_eio();
        stage = "renaming";
    }
    if (e) {
        remove(tmp);
        st = rw_fail(err, RW_ERR_IO, "cannot save model to %s: %s %s failed: "
                     "%s (the previous file, if any, is unchanged)",
                     shown, stage, tmp, strerror(e));
        goto done;
    }
    rw_sync_parent_dir(path);
    rw_remove_stale_temps(path);
done:
    rw_free(tmp);
    rw_free(w);
    rw_free(real);
    return st;
}

rw_status rw_net_save(const rw_net *net, const char *path, rw_error *err)
{
    return save_impl(net, path, NULL, 0, err);
}

rw_status rw_net_save_sections(const rw_net *net, const char *path,
                               const rw_model_section *x, size_t nx,
                               rw_error *err)
{
    static const char *const own[] = {"CONF", "LAYR", "XFRM", "DATA", "OPTM",
                                      "TRCE"};
    if (nx && !x)
        return rw_fail(err, RW_ERR_ARG, "save: NULL extra sections");
    for (size_t i = 0; i < nx; i++) {
        if (!x[i].payload && x[i].len)
            return rw_fail(err, RW_ERR_ARG, "save: extra section without "
                           "payload");
        for (size_t j = 0; j < sizeof own / sizeof own[0]; j++)
            if (!memcmp(x[i].tag, own[j], 4))
                return rw_fail(err, RW_ERR_ARG, "save: section tag %.4s is "
                               "the model's own", x[i].tag);
        for (size_t j = 0; j < i; j++)
            if (!memcmp(x[i].tag, x[j].tag, 4))
                return rw_fail(err, RW_ERR_ARG, "save: section tag %.4s "
                               "given twice", x[i].tag);
    }
    return save_impl(net, path, x, nx, err);
}

rw_status rw_net_save_with(const rw_net *net, const char *path,
                           const char tag[4], const void *payload, size_t len,
                           rw_error *err)
{
    if (!tag)
        return rw_fail(err, RW_ERR_ARG, "save: extra section without a tag");
    rw_model_section x = {{tag[0], tag[1], tag[2], tag[3]}, payload, len};
    return rw_net_save_sections(net, path, &x, 1, err);
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

typedef struct cursor {
    const unsigned char *buf;
    size_t len;      /* whole file */
    size_t pos, end; /* reading buf[pos..end) of the current section */
    const char *name;
    const char *scope; /* "CONF section", ... for messages */
    rw_error *err;
} cursor;

/* Fails with "<name>: byte <at>: <message>"; always returns false. */
static bool bad_at(const char *name, size_t at, rw_error *err,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool bad_at(const char *name, size_t at, rw_error *err,
                   const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rw_fail(err, RW_ERR_FORMAT, "%s: byte %zu: %s", name, at, msg);
    return false;
}

#define BAD(c, at, ...) bad_at((c)->name, (at), (c)->err, __VA_ARGS__)

static bool need(cursor *c, uint64_t n, const char *what)
{
    if (c->end - c->pos >= n)
        return true;
    BAD(c, c->pos, "expected %s (%llu bytes) but the %s ends at byte %zu",
        what, (unsigned long long)n, c->scope, c->end);
    return false;
}

static bool rd_u32(cursor *c, const char *what, uint32_t *v)
{
    if (!need(c, 4, what))
        return false;
    *v = get_u32(c->buf + c->pos);
    c->pos += 4;
    return true;
}

static bool rd_u64(cursor *c, const char *what, uint64_t *v)
{
    if (!need(c, 8, what))
        return false;
    *v = get_u64(c->buf + c->pos);
    c->pos += 8;
    return true;
}

/* Reads n finite floats; `what` names them in messages ("layer 2 weight"). */
static bool rd_f32s(cursor *c, float *dst, size_t n, const char *what)
{
    if (!need(c, (uint64_t)n * 4, what))
        return false;
    const unsigned char *p = c->buf + c->pos;
    for (size_t i = 0; i < n; i++) {
        float f = bits_f32(get_u32(p + 4 * i));
        if (!isfinite(f)) {
            BAD(c, c->pos + 4 * i, "%s %zu is %s (expected a finite value)",
                what, i, isnan(f) ? "nan" : "infinite");
            return false;
        }
        dst[i] = f;
    }
    c->pos += 4 * n;
    return true;
}

/* Printable form of a section tag for messages. */
static const char *tag_str(const unsigned char *t, char out[20])
{
    char *o = out;
    for (int i = 0; i < 4; i++) {
        if (t[i] >= 0x20 && t[i] < 0x7f && t[i] != '\\')
            *o++ = (char)t[i];
        else
            o += sprintf(o, "\\x%02x", t[i]);
    }
    *o = '\0';
    return out;
}

typedef struct section {
    size_t at, len; /* payload offset and length; at == 0: absent */
} section;

typedef struct toc {
    section conf, xfrm, data, optm, trce;
    section layr[RW_MAX_LAYERS];
    size_t sections_end; /* where the CRC starts */
} toc;

static bool record(cursor *c, section *s, size_t head, size_t at,
                   size_t len, const char *what)
{
    if (s->at)
        return BAD(c, head, "second %s (the first starts at byte %zu; it "
                   "may appear only once)", what, s->at - SECTION_HEAD);
    s->at = at;
    s->len = len;
    return true;
}

/* Walks the section headers from byte 12 to the CRC and notes where each
 * known section lies. Unknown tags are skipped. */
static bool scan_sections(cursor *c, toc *t)
{
    size_t pos = HEADER_LEN, end = c->len - CRC_LEN;
    char ts[20];
    memset(t, 0, sizeof *t);
    t->sections_end = end;
    c->scope = "file";
    while (pos < end) {
        if (end - pos < SECTION_HEAD)
            return BAD(c, pos, "expected a 12-byte section header (tag and "
                       "length) but only %zu bytes remain before the CRC32",
                       end - pos);
        const unsigned char *tag = c->buf + pos;
        uint64_t len = get_u64(c->buf + pos + 4);
        size_t at = pos + SECTION_HEAD;
        if (len > end - at)
            return BAD(c, pos + 4, "section '%s' claims %llu bytes but only "
                       "%zu remain before the CRC32 (truncated or corrupt "
                       "file)", tag_str(tag, ts), (unsigned long long)len,
                       end - at);
        bool ok = true;
        if (!memcmp(tag, "CONF", 4)) {
            ok = record(c, &t->conf, pos, at, (size_t)len, "CONF section");
        } else if (!memcmp(tag, "XFRM", 4)) {
            ok = record(c, &t->xfrm, pos, at, (size_t)len, "XFRM section");
        } else if (!memcmp(tag, "DATA", 4)) {
            ok = record(c, &t->data, pos, at, (size_t)len, "DATA section");
        } else if (!memcmp(tag, "OPTM", 4)) {
            ok = record(c, &t->optm, pos, at, (size_t)len, "OPTM section");
        } else if (!memcmp(tag, "TRCE", 4)) {
            ok = record(c, &t->trce, pos, at, (size_t)len, "TRCE section");
        } else if (!memcmp(tag, "LAYR", 4)) {
            if (len < 4)
                return BAD(c, at, "LAYR section of %llu bytes has no layer "
                           "index (expected at least %d bytes)",
                           (unsigned long long)len, LAYER_HEAD);
            uint32_t idx = get_u32(c->buf + at);
            if (idx >= RW_MAX_LAYERS)
                return BAD(c, at, "layer index %u is out of range (expected "
                           "0..%d)", idx, RW_MAX_LAYERS - 1);
            char what[40];
            snprintf(what, sizeof what, "LAYR section for layer index %u", idx);
            ok = record(c, &t->layr[idx], pos, at, (size_t)len, what);
        }
        if (!ok)
            return false;
        pos = at + (size_t)len;
    }
    return true;
}

/* Why the CRC does not match, in the most useful terms available:
 * appended bytes or a truncated section if the headers show it, plain
 * corruption otherwise. */
static bool crc_mismatch(const cursor *c, uint32_t stored,
                              uint32_t computed)
{
    const unsigned char *b = c->buf;
    size_t len = c->len, pos = HEADER_LEN;
    uint32_t crc = rw_crc32(0, b, HEADER_LEN);
    char ts[20];
    for (;;) {
        /* A model that ends (with its own valid CRC) at pos, followed by
         * other bytes. */
        if (len - pos > CRC_LEN && get_u32(b + pos) == crc)
            return BAD(c, pos + CRC_LEN, "%zu unexpected bytes after the end "
                       "of the model (its CRC32 ends at byte %zu)",
                       len - pos - CRC_LEN, pos + CRC_LEN);
        if (len - pos <= CRC_LEN)
            break;
        if (len - pos < SECTION_HEAD + CRC_LEN)
            return BAD(c, len, "truncated file: it ends inside a section "
                       "header at byte %zu (so its CRC32 does not match)", pos);
        uint64_t sl = get_u64(b + pos + 4);
        if (sl > len - pos - SECTION_HEAD - CRC_LEN)
            return BAD(c, len, "truncated file: section '%s' at byte %zu "
                       "has %llu bytes and a 4-byte CRC32 must follow, but "
                       "the file ends %zu bytes after its header (so its "
                       "CRC32 does not match)", tag_str(b + pos, ts), pos,
                       (unsigned long long)sl, len - pos - SECTION_HEAD);
        crc = rw_crc32(crc, b + pos, SECTION_HEAD + (size_t)sl);
        pos += SECTION_HEAD + (size_t)sl;
    }
    return BAD(c, len - CRC_LEN, "CRC32 mismatch: stored 0x%08x, computed "
               "0x%08x over bytes 0..%zu (the file is corrupt)", stored,
               computed, len - CRC_LEN - 1);
}

static bool check_header(cursor *c, int check_crc)
{
    size_t len = c->len;
    if (len == 0)
        return BAD(c, 0, "the file is empty (expected a rewire model "
                   "starting with \"RWMODEL\")");
    if (memcmp(c->buf, MAGIC, len < MAGIC_LEN ? len : MAGIC_LEN) != 0)
        return BAD(c, 0, "not a rewire model (bad magic): expected the "
                   "8 bytes \"RWMODEL\\0\"");
    if (len < HEADER_LEN)
        return BAD(c, len, "the file ends inside the header (expected a "
                   "4-byte format version at byte 8)");
    uint32_t version = get_u32(c->buf + MAGIC_LEN);
    if (version != RW_MODEL_VERSION)
        return BAD(c, MAGIC_LEN, "unsupported format version %u (this build "
                   "reads %u)", version, RW_MODEL_VERSION);
    if (len < HEADER_LEN + CRC_LEN)
        return BAD(c, len, "the file ends after %zu bytes (expected sections "
                   "and a 4-byte CRC32; a model has at least %d bytes)", len,
                   HEADER_LEN + CRC_LEN);
    if (check_crc) {
        uint32_t stored = get_u32(c->buf + len - CRC_LEN);
        uint32_t computed = rw_crc32(0, c->buf, len - CRC_LEN);
        if (stored != computed)
            return crc_mismatch(c, stored, computed);
    }
    return true;
}

/* Opens section s for reading; `what` names it in messages. */
static bool enter(cursor *c, const section *s, const char *what)
{
    c->pos = s->at;
    c->end = s->at + s->len;
    c->scope = what;
    return true;
}

static bool parse_conf(cursor *c, const toc *t, rw_net_config *cfg)
{
    if (!t->conf.at)
        return BAD(c, t->sections_end, "reached the CRC32 without a CONF "
                   "section (required)");
    enter(c, &t->conf, "CONF section");
    *cfg = rw_net_config_defaults();
    uint64_t n_in, seed;
    uint32_t n_layers, loss, init;
    size_t at = c->pos;
    if (!rd_u64(c, "the input count", &n_in))
        return false;
    if (n_in == 0 || n_in > SIZE_MAX)
        return BAD(c, at, "input count %llu is invalid (expected 1..%zu)",
                   (unsigned long long)n_in, (size_t)SIZE_MAX);
    at = c->pos;
    if (!rd_u32(c, "the layer count", &n_layers))
        return false;
    if (n_layers == 0 || n_layers > RW_MAX_LAYERS)
        return BAD(c, at, "layer count %u is invalid (expected 1..%d)",
                   n_layers, RW_MAX_LAYERS);
    uint64_t want = CONF_HEAD + (uint64_t)CONF_LAYER * n_layers;
    if (t->conf.len != want)
        return BAD(c, t->conf.at - 8, "CONF section has %zu bytes, expected "
                   "%llu for %u layers", t->conf.len,
                   (unsigned long long)want, n_layers);
    at = c->pos;
    if (!rd_u32(c, "the loss", &loss))
        return false;
    if (loss > RW_LOSS_MSE)
        return BAD(c, at, "loss %u is unknown (expected 0..%d)", loss,
                   RW_LOSS_MSE);
    at = c->pos;
    if (!rd_u32(c, "the init scheme", &init))
        return false;
    if (init > RW_INIT_XAVIER)
        return BAD(c, at, "init scheme %u is unknown (expected 0..%d)", init,
                   RW_INIT_XAVIER);
    if (!rd_u64(c, "the seed", &seed))
        return false;
    cfg->n_inputs = (size_t)n_in;
    cfg->n_layers = n_layers;
    cfg->loss = (rw_loss)loss;
    cfg->init = (rw_init)init;
    cfg->seed = seed;
    for (uint32_t l = 0; l < n_layers; l++) {
        rw_layer_spec *s = &cfg->layers[l];
        uint64_t units, dens;
        uint32_t act, kind;
        size_t at_units = c->pos, at_act = at_units + 8, at_kind = at_act + 4,
               at_dens = at_kind + 4;
        if (!rd_u64(c, "units", &units) || !rd_u32(c, "activation", &act) ||
            !rd_u32(c, "layer kind", &kind) || !rd_u64(c, "density", &dens))
            return false;
        double d = bits_f64(dens);
        if (units == 0 || units > SIZE_MAX)
            return BAD(c, at_units, "layer %u has %llu units (expected at "
                       "least 1)", l + 1, (unsigned long long)units);
        if (act > RW_ACT_SOFTMAX)
            return BAD(c, at_act, "layer %u activation %u is unknown "
                       "(expected 0..%d)", l + 1, act, RW_ACT_SOFTMAX);
        if (act == RW_ACT_SOFTMAX &&
            (l + 1 != n_layers || loss != RW_LOSS_CROSS_ENTROPY))
            return BAD(c, at_act, "layer %u has a softmax activation "
                       "(expected only on the output layer with "
                       "cross-entropy loss)", l + 1);
        if (kind > RW_LAYER_SPARSE)
            return BAD(c, at_kind, "layer %u kind %u is unknown (expected 0 "
                       "dense or 1 sparse)", l + 1, kind);
        if (!isfinite(d) ||
            (kind == RW_LAYER_SPARSE && !(d > 0.0 && d <= 1.0)))
            return BAD(c, at_dens, "layer %u density %g is invalid (expected "
                       "a finite value%s)", l + 1, d,
                       kind == RW_LAYER_SPARSE ? " in (0, 1]" : "");
        s->units = (size_t)units;
        s->act = (rw_activation)act;
        s->kind = (rw_layer_kind)kind;
        s->density = d;
    }
    const rw_layer_spec *o = &cfg->layers[n_layers - 1];
    size_t at_out = t->conf.at + CONF_HEAD + (size_t)CONF_LAYER * (n_layers - 1);
    if (loss == RW_LOSS_CROSS_ENTROPY && o->act != RW_ACT_SOFTMAX)
        return BAD(c, at_out + 8, "cross-entropy loss needs a softmax output "
                   "layer (expected activation %d)", RW_ACT_SOFTMAX);
    if (loss == RW_LOSS_CROSS_ENTROPY && o->units < 2)
        return BAD(c, at_out, "a classifier has %zu output units (expected "
                   "at least 2)", o->units);
    return true;
}

/* Prefixes an allocation failure with the file name. */
static void nomem_in(const cursor *c, size_t l)
{
    if (c->err) {
        char m[sizeof c->err->msg];
        memcpy(m, c->err->msg, sizeof m);
        rw_fail(c->err, RW_ERR_NOMEM, "%s: layer %zu: %s", c->name, l + 1, m);
    }
}

/* Reads the row counts and columns of a sparse layer already allocated. */
static bool parse_topology(cursor *c, rw_layer *L, size_t l,
                           uint64_t initial_alive, size_t at_alive)
{
    size_t in = L->in, out = L->out, nnz = L->nw;
    L->row_ptr[0] = 0;
    for (size_t o = 0; o < out; o++) {
        size_t at = c->pos;
        uint32_t cnt = get_u32(c->buf + at);
        c->pos += 4;
        if (cnt > in)
            return BAD(c, at, "layer %zu row %zu has %u connections (expected "
                       "at most the %zu inputs)", l + 1, o, cnt, in);
        if (cnt > nnz - L->row_ptr[o])
            return BAD(c, at, "layer %zu row counts add up to more than its "
                       "%zu connections at row %zu", l + 1, nnz, o);
        L->row_ptr[o + 1] = L->row_ptr[o] + cnt;
    }
    if (L->row_ptr[out] != nnz)
        return BAD(c, c->pos - 4, "layer %zu row counts add up to %zu "
                   "(expected the %zu connections)", l + 1, L->row_ptr[out],
                   nnz);
    size_t flagged = 0;
    for (size_t o = 0; o < out; o++) {
        uint32_t prev = 0;
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
            size_t at = c->pos;
            uint32_t v = get_u32(c->buf + at), i = v & RW_COL_MASK;
            c->pos += 4;
            if (i >= in)
                return BAD(c, at, "layer %zu connection %zu (row %zu): input "
                           "index %u is out of range (expected 0..%zu)",
                           l + 1, k, o, i, in - 1);
            if (k > L->row_ptr[o] && i <= prev)
                return BAD(c, at, "layer %zu row %zu: input index %u follows "
                           "%u (expected strictly increasing columns: sorted, "
                           "no duplicates)", l + 1, o, i, prev);
            prev = i;
            flagged += (v & RW_COL_INITIAL) != 0;
            L->col[k] = v;
        }
    }
    if (flagged != initial_alive)
        return BAD(c, at_alive, "layer %zu says %llu initial connections "
                   "remain but %zu columns carry the initial flag", l + 1,
                   (unsigned long long)initial_alive, flagged);
    return true;
}

static bool parse_layer(cursor *c, const toc *t, rw_net *net, size_t l)
{
    const section *s = &t->layr[l];
    const rw_layer_spec *spec = &net->cfg.layers[l];
    if (!s->at)
        return BAD(c, t->sections_end, "reached the CRC32 without a LAYR "
                   "section for layer index %zu (required)", l);
    char scope[48];
    snprintf(scope, sizeof scope, "LAYR section of layer %zu", l + 1);
    enter(c, s, scope);
    if (!need(c, LAYER_HEAD, "the layer header"))
        return false;
    const unsigned char *h = c->buf + c->pos;
    size_t at = c->pos;
    uint32_t kind = get_u32(h + 4);
    uint64_t in = get_u64(h + 8), out = get_u64(h + 16), nnz = get_u64(h + 24);
    uint64_t init_nnz = get_u64(h + 32), init_alive = get_u64(h + 40);
    size_t want_in = l ? net->cfg.layers[l - 1].units : net->cfg.n_inputs;
    const char *kname = spec->kind == RW_LAYER_SPARSE ? "sparse" : "dense";
    if (kind != (uint32_t)spec->kind)
        return BAD(c, at + 4, "layer %zu kind %u differs from the CONF "
                   "section (expected %u, %s)", l + 1, kind,
                   (unsigned)spec->kind, kname);
    if (in != want_in || out != spec->units)
        return BAD(c, at + 8, "layer %zu is %llu x %llu (inputs x outputs) "
                   "but the CONF section makes it %zu x %zu", l + 1,
                   (unsigned long long)in, (unsigned long long)out, want_in,
                   spec->units);
    uint64_t full = 0;
    bool full_ok = muladd_u64(&full, in, out);
    if (kind == RW_LAYER_DENSE && (!full_ok || nnz != full))
        return BAD(c, at + 24, "dense layer %zu has %llu weights (expected "
                   "%llu x %llu)", l + 1, (unsigned long long)nnz,
                   (unsigned long long)in, (unsigned long long)out);
    if (kind == RW_LAYER_SPARSE) {
        uint64_t cap = (uint64_t)c->len / 8;
        if (cap < RW_MODEL_FREE_INPUTS)
            cap = RW_MODEL_FREE_INPUTS;
        if (in > RW_COL_MASK || in > cap)
            return BAD(c, at + 8, "sparse layer %zu has %llu inputs (expected "
                       "at most %llu for a file of %zu bytes)", l + 1,
                       (unsigned long long)in,
                       (unsigned long long)(cap < RW_COL_MASK ? cap : RW_COL_MASK),
                       c->len);
        if (out > RW_COL_MASK)
            return BAD(c, at + 16, "sparse layer %zu has %llu outputs "
                       "(expected at most 2^31-1)", l + 1,
                       (unsigned long long)out);
    }
    uint64_t want_len;
    if (!layer_payload_len((rw_layer_kind)kind, out, nnz, &want_len))
        return BAD(c, at + 24, "layer %zu (%s, %llu x %llu) claims %llu "
                   "connections, more than any file can hold (its section "
                   "has %zu bytes)", l + 1, kname, (unsigned long long)in,
                   (unsigned long long)out, (unsigned long long)nnz, s->len);
    if (want_len != s->len)
        return BAD(c, at + 24, "layer %zu (%s, %llu x %llu) with %llu "
                   "connections needs a section of %llu bytes but it has "
                   "%zu", l + 1, kname, (unsigned long long)in,
                   (unsigned long long)out, (unsigned long long)nnz,
                   (unsigned long long)want_len, s->len);
    if (kind == RW_LAYER_SPARSE &&
        (nnz > UINT32_MAX || (full_ok && nnz > full)))
        return BAD(c, at + 24, "sparse layer %zu has %llu connections "
                   "(expected at most %llu x %llu and at most 2^32-1)", l + 1,
                   (unsigned long long)nnz, (unsigned long long)in,
                   (unsigned long long)out);
    if (init_alive > init_nnz || (kind == RW_LAYER_SPARSE && init_alive > nnz))
        return BAD(c, at + 40, "layer %zu has %llu surviving initial "
                   "connections (expected at most the %llu initial and %llu "
                   "current ones)", l + 1, (unsigned long long)init_alive,
                   (unsigned long long)init_nnz, (unsigned long long)nnz);
    if (init_nnz > SIZE_MAX)
        return BAD(c, at + 32, "layer %zu initial connection count %llu is "
                   "too large", l + 1, (unsigned long long)init_nnz);
    c->pos += LAYER_HEAD;
    /* Every count above now matches the section length, which is within
     * the file: the allocations below are bounded by the file size. */
    rw_layer *L = &net->layers[l];
    rw_status st = kind == RW_LAYER_SPARSE
        ? rw_layer_alloc_sparse(L, (size_t)in, (size_t)out, (size_t)nnz,
                                spec->act, c->err)
        : rw_layer_init_dense(L, (size_t)in, (size_t)out, spec->act, c->err);
    if (st != RW_OK) {
        nomem_in(c, l);
        return false;
    }
    if (kind == RW_LAYER_SPARSE &&
        !parse_topology(c, L, l, init_alive, at + 40))
        return false;
    char what[48];
    snprintf(what, sizeof what, "layer %zu weight", l + 1);
    if (!rd_f32s(c, L->w, L->nw, what))
        return false;
    snprintf(what, sizeof what, "layer %zu bias", l + 1);
    if (!rd_f32s(c, L->b, L->out, what))
        return false;
    L->initial_nnz = (size_t)init_nnz;
    L->initial_alive = (size_t)init_alive;
    if (kind == RW_LAYER_SPARSE)
        rw_sparse_build_transpose(L);
    return true;
}

static bool parse_xfrm(cursor *c, const toc *t, rw_net *net)
{
    if (!t->xfrm.at)
        return true;
    enter(c, &t->xfrm, "XFRM section");
    size_t at = c->pos;
    uint64_t n;
    if (!rd_u64(c, "the input count", &n))
        return false;
    if (n != net->cfg.n_inputs)
        return BAD(c, at, "input transform has %llu entries (expected the "
                   "model's %zu inputs)", (unsigned long long)n,
                   net->cfg.n_inputs);
    uint64_t want = XFRM_HEAD;
    if (!muladd_u64(&want, n, 8) || want != t->xfrm.len)
        return BAD(c, t->xfrm.at - 8, "XFRM section has %zu bytes, expected "
                   "8 + 8 x %llu", t->xfrm.len, (unsigned long long)n);
    net->shift = rw_alloc((size_t)n, sizeof(float), "input transform", c->err);
    net->scale = rw_alloc((size_t)n, sizeof(float), "input transform", c->err);
    if (!net->shift || !net->scale) {
        rw_fail(c->err, RW_ERR_NOMEM, "%s: input transform of %llu values "
                "does not fit in memory", c->name, (unsigned long long)n);
        return false;
    }
    return rd_f32s(c, net->shift, (size_t)n, "input shift") &&
           rd_f32s(c, net->scale, (size_t)n, "input scale");
}

static bool parse_data(cursor *c, const toc *t, rw_net *net)
{
    if (!t->data.at)
        return true;
    if (t->data.len != DATA_LEN)
        return BAD(c, t->data.at - 8, "DATA section has %zu bytes, expected "
                   "%d (the label column)", t->data.len, DATA_LEN);
    enter(c, &t->data, "DATA section");
    size_t at = c->pos;
    uint32_t col;
    if (!rd_u32(c, "the label column", &col))
        return false;
    if (col >= RW_MAX_LABEL_COLUMN)
        return BAD(c, at, "label column %u is out of range (expected 0..%u)",
                   col, RW_MAX_LABEL_COLUMN - 1);
    net->label_code = col + 1;
    return true;
}

static bool read_moments(cursor *c, float **m, float **bm, const rw_layer *L,
                         size_t l, const char *which)
{
    char what[48];
    snprintf(what, sizeof what, "layer %zu %s", l + 1, which);
    uint64_t bytes = 0;
    muladd_u64(&bytes, (uint64_t)L->nw + L->out, 4); /* nw, out fit a file */
    if (!need(c, bytes, what))
        return false;
    *m = rw_alloc(L->nw, sizeof(float), "optimizer moments", c->err);
    *bm = rw_alloc(L->out, sizeof(float), "optimizer moments", c->err);
    if (!*m || !*bm) {
        nomem_in(c, l);
        return false;
    }
    return rd_f32s(c, *m, L->nw, what) && rd_f32s(c, *bm, L->out, what);
}

/* Adam step counts of one layer: u32, each at most the global step. */
static bool read_steps(cursor *c, rw_layer *L, size_t l, uint64_t step)
{
    char what[48];
    snprintf(what, sizeof what, "layer %zu Adam step counts", l + 1);
    uint64_t bytes = 0;
    muladd_u64(&bytes, (uint64_t)L->nw + L->out, 4);
    if (!need(c, bytes, what))
        return false;
    L->mstep = rw_alloc(L->nw, sizeof(float), "Adam step counts", c->err);
    L->bmstep = rw_alloc(L->out, sizeof(float), "Adam step counts", c->err);
    if (!L->mstep || !L->bmstep) {
        nomem_in(c, l);
        return false;
    }
    uint64_t cap = step < (uint64_t)RW_ADAM_STEP_MAX ? step
                                                     : (uint64_t)RW_ADAM_STEP_MAX;
    for (size_t i = 0; i < L->nw + L->out; i++) {
        size_t at = c->pos;
        uint32_t v;
        if (!rd_u32(c, what, &v))
            return false;
        if (v > cap)
            return BAD(c, at, "%s %zu is %u (expected at most the step count "
                       "%llu)", what, i, v, (unsigned long long)cap);
        if (i < L->nw)
            L->mstep[i] = (float)v;
        else
            L->bmstep[i - L->nw] = (float)v;
    }
    return true;
}

static bool parse_optm(cursor *c, const toc *t, rw_net *net)
{
    if (!t->optm.at)
        return true;
    enter(c, &t->optm, "OPTM section");
    uint64_t step;
    uint32_t has, kind;
    if (!rd_u64(c, "the step count", &step))
        return false;
    size_t at = c->pos;
    if (!rd_u32(c, "the moments flag", &has))
        return false;
    if (has > 1)
        return BAD(c, at, "moments flag %u is invalid (expected 0 or 1)",
                   has);
    at = c->pos;
    if (!rd_u32(c, "the optimizer kind", &kind))
        return false;
    if (kind > RW_OPT_ADAMW)
        return BAD(c, at, "optimizer kind %u is unknown (expected 0..%d)",
                   kind, RW_OPT_ADAMW);
    net->step = step;
    net->has_moments = (int)has;
    net->moments_for = (rw_optim_kind)kind;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        uint32_t fl;
        at = c->pos;
        if (!rd_u32(c, "per-layer moment flags", &fl))
            return false;
        if ((fl & ~(OPTM_M1 | OPTM_M2 | OPTM_STEPS)) ||
            ((fl & OPTM_STEPS) && !(fl & OPTM_M2)))
            return BAD(c, at, "layer %zu moment flags 0x%x are invalid "
                       "(expected bits 0..2 only, bit 2 with bit 1)", l + 1, fl);
        if ((fl & OPTM_M1) && !read_moments(c, &L->m1, &L->bm1, L, l,
                                            "first moment"))
            return false;
        if ((fl & OPTM_M2) && !read_moments(c, &L->m2, &L->bm2, L, l,
                                            "second moment"))
            return false;
        if ((fl & OPTM_STEPS) && !read_steps(c, L, l, step))
            return false;
    }
    if (c->pos != c->end)
        return BAD(c, c->pos, "%zu unexpected bytes at the end of the OPTM "
                   "section (expected it to end here)", c->end - c->pos);
    return true;
}

/* One per-connection or per-neuron trace array of n floats, checked to
 * be finite and at least `lo` (and at most `hi`). */
static bool read_trace(cursor *c, float **dst, size_t n, size_t l,
                       const char *which, float lo, float hi)
{
    char what[48];
    snprintf(what, sizeof what, "layer %zu %s", l + 1, which);
    if (!need(c, (uint64_t)n * 4, what))
        return false;
    size_t at = c->pos;
    *dst = rw_alloc(n, sizeof(float), "usage traces", c->err);
    if (!*dst) {
        nomem_in(c, l);
        return false;
    }
    if (!rd_f32s(c, *dst, n, what))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((*dst)[i] >= lo && (*dst)[i] <= hi))
            return BAD(c, at + 4 * i, "%s %zu is %g (expected %g..%g)", what,
                       i, (double)(*dst)[i], (double)lo, (double)hi);
    return true;
}

static bool parse_trce(cursor *c, const toc *t, rw_net *net)
{
    if (!t->trce.at)
        return true;
    enter(c, &t->trce, "TRCE section");
    size_t at = c->pos;
    uint32_t n;
    if (!rd_u32(c, "the layer count", &n))
        return false;
    if (n != net->n_layers)
        return BAD(c, at, "TRCE section covers %u layers (expected the "
                   "model's %zu)", n, net->n_layers);
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        uint32_t fl;
        at = c->pos;
        if (!rd_u32(c, "per-layer trace flags", &fl))
            return false;
        if (fl & ~TRCE_ALL)
            return BAD(c, at, "layer %zu trace flags 0x%x are invalid "
                       "(expected bits 0..4 only)", l + 1, fl);
        for (size_t i = 0; i < rw_conn_array_count; i++) {
            const rw_conn_array *a = &rw_conn_arrays[i];
            if ((a->trce & fl) &&
                !read_trace(c, (float **)rw_conn_ptr(L, a), L->nw, l, a->what,
                            a->lo, a->hi))
                return false;
        }
        if ((fl & TRCE_ACTIVITY) &&
            !read_trace(c, &L->activity, L->out, l, "activity trace", 0.0f, FLT_MAX))
            return false;
        if (fl & TRCE_SILENT) {
            if (!need(c, (uint64_t)L->out * 4, "silent epoch counts"))
                return false;
            L->silent = rw_alloc(L->out, sizeof(uint32_t), "usage traces", c->err);
            if (!L->silent) {
                nomem_in(c, l);
                return false;
            }
            for (size_t o = 0; o < L->out; o++)
                rd_u32(c, "a silent epoch count", &L->silent[o]);
        }
    }
    if (c->pos != c->end)
        return BAD(c, c->pos, "%zu unexpected bytes at the end of the TRCE "
                   "section (expected it to end here)", c->end - c->pos);
    return true;
}

rw_net *rw_net_load_buffer_opts(const void *buf, size_t len, const char *name,
                                int check_crc, rw_error *err)
{
    if (rw_isa_check(err) != RW_OK)
        return NULL;
    cursor c = {0};
    c.buf = buf;
    c.len = len;
    c.name = name ? name : "<buffer>";
    c.err = err;
    c.scope = "file";
    if (!buf && len) {
        rw_fail(err, RW_ERR_ARG, "%s: NULL buffer", c.name);
        return NULL;
    }
    if (!buf)
        c.buf = (const unsigned char *)"";
    toc t;
    rw_net_config cfg;
    if (!check_header(&c, check_crc) || !scan_sections(&c, &t) ||
        !parse_conf(&c, &t, &cfg))
        return NULL;
    for (size_t i = cfg.n_layers; i < RW_MAX_LAYERS; i++)
        if (t.layr[i].at) {
            BAD(&c, t.layr[i].at, "layer index %zu is out of range (the "
                "model has %zu layers)", i, cfg.n_layers);
            return NULL;
        }
    rw_net *net = rw_calloc(1, sizeof *net, "network", err);
    if (!net)
        return NULL;
    net->cfg = cfg;
    net->n_layers = cfg.n_layers;
    bool ok = true;
    for (size_t l = 0; ok && l < cfg.n_layers; l++)
        ok = parse_layer(&c, &t, net, l);
    ok = ok && parse_xfrm(&c, &t, net) && parse_data(&c, &t, net) &&
         parse_optm(&c, &t, net) && parse_trce(&c, &t, net);
    if (!ok) {
        rw_net_free(net);
        return NULL;
    }
    return net;
}

rw_net *rw_net_load_buffer(const void *buf, size_t len, const char *name,
                           rw_error *err)
{
    return rw_net_load_buffer_opts(buf, len, name, 1, err);
}

/* Reads a whole model file into memory; the size comes from fstat, never
 * from the file's content. */
static unsigned char *read_file(const char *path, size_t *out_len,
                                rw_error *err)
{
    if (!path || !*path) {
        rw_fail(err, RW_ERR_ARG, "load: empty model path");
        return NULL;
    }
    const char *why = NULL;
    FILE *f = rw_open_regular(path, &why);
    if (!f) {
        rw_fail(err, RW_ERR_IO, "cannot open model %s: %s", path, why);
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        rw_fail(err, RW_ERR_IO, "cannot read model %s: %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    if ((uintmax_t)sb.st_size > SIZE_MAX) {
        rw_fail(err, RW_ERR_NOMEM, "cannot read model %s: %jd bytes do not "
                "fit in memory", path, (intmax_t)sb.st_size);
        fclose(f);
        return NULL;
    }
    size_t len = (size_t)sb.st_size;
    unsigned char *buf = rw_alloc(len, 1, "model file", err);
    if (!buf) {
        rw_fail(err, RW_ERR_NOMEM, "cannot read model %s: %zu bytes do not "
                "fit in memory", path, len);
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, len, f);
    bool changed = got == len && fgetc(f) != EOF;
    if (got != len || changed || ferror(f)) {
        rw_fail(err, RW_ERR_IO, "cannot read model %s: %s", path,
                ferror(f) ? strerror(errno)
                          : "the file changed size while being read");
        fclose(f);
        rw_free(buf);
        return NULL;
    }
    fclose(f);
    *out_len = len;
    return buf;
}

rw_net *rw_net_load(const char *path, rw_error *err)
{
    size_t len = 0;
    unsigned char *buf = read_file(path, &len, err);
    if (!buf)
        return NULL;
    rw_net *net = rw_net_load_buffer_opts(buf, len, path, 1, err);
    rw_free(buf);
    return net;
}

rw_status rw_model_read_section(const char *path, const char tag[4],
                                void **payload, size_t *plen, size_t *at_out,
                                rw_error *err)
{
    size_t len = 0;
    unsigned char *buf = read_file(path, &len, err);
    if (!buf)
        return err ? err->status : RW_ERR_IO;
    cursor c = {0};
    c.buf = buf;
    c.len = len;
    c.name = path;
    c.err = err;
    c.scope = "file";
    toc t;
    rw_status st = RW_ERR_FORMAT;
    if (check_header(&c, 1) && scan_sections(&c, &t)) {
        /* scan_sections checked every header; find the tag, once. */
        size_t pos = HEADER_LEN, found = 0, flen = 0;
        while (pos < t.sections_end) {
            uint64_t slen = get_u64(buf + pos + 4);
            size_t at = pos + SECTION_HEAD;
            if (!memcmp(buf + pos, tag, 4)) {
                if (found) {
                    BAD(&c, pos, "second %.4s section (the first starts at "
                        "byte %zu; it may appear only once)", tag,
                        found - SECTION_HEAD);
                    break;
                }
                found = at;
                flen = (size_t)slen;
            }
            pos = at + (size_t)slen;
        }
        if (pos < t.sections_end) {
            /* the duplicate's message is set */
        } else if (!found) {
            rw_fail(err, RW_ERR_FORMAT, "%s has no %.4s section", path, tag);
        } else if (!(*payload = rw_alloc(flen ? flen : 1, 1, "model section",
                                         err))) {
            st = RW_ERR_NOMEM;
        } else {
            memcpy(*payload, buf + found, flen);
            *plen = flen;
            if (at_out)
                *at_out = found;
            st = RW_OK;
        }
    }
    rw_free(buf);
    return st;
}
