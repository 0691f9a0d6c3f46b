/*
 * The base floor (src/base/): plain utilities every other floor may use:
 * status and messages (error.c), checked allocation (alloc.c), the RNG
 * (rng.c), the GEMM wrapper (gemm.c), runtime facts (runtime.c), and the
 * SIMD vector helpers below. Includes only the public header. Not installed.
 *
 * Floors, bottom to top (docs/architecture.md): base < layers, data < net
 * < dist < plasticity, io < learn. A file includes headers of its own floor
 * and of floors below it, never above (tests/include_check.py checks it).
 */
#ifndef RW_BASE_H
#define RW_BASE_H

#include "rewire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>


/* Hot loops are compiled for AVX-512, AVX2 and a baseline, and the loader
 * picks the best clone for the CPU at run time (no -march=native needed). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(RW_NO_CLONES)
#define RW_HOT                                                                 \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RW_HOT
#endif

/* 16 floats as one value: GCC/clang vector extensions give portable SIMD
 * that each RW_HOT clone compiles to zmm, ymm or xmm instructions. */
typedef float rw_v16 __attribute__((vector_size(64)));
/* Always inlined, so each helper takes the instruction set (and the
 * calling convention for 64-byte vectors) of the clone that uses it. */
#define RW_VINLINE static inline __attribute__((always_inline))
RW_VINLINE rw_v16 rw_v16_load(const float *p)
{
    rw_v16 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
RW_VINLINE void rw_v16_store(float *p, rw_v16 v)
{
    __builtin_memcpy(p, &v, sizeof v);
}
RW_VINLINE rw_v16 rw_v16_splat(float x)
{
    rw_v16 v = {0};
    return v + x;
}
/* A 16-lane accumulator that a loop carries from one iteration to the
 * next is a float[16] updated lane by lane under RW_UNROLL16, not an
 * rw_v16: GCC 12 keeps a carried 64-byte vector on the stack in its AVX2
 * and SSE clones, with a store and a reload every iteration (the norm of
 * 40,000 floats took 38.8 us on Zen 3), while the unrolled array stays in
 * registers in every clone (two ymm, one zmm, four xmm). Lane k is lane k
 * of the vector it replaced, so the sums are the same bits. */
#define RW_UNROLL16 _Pragma("GCC unroll 16")
/* The two sums of 16 lanes, each in a fixed order on every instruction
 * set; results depend on the order, so each caller keeps the one it was
 * written with. rw_lanes_sum adds the lanes one after another (the layers'
 * bias gradients, the net's norms); rw_lanes_sum_halved adds the halves,
 * then their halves (the traces' dot products, fewer shuffles). */
RW_VINLINE float rw_lanes_sum(const float acc[16])
{
    float s = 0.0f;
    for (int i = 0; i < 16; i++)
        s += acc[i];
    return s;
}
typedef float rw_v8 __attribute__((vector_size(32)));
typedef float rw_v4 __attribute__((vector_size(16)));
RW_VINLINE float rw_lanes_sum_halved(const float acc[16])
{
    float lo[8], l4[4];
    for (int i = 0; i < 8; i++)
        lo[i] = acc[i] + acc[i + 8];
    for (int i = 0; i < 4; i++)
        l4[i] = lo[i] + lo[i + 4];
    return (l4[0] + l4[2]) + (l4[1] + l4[3]);
}

/* Leaky ReLU's slope for negative inputs (activation.c, the kernels). */
#define RW_LEAKY_SLOPE 0.01f

/* Below this much work (multiply-adds, or values moved for the batch
 * gather, the norms and the activity traces) a pass runs on the calling
 * thread. An OpenMP thread that has gone to sleep (after the tool's brief
 * spin, GOMP_SPINCOUNT=1000, about 25 us) takes 40-90 us to wake on a
 * virtual machine, longer than a 1000x1000 layer's pass at 1% density (1.3
 * million multiply-adds, 30-60 us on one core), and a step of the 1%
 * benchmark network woke it ten times: on a 2-core Xeon (AVX-512) it
 * trained slower on 2 threads than on 1 (0.41 against 0.29 s per epoch).
 * Every pass that small now runs on one thread, so that the passes left to
 * the pool are long and follow each other closely (bench_train --threads
 * 2, thresholds 2^16 -> 2^22, the two builds alternating: 1% 0.43-0.44 ->
 * 0.29-0.31 s, 2% 0.54-0.59 -> 0.48-0.51 s, 5% 0.72-0.73 -> 0.75-0.78 s,
 * within the noise). The results do not depend on it: every pass gives the
 * same bits on any threads. */
#define RW_PAR_MIN_WORK ((size_t)1 << 22)
/* The threshold in force (runtime.c): RW_PAR_MIN_WORK, or what tests set
 * with rw_set_par_min_work (0: every pass that can use the threads does,
 * so that a comparison of 1 and 2 threads runs the parallel code on small
 * layers too). */
size_t rw_par_min_work(void);
void rw_set_par_min_work(size_t work);
/* The parameters from which the gradient norm and the optimizer's step,
 * which follow the backward pass at once, share the threads: 2^16 at the
 * default threshold. Run on the pool that the backward pass has just left,
 * they find it awake; on one thread they left it to fall asleep, and the
 * next batch's first pass paid to wake it. */
#define RW_STEP_PAR_MIN (rw_par_min_work() / 64)

/* ---------------- base: errors (error.c) ---------------- */

/* Fills err (if not NULL) with status and a printf-style message and
 * returns the status, so callers can `return rw_fail(err, ...)`. The
 * arguments may include err->msg itself, to prefix context to it. */
rw_status rw_fail(rw_error *err, rw_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------- base: checked allocation (alloc.c) ---------------- */

/* a*b in size_t; returns false on overflow. */
bool rw_mul_ok(size_t a, size_t b, size_t *out);
/* 64-byte aligned allocation of n elements of `size` bytes each; NULL and
 * err filled (stating the bytes requested and `what`) on failure or
 * overflow. zeroed variants clear the memory. Free with rw_free. */
void *rw_alloc(size_t n, size_t size, const char *what, rw_error *err);
void *rw_calloc(size_t n, size_t size, const char *what, rw_error *err);
void rw_free(void *p);
/* Test hook: the n-th rw_alloc from now (1 = the next one) fails with
 * RW_ERR_NOMEM; 0 cancels. Not thread-safe; tests use it to drive every
 * failure path of an operation. */
void rw_alloc_fail_after(unsigned long n);

/* ---------------- base: GEMM wrapper (gemm.c) ---------------- */

/* Row-major C = alpha * op(A) * op(B) + beta * C, op = transpose when
 * trans_x is 'T'. M x N result, K inner. Threads: the shared OpenMP pool. */
void rw_sgemm(char trans_a, char trans_b, size_t M, size_t N, size_t K,
              float alpha, const float *A, size_t lda, const float *B,
              size_t ldb, float beta, float *C, size_t ldc);
/* Plain triple-loop reference used by tests. */
void rw_sgemm_ref(char trans_a, char trans_b, size_t M, size_t N, size_t K,
                  float alpha, const float *A, size_t lda, const float *B,
                  size_t ldb, float beta, float *C, size_t ldc);

/* ---------------- base: CRC32 (zlib) ---------------- */
uint32_t rw_crc32(uint32_t crc, const void *buf, size_t len);

/* ---------------- base: time ---------------- */
double rw_now(void); /* monotonic seconds */

/* ---------------- base: small helpers (util.c) ---------------- */
/* qsort comparison of two uint64_t, ascending. */
int rw_cmp_u64(const void *a, const void *b);
/* The part of `path` after its last '/' (path itself when there is none,
 * or when it ends in '/'). */
const char *rw_base_name(const char *path);
/* zlib's message `msg` for `path` without the "PATH: " it puts in front;
 * "unknown error" for NULL. */
const char *rw_gz_msg(const char *msg, const char *path);
/* Why a file of status *sb is not one to read as a file: NULL for a
 * regular file, else "is a folder, expected a file" or "not a regular
 * file (a pipe, device or socket)". */
struct stat;
const char *rw_not_regular(const struct stat *sb);
/* `path` opened for reading ("rb") if it is a regular file; else NULL and
 * *why says what it is instead ("is a folder, expected a file", "not a
 * regular file (a pipe, device or socket)", or errno's text when it
 * cannot be opened). Never waits on a pipe. */
FILE *rw_open_regular(const char *path, const char **why);

/* ---------------- base: configuration checks (config.c) ---------------- */
/* Each returns RW_OK, or the status (RW_ERR_ARG, RW_ERR_UNSUPPORTED) and a
 * message naming the first setting out of range or the first pair that
 * cannot be combined. rw_check_train_config checks the training loop's
 * own fields and then the three below (consolidation when its kind is not
 * NONE). rw_check_consolidation_config takes cfg = NULL for the
 * consolidation settings alone. */
rw_status rw_check_train_config(const rw_train_config *cfg, rw_error *err);
rw_status rw_check_plasticity_config(const rw_train_config *cfg, rw_error *err);
rw_status rw_check_consolidation_config(const rw_consolidation_config *c,
                                        const rw_train_config *cfg,
                                        rw_error *err);
rw_status rw_check_maintain_config(const rw_train_config *cfg, rw_error *err);

#endif /* RW_BASE_H */
