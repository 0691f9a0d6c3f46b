/* The network: a stack of dense and sparse layers with an input transform.
 * Shapes: the input batch x0 is I x B, layer l writes a_l (O_l x B), all
 * feature-major (layers/layers.h). Softmax output layers are normalised per
 * column here; the cross-entropy gradient then is (p - onehot) / B. */
#include "net/net.h"
#include "layers/kernels/kernels.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

rw_net_config rw_net_config_defaults(void)
{
    rw_net_config c;
    memset(&c, 0, sizeof c);
    c.loss = RW_LOSS_CROSS_ENTROPY;
    c.init = RW_INIT_AUTO;
    c.seed = 1;
    return c;
}

rw_status rw_net_config_mlp(rw_net_config *cfg, size_t n_inputs,
                            const size_t *hidden, size_t n_hidden,
                            size_t n_outputs, rw_activation act, rw_loss loss,
                            rw_error *err)
{
    if (!cfg || n_inputs == 0 || n_outputs == 0 || (n_hidden && !hidden))
        return rw_fail(err, RW_ERR_ARG,
                       "network needs at least one input and one output");
    if (n_hidden + 1 > RW_MAX_LAYERS)
        return rw_fail(err, RW_ERR_ARG, "at most %d hidden layers are supported",
                       RW_MAX_LAYERS - 1);
    *cfg = rw_net_config_defaults();
    cfg->n_inputs = n_inputs;
    cfg->loss = loss;
    for (size_t i = 0; i < n_hidden; i++) {
        if (hidden[i] == 0)
            return rw_fail(err, RW_ERR_ARG, "hidden layer %zu has no neurons",
                           i + 1);
        cfg->layers[i] = (rw_layer_spec){hidden[i], act, RW_LAYER_DENSE, 1.0};
    }
    cfg->layers[n_hidden] = (rw_layer_spec){
        n_outputs, loss == RW_LOSS_CROSS_ENTROPY ? RW_ACT_SOFTMAX : RW_ACT_IDENTITY,
        RW_LAYER_DENSE, 1.0};
    cfg->n_layers = n_hidden + 1;
    return RW_OK;
}

rw_status rw_net_config_sparsify(rw_net_config *cfg, rw_sparse_init mode,
                                 double param, int include_output,
                                 rw_error *err)
{
    if (!cfg || cfg->n_layers == 0)
        return rw_fail(err, RW_ERR_ARG, "sparsify: empty network config");
    if (!(param > 0.0) || !isfinite(param))
        return rw_fail(err, RW_ERR_ARG, "sparsify: %s must be positive",
                       mode == RW_SPARSE_ER ? "epsilon" : "density");
    if (mode != RW_SPARSE_ER && param > 1.0)
        return rw_fail(err, RW_ERR_ARG, "sparsify: density %g is above 1", param);
    size_t last = include_output ? cfg->n_layers : cfg->n_layers - 1;
    double erk_scale = 1.0;
    if (mode == RW_SPARSE_ERK) {
        /* Choose the scale so that the chosen layers together keep `param`
         * of their weights, capping layers that would exceed density 1. */
        double lo = 0.0, hi = 1e9;
        for (int it = 0; it < 200; it++) {
            double mid = 0.5 * (lo + hi), kept = 0.0, total = 0.0;
            size_t in = cfg->n_inputs;
            for (size_t l = 0; l < last; l++) {
                double n_in = (double)in, n_out = (double)cfg->layers[l].units;
                double d = mid * (n_in + n_out) / (n_in * n_out);
                kept += (d > 1.0 ? 1.0 : d) * n_in * n_out;
                total += n_in * n_out;
                in = cfg->layers[l].units;
            }
            if (kept / total > param)
                hi = mid;
            else
                lo = mid;
        }
        erk_scale = 0.5 * (lo + hi);
    }
    size_t in = cfg->n_inputs;
    for (size_t l = 0; l < cfg->n_layers; l++) {
        rw_layer_spec *s = &cfg->layers[l];
        if (l < last) {
            double n_in = (double)in, n_out = (double)s->units, d;
            switch (mode) {
            case RW_SPARSE_ER: d = param * (n_in + n_out) / (n_in * n_out); break;
            case RW_SPARSE_ERK: d = erk_scale * (n_in + n_out) / (n_in * n_out); break;
            default: d = param; break;
            }
            /* Under ER/ERK a layer that would keep every connection stays
             * dense; a uniform density of 1 asks for sparse storage. */
            bool full = d >= 1.0 && mode != RW_SPARSE_UNIFORM;
            s->kind = full ? RW_LAYER_DENSE : RW_LAYER_SPARSE;
            s->density = d >= 1.0 ? 1.0 : d;
        }
        in = s->units;
    }
    return RW_OK;
}

static rw_status validate_config(const rw_net_config *cfg, rw_error *err)
{
    if (!cfg)
        return rw_fail(err, RW_ERR_ARG, "network config is NULL");
    if (cfg->n_inputs == 0)
        return rw_fail(err, RW_ERR_ARG, "network needs at least one input");
    if (cfg->n_layers == 0 || cfg->n_layers > RW_MAX_LAYERS)
        return rw_fail(err, RW_ERR_ARG, "network needs 1..%d layers, got %zu",
                       RW_MAX_LAYERS, cfg->n_layers);
    for (size_t l = 0; l < cfg->n_layers; l++) {
        const rw_layer_spec *s = &cfg->layers[l];
        if (s->units == 0)
            return rw_fail(err, RW_ERR_ARG, "layer %zu has no neurons", l + 1);
        if ((unsigned)s->act > RW_ACT_SOFTMAX)
            return rw_fail(err, RW_ERR_ARG, "layer %zu: unknown activation", l + 1);
        if (s->act == RW_ACT_SOFTMAX &&
            (l + 1 != cfg->n_layers || cfg->loss != RW_LOSS_CROSS_ENTROPY))
            return rw_fail(err, RW_ERR_ARG,
                           "softmax is only supported on the output layer "
                           "with cross-entropy loss");
        if (s->kind != RW_LAYER_DENSE && s->kind != RW_LAYER_SPARSE)
            return rw_fail(err, RW_ERR_ARG, "layer %zu: unknown layer kind", l + 1);
        if (s->kind == RW_LAYER_SPARSE && !(s->density > 0.0 && s->density <= 1.0))
            return rw_fail(err, RW_ERR_ARG,
                           "layer %zu: density %g is outside (0, 1]", l + 1,
                           s->density);
    }
    if (cfg->loss == RW_LOSS_CROSS_ENTROPY &&
        cfg->layers[cfg->n_layers - 1].act != RW_ACT_SOFTMAX)
        return rw_fail(err, RW_ERR_ARG,
                       "cross-entropy needs a softmax output layer");
    if (cfg->loss == RW_LOSS_CROSS_ENTROPY && cfg->layers[cfg->n_layers - 1].units < 2)
        return rw_fail(err, RW_ERR_ARG, "a classifier needs at least 2 classes");
    return RW_OK;
}

