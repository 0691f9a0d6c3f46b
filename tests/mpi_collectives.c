/* The transport's collectives under mpirun (ctest mpi_collectives, 2 and
 * 3 ranks), over shared memory and over the ring: the reduce-scatter,
 * all-gather and sum against sums known exactly (small whole numbers and
 * halves add without rounding), for sizes with empty chunks, uneven
 * chunks, and each side of the size where the sum switches from
 * MPI_Allreduce to the reduce-scatter and all-gather; the all-gather with
 * a loader and a store; and the two paths against each other on values
 * that round, bit for bit, since they must add in the same order (4 ranks
 * order the middle ones); a small sum's path (MPI_Allreduce); leaving
 * (rw_dist_leave): the last rank leaves while the others wait in a call
 * it has not made, and is told so, joins the call and leaves again, now
 * with the others, one of them late. Every
 * rank checks its own result; the exit status is non-zero if any rank
 * fails. */
#include "check.h"
#include "dist/dist.h"

#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* The all-gather's loader and store: this rank's chunk from `src`, the
 * others' into `dst`, counting the calls and the values stored. */
typedef struct gather_arrays {
    const float *src;
    float *dst;
    size_t loads, stores, stored;
} gather_arrays;

static void gather_load(void *ctx, size_t lo, size_t hi, float *dst, const float *add)
{
    gather_arrays *g = ctx;
    g->loads++;
    for (size_t i = lo; i < hi; i++)
        dst[i - lo] = g->src[i] + (add ? 1e9f : 0.0f); /* add must be NULL */
}

static void gather_store(void *ctx, size_t lo, size_t hi, const float *src)
{
    gather_arrays *g = ctx;
    g->stores++;
    g->stored += hi - lo;
    for (size_t i = lo; i < hi; i++)
        g->dst[i] = src[i - lo];
}

/* Values that round when added, the same on every path. */
static float rough(int rank, size_t i)
{
    uint32_t h = (uint32_t)(i * 2654435761u) ^ (uint32_t)(rank * 40503 + 17);
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    return ((float)(h & 0xffffff) / 16777216.0f - 0.5f) * (float)(1 + rank);
}

/* Scaled, as training's loader scales each rank's gradients by its share
 * (so that a multiply-add fused on some hops would show). */
static void load_rough(void *ctx, size_t lo, size_t hi, float *dst, const float *add)
{
    (void)ctx;
    for (size_t i = lo; i < hi; i++)
        dst[i - lo] = 0.3f * rough(g_me, i) + (add ? add[i - lo] : 0.0f);
}

static float total(int P, size_t i)
{
    float s = 0.0f;
    for (int r = 0; r < P; r++)
        s += value(r, i);
    return s;
}

static void check_path(int P, int me)
{
    rw_error err;
    /* each side of where sums leave MPI_Allreduce (2^16) and where shared
     * memory takes over from the ring (2^18) */
    const size_t sizes[] = {0, 1, 2, 3, 5, 1000, 65535, 65536, 65536 * 3 + 7,
                            262143, 262144 + 5};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        float *v = malloc((n + 1) * sizeof *v);
        if (!v)
            exit(1);
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
        /* the same through a loader and a store, v left as scratch */
        float *src = malloc((n + 1) * sizeof *src), *dst = malloc((n + 1) * sizeof *dst);
        if (!src || !dst)
            exit(1);
        for (size_t i = 0; i < n; i++) {
            src[i] = i >= lo && i < hi ? (float)(me + 1) * 0.25f : NAN;
            dst[i] = -1.0f;
        }
        gather_arrays ga = {src, dst, 0, 0, 0};
        CHECK(rw_dist_allgather_io_f32(v, n, gather_load, gather_store, &ga, &err) == RW_OK);
        bad = 0;
        for (int r = 0; r < P; r++) {
            size_t a, b;
            rw_dist_chunk(n, P, r, &a, &b);
            for (size_t i = a; i < b; i++)
                bad += r == me ? dst[i] != -1.0f : dst[i] != (float)(r + 1) * 0.25f;
        }
        CHECK_MSG(bad == 0 && ga.loads == 1 && ga.stores == (size_t)(P - 1) &&
                      ga.stored == n - (hi - lo),
                  "rank %d, all-gather of %zu through a store: %zu wrong, %zu loads, "
                  "%zu stores of %zu values", me, n, bad, ga.loads, ga.stores, ga.stored);
        free(src);
        free(dst);
        free(v);
    }
}

/* Shared memory and the ring add in the same order: the same bits, for
 * the sum and for the loaded reduce-scatter, on values that round. */
