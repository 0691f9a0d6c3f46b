/* Pruning: removes the weakest connections of sparse layers for good (no
 * regrowth), in place on the compressed rows like rewiring's drop
 * (rewire.c): connections are marked, the rows compacted with every
 * parallel array, the arrays shrunk and the transposed index rebuilt.
 *
 * Rules (rw_prune_kind), lowest score first:
 *   magnitude  |w|
 *   usage      credit trace (EMA of |pre x post error|, plasticity.c)
 *   hebbian    |co-activation trace| (EMA of pre x post activity)
 * each multiplied by 1 + keep (consolidation), ties broken by |w| and then
 * by storage order. Connections whose permanence is at or above the
 * threshold are never pruned, so a step may remove fewer than asked, and
 * the schedule catches up at its next event once their use has lapsed.
 *
 * Schedule (Zhu and Gupta 2017): between steps t0 and t1 the density of a
 * layer follows d(t) = df + (d0 - df) (1 - (t - t0)/(t1 - t0))^3, pruned
 * every prune_every steps and at t1 exactly, so at t1 every layer holds
 * round(df * in * out) connections (unless permanence protects more);
 * after t1 the network fine-tunes at that density. */
#include "plasticity/plasticity.h"
#include "layers/select.h"

#include <math.h>
#include <string.h>

double rw_prune_density_at(double d0, double df, double progress)
{
    if (!(progress > 0.0))
        return d0;
    if (progress >= 1.0)
        return df;
    double q = 1.0 - progress;
    return df + (d0 - df) * q * q * q;
}

static float score_of(const rw_layer *L, rw_prune_kind kind, size_t k)
{
    float s;
    switch (kind) {
    case RW_PRUNE_USAGE: s = L->credit[k]; break;
    case RW_PRUNE_HEBBIAN: s = fabsf(L->coact[k]); break;
    default: s = fabsf(L->w[k]); break;
    }
    return L->keep ? s * (1.0f + L->keep[k]) : s;
}

static bool eligible(const rw_layer *L, size_t k, double perm_threshold)
{
    if (L->col[k] == RW_COL_DROPPED)
        return false;
    return !(perm_threshold >= 0.0 && L->perm &&
             L->perm[k] >= (float)perm_threshold);
}

static void drop(rw_layer *L, size_t k)
{
    if (L->col[k] & RW_COL_INITIAL)
        L->initial_alive--;
    L->col[k] = RW_COL_DROPPED;
}

/* Pruning as a selection (layers/select.h). */
typedef struct prune_sel {
    rw_layer *L;
    rw_prune_kind kind;
    double perm_threshold;
} prune_sel;

static bool prune_eligible(const void *ctx, size_t k)
{
    const prune_sel *p = ctx;
    return eligible(p->L, k, p->perm_threshold);
}

static float prune_key(const void *ctx, size_t k)
{
    const prune_sel *p = ctx;
    return score_of(p->L, p->kind, k);
}

static float prune_tie(const void *ctx, size_t k)
{
    return fabsf(((const prune_sel *)ctx)->L->w[k]);
}

static void prune_take(void *ctx, size_t k)
{
    drop(((prune_sel *)ctx)->L, k);
}

size_t rw_prune_layer(rw_layer *L, rw_prune_kind kind, size_t target,
                      double perm_threshold)
{
    if (L->kind != RW_LAYER_SPARSE || target >= L->nw)
        return 0;
    if ((kind == RW_PRUNE_USAGE && !L->credit) ||
        (kind == RW_PRUNE_HEBBIAN && !L->coact))
        kind = RW_PRUNE_MAGNITUDE; /* no trace: fall back on |w| */
    /* The lowest scores go; ties by |w|, then in storage order. The
     * gradient array is free after the optimizer step: scratch. */
    static const rw_select_fns fns = {prune_eligible, prune_key, prune_tie,
                                      prune_take};
    prune_sel ps = {L, kind, perm_threshold};
    size_t removed = rw_select_smallest(L->nw, L->nw - target, L->gw, &fns, &ps);
    if (removed == 0)
        return 0;
    L->nw = rw_sparse_compact(L);
    /* Shrinking the buffers is an economy: if it fails, the larger ones
     * keep serving. */
    rw_layer_resize_conns(L, L->nw, NULL);
    memset(L->gw, 0, L->nw * sizeof *L->gw);
    rw_sparse_build_transpose(L);
    return removed;
}

rw_status rw_net_prune(rw_net *net, rw_prune_kind kind, double density,
                       size_t *pruned, rw_error *err)
{
    if (!net)
        return rw_fail(err, RW_ERR_ARG, "prune: network is NULL");
    if (!(density >= 0.0 && density <= 1.0))
        return rw_fail(err, RW_ERR_ARG, "prune: density %g is outside [0, 1]",
                       density);
    if ((unsigned)kind > RW_PRUNE_HEBBIAN)
        return rw_fail(err, RW_ERR_ARG, "prune: unknown rule %d", (int)kind);
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        if (L->kind != RW_LAYER_SPARSE)
            continue;
        if ((kind == RW_PRUNE_USAGE && !L->credit) ||
            (kind == RW_PRUNE_HEBBIAN && !L->coact))
            return rw_fail(err, RW_ERR_ARG,
                           "prune: layer %zu has no %s traces (train with "
                           "traces first)",
                           l + 1, kind == RW_PRUNE_USAGE ? "credit" : "co-activation");
    }
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        size_t removed = 0;
        if (kind != RW_PRUNE_NONE && L->kind == RW_LAYER_SPARSE) {
            size_t target = (size_t)llround(density * (double)L->in * (double)L->out);
            removed = rw_prune_layer(L, kind, target, -1.0);
        }
        if (pruned)
            pruned[l] = removed;
    }
    return RW_OK;
}
