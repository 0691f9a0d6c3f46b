/* Neuron turnover: removing hidden neurons and adding fresh ones.
 *
 * Hidden neuron o of layer l is row o of layer l (its inputs, bias and
 * per-neuron state) and column o of layer l+1 (its outputs). Removing it
 * deletes both, with every array parallel to them (gradients, optimizer
 * moments, traces, consolidation state), renumbers the higher columns of
 * layer l+1 and shrinks the buffers; the layer's size in net->cfg follows,
 * so the saved model holds the smaller layer. Dense layers lose whole rows
 * and columns; sparse layers lose the connections of the row and column.
 *
 * A neuron without inputs outputs the constant act(bias); removing it adds
 * w * act(bias) to the bias of each neuron it fed, so the network computes
 * exactly what it did before. A silent ReLU or sigmoid neuron (activity
 * below the silent level) has its mean output folded in the same way.
 *
 * Adding n neurons appends rows with random inputs (a sparse layer gives
 * each new row its mean row length, at random inputs) and columns with zero
 * outgoing weights (a sparse next layer: its mean column length, at random
 * outputs), so the network's outputs do not change until training moves
 * those weights. */
#include "plasticity/plasticity.h"

#include <math.h>
#include <string.h>

/* ---------------- reallocation ---------------- */

/* Every per-connection float array of L that exists (rw_conn_arrays but
 * the index), for dense row and column moves in place. */
static size_t conn_floats(rw_layer *L, float **a)
{
    size_t n = 0;
    for (size_t i = 0; i < rw_conn_array_count; i++) {
        const rw_conn_array *c = &rw_conn_arrays[i];
        float *p = *rw_conn_ptr(L, c);
        if (c->role != RW_CONN_INDEX && p)
            a[n++] = p;
    }
    return n;
}

static rw_status resize_neurons(rw_layer *L, size_t out, rw_error *err)
{
    rw_arr_ref r[] = {{(void **)&L->b, sizeof(float)},
                   {(void **)&L->gb, sizeof(float)},
                   {(void **)&L->bm1, sizeof(float)},
                   {(void **)&L->bm2, sizeof(float)},
                   {(void **)&L->bmstep, sizeof(float)},
                   {(void **)&L->activity, sizeof(float)},
                   {(void **)&L->silent, sizeof(uint32_t)}};
    return rw_resize_arrays(r, sizeof r / sizeof r[0], L->out, out, "neurons", err);
}

static rw_status resize_index(size_t **p, size_t old_n, size_t new_n,
                              rw_error *err)
{
    rw_arr_ref r = {(void **)p, sizeof(size_t)};
    return rw_resize_arrays(&r, 1, old_n, new_n, "sparse index", err);
}

/* Activation buffers follow the new layer sizes. */
static rw_status rebuffer(rw_net *net, rw_error *err)
{
    size_t cap = net->batch_cap;
    net->grads_ready = 0;
    if (cap == 0)
        return RW_OK;
    net->batch_cap = 0;
    return rw_net_reserve_batch(net, cap, err);
}

/* ---------------- removal ---------------- */

/* Output of neuron o that removal folds into the next layer's biases. */
static float folded_output(const rw_layer *L, size_t o, int fold_silent)
{
    if (L->kind == RW_LAYER_SPARSE && L->row_ptr[o] == L->row_ptr[o + 1]) {
        float c = L->b[o];
        rw_act_forward(L->act, &c, 1);
        return c;
    }
    if (fold_silent && L->activity &&
        (L->act == RW_ACT_RELU || L->act == RW_ACT_SIGMOID))
        return L->activity[o];
    return 0.0f;
}

static void fold_into_next(rw_layer *N, size_t i, float c)
{
    if (c == 0.0f)
        return;
    if (N->kind == RW_LAYER_DENSE) {
        for (size_t q = 0; q < N->out; q++)
            N->b[q] += N->w[q * N->in + i] * c;
        return;
    }
    for (size_t t = N->tcol_ptr[i]; t < N->tcol_ptr[i + 1]; t++)
        N->b[N->t_row[t]] += N->w[N->t_k[t]] * c;
}

