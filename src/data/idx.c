/*
 * IDX files (the MNIST format): a big-endian header
 *   byte 0-1: 00 00, byte 2: type code, byte 3: number of dimensions D,
 *   then D 32-bit sizes, then the payload, row-major.
 * Only unsigned bytes (type 0x08) are read. Nothing is trusted: the header
 * must be complete, the dimensions non-zero, their product must match the
 * payload exactly, and files are read only as far as a header that passed
 * those checks claims, into buffers that grow as bytes actually arrive.
 */
#include "data/data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAX_DIMS 8

typedef struct idx_header {
    unsigned type, ndims;
    size_t dims[IDX_MAX_DIMS];
    size_t header_len; /* 4 + 4 * ndims */
    size_t payload;    /* product of dims (bytes, as the type is 1 byte) */
    char dims_text[160]; /* "60000 x 28 x 28" */
} idx_header;

static const char *idx_type_name(unsigned t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "16-bit integer";
    case 0x0C: return "32-bit integer";
    case 0x0D: return "32-bit float";
    case 0x0E: return "64-bit float";
    }
    return "not an IDX type";
}

static size_t be32(const uint8_t *p)
{
    return ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) |
           (size_t)p[3];
}

/* Checks the header held in p[0..len) of a file meant to hold `what`
 * ("pixels" or "labels") with min_dims..max_dims dimensions. Does not look
 * at the payload. */
static rw_status idx_header_parse(const uint8_t *p, size_t len,
                                  const char *name, const char *what,
                                  unsigned min_dims, unsigned max_dims,
                                  idx_header *h, rw_error *err)
{
    memset(h, 0, sizeof *h);
    if (len == 0)
        return rw_fail(err, RW_ERR_FORMAT, "%s: byte 0: the file is empty "
                       "(expected an IDX header)", name);
    if (len < 4)
        return rw_fail(err, RW_ERR_FORMAT, "%s: byte %zu: the file ends "
                       "inside the 4-byte IDX magic", name, len);
    if (p[0] != 0 || p[1] != 0)
        return rw_fail(err, RW_ERR_FORMAT, "%s: byte 0: expected the IDX "
                       "magic 00 00 08 0N, found %02x %02x %02x %02x%s", name,
                       p[0], p[1], p[2], p[3],
                       p[0] == 0x1f && p[1] == 0x8b ? " (gzip data)" : "");
    h->type = p[2];
    h->ndims = p[3];
    if (h->type != 0x08)
        return rw_fail(err, RW_ERR_FORMAT, "%s: byte 2: expected data type "
                       "0x08 (unsigned byte), found 0x%02x (%s)", name,
                       h->type, idx_type_name(h->type));
    if (h->ndims < min_dims || h->ndims > max_dims) {
        /* Images where labels belong, or labels where images do: the
         * usual slip is a pair given as LABELS,IMAGES. */
        const char *hint = strcmp(what, "labels") == 0 && h->ndims >= 2
                               ? " (this looks like an images file: give the "
                                 "pair as IMAGES,LABELS)"
                           : strcmp(what, "labels") != 0 && h->ndims == 1
                               ? " (this looks like a labels file: give the "
                                 "pair as IMAGES,LABELS)"
                               : "";
        if (min_dims == max_dims)
            return rw_fail(err, RW_ERR_FORMAT, "%s: byte 3: expected %u "
                           "dimension%s for %s, found %u%s", name, min_dims,
                           min_dims == 1 ? "" : "s", what, h->ndims, hint);
        return rw_fail(err, RW_ERR_FORMAT, "%s: byte 3: expected %u to %u "
                       "dimensions for %s, found %u%s", name, min_dims,
                       max_dims, what, h->ndims, hint);
    }
    h->header_len = 4 + 4 * (size_t)h->ndims;
    if (len < h->header_len)
        return rw_fail(err, RW_ERR_FORMAT, "%s: byte %zu: the file ends "
                       "inside the header (%u dimensions need %zu bytes)",
                       name, len, h->ndims, h->header_len);
    size_t prod = 1, pos = 0;
    int overflow = 0;
    for (unsigned d = 0; d < h->ndims; d++) {
        h->dims[d] = be32(p + 4 + 4 * d);
        if (h->dims[d] == 0)
            return rw_fail(err, RW_ERR_FORMAT, "%s: byte %zu: dimension %u "
                           "is 0 (expected at least 1)", name,
                           (size_t)4 + 4 * d, d + 1);
        if (!overflow && !rw_mul_ok(prod, h->dims[d], &prod))
            overflow = 1;
        int k = snprintf(h->dims_text + pos, sizeof h->dims_text - pos, "%s%zu",
                         d ? " x " : "", h->dims[d]);
        if (k > 0 && (size_t)k < sizeof h->dims_text - pos)
            pos += (size_t)k;
    }
    if (overflow || prod > RW_IDX_MAX_PAYLOAD)
        return rw_fail(err, RW_ERR_FORMAT, "%s: byte 4: header claims %s "
                       "bytes of %s, more than the limit of %zu", name,
                       h->dims_text, what, RW_IDX_MAX_PAYLOAD);
    h->payload = prod;
    return RW_OK;
}

