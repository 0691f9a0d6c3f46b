/*
 * Internal structures shared by the library's parts. Not installed.
 *
 * Shape convention (used in every file):
 *   B = batch, I = layer inputs, O = layer outputs.
 *   Activations inside the library are FEATURE-MAJOR: a layer's output is
 *   an O x B row-major matrix, one contiguous row of B batch values per
 *   neuron. Dense weights are O x I row-major. Sparse weights are stored as
 *   compressed rows: output o owns connections row_ptr[o] .. row_ptr[o+1]-1,
 *   each joining input col[k] with weight w[k]. Per-connection state
 *   (gradient, optimizer moments, traces) is parallel to w.
 *
 * Floors: base (error, rng, alloc, gemm) < layers (dense, sparse,
 * activation) < net (loss, optim, net) < plasticity/data/model file < train.
 */
#ifndef RW_INTERNAL_H
#define RW_INTERNAL_H

#include "rewire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hot loops are compiled for AVX-512, AVX2 and a baseline, and the loader
 * picks the best clone for the CPU at run time (no -march=native needed). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(RW_NO_CLONES)
#define RW_HOT                                                                 \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RW_HOT
#endif

/* 16 floats as one value: GCC/clang vector extensions give portable SIMD
 * that each RW_HOT clone compiles to zmm, ymm or xmm instructions. */
typedef float rw_v16 __attribute__((vector_size(64)));
/* Always inlined, so each helper takes the instruction set (and the
 * calling convention for 64-byte vectors) of the clone that uses it. */
