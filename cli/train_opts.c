/* The options of `rewire train`, declared once (opts.h): the data, the
 * network, sparsity and rewiring, use it or lose it, optimization and
 * output. `rewire continual` takes them too. */
#include "cli.h"
#include "opts.h"

#include <string.h>

#define T train_opts_t

/* What some options imply: a rewiring option makes the layers sparse. */
static void then_sparse(void *t) { ((T *)t)->sparse = true; }
static void sparse_kind(T *o, rw_sparse_init mode, unsigned bit)
{
    o->sparse = true;
    o->sparse_mode = mode;
    o->sparse_kinds |= bit;
}
static void then_er(void *t) { sparse_kind(t, RW_SPARSE_ER, 1); }
static void then_uniform(void *t) { sparse_kind(t, RW_SPARSE_UNIFORM, 2); }
static void then_erk(void *t) { sparse_kind(t, RW_SPARSE_ERK, 4); }
static void then_sparse_output(void *t) { ((T *)t)->sparse = ((T *)t)->sparse_output = true; }
static void then_rewire(void *t)
{
    if (((T *)t)->rewire_choice != 0)
        ((T *)t)->sparse = true;
}
static void then_regrow(void *t) { ((T *)t)->tc.plasticity.neuron_turnover = 1; }

static bool parse_hidden(const char *cmd, const char *arg, void *t)
{
    T *o = t;
    if (!*arg) {
        cli_fail(cmd, "--hidden is empty: expected sizes such as 256,256, or "
                      "'none' for no hidden layer");
        return false;
    }
    o->n_hidden = cli_parse_list(cmd, "--hidden", arg, o->hidden, RW_MAX_LAYERS - 1);
    return o->n_hidden >= 0;
}

static bool parse_label_column(const char *cmd, const char *arg, void *t)
{
    return cli_parse_label_column(cmd, arg, &((T *)t)->dopts.label_column);
}

static bool parse_activation(const char *cmd, const char *arg, void *t)
{
    rw_activation a;
    if (!cli_activation_from_name(arg, &a) || a == RW_ACT_SOFTMAX) {
        cli_fail(cmd, "--activation must be relu, leaky_relu, sigmoid, tanh or "
                      "identity, got \"%s\"", arg);
        return false;
    }
    ((T *)t)->act = a;
    return true;
}

/* A new optimizer starts from its defaults but keeps the weight decay,
 * momentum and Adam step counting given before it. */
static bool parse_optimizer(const char *cmd, const char *arg, void *t)
{
    static const char *const names[] = {"sgd", "momentum", "nesterov", "adam",
                                        "adamw"};
    static const rw_optim_kind kinds[] = {RW_OPT_SGD, RW_OPT_MOMENTUM,
                                          RW_OPT_MOMENTUM, RW_OPT_ADAM,
                                          RW_OPT_ADAMW};
    rw_optim_config *op = &((T *)t)->tc.optim;
    for (int v = 0; v < 5; v++) {
        if (strcmp(arg, names[v]) != 0)
            continue;
        double wd = op->weight_decay, mom = op->momentum;
        int global = op->adam_global_steps;
        *op = rw_optim_defaults(kinds[v]);
        op->nesterov = v == 2;
        op->weight_decay = wd;
        op->momentum = mom;
        op->adam_global_steps = global;
        return true;
    }
    cli_fail(cmd, "--optimizer must be sgd, momentum, nesterov, adam or adamw, "
                  "got \"%s\"", arg);
    return false;
}

static const char *const rewire_names[] = {"none", "set", "rigl", "hebbian", NULL};
static const char *const prune_names[] = {"none", "magnitude", "usage", "hebbian", NULL};
static const char *const init_names[] = {"auto", "he", "xavier", NULL};
static const char *const drop_schedules[] = {"constant", "cosine", NULL};
static const char *const schedules[] = {"constant", "step", "cosine", NULL};
static const char *const adam_steps[] = {"own", "global", NULL};
static const char *const precisions[] = {"fp32", "bf16", NULL};

#define HEAD(text) {.type = CLI_HEADING, .name = text}
#define PL tc.plasticity

