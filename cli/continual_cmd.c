/* rewire continual: train a sequence of tasks with one network, measure
 * what each task keeps of the earlier ones (the accuracy matrix), and try
 * the remedies: rehearsal, EWC and synaptic intelligence. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const C = "continual";

typedef enum { M_NAIVE = 0, M_REPLAY, M_EWC, M_SI } method_t;
static const char *const method_names[] = {"naive", "replay", "ewc", "si", NULL};

typedef struct cont_args {
    train_opts_t o; /* train's options */
    const char *tasks, *csv, *out;
    int method; /* method_t */
    size_t memory, replay_batch, fisher_samples;
    unsigned given; /* a method's own options given (GIVEN_*) */
    double ewc_lambda, ewc_gamma, si_c, si_xi, protect_strength;
    bool protect, task_incremental, online;
    size_t num_tasks, task_samples; /* 0: from --tasks, all samples */
} cont_args;

static const char *const continual_intro =
    "usage: rewire continual --tasks TASKS --method M [options]\n"
    "\n"
    "Trains the tasks one after another with one network and evaluates it on\n"
    "every task's test set after each, giving the accuracy matrix R (R[i][j]:\n"
    "accuracy on task j after training task i), the average accuracy after the\n"
    "last task, backward transfer (negative: forgetting) and forward transfer.\n"
    "\n";

static const char *const continual_outro =
    "\n"
    "The network, sparsity, rewiring and optimization options are those of\n"
    "rewire train (see rewire train --help), but for --checkpoint and --resume:\n"
    "a sequence of tasks is not checkpointed. --epochs counts per task. CSV\n"
    "tasks are standardised with the first task's statistics (--no-standardize\n"
    "to turn off); the built-in image sequences are fed as they are (pixels in\n"
    "[0, 1]), since one task's statistics would not fit the others.\n";

/* The options of one method mark it, for the check that they go with it. */
enum { GIVEN_MEMORY = 1u << 0, GIVEN_EWC = 1u << 1, GIVEN_SI = 1u << 2 };

