/* rewire eval, predict and info: commands that read a saved model. */
#include "cli.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { M_MODEL = 256, M_DATA, M_JSON, M_PROBA, M_LABELCOL, M_NOLABELS,
       M_THREADS, M_HELP };

static const struct option model_opts[] = {
    {"model", required_argument, 0, M_MODEL},
    {"data", required_argument, 0, M_DATA},
    {"json", no_argument, 0, M_JSON},
    {"proba", no_argument, 0, M_PROBA},
    {"label-column", required_argument, 0, M_LABELCOL},
    {"no-labels", no_argument, 0, M_NOLABELS},
    {"threads", required_argument, 0, M_THREADS},
    {"help", no_argument, 0, M_HELP},
    {0, 0, 0, 0},
};

typedef struct model_args {
    const char *model, *data;
    bool json, proba, label_column_set;
    int threads;
    rw_data_options dopts;
} model_args;

/* Parses the shared options; `allowed` lists the ones this command takes.
 * Returns -1 to continue, or an exit code. */
static int parse_model_args(const char *cmd, const char *help, int argc,
                            char **argv, const char *allowed, model_args *a)
{
    memset(a, 0, sizeof *a);
    a->dopts = rw_data_options_defaults();
    optind = 1;
    opterr = 0;
    int ch, idx = 0;
    while ((ch = getopt_long(argc, argv, "", model_opts, &idx)) != -1) {
        if (ch == M_HELP) {
            fputs(help, stdout);
            return 0;
        }
        if (ch == '?' || ch == ':')
            return cli_fail(cmd, "%s option '%s' (see rewire %s --help)",
                            ch == ':' ? "missing value for" : "unknown",
                            argv[optind - 1], cmd) + 1;
        const char *name = model_opts[idx].name;
        if (!strstr(allowed, name))
            return cli_fail(cmd, "option --%s does not apply to '%s' (see "
                                 "rewire %s --help)", name, cmd, cmd) + 1;
        switch (ch) {
        case M_MODEL: a->model = optarg; break;
        case M_DATA: a->data = optarg; break;
        case M_JSON: a->json = true; break;
        case M_PROBA: a->proba = true; break;
        case M_LABELCOL:
            if (!cli_parse_label_column(cmd, optarg, &a->dopts.label_column))
                return 2;
            a->label_column_set = true;
            break;
        case M_NOLABELS: a->dopts.no_labels = 1; break;
        case M_THREADS: {
            size_t t;
            if (!cli_parse_size(cmd, "--threads", optarg, 1, 1024, &t))
                return 2;
            a->threads = (int)t;
            break;
        }
        }
    }
    if (optind < argc)
        return cli_fail(cmd, "unexpected argument '%s' (see rewire %s --help)",
                        argv[optind], cmd) + 1;
    if (!a->model)
        return cli_fail(cmd, "--model FILE is required (see rewire %s --help)",
                        cmd) + 1;
    if (strstr(allowed, "data") && !a->data)
        return cli_fail(cmd, "--data SPEC is required (see rewire %s --help)",
                        cmd) + 1;
    if (a->dopts.no_labels && a->label_column_set)
        return cli_fail(cmd, "--no-labels and --label-column exclude each "
                        "other") + 1;
    rw_set_threads(a->threads);
    return -1;
}

/* Loads the model and the data and checks they fit each other. With
 * `unlabelled_ok` (predict), a CSV file that does not fit as features plus
 * a label column is read again without one, and used when its width is
 * then the model's inputs. */
static int open_model_data(const char *cmd, const model_args *a, rw_net **net,
                           rw_dataset **ds, bool unlabelled_ok)
{
    rw_error err;
    *net = rw_net_load(a->model, &err);
    if (!*net)
        return cli_fail_err(cmd, &err);
    if (!a->data)
        return 0;
    if (rw_net_classes(*net) == 0 && !a->dopts.no_labels) {
        /* a regression model: the label column holds a float target */
        rw_data_options o = a->dopts;
        o.regression = 1;
        *ds = rw_dataset_open(a->data, RW_SPLIT_TEST, &o, &err);
    } else {
        *ds = rw_dataset_open(a->data, RW_SPLIT_TEST, &a->dopts, &err);
    }
    if (unlabelled_ok && !a->dopts.no_labels && !a->label_column_set &&
        (!*ds || rw_dataset_features(*ds) != rw_net_inputs(*net))) {
        rw_data_options raw = a->dopts;
        raw.no_labels = 1;
        rw_error err2;
        rw_dataset *r = rw_dataset_open(a->data, RW_SPLIT_TEST, &raw, &err2);
        if (r && rw_dataset_features(r) == rw_net_inputs(*net)) {
            rw_dataset_free(*ds);
            *ds = r;
        } else {
            rw_dataset_free(r);
        }
    }
    if (!*ds)
        return cli_fail_err(cmd, &err);
    if (rw_dataset_features(*ds) != rw_net_inputs(*net))
        return cli_fail(cmd, "%s has %zu features per sample but the model %s "
                             "expects %zu", rw_dataset_name(*ds),
                        rw_dataset_features(*ds), a->model, rw_net_inputs(*net));
    return 0;
}

