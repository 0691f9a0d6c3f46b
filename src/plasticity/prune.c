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

size_t rw_prune_layer(rw_layer *L, rw_prune_kind kind, size_t target,
                      double perm_threshold)
{
    if (L->kind != RW_LAYER_SPARSE || target >= L->nw)
        return 0;
    if ((kind == RW_PRUNE_USAGE && !L->credit) ||
        (kind == RW_PRUNE_HEBBIAN && !L->coact))
        kind = RW_PRUNE_MAGNITUDE; /* no trace: fall back on |w| */
    size_t count = L->nw - target;
    /* The gradient array is free after the optimizer step: scratch. */
    float *scratch = L->gw;
    size_t n = 0;
    for (size_t k = 0; k < L->nw; k++)
        if (eligible(L, k, perm_threshold))
            scratch[n++] = score_of(L, kind, k);
    if (count > n)
        count = n;
    if (count == 0)
        return 0;
    float thr = rw_select_kth(scratch, n, count - 1);
    size_t below = 0, tied = 0;
    for (size_t k = 0; k < L->nw; k++) {
        if (!eligible(L, k, perm_threshold))
            continue;
        float s = score_of(L, kind, k);
        if (s < thr)
            below++;
        else if (s == thr)
            scratch[tied++] = fabsf(L->w[k]);
    }
    /* Among the connections tied at the threshold, the smallest |w| go;
     * ties of those in storage order. */
    size_t need = count - below; /* >= 1: the k-th score is tied */
    float thr_w = rw_select_kth(scratch, tied, need - 1);
    size_t below_w = 0;
    for (size_t k = 0; k < L->nw; k++)
        if (eligible(L, k, perm_threshold) && score_of(L, kind, k) == thr &&
            fabsf(L->w[k]) < thr_w)
            below_w++;
    size_t ties = need - below_w, removed = 0;
    for (size_t k = 0; k < L->nw; k++) {
        if (!eligible(L, k, perm_threshold))
            continue;
        float s = score_of(L, kind, k);
        bool go = s < thr;
        if (s == thr) {
            float aw = fabsf(L->w[k]);
            go = aw < thr_w || (aw == thr_w && ties > 0);
            if (aw == thr_w && go)
                ties--;
        }
        if (go) {
            drop(L, k);
            removed++;
        }
    }
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