#define A cont_args
static const cli_opt continual_table[] = {
    {.type = CLI_HEADING, .name = "tasks:"},
    {.type = CLI_STRING, .name = "tasks", .arg = "TASKS", CLI_FIELD(A, tasks),
     .help = "split-fashion-mnist: the 10 classes in 5 tasks of 2,\n"
             "one shared output layer (class-incremental);\n"
             "split-NAME[:P]: any built-in dataset, P classes a task;\n"
             "permuted-fashion-mnist:K: K tasks, each a seeded\n"
             "permutation of the pixels (domain-incremental);\n"
             "FILE,FILE,...: CSV files, one task each; --holdout of\n"
             "each file is its test set"},
    {.type = CLI_FLAG, .name = "task-incremental", CLI_FIELD(A, task_incremental),
     .flag = 1,
     .help = "only the current task's classes compete, in training\n"
             "and evaluation (the task is known at test time)"},
    {.type = CLI_SIZE, .name = "num-tasks", .arg = "N", CLI_FIELD(A, num_tasks),
     .min = 1, .max = 1000,
     .help = "permuted tasks: N of them (instead of :K; up to 1000)"},
    {.type = CLI_SIZE, .name = "task-samples", .arg = "M", CLI_FIELD(A, task_samples),
     .min = 1, .max = (double)SIZE_MAX,
     .help = "generated tasks: M training samples each, a seeded\n"
             "random subset of the training split"},
    {.type = CLI_FLAG, .name = "online", CLI_FIELD(A, online), .flag = 1,
     .help = "each task is one pass in --batch mini-batches; the\n"
             "report gives the online accuracy per task (each\n"
             "batch scored before training on it) and the\n"
             "diagnostics, and no accuracy matrix"},
    {.type = CLI_HEADING, .name = "remedies:"},
    {.type = CLI_CHOICE, .name = "method", .arg = "M", CLI_FIELD(A, method),
     .choices = method_names,
     .help = "naive (default: plain fine-tuning), replay, ewc, si"},
    {.type = CLI_SIZE, .name = "memory", .arg = "N", CLI_FIELD(A, memory),
     .min = 1, .max = (double)((size_t)1 << 28), .given = GIVEN_MEMORY,
     .help = "replay: examples kept over all tasks, a uniform\n"
             "sample by reservoir sampling (default 1000)"},
    {.type = CLI_SIZE, .name = "replay-batch", .arg = "N", CLI_FIELD(A, replay_batch),
     .min = 1, .max = 1u << 20,
     .help = "replay: memory examples added to every batch\n"
             "(default: --batch)"},
    {.type = CLI_DOUBLE, .name = "ewc-lambda", .arg = "F", CLI_FIELD(A, ewc_lambda),
     .min = 0.0, .max = 1e12, .given = GIVEN_EWC,
     .help = "EWC: penalty strength (default 1000; sparse layers\n"
             "hold more Fisher per connection: try 100)"},
    {.type = CLI_DOUBLE, .name = "ewc-gamma", .arg = "F", CLI_FIELD(A, ewc_gamma),
     .min = 0.0, .max = 1.0, .given = GIVEN_EWC,
     .help = "EWC: decay of earlier tasks' Fisher (default 1)"},
    {.type = CLI_SIZE, .name = "fisher-samples", .arg = "N",
     CLI_FIELD(A, fisher_samples), .min = 0, .max = (double)SIZE_MAX,
     .given = GIVEN_EWC,
     .help = "EWC: samples per task for the Fisher (default 1000;\n"
             "0: all)"},
    {.type = CLI_DOUBLE, .name = "si-c", .arg = "F", CLI_FIELD(A, si_c),
     .min = 0.0, .max = 1e12, .given = GIVEN_SI,
     .help = "SI: penalty strength (default 3)"},
    {.type = CLI_DOUBLE, .name = "si-xi", .arg = "F", CLI_FIELD(A, si_xi),
     .min = 1e-12, .max = 1e12, .given = GIVEN_SI,
     .help = "SI: damping (default 0.1)"},
    {.type = CLI_FLAG, .name = "no-protect-rewiring", CLI_FIELD(A, protect),
     .flag = 0,
     .help = "EWC/SI with rewiring: drop by |w| alone (default:\n"
             "important connections are dropped last)"},
    {.type = CLI_DOUBLE, .name = "protect-strength", .arg = "F",
     CLI_FIELD(A, protect_strength), .min = 0.0, .max = 1e9,
     .help = "rewiring drops by |w| (1 + F imp / mean imp)\n"
             "(default 10)"},
    {.type = CLI_HEADING, .name = "output:"},
    {.type = CLI_STRING, .name = "csv", .arg = "FILE", CLI_FIELD(A, csv),
     .help = "the accuracy matrix as CSV"},
    {.type = CLI_STRING, .name = "out", .arg = "FILE", CLI_FIELD(A, out),
     .help = "a JSON report (for rewire plot --continual)"},
    {.type = CLI_FLAG, .name = "json", CLI_FIELD(A, o.json), .flag = 1,
     .help = "print the JSON report instead of the table"},
    {.type = CLI_STRING, .name = "save", .arg = "FILE", CLI_FIELD(A, o.save),
     .help = "save the final model (without consolidation state)"},
    {.type = CLI_FLAG, .name = "quiet", CLI_FIELD(A, o.quiet), .flag = 1,
     .help = "no progress lines (on stderr: a bar on a\n"
             "terminal, else a line per tenth of an epoch,\n"
             "at most every 5 s and at least every 30 s)"},
    {.type = CLI_HELP, .name = "help", .help = "this text"},
    {.type = CLI_END},
};
#undef A

static void cont_defaults(cont_args *a)
{
    memset(a, 0, sizeof *a);
    cli_train_defaults(&a->o);
    a->memory = 1000;
    a->ewc_lambda = 1000.0;
    a->ewc_gamma = 1.0;
    a->fisher_samples = 1000;
    a->si_c = 3.0;
    a->si_xi = 0.1;
    a->protect = true;
    a->protect_strength = 10.0;
}

/* The rules between continual's options, after train's. Returns -1 to go
 * on or an exit code (the error printed). */
