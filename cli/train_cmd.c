/* rewire train: build a network from the data's shape and the options,
 * train it with progress output, log, save and plot. */
/* SA_ONSTACK is XSI. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include "cli.h"
#include "plot/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const C = "train";

/* The help around the options' table (train_opts.c). */
static const char *const train_intro =
    "usage: rewire train --data SPEC [options]\n"
    "\n"
    "Trains a network whose input and output sizes come from the data.\n"
    "SPEC is a dataset name (fashion-mnist, mnist, spirals, moons, blobs, xor),\n"
    "a CSV file, or an IDX pair IMAGES,LABELS (raw or .gz).\n"
    "\n";

static const char *const train_outro =
    "\n"
    "Ctrl-C stops at the end of the batch, saves --save's model as it stands,\n"
    "names the checkpoint that --resume continues from and exits 130; a second\n"
    "Ctrl-C kills the run (under mpirun Ctrl-C kills it). A run started with\n"
    "SIGINT ignored (nohup, a background job of a script) keeps ignoring it.\n"
    "\n"
    "data-parallel, in a build with MPI (rewire --version says so):\n"
    "  mpirun -np N rewire train ...   trains on N ranks. --batch is the global\n"
    "                         batch: each rank takes its share (B/N samples) of\n"
    "                         every batch, the gradients are summed over the\n"
    "                         ranks once per step, and the ranks take the same\n"
    "                         step and rewire alike (checked by a checksum after\n"
    "                         each rewiring), so results match one process up\n"
    "                         to the order of float additions (closest when N\n"
    "                         divides --batch: uneven shares sum differently,\n"
    "                         which Adam and rewiring amplify). When\n"
    "                         no trace, pruning, maintenance or consolidation\n"
    "                         reads the gradients, each rank steps the optimizer\n"
    "                         on its 1/N of the parameters and the ranks then\n"
    "                         share the weights (RW_DIST_SHARD=0 turns this off;\n"
    "                         --json's \"sharded_step\" says which). Sums go\n"
    "                         over shared memory when every rank is on one\n"
    "                         machine, else over a ring of send-receives\n"
    "                         (RW_DIST_ALLREDUCE=shm|ring|mpi, shm and ring\n"
    "                         giving the same bits; --json's \"allreduce\" says\n"
    "                         which). On one machine the sharded step keeps a\n"
    "                         single copy of the weights in shared memory that\n"
    "                         every rank writes its part of, and every rank's\n"
    "                         gradients there too, for the others to read\n"
    "                         (RW_DIST_SHARED_WEIGHTS=0: a copy per rank; --json's\n"
    "                         \"shared_weights\"). Every rank reads the same data and\n"
    "                         options; rank 0 alone prints, logs, saves, plots\n"
    "                         and checkpoints. A checkpoint resumes with any\n"
    "                         number of ranks.\n"
    "                         --threads defaults to the cores over the ranks per\n"
    "                         machine (mpirun binds 1 or 2 ranks to one core\n"
    "                         each: use mpirun --bind-to none for more threads).\n"
    "                         --replay-batch (continual) is per rank.\n"
    "Progress goes to stderr: a bar on a terminal; otherwise (a file or a\n"
    "pipe) one line per epoch, and within an epoch a line at each further\n"
    "tenth once 5 s have passed since the last line, and at least every 30 s.\n";

/* State shared with the per-epoch callback. */
typedef struct run_ctx {
    cli_progress prog;
    FILE *log;
    const char *log_path;
    rw_net *net;
    const rw_dataset *val;
    size_t n_layers;
    bool quiet;
    rw_error log_err;
    rw_epoch_stats last; /* the last epoch's statistics, for --json */
    bool have_last;
} run_ctx;

/* Ctrl-C: the run stops at the end of the batch, saves what it has and
 * says how to resume; a second Ctrl-C kills it. Not under mpirun, where
 * ranks that stopped at different steps would wait for each other. */
static volatile sig_atomic_t g_interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

/* The handler runs on an alternate stack (rw_signal_stack: oneDNN's GEMM
 * kernels keep data below the stack pointer), and only once: a second
 * Ctrl-C kills. A SIGINT the tool was started ignoring (a job started
 * in the background by a shell without job control, nohup) stays
 * ignored. release_sigint puts back what was there. */
