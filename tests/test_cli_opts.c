/*
 * The option tables of the command-line tool (cli/opts.h): every entry
 * names a field of the right size inside its struct, no name is declared
 * twice, every option is in the help, and parsing stores what the table
 * says, implies what it says and refuses bad values with exit code 2.
 *
 * Tests link only librewire, so the CLI sources under test are compiled
 * into this file.
 */
#include "../cli/common.c"
#include "../cli/continual_cmd.c"
#include "../cli/dist.c"
#include "../cli/maintain_opts.c"
#include "../cli/opts.c"
#include "../cli/progress.c"
#include "../cli/train_opts.c"

#include "check.h"

#include <unistd.h>

/* Whether `o` names a field it can hold, inside a struct of `size`. */
static bool field_fits(const cli_opt *o, size_t size)
{
    if (o->type == CLI_CUSTOM || o->type == CLI_HELP)
        return o->type == CLI_HELP || o->parse != NULL;
    if (o->offset + o->size > size)
        return false;
    switch (o->type) {
    case CLI_FLAG:
    case CLI_CHOICE:
        return (o->size == sizeof(bool) || o->size == sizeof(int)) &&
               (o->type == CLI_FLAG || o->choices != NULL);
    case CLI_STRING: return o->size == sizeof(const char *);
    case CLI_SIZE: return o->size == sizeof(size_t) && o->min <= o->max;
    case CLI_INT: return o->size == sizeof(int) && o->min <= o->max;
    case CLI_U64: return o->size == sizeof(uint64_t);
    case CLI_DOUBLE: return o->size == sizeof(double) && o->min <= o->max;
    default: return false;
    }
}

/* Whether "--name" stands in some entry's help or left column (an option
 * without a line of its own is documented by a neighbour). */
static bool documented(const cli_opt *tables[], size_t n, const char *name)
{
    char opt[64];
    snprintf(opt, sizeof opt, "--%s", name);
    size_t len = strlen(opt);
    for (size_t t = 0; t < n; t++)
        for (const cli_opt *o = tables[t]; o->type != CLI_END; o++) {
            const char *texts[2] = {o->help, o->usage};
            for (int k = 0; k < 2; k++)
                for (const char *p = texts[k]; p && (p = strstr(p, opt)); p += len)
                    if (!(p[len] >= 'a' && p[len] <= 'z') && p[len] != '-')
                        return true;
            if (o->help && o->type != CLI_HEADING && strcmp(o->name, name) == 0)
                return true;
        }
    return false;
}

static void check_tables(void)
{
    const cli_opt *tables[] = {continual_table, cli_train_table, cli_maintain_table};
    const size_t sizes[] = {sizeof(cont_args), sizeof(train_opts_t),
                            sizeof(train_opts_t)};
    size_t options = 0;
    for (size_t t = 0; t < 3; t++)
        for (const cli_opt *o = tables[t]; o->type != CLI_END; o++) {
            if (o->type == CLI_HEADING)
                continue;
            options++;
            CHECK_MSG(field_fits(o, sizes[t]), "--%s", o->name);
            CHECK_MSG(documented(tables, 3, o->name), "--%s is not in the help",
                      o->name);
            /* the same name twice only where continual words train's
             * output options its own way */
            for (size_t u = t; u < 3; u++)
                for (const cli_opt *p = u == t ? o + 1 : tables[u];
                     p->type != CLI_END; p++)
                    if (p->type != CLI_HEADING && strcmp(p->name, o->name) == 0)
                        CHECK_MSG(t == 0 && u == 1, "--%s declared twice", o->name);
        }
    CHECK(options > 80);
    /* the check itself: a name only a longer one contains is not found */
    CHECK(!documented(tables, 3, "no-such-option"));
    CHECK(!documented(tables, 3, "perm"));
}

/* Runs cli_parse on a command line of `rewire train` (words separated by
 * spaces); stdout and stderr go to /dev/null. */
