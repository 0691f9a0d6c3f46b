/* Hebbian growth (fire together, wire together) for rewire.c: after the
 * weakest connections of a sparse layer are dropped, the new ones go to the
 * unconnected pairs (output o, input i) with the strongest co-activation
 * |(1/B) sum_b x[i,b] a[o,b]| on the current batch (x: the layer's input,
 * I x B; a: its output, O x B; the same quantity the co-activation trace
 * averages for existing connections).
 *
 * Scoring all I x O pairs would cost O(I O B), the price RigL pays. Instead
 * the candidates are the pairs between the P most active inputs and the Q
 * most active outputs (activity traces when kept, else the batch mean of
 * |x| and |a|), with P/Q = I/O and P Q = M. M starts at 4n for n
 * connections to grow and doubles while the block holds fewer than 2n free
 * pairs (a block crowded by existing connections), up to the whole layer.
 * Cost per layer and rewiring: O((I + O) B) for the batch activities when
 * no trace is kept, O(I log I + O log O) to rank the neurons, O(nnz) to
 * count the block's connections, O(M B) for the candidate scores (one GEMM,
 * in blocks of rows so memory stays bounded) and O(M log n) to keep the n
 * best: proportional to the number of connections grown, not to I x O.
 * The choice is deterministic (ties: lower position o*I+i first). */
#include "plasticity/plasticity.h"
#include "dist/dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HEBB_BLOCK_BYTES (8u << 20) /* candidate score block */