static const char *const eval_help =
    "usage: rewire eval --model FILE --data SPEC [--json] [--threads N]\n"
    "\n"
    "Evaluates a saved model: accuracy and loss (classifiers) or mean squared\n"
    "error (regression). A dataset name uses its test split.\n"
    "  --label-column C   CSV label column: first, last (default) or N\n"
    "  --json             print {\"accuracy\", \"loss\", \"samples\"}\n";

int cmd_eval(int argc, char **argv)
{
    model_args a;
    int rc = parse_model_args("eval", eval_help, argc, argv,
                              "model data json label-column threads", &a);
    if (rc >= 0)
        return rc;
    rw_net *net = NULL;
    rw_dataset *ds = NULL;
    rc = open_model_data("eval", &a, &net, &ds, false);
    if (rc == 0) {
        rw_error err;
        rw_eval_result r;
        if (rw_net_evaluate(net, ds, &r, NULL, &err) != RW_OK) {
            rc = cli_fail_err("eval", &err);
        } else if (a.json) {
            printf("{\"accuracy\":");
            json_num(stdout, rw_net_classes(net) ? r.accuracy : NAN);
            printf(",\"loss\":");
            json_num(stdout, r.loss);
            printf(",\"samples\":%zu,\"correct\":%zu}\n", r.samples, r.correct);
        } else if (rw_net_classes(net)) {
            printf("accuracy %.2f%% (%zu of %zu), loss %.4f\n",
                   100.0 * r.accuracy, r.correct, r.samples, r.loss);
        } else {
            printf("mean squared error %.6g over %zu samples\n", r.loss, r.samples);
        }
    }
    rw_dataset_free(ds);
    rw_net_free(net);
    return rc;
}

static const char *const predict_help =
    "usage: rewire predict --model FILE --data SPEC [--proba] [--threads N]\n"
    "\n"
    "Prints one predicted class per line (classifiers), or the predicted\n"
    "values separated by commas (regression). With --proba, prints the class\n"
    "probabilities, comma-separated, one sample per line.\n"
    "A CSV file may hold raw samples without a label column: it is read so\n"
    "when it has exactly as many columns as the model has inputs (and does\n"
    "not fit as features plus a label; not with --label-column), or always\n"
    "with --no-labels. A regression model's target is read from the label\n"
    "column.\n"
    "  --label-column C   CSV label column: first, last (default) or N\n"
    "  --no-labels        CSV: every column is a feature\n";

int cmd_predict(int argc, char **argv)
{
    model_args a;
    int rc = parse_model_args("predict", predict_help, argc, argv,
                              "model data proba label-column no-labels threads",
                              &a);
    if (rc >= 0)
        return rc;
    rw_net *net = NULL;
    rw_dataset *ds = NULL;
    float *out = NULL;
    rc = open_model_data("predict", &a, &net, &ds, true);
    if (rc == 0) {
        rw_error err;
        size_t n = rw_dataset_size(ds), C = rw_net_outputs(net);
        size_t I = rw_net_inputs(net);
        /* Predicted and printed in chunks: the buffer holds at most 1 Mi
         * outputs (or one sample's), whatever the data and model sizes. */
        size_t chunk = ((size_t)1 << 20) / C;
        chunk = chunk < 1 ? 1 : chunk > 1024 ? 1024 : chunk;
        out = malloc(chunk * C * sizeof *out);
        if (!out)
            rc = cli_fail("predict", "out of memory for %zu outputs",
                          chunk * C);
        bool cls = rw_net_classes(net) > 0;
        for (size_t s = 0; out && rc == 0 && s < n; s += chunk) {
            size_t m = n - s < chunk ? n - s : chunk;
            if (rw_net_predict(net, rw_dataset_x(ds) + s * I, m, out, &err) !=
                RW_OK) {
                rc = cli_fail_err("predict", &err);
                break;
            }
            for (size_t i = 0; i < m; i++) {
                const float *p = out + i * C;
                if (cls && !a.proba) {
                    size_t best = 0;
                    for (size_t c = 1; c < C; c++)
                        if (p[c] > p[best])
                            best = c;
                    printf("%zu\n", best);
                } else {
                    for (size_t c = 0; c < C; c++)
                        printf("%s%.6g", c ? "," : "", p[c]);
                    putchar('\n');
                }
            }
            if (fflush(stdout) != 0)
                rc = cli_fail("predict", "cannot write to standard output");
        }
    }
    free(out);
    rw_dataset_free(ds);
    rw_net_free(net);
    return rc;
}

