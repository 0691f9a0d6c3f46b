/*
 * Readers for the files `rewire plot` draws from (see plot_data.h).
 */
#include "plot_data.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../json.h"

/* Logs and reports above this size are refused rather than read. */
#define RWP_MAX_FILE ((size_t)1 << 30)
/* More layers than any network we build; guards against nonsense. */
#define RWP_MAX_LOG_LAYERS 4096

const rwp_opts rwp_default_opts = {NULL, 0, 0, 0};

int rwp_fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return 1;
}

int rwp_lib_error(const char *path, const rw_error *err, char *errbuf,
                  size_t errlen)
{
    const char *msg = err && err->msg[0] ? err->msg
                      : err              ? rw_status_str(err->status)
                                         : "unknown error";
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':')
        return rwp_fail(errbuf, errlen, "%s", msg);
    return rwp_fail(errbuf, errlen, "%s: %s", path, msg);
}

int rwp_out_of_memory(const char *what, char *errbuf, size_t errlen)
{
    return rwp_fail(errbuf, errlen, "%s: out of memory", what);
}

static int read_error(const char *path, char *errbuf, size_t errlen)
{
    if (errno == EFBIG)
        return rwp_fail(errbuf, errlen, "%s: file is larger than %zu MiB", path,
                        RWP_MAX_FILE >> 20);
    if (errno == EISDIR)
        return rwp_fail(errbuf, errlen, "%s: is a folder, expected a file", path);
    if (errno == EINVAL)
        return rwp_fail(errbuf, errlen, "%s: not a regular file (a pipe, device "
                        "or socket)", path);
    return rwp_fail(errbuf, errlen, "%s: cannot read: %s", path,
                    strerror(errno));
}

/* ================= training logs ================= */

/* Reads number `key` of `obj` into *out: absent or null gives NaN. Other
 * types are an error naming the line. */
static int get_num(const rw_json *obj, const char *key, double *out,
                   const char *path, size_t line, char *errbuf, size_t errlen)
{
    const rw_json *v = rw_json_get(obj, key);
    *out = NAN;
    if (!v || v->type == RW_JSON_NULL)
        return 0;
    if (v->type != RW_JSON_NUMBER)
        return rwp_fail(errbuf, errlen,
                        "%s: line %zu: \"%s\" should be a number, not a %s",
                        path, line, key, rw_json_type_name(v->type));
    *out = v->number;
    return 0;
}

static void epoch_clear(rwp_epoch *e)
{
    free(e->layer);
    memset(e, 0, sizeof *e);
}

void rwp_log_free(rwp_log *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < log->n; i++)
        epoch_clear(&log->ep[i]);
    free(log->ep);
    memset(log, 0, sizeof *log);
}

static int parse_record(const rw_json *obj, rwp_epoch *e, const char *path,
                        size_t line, char *errbuf, size_t errlen)
{
    static const struct {
        const char *key;
        size_t off;
    } fields[] = {
        {"train_loss", offsetof(rwp_epoch, train_loss)},
        {"train_accuracy", offsetof(rwp_epoch, train_acc)},
        {"test_loss", offsetof(rwp_epoch, test_loss)},
        {"test_accuracy", offsetof(rwp_epoch, test_acc)},
        {"seconds", offsetof(rwp_epoch, seconds)},
        {"lr", offsetof(rwp_epoch, lr)},
        {"connections", offsetof(rwp_epoch, connections)},
        {"drop_fraction", offsetof(rwp_epoch, drop_fraction)},
    };
    static const char *layer_keys[RWP_L_COUNT] = {"neurons", "connections",
                                                  "density", "dropped",
                                                  "grown",   "initial_share",
                                                  "dormant_fraction",
                                                  "effective_rank",
                                                  "mean_abs_w"};
    memset(e, 0, sizeof *e);
    if (get_num(obj, "epoch", &e->epoch, path, line, errbuf, errlen))
        return 1;
    if (!isfinite(e->epoch) || e->epoch < 0)
        return rwp_fail(errbuf, errlen,
                        "%s: line %zu: \"epoch\" should be a number >= 0", path,
                        line);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        double *dst = (double *)(void *)((char *)e + fields[i].off);
        if (get_num(obj, fields[i].key, dst, path, line, errbuf, errlen))
            return 1;
    }
    const rw_json *layers = rw_json_get(obj, "layers");
    if (!layers || layers->type == RW_JSON_NULL)
        return 0;
    if (layers->type != RW_JSON_ARRAY)
        return rwp_fail(errbuf, errlen,
                        "%s: line %zu: \"layers\" should be an array, not a %s",
                        path, line, rw_json_type_name(layers->type));
    if (layers->len > RWP_MAX_LOG_LAYERS)
        return rwp_fail(errbuf, errlen,
                        "%s: line %zu: \"layers\" has %zu entries (at most %d)",
                        path, line, layers->len, RWP_MAX_LOG_LAYERS);
    if (layers->len == 0)
        return 0;
    e->layer = malloc(layers->len * RWP_L_COUNT * sizeof *e->layer);
    if (!e->layer)
        return rwp_fail(errbuf, errlen, "%s: out of memory", path);
    e->n_layers = layers->len;
    for (size_t l = 0; l < layers->len; l++) {
        const rw_json *L = &layers->items[l];
        if (L->type != RW_JSON_OBJECT)
            return rwp_fail(errbuf, errlen,
                            "%s: line %zu: layers[%zu] should be an object, "
                            "not a %s",
                            path, line, l, rw_json_type_name(L->type));
        for (int k = 0; k < RWP_L_COUNT; k++) {
            double *dst = &e->layer[l * RWP_L_COUNT + (size_t)k];
            const rw_json *v = rw_json_get(L, layer_keys[k]);
            *dst = NAN;
            if (!v || v->type == RW_JSON_NULL)
                continue;
            if (v->type != RW_JSON_NUMBER)
                return rwp_fail(errbuf, errlen,
                                "%s: line %zu: layers[%zu].%s should be a "
                                "number, not a %s",
                                path, line, l, layer_keys[k],
                                rw_json_type_name(v->type));
            *dst = v->number;
        }
    }
    return 0;
}