static struct sigaction g_old_sigint;
static bool g_sigint_caught;

static void catch_sigint(rw_error *err)
{
    struct sigaction sa;
    if (sigaction(SIGINT, NULL, &g_old_sigint) != 0 ||
        g_old_sigint.sa_handler == SIG_IGN)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    if (rw_signal_stack(err) == RW_OK)
        g_sigint_caught = sigaction(SIGINT, &sa, NULL) == 0;
}

static void release_sigint(void)
{
    if (g_sigint_caught)
        sigaction(SIGINT, &g_old_sigint, NULL);
    g_sigint_caught = false;
}

static int on_progress(const rw_progress *p, void *user)
{
    run_ctx *c = user;
    progress_batch(&c->prog, p);
    return g_interrupted;
}

/* The epoch's line on stderr, and the lines of the layers below it. */
static void print_epoch(const run_ctx *c, const rw_epoch_stats *s, double val_acc)
{
    fprintf(stderr, "epoch %3zu  loss %.4f  acc %6.2f%%", s->epoch,
            s->train_loss, 100.0 * s->train_accuracy);
    if (isfinite(s->test_loss))
        fprintf(stderr, "  test loss %.4f", s->test_loss);
    if (isfinite(s->test_accuracy))
        fprintf(stderr, "  test acc %6.2f%%", 100.0 * s->test_accuracy);
    if (c->val)
        fprintf(stderr, "  val acc %6.2f%%", 100.0 * val_acc);
    fprintf(stderr, "  %.1fs  lr %.3g", s->seconds, s->lr);
    bool sparse = false;
    for (size_t l = 0; l < c->n_layers; l++)
        sparse |= s->layer_density[l] < 1.0;
    if (sparse) {
        size_t dropped = 0;
        for (size_t l = 0; l < c->n_layers; l++)
            dropped += s->dropped[l];
        fprintf(stderr, "  connections %zu", s->connections);
        if (dropped)
            fprintf(stderr, "  rewired %zu", dropped);
    }
    fputc('\n', stderr);
    if (isfinite(s->mean_abs_w[0]) && c->n_layers > 1) {
        fputs("  ", stderr);
        cli_print_diagnostics(stderr, "  ", s->dormant_fraction,
                              s->effective_rank, s->mean_abs_w, c->n_layers);
    }
    size_t pruned = 0, removed = 0, added = 0;
    for (size_t l = 0; l < c->n_layers; l++) {
        pruned += s->pruned[l];
        removed += s->neurons_removed[l];
        added += s->neurons_added[l];
    }
    if (pruned || removed || added) {
        fprintf(stderr, "    pruned %zu connections; neurons", pruned);
        for (size_t l = 0; l < c->n_layers; l++)
            fprintf(stderr, "%s%zu", l ? "-" : " ", s->layer_neurons[l]);
        fprintf(stderr, " (removed %zu, added %zu)\n", removed, added);
    }
    if (sparse) {
        for (size_t l = 0; l < c->n_layers; l++)
            if (s->layer_density[l] < 1.0)
                fprintf(stderr,
                        "    layer %zu: %zu connections, density %.4f, "
                        "dropped %zu, grown %zu, initial kept %.1f%%\n",
                        l + 1, s->layer_connections[l], s->layer_density[l],
                        s->dropped[l], s->grown[l],
                        100.0 * s->initial_share[l]);
    }
}