/* Checks that the payload after the header is exactly the claimed size. */
static rw_status idx_check_payload(const idx_header *h, size_t len,
                                   const char *name, const char *what,
                                   rw_error *err)
{
    size_t have = len - h->header_len;
    if (have == h->payload)
        return RW_OK;
    if (have < h->payload)
        return rw_fail(err, RW_ERR_FORMAT, "%s: byte 4: header claims %s = "
                       "%zu bytes of %s but the file holds %zu", name,
                       h->dims_text, h->payload, what, have);
    return rw_fail(err, RW_ERR_FORMAT, "%s: byte %zu: header claims %s = %zu "
                   "bytes of %s, expected the end of the file but it goes on",
                   name, h->header_len + h->payload, h->dims_text, h->payload,
                   what);
}

rw_dataset *rw_idx_load_memory(const void *img, size_t img_len,
                               const char *img_name, const void *lab,
                               size_t lab_len, const char *lab_name,
                               size_t n_classes, rw_error *err)
{
    const uint8_t *pi = img, *pl = lab;
    idx_header hi, hl;
    if (!img_name)
        img_name = "images";
    if (!lab_name)
        lab_name = "labels";
    if ((!pi && img_len) || (!pl && lab_len)) {
        rw_fail(err, RW_ERR_ARG, "IDX: NULL buffer");
        return NULL;
    }
    if (n_classes > 256) {
        rw_fail(err, RW_ERR_ARG, "IDX: %zu classes cannot be byte labels",
                n_classes);
        return NULL;
    }
    if (idx_header_parse(pi, img_len, img_name, "pixels", 2, IDX_MAX_DIMS,
                         &hi, err) ||
        idx_check_payload(&hi, img_len, img_name, "pixels", err) ||
        idx_header_parse(pl, lab_len, lab_name, "labels", 1, 1, &hl, err) ||
        idx_check_payload(&hl, lab_len, lab_name, "labels", err))
        return NULL;

    size_t n = hi.dims[0];
    if (hl.dims[0] != n) {
        rw_fail(err, RW_ERR_FORMAT, "%s: byte 4: expected %zu labels, one per "
                "image of %s, found %zu", lab_name, n, img_name, hl.dims[0]);
        return NULL;
    }
    const uint8_t *labels = pl + hl.header_len;
    unsigned max_label = 0;
    for (size_t i = 0; i < n; i++) {
        if (n_classes && labels[i] >= n_classes) {
            rw_fail(err, RW_ERR_FORMAT, "%s: byte %zu: expected a class "
                    "label 0..%zu, found %u", lab_name, hl.header_len + i,
                    n_classes - 1, labels[i]);
            return NULL;
        }
        if (labels[i] > max_label)
            max_label = labels[i];
    }
    size_t classes = n_classes ? n_classes : (size_t)max_label + 1;

    size_t f = hi.payload / n;
    rw_dataset *ds = rw_dataset_alloc(n, f, classes, 0, err);
    if (!ds)
        return NULL;
    const uint8_t *px = pi + hi.header_len;
    for (size_t i = 0; i < hi.payload; i++)
        ds->x[i] = (float)px[i] * (1.0f / 255.0f);
    for (size_t i = 0; i < n; i++)
        ds->labels[i] = labels[i];
    if (hi.ndims == 3) {
        ds->img_h = hi.dims[1];
        ds->img_w = hi.dims[2];
    }
    return ds;
}

