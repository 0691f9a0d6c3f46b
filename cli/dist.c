/* The tool under mpirun: rank 0 alone prints and writes files, and each
 * rank takes its share of the machine's cores. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static bool g_training, g_agreed;
static FILE *g_held;    /* where a rank other than 0 writes its set-up errors */
static int g_stderr_fd = -1;

void cli_dist_hold_errors(void)
{
    if (rw_dist_size() <= 1 || rw_dist_rank() == 0 || g_held)
        return;
    fflush(stderr);
    FILE *t = tmpfile();
    int saved = t ? dup(2) : -1;
    if (saved < 0 || dup2(fileno(t), 2) < 0) {
        if (saved >= 0)
            close(saved);
        if (t)
            fclose(t);
        return; /* errors then go straight to stderr */
    }
    g_held = t;
    g_stderr_fd = saved;
}

/* Puts stderr back; the held messages follow when `show`, each line with
 * the rank in front (one write a line, so that ranks do not interleave
 * inside a line). */
static void release_errors(bool show)
{
    if (!g_held)
        return;
    fflush(stderr);
    dup2(g_stderr_fd, 2);
    close(g_stderr_fd);
    g_stderr_fd = -1;
    if (show) {
        char line[4096];
        rewind(g_held);
        bool start = true;
        while (fgets(line, sizeof line, g_held)) {
            if (start)
                fprintf(stderr, "[rank %d] %s", rw_dist_rank(), line);
            else
                fputs(line, stderr);
            start = strchr(line, '\n') != NULL;
        }
    }
    fclose(g_held);
    g_held = NULL;
}

bool cli_dist_agree(const char *cmd, bool ok)
{
    g_agreed = true;
    if (rw_dist_size() <= 1)
        return ok;
    int size = rw_dist_size(), rank = rw_dist_rank();
    bool all = rw_dist_min_int(ok ? 1 : 0) == 1;
    /* One rank reports: the first that failed (rank 0 says its own error
     * as it happens; the same message from every rank once is enough). */
    int reporter = all ? size : rw_dist_min_int(ok ? size : rank);
    release_errors(!ok && rank == reporter);
    if (!all && ok && rank == 0)
        fprintf(stderr, "rewire %s: rank %d failed before training; every rank "
                        "stops\n", cmd, reporter);
    return all;
}

bool cli_dist_agreed(void) { return g_agreed; }

bool cli_dist_setup_failed(const char *cmd, const rw_error *err)
{
    int first = rw_dist_setup_failure();
    if (rw_dist_size() <= 1 || first < 0)
        return false;
    g_training = false; /* no rank waits in a collective: leave normally */
    int rank = rw_dist_rank();
    const char *msg = err->msg[0] ? err->msg : rw_status_str(err->status);
    if (rank == first && rank != 0)
        fprintf(stderr, "[rank %d] rewire %s: %s\n", rank, cmd, msg);
    else if (rank == 0) /* its own error, or which rank failed */
        fprintf(stderr, "rewire %s: %s\n", cmd, msg);
    return true;
}

void cli_dist_training(bool on) { g_training = on; }
bool cli_dist_in_training(void) { return g_training; }

void cli_dist_outputs(train_opts_t *o)
{
    if (rw_dist_rank() == 0)
        return;
    o->save = o->log = o->plot = NULL;
    o->quiet = true;
}

void cli_dist_report(FILE *f)
{
    rw_dist_stats s = rw_dist_last_stats();
    if (s.ranks <= 1)
        return;
    const char *path = rw_dist_transport();
    fprintf(f, "ranks: %d; all-reduced %zu bytes per step over %zu steps (%s%s%s); "
               "%.1f%% of the training time in communication\n",
            s.ranks, s.bytes_per_step, s.steps,
            !strcmp(path, "shm") ? "shared memory"
            : !strcmp(path, "ring") ? "a ring of send-receives" : "MPI_Allreduce",
            s.sharded ? ", the optimizer step sharded over the ranks" : "",
            s.shared_weights ? ", one copy of the weights in shared memory" : "",
            100.0 * rw_dist_comm_share());
}
