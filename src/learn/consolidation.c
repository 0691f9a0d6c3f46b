/* Learn it or lose it: consolidation of what earlier tasks needed.
 *
 * Both methods keep each parameter p near the value it had when the
 * previous task ended (its anchor), in proportion to an importance:
 *   EWC (online): importance F = gamma * F_old + F_task, where F_task is the
 *        diagonal empirical Fisher of the task just ended; the penalty is
 *        lambda/2 * sum F (p - anchor)^2, its gradient lambda F (p - anchor).
 *   SI:  during training omega accumulates -g * dp along the path, g the
 *        task's own gradient (before the penalty, use-dependent decay and
 *        clipping are added, as in Zenke et al.'s code) and dp the step
 *        actually taken; at the task's end
 *        imp += max(0, omega / (Dp^2 + xi)), Dp the change over the task;
 *        the penalty is c * sum imp (p - anchor)^2 (c = lambda).
 * Weights and biases are both consolidated. Per-connection state (imp,
 * anchor, si_path, si_prev, keep) lies parallel to the weights, so
 * rewiring moves it with its connection and a new connection starts
 * unimportant; the biases' state lives in bstate (4 x out).
 *
 * Rewiring drops by |w| * (1 + keep) (rewire.c); with protect_rewiring the
 * end of a task sets keep = strength * importance / mean importance of the
 * layer, so connections that earlier tasks rely on are the last to be
 * dropped. (Strength 10 kept more of permuted Fashion-MNIST under heavy
 * SET rewiring than 1, 3 or 100: docs/continual.md.)
 */
#include "learn/learn.h"

#include <math.h>
#include <string.h>

enum { B_IMP = 0, B_ANCHOR = 1, B_PATH = 2, B_PREV = 3 };

/* Samples per pass when computing the Fisher. */
#define FISHER_CHUNK 128

rw_consolidation_config rw_consolidation_defaults(void)
{
    rw_consolidation_config c;
    memset(&c, 0, sizeof c);
    c.gamma = 1.0;
    c.si_xi = 0.1;
    c.fisher_samples = 1000;
    c.protect_rewiring = 1;
    c.protect_strength = 10.0;
    return c;
}

static float *bias_part(rw_layer *L, int which)
{
    return L->bstate + (size_t)which * L->out;
}

/* Allocates what the method needs; a fresh anchor (and SI's last value)
 * is the current parameters, a fresh importance 0. */
static rw_status ensure_state(rw_net *net, rw_consolidation_kind kind,
                              rw_error *err)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (!L->imp && !(L->imp = rw_calloc(L->nw, sizeof(float),
                                            "consolidation importance", err)))
            return RW_ERR_NOMEM;
        if (!L->anchor) {
            if (!(L->anchor = rw_alloc(L->nw, sizeof(float),
                                       "consolidation anchor", err)))
                return RW_ERR_NOMEM;
            memcpy(L->anchor, L->w, L->nw * sizeof(float));
        }
        if (!L->bstate) {
            if (!(L->bstate = rw_calloc(4 * L->out, sizeof(float),
                                        "consolidation bias state", err)))
                return RW_ERR_NOMEM;
            memcpy(bias_part(L, B_ANCHOR), L->b, L->out * sizeof(float));
            memcpy(bias_part(L, B_PREV), L->b, L->out * sizeof(float));
        }
        if (kind != RW_CONSOLIDATE_SI)
            continue;
        if (!L->si_path && !(L->si_path = rw_calloc(L->nw, sizeof(float),
                                                    "SI path integral", err)))
            return RW_ERR_NOMEM;
        if (!L->si_prev && !(L->si_prev = rw_alloc(L->nw, sizeof(float),
                                                   "SI last weights", err)))
            return RW_ERR_NOMEM;
        if (L->si_grad_cap < L->nw + L->out) {
            rw_free(L->si_grad);
            L->si_grad_cap = 0;
            if (!(L->si_grad = rw_calloc(L->nw + L->out, sizeof(float),
                                         "SI task gradient", err)))
                return RW_ERR_NOMEM;
            L->si_grad_cap = L->nw + L->out;
        }
    }
    return RW_OK;
}