static int parse_train(const char *line, train_opts_t *o)
{
    char buf[512], *argv[64];
    int argc = 0;
    snprintf(buf, sizeof buf, "train %s", line);
    for (char *w = strtok(buf, " "); w && argc < 63; w = strtok(NULL, " "))
        argv[argc++] = w;
    argv[argc] = NULL;
    cli_train_defaults(o);
    const cli_group groups[] = {
        {.opts = cli_train_table, .target = o, .given = &o->given},
        {.opts = cli_maintain_table, .target = o, .given = &o->given},
    };
    const cli_command cmd = {"train", 23, groups, 2};
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2);
    FILE *null = fopen("/dev/null", "w");
    dup2(fileno(null), 1);
    dup2(fileno(null), 2);
    int rc = cli_parse(&cmd, argc, argv);
    if (rc < 0)
        rc = cli_train_rules("train", o);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    fclose(null);
    return rc;
}

static void check_parse(void)
{
    train_opts_t o;
    CHECK(parse_train("--data xor --epochs 3 --density 0.25 --optimizer nesterov "
                      "--momentum 0.8 --hidden 8,4 --no-standardize --maintain "
                      "redo --threads 3 --seed 12 --rewire rigl --prune-every 7",
                      &o) == -1);
    CHECK(strcmp(o.data, "xor") == 0);
    CHECK(o.tc.epochs == 3);
    CHECK(o.sparse && o.sparse_mode == RW_SPARSE_UNIFORM && o.sparse_param == 0.25);
    CHECK(o.tc.optim.kind == RW_OPT_MOMENTUM && o.tc.optim.nesterov);
    CHECK(o.tc.optim.momentum == 0.8);
    CHECK(o.tc.lr == 0.01); /* not Adam and no --lr */
    CHECK(o.n_hidden == 2 && o.hidden[0] == 8 && o.hidden[1] == 4);
    CHECK(!o.standardize);
    CHECK(o.tc.maintain.kind == RW_MAINTAIN_REDO);
    CHECK(o.threads == 3);
    CHECK(o.seed == 12 && o.tc.seed == 12 && o.dopts.synth_seed == 12);
    CHECK(o.tc.rewire == RW_REWIRE_RIGL);
    CHECK(o.tc.plasticity.prune_every == 7);

    /* defaults, and what options imply */
    CHECK(parse_train("--data xor", &o) == -1);
    CHECK(!o.sparse && o.tc.rewire == RW_REWIRE_NONE && o.n_hidden == 2);
    CHECK(parse_train("--data xor --drop-fraction 0.1", &o) == -1);
    CHECK(o.sparse && o.tc.rewire == RW_REWIRE_SET && o.tc.drop_fraction == 0.1);
    CHECK(parse_train("--data xor --prune magnitude --prune-to 0.2", &o) == -1);
    CHECK(o.sparse && o.sparse_param == 1.0 && o.tc.rewire == RW_REWIRE_NONE);
    CHECK(parse_train("--data f.csv --prune usage --prune-to 0.2 --prune-start 0.3 "
                      "--prune-end 0.6 --holdout 0.2 --schedule cosine --lr-min "
                      "0.0001", &o) == -1);
    CHECK(o.tc.plasticity.prune_start == 0.3 && o.holdout == 0.2 &&
          o.tc.lr_min == 0.0001);
    CHECK(parse_train("--data xor --schedule step --step-epochs 2 --step-gamma 0.5",
                      &o) == -1);
    CHECK(o.tc.step_epochs == 2 && o.tc.step_gamma == 0.5);
    CHECK(parse_train("--data xor --regrow-neurons --activation tanh", &o) == -1);
    CHECK(o.tc.plasticity.regrow_neurons && o.tc.plasticity.neuron_turnover);
    CHECK(o.act == RW_ACT_TANH);
    CHECK(parse_train("--data xor --momentum 0.5 --optimizer momentum", &o) == -1);
    CHECK(o.tc.optim.kind == RW_OPT_MOMENTUM && o.tc.optim.momentum == 0.5);
    CHECK(parse_train("--data xor --density 0.1 --density 0.2 --drop-by-usage", &o) == -1);
    CHECK(o.sparse_param == 0.2 && o.tc.rewire == RW_REWIRE_SET && o.tc.drop_by_usage);
    /* the options that shape a feature, with it */
    const char *shaped[] = {
        "--data xor --maintain snp --snp-lambda 0.9 --snp-sigma 0.01",
        "--data xor --permanence --perm-up 0.1 --perm-threshold 0.2",
        "--data xor --neuron-turnover --silent-level 0.1 --silent-epochs 3",
        "--data xor --adam-steps global", "--data xor --maintain l2init --l2-lambda 0.1",
        "--data xor --maintain redo --redo-tau 0.2 --redo-every 5",
        "--data xor --maintain cbp --cbp-eta 0.5 --cbp-adaptable",
        "--data xor --sparse --rewire-every 5 --drop-schedule cosine --rewire-stop 0.5",
        "--data xor --dormant-tau 0.1",
    };
    for (size_t i = 0; i < sizeof shaped / sizeof shaped[0]; i++)
        CHECK_MSG(parse_train(shaped[i], &o) == -1, "%s", shaped[i]);
    CHECK(parse_train("--data=xor --epo 2", &o) == -1); /* '=' and abbreviations */
    CHECK(strcmp(o.data, "xor") == 0 && o.tc.epochs == 2);

    /* bad values and words: exit code 2 */
    const char *bad[] = {
        "--data xor --epochs 0", "--data xor --epochs x", "--data xor --lr 0",
        "--data xor --bogus", "--data xor --json=1", "--data xor extra",
        "--data", "--data xor --activation softmax", "--data xor --init foo",
        "--data xor --maintain foo", "--data xor --hidden 4,,4",
        "--data xor --prune usage", "--data xor --threads 1025",
        /* options that contradict or do nothing */
        "--data xor --epsilon 8 --density 0.1", "--data xor --erk 0.1 --epsilon 4",
        "--data xor --momentum 0.5", "--data xor --optimizer sgd --momentum 0.5",
        "--data xor --drop-by-usage", "--data xor --sparse --rewire none --drop-by-usage",
        "--data xor --prune-to 0.5", "--data xor --prune-start 0.2",
        "--data xor --prune-end 0.5", "--data xor --test xor --holdout 0.2",
        "--data xor --lr-min 0.0001", "--data xor --schedule step --lr-min 0.0001",
        "--data xor --schedule cosine --lr 0.001 --lr-min 0.01",
        "--data xor --optimizer sgd --schedule cosine --lr-min 0.02",
        "--data xor --step-epochs 2", "--data xor --schedule cosine --step-gamma 0.5",
        "--data xor --sparse --rewire none --drop-fraction 0.1",
        "--data xor --sparse --rewire none --rewire-stop 0.5",
        "--data xor --perm-up 0.1", "--data xor --silent-level 0.1",
        "--data xor --optimizer sgd --adam-steps global", "--data xor --cbp-eta 0.5",
        "--data xor --maintain cbp --redo-tau 0.2", "--data xor --snp-lambda 0.9",
        "--data xor --maintain snp --snp-at-task", "--data xor --l2-lambda 0.1",
        "--data xor --probe 0 --dormant-tau 0.1", "--data xor --holdout 0.2",
        "--data mnist --label-column first",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(parse_train(bad[i], &o) == 2, "%s", bad[i]);
    CHECK(parse_train("--help", &o) == 0);
}

/* The help has every option with a line of its own, in the two columns. */
static void check_help(void)
{
    const cli_group groups[] = {{.opts = cli_train_table},
                                {.opts = cli_maintain_table}};
    const cli_command cmd = {"train", 23, groups, 2};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    if (!f)
        return;
    cli_print_help(&cmd, f);
    fclose(f);
    CHECK(strstr(text, "  --data SPEC            training data (required)\n"));
    CHECK(strstr(text, "  --perm-up F, --perm-down F, --perm-threshold F   "
                       "permanence dynamics\n                         "
                       "(defaults 0.05, 0.01, 0.1)\n"));
    CHECK(strstr(text, "keeping the ability to learn"));
    free(text);
}

int main(void)
{
    check_tables();
    check_parse();
    check_help();
    if (rw_test_failures)
        fprintf(stderr, "%d checks failed\n", rw_test_failures);
    return rw_test_failures != 0;
}
