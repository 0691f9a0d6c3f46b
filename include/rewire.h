/*
 * rewire: neural networks that rewire themselves while they learn.
 *
 * Public C11 API of librewire. Conventions used throughout:
 *   - Every function that can fail takes an `rw_error *err` as its last
 *     argument (may be NULL) and returns an rw_status (or NULL for creators).
 *     On failure `err->status` and `err->msg` describe what went wrong; the
 *     library never prints and never exits.
 *   - Every create/load has a matching free; freeing NULL does nothing.
 *   - Randomness comes only from an explicit rw_rng (seeded); the same seed,
 *     thread count and SIMD path (CPU type) give the same results. Other
 *     paths may differ in the last bits: the AVX2 and AVX-512 code fuses
 *     multiply-adds (built with -ffp-contract=fast), the generic code does
 *     not, and the GEMM library picks its kernels per CPU (README,
 *     Limitations).
 *   - Matrices passed in and out of the API are row-major, one sample per
 *     row (B x features), float32.
 */
#ifndef REWIRE_H
#define REWIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RW_VERSION_MAJOR 0
#define RW_VERSION_MINOR 1
#define RW_VERSION_PATCH 0
#define RW_VERSION_STRING "0.1.0"

/* Most layers a network may have (hidden layers plus the output layer). */
#define RW_MAX_LAYERS 16

/* ------------------------------------------------------------------ */
/* Status, errors                                                      */
/* ------------------------------------------------------------------ */

typedef enum rw_status {
    RW_OK = 0,
    RW_ERR_ARG,         /* invalid argument or option */
    RW_ERR_NOMEM,       /* allocation failed or size would overflow */
    RW_ERR_IO,          /* file could not be opened, read or written */
    RW_ERR_FORMAT,      /* file content is malformed or inconsistent */
    RW_ERR_DATA,        /* data does not fit the model (width, labels) */
    RW_ERR_DIVERGED,    /* NaN or infinity appeared during training, or
                         * in a prediction's outputs */
    RW_ERR_UNSUPPORTED, /* valid request the library cannot serve */
    RW_ERR_INTERRUPTED, /* a callback asked to stop */
    RW_ERR_DIST         /* ranks of a data-parallel run disagree */
} rw_status;

typedef struct rw_error {
    rw_status status;
    char msg[512];
} rw_error;

/* Short fixed description of a status ("invalid argument", ...). */
const char *rw_status_str(rw_status s);

/* Clears an error to RW_OK with an empty message. NULL is allowed. */
void rw_error_clear(rw_error *err);

/* ------------------------------------------------------------------ */
/* Runtime: threads and GEMM backend                                   */
/* ------------------------------------------------------------------ */

/* Sets the number of OpenMP threads (shared with the GEMM library) that
 * library calls made FROM THE CALLING THREAD use afterwards; it is
 * omp_set_num_threads, whose setting belongs to each thread. Other threads
 * keep their own count: the OMP_NUM_THREADS environment variable, else all
 * cores, until they call rw_set_threads themselves. A program that predicts
 * from several threads at once (rw_net_predict_with) may call
 * rw_set_threads(1) in each of them so that they do not oversubscribe the
 * cores. n <= 0 means all cores; more than RW_MAX_THREADS sets
 * RW_MAX_THREADS. Returns the count set. */
#define RW_MAX_THREADS 1024
int rw_set_threads(int n);
/* The thread count that library calls from the calling thread use. */
int rw_get_threads(void);
/* For programs that handle signals while the library works (a Ctrl-C
 * that stops training, a SIGTERM of a batch system): gives the calling
 * thread, and each thread of its OpenMP team at the current thread count,
 * an alternate signal stack where it has none (sigaltstack, 64 KiB each,
 * kept for the thread's life). Install the handlers with SA_ONSTACK.
 * Needed because the JIT GEMM kernels of oneDNN 2.6 (Debian 12's) keep
 * data below the stack pointer, which a handler that runs on the same
 * stack overwrites: the heap is then corrupted (measured: a loop of
 * dnnl_sgemm with an empty SIGUSR1 handler aborted in 4 of 4 runs, none
 * with the handler on an alternate stack). Call it again after raising
 * the thread count. RW_ERR_NOMEM when a stack cannot be set up. */
rw_status rw_signal_stack(rw_error *err);

/* Human-readable name of the GEMM library and the kernel it dispatches to
 * on this CPU, e.g. "oneDNN 2.6.3 (avx512_core)". Static storage. */
const char *rw_gemm_info(void);

/* Library version string, e.g. "0.1.0". */
const char *rw_version(void);

/* The SIMD path of the sparse kernels in use: "avx512" (AVX-512,
 * x86-64-v4), "avx2" (AVX2 + FMA, x86-64-v3) or "generic" (portable). By
 * default the best path this CPU runs; the environment variable RW_ISA
 * (avx512|avx2|generic|auto), read once on first use, forces one. A bad
 * RW_ISA makes rw_net_create, rw_net_load and rw_isa_check fail with its
 * message. Static storage. */
const char *rw_isa(void);

/* Forces the sparse kernels' path for the whole process: "avx512", "avx2",
 * "generic", or "auto"/NULL for the best one. Returns RW_ERR_UNSUPPORTED
 * (naming the paths this CPU runs) when the CPU cannot run it and RW_ERR_ARG
 * for an unknown name; the path in use is then unchanged. Overrides RW_ISA.
 * Call it while no other thread runs the library. Results are reproducible
 * for the same seed, thread count and path; two paths may differ in the last
 * bits (their sums over the batch are grouped by their vector width). */
rw_status rw_set_isa(const char *name, rw_error *err);

/* 1 if this CPU (and this build) can run the named path, else 0. */
int rw_isa_supported(const char *name);

/* RW_OK, or RW_ISA's error when the variable names a path this CPU cannot
 * run or no path at all. */
rw_status rw_isa_check(rw_error *err);

/* ------------------------------------------------------------------ */
/* Random numbers: xoshiro256** with explicit state                    */
/* ------------------------------------------------------------------ */

typedef struct rw_rng {
    uint64_t s[4];
} rw_rng;

void rw_rng_seed(rw_rng *rng, uint64_t seed);
uint64_t rw_rng_u64(rw_rng *rng);
/* Uniform integer in [0, n); n > 0. Unbiased. */
uint64_t rw_rng_below(rw_rng *rng, uint64_t n);
/* Uniform float in [0, 1). */
double rw_rng_uniform(rw_rng *rng);
/* Standard normal sample. */
double rw_rng_normal(rw_rng *rng);

/* ------------------------------------------------------------------ */
/* Network description                                                 */
/* ------------------------------------------------------------------ */

typedef enum rw_activation {
    RW_ACT_IDENTITY = 0,
    RW_ACT_RELU,
    RW_ACT_LEAKY_RELU, /* slope 0.01 for negative inputs */
    RW_ACT_SIGMOID,
    RW_ACT_TANH,
    RW_ACT_SOFTMAX /* output layer only, paired with RW_LOSS_CROSS_ENTROPY */
} rw_activation;

/* The name of an activation: "identity", "relu", "leaky_relu", "sigmoid",
 * "tanh" or "softmax"; "unknown" for a value outside the enum. The string
 * is static: never free it. */
const char *rw_activation_name(rw_activation act);
/* The activation called `name` (one of the names above, exactly) into
 * *act. Returns RW_OK, or RW_ERR_ARG with *act unchanged for NULL or an
 * unknown name. Softmax is accepted: it is the caller's to refuse it where
 * only a hidden activation fits. */
