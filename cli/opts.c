/* Options from tables (opts.h): getopt_long reads argv, the table says
 * what a value must be and where it goes, and the help is written from the
 * same entries. */
#include "opts.h"
#include "cli.h"

#include <getopt.h>
#include <stdint.h>
#include <string.h>

/* More than any command has (train and continual together: about 90). */
#define CLI_MAX_OPTS 192
/* getopt_long's value for the i-th long option; short ones are chars. */
#define LONG_VAL 1000

typedef struct opt_index {
    struct option lo[CLI_MAX_OPTS + 1];
    const cli_opt *opt[CLI_MAX_OPTS];
    const cli_group *group[CLI_MAX_OPTS];
    size_t n;
    char shorts[2 * CLI_MAX_OPTS + 2];
} opt_index;

static bool is_option(const cli_opt *o)
{
    return o->type != CLI_HEADING;
}

/* One getopt_long entry per name: the first group that names it wins (a
 * name twice in the array would make its abbreviations ambiguous). */
/* An option's short flag; every command's --help also answers to -h. */
static int short_of(const cli_opt *o)
{
    return o->short_name ? o->short_name : o->type == CLI_HELP ? 'h' : 0;
}

static bool build_index(const cli_command *c, opt_index *x)
{
    size_t ns = 0;
    x->n = 0;
    x->shorts[ns++] = ':'; /* a missing value returns ':' */
    for (size_t g = 0; g < c->n_groups; g++)
        for (const cli_opt *o = c->groups[g].opts; o->type != CLI_END; o++) {
            if (!is_option(o))
                continue;
            bool seen = false;
            for (size_t i = 0; i < x->n && !seen; i++)
                seen = strcmp(x->lo[i].name, o->name) == 0;
            if (seen)
                continue;
            /* A table that marks options given needs a group to mark. */
            if (x->n == CLI_MAX_OPTS || (o->given && !c->groups[g].given &&
                                         !c->groups[g].refuse))
                return false;
            x->lo[x->n] = (struct option){o->name,
                                          o->arg ? required_argument : no_argument,
                                          NULL, LONG_VAL + (int)x->n};
            x->opt[x->n] = o;
            x->group[x->n] = &c->groups[g];
            if (short_of(o)) {
                x->shorts[ns++] = (char)short_of(o);
                if (o->arg)
                    x->shorts[ns++] = ':';
            }
            x->n++;
        }
    x->shorts[ns] = '\0';
    memset(&x->lo[x->n], 0, sizeof x->lo[0]);
    return true;
}

static void put_int(void *field, size_t size, long long v)
{
    if (size == sizeof(bool)) {
        *(bool *)field = v != 0;
    } else if (size == sizeof(int)) {
        int i = (int)v;
        memcpy(field, &i, sizeof i);
    }
}

/* "a, b or c" from a NULL-terminated list. */
static void choice_list(const char *const *names, char *buf, size_t cap)
{
    size_t n = 0, len = 0;
    while (names[n])
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        int w = snprintf(buf + len, cap - len, "%s%s", sep, names[i]);
        len += w > 0 ? (size_t)w : 0;
    }
}

/* Checks and stores one value; prints the error and returns false on a
 * bad one. */
static bool store(const char *cmd, const cli_opt *o, const cli_group *g,
                  const char *arg, void *target)
{
    char opt[64];
    snprintf(opt, sizeof opt, "--%s", o->name);
    char *field = (char *)target + o->offset;
    switch (o->type) {
    case CLI_FLAG: put_int(field, o->size, o->flag); break;
    case CLI_STRING: *(const char **)field = arg; break;
    case CLI_SIZE:
        if (!cli_parse_size(cmd, opt, arg, (size_t)o->min,
                            o->max >= (double)SIZE_MAX ? SIZE_MAX : (size_t)o->max,
                            (size_t *)field))
            return false;
        break;
    case CLI_INT: {
        size_t v;
        if (!cli_parse_size(cmd, opt, arg, (size_t)o->min, (size_t)o->max, &v))
            return false;
        *(int *)field = (int)v;
        break;
    }
    case CLI_U64:
        if (!cli_parse_u64(cmd, opt, arg, (uint64_t *)field))
            return false;
        break;
    case CLI_DOUBLE:
        if (!cli_parse_double(cmd, opt, arg, o->min, o->max, (double *)field))
            return false;
        break;
    case CLI_CHOICE: {
        for (int i = 0; o->choices[i]; i++)
            if (strcmp(arg, o->choices[i]) == 0) {
                put_int(field, o->size, i);
                goto stored;
            }
        char list[256];
        if (o->expect)
            snprintf(list, sizeof list, "%s", o->expect);
        else
            choice_list(o->choices, list, sizeof list);
        cli_fail(cmd, "%s must be %s, got \"%s\"", opt, list, arg);
        return false;
    }
    case CLI_CUSTOM:
        if (!o->parse(cmd, arg, target))
            return false;
        break;
    default: break;
    }
stored:
    if (o->then)
        o->then(target);
    if (g->given)
        *g->given |= o->given;
    return true;
}

