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

/* Bias, activation and (softmax) the column softmax on columns [j0, j1)
 * of the outputs. */
RW_HOT static void finish_columns(rw_layer *L, size_t B, size_t j0, size_t j1)
{
    for (size_t o = 0; o < L->out; o++) {
        float *a = L->a + o * B, b = L->b[o];
        for (size_t j = j0; j < j1; j++)
            a[j] += b;
        rw_act_forward(L->act, a + j0, j1 - j0);
    }
    if (L->act == RW_ACT_SOFTMAX)
        rw_softmax_column_range(L->a, L->out, B, j0, j1);
}

/* Shared (the caller's `share`: its other passes keep the threads awake),
 * a product smaller than the GEMM library's share of the threads
 * (rw_par_min_work(): the 10-output layer's 1.3 million multiply-adds at
 * batch 128) but of RW_STEP_PAR_MIN or more runs as two fixed pieces, one
 * per thread, so that the other thread stays awake for the sparse passes
 * before and after it instead of sleeping through the layer and taking
 * 40-90 us to wake for the next one (base.h). The pieces are the same on
 * any number of threads (one thread runs both), and so are the bits. */
static bool in_pieces(const rw_layer *L, size_t B)
{
    double work = (double)L->out * (double)L->in * (double)B;
    return work >= (double)RW_STEP_PAR_MIN && work < (double)rw_par_min_work();
}

/* The size of the first of two pieces of n: about half, a multiple of 16. */
static size_t first_piece(size_t n) { return (n / 2 + 15) & ~(size_t)15; }

/* Columns [j0, j1) of the outputs: their product, then finish_columns. */
static void forward_columns(rw_layer *L, const float *x, size_t B, size_t j0,
                            size_t j1)
{
    rw_sgemm('N', 'N', L->out, j1 - j0, L->in, 1.0f, L->w, L->in, x + j0, B,
             0.0f, L->a + j0, B);
    finish_columns(L, B, j0, j1);
}

void rw_dense_forward(rw_layer *L, const float *x, size_t B, bool share)
{
    if (!(share && B >= 32 && in_pieces(L, B))) {
        forward_columns(L, x, B, 0, B);
        return;
    }
    /* Shared: two pieces of the batch's columns, each finished (bias,
     * activation, softmax) by the thread that formed it. */
    size_t h = first_piece(B);
#pragma omp parallel for num_threads(2) if (rw_get_threads() > 1)
    for (int p = 0; p < 2; p++)
        forward_columns(L, x, B, p ? h : 0, p ? B : h);
}

/* The weight gradient's columns and the input error's rows of inputs
 * [i0, i0 + n): each product reads only those inputs' rows, and the error
 * goes through xact's derivative while its rows are in the cache. */
static void backward_inputs(rw_layer *L, const float *x, float *dx, size_t B,
                            rw_activation xact, size_t i0, size_t n)
{
    rw_sgemm('N', 'T', L->out, n, B, 1.0f, L->d, B, x + i0 * B, B, 0.0f,
             L->gw + i0, L->in);
    if (!dx)
        return;
    rw_sgemm('T', 'N', n, B, L->out, 1.0f, L->w + i0, L->in, L->d, B, 0.0f,
             dx + i0 * B, B);
    rw_act_backward(xact, x + i0 * B, dx + i0 * B, n * B);
}

void rw_dense_backward(rw_layer *L, const float *x, float *dx, size_t B,
                       bool share, rw_activation xact)
{
    rw_row_sums(L->d, L->gb, 0, L->out, B);
    if (!(share && L->in >= 32 && in_pieces(L, B))) {
        backward_inputs(L, x, dx, B, xact, 0, L->in);
        return;
    }
    /* Shared: two pieces of the inputs, one per thread, so that each
     * thread reads half of x and writes half of dx (one thread forming the
     * whole weight gradient, the other the whole input error, took 149 us
     * for the 10-output layer at batch 128, one of them waiting 50 us for
     * the other; the derivative on the calling thread after the pass, 36
     * us more). */
    size_t h = first_piece(L->in);
#pragma omp parallel for num_threads(2) if (rw_get_threads() > 1)
    for (int p = 0; p < 2; p++)
        backward_inputs(L, x, dx, B, xact, p ? h : 0, p ? L->in - h : h);
}
