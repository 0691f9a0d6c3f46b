/* The sparse layer's microkernels, written once and compiled once per SIMD
 * path (sparse_avx512.c, sparse_avx2.c, sparse_generic.c), each file with
 * its own instruction set. Shapes as in src/layers/layers.h: rows of B batch
 * values, feature-major. Every kernel works on batch columns [j0, j0 + n)
 * of its rows, so a caller can tile the batch to fit the caches.
 *
 * The including file defines:
 *   KNAME(x)  the path's symbol suffix (x ## _avx2)
 *   VW        floats per vector register (16, 8 or 4)
 *   FWD_NV    vectors in a forward tile: the tile's accumulators stay in
 *             registers while each connection broadcasts its weight
 *   BWD_NV    vectors in a backward tile: the input's values, the input
 *             error's accumulators and one error row, all in registers
 *   GRAD_NV   vectors in a weight-gradient tile (the error row, held)
 * Each is sized to the register file: AVX2 has 16 ymm registers, so its
 * forward tile is 8 accumulators (64 floats) plus the broadcast weight, and
 * its backward tile is 4 + 4 + 4 (32 floats) plus the dot product and the
 * weight. AVX-512's 32 zmm registers take 128-float tiles for both.
 *
 * Arithmetic: a lane's sum runs over the connections in a fixed order, and
 * a dot product over the batch is summed per tile in a fixed tree, so the
 * results depend on the path and the batch size but never on the threads. */

#include "layers/layers.h"

#include <string.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

/* The locality of every row prefetch: 3, all cache levels (PREFETCHT0),
 * on every path (see kv_prefetch). */
#ifndef PF_LOC
#define PF_LOC 3
#endif
/* Whether a KV fits one register of the target (not so for the emulated
 * AVX-512 tiles that the tests compile for AVX2). */
#ifndef KV_NATIVE
#define KV_NATIVE 1
#endif

typedef float KV __attribute__((vector_size(VW * 4)));

#define KINLINE static inline __attribute__((always_inline))

KINLINE KV kv_load(const float *p)
{
    KV v;
    memcpy(&v, p, sizeof v);
    return v;
}

KINLINE void kv_store(float *p, KV v) { memcpy(p, &v, sizeof v); }

typedef float KV4 __attribute__((vector_size(16)));

#if VW == 16
#define KV_LANE0 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#elif VW == 8
#define KV_LANE0 0, 0, 0, 0, 0, 0, 0, 0
#elif VW == 4
#define KV_LANE0 0, 0, 0, 0
#else
#error "VW must be 4, 8 or 16"
#endif

/* x in every lane (one broadcast instruction). */
KINLINE KV kv_splat(float x)
{
    KV v = {x};
    return __builtin_shufflevector(v, v, KV_LANE0);
}

/* Sum of a vector's lanes as a tree of halves: a fixed order that compiles
 * to a few shuffles and adds. */
KINLINE float kv_sum(KV v)
{
#if VW == 16
    typedef float KV8 __attribute__((vector_size(32)));
    KV8 h8 = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
             __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    KV4 h4 = __builtin_shufflevector(h8, h8, 0, 1, 2, 3) +
             __builtin_shufflevector(h8, h8, 4, 5, 6, 7);
#elif VW == 8
    KV4 h4 = __builtin_shufflevector(v, v, 0, 1, 2, 3) +
             __builtin_shufflevector(v, v, 4, 5, 6, 7);
#else
    KV4 h4 = v;
#endif
    KV4 h2 = h4 + __builtin_shufflevector(h4, h4, 2, 3, 0, 1);
    return h2[0] + h2[1];
}