rw_status rw_activation_parse(const char *name, rw_activation *act);

typedef enum rw_layer_kind {
    RW_LAYER_DENSE = 0,
    RW_LAYER_SPARSE /* compressed rows: only existing connections stored */
} rw_layer_kind;

typedef enum rw_init {
    RW_INIT_AUTO = 0, /* He for relu-like activations, Xavier otherwise */
    RW_INIT_HE,
    RW_INIT_XAVIER
} rw_init;

typedef enum rw_loss {
    RW_LOSS_CROSS_ENTROPY = 0, /* softmax cross-entropy, integer labels */
    RW_LOSS_MSE                /* mean squared error, float targets */
} rw_loss;

typedef struct rw_layer_spec {
    size_t units;          /* output neurons of the layer */
    rw_activation act;
    rw_layer_kind kind;
    double density;        /* sparse layers: fraction of connections kept */
} rw_layer_spec;

typedef struct rw_net_config {
    size_t n_inputs;
    size_t n_layers; /* hidden layers + output layer, 1..RW_MAX_LAYERS */
    rw_layer_spec layers[RW_MAX_LAYERS];
    rw_loss loss;
    rw_init init;
    uint64_t seed; /* seeds weight and topology initialisation */
} rw_net_config;

/* Defaults: no layers, cross-entropy, auto init, seed 1. */
rw_net_config rw_net_config_defaults(void);

/* Fills a whole config (from rw_net_config_defaults(), so seed 1) for an
 * MLP: inputs -> hidden[0..n_hidden) -> outputs, all hidden layers with
 * `act`, output softmax (cross-entropy) or identity (MSE). Set the seed
 * and other fields afterwards. Returns RW_ERR_ARG on zero sizes or too many
 * layers. */
rw_status rw_net_config_mlp(rw_net_config *cfg, size_t n_inputs,
                            const size_t *hidden, size_t n_hidden,
                            size_t n_outputs, rw_activation act, rw_loss loss,
                            rw_error *err);

typedef enum rw_sparse_init {
    RW_SPARSE_ER = 0, /* Erdos-Renyi: density = eps*(in+out)/(in*out) (SET) */
    RW_SPARSE_ERK,    /* Erdos-Renyi-Kernel: ER scaled to a global density */
    RW_SPARSE_UNIFORM /* the same density in every sparse layer */
} rw_sparse_init;

/* Makes every hidden layer sparse (and the output layer too when
 * `include_output`), assigning densities by `mode`: for RW_SPARSE_ER `param`
 * is epsilon, for RW_SPARSE_ERK and RW_SPARSE_UNIFORM it is the overall
 * density in (0,1]. Under ER and ERK a layer whose density would reach 1
 * stays dense; RW_SPARSE_UNIFORM with 1 gives sparse layers holding every
 * connection. */
rw_status rw_net_config_sparsify(rw_net_config *cfg, rw_sparse_init mode,
                                 double param, int include_output,
                                 rw_error *err);

/* ------------------------------------------------------------------ */
/* Networks                                                            */
/* ------------------------------------------------------------------ */

typedef struct rw_net rw_net;

/* Creates and initialises a network. Returns NULL and fills err when the
 * config is invalid or memory cannot be had (the message states how much). */
rw_net *rw_net_create(const rw_net_config *cfg, rw_error *err);
void rw_net_free(rw_net *net);
/* Deep copy, including topology, optimizer state and traces. */
rw_net *rw_net_clone(const rw_net *net, rw_error *err);

size_t rw_net_inputs(const rw_net *net);
size_t rw_net_outputs(const rw_net *net);
size_t rw_net_layers(const rw_net *net);
const rw_net_config *rw_net_config_of(const rw_net *net);

typedef struct rw_layer_info {
    rw_layer_kind kind;
    rw_activation act;
    size_t inputs, outputs;
    size_t connections; /* existing weights (in*out for dense) */
    double density;     /* connections / (inputs*outputs) */
    size_t parameters;  /* connections + biases */
} rw_layer_info;

rw_status rw_net_layer_info(const rw_net *net, size_t layer,
                            rw_layer_info *out, rw_error *err);

/* Where the network's training data (CSV) held its labels, kept in model
 * files so that eval and predict read files of that layout without being
 * told again: RW_LABEL_LAST (the default) or a 0-based column. The setter
 * refuses other values (RW_ERR_ARG). */
rw_status rw_net_set_label_column(rw_net *net, int column, rw_error *err);
int rw_net_label_column(const rw_net *net);

/* The precision of the rows that sparse layers gather through their
 * connections: every connection reads a row of batch values, the layer's
 * input (forward) or an output's error (backward). RW_PRECISION_BF16
 * rounds those rows to bfloat16 once per pass, which halves the bytes the
 * connections read: layers too large for the caches, whose rows come from
 * memory, run up to twice as fast. The products are summed in fp32, and
 * the weights, biases, gradients, optimizer state and every layer's
 * activations and errors stay fp32 (mixed precision, as with PyTorch's
 * bf16 autocast, which also rounds the weights). The first layer's weight
 * gradients and every bias gradient read the fp32 values. Dense layers
 * are not changed. It applies to every pass of the network: training,
 * evaluation and prediction (a workspace made before the change is refused
 * by rw_net_predict_with). The default is RW_PRECISION_FP32. Not saved in
 * model files or checkpoints: a run sets it again. The scratch it needs,
 * max(inputs, outputs) x batch bf16 values of the widest sparse layer, is
 * taken at once for the batch the network's buffers hold (RW_ERR_NOMEM,
 * the precision unchanged, when it cannot be had), or with them at the
 * first pass. Safe between the batches of a training run (from a
 * progress callback). */
typedef enum rw_precision {
    RW_PRECISION_FP32 = 0,
    RW_PRECISION_BF16 = 1
} rw_precision;
rw_status rw_net_set_precision(rw_net *net, rw_precision precision,
                               rw_error *err);
rw_precision rw_net_precision(const rw_net *net);
/* "fp32" or "bf16"; NULL for another value. rw_precision_parse takes the
 * same names (RW_ERR_ARG naming the text otherwise). */
const char *rw_precision_name(rw_precision precision);
rw_status rw_precision_parse(const char *name, rw_precision *out,
                             rw_error *err);
/* Total trainable parameters (weights + biases). */
size_t rw_net_parameters(const rw_net *net);
/* Total connections (weights) across all layers. */
size_t rw_net_connections(const rw_net *net);

/* Per-feature input transform applied before the first layer:
 * x' = (x - shift[i]) * scale[i]. Arrays have rw_net_inputs() entries and
 * are copied. Passing NULLs removes the transform. */
rw_status rw_net_set_input_transform(rw_net *net, const float *shift,
                                     const float *scale, rw_error *err);
/* Returns 1 and pointers to internal arrays when a transform is set. */
int rw_net_input_transform(const rw_net *net, const float **shift,
                           const float **scale);

/* Number of classes (outputs) for classifiers; 0 for MSE networks. */
size_t rw_net_classes(const rw_net *net);

/* Runs the network on `n` samples (row-major n x inputs) and writes the
 * outputs (n x outputs): probabilities for classifiers, raw values for
 * regression. Applies the input transform. RW_ERR_DIVERGED, naming the
 * sample, when an output is not finite (weights or values too large for
 * float: a NaN is never returned as a prediction); rw_net_evaluate and
 * rw_net_predict_with check the same.
 * Not thread-safe on one network: the activations go to scratch buffers
 * inside `net` (as for rw_net_evaluate, rw_net_gradient and training), so
 * two calls on the same network must not overlap. To predict from several
 * threads at once, use rw_net_predict_with. */
