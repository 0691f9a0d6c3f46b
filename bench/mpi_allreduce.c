/* The all-reduce alone, on the fused gradient buffers of the benchmark
 * network (784-1000-1000-1000-10: 2,797,012 floats dense, 152,212 at 5%):
 * MPI_Allreduce in place against a reduce-scatter plus all-gather (in
 * place, and from a copy). Best of 30 per size. docs/distributed.md checks
 * the ring model against it.
 *   mpirun -np N build/bench/mpi_allreduce */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(i % 7) * 0.1f;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int r, p;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &p);
    const size_t sizes[2] = {2797012, 152212};
    for (int si = 0; si < 2; si++) {
        size_t n = sizes[si], per = (n + (size_t)p - 1) / (size_t)p, pad = per * (size_t)p;
        float *v = calloc(pad, sizeof *v), *w = calloc(pad, sizeof *w);
        if (!v || !w)
            MPI_Abort(MPI_COMM_WORLD, 1);
        double best[6] = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9};
        float *tmp = calloc(per, sizeof *tmp);
        if (!tmp)
            MPI_Abort(MPI_COMM_WORLD, 1);
        for (int it = 0; it < 30; it++) {
            double t[6];
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
            for (int k = 0; k < 6; k++)
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
        free(tmp);
        free(v);
        free(w);
    }
    MPI_Finalize();
    return 0;
}
