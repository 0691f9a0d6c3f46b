/* Use it or lose it: usage traces, use-dependent decay, permanence and the
 * hooks the training loop calls. Pruning lives in prune.c, Hebbian growth
 * in hebbian.c, neuron turnover in neurons.c.
 *
 * Shapes as in layers/layers.h: layer l reads x (I x B; net->x0 for layer 0,
 * else layer l-1's a) and writes a (O x B); after the backward pass d
 * (O x B) holds dL/dz, already divided by B by the loss, so the weight
 * gradient gw[k] = sum_b x[i,b] d[o,b] is the batch mean of presynaptic
 * activation x postsynaptic error. With r = trace_rate, after every step:
 *
 *   credit[k]   <- (1-r) credit[k]   + r |gw[k]|
 *   coact[k]    <- (1-r) coact[k]    + r (1/S) sum_{b<S} x[i,b] a[o,b]
 *   activity[o] <- (1-r) activity[o] + r (1/B) sum_b |a[o,b]|
 *
 * for connection k joining input i to output o, S = min(B, RW_COACT_SAMPLES).
 * Credit reuses the gradient the backward pass already formed
 * (O(connections)); activity is O(neurons x B). Co-activation is one dot
 * product per connection, O(connections x S): over the whole batch it would
 * cost as much as the weight gradient (a third more work per step), so it
 * takes the first S samples of each (shuffled) batch, an unbiased estimate
 * of the same mean that the moving average smooths anyway. Dense
 * layers keep the same traces over all in x out connections (co-activation
 * as one GEMM), but only when asked for with `traces` (credit also for
 * use-dependent decay): pruning, permanence and rewiring act on sparse
 * layers only.
 *
 * Permanence (consolidation by use, with hysteresis): every step a
 * connection whose credit is at least its layer's mean credit is "used"
 * and its permanence rises by perm_up (to at most 1); otherwise it falls by
 * perm_down (to at least 0). While permanence >= perm_threshold the
 * connection is protected: pruning skips it and rewiring sees it through
 * keep = RW_KEEP_PERMANENT. A connection whose use lapses for a while keeps
 * its protection until its permanence has decayed below the threshold.
 *
 * Use-dependent decay ("neglect leads to decline"): the gradient of every
 * connection of a layer with credit gets usage_decay * w / (1 + u) added,
 * u = credit / (the layer's mean credit): an unused connection decays at
 * the full rate, one used as much as the average at half of it, a heavily
 * used one hardly at all. */
#include "plasticity/plasticity.h"

#include <math.h>
#include <string.h>

/* keep value of a permanent connection: |w| * (1 + keep) then exceeds the
 * key of any unprotected connection with |w| > 1e-30. */
#define RW_KEEP_PERMANENT 1e30f
/* Samples of each batch that feed the co-activation trace. */
#define RW_COACT_SAMPLES 32
#define CH 64

rw_plasticity_config rw_plasticity_defaults(void)
{
    rw_plasticity_config c;
    memset(&c, 0, sizeof c);
    c.trace_rate = 0.01;
    c.prune_start = 0.1;
    c.prune_end = 0.7;
    c.prune_every = 50;
    c.perm_up = 0.05;
    c.perm_down = 0.01;
    c.perm_threshold = 0.1;
    c.silent_epochs = 2;
    c.silent_level = 1e-3;
    return c;
}

/* ---------------- which state a configuration needs ---------------- */

typedef struct needs {
    bool activity, credit, coact, perm, silent, dense_traces;
} needs;

static needs needs_of(const rw_train_config *cfg)
{
    const rw_plasticity_config *p = &cfg->plasticity;
    needs n;
    n.credit = p->traces || p->prune == RW_PRUNE_USAGE ||
               p->usage_decay > 0.0 || p->permanence;
    n.coact = p->traces || p->prune == RW_PRUNE_HEBBIAN;
    n.perm = p->permanence != 0;
    n.silent = p->neuron_turnover != 0;
    n.activity = n.credit || n.coact || n.silent ||
                 cfg->rewire == RW_REWIRE_HEBBIAN;
    n.dense_traces = p->traces != 0;
    return n;
}

