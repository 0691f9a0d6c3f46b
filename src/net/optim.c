/* Optimizers. Their state (moments) is stored in each layer parallel to the
 * weights, so rewiring moves it with the connection it belongs to. Weight
 * decay applies to weights only, never to biases.
 *
 * Adam's bias correction is per parameter: each weight and bias counts the
 * steps t it has taken since its moments started at zero and divides them
 * by 1 - beta^t for its own t, so a connection grown late starts as a
 * fresh Adam would. With the global step instead, a steady gradient gives
 * a new connection steps of lr (1 - beta1^k) / sqrt(1 - beta2^k) in its
 * first k steps: 3.2 lr at k = 1, 6.5 lr at k = 10, still 3.2 lr at
 * k = 100 (beta 0.9, 0.999). A parameter that never rewires has t equal to
 * the global step, so training without rewiring is exactly as before
 * (and adam_global_steps = 1 gives the old correction everywhere). The
 * corrections come from a table (net->bc_tab) up to the t where both round
 * to 1.0f (16,600 steps for beta2 = 0.999; at most 2^20 entries). */
#include "net/net.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

rw_optim_config rw_optim_defaults(rw_optim_kind kind)
{
    rw_optim_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.momentum = 0.9;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    return c;
}

static bool needs_m2(rw_optim_kind k) { return k == RW_OPT_ADAM || k == RW_OPT_ADAMW; }

/* Step counts for moments that already exist: the global step (what the
 * bias correction used before there were counts), else zero. */
static rw_status ensure_counts(float **cnt, size_t n, bool fresh, float step,
                               rw_error *err)
{
    if (*cnt)
        return RW_OK;
    *cnt = rw_alloc(n, sizeof(float), "Adam step counts", err);
    if (!*cnt)
        return RW_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        (*cnt)[i] = fresh ? 0.0f : step;
    return RW_OK;
}

rw_status rw_net_ensure_moments(rw_net *net, rw_optim_kind kind, rw_error *err)
{
    if (kind == RW_OPT_SGD)
        return RW_OK;
    /* Another optimizer's moments mean nothing to this one: start fresh. */
    bool reset = net->has_moments && net->moments_for != kind;
    float step = net->step < (uint64_t)RW_ADAM_STEP_MAX ? (float)net->step
                                                        : RW_ADAM_STEP_MAX;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        bool fresh = !L->m2;
        if (!L->m1) {
            L->m1 = rw_calloc(L->nw, sizeof(float), "optimizer moments", err);
            L->bm1 = rw_calloc(L->out, sizeof(float), "optimizer moments", err);
        }
        if (needs_m2(kind) && !L->m2) {
            L->m2 = rw_calloc(L->nw, sizeof(float), "optimizer moments", err);
            L->bm2 = rw_calloc(L->out, sizeof(float), "optimizer moments", err);
        }
        if (!L->m1 || !L->bm1 || (needs_m2(kind) && (!L->m2 || !L->bm2)))
            return RW_ERR_NOMEM;
        if (needs_m2(kind) &&
            (ensure_counts(&L->mstep, L->nw, fresh, step, err) != RW_OK ||
             ensure_counts(&L->bmstep, L->out, fresh, step, err) != RW_OK))
            return RW_ERR_NOMEM;
        if (reset) {
            memset(L->m1, 0, L->nw * sizeof(float));
            memset(L->bm1, 0, L->out * sizeof(float));
            if (L->m2) {
                memset(L->m2, 0, L->nw * sizeof(float));
                memset(L->bm2, 0, L->out * sizeof(float));
            }
            if (L->mstep) {
                memset(L->mstep, 0, L->nw * sizeof(float));
                memset(L->bmstep, 0, L->out * sizeof(float));
            }
        }
    }
    if (reset)
        net->step = 0;
    net->has_moments = 1;
    net->moments_for = kind;
    return RW_OK;
}

typedef struct step_args {
    float lr, wd, mu, b1, b2, eps;
    /* bias corrections 1 - beta^t: tab1[t], tab2[t] for t <= tlast */
    const float *tab1, *tab2;
    float tlast;
    int global;     /* adam_global_steps: every parameter uses jglobal */
    size_t jglobal;
    /* 1 - beta in double before rounding: 1.0f - 0.999f is off by 1.3e-5
     * relative, which biased every Adam step by ~6e-6. */
    float omb1, omb2;
    int nesterov;
} step_args;

RW_HOT static void sgd(float *restrict w, const float *restrict g, size_t n,
                       const step_args *a)
{
    for (size_t i = 0; i < n; i++)
        w[i] -= a->lr * (g[i] + a->wd * w[i]);
}

