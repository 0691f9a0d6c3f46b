/*
 * The layers floor (src/layers/): one layer at a time. Dense and sparse
 * layers (dense.c, sparse.c, kernels/), what every layer kind shares and the
 * topology edits on compressed rows (layer.c, topology.c), activations and
 * losses (and the task-incremental masking of their outputs). Not installed.
 *
 * Shape convention (used in every file):
 *   B = batch, I = layer inputs, O = layer outputs.
 *   Activations inside the library are FEATURE-MAJOR: a layer's output is
 *   an O x B row-major matrix, one contiguous row of B batch values per
 *   neuron. Dense weights are O x I row-major. Sparse weights are stored as
 *   compressed rows: output o owns connections row_ptr[o] .. row_ptr[o+1]-1,
 *   each joining input col[k] with weight w[k]. Per-connection state
 *   (gradient, optimizer moments, traces) is parallel to w.
 */
#ifndef RW_LAYERS_H
#define RW_LAYERS_H

#include "base/base.h"

#include <string.h>

/* ---------------- layers ---------------- */

#define RW_COL_MASK 0x7fffffffu  /* low 31 bits of col[]: input index */
#define RW_COL_INITIAL 0x80000000u /* top bit: connection existed at init */

typedef struct rw_layer {
    rw_layer_kind kind;
    rw_activation act;
    size_t in, out;

    size_t nw;      /* number of weights: in*out (dense) or nnz (sparse) */
    float *w, *gw;  /* weights and their gradients, nw each */
    float *b, *gb;  /* biases and their gradients, out each */
    float *m1, *m2; /* optimizer moments parallel to w (NULL until used) */
    float *bm1, *bm2;
    /* Adam: optimizer steps each weight (bias) has taken since its moments
     * started at zero, for its own bias correction; whole numbers held in
     * float (exact up to RW_ADAM_STEP_MAX), parallel to w (b). */
    float *mstep, *bmstep;

    /* sparse topology (NULL for dense) */
    size_t *row_ptr;  /* out+1 */
    uint32_t *col;    /* nw; input index | RW_COL_INITIAL flag */
    /* transposed index for the input-gradient pass: for input i, entries
     * tcol_ptr[i] .. tcol_ptr[i+1]-1 give the CSR position t_k[] and output
     * row t_row[] of each connection leaving i, and t_pos[k] is the
     * position in this index of CSR connection k. Rebuilt after rewiring.
     * The backward pass writes the weight gradient in this order, into
     * gwt, where each thread's inputs own a contiguous range, and then
     * gathers it into gw in CSR order (gw[k] = gwt[t_pos[k]]): written in
     * CSR order at once, the lines of gw were shared by the threads. */
    size_t *tcol_ptr; /* in+1 */
    uint32_t *t_k, *t_row, *t_pos;
    float *gwt;
    /* Optional per-connection state, parallel to w (NULL when unused);
     * rewiring moves it with its connection and new connections start at 0.
     *   credit: EMA of |pre activation x post error|   (plasticity.c)
     *   coact:  EMA of pre x post activity              (plasticity.c)
     *   perm:   permanence, consolidation by use        (plasticity.c)
     *   imp:    importance (EWC Fisher / SI omega)      (consolidation.c)
     *   anchor: weights at the end of the last task     (consolidation.c)
     *   si_path, si_prev: SI path integral, last weights (consolidation.c)
     *   keep:   protection >= 0; rewiring drops by |w| * (1 + keep) */
    float *credit, *coact, *perm, *imp, *anchor, *si_path, *si_prev, *keep;
    /* SI scratch: the task gradient of the current step (nw weights, then
     * out biases), taken before any penalty, decay or clipping; holds
     * si_grad_cap floats (consolidation.c). */
    float *si_grad;
    size_t si_grad_cap;
    /* Optional per-neuron state (out entries). */
    float *activity;      /* EMA of mean |a| over the batch */
    uint32_t *silent;     /* consecutive silent epochs */
    /* Usage-aware drop (maintain.c): EMA of mean |x_i| of each input,
     * in_usage_n entries (== in when valid); rewiring's drop key is then
     * |w| * in_usage[input], so a connection from an unused input goes
     * first. NULL when unused. */
    float *in_usage;
    size_t in_usage_n;
    /* Consolidation state of the biases (consolidation.c), 4 x out:
     * importance, anchor, SI path integral, SI last value; NULL unused. */
    float *bstate;
    size_t initial_nnz;   /* connections at initialisation */
    size_t initial_alive; /* of those, still present */

    /* activations, feature-major, capacity out x batch_cap */
    float *a;  /* post-activation output */
    float *d;  /* error w.r.t. pre-activation (dL/dz) after backward */
    /* Sparse layers at bf16 precision (rw_net_set_precision): scratch for
     * max(in, out) x batch_cap bf16 values, owned by the network (or a
     * workspace) and shared by its layers. The forward pass rounds its
     * input x into it and gathers those rows; the backward pass does the
     * same with d. Every sum stays fp32, and a, d, the weights and the
     * gradients stay fp32 too. NULL: the rows are read as fp32. */
    uint16_t *h;
} rw_layer;