/* The epoch's object in the log (JSON Lines). */
static void log_epoch(const run_ctx *c, const rw_epoch_stats *s, double val_loss,
                      double val_acc)
{
    FILE *f = c->log;
    fprintf(f, "{\"epoch\":%zu,\"train_loss\":", s->epoch);
    json_num(f, s->train_loss);
    fputs(",\"train_accuracy\":", f);
    json_num(f, s->train_accuracy);
    fputs(",\"test_loss\":", f);
    json_num(f, s->test_loss);
    fputs(",\"test_accuracy\":", f);
    json_num(f, s->test_accuracy);
    if (c->val) {
        fputs(",\"val_loss\":", f);
        json_num(f, val_loss);
        fputs(",\"val_accuracy\":", f);
        json_num(f, val_acc);
    }
    fputs(",\"seconds\":", f);
    json_num(f, s->seconds);
    fputs(",\"lr\":", f);
    json_num(f, s->lr);
    fprintf(f, ",\"connections\":%zu,\"drop_fraction\":", s->connections);
    json_num(f, s->drop_fraction);
    fputs(",\"layers\":[", f);
    for (size_t l = 0; l < c->n_layers; l++) {
        fprintf(f, "%s{\"neurons\":%zu,\"connections\":%zu,\"density\":",
                l ? "," : "", s->layer_neurons[l], s->layer_connections[l]);
        json_num(f, s->layer_density[l]);
        fprintf(f, ",\"dropped\":%zu,\"grown\":%zu,\"initial_share\":",
                s->dropped[l], s->grown[l]);
        json_num(f, s->initial_share[l]);
        fprintf(f, ",\"pruned\":%zu,\"neurons_removed\":%zu,"
                   "\"neurons_added\":%zu",
                s->pruned[l], s->neurons_removed[l], s->neurons_added[l]);
        const char *dk[3] = {"dormant_fraction", "effective_rank", "mean_abs_w"};
        const double dv[3] = {s->dormant_fraction[l], s->effective_rank[l],
                              s->mean_abs_w[l]};
        for (int q = 0; q < 3; q++)
            if (isfinite(dv[q])) {
                fprintf(f, ",\"%s\":", dk[q]);
                json_num(f, dv[q]);
            }
        fputc('}', f);
    }
    fputs("]", f);
    if (isfinite(s->mean_abs_w[0])) {
        size_t nl = c->n_layers, nh = nl ? nl - 1 : 0;
        fputs(",\"dormant_fraction\":", f);
        cli_json_array(f, s->dormant_fraction, nh);
        fputs(",\"effective_rank\":", f);
        cli_json_array(f, s->effective_rank, nh);
        fputs(",\"mean_abs_w\":", f);
        cli_json_array(f, s->mean_abs_w, nl);
        fputs(",\"units_reset\":[", f);
        for (size_t l = 0; l < nh; l++)
            fprintf(f, "%s%zu", l ? "," : "", s->units_reset[l]);
        fputc(']', f);
    }
    fputs("}\n", f);
}

static int on_epoch(const rw_epoch_stats *s, void *user)
{
    run_ctx *c = user;
    progress_clear(&c->prog);
    c->last = *s;
    c->have_last = true;
    double val_acc = NAN, val_loss = NAN;
    if (c->val) {
        rw_eval_result ev;
        rw_error err;
        if (rw_net_evaluate(c->net, c->val, &ev, NULL, &err) == RW_OK) {
            val_acc = ev.accuracy;
            val_loss = ev.loss;
        }
    }
    if (!c->quiet)
        print_epoch(c, s, val_acc);
    if (c->log) {
        log_epoch(c, s, val_loss, val_acc);
        if (fflush(c->log) != 0 || ferror(c->log)) {
            snprintf(c->log_err.msg, sizeof c->log_err.msg,
                     "%s: cannot write the log: %s", c->log_path, strerror(errno));
            c->log_err.status = RW_ERR_IO;
            return 1;
        }
    }
    return g_interrupted;
}