static int cont_rules(cont_args *a)
{
    const train_opts_t *o = &a->o;
    int rc = cli_train_rules(C, &a->o);
    if (rc >= 0)
        return rc;
    if (!a->tasks)
        return cli_fail(C, "--tasks is required (see rewire continual --help)") + 1;
    const char *misplaced = o->data ? "--data" : o->test ? "--test"
                          : o->val_split > 0 ? "--val-split"
                          : o->plot ? "--plot" : NULL;
    if (misplaced)
        return cli_fail(C, "%s does not apply to continual learning (the data "
                           "comes from --tasks)", misplaced) + 1;
    /* Each task is a training run of its own, and a checkpoint holds one
     * run: there is no checkpoint of the whole sequence. */
    misplaced = o->tc.checkpoint_path ? "--checkpoint"
              : o->tc.resume_path ? "--resume" : NULL;
    if (misplaced)
        return cli_fail(C, "%s does not apply to continual learning: a "
                           "sequence of tasks is not checkpointed (save the "
                           "model after it with --save)", misplaced) + 1;
    bool permuted = strncmp(a->tasks, "permuted-", 9) == 0;
    if (a->num_tasks && !permuted)
        return cli_fail(C, "--num-tasks applies to permuted-NAME tasks") + 1;
    if (a->task_samples && !permuted && strncmp(a->tasks, "split-", 6) != 0)
        return cli_fail(C, "--task-samples applies to generated tasks "
                           "(permuted-NAME, split-NAME)") + 1;
    if ((a->given & GIVEN_MEMORY) && a->method != M_REPLAY)
        return cli_fail(C, "--memory applies to --method replay") + 1;
    if ((a->given & GIVEN_EWC) && a->method != M_EWC)
        return cli_fail(C, "the EWC options apply to --method ewc") + 1;
    if ((a->given & GIVEN_SI) && a->method != M_SI)
        return cli_fail(C, "the SI options apply to --method si") + 1;
    /* No output overwrites another or a task's data; those written after
     * the last task are checked before the first. */
    const cli_path out[] = {{o->save, "--save", NULL}, {o->log, "--log", NULL},
                            {a->out, "--out", NULL}, {a->csv, "--csv", NULL}};
    const cli_path in[] = {{a->tasks, "--tasks", NULL}};
    if (!cli_distinct_paths(C, out, 4, in, 1))
        return 2;
    if ((o->save && !cli_check_writable(C, o->save, "model")) ||
        (a->out && !cli_check_output(C, a->out, "--out")) ||
        (a->csv && !cli_check_output(C, a->csv, "--csv")))
        return 2;
    return -1;
}

/* Reads "split-NAME[:P]" or "permuted-NAME[:K]": the NAME part goes to
 * `name`, the number (or `dflt`) to *num. Returns false on a bad number. */
static bool parse_generated(const char *spec, const char *prefix, char *name,
                            size_t cap, size_t dflt, size_t *num)
{
    const char *rest = spec + strlen(prefix);
    const char *colon = strrchr(rest, ':');
    *num = dflt;
    size_t len = strlen(rest);
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(colon + 1, &end, 10);
        if (errno || v == 0 || v > 1000)
            return false;
        *num = (size_t)v;
        len = (size_t)(colon - rest);
    } else if (colon && !colon[1]) {
        return false;
    }
    if (len == 0 || len >= cap)
        return false;
    memcpy(name, rest, len);
    name[len] = '\0';
    return true;
}

/* Builds the task sequence from --tasks. `base_train`/`base_test` receive
 * the datasets a generated sequence borrows (freed by the caller after the
 * tasks). Returns NULL after printing an error. */
/* A seeded random subset of m samples of *ds (replacing it), when m is
 * set and smaller than the set. */
static bool subsample(rw_dataset **ds, size_t m, uint64_t seed, rw_error *err)
{
    size_t n = rw_dataset_size(*ds);
    if (m == 0 || m >= n)
        return true;
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx)
        return false;
    rw_rng r;
    rw_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 0; i < m; i++) {
        size_t j = i + (size_t)rw_rng_below(&r, n - i), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    rw_dataset *sub = rw_dataset_subset(*ds, idx, m, err);
    free(idx);
    if (!sub)
        return false;
    rw_dataset_free(*ds);
    *ds = sub;
    return true;
}