/* Estimated bytes for parameters, gradients and Adam moments; used to
 * refuse networks that cannot fit before touching the allocator. */
static double estimate_bytes(const rw_net_config *cfg)
{
    double total = 0.0;
    size_t in = cfg->n_inputs;
    for (size_t l = 0; l < cfg->n_layers; l++) {
        const rw_layer_spec *s = &cfg->layers[l];
        double full = (double)in * (double)s->units;
        double nnz = s->kind == RW_LAYER_SPARSE ? full * s->density : full;
        total += nnz * (s->kind == RW_LAYER_SPARSE ? 28.0 : 16.0) +
                 16.0 * (double)s->units;
        in = s->units;
    }
    return total;
}

rw_net *rw_net_create(const rw_net_config *cfg, rw_error *err)
{
    if (rw_isa_check(err) != RW_OK || validate_config(cfg, err) != RW_OK)
        return NULL;
    double need = estimate_bytes(cfg);
    /* Refuse what cannot fit before touching the allocator: with memory
     * overcommit a too-large network would otherwise be killed later. */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double have = pages > 0 && page > 0 ? (double)pages * (double)page : 0.0;
    if (need > (double)SIZE_MAX / 2 || (have > 0.0 && need > have)) {
        rw_fail(err, RW_ERR_NOMEM,
                "the network needs about %.1f GiB for its weights, gradients "
                "and optimizer state, more than this machine's %.1f GiB of "
                "memory; use fewer or smaller layers or a lower density",
                need / (1024.0 * 1024.0 * 1024.0), have / (1024.0 * 1024.0 * 1024.0));
        return NULL;
    }
    rw_net *net = rw_calloc(1, sizeof *net, "network", err);
    if (!net)
        return NULL;
    net->cfg = *cfg;
    net->n_layers = cfg->n_layers;
    rw_rng rng;
    rw_rng_seed(&rng, cfg->seed);
    size_t in = cfg->n_inputs;
    for (size_t l = 0; l < cfg->n_layers; l++) {
        const rw_layer_spec *s = &cfg->layers[l];
        rw_status st;
        if (s->kind == RW_LAYER_SPARSE) {
            double full = (double)in * (double)s->units;
            size_t nnz = (size_t)llround(full * s->density);
            st = rw_layer_init_sparse(&net->layers[l], in, s->units, nnz,
                                      s->act, &rng, err);
        } else {
            st = rw_layer_init_dense(&net->layers[l], in, s->units, s->act, err);
        }
        if (st != RW_OK) {
            if (st == RW_ERR_NOMEM && err)
                rw_fail(err, RW_ERR_NOMEM,
                        "layer %zu: %s (the network needs about %.2f GiB for "
                        "weights, gradients and optimizer state)",
                        l + 1, err->msg, need / (1024.0 * 1024.0 * 1024.0));
            rw_net_free(net);
            return NULL;
        }
        in = s->units;
    }
    rw_net_init_weights(net, &rng);
    return net;
}

void rw_net_init_weights(rw_net *net, rw_rng *rng)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        /* Fan-in and fan-out count existing connections, so sparse layers
         * keep the signal scale of a dense layer. */
        double fan_in = (double)L->nw / (double)L->out;
        double fan_out = (double)L->nw / (double)L->in;
        double sd = rw_init_std(net->cfg.init, L->act, fan_in, fan_out);
        for (size_t k = 0; k < L->nw; k++)
            L->w[k] = (float)(sd * rw_rng_normal(rng));
        memset(L->b, 0, L->out * sizeof(float));
    }
}

void rw_net_free(rw_net *net)
{
    if (!net)
        return;
    for (size_t l = 0; l < net->n_layers; l++)
        rw_layer_free(&net->layers[l]);
    for (size_t l = 0; l < RW_MAX_LAYERS; l++)
        rw_free(net->view_cols[l]);
    rw_free(net->shift);
    rw_free(net->scale);
    rw_free(net->x0);
    rw_free(net->h16);
    rw_free(net->bc_tab);
    if (net->maint && net->maint_free)
        net->maint_free(net->maint);
    rw_free(net);
}

static void *dup_array(const void *src, size_t n, size_t size, bool *ok,
                       rw_error *err)
{
    if (!src)
        return NULL;
    void *p = rw_alloc(n, size, "network copy", err);
    if (!p) {
        *ok = false;
        return NULL;
    }
    memcpy(p, src, n * size);
    return p;
}

rw_status rw_net_set_label_column(rw_net *net, int column, rw_error *err)
{
    if (!net)
        return rw_fail(err, RW_ERR_ARG, "label column: network is NULL");
    if (column < RW_LABEL_LAST || column >= (int)(RW_MAX_LABEL_COLUMN))
        return rw_fail(err, RW_ERR_ARG, "label column %d: expected "
                       "RW_LABEL_LAST (-1) or a column 0..%d", column,
                       (int)RW_MAX_LABEL_COLUMN - 1);
    net->label_code = column == RW_LABEL_LAST ? 0 : (uint32_t)column + 1;
    return RW_OK;
}

