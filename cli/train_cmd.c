/* rewire train: build a network from the data's shape and the options,
 * train it with progress output, log, save and plot. */
#include "cli.h"
#include "plot/plot.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const train_help =
    "usage: rewire train --data SPEC [options]\n"
    "\n"
    "Trains a network whose input and output sizes come from the data.\n"
    "SPEC is a dataset name (fashion-mnist, mnist, spirals, moons, blobs, xor),\n"
    "a CSV file, or an IDX pair IMAGES,LABELS (raw or .gz).\n"
    "\n"
    "data:\n"
    "  --data SPEC            training data (required)\n"
    "  --test SPEC            test data; default: a named dataset's test split,\n"
    "                         else --holdout of the training file\n"
    "  --holdout F            share of a training file held out as the test set\n"
    "                         when there is no --test (default 0.1)\n"
    "  --val-split F          hold out F of the training data for validation,\n"
    "                         reported each epoch (default 0: none)\n"
    "  --label-column C       CSV label column: first, last (default) or N (0-based)\n"
    "  --no-standardize       feed features as they are (default: standardise\n"
    "                         each feature with training-set mean and std; the\n"
    "                         transform is stored in the model)\n"
    "network:\n"
    "  --hidden LIST          hidden layer sizes (default 256,256; 'none' for\n"
    "                         no hidden layer)\n"
    "  --activation A         relu (default), leaky_relu, sigmoid, tanh, identity\n"
    "  --init I               auto (default: He for relu, else Xavier), he, xavier\n"
    "  --seed N               seed for weights, topology, shuffling (default 1)\n"
    "sparsity and rewiring:\n"
    "  --sparse               sparse hidden layers (Erdos-Renyi, epsilon 20)\n"
    "  --epsilon E            Erdos-Renyi: a layer keeps E*(in+out) connections\n"
    "  --density D            the same density D in every sparse layer\n"
    "  --erk D                Erdos-Renyi-Kernel scaled to overall density D\n"
    "  --sparse-output        make the output layer sparse too\n"
    "  --rewire R             none, set (default with --sparse), rigl or hebbian\n"
    "  --drop-fraction F      share of connections replaced per rewiring (0.3)\n"
    "  --rewire-every N       rewire every N steps (default: after each epoch)\n"
    "  --drop-schedule S      constant (default) or cosine decay of the fraction\n"
    "  --rewire-stop F        freeze the topology after F of training (default 1)\n"
    "use it or lose it:\n"
    "  --traces               keep usage traces (credit, co-activation, activity)\n"
    "  --trace-rate F         trace moving-average rate per step (default 0.01)\n"
    "  --prune P              gradual pruning: magnitude, usage or hebbian; without\n"
    "                         --sparse/--density it starts from full density\n"
    "  --prune-to D           target density of the pruned layers\n"
    "  --prune-start F        start of the cubic schedule, share of training (0.1)\n"
    "  --prune-end F          end of the schedule (0.7); fine-tuning after it\n"
    "  --prune-every N        steps between pruning events (default 50)\n"
    "  --usage-decay F        extra weight decay for rarely used connections\n"
    "  --permanence           connections that stay in use become hard to drop\n"
    "  --perm-up F, --perm-down F, --perm-threshold F   permanence dynamics\n"
    "                         (defaults 0.05, 0.01, 0.1)\n"
    "  --neuron-turnover      remove neurons left without inputs or outputs, or\n"
    "                         silent for --silent-epochs epochs (default 2)\n"
    "  --silent-level F       activity below F counts as silent (default 1e-3)\n"
    "  --regrow-neurons       add fresh neurons to layers that lost some\n"
    "optimization:\n"
    "  --epochs N             passes over the data (default 10)\n"
    "  --batch N              mini-batch size (default 128)\n"
    "  --optimizer O          sgd, momentum, nesterov, adam (default), adamw\n"
    "  --lr F                 learning rate (default 0.001 for adam/adamw, else 0.01)\n"
    "  --momentum F           momentum for momentum/nesterov (default 0.9)\n"
    "  --weight-decay F       L2 (decoupled for adamw) on weights (default 0)\n"
    "  --schedule S           constant (default), step or cosine\n"
    "  --lr-min F             cosine schedule floor (default 0)\n"
    "  --step-epochs N        step schedule period in epochs (default 3)\n"
    "  --step-gamma F         step schedule factor (default 0.1)\n"
    "  --clip-grad F          clip the global gradient norm to F (default off)\n"
    "  --adam-steps S         own (default): Adam's bias correction counts each\n"
    "                         weight's own steps, so grown connections start\n"
    "                         fresh; global: the network's step for all\n"
    "  --threads N            threads (default: all cores)\n"
    "output:\n"
    "  --save FILE            save the trained model (written atomically)\n"
    "  --checkpoint FILE      write the whole training state to FILE after each\n"
    "                         epoch (atomically; it is also a model file)\n"
    "  --checkpoint-every N   ... and every N steps\n"
    "  --resume FILE          continue the run saved in checkpoint FILE; give the\n"
    "                         same data and options (the log is appended to)\n"
    "  --log FILE             one JSON object per epoch (JSON Lines)\n"
    "  --plot DIR             write curves.png and connectivity.png into DIR\n"
    "  --json                 print one JSON object with the results at the end\n"
    "                         (with \"ranks\", and under mpirun the bytes\n"
    "                         all-reduced per step and the communication share)\n"
    "  --quiet                no progress output\n"
    "  --help                 this text\n"
    "data-parallel, in a build with MPI (rewire --version says so):\n"
    "  mpirun -np N rewire train ...   trains on N ranks. --batch is the global\n"
    "                         batch: each rank takes its share (B/N samples) of\n"
    "                         every batch, the gradients are summed over the\n"
    "                         ranks once per step, and all ranks take the same\n"
    "                         step and rewire alike (checked by a checksum after\n"
    "                         each rewiring), so results match one process. Every\n"
    "                         rank reads the same data and options; rank 0 alone\n"
    "                         prints, logs, saves, plots and checkpoints. A\n"
    "                         checkpoint resumes with any number of ranks.\n"
    "                         --threads defaults to the cores over the ranks per\n"
    "                         machine (mpirun binds 1 or 2 ranks to one core\n"
    "                         each: use mpirun --bind-to none for more threads).\n"
    "                         --replay-batch (continual) is per rank.\n"
    "Progress goes to stderr: a bar on a terminal; otherwise (a file or a\n"
    "pipe) one line per epoch, and within an epoch a line at each further\n"
    "tenth once 5 s have passed since the last line, and at least every 30 s.\n";

