/* Truly sparse layer in compressed rows. Shapes as in internal.h: x is
 * I x B, a and d are O x B (feature-major), so every connection's work is a
 * contiguous vector operation over the batch:
 *   forward:   a[o,:] += w[k] * x[col[k],:]         (per output row)
 *   gradient:  gw[k]   = dot(d[o,:], x[col[k],:])     (per output row)
 *   input err: dx[i,:] = sum w[k] * d[row(k),:]       (per input, through
 *              the transposed index, so threads never write the same row)
 * Memory: weight, column, gradient and the transposed index (two uint32)
 * per connection, plus optimizer moments; never a dense matrix. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Picks `c` distinct sorted values from [0, n) into out. */
static void sample_distinct(rw_rng *rng, uint32_t n, uint32_t c,
                            uint32_t *out)
{
    if (c == 0)
        return;
    if ((uint64_t)c * 3 > n) {
        /* Dense row: selection sampling (Knuth's algorithm S), O(n). */
        uint32_t chosen = 0;
        for (uint32_t i = 0; i < n && chosen < c; i++)
            if (rw_rng_below(rng, n - i) < (uint64_t)(c - chosen))
                out[chosen++] = i;
        return;
    }
    /* Sparse row: draw, sort, deduplicate, redraw the missing ones. */
    uint32_t have = 0;
    while (have < c) {
        for (uint32_t i = have; i < c; i++)
            out[i] = (uint32_t)rw_rng_below(rng, n);
        qsort(out, c, sizeof *out, cmp_u32);
        uint32_t u = 0;
        for (uint32_t i = 0; i < c; i++)
            if (u == 0 || out[i] != out[u - 1])
                out[u++] = out[i];
        have = u;
    }
}

rw_status rw_layer_alloc_sparse(rw_layer *L, size_t in, size_t out,
                                size_t nnz, rw_activation act, rw_error *err)
{
    memset(L, 0, sizeof *L);
    L->kind = RW_LAYER_SPARSE;
    L->act = act;
    L->in = in;
    L->out = out;
    size_t full;
    if (in > RW_COL_MASK || out > RW_COL_MASK || !rw_mul_ok(in, out, &full))
        return rw_fail(err, RW_ERR_ARG,
                       "sparse layer %zu x %zu exceeds the 2^31 index limit",
                       in, out);
    if (nnz > full)
        return rw_fail(err, RW_ERR_ARG,
                       "sparse layer %zu x %zu cannot hold %zu connections",
                       in, out, nnz);
    if (nnz > UINT32_MAX)
        return rw_fail(err, RW_ERR_ARG,
                       "sparse layer with %zu connections exceeds 2^32", nnz);
    L->nw = nnz;
    L->w = rw_alloc(nnz, sizeof(float), "sparse weights", err);
    L->gw = rw_calloc(nnz, sizeof(float), "sparse gradients", err);
    L->col = rw_alloc(nnz, sizeof(uint32_t), "sparse column index", err);
    L->t_k = rw_alloc(nnz, sizeof(uint32_t), "sparse transposed index", err);
    L->t_row = rw_alloc(nnz, sizeof(uint32_t), "sparse transposed rows", err);
    L->row_ptr = rw_alloc(out + 1, sizeof(size_t), "sparse row pointers", err);
    L->tcol_ptr = rw_alloc(in + 1, sizeof(size_t), "sparse column pointers", err);
    L->b = rw_calloc(out, sizeof(float), "biases", err);
    L->gb = rw_calloc(out, sizeof(float), "bias gradients", err);
    if (!L->w || !L->gw || !L->col || !L->t_k || !L->t_row || !L->row_ptr ||
        !L->tcol_ptr || !L->b || !L->gb) {
        rw_layer_free(L);
        return RW_ERR_NOMEM;
    }
    return RW_OK;
}

