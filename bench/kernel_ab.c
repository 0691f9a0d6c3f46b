/* Two builds of the sparse kernels, A and B, timed against each other in
 * one process (bench/kernel_ab.sh compiles them and this): a 1000x1000
 * layer, batch 128, one thread, forward and backward (ReLU), alternating
 * A and B at every repetition, best of ROUNDS each. On a shared machine
 * whose speed drifts over seconds, two benchmark processes run one after
 * the other disagree by more than a kernel change; alternating every few
 * milliseconds in one process they do not. Also checks that A and B give
 * the same bits (a prefetch or a schedule changes no result): the outputs,
 * the input errors and the weight and bias gradients.
 *
 * Two estimates of B's time over A's: the ratio of the best times, and the
 * median of the ratios of each round's pair (with the quartiles), which a
 * noisy neighbour that slows whole rounds disturbs less: A and B of one
 * round ran within milliseconds of each other.
 *
 *   kernel_ab DENSITIES ROUNDS [INxOUT]   e.g. kernel_ab 0.2,0.05,0.01 40
 *
 * INxOUT (default 1000x1000) times another layer, e.g. 333333x333333 at
 * 0.00012 for the scale network's streaming layers (one pass per side
 * and round there, three below a million connections).
 */
#include "bench_layer.h"
#include "layers/kernels/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const rw_sparse_kernels rw_kernels_ab_A, rw_kernels_ab_B;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t I = 1000, O = 1000;
    const size_t B = 128;
    char list[256] = "0.2,0.1,0.05,0.02,0.01";
    if (argc > 1)
        snprintf(list, sizeof list, "%s", argv[1]);
    int rounds = argc > 2 ? atoi(argv[2]) : 40;
    if (rounds < 1 || rounds > 100000) {
        fprintf(stderr, "kernel_ab: ROUNDS must be 1..100000, got %s\n", argv[2]);
        return 2;
    }
    if (argc > 3) {
        char *e;
        unsigned long long i = strtoull(argv[3], &e, 10), o = 0;
        if (*e == 'x')
            o = strtoull(e + 1, &e, 10);
        if (*e || i < 1 || o < 1 || i > 10000000 || o > 10000000) {
            fprintf(stderr, "kernel_ab: the layer must be INxOUT, each 1..10000000, "
                            "e.g. 333333x333333, got \"%s\"\n", argv[3]);
            return 2;
        }
        I = (size_t)i;
        O = (size_t)o;
    }
    rw_set_threads(1);
    rw_rng rng;
    rw_rng_seed(&rng, 3);
    rw_error err;
    float *x = rw_alloc(I * B, sizeof(float), "x", &err);
    /* One input-error buffer for both sides (two would sit at other
     * offsets from the layer's rows and could favour one side), copied
     * out after each pass to compare the results. */
    float *dxb = rw_alloc(I * B, sizeof(float), "dx", &err);
    float *dx[2] = {rw_alloc(I * B, sizeof(float), "dx", &err),
                    rw_alloc(I * B, sizeof(float), "dx", &err)};
    float *y[2] = {rw_alloc(O * B, sizeof(float), "y", &err),
                   rw_alloc(O * B, sizeof(float), "y", &err)};
    if (!x || !dxb || !dx[0] || !dx[1] || !y[0] || !y[1]) {
        fprintf(stderr, "kernel_ab: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < I * B; i++)
        x[i] = (float)rw_rng_uniform(&rng);
    const rw_sparse_kernels *K[2] = {&rw_kernels_ab_A, &rw_kernels_ab_B};
    printf("%zux%zu, batch 128, 1 thread; best of %d alternating runs, ms\n",
           I, O, rounds);
    double *pair = malloc((size_t)rounds * 3 * sizeof *pair);
    if (!pair) {
        fprintf(stderr, "kernel_ab: out of memory\n");
        return 1;
    }
    double *pairf = pair + rounds, *pairb = pair + 2 * (size_t)rounds;
    printf("%8s %9s %9s %9s %9s %8s %8s %8s  %-22s %6s  %s\n", "density", "A fwd",
           "A bwd", "B fwd", "B bwd", "B/A fwd", "B/A bwd", "B/A",
           "median B/A (quartiles)", "bits", "median fwd / bwd");
    for (char *p = strtok(list, ","); p; p = strtok(NULL, ",")) {
        double dens = atof(p);
        if (!(dens > 0 && dens <= 1)) {
            fprintf(stderr, "kernel_ab: a density must be in (0, 1], got %s\n", p);
            return 2;
        }
        rw_layer L;
        rw_rng_seed(&rng, 5);
        if (dens >= 1.0) {
            fprintf(stderr, "kernel_ab: density 1 is the GEMM, not the sparse kernels\n");
            return 2;
        }
        if (!bench_layer(&L, I, O, B, dens, &rng))
            return 1;
        int reps = dens * (double)I * (double)O > 1e6 ? 1 : 3;
        float *gw[2] = {malloc(L.nw * sizeof(float)), malloc(L.nw * sizeof(float))};
        float *gb[2] = {malloc(O * sizeof(float)), malloc(O * sizeof(float))};
        if (!gw[0] || !gw[1] || !gb[0] || !gb[1]) {
            fprintf(stderr, "kernel_ab: out of memory\n");
            return 1;
        }
        double bf[2] = {1e30, 1e30}, bb[2] = {1e30, 1e30};
        bool same = true;
        for (int r = 0; r < rounds; r++) {
            double tf[2], tb[2];
            for (int v = 0; v < 2; v++) {
                int k = (r & 1) ? 1 - v : v; /* ABBA: neither goes first */
                rw_kernels_set_test_table(K[k]);
                double t0 = cpu_now();
                for (int j = 0; j < reps; j++)
                    rw_sparse_forward(&L, x, B);
                double t1 = cpu_now();
                for (int j = 0; j < reps; j++)
                    rw_sparse_backward_act(&L, x, dxb, B, RW_ACT_RELU);
                double t2 = cpu_now();
                memcpy(y[k], L.a, O * B * sizeof(float));
                memcpy(dx[k], dxb, I * B * sizeof(float));
                memcpy(gw[k], L.gw, L.nw * sizeof(float));
                memcpy(gb[k], L.gb, O * sizeof(float));
                if ((t1 - t0) / reps < bf[k])
                    bf[k] = (t1 - t0) / reps;
                if ((t2 - t1) / reps < bb[k])
                    bb[k] = (t2 - t1) / reps;
                tf[k] = t1 - t0;
                tb[k] = t2 - t1;
            }
            pair[r] = (tf[1] + tb[1]) / (tf[0] + tb[0]);
            pairf[r] = tf[1] / tf[0];
            pairb[r] = tb[1] / tb[0];
        }
        qsort(pair, (size_t)rounds, sizeof *pair, cmp_double);
        qsort(pairf, (size_t)rounds, sizeof *pair, cmp_double);
        qsort(pairb, (size_t)rounds, sizeof *pair, cmp_double);
        char med[40];
        snprintf(med, sizeof med, "%.3f (%.3f-%.3f)", pair[rounds / 2],
                 pair[rounds / 4], pair[(3 * rounds) / 4]);
        same = !memcmp(y[0], y[1], O * B * sizeof(float)) &&
               !memcmp(dx[0], dx[1], I * B * sizeof(float)) &&
               !memcmp(gw[0], gw[1], L.nw * sizeof(float)) &&
               !memcmp(gb[0], gb[1], O * sizeof(float));
        for (int k = 0; k < 2; k++) {
            free(gw[k]);
            free(gb[k]);
        }
        printf("%7.2f%% %9.3f %9.3f %9.3f %9.3f %8.3f %8.3f %8.3f  %-22s %6s  %.3f / %.3f\n",
               100 * dens, bf[0] * 1e3, bb[0] * 1e3, bf[1] * 1e3, bb[1] * 1e3,
               bf[1] / bf[0], bb[1] / bb[0], (bf[1] + bb[1]) / (bf[0] + bb[0]),
               med, same ? "same" : "DIFFER", pairf[rounds / 2], pairb[rounds / 2]);
        fflush(stdout);
        rw_layer_free(&L);
    }
    rw_kernels_set_test_table(NULL);
    free(pair);
    return 0;
}
