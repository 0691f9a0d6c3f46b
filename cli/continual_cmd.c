/* rewire continual: train a sequence of tasks with one network, measure
 * what each task keeps of the earlier ones (the accuracy matrix), and try
 * the remedies: rehearsal, EWC and synaptic intelligence. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const continual_help =
    "usage: rewire continual --tasks TASKS --method M [options]\n"
    "\n"
    "Trains the tasks one after another with one network and evaluates it on\n"
    "every task's test set after each, giving the accuracy matrix R (R[i][j]:\n"
    "accuracy on task j after training task i), the average accuracy after the\n"
    "last task, backward transfer (negative: forgetting) and forward transfer.\n"
    "\n"
    "tasks:\n"
    "  --tasks TASKS          split-fashion-mnist: the 10 classes in 5 tasks of 2,\n"
    "                         one shared output layer (class-incremental);\n"
    "                         split-NAME[:P]: any built-in dataset, P classes a task;\n"
    "                         permuted-fashion-mnist:K: K tasks, each a seeded\n"
    "                         permutation of the pixels (domain-incremental);\n"
    "                         FILE,FILE,...: CSV files, one task each; --holdout of\n"
    "                         each file is its test set\n"
    "  --task-incremental     only the current task's classes compete, in training\n"
    "                         and evaluation (the task is known at test time)\n"
    "  --num-tasks N          permuted tasks: N of them (instead of :K; up to 100000)\n"
    "  --task-samples M       generated tasks: M training samples each, a seeded\n"
    "                         random subset of the training split\n"
    "  --online               each task is one pass in --batch mini-batches; the\n"
    "                         report gives the online accuracy per task (each\n"
    "                         batch scored before training on it) and the\n"
    "                         diagnostics, and no accuracy matrix\n"
    "remedies:\n"
    "  --method M             naive (default: plain fine-tuning), replay, ewc, si\n"
    "  --memory N             replay: examples kept over all tasks, a uniform\n"
    "                         sample by reservoir sampling (default 1000)\n"
    "  --replay-batch N       replay: memory examples added to every batch\n"
    "                         (default: --batch)\n"
    "  --ewc-lambda F         EWC: penalty strength (default 1000; sparse layers\n"
    "                         hold more Fisher per connection: try 100)\n"
    "  --ewc-gamma F          EWC: decay of earlier tasks' Fisher (default 1)\n"
    "  --fisher-samples N     EWC: samples per task for the Fisher (default 1000;\n"
    "                         0: all)\n"
    "  --si-c F               SI: penalty strength (default 3)\n"
    "  --si-xi F              SI: damping (default 0.1)\n"
    "  --no-protect-rewiring  EWC/SI with rewiring: drop by |w| alone (default:\n"
    "                         important connections are dropped last)\n"
    "  --protect-strength F   rewiring drops by |w| (1 + F imp / mean imp)\n"
    "                         (default 10)\n"
    "output:\n"
    "  --csv FILE             the accuracy matrix as CSV\n"
    "  --out FILE             a JSON report (for rewire plot --continual)\n"
    "  --json                 print the JSON report instead of the table\n"
    "  --save FILE            save the final model (without consolidation state)\n"
    "  --quiet                no progress lines (on stderr: a bar on a\n"
    "                         terminal, else a line per tenth of an epoch,\n"
    "                         at most every 5 s and at least every 30 s)\n"
    "  --help                 this text\n"
    "\n"
    "The network, sparsity, rewiring and optimization options are those of\n"
    "rewire train (see rewire train --help); --epochs counts per task. CSV\n"
    "tasks are standardised with the first task's statistics (--no-standardize\n"
    "to turn off); the built-in image sequences are fed as they are (pixels in\n"
    "[0, 1]), since one task's statistics would not fit the others.\n";

enum {
    C_TASKS = 1000, C_METHOD, C_MEMORY, C_REPLAYB, C_EWCL, C_EWCG, C_FISHER,
    C_SIC, C_SIXI, C_NOPROTECT, C_PROTECTS, C_TASKINC, C_CSV, C_OUT,
    C_NUMTASKS, C_TASKSAMPLES, C_ONLINE
};

static const struct option continual_opts[] = {
    {"tasks", required_argument, 0, C_TASKS},
    {"method", required_argument, 0, C_METHOD},
    {"memory", required_argument, 0, C_MEMORY},
    {"replay-batch", required_argument, 0, C_REPLAYB},
    {"ewc-lambda", required_argument, 0, C_EWCL},
    {"ewc-gamma", required_argument, 0, C_EWCG},
    {"fisher-samples", required_argument, 0, C_FISHER},
    {"si-c", required_argument, 0, C_SIC},
    {"si-xi", required_argument, 0, C_SIXI},
    {"no-protect-rewiring", no_argument, 0, C_NOPROTECT},
    {"protect-strength", required_argument, 0, C_PROTECTS},
    {"task-incremental", no_argument, 0, C_TASKINC},
    {"csv", required_argument, 0, C_CSV},
    {"out", required_argument, 0, C_OUT},
    {"num-tasks", required_argument, 0, C_NUMTASKS},
    {"task-samples", required_argument, 0, C_TASKSAMPLES},
    {"online", no_argument, 0, C_ONLINE},
    {0, 0, 0, 0},
};

typedef enum { M_NAIVE = 0, M_REPLAY, M_EWC, M_SI } method_t;
static const char *const method_names[] = {"naive", "replay", "ewc", "si"};

typedef struct cont_args {
    const char *tasks, *csv, *out;
    method_t method;
    size_t memory, replay_batch, fisher_samples;
    bool memory_set, ewc_set, si_set;
    double ewc_lambda, ewc_gamma, si_c, si_xi, protect_strength;
    bool protect, task_incremental, online;
    size_t num_tasks, task_samples; /* 0: from --tasks, all samples */
} cont_args;