int rw_net_label_column(const rw_net *net)
{
    return !net || net->label_code == 0 ? RW_LABEL_LAST
                                        : (int)(net->label_code - 1);
}

rw_net *rw_net_clone(const rw_net *src, rw_error *err)
{
    if (!src) {
        rw_fail(err, RW_ERR_ARG, "clone: network is NULL");
        return NULL;
    }
    rw_net *net = rw_calloc(1, sizeof *net, "network", err);
    if (!net)
        return NULL;
    *net = *src;
    net->x0 = NULL;
    net->h16 = NULL;
    net->batch_cap = 0;
    net->cur_batch = 0;
    memset(net->view_cols, 0, sizeof net->view_cols);
    memset(net->view_cap, 0, sizeof net->view_cap);
    net->grads_ready = 0;
    net->bc_tab = NULL; /* rebuilt on the first step */
    net->maint = NULL; /* maintenance state is not copied */
    net->maint_free = NULL;
    net->bc_len = 0;
    bool ok = true;
    net->shift = dup_array(src->shift, src->cfg.n_inputs, sizeof(float), &ok, err);
    net->scale = dup_array(src->scale, src->cfg.n_inputs, sizeof(float), &ok, err);
    for (size_t l = 0; l < src->n_layers; l++) {
        const rw_layer *S = &src->layers[l];
        rw_layer *L = &net->layers[l];
        L->a = L->d = NULL;
        L->h = NULL;
        for (size_t i = 0; i < rw_conn_array_count; i++) {
            const rw_conn_array *a = &rw_conn_arrays[i];
            *rw_conn_ptr(L, a) = dup_array(rw_conn_get(S, a), S->nw, a->size,
                                           &ok, err);
        }
        L->b = dup_array(S->b, S->out, sizeof(float), &ok, err);
        L->gb = dup_array(S->gb, S->out, sizeof(float), &ok, err);
        L->bm1 = dup_array(S->bm1, S->out, sizeof(float), &ok, err);
        L->bm2 = dup_array(S->bm2, S->out, sizeof(float), &ok, err);
        L->bmstep = dup_array(S->bmstep, S->out, sizeof(float), &ok, err);
        L->row_ptr = dup_array(S->row_ptr, S->out + 1, sizeof(size_t), &ok, err);
        L->tcol_ptr = dup_array(S->tcol_ptr, S->in + 1, sizeof(size_t), &ok, err);
        L->activity = dup_array(S->activity, S->out, sizeof(float), &ok, err);
        L->silent = dup_array(S->silent, S->out, sizeof(uint32_t), &ok, err);
        L->bstate = dup_array(S->bstate, 4 * S->out, sizeof(float), &ok, err);
        L->si_grad = dup_array(S->si_grad, S->si_grad_cap, sizeof(float), &ok, err);
        L->in_usage = dup_array(S->in_usage, S->in_usage_n, sizeof(float), &ok, err);
    }
    if (!ok) {
        rw_net_free(net);
        return NULL;
    }
    return net;
}

size_t rw_net_inputs(const rw_net *net) { return net->cfg.n_inputs; }
size_t rw_net_outputs(const rw_net *net)
{
    return net->layers[net->n_layers - 1].out;
}
size_t rw_net_layers(const rw_net *net) { return net->n_layers; }
const rw_net_config *rw_net_config_of(const rw_net *net) { return &net->cfg; }
size_t rw_net_classes(const rw_net *net)
{
    return net->cfg.loss == RW_LOSS_CROSS_ENTROPY ? rw_net_outputs(net) : 0;
}

rw_status rw_net_layer_info(const rw_net *net, size_t layer,
                            rw_layer_info *out, rw_error *err)
{
    if (!net || !out || layer >= net->n_layers)
        return rw_fail(err, RW_ERR_ARG, "layer %zu does not exist", layer);
    const rw_layer *L = &net->layers[layer];
    out->kind = L->kind;
    out->act = L->act;
    out->inputs = L->in;
    out->outputs = L->out;
    out->connections = L->nw;
    out->density = (double)L->nw / ((double)L->in * (double)L->out);
    out->parameters = L->nw + L->out;
    return RW_OK;
}

size_t rw_net_parameters(const rw_net *net)
{
    size_t p = 0;
    for (size_t l = 0; l < net->n_layers; l++)
        p += net->layers[l].nw + net->layers[l].out;
    return p;
}

size_t rw_net_connections(const rw_net *net)
{
    size_t c = 0;
    for (size_t l = 0; l < net->n_layers; l++)
        c += net->layers[l].nw;
    return c;
}

double rw_net_initial_share(const rw_net *net, size_t layer)
{
    if (!net || layer >= net->n_layers || net->layers[layer].initial_nnz == 0)
        return 1.0;
    return (double)net->layers[layer].initial_alive /
           (double)net->layers[layer].initial_nnz;
}

rw_status rw_net_layer_view(rw_net *net, size_t layer, rw_layer_view *out,
                            rw_error *err)
{
    if (!net || !out || layer >= net->n_layers)
        return rw_fail(err, RW_ERR_ARG, "layer %zu does not exist", layer);
    rw_layer *L = &net->layers[layer];
    out->kind = L->kind;
    out->inputs = L->in;
    out->outputs = L->out;
    out->connections = L->nw;
    out->weights = L->w;
    out->bias = L->b;
    out->grad_weights = L->gw;
    out->grad_bias = L->gb;
    out->row_ptr = L->row_ptr;
    out->cols = NULL;
    if (L->kind != RW_LAYER_SPARSE)
        return RW_OK;
    /* A copy without the internal "initial" flag, so that cols[k] is an
     * input index as the header promises. */
    if (!net->view_cols[layer] || net->view_cap[layer] < L->nw) {
        uint32_t *c = rw_alloc(L->nw, sizeof *c, "layer view", err);
        if (!c)
            return RW_ERR_NOMEM;
        rw_free(net->view_cols[layer]);
        net->view_cols[layer] = c;
        net->view_cap[layer] = L->nw;
    }
    for (size_t k = 0; k < L->nw; k++)
        net->view_cols[layer][k] = L->col[k] & RW_COL_MASK;
    out->cols = net->view_cols[layer];
    return RW_OK;
}

