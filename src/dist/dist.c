/* Data-parallel training, the part that knows the network: each rank's
 * share of a batch, the fused gradient buffer, trace averaging and the
 * topology checksum. The collectives come from the transport (transport_mpi.c
 * or transport_none.c); with one rank nothing here communicates.
 *
 * Weights: a rank's gradients are the mean over its own samples, so it
 * scales them by share = its samples / the global batch's before the sum;
 * the sum is then the mean over the global batch, as one process gets. */
#include "dist/dist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double g_share = 1.0; /* this rank's weight in the current batch */
static rw_dist_stats g_stats;

bool rw_dist_on(void) { return rw_dist_size() > 1; }
bool rw_dist_root(void) { return rw_dist_rank() == 0; }
rw_dist_stats rw_dist_last_stats(void) { return g_stats; }

static double g_train_seconds; /* the last rw_train's own training time */

void rw_dist_note_training(double seconds) { g_train_seconds = seconds; }

double rw_dist_comm_share(void)
{
    return g_stats.ranks > 1 && g_train_seconds > 0.0
               ? g_stats.comm_seconds / g_train_seconds : 0.0;
}

static size_t g_batch, g_extra; /* the current batch, for every rank's share */

/* Rank r's share [*off, *off + *len) of a batch of B (plus `extra` on
 * every rank) and its weight. */
static double slice_of(size_t B, size_t extra, size_t r, size_t *off, size_t *len)
{
    size_t P = (size_t)rw_dist_size();
    /* Contiguous shares that differ by at most one sample. */
    size_t base = B / P, rem = B % P;
    size_t mine = base + (r < rem);
    *off = r * base + (r < rem ? r : rem);
    *len = mine;
    size_t total = B + extra * P;
    double share = total ? (double)(mine + extra) / (double)total : 0.0;
    if (mine == 0) {
        /* No sample for this rank: it passes the batch's first sample with
         * weight 0, so that every rank runs the same code (traces, RNG
         * draws) and contributes nothing. */
        *off = 0;
        *len = 1;
        if (!extra)
            share = 0.0;
    }
    return share;
}

void rw_dist_slice(size_t B, size_t extra, size_t *off, size_t *len)
{
    g_batch = B;
    g_extra = extra;
    g_share = slice_of(B, extra, (size_t)rw_dist_rank(), off, len);
}

/* Rank q's weight in the current batch. */
static float share_of(int q)
{
    size_t off, len;
    return (float)slice_of(g_batch, g_extra, (size_t)q, &off, &len);
}

/* The length of the fused order: every layer's weights and biases. */
static size_t fused_len(const rw_net *net)
{
    size_t n = 0;
    for (size_t l = 0; l < net->n_layers; l++)
        n += net->layers[l].nw + net->layers[l].out;
    return n;
}

/* ---- the fused order: the sum of the gradients, and the sharded step ----
 * The sum packs every layer's scaled gradients into the fused buffer,
 * all-reduces it and copies it back. In the sharded step the fused
 * gradient is reduce-scattered instead: rank r
 * gets the global gradient of its chunk [g_lo, g_hi) of the fused order
 * alone, steps the optimizer there, and the updated weights are then
 * all-gathered. The bytes on the wire are an all-reduce's (the ring's two
 * halves), but each rank reads and writes 1/P of the optimizer state. The
 * moments outside a rank's chunk go stale until rw_dist_gather_moments. */
static size_t g_n, g_lo, g_hi; /* the fused order's length, this rank's chunk */
static bool g_stale;           /* moments outside the chunk are out of date */
static double g_norm;          /* the summed gradient's norm */

/* Copies [lo, hi) of the fused order between the layers' arrays (two per
 * layer: the weights and the biases, or their gradients or moments, chosen
 * by pick) and buf, into buf when to_buf, else out of it. */
typedef float *(*pick_fn)(rw_layer *L, int bias);

typedef struct copy_job {
    float *buf;
    pick_fn pick;
    bool to_buf;
    size_t off; /* buf[0] is position off of the fused order */
} copy_job;

