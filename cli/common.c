/* Option parsing, error printing and JSON output. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rewire %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_fail_err(const char *cmd, const rw_error *err)
{
    return cli_fail(cmd, "%s", err->msg[0] ? err->msg : rw_status_str(err->status));
}

bool cli_parse_u64(const char *cmd, const char *opt, const char *s,
                   uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || *s == '-' || *s == '\0') {
        cli_fail(cmd, "%s expects a whole number, got \"%s\"", opt, s ? s : "");
        return false;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0') {
        cli_fail(cmd, "%s expects a whole number, got \"%s\"", opt, s);
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

bool cli_parse_size(const char *cmd, const char *opt, const char *s,
                    size_t min, size_t max, size_t *out)
{
    uint64_t v;
    if (!cli_parse_u64(cmd, opt, s, &v))
        return false;
    if (v < min || v > max) {
        cli_fail(cmd, "%s must be between %zu and %zu, got %s", opt, min, max, s);
        return false;
    }
    *out = (size_t)v;
    return true;
}

bool cli_parse_double(const char *cmd, const char *opt, const char *s,
                      double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = s && *s ? strtod(s, &end) : NAN;
    if (!s || !*s || errno || *end != '\0' || !isfinite(v)) {
        cli_fail(cmd, "%s expects a number, got \"%s\"", opt, s ? s : "");
        return false;
    }
    if (v < min || v > max) {
        cli_fail(cmd, "%s must be between %g and %g, got %s", opt, min, max, s);
        return false;
    }
    *out = v;
    return true;
}

int cli_parse_list(const char *cmd, const char *opt, const char *s,
                   size_t *out, int max)
{
    int n = 0;
    if (strcmp(s, "none") == 0 || *s == '\0')
        return 0;
    const char *p = s;
    while (*p) {
        if (n == max) {
            cli_fail(cmd, "%s: at most %d layers", opt, max);
            return -1;
        }
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || errno || v == 0 || v > (1ull << 31) ||
            (*end != ',' && *end != '\0') || *p == '-' || *p == '+') {
            cli_fail(cmd, "%s expects positive sizes separated by commas "
                          "(e.g. 256,256), got \"%s\"", opt, s);
            return -1;
        }
        out[n++] = (size_t)v;
        p = *end == ',' ? end + 1 : end;
        if (*end == ',' && *p == '\0') {
            cli_fail(cmd, "%s: trailing comma in \"%s\"", opt, s);
            return -1;
        }
    }
    return n;
}

bool cli_parse_label_column(const char *cmd, const char *s, int *out)
{
    if (strcmp(s, "last") == 0) {
        *out = RW_LABEL_LAST;
        return true;
    }
    if (strcmp(s, "first") == 0) {
        *out = RW_LABEL_FIRST;
        return true;
    }
    size_t v;
    if (!cli_parse_size(cmd, "--label-column", s, 0, 1u << 30, &v))
        return false;
    *out = (int)v;
    return true;
}

void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    else
        fputs("null", f);
}

void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}