static void print_json(const train_opts_t *o, rw_net *net,
                       const rw_train_result *r, const rw_dataset *train,
                       const rw_epoch_stats *last)
{
    printf("{\"test_accuracy\":");
    json_num(stdout, r->test_accuracy);
    printf(",\"test_loss\":");
    json_num(stdout, r->test_loss);
    printf(",\"train_loss\":");
    json_num(stdout, r->final_train_loss);
    printf(",\"train_accuracy\":");
    json_num(stdout, r->final_train_accuracy);
    printf(",\"train_seconds\":");
    json_num(stdout, r->train_seconds);
    printf(",\"samples_per_second\":");
    json_num(stdout, r->samples_per_second);
    printf(",\"epochs\":%zu,\"epochs_trained\":%zu,\"parameters\":%zu,"
           "\"connections\":%zu", r->epochs, r->epochs_trained,
           rw_net_parameters(net), rw_net_connections(net));
    printf(",\"train_samples\":%zu,\"threads\":%d,\"seed\":%llu,\"gemm\":",
           rw_dataset_size(train), rw_get_threads(), (unsigned long long)o->seed);
    json_str(stdout, rw_gemm_info());
    printf(",\"sparse_isa\":");
    json_str(stdout, rw_isa());
    printf(",\"precision\":");
    json_str(stdout, rw_precision_name(rw_net_precision(net)));
    printf(",\"density\":[");
    for (size_t l = 0; l < rw_net_layers(net); l++) {
        rw_layer_info li;
        rw_net_layer_info(net, l, &li, NULL);
        printf("%s", l ? "," : "");
        json_num(stdout, li.density);
    }
    printf("]");
    if (last && isfinite(last->mean_abs_w[0])) {
        size_t nl = rw_net_layers(net);
        printf(",\"dormant_fraction\":");
        cli_json_array(stdout, last->dormant_fraction, nl - 1);
        printf(",\"effective_rank\":");
        cli_json_array(stdout, last->effective_rank, nl - 1);
        printf(",\"mean_abs_w\":");
        cli_json_array(stdout, last->mean_abs_w, nl);
    }
    rw_dist_stats ds = rw_dist_last_stats();
    printf(",\"ranks\":%d", rw_dist_size());
    if (ds.ranks > 1) {
        printf(",\"allreduce_bytes_per_step\":%zu,\"comm_share\":",
               ds.bytes_per_step);
        json_num(stdout, rw_dist_comm_share());
        printf(",\"allreduce_steps\":%zu,\"comm_seconds\":", ds.steps);
        json_num(stdout, ds.comm_seconds);
        printf(",\"topology_checks\":%zu,\"sharded_step\":%s,"
               "\"shared_weights\":%s,\"allreduce\":",
               ds.checks, ds.sharded ? "true" : "false",
               ds.shared_weights ? "true" : "false");
        json_str(stdout, rw_dist_transport());
    }
    if (o->save) {
        printf(",\"model\":");
        json_str(stdout, o->save);
    }
    printf("}\n");
}

/* What a training run holds, freed by run_free. */
typedef struct train_run {
    train_opts_t o;
    rw_dataset *train, *test, *val, *full;
    rw_net *net;
    FILE *log;
    float *shift, *scale;
    bool image; /* the inputs are an image of ih x iw pixels */
    size_t ih, iw;
} train_run;

static void run_free(train_run *r)
{
    if (r->log)
        fclose(r->log);
    free(r->shift);
    free(r->scale);
    rw_net_free(r->net);
    rw_dataset_free(r->train);
    rw_dataset_free(r->test);
    rw_dataset_free(r->val);
    rw_dataset_free(r->full);
}

/* The training, test and validation sets: --test, else a named set's test
 * split, else --holdout of the file; then --val-split of what is left. */
static bool open_data(train_run *r)
{
    const train_opts_t *o = &r->o;
    rw_error err;
    rw_error_clear(&err);
    r->full = rw_dataset_open(o->data, RW_SPLIT_TRAIN, &o->dopts, &err);
    if (!r->full)
        return cli_failed(C, &err);
    cli_note_header(C, o->data, r->full);
    if (o->test || cli_is_builtin(o->data, true)) {
        r->test = rw_dataset_open(o->test ? o->test : o->data, RW_SPLIT_TEST,
                                  &o->dopts, &err);
        if (!r->test)
            return cli_failed(C, &err);
        if (o->test)
            cli_note_header(C, o->test, r->test);
    } else if (o->holdout > 0.0) {
        rw_dataset *rest = NULL;
        if (rw_dataset_split(r->full, o->holdout, o->seed, &rest, &r->test, &err) != RW_OK)
            return cli_fail(C, "%s: --holdout %g: %s (give --test, or more "
                             "rows)", o->data, o->holdout, err.msg), false;
        rw_dataset_free(r->full);
        r->full = rest;
    }
    if (o->val_split > 0.0) {
        if (rw_dataset_split(r->full, o->val_split, o->seed + 1, &r->train,
                             &r->val, &err) != RW_OK)
            return cli_fail(C, "%s: --val-split %g: %s", o->data, o->val_split,
                             err.msg), false;
    } else {
        r->train = r->full;
        r->full = NULL;
    }
    return true;
}