const cli_opt cli_train_table[] = {
    HEAD("data:"),
    {.type = CLI_STRING, .name = "data", .arg = "SPEC", CLI_FIELD(T, data),
     .help = "training data (required)"},
    {.type = CLI_STRING, .name = "test", .arg = "SPEC", CLI_FIELD(T, test),
     .help = "test data; default: a named dataset's test split,\n"
             "else --holdout of the training file"},
    {.type = CLI_DOUBLE, .name = "holdout", .arg = "F", CLI_FIELD(T, holdout),
     .given = CLI_GIVEN_HOLDOUT,
     .min = 0.0, .max = 0.9,
     .help = "share of a training file held out as the test set\n"
             "when there is no --test (default 0.1)"},
    {.type = CLI_DOUBLE, .name = "val-split", .arg = "F", CLI_FIELD(T, val_split),
     .min = 0.0, .max = 0.9,
     .help = "hold out F of the training data for validation,\n"
             "reported each epoch (default 0: none)"},
    {.type = CLI_CUSTOM, .name = "label-column", .arg = "C",
     .parse = parse_label_column, .given = CLI_GIVEN_LABEL_COLUMN,
     .help = "CSV label column: first, last (default) or N (0-based)"},
    {.type = CLI_FLAG, .name = "no-standardize", CLI_FIELD(T, standardize),
     .flag = 0,
     .help = "feed features as they are (default: standardise\n"
             "each feature with training-set mean and std; the\n"
             "transform is stored in the model)"},
    HEAD("network:"),
    {.type = CLI_CUSTOM, .name = "hidden", .arg = "LIST", .parse = parse_hidden,
     .help = "hidden layer sizes (default 256,256; 'none' for\n"
             "no hidden layer)"},
    {.type = CLI_CUSTOM, .name = "activation", .arg = "A",
     .parse = parse_activation,
     .help = "relu (default), leaky_relu, sigmoid, tanh, identity"},
    {.type = CLI_CHOICE, .name = "init", .arg = "I", CLI_FIELD(T, init),
     .choices = init_names,
     .help = "auto (default: He for relu, else Xavier), he, xavier"},
    {.type = CLI_U64, .name = "seed", .arg = "N", CLI_FIELD(T, seed),
     .help = "seed for weights, topology, shuffling (default 1)"},
    HEAD("sparsity and rewiring:"),
    {.type = CLI_FLAG, .name = "sparse", CLI_FIELD(T, sparse), .flag = 1,
     .help = "sparse hidden layers (Erdos-Renyi, epsilon 20)"},
    {.type = CLI_DOUBLE, .name = "epsilon", .arg = "E", CLI_FIELD(T, sparse_param),
     .min = 1e-6, .max = 1e9, .then = then_er,
     .help = "Erdos-Renyi: a layer keeps E*(in+out) connections"},
    {.type = CLI_DOUBLE, .name = "density", .arg = "D", CLI_FIELD(T, sparse_param),
     .min = 1e-9, .max = 1.0, .then = then_uniform,
     .help = "the same density D in every sparse layer"},
    {.type = CLI_DOUBLE, .name = "erk", .arg = "D", CLI_FIELD(T, sparse_param),
     .min = 1e-9, .max = 1.0, .then = then_erk,
     .help = "Erdos-Renyi-Kernel scaled to overall density D"},
    {.type = CLI_FLAG, .name = "sparse-output", CLI_FIELD(T, sparse_output),
     .flag = 1, .then = then_sparse_output,
     .help = "make the output layer sparse too"},
    {.type = CLI_CHOICE, .name = "rewire", .arg = "R", CLI_FIELD(T, rewire_choice),
     .choices = rewire_names, .then = then_rewire,
     .help = "none, set (default with --sparse), rigl or hebbian"},
    {.type = CLI_DOUBLE, .name = "drop-fraction", .given = CLI_GIVEN_DROP_FRACTION, .arg = "F",
     CLI_FIELD(T, tc.drop_fraction), .min = 0.0, .max = 1.0, .then = then_sparse,
     .help = "share of connections replaced per rewiring (0.3)"},
    {.type = CLI_SIZE, .name = "rewire-every", .given = CLI_GIVEN_REWIRE_EVERY, .arg = "N",
     CLI_FIELD(T, tc.rewire_every), .min = 1, .max = (double)SIZE_MAX,
     .then = then_sparse,
     .help = "rewire every N steps (default: after each epoch)"},
    {.type = CLI_CHOICE, .name = "drop-schedule", .given = CLI_GIVEN_DROP_SCHEDULE, .arg = "S",
     CLI_FIELD(T, tc.drop_schedule_cosine), .choices = drop_schedules,
     .then = then_sparse,
     .help = "constant (default) or cosine decay of the fraction"},
    {.type = CLI_DOUBLE, .name = "rewire-stop", .given = CLI_GIVEN_REWIRE_STOP, .arg = "F",
     CLI_FIELD(T, tc.rewire_stop), .min = 0.0, .max = 1.0, .then = then_sparse,
     .help = "freeze the topology after F of training (default 1)"},
    HEAD("use it or lose it:"),
    {.type = CLI_FLAG, .name = "traces", CLI_FIELD(T, PL.traces), .flag = 1,
     .help = "keep usage traces (credit, co-activation, activity)"},
    {.type = CLI_DOUBLE, .name = "trace-rate", .arg = "F", CLI_FIELD(T, PL.trace_rate),
     .min = 1e-9, .max = 1.0,
     .help = "trace moving-average rate per step (default 0.01)"},
    {.type = CLI_CHOICE, .name = "prune", .arg = "P", CLI_FIELD(T, PL.prune),
     .choices = prune_names, .expect = "magnitude, usage or hebbian",
     .help = "gradual pruning: magnitude, usage or hebbian; without\n"
             "--sparse/--density it starts from full density"},
    {.type = CLI_DOUBLE, .name = "prune-to", .arg = "D", CLI_FIELD(T, PL.prune_to),
     .given = CLI_GIVEN_PRUNE_TO,
     .min = 1e-9, .max = 1.0, .help = "target density of the pruned layers"},
    {.type = CLI_DOUBLE, .name = "prune-start", .arg = "F",
     CLI_FIELD(T, PL.prune_start), .min = 0.0, .max = 1.0, .given = CLI_GIVEN_PRUNE_START,
     .help = "start of the cubic schedule, share of training (0.1)"},
    {.type = CLI_DOUBLE, .name = "prune-end", .arg = "F", CLI_FIELD(T, PL.prune_end),
     .given = CLI_GIVEN_PRUNE_END,
     .min = 0.0, .max = 1.0, .help = "end of the schedule (0.7); fine-tuning after it"},
    {.type = CLI_SIZE, .name = "prune-every", .arg = "N", CLI_FIELD(T, PL.prune_every),
     .min = 1, .max = (double)SIZE_MAX,
     .help = "steps between pruning events (default 50)"},
    {.type = CLI_DOUBLE, .name = "usage-decay", .arg = "F",
     CLI_FIELD(T, PL.usage_decay), .min = 0.0, .max = 10.0,
     .help = "extra weight decay for rarely used connections"},
    {.type = CLI_FLAG, .name = "permanence", CLI_FIELD(T, PL.permanence), .flag = 1,
     .help = "connections that stay in use become hard to drop"},
    {.type = CLI_DOUBLE, .name = "perm-up", .given = CLI_GIVEN_PERM_UP,
     .arg = "F", CLI_FIELD(T, PL.perm_up),
     .min = 0.0, .max = 1.0,
     .usage = "--perm-up F, --perm-down F, --perm-threshold F",
     .help = "permanence dynamics\n(defaults 0.05, 0.01, 0.1)"},
    {.type = CLI_DOUBLE, .name = "perm-down", .given = CLI_GIVEN_PERM_DOWN,
     .arg = "F", CLI_FIELD(T, PL.perm_down),
     .min = 0.0, .max = 1.0},
    {.type = CLI_DOUBLE, .name = "perm-threshold", .given = CLI_GIVEN_PERM_THRESHOLD, .arg = "F",
     CLI_FIELD(T, PL.perm_threshold), .min = 0.0, .max = 1.0},
    {.type = CLI_FLAG, .name = "neuron-turnover", CLI_FIELD(T, PL.neuron_turnover),
     .flag = 1,
     .help = "remove neurons left without inputs or outputs, or\n"
             "silent for --silent-epochs epochs (default 2)"},
    {.type = CLI_SIZE, .name = "silent-epochs", .given = CLI_GIVEN_SILENT_EPOCHS, .arg = "N",
     CLI_FIELD(T, PL.silent_epochs), .min = 1, .max = 1000000},
    {.type = CLI_DOUBLE, .name = "silent-level", .given = CLI_GIVEN_SILENT_LEVEL, .arg = "F",
     CLI_FIELD(T, PL.silent_level), .min = 0.0, .max = 1e6,
     .help = "activity below F counts as silent (default 1e-3)"},
    {.type = CLI_FLAG, .name = "regrow-neurons", CLI_FIELD(T, PL.regrow_neurons),
     .flag = 1, .then = then_regrow,
     .help = "add fresh neurons to layers that lost some"},
    HEAD("optimization:"),
    {.type = CLI_SIZE, .name = "epochs", .arg = "N", CLI_FIELD(T, tc.epochs),
     .min = 1, .max = 1000000, .help = "passes over the data (default 10)"},
    {.type = CLI_SIZE, .name = "batch", .arg = "N", CLI_FIELD(T, tc.batch),
     .min = 1, .max = 1u << 20, .help = "mini-batch size (default 128)"},
    {.type = CLI_CUSTOM, .name = "optimizer", .arg = "O", .parse = parse_optimizer,
     .help = "sgd, momentum, nesterov, adam (default), adamw"},
    {.type = CLI_DOUBLE, .name = "lr", .arg = "F", CLI_FIELD(T, tc.lr),
     .min = 1e-12, .max = 1e6, .given = CLI_GIVEN_LR,
     .help = "learning rate (default 0.001 for adam/adamw, else 0.01)"},
    {.type = CLI_DOUBLE, .name = "momentum", .arg = "F",
     CLI_FIELD(T, tc.optim.momentum), .min = 0.0, .max = 0.9999,
     .given = CLI_GIVEN_MOMENTUM, .help = "momentum for momentum/nesterov (default 0.9)"},
    {.type = CLI_DOUBLE, .name = "weight-decay", .arg = "F",
     CLI_FIELD(T, tc.optim.weight_decay), .min = 0.0, .max = 10.0,
     .help = "L2 (decoupled for adamw) on weights (default 0)"},
    {.type = CLI_CHOICE, .name = "schedule", .arg = "S", CLI_FIELD(T, tc.schedule),
     .choices = schedules, .help = "constant (default), step or cosine"},
    {.type = CLI_DOUBLE, .name = "lr-min", .arg = "F", CLI_FIELD(T, tc.lr_min),
     .given = CLI_GIVEN_LR_MIN,
     .min = 0.0, .max = 1e6, .help = "cosine schedule floor (default 0)"},
    {.type = CLI_SIZE, .name = "step-epochs", .arg = "N", CLI_FIELD(T, tc.step_epochs),
     .given = CLI_GIVEN_STEP_EPOCHS,
     .min = 1, .max = 1000000,
     .help = "step schedule period in epochs (default 3)"},
    {.type = CLI_DOUBLE, .name = "step-gamma", .arg = "F", CLI_FIELD(T, tc.step_gamma),
     .given = CLI_GIVEN_STEP_GAMMA,
     .min = 0.0, .max = 1.0, .help = "step schedule factor (default 0.1)"},
    {.type = CLI_DOUBLE, .name = "clip-grad", .arg = "F", CLI_FIELD(T, tc.clip_grad),
     .min = 1e-12, .max = 1e12,
     .help = "clip the global gradient norm to F (default off)"},
    {.type = CLI_CHOICE, .name = "adam-steps", .given = CLI_GIVEN_ADAM_STEPS, .arg = "S",
     CLI_FIELD(T, tc.optim.adam_global_steps), .choices = adam_steps,
     .help = "own (default): Adam's bias correction counts each\n"
             "weight's own steps, so grown connections start\n"
             "fresh; global: the network's step for all"},
    {.type = CLI_INT, .name = "threads", .arg = "N", CLI_FIELD(T, threads),
     .min = 1, .max = 1024, .help = "threads (default: all cores)"},
    {.type = CLI_CHOICE, .name = "precision", .arg = "P", CLI_FIELD(T, precision),
     .choices = precisions,
     .help = "fp32 (default) or bf16: sparse layers gather their\n"
             "input and error rows rounded to bfloat16, summed in\n"
             "fp32 (weights, gradients and state stay fp32); halves\n"
             "the memory traffic of layers too large for the caches\n"
             "(not kept in models or checkpoints: give it again\n"
             "with --resume)"},
    HEAD("output:"),
    {.type = CLI_STRING, .name = "save", .arg = "FILE", CLI_FIELD(T, save),
     .help = "save the trained model (written atomically)"},
    {.type = CLI_STRING, .name = "checkpoint", .arg = "FILE",
     CLI_FIELD(T, tc.checkpoint_path),
     .help = "write the whole training state to FILE after each\n"
             "epoch (atomically; it is also a model file)"},
    {.type = CLI_SIZE, .name = "checkpoint-every", .arg = "N",
     CLI_FIELD(T, tc.checkpoint_every), .min = 1, .max = (double)SIZE_MAX,
     .help = "... and every N steps"},
    {.type = CLI_STRING, .name = "resume", .arg = "FILE", CLI_FIELD(T, tc.resume_path),
     .help = "continue the run saved in checkpoint FILE; give the\n"
             "same data and options (the log is appended to; a\n"
             "finished run trains nothing and is saved as it is)"},
    {.type = CLI_STRING, .name = "log", .arg = "FILE", CLI_FIELD(T, log),
     .help = "one JSON object per epoch (JSON Lines)"},
    {.type = CLI_STRING, .name = "plot", .arg = "DIR", CLI_FIELD(T, plot),
     .help = "write the pictures into DIR: curves.png, rewiring.png\n"
             "(sparse), connectivity-start.png and connectivity.png\n"
             "(image data); the log goes to DIR/run.jsonl unless\n"
             "--log is given"},
    {.type = CLI_FLAG, .name = "json", CLI_FIELD(T, json), .flag = 1,
     .help = "print one JSON object with the results at the end\n"
             "(with \"ranks\", and under mpirun the bytes\n"
             "all-reduced per step and the communication share)"},
    {.type = CLI_FLAG, .name = "quiet", CLI_FIELD(T, quiet), .flag = 1,
     .help = "no progress output"},
    {.type = CLI_HELP, .name = "help", .help = "this text"},
    {.type = CLI_END},
};