rw_status rw_net_set_input_transform(rw_net *net, const float *shift,
                                     const float *scale, rw_error *err)
{
    if (!net)
        return rw_fail(err, RW_ERR_ARG, "network is NULL");
    rw_free(net->shift);
    rw_free(net->scale);
    net->shift = net->scale = NULL;
    if (!shift && !scale)
        return RW_OK;
    size_t n = net->cfg.n_inputs;
    net->shift = rw_alloc(n, sizeof(float), "input transform", err);
    net->scale = rw_alloc(n, sizeof(float), "input transform", err);
    if (!net->shift || !net->scale) {
        rw_free(net->shift);
        rw_free(net->scale);
        net->shift = net->scale = NULL;
        return RW_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        net->shift[i] = shift ? shift[i] : 0.0f;
        net->scale[i] = scale ? scale[i] : 1.0f;
    }
    return RW_OK;
}

int rw_net_input_transform(const rw_net *net, const float **shift,
                           const float **scale)
{
    if (!net->shift)
        return 0;
    if (shift)
        *shift = net->shift;
    if (scale)
        *scale = net->scale;
    return 1;
}

size_t rw_net_half_rows(const rw_net *net)
{
    size_t rows = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        size_t r = L->in > L->out ? L->in : L->out;
        if (L->kind == RW_LAYER_SPARSE && r > rows)
            rows = r;
    }
    return rows;
}

/* The bf16 scratch of `net`'s sparse layers at `precision` for batches of
 * `cap` (rw_layer.h): *out gets it, or NULL when none is needed. */
static rw_status half_alloc(const rw_net *net, rw_precision precision,
                            size_t cap, const char *what, uint16_t **out,
                            rw_error *err)
{
    size_t hrows = rw_net_half_rows(net), n;
    *out = NULL;
    if (precision != RW_PRECISION_BF16 || !hrows || !cap)
        return RW_OK;
    if (!rw_mul_ok(hrows, cap, &n))
        return rw_fail(err, RW_ERR_NOMEM, "batch of %zu is too large", cap);
    *out = rw_alloc(n, sizeof(uint16_t), what, err);
    return *out ? RW_OK : RW_ERR_NOMEM;
}

/* Gives the network's sparse layers the scratch h (NULL: fp32 rows). */
static void half_attach(rw_net *net, uint16_t *h)
{
    net->h16 = h;
    for (size_t l = 0; l < net->n_layers; l++)
        net->layers[l].h = h && net->layers[l].kind == RW_LAYER_SPARSE ? h : NULL;
}

static const char *const precision_names[] = {"fp32", "bf16"};

const char *rw_precision_name(rw_precision precision)
{
    return (unsigned)precision < 2 ? precision_names[precision] : NULL;
}

rw_status rw_precision_parse(const char *name, rw_precision *out,
                             rw_error *err)
{
    for (int p = 0; p < 2; p++)
        if (name && strcmp(name, precision_names[p]) == 0) {
            if (out)
                *out = (rw_precision)p;
            return RW_OK;
        }
    return rw_fail(err, RW_ERR_ARG, "precision '%s': expected fp32 or bf16",
                   name ? name : "(null)");
}

rw_status rw_net_set_precision(rw_net *net, rw_precision precision,
                               rw_error *err)
{
    if (!net)
        return rw_fail(err, RW_ERR_ARG, "precision: network is NULL");
    if (!rw_precision_name(precision))
        return rw_fail(err, RW_ERR_ARG, "precision %d: expected "
                       "RW_PRECISION_FP32 or RW_PRECISION_BF16",
                       (int)precision);
    if (precision == net->precision)
        return RW_OK;
    /* The scratch follows at once, for the buffers' capacity as it stands
     * (a training loop keeps the width it reserved); with no buffers yet,
     * rw_net_reserve_batch makes it with them. */
    uint16_t *h;
    rw_status st = half_alloc(net, precision, net->batch_cap, "bf16 rows", &h, err);
    if (st != RW_OK)
        return st;
    rw_free(net->h16);
    half_attach(net, h);
    net->precision = precision;
    return RW_OK;
}

rw_precision rw_net_precision(const rw_net *net)
{
    return net ? net->precision : RW_PRECISION_FP32;
}

rw_status rw_net_reserve_batch(rw_net *net, size_t B, rw_error *err)
{
    if (B <= net->batch_cap)
        return RW_OK;
    net->grads_ready = 0;
    rw_free(net->x0);
    net->x0 = NULL;
    rw_free(net->h16);
    half_attach(net, NULL);
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_free(net->layers[l].a);
        rw_free(net->layers[l].d);
        net->layers[l].a = net->layers[l].d = NULL;
    }
    net->batch_cap = 0;
    size_t n;
    if (!rw_mul_ok(net->cfg.n_inputs, B, &n))
        return rw_fail(err, RW_ERR_NOMEM, "batch of %zu is too large", B);
    net->x0 = rw_alloc(n, sizeof(float), "input batch", err);
    if (!net->x0)
        return RW_ERR_NOMEM;
    uint16_t *h;
    rw_status st = half_alloc(net, net->precision, B, "bf16 rows", &h, err);
    if (st != RW_OK)
        return st;
    half_attach(net, h);
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (!rw_mul_ok(L->out, B, &n))
            return rw_fail(err, RW_ERR_NOMEM, "batch of %zu is too large", B);
        L->a = rw_calloc(n, sizeof(float), "activations", err);
        L->d = rw_calloc(n, sizeof(float), "layer errors", err);
        if (!L->a || !L->d)
            return RW_ERR_NOMEM;
    }
    net->batch_cap = B;
    return RW_OK;
}

