/* Shared pieces of the `rewire` command-line tool. The CLI uses only the
 * public API (rewire.h), exactly as a user's program would. */
#ifndef RW_CLI_H
#define RW_CLI_H

#include "opts.h"
#include "rewire.h"

#include <stdbool.h>
#include <stdio.h>

/* Prints "rewire CMD: message" to stderr; returns the exit code 1. */
int cli_fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same for a library error. */
int cli_fail_err(const char *cmd, const rw_error *err);
/* Warns on stderr when the CSV file `path` had a first line taken for a
 * header although some of its fields are numbers (a data line with a
 * typo, dropped). */
void cli_note_header(const char *cmd, const char *path, const rw_dataset *ds);
/* Prints the library's error (NULL: "out of memory"); returns false, for
 * the steps of a command that return whether they went well. */
bool cli_failed(const char *cmd, const rw_error *err);
/* A file a command writes or reads, the option that names it and, for a
 * file read, the output option that may name the same file (--resume
 * continues the --checkpoint it names). */
typedef struct cli_path {
    const char *path, *opt, *may_be;
} cli_path;
/* Whether the n_out outputs name different files, none of them a file of
 * the n_in inputs (each a file, or files separated by commas); else says
 * which two meet and returns false. Paths may be NULL (not given). */
bool cli_distinct_paths(const char *cmd, const cli_path *out, size_t n_out,
                        const cli_path *in, size_t n_in);
/* Whether a model or checkpoint can be written to `path`, found before
 * the work rather than after it (rw_check_writable); else says why and
 * returns false. */
bool cli_check_writable(const char *cmd, const char *path, const char *what);
/* Whether the plain output `path` (written with fopen after the work, not
 * renamed into place: a device or pipe will do) can be written: not a
 * folder, and a folder that exists and may be written for a new file.
 * Else says why, naming `opt`, and returns false. */
bool cli_check_output(const char *cmd, const char *path, const char *opt);

/* Strict number parsing for option values: the whole string must be a
 * number in range, else an error naming the option is printed. */
bool cli_parse_size(const char *cmd, const char *opt, const char *s,
                    size_t min, size_t max, size_t *out);
bool cli_parse_double(const char *cmd, const char *opt, const char *s,
                      double min, double max, double *out);
bool cli_parse_u64(const char *cmd, const char *opt, const char *s,
                   uint64_t *out);
/* Parses "256,256" into sizes; returns the count or -1 on error. */
int cli_parse_list(const char *cmd, const char *opt, const char *s,
                   size_t *out, int max);
/* --label-column first|last|N */
bool cli_parse_label_column(const char *cmd, const char *s, int *out);

/* Seconds on a monotonic clock (for rates and redraw intervals). */
double cli_now(void);
/* The last part of a path ("a/b.csv" -> "b.csv"); the path itself when
 * it ends in '/'. */
const char *cli_base_name(const char *path);
/* Activation names, from the one table of them in the tool (common.c):
 * "relu" -> RW_ACT_RELU; false for a name it does not know. */
bool cli_activation_from_name(const char *name, rw_activation *out);
/* RW_ACT_RELU -> "relu"; "unknown" for a value out of range. */
const char *cli_activation_name(rw_activation a);
/* Whether SPEC names a built-in dataset: "spirals", or a name and ':'
 * and more, which the image sets take for their folder ("mnist:DIR"), and
 * with `suffix_ok` every set. */
bool cli_is_builtin(const char *spec, bool suffix_ok);
/* "network: 784-256(sparse 5.00%)-10" (no newline) on stderr. */
void cli_print_network(const rw_net *net);

/* JSON output helpers: a number that prints null for NaN/inf, and a
 * string with escapes. */
void json_num(FILE *f, double v);
void json_str(FILE *f, const char *s);

/* Subcommands. argv[0] is the subcommand name. Return the exit code. */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_continual(int argc, char **argv);

