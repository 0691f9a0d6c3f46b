/* The sparse layer's SIMD paths: one table of microkernels per instruction
 * set, chosen once (isa.c). Shapes and semantics: src/layers/kernels/sparse_tmpl.h,
 * the one source all paths are compiled from. Not installed. */
#ifndef RW_KERNELS_H
#define RW_KERNELS_H

#include "layers/layers.h"

typedef enum {
    RW_ISA_GENERIC = 0, /* portable C vectors, any CPU GCC targets */
    RW_ISA_AVX2 = 1,    /* AVX2 + FMA, 16 ymm registers */
    RW_ISA_AVX512 = 2,  /* AVX-512 (x86-64-v4), 32 zmm registers */
    RW_ISA_COUNT
} rw_isa_id;

/* The row kernels come in two builds, indexed by `stream`: [0] for layers
 * whose randomly read rows fit the caches, [1] for layers whose rows stream
 * from memory (they fetch whole rows far ahead). The results are the same.
 * The forward and backward kernels also come in two row types, the first
 * index: [0] fp32 rows (src, d: const float *), [1] bf16 rows (const
 * uint16_t *, rw_bf16_bits); the sums are fp32 in both. */
/* The activations the forward kernel applies itself, in the registers,
 * before it stores a tile. */
enum rw_kact { RW_KACT_NONE = 0, RW_KACT_RELU = 1, RW_KACT_LEAKY = 2 };

/* Every row kernel takes its connections [t0, t1) of an index array whose
 * length is tmax: it fetches connections ahead across the end of its row,
 * into the next row's, up to tmax. */
typedef struct rw_sparse_kernels {
    /* out[j0..j0+n) = act(init + sum_{t in [t0,t1)} wt[t] *
     * src[(idx[t] & RW_COL_MASK) * B + j0..]), act an rw_kact */
    void (*fwd_row[2][2])(float *out, float init, int act, const void *src,
                          const uint32_t *idx, const float *wt, size_t t0,
                          size_t t1, size_t tmax, size_t B, size_t j0,
                          size_t n);
    /* One input's connections [t0, t1) of the transposed index, over batch
     * columns [j0, j0+n): gw[t] = dot(d[t_row[t]], xi), in the transposed
     * index's order (summed into gw when j0 > 0), and dxi = dact'(sum_t
     * w[t_k[t]] d[t_row[t]]), the sum taken through the derivative of the
     * activation dact (an rw_kact) whose output xi is. */
    void (*bwd_input[2][2])(const void *d, const float *xi,
                            const uint32_t *t_row, const uint32_t *t_k,
                            const float *w, float *gw, float *dxi, size_t t0,
                            size_t t1, size_t tmax, size_t B, size_t j0,
                            size_t n, int dact);
    /* One output row's connections [t0, t1): gw[t] = dot(dr, x[col[t]])
     * over columns [j0, j0+n) (summed into gw when j0 > 0). */
    void (*grad_row[2])(const float *dr, const float *x, const uint32_t *col,
                        float *gw, size_t t0, size_t t1, size_t tmax,
                        size_t B, size_t j0, size_t n);
    /* out[o] = sum of row o of d (B values), for o in [o0, o1). */
    void (*row_sums)(const float *d, float *out, size_t o0, size_t o1,
                     size_t B);
    /* dst[i] = rw_bf16_bits(src[i]) for i < n. */
    void (*to_bf16)(uint16_t *dst, const float *src, size_t n);
    /* The batch gather, a transpose: for nj <= 16 sample rows of I
     * features, dst[i * B + j] = (rows[j][i] - sh[i]) * sc[i], or
     * rows[j][i] when sh is NULL. */
    void (*gather)(float *dst, size_t B, const float *const *rows, size_t nj,
                   size_t I, const float *sh, const float *sc);
    size_t vec_floats; /* floats per vector register */
    size_t bwd_tile;   /* floats per backward tile */
} rw_sparse_kernels;

extern const rw_sparse_kernels rw_kernels_generic;
#if defined(RW_HAVE_X86_PATHS)
extern const rw_sparse_kernels rw_kernels_avx2;
extern const rw_sparse_kernels rw_kernels_avx512;
#endif

/* The table in use: RW_ISA's choice once rw_isa_check has accepted it,
 * else the best path this CPU runs. Thread-safe. */
const rw_sparse_kernels *rw_kernels(void);
/* Tests only: run the kernels of table K (NULL: the chosen path again),
 * e.g. the AVX-512 tiles compiled for AVX2 on a CPU without AVX-512. */
void rw_kernels_set_test_table(const rw_sparse_kernels *K);
/* The path in use. */
rw_isa_id rw_isa_current(void);
const char *rw_isa_label(rw_isa_id id);
/* Whether this CPU (and this build) can run a path. */
bool rw_isa_cpu_has(rw_isa_id id);

#endif
