/*
 * CSV files: one sample per line, comma-separated numbers, the label (or
 * regression target) in the last column unless opts say otherwise, or no
 * label at all with opts->no_labels. The first non-blank line is a
 * header when any of its fields is not a number. Numbers are parsed here,
 * by hand, so that LC_NUMERIC can never turn "0.5" into 0 or 5. Files are
 * streamed line by line (raw or gzip) into arrays that grow as rows arrive;
 * no count in the file is trusted because there is none.
 */
#include "data/data.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---------------- numbers ---------------- */

static const double pow10_tab[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int lower_eq(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return 0;
    }
    return 1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

rw_num_status rw_parse_double(const char *s, size_t len, double *out)
{
    if (len == 0)
        return RW_NUM_EMPTY;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (lower_eq(s + i, len - i, "nan") || lower_eq(s + i, len - i, "inf") ||
        lower_eq(s + i, len - i, "infinity"))
        return RW_NUM_NONFINITE;

    /* Up to 19 significant digits fit a uint64_t exactly; later digits only
     * move the decimal exponent, far below float32 (and double) precision
     * that matters here. */
    uint64_t mant = 0;
    int nd = 0, any = 0;
    long exp10 = 0;
    for (; i < len && is_digit(s[i]); i++) {
        unsigned d = (unsigned)(s[i] - '0');
        any = 1;
        if (mant == 0 && d == 0)
            continue;
        if (nd < 19) {
            mant = mant * 10 + d;
            nd++;
        } else {
            exp10++;
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && is_digit(s[i]); i++) {
            unsigned d = (unsigned)(s[i] - '0');
            any = 1;
            if (mant == 0 && d == 0) {
                exp10--;
            } else if (nd < 19) {
                mant = mant * 10 + d;
                nd++;
                exp10--;
            }
        }
    }
    if (!any)
        return RW_NUM_SYNTAX;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        long e = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        if (i >= len || !is_digit(s[i]))
            return RW_NUM_SYNTAX;
        for (; i < len && is_digit(s[i]); i++)
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        exp10 += eneg ? -e : e;
    }
    if (i != len)
        return RW_NUM_SYNTAX;

    double v = 0.0;
    if (mant != 0) {
        /* The value lies in [10^(nd-1+exp10), 10^(nd+exp10)). */
        if (exp10 + nd > 310)
            return RW_NUM_RANGE;
        if (exp10 + nd >= -330) {
            long e = exp10;
            v = (double)mant;
            for (; e > 22; e -= 22)
                v *= 1e22;
            for (; e < -22; e += 22)
                v /= 1e22;
            v = e >= 0 ? v * pow10_tab[e] : v / pow10_tab[-e];
            if (isinf(v))
                return RW_NUM_RANGE;
        }
    }
    *out = neg ? -v : v;
    return RW_NUM_OK;
}

rw_num_status rw_parse_float(const char *s, size_t len, float *out)
{
    double v;
    rw_num_status st = rw_parse_double(s, len, &v);
    if (st != RW_NUM_OK)
        return st;
    /* Doubles below FLT_MAX + half an ulp round to FLT_MAX; above it the
     * conversion would be out of range. */
    const double limit = (double)FLT_MAX + ldexp(1.0, 103);
    if (fabs(v) >= limit)
        return RW_NUM_RANGE;
    if (fabs(v) > (double)FLT_MAX)
        v = v < 0 ? -(double)FLT_MAX : (double)FLT_MAX;
    *out = (float)v;
    return RW_NUM_OK;
}

/* ---------------- parser state ---------------- */

typedef struct field {
    size_t off, len; /* content, blanks and quotes removed */
} field;

typedef struct csv_state {
    const char *name;
    const rw_data_options *o;
    rw_error *err;
    size_t line;       /* 1-based number of the line being parsed */
    size_t ncols;      /* 0 until the first non-blank line */
    size_t first_line; /* where ncols was set */
    int header;
    size_t header_numbers; /* fields of the header that are numbers */
    size_t label_col;  /* SIZE_MAX: no label column */
    size_t f;          /* features per row: ncols - 1, or ncols */
    size_t rows, row_cap;
    float *x, *y;
    int32_t *lab;
    int32_t max_label;
    field *fields;
    size_t fields_cap;
} csv_state;

