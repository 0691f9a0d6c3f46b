/* Rewiring of sparse layers: drop weak connections, grow new ones.
 *   SET  (Mocanu et al. 2018): drop the `fraction` smallest positive weights
 *        and the `fraction` negative weights closest to zero, grow the same
 *        number at uniformly random unconnected positions.
 *   RigL (Evci et al. 2020): drop the smallest |w|, grow where |dL/dw| of the
 *        missing connections is largest. The dense gradient d x^T is formed
 *        one block of rows at a time, so memory stays bounded.
 * Everything happens in place on the compressed rows: rows are compacted
 * after the drop, and the new connections are merged in from the back. All
 * per-connection arrays (weights, optimizer moments, ...) move together. */
#include "plasticity/plasticity.h"
#include "dist/dist.h"
#include "layers/select.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GROW_SCALE 0.1 /* SET: new weights ~ N(0, (0.1 He std)^2) */
#define DROPPED RW_COL_DROPPED
#define RIGL_BLOCK_BYTES (8u << 20) /* dense gradient block, per rewire */

/* Marks (in drop[]) the `count` connections with the smallest key(w)
 * among those not yet marked that pass `select`. Ties are broken in
 * storage order. `scratch` holds nw floats. Returns the number marked. */
typedef enum { SEL_ALL, SEL_NONNEG, SEL_NEG } sel_kind;

/* Drop key: magnitude (or closeness to zero for negatives), raised for
 * protected connections (consolidation, permanence). */
static float key_of(const rw_layer *L, size_t k, sel_kind s)
{
    float w = L->w[k], key = s == SEL_NEG ? -w : fabsf(w);
    /* Usage-aware drop: the contribution |w| * mean |input| (a negative
     * usage is a trace that has not seen data yet). */
    if (L->in_usage && L->in_usage_n == L->in) {
        float u = L->in_usage[L->col[k] & RW_COL_MASK];
        key *= u >= 0.0f ? u : 1.0f;
    }
    return L->keep ? key * (1.0f + L->keep[k]) : key;
}
/* Zero weights go with the positive ones, where they have the smallest
 * key: a connection grown at zero (RigL, Hebbian) that stayed at zero is
 * the first SET drops, never immune. */
static bool selected(float w, sel_kind s)
{
    return s == SEL_ALL || (s == SEL_NONNEG ? w >= 0.0f : w < 0.0f);
}

/* The drop as a selection (layers/select.h): the unmarked connections of
 * one sign class, by key_of, ties in storage order. */
typedef struct drop_sel {
    const rw_layer *L;
    unsigned char *drop;
    sel_kind s;
} drop_sel;

static bool drop_eligible(const void *ctx, size_t k)
{
    const drop_sel *d = ctx;
    return !d->drop[k] && selected(d->L->w[k], d->s);
}

static float drop_key(const void *ctx, size_t k)
{
    const drop_sel *d = ctx;
    return key_of(d->L, k, d->s);
}

static void drop_take(void *ctx, size_t k)
{
    ((drop_sel *)ctx)->drop[k] = 1;
}

static size_t mark_smallest(const rw_layer *L, unsigned char *drop,
                            float *scratch, sel_kind s, size_t count)
{
    static const rw_select_fns fns = {drop_eligible, drop_key, NULL, drop_take};
    drop_sel d = {L, drop, s};
    return rw_select_smallest(L->nw, count, scratch, &fns, &d);
}

/* Fills keys[0..n) with distinct random positions o*in+i that are
 * unconnected once the connections marked in drop[] are gone, sorted. */
