/*
 * `rewire plot` pictures of a model (plot_model.c). Each returns 0, or
 * non-zero with "<file>: <what>" in errbuf. `name` is the model's file
 * name, used in titles and messages.
 */
#ifndef RW_CLI_PLOT_MODEL_H
#define RW_CLI_PLOT_MODEL_H

#include <stddef.h>

#include "plot_data.h"
#include "rewire.h"

/* Loads a model file; NULL with "<path>: ..." in errbuf on failure. */
rw_net *rwp_load_model(const char *path, char *errbuf, size_t errlen);

/* Connectivity map of `net`'s first layer as an img_h x img_w image (0, 0:
 * square when possible). With `start` (may be NULL) the two are drawn side
 * by side as "initial" and "final". `out` may be NULL when only the counts
 * are wanted; `want_counts` prints them to stdout, one image row a line.
 * `name` may be NULL: the title then names no file. */
int rwp_plot_connectivity(rw_net *net, rw_net *start, const char *name,
                          const char *start_name, size_t img_h, size_t img_w,
                          const char *out, int want_counts, const rwp_opts *o,
                          char *errbuf, size_t errlen);

/* Weight histograms, one panel per layer. */
int rwp_plot_weights(rw_net *net, const char *name, const char *out,
                     const rwp_opts *o, char *errbuf, size_t errlen);

/* Confusion matrix on the test split of the dataset `spec`. */
int rwp_plot_confusion(rw_net *net, const char *name, const char *spec,
                       const char *out, const rwp_opts *o, char *errbuf,
                       size_t errlen);

#endif /* RW_CLI_PLOT_MODEL_H */