rw_status rw_layer_init_sparse(rw_layer *L, size_t in, size_t out,
                               size_t nnz, rw_activation act, rw_rng *rng,
                               rw_error *err)
{
    size_t full;
    if (!rw_mul_ok(in, out, &full))
        full = SIZE_MAX; /* rejected by rw_layer_alloc_sparse */
    if (nnz > full)
        nnz = full;
    if (nnz < out)
        nnz = out < full ? out : full; /* at least one input per neuron */
    rw_status st = rw_layer_alloc_sparse(L, in, out, nnz, act, err);
    if (st != RW_OK)
        return st;
    /* Row counts: nnz spread as evenly as possible, the remainder given to
     * random rows, so every neuron starts with inputs. */
    size_t base = nnz / out, extra = nnz % out;
    for (size_t o = 0; o <= out; o++)
        L->row_ptr[o] = 0;
    for (size_t o = 0; o < out; o++)
        L->row_ptr[o + 1] = base;
    for (size_t e = 0; e < extra;) {
        size_t o = (size_t)rw_rng_below(rng, out);
        if (L->row_ptr[o + 1] < in && L->row_ptr[o + 1] == base) {
            L->row_ptr[o + 1]++;
            e++;
        }
    }
    for (size_t o = 0; o < out; o++)
        L->row_ptr[o + 1] += L->row_ptr[o];
    for (size_t o = 0; o < out; o++) {
        size_t s = L->row_ptr[o], c = L->row_ptr[o + 1] - s;
        sample_distinct(rng, (uint32_t)in, (uint32_t)c, L->col + s);
        for (size_t k = s; k < s + c; k++)
            L->col[k] |= RW_COL_INITIAL;
    }
    L->initial_nnz = L->initial_alive = nnz;
    rw_sparse_build_transpose(L);
    return RW_OK;
}

void rw_sparse_build_transpose(rw_layer *L)
{
    size_t *cp = L->tcol_ptr;
    memset(cp, 0, (L->in + 1) * sizeof *cp);
    for (size_t k = 0; k < L->nw; k++)
        cp[(L->col[k] & RW_COL_MASK) + 1]++;
    for (size_t i = 0; i < L->in; i++)
        cp[i + 1] += cp[i];
    /* Filling in CSR order keeps each input's list sorted by row; cp[i]
     * serves as input i's cursor and ends at the start of input i+1, so a
     * shift by one restores it. */
    for (size_t o = 0; o < L->out; o++)
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
            size_t pos = cp[L->col[k] & RW_COL_MASK]++;
            L->t_k[pos] = (uint32_t)k;
            L->t_row[pos] = (uint32_t)o;
        }
    for (size_t i = L->in; i > 0; i--)
        cp[i] = cp[i - 1];
    cp[0] = 0;
}

/* Rows of a large layer's input do not fit in the caches and each
 * connection touches a random one: fetch the row PF connections ahead. */
#define PF 8
#ifndef RW_NO_PREFETCH
#define PREFETCH_ROW(p, n)                                              \
    do {                                                                \
        for (size_t pl_ = 0; pl_ < (size_t)(n); pl_ += 16)              \
            __builtin_prefetch((p) + pl_, 0, 0);                        \
    } while (0)
#else
#define PREFETCH_ROW(p, n) ((void)0)
#endif

/* Below this many multiply-adds a pass runs on the calling thread. */
#define PAR_MIN_WORK ((size_t)1 << 16)

/* The kernels work on up to 128 batch values at a time (NV = 8 vectors
 * of 16 floats held in registers), so that a connection's batch row is
 * fetched in one piece; the batch tail goes 64, 16 and then 1 value at a
 * time. Each block helper is inlined with a constant NV. */

/* Forward over batch columns [j0, j0 + 16 NV) of one output row:
 *   out = (acc ? out : init) + sum_t wt[t] * src[idx[t], :]. */
RW_VINLINE void fwd_block(float *restrict out, float init, bool acc,
                          const float *restrict src,
                          const uint32_t *restrict idx,
                          const float *restrict wt, size_t t0, size_t t1,
                          size_t B, size_t j0, int NV)
{
    rw_v16 a[8];
    for (int u = 0; u < NV; u++)
        a[u] = acc ? rw_v16_load(out + j0 + 16 * u) : rw_v16_splat(init);
    for (size_t t = t0; t < t1; t++) {
        const float *xr = src + (size_t)(idx[t] & RW_COL_MASK) * B + j0;
        if (NV >= 4 && t + PF < t1)
            PREFETCH_ROW(src + (size_t)(idx[t + PF] & RW_COL_MASK) * B + j0,
                         16 * NV);
        float w = wt[t];
        for (int u = 0; u < NV; u++)
            a[u] += w * rw_v16_load(xr + 16 * u);
    }
    for (int u = 0; u < NV; u++)
        rw_v16_store(out + j0 + 16 * u, a[u]);
}