static void grow_random(const rw_layer *L, const unsigned char *drop,
                        rw_rng *rng, uint64_t *keys, size_t n)
{
    size_t have = 0;
    for (int round = 0; round < 64 && have < n; round++) {
        for (size_t j = have; j < n; j++) {
            uint64_t o = rw_rng_below(rng, L->out), i = rw_rng_below(rng, L->in);
            keys[j] = o * L->in + i;
        }
        qsort(keys, n, sizeof *keys, rw_cmp_u64);
        size_t u = 0;
        for (size_t j = 0; j < n; j++) {
            uint64_t k = keys[j];
            if (u && keys[u - 1] == k)
                continue;
            if (rw_sparse_row_has_live(L, drop, (size_t)(k / L->in),
                                       (uint32_t)(k % L->in)))
                continue;
            keys[u++] = k;
        }
        have = u;
    }
    if (have < n) {
        /* Nearly full layer: take free positions in order from a random
         * start (rare; only layers close to density 1 get here). */
        uint64_t total = (uint64_t)L->in * L->out;
        uint64_t p = rw_rng_below(rng, total);
        for (uint64_t step = 0; step < total && have < n; step++, p = (p + 1) % total) {
            if (rw_sparse_row_has_live(L, drop, (size_t)(p / L->in),
                                       (uint32_t)(p % L->in)))
                continue;
            bool dup = false;
            for (size_t j = 0; j < have && !dup; j++)
                dup = keys[j] == p;
            if (!dup)
                keys[have++] = p;
        }
        qsort(keys, have, sizeof *keys, rw_cmp_u64);
    }
}

/* The growth candidates go through the bounded heap of layers/topology.c
 * (rw_heap_push_top). */
typedef rw_cand cand;

/* Fills keys[0..n) with the positions of the n largest |d x^T| among
 * the positions unconnected once the connections marked in drop[] are
 * gone, sorted by key. x: I x B, d: O x B. */
static rw_status grow_gradient(const rw_layer *L, const unsigned char *drop,
                               const float *x, size_t B, uint64_t *keys,
                               size_t n, rw_error *err)
{
    size_t rows = RIGL_BLOCK_BYTES / (sizeof(float) * L->in);
    if (rows == 0)
        rows = 1;
    if (rows > L->out)
        rows = L->out;
    float *G = rw_alloc(rows * L->in, sizeof(float), "RigL gradient block", err);
    cand *heap = rw_alloc(n, sizeof(cand), "RigL candidates", err);
    if (!G || !heap) {
        rw_free(G);
        rw_free(heap);
        return RW_ERR_NOMEM;
    }
    size_t hs = 0;
    for (size_t o0 = 0; o0 < L->out; o0 += rows) {
        size_t r = L->out - o0 < rows ? L->out - o0 : rows;
        rw_sgemm('N', 'T', r, L->in, B, 1.0f, L->d + o0 * B, B, x, B, 0.0f, G,
                 L->in);
        /* Data-parallel: the block of the global batch (dist.c). */
        rw_status st = rw_dist_sum_block(G, r * L->in, err);
        if (st != RW_OK) {
            rw_free(G);
            rw_free(heap);
            return st;
        }
        for (size_t q = 0; q < r; q++) {
            size_t o = o0 + q;
            float *g = G + q * L->in;
            for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++)
                if (!drop[k])
                    g[L->col[k] & RW_COL_MASK] = -1.0f; /* existing: never grown */
            for (size_t i = 0; i < L->in; i++) {
                if (g[i] == -1.0f && rw_sparse_row_has_live(L, drop, o, (uint32_t)i))
                    continue;
                rw_heap_push_top(heap, &hs, n, (cand){fabsf(g[i]), (uint64_t)o * L->in + i});
            }
        }
    }
    rw_free(G);
    if (hs != n) { /* cannot happen: the drop left at least n free */
        rw_free(heap);
        return rw_fail(err, RW_ERR_ARG, "RigL growth found %zu of %zu positions",
                       hs, n);
    }
    for (size_t j = 0; j < hs; j++)
        keys[j] = heap[j].key;
    qsort(keys, hs, sizeof *keys, rw_cmp_u64);
    rw_free(heap);
    return RW_OK;
}

/* Merges the sorted new positions into the compacted rows from the back,
 * giving the new connections the weights neww[] and zeroed state; their SI
 * path starts (si_prev) and their anchor is their first weight, so neither
 * the path integral nor the task's change sees a jump from 0. */