static void check_same_bits(int P, int me)
{
    rw_error err;
    const size_t n = 262144 * 2 + 11; /* over shared memory, where it is on */
    float *v[2];
    for (int k = 0; k < 2; k++) {
        v[k] = malloc(n * sizeof *v[k]);
        if (!v[k])
            exit(1);
    }
    static const char *const paths[] = {"shm", "ring"};
    for (int k = 0; k < 2; k++) {
        CHECK(rw_dist_use_transport(paths[k], &err) == RW_OK);
        rw_dist_reset_paths();
        for (size_t i = 0; i < n; i++)
            v[k][i] = rough(me, i);
        CHECK(rw_dist_sum_f32(v[k], n, &err) == RW_OK);
        CHECK_MSG(!strcmp(rw_dist_transport(), paths[k]), "rank %d: %s took %s", me,
                  paths[k], rw_dist_transport());
    }
    size_t differ = 0, rounded = 0;
    for (size_t i = 0; i < n; i++) {
        differ += memcmp(&v[0][i], &v[1][i], sizeof(float)) != 0;
        float s = 0.0f; /* in rank order: rounds differently at 3 ranks */
        for (int r = 0; r < P; r++)
            s += rough(r, i);
        rounded += fabsf(s - v[0][i]) > 1e-5f * (float)P * (float)P;
    }
    CHECK_MSG(differ == 0 && rounded == 0,
              "rank %d: shm and ring sums differ in %zu of %zu bits, %zu far off", me,
              differ, n, rounded);
    size_t lo, hi;
    rw_dist_chunk(n, P, me, &lo, &hi);
    for (int k = 0; k < 2; k++) {
        CHECK(rw_dist_use_transport(paths[k], &err) == RW_OK);
        rw_dist_reset_paths();
        g_me = me;
        g_loads = 0;
        CHECK(rw_dist_reduce_scatter_load_f32(v[k], n, load_rough, NULL, &err) == RW_OK);
        CHECK_MSG(!strcmp(rw_dist_transport(), paths[k]), "rank %d: %s took %s", me,
                  paths[k], rw_dist_transport());
    }
    differ = 0;
    for (size_t i = lo; i < hi; i++)
        differ += memcmp(&v[0][i], &v[1][i], sizeof(float)) != 0;
    CHECK_MSG(differ == 0, "rank %d: loaded reduce-scatters differ in %zu of %zu", me,
              differ, hi - lo);
    free(v[0]);
    free(v[1]);
}

/* The last rank leaves first, while the others wait in a collective: it
 * is told, names them, makes the call after all, and then every rank
 * leaves, rank 0 a moment after the others (which wait for it). */
static void check_leave(int P, int me)
{
    rw_error err;
    if (me == P - 1) {
        err.msg[0] = '\0';
        CHECK(rw_dist_leave(&err) == RW_ERR_DIST);
        char want[80];
        snprintf(want, sizeof want, "rank %d is leaving while rank ", me);
        CHECK_MSG(strstr(err.msg, want) && strstr(err.msg, "waits in a collective"),
                  "rank %d: %s", me, err.msg);
    }
    CHECK(rw_dist_min_int(me + 1) == 1);
    if (me == 0) {
        struct timespec ts = {0, 300000000};
        nanosleep(&ts, NULL);
    }
    CHECK_MSG(rw_dist_leave(&err) == RW_OK, "rank %d: %s", me, err.msg);
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
    static const char *const paths[] = {"shm", "ring"};
    for (int pi = 0; pi < 2; pi++) {
        CHECK(rw_dist_use_transport(paths[pi], &err) == RW_OK);
        check_path(P, me);
        /* shm on one machine (every ctest run), else the ring */
        CHECK_MSG(!strcmp(rw_dist_transport(), paths[pi]), "rank %d: asked for %s, took %s",
                  me, paths[pi], rw_dist_transport());
    }
    CHECK(rw_dist_use_transport("tcp", &err) == RW_ERR_ARG);
    /* Small sums take one MPI_Allreduce, and say so. */
    CHECK(rw_dist_use_transport("shm", &err) == RW_OK);
    rw_dist_reset_paths();
    float small[3] = {1.0f, 2.0f, (float)me};
    CHECK(rw_dist_sum_f32(small, 3, &err) == RW_OK);
    CHECK(small[0] == (float)P && small[2] == (float)(P * (P - 1) / 2));
    CHECK_MSG(!strcmp(rw_dist_transport(), "mpi"), "rank %d: a small sum took %s", me,
              rw_dist_transport());
    check_same_bits(P, me);
    double d[3] = {me, 1.0, 0.25};
    CHECK(rw_dist_sum_f64(d, 3, &err) == RW_OK);
    CHECK(d[0] == P * (P - 1) / 2.0 && d[1] == P && d[2] == 0.25 * P);
    int failed = rw_test_failures > 0, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (me == 0 && !any)
        printf("collectives agree on %d ranks\n", P);
    check_leave(P, me);
    rw_dist_finalize();
    if (me == 0 && rw_test_failures == 0)
        printf("leaving: told, then waited\n");
    any |= rw_test_failures > 0;
    return any;
}
