/*
 * A small recursive-descent JSON reader (RFC 8259) for rewire's own files.
 * See json.h for the contract. Every failure path frees what it built and
 * records where the text went wrong; positions are computed only then.
 */
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

typedef struct parser {
    const char *text;
    size_t len, pos;
    int depth;
    rw_json_error *err;
    int failed;
} parser;

static void fail_at(parser *p, size_t at, int truncated, const char *msg)
{
    if (p->failed)
        return;
    p->failed = 1;
    if (!p->err)
        return;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < p->len; i++) {
        if (p->text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    p->err->line = line;
    p->err->column = col;
    p->err->offset = at;
    p->err->truncated = truncated;
    snprintf(p->err->msg, sizeof p->err->msg, "%s", msg);
}

/* Describes the byte at p->pos for messages: "'x'", "byte 0x01", "end". */
static void fail_unexpected(parser *p, const char *expected)
{
    char buf[96];
    if (p->pos >= p->len) {
        snprintf(buf, sizeof buf, "unexpected end of text, expected %s",
                 expected);
        fail_at(p, p->pos, 1, buf);
        return;
    }
    unsigned char c = (unsigned char)p->text[p->pos];
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, sizeof buf, "unexpected '%c', expected %s", c, expected);
    else
        snprintf(buf, sizeof buf, "unexpected byte 0x%02x, expected %s", c,
                 expected);
    fail_at(p, p->pos, 0, buf);
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            p->pos++;
        else
            break;
    }
}

static int literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++) {
        if (p->pos + i >= p->len) {
            p->pos += i;
            fail_unexpected(p, word);
            return 0;
        }
        if (p->text[p->pos + i] != word[i]) {
            p->pos += i;
            fail_unexpected(p, word);
            return 0;
        }
    }
    p->pos += n;
    return 1;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Scales an integer mantissa by 10^e10 without locale-dependent strtod.
 * Exact when the mantissa fits 53 bits and |e10| <= 22; otherwise within
 * a few ulps, which is plenty for plotting. */
static double scale10(uint64_t mant, long e10)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    double m = (double)mant;
    if (mant == 0)
        return 0.0;
    if (e10 >= 0 && e10 <= 22)
        return m * p10[e10];
    if (e10 < 0 && e10 >= -22)
        return m / p10[-e10];
    if (e10 > 400)
        return HUGE_VAL;
    if (e10 < -400)
        return 0.0;
    if (e10 < -300) /* two steps so the intermediate does not underflow */
        return (m * pow(10.0, (double)(e10 + 300))) * 1e-300;
    return m * pow(10.0, (double)e10);
}

static int parse_number(parser *p, rw_json *out)
{
    int neg = 0;
    uint64_t mant = 0;
    int digits = 0; /* significant digits kept in mant */
    long e10 = 0;
    if (p->pos < p->len && p->text[p->pos] == '-') {
        neg = 1;
        p->pos++;
    }
    if (p->pos >= p->len || !is_digit(p->text[p->pos])) {
        fail_unexpected(p, "a digit");
        return 0;
    }
    if (p->text[p->pos] == '0') {
        p->pos++;
        if (p->pos < p->len && is_digit(p->text[p->pos])) {
            fail_at(p, p->pos, 0, "numbers may not have leading zeros");
            return 0;
        }
    } else {
        while (p->pos < p->len && is_digit(p->text[p->pos])) {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(p->text[p->pos] - '0');
                if (mant)
                    digits++;
            } else {
                e10++;
            }
            p->pos++;
        }
    }
    if (p->pos < p->len && p->text[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !is_digit(p->text[p->pos])) {
            fail_unexpected(p, "a digit after '.'");
            return 0;
        }
        while (p->pos < p->len && is_digit(p->text[p->pos])) {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(p->text[p->pos] - '0');
                if (mant)
                    digits++;
                e10--;
            }
            p->pos++;
        }
    }
    if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
        int eneg = 0;
        long ev = 0;
        p->pos++;
        if (p->pos < p->len &&
            (p->text[p->pos] == '+' || p->text[p->pos] == '-')) {
            eneg = p->text[p->pos] == '-';
            p->pos++;
        }
        if (p->pos >= p->len || !is_digit(p->text[p->pos])) {
            fail_unexpected(p, "a digit in the exponent");
            return 0;
        }
        while (p->pos < p->len && is_digit(p->text[p->pos])) {
            if (ev < 100000)
                ev = ev * 10 + (p->text[p->pos] - '0');
            p->pos++;
        }
        e10 += eneg ? -ev : ev;
    }
    double v = scale10(mant, e10);
    out->type = RW_JSON_NUMBER;
    out->number = neg ? -v : v;
    return 1;
}