/* ---------------- files, raw or gzip ---------------- */

typedef struct byte_buf {
    uint8_t *p;
    size_t len, cap;
} byte_buf;

/* Reads up to `want` more bytes into b, growing it as data arrives (never
 * reserving more than twice what has come). Stops early at end of file.
 * want is at most RW_IDX_MAX_PAYLOAD + 1, so len + want cannot overflow. */
static rw_status read_more(gzFile gz, const char *path, byte_buf *b,
                           size_t want, rw_error *err)
{
    while (want > 0) {
        if (b->len == b->cap) {
            /* Double, but never past what is still wanted: a file that
             * holds its full claim ends in a buffer of exactly that size. */
            size_t cap = b->cap ? b->cap * 2 : 4096;
            if (cap < b->cap || cap - b->len > want)
                cap = b->len + want;
            uint8_t *p = realloc(b->p, cap);
            if (!p)
                return rw_fail(err, RW_ERR_NOMEM, "%s: cannot allocate %.1f "
                               "MiB while reading", path,
                               (double)cap / (1024.0 * 1024.0));
            b->p = p;
            b->cap = cap;
        }
        size_t room = b->cap - b->len;
        if (room > want)
            room = want;
        if (room > (1u << 30))
            room = 1u << 30;
        int got = gzread(gz, b->p + b->len, (unsigned)room);
        if (got < 0 || (size_t)got < room) {
            int code = Z_OK;
            const char *msg = gzerror(gz, &code);
            if (got > 0)
                b->len += (size_t)got;
            if (code == Z_ERRNO)
                return rw_fail(err, RW_ERR_IO, "%s: byte %zu: read failed: %s",
                               path, b->len, strerror(errno));
            if (code == Z_BUF_ERROR)
                return rw_fail(err, RW_ERR_FORMAT, "%s: byte %zu of the "
                               "decompressed data: the gzip stream ends early "
                               "(the file is cut short)", path, b->len);
            if (code != Z_OK)
                return rw_fail(err, RW_ERR_FORMAT, "%s: byte %zu of the "
                               "decompressed data: broken gzip stream (%s)",
                               path, b->len, rw_gz_msg(msg, path));
            return RW_OK; /* clean end of file */
        }
        b->len += (size_t)got;
        want -= (size_t)got;
    }
    return RW_OK;
}

/* Reads an IDX file: the header first, and the payload only once the header
 * passed its checks, capped at the claim + 1 byte so that both a short file
 * and trailing bytes show. */
static rw_status idx_read_file(const char *path, const char *what,
                               unsigned min_dims, unsigned max_dims,
                               byte_buf *b, rw_error *err)
{
    memset(b, 0, sizeof *b);
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return rw_fail(err, RW_ERR_IO, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(gz, 1u << 16);
    idx_header h = {0};
    rw_status st = read_more(gz, path, b, 4, err);
    if (!st && b->len == 4 && b->p[0] == 0 && b->p[1] == 0)
        st = read_more(gz, path, b, 4 * (size_t)b->p[3], err);
    if (!st)
        st = idx_header_parse(b->p, b->len, path, what, min_dims, max_dims,
                              &h, err);
    if (!st)
        st = read_more(gz, path, b, h.payload + 1, err);
    gzclose(gz);
    if (st) {
        free(b->p);
        b->p = NULL;
    }
    return st;
}

rw_dataset *rw_idx_load_files(const char *img_path, const char *lab_path,
                              size_t n_classes, rw_error *err)
{
    byte_buf bi, bl;
    if (idx_read_file(lab_path, "labels", 1, 1, &bl, err))
        return NULL;
    if (idx_read_file(img_path, "pixels", 2, IDX_MAX_DIMS, &bi, err)) {
        free(bl.p);
        return NULL;
    }
    rw_dataset *ds = rw_idx_load_memory(bi.p, bi.len, img_path, bl.p, bl.len,
                                        lab_path, n_classes, err);
    free(bi.p);
    free(bl.p);
    return ds;
}

int rw_idx_sniff(const char *path)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return 0;
    uint8_t p[4];
    int got = gzread(gz, p, 4);
    gzclose(gz);
    return got == 4 && p[0] == 0 && p[1] == 0 &&
           strcmp(idx_type_name(p[2]), "not an IDX type") != 0;
}