static void csv_init(csv_state *st, const char *name,
                     const rw_data_options *o, rw_error *err)
{
    memset(st, 0, sizeof *st);
    st->name = name;
    st->o = o;
    st->err = err;
    st->max_label = -1;
}

static void csv_release(csv_state *st)
{
    rw_free(st->x);
    rw_free(st->y);
    rw_free(st->lab);
    free(st->fields);
}

/* Writes s[0..len) quoted for a message: at most 40 characters, bytes
 * outside printable ASCII as \xNN. */
static const char *show(char *dst, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    dst[o++] = '"';
    for (size_t i = 0; i < len && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 40) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
        else
            dst[o++] = (char)c;
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return dst;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Splits a line into fields (quotes allowed, "" inside them); returns the
 * count, or 0 with err set. */
static size_t split_fields(csv_state *st, const char *s, size_t len)
{
    size_t i = 0, k = 0;
    for (;;) {
        if (k == st->fields_cap) {
            size_t cap = st->fields_cap ? st->fields_cap * 2 : 64;
            field *p = cap > SIZE_MAX / sizeof *p
                           ? NULL
                           : realloc(st->fields, cap * sizeof *p);
            if (!p) {
                rw_fail(st->err, RW_ERR_NOMEM, "%s: line %zu: cannot "
                        "allocate room for %zu fields", st->name, st->line, cap);
                return 0;
            }
            st->fields = p;
            st->fields_cap = cap;
        }
        field *fd = &st->fields[k];
        while (i < len && is_blank(s[i]))
            i++;
        if (i < len && s[i] == '"') {
            size_t q = i + 1;
            for (;;) {
                if (q >= len) {
                    rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu, column "
                            "%zu: expected a closing quote before the end of "
                            "the line", st->name, st->line, k + 1);
                    return 0;
                }
                if (s[q] == '"') {
                    if (q + 1 < len && s[q + 1] == '"')
                        q += 2;
                    else
                        break;
                } else {
                    q++;
                }
            }
            fd->off = i + 1;
            fd->len = q - (i + 1);
            i = q + 1;
            while (i < len && is_blank(s[i]))
                i++;
            if (i < len && s[i] != ',') {
                char buf[64];
                rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu, column %zu: "
                        "expected a comma after the closing quote, found %s",
                        st->name, st->line, k + 1,
                        show(buf, sizeof buf, s + i, 1));
                return 0;
            }
        } else {
            size_t start = i;
            while (i < len && s[i] != ',')
                i++;
            size_t end = i;
            while (end > start && is_blank(s[end - 1]))
                end--;
            fd->off = start;
            fd->len = end - start;
        }
        k++;
        if (i >= len)
            return k;
        i++; /* the comma */
    }
}

static rw_status bad_number(csv_state *st, const char *s, const field *fd,
                            size_t col, rw_num_status ns, const char *what)
{
    char buf[200];
    const char *txt = s + fd->off;
    switch (ns) {
    case RW_NUM_EMPTY:
        return rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu, column %zu: "
                       "expected %s, found an empty field", st->name,
                       st->line, col, what);
    case RW_NUM_NONFINITE:
        return rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu, column %zu: "
                       "expected %s, found %s (not finite)", st->name,
                       st->line, col, what, show(buf, sizeof buf, txt, fd->len));
    case RW_NUM_RANGE:
        return rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu, column %zu: "
                       "expected %s, found %s (out of range for a 32-bit "
                       "float)", st->name, st->line, col, what,
                       show(buf, sizeof buf, txt, fd->len));
    default:
        return rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu, column %zu: "
                       "expected %s, found %s", st->name, st->line, col, what,
                       show(buf, sizeof buf, txt, fd->len));
    }
}

