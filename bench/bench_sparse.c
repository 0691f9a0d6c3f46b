/* Kernel benchmark: one 1000x1000 layer, batch 128, forward + backward,
 * dense (GEMM) against sparse (compressed rows) at several densities, in
 * one run so that the ratios are comparable on a noisy machine.
 *
 *   bench_sparse [--isa all|avx512|avx2|generic] [--precision fp32|bf16]
 *                [threads] [in] [out] [batch] [density,...] [block MiB]
 *
 * One thread is timed by its own CPU time (a busy machine's preemptions do
 * not count), more threads by the wall clock.
 *
 * Prints a table per SIMD path (--isa all, the default: every path this
 * CPU runs): the time of forward + backward and of each part, GFLOP/s, and
 * GFLOP/s as a share of the path's multiply-add peak, measured first by a
 * probe (bench/fma_probe.h) on the same threads, and as a share of the
 * bound that reading the layer's rows sets ("% bound"): a probe reads a
 * buffer the size of the rows, in order, with the path's vectors, and at
 * 2 x batch x 4 bytes of rows (2 at bf16) per connection for 6 x batch
 * flops, that rate bounds the passes. On the 2-core Xeon (AVX-512) the
 * 512 KiB of a 1000-neuron layer's rows come from the L2 at about 165 GB/s
 * a core, which bounds one thread at about 124 GFLOP/s, 58% of its
 * AVX-512 multiply-add peak: the passes cannot reach more there.
 *
 * With a density list the dense row is skipped (for layers too large to
 * hold densely, e.g. 333333 x 333333 at 0.00012). --precision bf16 makes
 * the sparse layers gather bf16 rows (rw_net_set_precision), including
 * the time they take to round them.
 */
#include "internal.h"

#include "bench_layer.h"
#include "bench_util.h"
#include "fma_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The clock: with one thread, the thread's own CPU time, so that another
 * process taking the core for a while does not count against the kernel
 * (the machines are shared); with more, the wall clock. */
static bool cpu_clock = false;

static double now(void)
{
    if (!cpu_clock)
        return rw_now();
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best of `reps` runs of 5 forward + backward passes; the forward share is
 * timed apart so that kernel changes can be told apart. */
static double time_layer(rw_layer *L, const float *x, float *dx, size_t B,
                         int reps, double *fwd)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double tf = 0, t0 = now();
        for (int k = 0; k < 5; k++) {
            double f0 = now();
            if (L->kind == RW_LAYER_SPARSE)
                rw_sparse_forward(L, x, B);
            else
                rw_dense_forward(L, x, B, false);
            tf += now() - f0;
            if (L->kind == RW_LAYER_SPARSE)
                rw_sparse_backward(L, x, dx, B);
            else
                rw_dense_backward(L, x, dx, B, false, RW_ACT_IDENTITY);
        }
        double t = (now() - t0) / 5;
        if (t < best) {
            best = t;
            *fwd = tf / 5;
        }
    }
    return best;
}

