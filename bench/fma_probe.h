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
#include <stdlib.h>
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

/* Floats per vector of a path. */
static inline int probe_lanes(const char *path)
{
    return !strcmp(path, "avx512") ? 16 : !strcmp(path, "avx2") ? 8 : 4;
}

/* The calling thread's CPU time in seconds. */
static inline double probe_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak GFLOP/s of a path's width on `threads` threads (0 when the CPU
 * cannot run it). A multiply-add counts as 2 flops. */
static inline double fma_peak_gflops(const char *path, int threads)
{
    if (!rw_isa_supported(path))
        return 0.0;
    int lanes = probe_lanes(path);
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        /* Each thread's own CPU time, the longest counting: a probe that
         * another process preempts still measures the core's speed. */
        double t = 0.0;
        float sink = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : sink) reduction(max : t)
        {
            double a = probe_cpu_seconds();
#if defined(__x86_64__) && defined(__GNUC__)
            if (lanes == 16)
                sink += probe_avx512(PROBE_ITERS);
            else if (lanes == 8)
                sink += probe_avx2(PROBE_ITERS);
            else
#endif
                sink += probe_generic(PROBE_ITERS);
            t = probe_cpu_seconds() - a;
        }
        double flops = 2.0 * lanes * PROBE_CHAINS * (double)PROBE_ITERS * threads;
        if (sink != sink) /* keeps the result alive */
            return 0.0;
        if (flops / t / 1e9 > best)
            best = flops / t / 1e9;
    }
    return best;
}

/* The rate at which a thread reads `bytes` of its own, again and again,
 * with vectors of a path's width, summed over `threads` threads (GB/s; 0
 * when the CPU cannot run the path or the memory is not there). The sparse
 * kernels read a row of the layer for every connection, so this rate,
 * measured at the size of the rows they gather, bounds them
 * (bench_sparse): the buffer is read in order, which the hardware
 * prefetches best, so rows read at random come slower, never faster.
 * Timed by each thread's CPU time, as the peak is. */
#define READ_BODY(V)                                                         \
    typedef V VA __attribute__((may_alias));                                 \
    const VA *v = (const VA *)p;                                             \
    size_t nv = bytes / sizeof(V);                                           \
    V s0, s1, s2, s3, s4, s5, s6, s7;                                        \
    memset(&s0, 0, sizeof s0);                                               \
    s1 = s2 = s3 = s4 = s5 = s6 = s7 = s0;                                   \
    for (long r = 0; r < reps; r++) {                                        \
        for (size_t i = 0; i + 8 <= nv; i += 8) {                            \
            s0 += v[i];                                                      \
            s1 += v[i + 1];                                                  \
            s2 += v[i + 2];                                                  \
            s3 += v[i + 3];                                                  \
            s4 += v[i + 4];                                                  \
            s5 += v[i + 5];                                                  \
            s6 += v[i + 6];                                                  \
            s7 += v[i + 7];                                                  \
        }                                                                    \
        __asm__("" : "+v"(s0), "+v"(s1), "+v"(s2), "+v"(s3), "+v"(s4),      \
                "+v"(s5), "+v"(s6), "+v"(s7));                               \
    }                                                                        \
    V s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));                 \
    return s[0]

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("arch=x86-64-v4"), noinline)) static float
read_avx512(const float *p, size_t bytes, long reps)
{
    typedef float V __attribute__((vector_size(64)));
    READ_BODY(V);
}

__attribute__((target("arch=x86-64-v3"), noinline)) static float
read_avx2(const float *p, size_t bytes, long reps)
{
    typedef float V __attribute__((vector_size(32)));
    READ_BODY(V);
}
#endif

__attribute__((noinline)) static float read_generic(const float *p,
                                                    size_t bytes, long reps)
{
    typedef float V __attribute__((vector_size(16)));
    READ_BODY(V);
}

static inline double read_bw_gbs(const char *path, size_t bytes, int threads)
{
    if (!rw_isa_supported(path) || bytes < 4096)
        return 0.0;
    bytes -= bytes % 4096;
    int lanes = probe_lanes(path);
    /* About 1 GB a thread per try, and at least one pass. */
    long reps = (long)(((size_t)1 << 30) / bytes);
    if (reps < 1)
        reps = 1;
    double best = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        double t = 0.0;
        float sink = 0.0f;
        int failed = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink, failed) reduction(max : t)
        {
            float *buf = aligned_alloc(64, bytes);
            if (!buf) {
                failed++;
            } else {
                for (size_t i = 0; i < bytes / sizeof(float); i++)
                    buf[i] = 1.0f;
                double a = probe_cpu_seconds();
#if defined(__x86_64__) && defined(__GNUC__)
                if (lanes == 16)
                    sink += read_avx512(buf, bytes, reps);
                else if (lanes == 8)
                    sink += read_avx2(buf, bytes, reps);
                else
#endif
                    sink += read_generic(buf, bytes, reps);
                t = probe_cpu_seconds() - a;
                free(buf);
            }
        }
        if (failed || sink != sink || t <= 0.0)
            return 0.0;
        double gbs = (double)bytes * (double)reps * threads / t / 1e9;
        if (gbs > best)
            best = gbs;
    }
    return best;
}

#endif