RW_HOT static void momentum(float *restrict w, const float *restrict g,
                            float *restrict v, size_t n, const step_args *a)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + a->wd * w[i];
        v[i] = a->mu * v[i] + gi;
        w[i] -= a->lr * (a->nesterov ? gi + a->mu * v[i] : v[i]);
    }
}

/* The step's constants are copied out of *a first (read through the
 * pointer they might alias the arrays), and each weight-decay form is its
 * own loop without a branch, so that the loop is vectorised: it was scalar,
 * three divisions and a square root per weight, one at a time. */
static inline __attribute__((always_inline)) void
adam_body(float *restrict w, const float *restrict g, float *restrict m,
          float *restrict v, float *restrict cnt, size_t n,
          const step_args *a, const int decoupled, const int global)
{
    const float lr = a->lr, wd = a->wd, b1 = a->b1, b2 = a->b2;
    const float omb1 = a->omb1, omb2 = a->omb2, eps = a->eps;
    const int32_t jlast = (int32_t)a->tlast;
    const float *restrict tab1 = a->tab1, *restrict tab2 = a->tab2;
    const float c1g = tab1[a->jglobal], c2g = tab2[a->jglobal];
    for (size_t i = 0; i < n; i++) {
        float gi = g[i], wi = w[i];
        if (decoupled)
            wi -= lr * wd * wi;
        else
            gi += wd * wi;
        /* Counts are whole numbers up to RW_ADAM_STEP_MAX = 2^24, where
         * float's + 1 rounds back to 2^24: the count saturates there
         * without a floating-point comparison (which kept GCC from
         * vectorising the loop). */
        float t = cnt[i] + 1.0f;
        cnt[i] = t;
        float mi = b1 * m[i] + omb1 * gi;
        float vi = b2 * v[i] + omb2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float c1 = c1g, c2 = c2g;
        if (!global) {
            int32_t ti = (int32_t)t, j = ti < jlast ? ti : jlast;
            c1 = tab1[j];
            c2 = tab2[j];
        }
        float mh = mi / c1, vh = vi / c2;
        w[i] = wi - lr * mh / (sqrtf(vh) + eps);
    }
}

RW_HOT static void adam(float *restrict w, const float *restrict g,
                        float *restrict m, float *restrict v,
                        float *restrict cnt, size_t n, const step_args *a,
                        int decoupled)
{
    if (a->global) {
        if (decoupled)
            adam_body(w, g, m, v, cnt, n, a, 1, 1);
        else
            adam_body(w, g, m, v, cnt, n, a, 0, 1);
    } else if (decoupled) {
        adam_body(w, g, m, v, cnt, n, a, 1, 0);
    } else {
        adam_body(w, g, m, v, cnt, n, a, 0, 0);
    }
}

/* Updates n parameters on the calling thread; each element is independent,
 * so the step does not depend on how the parameters are shared out. */
static void update(rw_optim_kind kind, float *w, const float *g, float *m1,
                   float *m2, float *cnt, size_t n, const step_args *a)
{
    switch (kind) {
    case RW_OPT_SGD: sgd(w, g, n, a); break;
    case RW_OPT_MOMENTUM: momentum(w, g, m1, n, a); break;
    case RW_OPT_ADAM: adam(w, g, m1, m2, cnt, n, a, 0); break;
    case RW_OPT_ADAMW: adam(w, g, m1, m2, cnt, n, a, 1); break;
    }
}

#define BC_TAB_MAX ((size_t)1 << 20)

/* The table of Adam's bias corrections for beta1, beta2: every t up to the
 * first where both round to 1.0f (or BC_TAB_MAX), computed as the global
 * correction always was, so equal counts give equal steps. */
static rw_status ensure_bc_table(rw_net *net, double b1, double b2,
                                 rw_error *err)
{
    if (net->bc_tab && net->bc_b1 == b1 && net->bc_b2 == b2)
        return RW_OK;
    size_t T = 1;
    while (T + 1 < BC_TAB_MAX &&
           !((float)(1.0 - pow(b1, (double)T)) == 1.0f &&
             (float)(1.0 - pow(b2, (double)T)) == 1.0f))
        T++;
    float *tab = rw_alloc(2 * (T + 1), sizeof(float), "Adam bias corrections", err);
    if (!tab)
        return RW_ERR_NOMEM;
    for (size_t t = 0; t <= T; t++) {
        tab[t] = (float)(1.0 - pow(b1, (double)t));
        tab[T + 1 + t] = (float)(1.0 - pow(b2, (double)t));
    }
    rw_free(net->bc_tab);
    net->bc_tab = tab;
    net->bc_len = T + 1;
    net->bc_b1 = b1;
    net->bc_b2 = b2;
    return RW_OK;
}