/* Gathers samples into the feature-major input: a transpose (the sparse
 * kernels' gather, in registers). Sixteen samples at a time, so that each
 * feature's 16 values go to one cache line instead of one line per value;
 * the blocks of samples are independent and shared among the threads. */
static void gather(const rw_net *net, float *x0, const float *x,
                   const size_t *idx, size_t n, size_t col0, size_t B,
                   bool share)
{
    const rw_sparse_kernels *K = rw_kernels();
    size_t I = net->cfg.n_inputs;
    const float *sh = net->shift, *sc = net->scale;
    long blocks = (long)((n + 15) / 16);
    size_t min = share ? RW_STEP_PAR_MIN : rw_par_min_work();
#pragma omp parallel for schedule(static) if (n * I >= min)
    for (long b = 0; b < blocks; b++) {
        const float *rows[16];
        size_t j0 = (size_t)b * 16, nj = n - j0 < 16 ? n - j0 : 16;
        for (size_t j = 0; j < nj; j++)
            rows[j] = x + (idx ? idx[j0 + j] : j0 + j) * I;
        K->gather(x0 + col0 + j0, B, rows, nj, I, sh, sc);
    }
}

bool rw_net_pool_awake(const rw_net *net, size_t B)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        double min = (double)rw_par_min_work();
        /* The thresholds of the passes: a sparse pass shares the threads
         * above rw_par_min_work(), a GEMM from it (sparse.c, gemm.c). */
        if (L->kind == RW_LAYER_SPARSE ? (double)L->nw * (double)B > min
                                       : (double)L->in * (double)L->out * (double)B >= min)
            return true;
    }
    return false;
}

void rw_net_load_batch_at(rw_net *net, const float *x, const size_t *idx,
                          size_t n, size_t col0, size_t B)
{
    net->grads_ready = 0; /* a new pass starts */
    gather(net, net->x0, x, idx, n, col0, B, rw_net_pool_awake(net, B));
    net->cur_batch = B;
}

void rw_net_load_batch(rw_net *net, const float *x, const size_t *idx,
                       size_t n)
{
    rw_net_load_batch_at(net, x, idx, n, 0, n);
}

void rw_net_forward_batch(rw_net *net, size_t B)
{
    const float *x = net->x0;
    bool share = rw_net_pool_awake(net, B);
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (L->kind == RW_LAYER_SPARSE)
            rw_sparse_forward(L, x, B);
        else
            rw_dense_forward(L, x, B, share);
        if (L->act == RW_ACT_SOFTMAX && L->kind == RW_LAYER_SPARSE)
            rw_softmax_columns(L->a, L->out, B);
        x = L->a;
    }
}

void rw_net_backward_layer(rw_net *net, size_t l, const float *x, size_t B,
                           bool propagate)
{
    rw_layer *L = &net->layers[l];
    float *dx = propagate && l ? net->layers[l - 1].d : NULL;
    rw_activation xact = l ? net->layers[l - 1].act : RW_ACT_IDENTITY;
    /* A sparse layer's kernels take its input error through ReLU's
     * derivative as they store it (the same numbers, one pass fewer); a
     * dense layer takes it through any activation's after its product. */
    bool fused = dx && (L->kind == RW_LAYER_DENSE || rw_sparse_fuses_act_grad(xact));
    if (L->kind == RW_LAYER_SPARSE)
        rw_sparse_backward_act(L, x, dx, B, fused ? xact : RW_ACT_IDENTITY);
    else
        rw_dense_backward(L, x, dx, B, rw_net_pool_awake(net, B), xact);
    if (dx && !fused)
        rw_act_backward(xact, net->layers[l - 1].a, dx,
                        net->layers[l - 1].out * B);
}

void rw_net_backward_batch(rw_net *net, size_t B)
{
    /* Expects the output layer's d already set by the loss. */
    for (size_t l = net->n_layers; l-- > 0;)
        rw_net_backward_layer(net, l, l ? net->layers[l - 1].a : net->x0, B,
                              true);
    net->grads_ready = 1;
}

double rw_net_batch_loss(rw_net *net, const rw_batch_src *src, size_t nsrc,
                         const int32_t *groups, int32_t *labels, float *targets,
                         bool grad, size_t *correct)
{
    rw_layer *L = &net->layers[net->n_layers - 1];
    size_t C = L->out, W = 0;
    for (size_t i = 0; i < nsrc; i++)
        W += src[i].n;
    bool ce = net->cfg.loss == RW_LOSS_CROSS_ENTROPY;
    /* One source read in place needs no copy of its labels. */
    const int32_t *lab = ce && nsrc == 1 && !src[0].idx && !groups
                             ? src[0].labels + src[0].off : labels;
    for (size_t i = 0, col = 0; i < nsrc; col += src[i].n, i++) {
        const rw_batch_src *s = &src[i];
        for (size_t j = 0; j < s->n; j++) {
            size_t k = s->idx ? s->idx[j] : s->off + j;
            if (!ce)
                for (size_t c = 0; c < C; c++)
                    targets[c * W + col + j] = s->y[k * C + c];
            else if (lab == labels)
                labels[col + j] = s->labels[k];
        }
    }
    float *d = grad ? L->d : NULL;
    if (ce) {
        if (groups) /* task-incremental: own task's classes only */
            rw_mask_class_groups(L->a, labels, groups, C, W);
        return rw_loss_ce(L->a, lab, d, C, W, correct);
    }
    double loss = rw_loss_mse(L->a, targets, d, C, W);
    if (grad)
        rw_act_backward(L->act, L->a, L->d, C * W);
    if (correct)
        *correct = 0;
    return loss;
}