rw_status rw_net_predict(rw_net *net, const float *x, size_t n, float *out,
                         rw_error *err);

/* Scratch memory for rw_net_predict_with: the activations of `batch`
 * samples (0: a default of up to 256, fewer for very wide networks). Made
 * for `net`'s shape; create it again after neurons are added. One
 * workspace serves one thread at a time. NULL with err set on failure.
 * Free with rw_workspace_free (NULL does nothing). */
typedef struct rw_workspace rw_workspace;
rw_workspace *rw_workspace_create(const rw_net *net, size_t batch,
                                  rw_error *err);
void rw_workspace_free(rw_workspace *ws);

/* rw_net_predict that only reads `net`: the activations go to `ws`, in
 * passes of the workspace's batch. Any number of threads may call it at
 * the same time on the same network, each with its own workspace, as long
 * as nothing changes the network meanwhile (training, rewiring, pruning,
 * loading weights into it). The outputs equal rw_net_predict's for the
 * same passes (a workspace of batch 256 against a network that has not
 * trained) and the same thread count. RW_ERR_ARG when the workspace does
 * not fit the network. */
rw_status rw_net_predict_with(const rw_net *net, rw_workspace *ws,
                              const float *x, size_t n, float *out,
                              rw_error *err);

/* Direct access to a layer's parameters, for tests and tools. For dense
 * layers `weights` is outputs x inputs row-major and `cols`/`row_ptr` are
 * NULL; for sparse layers connection k of output o (row_ptr[o] <= k <
 * row_ptr[o+1]) joins input cols[k] (< inputs) with weight weights[k].
 * `weights`, `bias`, the gradients and `row_ptr` point into the network;
 * `cols` is a copy kept in the network, valid until the next
 * rw_net_layer_view of the same layer, a change of topology (training,
 * rewiring, pruning, neuron turnover) or rw_net_free. Whether a connection
 * has existed since initialisation is not part of the view; the share of
 * the initial connections still present is rw_net_initial_share. Fails
 * with RW_ERR_NOMEM when the copy cannot be made. */
typedef struct rw_layer_view {
    rw_layer_kind kind;
    size_t inputs, outputs, connections;
    float *weights, *bias;
    float *grad_weights, *grad_bias; /* gradients from the last backward */
    const size_t *row_ptr;
    const uint32_t *cols;
} rw_layer_view;
rw_status rw_net_layer_view(rw_net *net, size_t layer, rw_layer_view *out,
                            rw_error *err);

/* One forward + backward pass on a mini-batch without updating weights;
 * gradients are left in the layers (see rw_layer_view). For
 * cross-entropy `labels` holds n class indices and `targets` is NULL; for
 * MSE `targets` holds n x outputs values. Writes the mean loss and, for
 * classifiers, the number of correct predictions. */
rw_status rw_net_gradient(rw_net *net, const float *x, const int32_t *labels,
                          const float *targets, size_t n, double *loss,
                          size_t *correct, rw_error *err);

/* ------------------------------------------------------------------ */
/* Optimizers                                                          */
/* ------------------------------------------------------------------ */

typedef enum rw_optim_kind {
    RW_OPT_SGD = 0,
    RW_OPT_MOMENTUM, /* heavy-ball; nesterov flag for Nesterov */
    RW_OPT_ADAM,
    RW_OPT_ADAMW
} rw_optim_kind;

typedef struct rw_optim_config {
    rw_optim_kind kind;
    double momentum;     /* momentum methods; default 0.9 */
    int nesterov;        /* momentum: use Nesterov's update */
    double beta1, beta2; /* Adam: defaults 0.9, 0.999 */
    double eps;          /* Adam: default 1e-8 */
    double weight_decay; /* L2 (coupled) for sgd/momentum/adam, decoupled
                            for adamw; applied to weights, not biases */
    /* Adam's bias correction 1 - beta^t. 0 (default): t counts the steps
     * of each weight and bias since its moments started at zero, so a
     * connection grown by rewiring starts like a fresh Adam. 1: t is the
     * network's global step for every parameter, as before per-parameter
     * counts (and as PyTorch's per-tensor step does): a connection grown
     * late then takes steps of 3 to 6 times the learning rate for its
     * first hundred steps. */
    int adam_global_steps;
} rw_optim_config;

rw_optim_config rw_optim_defaults(rw_optim_kind kind);

/* Applies one update with learning rate `lr` from the gradients currently
 * held in the net (rw_net_gradient). State (moments) lives in the net,
 * parallel to each connection, so rewiring moves it with the weights. The
 * step counter is kept in the net too, and for Adam/AdamW each weight and
 * bias also counts its own steps for the bias correction (see
 * adam_global_steps). RW_ERR_ARG for an unknown optimizer or a negative or
 * non-finite lr, RW_ERR_NOMEM when the state cannot be allocated; the
 * weights are unchanged on error. */
rw_status rw_net_step(rw_net *net, const rw_optim_config *opt, double lr,
                      rw_error *err);

/* ------------------------------------------------------------------ */
/* Datasets                                                            */
/* ------------------------------------------------------------------ */

typedef struct rw_dataset rw_dataset;

typedef enum rw_split { RW_SPLIT_TRAIN = 0, RW_SPLIT_TEST } rw_split;

typedef enum rw_label_column {
    RW_LABEL_LAST = -1,
    RW_LABEL_FIRST = 0
    /* any value >= 0 names a 0-based column */
} rw_label_column;

typedef struct rw_data_options {
    int label_column;  /* CSV: the column holding the class label or the
                          regression target: RW_LABEL_LAST (default),
                          RW_LABEL_FIRST or a 0-based index */
    int regression;    /* CSV: the label column holds a float regression
                          target (one per sample), not a class */
    int no_labels;     /* CSV: every column is a feature; the dataset has
                          no labels or targets (rw_dataset_classes and
                          rw_dataset_targets are 0, rw_dataset_labels and
                          rw_dataset_y NULL), for prediction only: training
                          and evaluation refuse it. label_column and
                          regression are ignored. */
    size_t synth_samples; /* built-in datasets: samples per split (0=auto) */
    uint64_t synth_seed;  /* built-in datasets: generator seed */
} rw_data_options;

rw_data_options rw_data_options_defaults(void);

/* Opens a dataset from a SPEC:
 *   - a built-in name: "fashion-mnist" (Debian package
 *     dataset-fashion-mnist), "mnist" (if installed), "spirals", "moons",
 *     "blobs", "xor";
 *   - a CSV file path (".csv", optional header, label column per opts,
 *     or no label column with opts->no_labels);
 *   - an IDX pair "IMAGES,LABELS" (raw or .gz).
 * `split` chooses the train or test part of named datasets (CSV and IDX
 * files ignore it). Errors name the file, the line or byte offset and what
 * was expected. */
rw_dataset *rw_dataset_open(const char *spec, rw_split split,
                            const rw_data_options *opts, rw_error *err);
/* Builds a dataset from memory (copied). labels may be NULL when targets
 * is given (regression); n_classes 0 means regression. */
rw_dataset *rw_dataset_from_arrays(const float *x, const int32_t *labels,
                                   const float *targets, size_t n,
                                   size_t n_features, size_t n_targets,
                                   size_t n_classes, rw_error *err);