static rw_tasks *open_tasks(const char *spec, const train_opts_t *o,
                            const cont_args *a,
                            rw_dataset **base_train, rw_dataset **base_test,
                            bool *csv_tasks)
{
    rw_error err;
    rw_error_clear(&err);
    char name[512];
    size_t num;
    *csv_tasks = false;
    bool split = strncmp(spec, "split-", 6) == 0;
    bool permuted = strncmp(spec, "permuted-", 9) == 0;
    if (split || permuted) {
        if (!parse_generated(spec, split ? "split-" : "permuted-", name,
                             sizeof name, split ? 2 : 5, &num)) {
            cli_fail(C, "--tasks %s: expected %s, with a whole number from 1 "
                        "to 1000 after the colon", spec,
                     split ? "split-NAME[:CLASSES_PER_TASK]"
                           : "permuted-NAME[:TASKS]");
            return NULL;
        }
        if (!cli_is_builtin(name, false)) {
            cli_fail(C, "--tasks %s: %s is not a built-in dataset (fashion-mnist, "
                        "mnist, spirals, moons, blobs, xor); for your own data "
                        "give CSV files, one per task: --tasks A.csv,B.csv",
                     spec, name);
            return NULL;
        }
        *base_train = rw_dataset_open(name, RW_SPLIT_TRAIN, &o->dopts, &err);
        if (*base_train)
            *base_test = rw_dataset_open(name, RW_SPLIT_TEST, &o->dopts, &err);
        if (!*base_train || !*base_test) {
            cli_fail_err(C, &err);
            return NULL;
        }
        if (permuted && a->num_tasks)
            num = a->num_tasks;
        /* Online runs score the stream itself: a small test set per task
         * keeps the memory of thousands of permuted copies low. */
        if (!subsample(base_train, a->task_samples, o->seed ^ 0x7461736bULL, &err) ||
            !subsample(base_test, a->online ? 100 : 0, o->seed, &err)) {
            cli_fail(C, "cannot take the task samples: %s",
                     err.msg[0] ? err.msg : "out of memory");
            return NULL;
        }
        rw_tasks *t = split ? rw_tasks_split(*base_train, *base_test, num, &err)
                            : rw_tasks_permuted(*base_train, *base_test, num,
                                                o->seed, &err);
        if (!t)
            cli_fail_err(C, &err);
        return t;
    }
    /* A list of CSV files. */
    *csv_tasks = true;
    if (!(o->holdout > 0.0)) {
        cli_fail(C, "CSV tasks take their test sets from --holdout, which "
                    "must be above 0");
        return NULL;
    }
    rw_tasks *t = rw_tasks_create(&err);
    if (!t) {
        cli_fail_err(C, &err);
        return NULL;
    }
    const char *p = spec;
    size_t i = 0;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= sizeof name) {
            cli_fail(C, "--tasks: empty or too long file name in \"%s\"", spec);
            rw_tasks_free(t);
            return NULL;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        rw_dataset *full = rw_dataset_open(name, RW_SPLIT_TRAIN, &o->dopts, &err);
        rw_dataset *tr = NULL, *te = NULL;
        rw_status st = full ? rw_dataset_split(full, o->holdout, o->seed + i,
                                                &tr, &te, &err)
                            : err.status;
        if (st == RW_OK)
            st = rw_tasks_add(t, cli_base_name(name), tr, te, &err);
        rw_dataset_free(full);
        rw_dataset_free(tr);
        rw_dataset_free(te);
        if (st != RW_OK) {
            cli_fail_err(C, &err);
            rw_tasks_free(t);
            return NULL;
        }
        i++;
        p = comma ? comma + 1 : p + len;
        if (comma && !*p) {
            cli_fail(C, "--tasks: trailing comma in \"%s\"", spec);
            rw_tasks_free(t);
            return NULL;
        }
    }
    return t;
}

/* State shared with the callbacks. */
typedef struct cont_ctx {
    cli_progress prog;
    bool quiet;
    rw_tasks *tasks;
    rw_net *net;
    FILE *log;
    size_t task; /* task in progress, for the log */
    bool online;
    size_t layers;
} cont_ctx;

static int on_progress(const rw_progress *p, void *user)
{
    progress_batch(&((cont_ctx *)user)->prog, p);
    return 0;
}