static int log_push(rwp_log *log, rwp_epoch *e)
{
    if (log->n == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 64;
        if (cap < log->cap || cap > SIZE_MAX / sizeof *log->ep)
            return 1;
        rwp_epoch *ep = realloc(log->ep, cap * sizeof *ep);
        if (!ep)
            return 1;
        log->ep = ep;
        log->cap = cap;
    }
    log->ep[log->n++] = *e;
    if (e->n_layers > log->max_layers)
        log->max_layers = e->n_layers;
    memset(e, 0, sizeof *e);
    return 0;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

static void epoch_range(const rwp_log *log, char *buf, size_t n)
{
    if (log->n == 1)
        snprintf(buf, n, "epoch %.0f", log->ep[0].epoch);
    else
        snprintf(buf, n, "epochs %.0f-%.0f", log->ep[0].epoch,
                 log->ep[log->n - 1].epoch);
}

/* Where the last line with content starts (len when there is none). */
static size_t last_content_line(const char *text, size_t len)
{
    size_t end = len;
    while (end > 0) {
        size_t s = end;
        while (s > 0 && text[s - 1] != '\n')
            s--;
        if (!is_blank(text + s, end - s))
            return s;
        end = s > 0 ? s - 1 : 0;
    }
    return len;
}

int rwp_log_load(const char *path, rwp_log *log, char *errbuf, size_t errlen)
{
    size_t len = 0;
    memset(log, 0, sizeof *log);
    char *text = rw_json_read_file(path, RWP_MAX_FILE, &len);
    if (!text)
        return read_error(path, errbuf, errlen);

    /* only the last line with content may be incomplete */
    size_t last_start = last_content_line(text, len);
    int ends_with_newline = len > 0 && text[len - 1] == '\n';
    int empty = is_blank(text, len);

    size_t line = 0, pos = 0, incomplete_line = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        size_t start = pos, end = pos;
        while (end < len && text[end] != '\n')
            end++;
        pos = end < len ? end + 1 : end;
        line++;
        if (is_blank(text + start, end - start))
            continue;
        rw_json_error je;
        rw_json *obj = rw_json_parse(text + start, end - start, &je);
        if (!obj) {
            int nul = memchr(text + start, '\0', end - start) != NULL;
            if (start == last_start &&
                (je.truncated || !ends_with_newline || nul)) {
                incomplete_line = line;
                break;
            }
            rc = rwp_fail(errbuf, errlen,
                          "%s: line %zu, column %zu (byte %zu): %s", path, line,
                          je.column, start + je.offset, je.msg);
            break;
        }
        if (obj->type != RW_JSON_OBJECT) {
            rc = rwp_fail(errbuf, errlen,
                          "%s: line %zu: expected a JSON object, found a %s",
                          path, line, rw_json_type_name(obj->type));
            rw_json_free(obj);
            break;
        }
        if (!rw_json_get(obj, "epoch")) {
            /* another kind of record (a header, a summary): not ours */
            rw_json_free(obj);
            continue;
        }
        const rw_json *loss = rw_json_get(obj, "loss");
        if (loss && loss->type == RW_JSON_STRING) {
            log->mse = strcmp(loss->string, "mse") == 0 ||
                       strcmp(loss->string, "mean_squared_error") == 0;
        }
        rwp_epoch e;
        rc = parse_record(obj, &e, path, line, errbuf, errlen);
        rw_json_free(obj);
        if (rc) {
            epoch_clear(&e);
            break;
        }
        if (log->n > 0 && e.epoch <= log->ep[log->n - 1].epoch) {
            /* the log was appended to by a second run: keep the last */
            fprintf(stderr,
                    "rewire plot: %s: line %zu: epoch %.0f follows epoch "
                    "%.0f; a new run starts there, plotting only that run\n",
                    path, line, e.epoch, log->ep[log->n - 1].epoch);
            for (size_t i = 0; i < log->n; i++)
                epoch_clear(&log->ep[i]);
            log->n = 0;
            log->max_layers = 0;
        }
        if (log_push(log, &e)) {
            epoch_clear(&e);
            rc = rwp_fail(errbuf, errlen, "%s: out of memory", path);
        }
    }
    free(text);
    if (rc) {
        rwp_log_free(log);
        return rc;
    }
    if (log->n == 0) {
        if (incomplete_line)
            rc = rwp_fail(errbuf, errlen,
                          "%s: line %zu is incomplete and there is no "
                          "complete epoch before it",
                          path, incomplete_line);
        else if (empty)
            rc = rwp_fail(errbuf, errlen, "%s: the log is empty (no epochs)",
                          path);
        else
            rc = rwp_fail(errbuf, errlen,
                          "%s: no epochs in the log (no line has \"epoch\"; "
                          "is it a log written by rewire train --log?)",
                          path);
        rwp_log_free(log);
        return rc;
    }
    if (incomplete_line) {
        char range[64];
        epoch_range(log, range, sizeof range);
        fprintf(stderr, "rewire plot: %s: line %zu is incomplete; plotted %s\n",
                path, incomplete_line, range);
    }
    return 0;
}