/* Whether the test set fits the training set. */
static bool check_data(const train_run *r)
{
    const rw_dataset *train = r->train, *test = r->test;
    if (rw_dataset_classes(train) == 0 && rw_dataset_targets(train) == 0) {
        cli_fail(C, "%s: no labels or targets", rw_dataset_name(train));
        return false;
    }
    /* One class: every prediction is right and nothing is learnt. */
    const int32_t *lab = rw_dataset_classes(train) ? rw_dataset_labels(train) : NULL;
    size_t n = rw_dataset_size(train), i = 1;
    while (lab && i < n && lab[i] == lab[0])
        i++;
    if (lab && n > 0 && i == n) {
        cli_fail(C, "%s: every training sample has label %d; a classifier "
                    "needs at least 2 classes in its training data",
                 rw_dataset_name(train), (int)lab[0]);
        return false;
    }
    if (test && rw_dataset_features(test) != rw_dataset_features(train)) {
        cli_fail(C, "%s has %zu features per sample but %s has %zu",
                 rw_dataset_name(test), rw_dataset_features(test),
                 rw_dataset_name(train), rw_dataset_features(train));
        return false;
    }
    if (test && rw_dataset_classes(train) &&
        rw_dataset_classes(test) > rw_dataset_classes(train)) {
        cli_fail(C, "%s has labels up to %zu but the training data only has %zu "
                    "classes", rw_dataset_name(test), rw_dataset_classes(test) - 1,
                 rw_dataset_classes(train));
        return false;
    }
    return true;
}

/* Whether the checkpoint's network has the layers the options describe:
 * each layer's activation (--activation) and, unless neuron turnover may
 * have changed them, its neurons (--hidden). */
static bool resume_matches(const train_opts_t *o, const rw_net_config *cfg,
                           const rw_net *net)
{
    rw_error err;
    for (size_t l = 0; l < cfg->n_layers; l++) {
        rw_layer_info li;
        if (rw_net_layer_info(net, l, &li, &err) != RW_OK)
            return cli_failed(C, &err);
        const rw_layer_spec *sp = &cfg->layers[l];
        if (li.act != sp->act) {
            cli_fail(C, "%s: layer %zu has activation %s, but these options "
                        "give %s (--activation must be the one it was "
                        "trained with)", o->tc.resume_path, l + 1,
                     rw_activation_name(li.act), rw_activation_name(sp->act));
            return false;
        }
        if (!o->tc.plasticity.neuron_turnover && li.outputs != sp->units) {
            cli_fail(C, "%s: layer %zu has %zu neurons, but these options "
                        "give %zu (--hidden must be the one it was trained "
                        "with)", o->tc.resume_path, l + 1, li.outputs,
                     sp->units);
            return false;
        }
    }
    return true;
}

/* The network the options describe, or the one in the checkpoint that
 * --resume names; a new one standardises its inputs unless told not to. */
static bool build_net(train_run *r)
{
    const train_opts_t *o = &r->o;
    rw_error err;
    rw_error_clear(&err);
    /* The network's shape comes from the data. */
    bool regression = rw_dataset_classes(r->train) == 0;
    size_t outputs = regression ? rw_dataset_targets(r->train)
                                : rw_dataset_classes(r->train);
    rw_net_config cfg;
    if (!cli_net_config(C, o, rw_dataset_features(r->train), outputs,
                        regression ? RW_LOSS_MSE : RW_LOSS_CROSS_ENTROPY, &cfg))
        return false;
    if (o->tc.resume_path) {
        /* The checkpoint holds the network, its input transform and the
         * optimizer state; the training state is read by rw_train. */
        r->net = rw_net_load(o->tc.resume_path, &err);
        if (r->net && (rw_net_inputs(r->net) != cfg.n_inputs ||
                       rw_net_layers(r->net) != cfg.n_layers)) {
            cli_fail(C, "%s does not match the network these options build "
                        "(%zu inputs, %zu layers)", o->tc.resume_path,
                     cfg.n_inputs, cfg.n_layers);
            return false;
        }
        if (r->net && !resume_matches(o, &cfg, r->net))
            return false;
    } else {
        r->net = rw_net_create(&cfg, &err);
        /* The model keeps where the labels were, for eval and predict. */
        if (r->net && rw_net_set_label_column(r->net, o->dopts.label_column,
                                              &err) != RW_OK) {
            rw_net_free(r->net);
            r->net = NULL;
        }
    }
    if (!r->net ||
        rw_net_set_precision(r->net, (rw_precision)o->precision, &err) != RW_OK)
        return cli_failed(C, &err);
    if (o->standardize && !o->tc.resume_path) {
        size_t f = rw_dataset_features(r->train);
        r->shift = malloc(f * sizeof *r->shift);
        r->scale = malloc(f * sizeof *r->scale);
        if (!r->shift || !r->scale)
            return cli_failed(C, NULL);
        if (rw_dataset_fit_standardize(r->train, r->shift, r->scale, &err) != RW_OK ||
            rw_net_set_input_transform(r->net, r->shift, r->scale, &err) != RW_OK)
            return cli_failed(C, &err);
    }
    return true;
}

