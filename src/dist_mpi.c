/* The transport over MPI: joining the ranks and the three collectives
 * dist.c builds on. The only file that includes mpi.h. */
#include "dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static int g_rank = 0, g_size = 1, g_joined = 0;
static float *g_pad;     /* padded copy for the reduce-scatter */
static float *g_out;     /* its result, gathered */
static size_t g_pad_cap; /* floats in each */

/* Started by mpirun (Open MPI, or a PMI launcher such as MPICH's Hydra or
 * Slurm)? Without one of these the process stays a single rank and never
 * calls MPI, so the tool starts as fast as a build without MPI. */
static int launched_by_mpi(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                       "PMIX_RANK", "PMI_RANK"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

rw_status rw_dist_init(int *argc, char ***argv, rw_error *err)
{
    if (g_joined || !launched_by_mpi())
        return RW_OK;
    int provided = 0;
    /* Only the thread that trains calls MPI; OpenMP threads never do. */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return rw_fail(err, RW_ERR_DIST, "MPI failed to start");
    g_joined = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    return RW_OK;
}

void rw_dist_finalize(void)
{
    rw_dist_release_buffers();
    rw_free(g_pad);
    rw_free(g_out);
    g_pad = g_out = NULL;
    g_pad_cap = 0;
    if (g_joined) {
        MPI_Finalize();
        g_joined = 0;
        g_rank = 0;
        g_size = 1;
    }
}

int rw_dist_rank(void) { return g_rank; }
int rw_dist_size(void) { return g_size; }
int rw_dist_available(void) { return 1; }

void rw_dist_abort(int code)
{
    if (g_joined && g_size > 1)
        MPI_Abort(MPI_COMM_WORLD, code);
}

static rw_status mpi_fail(rw_error *err, int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS)
        snprintf(msg, sizeof msg, "error %d", rc);
    return rw_fail(err, RW_ERR_DIST, "rank %d: %s failed: %s", g_rank, what, msg);
}

/* A reduce-scatter followed by an all-gather: the ring all-reduce's two
 * halves, with the same bytes on the wire as MPI_Allreduce. Each element
 * is summed on exactly one rank and then copied, so every rank holds
 * bitwise the same sums whatever order the library adds them in. */
rw_status rw_dist_sum_f32(float *v, size_t n, rw_error *err)
{
    if (g_size == 1 || n == 0)
        return RW_OK;
    size_t P = (size_t)g_size;
    /* Chunks whose per-rank share fits an int count. */
    size_t max_per = (size_t)INT_MAX / 2, chunk_max = max_per * P;
    for (size_t c0 = 0; c0 < n; c0 += chunk_max) {
        size_t m = n - c0 < chunk_max ? n - c0 : chunk_max;
        size_t per = (m + P - 1) / P, padded = per * P;
        if (padded > g_pad_cap) {
            rw_free(g_pad);
            rw_free(g_out);
            g_pad = rw_alloc(padded, sizeof(float), "all-reduce buffer", err);
            g_out = rw_alloc(padded, sizeof(float), "all-reduce buffer", err);
            g_pad_cap = g_pad && g_out ? padded : 0;
            if (!g_pad_cap)
                return RW_ERR_NOMEM;
        }
        memcpy(g_pad, v + c0, m * sizeof(float));
        memset(g_pad + m, 0, (padded - m) * sizeof(float));
        int rc = MPI_Reduce_scatter_block(g_pad, g_out + (size_t)g_rank * per,
                                          (int)per, MPI_FLOAT, MPI_SUM,
                                          MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "reduce-scatter");
        rc = MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, g_out, (int)per,
                           MPI_FLOAT, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "all-gather");
        memcpy(v + c0, g_out, m * sizeof(float));
    }
    return RW_OK;
}

rw_status rw_dist_bcast(void *buf, size_t n, rw_error *err)
{
    if (g_size == 1)
        return RW_OK;
    unsigned char *p = buf;
    for (size_t c0 = 0; c0 < n; c0 += (size_t)INT_MAX) {
        size_t m = n - c0 < (size_t)INT_MAX ? n - c0 : (size_t)INT_MAX;
        int rc = MPI_Bcast(p + c0, (int)m, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "broadcast");
    }
    return RW_OK;
}

rw_status rw_dist_max_u64(uint64_t *v, size_t n, rw_error *err)
{
    if (g_size == 1)
        return RW_OK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_UINT64_T, MPI_MAX,
                           MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? RW_OK : mpi_fail(err, rc, "all-reduce");
}
