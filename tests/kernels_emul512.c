/* The AVX-512 path's tiles (16-float vectors, 128-value tiles, the input
 * held in registers) compiled for AVX2, where GCC splits each vector in
 * two: slow, but the same arithmetic lane by lane. test_kernels runs it on
 * CPUs without AVX-512, so the template's 16-lane code is checked there
 * too. */
#include "layers/kernels/kernels.h"

#define KNAME(x) x##_emul512
#define VW 16
#define FWD_NV 8
#define BWD_NV 8
#define BWD_X_MEM 0
#define GRAD_NV 8
#define KV_NATIVE 0
#include "layers/kernels/sparse_tmpl.h"