static void copy_piece(void *ctx, rw_layer *L, int bias, size_t s, size_t e,
                       size_t pos)
{
    const copy_job *c = ctx;
    float *a = c->pick(L, bias);
    if (!a)
        return;
    float *b = c->buf + (pos + s - c->off);
    if (c->to_buf)
        memcpy(b, a + s, (e - s) * sizeof(float));
    else
        memcpy(a + s, b, (e - s) * sizeof(float));
}

static void copy_range(rw_net *net, float *buf, pick_fn pick, bool to_buf,
                       size_t lo, size_t hi)
{
    copy_job c = {buf, pick, to_buf, 0};
    rw_net_fused_range(net, lo, hi, copy_piece, &c);
}

static float *pick_w(rw_layer *L, int bias) { return bias ? L->b : L->w; }
static float *pick_g(rw_layer *L, int bias) { return bias ? L->gb : L->gw; }
static float *pick_m1(rw_layer *L, int bias) { return bias ? L->bm1 : L->m1; }
static float *pick_m2(rw_layer *L, int bias) { return bias ? L->bm2 : L->m2; }
static float *pick_cnt(rw_layer *L, int bias) { return bias ? L->bmstep : L->mstep; }

static rw_status timed(rw_status (*f)(float *, size_t, rw_error *), float *v,
                       size_t n, rw_error *err)
{
    double t0 = rw_now();
    rw_status st = f(v, n, err);
    g_stats.comm_seconds += rw_now() - t0;
    return st;
}

bool rw_dist_shard_wanted(void)
{
    const char *e = getenv("RW_DIST_SHARD");
    return !(e && !strcmp(e, "0"));
}

/* The reduce-scatter's loader: this rank's scaled gradients of [lo, hi)
 * of the fused order, straight from the layers, plus what the ring
 * received; the chunk this rank keeps also gets its squared norm. */
typedef struct grad_loader {
    rw_net *net;
    float share;
    double sumsq;
    bool norm;        /* the squared norm of this rank's chunk is wanted */
    size_t lo;        /* the piece being loaded */
    float *dst;
    const float *add;
    double seconds;   /* spent loading: computing, not communicating */
} grad_loader;

static void load_piece(void *ctx, rw_layer *L, int bias, size_t a, size_t e,
                       size_t pos)
{
    const grad_loader *g = ctx;
    const float s = g->share;
    const float *restrict gr = (bias ? L->gb : L->gw) + a;
    float *restrict d = g->dst + (pos + a - g->lo);
    size_t m = e - a;
    if (g->add) {
        const float *restrict r = g->add + (pos + a - g->lo);
        for (size_t i = 0; i < m; i++)
            d[i] = s * gr[i] + r[i];
    } else {
        for (size_t i = 0; i < m; i++)
            d[i] = s * gr[i];
    }
}

static void load_grads(void *ctx, size_t lo, size_t hi, float *dst,
                       const float *add)
{
    grad_loader *g = ctx;
    double t0 = rw_now();
    g->lo = lo;
    g->dst = dst;
    g->add = add;
    rw_net_fused_range(g->net, lo, hi, load_piece, g);
    if (g->norm && lo == g_lo && hi == g_hi)
        g->sumsq = rw_sum_squares_f32(dst, hi - lo);
    g->seconds += rw_now() - t0;
}

/* ---- shared weights ----
 * Over shared memory the ranks need not hold a copy of the weights each:
 * one region, mapped by every rank, holds every layer's weights and biases
 * (each array at a 64-byte boundary), then every rank's gradients in the
 * same layout, and the layers point into it. Each rank's optimizer writes
 * its chunk of the weights there and one barrier publishes the step: no
 * all-gather, no copy; the reduce-scatter reads the other ranks'
 * gradients where their backward passes wrote them. The layers' own arrays stay allocated,
 * unused, and take the region's values back (rw_dist_own_weights) before
 * anything may read the weights while another rank writes them or move
 * them (rewiring, checkpoints, the end of an epoch or of rw_train); the
 * next step shares them again. Ranks also read the same pages in the
 * forward and backward passes, as threads of one process do. */
