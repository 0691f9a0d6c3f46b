/* The all-reduce alone, on the fused gradient buffers of the benchmark
 * network (784-1000-1000-1000-10: 2,797,012 floats dense, 152,212 at 5%):
 * MPI_Allreduce in place against a reduce-scatter plus all-gather (in
 * place, and from a copy), a ring of send-receives, and rewire's own sum
 * (rw_dist_sum_f32) over shared memory and over its ring, alternating in
 * one run; then the collectives of the sharded step as training runs them
 * (each rank's scaled gradients reduce-scattered straight from a gradient
 * array, and the updated weights all-gathered straight between a weight
 * array and the transport), on each path. Best of 30, and the median, per
 * size. docs/distributed.md checks the ring model
 * against it.
 *   mpirun -np N build/bench/mpi_allreduce [FLOATS ...] */
#include "dist/dist.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(i % 7) * 0.1f;
}

/* The sharded step's loaders, as src/dist/dist.c has them: gradients
 * scaled by this rank's share into the transport, weights out of and into
 * one array. */
typedef struct arrays {
    const float *g;
    float *w;
} arrays;

static void load_grads(void *ctx, size_t lo, size_t hi, float *dst, const float *add)
{
    const float *g = ((const arrays *)ctx)->g;
    for (size_t i = lo; i < hi; i++)
        dst[i - lo] = 0.5f * g[i] + (add ? add[i - lo] : 0.0f);
}

static void load_weights(void *ctx, size_t lo, size_t hi, float *dst, const float *add)
{
    (void)add;
    memcpy(dst, ((arrays *)ctx)->w + lo, (hi - lo) * sizeof *dst);
}