/* Same checks as rw_dataset_from_arrays, but borrows the arrays instead of
 * copying them: they must stay alive and unchanged until the dataset is
 * freed (rw_dataset_free then frees only the handle). For bindings that
 * hand over arrays they already own (the Python package). */
rw_dataset *rw_dataset_wrap(const float *x, const int32_t *labels,
                            const float *targets, size_t n,
                            size_t n_features, size_t n_targets,
                            size_t n_classes, rw_error *err);
void rw_dataset_free(rw_dataset *ds);

size_t rw_dataset_size(const rw_dataset *ds);
size_t rw_dataset_features(const rw_dataset *ds);
/* 0 for regression and unlabelled data */
size_t rw_dataset_classes(const rw_dataset *ds);
/* outputs for regression, else 0 */
size_t rw_dataset_targets(const rw_dataset *ds);
/* Row-major features (n x features) and labels (n) or targets (NULL when
 * the dataset has none). */
const float *rw_dataset_x(const rw_dataset *ds);
const int32_t *rw_dataset_labels(const rw_dataset *ds);
const float *rw_dataset_y(const rw_dataset *ds);
/* Image shape for image data (height, width), 0 when not an image. */
void rw_dataset_image_shape(const rw_dataset *ds, size_t *h, size_t *w);
/* Marks the samples as h x w images (h * w must be the feature count), or
 * as not images with 0, 0; standardisation treats image pixels together
 * (rw_dataset_fit_standardize). For bindings that rebuild a dataset from
 * arrays (rw_dataset_wrap) and must match rw_dataset_open's. */
rw_status rw_dataset_set_image_shape(rw_dataset *ds, size_t h, size_t w,
                                     rw_error *err);
/* Name of class c, or NULL when the dataset has no names. */
const char *rw_dataset_class_name(const rw_dataset *ds, size_t c);
/* Short description ("fashion-mnist train: 60000 x 784, 10 classes"). */
const char *rw_dataset_name(const rw_dataset *ds);
/* A CSV file whose first line was taken as a header (a field that is not
 * a number): that line's number, and in *numbers and *fields how many of
 * its fields are numbers and how many it has. A header of names has no
 * numbers; a data line with a typo ("1,,0") has some, and the program may
 * warn that it was dropped. 0 when the data had no header. */
size_t rw_dataset_csv_header(const rw_dataset *ds, size_t *numbers,
                             size_t *fields);

/* Splits off the last `fraction` of a shuffled copy (seeded) as a second
 * dataset; `rest` receives the remaining samples. Both are new. */
rw_status rw_dataset_split(const rw_dataset *ds, double fraction,
                           uint64_t seed, rw_dataset **rest,
                           rw_dataset **held_out, rw_error *err);
/* New dataset with the samples whose indices are listed (copied). */
rw_dataset *rw_dataset_subset(const rw_dataset *ds, const size_t *idx,
                              size_t n, rw_error *err);

/* Fits a per-feature standardisation on `ds` (mean, 1/std with a floor on
 * std) and writes it into arrays of rw_dataset_features() entries. */
rw_status rw_dataset_fit_standardize(const rw_dataset *ds, float *shift,
                                     float *scale, rw_error *err);

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */
/* ------------------------------------------------------------------ */

typedef struct rw_eval_result {
    double loss;
    double accuracy; /* 0..1, classifiers only */
    size_t samples;
    size_t correct;
} rw_eval_result;

/* Evaluates on a dataset. When `confusion` is not NULL it receives a
 * classes x classes matrix of counts (row = true class, column =
 * predicted). Uses the scratch buffers inside `net`, like rw_net_predict:
 * not to be called on one network from two threads at once. */
rw_status rw_net_evaluate(rw_net *net, const rw_dataset *ds,
                          rw_eval_result *out, size_t *confusion,
                          rw_error *err);

/* ------------------------------------------------------------------ */
/* Rewiring (sparse layers)                                            */
/* ------------------------------------------------------------------ */

typedef enum rw_rewire_kind {
    RW_REWIRE_NONE = 0,
    RW_REWIRE_SET,    /* drop smallest |w| (per sign), grow at random */
    RW_REWIRE_RIGL,   /* drop smallest |w|, grow at largest |gradient| */
    RW_REWIRE_HEBBIAN /* drop smallest |w|, grow between the most co-active
                         unconnected pairs (needs usage traces) */
} rw_rewire_kind;

typedef struct rw_rewire_stats {
    size_t dropped, grown;
} rw_rewire_stats;

/* Rewires every sparse layer once: drops `fraction` of its connections and
 * grows the same number. SET drops per sign and counts exact zeros with
 * the positive weights (so a connection grown at zero is the first to go).
 * RigL and Hebbian growth use the batch of the last rw_net_gradient call
 * (its layer inputs and output errors, or activations); a forward pass
 * since then (rw_net_predict, rw_net_evaluate, a change of the neurons)
 * replaces those buffers, and the call is refused with RW_ERR_ARG. New
 * connections start at weight 0 (RigL, Hebbian) or small random values
 * (SET: a tenth of the He scale), with fresh optimizer state; survivors
 * keep theirs. `stats` may be NULL or an array of rw_net_layers() entries.
 * Transactional: on any error (RW_ERR_ARG for an unknown `kind` or a bad
 * fraction, RW_ERR_NOMEM) the network and *rng are exactly as they were. */
rw_status rw_net_rewire(rw_net *net, rw_rewire_kind kind, double fraction,
                        rw_rng *rng, rw_rewire_stats *stats, rw_error *err);

/* Share of layer `layer`'s initial connections that still exist (1 for
 * dense layers). */
double rw_net_initial_share(const rw_net *net, size_t layer);

/* ------------------------------------------------------------------ */
/* Training                                                            */
/* ------------------------------------------------------------------ */

typedef enum rw_schedule {
    RW_SCHED_CONSTANT = 0,
    RW_SCHED_STEP,  /* lr * gamma^(epoch / step_epochs) */
    RW_SCHED_COSINE /* lr * (1 + cos(pi * progress)) / 2 to lr_min */
} rw_schedule;

typedef struct rw_epoch_stats {
    size_t epoch;       /* 1-based */
    double train_loss, train_accuracy;
    double test_loss, test_accuracy; /* NaN when no test set */
    double seconds;     /* training steps only */
    double lr;
    size_t connections;
    size_t layer_connections[RW_MAX_LAYERS];
    double layer_density[RW_MAX_LAYERS];
    size_t layer_neurons[RW_MAX_LAYERS];
    size_t dropped[RW_MAX_LAYERS], grown[RW_MAX_LAYERS];
    double initial_share[RW_MAX_LAYERS];
    double drop_fraction; /* rewiring fraction used this epoch */
    size_t pruned[RW_MAX_LAYERS];          /* connections pruned */
    size_t neurons_removed[RW_MAX_LAYERS]; /* neurons removed */
    size_t neurons_added[RW_MAX_LAYERS];   /* neurons regrown */
    /* Diagnostics on the probe set (maintain.probe; NaN when off), per
     * layer: dormant fraction and effective rank of hidden layers, mean
     * |w| of every layer; units replaced or recycled by maintenance. */
    double dormant_fraction[RW_MAX_LAYERS];
    double effective_rank[RW_MAX_LAYERS];
    double mean_abs_w[RW_MAX_LAYERS];
    size_t units_reset[RW_MAX_LAYERS];
} rw_epoch_stats;