#define SHARED_MAX_RANKS 64 /* more take the all-gather */
static bool g_shared;       /* the layers' arrays point into g_region */
static bool g_share_off;    /* no region this run: the all-gather */
static float *g_region;
static size_t g_area;       /* floats per area of the region */
static float *g_own[RW_MAX_LAYERS][4]; /* the layers' arrays meanwhile */
static size_t g_at[RW_MAX_LAYERS][2];  /* where each array lies in an area */

bool rw_dist_shared_weights_wanted(void)
{
    const char *e = getenv("RW_DIST_SHARED_WEIGHTS");
    return !(e && !strcmp(e, "0"));
}

/* The region's layout; returns its length in floats. */
static size_t region_layout(const rw_net *net)
{
    size_t at = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        size_t len[2] = {L->nw, L->out};
        for (int k = 0; k < 2; k++) {
            g_at[l][k] = at;
            at += (len[k] + 15) & ~(size_t)15;
        }
    }
    return at;
}

typedef struct region_job {
    rw_net *net;
    float *region;
} region_job;

static void put_region(void *ctx, rw_layer *L, int bias, size_t a, size_t e,
                       size_t pos)
{
    (void)pos;
    const region_job *j = ctx;
    size_t l = (size_t)(L - j->net->layers);
    memcpy(j->region + g_at[l][bias] + a, (bias ? L->b : L->w) + a,
           (e - a) * sizeof(float));
}

/* Whether a layer's weight gradients stay in its own array while the rest
 * lie in the region. A sparse layer's backward pass writes them scattered,
 * in the transposed index's order, and written in place each write would
 * first take back a line that another rank's core had read: at 5% density
 * (784-1000x3-10, 2 ranks) that made training slower in each of 12
 * alternating runs against a copy per rank (median 0.88x the samples/s);
 * copied in order, 0.70-1.13x in 10 runs (median 1.0).
 * Such a layer's gradients are copied to the rank's area in order
 * instead, before the barrier; a dense layer's GEMM writes them in rows,
 * in place. */
static bool scattered(const rw_layer *L)
{
    return L->kind != RW_LAYER_DENSE;
}

/* The first step over shared memory: this rank's chunk, just stepped, into
 * the region, one barrier, and the layers point at the region: their
 * weights and biases at its first area, their gradients at this rank's
 * area (area 1 + rank), which the backward pass then writes and the other
 * ranks read in the reduce-scatter (shared_reduce_scatter). The region is
 * a collective that every rank reaches at the same step. */
static rw_status share_weights(rw_net *net, rw_error *err)
{
    size_t n = region_layout(net), areas = (size_t)rw_dist_size() + 1, bytes;
    if (rw_dist_size() > SHARED_MAX_RANKS || !rw_mul_ok(n, areas * sizeof(float), &bytes)) {
        g_share_off = true;
        return RW_OK;
    }
    void *p = NULL;
    rw_status st = rw_dist_shared_region(bytes, &p, err);
    if (st != RW_OK)
        return st;
    if (!p) {
        g_share_off = true;
        return RW_OK;
    }
    region_job j = {net, p};
    rw_net_fused_range(net, g_lo, g_hi, put_region, &j);
    if ((st = rw_dist_fence(err)) != RW_OK)
        return st;
    g_region = p;
    g_area = n;
    float *grads = g_region + (size_t)(1 + rw_dist_rank()) * n;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        g_own[l][0] = L->w;
        g_own[l][1] = L->b;
        g_own[l][2] = L->gw;
        g_own[l][3] = L->gb;
        L->w = g_region + g_at[l][0];
        L->b = g_region + g_at[l][1];
        if (!scattered(L))
            L->gw = grads + g_at[l][0];
        L->gb = grads + g_at[l][1];
    }
    g_shared = true;
    g_stats.shared_weights = 1;
    return RW_OK;
}

void rw_dist_own_weights(rw_net *net)
{
    if (!g_shared)
        return;
    double t0 = rw_now();
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        float **a[4] = {&L->w, &L->b, &L->gw, &L->gb};
        size_t len[4] = {L->nw, L->out, L->nw, L->out};
        for (int k = 0; k < 4; k++) {
            if (len[k] && *a[k] != g_own[l][k])
                memcpy(g_own[l][k], *a[k], len[k] * sizeof(float));
            *a[k] = g_own[l][k];
        }
    }
    g_shared = false;
    g_stats.comm_seconds += rw_now() - t0;
}