static rw_status ensure(float **arr, size_t n, const char *what, rw_error *err)
{
    if (*arr)
        return RW_OK;
    *arr = rw_calloc(n, sizeof(float), what, err);
    return *arr ? RW_OK : RW_ERR_NOMEM;
}

rw_status rw_plasticity_begin(rw_net *net, const rw_train_config *cfg,
                              rw_error *err)
{
    rw_status st = rw_check_plasticity_config(cfg, err);
    if (st != RW_OK)
        return st;
    needs n = needs_of(cfg);
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        bool sparse = L->kind == RW_LAYER_SPARSE;
        if (n.activity && (st = ensure(&L->activity, L->out, "neuron activity",
                                       err)) != RW_OK)
            return st;
        if (n.silent && !L->silent) {
            L->silent = rw_calloc(L->out, sizeof(uint32_t), "silent epochs", err);
            if (!L->silent)
                return RW_ERR_NOMEM;
        }
        bool credit = n.credit && (sparse || n.dense_traces ||
                                   cfg->plasticity.usage_decay > 0.0);
        bool coact = n.coact && (sparse || n.dense_traces);
        if (credit && (st = ensure(&L->credit, L->nw, "credit traces", err)) != RW_OK)
            return st;
        if (coact && (st = ensure(&L->coact, L->nw, "co-activation traces", err)) != RW_OK)
            return st;
        if (n.perm && sparse) {
            if ((st = ensure(&L->perm, L->nw, "permanence", err)) != RW_OK ||
                (st = ensure(&L->keep, L->nw, "keep weights", err)) != RW_OK)
                return st;
            /* Protection follows the (possibly loaded) permanence from the
             * start, even before the first step. */
            float thr = (float)cfg->plasticity.perm_threshold;
            for (size_t k = 0; k < L->nw; k++)
                L->keep[k] = L->perm[k] >= thr ? RW_KEEP_PERMANENT : 0.0f;
        }
    }
    return RW_OK;
}

/* ---------------- trace kernels ---------------- */

typedef rw_v8 v8f;
typedef rw_v4 v4f;

/* Dot product of n values in 16 lanes, then the tail. */
RW_VINLINE float dot(const float *a, const float *b, size_t n)
{
    float acc[16] = {0};
    size_t j = 0;
    for (; j + 16 <= n; j += 16)
        RW_UNROLL16 for (int k = 0; k < 16; k++)
            acc[k] += a[j + k] * b[j + k];
    float s = rw_lanes_sum_halved(acc);
    for (; j < n; j++)
        s += a[j] * b[j];
    return s;
}

RW_HOT static float abs_mean(const float *restrict a, size_t B)
{
    float acc[CH] = {0};
    size_t j0 = 0;
    for (; j0 + CH <= B; j0 += CH)
        for (size_t l = 0; l < CH; l++)
            acc[l] += fabsf(a[j0 + l]);
    for (size_t j = j0; j < B; j++)
        acc[j - j0] += fabsf(a[j]);
    for (size_t h = CH / 2; h > 0; h /= 2)
        for (size_t l = 0; l < h; l++)
            acc[l] += acc[l + h];
    return acc[0] / (float)B;
}

/* Dots of the first 32 values of a (held in a0, a1) with four rows at
 * once; the four 16-lane sums are reduced together (fewer shuffles than
 * four separate reductions), each in a fixed order. */
