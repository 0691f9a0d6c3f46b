/* rewire eval, predict and info: commands that read a saved model. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct model_args {
    const char *model, *data;
    bool json, proba, label_column_set;
    int threads;
    rw_data_options dopts;
} model_args;

static bool parse_label_column(const char *cmd, const char *arg, void *t)
{
    model_args *a = t;
    a->label_column_set = true;
    return cli_parse_label_column(cmd, arg, &a->dopts.label_column);
}

/* The options of the three commands; each takes some of them (its table
 * below) and refuses the others by name. */
#define A model_args
#define OPT_MODEL {.type = CLI_STRING, .name = "model", .arg = "FILE", CLI_FIELD(A, model)}
#define OPT_DATA {.type = CLI_STRING, .name = "data", .arg = "SPEC", CLI_FIELD(A, data)}
#define OPT_JSON(text) {.type = CLI_FLAG, .name = "json", CLI_FIELD(A, json), \
                        .flag = 1, .help = text}
#define OPT_PROBA {.type = CLI_FLAG, .name = "proba", CLI_FIELD(A, proba), .flag = 1}
#define OPT_LABELCOL {.type = CLI_CUSTOM, .name = "label-column", .arg = "C", \
                      .parse = parse_label_column, \
                      .help = "CSV label column: first, last or N (default:\n" \
                              "the training data's, kept in the model)"}
#define OPT_NOLABELS {.type = CLI_FLAG, .name = "no-labels", \
                      CLI_FIELD(A, dopts.no_labels), .flag = 1, \
                      .help = "CSV: every column is a feature"}
#define OPT_THREADS {.type = CLI_INT, .name = "threads", .arg = "N", \
                     CLI_FIELD(A, threads), .min = 1, .max = 1024}
#define OPT_HELP {.type = CLI_HELP, .name = "help"}

static const cli_opt model_family[] = {
    OPT_MODEL, OPT_DATA, OPT_JSON(NULL), OPT_PROBA, OPT_LABELCOL, OPT_NOLABELS,
    OPT_THREADS, OPT_HELP, {.type = CLI_END},
};

/* Parses a command's options (then the family's, refused) into a.
 * Returns -1 to continue, or an exit code. */
