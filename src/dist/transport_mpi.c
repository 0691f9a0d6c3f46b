/* The transport over MPI: joining the ranks and the three collectives
 * dist.c builds on. The only file that includes mpi.h. */
#include "dist/dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static int g_rank = 0, g_size = 1, g_joined = 0;

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

int rw_dist_min_int(int value)
{
    if (!g_joined || g_size <= 1)
        return value;
    int least = 0;
    if (MPI_Allreduce(&value, &least, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
        return value < 0 ? value : 0; /* fails as a failure would */
    return least;
}

static rw_status mpi_fail(rw_error *err, int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS)
        snprintf(msg, sizeof msg, "error %d", rc);
    return rw_fail(err, RW_ERR_DIST, "rank %d: %s failed: %s", g_rank, what, msg);
}

/* count floats to rank `to` and rcount from rank `from`, in pieces that
 * fit an int. */
static rw_status sendrecv_f32(const float *s, size_t count, int to, float *r,
                              size_t rcount, int from, int tag, rw_error *err)
{
    const size_t piece = (size_t)1 << 30;
    size_t most = count > rcount ? count : rcount;
    for (size_t o = 0; o < most || o == 0; o += piece) {
        int sc = (int)(o < count ? (count - o < piece ? count - o : piece) : 0);
        int rc = (int)(o < rcount ? (rcount - o < piece ? rcount - o : piece) : 0);
        int rcode = MPI_Sendrecv(s + o, sc, MPI_FLOAT, to, tag, r + o, rc,
                                 MPI_FLOAT, from, tag, MPI_COMM_WORLD,
                                 MPI_STATUS_IGNORE);
        if (rcode != MPI_SUCCESS)
            return mpi_fail(err, rcode, "send-receive");
        if (most == 0)
            break;
    }
    return RW_OK;
}

/* The ring (Patarasuk and Yuan's bandwidth-optimal all-reduce, halved):
 * P - 1 steps in which every rank sends one chunk to the next rank and adds
 * the chunk it receives from the previous one to its own, so that rank r
 * ends with chunk r summed over all ranks. Each element is summed once, on
 * one rank, in an order fixed by the rank count: own + received. */
rw_status rw_dist_reduce_scatter_load_f32(float *v, size_t n, rw_dist_load_fn load,
                                          void *ctx, rw_error *err)
{
    if (g_size == 1) {
        if (load)
            load(ctx, 0, n, v, NULL);
        return RW_OK;
    }
    size_t lo, hi, most = n / (size_t)g_size + 1;
    float *tmp = rw_dist_scratch(most, err);
    if (!tmp)
        return RW_ERR_NOMEM;
    int next = (g_rank + 1) % g_size, prev = (g_rank + g_size - 1) % g_size;
    for (int k = 1; k < g_size; k++) {
        size_t slo, shi;
        rw_dist_chunk(n, g_size, (g_rank - k + g_size) % g_size, &slo, &shi);
        rw_dist_chunk(n, g_size, (g_rank - k - 1 + 2 * g_size) % g_size, &lo, &hi);
        if (k == 1 && load) /* the first chunk sent is this rank's own values */
            load(ctx, slo, shi, v + slo, NULL);
        rw_status st = sendrecv_f32(v + slo, shi - slo, next, tmp, hi - lo, prev,
                                    1, err);
        if (st != RW_OK)
            return st;
        if (load) {
            load(ctx, lo, hi, v + lo, tmp);
        } else {
            float *restrict d = v + lo;
            for (size_t i = 0; i < hi - lo; i++)
                d[i] += tmp[i];
        }
    }
    return RW_OK;
}

rw_status rw_dist_reduce_scatter_f32(float *v, size_t n, rw_error *err)
{
    return rw_dist_reduce_scatter_load_f32(v, n, NULL, NULL, err);
}

/* The ring's second half: P - 1 steps in which every rank passes on the
 * chunk it received last (its own first). */
rw_status rw_dist_allgather_f32(float *v, size_t n, rw_error *err)
{
    if (g_size == 1)
        return RW_OK;
    int next = (g_rank + 1) % g_size, prev = (g_rank + g_size - 1) % g_size;
    for (int k = 0; k + 1 < g_size; k++) {
        size_t slo, shi, lo, hi;
        rw_dist_chunk(n, g_size, (g_rank - k + g_size) % g_size, &slo, &shi);
        rw_dist_chunk(n, g_size, (g_rank - k - 1 + g_size) % g_size, &lo, &hi);
        rw_status st = sendrecv_f32(v + slo, shi - slo, next, v + lo, hi - lo,
                                    prev, 2, err);
        if (st != RW_OK)
            return st;
    }
    return RW_OK;
}

/* In-place MPI_Allreduce of n values of `size` bytes, in pieces whose
 * counts fit an int. */
static rw_status allreduce(void *v, size_t n, size_t size, MPI_Datatype type,
                           MPI_Op op, rw_error *err)
{
    char *p = v;
    for (size_t c0 = 0; c0 < n; c0 += (size_t)INT_MAX) {
        size_t m = n - c0 < (size_t)INT_MAX ? n - c0 : (size_t)INT_MAX;
        int rc = MPI_Allreduce(MPI_IN_PLACE, p + c0 * size, (int)m, type, op,
                               MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(err, rc, "all-reduce");
    }
    return RW_OK;
}

/* Small buffers (latency-bound) take one MPI_Allreduce: floats add
 * commutatively, and each of Open MPI's algorithms (recursive doubling,
 * ring, reduce-scatter plus all-gather, reduce plus broadcast) either sums
 * an element on one rank and copies it or has pairs of ranks add the same
 * two operands, so every rank gets the same bits; the checksum after each
 * rewiring and epoch (dist.c) would stop a run where they did not. Large
 * ones take the ring above, which promises it by construction and measured
 * faster here than Open MPI's choice (bench/mpi_allreduce, 11 MB, 2 ranks:
 * 3.6 ms against 6.4 ms; its own reduce-scatter alone took 11.6 ms). */
#define RING_MIN_FLOATS ((size_t)1 << 16)

rw_status rw_dist_sum_f32(float *v, size_t n, rw_error *err)
{
    if (g_size == 1)
        return RW_OK;
    static int ring = -1; /* RW_DIST_ALLREDUCE=mpi: MPI_Allreduce always */
    if (ring < 0) {
        const char *e = getenv("RW_DIST_ALLREDUCE");
        ring = !(e && !strcmp(e, "mpi"));
    }
    if (ring && n >= RING_MIN_FLOATS) {
        rw_status st = rw_dist_reduce_scatter_f32(v, n, err);
        return st == RW_OK ? rw_dist_allgather_f32(v, n, err) : st;
    }
    return allreduce(v, n, sizeof *v, MPI_FLOAT, MPI_SUM, err);
}

rw_status rw_dist_sum_f64(double *v, size_t n, rw_error *err)
{
    if (g_size == 1)
        return RW_OK;
    return allreduce(v, n, sizeof *v, MPI_DOUBLE, MPI_SUM, err);
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
    return allreduce(v, n, sizeof *v, MPI_UINT64_T, MPI_MAX, err);
}
