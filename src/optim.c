/* Optimizers. Their state (moments) is stored in each layer parallel to the
 * weights, so rewiring moves it with the connection it belongs to. Weight
 * decay applies to weights only, never to biases. */
#include "internal.h"

#include <math.h>
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

rw_status rw_net_ensure_moments(rw_net *net, rw_optim_kind kind, rw_error *err)
{
    if (kind == RW_OPT_SGD)
        return RW_OK;
    /* Another optimizer's moments mean nothing to this one: start fresh. */
    bool reset = net->has_moments && net->moments_for != kind;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
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
        if (reset) {
            memset(L->m1, 0, L->nw * sizeof(float));
            memset(L->bm1, 0, L->out * sizeof(float));
            if (L->m2) {
                memset(L->m2, 0, L->nw * sizeof(float));
                memset(L->bm2, 0, L->out * sizeof(float));
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
    float lr, wd, mu, b1, b2, eps, c1, c2; /* c1, c2: bias corrections */
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

RW_HOT static void adam(float *restrict w, const float *restrict g,
                        float *restrict m, float *restrict v, size_t n,
                        const step_args *a, int decoupled)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        if (decoupled)
            w[i] -= a->lr * a->wd * w[i];
        else
            gi += a->wd * w[i];
        m[i] = a->b1 * m[i] + a->omb1 * gi;
        v[i] = a->b2 * v[i] + a->omb2 * gi * gi;
        float mh = m[i] / a->c1, vh = v[i] / a->c2;
        w[i] -= a->lr * mh / (sqrtf(vh) + a->eps);
    }
}

/* Updates n parameters split into thread-sized chunks; each element is
 * independent, so the result does not depend on the thread count. */
static void update(rw_optim_kind kind, float *w, const float *g, float *m1,
                   float *m2, size_t n, const step_args *a)
{
    const size_t chunk = 1 << 14;
    long nchunks = (long)((n + chunk - 1) / chunk);
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (long c = 0; c < nchunks; c++) {
        size_t s = (size_t)c * chunk, len = n - s < chunk ? n - s : chunk;
        switch (kind) {
        case RW_OPT_SGD: sgd(w + s, g + s, len, a); break;
        case RW_OPT_MOMENTUM: momentum(w + s, g + s, m1 + s, len, a); break;
        case RW_OPT_ADAM: adam(w + s, g + s, m1 + s, m2 + s, len, a, 0); break;
        case RW_OPT_ADAMW: adam(w + s, g + s, m1 + s, m2 + s, len, a, 1); break;
        }
    }
}

rw_status rw_net_step(rw_net *net, const rw_optim_config *opt, double lr,
                      rw_error *err)
{
    if (!net || !opt)
        return rw_fail(err, RW_ERR_ARG, "step: NULL argument");
    if ((unsigned)opt->kind > RW_OPT_ADAMW)
        return rw_fail(err, RW_ERR_ARG, "step: unknown optimizer");
    if (!(lr >= 0.0) || !isfinite(lr))
        return rw_fail(err, RW_ERR_ARG, "step: learning rate %g is invalid", lr);
    rw_status st = rw_net_ensure_moments(net, opt->kind, err);
    if (st != RW_OK)
        return st;
    net->step++;
    step_args a = {
        .lr = (float)lr, .wd = (float)opt->weight_decay,
        .mu = (float)opt->momentum, .b1 = (float)opt->beta1,
        .b2 = (float)opt->beta2, .eps = (float)opt->eps,
        .omb1 = (float)(1.0 - opt->beta1), .omb2 = (float)(1.0 - opt->beta2),
        .c1 = (float)(1.0 - pow(opt->beta1, (double)net->step)),
        .c2 = (float)(1.0 - pow(opt->beta2, (double)net->step)),
        .nesterov = opt->nesterov,
    };
    step_args nodecay = a;
    nodecay.wd = 0.0f;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        update(opt->kind, L->w, L->gw, L->m1, L->m2, L->nw, &a);
        update(opt->kind, L->b, L->gb, L->bm1, L->bm2, L->out, &nodecay);
    }
    return RW_OK;
}