/* The reduce-scatter over the region: every rank's gradients lie in its
 * area, written there by its backward pass, so after one barrier each rank
 * sums its chunk straight from them, scaling each rank's by its weight, in
 * the ring's order (chunk c is v_c + (v_{c-1} + (... + (v_{c+1})))), as
 * the segments and the ring do; the bits are theirs. No rank writes its
 * area again (the next backward pass) before the barrier that ends the
 * step, by which time every rank has read it. */
typedef struct sum_job {
    rw_net *net;
    float *buf;
    float share[SHARED_MAX_RANKS];
} sum_job;

static void sum_piece(void *ctx, rw_layer *L, int bias, size_t a, size_t e,
                      size_t pos)
{
    const sum_job *j = ctx;
    int P = rw_dist_size(), r = rw_dist_rank();
    size_t l = (size_t)(L - j->net->layers), at = g_at[l][bias] + a, m = e - a;
    float *restrict d = j->buf + pos + a;
    const float *restrict v = g_region + (size_t)(1 + (r + 1) % P) * g_area + at;
    float s = j->share[(r + 1) % P];
    for (size_t i = 0; i < m; i++)
        d[i] = s * v[i];
    for (int k = 2; k <= P; k++) {
        int q = (r + k) % P;
        v = g_region + (size_t)(1 + q) * g_area + at;
        s = j->share[q];
        for (size_t i = 0; i < m; i++)
            d[i] = s * v[i] + d[i];
    }
}

static rw_status shared_reduce_scatter(rw_net *net, float *buf, rw_error *err)
{
    float *mine = g_region + (size_t)(1 + rw_dist_rank()) * g_area;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        if (scattered(L) && L->nw)
            memcpy(mine + g_at[l][0], L->gw, L->nw * sizeof(float));
    }
    rw_status st = rw_dist_fence(err);
    if (st != RW_OK)
        return st;
    rw_dist_took_shared();
    sum_job j = {net, buf, {0}};
    for (int q = 0; q < rw_dist_size(); q++)
        j.share[q] = share_of(q);
    rw_net_fused_range(net, g_lo, g_hi, sum_piece, &j);
    return RW_OK;
}

rw_status rw_dist_reduce_grads(rw_net *net, double *loss, size_t *correct,
                               rw_error *err)
{
    if (!rw_dist_on())
        return RW_OK;
    size_t m = fused_len(net), n = m + 2;
    float *buf = rw_dist_buffer(n, err);
    if (!buf)
        return RW_ERR_NOMEM;
    grad_loader gl = {net, (float)g_share, 0.0, false, 0, NULL, NULL, 0.0};
    load_grads(&gl, 0, m, buf, NULL);
    buf[m] = (float)(g_share * *loss);
    buf[m + 1] = g_share > 0.0 ? (float)*correct : 0.0f;
    rw_status st = timed(rw_dist_sum_f32, buf, n, err);
    if (st != RW_OK)
        return st;
    copy_range(net, buf, pick_g, false, 0, m);
    *loss = buf[m];
    *correct = (size_t)lrintf(buf[m + 1]);
    g_stats.steps++;
    g_stats.bytes_per_step = n * sizeof(float);
    return RW_OK;
}