/* out[0..B) = init + sum_t wt[t] * src[idx[t] * B + 0..B) for t in
 * [t0, t1): the forward pass (wt = w, idx = col). With `acc` the sum
 * starts from out[] instead of init, continuing an earlier block of the
 * same row with the very same float operations. */
RW_HOT static void axpy_rows(float *restrict out, float init, bool acc,
                             const float *restrict src,
                             const uint32_t *restrict idx,
                             const float *restrict wt, size_t t0, size_t t1,
                             size_t B)
{
    size_t j0 = 0;
    for (; j0 + 128 <= B; j0 += 128)
        fwd_block(out, init, acc, src, idx, wt, t0, t1, B, j0, 8);
    for (; j0 + 64 <= B; j0 += 64)
        fwd_block(out, init, acc, src, idx, wt, t0, t1, B, j0, 4);
    for (; j0 + 16 <= B; j0 += 16)
        fwd_block(out, init, acc, src, idx, wt, t0, t1, B, j0, 1);
    for (size_t j = j0; j < B; j++) {
        float sum = acc ? out[j] : init;
        for (size_t t = t0; t < t1; t++)
            sum += wt[t] * src[(size_t)(idx[t] & RW_COL_MASK) * B + j];
        out[j] = sum;
    }
}

/* Backward over batch columns [j0, j0 + 16 NV) of one input i, through
 * the transposed index: gw[k] (+)= dot(d[o,:], x[i,:]) and
 * dxi = sum w[k] d[o,:] for each connection k from i to o. */
RW_VINLINE void bwd_block(const float *restrict d, const float *restrict xi,
                          const uint32_t *restrict t_row,
                          const uint32_t *restrict t_k,
                          const float *restrict w, float *restrict gw,
                          float *restrict dxi, size_t t0, size_t t1,
                          size_t B, size_t j0, int NV)
{
    rw_v16 x[8], a[8];
    for (int u = 0; u < NV; u++) {
        x[u] = rw_v16_load(xi + j0 + 16 * u);
        a[u] = rw_v16_splat(0.0f);
    }
    for (size_t t = t0; t < t1; t++) {
        const float *dr = d + (size_t)t_row[t] * B + j0;
        if (NV >= 4 && t + PF < t1)
            PREFETCH_ROW(d + (size_t)t_row[t + PF] * B + j0, 16 * NV);
        rw_v16 dv[8], p = rw_v16_splat(0.0f);
        for (int u = 0; u < NV; u++) {
            dv[u] = rw_v16_load(dr + 16 * u);
            p += dv[u] * x[u];
        }
        float g = rw_v16_sum(p);
        size_t k = t_k[t];
        gw[k] = j0 ? gw[k] + g : g;
        float wk = w[k];
        for (int u = 0; u < NV; u++)
            a[u] += wk * dv[u];
    }
    for (int u = 0; u < NV; u++)
        rw_v16_store(dxi + j0 + 16 * u, a[u]);
}

/* The backward pass of one input i, through the transposed index: every
 * connection k leaving i (to output o) gets its weight gradient
 *     gw[k] = dot(d[o,:], x[i,:])
 * and the input error accumulates dx[i,:] += w[k] * d[o,:]. Both read the
 * same row d[o,:], so a large layer reads each of its connections' error
 * rows once instead of twice. Each gw[k] is written
 * by exactly one input and every sum runs in a fixed order (blocks of the
 * batch, 16 lanes, lane sums), so the results do not depend on threads. */
