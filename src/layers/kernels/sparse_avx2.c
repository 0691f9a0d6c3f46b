/* The AVX2 + FMA path (compiled with -march=x86-64-v3 by CMake). 16 ymm
 * registers: the forward tile is 8 accumulators of 8 floats (64 batch
 * values) plus the broadcast weight; the backward tile holds 4 vectors of
 * the input, 4 accumulators of its error and the 4 of one error row (32
 * values), plus the dot product and the weight: 14 registers, no spills.
 * The weight-gradient tile keeps 8 vectors of the error row. */
#include "kernels.h"

#define KNAME(x) x##_avx2
#define VW 8
#define FWD_NV 8
#define BWD_NV 8
#define BWD_X_MEM 1
#define GRAD_NV 8
#include "sparse_tmpl.h"