static void plot_warn(int rc, const char *errbuf, bool quiet, const char *what,
                      const char *path, const char *note)
{
    if (rc != 0)
        fprintf(stderr, "rewire train: warning: %s\n", errbuf);
    else if (!quiet && what)
        fprintf(stderr, "%s: %s%s\n", what, path, note);
}

/* The files --plot DIR writes into DIR: the pictures, and the log when
 * --log names none. */
enum { PLOT_CURVES, PLOT_REWIRING, PLOT_CONN_START, PLOT_CONN, PLOT_LOG, PLOT_FILES };
static const char *const plot_files[PLOT_FILES] = {
    "curves.png", "rewiring.png", "connectivity-start.png", "connectivity.png",
    "run.jsonl"};

static void plot_path(const train_opts_t *o, size_t which, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", o->plot, plot_files[which]);
}

/* No output overwrites another output or a file the run reads: --log
 * good.csv replaced the training data, --save X --checkpoint X wrote one
 * over the other, and the pictures of --plot DIR overwrote a model or a
 * log saved into DIR. --resume may name the checkpoint it continues. */
static bool distinct_outputs(const train_opts_t *o)
{
    char plotted[PLOT_FILES][4200];
    cli_path out[3 + PLOT_FILES] = {
        {o->save, "--save", NULL},
        {o->tc.checkpoint_path, "--checkpoint", NULL},
        {o->log, "--log", NULL},
    };
    size_t n = 3;
    for (size_t k = 0; o->plot && k < PLOT_FILES; k++) {
        if (k == PLOT_LOG && o->log)
            continue;
        plot_path(o, k, plotted[k], sizeof plotted[k]);
        out[n++] = (cli_path){plotted[k], "--plot", NULL};
    }
    const cli_path in[] = {{o->data, "--data", NULL},
                           {o->test, "--test", NULL},
                           {o->tc.resume_path, "--resume", "--checkpoint"}};
    return cli_distinct_paths(C, out, n, in, 3);
}

/* The log, the plot folder and, before training, the connectivity map of
 * the initial network. With --plot and no --log the log goes to
 * DIR/run.jsonl, which the learning curves are drawn from. */
static bool open_outputs(train_run *r)
{
    static char plot_log[4200];
    train_opts_t *o = &r->o;
    if (!distinct_outputs(o))
        return false;
    /* The plot folder first: --save DIR/model.rwm may go into it. */
    if (o->plot && mkdir(o->plot, 0777) != 0 && errno != EEXIST) {
        cli_fail(C, "%s: cannot create the plot folder: %s", o->plot,
                 strerror(errno));
        return false;
    }
    if ((o->save && !cli_check_writable(C, o->save, "model")) ||
        (o->tc.checkpoint_path && rw_dist_rank() == 0 &&
         !cli_check_writable(C, o->tc.checkpoint_path, "checkpoint")))
        return false;
    if (o->plot && !o->log) {
        plot_path(o, PLOT_LOG, plot_log, sizeof plot_log);
        o->log = plot_log;
    }
    if (o->log) {
        r->log = fopen(o->log, o->tc.resume_path ? "a" : "w");
        if (!r->log) {
            cli_fail(C, "%s: cannot open the log for writing: %s", o->log,
                     strerror(errno));
            return false;
        }
    }
    rw_dataset_image_shape(r->train, &r->ih, &r->iw);
    r->image = r->ih * r->iw == rw_dataset_features(r->train) && r->ih > 1;
    if (o->plot && r->image && !o->tc.resume_path) {
        char path[4096], errbuf[512];
        plot_path(o, PLOT_CONN_START, path, sizeof path);
        plot_warn(rw_plot_connectivity(r->net, r->ih, r->iw, path, errbuf,
                                       sizeof errbuf),
                  errbuf, true, NULL, path, "");
    }
    return true;
}

