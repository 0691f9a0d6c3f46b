/* The machine's multiply-add peak per vector width, measured: twelve
 * independent chains of vector multiply-adds (enough to cover the latency
 * of two FMA units), on every thread at once. Each path's GFLOP/s in the
 * benchmarks is stated as a share of its own width's peak.
 *
 * Timed by each thread's CPU time, so that a busy machine's preemptions do
 * not lower the peak; the kernels are timed by the wall clock, so on a busy
 * machine their share of the peak comes out low, never high.
 *
 * The generic path is compiled for baseline x86-64 (SSE2, no FMA), so its
 * peak is that of 4-wide multiplies and adds issued separately. */
#ifndef RW_FMA_PROBE_H
#define RW_FMA_PROBE_H

#include "rewire.h"

#include <omp.h>
#include <string.h>
#include <time.h>

#define PROBE_CHAINS 12
#define PROBE_ITERS 4000000L

#define PROBE_BODY(V)                                                        \
    V m, c, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11;                \
    memset(&m, 0, sizeof m);                                                 \
    m += 0.999999f;                                                          \
    c = m * 1e-7f;                                                           \
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = a9 = a10 = a11 = c;         \
    for (long it = 0; it < iters; it++) {                                    \
        a0 = a0 * m + c;                                                     \
        a1 = a1 * m + c;                                                     \
        a2 = a2 * m + c;                                                     \
        a3 = a3 * m + c;                                                     \
        a4 = a4 * m + c;                                                     \
        a5 = a5 * m + c;                                                     \
        a6 = a6 * m + c;                                                     \
        a7 = a7 * m + c;                                                     \
        a8 = a8 * m + c;                                                     \
        a9 = a9 * m + c;                                                     \
        a10 = a10 * m + c;                                                   \
        a11 = a11 * m + c;                                                   \
        /* twelve chains the compiler may neither merge nor drop */          \
        __asm__("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4),       \
                "+v"(a5), "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), \
                "+v"(a11));                                                  \
    }                                                                        \
    V s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) +                \
          ((a8 + a9) + (a10 + a11));                                         \
    return s[0]

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("arch=x86-64-v4"), noinline)) static float
probe_avx512(long iters)
{
    typedef float V __attribute__((vector_size(64)));
    PROBE_BODY(V);
}

__attribute__((target("arch=x86-64-v3"), noinline)) static float
probe_avx2(long iters)
{
    typedef float V __attribute__((vector_size(32)));
    PROBE_BODY(V);
}
#endif

__attribute__((noinline)) static float probe_generic(long iters)
{
    typedef float V __attribute__((vector_size(16)));
    PROBE_BODY(V);
}

/* Peak GFLOP/s of a path's width on `threads` threads (0 when the CPU
 * cannot run it). A multiply-add counts as 2 flops. */
static inline double fma_peak_gflops(const char *path, int threads)
{
    if (!rw_isa_supported(path))
        return 0.0;
    int lanes = !strcmp(path, "avx512") ? 16 : !strcmp(path, "avx2") ? 8 : 4;
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        /* Each thread's own CPU time, the longest counting: a probe that
         * another process preempts still measures the core's speed. */
        double t = 0.0;
        float sink = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : sink) reduction(max : t)
        {
            struct timespec a, b;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
#if defined(__x86_64__) && defined(__GNUC__)
            if (lanes == 16)
                sink += probe_avx512(PROBE_ITERS);
            else if (lanes == 8)
                sink += probe_avx2(PROBE_ITERS);
            else
#endif
                sink += probe_generic(PROBE_ITERS);
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
            t = (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        }
        double flops = 2.0 * lanes * PROBE_CHAINS * (double)PROBE_ITERS * threads;
        if (sink != sink) /* keeps the result alive */
            return 0.0;
        if (flops / t / 1e9 > best)
            best = flops / t / 1e9;
    }
    return best;
}

#endif