/* Growable byte buffer for decoded strings. */
typedef struct sbuf {
    char *data;
    size_t len, cap;
} sbuf;

static int sbuf_put(sbuf *b, const char *s, size_t n)
{
    if (n > SIZE_MAX - b->len - 1)
        return 0;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2)
                return 0;
            cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 1;
}

static int hex4(parser *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        if (p->pos >= p->len) {
            fail_unexpected(p, "4 hex digits after \\u");
            return 0;
        }
        char c = p->text[p->pos];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else {
            fail_unexpected(p, "4 hex digits after \\u");
            return 0;
        }
        v = v * 16 + d;
        p->pos++;
    }
    *out = v;
    return 1;
}

static int put_utf8(sbuf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return sbuf_put(b, u, n);
}

static void fail_nomem(parser *p)
{
    fail_at(p, p->pos, 0, "out of memory");
}

/* Parses a string starting at '"'; returns a malloc'd NUL-terminated copy
 * and its length in *n, or NULL on failure. */
static char *parse_string_raw(parser *p, size_t *n)
{
    sbuf b = {NULL, 0, 0};
    p->pos++; /* opening quote */
    if (!sbuf_put(&b, "", 0)) {
        fail_nomem(p);
        return NULL;
    }
    for (;;) {
        if (p->pos >= p->len) {
            fail_at(p, p->pos, 1, "unexpected end of text inside a string");
            free(b.data);
            return NULL;
        }
        size_t run = p->pos;
        /* copy a run of plain bytes at once */
        while (run < p->len) {
            unsigned char c = (unsigned char)p->text[run];
            if (c == '"' || c == '\\' || c < 0x20)
                break;
            run++;
        }
        if (run > p->pos) {
            if (!sbuf_put(&b, p->text + p->pos, run - p->pos)) {
                fail_nomem(p);
                free(b.data);
                return NULL;
            }
            p->pos = run;
            continue;
        }
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c == '"') {
            p->pos++;
            *n = b.len;
            return b.data;
        }
        if (c < 0x20) {
            fail_at(p, p->pos, 0,
                    c == '\n' ? "line break inside a string"
                              : "control character inside a string");
            free(b.data);
            return NULL;
        }
        /* backslash escape */
        p->pos++;
        if (p->pos >= p->len) {
            fail_at(p, p->pos, 1, "unexpected end of text inside a string");
            free(b.data);
            return NULL;
        }
        char e = p->text[p->pos++];
        const char *lit = NULL;
        switch (e) {
        case '"': lit = "\""; break;
        case '\\': lit = "\\"; break;
        case '/': lit = "/"; break;
        case 'b': lit = "\b"; break;
        case 'f': lit = "\f"; break;
        case 'n': lit = "\n"; break;
        case 'r': lit = "\r"; break;
        case 't': lit = "\t"; break;
        case 'u': {
            unsigned cp;
            if (!hex4(p, &cp)) {
                free(b.data);
                return NULL;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (p->pos + 1 < p->len && p->text[p->pos] == '\\' &&
                    p->text[p->pos + 1] == 'u') {
                    p->pos += 2;
                    if (!hex4(p, &lo)) {
                        free(b.data);
                        return NULL;
                    }
                    if (lo < 0xdc00 || lo > 0xdfff) {
                        fail_at(p, p->pos - 6, 0,
                                "invalid low surrogate in \\u escape");
                        free(b.data);
                        return NULL;
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                } else {
                    cp = 0xfffd; /* lone high surrogate */
                }
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                cp = 0xfffd; /* lone low surrogate */
            }
            if (!put_utf8(&b, cp)) {
                fail_nomem(p);
                free(b.data);
                return NULL;
            }
            continue;
        }
        default:
            p->pos--;
            fail_unexpected(
                p, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)");
            free(b.data);
            return NULL;
        }
        if (!sbuf_put(&b, lit, 1)) {
            fail_nomem(p);
            free(b.data);
            return NULL;
        }
    }
}