/* The rows a kernel reads at random are fetched ahead. A layer whose rows
 * fit the caches fetches each tile KPF_NEAR connections ahead: the forward
 * and weight-gradient kernels one line per PF_NEAR_FLOATS (PF_NEAR: the
 * hardware brings the neighbouring lines; AVX2, 1000x1000 at 5%: forward
 * 0.42 -> 0.37 ms with one per 256 bytes against one per line, and one per
 * 128 bytes took 0.85-1.0x the time of one per 256 at 1-20%, best of 40
 * runs alternating in one process), the backward kernel every line
 * (PF_LINES: its error rows come from further away; on Zen 3, best of 40
 * runs alternating in one process, the AVX2 backward pass took 0.90-0.97x
 * the time at 1-2% density, 0.93-1.02x at 5-20%; the generic one
 * 0.89-0.94x at 1-2%, 0.98-1.01x at 5-20%). A layer whose rows stream from
 * memory (PF_FAR) fetches the whole rest of each row in its first tile,
 * every line, KPF_FAR connections ahead, into the L2 (PF_FAR_LOC), so the
 * later tiles (PF_NONE) find it in the cache.
 *
 * Every row prefetch of rows that fit the caches asks for all cache levels
 * (PREFETCHT0; streamed rows: PF_FAR_LOC below), not a
 * non-temporal fetch: the rows are read again by the next outputs, and a
 * non-temporal fetch keeps them out of the L2 on Intel's server cores. On
 * a 2-core KVM Xeon (AVX-512, 2 MiB of L2 a core), best of 30 runs
 * alternating in one process (bench/kernel_ab.sh), 1000x1000 at 20/5/1%:
 * the AVX-512 forward pass took 0.86/0.60/0.54x the time with T0 against
 * NTA, AVX2's 0.88/0.68/0.52x, the backward passes 0.90-1.03x, and one
 * 333333x333333 layer (bench_sparse 1 333333 333333 128 0.00012) 0.57-0.71x
 * (both paths). T1 and T2 were slower than T0 at 1000x1000. That change
 * reached only the AVX-512 build; the AVX2 and generic builds kept NTA
 * until a later session found it, and T0 then took 0.96/0.86/0.85x the
 * time of NTA on AVX2 (forward + backward, medians, 20/5/1%; another run
 * 0.96/0.78/0.73x) and 0.99/0.95/0.92x on generic. Not measured on AMD.
 * On that Xeon the AVX-512 passes did not move (0.99-1.03x, 20-1%) with
 * rows fetched 4 or 16 connections ahead instead of 8, one prefetch per
 * 512 bytes instead of 256, the next neuron's rows fetched before this
 * one's connections, or the backward pass's weights fetched ahead (the
 * README, Benchmarks). */
enum { PF_NONE, PF_NEAR, PF_LINES, PF_FAR };
/* The backward kernel's prefetch for rows that fit the caches, PF_LINES,
 * and PF_NEAR's spacing: the AVX-512 path keeps PF_NEAR at one per 256
 * bytes in both (its 512-byte tiles were never measured otherwise). */
#ifndef BWD_PF
#define BWD_PF PF_LINES
#endif
#ifndef PF_NEAR_FLOATS
#define PF_NEAR_FLOATS 32
#endif
#ifndef KPF_NEAR
#define KPF_NEAR 8
#endif
#define KPF_FAR 24
/* A streamed row is fetched into the L2 (PREFETCHT1), not the L1, and the
 * forward pass fetches its first tile's lines from there into the L1
 * (T0) FWD_FAR_NEAR connections ahead; the backward pass's weights, read
 * at random, also go to the L2. On the 2-core KVM Xeon, where every read
 * beyond 4 MiB waits about 137 ns (its L3 holds nothing of ours) and one
 * core gathers random 512-byte rows at about 5.5 GB/s, these took, against
 * T0 for everything (bench/kernel_ab.sh with KAB_LAYER=333333x333333 at
 * 0.00012, medians of 16-20 alternating rounds): AVX-512 0.92-0.96x
 * (forward 0.90-0.97x), AVX2 0.91-0.92x, generic 0.89x. T0 with the near
 * fetch was 1.02x, T2 0.99x; the near fetch in the backward pass took its
 * time to 1.04x; one prefetch per 128, 256 or 512 bytes of the row instead
 * of per line 0.99-1.01x; 48 connections ahead instead of 24 0.96x; and
 * the AVX2 forward's second tile fetched near (T0) 0.99x. */
#define PF_FAR_LOC 2
#define FWD_FAR_NEAR 4
#define BWD_W_LOC 2

/* The prefetches of a tile of nv vectors of a row at p, whose range has
 * `rest` values left, of es bytes each (4: fp32 rows, 2: bf16 rows): the
 * same bytes apart in either. */
KINLINE void kv_prefetch(const void *p, int mode, int nv, size_t rest, int es)
{
    const char *c = (const char *)p;
    size_t tile = (size_t)nv * VW * (size_t)es;
    if (mode == PF_NEAR || mode == PF_LINES)
        for (size_t u = 0; u < tile; u += mode == PF_NEAR ? PF_NEAR_FLOATS * 4 : 64)
            __builtin_prefetch(c + u, 0, PF_LOC);
    else if (mode == PF_FAR)
        for (size_t u = 0; u < rest * (size_t)es; u += 64)
            __builtin_prefetch(c + u, 0, PF_FAR_LOC);
}