/* Makes room for one more row, doubling (from about 4096 values). */
static rw_status reserve_row(csv_state *st)
{
    if (st->rows < st->row_cap)
        return RW_OK;
    size_t cap = st->row_cap ? st->row_cap * 2 : (st->f < 4096 ? 4096 / st->f : 1);
    size_t nx;
    if (cap <= st->row_cap || !rw_mul_ok(cap, st->f, &nx))
        return rw_fail(st->err, RW_ERR_NOMEM, "%s: line %zu: too many rows",
                       st->name, st->line);
    float *x = rw_alloc(nx, sizeof(float), "CSV features", st->err);
    if (!x)
        return st->err ? st->err->status : RW_ERR_NOMEM;
    if (st->rows)
        memcpy(x, st->x, st->rows * st->f * sizeof(float));
    rw_free(st->x);
    st->x = x;
    if (st->o->no_labels) {
        /* features only */
    } else if (st->o->regression) {
        float *y = rw_alloc(cap, sizeof(float), "CSV targets", st->err);
        if (!y)
            return st->err ? st->err->status : RW_ERR_NOMEM;
        if (st->rows)
            memcpy(y, st->y, st->rows * sizeof(float));
        rw_free(st->y);
        st->y = y;
    } else {
        int32_t *lab = rw_alloc(cap, sizeof(int32_t), "CSV labels", st->err);
        if (!lab)
            return st->err ? st->err->status : RW_ERR_NOMEM;
        if (st->rows)
            memcpy(lab, st->lab, st->rows * sizeof(int32_t));
        rw_free(st->lab);
        st->lab = lab;
    }
    st->row_cap = cap;
    return RW_OK;
}

/* The first non-blank line: fixes the column count and the label column,
 * and is a header when any field is not a number. */
static rw_status first_line(csv_state *st, const char *s, size_t nf,
                            char other_sep)
{
    st->ncols = nf;
    st->first_line = st->line;
    int lc = st->o->label_column;
    if (st->o->no_labels) {
        st->label_col = SIZE_MAX;
        st->f = nf;
    } else {
        if (nf < 2)
            return rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu: expected at "
                           "least 2 columns (features and a label), found "
                           "1%s%s%s", st->name, st->line,
                           other_sep ? " (the columns must be separated by "
                                       "commas; this line has '" : "",
                           other_sep == '\t' ? "\\t" : other_sep == ';' ? ";"
                                                                    : "",
                           other_sep ? "' instead)" : "");
        if (lc < RW_LABEL_LAST || (lc >= 0 && (size_t)lc >= nf))
            return rw_fail(st->err, RW_ERR_ARG, "%s: line %zu: label column "
                           "%d (0-based) does not exist: the line has %zu "
                           "columns", st->name, st->line, lc, nf);
        st->label_col = lc == RW_LABEL_LAST ? nf - 1 : (size_t)lc;
        st->f = nf - 1;
    }
    size_t numbers = 0;
    for (size_t k = 0; k < nf; k++) {
        double v;
        rw_num_status ns = rw_parse_double(s + st->fields[k].off,
                                           st->fields[k].len, &v);
        if (ns == RW_NUM_SYNTAX || ns == RW_NUM_EMPTY)
            st->header = 1;
        else
            numbers++;
    }
    if (st->header)
        st->header_numbers = numbers;
    return RW_OK;
}

