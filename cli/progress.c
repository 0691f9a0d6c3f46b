/* Progress of training on stderr. On a terminal: a bar redrawn in place at
 * most ten times a second (as tqdm does). Otherwise (a file, a pipe, a CI
 * log) a bar would be a stream of carriage returns, so plain lines are
 * printed now and then instead, and the epoch line (Keras's one line per
 * epoch) follows as usual. */
#include "cli.h"

#include <unistd.h>

void progress_init(cli_progress *p, bool quiet)
{
    p->quiet = quiet;
    p->tty = !quiet && isatty(STDERR_FILENO);
    p->last_draw = 0.0;
    p->epoch = 0;
    p->batch = 0;
    p->tenth = 0;
    p->last_line = 0.0;
}

bool progress_line_due(cli_progress *p, const rw_progress *pr)
{
    if (pr->epoch != p->epoch || pr->batch <= p->batch) {
        /* A new epoch (or the next task's first one): the clock is the
         * epoch's, so its start is the time of the last line. */
        p->epoch = pr->epoch;
        p->tenth = 0;
        p->last_line = 0.0;
    }
    p->batch = pr->batch;
    if (pr->batches == 0 || pr->batch >= pr->batches)
        return false; /* the epoch line follows */
    size_t tenth = (size_t)((double)pr->batch * 10.0 / (double)pr->batches);
    double since = pr->seconds - p->last_line;
    bool due = since >= PROGRESS_LINE_MAX_S ||
               (tenth > p->tenth && since >= PROGRESS_LINE_MIN_S);
    if (due) {
        p->tenth = tenth;
        p->last_line = pr->seconds;
    }
    return due;
}

void progress_batch(cli_progress *p, const rw_progress *pr)
{
    if (p->quiet)
        return;
    double left = pr->batch ? pr->seconds / (double)pr->batch *
                                  (double)(pr->batches - pr->batch) : 0.0;
    if (!p->tty) {
        if (!progress_line_due(p, pr))
            return;
        fprintf(stderr, "epoch %zu/%zu: batch %zu/%zu (%.0f%%) loss %.4f "
                        "acc %.2f%% %.0f samples/s %.0fs ETA %.0fs\n",
                pr->epoch, pr->epochs, pr->batch, pr->batches,
                100.0 * (double)pr->batch / (double)pr->batches, pr->loss,
                100.0 * pr->accuracy, pr->samples_per_second, pr->seconds,
                left);
        fflush(stderr);
        return;
    }
    double now = cli_now();
    if (pr->batch != pr->batches && now - p->last_draw < 0.1)
        return;
    p->last_draw = now;
    const int width = 24;
    int filled = (int)((double)width * (double)pr->batch / (double)pr->batches);
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[width] = '\0';
    fprintf(stderr, "\repoch %zu/%zu [%s] %zu/%zu loss %.4f acc %5.2f%% "
                    "%.0f samples/s ETA %.0fs \033[K",
            pr->epoch, pr->epochs, bar, pr->batch, pr->batches, pr->loss,
            100.0 * pr->accuracy, pr->samples_per_second, left);
    fflush(stderr);
}

void progress_clear(cli_progress *p)
{
    if (p->tty) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
}
