/* The memory ceiling of a layer too large for the caches. A streaming
 * sparse layer (src/layers/kernels, PF_FAR) reads, for every connection,
 * the batch row of a random neuron: 512 bytes at batch 128. This program
 * measures what the machine gives such reads, so that a kernel's time can
 * be set against it:
 *
 *   1. the latency of a dependent read (a pointer chase over a random
 *      cycle of cache lines) for working sets of 1 MiB to MAX MiB: where
 *      the caches end;
 *   2. the sequential read rate over the rows, on 1..T threads;
 *   3. the rate of reading whole rows at random, each fetched ahead
 *      (24 rows ahead, as the kernels do) with T0, T1 or not at all, on
 *      1..T threads: the ceiling of a streaming pass.
 *
 *   bench_memory [threads] [rows] [row bytes] [max MiB]
 *   (defaults: 2, 333333, 512, 512: the scale network's hidden layers)
 *
 * The arrays come from rw_alloc, the library's allocator, so they get the
 * pages a layer's arrays get. Times are wall-clock, best of three.
 */
#include "internal.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef float V4 __attribute__((vector_size(16)));

enum { AHEAD = 24, NREAD = 4000000 };

typedef struct job {
    const float *rows;
    const uint32_t *idx;
    size_t n0, n1, row_floats;
    int mode; /* 0 sequential, 1 random no prefetch, 2 random T0, 3 random T1 */
    float sum;
} job;

/* Adds the n floats at p (a multiple of 8) into two vector sums. */
static void add_span(const float *p, size_t n, V4 *s0, V4 *s1)
{
    for (size_t u = 0; u + 8 <= n; u += 8) {
        V4 a, b;
        memcpy(&a, p + u, 16);
        memcpy(&b, p + u + 4, 16);
        *s0 += a;
        *s1 += b;
    }
}

static void *run_job(void *arg)
{
    job *j = arg;
    const size_t rf = j->row_floats;
    V4 s0 = {0}, s1 = {0};
    if (j->mode == 0) {
        add_span(j->rows + j->n0 * rf, (j->n1 - j->n0) * rf, &s0, &s1);
    } else {
        for (size_t t = j->n0; t < j->n1; t++) {
            if (j->mode >= 2 && t + AHEAD < j->n1) {
                const float *q = j->rows + (size_t)j->idx[t + AHEAD] * rf;
                for (size_t u = 0; u < rf; u += 16) {
                    if (j->mode == 2)
                        __builtin_prefetch(q + u, 0, 3);
                    else
                        __builtin_prefetch(q + u, 0, 2);
                }
            }
            add_span(j->rows + (size_t)j->idx[t] * rf, rf, &s0, &s1);
        }
    }
    V4 s = s0 + s1;
    j->sum = s[0] + s[1] + s[2] + s[3];
    return NULL;
}

/* Seconds for `threads` threads to share [0, n) in `mode`, best of 3. */
static double timed(job *tmpl, size_t n, int threads)
{
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        job jobs[64];
        pthread_t tid[64];
        double t0 = rw_now();
        for (int k = 0; k < threads; k++) {
            jobs[k] = *tmpl;
            jobs[k].n0 = n * (size_t)k / (size_t)threads;
            jobs[k].n1 = n * (size_t)(k + 1) / (size_t)threads;
            if (k > 0 && pthread_create(&tid[k], NULL, run_job, &jobs[k]) != 0) {
                fprintf(stderr, "bench_memory: cannot start a thread\n");
                exit(1);
            }
        }
        run_job(&jobs[0]);
        for (int k = 1; k < threads; k++)
            pthread_join(tid[k], NULL);
        double t = rw_now() - t0;
        if (t < best)
            best = t;
        tmpl->sum += jobs[0].sum;
    }
    return best;
}