RW_VINLINE v4f dot4_32(rw_v16 a0, rw_v16 a1, const float *x0,
                          const float *x1, const float *x2, const float *x3)
{
    rw_v16 c0 = a0 * rw_v16_load(x0) + a1 * rw_v16_load(x0 + 16);
    rw_v16 c1 = a0 * rw_v16_load(x1) + a1 * rw_v16_load(x1 + 16);
    rw_v16 c2 = a0 * rw_v16_load(x2) + a1 * rw_v16_load(x2 + 16);
    rw_v16 c3 = a0 * rw_v16_load(x3) + a1 * rw_v16_load(x3 + 16);
    /* 16 -> 8 lanes each, pairs packed into one 16-lane vector */
    rw_v16 p01 = __builtin_shufflevector(c0, c1, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17,
                                         18, 19, 20, 21, 22, 23) +
                 __builtin_shufflevector(c0, c1, 8, 9, 10, 11, 12, 13, 14, 15,
                                         24, 25, 26, 27, 28, 29, 30, 31);
    rw_v16 p23 = __builtin_shufflevector(c2, c3, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17,
                                         18, 19, 20, 21, 22, 23) +
                 __builtin_shufflevector(c2, c3, 8, 9, 10, 11, 12, 13, 14, 15,
                                         24, 25, 26, 27, 28, 29, 30, 31);
    /* 8 -> 4 lanes each: [c0 c1 c2 c3] x 4 lanes */
    rw_v16 q = __builtin_shufflevector(p01, p23, 0, 1, 2, 3, 8, 9, 10, 11, 16,
                                       17, 18, 19, 24, 25, 26, 27) +
               __builtin_shufflevector(p01, p23, 4, 5, 6, 7, 12, 13, 14, 15, 20,
                                       21, 22, 23, 28, 29, 30, 31);
    /* 4 -> 2 -> 1 lane each */
    v8f h = __builtin_shufflevector(q, q, 0, 1, 4, 5, 8, 9, 12, 13) +
              __builtin_shufflevector(q, q, 2, 3, 6, 7, 10, 11, 14, 15);
    return __builtin_shufflevector(h, h, 0, 2, 4, 6) +
           __builtin_shufflevector(h, h, 1, 3, 5, 7);
}

/* Co-activation of rows [o0, o1) of a sparse layer: one dot per
 * connection over the first S samples. */
RW_HOT static void coact_rows(rw_layer *L, const float *x, size_t B,
                              size_t S, float r, size_t o0, size_t o1)
{
    float keep = 1.0f - r, scale = r / (float)S;
    const uint32_t *col = L->col;
    float *c = L->coact;
    for (size_t o = o0; o < o1; o++) {
        const float *a = L->a + o * B;
        /* A silent neuron (all zero outputs, common with ReLU) only
         * decays its traces. */
        bool silent = true;
        for (size_t j = 0; j < S && silent; j++)
            silent = a[j] == 0.0f;
        size_t k = L->row_ptr[o], k1 = L->row_ptr[o + 1];
        if (silent) {
            for (; k < k1; k++)
                c[k] *= keep;
            continue;
        }
        if (S == 32) {
            rw_v16 a0 = rw_v16_load(a), a1 = rw_v16_load(a + 16);
            for (; k + 4 <= k1; k += 4) {
                v4f d = dot4_32(a0, a1, x + (size_t)(col[k] & RW_COL_MASK) * B,
                                   x + (size_t)(col[k + 1] & RW_COL_MASK) * B,
                                   x + (size_t)(col[k + 2] & RW_COL_MASK) * B,
                                   x + (size_t)(col[k + 3] & RW_COL_MASK) * B);
                for (int t = 0; t < 4; t++)
                    c[k + t] = keep * c[k + t] + scale * d[t];
            }
        }
        for (; k < k1; k++)
            c[k] = keep * c[k] + scale * dot(a, x + (size_t)(col[k] & RW_COL_MASK) * B, S);
    }
}

/* Rows in parallel: each row's result is independent of the schedule. */
static void coact_sparse(rw_layer *L, const float *x, size_t B, size_t S,
                         float r)
{
    long nb = (long)((L->out + 31) / 32);
#pragma omp parallel for schedule(dynamic, 1)
    for (long c = 0; c < nb; c++) {
        size_t o0 = (size_t)c * 32, o1 = o0 + 32 < L->out ? o0 + 32 : L->out;
        coact_rows(L, x, B, S, r, o0, o1);
    }
}