enum {
    O_DATA = 256, O_TEST, O_HOLDOUT, O_VAL, O_LABELCOL, O_NOSTD, O_HIDDEN,
    O_ACT, O_INIT, O_SEED, O_SPARSE, O_EPS, O_DENSITY, O_ERK, O_SPOUT,
    O_REWIRE, O_DROP, O_REWEVERY, O_DROPSCHED, O_REWSTOP, O_EPOCHS, O_BATCH,
    O_OPT, O_LR, O_MOM, O_WD, O_SCHED, O_LRMIN, O_STEPE, O_STEPG, O_CLIP,
    O_ADAMSTEPS,
    O_THREADS, O_SAVE, O_LOG, O_PLOT, O_JSON, O_QUIET, O_HELP,
    O_TRACES, O_TRACERATE, O_PRUNE, O_PRUNETO, O_PRUNESTART, O_PRUNEEND,
    O_PRUNEEVERY, O_USAGEDECAY, O_PERM, O_PERMUP, O_PERMDOWN, O_PERMTHR,
    O_TURNOVER, O_SILENT, O_SILENTLEVEL, O_REGROW, O_CKPT, O_CKPTEVERY,
    O_RESUME
};

static const struct option train_opts[] = {
    {"data", required_argument, 0, O_DATA},
    {"test", required_argument, 0, O_TEST},
    {"holdout", required_argument, 0, O_HOLDOUT},
    {"val-split", required_argument, 0, O_VAL},
    {"label-column", required_argument, 0, O_LABELCOL},
    {"no-standardize", no_argument, 0, O_NOSTD},
    {"hidden", required_argument, 0, O_HIDDEN},
    {"activation", required_argument, 0, O_ACT},
    {"init", required_argument, 0, O_INIT},
    {"seed", required_argument, 0, O_SEED},
    {"sparse", no_argument, 0, O_SPARSE},
    {"epsilon", required_argument, 0, O_EPS},
    {"density", required_argument, 0, O_DENSITY},
    {"erk", required_argument, 0, O_ERK},
    {"sparse-output", no_argument, 0, O_SPOUT},
    {"rewire", required_argument, 0, O_REWIRE},
    {"drop-fraction", required_argument, 0, O_DROP},
    {"rewire-every", required_argument, 0, O_REWEVERY},
    {"drop-schedule", required_argument, 0, O_DROPSCHED},
    {"rewire-stop", required_argument, 0, O_REWSTOP},
    {"epochs", required_argument, 0, O_EPOCHS},
    {"batch", required_argument, 0, O_BATCH},
    {"optimizer", required_argument, 0, O_OPT},
    {"lr", required_argument, 0, O_LR},
    {"momentum", required_argument, 0, O_MOM},
    {"weight-decay", required_argument, 0, O_WD},
    {"schedule", required_argument, 0, O_SCHED},
    {"lr-min", required_argument, 0, O_LRMIN},
    {"step-epochs", required_argument, 0, O_STEPE},
    {"step-gamma", required_argument, 0, O_STEPG},
    {"clip-grad", required_argument, 0, O_CLIP},
    {"adam-steps", required_argument, 0, O_ADAMSTEPS},
    {"threads", required_argument, 0, O_THREADS},
    {"save", required_argument, 0, O_SAVE},
    {"log", required_argument, 0, O_LOG},
    {"plot", required_argument, 0, O_PLOT},
    {"json", no_argument, 0, O_JSON},
    {"quiet", no_argument, 0, O_QUIET},
    {"help", no_argument, 0, O_HELP},
    {"traces", no_argument, 0, O_TRACES},
    {"trace-rate", required_argument, 0, O_TRACERATE},
    {"prune", required_argument, 0, O_PRUNE},
    {"prune-to", required_argument, 0, O_PRUNETO},
    {"prune-start", required_argument, 0, O_PRUNESTART},
    {"prune-end", required_argument, 0, O_PRUNEEND},
    {"prune-every", required_argument, 0, O_PRUNEEVERY},
    {"usage-decay", required_argument, 0, O_USAGEDECAY},
    {"permanence", no_argument, 0, O_PERM},
    {"perm-up", required_argument, 0, O_PERMUP},
    {"perm-down", required_argument, 0, O_PERMDOWN},
    {"perm-threshold", required_argument, 0, O_PERMTHR},
    {"neuron-turnover", no_argument, 0, O_TURNOVER},
    {"silent-epochs", required_argument, 0, O_SILENT},
    {"silent-level", required_argument, 0, O_SILENTLEVEL},
    {"regrow-neurons", no_argument, 0, O_REGROW},
    {"checkpoint", required_argument, 0, O_CKPT},
    {"checkpoint-every", required_argument, 0, O_CKPTEVERY},
    {"resume", required_argument, 0, O_RESUME},
};
#define N_TRAIN_OPTS (sizeof train_opts / sizeof train_opts[0])


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