static rw_status check_labels(const rw_net *net, const int32_t *labels,
                              size_t n, rw_error *err)
{
    size_t C = rw_net_outputs(net);
    for (size_t j = 0; j < n; j++)
        if (labels[j] < 0 || (size_t)labels[j] >= C)
            return rw_fail(err, RW_ERR_DATA,
                           "sample %zu: label %d is outside the model's %zu "
                           "classes (0..%zu)",
                           j, (int)labels[j], C, C - 1);
    return RW_OK;
}

rw_status rw_net_gradient(rw_net *net, const float *x, const int32_t *labels,
                          const float *targets, size_t n, double *loss,
                          size_t *correct, rw_error *err)
{
    if (!net || !x || n == 0)
        return rw_fail(err, RW_ERR_ARG, "gradient: empty batch");
    bool ce = net->cfg.loss == RW_LOSS_CROSS_ENTROPY;
    if (ce ? !labels : !targets)
        return rw_fail(err, RW_ERR_ARG, "gradient: %s missing",
                       ce ? "labels" : "targets");
    if (ce && check_labels(net, labels, n, err) != RW_OK)
        return RW_ERR_DATA;
    rw_status st = rw_net_reserve_batch(net, n, err);
    if (st != RW_OK)
        return st;
    rw_net_load_batch(net, x, NULL, n);
    rw_net_forward_batch(net, n);
    float *t_fm = NULL;
    size_t C = rw_net_outputs(net);
    if (!ce && !(t_fm = rw_alloc(C * n, sizeof(float), "targets", err)))
        return RW_ERR_NOMEM;
    rw_batch_src src = {labels, targets, NULL, 0, n};
    double l = rw_net_batch_loss(net, &src, 1, NULL, NULL, t_fm, true, correct);
    rw_free(t_fm);
    rw_net_backward_batch(net, n);
    if (loss)
        *loss = l;
    return RW_OK;
}

#define PREDICT_CHUNK 256
/* Activation floats (16 MiB) a predicting pass may always allocate; above
 * that, a pass stays within the model's parameter count, so that a model
 * with millions of outputs does not get buffers 256 times its size. */
#define PREDICT_FREE_FLOATS ((size_t)1 << 22)

/* Samples per pass of a fresh network: PREDICT_CHUNK, fewer when the
 * activations of so many (2 floats per neuron and sample) would exceed the
 * model's parameters or PREDICT_FREE_FLOATS, whichever is larger. */
static size_t default_chunk(const rw_net *net)
{
    size_t units = 0;
    for (size_t l = 0; l < net->n_layers; l++)
        units += net->layers[l].out;
    units += net->cfg.n_inputs;
    size_t budget = rw_net_parameters(net);
    if (budget < PREDICT_FREE_FLOATS)
        budget = PREDICT_FREE_FLOATS;
    size_t chunk = budget / (2 * units);
    if (chunk < 1)
        chunk = 1;
    return chunk < PREDICT_CHUNK ? chunk : PREDICT_CHUNK;
}

/* Samples per forward pass when predicting or evaluating: a function of
 * the model alone (default_chunk), never of the buffers an earlier call
 * left, so that the same model predicts the same bits whatever ran
 * before (the dense layers' GEMM rounds by its blocking, which follows the
 * batch width: a net that had run 1000-sample diagnostics predicted in
 * 1000s and differed from its reloaded copy in the last bit). */
static size_t chunk_of(const rw_net *net)
{
    return default_chunk(net);
}

/* The outputs of one pass (C x B, feature-major; samples s0 ..) must be
 * finite: finite weights and inputs can still overflow float (a model
 * file's weights near 3e38), and the outputs would then be NaN, printed
 * and scored as if they were predictions. RW_ERR_DIVERGED names the
 * first such sample (and `what`, the dataset, unless NULL). */
static rw_status finite_outputs(const float *a, size_t C, size_t B, size_t s0,
                                const char *what, rw_error *err)
{
    for (size_t j = 0; j < B; j++)
        for (size_t c = 0; c < C; c++)
            if (!isfinite(a[c * B + j]))
                return rw_fail(err, RW_ERR_DIVERGED, "%s%sthe network's output "
                               "%zu for sample %zu is not finite (%g): its "
                               "weights or the sample's values are too large "
                               "for float", what ? what : "", what ? ": " : "",
                               c, s0 + j + 1, (double)a[c * B + j]);
    return RW_OK;
}

rw_status rw_net_predict(rw_net *net, const float *x, size_t n, float *out,
                         rw_error *err)
{
    if (!net || (!x && n) || (!out && n))
        return rw_fail(err, RW_ERR_ARG, "predict: NULL argument");
    size_t C = rw_net_outputs(net);
    size_t chunk = chunk_of(net);
    for (size_t s = 0; s < n; s += chunk) {
        size_t B = n - s < chunk ? n - s : chunk;
        rw_status st = rw_net_reserve_batch(net, B, err);
        if (st != RW_OK)
            return st;
        rw_net_load_batch(net, x + s * net->cfg.n_inputs, NULL, B);
        rw_net_forward_batch(net, B);
        const float *a = net->layers[net->n_layers - 1].a;
        if ((st = finite_outputs(a, C, B, s, NULL, err)) != RW_OK)
            return st;
        for (size_t j = 0; j < B; j++)
            for (size_t c = 0; c < C; c++)
                out[(s + j) * C + c] = a[c * B + j];
    }
    return RW_OK;
}

struct rw_workspace {
    size_t cap; /* samples per pass */
    size_t inputs, n_layers;
    size_t units[RW_MAX_LAYERS];
    float *x0;                 /* inputs x cap */
    float *a[RW_MAX_LAYERS];   /* units[l] x cap */
    uint16_t *h;               /* bf16 rows: hrows x cap, or NULL */
    size_t hrows;
};

void rw_workspace_free(rw_workspace *ws)
{
    if (!ws)
        return;
    rw_free(ws->x0);
    rw_free(ws->h);
    for (size_t l = 0; l < ws->n_layers; l++)
        rw_free(ws->a[l]);
    rw_free(ws);
}