static void free_value(rw_json *v);
static int parse_value(parser *p, rw_json *out);

/* Grows an items (and keys) array to hold at least n+1 entries. */
static int grow(parser *p, rw_json *v, size_t *cap, int with_keys)
{
    if (v->len < *cap)
        return 1;
    size_t ncap = *cap ? *cap * 2 : 8;
    if (ncap < *cap || ncap > SIZE_MAX / sizeof(rw_json) ||
        ncap > SIZE_MAX / sizeof(char *)) {
        fail_nomem(p);
        return 0;
    }
    rw_json *it = realloc(v->items, ncap * sizeof *it);
    if (!it) {
        fail_nomem(p);
        return 0;
    }
    v->items = it;
    if (with_keys) {
        char **k = realloc(v->keys, ncap * sizeof *k);
        if (!k) {
            fail_nomem(p);
            return 0;
        }
        v->keys = k;
    }
    *cap = ncap;
    return 1;
}

static int parse_array(parser *p, rw_json *out)
{
    size_t cap = 0;
    out->type = RW_JSON_ARRAY;
    p->pos++; /* '[' */
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == ']') {
        p->pos++;
        return 1;
    }
    for (;;) {
        if (!grow(p, out, &cap, 0))
            return 0;
        rw_json *item = &out->items[out->len];
        memset(item, 0, sizeof *item);
        if (!parse_value(p, item)) {
            free_value(item);
            return 0;
        }
        out->len++;
        skip_ws(p);
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->text[p->pos] == ']') {
            p->pos++;
            return 1;
        }
        fail_unexpected(p, "',' or ']'");
        return 0;
    }
}

static int parse_object(parser *p, rw_json *out)
{
    size_t cap = 0;
    out->type = RW_JSON_OBJECT;
    p->pos++; /* '{' */
    skip_ws(p);
    if (p->pos < p->len && p->text[p->pos] == '}') {
        p->pos++;
        return 1;
    }
    for (;;) {
        size_t klen;
        skip_ws(p);
        if (p->pos >= p->len || p->text[p->pos] != '"') {
            fail_unexpected(p, "a key in double quotes");
            return 0;
        }
        if (!grow(p, out, &cap, 1))
            return 0;
        char *key = parse_string_raw(p, &klen);
        if (!key)
            return 0;
        skip_ws(p);
        if (p->pos >= p->len || p->text[p->pos] != ':') {
            free(key);
            fail_unexpected(p, "':' after the key");
            return 0;
        }
        p->pos++;
        rw_json *item = &out->items[out->len];
        memset(item, 0, sizeof *item);
        if (!parse_value(p, item)) {
            free_value(item);
            free(key);
            return 0;
        }
        out->keys[out->len] = key;
        out->len++;
        skip_ws(p);
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->text[p->pos] == '}') {
            p->pos++;
            return 1;
        }
        fail_unexpected(p, "',' or '}'");
        return 0;
    }
}