static void print_header(const train_run *r)
{
    const train_opts_t *o = &r->o;
    fprintf(stderr, "data: %s", rw_dataset_name(r->train));
    if (r->test)
        fprintf(stderr, "; test: %s", rw_dataset_name(r->test));
    fputc('\n', stderr);
    cli_print_network(r->net);
    static const char *const rn[] = {"none", "SET", "RigL", "Hebbian"};
    /* Rewiring moves connections to where there are none: a run whose
     * layers are all fully connected (an epsilon so large that no layer
     * stays sparse, say) has nowhere to move them. */
    size_t sparse = 0, full = 0;
    for (size_t l = 0; l < rw_net_layers(r->net); l++) {
        rw_layer_info li;
        if (rw_net_layer_info(r->net, l, &li, NULL) == RW_OK &&
            li.kind == RW_LAYER_SPARSE) {
            sparse++;
            full += li.density >= 1.0;
        }
    }
    fprintf(stderr, ", %zu connections, %zu parameters; rewiring: %s%s\n",
            rw_net_connections(r->net), rw_net_parameters(r->net), rn[o->tc.rewire],
            o->tc.rewire != RW_REWIRE_NONE && full == sparse
                ? " (every layer is fully connected: there is nothing to "
                  "rewire)"
                : "");
    if (rw_dist_size() > 1)
        fprintf(stderr, "ranks: %d (data-parallel, global batch %zu), ",
                rw_dist_size(), o->tc.batch);
    fprintf(stderr, "threads: %d, GEMM: %s, sparse kernels: %s%s\n",
            rw_get_threads(), rw_gemm_info(), rw_isa(),
            o->precision == RW_PRECISION_BF16 ? ", bf16 rows" : "");
    if (o->tc.resume_path)
        fprintf(stderr, "resuming the run saved in %s\n", o->tc.resume_path);
}

/* The pictures of --plot: curves and rewiring from the log, and the
 * connectivity map of the trained network. */
static void draw_plots(const train_run *r)
{
    const train_opts_t *o = &r->o;
    char path[4096], errbuf[512];
    /* open_outputs gave --plot a log if it had none. */
    plot_path(o, PLOT_CURVES, path, sizeof path);
    plot_warn(rw_plot_learning_curves(o->log, path, errbuf, sizeof errbuf),
              errbuf, o->quiet, "learning curves", path, "");
    if (o->sparse) {
        plot_path(o, PLOT_REWIRING, path, sizeof path);
        plot_warn(rw_plot_rewiring(o->log, path, errbuf, sizeof errbuf),
                  errbuf, o->quiet, "rewiring", path, "");
    }
    if (r->image) {
        plot_path(o, PLOT_CONN, path, sizeof path);
        plot_warn(rw_plot_connectivity(r->net, r->ih, r->iw, path, errbuf,
                                       sizeof errbuf),
                  errbuf, o->quiet, "connectivity map", path,
                  " (start: connectivity-start.png)");
    }
}

/* Closes the log, saves the model and draws the plots. */
static bool finish_outputs(train_run *r)
{
    const train_opts_t *o = &r->o;
    rw_error err;
    if (r->log) {
        int bad = fclose(r->log);
        r->log = NULL;
        if (bad != 0) {
            cli_fail(C, "%s: cannot write the log: %s", o->log, strerror(errno));
            return false;
        }
    }
    if (o->save && rw_net_save(r->net, o->save, &err) != RW_OK)
        return cli_failed(C, &err);
    if (o->plot)
        draw_plots(r);
    return true;
}

/* After Ctrl-C: the outputs are finished as after a whole run (the log
 * closed, the model saved as it stands after the last whole step, the
 * pictures drawn), and the way back is the last checkpoint. */
static bool interrupted(train_run *r, const rw_error *why)
{
    const train_opts_t *o = &r->o;
    fprintf(stderr, "rewire train: interrupted (%s)\n", why->msg);
    if (finish_outputs(r) && o->save)
        fprintf(stderr, "rewire train: the model as it stands is saved to %s\n",
                o->save);
    if (o->tc.checkpoint_path)
        fprintf(stderr, "rewire train: to continue, run the same command with "
                        "--resume %s (its last checkpoint)\n",
                o->tc.checkpoint_path);
    else
        fprintf(stderr, "rewire train: --checkpoint FILE lets an interrupted "
                        "run continue with --resume FILE\n");
    return false;
}