int main(int argc, char **argv)
{
    bench_prefer_brief_spin(argv);
    /* --isa may stand anywhere; the rest are positional. */
    const char *isa_arg = "all";
    rw_precision prec = RW_PRECISION_FP32;
    char *pos[8];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: bench_sparse [--isa all|avx512|avx2|generic] "
                   "[--precision fp32|bf16]\n"
                   "                    [threads] [in] [out] [batch] "
                   "[density,...] [block MiB]\n"
                   "  (defaults: all paths, fp32, 2 threads, 1000 1000 128, "
                   "densities 1,0.2,0.1,0.05,0.02,0.01,\n"
                   "  no batch tiling; a density list skips the dense row)\n"
                   "Times forward + backward of one layer per density, per "
                   "SIMD path, with GFLOP/s\nas a share of the path's "
                   "measured multiply-add peak and of the bound that\n"
                   "reading the layer's rows at the measured rate of a "
                   "buffer of their size sets (\"%% bound\").\n");
            return 0;
        }
        if (!strcmp(argv[i], "--isa") && i + 1 < argc)
            isa_arg = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            rw_error perr;
            if (rw_precision_parse(argv[++i], &prec, &perr) != RW_OK) {
                fprintf(stderr, "bench_sparse: %s\n", perr.msg);
                return 2;
            }
        } else if (np < 8)
            pos[np++] = argv[i];
    }
    const char *paths[3];
    int npaths = bench_isa_list(isa_arg, paths);
    if (npaths <= 0)
        return 2;
    int threads = rw_set_threads(np > 0 ? atoi(pos[0]) : 2);
    cpu_clock = threads == 1;
    size_t I = np > 1 ? (size_t)atol(pos[1]) : 1000;
    size_t O = np > 2 ? (size_t)atol(pos[2]) : 1000;
    size_t B = np > 3 ? (size_t)atol(pos[3]) : 128;
    /* Cache block of the sparse passes; a huge value turns tiling off. */
    if (np > 5)
        rw_sparse_set_block_bytes((size_t)(atof(pos[5]) * 1048576.0));
    rw_rng rng;
    rw_rng_seed(&rng, 3);
    rw_error err;
    float *x = rw_alloc(I * B, sizeof(float), "x", &err);
    float *dx = rw_alloc(I * B, sizeof(float), "dx", &err);
    uint16_t *h = prec == RW_PRECISION_BF16
                      ? rw_alloc(I > O ? I : O, B * sizeof(uint16_t), "bf16 rows", &err)
                      : NULL;
    if (!x || !dx || (prec == RW_PRECISION_BF16 && !h)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < I * B; i++)
        x[i] = (float)rw_rng_uniform(&rng);
    printf("layer %zu -> %zu, batch %zu, %d thread(s), %s rows, forward + "
           "backward (%s), ", I, O, B, threads, rw_precision_name(prec),
           cpu_clock ? "the thread's CPU time" : "wall time");
    bench_print_wait(stdout);
    printf("\n");
    double densities[16] = {1.0, 0.2, 0.1, 0.05, 0.02, 0.01};
    size_t nd = 6;
    if (np > 4) {
        nd = 0;
        for (char *p = strtok(pos[4], ","); p && nd < 16; p = strtok(NULL, ","))
            densities[nd++] = atof(p);
    }
    /* Big layers take seconds a pass: fewer repetitions. */
    int reps = I * O > ((size_t)1 << 28) ? 2 : 15;
    double dense_ms = 0;
    for (int ip = 0; ip < npaths; ip++) {
        rw_set_isa(paths[ip], NULL);
        double peak = fma_peak_gflops(paths[ip], threads);
        /* Every connection reads a row of B values of the layer's input in
         * the forward pass and one of its output error in the backward
         * pass, 2 B es bytes for 6 B flops: the rate at which a thread
         * reads rows of that size bounds the kernels at 3 / es flops per
         * byte read (the indices and weights not counted). */
        size_t es = prec == RW_PRECISION_BF16 ? 2 : 4;
        size_t row_bytes = (I > O ? I : O) * B * es;
        double bw = read_bw_gbs(paths[ip], row_bytes, threads);
        double bound = 3.0 / (double)es * bw;
        printf("\nsparse kernels: %s; multiply-add peak of its width on %d "
               "thread(s): %.1f GFLOP/s\n",
               rw_isa(), threads, peak);
        printf("reading %.0f KiB of rows a thread: %.1f GB/s, which bounds "
               "the sparse passes at %.1f GFLOP/s (%.0f%% of the peak)\n",
               (double)row_bytes / 1024.0, bw, bound,
               peak > 0 ? 100.0 * bound / peak : 0.0);
        printf("%8s %12s %10s %10s %10s %10s %8s %8s %10s\n", "density",
               "connections", "ms", "fwd ms", "bwd ms", "GFLOP/s", "% peak",
               "% bound", "vs dense");
        for (size_t d = 0; d < nd; d++) {
            /* The dense layer runs the GEMM, the same on every path. */
            if (densities[d] >= 1.0 && ip > 0) {
                printf("%7.2f%% %12zu %10.3f %10s %10s %10s %8s %8s %9.1fx\n", 100.0,
                       I * O, dense_ms, "", "", "(GEMM)", "", "", 1.0);
                continue;
            }
            rw_rng_seed(&rng, 5 + d); /* the same layer for every path */
            rw_layer L;
            if (!bench_layer(&L, I, O, B, densities[d], &rng))
                return 1;
            if (L.kind == RW_LAYER_SPARSE)
                L.h = h;
            double fwd = 0;
            double t = time_layer(&L, x, dx, B, reps, &fwd);
            if (densities[d] >= 1.0)
                dense_ms = t * 1e3;
            double gflops = 6.0 * (double)L.nw * (double)B / t / 1e9;
            printf("%7.2f%% %12zu %10.3f %10.3f %10.3f %10.1f", 100 * densities[d],
                   L.nw, t * 1e3, fwd * 1e3, (t - fwd) * 1e3, gflops);
            if (densities[d] >= 1.0)
                printf(" %8s %8s", "(GEMM)", "");
            else
                printf(" %7.0f%% %7.0f%%", peak > 0 ? 100.0 * gflops / peak : 0.0,
                       bound > 0 ? 100.0 * gflops / bound : 0.0);
            if (dense_ms > 0) /* no dense row when a density list is given */
                printf(" %9.1fx\n", dense_ms / (t * 1e3));
            else
                printf(" %10s\n", "-");
            fflush(stdout);
            rw_layer_free(&L);
        }
    }
    rw_free(x);
    rw_free(dx);
    rw_free(h);
    return 0;
}