rw_status rw_consolidation_begin(rw_net *net, const rw_train_config *cfg,
                                 rw_error *err)
{
    const rw_consolidation_config *c = &cfg->consolidation;
    if (c->kind == RW_CONSOLIDATE_NONE)
        return RW_OK;
    rw_status st = rw_check_consolidation_config(c, cfg, err);
    if (st != RW_OK || (st = ensure_state(net, c->kind, err)) != RW_OK)
        return st;
    if (c->kind == RW_CONSOLIDATE_SI)
        /* The path starts where this run starts. */
        for (size_t l = 0; l < net->n_layers; l++) {
            rw_layer *L = &net->layers[l];
            memcpy(L->si_prev, L->w, L->nw * sizeof(float));
            memcpy(bias_part(L, B_PREV), L->b, L->out * sizeof(float));
        }
    return RW_OK;
}

/* g += coef * imp * (p - anchor) over n parameters. */
RW_HOT static void add_penalty_grad(float *restrict g, const float *restrict p,
                                    const float *restrict imp,
                                    const float *restrict anchor, float coef,
                                    size_t n)
{
    for (size_t k = 0; k < n; k++)
        g[k] += coef * imp[k] * (p[k] - anchor[k]);
}

void rw_consolidation_after_backward(rw_net *net, const rw_train_config *cfg)
{
    const rw_consolidation_config *c = &cfg->consolidation;
    if (c->kind == RW_CONSOLIDATE_NONE || c->lambda == 0.0)
        return;
    float coef = (float)(c->kind == RW_CONSOLIDATE_EWC ? c->lambda
                                                        : 2.0 * c->lambda);
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (!L->imp || !L->anchor || !L->bstate)
            continue;
        add_penalty_grad(L->gw, L->w, L->imp, L->anchor, coef, L->nw);
        add_penalty_grad(L->gb, L->b, bias_part(L, B_IMP),
                         bias_part(L, B_ANCHOR), coef, L->out);
    }
}

/* path -= g * (p - prev); prev = p. */
RW_HOT static void si_accumulate(float *restrict path, float *restrict prev,
                                 const float *restrict p,
                                 const float *restrict g, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        path[k] -= g[k] * (p[k] - prev[k]);
        prev[k] = p[k];
    }
}

void rw_consolidation_after_gradient(rw_net *net, const rw_train_config *cfg)
{
    if (cfg->consolidation.kind != RW_CONSOLIDATE_SI)
        return;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (!L->si_grad || L->si_grad_cap < L->nw + L->out)
            continue;
        memcpy(L->si_grad, L->gw, L->nw * sizeof(float));
        memcpy(L->si_grad + L->nw, L->gb, L->out * sizeof(float));
    }
}

void rw_consolidation_after_step(rw_net *net, const rw_train_config *cfg)
{
    if (cfg->consolidation.kind != RW_CONSOLIDATE_SI)
        return;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (!L->si_path || !L->si_prev || !L->bstate || !L->si_grad ||
            L->si_grad_cap < L->nw + L->out)
            continue;
        si_accumulate(L->si_path, L->si_prev, L->w, L->si_grad, L->nw);
        si_accumulate(bias_part(L, B_PATH), bias_part(L, B_PREV), L->b,
                      L->si_grad + L->nw, L->out);
    }
}

/* ---------------- end of a task ---------------- */

/* Sum over a chunk of squared per-sample gradients, added to fw/fb: the
 * gradient of sample b for weight (o, i) is d[o,b] * x[i,b], so the sum
 * of its squares over b is the layer's ordinary weight gradient computed
 * from d^2 and x^2: the net's own layer pass (rw_net_backward_layer) run
 * once more per layer, on the squares. */
static void fisher_chunk(rw_net *net, const rw_dataset *ds, const size_t *idx,
                         size_t B, const int32_t *groups, int32_t *labels,
                         float *tgt, float *xsq, float **fw, float **fb)
{
    rw_net_load_batch(net, ds->x, idx, B);
    rw_net_forward_batch(net, B);
    rw_layer *out = &net->layers[net->n_layers - 1];
    size_t C = out->out;
    rw_batch_src src = {ds->labels, ds->y, idx, 0, B};
    rw_net_batch_loss(net, &src, 1, groups, labels, tgt, true, NULL);
    /* Per-sample loss gradient: B times the batch-mean one. */
    for (size_t i = 0; i < C * B; i++)
        out->d[i] *= (float)B;
    for (size_t l = net->n_layers; l-- > 0;) {
        rw_layer *L = &net->layers[l];
        const float *x = l ? net->layers[l - 1].a : net->x0;
        /* The ordinary pass carries the error to the layer below. */
        if (l)
            rw_net_backward_layer(net, l, x, B, true);
        /* The same layer pass on the squares gives the summed squares. */
        for (size_t i = 0; i < L->in * B; i++)
            xsq[i] = x[i] * x[i];
        for (size_t i = 0; i < L->out * B; i++)
            L->d[i] *= L->d[i];
        rw_net_backward_layer(net, l, xsq, B, false);
        for (size_t k = 0; k < L->nw; k++)
            fw[l][k] += L->gw[k];
        for (size_t o = 0; o < L->out; o++)
            fb[l][o] += L->gb[o];
    }
}

