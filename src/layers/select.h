/* Marking the k smallest connections of a layer, the one selection that
 * rewiring's drop (plasticity/rewire.c) and pruning (plasticity/prune.c)
 * share. Inline, so that each caller's key functions are compiled into
 * it. Not installed. */
#ifndef RW_SELECT_H
#define RW_SELECT_H

#include "layers/layers.h"

/* What a selection asks of its caller, about entry k of n (a context ctx
 * passed through): whether it takes part, its key, an optional second key
 * for the entries tied at the threshold, and what to do with a chosen
 * entry. */
typedef struct rw_select_fns {
    bool (*eligible)(const void *ctx, size_t k);
    float (*key)(const void *ctx, size_t k);
    float (*tie)(const void *ctx, size_t k); /* NULL: storage order only */
    void (*take)(void *ctx, size_t k);
} rw_select_fns;

/* Takes the `count` eligible entries of [0, n) with the smallest key
 * (fewer when fewer are eligible). Entries tied at the threshold go by the
 * smaller second key, then in storage order. `scratch` holds n floats.
 * Never takes more than asked; returns the number taken. The eligibility
 * of an entry may change once it is taken (each entry is visited once). */
static inline size_t rw_select_smallest(size_t n, size_t count, float *scratch,
                                        const rw_select_fns *f, void *ctx)
{
    if (count == 0)
        return 0;
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        if (f->eligible(ctx, k))
            scratch[m++] = f->key(ctx, k);
    if (count > m)
        count = m;
    if (count == 0)
        return 0;
    float thr = rw_select_kth(scratch, m, count - 1);
    size_t below = 0, tied = 0;
    for (size_t k = 0; k < n; k++) {
        if (!f->eligible(ctx, k))
            continue;
        float s = f->key(ctx, k);
        if (s < thr)
            below++;
        else if (s == thr && f->tie)
            scratch[tied++] = f->tie(ctx, k);
    }
    /* need >= 1: the count-th key is tied at the threshold. */
    size_t need = count - below, taken = 0;
    float thr_t = 0.0f;
    if (f->tie) {
        thr_t = rw_select_kth(scratch, tied, need - 1);
        size_t below_t = 0;
        for (size_t k = 0; k < n; k++)
            if (f->eligible(ctx, k) && f->key(ctx, k) == thr &&
                f->tie(ctx, k) < thr_t)
                below_t++;
        need -= below_t;
    }
    /* `need` now counts the entries to take at (thr, thr_t), in order. */
    for (size_t k = 0; k < n; k++) {
        if (!f->eligible(ctx, k))
            continue;
        float s = f->key(ctx, k);
        bool go = s < thr;
        if (s == thr) {
            float t = f->tie ? f->tie(ctx, k) : 0.0f;
            go = t < thr_t || (t == thr_t && need > 0);
            if (t == thr_t && go)
                need--;
        }
        if (go) {
            f->take(ctx, k);
            taken++;
        }
    }
    return taken;
}

#endif /* RW_SELECT_H */