rw_status rw_dist_reduce_grads_sharded(rw_net *net, double *loss,
                                       size_t *correct, rw_error *err)
{
    if (!rw_dist_on())
        return RW_OK;
    size_t n = fused_len(net);
    float *buf = rw_dist_buffer(n, err);
    if (!buf)
        return RW_ERR_NOMEM;
    g_n = n;
    rw_dist_chunk(n, rw_dist_size(), rw_dist_rank(), &g_lo, &g_hi);
    grad_loader gl = {net, (float)g_share, 0.0, true, 0, NULL, NULL, 0.0};
    double t0 = rw_now();
    rw_status st;
    if (g_shared) {
        st = shared_reduce_scatter(net, buf, err);
        if (st == RW_OK)
            gl.sumsq = rw_sum_squares_f32(buf + g_lo, g_hi - g_lo);
    } else {
        st = rw_dist_reduce_scatter_load_f32(buf, n, load_grads, &gl, err);
    }
    g_stats.comm_seconds += rw_now() - t0 - gl.seconds;
    if (st != RW_OK)
        return st;
    /* One small all-reduce for the loss, the hits and the squared norm of
     * the chunks. */
    double v[3] = {g_share * *loss, g_share > 0.0 ? (double)*correct : 0.0,
                   gl.sumsq};
    t0 = rw_now();
    st = rw_dist_sum_f64(v, 3, err);
    g_stats.comm_seconds += rw_now() - t0;
    if (st != RW_OK)
        return st;
    *loss = v[0];
    *correct = (size_t)llround(v[1]);
    g_norm = sqrt(v[2]);
    g_stats.steps++;
    g_stats.bytes_per_step = n * sizeof(float);
    g_stats.sharded = 1;
    return RW_OK;
}

double rw_dist_shard_norm(void) { return g_norm; }

rw_status rw_dist_shard_unpack_grads(rw_net *net, rw_error *err)
{
    float *buf = rw_dist_buffer(g_n, err);
    rw_status st = timed(rw_dist_allgather_f32, buf, g_n, err);
    if (st == RW_OK)
        copy_range(net, buf, pick_g, false, 0, g_n);
    return st;
}

void rw_dist_shard_scale(float f)
{
    float *buf = rw_dist_buffer(g_n, NULL);
    for (size_t i = g_lo; i < g_hi; i++)
        buf[i] *= f;
}

/* The all-gather of one kind of array (weights, or a moment) straight
 * between the layers and the transport: this rank's chunk read from the
 * layers where the transport needs it, the others' written to them. */
typedef struct gather_job {
    rw_net *net;
    pick_fn pick;
} gather_job;

static void gather_load(void *ctx, size_t lo, size_t hi, float *dst, const float *add)
{
    (void)add;
    const gather_job *j = ctx;
    copy_job c = {dst, j->pick, true, lo};
    rw_net_fused_range(j->net, lo, hi, copy_piece, &c);
}

static void gather_store(void *ctx, size_t lo, size_t hi, const float *src)
{
    const gather_job *j = ctx;
    copy_job c = {(float *)src, j->pick, false, lo};
    rw_net_fused_range(j->net, lo, hi, copy_piece, &c);
}

static rw_status gather_layers(rw_net *net, pick_fn pick, rw_error *err)
{
    float *buf = rw_dist_buffer(g_n, err);
    if (!buf)
        return RW_ERR_NOMEM;
    gather_job j = {net, pick};
    double t0 = rw_now();
    rw_status st = rw_dist_allgather_io_f32(buf, g_n, gather_load, gather_store,
                                            &j, err);
    g_stats.comm_seconds += rw_now() - t0;
    return st;
}

rw_status rw_dist_shard_step(rw_net *net, const rw_optim_config *opt,
                             double lr, rw_error *err)
{
    float *buf = rw_dist_buffer(g_n, err);
    rw_status st = rw_net_step_range(net, opt, lr, g_lo, g_hi, buf, err);
    if (st != RW_OK)
        return st;
    g_stale = true;
    double t0 = rw_now();
    if (g_shared) {
        st = rw_dist_fence(err);
        g_stats.comm_seconds += rw_now() - t0;
        return st;
    }
    if (!g_share_off && rw_dist_shared_weights_wanted()) {
        st = share_weights(net, err);
        g_stats.comm_seconds += rw_now() - t0;
        if (st != RW_OK || g_shared)
            return st;
    }
    return gather_layers(net, pick_w, err);
}

rw_status rw_dist_gather_moments(rw_net *net, rw_error *err)
{
    rw_dist_own_weights(net);
    if (!g_stale)
        return RW_OK;
    g_stale = false;
    pick_fn picks[3] = {pick_m1, pick_m2, pick_cnt};
    for (int i = 0; i < 3; i++) {
        bool any = false;
        for (size_t l = 0; l < net->n_layers; l++)
            any = any || picks[i](&net->layers[l], 0);
        if (!any)
            continue;
        rw_status st = gather_layers(net, picks[i], err);
        if (st != RW_OK)
            return st;
    }
    return RW_OK;
}