static int parse_value(parser *p, rw_json *out)
{
    skip_ws(p);
    if (p->pos >= p->len) {
        fail_unexpected(p, "a value");
        return 0;
    }
    char c = p->text[p->pos];
    switch (c) {
    case '{':
    case '[': {
        if (p->depth >= RW_JSON_MAX_DEPTH) {
            fail_at(p, p->pos, 0, "nesting is too deep");
            return 0;
        }
        p->depth++;
        int ok = c == '{' ? parse_object(p, out) : parse_array(p, out);
        p->depth--;
        return ok;
    }
    case '"': {
        size_t n;
        char *s = parse_string_raw(p, &n);
        if (!s)
            return 0;
        out->type = RW_JSON_STRING;
        out->string = s;
        out->len = n;
        return 1;
    }
    case 't':
        out->type = RW_JSON_BOOL;
        out->boolean = 1;
        return literal(p, "true");
    case 'f':
        out->type = RW_JSON_BOOL;
        out->boolean = 0;
        return literal(p, "false");
    case 'n': out->type = RW_JSON_NULL; return literal(p, "null");
    default:
        if (c == '-' || is_digit(c))
            return parse_number(p, out);
        fail_unexpected(p, "a value");
        return 0;
    }
}

static void free_value(rw_json *v)
{
    if (!v)
        return;
    if (v->type == RW_JSON_STRING)
        free(v->string);
    if (v->type == RW_JSON_ARRAY || v->type == RW_JSON_OBJECT) {
        for (size_t i = 0; i < v->len; i++) {
            free_value(&v->items[i]);
            if (v->keys)
                free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
    memset(v, 0, sizeof *v);
}

rw_json *rw_json_parse(const char *text, size_t len, rw_json_error *err)
{
    parser p = {text, len, 0, 0, err, 0};
    if (err)
        memset(err, 0, sizeof *err);
    if (!text) {
        p.len = 0;
        p.text = "";
    }
    rw_json *v = calloc(1, sizeof *v);
    if (!v) {
        fail_nomem(&p);
        return NULL;
    }
    if (!parse_value(&p, v)) {
        free_value(v);
        free(v);
        return NULL;
    }
    skip_ws(&p);
    if (p.pos < p.len) {
        fail_unexpected(&p, "the end of the text after the value");
        free_value(v);
        free(v);
        return NULL;
    }
    return v;
}

void rw_json_free(rw_json *v)
{
    if (!v)
        return;
    free_value(v);
    free(v);
}

const rw_json *rw_json_get(const rw_json *obj, const char *key)
{
    if (!obj || obj->type != RW_JSON_OBJECT || !key)
        return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

const char *rw_json_type_name(rw_json_type t)
{
    switch (t) {
    case RW_JSON_NULL: return "null";
    case RW_JSON_BOOL: return "boolean";
    case RW_JSON_NUMBER: return "number";
    case RW_JSON_STRING: return "string";
    case RW_JSON_ARRAY: return "array";
    case RW_JSON_OBJECT: return "object";
    }
    return "value";
}

char *rw_json_read_file(const char *path, size_t max_bytes, size_t *len)
{
    /* Opened without blocking, so that a pipe is refused, not waited on. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat sb;
    int flags = fcntl(fd, F_GETFL), bad = 0;
    if (fstat(fd, &sb) != 0)
        bad = errno;
    else if (!S_ISREG(sb.st_mode))
        bad = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
    else if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        bad = errno;
    FILE *f = bad ? NULL : fdopen(fd, "rb");
    if (!f) {
        int e = bad ? bad : errno;
        close(fd);
        errno = e;
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        errno = ENOMEM;
        return NULL;
    }
    for (;;) {
        if (cap - n < 2) {
            if (cap > SIZE_MAX / 2 || cap >= max_bytes + 2) {
                free(buf);
                fclose(f);
                errno = cap >= max_bytes + 2 ? EFBIG : ENOMEM;
                return NULL;
            }
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max_bytes) {
            free(buf);
            fclose(f);
            errno = EFBIG;
            return NULL;
        }
        if (got == 0) {
            if (ferror(f)) {
                int e = errno ? errno : EIO;
                free(buf);
                fclose(f);
                errno = e;
                return NULL;
            }
            break;
        }
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}