static void update_activity(rw_layer *L, size_t B, float r)
{
    long O = (long)L->out;
#pragma omp parallel for schedule(static) if ((size_t)O * B >= rw_par_min_work())
    for (long o = 0; o < O; o++)
        L->activity[o] = (1.0f - r) * L->activity[o] +
                         r * abs_mean(L->a + (size_t)o * B, B);
}

/* Mean of v[0..n): 16 float lanes per block of 4096, blocks summed in
 * double, all in a fixed order. */
RW_HOT static double mean_of(const float *v, size_t n)
{
    double s = 0.0;
    for (size_t b = 0; b < n; b += 4096) {
        /* Indexed from the block's own start: indexed from b, GCC 12
         * turned the 16 lanes into 16 scalar adds. */
        const float *blk = v + b;
        size_t m = n - b < 4096 ? n - b : 4096, j = 0;
        float acc[16] = {0};
        for (; j + 16 <= m; j += 16)
            RW_UNROLL16 for (int k = 0; k < 16; k++)
                acc[k] += blk[j + k];
        double t = rw_lanes_sum_halved(acc);
        for (; j < m; j++)
            t += blk[j];
        s += t;
    }
    return n ? s / (double)n : 0.0;
}

RW_HOT static void credit_update(float *restrict c, const float *restrict g,
                                 size_t n, float r)
{
    for (size_t k = 0; k < n; k++)
        c[k] = (1.0f - r) * c[k] + r * fabsf(g[k]);
}

void rw_plasticity_after_backward(rw_net *net, const rw_train_config *cfg,
                                  size_t B)
{
    const rw_plasticity_config *p = &cfg->plasticity;
    float r = (float)p->trace_rate;
    if (!(r > 0.0f) || B == 0)
        return;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        const float *x = l ? net->layers[l - 1].a : net->x0;
        if (L->activity)
            update_activity(L, B, r);
        if (L->coact) {
            size_t S = B < RW_COACT_SAMPLES ? B : RW_COACT_SAMPLES;
            if (L->kind == RW_LAYER_SPARSE)
                coact_sparse(L, x, B, S, r);
            else
                rw_sgemm('N', 'T', L->out, L->in, S, r / (float)S, L->a, B, x,
                         B, 1.0f - r, L->coact, L->in);
        }
        if (!L->credit)
            continue;
        size_t n = L->nw;
        credit_update(L->credit, L->gw, n, r);
        bool perm = p->permanence && L->perm;
        if (!perm && !(p->usage_decay > 0.0))
            continue;
        double mean = mean_of(L->credit, n);
        float inv = mean > 0.0 ? (float)(1.0 / mean) : 0.0f;
        if (perm) {
            float up = (float)p->perm_up, down = (float)p->perm_down;
            float thr = (float)p->perm_threshold;
            for (size_t k = 0; k < n; k++) {
                float v = L->perm[k];
                /* Nothing is "used" before any credit has accrued. */
                v = mean > 0.0 && L->credit[k] * inv >= 1.0f ? v + up : v - down;
                v = v > 1.0f ? 1.0f : (v < 0.0f ? 0.0f : v);
                L->perm[k] = v;
                if (L->keep)
                    L->keep[k] = v >= thr ? RW_KEEP_PERMANENT : 0.0f;
            }
        }
        if (p->usage_decay > 0.0) {
            float lam = (float)p->usage_decay;
            for (size_t k = 0; k < n; k++)
                L->gw[k] += lam * L->w[k] / (1.0f + L->credit[k] * inv);
        }
    }
}

/* ---------------- pruning schedule ---------------- */

/* Steps at which the cubic schedule starts and ends (1-based step counts,
 * 1 <= start <= end <= total). */
static void schedule_span(const rw_plasticity_config *p, size_t total,
                          size_t *t0, size_t *t1)
{
    double T = (double)total;
    size_t s = (size_t)ceil(p->prune_start * T), e = (size_t)ceil(p->prune_end * T);
    if (e < 1)
        e = 1;
    if (e > total)
        e = total;
    if (s < 1)
        s = 1;
    if (s > e)
        s = e;
    *t0 = s;
    *t1 = e;
}