typedef struct rw_progress {
    size_t epoch, epochs;
    size_t batch, batches;
    double loss, accuracy; /* running means over the epoch so far */
    double samples_per_second;
    double seconds; /* elapsed in this epoch */
} rw_progress;

/* Progress callback, called after every batch; return non-zero to stop. */
typedef int (*rw_progress_fn)(const rw_progress *p, void *user);
/* Epoch callback, called after each epoch (after rewiring and testing). */
typedef int (*rw_epoch_fn)(const rw_epoch_stats *s, void *user);

/* Use it or lose it: usage traces, pruning, neuron turnover. */
typedef enum rw_prune_kind {
    RW_PRUNE_NONE = 0,
    RW_PRUNE_MAGNITUDE, /* smallest |w| first */
    RW_PRUNE_USAGE,     /* smallest credit trace first */
    RW_PRUNE_HEBBIAN    /* smallest co-activation trace first */
} rw_prune_kind;

typedef struct rw_plasticity_config {
    int traces;            /* keep usage traces (implied by the rules below
                              that need them) */
    double trace_rate;     /* EMA rate per step (default 0.01) */
    rw_prune_kind prune;
    double prune_to;       /* target density of the pruned layers */
    double prune_start;    /* cubic schedule start, fraction of training
                              (default 0.1) */
    double prune_end;      /* schedule end (default 0.7); fine-tuning after */
    size_t prune_every;    /* steps between pruning events (default 50) */
    double usage_decay;    /* use-dependent weight decay strength (0 = off) */
    int permanence;        /* consolidation by use, with hysteresis */
    double perm_up, perm_down, perm_threshold; /* defaults 0.05, 0.01, 0.1 */
    int neuron_turnover;   /* remove neurons without inputs or outputs, or
                              silent for `silent_epochs` epochs */
    size_t silent_epochs;  /* default 2 */
    double silent_level;   /* activity below this counts as silent (1e-3) */
    int regrow_neurons;    /* add fresh neurons to layers that lost some */
} rw_plasticity_config;

rw_plasticity_config rw_plasticity_defaults(void);

/* Learn it or lose it: consolidation of what earlier tasks needed. */
typedef enum rw_consolidation_kind {
    RW_CONSOLIDATE_NONE = 0,
    RW_CONSOLIDATE_EWC, /* online elastic weight consolidation */
    RW_CONSOLIDATE_SI   /* synaptic intelligence */
} rw_consolidation_kind;

typedef struct rw_consolidation_config {
    rw_consolidation_kind kind;
    double lambda;         /* penalty strength (EWC lambda, SI c) */
    double gamma;          /* online EWC decay of old Fisher (default 1) */
    double si_xi;          /* SI damping (default 0.1) */
    size_t fisher_samples; /* EWC samples for the Fisher (default 1000) */
    int protect_rewiring;  /* important connections are dropped last
                              (default 1) */
    double protect_strength; /* rewiring drops by |w| (1 + keep) with keep =
                                strength * importance / mean importance of
                                the layer (default 10) */
} rw_consolidation_config;

rw_consolidation_config rw_consolidation_defaults(void);

/* Keeping the ability to learn (loss of plasticity, Dohare et al. 2024):
 * methods that maintain a network over a long stream of data (maintain.c). */
typedef enum rw_maintain_kind {
    RW_MAINTAIN_NONE = 0,
    RW_MAINTAIN_CBP,   /* continual backprop: replace low-utility units */
    RW_MAINTAIN_REDO,  /* recycle dormant neurons every redo_every steps */
    RW_MAINTAIN_SNP,   /* shrink and perturb: p <- lambda p + sigma eps */
    RW_MAINTAIN_L2INIT /* penalty lambda ||p - p0||^2 toward the init */
} rw_maintain_kind;

typedef struct rw_maintain_config {
    rw_maintain_kind kind;
    /* CBP: utility decay (0.99), maturity threshold in steps (100),
     * replacement rate per eligible unit and step (1e-4), and the
     * "adaptable contribution" utility instead of "contribution" (0). */
    double cbp_eta;
    size_t cbp_maturity;
    double cbp_rho;
    int cbp_adaptable;
    /* ReDo: steps between recycling (1000) and the dormancy threshold on
     * the score mean|h_i| / mean_j mean|h_j| over the batch (0.1). */
    size_t redo_every;
    double redo_tau;
    /* Shrink and perturb: lambda (0.999), sigma (1e-4); every step, or
     * only at task boundaries with snp_at_task (the one method that is
     * told where a task begins: rw_continual_run applies it). */
    double snp_lambda, snp_sigma;
    int snp_at_task;
    /* L2 Init: lambda (1e-3); p0 is the network when maintenance first
     * ran on it (rw_train's first call). */
    double l2_lambda;
    /* Diagnostics of each epoch (rw_epoch_stats): probe samples taken
     * from the start of the training set (1000; 0: off) and the dormancy
     * threshold tau (0: dead units only). */
    size_t probe;
    double dormant_tau;
} rw_maintain_config;

rw_maintain_config rw_maintain_defaults(void);

typedef struct rw_train_config {
    size_t epochs;           /* default 10 */
    size_t batch;            /* default 128 */
    double lr;               /* default 0.001 for Adam, 0.01 otherwise */
    rw_optim_config optim;
    rw_schedule schedule;    /* default constant */
    double lr_min;           /* cosine floor, default 0 */
    size_t step_epochs;      /* step schedule period, default 3 */
    double step_gamma;       /* step schedule factor, default 0.1 */
    double clip_grad;        /* global gradient-norm clip; 0 = off */
    uint64_t seed;           /* shuffling and rewiring */
    rw_rewire_kind rewire;
    double drop_fraction;    /* default 0.3 */
    size_t rewire_every;     /* steps between rewirings; 0 = each epoch */
    int drop_schedule_cosine;/* decay drop fraction with a cosine */
    double rewire_stop;      /* fraction of training after which topology
                                is frozen; default 1 (never) */
    int drop_by_usage;       /* SET/RigL drop by contribution |w| * mean
                                |input| (an EMA at plasticity.trace_rate
                                per step), so connections from unused
                                inputs go first; default 0 */
    rw_plasticity_config plasticity;
    rw_consolidation_config consolidation;
    rw_maintain_config maintain; /* CBP, ReDo, S&P, L2 Init, diagnostics */
    /* Rehearsal: when set, every mini-batch of new data gets
     * `replay_batch` samples drawn (seeded) from `replay` added to it;
     * replay_batch 0 means `batch` samples (as in rw_continual_config). */
    const rw_dataset *replay;
    size_t replay_batch;
    /* Task-incremental learning: NULL, or one group id per class; each
     * sample's softmax then runs only over the classes in its label's
     * group (the task is known), e.g. {0,0,1,1,...} for tasks of two
     * classes. See rw_tasks_class_groups. */
    const int32_t *class_groups;
    /* Checkpoints: the complete training state (network, topology,
     * optimizer state, traces, RNG, epoch, step and sample order) is
     * written atomically to `checkpoint_path` every `checkpoint_every`
     * steps (0: after each epoch). A checkpoint is also a model file.
     * A path whose folder cannot be written is refused (RW_ERR_IO) before
     * the first step, not at the first checkpoint. */
    const char *checkpoint_path;
    size_t checkpoint_every;
    /* Resume: continue the run saved in this checkpoint. The net passed to
     * rw_train must be the one loaded from it with rw_net_load, and the
     * data and settings must be the run's own: a fingerprint of every
     * setting that changes the trajectory (the full 64-bit seed included)
     * and of the training and rehearsal data (sizes and CRC32) is checked,
     * RW_ERR_ARG otherwise. Not checked, as they do not change the result:
     * the test set, threads, checkpoint settings and callbacks. The result
     * equals the uninterrupted run bit for bit. A checkpoint does not hold
     * consolidation state, so resuming with consolidation is refused
     * (RW_ERR_UNSUPPORTED). A checkpoint of a run that had finished all
     * its epochs trains nothing: the result then has epochs_trained 0, the
     * test figures of the network as it stands and NaN training figures
     * (the run's last ones are not kept). */
    const char *resume_path;
    rw_progress_fn on_progress;
    rw_epoch_fn on_epoch;
    void *user;
} rw_train_config;