static void merge_new(rw_layer *L, const uint64_t *keys, const float *neww,
                      size_t n)
{
    float *arrs[RW_CONN_MAX];
    size_t na = rw_layer_parallel_arrays(L, arrs);
    size_t old_nnz = L->row_ptr[L->out];
    size_t w = old_nnz + n; /* one past the last slot to write */
    size_t kn = n;          /* new keys left, consumed from the back */
    size_t src = old_nnz;   /* one past the last old entry */
    for (size_t o = L->out; o-- > 0;) {
        size_t s = L->row_ptr[o];
        size_t row_end = w;
        while (src > s || (kn > 0 && keys[kn - 1] / L->in == o)) {
            bool take_new = kn > 0 && keys[kn - 1] / L->in == o &&
                            (src == s || (uint32_t)(keys[kn - 1] % L->in) >
                                             (L->col[src - 1] & RW_COL_MASK));
            w--;
            if (take_new) {
                kn--;
                L->col[w] = (uint32_t)(keys[kn] % L->in);
                arrs[0][w] = neww[kn];
                for (size_t a = 1; a < na; a++)
                    arrs[a][w] = 0.0f;
                if (L->si_prev)
                    L->si_prev[w] = neww[kn];
                if (L->anchor)
                    L->anchor[w] = neww[kn];
            } else {
                src--;
                L->col[w] = L->col[src];
                for (size_t a = 0; a < na; a++)
                    arrs[a][w] = arrs[a][src];
            }
        }
        L->row_ptr[o + 1] = row_end;
    }
    L->row_ptr[0] = 0;
}

/* What one layer's rewiring will do, decided before anything changes:
 * drop[k] marks the connections to drop, keys[0..n) the sorted positions
 * to grow and neww[0..n) their first weights. */
typedef struct rewire_plan {
    unsigned char *drop;
    uint64_t *keys;
    float *neww;
    size_t n;
} rewire_plan;

static void plan_free(rewire_plan *p)
{
    rw_free(p->drop);
    rw_free(p->keys);
    rw_free(p->neww);
    memset(p, 0, sizeof *p);
}

/* Decides the rewiring of layer l without changing the layer (only the
 * RNG advances). On failure the plan is empty. */
static rw_status plan_layer(rw_net *net, size_t l, rw_rewire_kind kind,
                            double fraction, rw_rng *rng, rewire_plan *p,
                            rw_error *err)
{
    rw_layer *L = &net->layers[l];
    const float *x = l ? net->layers[l - 1].a : net->x0;
    size_t B = net->cur_batch;
    size_t nnz = L->nw, target = 0, nnonneg = 0, nneg = 0;
    memset(p, 0, sizeof *p);
    if (kind == RW_REWIRE_SET) {
        for (size_t k = 0; k < nnz; k++) {
            nnonneg += L->w[k] >= 0.0f;
            nneg += L->w[k] < 0.0f;
        }
        target = (size_t)(fraction * (double)nnonneg) +
                 (size_t)(fraction * (double)nneg);
    } else {
        target = (size_t)(fraction * (double)nnz);
    }
    if (target == 0)
        return RW_OK;
    p->drop = rw_calloc(nnz, 1, "rewiring marks", err);
    p->keys = p->drop ? rw_alloc(target, sizeof *p->keys, "rewiring candidates", err) : NULL;
    p->neww = p->keys ? rw_alloc(target, sizeof *p->neww, "rewiring weights", err) : NULL;
    float *scratch = p->neww ? rw_alloc(nnz, sizeof(float), "rewiring keys", err) : NULL;
    if (!scratch) {
        plan_free(p);
        return RW_ERR_NOMEM;
    }
    size_t dropped;
    if (kind == RW_REWIRE_SET) {
        dropped = mark_smallest(L, p->drop, scratch, SEL_NONNEG,
                                (size_t)(fraction * (double)nnonneg));
        dropped += mark_smallest(L, p->drop, scratch, SEL_NEG,
                                 (size_t)(fraction * (double)nneg));
    } else {
        dropped = mark_smallest(L, p->drop, scratch, SEL_ALL, target);
    }
    rw_free(scratch);
    p->n = dropped;
    /* SET's new connections start small: a tenth of the He scale. Starting
     * at the full scale (as in the first SET paper) replaces a third of the
     * layer with noise at every rewiring, which costs accuracy that
     * training never wins back once the learning rate has decayed
     * (Fashion-MNIST, 784-1000x3-10, epsilon 20, Adam, 10 epochs: 80.3%
     * against 88.7% now); starting at zero leaves neurons that have died
     * (ReLU) dead for good in small layers (the two-spirals example: 74.8%
     * against 99.8%). RigL and Hebbian growth start at zero. */
    rw_status st = RW_OK;
    double sd = 0.0;
    if (kind == RW_REWIRE_SET) {
        grow_random(L, p->drop, rng, p->keys, dropped);
        sd = GROW_SCALE * rw_init_std(RW_INIT_HE, L->act,
                                      (double)nnz / (double)L->out, 0.0);
    } else if (kind == RW_REWIRE_HEBBIAN) {
        st = rw_grow_hebbian(net, l, p->drop, dropped, p->keys, dropped, err);
    } else {
        st = grow_gradient(L, p->drop, x, B, p->keys, dropped, err);
    }
    if (st != RW_OK) {
        plan_free(p);
        return st;
    }
    /* Drawn in key order, so the result does not depend on the merge. */
    for (size_t j = 0; j < dropped; j++)
        p->neww[j] = sd > 0.0 ? (float)(sd * rw_rng_normal(rng)) : 0.0f;
    return RW_OK;
}