static long arg(char **argv, int argc, int i, long def, long lo, long hi, const char *what)
{
    if (i >= argc)
        return def;
    char *e;
    long v = strtol(argv[i], &e, 10);
    if (*e || v < lo || v > hi) {
        fprintf(stderr, "bench_memory: %s must be an integer in %ld..%ld, got \"%s\"\n",
                what, lo, hi, argv[i]);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: bench_memory [threads] [rows] [row bytes] [max MiB]\n"
               "  (defaults 2 333333 512 512: the scale network's hidden layers)\n"
               "Dependent-read latency by working-set size, then sequential and\n"
               "random row reads on 1..threads threads.\n");
        return 0;
    }
    int threads = (int)arg(argv, argc, 1, 2, 1, 64, "threads");
    size_t nrows = (size_t)arg(argv, argc, 2, 333333, 1024, 100000000, "rows");
    size_t rb = (size_t)arg(argv, argc, 3, 512, 64, 65536, "row bytes");
    size_t maxmb = (size_t)arg(argv, argc, 4, 512, 1, 65536, "max MiB");
    if (rb % 64) {
        fprintf(stderr, "bench_memory: row bytes must be a multiple of 64, got %zu\n", rb);
        return 2;
    }
    rw_error err;

    printf("dependent reads (pointer chase over a random cycle of cache lines), ns:\n");
    rw_rng rng;
    rw_rng_seed(&rng, 7);
    for (size_t mb = 1; mb <= maxmb; mb *= 2) {
        size_t n = mb * ((size_t)1 << 20) / 64;
        char *a = rw_alloc(n, 64, "chase", &err);
        uint32_t *perm = rw_alloc(n, sizeof *perm, "chase order", &err);
        if (!a || !perm) {
            fprintf(stderr, "bench_memory: %s\n", err.msg);
            return 1;
        }
        for (size_t i = 0; i < n; i++)
            perm[i] = (uint32_t)i;
        for (size_t i = n - 1; i > 0; i--) {
            size_t k = (size_t)rw_rng_below(&rng, i + 1);
            uint32_t t = perm[i];
            perm[i] = perm[k];
            perm[k] = t;
        }
        for (size_t i = 0; i < n; i++)
            *(void **)(a + (size_t)perm[i] * 64) = a + (size_t)perm[(i + 1) % n] * 64;
        void *p = a + (size_t)perm[0] * 64;
        size_t steps = 2000000;
        for (size_t i = 0; i < n && i < steps; i++)
            p = *(void **)p;
        double t0 = rw_now();
        for (size_t i = 0; i < steps; i++)
            p = *(void **)p;
        double t = rw_now() - t0;
        printf("  %6zu MiB: %6.1f%s\n", mb, t / (double)steps * 1e9, p ? "" : " ");
        rw_free(a);
        rw_free(perm);
    }

    size_t rf = rb / sizeof(float);
    float *rows = rw_alloc(nrows * rf, sizeof(float), "rows", &err);
    uint32_t *idx = rw_alloc(NREAD, sizeof *idx, "row order", &err);
    if (!rows || !idx) {
        fprintf(stderr, "bench_memory: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < nrows * rf; i++)
        rows[i] = 1.0f;
    for (size_t t = 0; t < NREAD; t++)
        idx[t] = (uint32_t)rw_rng_below(&rng, nrows);
    printf("\n%zu rows of %zu bytes (%.0f MiB); %d rows read at random, "
           "fetched %d rows ahead:\n", nrows, rb,
           (double)(nrows * rb) / (1 << 20), NREAD, AHEAD);
    printf("%8s %14s %26s %26s %26s\n", "threads", "sequential", "random, no prefetch",
           "random, T0", "random, T1");
    job tmpl = {.rows = rows, .idx = idx, .row_floats = rf};
    for (int th = 1; th <= threads; th++) {
        tmpl.mode = 0;
        double ts = timed(&tmpl, nrows, th);
        printf("%8d %9.1f GB/s", th, (double)(nrows * rb) / ts / 1e9);
        for (int m = 1; m <= 3; m++) {
            tmpl.mode = m;
            double t = timed(&tmpl, NREAD, th);
            printf("  %6.1f GB/s %6.1f ns/row", (double)NREAD * (double)rb / t / 1e9,
                   t / NREAD * 1e9 * th);
        }
        printf("\n");
    }
    printf("(ns/row is per thread. A streaming pass over C connections reads C\n"
           "rows at random: at best C x ns/row / threads.)\n");
    rw_free(rows);
    rw_free(idx);
    return tmpl.sum == 0.0f ? 1 : 0;
}
