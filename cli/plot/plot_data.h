/*
 * Data behind `rewire plot`: training logs (JSON Lines), continual-learning
 * reports (JSON), picture options and error helpers. No drawing here, so
 * this part works without cairo.
 */
#ifndef RW_CLI_PLOT_DATA_H
#define RW_CLI_PLOT_DATA_H

#include <stddef.h>

#include "rewire.h"

/* Options shared by every picture. */
typedef struct rwp_opts {
    const char *title; /* replaces the picture's title when not NULL */
    int width, height; /* canvas; 0 = the picture's default */
    int stats;         /* print size and pixel statistics to stdout */
} rwp_opts;

extern const rwp_opts rwp_default_opts;

/* Per-layer fields of one log record. */
enum {
    RWP_L_NEURONS = 0,
    RWP_L_CONNECTIONS,
    RWP_L_DENSITY,
    RWP_L_DROPPED,
    RWP_L_GROWN,
    RWP_L_SHARE, /* initial_share, 0..1 */
    RWP_L_DORMANT, /* diagnostics (hidden layers; absent: NaN) */
    RWP_L_ERANK,
    RWP_L_MEANW,
    RWP_L_COUNT
};

/* One epoch of a training log. Missing or null values are NaN. */
typedef struct rwp_epoch {
    double epoch, train_loss, train_acc, test_loss, test_acc;
    double seconds, lr, connections, drop_fraction;
    size_t n_layers; /* 0 when the record has no "layers" */
    double *layer;   /* n_layers x RWP_L_COUNT */
} rwp_epoch;

typedef struct rwp_log {
    rwp_epoch *ep;
    size_t n, cap;
    size_t max_layers; /* most layers seen in any record */
    int mse;           /* the log says the loss is mean squared error */
} rwp_log;

/* Reads a log written by `rewire train --log`. Lines that are objects
 * without "epoch" are skipped; an incomplete last line (a killed run) is
 * dropped with a warning on stderr naming the file and line, as is an
 * earlier run when the epochs start again. Returns 0, or non-zero with
 * "<path>: ..." in errbuf (missing file, malformed line, no epochs). */
int rwp_log_load(const char *path, rwp_log *log, char *errbuf, size_t errlen);
void rwp_log_free(rwp_log *log);

/* A continual-learning report: accuracy on task j after training task i. */
typedef struct rwp_continual {
    char *method;      /* may be NULL */
    size_t rows, cols; /* training stages x tasks */
    char **tasks;      /* cols names (generated when absent) */
    double *matrix;    /* rows x cols, 0..1, NaN for null */
    double average_accuracy, backward_transfer; /* NaN when absent */
    double forward_transfer;                    /* NaN when absent */
} rwp_continual;

int rwp_continual_load(const char *path, rwp_continual *c, char *errbuf,
                       size_t errlen);
void rwp_continual_free(rwp_continual *c);

/* Image shape for `n` inputs: (h, w) given, or a square when both are 0.
 * Returns 0, or non-zero with a message (prefixed by `what`) in errbuf. */
int rwp_image_shape(size_t n, size_t h, size_t w, size_t *out_h, size_t *out_w,
                    const char *what, char *errbuf, size_t errlen);

/* Copies a library error into errbuf as "<path>: <msg>", without doubling
 * the path when the message already starts with it. Returns 1. */
int rwp_lib_error(const char *path, const rw_error *err, char *errbuf,
                  size_t errlen);

/* "<what>: out of memory" into errbuf; returns 1. */
int rwp_out_of_memory(const char *what, char *errbuf, size_t errlen);

/* printf into errbuf; returns 1 so callers can `return rwp_fail(...)`. */
int rwp_fail(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* RW_CLI_PLOT_DATA_H */