RW_HOT static void backward_input(const float *restrict d,
                                  const float *restrict xi,
                                  const uint32_t *restrict t_row,
                                  const uint32_t *restrict t_k,
                                  const float *restrict w,
                                  float *restrict gw, float *restrict dxi,
                                  size_t t0, size_t t1, size_t B)
{
    size_t j0 = 0;
    for (; j0 + 128 <= B; j0 += 128)
        bwd_block(d, xi, t_row, t_k, w, gw, dxi, t0, t1, B, j0, 8);
    for (; j0 + 64 <= B; j0 += 64)
        bwd_block(d, xi, t_row, t_k, w, gw, dxi, t0, t1, B, j0, 4);
    for (; j0 + 16 <= B; j0 += 16)
        bwd_block(d, xi, t_row, t_k, w, gw, dxi, t0, t1, B, j0, 1);
    for (size_t j = j0; j < B; j++) {
        float sum = 0.0f;
        for (size_t t = t0; t < t1; t++) {
            float dv = d[(size_t)t_row[t] * B + j];
            size_t k = t_k[t];
            gw[k] = j ? gw[k] + dv * xi[j] : dv * xi[j];
            sum += w[k] * dv;
        }
        dxi[j] = sum;
    }
}

/* Weight gradients of one output row o in CSR order, for the first layer
 * (no input error wanted): gw[k] = dot(d[o,:], x[col[k],:]). The first
 * layer's inputs are few and stay in the cache while its outputs are many,
 * so this reads each connection's input row where the transposed pass
 * would read a random output row from memory. The sums are the very ones
 * of backward_input. */
RW_VINLINE void grad_block(const float *restrict dr, const float *restrict x,
                           const uint32_t *restrict col, float *restrict gw,
                           size_t t0, size_t t1, size_t B, size_t j0, int NV)
{
    rw_v16 dv[8];
    for (int u = 0; u < NV; u++)
        dv[u] = rw_v16_load(dr + j0 + 16 * u);
    for (size_t t = t0; t < t1; t++) {
        const float *xr = x + (size_t)(col[t] & RW_COL_MASK) * B + j0;
        rw_v16 p = rw_v16_splat(0.0f);
        for (int u = 0; u < NV; u++)
            p += dv[u] * rw_v16_load(xr + 16 * u);
        float g = rw_v16_sum(p);
        gw[t] = j0 ? gw[t] + g : g;
    }
}

RW_HOT static void grad_row(const float *restrict dr, const float *restrict x,
                            const uint32_t *restrict col, float *restrict gw,
                            size_t t0, size_t t1, size_t B)
{
    size_t j0 = 0;
    for (; j0 + 128 <= B; j0 += 128)
        grad_block(dr, x, col, gw, t0, t1, B, j0, 8);
    for (; j0 + 64 <= B; j0 += 64)
        grad_block(dr, x, col, gw, t0, t1, B, j0, 4);
    for (; j0 + 16 <= B; j0 += 16)
        grad_block(dr, x, col, gw, t0, t1, B, j0, 1);
    for (size_t j = j0; j < B; j++)
        for (size_t t = t0; t < t1; t++) {
            float g = dr[j] * x[(size_t)(col[t] & RW_COL_MASK) * B + j];
            gw[t] = j ? gw[t] + g : g;
        }
}

/* Cache blocking of the forward pass. Each connection reads the batch row
 * of a random input; once the inputs outgrow the last-level cache, every
 * connection is a trip to memory. The pass then runs over blocks of inputs
 * that fit in the cache, each output row's sums carried from block to
 * block in memory. The sums keep their order, so blocking changes no
 * result. (Blocking the backward pass by output rows was tried and was
 * slower: it reads and writes the input errors once per block.) */
static size_t block_bytes = (size_t)12 << 20;

void rw_sparse_set_block_bytes(size_t bytes)
{
    block_bytes = bytes ? bytes : ((size_t)12 << 20);
}

/* Rows of B floats per cache block; the whole of n when n fits. */
static size_t block_rows(size_t n, size_t B)
{
    size_t rows = B ? block_bytes / (B * sizeof(float)) : n;
    if (rows < 1)
        rows = 1;
    return rows >= n ? n : rows;
}

