/* Truly sparse layer in compressed rows. Shapes as in layers/layers.h: x is
 * I x B, a and d are O x B (feature-major), so every connection's work is a
 * contiguous vector operation over the batch:
 *   forward:   a[o,:] += w[k] * x[col[k],:]         (per output row)
 *   gradient:  gw[k]   = dot(d[o,:], x[col[k],:])     (per output row)
 *   input err: dx[i,:] = sum w[k] * d[row(k),:]       (per input, through
 *              the transposed index, so threads never write the same row)
 * Memory: weight, column, gradient and the transposed index (two uint32)
 * per connection, plus optimizer moments; never a dense matrix. */
#include "layers/layers.h"
#include "kernels/kernels.h"

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
    L->t_pos = rw_alloc(nnz, sizeof(uint32_t), "sparse transposed positions", err);
    L->gwt = rw_calloc(nnz, sizeof(float), "sparse gradients", err);
    L->row_ptr = rw_alloc(out + 1, sizeof(size_t), "sparse row pointers", err);
    L->tcol_ptr = rw_alloc(in + 1, sizeof(size_t), "sparse column pointers", err);
    L->b = rw_calloc(out, sizeof(float), "biases", err);
    L->gb = rw_calloc(out, sizeof(float), "bias gradients", err);
    if (!L->w || !L->gw || !L->col || !L->t_k || !L->t_row || !L->t_pos ||
        !L->gwt || !L->row_ptr || !L->tcol_ptr || !L->b || !L->gb) {
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
            L->t_pos[k] = (uint32_t)pos;
        }
    for (size_t i = L->in; i > 0; i--)
        cp[i] = cp[i - 1];
    cp[0] = 0;
}

/* Batch tiling of large layers. Each connection reads the batch row of a
 * random input (forward) or output (backward); once those rows outgrow the
 * last-level cache, every connection is a trip to memory. A pass over such
 * a layer then runs over tiles of the batch columns, each narrow enough
 * that the tile of every neuron's row fits in the cache: the connections
 * are streamed once per tile, in order, and the random reads hit the
 * cache. A lane's sum does not depend on the tiling, so the forward pass
 * gives the same results for any tile.
 *
 * It is off by default: measured on a 2-vCPU Zen 3 virtual machine, whose
 * random reads cost 300 ns past about 2 MB (its 32 MB L3 is shared with
 * other guests), tiles sized for the L2 (256 KiB) changed nothing at
 * 1000x1000, and at 333333x333333 (0.012%, batch 128, 1 thread) 16-column
 * tiles made the forward pass slower (1.15 -> 1.35 s) and the backward
 * pass no faster beyond the noise (1.73 -> 1.47 s in one run, 1.44 -> 1.82
 * in another). On a 2-core KVM Xeon (AVX-512, 2 MiB of L2 a core, 105 MiB
 * of L3), the same layer on the AVX-512 path, 2 threads: untiled 2.00 and
 * 2.15 s a batch, 48 MiB tiles 2.07 s, 24 MiB tiles 2.46 s (a pointer
 * chase there waits 6.5 ns in 1 MiB, 45 ns in 2, 97 ns in 4 and 134-140 ns
 * from 8 MiB to 512 MiB: its L3 keeps nothing of ours); 1000x1000 with
 * 256 KiB tiles within the noise (1% slower). Whole rows fetched far ahead
 * (the kernels' streaming build) serve such layers instead.
 * rw_sparse_set_block_bytes (bench_sparse's sixth argument) turns tiling
 * on for machines whose caches do hold a tile. */
#define BLOCK_BYTES_DEFAULT SIZE_MAX
static size_t block_bytes = BLOCK_BYTES_DEFAULT;

void rw_sparse_set_block_bytes(size_t bytes)
{
    block_bytes = bytes ? bytes : BLOCK_BYTES_DEFAULT;
}

/* Columns per batch tile for rows of `n` neurons: all of B when they fit
 * in block_bytes, else the widest multiple of `quantum` that does (at
 * least one quantum). */
static size_t batch_tile(size_t n, size_t B, size_t quantum)
{
    if (n == 0 || B <= quantum || n * B * sizeof(float) <= block_bytes)
        return B;
    size_t cols = block_bytes / (n * sizeof(float));
    cols -= cols % quantum;
    if (cols < quantum)
        cols = quantum;
    return cols >= B ? B : cols;
}

/* Whether rows of `n` neurons, read at random, stream from memory rather
 * than from the caches: the kernels then fetch whole rows far ahead. */
#define STREAM_BYTES_DEFAULT ((size_t)2 << 20)
static size_t stream_bytes = STREAM_BYTES_DEFAULT;

void rw_sparse_set_stream_bytes(size_t bytes)
{
    stream_bytes = bytes ? bytes : STREAM_BYTES_DEFAULT;
}

static bool streams(size_t n, size_t B)
{
    return n * B * sizeof(float) > stream_bytes;
}

/* The activation the forward kernel applies before it stores a tile, if
 * the layer's is one it can (the others run after it, elementwise). */
static int kernel_act(rw_activation act)
{
    switch (act) {
    case RW_ACT_RELU: return RW_KACT_RELU;
    case RW_ACT_LEAKY_RELU: return RW_KACT_LEAKY;
    default: return RW_KACT_NONE;
    }
}

/* bf16 rows (L->h): n values rounded in chunks of ROUND_CHUNK, a
 * multiple of every vector width, shared among the threads. */
#define ROUND_CHUNK 16384

/* Shares the chunks among the threads of the enclosing parallel region
 * (or runs them all outside one), with no barrier after. */
