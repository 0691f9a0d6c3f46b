/* Keeping the ability to learn: maintenance of a network over a long
 * stream of data (loss of plasticity, Dohare et al., Nature 2024).
 *
 *   CBP   continual backprop (Dohare et al.): each hidden unit keeps a
 *         utility u <- eta u + (1 - eta) y, with y = mean_b |h| * sum |w_out|
 *         ("contribution") or mean_b |h - f| * sum |w_out| / sum |w_in|
 *         ("adaptable contribution"), a running mean activation f and an
 *         age. Units older than the maturity threshold are eligible; each
 *         step adds rho * (eligible units) to a per-layer count and
 *         replaces its whole part, lowest bias-corrected utility first.
 *   ReDo  recycling dormant neurons (Sokar et al. 2023) every N steps.
 *   S&P   shrink and perturb (Ash and Adams 2020).
 *   L2    L2 Init (Kumar et al. 2023): lambda ||p - p0||^2.
 *
 * A replaced unit gets new incoming weights (He uniform; a sparse row gets
 * as many fresh random inputs as it had), bias 0, outgoing weights 0, and
 * fresh optimizer state for all of them. CBP folds the unit's mean output
 * into the next layer's biases, so the outputs stay the same.
 *
 * Shapes: activations are feature-major O x B (layers/layers.h). */
#include "plasticity/plasticity.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

rw_maintain_config rw_maintain_defaults(void)
{
    rw_maintain_config c;
    memset(&c, 0, sizeof c);
    c.kind = RW_MAINTAIN_NONE;
    c.cbp_eta = 0.99;
    c.cbp_maturity = 100;
    c.cbp_rho = 1e-4;
    c.redo_every = 1000;
    c.redo_tau = 0.1;
    c.snp_lambda = 0.999;
    c.snp_sigma = 1e-4;
    c.l2_lambda = 1e-3;
    c.probe = 1000;
    c.dormant_tau = 0.0;
    return c;
}

/* Per-unit state of one hidden layer, and the L2 Init anchor of a layer
 * (dense-indexed in*out, so it survives rewiring; a connection grown where
 * none was at the start is pulled toward 0). */
typedef struct maint_layer {
    size_t units, in;
    double *util, *fmean, *hmean;
    uint64_t *age;
    double acc;      /* CBP: replacements owed, carried over steps */
    float *p0w, *p0b;
} maint_layer;

struct rw_maint {
    size_t n_layers;
    maint_layer l[RW_MAX_LAYERS];
    double eta;  /* CBP's decay, for the bias-corrected mean */
    int have_p0;
    int hmean_ready; /* hmean holds the last batch */
};

static void layer_state_free(maint_layer *m)
{
    rw_free(m->util);
    rw_free(m->fmean);
    rw_free(m->hmean);
    rw_free(m->age);
    rw_free(m->p0w);
    rw_free(m->p0b);
    memset(m, 0, sizeof *m);
}

void rw_maint_free(struct rw_maint *s)
{
    if (!s)
        return;
    for (size_t l = 0; l < RW_MAX_LAYERS; l++)
        layer_state_free(&s->l[l]);
    rw_free(s);
}

/* The anchor p0 = the current weights, dense-indexed. */
static rw_status take_p0(maint_layer *m, const rw_layer *L, rw_error *err)
{
    size_t n;
    if (!rw_mul_ok(L->in, L->out, &n))
        return rw_fail(err, RW_ERR_NOMEM, "L2 Init: layer too large");
    rw_free(m->p0w);
    rw_free(m->p0b);
    m->p0w = rw_calloc(n, sizeof(float), "L2 Init anchor", err);
    m->p0b = rw_alloc(L->out, sizeof(float), "L2 Init anchor", err);
    if (!m->p0w || !m->p0b)
        return RW_ERR_NOMEM;
    if (L->kind == RW_LAYER_DENSE) {
        memcpy(m->p0w, L->w, n * sizeof(float));
    } else {
        for (size_t o = 0; o < L->out; o++)
            for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++)
                m->p0w[o * L->in + (L->col[k] & RW_COL_MASK)] = L->w[k];
    }
    memcpy(m->p0b, L->b, L->out * sizeof(float));
    return RW_OK;
}