static void print_result(const train_run *r, const rw_train_result *res,
                         const run_ctx *ctx)
{
    if (r->o.json) {
        print_json(&r->o, r->net, res, r->train, ctx->have_last ? &ctx->last : NULL);
        return;
    }
    if (res->epochs_trained == 0 && r->o.tc.resume_path)
        printf("the run in %s had already finished its %zu epoch%s: nothing "
               "was trained (%.1f s of training before)", r->o.tc.resume_path,
               res->epochs, res->epochs == 1 ? "" : "s", res->train_seconds);
    else
        printf("trained %zu epoch%s in %.1f s (%.0f samples/s)", res->epochs,
               res->epochs == 1 ? "" : "s", res->train_seconds,
               res->samples_per_second);
    if (isfinite(res->test_accuracy))
        printf("; test accuracy %.2f%%, test loss %.4f",
               100.0 * res->test_accuracy, res->test_loss);
    else if (isfinite(res->test_loss))
        printf("; test loss %.6g", res->test_loss);
    printf("\n");
    cli_dist_report(stdout);
    if (r->o.save)
        printf("model saved to %s\n", r->o.save);
}

/* Trains r->net with progress on stderr and the log; prints the result. */
static bool run_training(train_run *r)
{
    train_opts_t *o = &r->o;
    run_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    progress_init(&ctx.prog, o->quiet);
    ctx.log = r->log;
    ctx.log_path = o->log;
    ctx.net = r->net;
    ctx.val = r->val;
    ctx.n_layers = rw_net_layers(r->net);
    ctx.quiet = o->quiet;
    o->tc.on_progress = on_progress;
    o->tc.on_epoch = on_epoch;
    o->tc.user = &ctx;
    rw_error err;
    rw_error_clear(&err);
    rw_train_result res;
    if (rw_dist_size() <= 1)
        catch_sigint(&err);
    cli_dist_training(true);
    rw_status st = rw_train(r->net, r->train, r->test, &o->tc, &res, &err);
    /* A rank that failed in training may have left the others waiting in a
     * collective: the flag stays, and main ends them all. */
    if (st == RW_OK)
        cli_dist_training(false);
    release_sigint();
    progress_clear(&ctx.prog);
    if (st == RW_ERR_INTERRUPTED && g_interrupted)
        return interrupted(r, &err);
    if (st != RW_OK) {
        if (!cli_dist_setup_failed(C, &err))
            cli_fail_err(C, ctx.log_err.status != RW_OK ? &ctx.log_err : &err);
        return false;
    }
    if (!finish_outputs(r))
        return false;
    print_result(r, &res, &ctx);
    return true;
}

int cmd_train(int argc, char **argv)
{
    train_run r;
    memset(&r, 0, sizeof r);
    cli_train_defaults(&r.o);
    const cli_group groups[] = {
        {.opts = cli_train_table, .target = &r.o, .before = train_intro,
         .given = &r.o.given},
        /* The notes after every option. */
        {.opts = cli_maintain_table, .target = &r.o, .after = train_outro,
         .given = &r.o.given},
    };
    const cli_command cmd = {C, 23, groups, sizeof groups / sizeof groups[0]};
    cli_dist_hold_errors();
    int rc = cli_parse(&cmd, argc, argv);
    if (rc < 0 && !r.o.data)
        rc = cli_fail(C, "--data SPEC is required (see rewire %s --help)", C) + 1;
    if (rc < 0)
        rc = cli_train_rules(C, &r.o);
    bool ok = rc < 0;
    if (ok) {
        cli_dist_threads(r.o.threads);
        cli_dist_outputs(&r.o);
        ok = open_data(&r) && check_data(&r) && build_net(&r) && open_outputs(&r);
    }
    /* Under mpirun every rank gets here, and all go on or all stop. */
    if (!cli_dist_agree(C, ok)) {
        run_free(&r);
        return rc >= 0 ? rc : 1;
    }
    if (!r.o.quiet)
        print_header(&r);
    ok = run_training(&r);
    run_free(&r);
    return ok ? 0 : g_interrupted ? 130 : 1;
}
