/* The transport's collectives under mpirun (ctest mpi_collectives, 2 and
 * 3 ranks): the ring's reduce-scatter, all-gather and sum against sums
 * known exactly (small whole numbers and halves add without rounding),
 * for sizes with empty chunks, uneven chunks, and each side of the size
 * where the sum switches from MPI_Allreduce to the ring. Every rank
 * checks its own result; the exit status is non-zero if any rank fails. */
#include "check.h"
#include "dist/dist.h"

#include <mpi.h>
#include <stdlib.h>

static float value(int rank, size_t i) { return (float)(rank * 7 + (int)(i % 97)) * 0.5f; }

/* The loader of rw_dist_reduce_scatter_load_f32: this rank's values. */
static int g_me;
static size_t g_loads;

static void load_values(void *ctx, size_t lo, size_t hi, float *dst, const float *add)
{
    (void)ctx;
    g_loads++;
    for (size_t i = lo; i < hi; i++)
        dst[i - lo] = value(g_me, i) + (add ? add[i - lo] : 0.0f);
}

static float total(int P, size_t i)
{
    float s = 0.0f;
    for (int r = 0; r < P; r++)
        s += value(r, i);
    return s;
}

int main(int argc, char **argv)
{
    rw_error err;
    if (rw_dist_init(&argc, &argv, &err) != RW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int P = rw_dist_size(), me = rw_dist_rank();
    CHECK_MSG(P > 1, "run under mpirun with 2 or more ranks (got %d)", P);
    const size_t sizes[] = {0, 1, 2, 3, 5, 1000, 65535, 65536, 65536 * 3 + 7};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        float *v = malloc((n + 1) * sizeof *v);
        if (!v)
            return 1;
        /* the sum */
        for (size_t i = 0; i < n; i++)
            v[i] = value(me, i);
        CHECK(rw_dist_sum_f32(v, n, &err) == RW_OK);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++)
            bad += v[i] != total(P, i);
        CHECK_MSG(bad == 0, "rank %d, sum of %zu floats: %zu wrong", me, n, bad);
        /* the reduce-scatter: this rank's chunk summed */
        for (size_t i = 0; i < n; i++)
            v[i] = value(me, i);
        CHECK(rw_dist_reduce_scatter_f32(v, n, &err) == RW_OK);
        size_t lo, hi, covered = 0;
        rw_dist_chunk(n, P, me, &lo, &hi);
        for (int r = 0; r < P; r++) {
            size_t a, b;
            rw_dist_chunk(n, P, r, &a, &b);
            CHECK(a == covered && b >= a && b - a <= n / (size_t)P + 1);
            covered = b;
        }
        CHECK(covered == n);
        bad = 0;
        for (size_t i = lo; i < hi; i++)
            bad += v[i] != total(P, i);
        CHECK_MSG(bad == 0, "rank %d, reduce-scatter of %zu: %zu wrong", me, n, bad);
        /* the same with this rank's values loaded where the ring needs
         * them: P calls (one to send first, P - 1 to add) */
        for (size_t i = 0; i < n; i++)
            v[i] = NAN;
        g_me = me;
        g_loads = 0;
        CHECK(rw_dist_reduce_scatter_load_f32(v, n, load_values, NULL, &err) == RW_OK);
        bad = 0;
        for (size_t i = lo; i < hi; i++)
            bad += v[i] != total(P, i);
        CHECK_MSG(bad == 0 && g_loads == (size_t)P,
                  "rank %d, loaded reduce-scatter of %zu: %zu wrong, %zu loads", me, n,
                  bad, g_loads);
        /* the all-gather: every rank's chunk everywhere */
        for (size_t i = lo; i < hi; i++)
            v[i] = (float)(me + 1);
        CHECK(rw_dist_allgather_f32(v, n, &err) == RW_OK);
        bad = 0;
        for (int r = 0; r < P; r++) {
            size_t a, b;
            rw_dist_chunk(n, P, r, &a, &b);
            for (size_t i = a; i < b; i++)
                bad += v[i] != (float)(r + 1);
        }
        CHECK_MSG(bad == 0, "rank %d, all-gather of %zu: %zu wrong", me, n, bad);
        free(v);
    }
    double d[3] = {me, 1.0, 0.25};
    CHECK(rw_dist_sum_f64(d, 3, &err) == RW_OK);
    CHECK(d[0] == P * (P - 1) / 2.0 && d[1] == P && d[2] == 0.25 * P);
    int failed = rw_test_failures > 0, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (me == 0 && !any)
        printf("collectives agree on %d ranks\n", P);
    rw_dist_finalize();
    return any;
}