/* Allocates what the config needs, keeping state across calls (and
 * tasks); a layer whose size changed (neuron turnover) starts afresh. */
rw_status rw_maintain_begin(rw_net *net, const rw_train_config *cfg,
                            rw_error *err)
{
    const rw_maintain_config *mc = &cfg->maintain;
    /* Each rank sees its own share of a batch: utilities, dormancy and
     * usage would differ between ranks, and so would the networks. */
    if ((mc->kind != RW_MAINTAIN_NONE || cfg->drop_by_usage) && rw_dist_size() > 1)
        return rw_fail(err, RW_ERR_UNSUPPORTED,
                       "maintenance and --drop-by-usage run on one rank only");
    for (size_t l = 0; cfg->drop_by_usage && l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (L->kind != RW_LAYER_SPARSE || (L->in_usage && L->in_usage_n == L->in))
            continue;
        rw_free(L->in_usage);
        L->in_usage_n = 0;
        if (!(L->in_usage = rw_alloc(L->in, sizeof(float), "input usage", err)))
            return RW_ERR_NOMEM;
        /* -1: no data seen yet; the first batch sets the trace. */
        for (size_t i = 0; i < L->in; i++)
            L->in_usage[i] = -1.0f;
        L->in_usage_n = L->in;
    }
    rw_status st = rw_check_maintain_config(cfg, err);
    if (st != RW_OK || mc->kind == RW_MAINTAIN_NONE)
        return st;
    if (!net->maint) {
        net->maint = rw_calloc(1, sizeof *net->maint, "maintenance state", err);
        net->maint_free = rw_maint_free;
        if (!net->maint)
            return RW_ERR_NOMEM;
    }
    struct rw_maint *s = net->maint;
    s->n_layers = net->n_layers;
    s->eta = mc->cbp_eta;
    s->hmean_ready = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        maint_layer *m = &s->l[l];
        if (m->units != L->out || m->in != L->in) {
            layer_state_free(m);
            m->units = L->out;
            m->in = L->in;
            if (s->have_p0 && mc->kind == RW_MAINTAIN_L2INIT &&
                take_p0(m, L, err) != RW_OK)
                return RW_ERR_NOMEM;
        }
        if (l + 1 < net->n_layers && !m->util) {
            m->util = rw_calloc(L->out, sizeof(double), "unit utilities", err);
            m->fmean = rw_calloc(L->out, sizeof(double), "unit utilities", err);
            m->hmean = rw_calloc(L->out, sizeof(double), "unit utilities", err);
            m->age = rw_calloc(L->out, sizeof(uint64_t), "unit ages", err);
            if (!m->util || !m->fmean || !m->hmean || !m->age)
                return RW_ERR_NOMEM;
        }
    }
    if (mc->kind == RW_MAINTAIN_L2INIT && !s->have_p0) {
        for (size_t l = 0; l < net->n_layers; l++)
            if (take_p0(&s->l[l], &net->layers[l], err) != RW_OK)
                return RW_ERR_NOMEM;
        s->have_p0 = 1;
    }
    return RW_OK;
}

void rw_maintain_view(rw_net *net, const rw_train_config *cfg,
                      rw_maint_view *v)
{
    memset(v, 0, sizeof *v);
    struct rw_maint *s = net->maint;
    if (!s || cfg->maintain.kind == RW_MAINTAIN_NONE)
        return;
    v->n_layers = s->n_layers;
    v->hmean_ready = &s->hmean_ready;
    /* The anchor only when the run uses it: a CBP run on a network that
     * once ran L2 Init does not carry it. */
    int p0 = s->have_p0 && cfg->maintain.kind == RW_MAINTAIN_L2INIT;
    for (size_t l = 0; l < s->n_layers; l++) {
        maint_layer *m = &s->l[l];
        rw_maint_layer_view *lv = &v->l[l];
        lv->units = m->units;
        lv->in = m->in;
        lv->util = m->util;
        lv->fmean = m->fmean;
        lv->hmean = m->hmean;
        lv->age = m->age;
        lv->acc = &m->acc;
        lv->p0w = p0 ? m->p0w : NULL;
        lv->p0b = p0 ? m->p0b : NULL;
    }
}