void rw_net_fused_range(rw_net *net, size_t lo, size_t hi, rw_fused_fn fn,
                        void *ctx)
{
    size_t pos = 0;
    for (size_t l = 0; l < net->n_layers && pos < hi; l++) {
        rw_layer *L = &net->layers[l];
        for (int bias = 0; bias < 2 && pos < hi; bias++) {
            size_t n = bias ? L->out : L->nw;
            size_t a = lo > pos ? lo - pos : 0, e = hi - pos < n ? hi - pos : n;
            if (a < e)
                fn(ctx, L, bias, a, e, pos);
            pos += n;
        }
    }
}

/* The step on one piece of the fused order, with gradients from g in that
 * order, or from the layer's own when g is NULL. */
typedef struct range_step {
    rw_optim_kind kind;
    const float *g;
    const step_args *a, *nodecay;
} range_step;

static void update_piece(void *ctx, rw_layer *L, int bias, size_t s, size_t e,
                         size_t pos)
{
    const range_step *r = ctx;
    float *w = bias ? L->b : L->w, *m1 = bias ? L->bm1 : L->m1;
    float *m2 = bias ? L->bm2 : L->m2, *cnt = bias ? L->bmstep : L->mstep;
    const float *gr = r->g ? r->g + pos : bias ? L->gb : L->gw;
    update(r->kind, w + s, gr + s, m1 ? m1 + s : NULL, m2 ? m2 + s : NULL,
           cnt ? cnt + s : NULL, e - s, bias ? r->nodecay : r->a);
}

rw_status rw_net_step_range(rw_net *net, const rw_optim_config *opt, double lr,
                            size_t lo, size_t hi, const float *g, rw_error *err)
{
    if (!net || !opt)
        return rw_fail(err, RW_ERR_ARG, "step: NULL argument");
    if ((unsigned)opt->kind > RW_OPT_ADAMW)
        return rw_fail(err, RW_ERR_ARG, "step: unknown optimizer");
    if (!(lr >= 0.0) || !isfinite(lr))
        return rw_fail(err, RW_ERR_ARG, "step: learning rate %g is invalid", lr);
    rw_status st = rw_net_ensure_moments(net, opt->kind, err);
    if (st == RW_OK && needs_m2(opt->kind))
        st = ensure_bc_table(net, opt->beta1, opt->beta2, err);
    if (st != RW_OK)
        return st;
    net->step++;
    step_args a = {
        .lr = (float)lr, .wd = (float)opt->weight_decay,
        .mu = (float)opt->momentum, .b1 = (float)opt->beta1,
        .b2 = (float)opt->beta2, .eps = (float)opt->eps,
        .omb1 = (float)(1.0 - opt->beta1), .omb2 = (float)(1.0 - opt->beta2),
        .tab1 = net->bc_tab, .tab2 = net->bc_tab + net->bc_len,
        .tlast = (float)(net->bc_len - 1),
        .global = opt->adam_global_steps != 0,
        .jglobal = net->step < net->bc_len ? (size_t)net->step : net->bc_len - 1,
        .nesterov = opt->nesterov,
    };
    step_args nodecay = a;
    nodecay.wd = 0.0f;
    range_step rs = {opt->kind, g, &a, &nodecay};
    /* One pass over the whole range in chunks of the fused order, in one
     * parallel region (a region per layer's weights and biases woke the
     * pool eight times a step for the benchmark network), from
     * RW_STEP_PAR_MIN parameters (base.h). The chunks go to whichever
     * thread is free: the parameters' arrays come from either core's cache,
     * so equal shares do not take equal time (784-1000x3-10 at 5%, 2
     * threads: a static split's step took 141 us, one thread waiting 43 us
     * for the other; dynamic 81-88 us, the epoch 0.97x the time, 20%
     * 0.98x). Every parameter's update is its own, so the bits are the same
     * whichever thread makes it. */
    size_t total = rw_net_parameters(net);
    if (hi > total)
        hi = total;
    if (lo >= hi)
        return RW_OK;
    const size_t chunk = (size_t)1 << 14;
    long nchunks = (long)((hi - lo + chunk - 1) / chunk);
#pragma omp parallel for schedule(dynamic) if (nchunks > 1 && hi - lo >= RW_STEP_PAR_MIN)
    for (long c = 0; c < nchunks; c++) {
        size_t s = lo + (size_t)c * chunk, e = hi - s < chunk ? hi : s + chunk;
        rw_net_fused_range(net, s, e, update_piece, &rs);
    }
    return RW_OK;
}

rw_status rw_net_step(rw_net *net, const rw_optim_config *opt, double lr,
                      rw_error *err)
{
    return rw_net_step_range(net, opt, lr, 0, SIZE_MAX, NULL, err);
}