/* Removes the flagged rows of layer L (new size `keep_n`). */
static void remove_rows(rw_layer *L, const unsigned char *mask, size_t keep_n)
{
    size_t O = L->out, I = L->in;
    if (L->kind == RW_LAYER_SPARSE) {
        for (size_t o = 0; o < O; o++)
            if (mask[o])
                for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
                    if (L->col[k] & RW_COL_INITIAL)
                        L->initial_alive--;
                    L->col[k] = RW_COL_DROPPED;
                }
        L->nw = rw_sparse_compact(L);
        size_t j = 0;
        for (size_t o = 0; o < O; o++)
            if (!mask[o])
                L->row_ptr[j++] = L->row_ptr[o];
        L->row_ptr[j] = L->nw;
    } else {
        float *a[RW_CONN_MAX];
        size_t na = conn_floats(L, a);
        size_t j = 0;
        for (size_t o = 0; o < O; o++) {
            if (mask[o])
                continue;
            if (j != o)
                for (size_t t = 0; t < na; t++)
                    memmove(a[t] + j * I, a[t] + o * I, I * sizeof(float));
            j++;
        }
        L->nw = keep_n * I;
        L->initial_nnz = L->initial_alive = L->nw;
    }
    float *pn[] = {L->b, L->gb, L->bm1, L->bm2, L->bmstep, L->activity};
    for (size_t t = 0; t < sizeof pn / sizeof pn[0]; t++) {
        if (!pn[t])
            continue;
        size_t j = 0;
        for (size_t o = 0; o < O; o++)
            if (!mask[o])
                pn[t][j++] = pn[t][o];
    }
    if (L->silent) {
        size_t j = 0;
        for (size_t o = 0; o < O; o++)
            if (!mask[o])
                L->silent[j++] = L->silent[o];
    }
    /* Consolidation state of the biases: 4 blocks of `out` entries. */
    if (L->bstate) {
        size_t j = 0;
        for (size_t w = 0; w < 4; w++)
            for (size_t o = 0; o < O; o++)
                if (!mask[o])
                    L->bstate[j++] = L->bstate[w * O + o];
    }
}

/* Removes the flagged input columns of layer N (new width `keep_n`);
 * newidx maps kept old columns to new ones. */
static void remove_columns(rw_layer *N, const unsigned char *mask,
                           const uint32_t *newidx, size_t keep_n)
{
    size_t I = N->in;
    if (N->kind == RW_LAYER_SPARSE) {
        for (size_t k = 0; k < N->nw; k++)
            if (mask[N->col[k] & RW_COL_MASK]) {
                if (N->col[k] & RW_COL_INITIAL)
                    N->initial_alive--;
                N->col[k] = RW_COL_DROPPED;
            }
        N->nw = rw_sparse_compact(N);
        for (size_t k = 0; k < N->nw; k++)
            N->col[k] = (N->col[k] & RW_COL_INITIAL) | newidx[N->col[k] & RW_COL_MASK];
        return;
    }
    float *a[RW_CONN_MAX];
    size_t na = conn_floats(N, a);
    for (size_t q = 0; q < N->out; q++)
        for (size_t t = 0; t < na; t++) {
            float *row = a[t] + q * I, *dst = a[t] + q * keep_n;
            size_t j = 0;
            for (size_t i = 0; i < I; i++)
                if (!mask[i])
                    dst[j++] = row[i];
        }
    N->nw = N->out * keep_n;
    N->initial_nnz = N->initial_alive = N->nw;
}

rw_status rw_neurons_remove(rw_net *net, size_t l, const unsigned char *mask,
                            int fold_silent, rw_error *err)
{
    if (l + 1 >= net->n_layers)
        return rw_fail(err, RW_ERR_ARG,
                       "layer %zu is not a hidden layer; only hidden neurons "
                       "can be removed", l + 1);
    rw_layer *L = &net->layers[l], *N = &net->layers[l + 1];
    size_t O = L->out, r = 0;
    for (size_t o = 0; o < O; o++)
        r += mask[o] != 0;
    if (r == 0)
        return RW_OK;
    if (r >= O)
        return rw_fail(err, RW_ERR_ARG,
                       "cannot remove all %zu neurons of layer %zu", O, l + 1);
    uint32_t *newidx = rw_alloc(O, sizeof *newidx, "neuron renumbering", err);
    if (!newidx)
        return RW_ERR_NOMEM;
    size_t keep_n = 0;
    for (size_t o = 0; o < O; o++)
        newidx[o] = mask[o] ? UINT32_MAX : (uint32_t)keep_n++;
    for (size_t o = 0; o < O; o++)
        if (mask[o])
            fold_into_next(N, o, folded_output(L, o, fold_silent));

    remove_rows(L, mask, keep_n);
    remove_columns(N, mask, newidx, keep_n);
    rw_free(newidx);
    /* Shrink the buffers. Where a smaller copy cannot be had the larger
     * buffer keeps serving, so these failures are not errors. */
    if (rw_layer_resize_conns(L, L->nw, NULL) != RW_OK ||
        rw_layer_resize_conns(N, N->nw, NULL) != RW_OK) {
        /* keep the larger buffers */
    }
    if (resize_neurons(L, keep_n, NULL) != RW_OK) {
        /* keep the larger buffers */
    }
    if (L->bstate) {
        rw_arr_ref ref = {(void **)&L->bstate, sizeof(float)};
        if (rw_resize_arrays(&ref, 1, 4 * keep_n, 4 * keep_n, "bias state", NULL) != RW_OK) {
            /* keep the larger buffer */
        }
    }
    L->out = keep_n;
    N->in = keep_n;
    if (L->kind == RW_LAYER_SPARSE) {
        if (resize_index(&L->row_ptr, O + 1, keep_n + 1, NULL) != RW_OK) {
            /* keep the larger buffer */
        }
        rw_sparse_build_transpose(L);
    }
    if (N->kind == RW_LAYER_SPARSE) {
        if (resize_index(&N->tcol_ptr, O + 1, keep_n + 1, NULL) != RW_OK) {
            /* keep the larger buffer */
        }
        rw_sparse_build_transpose(N);
    }
    net->cfg.layers[l].units = keep_n;
    return rebuffer(net, err);
}

