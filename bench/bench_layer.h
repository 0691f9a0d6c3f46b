/* The benchmark layer of bench_sparse and kernel_ab: I inputs, O outputs,
 * ReLU, dense (the GEMM) at density 1, else sparse with density * I * O
 * connections at random; weights N(0, 0.05^2) and an error of batch B
 * uniform in [-0.5, 0.5), all from rng. Prints the error and returns
 * false when it cannot be built. */
#ifndef RW_BENCH_LAYER_H
#define RW_BENCH_LAYER_H

#include "internal.h"

#include <stdio.h>

static inline bool bench_layer(rw_layer *L, size_t I, size_t O, size_t B,
                               double density, rw_rng *rng)
{
    rw_error err;
    size_t nnz = (size_t)(density * (double)I * (double)O);
    rw_status st = density >= 1.0
                       ? rw_layer_init_dense(L, I, O, RW_ACT_RELU, &err)
                       : rw_layer_init_sparse(L, I, O, nnz, RW_ACT_RELU, rng, &err);
    if (st != RW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return false;
    }
    for (size_t k = 0; k < L->nw; k++)
        L->w[k] = (float)(rw_rng_normal(rng) * 0.05);
    L->a = rw_alloc(O * B, sizeof(float), "a", &err);
    L->d = rw_alloc(O * B, sizeof(float), "d", &err);
    if (!L->a || !L->d) {
        fprintf(stderr, "%s\n", err.msg);
        rw_layer_free(L);
        return false;
    }
    for (size_t i = 0; i < O * B; i++)
        L->d[i] = (float)(rw_rng_uniform(rng) - 0.5);
    return true;
}

#endif
