/* The tool under mpirun: rank 0 alone prints and writes files, and each
 * rank takes its share of the machine's cores. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void cli_dist_threads(int threads)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (threads > 0 && cores > 0 && threads > cores && rw_dist_rank() == 0)
        fprintf(stderr, "rewire: note: --threads %d is more than this "
                        "machine's %ld cores; threads beyond the cores wait "
                        "for each other and slow training down\n",
                threads, cores);
    rw_set_threads(threads);
    if (rw_dist_size() == 1 || threads > 0)
        return;
    /* Ranks on one machine share its cores (Open MPI names their count). */
    const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    long local = ls ? atol(ls) : 1;
    long per = local > 0 && cores > 0 ? cores / local : 1;
    if (per < 1)
        per = 1;
    if (rw_get_threads() > per)
        rw_set_threads((int)per);
}

void cli_dist_outputs(train_opts_t *o)
{
    if (rw_dist_rank() == 0)
        return;
    o->save = o->log = o->plot = NULL;
    o->quiet = true;
}

void cli_dist_report(FILE *f, double train_seconds)
{
    rw_dist_stats s = rw_dist_last_stats();
    if (s.ranks <= 1)
        return;
    fprintf(f, "ranks: %d; all-reduced %zu bytes per step over %zu steps%s; "
               "%.1f%% of the training time in communication\n",
            s.ranks, s.bytes_per_step, s.steps,
            s.sharded ? " (the optimizer step sharded over the ranks)" : "",
            train_seconds > 0 ? 100.0 * s.comm_seconds / train_seconds : 0.0);
}