rw_status rw_dist_sum_block(float *v, size_t n, rw_error *err)
{
    if (!rw_dist_on())
        return RW_OK;
    float s = (float)g_share;
    for (size_t i = 0; i < n; i++)
        v[i] *= s;
    return timed(rw_dist_sum_f32, v, n, err);
}

rw_status rw_dist_sync_traces(rw_net *net, rw_error *err)
{
    if (!rw_dist_on())
        return RW_OK;
    size_t n = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        n += (L->activity ? L->out : 0) + (L->coact ? L->nw : 0);
    }
    if (n == 0)
        return RW_OK;
    float *buf = rw_dist_buffer(n, err), s = (float)g_share;
    if (!buf)
        return RW_ERR_NOMEM;
    float *p = buf;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        for (size_t o = 0; L->activity && o < L->out; o++)
            *p++ = s * L->activity[o];
        for (size_t k = 0; L->coact && k < L->nw; k++)
            *p++ = s * L->coact[k];
    }
    rw_status st = timed(rw_dist_sum_f32, buf, n, err);
    if (st != RW_OK)
        return st;
    /* A second sum every step: counted with the gradients' (the gradient
     * step set bytes_per_step before this one). */
    g_stats.bytes_per_step += n * sizeof(float);
    p = buf;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        if (L->activity) {
            memcpy(L->activity, p, L->out * sizeof(float));
            p += L->out;
        }
        if (L->coact) {
            memcpy(L->coact, p, L->nw * sizeof(float));
            p += L->nw;
        }
    }
    return RW_OK;
}

/* CRC32 of the shape and sparse topology (high half) and of the weights
 * and biases (low half). */
static uint64_t checksum(const rw_net *net, bool with_weights)
{
    uint32_t t = rw_crc32(0, NULL, 0), w = t;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        uint64_t shape[4] = {L->kind, L->in, L->out, L->nw};
        t = rw_crc32(t, shape, sizeof shape);
        if (L->col)
            t = rw_crc32(t, L->col, L->nw * sizeof *L->col);
        if (with_weights) {
            w = rw_crc32(w, L->w, L->nw * sizeof *L->w);
            w = rw_crc32(w, L->b, L->out * sizeof *L->b);
        }
    }
    return (uint64_t)t << 32 | w;
}

/* Equal on every rank? One all-reduce of the largest of h and of ~h: both
 * are h's own exactly when no rank holds another value. */
static rw_status compare(uint64_t h, const char *what, const char *when,
                         rw_error *err)
{
    uint64_t v[2] = {h, ~h};
    double t0 = rw_now();
    rw_status st = rw_dist_max_u64(v, 2, err);
    g_stats.comm_seconds += rw_now() - t0;
    if (st != RW_OK)
        return st;
    if (v[0] != h || ~v[1] != h)
        return rw_fail(err, RW_ERR_DIST,
                       "the %d ranks disagree on the %s %s (rank %d has "
                       "checksum %016llx; largest %016llx, smallest %016llx): "
                       "they no longer train the same network",
                       rw_dist_size(), what, when, rw_dist_rank(),
                       (unsigned long long)h, (unsigned long long)v[0],
                       (unsigned long long)~v[1]);
    return RW_OK;
}

rw_status rw_dist_check(const rw_net *net, const char *when, rw_error *err)
{
    if (!rw_dist_on())
        return RW_OK;
    uint64_t h = checksum(net, true);
    /* Test hook (tests/mpi_train.sh): rank N > 0 pretends to disagree. */
    const char *skew = getenv("RW_DIST_TEST_SKEW");
    if (skew && atoi(skew) == rw_dist_rank() && rw_dist_rank() > 0)
        h ^= 1;
    rw_status st = compare(h, "topology and weights", when, err);
    if (st == RW_OK)
        g_stats.checks++;
    return st;
}

/* The environment's switches of the collectives, checked before the first
 * one: name unset (or empty), or one of the NULL-ended choices; another
 * value is refused, not taken for one of them. */