/* Sum of |w| over the connections leaving unit j of layer l (into l+1). */
static double out_abs_sum(const rw_net *net, size_t l, size_t j)
{
    const rw_layer *N = &net->layers[l + 1];
    double s = 0.0;
    if (N->kind == RW_LAYER_DENSE) {
        for (size_t o = 0; o < N->out; o++)
            s += fabsf(N->w[o * N->in + j]);
    } else {
        for (size_t t = N->tcol_ptr[j]; t < N->tcol_ptr[j + 1]; t++)
            s += fabsf(N->w[N->t_k[t]]);
    }
    return s;
}

static double in_abs_sum(const rw_layer *L, size_t j)
{
    size_t k0 = L->kind == RW_LAYER_DENSE ? j * L->in : L->row_ptr[j];
    size_t k1 = L->kind == RW_LAYER_DENSE ? k0 + L->in : L->row_ptr[j + 1];
    double s = 0.0;
    for (size_t k = k0; k < k1; k++)
        s += fabsf(L->w[k]);
    return s;
}

double rw_maintain_penalty(const rw_net *net, const rw_train_config *cfg)
{
    const struct rw_maint *s = net->maint;
    if (cfg->maintain.kind != RW_MAINTAIN_L2INIT || !s || !s->have_p0)
        return 0.0;
    double sum = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        const maint_layer *m = &s->l[l];
        for (size_t o = 0; o < L->out; o++) {
            size_t k0 = L->kind == RW_LAYER_DENSE ? o * L->in : L->row_ptr[o];
            size_t k1 = L->kind == RW_LAYER_DENSE ? k0 + L->in : L->row_ptr[o + 1];
            for (size_t k = k0; k < k1; k++) {
                size_t i = L->kind == RW_LAYER_DENSE ? k - k0 : (L->col[k] & RW_COL_MASK);
                double d = (double)L->w[k] - m->p0w[o * L->in + i];
                sum += d * d;
            }
            double d = (double)L->b[o] - m->p0b[o];
            sum += d * d;
        }
    }
    return cfg->maintain.l2_lambda * sum;
}

/* out[i] = sum_b |x[i, b]| for the n rows of x: 16 partial sums, then the
 * lanes in order (a fixed order: the same result on every path). It was a
 * scalar loop, one add after another: 0.15 s of the main job's 1.0 s epoch
 * on the calling thread (perf: 616 samples at 4 kHz, now 100). */
RW_HOT static void abs_row_sums(const float *restrict x, float *restrict out,
                                size_t n, size_t B)
{
    for (size_t i = 0; i < n; i++) {
        const float *r = x + i * B;
        float acc[16] = {0};
        size_t b = 0;
        for (; b + 16 <= B; b += 16)
            for (int k = 0; k < 16; k++)
                acc[k] += fabsf(r[b + k]);
        float sum = 0.0f;
        for (int k = 0; k < 16; k++)
            sum += acc[k];
        for (; b < B; b++)
            sum += fabsf(r[b]);
        out[i] = sum;
    }
}

/* in_usage <- (1 - r) in_usage + r mean_b |x_i| over the batch. */
static void update_usage(rw_net *net, float r, size_t B)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (!L->in_usage || L->in_usage_n != L->in)
            continue;
        const float *x = l ? net->layers[l - 1].a : net->x0;
        long I = (long)L->in;
        float *u = L->in_usage;
        /* On the calling thread: vectorised, the whole network's sums take
         * about 10 us a step, less than waking the thread pool. */
        for (long i0 = 0; i0 < I; i0 += 64) {
            size_t i1 = (size_t)(i0 + 64 < I ? i0 + 64 : I);
            float s[64];
            abs_row_sums(x + (size_t)i0 * B, s, i1 - (size_t)i0, B);
            for (size_t i = (size_t)i0; i < i1; i++) {
                float m = s[i - (size_t)i0] / (float)B;
                u[i] = u[i] < 0.0f ? m : (1.0f - r) * u[i] + r * m;
            }
        }
    }
}

