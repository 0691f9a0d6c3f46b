/* The portable path: GCC's vector extensions in 16-byte vectors, which any
 * target lowers to its own SIMD or to scalar code. Sized for 16 SSE
 * registers: forward 8 accumulators (32 floats). The backward tile is 16
 * vectors (64 floats, two tiles per batch of 128), more than SSE's
 * registers hold, so a few accumulators live in the L1: measured on Zen 3
 * (bench_sparse --isa generic 1, best of 5 alternating runs) it beats the
 * 8-vector tile at every density (backward 6.56 -> 5.86 ms at 20%, 1.63 ->
 * 1.43 at 5%, 0.344 -> 0.319 at 1%); 4, 6, 12 and 32 vectors were slower.
 * Half as many tiles per connection means half as many passes over the
 * connections and their lane sums; on targets with 32 vector registers
 * (NEON) the tile fits the registers. */
#include "kernels.h"

#define KNAME(x) x##_generic
#define VW 4
#define FWD_NV 8
#define BWD_NV 16
#define BWD_X_MEM 1
#define GRAD_NV 8
#include "sparse_tmpl.h"