/* x rounded to bfloat16 (the top 16 bits of a float), to nearest with ties
 * to even; a NaN stays a quiet NaN. rw_bf16_round gives the float it
 * stands for. The kernels' to_bf16 computes the same. */
static inline uint16_t rw_bf16_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u | 0x00400000u) >> 16);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float rw_bf16_round(float x)
{
    uint32_t u = (uint32_t)rw_bf16_bits(x) << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Every per-connection array of a layer (nw entries, parallel to w), in
 * one table (layer.c) that freeing, cloning, reallocation, compaction,
 * rewiring, neuron turnover and the model file all walk: a new
 * per-connection array is one line there. The roles: */
enum {
    RW_CONN_WEIGHT, /* the weights, always first */
    RW_CONN_GRAD,   /* their gradient: rebuilt each step, not moved */
    RW_CONN_STATE,  /* optimizer, trace and consolidation state: moves with
                     * its connection and starts at 0 for a new one */
    RW_CONN_INDEX   /* the topology: col, the transposed index (uint32_t) */
};
/* Flags of the model file's TRCE section (docs/model-format.md) for the
 * per-connection traces; the per-neuron ones are the file's own. */
#define RW_TRCE_CREDIT 1u
#define RW_TRCE_COACT 2u
#define RW_TRCE_PERM 4u
typedef struct rw_conn_array {
    size_t offset;     /* offsetof(rw_layer, field) of its pointer */
    size_t size;       /* element size: sizeof(float) or sizeof(uint32_t) */
    int role;          /* RW_CONN_* */
    uint32_t trce;     /* RW_TRCE_* when the model file keeps it as a usage
                        * trace, else 0 */
    float lo, hi;      /* a trace's valid range in a model file */
    const char *what;  /* its name in messages */
} rw_conn_array;
extern const rw_conn_array rw_conn_arrays[];
extern const size_t rw_conn_array_count;
/* Where entry a's pointer lives in layer L. */
static inline void **rw_conn_ptr(rw_layer *L, const rw_conn_array *a)
{
    return (void **)((char *)L + a->offset);
}
static inline const void *rw_conn_get(const rw_layer *L, const rw_conn_array *a)
{
    return *(void *const *)((const char *)L + a->offset);
}

/* Layer lifecycle (dense.c / sparse.c / layer.c) */
rw_status rw_layer_init_dense(rw_layer *L, size_t in, size_t out,
                              rw_activation act, rw_error *err);
/* Allocates a sparse layer with exactly `nnz` connections chosen uniformly
 * at random (sorted, unique per row); weights are left for init. */
rw_status rw_layer_init_sparse(rw_layer *L, size_t in, size_t out,
                               size_t nnz, rw_activation act, rw_rng *rng,
                               rw_error *err);
/* Allocates the arrays of a sparse layer with exactly `nnz` connections
 * (w, col, t_k, t_row, row_ptr, tcol_ptr uninitialised; gw, b, gb zeroed)
 * and checks the index limits; the caller fills the topology and calls
 * rw_sparse_build_transpose. On failure the layer is left empty. */
rw_status rw_layer_alloc_sparse(rw_layer *L, size_t in, size_t out,
                                size_t nnz, rw_activation act, rw_error *err);
void rw_layer_free(rw_layer *L);
/* Lists the per-connection float arrays that move with a connection when
 * it is rewired (rw_conn_arrays' WEIGHT and STATE entries that exist:
 * weights first, then optimizer moments, traces, ...); returns the count
 * (at most RW_CONN_MAX). */
#define RW_CONN_MAX 24
size_t rw_layer_parallel_arrays(rw_layer *L, float **arrs);
/* An array to reallocate: where its pointer lives and its element size. */
typedef struct rw_arr_ref {
    void **p;
    size_t size;
} rw_arr_ref;
/* Reallocates every non-NULL array of refs (at most RW_CONN_MAX) from old_n to
 * new_n entries, keeping the first min(old_n, new_n) and zeroing the
 * rest. All or nothing: on failure every array is left as it was. */
rw_status rw_resize_arrays(const rw_arr_ref *refs, size_t nrefs, size_t old_n,
                           size_t new_n, const char *what, rw_error *err);
/* Reallocates every per-connection array of L (weights, gradients,
 * moments, traces, col, transposed index) to hold n entries, keeping the
 * first min(n, old) of each. On failure nothing is changed. */
rw_status rw_layer_resize_conns(rw_layer *L, size_t n, rw_error *err);
/* Rebuilds the transposed index of a sparse layer from its CSR arrays. */
void rw_sparse_build_transpose(rw_layer *L);
/* Bytes of randomly read rows above which the sparse passes tile the batch
 * (sparse.c); 0 restores the default (no tiling). Forward results do not
 * depend on it; weight gradients may differ in rounding. Tests and
 * benchmarks set it. */
void rw_sparse_set_block_bytes(size_t bytes);
/* Rows of more than `bytes` (0: the default, 2 MiB) count as streaming
 * from memory, for the kernels' streaming build (tests). */
void rw_sparse_set_stream_bytes(size_t bytes);

/* Helpers shared by rewiring, pruning and neuron turnover (topology.c). A
 * connection to remove gets col[k] = RW_COL_DROPPED; rw_sparse_compact then
 * removes the marked entries, moving every parallel array with them, and
 * returns the new count (row_ptr updated; L->nw and the transposed index
 * are left to the caller). */
#define RW_COL_DROPPED 0xffffffffu
size_t rw_sparse_compact(rw_layer *L);
/* k-th smallest (0-based) of v[0..n) by quickselect; reorders v. */
float rw_select_kth(float *v, size_t n, size_t k);
/* Whether row o of a sparse layer holds input i (binary search); the
 * _live variant counts a connection marked in drop[] (nw flags, or NULL)
 * as absent. */
bool rw_sparse_row_has(const rw_layer *L, size_t o, uint32_t i);
bool rw_sparse_row_has_live(const rw_layer *L, const unsigned char *drop,
                            size_t o, uint32_t i);
/* Bounded min-heap keeping the `cap` largest scores (ties: smaller key
 * wins), used to pick the positions to grow. */
typedef struct rw_cand {
    float score;
    uint64_t key;
} rw_cand;
void rw_heap_push_top(rw_cand *h, size_t *size, size_t cap, rw_cand c);

/* Standard deviation of fresh normal weights: He sqrt(2 / fan_in) or
 * Xavier sqrt(2 / (fan_in + fan_out)); RW_INIT_AUTO picks He for ReLU and
 * leaky ReLU, Xavier otherwise (layer.c). */
double rw_init_std(rw_init init, rw_activation act, double fan_in,
                   double fan_out);

/* Forward: a = act(W x + b), x is I x B feature-major. A sparse layer
 * leaves softmax to its caller (rw_softmax_columns); a dense layer applies
 * it over each column itself, so that with `share` (below) each thread
 * takes the columns of its own piece. They write only L->a (and read the
 * rest of L), so
 * rw_net_predict_with runs them on shallow copies of a layer whose `a`
 * points at the caller's workspace. */
void rw_dense_forward(rw_layer *L, const float *x, size_t B, bool share);
void rw_sparse_forward(rw_layer *L, const float *x, size_t B);
/* Backward given L->d (dL/dz, O x B): accumulates gw, gb (overwrite) and
 * writes dx (I x B, may be NULL for the first layer). With `share`, a
 * dense layer too small for the GEMM library's threads still splits its
 * products between two (dense.c): for a caller whose other passes keep the
 * threads awake (the network's batches, rw_net_pool_awake). The dense
 * layer takes dx through the derivative of xact, the activation whose
 * output x is (RW_ACT_IDENTITY: the plain input error). */
void rw_dense_backward(rw_layer *L, const float *x, float *dx, size_t B,
                       bool share, rw_activation xact);
void rw_sparse_backward(rw_layer *L, const float *x, float *dx, size_t B);
/* The same with dx taken through the derivative of xact, the activation
 * whose output x is, where the kernels do it as they store dx (ReLU, leaky
 * ReLU: rw_sparse_fuses_act_grad), so that no pass of rw_act_backward
 * follows; for any other xact, dx is the plain input error and the caller
 * applies the derivative. */
void rw_sparse_backward_act(rw_layer *L, const float *x, float *dx, size_t B,
                            rw_activation xact);
bool rw_sparse_fuses_act_grad(rw_activation act);

/* out[o] = sum of row o of the O x B matrix d, for o in [o0, o1), in a
 * fixed order (the bias gradients of both layer kinds). */
void rw_row_sums(const float *d, float *out, size_t o0, size_t o1, size_t B);

/* Plain reference versions (tests compare the two). */
void rw_sparse_forward_ref(const rw_layer *L, const float *x, float *z,
                           size_t B);
void rw_sparse_backward_ref(const rw_layer *L, const float *x,
                            const float *d, float *gw, float *gb, float *dx,
                            size_t B);

/* Activations (activation.c): in place on n values; derivative expressed
 * through the activation output a. */
void rw_act_forward(rw_activation act, float *v, size_t n);
/* d[i] *= act'(z[i]) computed from a[i] = act(z[i]). */
void rw_act_backward(rw_activation act, const float *a, float *d, size_t n);

/* Loss (loss.c): on the output layer's activations (feature-major C x B).
 * Cross-entropy applies softmax in place to `a` and writes
 * d = (softmax - onehot) / B. MSE writes d = 2 (a - t) / (B*C) (identity
 * output; other activations get multiplied by their derivative by the
 * caller). Return the mean loss; *correct counts argmax hits. */
double rw_loss_ce(float *a, const int32_t *labels, float *d, size_t C,
                  size_t B, size_t *correct);
double rw_loss_mse(const float *a, const float *t_featmajor, float *d,
                   size_t C, size_t B);
/* Task-incremental masking (loss.c): `p` holds softmax
 * probabilities (C x B feature-major); in each column b only the classes
 * whose group equals that of labels[b] keep their probability, renormalised
 * to sum 1 (uniform over the group if all underflowed). */
void rw_mask_class_groups(float *p, const int32_t *labels,
                          const int32_t *groups, size_t C, size_t B);
/* Softmax over each column of a C x B feature-major buffer, in place; the
 * range version over columns [j0, j1) alone. */
void rw_softmax_columns(float *a, size_t C, size_t B);
void rw_softmax_column_range(float *a, size_t C, size_t B, size_t j0,
                             size_t j1);
/* Row index of the largest value in column b. */
size_t rw_argmax_column(const float *a, size_t C, size_t B, size_t b);


#endif /* RW_LAYERS_H */