void rw_maintain_after_backward(rw_net *net, const rw_train_config *cfg,
                                size_t B)
{
    const rw_maintain_config *mc = &cfg->maintain;
    struct rw_maint *s = net->maint;
    if (cfg->drop_by_usage && B)
        update_usage(net, (float)cfg->plasticity.trace_rate, B);
    if (mc->kind == RW_MAINTAIN_NONE || !s || B == 0)
        return;
    if (mc->kind == RW_MAINTAIN_L2INIT) {
        float c = (float)(2.0 * mc->l2_lambda);
        for (size_t l = 0; l < net->n_layers; l++) {
            rw_layer *L = &net->layers[l];
            const maint_layer *m = &s->l[l];
            for (size_t o = 0; o < L->out; o++) {
                size_t k0 = L->kind == RW_LAYER_DENSE ? o * L->in : L->row_ptr[o];
                size_t k1 = L->kind == RW_LAYER_DENSE ? k0 + L->in : L->row_ptr[o + 1];
                const float *p0 = m->p0w + o * L->in;
                for (size_t k = k0; k < k1; k++) {
                    size_t i = L->kind == RW_LAYER_DENSE ? k - k0
                                                         : (L->col[k] & RW_COL_MASK);
                    L->gw[k] += c * (L->w[k] - p0[i]);
                }
                L->gb[o] += c * (L->b[o] - m->p0b[o]);
            }
        }
        return;
    }
    if (mc->kind != RW_MAINTAIN_CBP && mc->kind != RW_MAINTAIN_REDO)
        return;
    double eta = mc->cbp_eta;
    for (size_t l = 0; l + 1 < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        maint_layer *m = &s->l[l];
        for (size_t j = 0; j < L->out; j++) {
            const float *a = L->a + j * B;
            double sa = 0.0, sm = 0.0;
            for (size_t b = 0; b < B; b++) {
                sa += fabsf(a[b]);
                sm += a[b];
            }
            m->hmean[j] = sa / (double)B;
            if (mc->kind != RW_MAINTAIN_CBP)
                continue;
            double y;
            if (mc->cbp_adaptable) {
                /* |h - f| with f the bias-corrected mean before this step. */
                double bc = m->age[j] ? 1.0 - pow(eta, (double)m->age[j]) : 1.0;
                double f = m->age[j] ? m->fmean[j] / bc : 0.0, dev = 0.0;
                for (size_t b = 0; b < B; b++)
                    dev += fabs((double)a[b] - f);
                double win = in_abs_sum(L, j);
                y = dev / (double)B * out_abs_sum(net, l, j) / (win > 0.0 ? win : 1.0);
            } else {
                y = m->hmean[j] * out_abs_sum(net, l, j);
            }
            m->util[j] = eta * m->util[j] + (1.0 - eta) * y;
            m->fmean[j] = eta * m->fmean[j] + (1.0 - eta) * (sm / (double)B);
        }
    }
    s->hmean_ready = 1;
}