/* getopt_long answered '?': "--flag=value" for a flag, or a name it does
 * not know. */
static int unknown(const cli_command *c, const opt_index *x, const char *tok)
{
    const char *eq = strncmp(tok, "--", 2) == 0 ? strchr(tok, '=') : NULL;
    for (size_t i = 0; eq && i < x->n; i++)
        if (!x->opt[i]->arg && strlen(x->opt[i]->name) == (size_t)(eq - tok - 2) &&
            strncmp(x->opt[i]->name, tok + 2, (size_t)(eq - tok - 2)) == 0)
            return cli_fail(c->name, "option --%s takes no value (see rewire "
                                     "%s --help)", x->opt[i]->name, c->name) + 1;
    return cli_fail(c->name, "unknown option '%s' (see rewire %s --help)", tok,
                    c->name) + 1;
}

int cli_parse(const cli_command *c, int argc, char **argv)
{
    static opt_index x; /* large; the tool parses one command line */
    if (!build_index(c, &x))
        return cli_fail(c->name, "internal error: too many options, or a "
                                 "group without its given bits") + 1;
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, x.shorts, x.lo, NULL)) != -1) {
        const char *tok = argv[optind - 1];
        if (ch == ':')
            return cli_fail(c->name, "option %s needs a value (see rewire %s "
                                     "--help)", tok, c->name) + 1;
        size_t i = (size_t)(ch - LONG_VAL);
        if (ch < LONG_VAL)
            for (i = 0; i < x.n && short_of(x.opt[i]) != ch; i++)
                ;
        if (ch == '?' || i >= x.n)
            return unknown(c, &x, tok);
        const cli_opt *o = x.opt[i];
        if (x.group[i]->refuse)
            return cli_fail(c->name, "option --%s does not apply to '%s' (see "
                                     "rewire %s --help)", o->name, c->name,
                            c->name) + 1;
        if (o->type == CLI_HELP) {
            cli_print_help(c, stdout);
            return 0;
        }
        if (!store(c->name, o, x.group[i], optarg, x.group[i]->target))
            return 2;
    }
    if (optind < argc)
        return cli_fail(c->name, "unexpected argument '%s' (see rewire %s "
                                 "--help)", argv[optind], c->name) + 1;
    return -1;
}

/* "  --name ARG" padded to the help column, then the help's lines. */
static void print_option(const cli_opt *o, int width, FILE *f)
{
    char left[128];
    if (o->usage)
        snprintf(left, sizeof left, "%s", o->usage);
    else if (o->short_name)
        snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                 o->arg ? " " : "", o->arg ? o->arg : "");
    else
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
    int len = (int)strlen(left);
    fprintf(f, "  %s%*s", left, len + 2 <= width ? width - len : 3, "");
    for (const char *p = o->help; *p;) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "%.*s\n", n, p);
        p += n;
        if (*p == '\n' && *++p)
            fprintf(f, "  %*s", width, "");
    }
}

void cli_print_help(const cli_command *c, FILE *f)
{
    for (size_t g = 0; g < c->n_groups; g++) {
        const cli_group *gr = &c->groups[g];
        if (gr->hidden || gr->refuse)
            continue;
        if (gr->before)
            fputs(gr->before, f);
        for (const cli_opt *o = gr->opts; o->type != CLI_END; o++) {
            if (o->type == CLI_HEADING)
                fprintf(f, "%s\n", o->name);
            else if (o->help)
                print_option(o, c->help_width, f);
        }
        if (gr->after)
            fputs(gr->after, f);
    }
}