static int on_progress(const rw_progress *p, void *user)
{
    run_ctx *c = user;
    progress_batch(&c->prog, p);
    return 0;
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
    if (!c->quiet) {
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
    if (c->log) {
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
        if (fflush(f) != 0 || ferror(f)) {
            snprintf(c->log_err.msg, sizeof c->log_err.msg,
                     "%s: cannot write the log: %s", c->log_path, strerror(errno));
            c->log_err.status = RW_ERR_IO;
            return 1;
        }
    }
    return 0;
}

static bool parse_enum(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    return false;
}

int parse_train_options(const char *C, int argc, char **argv,
                        train_opts_t *o, const struct option *extra,
                        cli_extra_fn extra_fn, void *ctx, const char *help)
{
    memset(o, 0, sizeof *o);
    o->holdout = 0.1;
    o->standardize = true;
    o->hidden[0] = o->hidden[1] = 256;
    o->n_hidden = 2;
    o->act = RW_ACT_RELU;
    o->init = RW_INIT_AUTO;
    o->seed = 1;
    o->sparse_mode = RW_SPARSE_ER;
    o->sparse_param = 20.0;
    o->dopts = rw_data_options_defaults();
    o->tc = rw_train_defaults();
    o->tc.rewire = RW_REWIRE_NONE;
    o->tc.plasticity = rw_plasticity_defaults();
    o->tc.consolidation = rw_consolidation_defaults();
    int rewire_choice = -1;
    /* The shared table plus the caller's extra options. */
    size_t n_extra = 0;
    while (extra && extra[n_extra].name)
        n_extra++;
    struct option table[N_TRAIN_OPTS + CLI_MAINTAIN_OPTS + 32];
    if (n_extra > 31)
        return cli_fail(C, "internal error: too many options") + 1;
    /* The shared table, the maintenance options, then the caller's. */
    memcpy(table, train_opts, sizeof train_opts);
    memcpy(table + N_TRAIN_OPTS, cli_maintain_table,
           CLI_MAINTAIN_OPTS * sizeof *table);
    size_t base = N_TRAIN_OPTS + CLI_MAINTAIN_OPTS;
    if (n_extra)
        memcpy(table + base, extra, n_extra * sizeof *extra);
    memset(&table[base + n_extra], 0, sizeof table[0]);
    optind = 1;
    opterr = 0;
    int ch;
    rw_plasticity_config *pl = &o->tc.plasticity;
    while ((ch = getopt_long(argc, argv, "", table, NULL)) != -1) {
        if (ch >= 1000) {
            int rc = extra_fn(ch, optarg, ctx);
            if (rc >= 0)
                return rc;
            continue;
        }
        if (ch >= CLI_M_KIND) {
            int rc = cli_maintain_option(C, ch, optarg, &o->tc);
            if (rc == -1)
                continue;
            if (rc >= 0)
                return rc;
        }
        switch (ch) {
        case O_TRACES: pl->traces = 1; break;
        case O_TRACERATE:
            if (!cli_parse_double(C, "--trace-rate", optarg, 1e-9, 1.0, &pl->trace_rate))
                return 2;
            break;
        case O_PRUNE: {
            static const char *const kinds[] = {"none", "magnitude", "usage", "hebbian"};
            int v;
            if (!parse_enum(optarg, kinds, 4, &v))
                return cli_fail(C, "--prune must be magnitude, usage or hebbian, "
                                   "got \"%s\"", optarg) + 1;
            pl->prune = (rw_prune_kind)v;
            break;
        }
        case O_PRUNETO:
            if (!cli_parse_double(C, "--prune-to", optarg, 1e-9, 1.0, &pl->prune_to))
                return 2;
            break;
        case O_PRUNESTART:
            if (!cli_parse_double(C, "--prune-start", optarg, 0.0, 1.0, &pl->prune_start))
                return 2;
            break;
        case O_PRUNEEND:
            if (!cli_parse_double(C, "--prune-end", optarg, 0.0, 1.0, &pl->prune_end))
                return 2;
            break;
        case O_PRUNEEVERY:
            if (!cli_parse_size(C, "--prune-every", optarg, 1, SIZE_MAX, &pl->prune_every))
                return 2;
            break;
        case O_USAGEDECAY:
            if (!cli_parse_double(C, "--usage-decay", optarg, 0.0, 10.0, &pl->usage_decay))
                return 2;
            break;
        case O_PERM: pl->permanence = 1; break;
        case O_PERMUP:
            if (!cli_parse_double(C, "--perm-up", optarg, 0.0, 1.0, &pl->perm_up))
                return 2;
            break;
        case O_PERMDOWN:
            if (!cli_parse_double(C, "--perm-down", optarg, 0.0, 1.0, &pl->perm_down))
                return 2;
            break;
        case O_PERMTHR:
            if (!cli_parse_double(C, "--perm-threshold", optarg, 0.0, 1.0, &pl->perm_threshold))
                return 2;
            break;
        case O_TURNOVER: pl->neuron_turnover = 1; break;
        case O_SILENT:
            if (!cli_parse_size(C, "--silent-epochs", optarg, 1, 1000000, &pl->silent_epochs))
                return 2;
            break;
        case O_SILENTLEVEL:
            if (!cli_parse_double(C, "--silent-level", optarg, 0.0, 1e6, &pl->silent_level))
                return 2;
            break;
        case O_REGROW: pl->regrow_neurons = pl->neuron_turnover = 1; break;
        case O_CKPT: o->tc.checkpoint_path = optarg; break;
        case O_CKPTEVERY:
            if (!cli_parse_size(C, "--checkpoint-every", optarg, 1, SIZE_MAX,
                                &o->tc.checkpoint_every))
                return 2;
            break;
        case O_RESUME: o->tc.resume_path = optarg; break;
        case O_DATA: o->data = optarg; break;
        case O_TEST: o->test = optarg; break;
        case O_HOLDOUT:
            if (!cli_parse_double(C, "--holdout", optarg, 0.0, 0.9, &o->holdout))
                return 2;
            break;
        case O_VAL:
            if (!cli_parse_double(C, "--val-split", optarg, 0.0, 0.9, &o->val_split))
                return 2;
            break;
        case O_LABELCOL:
            if (!cli_parse_label_column(C, optarg, &o->dopts.label_column))
                return 2;
            break;
        case O_NOSTD: o->standardize = false; break;
        case O_HIDDEN:
            o->n_hidden = cli_parse_list(C, "--hidden", optarg, o->hidden,
                                         RW_MAX_LAYERS - 1);
            if (o->n_hidden < 0)
                return 2;
            break;
        case O_ACT: {
            rw_activation a;
            static const char *const acts[] = {"identity", "relu", "leaky_relu",
                                               "sigmoid", "tanh"};
            int v;
            if (!parse_enum(optarg, acts, 5, &v))
                return cli_fail(C, "--activation must be relu, leaky_relu, "
                                   "sigmoid, tanh or identity, got \"%s\"", optarg) + 1;
            a = (rw_activation)v;
            o->act = a;
            break;
        }
        case O_INIT: {
            static const char *const inits[] = {"auto", "he", "xavier"};
            int v;
            if (!parse_enum(optarg, inits, 3, &v))
                return cli_fail(C, "--init must be auto, he or xavier, got \"%s\"",
                                optarg) + 1;
            o->init = (rw_init)v;
            break;
        }
        case O_SEED:
            if (!cli_parse_u64(C, "--seed", optarg, &o->seed))
                return 2;
            break;
        case O_SPARSE: o->sparse = true; break;
        case O_EPS:
            o->sparse = true;
            o->sparse_mode = RW_SPARSE_ER;
            if (!cli_parse_double(C, "--epsilon", optarg, 1e-6, 1e9, &o->sparse_param))
                return 2;
            break;
        case O_DENSITY:
            o->sparse = true;
            o->sparse_mode = RW_SPARSE_UNIFORM;
            if (!cli_parse_double(C, "--density", optarg, 1e-9, 1.0, &o->sparse_param))
                return 2;
            break;
        case O_ERK:
            o->sparse = true;
            o->sparse_mode = RW_SPARSE_ERK;
            if (!cli_parse_double(C, "--erk", optarg, 1e-9, 1.0, &o->sparse_param))
                return 2;
            break;
        case O_SPOUT: o->sparse = o->sparse_output = true; break;
        case O_REWIRE: {
            static const char *const kinds[] = {"none", "set", "rigl", "hebbian"};
            if (!parse_enum(optarg, kinds, 4, &rewire_choice))
                return cli_fail(C, "--rewire must be none, set, rigl or hebbian, "
                                   "got \"%s\"", optarg) + 1;
            if (rewire_choice != 0)
                o->sparse = true;
            break;
        }
        case O_DROP:
            o->sparse = true;
            if (!cli_parse_double(C, "--drop-fraction", optarg, 0.0, 1.0,
                                  &o->tc.drop_fraction))
                return 2;
            break;
        case O_REWEVERY:
            o->sparse = true;
            if (!cli_parse_size(C, "--rewire-every", optarg, 1, SIZE_MAX,
                                &o->tc.rewire_every))
                return 2;
            break;
        case O_DROPSCHED: {
            static const char *const s[] = {"constant", "cosine"};
            int v;
            if (!parse_enum(optarg, s, 2, &v))
                return cli_fail(C, "--drop-schedule must be constant or cosine, "
                                   "got \"%s\"", optarg) + 1;
            o->tc.drop_schedule_cosine = v;
            o->sparse = true;
            break;
        }
        case O_REWSTOP:
            o->sparse = true;
            if (!cli_parse_double(C, "--rewire-stop", optarg, 0.0, 1.0,
                                  &o->tc.rewire_stop))
                return 2;
            break;
        case O_EPOCHS:
            if (!cli_parse_size(C, "--epochs", optarg, 1, 1000000, &o->tc.epochs))
                return 2;
            break;
        case O_BATCH:
            if (!cli_parse_size(C, "--batch", optarg, 1, 1u << 20, &o->tc.batch))
                return 2;
            break;
        case O_OPT: {
            static const char *const opts[] = {"sgd", "momentum", "nesterov",
                                               "adam", "adamw"};
            int v;
            if (!parse_enum(optarg, opts, 5, &v))
                return cli_fail(C, "--optimizer must be sgd, momentum, nesterov, "
                                   "adam or adamw, got \"%s\"", optarg) + 1;
            double wd = o->tc.optim.weight_decay, mom = o->tc.optim.momentum;
            int global = o->tc.optim.adam_global_steps;
            static const rw_optim_kind map[] = {RW_OPT_SGD, RW_OPT_MOMENTUM,
                                                RW_OPT_MOMENTUM, RW_OPT_ADAM,
                                                RW_OPT_ADAMW};
            o->tc.optim = rw_optim_defaults(map[v]);
            o->tc.optim.nesterov = v == 2;
            o->tc.optim.weight_decay = wd;
            o->tc.optim.momentum = mom;
            o->tc.optim.adam_global_steps = global;
            break;
        }
        case O_ADAMSTEPS: {
            static const char *const opts[] = {"own", "global"};
            int v;
            if (!parse_enum(optarg, opts, 2, &v))
                return cli_fail(C, "--adam-steps must be own or global, got "
                                   "\"%s\"", optarg) + 1;
            o->tc.optim.adam_global_steps = v;
            break;
        }
        case O_LR:
            if (!cli_parse_double(C, "--lr", optarg, 1e-12, 1e6, &o->tc.lr))
                return 2;
            o->lr_set = true;
            break;
        case O_MOM:
            if (!cli_parse_double(C, "--momentum", optarg, 0.0, 0.9999,
                                  &o->tc.optim.momentum))
                return 2;
            break;
        case O_WD:
            if (!cli_parse_double(C, "--weight-decay", optarg, 0.0, 10.0,
                                  &o->tc.optim.weight_decay))
                return 2;
            break;
        case O_SCHED: {
            static const char *const s[] = {"constant", "step", "cosine"};
            int v;
            if (!parse_enum(optarg, s, 3, &v))
                return cli_fail(C, "--schedule must be constant, step or cosine, "
                                   "got \"%s\"", optarg) + 1;
            o->tc.schedule = (rw_schedule)v;
            break;
        }
        case O_LRMIN:
            if (!cli_parse_double(C, "--lr-min", optarg, 0.0, 1e6, &o->tc.lr_min))
                return 2;
            break;
        case O_STEPE:
            if (!cli_parse_size(C, "--step-epochs", optarg, 1, 1000000,
                                &o->tc.step_epochs))
                return 2;
            break;
        case O_STEPG:
            if (!cli_parse_double(C, "--step-gamma", optarg, 0.0, 1.0,
                                  &o->tc.step_gamma))
                return 2;
            break;
        case O_CLIP:
            if (!cli_parse_double(C, "--clip-grad", optarg, 1e-12, 1e12,
                                  &o->tc.clip_grad))
                return 2;
            break;
        case O_THREADS: {
            size_t t;
            if (!cli_parse_size(C, "--threads", optarg, 1, 1024, &t))
                return 2;
            o->threads = (int)t;
            break;
        }
        case O_SAVE: o->save = optarg; break;
        case O_LOG: o->log = optarg; break;
        case O_PLOT: o->plot = optarg; break;
        case O_JSON: o->json = true; break;
        case O_QUIET: o->quiet = true; break;
        case O_HELP:
            fputs(help, stdout);
            fputs(cli_maintain_help, stdout);
            return 0;
        case ':':
            return cli_fail(C, "option %s needs a value (see rewire %s --help)",
                            argv[optind - 1], C) + 1;
        default:
            return cli_fail(C, "unknown option '%s' (see rewire %s --help)",
                            argv[optind - 1], C) + 1;
        }
    }
    if (optind < argc)
        return cli_fail(C, "unexpected argument '%s' (see rewire %s --help)",
                        argv[optind], C) + 1;
    if (!o->data && !extra)
        return cli_fail(C, "--data SPEC is required (see rewire %s --help)", C) + 1;
    if (pl->prune != RW_PRUNE_NONE && !(pl->prune_to > 0.0))
        return cli_fail(C, "--prune needs --prune-to D (the target density)") + 1;
    if (pl->prune != RW_PRUNE_NONE && !o->sparse) {
        /* Pruning needs sparse storage: start from every connection. */
        o->sparse = true;
        o->sparse_mode = RW_SPARSE_UNIFORM;
        o->sparse_param = 1.0;
        if (rewire_choice < 0)
            rewire_choice = RW_REWIRE_NONE;
    }
    if (o->tc.optim.kind != RW_OPT_ADAM && o->tc.optim.kind != RW_OPT_ADAMW &&
        !o->lr_set)
        o->tc.lr = 0.01;
    if (o->sparse)
        o->tc.rewire = rewire_choice < 0 ? RW_REWIRE_SET : (rw_rewire_kind)rewire_choice;
    o->tc.seed = o->seed;
    o->dopts.synth_seed = o->seed;
    return -1;
}

static bool is_builtin_name(const char *spec)
{
    static const char *const names[] = {"fashion-mnist", "mnist", "spirals",
                                        "moons", "blobs", "xor"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(spec, names[i], n) == 0 && (spec[n] == '\0' || spec[n] == ':'))
            return true;
    }
    return false;
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
    printf(",\"epochs\":%zu,\"parameters\":%zu,\"connections\":%zu",
           r->epochs, rw_net_parameters(net), rw_net_connections(net));
    printf(",\"train_samples\":%zu,\"threads\":%d,\"seed\":%llu,\"gemm\":",
           rw_dataset_size(train), rw_get_threads(), (unsigned long long)o->seed);
    json_str(stdout, rw_gemm_info());
    printf(",\"sparse_isa\":");
    json_str(stdout, rw_isa());
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
        json_num(stdout, r->train_seconds > 0 ? ds.comm_seconds / r->train_seconds
                                              : 0.0);
        printf(",\"allreduce_steps\":%zu,\"comm_seconds\":", ds.steps);
        json_num(stdout, ds.comm_seconds);
        printf(",\"topology_checks\":%zu", ds.checks);
    }
    if (o->save) {
        printf(",\"model\":");
        json_str(stdout, o->save);
    }
    printf("}\n");
}