/* ================= continual-learning reports ================= */

void rwp_continual_free(rwp_continual *c)
{
    if (!c)
        return;
    free(c->method);
    if (c->tasks)
        for (size_t i = 0; i < c->cols; i++)
            free(c->tasks[i]);
    free(c->tasks);
    free(c->matrix);
    memset(c, 0, sizeof *c);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

static int continual_fill(const rw_json *root, rwp_continual *c,
                          const char *path, char *errbuf, size_t errlen)
{
    if (root->type != RW_JSON_OBJECT)
        return rwp_fail(errbuf, errlen,
                        "%s: expected a JSON object with \"matrix\", found "
                        "a %s",
                        path, rw_json_type_name(root->type));
    const rw_json *m = rw_json_get(root, "matrix");
    if (!m)
        return rwp_fail(errbuf, errlen, "%s: no \"matrix\" in the report",
                        path);
    if (m->type != RW_JSON_ARRAY || m->len == 0)
        return rwp_fail(errbuf, errlen,
                        "%s: \"matrix\" should be a non-empty array of rows",
                        path);
    const rw_json *tasks = rw_json_get(root, "tasks");
    if (tasks && tasks->type != RW_JSON_ARRAY && tasks->type != RW_JSON_NULL)
        return rwp_fail(errbuf, errlen,
                        "%s: \"tasks\" should be an array of names, not a %s",
                        path, rw_json_type_name(tasks->type));
    c->rows = m->len;
    if (m->items[0].type != RW_JSON_ARRAY || m->items[0].len == 0)
        return rwp_fail(errbuf, errlen,
                        "%s: matrix[0] should be a non-empty array of "
                        "numbers",
                        path);
    c->cols = m->items[0].len;
    if (c->rows > 10000 || c->cols > 10000)
        return rwp_fail(errbuf, errlen,
                        "%s: matrix is %zu x %zu; at most 10000 each", path,
                        c->rows, c->cols);
    if (tasks && tasks->type == RW_JSON_ARRAY && tasks->len != c->cols)
        return rwp_fail(errbuf, errlen,
                        "%s: %zu task names but the matrix has %zu columns",
                        path, tasks->len, c->cols);
    c->matrix = malloc(c->rows * c->cols * sizeof *c->matrix);
    c->tasks = calloc(c->cols, sizeof *c->tasks);
    if (!c->matrix || !c->tasks)
        return rwp_fail(errbuf, errlen, "%s: out of memory", path);
    for (size_t i = 0; i < c->rows; i++) {
        const rw_json *row = &m->items[i];
        if (row->type != RW_JSON_ARRAY || row->len != c->cols)
            return rwp_fail(errbuf, errlen,
                            "%s: matrix[%zu] should be an array of %zu "
                            "numbers like matrix[0]",
                            path, i, c->cols);
        for (size_t j = 0; j < c->cols; j++) {
            const rw_json *v = &row->items[j];
            double x = NAN;
            if (v->type == RW_JSON_NUMBER)
                x = v->number;
            else if (v->type != RW_JSON_NULL)
                return rwp_fail(errbuf, errlen,
                                "%s: matrix[%zu][%zu] should be a number or "
                                "null, not a %s",
                                path, i, j, rw_json_type_name(v->type));
            if (!isnan(x) && !(x >= 0 && x <= 1))
                return rwp_fail(errbuf, errlen,
                                "%s: matrix[%zu][%zu] = %g is not an "
                                "accuracy between 0 and 1",
                                path, i, j, x);
            c->matrix[i * c->cols + j] = x;
        }
    }
    for (size_t j = 0; j < c->cols; j++) {
        char buf[32];
        const char *name = NULL;
        if (tasks && tasks->type == RW_JSON_ARRAY) {
            const rw_json *t = &tasks->items[j];
            if (t->type == RW_JSON_STRING)
                name = t->string;
            else if (t->type == RW_JSON_NUMBER) {
                snprintf(buf, sizeof buf, "%g", t->number);
                name = buf;
            } else
                return rwp_fail(errbuf, errlen,
                                "%s: tasks[%zu] should be a string, not a %s",
                                path, j, rw_json_type_name(t->type));
        }
        if (!name) {
            snprintf(buf, sizeof buf, "task %zu", j + 1);
            name = buf;
        }
        c->tasks[j] = dup_str(name);
        if (!c->tasks[j])
            return rwp_fail(errbuf, errlen, "%s: out of memory", path);
    }
    const rw_json *method = rw_json_get(root, "method");
    if (method && method->type == RW_JSON_STRING) {
        c->method = dup_str(method->string);
        if (!c->method)
            return rwp_fail(errbuf, errlen, "%s: out of memory", path);
    }
    const rw_json *v = rw_json_get(root, "average_accuracy");
    c->average_accuracy = v && v->type == RW_JSON_NUMBER ? v->number : NAN;
    v = rw_json_get(root, "backward_transfer");
    c->backward_transfer = v && v->type == RW_JSON_NUMBER ? v->number : NAN;
    v = rw_json_get(root, "forward_transfer");
    c->forward_transfer = v && v->type == RW_JSON_NUMBER ? v->number : NAN;
    return 0;
}

int rwp_continual_load(const char *path, rwp_continual *c, char *errbuf,
                       size_t errlen)
{
    size_t len = 0;
    memset(c, 0, sizeof *c);
    c->average_accuracy = c->backward_transfer = c->forward_transfer = NAN;
    char *text = rw_json_read_file(path, RWP_MAX_FILE, &len);
    if (!text)
        return read_error(path, errbuf, errlen);
    if (is_blank(text, len)) {
        free(text);
        return rwp_fail(errbuf, errlen, "%s: the file is empty", path);
    }
    rw_json_error je;
    rw_json *root = rw_json_parse(text, len, &je);
    free(text);
    if (!root)
        return rwp_fail(errbuf, errlen,
                        "%s: line %zu, column %zu (byte %zu): %s", path,
                        je.line, je.column, je.offset, je.msg);
    int rc = continual_fill(root, c, path, errbuf, errlen);
    rw_json_free(root);
    if (rc)
        rwp_continual_free(c);
    return rc;
}

/* ================= shapes ================= */

int rwp_image_shape(size_t n, size_t h, size_t w, size_t *out_h, size_t *out_w,
                    const char *what, char *errbuf, size_t errlen)
{
    if (h == 0 && w == 0) {
        size_t s = (size_t)sqrt((double)n);
        while (s * s > n)
            s--;
        while ((s + 1) * (s + 1) <= n)
            s++;
        if (n == 0 || s * s != n)
            return rwp_fail(errbuf, errlen,
                            "%s: model input (%zu features) is not "
                            "image-shaped; pass --height and --width",
                            what, n);
        *out_h = *out_w = s;
        return 0;
    }
    if (h == 0 || w == 0) {
        /* one side given: the other follows when it divides */
        size_t g = h ? h : w;
        if (n % g != 0)
            return rwp_fail(errbuf, errlen,
                            "%s: model input (%zu features) cannot be split "
                            "into rows of %zu; pass both --height and "
                            "--width",
                            what, n, g);
        *out_h = h ? h : n / w;
        *out_w = w ? w : n / h;
        return 0;
    }
    if (w > SIZE_MAX / h || h * w != n)
        return rwp_fail(errbuf, errlen,
                        "%s: --height %zu x --width %zu does not match the "
                        "model input (%zu features)",
                        what, h, w, n);
    *out_h = h;
    *out_w = w;
    return 0;
}