/* Zeroes the optimizer state (moments, Adam step counts) of weight k. */
static void reset_opt(rw_layer *L, size_t k)
{
    if (L->m1)
        L->m1[k] = 0.0f;
    if (L->m2)
        L->m2[k] = 0.0f;
    if (L->mstep)
        L->mstep[k] = 0.0f;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

rw_status rw_maintain_reinit_unit(rw_net *net, size_t l, size_t j,
                                  int compensate, rw_rng *rng, rw_error *err)
{
    if (!net || l + 1 >= net->n_layers || j >= net->layers[l].out)
        return rw_fail(err, RW_ERR_ARG, "reinit: no hidden unit %zu in layer %zu",
                       j, l + 1);
    rw_layer *L = &net->layers[l], *N = &net->layers[l + 1];
    struct rw_maint *s = net->maint;
    maint_layer *m = s && l < s->n_layers && s->l[l].util ? &s->l[l] : NULL;
    /* The next layer's biases absorb the unit's mean output. */
    if (compensate && m && m->age[j]) {
        double f = m->fmean[j] / (1.0 - pow(s->eta, (double)m->age[j]));
        if (N->kind == RW_LAYER_DENSE) {
            for (size_t o = 0; o < N->out; o++)
                N->b[o] += (float)((double)N->w[o * N->in + j] * f);
        } else {
            for (size_t t = N->tcol_ptr[j]; t < N->tcol_ptr[j + 1]; t++)
                N->b[N->t_row[t]] += (float)((double)N->w[N->t_k[t]] * f);
        }
    }
    /* Outgoing weights 0, with fresh optimizer state. */
    if (N->kind == RW_LAYER_DENSE) {
        for (size_t o = 0; o < N->out; o++) {
            N->w[o * N->in + j] = 0.0f;
            reset_opt(N, o * N->in + j);
        }
    } else {
        for (size_t t = N->tcol_ptr[j]; t < N->tcol_ptr[j + 1]; t++) {
            N->w[N->t_k[t]] = 0.0f;
            reset_opt(N, N->t_k[t]);
        }
    }
    /* New incoming weights, He uniform over the row's fan-in. */
    size_t k0 = L->kind == RW_LAYER_DENSE ? j * L->in : L->row_ptr[j];
    size_t k1 = L->kind == RW_LAYER_DENSE ? k0 + L->in : L->row_ptr[j + 1];
    size_t fan = k1 - k0;
    if (L->kind == RW_LAYER_SPARSE && fan) {
        /* Fresh random inputs, as many as before (Floyd's sampling). */
        uint32_t *pick = rw_alloc(fan, sizeof(uint32_t), "new inputs", err);
        unsigned char *used = rw_calloc(L->in, 1, "new inputs", err);
        if (!pick || !used) {
            rw_free(pick);
            rw_free(used);
            return RW_ERR_NOMEM;
        }
        size_t c = 0;
        for (size_t r = L->in - fan; r < L->in; r++) {
            size_t t = (size_t)rw_rng_below(rng, r + 1);
            size_t v = used[t] ? r : t;
            used[v] = 1;
            pick[c++] = (uint32_t)v;
        }
        qsort(pick, fan, sizeof *pick, cmp_u32);
        float *arrs[RW_CONN_MAX];
        size_t na = rw_layer_parallel_arrays(L, arrs);
        for (size_t k = k0; k < k1; k++) {
            if (L->col[k] & RW_COL_INITIAL)
                L->initial_alive--;
            L->col[k] = pick[k - k0];
            for (size_t a = 0; a < na; a++)
                arrs[a][k] = 0.0f;
            L->gw[k] = 0.0f;
        }
        rw_free(pick);
        rw_free(used);
        rw_sparse_build_transpose(L);
        net->grads_ready = 0;
    }
    double bound = fan ? sqrt(6.0 / (double)fan) : 0.0;
    for (size_t k = k0; k < k1; k++) {
        L->w[k] = (float)(bound * (2.0 * rw_rng_uniform(rng) - 1.0));
        reset_opt(L, k);
    }
    L->b[j] = 0.0f;
    if (L->bm1)
        L->bm1[j] = 0.0f;
    if (L->bm2)
        L->bm2[j] = 0.0f;
    if (L->bmstep)
        L->bmstep[j] = 0.0f;
    if (m) {
        m->util[j] = m->fmean[j] = 0.0;
        m->age[j] = 0;
    }
    return RW_OK;
}

rw_status rw_net_shrink_perturb(rw_net *net, double lambda, double sigma,
                                rw_rng *rng, rw_error *err)
{
    if (!net || !rng)
        return rw_fail(err, RW_ERR_ARG, "shrink and perturb: NULL argument");
    if (!isfinite(lambda) || !isfinite(sigma) || sigma < 0.0)
        return rw_fail(err, RW_ERR_ARG, "shrink and perturb: lambda %g, sigma %g",
                       lambda, sigma);
    if (lambda == 1.0 && sigma == 0.0)
        return RW_OK;
    float lf = (float)lambda;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw; k++)
            L->w[k] = lf * L->w[k] + (sigma > 0.0 ? (float)(sigma * rw_rng_normal(rng)) : 0.0f);
        for (size_t o = 0; o < L->out; o++)
            L->b[o] = lf * L->b[o] + (sigma > 0.0 ? (float)(sigma * rw_rng_normal(rng)) : 0.0f);
    }
    return RW_OK;
}