static rw_status check_env(const char *name, const char *const *choices,
                           const char *expected, rw_error *err)
{
    const char *v = getenv(name);
    for (size_t i = 0; v && *v && choices[i]; i++)
        if (!strcmp(v, choices[i]))
            return RW_OK;
    return v && *v ? rw_fail(err, RW_ERR_ARG, "%s=%s: expected %s", name, v, expected)
                   : RW_OK;
}

rw_status rw_dist_check_env(rw_error *err)
{
    static const char *const shard[] = {"0", "1", NULL};
    static const char *const paths[] = {"shm", "ring", "mpi", NULL};
    rw_status st = rw_dist_check_transport(err);
    if (st == RW_OK)
        st = check_env("RW_DIST_SHARD", shard, "0 or 1", err);
    if (st == RW_OK)
        st = check_env("RW_DIST_SHARED_WEIGHTS", shard, "0 or 1", err);
    return st == RW_OK ? check_env("RW_DIST_ALLREDUCE", paths, "shm, ring or mpi", err)
                       : st;
}

static int g_setup_failed = -1; /* the first rank whose set-up failed */

/* Statistics of a run that starts: none of an earlier one survive. */
static void reset_stats(void)
{
    memset(&g_stats, 0, sizeof g_stats);
    g_stats.ranks = rw_dist_size();
    g_train_seconds = 0.0;
    rw_dist_reset_paths();
}

rw_status rw_dist_agree_begin(rw_status st, rw_error *err)
{
    g_setup_failed = -1;
    reset_stats(); /* also when the set-up fails */
    if (!rw_dist_on())
        return st;
    int ok = st == RW_OK;
    if (rw_dist_min_int(ok) == 1) {
        /* The switches that choose collectives, alike on every rank, or
         * ranks would wait in different ones: the smallest and the largest
         * of a code of both. */
        int code = 6 * (int)rw_dist_shared_weights_wanted() +
                   3 * (int)rw_dist_shard_wanted() + rw_dist_wanted_path();
        if (rw_dist_min_int(code) == -rw_dist_min_int(-code))
            return RW_OK;
        g_setup_failed = 0;
        return rw_fail(err, RW_ERR_ARG, "the ranks were given different "
                       "RW_DIST_SHARD, RW_DIST_SHARED_WEIGHTS or "
                       "RW_DIST_ALLREDUCE; give every rank the same (mpirun -x "
                       "NAME)");
    }
    int first = rw_dist_min_int(ok ? rw_dist_size() : rw_dist_rank());
    g_setup_failed = first;
    if (!ok)
        return st;
    return rw_fail(err, RW_ERR_DIST, "rank %d failed before training; every rank "
                   "stops", first);
}

int rw_dist_setup_failure(void) { return g_setup_failed; }

rw_status rw_dist_begin(rw_net *net, uint64_t setup, rw_error *err)
{
    reset_stats();
    g_stale = false;
    g_share_off = false;
    g_share = 1.0;
    if (!rw_dist_on())
        return RW_OK;
    rw_status st = compare(setup, "training data and settings",
                           "before training (give every rank all the data and "
                           "the same options: each rank takes its share of "
                           "every batch itself)", err);
    if (st == RW_OK)
        st = compare(checksum(net, false), "network shape and topology",
                     "before training (start every rank with the same "
                     "data, options and --seed)", err);
    if (st != RW_OK) {
        /* Every rank knows it, before training: rank 0 reports. */
        g_setup_failed = 0;
        return st;
    }
    /* Horovod's convention: rank 0's parameters are everyone's. */
    size_t n = fused_len(net);
    float *buf = rw_dist_buffer(n, err);
    if (!buf)
        return RW_ERR_NOMEM;
    copy_range(net, buf, pick_w, true, 0, n);
    if ((st = rw_dist_bcast(buf, n * sizeof(float), err)) != RW_OK)
        return st;
    copy_range(net, buf, pick_w, false, 0, n);
    /* These collectives wait for every rank to load its data and build its
     * network, which is not training: comm_seconds starts here. */
    g_stats.comm_seconds = 0.0;
    return RW_OK;
}