static rw_status csv_line(csv_state *st, const char *s, size_t len)
{
    st->line++;
    /* A model or checkpoint given as data: say so, not what its bytes
     * break first. */
    if (st->line == 1 && len >= 8 && memcmp(s, "RWMODEL", 8) == 0)
        return rw_fail(st->err, RW_ERR_FORMAT, "%s: is a rewire model file "
                       "(\"RWMODEL\" at byte 0), not data: a model goes to "
                       "--model, data is a CSV file, an IDX pair or a "
                       "dataset name", st->name);
    if (len && s[len - 1] == '\r')
        len--;
    if (memchr(s, '\r', len))
        return rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu: a carriage return "
                       "inside the line: lines that end in CR alone (classic "
                       "Mac OS) are not read; expected LF or CRLF line ends "
                       "(tr '\\r' '\\n' converts the file)", st->name, st->line);
    if (st->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3; /* UTF-8 byte order mark */
        len -= 3;
    }
    size_t b = 0;
    while (b < len && is_blank(s[b]))
        b++;
    if (b == len)
        return RW_OK;

    size_t nf = split_fields(st, s, len);
    if (nf == 0)
        return st->err ? st->err->status : RW_ERR_FORMAT;
    if (st->ncols == 0) {
        /* A single column with semicolons or tabs in it: another
         * separator, worth naming in the error. */
        char other = nf == 1 && memchr(s, ';', len) ? ';'
                   : nf == 1 && memchr(s, '\t', len) ? '\t' : 0;
        rw_status r = first_line(st, s, nf, other);
        if (r || st->header)
            return r;
    } else if (nf != st->ncols) {
        return rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu, column %zu: "
                       "expected %zu columns as on line %zu%s, found %zu",
                       st->name, st->line,
                       (nf < st->ncols ? nf : st->ncols) + 1, st->ncols,
                       st->first_line, st->header ? " (the header)" : "", nf);
    }

    rw_status r = reserve_row(st);
    if (r)
        return r;
    float *row = st->x + st->rows * st->f;
    size_t j = 0;
    for (size_t k = 0; k < nf; k++) {
        const field *fd = &st->fields[k];
        const char *txt = s + fd->off;
        if (k != st->label_col) {
            rw_num_status ns = rw_parse_float(txt, fd->len, &row[j++]);
            if (ns)
                return bad_number(st, s, fd, k + 1, ns, "a number");
        } else if (st->o->regression) {
            rw_num_status ns = rw_parse_float(txt, fd->len, &st->y[st->rows]);
            if (ns)
                return bad_number(st, s, fd, k + 1, ns,
                                  "a number (the regression target)");
        } else {
            double v = 0;
            rw_num_status ns = rw_parse_double(txt, fd->len, &v);
            if (ns == RW_NUM_OK && (v < 0 || v != floor(v)))
                ns = RW_NUM_SYNTAX;
            if (ns)
                return bad_number(st, s, fd, k + 1, ns,
                                  "a class label (an integer >= 0)");
            if (v > RW_CSV_MAX_LABEL) {
                char buf[200];
                return rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu, column "
                               "%zu: expected a class label up to %d, found %s",
                               st->name, st->line, k + 1, RW_CSV_MAX_LABEL,
                               show(buf, sizeof buf, txt, fd->len));
            }
            int32_t l = (int32_t)v;
            st->lab[st->rows] = l;
            if (l > st->max_label)
                st->max_label = l;
        }
    }
    st->rows++;
    return RW_OK;
}

/* Copies a grown array down to its used size when a quarter or more of it
 * is slack; on failure keeps the larger one. */
static void *shrink(void *p, size_t used, size_t cap, size_t elem)
{
    if (used >= cap - cap / 4)
        return p;
    void *q = rw_alloc(used, elem, "CSV", NULL);
    if (!q)
        return p;
    memcpy(q, p, used * elem);
    rw_free(p);
    return q;
}