rw_train_config rw_train_defaults(void);

typedef struct rw_train_result {
    size_t epochs;        /* epochs of the run done, resumed ones included */
    double train_seconds; /* time in training steps only */
    double samples_per_second;
    double final_train_loss, final_train_accuracy; /* NaN: none trained */
    double test_loss, test_accuracy; /* NaN when no test set */
    size_t epochs_trained; /* by this call (0: a finished run resumed) */
} rw_train_result;

/* Trains `net` on `train` for cfg->epochs epochs, evaluating on `test` (may
 * be NULL) after each. Returns RW_ERR_DIVERGED with the epoch, step and layer
 * in the message when a NaN or infinity appears, RW_ERR_INTERRUPTED when a
 * callback returns non-zero. */
rw_status rw_train(rw_net *net, const rw_dataset *train,
                   const rw_dataset *test, const rw_train_config *cfg,
                   rw_train_result *result, rw_error *err);

/* ------------------------------------------------------------------ */
/* Model files                                                         */
/* ------------------------------------------------------------------ */

/* Saves the network (architecture, weights, topology, input transform,
 * seed) to `path` atomically: a temporary file in the same folder is
 * written, flushed, fsynced and renamed. A successful save also removes
 * the temporary files ("<path>.tmp.<pid>") of earlier writers of `path`
 * killed mid-write: those of processes not running on this machine,
 * untouched for 10 minutes. On failure the previous file is
 * intact. Format: docs/model-format.md. */
rw_status rw_net_save(const rw_net *net, const char *path, rw_error *err);
/* Whether a model or checkpoint can be written to `path`, found before
 * the work that produces it: it creates and removes the temporary file
 * that a save renames into place ("<path>.tmp.<pid>"). RW_ERR_ARG for an
 * empty or too long path, RW_ERR_IO naming the path and the cause (a
 * folder, a missing folder, no permission) otherwise; `what` ("model",
 * "checkpoint") is named in the message. rw_train checks its
 * checkpoint_path this way. */
rw_status rw_check_writable(const char *path, const char *what, rw_error *err);
/* Loads a network saved by rw_net_save. Every count is checked against the
 * bytes that remain before anything is allocated; the CRC32 is verified. */
rw_net *rw_net_load(const char *path, rw_error *err);
/* Same, from a memory buffer (used by the fuzzers). `name` is used in
 * messages. */
rw_net *rw_net_load_buffer(const void *buf, size_t len, const char *name,
                           rw_error *err);

/* ------------------------------------------------------------------ */
/* Continual learning                                                  */
/* ------------------------------------------------------------------ */

/* Ends a task for consolidation (cfg->consolidation): EWC computes the
 * diagonal Fisher information on `task` (the task's training data) and
 * folds it into the importance (F = gamma * F_old + F_task); SI turns the
 * path integral gathered during training into importance. Both then anchor
 * the parameters at their current values, and with protect_rewiring each
 * sparse layer's keep factors become protect_strength * importance / mean
 * importance, so that rewiring drops important connections last. The Fisher is the empirical
 * one: the mean over up to fisher_samples samples (drawn with `rng`) of
 * the squared per-sample gradient of the training loss at the true label,
 * with cfg->class_groups applied. Per-sample gradients cost two extra
 * backward passes per batch (squared errors times squared inputs). `task`
 * may be NULL for SI; for EWC every label must lie in 0 .. outputs-1
 * (RW_ERR_DATA otherwise, with nothing changed). Nothing happens for
 * RW_CONSOLIDATE_NONE. */
rw_status rw_consolidation_end_task(rw_net *net, const rw_dataset *task,
                                    const rw_train_config *cfg, rw_rng *rng,
                                    rw_error *err);

/* Current consolidation penalty: EWC lambda/2 * sum F (p - anchor)^2, SI
 * c * sum imp (p - anchor)^2 over weights and biases (c = c->lambda). 0
 * when the network holds no consolidation state. */
double rw_consolidation_penalty(const rw_net *net,
                                const rw_consolidation_config *c);

/* Sum of the importance held by the network's existing connections (what
 * rewiring can take away). 0 without consolidation state. */
double rw_consolidation_importance(const rw_net *net);

/* ---- Task sequences ---- */

typedef struct rw_tasks rw_tasks;

/* Domain-incremental: `k` tasks, each applying its own seeded permutation
 * of the features to every sample of `train` and `test`. Test sets are
 * built at once; a task's training set is built when asked for (see
 * rw_tasks_train), so `train` must outlive the sequence. NULL on error. */
rw_tasks *rw_tasks_permuted(const rw_dataset *train, const rw_dataset *test,
                            size_t k, uint64_t seed, rw_error *err);
/* Class-incremental: the classes in label order in groups of `per_task`
 * ({0,1}, {2,3}, ... for 2), one task per group (the last may be smaller).
 * `train` must outlive the sequence, as above. */
rw_tasks *rw_tasks_split(const rw_dataset *train, const rw_dataset *test,
                         size_t per_task, rw_error *err);
/* An empty sequence, for rw_tasks_add. */
rw_tasks *rw_tasks_create(rw_error *err);
/* Appends a task; `train` and `test` are copied. All tasks must have the
 * same number of features and be classification data. `name` may be NULL
 * ("task N"). */
rw_status rw_tasks_add(rw_tasks *t, const char *name, const rw_dataset *train,
                       const rw_dataset *test, rw_error *err);
void rw_tasks_free(rw_tasks *t);

size_t rw_tasks_count(const rw_tasks *t);
size_t rw_tasks_features(const rw_tasks *t);
/* Classes over all tasks (the output layer's size). */
size_t rw_tasks_classes(const rw_tasks *t);
/* Short name of task i ("classes 0,1", "permutation 2", a file name). */
const char *rw_tasks_name(const rw_tasks *t, size_t i);
const rw_dataset *rw_tasks_test(const rw_tasks *t, size_t i);
/* Training set of task i. Generated tasks are built on demand into a
 * one-task cache: the pointer stays valid until the next call for another
 * task or rw_tasks_free. NULL with err set on failure. */
const rw_dataset *rw_tasks_train(rw_tasks *t, size_t i, rw_error *err);
/* Task-incremental groups: fills `groups` (rw_tasks_classes entries) with
 * the task that owns each class (-1 for classes no task uses). Fails with
 * RW_ERR_DATA when two tasks share a class. */
rw_status rw_tasks_class_groups(const rw_tasks *t, int32_t *groups,
                                rw_error *err);

/* ---- Rehearsal memory: a uniform sample of everything seen ---- */

typedef struct rw_memory rw_memory;

/* A memory of at most `capacity` samples of `features` features with
 * class labels (< classes). NULL on error. */