/* Carries out a plan; cannot fail. The connection count stays the same. */
static void commit_layer(rw_layer *L, const rewire_plan *p,
                         rw_rewire_stats *st)
{
    if (st)
        *st = (rw_rewire_stats){p->n, p->n};
    if (!p->drop)
        return;
    for (size_t k = 0; k < L->nw; k++) {
        if (!p->drop[k])
            continue;
        if (L->col[k] & RW_COL_INITIAL)
            L->initial_alive--;
        L->col[k] = DROPPED;
    }
    rw_sparse_compact(L);
    merge_new(L, p->keys, p->neww, p->n);
    /* The gradients belong to the old positions. */
    memset(L->gw, 0, L->nw * sizeof *L->gw);
    rw_sparse_build_transpose(L);
}

rw_status rw_net_rewire(rw_net *net, rw_rewire_kind kind, double fraction,
                        rw_rng *rng, rw_rewire_stats *stats, rw_error *err)
{
    if (!net || !rng)
        return rw_fail(err, RW_ERR_ARG, "rewire: NULL argument");
    if ((unsigned)kind > RW_REWIRE_HEBBIAN)
        return rw_fail(err, RW_ERR_ARG, "rewire: unknown rewiring rule %d",
                       (int)kind);
    if (!(fraction >= 0.0 && fraction <= 1.0))
        return rw_fail(err, RW_ERR_ARG,
                       "rewire: drop fraction %g is outside [0, 1]", fraction);
    if ((kind == RW_REWIRE_RIGL || kind == RW_REWIRE_HEBBIAN) &&
        !net->grads_ready)
        return rw_fail(err, RW_ERR_ARG,
                       "rewire: %s growth needs the %s of the last "
                       "rw_net_gradient, and %s; call rw_net_gradient "
                       "(again) before rw_net_rewire",
                       kind == RW_REWIRE_RIGL ? "RigL" : "Hebbian",
                       kind == RW_REWIRE_RIGL ? "errors" : "activations",
                       net->cur_batch ? "a forward pass (rw_net_predict, "
                                        "rw_net_evaluate) or a change of the "
                                        "neurons has replaced them since"
                                      : "there was none");
    /* Every layer is planned before any changes, so that a failure leaves
     * the network (and the RNG) exactly as they were. */
    rewire_plan plans[RW_MAX_LAYERS];
    memset(plans, 0, sizeof plans);
    rw_rng rng0 = *rng;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (kind == RW_REWIRE_NONE || L->kind != RW_LAYER_SPARSE)
            continue;
        rw_status st = plan_layer(net, l, kind, fraction, rng, &plans[l], err);
        if (st != RW_OK) {
            for (size_t j = 0; j < l; j++)
                plan_free(&plans[j]);
            *rng = rng0;
            return st;
        }
    }
    for (size_t l = 0; l < net->n_layers; l++) {
        if (stats)
            stats[l] = (rw_rewire_stats){0, 0};
        if (kind != RW_REWIRE_NONE && net->layers[l].kind == RW_LAYER_SPARSE)
            commit_layer(&net->layers[l], &plans[l], stats ? &stats[l] : NULL);
        plan_free(&plans[l]);
    }
    return RW_OK;
}