static int on_epoch(const rw_epoch_stats *s, void *user)
{
    cont_ctx *c = user;
    if (!c->log)
        return 0;
    fprintf(c->log, "{\"task\":%zu,\"epoch\":%zu,\"train_loss\":", c->task + 1,
            s->epoch);
    json_num(c->log, s->train_loss);
    fputs(",\"train_accuracy\":", c->log);
    json_num(c->log, s->train_accuracy);
    fputs(",\"seconds\":", c->log);
    json_num(c->log, s->seconds);
    fprintf(c->log, ",\"connections\":%zu}\n", s->connections);
    return ferror(c->log) ? 1 : 0;
}

static int on_task(const rw_task_report *r, void *user)
{
    cont_ctx *c = user;
    progress_clear(&c->prog);
    c->task = r->task + 1;
    if (c->quiet)
        return 0;
    if (c->online) {
        fprintf(stderr, "task %zu/%zu: online acc %.2f%% in %.1f s",
                r->task + 1, r->tasks, 100.0 * r->online_accuracy, r->seconds);
        cli_print_diagnostics(stderr, "; ", r->dormant, r->effective_rank,
                              r->mean_abs_w, c->layers);
        return 0;
    }
    fprintf(stderr, "task %zu/%zu (%s): trained %zu epoch%s in %.1f s, train "
                    "acc %.2f%%; accuracy on tasks seen:",
            r->task + 1, r->tasks, rw_tasks_name(c->tasks, r->task), r->epochs,
            r->epochs == 1 ? "" : "s", r->seconds, 100.0 * r->train_accuracy);
    for (size_t j = 0; j <= r->task; j++)
        fprintf(stderr, " %.4f", r->accuracy[j]);
    if (r->penalty > 0.0)
        fprintf(stderr, "; penalty %.4g", r->penalty);
    if (isfinite(r->importance_kept))
        fprintf(stderr, "; importance kept by rewiring %.1f%%",
                100.0 * r->importance_kept);
    if (r->memory)
        fprintf(stderr, "; memory %zu", r->memory);
    fputc('\n', stderr);
    return 0;
}

static void write_json(FILE *f, const cont_args *a, const train_opts_t *o,
                       rw_tasks *tasks, rw_net *net,
                       const rw_continual_result *r)
{
    size_t T = r->tasks;
    fputs("{\"method\":", f);
    json_str(f, method_names[a->method]);
    fputs(",\"tasks_spec\":", f);
    json_str(f, a->tasks);
    fputs(",\"tasks\":[", f);
    for (size_t j = 0; j < T; j++) {
        fputs(j ? "," : "", f);
        json_str(f, rw_tasks_name(tasks, j));
    }
    fputs("],\"matrix\":[", f);
    for (size_t i = 0; i < T; i++) {
        fputs(i ? "," : "", f);
        cli_json_array(f, r->matrix + i * T, T);
    }
    fputs("],\"average_accuracy\":", f);
    json_num(f, r->average_accuracy);
    fputs(",\"backward_transfer\":", f);
    json_num(f, r->backward_transfer);
    fputs(",\"forward_transfer\":", f);
    json_num(f, r->forward_transfer);
    fputs(",\"baseline\":", f);
    cli_json_array(f, r->baseline, T);
    fputs(",\"seconds\":", f);
    cli_json_array(f, r->seconds, T);
    fputs(",\"importance_kept\":", f);
    cli_json_array(f, r->importance_kept, T);
    fputs(",\"online\":", f);
    fputs(a->online ? "true" : "false", f);
    fputs(",\"maintain\":", f);
    json_str(f, (unsigned)o->tc.maintain.kind < 5
                    ? cli_maintain_names[o->tc.maintain.kind] : "?");
    fputs(",\"online_accuracy\":", f);
    cli_json_array(f, r->online_accuracy, T);
    const char *names[3] = {"dormant_fraction", "effective_rank", "mean_abs_w"};
    const double *vals[3] = {r->dormant, r->effective_rank, r->mean_abs_w};
    for (int q = 0; q < 3; q++) {
        fprintf(f, ",\"%s\":[", names[q]);
        size_t w = q == 2 ? r->layers : r->hidden;
        for (size_t i = 0; i < T; i++) {
            fputs(i ? "," : "", f);
            cli_json_array(f, vals[q] + i * r->layers, w);
        }
        fputc(']', f);
    }
    fprintf(f, ",\"task_incremental\":%s,\"memory\":%zu",
            a->task_incremental ? "true" : "false",
            a->method == M_REPLAY ? a->memory : (size_t)0);
    if (a->method == M_EWC) {
        fputs(",\"ewc_lambda\":", f);
        json_num(f, a->ewc_lambda);
        fputs(",\"ewc_gamma\":", f);
        json_num(f, a->ewc_gamma);
        fprintf(f, ",\"fisher_samples\":%zu", a->fisher_samples);
    } else if (a->method == M_SI) {
        fputs(",\"si_c\":", f);
        json_num(f, a->si_c);
        fputs(",\"si_xi\":", f);
        json_num(f, a->si_xi);
    }
    fputs(",\"network\":\"", f);
    fprintf(f, "%zu", rw_net_inputs(net));
    bool sparse = false;
    for (size_t l = 0; l < rw_net_layers(net); l++) {
        rw_layer_info li;
        rw_net_layer_info(net, l, &li, NULL);
        fprintf(f, "-%zu", li.outputs);
        sparse |= li.kind == RW_LAYER_SPARSE;
    }
    static const char *const rn[] = {"none", "set", "rigl", "hebbian"};
    fprintf(f, "\",\"sparse\":%s,\"rewire\":\"%s\",\"protect_rewiring\":%s",
            sparse ? "true" : "false",
            (unsigned)o->tc.rewire < 4 ? rn[o->tc.rewire] : "?",
            a->protect ? "true" : "false");
    fputs(",\"protect_strength\":", f);
    json_num(f, a->protect_strength);
    fprintf(f, ",\"connections\":%zu,\"epochs_per_task\":%zu,\"seed\":%llu,"
               "\"threads\":%d,\"ranks\":%d",
            rw_net_connections(net), a->online ? (size_t)1 : o->tc.epochs,
            (unsigned long long)o->seed,
            rw_get_threads(), rw_dist_size());
    if (rw_dist_size() > 1) {
        fputs(",\"allreduce\":", f);
        json_str(f, rw_dist_transport());
    }
    fputs("}\n", f);
}