rw_memory *rw_memory_create(size_t capacity, size_t features, size_t classes,
                            rw_error *err);
void rw_memory_free(rw_memory *m);
/* Offers every sample of `ds`, in order, to the memory (reservoir
 * sampling, Algorithm R): while not full each sample is kept; after that
 * the n-th sample offered overall replaces a random slot with probability
 * capacity / n. At any time the memory is a uniform sample of all samples
 * offered. */
rw_status rw_memory_add(rw_memory *m, const rw_dataset *ds, rw_rng *rng,
                        rw_error *err);
size_t rw_memory_size(const rw_memory *m);     /* samples held */
size_t rw_memory_capacity(const rw_memory *m);
uint64_t rw_memory_seen(const rw_memory *m);   /* samples offered */
/* 0-based position in the stream of offered samples of the sample held
 * in `slot` (< rw_memory_size). */
uint64_t rw_memory_origin(const rw_memory *m, size_t slot);
/* A dataset view of the samples held, for rw_train_config.replay. Owned by
 * the memory (do not free it); valid until the next rw_memory_add. */
const rw_dataset *rw_memory_dataset(const rw_memory *m);

/* ---- Running a sequence ---- */

typedef struct rw_task_report {
    size_t task, tasks;       /* 0-based index of the task just trained */
    const double *accuracy;   /* accuracy on every task now (tasks entries) */
    double seconds;           /* training time of this task */
    size_t epochs;
    double train_loss, train_accuracy; /* last epoch (rehearsal included) */
    double penalty;           /* consolidation penalty at the end of training */
    double importance_kept;   /* share of the importance held before this
                                 task that rewiring left in place (NaN when
                                 there was none) */
    size_t memory;            /* samples in the rehearsal memory */
    double online_accuracy;   /* one pass (online): accuracy on each batch
                                 before its step; NaN otherwise */
    const double *dormant, *effective_rank, *mean_abs_w; /* layers entries */
} rw_task_report;

/* Called after each task (after evaluation); non-zero stops the run. */
typedef int (*rw_task_fn)(const rw_task_report *r, void *user);

typedef struct rw_continual_config {
    /* Training of every task: epochs per task, optimizer, rewiring,
     * plasticity and consolidation (train.consolidation). Task t trains
     * with seed train.seed + t. The optimizer state carries over. */
    rw_train_config train;
    size_t memory;       /* rehearsal: samples kept over all tasks (0: none) */
    size_t replay_batch; /* rehearsal samples per batch (0: train.batch) */
    int task_incremental; /* only the current task's classes compete, in
                             training and evaluation */
    /* Online: each task is one pass (train.epochs is taken as 1) and the
     * accuracy matrix is not computed (NaN, no test-set evaluation); the
     * result's online_accuracy holds, per task, the accuracy on each batch
     * before training on it, averaged over the task. */
    int online;
    rw_task_fn on_task;
    void *user;
} rw_continual_config;

/* Defaults: rw_train_defaults(), no memory, class-incremental. */
rw_continual_config rw_continual_defaults(void);

typedef struct rw_continual_result {
    size_t tasks;
    double *matrix;   /* tasks x tasks: matrix[i*tasks + j] = accuracy on
                         task j after training task i */
    double *baseline; /* accuracy of the untrained network on each task */
    double *seconds;  /* training time per task */
    double *importance_kept; /* per task, NaN when not applicable */
    /* Plasticity diagnostics after each task, on the first
     * train.maintain.probe samples of that task's training set (NaN when
     * the probe is 0), row-major tasks x layers: dormant fraction and
     * effective rank of each hidden layer (NaN for the output layer, the
     * last of each row), mean |w| of every layer. hidden = layers - 1. */
    size_t hidden, layers;
    double *online_accuracy; /* per task: mean accuracy before each step */
    double *dormant;
    double *effective_rank;
    double *mean_abs_w;
    double average_accuracy;  /* mean of the last row */
    double backward_transfer; /* NaN for one task */
    double forward_transfer;  /* NaN for one task */
} rw_continual_result;

/* Trains `net` on every task of `tasks` in turn and evaluates it on every
 * task's test set after each (and once before training, the baseline).
 * After each task it ends the task for consolidation
 * (rw_consolidation_end_task) and offers the task's training data to the
 * rehearsal memory, which later tasks replay. Fills `res` as far as the run
 * got (rows not reached are NaN); free its arrays with
 * rw_continual_result_free whatever the status. Errors: RW_ERR_DATA when a
 * task does not fit the network (or, task-incremental, when tasks share
 * classes), RW_ERR_UNSUPPORTED for regression or for cfg->train with a
 * checkpoint or resume path (a sequence is not checkpointed),
 * RW_ERR_INTERRUPTED when a callback stops the run, training errors as
 * rw_train. */
rw_status rw_continual_run(rw_net *net, rw_tasks *tasks,
                           const rw_continual_config *cfg,
                           rw_continual_result *res, rw_error *err);
/* Frees the arrays of a result (not the struct); NULL is allowed. */
void rw_continual_result_free(rw_continual_result *res);
/* Applies shrink and perturb once (p <- lambda p + sigma eps to every
 * weight and bias, eps ~ N(0,1) drawn from `rng`). lambda = 1 and sigma = 0
 * change nothing. RW_ERR_ARG on non-finite values. */
rw_status rw_net_shrink_perturb(rw_net *net, double lambda, double sigma,
                                rw_rng *rng, rw_error *err);

/* Summary figures of a T x T accuracy matrix R (row-major) and baseline b
 * (may be NULL: no forward transfer):
 *   average accuracy  = mean_j R[T-1][j]
 *   backward transfer = mean_{j<T-1} (R[T-1][j] - R[j][j])
 *   forward transfer  = mean_{j>0} (R[j-1][j] - b[j])
 * Figures that are undefined (T = 1, no b) are NaN. */
rw_status rw_continual_metrics(const double *R, const double *b, size_t T,
                               double *average, double *backward,
                               double *forward, rw_error *err);

/* Accuracy of `net` on `ds`; with `groups` (one per class, as in
 * rw_train_config.class_groups) the prediction is the best class within
 * the group of the sample's label (task-incremental evaluation). */
rw_status rw_continual_accuracy(rw_net *net, const rw_dataset *ds,
                                const int32_t *groups, double *accuracy,
                                rw_error *err);

/* ------------------------------------------------------------------ */
/* Plasticity                                                          */
/* ------------------------------------------------------------------ */

/* Prunes every sparse layer now, down to `density` of its in x out
 * possible connections, lowest score first (|w|, credit or |co-activation|
 * by `kind`; the trace rules need a network trained with traces, else
 * RW_ERR_ARG). Never removes more than needed to reach the density; layers
 * already at or below it, and dense layers, are left alone. `pruned` may be
 * NULL or an array of rw_net_layers() entries receiving the count removed
 * per layer. */
rw_status rw_net_prune(rw_net *net, rw_prune_kind kind, double density,
                       size_t *pruned, rw_error *err);

/* Removes the listed neurons (0-based, any order, no duplicates) of hidden
 * layer `layer` (not the output layer): their row in this layer, their
 * column in the next, and all state that goes with them; the layer's size
 * in rw_net_config_of() shrinks with it. A neuron without inputs outputs a
 * constant, which is folded into the next layer's biases, so removing such
 * neurons or neurons whose output is zero leaves the network's outputs
 * unchanged. Refuses to remove every neuron of a layer. */