/* Empirical Fisher of `ds` folded into the importance (EWC). */
static rw_status ewc_end(rw_net *net, const rw_dataset *ds,
                         const rw_train_config *cfg, rw_rng *rng,
                         rw_error *err)
{
    const rw_consolidation_config *c = &cfg->consolidation;
    if (!ds || ds->n == 0)
        return rw_fail(err, RW_ERR_ARG,
                       "EWC needs the task's training data for the Fisher");
    if (ds->f != net->cfg.n_inputs)
        return rw_fail(err, RW_ERR_DATA,
                       "%s has %zu features but the network has %zu inputs",
                       ds->name, ds->f, net->cfg.n_inputs);
    bool ce = net->cfg.loss == RW_LOSS_CROSS_ENTROPY;
    if (ce ? !ds->labels : (!ds->y || ds->targets != rw_net_outputs(net)))
        return rw_fail(err, RW_ERR_DATA, "%s does not fit the network's outputs",
                       ds->name);
    /* The Fisher pass indexes the outputs (and class groups) by label. */
    for (size_t j = 0; ce && j < ds->n; j++)
        if (ds->labels[j] < 0 || (size_t)ds->labels[j] >= rw_net_outputs(net))
            return rw_fail(err, RW_ERR_DATA,
                           "%s: sample %zu has label %d, outside the "
                           "network's %zu classes",
                           ds->name, j + 1, (int)ds->labels[j],
                           rw_net_outputs(net));
    size_t n = c->fisher_samples && c->fisher_samples < ds->n
                   ? c->fisher_samples : ds->n;
    size_t B = n < FISHER_CHUNK ? n : FISHER_CHUNK, max_in = 0;
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].in > max_in)
            max_in = net->layers[l].in;
    size_t C = rw_net_outputs(net);
    rw_status st = RW_OK;
    float *fw[RW_MAX_LAYERS] = {0}, *fb[RW_MAX_LAYERS] = {0};
    size_t *order = rw_alloc(ds->n, sizeof(size_t), "Fisher samples", err);
    int32_t *labels = rw_alloc(B, sizeof(int32_t), "Fisher labels", err);
    float *tgt = rw_alloc(B * C, sizeof(float), "Fisher targets", err);
    float *xsq = rw_alloc(max_in * B, sizeof(float), "Fisher inputs", err);
    bool ok = order && labels && tgt && xsq;
    for (size_t l = 0; ok && l < net->n_layers; l++) {
        fw[l] = rw_calloc(net->layers[l].nw, sizeof(float), "Fisher", err);
        fb[l] = rw_calloc(net->layers[l].out, sizeof(float), "Fisher", err);
        ok = fw[l] && fb[l];
    }
    if (!ok || (st = rw_net_reserve_batch(net, B, err)) != RW_OK) {
        st = st != RW_OK ? st : RW_ERR_NOMEM;
        goto done;
    }
    /* A uniform sample without replacement: the head of a partial shuffle. */
    for (size_t i = 0; i < ds->n; i++)
        order[i] = i;
    if (n < ds->n)
        for (size_t i = 0; i < n; i++) {
            size_t j = i + (size_t)rw_rng_below(rng, ds->n - i);
            size_t t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
    for (size_t s = 0; s < n; s += B) {
        size_t bs = n - s < B ? n - s : B;
        fisher_chunk(net, ds, order + s, bs, ce ? cfg->class_groups : NULL,
                     labels, tgt, xsq, fw, fb);
    }
    float g = (float)c->gamma, inv = 1.0f / (float)n;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw; k++)
            L->imp[k] = g * L->imp[k] + inv * fw[l][k];
        float *bimp = bias_part(L, B_IMP);
        for (size_t o = 0; o < L->out; o++)
            bimp[o] = g * bimp[o] + inv * fb[l][o];
    }
