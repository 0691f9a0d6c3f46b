/* rewire plot --online (plot_online.c). */
#ifndef RW_CLI_PLOT_ONLINE_H
#define RW_CLI_PLOT_ONLINE_H
#include "plot_data.h"
/* Draws the online accuracy (`dormant` 0), the first hidden layer's dormant
 * fraction (1) or its effective rank (2) per task of the comma-separated reports in `list`.
 * Returns 0, or 1 with the message in errbuf. */
int rwp_plot_online(const char *list, int dormant, const char *out,
                    const rwp_opts *o, char *errbuf, size_t errlen);
#endif