rw_status rw_net_remove_neurons(rw_net *net, size_t layer,
                                const size_t *neurons, size_t n,
                                rw_error *err);

/* Appends `n` fresh neurons to hidden layer `layer`: random inputs (a
 * sparse layer gives each its mean number of inputs) and zero outgoing
 * weights, so the outputs do not change until training moves them. */
rw_status rw_net_add_neurons(rw_net *net, size_t layer, size_t n,
                             rw_rng *rng, rw_error *err);

/* ------------------------------------------------------------------ */
/* Diagnostics of plasticity                                           */
/* ------------------------------------------------------------------ */

/* Effective rank (Roy and Vetterli 2007) of the n x m row-major matrix
 * `a`: exp(-sum_k p_k ln p_k) with p_k = s_k / sum_j s_j over its singular
 * values s_k (LAPACK dgesvd). 0 for an all-zero matrix. RW_ERR_NOMEM,
 * RW_ERR_ARG on empty sizes, RW_ERR_UNSUPPORTED if LAPACK fails. */
rw_status rw_effective_rank(const float *a, size_t n, size_t m, double *rank,
                            rw_error *err);

/* Fraction of the m units (columns of the n x m row-major activations `a`)
 * that are tau-dormant in ReDo's sense (Sokar et al. 2023): the unit's mean
 * |activation| divided by the mean of that over all units is at most tau.
 * tau 0 counts dead units (mean |activation| 0). An all-zero layer is all
 * dormant. */
double rw_dormant_fraction(const float *a, size_t n, size_t m, double tau);

typedef struct rw_diagnostics {
    size_t layers; /* rw_net_layers(net) */
    double dormant_fraction[RW_MAX_LAYERS]; /* hidden layers; NaN output */
    double effective_rank[RW_MAX_LAYERS];   /* hidden layers; NaN output */
    double mean_abs_w[RW_MAX_LAYERS];       /* every layer */
} rw_diagnostics;

/* Runs `net` on the n probe samples `x` (row-major n x inputs, at most
 * 65536) and measures each hidden layer's dormant fraction (threshold tau)
 * and effective rank, and every layer's mean |w|. Uses the network's
 * scratch buffers (like rw_net_predict). */
rw_status rw_net_diagnose(rw_net *net, const float *x, size_t n, double tau,
                          rw_diagnostics *out, rw_error *err);

/* ---------------- data-parallel training over MPI ----------------
 * Built when CMake finds MPI (-DRW_MPI=ON|OFF forces it). Started under
 * mpirun, every rank runs the same program on the same data; rw_train and
 * rw_continual_run then train data-parallel: each rank takes its share of
 * every global batch (cfg.batch is the global batch), the gradients are
 * summed over the ranks in one fused buffer per step, and every rank takes
 * the same optimizer step and the same rewiring from a shared RNG state.
 * Only rank 0 writes checkpoints; the program should do all other I/O on
 * rank 0 only. Without MPI, or without mpirun, there is one rank and no
 * MPI call is made. One training at a time per process. */

/* Joins the ranks when started by mpirun (MPI_Init), else does nothing.
 * Call once, before anything else; argc/argv may be NULL. Where another
 * library of the process (mpi4py, say) has started MPI already, joins its
 * MPI_COMM_WORLD and leaves MPI to that library to end. RW_ERR_DIST when
 * MPI fails to start, or was finalized already (it cannot start twice in
 * one process). */
rw_status rw_dist_init(int *argc, char ***argv, rw_error *err);
/* Leaves the ranks (MPI_Finalize if rw_dist_init started MPI); frees the
 * communication buffers. Safe to call without rw_dist_init. Every rank
 * must call it; call rw_dist_leave first to learn whether they will. */
void rw_dist_finalize(void);
/* Waits until every rank has come to leave (a barrier that lets MPI
 * progress), then returns RW_OK: rw_dist_finalize follows. RW_ERR_DIST,
 * naming the ranks, as soon as another rank waits in a collective call of
 * the library that this rank has not made, such as training that this
 * rank skipped by leaving early: that rank would wait for ever, and so
 * would MPI_Finalize here, so end the job with rw_dist_abort. Without
 * ranks, or after MPI was finalized, RW_OK at once. */
rw_status rw_dist_leave(rw_error *err);
/* This process's rank (0 .. size-1) and the number of ranks (1 without
 * MPI or mpirun). */
int rw_dist_rank(void);
int rw_dist_size(void);
/* 1 when this build has MPI support, else 0. */
int rw_dist_available(void);
/* For programs only (the library never calls it): ends every rank with
 * exit status `code` (MPI_Abort), so that an error on one rank does not
 * leave the others waiting. Without ranks it returns and does nothing. */
void rw_dist_abort(int code);
/* For programs: a collective that every rank calls at the same point (say,
 * after loading its data, before training, with 1 for success and 0 for
 * failure). Returns the smallest `value` of all ranks, on every rank, so
 * that all can stop together and leave through rw_dist_finalize instead
 * of rw_dist_abort. Without ranks it returns `value`. */
int rw_dist_min_int(int value);

/* After rw_train or rw_continual_run failed under mpirun: the lowest rank
 * whose set-up failed (a setting refused, a checkpoint that does not
 * match, data or memory), when every rank returned before training began;
 * those ranks return their own error and the others RW_ERR_DIST ("rank N
 * failed before training"), so a program can report once and leave
 * through rw_dist_finalize. -1 when training had begun (a rank may then be
 * waiting in a collective: end the job with rw_dist_abort) or nothing
 * failed before it. */
int rw_dist_setup_failure(void);

/* Communication of the last rw_train on this process. */
typedef struct rw_dist_stats {
    int ranks;
    size_t steps;          /* fused gradient all-reduces */
    size_t bytes_per_step; /* bytes summed per step, per rank: the fused
                            * gradient buffer, plus the usage traces' and
                            * Hebbian co-activations' sum where those are
                            * kept (not the rewiring steps' sums: RigL's
                            * gradient blocks, Hebbian candidates) */
    double comm_seconds;   /* time inside collectives (waiting included) */
    size_t checks;         /* topology checksums compared, all equal */
    int sharded;           /* 1: each rank stepped the optimizer on its share
                            * of the parameters (reduce-scatter, step,
                            * all-gather of the weights); 0: all-reduce and
                            * the whole step on every rank */
    int shared_weights;    /* 1: the sharded step's weights were one copy in
                            * shared memory that every rank maps (no
                            * all-gather; RW_DIST_SHARED_WEIGHTS=0 turns it
                            * off) */
} rw_dist_stats;
rw_dist_stats rw_dist_last_stats(void);
/* The share of the last rw_train's training time spent in collectives
 * (comm_seconds over the time of that call's training steps: a resumed
 * run's earlier time, which the result's train_seconds includes, is not
 * in it); 0 with one rank. */
double rw_dist_comm_share(void);
/* How the last rw_train's ranks summed their gradients: "shm" (shared
 * memory, every rank on this machine), "ring" (send-receives), "mpi"
 * (MPI_Allreduce: small buffers, or RW_DIST_ALLREDUCE=mpi without the
 * sharded step), or "none" with one rank. RW_DIST_ALLREDUCE=shm|ring|mpi
 * chooses; shm, the default, takes the ring for buffers under 2^18
 * floats, where the ranks span machines or where /dev/shm has no room.
 * The report names shared memory when any sum took it. Before any sum it
 * names the path the first will take. */
const char *rw_dist_transport(void);

#ifdef __cplusplus
}
#endif

#endif /* REWIRE_H */
