/* Topology utilities of a sparse layer, shared by rewiring, pruning,
 * neuron turnover and maintenance: the per-connection arrays that move
 * with a connection, compaction after a drop, reallocation, lookups in a
 * row, k-th smallest selection and the bounded heap that picks growth.
 * Shapes as in layers/layers.h. */
#include "layers/layers.h"

#include <math.h>
#include <string.h>

#define DROPPED RW_COL_DROPPED

/* The heap of growth candidates (RigL, Hebbian). */
typedef rw_cand cand;

size_t rw_layer_parallel_arrays(rw_layer *L, float **arrs)
{
    size_t n = 0;
    for (size_t i = 0; i < rw_conn_array_count; i++) {
        const rw_conn_array *a = &rw_conn_arrays[i];
        float *p = *rw_conn_ptr(L, a);
        if ((a->role == RW_CONN_WEIGHT || a->role == RW_CONN_STATE) && p)
            arrs[n++] = p;
    }
    return n;
}

/* k-th smallest (0-based) of v[0..n) by quickselect with a three-way
 * partition (robust to many equal values); reorders v. */
float rw_select_kth(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        float a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        float p = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            float t = v[i];
            if (t < p) {
                v[i++] = v[lt];
                v[lt++] = t;
            } else if (t > p) {
                v[i] = v[--gt];
                v[gt] = t;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return p;
    }
    return v[lo];
}

/* Removes dropped entries, keeping rows contiguous; returns new nnz. */
size_t rw_sparse_compact(rw_layer *L)
{
    float *arrs[RW_CONN_MAX];
    size_t na = rw_layer_parallel_arrays(L, arrs);
    size_t wpos = 0;
    for (size_t o = 0; o < L->out; o++) {
        size_t s = L->row_ptr[o], e = L->row_ptr[o + 1];
        L->row_ptr[o] = wpos;
        for (size_t k = s; k < e; k++) {
            if (L->col[k] == DROPPED)
                continue;
            L->col[wpos] = L->col[k];
            for (size_t a = 0; a < na; a++)
                arrs[a][wpos] = arrs[a][k];
            wpos++;
        }
    }
    L->row_ptr[L->out] = wpos;
    return wpos;
}

bool rw_sparse_row_has(const rw_layer *L, size_t o, uint32_t i)
{
    size_t lo = L->row_ptr[o], hi = L->row_ptr[o + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t c = L->col[mid] & RW_COL_MASK;
        if (c == i)
            return true;
        if (c < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool rw_sparse_row_has_live(const rw_layer *L, const unsigned char *drop,
                            size_t o, uint32_t i)
{
    size_t lo = L->row_ptr[o], hi = L->row_ptr[o + 1];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t c = L->col[mid] & RW_COL_MASK;
        if (c == i)
            return !drop || !drop[mid];
        if (c < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool cand_less(cand a, cand b)
{
    return a.score < b.score || (a.score == b.score && a.key > b.key);
}

void rw_heap_push_top(rw_cand *h, size_t *size, size_t cap, rw_cand c)
{
    if (*size < cap) {
        size_t i = (*size)++;
        h[i] = c;
        while (i > 0 && cand_less(h[i], h[(i - 1) / 2])) {
            cand t = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
        return;
    }
    if (!cand_less(h[0], c))
        return;
    h[0] = c;
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < cap && cand_less(h[l], h[m]))
            m = l;
        if (r < cap && cand_less(h[r], h[m]))
            m = r;
        if (m == i)
            break;
        cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* ---------------- reallocation ---------------- */

rw_status rw_resize_arrays(const rw_arr_ref *refs, size_t nrefs, size_t old_n,
                          size_t new_n, const char *what, rw_error *err)
{
    void *fresh[RW_CONN_MAX];
    size_t keep = old_n < new_n ? old_n : new_n;
    for (size_t i = 0; i < nrefs; i++) {
        fresh[i] = NULL;
        if (!*refs[i].p)
            continue;
        fresh[i] = rw_alloc(new_n, refs[i].size, what, err);
        if (!fresh[i]) {
            for (size_t j = 0; j < i; j++)
                rw_free(fresh[j]);
            return RW_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < nrefs; i++) {
        if (!fresh[i])
            continue;
        unsigned char *dst = fresh[i];
        memcpy(dst, *refs[i].p, keep * refs[i].size);
        memset(dst + keep * refs[i].size, 0, (new_n - keep) * refs[i].size);
        rw_free(*refs[i].p);
        *refs[i].p = fresh[i];
    }
    return RW_OK;
}

/* Every per-connection array, gradient and index included. */
static size_t conn_refs(rw_layer *L, rw_arr_ref *r)
{
    size_t n = 0;
    for (size_t i = 0; i < rw_conn_array_count; i++)
        r[n++] = (rw_arr_ref){rw_conn_ptr(L, &rw_conn_arrays[i]),
                              rw_conn_arrays[i].size};
    return n;
}

rw_status rw_layer_resize_conns(rw_layer *L, size_t n, rw_error *err)
{
    rw_arr_ref r[RW_CONN_MAX];
    size_t nr = conn_refs(L, r);
    return rw_resize_arrays(r, nr, L->nw, n, "connections", err);
}