static void round_rows(const rw_sparse_kernels *K, uint16_t *h,
                       const float *x, size_t n)
{
    long chunks = (long)((n + ROUND_CHUNK - 1) / ROUND_CHUNK);
#pragma omp for schedule(static) nowait
    for (long c = 0; c < chunks; c++) {
        size_t a = (size_t)c * ROUND_CHUNK;
        K->to_bf16(h + a, x + a, n - a < ROUND_CHUNK ? n - a : ROUND_CHUNK);
    }
}

void rw_sparse_forward(rw_layer *L, const float *x, size_t B)
{
    const rw_sparse_kernels *K = rw_kernels();
    long O = (long)L->out;
    /* Below rw_par_min_work() multiply-adds on the calling thread (base.h). */
    bool par = L->nw * B > rw_par_min_work();
    size_t bt = batch_tile(L->in, B, 2 * K->vec_floats);
    bool st = streams(L->in, bt);
    int ka = kernel_act(L->act);
    bool after = ka == RW_KACT_NONE && L->act != RW_ACT_IDENTITY &&
                 L->act != RW_ACT_SOFTMAX;
    /* At bf16 the inputs are rounded once and their rows gathered so. */
    const void *rows = x;
    int half = L->h != NULL;
    if (half) {
#pragma omp parallel if (L->in * B >= rw_par_min_work())
        round_rows(K, L->h, x, L->in * B);
        rows = L->h;
    }
    /* Rows are independent, so the result does not depend on the schedule.
     * Tiny layers are not worth waking the thread pool for. An activation
     * the kernel cannot apply goes on each row while it is still in the
     * cache (it is elementwise, so the result is the same). */
    for (size_t j0 = 0; j0 < B; j0 += bt) {
        size_t n = B - j0 < bt ? B - j0 : bt;
#pragma omp parallel for schedule(dynamic, 32) if (par)
        for (long o = 0; o < O; o++) {
            float *a = L->a + (size_t)o * B;
            K->fwd_row[half][st](a, L->b[o], ka, rows, L->col, L->w, L->row_ptr[o],
                           L->row_ptr[o + 1], L->nw, B, j0, n);
            if (after && bt == B)
                rw_act_forward(L->act, a, B);
        }
    }
    if (after && bt < B)
        rw_act_forward(L->act, L->a, L->out * B);
}

/* Every sum below runs in a fixed order (batch tiles, vector lanes, lane
 * sums) and each output is written by one thread, so the results do not
 * depend on the thread count. */
void rw_sparse_backward(rw_layer *L, const float *x, float *dx, size_t B)
{
    rw_sparse_backward_act(L, x, dx, B, RW_ACT_IDENTITY);
}

bool rw_sparse_fuses_act_grad(rw_activation act)
{
    return kernel_act(act) != RW_KACT_NONE;
}

void rw_sparse_backward_act(rw_layer *L, const float *x, float *dx, size_t B,
                            rw_activation xact)
{
    int dact = kernel_act(xact);
    const rw_sparse_kernels *K = rw_kernels();
    long O = (long)L->out, I = (long)L->in;
    /* The rows read at random: the errors of the outputs through the
     * transposed index, or the first layer's inputs in row order. */
    size_t rows = dx ? L->out : L->in;
    size_t bt = batch_tile(rows, B, K->bwd_tile);
    bool st = streams(rows, bt);
    /* At bf16 the errors are rounded once for the input pass (the biases
     * and the first layer's gradients read them as they are). */
    int half = dx && L->h;
    const void *drows = half ? (const void *)L->h : L->d;
#pragma omp parallel if (L->nw * B > rw_par_min_work())
    {
        /* The barrier after the bias sums also waits for the rounding. */
        if (half)
            round_rows(K, L->h, L->d, L->out * B);
#pragma omp for schedule(static)
        for (long o = 0; o < O; o += 256)
            K->row_sums(L->d, L->gb, (size_t)o,
                        (size_t)(o + 256 < O ? o + 256 : O), B);
        for (size_t j0 = 0; j0 < B; j0 += bt) {
            size_t n = B - j0 < bt ? B - j0 : bt;
            if (dx) {
                /* One pass per input through the transposed index: the
                 * weight gradient and the input error share each error
                 * row. */
#pragma omp for schedule(dynamic, 32)
                for (long i = 0; i < I; i++)
                    K->bwd_input[half][st](drows, x + (size_t)i * B, L->t_row,
                                     L->t_k, L->w, L->gwt, dx + (size_t)i * B,
                                     L->tcol_ptr[i], L->tcol_ptr[i + 1],
                                     L->nw, B, j0, n, dact);
            } else {
                /* The first layer wants no input error: its gradients in
                 * row order read its few input rows instead of random rows
                 * of its many outputs. */
#pragma omp for schedule(dynamic, 32)
                for (long o = 0; o < O; o++)
                    K->grad_row[st](L->d + (size_t)o * B, x, L->col, L->gw,
                                    L->row_ptr[o], L->row_ptr[o + 1], L->nw,
                                    B, j0, n);
            }
        }
        /* The weight gradient, from the transposed order into CSR order
         * (see layers.h: t_pos). A copy: the same bits for any threads. */
        if (dx) {
            const uint32_t *tp = L->t_pos;
            const float *gwt = L->gwt;
            float *gw = L->gw;
            long nw = (long)L->nw;
#pragma omp for schedule(static)
            for (long k = 0; k < nw; k++)
                gw[k] = gwt[tp[k]];
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
