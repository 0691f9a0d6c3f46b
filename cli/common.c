/* Option values, error printing, JSON output and the small helpers every
 * command uses. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cli_fail(const char *cmd, const char *fmt, ...)
{
    /* The whole line in one write: under mpirun every rank's stderr goes
     * to one terminal, and a line written in pieces interleaved with
     * another rank's ("rewire train: rewire train: ..."). */
    char line[4096];
    int n = snprintf(line, sizeof line, "rewire %s: ", cmd);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof line - 1)
        vsnprintf(line + n, sizeof line - 1 - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len] = '\n';
    fwrite(line, 1, len + 1, stderr);
    return 1;
}

int cli_fail_err(const char *cmd, const rw_error *err)
{
    return cli_fail(cmd, "%s", err->msg[0] ? err->msg : rw_status_str(err->status));
}

bool cli_failed(const char *cmd, const rw_error *err)
{
    if (err)
        cli_fail_err(cmd, err);
    else
        cli_fail(cmd, "out of memory");
    return false;
}

/* What a string is as a whole number, read once: a number that fits 64
 * bits (*v), one past them, a negative one ("-" and digits), or none. */
typedef enum { WHOLE_OK, WHOLE_TOO_BIG, WHOLE_NEGATIVE, WHOLE_NOT } whole_kind;

static whole_kind read_whole(const char *s, uint64_t *v)
{
    if (!s || !*s)
        return WHOLE_NOT;
    const char *d = s[0] == '-' ? s + 1 : s;
    if (!isdigit((unsigned char)*d))
        return WHOLE_NOT;
    for (const char *p = d; *p; p++)
        if (!isdigit((unsigned char)*p))
            return WHOLE_NOT;
    if (d != s)
        return WHOLE_NEGATIVE;
    errno = 0;
    unsigned long long u = strtoull(s, NULL, 10);
    if (errno == ERANGE)
        return WHOLE_TOO_BIG;
    *v = (uint64_t)u;
    return WHOLE_OK;
}

bool cli_parse_u64(const char *cmd, const char *opt, const char *s,
                   uint64_t *out)
{
    switch (read_whole(s, out)) {
    case WHOLE_OK:
        return true;
    case WHOLE_NEGATIVE:
        cli_fail(cmd, "%s expects a whole number of 0 or more, got %s", opt, s);
        return false;
    case WHOLE_TOO_BIG:
        cli_fail(cmd, "%s: %s is too large (at most %llu)", opt, s,
                 (unsigned long long)UINT64_MAX);
        return false;
    default:
        cli_fail(cmd, "%s expects a whole number, got \"%s\"", opt, s ? s : "");
        return false;
    }
}

bool cli_parse_size(const char *cmd, const char *opt, const char *s,
                    size_t min, size_t max, size_t *out)
{
    uint64_t v = 0;
    /* A negative number, or one past 64 bits, is out of the option's own
     * range (not "at most 18446744073709551615"). */
    whole_kind k = read_whole(s, &v);
    if (k == WHOLE_NOT) {
        cli_fail(cmd, "%s expects a whole number, got \"%s\"", opt, s ? s : "");
        return false;
    }
    if (k != WHOLE_OK || v < min || v > max) {
        cli_fail(cmd, "%s must be between %zu and %zu, got %s", opt, min, max, s);
        return false;
    }
    *out = (size_t)v;
    return true;
}

void cli_note_header(const char *cmd, const char *path, const rw_dataset *ds)
{
    size_t numbers, fields;
    size_t line = rw_dataset_csv_header(ds, &numbers, &fields);
    if (line && numbers)
        fprintf(stderr, "rewire %s: note: %s: line %zu is read as a header "
                        "and not used, though %zu of its %zu fields are "
                        "numbers; if it is data, correct it\n", cmd, path,
                line, numbers, fields);
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
        if (isdigit((unsigned char)*p) && (*end == ',' || *end == '\0') &&
            (errno == ERANGE || v > (1ull << 31))) {
            cli_fail(cmd, "%s: a layer of %.*s neurons is too large (at most "
                          "%llu)", opt, (int)(end - p), p, 1ull << 31);
            return -1;
        }
        if (!isdigit((unsigned char)*p) || errno || v == 0 || v > (1ull << 31) ||
            (*end != ',' && *end != '\0')) {
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
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno || v > (1ul << 30)) {
        cli_fail(cmd, "--label-column expects first, last or a column number "
                      "counted from 0 (at most %lu), got \"%s\"", 1ul << 30, s);
        return false;
    }
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

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *cli_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* Activation names come from the library's one table. */
bool cli_activation_from_name(const char *name, rw_activation *out)
{
    return rw_activation_parse(name, out) == RW_OK;
}

const char *cli_activation_name(rw_activation a)
{
    return rw_activation_name(a);
}

bool cli_is_builtin(const char *spec, bool suffix_ok)
{
    static const char *const names[] = {"fashion-mnist", "mnist", "spirals",
                                        "moons", "blobs", "xor"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(spec, names[i], n) != 0)
            continue;
        if (spec[n] == '\0' || (spec[n] == ':' && (suffix_ok || i < 2)))
            return true;
    }
    return false;
}