static void print_table(rw_tasks *tasks, const rw_continual_result *r,
                        bool online)
{
    size_t T = r->tasks;
    if (online) {
        size_t k = T < 10 ? T : 10;
        double first = 0, last = 0;
        for (size_t i = 0; i < k; i++) {
            first += r->online_accuracy[i] / (double)k;
            last += r->online_accuracy[T - k + i] / (double)k;
        }
        printf("online accuracy: first %zu tasks %.4f, last %zu tasks %.4f\n",
               k, first, k, last);
        printf("after the last task: dormant");
        for (size_t l = 0; l < r->hidden; l++)
            printf(" %.4f", r->dormant[(T - 1) * r->layers + l]);
        printf(", effective rank");
        for (size_t l = 0; l < r->hidden; l++)
            printf(" %.2f", r->effective_rank[(T - 1) * r->layers + l]);
        printf("\n");
        return;
    }
    printf("accuracy matrix (row i: after training task i; column j: task j)\n");
    printf("%-9s", "");
    for (size_t j = 0; j < T; j++) {
        char h[32];
        snprintf(h, sizeof h, "task %zu", j + 1);
        printf("  %8s", h);
    }
    printf("\n");
    for (size_t i = 0; i < T; i++) {
        printf("after %-3zu", i + 1);
        for (size_t j = 0; j < T; j++)
            printf("  %8.4f", r->matrix[i * T + j]);
        printf("\n");
    }
    printf("%-9s", "untrained");
    for (size_t j = 0; j < T; j++)
        printf("  %8.4f", r->baseline[j]);
    printf("\n");
    for (size_t j = 0; j < T; j++)
        printf("task %zu: %s\n", j + 1, rw_tasks_name(tasks, j));
    printf("average accuracy %.4f, backward transfer ", r->average_accuracy);
    if (isfinite(r->backward_transfer))
        printf("%+.4f, forward transfer ", r->backward_transfer);
    else
        printf("n/a, forward transfer ");
    if (isfinite(r->forward_transfer))
        printf("%+.4f\n", r->forward_transfer);
    else
        printf("n/a\n");
}

