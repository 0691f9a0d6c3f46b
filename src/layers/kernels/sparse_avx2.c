/* The AVX2 + FMA path (compiled with -march=x86-64-v3 by CMake). 16 ymm
 * registers: the forward tile is 8 accumulators of 8 floats (64 batch
 * values) plus the broadcast weight; the backward tile is 8 accumulators
 * of the input's error (64 values), with the input's values read from the
 * L1 as the multiply-adds' memory operands (BWD_X_MEM): the 8, one vector
 * of the error row, two dot-product sums and the weight, 12 registers, no
 * spills (a 16-vector tile, which walks each connection once for a batch
 * of 128 and spills 4 accumulators, took 1.00/0.99/1.05x the time at
 * 20/5/1% on the Xeon). The weight-gradient tile keeps 8 vectors of the
 * error row. */
#include "kernels.h"

#define KNAME(x) x##_avx2
#define VW 8
#define FWD_NV 8
#define BWD_NV 8
#define BWD_X_MEM 1
#define GRAD_NV 8
#include "sparse_tmpl.h"