void cli_print_network(const rw_net *net)
{
    fprintf(stderr, "network: %zu", rw_net_inputs(net));
    for (size_t l = 0; l < rw_net_layers(net); l++) {
        rw_layer_info li;
        rw_net_layer_info(net, l, &li, NULL);
        if (li.kind == RW_LAYER_SPARSE)
            fprintf(stderr, "-%zu(sparse %.2f%%)", li.outputs, 100.0 * li.density);
        else
            fprintf(stderr, "-%zu", li.outputs);
    }
}

/* The folder that holds `path` ("." for a bare name), into dir; returns
 * the file's name within it. */
static const char *parent_dir(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else
        snprintf(dir, cap, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    return slash ? slash + 1 : path;
}

/* A path's folder made absolute, with its file name: two paths of files
 * that do not exist yet name the same file when these agree. A folder
 * that does not exist yet (--plot makes its own) is taken as written. */
static bool canonical(const char *path, char *out, size_t cap)
{
    char dir[4200];
    const char *base = parent_dir(path, dir, sizeof dir);
    char *real = realpath(dir, NULL);
    int len = snprintf(out, cap, "%s/%s", real ? real : dir, base);
    free(real);
    return len > 0 && (size_t)len < cap;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    bool ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea || eb)
        return ea && eb && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ca[4200], cb[4200];
    return canonical(a, ca, sizeof ca) && canonical(b, cb, sizeof cb) &&
           strcmp(ca, cb) == 0;
}

bool cli_distinct_paths(const char *cmd, const cli_path *out, size_t n_out,
                        const cli_path *in, size_t n_in)
{
    for (size_t i = 0; i < n_out; i++) {
        if (!out[i].path || !*out[i].path)
            continue;
        for (size_t j = i + 1; j < n_out; j++)
            if (out[j].path && *out[j].path && same_file(out[i].path, out[j].path)) {
                if (!strcmp(out[i].opt, out[j].opt))
                    continue; /* two of one option's own files */
                cli_fail(cmd, "%s and %s name the same file (%s): one would "
                              "overwrite the other", out[i].opt, out[j].opt,
                         out[j].path);
                return false;
            }
        for (size_t k = 0; k < n_in; k++) {
            if (!in[k].path || (in[k].may_be && !strcmp(in[k].may_be, out[i].opt)))
                continue;
            char part[4200];
            for (const char *p = in[k].path; *p;) {
                size_t len = strcspn(p, ",");
                snprintf(part, sizeof part, "%.*s", (int)len, p);
                struct stat sb;
                if (stat(part, &sb) == 0 && same_file(out[i].path, part)) {
                    cli_fail(cmd, "%s %s would overwrite the file that %s "
                                  "reads", out[i].opt, out[i].path, in[k].opt);
                    return false;
                }
                p += len + (p[len] == ',');
            }
        }
    }
    return true;
}

bool cli_check_output(const char *cmd, const char *path, const char *opt)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return true;
        cli_fail(cmd, "%s %s: is a folder, expected a file name", opt, path);
        return false;
    }
    char dir[4200];
    parent_dir(path, dir, sizeof dir);
    if (access(dir, W_OK) == 0)
        return true;
    cli_fail(cmd, "%s %s: cannot write there (checked before training): %s", opt,
             path, strerror(errno));
    return false;
}

bool cli_check_writable(const char *cmd, const char *path, const char *what)
{
    rw_error err;
    return rw_check_writable(path, what, &err) == RW_OK || cli_failed(cmd, &err);
}