static const char *const info_help =
    "usage: rewire info --model FILE [--json]\n"
    "\n"
    "Describes a saved model: layers, neurons, connections and density.\n"
    "  --json   print {\"layers\": [...], \"parameters\", \"connections\", ...}\n";

static const char *act_str(rw_activation a)
{
    static const char *const n[] = {"identity", "relu", "leaky_relu",
                                    "sigmoid", "tanh", "softmax"};
    return (unsigned)a < 6 ? n[a] : "unknown";
}

int cmd_info(int argc, char **argv)
{
    model_args a;
    int rc = parse_model_args("info", info_help, argc, argv, "model json", &a);
    if (rc >= 0)
        return rc;
    rw_net *net = NULL;
    rc = open_model_data("info", &a, &net, NULL, false);
    if (rc != 0) {
        rw_net_free(net);
        return rc;
    }
    const rw_net_config *cfg = rw_net_config_of(net);
    size_t L = rw_net_layers(net);
    if (a.json) {
        printf("{\"inputs\":%zu,\"outputs\":%zu,\"classes\":%zu,\"loss\":",
               rw_net_inputs(net), rw_net_outputs(net), rw_net_classes(net));
        json_str(stdout, cfg->loss == RW_LOSS_MSE ? "mse" : "cross_entropy");
        printf(",\"parameters\":%zu,\"connections\":%zu,\"seed\":%llu,"
               "\"input_transform\":%s,\"layers\":[",
               rw_net_parameters(net), rw_net_connections(net),
               (unsigned long long)cfg->seed,
               rw_net_input_transform(net, NULL, NULL) ? "true" : "false");
        for (size_t l = 0; l < L; l++) {
            rw_layer_info li;
            rw_net_layer_info(net, l, &li, NULL);
            printf("%s{\"kind\":\"%s\",\"inputs\":%zu,\"neurons\":%zu,"
                   "\"activation\":\"%s\",\"connections\":%zu,\"density\":",
                   l ? "," : "", li.kind == RW_LAYER_SPARSE ? "sparse" : "dense",
                   li.inputs, li.outputs, act_str(li.act), li.connections);
            json_num(stdout, li.density);
            printf(",\"parameters\":%zu,\"initial_share\":", li.parameters);
            json_num(stdout, rw_net_initial_share(net, l));
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("model: %s\n", a.model);
        printf("inputs: %zu, outputs: %zu (%s), seed %llu%s\n",
               rw_net_inputs(net), rw_net_outputs(net),
               cfg->loss == RW_LOSS_MSE ? "regression, MSE"
                                        : "classes, cross-entropy",
               (unsigned long long)cfg->seed,
               rw_net_input_transform(net, NULL, NULL)
                   ? ", standardised inputs" : "");
        printf("%-6s %-7s %-11s %8s %8s %13s %9s %9s\n", "layer", "kind",
               "activation", "inputs", "neurons", "connections", "density",
               "initial");
        for (size_t l = 0; l < L; l++) {
            rw_layer_info li;
            rw_net_layer_info(net, l, &li, NULL);
            printf("%-6zu %-7s %-11s %8zu %8zu %13zu %8.4f%% %8.1f%%\n", l + 1,
                   li.kind == RW_LAYER_SPARSE ? "sparse" : "dense",
                   act_str(li.act), li.inputs, li.outputs, li.connections,
                   100.0 * li.density, 100.0 * rw_net_initial_share(net, l));
        }
        printf("parameters: %zu, connections: %zu\n", rw_net_parameters(net),
               rw_net_connections(net));
    }
    rw_net_free(net);
    return 0;
}