rw_workspace *rw_workspace_create(const rw_net *net, size_t batch,
                                  rw_error *err)
{
    if (!net) {
        rw_fail(err, RW_ERR_ARG, "workspace: network is NULL");
        return NULL;
    }
    rw_workspace *ws = rw_calloc(1, sizeof *ws, "workspace", err);
    if (!ws)
        return NULL;
    ws->cap = batch ? batch : default_chunk(net);
    ws->inputs = net->cfg.n_inputs;
    ws->n_layers = net->n_layers;
    size_t n;
    if (!rw_mul_ok(ws->inputs, ws->cap, &n))
        goto too_large;
    if (!(ws->x0 = rw_alloc(n, sizeof(float), "workspace inputs", err)))
        goto fail;
    for (size_t l = 0; l < net->n_layers; l++) {
        ws->units[l] = net->layers[l].out;
        if (!rw_mul_ok(ws->units[l], ws->cap, &n))
            goto too_large;
        ws->a[l] = rw_alloc(n, sizeof(float), "workspace activations", err);
        if (!ws->a[l])
            goto fail;
    }
    if (half_alloc(net, net->precision, ws->cap, "workspace bf16 rows", &ws->h,
                   err) != RW_OK)
        goto fail;
    ws->hrows = ws->h ? rw_net_half_rows(net) : 0;
    return ws;
too_large:
    rw_fail(err, RW_ERR_NOMEM, "workspace: a batch of %zu is too large",
            ws->cap);
fail:
    rw_workspace_free(ws);
    return NULL;
}

rw_status rw_net_predict_with(const rw_net *net, rw_workspace *ws,
                              const float *x, size_t n, float *out,
                              rw_error *err)
{
    if (!net || !ws || (!x && n) || (!out && n))
        return rw_fail(err, RW_ERR_ARG, "predict: NULL argument");
    bool fits = ws->inputs == net->cfg.n_inputs && ws->n_layers == net->n_layers;
    for (size_t l = 0; fits && l < net->n_layers; l++)
        fits = net->layers[l].out <= ws->units[l];
    if (!fits)
        return rw_fail(err, RW_ERR_ARG, "predict: the workspace was made for "
                       "a network of another shape (create it again after "
                       "neurons are added)");
    size_t hrows = net->precision == RW_PRECISION_BF16 ? rw_net_half_rows(net) : 0;
    bool half = hrows > 0;
    if (half && (!ws->h || ws->hrows < hrows))
        return rw_fail(err, RW_ERR_ARG, "predict: the workspace was made "
                       "before the network's precision became bf16 (create "
                       "it again)");
    size_t C = rw_net_outputs(net);
    for (size_t s = 0; s < n; s += ws->cap) {
        size_t B = n - s < ws->cap ? n - s : ws->cap;
        gather(net, ws->x0, x + s * net->cfg.n_inputs, NULL, B, 0, B, false);
        /* A dense layer splits its products as rw_net_forward_batch's
         * does, so that the bits are rw_net_predict's. */
        bool share = rw_net_pool_awake(net, B);
        const float *in = ws->x0;
        for (size_t l = 0; l < net->n_layers; l++) {
            /* A shallow copy that writes its output into the workspace:
             * the network itself is only read. */
            rw_layer L = net->layers[l];
            L.a = ws->a[l];
            L.h = half && L.kind == RW_LAYER_SPARSE ? ws->h : NULL;
            if (L.kind == RW_LAYER_SPARSE)
                rw_sparse_forward(&L, in, B);
            else
                rw_dense_forward(&L, in, B, share);
            if (L.act == RW_ACT_SOFTMAX && L.kind == RW_LAYER_SPARSE)
                rw_softmax_columns(L.a, L.out, B);
            in = L.a;
        }
        rw_status st = finite_outputs(in, C, B, s, NULL, err);
        if (st != RW_OK)
            return st;
        for (size_t j = 0; j < B; j++)
            for (size_t c = 0; c < C; c++)
                out[(s + j) * C + c] = in[c * B + j];
    }
    return RW_OK;
}

rw_status rw_net_evaluate(rw_net *net, const rw_dataset *ds,
                          rw_eval_result *out, size_t *confusion,
                          rw_error *err)
{
    if (!net || !ds || !out)
        return rw_fail(err, RW_ERR_ARG, "evaluate: NULL argument");
    if (ds->f != net->cfg.n_inputs)
        return rw_fail(err, RW_ERR_DATA,
                       "%s has %zu features per sample but the model expects %zu",
                       ds->name, ds->f, net->cfg.n_inputs);
    bool ce = net->cfg.loss == RW_LOSS_CROSS_ENTROPY;
    size_t C = rw_net_outputs(net);
    if (ce && !ds->labels)
        return rw_fail(err, RW_ERR_DATA, "%s has no class labels", ds->name);
    if (!ce && (!ds->y || ds->targets != C))
        return rw_fail(err, RW_ERR_DATA,
                       "%s has %zu targets per sample but the model has %zu outputs",
                       ds->name, ds->targets, C);
    if (ce && check_labels(net, ds->labels, ds->n, err) != RW_OK)
        return rw_fail(err, RW_ERR_DATA, "%s: %s", ds->name, err ? err->msg : "");
    if (confusion && ce)
        memset(confusion, 0, C * C * sizeof *confusion);
    double loss = 0.0;
    size_t correct = 0;
    float *t_fm = NULL;
    if (!ce) {
        t_fm = rw_alloc(C * chunk_of(net), sizeof(float), "targets", err);
        if (!t_fm)
            return RW_ERR_NOMEM;
    }
    size_t chunk = chunk_of(net);
    for (size_t s = 0; s < ds->n; s += chunk) {
        size_t B = ds->n - s < chunk ? ds->n - s : chunk;
        rw_status st = rw_net_reserve_batch(net, B, err);
        if (st != RW_OK) {
            rw_free(t_fm);
            return st;
        }
        rw_net_load_batch(net, ds->x + s * ds->f, NULL, B);
        rw_net_forward_batch(net, B);
        float *a = net->layers[net->n_layers - 1].a;
        if ((st = finite_outputs(a, C, B, s, ds->name, err)) != RW_OK) {
            rw_free(t_fm);
            return st;
        }
        size_t hits = 0;
        rw_batch_src src = {ds->labels, ds->y, NULL, s, B};
        loss += rw_net_batch_loss(net, &src, 1, NULL, NULL, t_fm, false, &hits) *
                (double)B;
        correct += hits;
        if (ce && confusion)
            for (size_t j = 0; j < B; j++)
                confusion[(size_t)ds->labels[s + j] * C +
                          rw_argmax_column(a, C, B, j)]++;
    }
    rw_free(t_fm);
    out->samples = ds->n;
    out->correct = correct;
    out->loss = ds->n ? loss / (double)ds->n : 0.0;
    out->accuracy = ds->n && ce ? (double)correct / (double)ds->n : 0.0;
    return RW_OK;
}