bool cli_net_config(const char *cmd, const train_opts_t *o, size_t inputs,
                    size_t outputs, rw_loss loss, rw_net_config *cfg)
{
    rw_error err;
    if (loss == RW_LOSS_CROSS_ENTROPY && outputs < 2)
        outputs = 2;
    if (rw_net_config_mlp(cfg, inputs, o->hidden, (size_t)o->n_hidden, outputs,
                          o->act, loss, &err) != RW_OK) {
        cli_fail_err(cmd, &err);
        return false;
    }
    cfg->init = o->init;
    cfg->seed = o->seed;
    if (!o->sparse)
        return true;
    if (o->n_hidden == 0 && !o->sparse_output) {
        cli_fail(cmd, "--sparse needs hidden layers (or --sparse-output)");
        return false;
    }
    if (rw_net_config_sparsify(cfg, o->sparse_mode, o->sparse_param,
                               o->sparse_output, &err) != RW_OK) {
        cli_fail_err(cmd, &err);
        return false;
    }
    return true;
}

void cli_train_defaults(train_opts_t *o)
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
    o->rewire_choice = -1;
    o->dopts = rw_data_options_defaults();
    o->tc = rw_train_defaults();
    o->tc.rewire = RW_REWIRE_NONE;
    o->tc.plasticity = rw_plasticity_defaults();
    o->tc.consolidation = rw_consolidation_defaults();
}