static bool write_csv(const char *path, const rw_continual_result *r)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        cli_fail(C, "%s: cannot open for writing: %s", path, strerror(errno));
        return false;
    }
    size_t T = r->tasks;
    fprintf(f, "after_task");
    for (size_t j = 0; j < T; j++)
        fprintf(f, ",task_%zu", j + 1);
    fputc('\n', f);
    for (size_t i = 0; i < T; i++) {
        fprintf(f, "%zu", i + 1);
        for (size_t j = 0; j < T; j++)
            fprintf(f, ",%.6f", r->matrix[i * T + j]);
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        cli_fail(C, "%s: cannot write: %s", path, strerror(errno));
        return false;
    }
    return true;
}

/* What a continual run holds, freed by run_free. */
typedef struct cont_run {
    cont_args a;
    rw_tasks *tasks;
    bool csv_tasks;
    rw_dataset *base_train, *base_test; /* what generated tasks borrow */
    rw_net *net;
    float *shift, *scale;
    FILE *log;
    rw_continual_result res;
} cont_run;

static void run_free(cont_run *r)
{
    if (r->log)
        fclose(r->log);
    rw_continual_result_free(&r->res);
    free(r->shift);
    free(r->scale);
    rw_net_free(r->net);
    rw_tasks_free(r->tasks);
    rw_dataset_free(r->base_train);
    rw_dataset_free(r->base_test);
}

/* The network for the tasks; CSV tasks are standardised with the first
 * task's statistics. Opens the log. */
static bool build_net(cont_run *r)
{
    const train_opts_t *o = &r->a.o;
    rw_error err;
    rw_error_clear(&err);
    rw_net_config cfg;
    if (!cli_net_config(C, o, rw_tasks_features(r->tasks), rw_tasks_classes(r->tasks),
                        RW_LOSS_CROSS_ENTROPY, &cfg))
        return false;
    if (!(r->net = rw_net_create(&cfg, &err)) ||
        rw_net_set_precision(r->net, (rw_precision)o->precision, &err) != RW_OK)
        return cli_failed(C, &err);
    if (r->csv_tasks && o->standardize) {
        const rw_dataset *first = rw_tasks_train(r->tasks, 0, &err);
        size_t f = rw_tasks_features(r->tasks);
        r->shift = malloc(f * sizeof *r->shift);
        r->scale = malloc(f * sizeof *r->scale);
        if (!first || !r->shift || !r->scale ||
            rw_dataset_fit_standardize(first, r->shift, r->scale, &err) != RW_OK ||
            rw_net_set_input_transform(r->net, r->shift, r->scale, &err) != RW_OK) {
            cli_fail(C, "cannot standardise the inputs: %s",
                     err.msg[0] ? err.msg : "out of memory");
            return false;
        }
    }
    if (o->log && !(r->log = fopen(o->log, "w"))) {
        cli_fail(C, "%s: cannot open the log for writing: %s", o->log,
                 strerror(errno));
        return false;
    }
    return true;
}

/* The library's configuration of the run that the options describe. */
static rw_continual_config cont_config(const cont_args *a)
{
    rw_continual_config cc = rw_continual_defaults();
    cc.train = a->o.tc;
    cc.task_incremental = a->task_incremental;
    cc.online = a->online;
    rw_consolidation_config *cons = &cc.train.consolidation;
    cons->protect_rewiring = a->protect;
    cons->protect_strength = a->protect_strength;
    if (a->method == M_REPLAY) {
        cc.memory = a->memory;
        cc.replay_batch = a->replay_batch;
    } else if (a->method == M_EWC) {
        cons->kind = RW_CONSOLIDATE_EWC;
        cons->lambda = a->ewc_lambda;
        cons->gamma = a->ewc_gamma;
        cons->fisher_samples = a->fisher_samples;
    } else if (a->method == M_SI) {
        cons->kind = RW_CONSOLIDATE_SI;
        cons->lambda = a->si_c;
        cons->si_xi = a->si_xi;
    }
    return cc;
}

static void print_header(const cont_run *r)
{
    const cont_args *a = &r->a;
    fprintf(stderr, "tasks: %zu (%s), %zu features, %zu classes%s\n",
            rw_tasks_count(r->tasks), a->tasks, rw_tasks_features(r->tasks),
            rw_tasks_classes(r->tasks),
            a->task_incremental ? ", task-incremental" : "");
    cli_print_network(r->net);
    fprintf(stderr, ", %zu connections; method: %s; %zu epoch%s per task",
            rw_net_connections(r->net), method_names[a->method], a->o.tc.epochs,
            a->o.tc.epochs == 1 ? "" : "s");
    if (rw_dist_size() > 1)
        fprintf(stderr, "; data-parallel on %d ranks", rw_dist_size());
    fputc('\n', stderr);
}