/* Options shared by `train` and `continual` (train_opts.c). */
typedef struct train_opts_t {
    const char *data, *test, *save, *log, *plot;
    double holdout, val_split;
    bool standardize, json, quiet;
    size_t hidden[RW_MAX_LAYERS];
    int n_hidden;
    rw_activation act;
    rw_init init;
    uint64_t seed;
    bool sparse, sparse_output;
    int rewire_choice; /* an index of "none, set, rigl, hebbian"; -1: unset */
    rw_sparse_init sparse_mode;
    double sparse_param;
    int threads;
    int precision; /* rw_precision: of the rows sparse layers gather */
    rw_data_options dopts;
    rw_train_config tc;
    unsigned sparse_kinds; /* given: 1 --epsilon, 2 --density, 4 --erk */
    unsigned given; /* options on the command line (CLI_GIVEN_*) */
} train_opts_t;

/* train_opts_t.given: options given that the rules check, most of which
 * do something only beside another (cli_opt.given sets them). */
enum {
    CLI_GIVEN_HOLDOUT = 1u << 0,     /* without --test */
    CLI_GIVEN_PRUNE_TO = 1u << 1,    /* --prune-to, --prune-start, --prune-end: */
    CLI_GIVEN_PRUNE_START = 1u << 2, /* with --prune */
    CLI_GIVEN_PRUNE_END = 1u << 3,
    CLI_GIVEN_LR_MIN = 1u << 4,      /* with --schedule cosine */
    CLI_GIVEN_STEP_EPOCHS = 1u << 5, /* --step-*: with --schedule step */
    CLI_GIVEN_STEP_GAMMA = 1u << 6,
    CLI_GIVEN_LR = 1u << 7,          /* the optimizer's default rate not used */
    CLI_GIVEN_MOMENTUM = 1u << 8,    /* with a momentum optimizer */
    /* Options that shape one feature, each refused without it: */
    CLI_GIVEN_DROP_FRACTION = 1u << 9,
    CLI_GIVEN_REWIRE_EVERY = 1u << 10,
    CLI_GIVEN_DROP_SCHEDULE = 1u << 11,
    CLI_GIVEN_REWIRE_STOP = 1u << 12,
    CLI_GIVEN_PERM_UP = 1u << 13,
    CLI_GIVEN_PERM_DOWN = 1u << 14,
    CLI_GIVEN_PERM_THRESHOLD = 1u << 15,
    CLI_GIVEN_SILENT_EPOCHS = 1u << 16,
    CLI_GIVEN_SILENT_LEVEL = 1u << 17,
    CLI_GIVEN_ADAM_STEPS = 1u << 18,
    CLI_GIVEN_CBP_ETA = 1u << 19,
    CLI_GIVEN_CBP_MATURITY = 1u << 20,
    CLI_GIVEN_CBP_RHO = 1u << 21,
    CLI_GIVEN_CBP_ADAPTABLE = 1u << 22,
    CLI_GIVEN_REDO_EVERY = 1u << 23,
    CLI_GIVEN_REDO_TAU = 1u << 24,
    CLI_GIVEN_SNP_LAMBDA = 1u << 25,
    CLI_GIVEN_SNP_SIGMA = 1u << 26,
    CLI_GIVEN_SNP_AT_TASK = 1u << 27,
    CLI_GIVEN_L2_LAMBDA = 1u << 28,
    CLI_GIVEN_DORMANT_TAU = 1u << 29,
    CLI_GIVEN_LABEL_COLUMN = 1u << 30, /* with a CSV file */
};

/* Under mpirun (dist.c): threads = the option, or by default this rank's
 * share of the cores; on ranks other than 0, no files and no progress
 * (their stdout is closed by main); one line of communication figures. */
void cli_dist_threads(int threads);
void cli_dist_outputs(train_opts_t *o);
/* Every rank says whether its set-up (options, data, network) worked;
 * true when all did. When one failed the others return false as well (rank
 * 0 saying so, "rewire CMD: rank N failed before training"), and all
 * leave without MPI_Abort: none is inside a collective. Call on every
 * rank, on success and failure alike. */