typedef struct ucand {
    double u;
    size_t j;
} ucand;

static int cmp_ucand(const void *a, const void *b)
{
    const ucand *x = a, *y = b;
    if (x->u != y->u)
        return x->u < y->u ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static rw_status cbp_layer(rw_net *net, const rw_maintain_config *mc, size_t l,
                           rw_rng *rng, size_t *replaced, rw_error *err)
{
    maint_layer *m = &net->maint->l[l];
    size_t H = m->units, ne = 0;
    for (size_t j = 0; j < H; j++)
        if (++m->age[j] > mc->cbp_maturity)
            ne++;
    *replaced = 0;
    if (ne == 0)
        return RW_OK;
    m->acc += mc->cbp_rho * (double)ne;
    if (m->acc < 1.0)
        return RW_OK;
    size_t r = (size_t)m->acc;
    m->acc -= (double)r;
    if (r > ne)
        r = ne;
    ucand *c = rw_alloc(ne, sizeof *c, "CBP candidates", err);
    if (!c)
        return RW_ERR_NOMEM;
    size_t n = 0;
    for (size_t j = 0; j < H; j++)
        if (m->age[j] > mc->cbp_maturity)
            c[n++] = (ucand){m->util[j] / (1.0 - pow(mc->cbp_eta, (double)m->age[j])), j};
    qsort(c, n, sizeof *c, cmp_ucand);
    rw_status st = RW_OK;
    for (size_t i = 0; i < r && st == RW_OK; i++)
        st = rw_maintain_reinit_unit(net, l, c[i].j, 1, rng, err);
    rw_free(c);
    *replaced = r;
    return st;
}

rw_status rw_maintain_after_step(rw_net *net, const rw_train_config *cfg,
                                 size_t step, rw_rng *rng, rw_epoch_stats *es,
                                 rw_error *err)
{
    const rw_maintain_config *mc = &cfg->maintain;
    struct rw_maint *s = net->maint;
    if (mc->kind == RW_MAINTAIN_NONE || !s)
        return RW_OK;
    rw_status st = RW_OK;
    if (mc->kind == RW_MAINTAIN_SNP && !mc->snp_at_task)
        return rw_net_shrink_perturb(net, mc->snp_lambda, mc->snp_sigma, rng, err);
    if (mc->kind == RW_MAINTAIN_CBP) {
        for (size_t l = 0; l + 1 < net->n_layers && st == RW_OK; l++) {
            size_t r = 0;
            st = cbp_layer(net, mc, l, rng, &r, err);
            if (es)
                es->units_reset[l] += r;
        }
    } else if (mc->kind == RW_MAINTAIN_REDO && s->hmean_ready &&
               net->step % mc->redo_every == 0) {
        /* The network's own step count: rw_train's restarts with every
         * call (every task of a continual run). */
        for (size_t l = 0; l + 1 < net->n_layers && st == RW_OK; l++) {
            maint_layer *m = &s->l[l];
            double tot = 0.0;
            for (size_t j = 0; j < m->units; j++)
                tot += m->hmean[j];
            tot /= (double)m->units;
            for (size_t j = 0; j < m->units && st == RW_OK; j++)
                if (tot <= 0.0 || m->hmean[j] / tot <= mc->redo_tau) {
                    st = rw_maintain_reinit_unit(net, l, j, 0, rng, err);
                    if (es)
                        es->units_reset[l]++;
                }
        }
    }
    return st;
}