/* The first option of the train and maintenance tables among `bits` that
 * is on the command line, as "--name" in buf; NULL when none is. */
static const char *given_of(const train_opts_t *o, unsigned bits, char *buf,
                            size_t cap)
{
    const cli_opt *const tables[] = {cli_train_table, cli_maintain_table};
    for (size_t t = 0; t < 2; t++)
        for (const cli_opt *p = tables[t]; p->type != CLI_END; p++)
            if (p->given & bits & o->given) {
                snprintf(buf, cap, "--%s", p->name);
                return buf;
            }
    return NULL;
}

/* Options given for a feature this run does not use: each would do
 * nothing, so the run is refused with the option and the feature. */
static int idle_shapers(const char *cmd, const train_opts_t *o)
{
    const rw_plasticity_config *pl = &o->tc.plasticity;
    const rw_maintain_config *m = &o->tc.maintain;
    bool adam = o->tc.optim.kind == RW_OPT_ADAM || o->tc.optim.kind == RW_OPT_ADAMW;
    const struct {
        bool idle;
        unsigned bits;
        const char *needs;
    } rules[] = {
        {pl->prune == RW_PRUNE_NONE,
         CLI_GIVEN_PRUNE_TO | CLI_GIVEN_PRUNE_START | CLI_GIVEN_PRUNE_END,
         "gradual pruning, and this run does not prune (give --prune magnitude, "
         "usage or hebbian)"},
        {o->tc.rewire == RW_REWIRE_NONE,
         CLI_GIVEN_DROP_FRACTION | CLI_GIVEN_REWIRE_EVERY | CLI_GIVEN_DROP_SCHEDULE |
             CLI_GIVEN_REWIRE_STOP,
         "rewiring, and this run does not rewire (give sparse layers and --rewire "
         "set, rigl or hebbian)"},
        {!pl->permanence,
         CLI_GIVEN_PERM_UP | CLI_GIVEN_PERM_DOWN | CLI_GIVEN_PERM_THRESHOLD,
         "permanence: give --permanence"},
        {!pl->neuron_turnover, CLI_GIVEN_SILENT_EPOCHS | CLI_GIVEN_SILENT_LEVEL,
         "neuron turnover: give --neuron-turnover"},
        {!adam, CLI_GIVEN_ADAM_STEPS, "Adam's bias correction: give --optimizer "
                                      "adam or adamw"},
        {m->kind != RW_MAINTAIN_CBP,
         CLI_GIVEN_CBP_ETA | CLI_GIVEN_CBP_MATURITY | CLI_GIVEN_CBP_RHO |
             CLI_GIVEN_CBP_ADAPTABLE,
         "continual backprop: give --maintain cbp"},
        {m->kind != RW_MAINTAIN_REDO, CLI_GIVEN_REDO_EVERY | CLI_GIVEN_REDO_TAU,
         "ReDo: give --maintain redo"},
        {m->kind != RW_MAINTAIN_SNP,
         CLI_GIVEN_SNP_LAMBDA | CLI_GIVEN_SNP_SIGMA | CLI_GIVEN_SNP_AT_TASK,
         "shrink and perturb: give --maintain snp"},
        {m->kind != RW_MAINTAIN_L2INIT, CLI_GIVEN_L2_LAMBDA,
         "L2 Init: give --maintain l2init"},
        {strcmp(cmd, "continual") != 0, CLI_GIVEN_SNP_AT_TASK,
         "continual learning's task boundaries: use it with rewire continual"},
        {m->probe == 0, CLI_GIVEN_DORMANT_TAU,
         "the diagnostics, which --probe 0 turns off"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const char *name =
            rules[i].idle ? given_of(o, rules[i].bits, buf, sizeof buf) : NULL;
        if (name)
            return cli_fail(cmd, "%s shapes %s", name, rules[i].needs) + 1;
    }
    return -1;
}

int cli_train_rules(const char *cmd, train_opts_t *o)
{
    rw_plasticity_config *pl = &o->tc.plasticity;
    static const char *const kinds[] = {"--epsilon", "--density", "--erk"};
    const char *given[3];
    int ng = 0;
    for (int k = 0; k < 3; k++)
        if (o->sparse_kinds & (1u << k))
            given[ng++] = kinds[k];
    if (ng > 1)
        return cli_fail(cmd, "give one of --epsilon, --density and --erk, not "
                             "%s and %s", given[0], given[1]) + 1;
    if ((o->given & CLI_GIVEN_MOMENTUM) && o->tc.optim.kind != RW_OPT_MOMENTUM)
        return cli_fail(cmd, "--momentum needs --optimizer momentum or "
                             "nesterov (%s has no momentum setting)",
                        o->tc.optim.kind == RW_OPT_SGD ? "sgd"
                        : o->tc.optim.kind == RW_OPT_ADAM ? "adam" : "adamw") + 1;
    if (o->tc.checkpoint_every && !o->tc.checkpoint_path)
        return cli_fail(cmd, "--checkpoint-every needs --checkpoint FILE") + 1;
    if (pl->prune != RW_PRUNE_NONE && !(pl->prune_to > 0.0))
        return cli_fail(cmd, "--prune needs --prune-to D (the target density)") + 1;
    if ((o->given & CLI_GIVEN_HOLDOUT) && o->test)
        return cli_fail(cmd, "--holdout splits a test set off the training "
                             "file, and --test gives one: give one of them") + 1;
    if ((o->given & (CLI_GIVEN_HOLDOUT | CLI_GIVEN_LABEL_COLUMN)) && o->data &&
        cli_is_builtin(o->data, true))
        return cli_fail(cmd, "%s applies to a CSV file, and %s is a built-in "
                             "dataset (with its own labels and test split)",
                        o->given & CLI_GIVEN_HOLDOUT ? "--holdout" : "--label-column",
                        o->data) + 1;
    if ((o->given & CLI_GIVEN_LR_MIN) && o->tc.schedule != RW_SCHED_COSINE)
        return cli_fail(cmd, "--lr-min is the cosine schedule's floor: give "
                             "--schedule cosine") + 1;
    if ((o->given & (CLI_GIVEN_STEP_EPOCHS | CLI_GIVEN_STEP_GAMMA)) &&
        o->tc.schedule != RW_SCHED_STEP)
        return cli_fail(cmd, "%s shapes the step schedule: give --schedule step",
                        o->given & CLI_GIVEN_STEP_EPOCHS ? "--step-epochs"
                                                         : "--step-gamma") + 1;
    if (pl->prune != RW_PRUNE_NONE && !o->sparse) {
        /* Pruning needs sparse storage: start from every connection. */
        o->sparse = true;
        o->sparse_mode = RW_SPARSE_UNIFORM;
        o->sparse_param = 1.0;
        if (o->rewire_choice < 0)
            o->rewire_choice = RW_REWIRE_NONE;
    }
    if (o->tc.optim.kind != RW_OPT_ADAM && o->tc.optim.kind != RW_OPT_ADAMW &&
        !(o->given & CLI_GIVEN_LR))
        o->tc.lr = 0.01;
    if ((o->given & CLI_GIVEN_LR_MIN) && o->tc.lr_min > o->tc.lr)
        return cli_fail(cmd, "--lr-min %g is above the learning rate %g: the "
                             "cosine schedule falls from --lr to --lr-min",
                        o->tc.lr_min, o->tc.lr) + 1;
    if (o->sparse)
        o->tc.rewire = o->rewire_choice < 0 ? RW_REWIRE_SET
                                            : (rw_rewire_kind)o->rewire_choice;
    if (o->tc.drop_by_usage && o->tc.rewire == RW_REWIRE_NONE)
        return cli_fail(cmd, "--drop-by-usage changes how rewiring drops "
                             "connections, and this run does not rewire "
                             "(give --rewire set, rigl or hebbian)") + 1;
    int rc = idle_shapers(cmd, o);
    if (rc >= 0)
        return rc;
    o->tc.seed = o->seed;
    o->dopts.synth_seed = o->seed;
    return -1;
}

#undef PL
#undef HEAD
#undef T