static const char *const C = "continual";

static int extra_option(int ch, const char *arg, void *ctx)
{
    cont_args *a = ctx;
    switch (ch) {
    case C_TASKS: a->tasks = arg; break;
    case C_METHOD: {
        for (int i = 0; i < 4; i++)
            if (strcmp(arg, method_names[i]) == 0) {
                a->method = (method_t)i;
                return -1;
            }
        return cli_fail(C, "--method must be naive, replay, ewc or si, got "
                           "\"%s\"", arg) + 1;
    }
    case C_MEMORY:
        if (!cli_parse_size(C, "--memory", arg, 1, (size_t)1 << 28, &a->memory))
            return 2;
        a->memory_set = true;
        break;
    case C_REPLAYB:
        if (!cli_parse_size(C, "--replay-batch", arg, 1, 1u << 20,
                            &a->replay_batch))
            return 2;
        break;
    case C_EWCL:
        if (!cli_parse_double(C, "--ewc-lambda", arg, 0.0, 1e12, &a->ewc_lambda))
            return 2;
        a->ewc_set = true;
        break;
    case C_EWCG:
        if (!cli_parse_double(C, "--ewc-gamma", arg, 0.0, 1.0, &a->ewc_gamma))
            return 2;
        a->ewc_set = true;
        break;
    case C_FISHER:
        if (!cli_parse_size(C, "--fisher-samples", arg, 0, SIZE_MAX,
                            &a->fisher_samples))
            return 2;
        a->ewc_set = true;
        break;
    case C_SIC:
        if (!cli_parse_double(C, "--si-c", arg, 0.0, 1e12, &a->si_c))
            return 2;
        a->si_set = true;
        break;
    case C_SIXI:
        if (!cli_parse_double(C, "--si-xi", arg, 1e-12, 1e12, &a->si_xi))
            return 2;
        a->si_set = true;
        break;
    case C_NOPROTECT: a->protect = false; break;
    case C_PROTECTS:
        if (!cli_parse_double(C, "--protect-strength", arg, 0.0, 1e9,
                              &a->protect_strength))
            return 2;
        break;
    case C_TASKINC: a->task_incremental = true; break;
    case C_CSV: a->csv = arg; break;
    case C_OUT: a->out = arg; break;
    case C_NUMTASKS:
        if (!cli_parse_size(C, "--num-tasks", arg, 1, 100000, &a->num_tasks))
            return 2;
        break;
    case C_TASKSAMPLES:
        if (!cli_parse_size(C, "--task-samples", arg, 1, SIZE_MAX, &a->task_samples))
            return 2;
        break;
    case C_ONLINE: a->online = true; break;
    default: return cli_fail(C, "internal error: option %d", ch) + 1;
    }
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

/* Built-in datasets have their own test split; files would not. The
 * image sets may name their folder: mnist:DIR. */
static bool is_builtin(const char *name)
{
    static const char *const names[] = {"fashion-mnist", "mnist", "spirals",
                                        "moons", "blobs", "xor"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(name, names[i], n) != 0)
            continue;
        if (name[n] == '\0' || (i < 2 && name[n] == ':'))
            return true;
    }
    return false;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
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
        if (!is_builtin(name)) {
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
            st = rw_tasks_add(t, base_name(name), tr, te, &err);
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
        fputs(i ? ",[" : "[", f);
        for (size_t j = 0; j < T; j++) {
            fputs(j ? "," : "", f);
            json_num(f, r->matrix[i * T + j]);
        }
        fputc(']', f);
    }
    fputs("],\"average_accuracy\":", f);
    json_num(f, r->average_accuracy);
    fputs(",\"backward_transfer\":", f);
    json_num(f, r->backward_transfer);
    fputs(",\"forward_transfer\":", f);
    json_num(f, r->forward_transfer);
    fputs(",\"baseline\":[", f);
    for (size_t j = 0; j < T; j++) {
        fputs(j ? "," : "", f);
        json_num(f, r->baseline[j]);
    }
    fputs("],\"seconds\":[", f);
    for (size_t j = 0; j < T; j++) {
        fputs(j ? "," : "", f);
        json_num(f, r->seconds[j]);
    }
    fputs("],\"importance_kept\":[", f);
    for (size_t j = 0; j < T; j++) {
        fputs(j ? "," : "", f);
        json_num(f, r->importance_kept[j]);
    }
    fputs("],\"online\":", f);
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
               "\"threads\":%d}\n",
            rw_net_connections(net), a->online ? (size_t)1 : o->tc.epochs,
            (unsigned long long)o->seed,
            rw_get_threads());
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
    printf("%-8s", "");
    for (size_t j = 0; j < T; j++)
        printf("  task %-3zu", j + 1);
    printf("\n");
    for (size_t i = 0; i < T; i++) {
        printf("after %-2zu", i + 1);
        for (size_t j = 0; j < T; j++)
            printf("  %8.4f", r->matrix[i * T + j]);
        printf("\n");
    }
    printf("%-8s", "untrained");
    for (size_t j = 0; j < T; j++)
        printf("  %8.4f", r->baseline[j]);
    printf("\n");
    for (size_t j = 0; j < T; j++)
        printf("task %zu: %s\n", j + 1, rw_tasks_name(tasks, j));
    printf("average accuracy %.4f, backward transfer %+.4f, forward transfer ",
           r->average_accuracy, r->backward_transfer);
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

