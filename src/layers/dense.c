/* Dense (fully connected) layer. Shapes: W is O x I row-major, inputs
 * x are I x B and outputs a are O x B (feature-major, see layers/layers.h).
 *   forward:  a  = f(W x + b)              one GEMM
 *   backward: gW = d x^T,  gb = sum_b d,   dx = W^T d   two GEMMs */
#include "layers/layers.h"

#include <string.h>

rw_status rw_layer_init_dense(rw_layer *L, size_t in, size_t out,
                              rw_activation act, rw_error *err)
{
    memset(L, 0, sizeof *L);
    L->kind = RW_LAYER_DENSE;
    L->act = act;
    L->in = in;
    L->out = out;
    if (!rw_mul_ok(in, out, &L->nw))
        return rw_fail(err, RW_ERR_NOMEM, "dense layer %zu x %zu is too large",
                       in, out);
    L->w = rw_alloc(L->nw, sizeof(float), "dense weights", err);
    L->gw = rw_calloc(L->nw, sizeof(float), "dense gradients", err);
    L->b = rw_calloc(out, sizeof(float), "biases", err);
    L->gb = rw_calloc(out, sizeof(float), "bias gradients", err);
    if (!L->w || !L->gw || !L->b || !L->gb) {
        rw_layer_free(L);
        return RW_ERR_NOMEM;
    }
    L->initial_nnz = L->initial_alive = L->nw;
    return RW_OK;
}

RW_HOT static void add_bias_rows(float *restrict a, const float *restrict b,
                                 size_t O, size_t B)
{
    for (size_t o = 0; o < O; o++)
        for (size_t j = 0; j < B; j++)
            a[o * B + j] += b[o];
}

void rw_dense_forward(rw_layer *L, const float *x, size_t B)
{
    rw_sgemm('N', 'N', L->out, B, L->in, 1.0f, L->w, L->in, x, B, 0.0f, L->a,
             B);
    add_bias_rows(L->a, L->b, L->out, B);
    rw_act_forward(L->act, L->a, L->out * B);
}

void rw_dense_backward(rw_layer *L, const float *x, float *dx, size_t B)
{
    rw_sgemm('N', 'T', L->out, L->in, B, 1.0f, L->d, B, x, B, 0.0f, L->gw,
             L->in);
    rw_row_sums(L->d, L->gb, 0, L->out, B);
    if (dx)
        rw_sgemm('T', 'N', L->in, B, L->out, 1.0f, L->w, L->in, L->d, B, 0.0f,
                 dx, B);
}