/* ---------------- addition ---------------- */

/* c distinct values of [0, n), ascending, into out (Floyd's algorithm);
 * mark is n bytes of zeros and is left zeroed. */
static void sample_sorted(rw_rng *rng, size_t n, size_t c, unsigned char *mark,
                          uint32_t *out)
{
    for (size_t j = n - c; j < n; j++) {
        size_t t = (size_t)rw_rng_below(rng, j + 1);
        mark[mark[t] ? j : t] = 1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (mark[i]) {
            out[m++] = (uint32_t)i;
            mark[i] = 0;
        }
}

static double init_sd(const rw_net *net, const rw_layer *L, double fan_in,
                      double fan_out)
{
    return rw_init_std(net->cfg.init, L->act, fan_in, fan_out);
}

static size_t mean_count(size_t nnz, size_t n, size_t cap)
{
    size_t c = n ? (size_t)llround((double)nnz / (double)n) : 1;
    if (c < 1)
        c = 1;
    return c > cap ? cap : c;
}

/* Scratch of rw_neurons_add: sampling marks and picks (maxdim entries);
 * for a sparse next layer, the rows each new column joins (picks, column
 * after column), then the same as per-row lists (add_ptr, add_col). */
typedef struct add_scratch {
    unsigned char *mark;
    uint32_t *pick, *picks, *add_col;
    size_t *add_ptr, *cur;
} add_scratch;

static void add_scratch_free(add_scratch *sc)
{
    rw_free(sc->mark);
    rw_free(sc->pick);
    rw_free(sc->picks);
    rw_free(sc->add_col);
    rw_free(sc->add_ptr);
    rw_free(sc->cur);
}

static rw_status add_scratch_alloc(add_scratch *sc, const rw_layer *L,
                                   const rw_layer *N, size_t add_N,
                                   rw_error *err)
{
    size_t maxdim = L->in > N->out ? L->in : N->out;
    sc->mark = rw_calloc(maxdim, 1, "neuron sampling", err);
    sc->pick = rw_alloc(maxdim, sizeof *sc->pick, "neuron sampling", err);
    if (N->kind == RW_LAYER_SPARSE) {
        sc->picks = rw_alloc(add_N ? add_N : 1, sizeof(uint32_t), "new columns", err);
        sc->add_col = rw_alloc(add_N ? add_N : 1, sizeof(uint32_t), "new columns", err);
        sc->add_ptr = rw_calloc(N->out + 1, sizeof(size_t), "new columns", err);
        sc->cur = rw_calloc(N->out, sizeof(size_t), "new columns", err);
        if (!sc->picks || !sc->add_col || !sc->add_ptr || !sc->cur)
            return RW_ERR_NOMEM;
    }
    return sc->mark && sc->pick ? RW_OK : RW_ERR_NOMEM;
}

/* Grows every buffer of layers L and N for n more neurons first: a failure
 * leaves the network as it was (only some buffers larger than needed). */
static rw_status grow_buffers(rw_layer *L, rw_layer *N, size_t n, size_t nw_L,
                              size_t nw_N, rw_error *err)
{
    size_t O = L->out, O2 = O + n;
    rw_status st;
    if ((st = rw_layer_resize_conns(L, nw_L, err)) != RW_OK ||
        (st = resize_neurons(L, O2, err)) != RW_OK ||
        (st = rw_layer_resize_conns(N, nw_N, err)) != RW_OK ||
        (L->kind == RW_LAYER_SPARSE &&
         (st = resize_index(&L->row_ptr, O + 1, O2 + 1, err)) != RW_OK) ||
        (N->kind == RW_LAYER_SPARSE &&
         (st = resize_index(&N->tcol_ptr, N->in + 1, N->in + n + 1, err)) != RW_OK))
        return st;
    if (L->bstate) { /* 4 blocks of `out` entries: spread them apart */
        float *bs = rw_calloc(4 * O2, sizeof(float), "bias state", err);
        if (!bs)
            return RW_ERR_NOMEM;
        for (size_t w = 0; w < 4; w++)
            memcpy(bs + w * O2, L->bstate + w * O, O * sizeof(float));
        rw_free(L->bstate);
        L->bstate = bs;
    }
    return RW_OK;
}

/* The n new rows of layer l: row_c random inputs (all inputs when dense),
 * He/Xavier weights, zero state; a new neuron's activity starts at the
 * layer's mean, so it is not judged silent before it ran. */
static void fill_new_rows(const rw_net *net, rw_layer *L, const rw_layer *N,
                          size_t n, size_t row_c, size_t nw_L, rw_rng *rng,
                          add_scratch *sc)
{
    size_t O = L->out, I = L->in;
    double sd = init_sd(net, L, (double)row_c, (double)N->out);
    float mean_act = 0.0f;
    if (L->activity) {
        double s = 0.0;
        for (size_t o = 0; o < O; o++)
            s += L->activity[o];
        mean_act = (float)(s / (double)O);
    }
    for (size_t j = 0; j < n; j++) {
        size_t o = O + j;
        if (L->kind == RW_LAYER_SPARSE) {
            size_t s = L->row_ptr[o];
            sample_sorted(rng, I, row_c, sc->mark, sc->pick);
            for (size_t t = 0; t < row_c; t++) {
                L->col[s + t] = sc->pick[t];
                L->w[s + t] = (float)(sd * rw_rng_normal(rng));
            }
            L->row_ptr[o + 1] = s + row_c;
        } else {
            for (size_t i = 0; i < I; i++)
                L->w[o * I + i] = (float)(sd * rw_rng_normal(rng));
        }
        if (L->activity)
            L->activity[o] = mean_act;
    }
    L->nw = nw_L;
    L->out = O + n;
    if (L->kind == RW_LAYER_SPARSE)
        rw_sparse_build_transpose(L);
    else
        L->initial_nnz = L->initial_alive = L->nw;
}

/* n zero columns at the end of every row of a dense layer N. */
static void widen_dense(rw_layer *N, size_t n, size_t nw_N)
{
    size_t In = N->in;
    float *a[RW_CONN_MAX];
    size_t na = conn_floats(N, a);
    for (size_t q = N->out; q-- > 0;)
        for (size_t t = 0; t < na; t++) {
            memmove(a[t] + q * (In + n), a[t] + q * In, In * sizeof(float));
            memset(a[t] + q * (In + n) + In, 0, n * sizeof(float));
        }
    N->nw = nw_N;
    N->initial_nnz = N->initial_alive = N->nw;
}

/* n new inputs of a sparse layer N, each joining col_c random rows with
 * zero weights and state. */
static void widen_sparse(rw_layer *N, size_t n, size_t col_c, size_t nw_N,
                         rw_rng *rng, add_scratch *sc)
{
    size_t In = N->in;
    uint32_t *picks = sc->picks, *add_col = sc->add_col;
    size_t *add_ptr = sc->add_ptr, *cur = sc->cur;
    for (size_t j = 0; j < n; j++) {
        sample_sorted(rng, N->out, col_c, sc->mark, picks + j * col_c);
        for (size_t t = 0; t < col_c; t++)
            add_ptr[picks[j * col_c + t] + 1]++;
    }
    for (size_t q = 0; q < N->out; q++)
        add_ptr[q + 1] += add_ptr[q];
    for (size_t j = 0; j < n; j++) /* ascending columns within rows */
        for (size_t t = 0; t < col_c; t++) {
            size_t q = picks[j * col_c + t];
            add_col[add_ptr[q] + cur[q]++] = (uint32_t)(In + j);
        }
    /* Merge from the back: row q moves up by add_ptr[q] and gets its
     * new entries (the largest columns) at its end. */
    float *a[RW_CONN_MAX];
    size_t na = conn_floats(N, a);
    for (size_t q = N->out; q-- > 0;) {
        size_t s = N->row_ptr[q], e = N->row_ptr[q + 1];
        size_t shift = add_ptr[q], cnt = add_ptr[q + 1] - add_ptr[q];
        for (size_t t = cnt; t-- > 0;) {
            size_t dst = e + shift + t;
            N->col[dst] = add_col[add_ptr[q] + t];
            for (size_t u = 0; u < na; u++)
                a[u][dst] = 0.0f;
        }
        for (size_t k = e; k-- > s;) {
            N->col[k + shift] = N->col[k];
            for (size_t u = 0; u < na; u++)
                a[u][k + shift] = a[u][k];
        }
        N->row_ptr[q + 1] = e + add_ptr[q + 1];
    }
    N->nw = nw_N;
}

rw_status rw_neurons_add(rw_net *net, size_t l, size_t n, rw_rng *rng,
                         rw_error *err)
{
    if (l + 1 >= net->n_layers)
        return rw_fail(err, RW_ERR_ARG,
                       "layer %zu is not a hidden layer; neurons can only be "
                       "added to hidden layers", l + 1);
    if (n == 0)
        return RW_OK;
    rw_layer *L = &net->layers[l], *N = &net->layers[l + 1];
    size_t O = L->out, I = L->in, O2 = O + n;
    if (O2 < O || O2 > RW_COL_MASK)
        return rw_fail(err, RW_ERR_ARG, "layer %zu cannot grow to %zu neurons",
                       l + 1, O2);
    size_t row_c = L->kind == RW_LAYER_SPARSE ? mean_count(L->nw, O, I) : I;
    size_t col_c = N->kind == RW_LAYER_SPARSE ? mean_count(N->nw, N->in, N->out)
                                              : N->out;
    size_t add_L, add_N, nw_L, nw_N;
    if (!rw_mul_ok(n, row_c, &add_L) || !rw_mul_ok(n, col_c, &add_N) ||
        (nw_L = L->nw + add_L) < add_L || (nw_N = N->nw + add_N) < add_N ||
        (L->kind == RW_LAYER_SPARSE && nw_L > UINT32_MAX) ||
        (N->kind == RW_LAYER_SPARSE && nw_N > UINT32_MAX))
        return rw_fail(err, RW_ERR_ARG, "layer %zu cannot grow by %zu neurons",
                       l + 1, n);
    add_scratch sc = {0};
    rw_status st = add_scratch_alloc(&sc, L, N, add_N, err);
    if (st == RW_OK && (st = grow_buffers(L, N, n, nw_L, nw_N, err)) == RW_OK) {
        fill_new_rows(net, L, N, n, row_c, nw_L, rng, &sc);
        /* Columns of layer l+1: zero weights, so the outputs do not change. */
        if (N->kind == RW_LAYER_SPARSE)
            widen_sparse(N, n, col_c, nw_N, rng, &sc);
        else
            widen_dense(N, n, nw_N);
        N->in += n;
        if (N->kind == RW_LAYER_SPARSE)
            rw_sparse_build_transpose(N);
        net->cfg.layers[l].units = O2;
        st = rebuffer(net, err);
    }
    add_scratch_free(&sc);
    return st;
}

/* ---------------- public entry points ---------------- */

rw_status rw_net_remove_neurons(rw_net *net, size_t layer,
                                const size_t *neurons, size_t n,
                                rw_error *err)
{
    if (!net || (n && !neurons))
        return rw_fail(err, RW_ERR_ARG, "remove neurons: NULL argument");
    if (layer + 1 >= net->n_layers)
        return rw_fail(err, RW_ERR_ARG,
                       "layer %zu is not a hidden layer; only hidden neurons "
                       "can be removed", layer + 1);
    size_t O = net->layers[layer].out;
    unsigned char *mask = rw_calloc(O, 1, "neuron removal mask", err);
    if (!mask)
        return RW_ERR_NOMEM;
    rw_status st = RW_OK;
    for (size_t j = 0; j < n && st == RW_OK; j++) {
        if (neurons[j] >= O || mask[neurons[j]])
            st = rw_fail(err, RW_ERR_ARG,
                         "neuron %zu of layer %zu: %s", neurons[j], layer + 1,
                         neurons[j] >= O ? "no such neuron" : "listed twice");
        else
            mask[neurons[j]] = 1;
    }
    if (st == RW_OK)
        st = rw_neurons_remove(net, layer, mask, 0, err);
    rw_free(mask);
    return st;
}

rw_status rw_net_add_neurons(rw_net *net, size_t layer, size_t n,
                             rw_rng *rng, rw_error *err)
{
    if (!net || !rng)
        return rw_fail(err, RW_ERR_ARG, "add neurons: NULL argument");
    return rw_neurons_add(net, layer, n, rng, err);
}