done:
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_free(fw[l]);
        rw_free(fb[l]);
    }
    rw_free(order);
    rw_free(labels);
    rw_free(tgt);
    rw_free(xsq);
    return st;
}

/* imp += max(0, path / (change^2 + xi)); the path restarts. */
static void si_fold(float *imp, float *path, const float *p,
                    const float *anchor, float xi, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        float dp = p[k] - anchor[k];
        float add = path[k] / (dp * dp + xi);
        if (add > 0.0f)
            imp[k] += add;
        path[k] = 0.0f;
    }
}

rw_status rw_consolidation_end_task(rw_net *net, const rw_dataset *task,
                                    const rw_train_config *cfg, rw_rng *rng,
                                    rw_error *err)
{
    if (!net || !cfg || !rng)
        return rw_fail(err, RW_ERR_ARG, "end of task: NULL argument");
    const rw_consolidation_config *c = &cfg->consolidation;
    if (c->kind == RW_CONSOLIDATE_NONE)
        return RW_OK;
    rw_status st = rw_check_consolidation_config(c, cfg, err);
    if (st != RW_OK || (st = ensure_state(net, c->kind, err)) != RW_OK)
        return st;
    if (c->kind == RW_CONSOLIDATE_EWC) {
        if ((st = ewc_end(net, task, cfg, rng, err)) != RW_OK)
            return st;
    } else {
        float xi = (float)c->si_xi;
        for (size_t l = 0; l < net->n_layers; l++) {
            rw_layer *L = &net->layers[l];
            si_fold(L->imp, L->si_path, L->w, L->anchor, xi, L->nw);
            si_fold(bias_part(L, B_IMP), bias_part(L, B_PATH), L->b,
                    bias_part(L, B_ANCHOR), xi, L->out);
            memcpy(L->si_prev, L->w, L->nw * sizeof(float));
            memcpy(bias_part(L, B_PREV), L->b, L->out * sizeof(float));
        }
    }
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        memcpy(L->anchor, L->w, L->nw * sizeof(float));
        memcpy(bias_part(L, B_ANCHOR), L->b, L->out * sizeof(float));
        if (!c->protect_rewiring || L->kind != RW_LAYER_SPARSE || L->nw == 0)
            continue;
        if (!L->keep && !(L->keep = rw_calloc(L->nw, sizeof(float),
                                              "rewiring protection", err)))
            return RW_ERR_NOMEM;
        double sum = 0.0;
        for (size_t k = 0; k < L->nw; k++)
            sum += L->imp[k];
        float scale = sum > 0.0
                          ? (float)(c->protect_strength * (double)L->nw / sum)
                          : 0.0f;
        for (size_t k = 0; k < L->nw; k++)
            L->keep[k] = L->imp[k] * scale;
    }
    return RW_OK;
}

/* ---------------- inspection ---------------- */

static double weighted_sq(const float *p, const float *anchor,
                          const float *imp, size_t n)
{
    double s = 0.0;
    for (size_t k = 0; k < n; k++) {
        double d = (double)p[k] - (double)anchor[k];
        s += (double)imp[k] * d * d;
    }
    return s;
}

double rw_consolidation_penalty(const rw_net *net,
                                const rw_consolidation_config *c)
{
    if (!net || !c || c->kind == RW_CONSOLIDATE_NONE)
        return 0.0;
    double s = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = (rw_layer *)&net->layers[l];
        if (!L->imp || !L->anchor || !L->bstate)
            continue;
        s += weighted_sq(L->w, L->anchor, L->imp, L->nw);
        s += weighted_sq(L->b, bias_part(L, B_ANCHOR), bias_part(L, B_IMP),
                         L->out);
    }
    return c->kind == RW_CONSOLIDATE_EWC ? 0.5 * c->lambda * s : c->lambda * s;
}

double rw_consolidation_importance(const rw_net *net)
{
    double s = 0.0;
    for (size_t l = 0; net && l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        for (size_t k = 0; L->imp && k < L->nw; k++)
            s += L->imp[k];
    }
    return s;
}
