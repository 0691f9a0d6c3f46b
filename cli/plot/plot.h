/*
 * `rewire plot`: pictures of training runs and models, drawn with cairo.
 * The output format follows the file extension: .png, .svg or .pdf.
 *
 * Functions returning int give 0 on success and non-zero on failure with a
 * message in `errbuf` that starts with the file concerned
 * ("run.jsonl: line 3: ..."). They print nothing except warnings about a
 * truncated log, which go to stderr as "rewire plot: <file>: ...".
 */
#ifndef RW_CLI_PLOT_H
#define RW_CLI_PLOT_H

#include <stddef.h>

#include "rewire.h"

/* Entry point of `rewire plot ...`; argv[0] is "plot". Returns the process
 * exit code (0 ok, 1 failure, 2 bad usage) and prints errors to stderr as
 * "rewire plot: <file>: <what>". */
int rw_cli_plot(int argc, char **argv);

/* Learning curves (loss, accuracy, learning rate per epoch) from a JSON
 * Lines training log written by `rewire train --log`. */
int rw_plot_learning_curves(const char *log_path, const char *out_png,
                            char *errbuf, size_t errlen);

/* Rewiring picture from the same log: connections per layer, connections
 * dropped and grown, share of initial connections surviving, neurons per
 * layer. Fails when the log has no per-layer data. */
int rw_plot_rewiring(const char *log_path, const char *out_png, char *errbuf,
                     size_t errlen);

/* Heat map of the connections each input keeps in the first layer, drawn
 * as an img_h x img_w image. img_h = img_w = 0 picks a square shape when
 * the input count is a perfect square and fails otherwise. */
int rw_plot_connectivity(rw_net *net, size_t img_h, size_t img_w,
                         const char *out_png, char *errbuf, size_t errlen);

/* Writes into counts[0..rw_net_inputs(net)) how many first-layer
 * connections leave each input (the output count for a dense layer).
 * Returns 0, or non-zero when the layer cannot be read. */
int rw_plot_input_counts(rw_net *net, size_t *counts);

#endif /* RW_CLI_PLOT_H */