bool cli_net_config(const char *C, const train_opts_t *o, size_t inputs,
                    size_t outputs, rw_loss loss, rw_net_config *cfg)
{
    rw_error err;
    if (loss == RW_LOSS_CROSS_ENTROPY && outputs < 2)
        outputs = 2;
    if (rw_net_config_mlp(cfg, inputs, o->hidden, (size_t)o->n_hidden, outputs,
                          o->act, loss, &err) != RW_OK) {
        cli_fail_err(C, &err);
        return false;
    }
    cfg->init = o->init;
    cfg->seed = o->seed;
    if (!o->sparse)
        return true;
    if (o->n_hidden == 0 && !o->sparse_output) {
        cli_fail(C, "--sparse needs hidden layers (or --sparse-output)");
        return false;
    }
    if (rw_net_config_sparsify(cfg, o->sparse_mode, o->sparse_param,
                               o->sparse_output, &err) != RW_OK) {
        cli_fail_err(C, &err);
        return false;
    }
    return true;
}

int cmd_train(int argc, char **argv)
{
    static const char *const C = "train";
    train_opts_t o;
    int rc = parse_train_options(C, argc, argv, &o, NULL, NULL, NULL, train_help);
    if (rc >= 0)
        return rc;
    cli_dist_threads(o.threads);
    cli_dist_outputs(&o);
    rw_error err;
    rw_error_clear(&err);
    int exit_code = 1;
    rw_dataset *train = NULL, *test = NULL, *val = NULL, *full = NULL;
    rw_net *net = NULL;
    FILE *log = NULL;
    float *shift = NULL, *scale = NULL;

    full = rw_dataset_open(o.data, RW_SPLIT_TRAIN, &o.dopts, &err);
    if (!full) {
        cli_fail_err(C, &err);
        goto done;
    }
    if (o.test) {
        test = rw_dataset_open(o.test, RW_SPLIT_TEST, &o.dopts, &err);
        if (!test) {
            cli_fail_err(C, &err);
            goto done;
        }
    } else if (is_builtin_name(o.data)) {
        test = rw_dataset_open(o.data, RW_SPLIT_TEST, &o.dopts, &err);
        if (!test) {
            cli_fail_err(C, &err);
            goto done;
        }
    } else if (o.holdout > 0.0) {
        rw_dataset *rest = NULL;
        if (rw_dataset_split(full, o.holdout, o.seed, &rest, &test, &err) != RW_OK) {
            cli_fail_err(C, &err);
            goto done;
        }
        rw_dataset_free(full);
        full = rest;
    }
    if (o.val_split > 0.0) {
        if (rw_dataset_split(full, o.val_split, o.seed + 1, &train, &val, &err) != RW_OK) {
            cli_fail_err(C, &err);
            goto done;
        }
    } else {
        train = full;
        full = NULL;
    }
    if (rw_dataset_classes(train) == 0 && rw_dataset_targets(train) == 0) {
        cli_fail(C, "%s: no labels or targets", rw_dataset_name(train));
        goto done;
    }
    if (test && rw_dataset_features(test) != rw_dataset_features(train)) {
        cli_fail(C, "%s has %zu features per sample but %s has %zu",
                 rw_dataset_name(test), rw_dataset_features(test),
                 rw_dataset_name(train), rw_dataset_features(train));
        goto done;
    }
    if (test && rw_dataset_classes(train) &&
        rw_dataset_classes(test) > rw_dataset_classes(train)) {
        cli_fail(C, "%s has labels up to %zu but the training data only has %zu "
                    "classes", rw_dataset_name(test), rw_dataset_classes(test) - 1,
                 rw_dataset_classes(train));
        goto done;
    }

    /* The network's shape comes from the data. */
    bool regression = rw_dataset_classes(train) == 0;
    size_t outputs = regression ? rw_dataset_targets(train) : rw_dataset_classes(train);
    rw_net_config cfg;
    if (!cli_net_config(C, &o, rw_dataset_features(train), outputs,
                        regression ? RW_LOSS_MSE : RW_LOSS_CROSS_ENTROPY, &cfg))
        goto done;
    if (o.tc.resume_path) {
        /* The checkpoint holds the network, its input transform and the
         * optimizer state; the training state is read by rw_train. */
        net = rw_net_load(o.tc.resume_path, &err);
        if (net && (rw_net_inputs(net) != cfg.n_inputs ||
                    rw_net_layers(net) != cfg.n_layers)) {
            cli_fail(C, "%s does not match the network these options build "
                        "(%zu inputs, %zu layers)", o.tc.resume_path,
                     cfg.n_inputs, cfg.n_layers);
            goto done;
        }
    } else {
        net = rw_net_create(&cfg, &err);
    }
    if (!net) {
        cli_fail_err(C, &err);
        goto done;
    }
    if (o.standardize && !o.tc.resume_path) {
        size_t f = rw_dataset_features(train);
        shift = malloc(f * sizeof *shift);
        scale = malloc(f * sizeof *scale);
        if (!shift || !scale) {
            cli_fail(C, "out of memory");
            goto done;
        }
        if (rw_dataset_fit_standardize(train, shift, scale, &err) != RW_OK ||
            rw_net_set_input_transform(net, shift, scale, &err) != RW_OK) {
            cli_fail_err(C, &err);
            goto done;
        }
    }
    if (o.log) {
        log = fopen(o.log, o.tc.resume_path ? "a" : "w");
        if (!log) {
            cli_fail(C, "%s: cannot open the log for writing: %s", o.log,
                     strerror(errno));
            goto done;
        }
    }
    if (o.plot && mkdir(o.plot, 0777) != 0 && errno != EEXIST) {
        cli_fail(C, "%s: cannot create the plot folder: %s", o.plot,
                 strerror(errno));
        goto done;
    }
    /* Connectivity map of the initial network, drawn before training. */
    bool image = false;
    size_t ih = 0, iw = 0;
    rw_dataset_image_shape(train, &ih, &iw);
    image = ih * iw == rw_dataset_features(train) && ih > 1;
    char path[4096], errbuf[512];
    if (o.plot && image && !o.tc.resume_path) {
        snprintf(path, sizeof path, "%s/connectivity-start.png", o.plot);
        if (rw_plot_connectivity(net, ih, iw, path, errbuf, sizeof errbuf) != 0)
            fprintf(stderr, "rewire train: warning: %s\n", errbuf);
    }

    if (!o.quiet) {
        fprintf(stderr, "data: %s", rw_dataset_name(train));
        if (test)
            fprintf(stderr, "; test: %s", rw_dataset_name(test));
        fprintf(stderr, "\nnetwork: %zu", rw_net_inputs(net));
        for (size_t l = 0; l < rw_net_layers(net); l++) {
            rw_layer_info li;
            rw_net_layer_info(net, l, &li, NULL);
            if (li.kind == RW_LAYER_SPARSE)
                fprintf(stderr, "-%zu(sparse %.2f%%)", li.outputs, 100.0 * li.density);
            else
                fprintf(stderr, "-%zu", li.outputs);
        }
        static const char *const rn[] = {"none", "SET", "RigL", "Hebbian"};
        fprintf(stderr, ", %zu connections, %zu parameters; rewiring: %s\n",
                rw_net_connections(net), rw_net_parameters(net), rn[o.tc.rewire]);
        if (rw_dist_size() > 1)
            fprintf(stderr, "ranks: %d (data-parallel, global batch %zu), ",
                    rw_dist_size(), o.tc.batch);
        fprintf(stderr, "threads: %d, GEMM: %s, sparse kernels: %s\n",
                rw_get_threads(), rw_gemm_info(), rw_isa());
    }

    run_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    progress_init(&ctx.prog, o.quiet);
    ctx.log = log;
    ctx.log_path = o.log;
    ctx.net = net;
    ctx.val = val;
    ctx.n_layers = rw_net_layers(net);
    ctx.quiet = o.quiet;
    o.tc.on_progress = on_progress;
    o.tc.on_epoch = on_epoch;
    o.tc.user = &ctx;
    rw_train_result res;
    rw_status st = rw_train(net, train, test, &o.tc, &res, &err);
    progress_clear(&ctx.prog);
    if (st != RW_OK) {
        if (ctx.log_err.status != RW_OK)
            cli_fail_err(C, &ctx.log_err);
        else
            cli_fail_err(C, &err);
        goto done;
    }
    if (log) {
        if (fclose(log) != 0) {
            log = NULL;
            cli_fail(C, "%s: cannot write the log: %s", o.log, strerror(errno));
            goto done;
        }
        log = NULL;
    }
    if (o.save && rw_net_save(net, o.save, &err) != RW_OK) {
        cli_fail_err(C, &err);
        goto done;
    }
    if (o.plot) {
        if (o.log) {
            snprintf(path, sizeof path, "%s/curves.png", o.plot);
            if (rw_plot_learning_curves(o.log, path, errbuf, sizeof errbuf) != 0)
                fprintf(stderr, "rewire train: warning: %s\n", errbuf);
            else if (!o.quiet)
                fprintf(stderr, "learning curves: %s\n", path);
            if (o.sparse) {
                snprintf(path, sizeof path, "%s/rewiring.png", o.plot);
                if (rw_plot_rewiring(o.log, path, errbuf, sizeof errbuf) != 0)
                    fprintf(stderr, "rewire train: warning: %s\n", errbuf);
                else if (!o.quiet)
                    fprintf(stderr, "rewiring: %s\n", path);
            }
        } else if (!o.quiet) {
            fprintf(stderr, "rewire train: note: learning curves need --log\n");
        }
        if (image) {
            snprintf(path, sizeof path, "%s/connectivity.png", o.plot);
            if (rw_plot_connectivity(net, ih, iw, path, errbuf, sizeof errbuf) != 0)
                fprintf(stderr, "rewire train: warning: %s\n", errbuf);
            else if (!o.quiet)
                fprintf(stderr, "connectivity map: %s (start: "
                                "connectivity-start.png)\n", path);
        }
    }
    if (o.json) {
        print_json(&o, net, &res, train, ctx.have_last ? &ctx.last : NULL);
    } else {
        printf("trained %zu epochs in %.1f s (%.0f samples/s)", res.epochs,
               res.train_seconds, res.samples_per_second);
        if (isfinite(res.test_accuracy))
            printf("; test accuracy %.2f%%, test loss %.4f",
                   100.0 * res.test_accuracy, res.test_loss);
        else if (isfinite(res.test_loss))
            printf("; test loss %.6g", res.test_loss);
        printf("\n");
        cli_dist_report(stdout, res.train_seconds);
        if (o.save)
            printf("model saved to %s\n", o.save);
    }
    exit_code = 0;
done:
    if (log)
        fclose(log);
    free(shift);
    free(scale);
    rw_net_free(net);
    rw_dataset_free(train);
    rw_dataset_free(test);
    rw_dataset_free(val);
    rw_dataset_free(full);
    return exit_code;
}