typedef struct ranked {
    float v;
    uint32_t idx;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1; /* most active first */
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static float abs_mean(const float *a, size_t B)
{
    double s = 0.0;
    for (size_t j = 0; j < B; j++)
        s += fabsf(a[j]);
    return (float)(s / (double)B);
}

/* order[r] = neuron of rank r, rank[i] = rank of neuron i. `sum` (n
 * floats) is scratch for the batch activities of all ranks (dist.c). */
static rw_status rank_neurons(const float *act_trace, const float *batch,
                              size_t n, size_t B, ranked *tmp, float *sum,
                              uint32_t *order, uint32_t *rank, rw_error *err)
{
    for (size_t i = 0; i < n; i++)
        sum[i] = act_trace ? act_trace[i] : abs_mean(batch + i * B, B);
    rw_status st = act_trace ? RW_OK : rw_dist_sum_block(sum, n, err);
    if (st != RW_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        tmp[i] = (ranked){sum[i], (uint32_t)i};
    qsort(tmp, n, sizeof *tmp, cmp_ranked);
    for (size_t r = 0; r < n; r++) {
        order[r] = tmp[r].idx;
        rank[tmp[r].idx] = (uint32_t)r;
    }
    return RW_OK;
}

static size_t ceil_size(double v) { return v < 1.0 ? 1 : (size_t)ceil(v); }

/* The candidate block of Hebbian growth: the top P inputs x top Q outputs
 * by activity, grown (doubling its area) until it holds at least
 * min(2n, free_total) unconnected pairs or covers the whole layer. */
static void candidate_block(const rw_layer *L, const unsigned char *drop,
                            size_t n, size_t free_total,
                            const uint32_t *out_order, const uint32_t *in_rank,
                            size_t *P_out, size_t *Q_out)
{
    size_t I = L->in, O = L->out;
    double want = (double)(4 * n > 64 ? 4 * n : 64);
    size_t P, Q;
    for (;;) {
        P = ceil_size(sqrt(want * (double)I / (double)O));
        if (P > I)
            P = I;
        Q = ceil_size(want / (double)P);
        if (Q > O)
            Q = O;
        size_t inside = 0;
        for (size_t q = 0; q < Q; q++) {
            size_t o = out_order[q];
            for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++)
                inside += (!drop || !drop[k]) && in_rank[L->col[k] & RW_COL_MASK] < P;
        }
        size_t room = P * Q - inside, goal = 2 * n < free_total ? 2 * n : free_total;
        if (room >= goal || (P == I && Q == O))
            break;
        want *= 2.0;
    }
    *P_out = P;
    *Q_out = Q;
}

rw_status rw_grow_hebbian(rw_net *net, size_t l, const unsigned char *drop,
                          size_t dropped, uint64_t *keys, size_t n,
                          rw_error *err)
{
    if (n == 0)
        return RW_OK;
    rw_layer *L = &net->layers[l];
    size_t B = net->cur_batch, I = L->in, O = L->out;
    if (B == 0 || !L->a)
        return rw_fail(err, RW_ERR_ARG,
                       "Hebbian growth needs the activations of a batch first");
    /* Free once the marked connections are gone. */
    size_t free_total = I * O - (L->nw - dropped);
    if (n > free_total)
        return rw_fail(err, RW_ERR_ARG,
                       "layer %zu has %zu free positions, cannot grow %zu",
                       l + 1, free_total, n);
    const float *x = l ? net->layers[l - 1].a : net->x0;
    const float *pre_trace = l ? net->layers[l - 1].activity : NULL;
    size_t maxdim = I > O ? I : O;
    ranked *tmp = rw_alloc(maxdim, sizeof *tmp, "Hebbian ranking", err);
    uint32_t *in_order = rw_alloc(I, sizeof(uint32_t), "Hebbian ranking", err);
    uint32_t *in_rank = rw_alloc(I, sizeof(uint32_t), "Hebbian ranking", err);
    uint32_t *out_order = rw_alloc(O, sizeof(uint32_t), "Hebbian ranking", err);
    uint32_t *out_rank = rw_alloc(O, sizeof(uint32_t), "Hebbian ranking", err);
    rw_cand *heap = rw_alloc(n, sizeof *heap, "Hebbian candidates", err);
    float *xp = NULL, *aq = NULL, *S = NULL;
    float *sum = rw_alloc(maxdim, sizeof(float), "Hebbian ranking", err);
    rw_status st = RW_ERR_NOMEM;
    if (!tmp || !in_order || !in_rank || !out_order || !out_rank || !heap || !sum)
        goto done;
    if ((st = rank_neurons(pre_trace, x, I, B, tmp, sum, in_order, in_rank,
                           err)) != RW_OK ||
        (st = rank_neurons(L->activity, L->a, O, B, tmp, sum, out_order,
                           out_rank, err)) != RW_OK)
        goto done;
    st = RW_ERR_NOMEM;

    size_t P, Q;
    candidate_block(L, drop, n, free_total, out_order, in_rank, &P, &Q);

    /* Scores |A_Q X_P^T| / B, a block of output rows at a time; blocks
     * sized by the largest batch share of all ranks, so that every rank
     * sums the same blocks (dist.c). */
    uint64_t Bmax = B;
    if ((st = rw_dist_max_u64(&Bmax, 1, err)) != RW_OK)
        goto done;
    st = RW_ERR_NOMEM;
    size_t rows = HEBB_BLOCK_BYTES / (sizeof(float) * (P > Bmax ? P : (size_t)Bmax));
    if (rows == 0)
        rows = 1;
    if (rows > Q)
        rows = Q;
    xp = rw_alloc(P * B, sizeof(float), "Hebbian inputs", err);
    aq = rw_alloc(rows * B, sizeof(float), "Hebbian outputs", err);
    S = rw_alloc(rows * P, sizeof(float), "Hebbian scores", err);
    if (!xp || !aq || !S)
        goto done;
    for (size_t p = 0; p < P; p++)
        memcpy(xp + p * B, x + (size_t)in_order[p] * B, B * sizeof(float));
    size_t hs = 0;
    for (size_t q0 = 0; q0 < Q; q0 += rows) {
        size_t r = Q - q0 < rows ? Q - q0 : rows;
        for (size_t q = 0; q < r; q++)
            memcpy(aq + q * B, L->a + (size_t)out_order[q0 + q] * B,
                   B * sizeof(float));
        rw_sgemm('N', 'T', r, P, B, 1.0f / (float)B, aq, B, xp, B, 0.0f, S, P);
        /* Data-parallel: the scores of the global batch (dist.c). */
        if ((st = rw_dist_sum_block(S, r * P, err)) != RW_OK)
            goto done;
        st = RW_ERR_NOMEM;
        for (size_t q = 0; q < r; q++) {
            size_t o = out_order[q0 + q];
            for (size_t p = 0; p < P; p++) {
                uint32_t i = in_order[p];
                if (rw_sparse_row_has_live(L, drop, o, i))
                    continue;
                rw_heap_push_top(heap, &hs, n,
                                 (rw_cand){fabsf(S[q * P + p]), (uint64_t)o * I + i});
            }
        }
    }
    if (hs != n) { /* cannot happen: the block holds >= n free pairs */
        st = rw_fail(err, RW_ERR_ARG, "Hebbian growth found %zu of %zu pairs",
                     hs, n);
        goto done;
    }
    for (size_t j = 0; j < n; j++)
        keys[j] = heap[j].key;
    qsort(keys, n, sizeof *keys, rw_cmp_u64);
    st = RW_OK;
done:
    rw_free(tmp);
    rw_free(in_order);
    rw_free(in_rank);
    rw_free(out_order);
    rw_free(out_rank);
    rw_free(heap);
    rw_free(sum);
    rw_free(xp);
    rw_free(aq);
    rw_free(S);
    return st;
}