/* Runs the tasks with progress on stderr and the log. */
static bool run_tasks(cont_run *r)
{
    rw_continual_config cc = cont_config(&r->a);
    cont_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    progress_init(&ctx.prog, r->a.o.quiet);
    ctx.quiet = r->a.o.quiet;
    ctx.tasks = r->tasks;
    ctx.net = r->net;
    ctx.log = r->log;
    ctx.online = r->a.online;
    ctx.layers = rw_net_layers(r->net);
    cc.train.on_progress = on_progress;
    cc.train.on_epoch = on_epoch;
    cc.train.user = &ctx;
    cc.on_task = on_task;
    cc.user = &ctx;
    rw_error err;
    rw_error_clear(&err);
    cli_dist_training(true);
    rw_status st = rw_continual_run(r->net, r->tasks, &cc, &r->res, &err);
    /* As in train: a failure here may leave other ranks waiting. */
    if (st == RW_OK)
        cli_dist_training(false);
    progress_clear(&ctx.prog);
    if (st != RW_OK && cli_dist_setup_failed(C, &err))
        return false;
    if (st != RW_OK)
        return cli_failed(C, &err);
    return true;
}

/* The log closed, the CSV, the report, the model, then the table or the
 * JSON report on stdout. */
static bool write_outputs(cont_run *r)
{
    const cont_args *a = &r->a;
    const train_opts_t *o = &a->o;
    if (r->log) {
        int bad = ferror(r->log);
        bad |= fclose(r->log);
        r->log = NULL;
        if (bad) {
            cli_fail(C, "%s: cannot write the log", o->log);
            return false;
        }
    }
    if (a->csv && !write_csv(a->csv, &r->res))
        return false;
    if (a->out) {
        FILE *f = fopen(a->out, "w");
        if (!f) {
            cli_fail(C, "%s: cannot open for writing: %s", a->out, strerror(errno));
            return false;
        }
        write_json(f, a, o, r->tasks, r->net, &r->res);
        if (fclose(f) != 0) {
            cli_fail(C, "%s: cannot write: %s", a->out, strerror(errno));
            return false;
        }
    }
    rw_error err;
    if (o->save && rw_net_save(r->net, o->save, &err) != RW_OK)
        return cli_failed(C, &err);
    if (o->json)
        write_json(stdout, a, o, r->tasks, r->net, &r->res);
    else
        print_table(r->tasks, &r->res, a->online);
    return true;
}

int cmd_continual(int argc, char **argv)
{
    cont_run r;
    memset(&r, 0, sizeof r);
    cont_args *a = &r.a;
    cont_defaults(a);
    const cli_group groups[] = {
        {.opts = continual_table, .target = a, .before = continual_intro,
         .given = &a->given},
        {.opts = cli_train_table, .target = &a->o, .hidden = true,
         .given = &a->o.given},
        /* The notes after every option. */
        {.opts = cli_maintain_table, .target = &a->o, .after = continual_outro,
         .given = &a->o.given},
    };
    const cli_command cmd = {C, 23, groups, sizeof groups / sizeof groups[0]};
    cli_dist_hold_errors();
    int rc = cli_parse(&cmd, argc, argv);
    if (rc < 0)
        rc = cont_rules(a);
    bool ok = rc < 0;
    if (ok) {
        cli_dist_threads(a->o.threads);
        cli_dist_outputs(&a->o);
        if (rw_dist_rank() != 0)
            a->out = NULL;
        r.tasks = open_tasks(a->tasks, &a->o, a, &r.base_train, &r.base_test,
                             &r.csv_tasks);
        ok = r.tasks && build_net(&r);
    }
    /* Under mpirun every rank gets here, and all go on or all stop. */
    if (!cli_dist_agree(C, ok)) {
        run_free(&r);
        return rc >= 0 ? rc : 1;
    }
    if (!a->o.quiet)
        print_header(&r);
    ok = run_tasks(&r) && write_outputs(&r);
    run_free(&r);
    return ok ? 0 : 1;
}
