/* The AVX-512 path (compiled with -march=x86-64-v4 by CMake). 32 zmm
 * registers take 128-value tiles: forward 8 accumulators plus the weight;
 * backward 8 input vectors, 8 accumulators and 8 of one error row (25
 * registers with the dot product and the weight). */
#include "kernels.h"

#define KNAME(x) x##_avx512
#define VW 16
#define FWD_NV 8
#define BWD_NV 8
#define BWD_X_MEM 0
#define GRAD_NV 8
/* One prefetch per 256 bytes, in the backward pass too (not measured
 * otherwise: no AVX-512 CPU was at hand). */
#define BWD_PF PF_NEAR
#define PF_NEAR_FLOATS 64
#include "sparse_tmpl.h"