static int parse_model_args(const char *cmd, const char *intro,
                            const cli_opt *table, int width, int argc,
                            char **argv, model_args *a)
{
    memset(a, 0, sizeof *a);
    a->dopts = rw_data_options_defaults();
    const cli_group groups[] = {
        {.opts = table, .target = a, .before = intro},
        {.opts = model_family, .target = a, .refuse = true},
    };
    const cli_command c = {cmd, width, groups, 2};
    int rc = cli_parse(&c, argc, argv);
    if (rc >= 0)
        return rc;
    if (!a->model)
        return cli_fail(cmd, "--model FILE is required (see rewire %s --help)",
                        cmd) + 1;
    bool takes_data = false;
    for (const cli_opt *o = table; o->type != CLI_END; o++)
        takes_data |= o->name && strcmp(o->name, "data") == 0;
    if (takes_data && !a->data)
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
    /* The labels where training found them, unless told otherwise. */
    rw_data_options dopts = a->dopts;
    if (!a->label_column_set)
        dopts.label_column = rw_net_label_column(*net);
    if (rw_net_classes(*net) == 0 && !dopts.no_labels) {
        /* a regression model: the label column holds a float target */
        rw_data_options o = dopts;
        o.regression = 1;
        *ds = rw_dataset_open(a->data, RW_SPLIT_TEST, &o, &err);
    } else {
        *ds = rw_dataset_open(a->data, RW_SPLIT_TEST, &dopts, &err);
    }
    if (unlabelled_ok && !dopts.no_labels && !a->label_column_set &&
        (!*ds || rw_dataset_features(*ds) != rw_net_inputs(*net))) {
        rw_data_options raw = dopts;
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
    if (!*ds) {
        /* Models saved before they recorded the label column, or data of
         * another layout. */
        if (!a->label_column_set &&
            strstr(err.msg, "expected a class label"))
            return cli_fail(cmd, "%s (if the labels are in another column, give "
                                 "--label-column)", err.msg);
        return cli_fail_err(cmd, &err);
    }
    cli_note_header(cmd, a->data, *ds);
    if (rw_dataset_features(*ds) != rw_net_inputs(*net))
        return cli_fail(cmd, "%s has %zu features per sample but the model %s "
                             "expects %zu", rw_dataset_name(*ds),
                        rw_dataset_features(*ds), a->model, rw_net_inputs(*net));
    return 0;
}

static const char *const eval_intro =
    "usage: rewire eval --model FILE --data SPEC [--json] [--threads N]\n"
    "\n"
    "Evaluates a saved model: accuracy and loss (classifiers) or mean squared\n"
    "error (regression). A dataset name uses its test split.\n";

static const cli_opt eval_table[] = {
    OPT_MODEL, OPT_DATA, OPT_LABELCOL,
    OPT_JSON("print {\"accuracy\", \"loss\", \"samples\"}"), OPT_THREADS,
    OPT_HELP, {.type = CLI_END},
};

int cmd_eval(int argc, char **argv)
{
    model_args a;
    int rc = parse_model_args("eval", eval_intro, eval_table, 19, argc, argv, &a);
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

static const char *const predict_intro =
    "usage: rewire predict --model FILE --data SPEC [--proba] [--threads N]\n"
    "\n"
    "Prints one predicted class per line (classifiers), or the predicted\n"
    "values separated by commas (regression). With --proba, prints the class\n"
    "probabilities, comma-separated, one sample per line.\n"
    "A CSV file may hold raw samples without a label column: it is read so\n"
    "when it has exactly as many columns as the model has inputs (and does\n"
    "not fit as features plus a label; not with --label-column), or always\n"
    "with --no-labels. A regression model's target is read from the label\n"
    "column.\n";

static const cli_opt predict_table[] = {
    OPT_MODEL, OPT_DATA, OPT_PROBA, OPT_LABELCOL, OPT_NOLABELS, OPT_THREADS,
    OPT_HELP, {.type = CLI_END},
};

int cmd_predict(int argc, char **argv)
{
    model_args a;
    int rc = parse_model_args("predict", predict_intro, predict_table, 19, argc,
                              argv, &a);
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

static const char *const info_intro =
    "usage: rewire info --model FILE [--json]\n"
    "\n"
    "Describes a saved model: layers, neurons, connections and density.\n";

static const cli_opt info_table[] = {
    OPT_MODEL,
    OPT_JSON("print {\"layers\": [...], \"parameters\", \"connections\", ...}"),
    OPT_HELP, {.type = CLI_END},
};
#undef A

int cmd_info(int argc, char **argv)
{
    model_args a;
    int rc = parse_model_args("info", info_intro, info_table, 9, argc, argv, &a);
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
               "\"input_transform\":%s,\"label_column\":",
               rw_net_parameters(net), rw_net_connections(net),
               (unsigned long long)cfg->seed,
               rw_net_input_transform(net, NULL, NULL) ? "true" : "false");
        if (rw_net_label_column(net) == RW_LABEL_LAST)
            printf("\"last\"");
        else
            printf("%d", rw_net_label_column(net));
        printf(",\"layers\":[");
        for (size_t l = 0; l < L; l++) {
            rw_layer_info li;
            rw_net_layer_info(net, l, &li, NULL);
            printf("%s{\"kind\":\"%s\",\"inputs\":%zu,\"neurons\":%zu,"
                   "\"activation\":\"%s\",\"connections\":%zu,\"density\":",
                   l ? "," : "", li.kind == RW_LAYER_SPARSE ? "sparse" : "dense",
                   li.inputs, li.outputs, cli_activation_name(li.act), li.connections);
            json_num(stdout, li.density);
            printf(",\"parameters\":%zu,\"initial_share\":", li.parameters);
            json_num(stdout, rw_net_initial_share(net, l));
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("model: %s\n", a.model);
        printf("inputs: %zu, outputs: %zu (%s), seed %llu%s",
               rw_net_inputs(net), rw_net_outputs(net),
               cfg->loss == RW_LOSS_MSE ? "regression, MSE"
                                        : "classes, cross-entropy",
               (unsigned long long)cfg->seed,
               rw_net_input_transform(net, NULL, NULL)
                   ? ", standardised inputs" : "");
        if (rw_net_label_column(net) != RW_LABEL_LAST)
            printf(", CSV labels in column %d (0-based)", rw_net_label_column(net));
        printf("\n");
        printf("%-6s %-7s %-11s %8s %8s %13s %9s %9s\n", "layer", "kind",
               "activation", "inputs", "neurons", "connections", "density",
               "initial");
        for (size_t l = 0; l < L; l++) {
            rw_layer_info li;
            rw_net_layer_info(net, l, &li, NULL);
            printf("%-6zu %-7s %-11s %8zu %8zu %13zu %8.4f%% %8.1f%%\n", l + 1,
                   li.kind == RW_LAYER_SPARSE ? "sparse" : "dense",
                   cli_activation_name(li.act), li.inputs, li.outputs, li.connections,
                   100.0 * li.density, 100.0 * rw_net_initial_share(net, l));
        }
        printf("parameters: %zu, connections: %zu\n", rw_net_parameters(net),
               rw_net_connections(net));
    }
    rw_net_free(net);
    return 0;
}