#define RW_VINLINE static inline __attribute__((always_inline))
RW_VINLINE rw_v16 rw_v16_load(const float *p)
{
    rw_v16 v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
RW_VINLINE void rw_v16_store(float *p, rw_v16 v)
{
    __builtin_memcpy(p, &v, sizeof v);
}
RW_VINLINE rw_v16 rw_v16_splat(float x)
{
    rw_v16 v = {0};
    return v + x;
}
/* Sum of the 16 lanes in a fixed order. */
RW_VINLINE float rw_v16_sum(rw_v16 v)
{
    float s = 0.0f;
    for (int i = 0; i < 16; i++)
        s += v[i];
    return s;
}

/* Leaky ReLU's slope for negative inputs (activation.c, the kernels). */
#define RW_LEAKY_SLOPE 0.01f

/* ---------------- base: errors (error.c) ---------------- */

/* Fills err (if not NULL) with status and a printf-style message and
 * returns the status, so callers can `return rw_fail(err, ...)`. The
 * arguments may include err->msg itself, to prefix context to it. */
rw_status rw_fail(rw_error *err, rw_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------- base: checked allocation (alloc.c) ---------------- */

/* a*b in size_t; returns false on overflow. */
bool rw_mul_ok(size_t a, size_t b, size_t *out);
/* 64-byte aligned allocation of n elements of `size` bytes each; NULL and
 * err filled (stating the bytes requested and `what`) on failure or
 * overflow. zeroed variants clear the memory. Free with rw_free. */
void *rw_alloc(size_t n, size_t size, const char *what, rw_error *err);
void *rw_calloc(size_t n, size_t size, const char *what, rw_error *err);
void rw_free(void *p);
/* Test hook: the n-th rw_alloc from now (1 = the next one) fails with
 * RW_ERR_NOMEM; 0 cancels. Not thread-safe; tests use it to drive every
 * failure path of an operation. */
void rw_alloc_fail_after(unsigned long n);

/* ---------------- base: GEMM wrapper (gemm.c) ---------------- */

/* Row-major C = alpha * op(A) * op(B) + beta * C, op = transpose when
 * trans_x is 'T'. M x N result, K inner. Threads: the shared OpenMP pool. */
void rw_sgemm(char trans_a, char trans_b, size_t M, size_t N, size_t K,
              float alpha, const float *A, size_t lda, const float *B,
              size_t ldb, float beta, float *C, size_t ldc);
/* Plain triple-loop reference used by tests. */
void rw_sgemm_ref(char trans_a, char trans_b, size_t M, size_t N, size_t K,
                  float alpha, const float *A, size_t lda, const float *B,
                  size_t ldb, float beta, float *C, size_t ldc);

/* ---------------- base: CRC32 (zlib) ---------------- */
uint32_t rw_crc32(uint32_t crc, const void *buf, size_t len);

/* ---------------- base: time ---------------- */
double rw_now(void); /* monotonic seconds */

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
     * row t_row[] of each connection leaving i. Rebuilt after rewiring. */
    size_t *tcol_ptr; /* in+1 */
    uint32_t *t_k, *t_row;
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
} rw_layer;

struct rw_net {
    rw_net_config cfg;
    size_t n_layers;
    rw_layer layers[RW_MAX_LAYERS];
    float *shift, *scale; /* input transform, NULL when none */
    size_t batch_cap;     /* activation buffers hold this many samples */
    size_t cur_batch;     /* samples in the last forward pass */
    float *x0;            /* transformed input batch, I x batch_cap */
    /* rw_net_layer_view's copies of the sparse input indices without the
     * RW_COL_INITIAL flag (NULL until asked for), view_cap entries each. */
    uint32_t *view_cols[RW_MAX_LAYERS];
    size_t view_cap[RW_MAX_LAYERS];
    uint64_t step;        /* optimizer steps taken (Adam bias correction) */
    /* The activation and error buffers hold the forward and backward pass
     * of one batch (rw_net_gradient, a training step): RigL and Hebbian
     * growth read them. Cleared by any other pass or a buffer change. */
    int grads_ready;
    rw_optim_kind moments_for; /* which optimizer owns m1/m2 */
    int has_moments;
    /* Adam bias corrections 1 - beta^t for t < bc_len: bc_tab[t] for beta1,
     * bc_tab[bc_len + t] for beta2; built for bc_b1, bc_b2 (optim.c). */
    float *bc_tab;
    size_t bc_len;
    double bc_b1, bc_b2;
    /* Maintenance state (maintain.c): CBP utilities, ages, the L2 Init
     * anchor; NULL until a method needs it. Not cloned, not saved. */
    struct rw_maint *maint;
};

/* Layer lifecycle (dense.c / sparse.c / net.c) */
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
 * it is rewired (weights first, then optimizer moments, traces, ...);
 * returns the count (at most 16). */
size_t rw_layer_parallel_arrays(rw_layer *L, float **arrs);
/* Rebuilds the transposed index of a sparse layer from its CSR arrays. */
void rw_sparse_build_transpose(rw_layer *L);
/* Bytes of randomly read rows above which the sparse passes tile the batch
 * (sparse.c); 0 restores the default (no tiling). Forward results do not
 * depend on it; weight gradients may differ in rounding. Tests and
 * benchmarks set it. */
void rw_sparse_set_block_bytes(size_t bytes);

/* Helpers shared by rewiring, pruning and neuron turnover (rewire.c). A
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

/* Forward: a = act(W x + b), x is I x B feature-major. Softmax handled by
 * the loss. They write only L->a (and read the rest of L), so
 * rw_net_predict_with runs them on shallow copies of a layer whose `a`
 * points at the caller's workspace. */
void rw_dense_forward(rw_layer *L, const float *x, size_t B);
void rw_sparse_forward(rw_layer *L, const float *x, size_t B);
/* Backward given L->d (dL/dz, O x B): accumulates gw, gb (overwrite) and
 * writes dx (I x B, may be NULL for the first layer). */
void rw_dense_backward(rw_layer *L, const float *x, float *dx, size_t B);
void rw_sparse_backward(rw_layer *L, const float *x, float *dx, size_t B);

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
/* Softmax over each column of a C x B feature-major buffer, in place. */
void rw_softmax_columns(float *a, size_t C, size_t B);
/* Row index of the largest value in column b. */
size_t rw_argmax_column(const float *a, size_t C, size_t B, size_t b);

/* Net internals (net.c) */
rw_status rw_net_reserve_batch(rw_net *net, size_t B, rw_error *err);
/* Copies n samples (rows of x, row-major) into net->x0 feature-major,
 * applying the input transform. */
void rw_net_load_batch(rw_net *net, const float *x, const size_t *idx,
                       size_t n);
/* Same into columns col0 .. col0+n-1 of a batch of width B (mixing two
 * sources, e.g. new data and rehearsal, in one batch). */
void rw_net_load_batch_at(rw_net *net, const float *x, const size_t *idx,
                          size_t n, size_t col0, size_t B);
void rw_net_forward_batch(rw_net *net, size_t B);
void rw_net_backward_batch(rw_net *net, size_t B);
/* Initialise weights of layer l from the config (He/Xavier), seeded. */
void rw_net_init_weights(rw_net *net, rw_rng *rng);
/* Per-connection Adam step counts saturate here (floats count exactly up
 * to 2^24). */
#define RW_ADAM_STEP_MAX 16777216.0f
/* Allocates (zeroed) optimizer moments for `kind` if not present; Adam's
 * step counts start at 0 with fresh moments, and at the global step for
 * moments that exist without counts (a model file from before them). */
rw_status rw_net_ensure_moments(rw_net *net, rw_optim_kind kind,
                                rw_error *err);
/* Global L2 norm of all gradients, and scaling by a factor. */
double rw_net_grad_norm(const rw_net *net);
void rw_net_scale_grads(rw_net *net, float f);
/* Returns the index of the first layer whose weights or gradients hold a
 * non-finite value, or -1. */
int rw_net_find_nonfinite(const rw_net *net);

/* ---------------- training (train.c) ---------------- */
/* Learning rate for 0-based epoch `epoch0` at `progress` (0..1) of all
 * steps; drop fraction of rewiring at `progress`. */
double rw_schedule_lr(const rw_train_config *cfg, size_t epoch0,
                      double progress);
double rw_schedule_drop(const rw_train_config *cfg, double progress);

/* Plasticity hooks (plasticity.c), called by the training loop:
 * begin: allocate what the config needs; after_backward: update traces
 * and add use-dependent decay to the gradients; after_step: pruning on its
 * schedule and permanence; epoch_end: neuron turnover. */
rw_status rw_plasticity_begin(rw_net *net, const rw_train_config *cfg,
                              rw_error *err);
void rw_plasticity_after_backward(rw_net *net, const rw_train_config *cfg,
                                  size_t B);
rw_status rw_plasticity_after_step(rw_net *net, const rw_train_config *cfg,
                                   size_t step, size_t total_steps,
                                   rw_epoch_stats *es, rw_error *err);
rw_status rw_plasticity_epoch_end(rw_net *net, const rw_train_config *cfg,
                                  size_t epoch, rw_rng *rng,
                                  rw_epoch_stats *es, rw_error *err);
/* Hebbian growth for rewire.c: fills keys (sorted o*in+i) with the n most
 * co-active pairs of layer l (pre = layer l-1's activity) that are
 * unconnected once the `dropped` connections marked in drop[] (nw flags,
 * NULL for none) are gone. Changes nothing in the network. */
rw_status rw_grow_hebbian(rw_net *net, size_t l, const unsigned char *drop,
                          size_t dropped, uint64_t *keys, size_t n,
                          rw_error *err);

/* Pruning (prune.c). Density of the cubic schedule (Zhu and Gupta 2017)
 * at `progress` in [0,1] from d0 to df: df + (d0 - df) (1 - progress)^3.
 * rw_prune_layer removes up to nw - target connections of a sparse layer,
 * lowest score first (|w|, credit or |coact| by kind, times 1 + keep; ties
 * by |w|, then storage order), skipping connections whose permanence is at
 * or above `perm_threshold` (pass a negative threshold to protect none).
 * Never removes more than asked; returns the number removed. */
double rw_prune_density_at(double d0, double df, double progress);
size_t rw_prune_layer(rw_layer *L, rw_prune_kind kind, size_t target,
                      double perm_threshold);

/* Neuron turnover (neurons.c). remove: deletes the hidden neurons of layer
 * l flagged in mask[0..out) (row of layer l, column of layer l+1, every
 * parallel array), folding the constant output of a neuron without inputs
 * (and the mean output of a silent ReLU/sigmoid neuron when fold_silent)
 * into layer l+1's biases. add: appends n fresh neurons to hidden layer l,
 * with random inputs and zero outgoing weights, so the outputs do not
 * change. Both keep net->cfg and the activation buffers in step. */
rw_status rw_neurons_remove(rw_net *net, size_t l, const unsigned char *mask,
                            int fold_silent, rw_error *err);
rw_status rw_neurons_add(rw_net *net, size_t l, size_t n, rw_rng *rng,
                         rw_error *err);
/* Reallocates every per-connection array of L (weights, gradients,
 * moments, traces, col, transposed index) to hold n entries, keeping the
 * first min(n, old) of each. On failure nothing is changed. */
rw_status rw_layer_resize_conns(rw_layer *L, size_t n, rw_error *err);

/* Consolidation hooks (consolidation.c): begin allocates state;
 * after_gradient keeps SI's copy of the task gradient (call it right after
 * the backward pass, before anything else changes the gradients);
 * after_backward adds the penalty gradient; after_step accumulates the SI
 * path integral from the kept task gradient. */
rw_status rw_consolidation_begin(rw_net *net, const rw_train_config *cfg,
                                 rw_error *err);
void rw_consolidation_after_gradient(rw_net *net, const rw_train_config *cfg);
void rw_consolidation_after_backward(rw_net *net, const rw_train_config *cfg);
void rw_consolidation_after_step(rw_net *net, const rw_train_config *cfg);
/* Task-incremental masking (consolidation.c): `p` holds softmax
 * probabilities (C x B feature-major); in each column b only the classes
 * whose group equals that of labels[b] keep their probability, renormalised
 * to sum 1 (uniform over the group if all underflowed). */
void rw_mask_class_groups(float *p, const int32_t *labels,
                          const int32_t *groups, size_t C, size_t B);

/* Maintenance (maintain.c), called by the training loop like the
 * plasticity hooks: begin allocates (state persists across rw_train calls
 * on the same network); after_backward updates CBP's utilities and ReDo's
 * activity from the batch and adds L2 Init's gradient; after_step does
 * S&P, CBP replacement and ReDo on their schedules (step is 1-based). */
struct rw_maint;
void rw_maint_free(struct rw_maint *s);
rw_status rw_maintain_begin(rw_net *net, const rw_train_config *cfg,
                            rw_error *err);
void rw_maintain_after_backward(rw_net *net, const rw_train_config *cfg,
                                size_t B);
rw_status rw_maintain_after_step(rw_net *net, const rw_train_config *cfg,
                                 size_t step, rw_rng *rng, rw_epoch_stats *es,
                                 rw_error *err);
/* L2 Init's penalty lambda ||p - p0||^2 (0 for other methods). */
double rw_maintain_penalty(const rw_net *net, const rw_train_config *cfg);
/* Re-initialises hidden unit j of layer l: He-uniform incoming weights (a
 * sparse row gets as many fresh random inputs), bias 0, outgoing weights
 * 0, fresh optimizer state for all of them; with `compensate` the next
 * layer's biases absorb w_out times the unit's CBP mean activation. */
rw_status rw_maintain_reinit_unit(rw_net *net, size_t l, size_t j,
                                  int compensate, rw_rng *rng, rw_error *err);
/* The diagnostics of an epoch (train.c): fills es's dormant_fraction,
 * effective_rank and mean_abs_w on the first cfg->maintain.probe samples
 * of `ds` (NaN where off or too large). */
rw_status rw_diagnose_epoch(rw_net *net, const rw_dataset *ds,
                            const rw_train_config *cfg, rw_epoch_stats *es,
                            rw_error *err);
/* Mean |w| of a layer's existing weights (diagnostics.c). */
double rw_layer_mean_abs_w(const rw_layer *L);

/* ---------------- model file sections (model_io.c) ---------------- */
/* rw_net_save plus one extra section `tag` (4 bytes) holding `payload`. */
rw_status rw_net_save_with(const rw_net *net, const char *path,
                           const char tag[4], const void *payload,
                           size_t len, rw_error *err);
/* Reads `path`, verifies it as a model file (CRC included) and returns a
 * copy of the payload of section `tag` (free with rw_free); RW_ERR_FORMAT
 * when the file has no such section. */
rw_status rw_model_read_section(const char *path, const char tag[4],
                                void **payload, size_t *len, rw_error *err);

/* ---------------- datasets ---------------- */

struct rw_dataset {
    size_t n, f;          /* samples, features */
    size_t classes;       /* 0 for regression */
    size_t targets;       /* regression outputs (0 for classification) */
    float *x;             /* n x f */
    int32_t *labels;      /* n, or NULL for regression */
    float *y;             /* n x targets, or NULL */
    size_t img_h, img_w;  /* 0 when not image data */
    const char *const *class_names; /* static table or NULL */
    char name[256];
    int borrowed;         /* x, labels, y belong to the caller (wrap) */
};

/* Allocates an empty dataset with room for n x f features (+labels when
 * classes > 0, or targets; neither for unlabelled data). */
rw_dataset *rw_dataset_alloc(size_t n, size_t f, size_t classes,
                             size_t targets, rw_error *err);

#endif /* RW_INTERNAL_H */