bool rw_plasticity_prune_due(const rw_train_config *cfg, size_t step,
                             size_t total_steps)
{
    const rw_plasticity_config *p = &cfg->plasticity;
    if (p->prune == RW_PRUNE_NONE || total_steps == 0)
        return false;
    size_t t0, t1;
    schedule_span(p, total_steps, &t0, &t1);
    if (step < t0 || step > t1)
        return false;
    return step == t1 || (step - t0) % p->prune_every == 0;
}

rw_status rw_plasticity_after_step(rw_net *net, const rw_train_config *cfg,
                                   size_t step, size_t total_steps,
                                   rw_epoch_stats *es, rw_error *err)
{
    const rw_plasticity_config *p = &cfg->plasticity;
    if (!rw_plasticity_prune_due(cfg, step, total_steps))
        return RW_OK;
    size_t t0, t1;
    schedule_span(p, total_steps, &t0, &t1);
    double progress = t1 > t0 ? (double)(step - t0) / (double)(t1 - t0) : 1.0;
    double thr = p->permanence ? p->perm_threshold : -1.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (L->kind != RW_LAYER_SPARSE)
            continue;
        /* From the density the layer was created with (1 when --prune
         * starts from full layers) down to the target. */
        double d0 = net->cfg.layers[l].density;
        if (!(d0 > p->prune_to))
            d0 = p->prune_to;
        double d = step == t1 ? p->prune_to : rw_prune_density_at(d0, p->prune_to, progress);
        double full = (double)L->in * (double)L->out;
        size_t target = (size_t)llround(d * full);
        if (target >= L->nw)
            continue;
        size_t removed = rw_prune_layer(L, p->prune, target, thr);
        if (es && l < RW_MAX_LAYERS)
            es->pruned[l] += removed;
    }
    return RW_OK;
}

/* ---------------- neuron turnover ---------------- */

/* Whether input i of sparse layer N has no connection left. */
static bool column_empty(const rw_layer *N, size_t i)
{
    return N->kind == RW_LAYER_SPARSE && N->tcol_ptr[i] == N->tcol_ptr[i + 1];
}

rw_status rw_plasticity_epoch_end(rw_net *net, const rw_train_config *cfg,
                                  size_t epoch, rw_rng *rng,
                                  rw_epoch_stats *es, rw_error *err)
{
    const rw_plasticity_config *p = &cfg->plasticity;
    if (!p->neuron_turnover)
        return RW_OK;
    rw_status st = RW_OK;
    for (size_t l = 0; l + 1 < net->n_layers; l++) {
        rw_layer *L = &net->layers[l], *N = &net->layers[l + 1];
        size_t O = L->out;
        unsigned char *mask = rw_calloc(O, 1, "neuron removal mask", err);
        if (!mask)
            return RW_ERR_NOMEM;
        size_t removed = 0, best = 0;
        for (size_t o = 0; o < O; o++) {
            if (L->silent && L->activity) {
                if (L->activity[o] < (float)p->silent_level)
                    L->silent[o]++;
                else
                    L->silent[o] = 0;
            }
            bool no_in = L->kind == RW_LAYER_SPARSE && L->row_ptr[o] == L->row_ptr[o + 1];
            bool gone = no_in || column_empty(N, o) ||
                        (L->silent && L->silent[o] >= p->silent_epochs);
            mask[o] = gone;
            removed += gone;
            if (L->activity && L->activity[o] > L->activity[best])
                best = o;
        }
        if (removed == O) { /* a layer keeps at least one neuron */
            mask[best] = 0;
            removed--;
        }
        if (removed)
            st = rw_neurons_remove(net, l, mask, 1, err);
        rw_free(mask);
        if (st != RW_OK)
            return st;
        if (es && l < RW_MAX_LAYERS)
            es->neurons_removed[l] += removed;
        if (p->regrow_neurons && removed && epoch + 1 < cfg->epochs) {
            if ((st = rw_neurons_add(net, l, removed, rng, err)) != RW_OK)
                return st;
            if (es && l < RW_MAX_LAYERS)
                es->neurons_added[l] += removed;
        }
    }
    return RW_OK;
}
