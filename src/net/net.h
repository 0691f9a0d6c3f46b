/*
 * The net floor (src/net/): a stack of layers as one network: its
 * lifecycle, batches, forward and backward passes (net.c), the optimizers
 * that step all of its weights (optim.c) and evaluation (evaluate.c).
 * Not installed.
 */
#ifndef RW_NET_H
#define RW_NET_H

#include "layers/layers.h"
#include "data/data.h"

/* Label columns a model file may name: 0 .. RW_MAX_LABEL_COLUMN - 1. */
#define RW_MAX_LABEL_COLUMN (1u << 24)

struct rw_net {
    rw_net_config cfg;
    size_t n_layers;
    rw_layer layers[RW_MAX_LAYERS];
    float *shift, *scale; /* input transform, NULL when none */
    /* Where the training CSV held the labels: 0 the last column (the
     * default, so that a zeroed net has it), k + 1 column k. Saved in the
     * DATA section when not 0. */
    uint32_t label_code;
    size_t batch_cap;     /* activation buffers hold this many samples */
    rw_precision precision; /* of the rows sparse layers gather */
    /* bf16 scratch of the sparse layers (layers.h: rw_layer.h) at
     * RW_PRECISION_BF16: rw_net_half_rows x batch_cap values; else NULL. */
    uint16_t *h16;
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
     * anchor; NULL until a method needs it. Not cloned, not in model
     * files; a checkpoint keeps it (rw_maint_view below). */
    struct rw_maint *maint;
    /* Frees `maint`; set by maintain.c with it, so that the net floor frees
     * the state without knowing it (rw_net_free). */
    void (*maint_free)(struct rw_maint *);
};

/* The maintenance state of a run as plain arrays, so that the checkpoint
 * (io/checkpoint.c) saves and restores it without knowing its owner
 * (plasticity/maintain.c, its neighbour): rw_maintain_view fills it with
 * pointers into the live state, sized by the network, which the checkpoint
 * reads on write and fills on resume. NULL: absent. */
typedef struct rw_maint_layer_view {
    size_t units, in;             /* the layer's outputs and inputs */
    double *util, *fmean, *hmean; /* per unit (hidden layers): CBP's utility
                                   * and mean output, the last batch's mean
                                   * |h| (ReDo) */
    uint64_t *age;                /* per unit: steps since (re)initialised */
    double *acc;                  /* CBP: replacements owed (one value) */
    float *p0w, *p0b;             /* L2 Init's anchor: in x units dense-
                                   * indexed, and units biases */
} rw_maint_layer_view;
typedef struct rw_maint_view {
    size_t n_layers;  /* 0: the run keeps no maintenance state */
    int *hmean_ready; /* hmean holds the last batch */
    rw_maint_layer_view l[RW_MAX_LAYERS];
} rw_maint_view;

/* Net internals (net.c) */
/* The widest max(inputs, outputs) of the sparse layers, 0 when none: the
 * rows of bf16 scratch a batch column needs. */
size_t rw_net_half_rows(const rw_net *net);
rw_status rw_net_reserve_batch(rw_net *net, size_t B, rw_error *err);
/* Whether a batch of B keeps the threads awake: some layer's pass is large
 * enough to share them (rw_par_min_work(), base.h). Then the batch's
 * smaller passes, the gather and a narrow dense layer, share them too from
 * RW_STEP_PAR_MIN, so that the other thread does not fall asleep between
 * the large ones (5% benchmark network: 0.82x the time, with the
 * optimizer's dynamic chunks 0.83x against both static); in a network
 * whose every pass is small they would wake it each time (1%: 1.66x). The
 * answer depends on the network and B alone, never on the threads, so
 * the bits do not depend on the threads either. */
bool rw_net_pool_awake(const rw_net *net, size_t B);
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
/* One layer of the backward pass, the one every backward pass runs: given
 * layer l's d (dL/dz, O x B), its weight and bias gradients on input x
 * (I x B: the layer below's activations, or net->x0, in the ordinary
 * pass), and with `propagate` the error of the layer below (its d, through
 * its activation's derivative). With `propagate`, x must be the layer
 * below's activations: a dense layer and a sparse one whose kernels apply
 * the derivative read it from x. */
void rw_net_backward_layer(rw_net *net, size_t l, const float *x, size_t B,
                           bool propagate);
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
/* Sum of squares of n floats in double, in fixed chunks (the same for any
 * thread count). */
double rw_sum_squares_f32(const float *a, size_t n);
/* The fused order: every layer's weights (nw values), then its biases
 * (out values), layer after layer, as the ranks sum and shard them.
 * rw_net_fused_range calls fn(ctx, L, bias, a, e, pos) for each array that
 * [lo, hi) meets: the layer, whether it is the biases, the indices [a, e)
 * of the array inside the range (a < e) and the array's start pos in the
 * fused order. */
typedef void (*rw_fused_fn)(void *ctx, rw_layer *L, int bias, size_t a,
                            size_t e, size_t pos);
void rw_net_fused_range(rw_net *net, size_t lo, size_t hi, rw_fused_fn fn,
                        void *ctx);
/* rw_net_step on the parameters at [lo, hi) of the fused order (each
 * layer's weights, then its biases) alone, with their gradients taken
 * from g in that order (or from the layers' own if g is NULL): one rank's
 * share of a sharded step (dist.c). The step count advances as in a whole
 * step. */
rw_status rw_net_step_range(rw_net *net, const rw_optim_config *opt, double lr,
                            size_t lo, size_t hi, const float *g, rw_error *err);
void rw_net_scale_grads(rw_net *net, float f);
/* Returns the index of the first layer whose weights or gradients hold a
 * non-finite value, or -1. */
int rw_net_find_nonfinite(const rw_net *net);

/* One source of a batch's labels (classification) or row-major targets
 * (regression): samples idx[0..n), or off .. off+n-1 when idx is NULL. */
typedef struct rw_batch_src {
    const int32_t *labels;
    const float *y;
    const size_t *idx;
    size_t off, n;
} rw_batch_src;
/* The loss of the last forward pass over the samples of src[0..nsrc), in
 * their order (W = the sum of their n): gathers their labels into
 * labels[W] or their targets, feature-major, into targets[C x W] (a lone
 * in-place source of labels needs no buffer), keeps only the classes of a
 * sample's own group when `groups` is set (rw_mask_class_groups), and
 * with `grad` writes the output error dL/dz into the output layer's d.
 * *correct (may be NULL) gets the argmax hits, 0 for regression. */
double rw_net_batch_loss(rw_net *net, const rw_batch_src *src, size_t nsrc,
                         const int32_t *groups, int32_t *labels, float *targets,
                         bool grad, size_t *correct);

#endif /* RW_NET_H */
