/* The portable path: GCC's vector extensions in 16-byte vectors, which any
 * target lowers to its own SIMD or to scalar code. Sized for 16 SSE
 * registers: forward 8 accumulators (32 floats), backward 4 + 4 + 4. */
#include "kernels.h"

#define KNAME(x) x##_generic
#define VW 4
#define FWD_NV 8
#define BWD_NV 8
#define BWD_X_MEM 1
#define GRAD_NV 8
#include "sparse_tmpl.h"