#define KPF_DIST(mode) ((mode) == PF_FAR ? KPF_FAR : KPF_NEAR)

/* The prefetch mode of the tile at column j of a row range from j0, and
 * the floats left in the range. */
#define TILE_PF_AS(j, near) (stream ? ((j) == j0 ? PF_FAR : PF_NONE) : (near)), end - (j)
#define TILE_PF(j) TILE_PF_AS(j, PF_NEAR)

/* Each driver is compiled twice, for rows that fit the caches and rows
 * that stream from memory (the `stream` flag is a constant in each). */
#define KDRIVERS(name, params, ...)                                         \
    static void KNAME(name) params { name##_impl(__VA_ARGS__, false); }    \
    static void KNAME(name##_stream) params                                \
    {                                                                      \
        name##_impl(__VA_ARGS__, true);                                    \
    }
/* The row kernels that gather bf16 rows are compiled twice more: `half`
 * is a constant in each of the four. */
#define KDRIVERS_H(name, params, ...)                                       \
    static void KNAME(name) params { name##_impl(__VA_ARGS__, false, false); } \
    static void KNAME(name##_stream) params                                \
    {                                                                      \
        name##_impl(__VA_ARGS__, true, false);                             \
    }                                                                      \
    static void KNAME(name##_h) params                                     \
    {                                                                      \
        name##_impl(__VA_ARGS__, false, true);                             \
    }                                                                      \
    static void KNAME(name##_stream_h) params                              \
    {                                                                      \
        name##_impl(__VA_ARGS__, true, true);                              \
    }

/* ---------------- forward ---------------- */

/* out[j..j+nv*VW) = (acc ? out : init) + sum_t wt[t] * src[idx[t], j..]. */
/* ReLU and leaky ReLU as the kernels apply them in the registers: e where
 * y > 0, else 0 (ReLU) or slope * e (leaky ReLU). With y = e it is the
 * forward pass's activation, applied before a tile is stored (the other
 * activations call libm and run afterwards, rw_act_forward); with y the
 * activation's output it is the backward pass's derivative, applied to the
 * input error as it is stored, as rw_act_backward computes it. */
typedef int32_t KI __attribute__((vector_size(VW * 4)));

KINLINE KV kv_act_grad(KV e, KV y, int act)
{
    if (act == RW_KACT_NONE)
        return e;
    KI pos = y > kv_splat(0.0f);
    KI neg = act == RW_KACT_RELU ? (KI)kv_splat(0.0f)
                                 : (KI)(e * kv_splat(RW_LEAKY_SLOPE));
    return (KV)(((KI)e & pos) | (neg & ~pos));
}

KINLINE float k_act_grad(float e, float y, int act)
{
    if (act == RW_KACT_NONE || y > 0.0f)
        return e;
    return act == RW_KACT_RELU ? 0.0f : RW_LEAKY_SLOPE * e;
}

KINLINE KV kv_act(KV x, int act) { return kv_act_grad(x, x, act); }
KINLINE float k_act(float x, int act) { return k_act_grad(x, x, act); }

/* The rows a kernel gathers, fp32 or (half) bf16: a bf16 value is the top
 * 16 bits of the float it stands for, so widening is a zero extension and
 * a shift. `off` counts values from `base`. */
typedef uint16_t KH __attribute__((vector_size(VW * 2)));

KINLINE KV row_load(const void *base, size_t off, bool half)
{
    if (!half)
        return kv_load((const float *)base + off);
    const uint16_t *p = (const uint16_t *)base + off;
    /* One widening load and a shift: GCC lowers the vector extension's
     * conversion of 16 lanes in 256-bit halves (five instructions). */
#if VW == 16 && defined(__AVX512F__)
    return (KV)_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16);
#elif VW == 8 && defined(__AVX2__)
    return (KV)_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16);
#else
    KH h;
    memcpy(&h, p, sizeof h);
    typedef uint32_t KW __attribute__((vector_size(VW * 4)));
    return (KV)(__builtin_convertvector(h, KW) << 16);
#endif
}

KINLINE float row_get(const void *base, size_t off, bool half)
{
    if (!half)
        return ((const float *)base)[off];
    uint32_t u = (uint32_t)((const uint16_t *)base)[off] << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

KINLINE const void *row_at(const void *base, size_t off, bool half)
{
    return (const char *)base + off * (half ? 2 : 4);
}

/* out[j..j+nv*VW) = act(init + sum_t wt[t] * src[idx[t], j..]). */
KINLINE void fwd_tile(float *restrict out, float init, int act,
                      const void *restrict src, const uint32_t *restrict idx,
                      const float *restrict wt, size_t t0, size_t t1,
                      size_t tmax, size_t B, size_t j, int pfm, size_t rest,
                      int nv, bool half)
{
    KV a[FWD_NV];
    int es = half ? 2 : 4;
    for (int u = 0; u < nv; u++)
        a[u] = kv_splat(init);
    for (size_t t = t0; t < t1; t++) {
        size_t xr = (size_t)(idx[t] & RW_COL_MASK) * B + j;
        if (pfm != PF_NONE && t + KPF_DIST(pfm) < tmax)
            kv_prefetch(row_at(src, (size_t)(idx[t + KPF_DIST(pfm)] & RW_COL_MASK) * B + j, half),
                        pfm, nv, rest, es);
        if (pfm == PF_FAR && t + FWD_FAR_NEAR < tmax)
            kv_prefetch(row_at(src, (size_t)(idx[t + FWD_FAR_NEAR] & RW_COL_MASK) * B + j, half),
                        PF_LINES, nv, rest, es);
        KV w = kv_splat(wt[t]);
        for (int u = 0; u < nv; u++)
            a[u] += w * row_load(src, xr + (size_t)u * VW, half);
    }
    for (int u = 0; u < nv; u++)
        kv_store(out + j + u * VW, kv_act(a[u], act));
}

KINLINE void fwd_row_impl(float *restrict out, float init, int act,
                           const void *restrict src,
                           const uint32_t *restrict idx,
                           const float *restrict wt, size_t t0, size_t t1,
                           size_t tmax, size_t B, size_t j0, size_t n,
                           bool stream, bool half)
{
    size_t j = j0, end = j0 + n;
    for (; j + FWD_NV * VW <= end; j += FWD_NV * VW)
        fwd_tile(out, init, act, src, idx, wt, t0, t1, tmax, B, j,
                 TILE_PF(j), FWD_NV, half);
    if (FWD_NV > 4 && j + 4 * VW <= end) {
        fwd_tile(out, init, act, src, idx, wt, t0, t1, tmax, B, j,
                 TILE_PF(j), 4, half);
        j += 4 * VW;
    }
    if (FWD_NV > 2 && j + 2 * VW <= end) {
        fwd_tile(out, init, act, src, idx, wt, t0, t1, tmax, B, j,
                 TILE_PF(j), 2, half);
        j += 2 * VW;
    }
    if (FWD_NV > 1 && j + VW <= end) {
        fwd_tile(out, init, act, src, idx, wt, t0, t1, tmax, B, j,
                 TILE_PF(j), 1, half);
        j += VW;
    }
    for (; j < end; j++) {
        float s = init;
        for (size_t t = t0; t < t1; t++)
            s += wt[t] * row_get(src, (size_t)(idx[t] & RW_COL_MASK) * B + j, half);
        out[j] = k_act(s, act);
    }
}

KDRIVERS_H(fwd_row,
         (float *restrict out, float init, int act, const void *restrict src,
          const uint32_t *restrict idx, const float *restrict wt, size_t t0,
          size_t t1, size_t tmax, size_t B, size_t j0, size_t n),
         out, init, act, src, idx, wt, t0, t1, tmax, B, j0, n)

/* ---------------- backward through the transposed index ---------------- */

/* For every connection t of one input (to output t_row[t], weight index
 * t_k[t]): gw[t] (+)= dot(d[o, j..], xi[j..]) and dxi[j..] = sum_t w[k] *
 * d[o, j..]. Both read the same error row, once. */
KINLINE void bwd_tile(const void *restrict d, const float *restrict xi,
                      const uint32_t *restrict t_row,
                      const uint32_t *restrict t_k, const float *restrict w,
                      float *restrict gw, float *restrict dxi, size_t t0,
                      size_t t1, size_t tmax, size_t B, size_t j, bool first, int pfm,
                      size_t rest, int nv, int dact, bool half)
{
    KV x[BWD_NV], a[BWD_NV];
    int es = half ? 2 : 4;
    for (int u = 0; u < nv; u++) {
        if (!BWD_X_MEM)
            x[u] = kv_load(xi + j + u * VW);
        a[u] = kv_splat(0.0f);
    }
    for (size_t t = t0; t < t1; t++) {
        size_t dr = (size_t)t_row[t] * B + j;
        if (pfm != PF_NONE && t + KPF_DIST(pfm) < tmax)
            kv_prefetch(row_at(d, (size_t)t_row[t + KPF_DIST(pfm)] * B + j, half),
                        pfm, nv, rest, es);
        if (pfm == PF_FAR && t + KPF_FAR < tmax)
            __builtin_prefetch(w + t_k[t + KPF_FAR], 0, BWD_W_LOC);
        size_t k = t_k[t];
        KV wk = kv_splat(w[k]);
        /* With BWD_X_MEM the input's values are read from the L1 cache at
         * every connection (a memory operand of the multiply-add) instead
         * of being held: the empty asm keeps the compiler from hoisting
         * them into registers that the tile does not have. */
        const float *xp = xi + j;
        if (BWD_X_MEM)
            __asm__("" : "+r"(xp));
        KV p0 = kv_splat(0.0f), p1 = p0;
        for (int u = 0; u < nv; u++) {
            KV dv = row_load(d, dr + (size_t)u * VW, half);
            /* One load of the error row for both multiply-adds (GCC would
             * otherwise fold it into each, loading it twice: AVX2,
             * 1000x1000 at 5%: backward 0.75 -> 0.69 ms). */
            if (KV_NATIVE)
                __asm__("" : "+v"(dv));
            KV xv = BWD_X_MEM ? kv_load(xp + u * VW) : x[u];
            if (u & 1)
                p1 += dv * xv;
            else
                p0 += dv * xv;
            a[u] += wk * dv;
        }
        /* Summed here, one connection at a time: kept as vectors and
         * summed 16 at a time by a transposing tree the AVX-512 pass took
         * 1.04-1.10x the time on the Xeon, and four at a time 1.01-1.02x. */
        float g = kv_sum(p0 + p1);
        gw[t] = first ? g : gw[t] + g;
    }
    for (int u = 0; u < nv; u++)
        kv_store(dxi + j + u * VW,
                 kv_act_grad(a[u], kv_load(xi + j + u * VW), dact));
}

KINLINE void bwd_input_body(const void *restrict d, const float *restrict xi,
                             const uint32_t *restrict t_row,
                             const uint32_t *restrict t_k,
                             const float *restrict w, float *restrict gw,
                             float *restrict dxi, size_t t0, size_t t1,
                             size_t tmax, size_t B, size_t j0, size_t n,
                             int dact, bool stream, bool half)
{
    size_t j = j0, end = j0 + n;
    for (; j + BWD_NV * VW <= end; j += BWD_NV * VW)
        bwd_tile(d, xi, t_row, t_k, w, gw, dxi, t0, t1, tmax, B, j, j == 0,
                 TILE_PF_AS(j, BWD_PF), BWD_NV, dact, half);
    if (BWD_NV > 4 && j + 4 * VW <= end) {
        bwd_tile(d, xi, t_row, t_k, w, gw, dxi, t0, t1, tmax, B, j, j == 0,
                 TILE_PF_AS(j, BWD_PF), 4, dact, half);
        j += 4 * VW;
    }
    if (BWD_NV > 2 && j + 2 * VW <= end) {
        bwd_tile(d, xi, t_row, t_k, w, gw, dxi, t0, t1, tmax, B, j, j == 0,
                 TILE_PF_AS(j, BWD_PF), 2, dact, half);
        j += 2 * VW;
    }
    if (BWD_NV > 1 && j + VW <= end) {
        bwd_tile(d, xi, t_row, t_k, w, gw, dxi, t0, t1, tmax, B, j, j == 0,
                 TILE_PF_AS(j, BWD_PF), 1, dact, half);
        j += VW;
    }
    for (; j < end; j++) {
        float s = 0.0f;
        for (size_t t = t0; t < t1; t++) {
            float dv = row_get(d, (size_t)t_row[t] * B + j, half);
            gw[t] = j == 0 ? dv * xi[j] : gw[t] + dv * xi[j];
            s += w[t_k[t]] * dv;
        }
        dxi[j] = k_act_grad(s, xi[j], dact);
    }
}

/* One copy of the body per derivative, so that no store tests it. */
KINLINE void bwd_input_impl(const void *restrict d, const float *restrict xi,
                             const uint32_t *restrict t_row,
                             const uint32_t *restrict t_k,
                             const float *restrict w, float *restrict gw,
                             float *restrict dxi, size_t t0, size_t t1,
                             size_t tmax, size_t B, size_t j0, size_t n,
                             int dact, bool stream, bool half)
{
    if (dact == RW_KACT_RELU)
        bwd_input_body(d, xi, t_row, t_k, w, gw, dxi, t0, t1, tmax, B, j0, n,
                       RW_KACT_RELU, stream, half);
    else if (dact == RW_KACT_LEAKY)
        bwd_input_body(d, xi, t_row, t_k, w, gw, dxi, t0, t1, tmax, B, j0, n,
                       RW_KACT_LEAKY, stream, half);
    else
        bwd_input_body(d, xi, t_row, t_k, w, gw, dxi, t0, t1, tmax, B, j0, n,
                       RW_KACT_NONE, stream, half);
}

KDRIVERS_H(bwd_input,
         (const void *restrict d, const float *restrict xi,
          const uint32_t *restrict t_row, const uint32_t *restrict t_k,
          const float *restrict w, float *restrict gw, float *restrict dxi,
          size_t t0, size_t t1, size_t tmax, size_t B, size_t j0, size_t n,
          int dact),
         d, xi, t_row, t_k, w, gw, dxi, t0, t1, tmax, B, j0, n, dact)

/* ---------------- weight gradients in row order ---------------- */

/* The lane sums of four vectors at once, as one 4-float vector: a
 * transposing tree of pairwise adds (a fixed order), a few shuffles for
 * four connections instead of a whole reduction for each. */
KINLINE KV4 kv_sum4(KV a, KV b, KV c, KV d)
{
#if VW == 16
    typedef float KV8 __attribute__((vector_size(32)));
#define KV_HALF8(v) (__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + \
                     __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15))
    KV8 a8 = KV_HALF8(a), b8 = KV_HALF8(b), c8 = KV_HALF8(c), d8 = KV_HALF8(d);
#undef KV_HALF8
#elif VW == 8
    typedef KV KV8;
    KV8 a8 = a, b8 = b, c8 = c, d8 = d;
#endif
#if VW >= 8
#define KV_HADD8(x, y)                                                       \
    (__builtin_shufflevector(x, y, 0, 2, 8, 10, 4, 6, 12, 14) +              \
     __builtin_shufflevector(x, y, 1, 3, 9, 11, 5, 7, 13, 15))
    KV8 ab = KV_HADD8(a8, b8), cd = KV_HADD8(c8, d8);
    KV8 h = KV_HADD8(ab, cd);
#undef KV_HADD8
    return __builtin_shufflevector(h, h, 0, 1, 2, 3) +
           __builtin_shufflevector(h, h, 4, 5, 6, 7);
#else
    KV4 ab = __builtin_shufflevector(a, b, 0, 2, 4, 6) +
             __builtin_shufflevector(a, b, 1, 3, 5, 7);
    KV4 cd = __builtin_shufflevector(c, d, 0, 2, 4, 6) +
             __builtin_shufflevector(c, d, 1, 3, 5, 7);
    return __builtin_shufflevector(ab, cd, 0, 2, 4, 6) +
           __builtin_shufflevector(ab, cd, 1, 3, 5, 7);
#endif
}

/* gw[t] (+)= dot(dr[j..], x[col[t], j..]) for the connections of one output
 * row, whose error row dr stays in registers. Four connections at a time,
 * each its own chain of multiply-adds, and their four sums formed and
 * stored together; the rest one at a time. */
KINLINE void grad_tile(const float *restrict dr, const float *restrict x,
                       const uint32_t *restrict col, float *restrict gw,
                       size_t t0, size_t t1, size_t tmax, size_t B, size_t j, bool first,
                       int pfm, size_t rest, int nv)
{
    KV dv[GRAD_NV];
    for (int u = 0; u < nv; u++)
        dv[u] = kv_load(dr + j + u * VW);
    size_t t = t0;
    for (; t + 4 <= t1; t += 4) {
        const float *xr[4];
        for (int c = 0; c < 4; c++) {
            xr[c] = x + (size_t)(col[t + c] & RW_COL_MASK) * B + j;
            if (pfm != PF_NONE && t + c + KPF_DIST(pfm) < tmax)
                kv_prefetch(x + (size_t)(col[t + c + KPF_DIST(pfm)] & RW_COL_MASK) * B + j,
                            pfm, nv, rest, 4);
        }
        KV p[4];
        for (int c = 0; c < 4; c++)
            p[c] = kv_splat(0.0f);
        for (int u = 0; u < nv; u++)
            for (int c = 0; c < 4; c++)
                p[c] += dv[u] * kv_load(xr[c] + u * VW);
        KV4 g = kv_sum4(p[0], p[1], p[2], p[3]);
        if (!first) {
            KV4 old;
            memcpy(&old, gw + t, sizeof old);
            g += old;
        }
        memcpy(gw + t, &g, sizeof g);
    }
    for (; t < t1; t++) {
        const float *xr = x + (size_t)(col[t] & RW_COL_MASK) * B + j;
        KV p0 = kv_splat(0.0f), p1 = kv_splat(0.0f);
        for (int u = 0; u + 1 < nv; u += 2) {
            p0 += dv[u] * kv_load(xr + u * VW);
            p1 += dv[u + 1] * kv_load(xr + (u + 1) * VW);
        }
        if (nv & 1)
            p0 += dv[nv - 1] * kv_load(xr + (nv - 1) * VW);
        float g = kv_sum(p0 + p1);
        gw[t] = first ? g : gw[t] + g;
    }
}

KINLINE void grad_row_impl(const float *restrict dr, const float *restrict x,
                            const uint32_t *restrict col, float *restrict gw,
                            size_t t0, size_t t1, size_t tmax, size_t B, size_t j0,
                            size_t n, bool stream)
{
    size_t j = j0, end = j0 + n;
    for (; j + GRAD_NV * VW <= end; j += GRAD_NV * VW)
        grad_tile(dr, x, col, gw, t0, t1, tmax, B, j, j == 0,
                 TILE_PF(j), GRAD_NV);
    if (GRAD_NV > 4 && j + 4 * VW <= end) {
        grad_tile(dr, x, col, gw, t0, t1, tmax, B, j, j == 0,
                 TILE_PF(j), 4);
        j += 4 * VW;
    }
    if (GRAD_NV > 2 && j + 2 * VW <= end) {
        grad_tile(dr, x, col, gw, t0, t1, tmax, B, j, j == 0,
                 TILE_PF(j), 2);
        j += 2 * VW;
    }
    if (GRAD_NV > 1 && j + VW <= end) {
        grad_tile(dr, x, col, gw, t0, t1, tmax, B, j, j == 0,
                 TILE_PF(j), 1);
        j += VW;
    }
    for (; j < end; j++)
        for (size_t t = t0; t < t1; t++) {
            float g = dr[j] * x[(size_t)(col[t] & RW_COL_MASK) * B + j];
            gw[t] = j == 0 ? g : gw[t] + g;
        }
}

KDRIVERS(grad_row,
         (const float *restrict dr, const float *restrict x,
          const uint32_t *restrict col, float *restrict gw, size_t t0,
          size_t t1, size_t tmax, size_t B, size_t j0, size_t n),
         dr, x, col, gw, t0, t1, tmax, B, j0, n)

/* ---------------- bias gradients ---------------- */

/* out[o] = sum_j d[o, j] for rows [o0, o1): four vectors of partial sums,
 * then the lanes. */
static void KNAME(row_sums)(const float *restrict d, float *restrict out,
                            size_t o0, size_t o1, size_t B)
{
    for (size_t o = o0; o < o1; o++) {
        const float *r = d + o * B;
        KV s0 = kv_splat(0.0f), s1 = s0, s2 = s0, s3 = s0;
        size_t j = 0;
        for (; j + 4 * VW <= B; j += 4 * VW) {
            s0 += kv_load(r + j);
            s1 += kv_load(r + j + VW);
            s2 += kv_load(r + j + 2 * VW);
            s3 += kv_load(r + j + 3 * VW);
        }
        for (; j + VW <= B; j += VW)
            s0 += kv_load(r + j);
        float s = kv_sum((s0 + s1) + (s2 + s3));
        for (; j < B; j++)
            s += r[j];
        out[o] = s;
    }
}

/* ---------------- bf16 rows ---------------- */

/* dst[i] = src[i] rounded to bf16, to nearest with ties to even (as
 * rw_bf16_round); a NaN stays a NaN (quiet), infinities stay infinite and
 * a float beyond bf16's largest becomes one. Whole vectors, then the rest
 * one value at a time with the same arithmetic. */
typedef uint32_t KU __attribute__((vector_size(VW * 4)));

static void KNAME(to_bf16)(uint16_t *restrict dst, const float *restrict src,
                           size_t n)
{
    size_t i = 0;
    for (; i + VW <= n; i += VW) {
        KU u;
        memcpy(&u, src + i, sizeof u);
        KU r = u + 0x7fffu + ((u >> 16) & 1u);
        KU nan = (KU)((u & 0x7fffffffu) > 0x7f800000u);
        r = (r & ~nan) | ((u | 0x00400000u) & nan);
        KH h = __builtin_convertvector(r >> 16, KH);
        memcpy(dst + i, &h, sizeof h);
    }
    for (; i < n; i++)
        dst[i] = rw_bf16_bits(src[i]);
}

/* ---------------- the batch gather ---------------- */

/* Samples into the feature-major input, a transpose: for nj <= 16 sample
 * rows, dst[i * B + j] = (rows[j][i] - sh[i]) * sc[i] (or rows[j][i] when
 * sh is NULL). Eight samples by eight features at a time are loaded as
 * rows, standardised and transposed in the registers (4 by 4 for the
 * generic path); the rest one value at a time, with the same arithmetic. */
#if VW >= 8
typedef float KT __attribute__((vector_size(32)));
#define KTW 8
#else
typedef KV KT;
#define KTW 4
#endif

KINLINE KT kt_load(const float *p)
{
    KT v;
    memcpy(&v, p, sizeof v);
    return v;
}

KINLINE void kt_transpose(KT r[KTW])
{
#if KTW == 8
    KT t[8], u[8];
    for (int k = 0; k < 8; k += 2) {
        t[k] = __builtin_shufflevector(r[k], r[k + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[k + 1] = __builtin_shufflevector(r[k], r[k + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int k = 0; k < 8; k += 4)
        for (int h = 0; h < 2; h++) {
            u[k + 2 * h] = __builtin_shufflevector(t[k + h], t[k + h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[k + 2 * h + 1] = __builtin_shufflevector(t[k + h], t[k + h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    /* u[0..3]: features (0,4), (1,5), (2,6), (3,7) of samples 0-3; u[4..7]
     * the same of samples 4-7. */
    for (int f = 0; f < 4; f++) {
        r[f] = __builtin_shufflevector(u[f], u[f + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[f + 4] = __builtin_shufflevector(u[f], u[f + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
#else
    KT t0 = __builtin_shufflevector(r[0], r[1], 0, 4, 1, 5);
    KT t1 = __builtin_shufflevector(r[0], r[1], 2, 6, 3, 7);
    KT t2 = __builtin_shufflevector(r[2], r[3], 0, 4, 1, 5);
    KT t3 = __builtin_shufflevector(r[2], r[3], 2, 6, 3, 7);
    r[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
    r[1] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
    r[2] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
    r[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
#endif
}

static void KNAME(gather)(float *restrict dst, size_t B,
                          const float *const *rows, size_t nj, size_t I,
                          const float *restrict sh, const float *restrict sc)
{
    size_t i = 0;
    if (nj % KTW == 0)
        for (; i + KTW <= I; i += KTW) {
            KT shv = {0}, scv = {0};
            if (sh) {
                shv = kt_load(sh + i);
                scv = kt_load(sc + i);
            }
            for (size_t j0 = 0; j0 < nj; j0 += KTW) {
                KT r[KTW];
                for (int k = 0; k < KTW; k++) {
                    r[k] = kt_load(rows[j0 + k] + i);
                    if (sh)
                        r[k] = (r[k] - shv) * scv;
                }
                kt_transpose(r);
                for (int f = 0; f < KTW; f++)
                    memcpy(dst + (i + f) * B + j0, &r[f], sizeof r[f]);
            }
        }
    for (; i < I; i++) {
        float *d = dst + i * B;
        if (sh)
            for (size_t j = 0; j < nj; j++)
                d[j] = (rows[j][i] - sh[i]) * sc[i];
        else
            for (size_t j = 0; j < nj; j++)
                d[j] = rows[j][i];
    }
}

const rw_sparse_kernels KNAME(rw_kernels) = {
    .fwd_row = {{KNAME(fwd_row), KNAME(fwd_row_stream)},
                {KNAME(fwd_row_h), KNAME(fwd_row_stream_h)}},
    .bwd_input = {{KNAME(bwd_input), KNAME(bwd_input_stream)},
                  {KNAME(bwd_input_h), KNAME(bwd_input_stream_h)}},
    .grad_row = {KNAME(grad_row), KNAME(grad_row_stream)},
    .row_sums = KNAME(row_sums),
    .to_bf16 = KNAME(to_bf16),
    .gather = KNAME(gather),
    .vec_floats = VW,
    .bwd_tile = BWD_NV * VW,
};
