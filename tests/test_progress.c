/*
 * When stderr is not a terminal, training prints plain progress lines now
 * and then (cli/progress.c): at each new tenth of an epoch once 5 s have
 * passed since the last line, and at least every 30 s. The decision reads
 * only the batch counts and the epoch's clock, so simulated epochs test it.
 * Tests link only librewire, so the CLI source is compiled into this file.
 */
#include "../cli/common.c"
#include "../cli/progress.c"

#include "check.h"

/* Runs `batches` batches of `per_batch` seconds each through the decision
 * and returns how many lines it asks for; `at` (may be NULL) receives the
 * batch numbers of the first 64. */
static size_t simulate(cli_progress *p, size_t epoch, size_t batches,
                       double per_batch, size_t *at)
{
    size_t lines = 0;
    for (size_t b = 1; b <= batches; b++) {
        rw_progress pr = {epoch, 9, b, batches, 0.5, 0.5, 1000.0,
                          per_batch * (double)b};
        if (progress_line_due(p, &pr)) {
            if (at && lines < 64)
                at[lines] = b;
            lines++;
        }
    }
    return lines;
}

int main(void)
{
    cli_progress p;
    progress_init(&p, true);
    size_t at[64];

    /* 100 s epoch of 1000 batches: a line at every tenth, 10 s apart, and
     * none on the last batch (the epoch line follows). */
    size_t n = simulate(&p, 1, 1000, 0.1, at);
    CHECK_MSG(n == 9, "%zu lines", n);
    for (size_t i = 0; i < 9 && i < n; i++)
        CHECK_MSG(at[i] == 100 * (i + 1), "line %zu at batch %zu", i, at[i]);

    /* 3 s epoch: no line at all, like Keras's one line per epoch. */
    n = simulate(&p, 2, 1000, 0.003, NULL);
    CHECK_MSG(n == 0, "%zu lines for a 3 s epoch", n);

    /* 20 s epoch: tenths every 2 s, lines at most every 5 s: at 5, 10
     * and 15 s (batches 25, 50, 75). */
    n = simulate(&p, 3, 100, 0.2, at);
    CHECK_MSG(n == 3 && at[0] == 25 && at[1] == 50 && at[2] == 75,
              "%zu lines, first at %zu", n, n ? at[0] : 0);

    /* 1000 s epoch of 100 batches: a tenth lasts 100 s, so the 30 s rule
     * gives lines at 30, 60 and 90 s, then the tenth at 100 s, and so on:
     * never 30 s without a line. */
    n = simulate(&p, 4, 100, 10.0, at);
    CHECK_MSG(n == 39 && at[0] == 3 && at[1] == 6 && at[2] == 9 &&
              at[3] == 10 && at[4] == 13, "%zu lines, first at %zu", n,
              n ? at[0] : 0);
    for (size_t i = 1; i < n && i < 64; i++)
        CHECK(at[i] - at[i - 1] <= 3);

    /* The next task's epoch 1 after an epoch 1 (continual runs with one
     * epoch per task) starts afresh. */
    n = simulate(&p, 1, 1000, 0.1, NULL);
    CHECK_MSG(n == 9, "%zu lines in the first task", n);
    n = simulate(&p, 1, 1000, 0.1, at);
    CHECK_MSG(n == 9 && at[0] == 100, "%zu lines in the second task", n);

    /* One batch per epoch: never a line. */
    n = simulate(&p, 5, 1, 100.0, NULL);
    CHECK(n == 0);
    TEST_MAIN_END();
}