int cmd_continual(int argc, char **argv)
{
    cont_args a;
    memset(&a, 0, sizeof a);
    a.memory = 1000;
    a.ewc_lambda = 1000.0;
    a.ewc_gamma = 1.0;
    a.fisher_samples = 1000;
    a.si_c = 3.0;
    a.si_xi = 0.1;
    a.protect = true;
    a.protect_strength = 10.0;
    train_opts_t o;
    int rc = parse_train_options(C, argc, argv, &o, continual_opts,
                                 extra_option, &a, continual_help);
    if (rc >= 0)
        return rc;
    if (!a.tasks)
        return cli_fail(C, "--tasks is required (see rewire continual --help)") + 1;
    const char *misplaced = o.data ? "--data" : o.test ? "--test"
                          : o.val_split > 0 ? "--val-split"
                          : o.plot ? "--plot" : NULL;
    if (misplaced)
        return cli_fail(C, "%s does not apply to continual learning (the data "
                           "comes from --tasks)", misplaced) + 1;
    if (a.num_tasks && strncmp(a.tasks, "permuted-", 9) != 0)
        return cli_fail(C, "--num-tasks applies to permuted-NAME tasks") + 1;
    if (a.task_samples && (strncmp(a.tasks, "permuted-", 9) != 0 &&
                           strncmp(a.tasks, "split-", 6) != 0))
        return cli_fail(C, "--task-samples applies to generated tasks "
                           "(permuted-NAME, split-NAME)") + 1;
    if (a.memory_set && a.method != M_REPLAY)
        return cli_fail(C, "--memory applies to --method replay") + 1;
    if (a.ewc_set && a.method != M_EWC)
        return cli_fail(C, "the EWC options apply to --method ewc") + 1;
    if (a.si_set && a.method != M_SI)
        return cli_fail(C, "the SI options apply to --method si") + 1;
    cli_dist_threads(o.threads);
    cli_dist_outputs(&o);
    if (rw_dist_rank() != 0)
        a.out = NULL;

    int exit_code = 1;
    rw_error err;
    rw_error_clear(&err);
    rw_dataset *base_train = NULL, *base_test = NULL;
    rw_net *net = NULL;
    float *shift = NULL, *scale = NULL;
    FILE *log = NULL;
    rw_continual_result res;
    memset(&res, 0, sizeof res);
    bool csv_tasks;
    rw_tasks *tasks = open_tasks(a.tasks, &o, &a, &base_train, &base_test, &csv_tasks);
    if (!tasks)
        goto done;

    rw_net_config cfg;
    if (!cli_net_config(C, &o, rw_tasks_features(tasks), rw_tasks_classes(tasks),
                        RW_LOSS_CROSS_ENTROPY, &cfg))
        goto done;
    if (!(net = rw_net_create(&cfg, &err))) {
        cli_fail_err(C, &err);
        goto done;
    }
    if (csv_tasks && o.standardize) {
        const rw_dataset *first = rw_tasks_train(tasks, 0, &err);
        size_t f = rw_tasks_features(tasks);
        shift = malloc(f * sizeof *shift);
        scale = malloc(f * sizeof *scale);
        if (!first || !shift || !scale ||
            rw_dataset_fit_standardize(first, shift, scale, &err) != RW_OK ||
            rw_net_set_input_transform(net, shift, scale, &err) != RW_OK) {
            cli_fail(C, "cannot standardise the inputs: %s",
                     err.msg[0] ? err.msg : "out of memory");
            goto done;
        }
    }
    if (o.log && !(log = fopen(o.log, "w"))) {
        cli_fail(C, "%s: cannot open the log for writing: %s", o.log,
                 strerror(errno));
        goto done;
    }

    rw_continual_config cc = rw_continual_defaults();
    cc.train = o.tc;
    cc.task_incremental = a.task_incremental;
    cc.online = a.online;
    rw_consolidation_config *cons = &cc.train.consolidation;
    cons->protect_rewiring = a.protect;
    cons->protect_strength = a.protect_strength;
    if (a.method == M_REPLAY) {
        cc.memory = a.memory;
        cc.replay_batch = a.replay_batch;
    } else if (a.method == M_EWC) {
        cons->kind = RW_CONSOLIDATE_EWC;
        cons->lambda = a.ewc_lambda;
        cons->gamma = a.ewc_gamma;
        cons->fisher_samples = a.fisher_samples;
    } else if (a.method == M_SI) {
        cons->kind = RW_CONSOLIDATE_SI;
        cons->lambda = a.si_c;
        cons->si_xi = a.si_xi;
    }
    cont_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    progress_init(&ctx.prog, o.quiet);
    ctx.quiet = o.quiet;
    ctx.tasks = tasks;
    ctx.net = net;
    ctx.log = log;
    ctx.online = a.online;
    ctx.layers = rw_net_layers(net);
    cc.train.on_progress = on_progress;
    cc.train.on_epoch = on_epoch;
    cc.train.user = &ctx;
    cc.on_task = on_task;
    cc.user = &ctx;

    if (!o.quiet) {
        fprintf(stderr, "tasks: %zu (%s), %zu features, %zu classes%s\n",
                rw_tasks_count(tasks), a.tasks, rw_tasks_features(tasks),
                rw_tasks_classes(tasks),
                a.task_incremental ? ", task-incremental" : "");
        fprintf(stderr, "network: %zu", rw_net_inputs(net));
        for (size_t l = 0; l < rw_net_layers(net); l++) {
            rw_layer_info li;
            rw_net_layer_info(net, l, &li, NULL);
            if (li.kind == RW_LAYER_SPARSE)
                fprintf(stderr, "-%zu(sparse %.2f%%)", li.outputs,
                        100.0 * li.density);
            else
                fprintf(stderr, "-%zu", li.outputs);
        }
        fprintf(stderr, ", %zu connections; method: %s; %zu epochs per task\n",
                rw_net_connections(net), method_names[a.method], o.tc.epochs);
    }
    rw_status st = rw_continual_run(net, tasks, &cc, &res, &err);
    progress_clear(&ctx.prog);
    if (st != RW_OK) {
        cli_fail_err(C, &err);
        goto done;
    }
    if (log) {
        int bad = ferror(log);
        if (fclose(log) != 0 || bad) {
            log = NULL;
            cli_fail(C, "%s: cannot write the log", o.log);
            goto done;
        }
        log = NULL;
    }
    if (a.csv && !write_csv(a.csv, &res))
        goto done;
    if (a.out) {
        FILE *f = fopen(a.out, "w");
        if (!f) {
            cli_fail(C, "%s: cannot open for writing: %s", a.out, strerror(errno));
            goto done;
        }
        write_json(f, &a, &o, tasks, net, &res);
        if (fclose(f) != 0) {
            cli_fail(C, "%s: cannot write: %s", a.out, strerror(errno));
            goto done;
        }
    }
    if (o.save && rw_net_save(net, o.save, &err) != RW_OK) {
        cli_fail_err(C, &err);
        goto done;
    }
    if (o.json)
        write_json(stdout, &a, &o, tasks, net, &res);
    else
        print_table(tasks, &res, a.online);
    exit_code = 0;
done:
    if (log)
        fclose(log);
    rw_continual_result_free(&res);
    free(shift);
    free(scale);
    rw_net_free(net);
    rw_tasks_free(tasks);
    rw_dataset_free(base_train);
    rw_dataset_free(base_test);
    return exit_code;
}