/* First position in idx[lo, hi) whose index (flags masked) is >= v. */
static size_t lower_bound(const uint32_t *idx, size_t lo, size_t hi,
                          uint32_t v)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((idx[mid] & RW_COL_MASK) < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void rw_sparse_forward(rw_layer *L, const float *x, size_t B)
{
    long O = (long)L->out;
    size_t I = L->in, rows = block_rows(I, B);
    bool par = L->nw * B > PAR_MIN_WORK;
    /* Rows are independent, so the result does not depend on the schedule.
     * Tiny layers are not worth waking the thread pool for. */
    if (rows == I) {
        /* The activation goes on each row while it is still in the cache
         * (it is elementwise, so the result is the same). */
#pragma omp parallel for schedule(dynamic, 32) if (par)
        for (long o = 0; o < O; o++) {
            axpy_rows(L->a + (size_t)o * B, L->b[o], false, x, L->col, L->w,
                      L->row_ptr[o], L->row_ptr[o + 1], B);
            rw_act_forward(L->act, L->a + (size_t)o * B, B);
        }
        return;
    }
    for (size_t c0 = 0; c0 < I; c0 += rows) {
        uint32_t lo = (uint32_t)c0;
        uint32_t hi = (uint32_t)(c0 + rows < I ? c0 + rows : I);
#pragma omp parallel for schedule(dynamic, 64) if (par)
        for (long o = 0; o < O; o++) {
            size_t s = L->row_ptr[o], e = L->row_ptr[o + 1];
            if (c0 > 0)
                s = lower_bound(L->col, s, e, lo);
            if (hi < I)
                e = lower_bound(L->col, s, e, hi);
            if (c0 == 0 || s < e)
                axpy_rows(L->a + (size_t)o * B, L->b[o], c0 > 0, x, L->col,
                          L->w, s, e, B);
        }
    }
    rw_act_forward(L->act, L->a, L->out * B);
}

void rw_sparse_backward(rw_layer *L, const float *x, float *dx, size_t B)
{
    long O = (long)L->out, I = (long)L->in;
#pragma omp parallel if (L->nw * B > PAR_MIN_WORK)
    {
#pragma omp for schedule(static)
        for (long o = 0; o < O; o += 256)
            rw_row_sums(L->d, L->gb, (size_t)o,
                        (size_t)(o + 256 < O ? o + 256 : O), B);
        if (dx) {
#pragma omp for schedule(dynamic, 32)
            for (long i = 0; i < I; i++)
                backward_input(L->d, x + (size_t)i * B, L->t_row, L->t_k,
                               L->w, L->gw, dx + (size_t)i * B,
                               L->tcol_ptr[i], L->tcol_ptr[i + 1], B);
        } else {
#pragma omp for schedule(dynamic, 32)
            for (long o = 0; o < O; o++)
                grad_row(L->d + (size_t)o * B, x, L->col, L->gw,
                         L->row_ptr[o], L->row_ptr[o + 1], B);
        }
    }
}

void rw_sparse_forward_ref(const rw_layer *L, const float *x, float *z,
                           size_t B)
{
    for (size_t o = 0; o < L->out; o++)
        for (size_t j = 0; j < B; j++) {
            double s = L->b[o];
            for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++)
                s += (double)L->w[k] * x[(L->col[k] & RW_COL_MASK) * B + j];
            z[o * B + j] = (float)s;
        }
}

void rw_sparse_backward_ref(const rw_layer *L, const float *x,
                            const float *d, float *gw, float *gb, float *dx,
                            size_t B)
{
    if (dx)
        memset(dx, 0, L->in * B * sizeof *dx);
    for (size_t o = 0; o < L->out; o++) {
        double sb = 0.0;
        for (size_t j = 0; j < B; j++)
            sb += d[o * B + j];
        gb[o] = (float)sb;
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
            size_t i = L->col[k] & RW_COL_MASK;
            double s = 0.0;
            for (size_t j = 0; j < B; j++) {
                s += (double)d[o * B + j] * x[i * B + j];
                if (dx)
                    dx[i * B + j] += L->w[k] * d[o * B + j];
            }
            gw[k] = (float)s;
        }
    }
}