/* Sum of squares of a[0..n) in 16 float lanes, returned as a double. */
RW_HOT static double sum_squares(const float *restrict a, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        RW_UNROLL16 for (int k = 0; k < 16; k++)
            acc[k] += a[i + k] * a[i + k];
    double s = rw_lanes_sum(acc);
    for (; i < n; i++)
        s += (double)a[i] * a[i];
    return s;
}

#define NORM_CHUNK ((size_t)1 << 15)

/* Fixed chunks summed in order: the result does not depend on threads. */
double rw_sum_squares_f32(const float *a, size_t n)
{
    long nchunks = (long)((n + NORM_CHUNK - 1) / NORM_CHUNK);
    if (nchunks <= 1)
        return sum_squares(a, n);
    double partial[64], total = 0.0;
    for (long c0 = 0; c0 < nchunks; c0 += 64) {
        long cn = nchunks - c0 < 64 ? nchunks - c0 : 64;
#pragma omp parallel for schedule(static) if (n >= rw_par_min_work())
        for (long c = 0; c < cn; c++) {
            size_t s = (size_t)(c0 + c) * NORM_CHUNK;
            partial[c] = sum_squares(a + s, n - s < NORM_CHUNK ? n - s : NORM_CHUNK);
        }
        for (long c = 0; c < cn; c++)
            total += partial[c];
    }
    return total;
}

/* The gradient arrays in order (each layer's weights, then its biases)
 * and the chunks of NORM_CHUNK values that rw_sum_squares_f32 sums. */
static const float *grad_array(const rw_net *net, size_t g, size_t *n)
{
    const rw_layer *L = &net->layers[g / 2];
    *n = g % 2 ? L->out : L->nw;
    return g % 2 ? L->gb : L->gw;
}

static size_t norm_chunks(size_t n) { return (n + NORM_CHUNK - 1) / NORM_CHUNK; }

/* Array g's sum `arr` is complete: a layer's weight sum waits in *sw for
 * its bias sum, and the two go to *s together, as rw_net_grad_norm always
 * added them. */
static void norm_close(size_t g, double arr, double *s, double *sw)
{
    if (g % 2)
        *s += *sw + arr;
    else
        *sw = arr;
}

/* The sum over the layers of rw_sum_squares_f32 of the weight and the
 * bias gradients, with the same bits, in one parallel region for all of
 * them (a region per array woke the pool at every layer): the chunks of
 * all the arrays, 64 at a time, then each array's partial sums added in
 * order. It shares the threads when the network has RW_STEP_PAR_MIN
 * parameters or more, as the optimizer's step that follows it does. */
double rw_net_grad_norm(const rw_net *net)
{
    size_t ng = 2 * net->n_layers, total = 0, nchunks = 0, n;
    for (size_t g = 0; g < ng; g++) {
        grad_array(net, g, &n);
        total += n;
        nchunks += norm_chunks(n);
    }
    double partial[64], s = 0.0, arr = 0.0, sw = 0.0;
    size_t g0 = 0, k0 = 0; /* the array and chunk where a group starts */
#pragma omp parallel if (total >= RW_STEP_PAR_MIN && nchunks > 1)
    for (size_t c0 = 0; c0 < nchunks; c0 += 64) {
        size_t cn = nchunks - c0 < 64 ? nchunks - c0 : 64;
        /* To whichever thread is free, as in the optimizer's step: each
         * chunk's sum has its own place in `partial`. */
#pragma omp for schedule(dynamic)
        for (long c = 0; c < (long)cn; c++) {
            size_t g = g0, k = k0 + (size_t)c, len;
            const float *a = grad_array(net, g, &len);
            while (k >= norm_chunks(len)) {
                k -= norm_chunks(len);
                a = grad_array(net, ++g, &len);
            }
            size_t o = k * NORM_CHUNK;
            partial[c] = sum_squares(a + o, len - o < NORM_CHUNK ? len - o : NORM_CHUNK);
        }
#pragma omp single
        for (size_t c = 0; c < cn; c++) {
            size_t len;
            grad_array(net, g0, &len);
            while (k0 >= norm_chunks(len)) { /* array g0 is summed */
                norm_close(g0, arr, &s, &sw);
                arr = 0.0;
                k0 = 0;
                grad_array(net, ++g0, &len);
            }
            arr += partial[c];
            k0++;
        }
    }
    for (; g0 < ng; g0++) { /* the last array and any empty ones after it */
        norm_close(g0, arr, &s, &sw);
        arr = 0.0;
    }
    return sqrt(s);
}

void rw_net_scale_grads(rw_net *net, float f)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw; k++)
            L->gw[k] *= f;
        for (size_t o = 0; o < L->out; o++)
            L->gb[o] *= f;
    }
}

int rw_net_find_nonfinite(const rw_net *net)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw; k++)
            if (!isfinite(L->w[k]) || !isfinite(L->gw[k]))
                return (int)l;
        for (size_t o = 0; o < L->out; o++)
            if (!isfinite(L->b[o]) || !isfinite(L->gb[o]))
                return (int)l;
    }
    return -1;
}