bool cli_dist_agree(const char *cmd, bool ok);
/* From a command's start to cli_dist_agree, a rank other than 0 holds its
 * error messages back: they are shown only when rank 0 had none. */
void cli_dist_hold_errors(void);
/* Whether this rank has been through cli_dist_agree. */
bool cli_dist_agreed(void);
/* After rw_train or rw_continual_run failed: true when every rank returned
 * before training began (rw_dist_setup_failure): the failing rank (rank 0
 * also for the others) has said why, and the ranks leave without
 * rw_dist_abort. False otherwise: nothing printed. */
bool cli_dist_setup_failed(const char *cmd, const rw_error *err);
/* Between cli_dist_training(true) and (false) ranks meet in collectives,
 * so a rank that fails there must end them all (main: MPI_Abort). */
void cli_dist_training(bool on);
bool cli_dist_in_training(void);
void cli_dist_report(FILE *f);

/* The options of train (train_opts.c), which continual takes too. */
extern const cli_opt cli_train_table[];
/* Fills o with the defaults of every option. */
void cli_train_defaults(train_opts_t *o);
/* The rules between train's options, after parsing: one of --epsilon,
 * --density and --erk; --prune needs --prune-to and makes the layers
 * sparse; options that do nothing without another (--holdout with --test,
 * --prune-to/start/end without --prune, --lr-min without a cosine schedule
 * or above --lr, --step-* without the step schedule) are refused; --momentum needs a momentum optimizer and --drop-by-usage
 * rewiring; SGD and momentum default to lr 0.01; --sparse defaults to SET;
 * the seed goes to the data and the training. Returns -1 to go on or an
 * exit code (the error printed). */
int cli_train_rules(const char *cmd, train_opts_t *o);

/* Builds the network config that train's options describe for data with
 * `inputs` features and `outputs` classes (or targets): hidden layers,
 * activation, initialisation, seed, sparsity. Prints the error and returns
 * false on failure. */
bool cli_net_config(const char *cmd, const train_opts_t *o, size_t inputs,
                    size_t outputs, rw_loss loss, rw_net_config *cfg);

/* Progress of training (progress.c): a bar redrawn in place when stderr
 * is a terminal; otherwise a plain line when the epoch has passed another
 * tenth of its batches and PROGRESS_LINE_MIN_S seconds have gone by since
 * the last line (or the epoch's start), and at the latest every
 * PROGRESS_LINE_MAX_S seconds. An epoch shorter than PROGRESS_LINE_MIN_S
 * prints only its own end-of-epoch line, as Keras does with verbose=2. */
#define PROGRESS_LINE_MIN_S 5.0
#define PROGRESS_LINE_MAX_S 30.0
typedef struct cli_progress {
    bool tty;      /* draw a bar on stderr */
    bool quiet;    /* print nothing */
    double last_draw;
    /* plain lines: the epoch and batch seen last, the last tenth printed
     * and the epoch's clock (rw_progress.seconds) at the last line */
    size_t epoch, batch, tenth;
    double last_line;
} cli_progress;
void progress_init(cli_progress *p, bool quiet);
/* Whether a plain line is due for `pr` (and, if so, records it); the
 * decision depends only on the batch counts and pr->seconds. */
bool progress_line_due(cli_progress *p, const rw_progress *pr);
void progress_batch(cli_progress *p, const rw_progress *pr);
void progress_clear(cli_progress *p);

/* The maintenance options (maintain_opts.c), in train and continual;
 * their values go to a train_opts_t. */
extern const cli_opt cli_maintain_table[];
/* "none", "cbp", "redo", "snp", "l2init", NULL: rw_maintain_kind's names. */
extern const char *const cli_maintain_names[];

/* Writes the plasticity diagnostics of a network of `layers` layers to f:
 * "<sep>dormant" and the hidden layers' dormant fractions, then their
 * effective ranks, then every layer's mean |w|, separated by `sep`. */
void cli_print_diagnostics(FILE *f, const char *sep, const double *dormant,
                           const double *rank, const double *mean_abs_w,
                           size_t layers);
void cli_json_array(FILE *f, const double *v, size_t n);

#endif