static void store_weights(void *ctx, size_t lo, size_t hi, const float *src)
{
    memcpy(((arrays *)ctx)->w + lo, src, (hi - lo) * sizeof *src);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    rw_error err;
    if (rw_dist_init(&argc, &argv, &err) != RW_OK || rw_dist_size() < 2) {
        fprintf(stderr, "mpi_allreduce: run under mpirun with 2 or more ranks\n");
        return 1;
    }
    int r, p;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &p);
    /* The benchmark network's buffers, or the float counts given. */
    size_t sizes[16] = {2797012, 152212};
    int ns = 2;
    if (argc > 1) {
        ns = 0;
        for (int i = 1; i < argc && ns < 16; i++) {
            char *end;
            unsigned long long v = strtoull(argv[i], &end, 10);
            if (end == argv[i] || *end || v == 0 || v > ((size_t)1 << 30)) {
                if (r == 0)
                    fprintf(stderr, "mpi_allreduce: argument %d, '%s': expected a "
                                    "float count from 1 to 2^30\n", i, argv[i]);
                rw_dist_finalize();
                return 2;
            }
            sizes[ns++] = (size_t)v;
        }
    }
    for (int si = 0; si < ns; si++) {
        size_t n = sizes[si], per = (n + (size_t)p - 1) / (size_t)p, pad = per * (size_t)p;
        float *v = calloc(pad, sizeof *v), *w = calloc(pad, sizeof *w);
        if (!v || !w)
            MPI_Abort(MPI_COMM_WORLD, 1);
        double best[8] = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9};
        static const char *const paths[2] = {"shm", "ring"};
        const char *took = "?"; /* "ring" if shared memory was refused */
        float *tmp = calloc(per, sizeof *tmp);
        if (!tmp)
            MPI_Abort(MPI_COMM_WORLD, 1);
        for (int it = 0; it < 30; it++) {
            double t[8];
            fill(v, n);
            MPI_Barrier(MPI_COMM_WORLD);
            t[0] = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            t[0] = MPI_Wtime() - t[0];
            fill(v, n);
            MPI_Barrier(MPI_COMM_WORLD);
            t[1] = MPI_Wtime();
            MPI_Reduce_scatter_block(MPI_IN_PLACE, v, (int)per, MPI_FLOAT, MPI_SUM,
                                     MPI_COMM_WORLD);
            if (r)
                memmove(v + (size_t)r * per, v, per * sizeof *v);
            MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, v, (int)per, MPI_FLOAT,
                          MPI_COMM_WORLD);
            t[1] = MPI_Wtime() - t[1];
            fill(v, n);
            MPI_Barrier(MPI_COMM_WORLD);
            t[2] = MPI_Wtime();
            memcpy(w, v, n * sizeof *v);
            MPI_Reduce_scatter_block(w, v + (size_t)r * per, (int)per, MPI_FLOAT,
                                     MPI_SUM, MPI_COMM_WORLD);
            MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, v, (int)per, MPI_FLOAT,
                          MPI_COMM_WORLD);
            t[2] = MPI_Wtime() - t[2];
            fill(v, n);
            MPI_Barrier(MPI_COMM_WORLD);
            t[3] = MPI_Wtime();
            MPI_Reduce_scatter_block(MPI_IN_PLACE, v, (int)per, MPI_FLOAT, MPI_SUM,
                                     MPI_COMM_WORLD);
            t[3] = MPI_Wtime() - t[3];
            MPI_Barrier(MPI_COMM_WORLD);
            t[4] = MPI_Wtime();
            MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, v, (int)per, MPI_FLOAT,
                          MPI_COMM_WORLD);
            t[4] = MPI_Wtime() - t[4];
            /* The ring by point-to-point: P - 1 steps of reduce-scatter,
             * rank r ending with the sum of chunk r, then P - 1 of
             * all-gather. */
            fill(v, n);
            MPI_Barrier(MPI_COMM_WORLD);
            t[5] = MPI_Wtime();
            int nx = (r + 1) % p, pv = (r + p - 1) % p;
            for (int k = 1; k < p; k++) {
                int sc = (r - k + p) % p, rc = (r - k - 1 + 2 * p) % p;
                MPI_Sendrecv(v + (size_t)sc * per, (int)per, MPI_FLOAT, nx, 0, tmp,
                             (int)per, MPI_FLOAT, pv, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                float *d = v + (size_t)rc * per;
                for (size_t i = 0; i < per; i++)
                    d[i] += tmp[i];
            }
            for (int k = 0; k + 1 < p; k++) {
                int sc = (r - k + p) % p, rc = (r - k - 1 + p) % p;
                MPI_Sendrecv(v + (size_t)sc * per, (int)per, MPI_FLOAT, nx, 1,
                             v + (size_t)rc * per, (int)per, MPI_FLOAT, pv, 1,
                             MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            }
            t[5] = MPI_Wtime() - t[5];
            for (int k = 0; k < 2; k++) {
                if (rw_dist_use_transport(paths[k], &err) != RW_OK)
                    MPI_Abort(MPI_COMM_WORLD, 1);
                fill(v, n);
                MPI_Barrier(MPI_COMM_WORLD);
                t[6 + k] = MPI_Wtime();
                if (rw_dist_sum_f32(v, n, &err) != RW_OK) {
                    fprintf(stderr, "%s\n", err.msg);
                    MPI_Abort(MPI_COMM_WORLD, 1);
                }
                t[6 + k] = MPI_Wtime() - t[6 + k];
                if (k == 0)
                    took = rw_dist_transport();
            }
            for (int k = 0; k < 8; k++)
                if (t[k] < best[k])
                    best[k] = t[k];
        }
        if (r == 0)
            printf("ranks %d, %zu floats (%zu bytes): allreduce %.2f ms, "
                   "reduce-scatter+all-gather in place %.2f ms, from a copy %.2f ms\n",
                   p, n, n * sizeof(float), 1e3 * best[0], 1e3 * best[1], 1e3 * best[2]);
        if (r == 0)
            printf("  reduce-scatter alone %.2f ms, all-gather alone %.2f ms, "
                   "ring of send-receives %.2f ms\n", 1e3 * best[3], 1e3 * best[4],
                   1e3 * best[5]);
        if (r == 0)
            printf("  rewire's sum: over shared memory %.2f ms (took: %s), its ring "
                   "%.2f ms\n", 1e3 * best[6], took, 1e3 * best[7]);
        /* The sharded step's collectives: w stands for the weights, v for
         * the fused buffer the optimizer reads. */
        arrays a = {tmp, w};
        double step[2][30];
        for (size_t i = 0; i < per; i++)
            tmp[i] = (float)(i % 5);
        float *g = calloc(pad, sizeof *g);
        if (!g)
            MPI_Abort(MPI_COMM_WORLD, 1);
        fill(g, n);
        a.g = g;
        for (int it = 0; it < 30; it++) {
            for (int k = 0; k < 2; k++) {
                if (rw_dist_use_transport(paths[k], &err) != RW_OK)
                    MPI_Abort(MPI_COMM_WORLD, 1);
                MPI_Barrier(MPI_COMM_WORLD);
                double t0 = MPI_Wtime();
                if (rw_dist_reduce_scatter_load_f32(v, n, load_grads, &a, &err) != RW_OK ||
                    rw_dist_allgather_io_f32(v, n, load_weights, store_weights, &a,
                                             &err) != RW_OK) {
                    fprintf(stderr, "%s\n", err.msg);
                    MPI_Abort(MPI_COMM_WORLD, 1);
                }
                step[k][it] = MPI_Wtime() - t0;
            }
        }
        for (int k = 0; k < 2; k++)
            qsort(step[k], 30, sizeof step[k][0], by_value);
        if (r == 0)
            printf("  the sharded step's collectives: over shared memory %.2f ms "
                   "(median %.2f), its ring %.2f ms (median %.2f)\n", 1e3 * step[0][0],
                   1e3 * step[0][15], 1e3 * step[1][0], 1e3 * step[1][15]);
        free(g);
        free(tmp);
        free(v);
        free(w);
    }
    rw_dist_finalize();
    return 0;
}