static rw_dataset *csv_finish(csv_state *st)
{
    if (st->ncols == 0) {
        rw_fail(st->err, RW_ERR_FORMAT, "%s: the file is empty (expected "
                "lines of comma-separated numbers)", st->name);
        return NULL;
    }
    if (st->rows == 0) {
        rw_fail(st->err, RW_ERR_FORMAT, "%s: line %zu: expected data rows "
                "after the header, found none", st->name, st->line);
        return NULL;
    }
    rw_dataset *ds = rw_calloc(1, sizeof *ds, "dataset", st->err);
    if (!ds)
        return NULL;
    ds->n = st->rows;
    ds->f = st->f;
    ds->x = shrink(st->x, st->rows * st->f, st->row_cap * st->f, sizeof(float));
    st->x = NULL;
    if (st->o->no_labels) {
        /* unlabelled: no classes, no targets */
    } else if (st->o->regression) {
        ds->targets = 1;
        ds->y = shrink(st->y, st->rows, st->row_cap, sizeof(float));
        st->y = NULL;
    } else {
        ds->classes = (size_t)st->max_label + 1;
        ds->labels = shrink(st->lab, st->rows, st->row_cap, sizeof(int32_t));
        st->lab = NULL;
    }
    if (st->header) {
        ds->header_line = st->first_line;
        ds->header_numbers = st->header_numbers;
        ds->header_fields = st->ncols;
    }
    rw_dataset_describe(ds, rw_base_name(st->name));
    return ds;
}

rw_dataset *rw_csv_parse_memory(const void *buf, size_t len, const char *name,
                                const rw_data_options *o, rw_error *err)
{
    rw_data_options defaults = rw_data_options_defaults();
    if (!o)
        o = &defaults;
    if (!name)
        name = "CSV";
    if (!buf && len) {
        rw_fail(err, RW_ERR_ARG, "%s: NULL buffer", name);
        return NULL;
    }
    csv_state st;
    csv_init(&st, name, o, err);
    const char *p = buf, *end = p ? p + len : p;
    rw_dataset *ds = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        if (csv_line(&st, p, (size_t)(stop - p)))
            goto out;
        p = nl ? nl + 1 : end;
    }
    ds = csv_finish(&st);
out:
    csv_release(&st);
    return ds;
}

rw_dataset *rw_csv_load_file(const char *path, const rw_data_options *o,
                             rw_error *err)
{
    rw_data_options defaults = rw_data_options_defaults();
    if (!o)
        o = &defaults;
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        rw_fail(err, RW_ERR_IO, "%s: cannot open: %s", path,
                errno ? strerror(errno) : "out of memory");
        return NULL;
    }
    gzbuffer(gz, 1u << 16);
    csv_state st;
    csv_init(&st, path, o, err);
    rw_dataset *ds = NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0, scan = 0, total = 0;
    /* buf holds the unfinished tail of the text; it grows only when one
     * line is longer than it. */
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 16;
            char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                rw_fail(err, RW_ERR_NOMEM, "%s: line %zu: cannot allocate "
                        "%zu bytes for one line", path, st.line + 1, ncap);
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        size_t room = cap - len;
        if (room > (1u << 30))
            room = 1u << 30;
        int got = gzread(gz, buf + len, (unsigned)room);
        if (got > 0) {
            len += (size_t)got;
            total += (size_t)got;
        }
        if (got < 0 || (size_t)got < room) {
            int code = Z_OK;
            const char *msg = gzerror(gz, &code);
            if (code == Z_ERRNO) {
                rw_fail(err, RW_ERR_IO, "%s: byte %zu: read failed: %s", path,
                        total, strerror(errno));
                goto out;
            }
            if (code == Z_BUF_ERROR) {
                rw_fail(err, RW_ERR_FORMAT, "%s: byte %zu of the decompressed "
                        "text: the gzip stream ends early (the file is cut "
                        "short)", path, total);
                goto out;
            }
            if (code != Z_OK) {
                rw_fail(err, RW_ERR_FORMAT, "%s: byte %zu of the decompressed "
                        "text: broken gzip stream (%s)", path, total,
                        rw_gz_msg(msg, path));
                goto out;
            }
        }
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + scan, '\n', len - scan);
            if (!nl)
                break;
            if (csv_line(&st, buf + start, (size_t)(nl - (buf + start))))
                goto out;
            start = (size_t)(nl - buf) + 1;
            scan = start;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
        scan = len;
        if (got <= 0 || (size_t)got < room)
            break; /* end of file */
    }
    if (len > 0 && csv_line(&st, buf, len))
        goto out;
    ds = csv_finish(&st);
out:
    gzclose(gz);
    free(buf);
    csv_release(&st);
    return ds;
}
