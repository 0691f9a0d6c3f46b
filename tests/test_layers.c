/* Layer kernels against their references, and invariants of the network.
 *
 *   - rw_sgemm against rw_sgemm_ref: all four transpose combinations, odd
 *     sizes, padded leading dimensions, beta 0 (C must not be read) and
 *     beta != 0, padding columns of C left untouched.
 *   - rw_sparse_forward/backward against rw_sparse_forward_ref/backward_ref
 *     on random patterns, batch sizes on both sides of the kernels' 64-wide
 *     blocks, 1 and 2 threads.
 *   - A sparse layer holding every connection (density 1) computes what the
 *     dense layer with the same weights computes: outputs, loss, gradients.
 *   - A sparse network equals a dense network whose missing weights are 0,
 *     and both equal a masked dense forward pass computed here in double.
 *   - The mean gradient of two half-batches equals the full-batch gradient.
 *   - The same seed gives identical networks, and identical rw_train runs
 *     (SET and RigL rewiring included) for the same thread count (1 and 2).
 *
 * Tolerances: float32 results of different summation orders agree to
 * |a - b| <= 1e-5 * scale, where scale is the magnitude of the sum's terms
 * (sum |w x|), which bounds the rounding of any order. */
#include "check.h"
#include "internal.h"
#include "rand_util.h"
#include "topology_check.h"

#include <string.h>


/* ---------------- GEMM ---------------- */

static void test_sgemm(void)
{
    static const size_t sizes[][3] = {{1, 1, 1},   {7, 13, 5},  {33, 17, 65},
                                      {64, 1, 3},  {5, 130, 37}, {1, 70, 129},
                                      {31, 31, 0}};
    static const char tr[2] = {'N', 'T'};
    size_t cases = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int bi = 0; bi < 2; bi++) {
                    float beta = bi ? 0.5f : 0.0f, alpha = 0.75f;
                    size_t a_rows = tr[ta] == 'N' ? M : K, a_cols = tr[ta] == 'N' ? K : M;
                    size_t b_rows = tr[tb] == 'N' ? K : N, b_cols = tr[tb] == 'N' ? N : K;
                    size_t lda = a_cols + 3, ldb = b_cols + 1, ldc = N + 2;
                    float *A = rand_array(a_rows * lda), *B = rand_array(b_rows * ldb);
                    float *C = rand_array(M * ldc);
                    float *R = malloc(M * ldc * sizeof *R);
                    if (!bi) /* beta = 0: C must be overwritten, never read */
                        for (size_t i = 0; i < M * ldc; i++)
                            C[i] = (i % ldc) < N ? NAN : 7.0f;
                    memcpy(R, C, M * ldc * sizeof *R);
                    rw_sgemm(tr[ta], tr[tb], M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
                    rw_sgemm_ref(tr[ta], tr[tb], M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
                    size_t bad = 0;
                    for (size_t i = 0; i < M; i++)
                        for (size_t j = 0; j < ldc; j++) {
                            float c = C[i * ldc + j], r = R[i * ldc + j];
                            if (j >= N) {
                                bad += c != r; /* padding untouched */
                                continue;
                            }
                            double tol = 1e-5 * (1.0 + (double)K);
                            bad += !(fabs((double)c - r) <= tol);
                        }
                    CHECK_MSG(bad == 0, "sgemm %c%c M=%zu N=%zu K=%zu beta=%g: %zu values off",
                              tr[ta], tr[tb], M, N, K, beta, bad);
                    cases++;
                    free(A);
                    free(B);
                    free(C);
                    free(R);
                }
    }
    printf("sgemm: %zu cases against the reference\n", cases);
}

/* ---------------- sparse kernels ---------------- */


static void sparse_kernel_case(size_t in, size_t out, size_t nnz, size_t B,
                               rw_activation act)
{
    rw_layer L;
    rw_error err;
    char what[96];
    snprintf(what, sizeof what, "sparse %zux%zu nnz %zu B %zu act %d", out, in, nnz, B,
             (int)act);
    CHECK_OK(rw_layer_init_sparse(&L, in, out, nnz, act, &g_rng, &err), &err);
    size_t want = nnz > in * out ? in * out : (nnz < out ? out : nnz);
    CHECK_MSG(L.nw == want, "%s: %zu connections", what, L.nw);
    check_topology(&L, what);
    for (size_t k = 0; k < L.nw; k++) {
        CHECK(L.col[k] & RW_COL_INITIAL);
        L.w[k] = frand();
    }
    for (size_t o = 0; o < out; o++)
        L.b[o] = frand();
    L.a = rw_calloc(out * B, sizeof(float), "a", &err);
    L.d = rw_calloc(out * B, sizeof(float), "d", &err);
    float *x = rand_array(in * B);
    float *z = malloc(out * B * sizeof *z), *zs = calloc(out * B, sizeof *zs);

    /* Forward: scale of each output = sum_k |w x| + |b|. */
    rw_sparse_forward(&L, x, B);
    rw_sparse_forward_ref(&L, x, z, B);
    rw_act_forward(act, z, out * B);
    for (size_t o = 0; o < out; o++)
        for (size_t j = 0; j < B; j++) {
            double s = fabs(L.b[o]);
            for (size_t k = L.row_ptr[o]; k < L.row_ptr[o + 1]; k++)
                s += fabs(L.w[k] * x[(L.col[k] & RW_COL_MASK) * B + j]);
            zs[o * B + j] = (float)s;
        }
    CHECK_MSG(count_off(L.a, z, zs, out * B, 1e-5) == 0, "%s: forward differs", what);

    /* Backward. */
    float *d = rand_array(out * B);
    memcpy(L.d, d, out * B * sizeof *d);
    float *dx = malloc(in * B * sizeof *dx), *dxr = malloc(in * B * sizeof *dxr);
    float *gw = malloc(L.nw * sizeof *gw), *gb = malloc(out * sizeof *gb);
    for (size_t i = 0; i < in * B; i++)
        dx[i] = NAN; /* every element must be written */
    rw_sparse_backward(&L, x, dx, B);
    rw_sparse_backward_ref(&L, x, d, gw, gb, dxr, B);
    /* |d x| <= 1 per term: gradients sum B terms, dx sums the fan-out. */
    float *sw = malloc(L.nw * sizeof *sw), *sb = malloc(out * sizeof *sb);
    float *sx = malloc(in * B * sizeof *sx);
    for (size_t k = 0; k < L.nw; k++)
        sw[k] = (float)B;
    for (size_t o = 0; o < out; o++)
        sb[o] = (float)B;
    for (size_t i = 0; i < in; i++)
        for (size_t j = 0; j < B; j++)
            sx[i * B + j] = (float)(L.tcol_ptr[i + 1] - L.tcol_ptr[i]);
    CHECK_MSG(count_off(L.gw, gw, sw, L.nw, 1e-5) == 0, "%s: weight gradients differ", what);
    CHECK_MSG(count_off(L.gb, gb, sb, out, 1e-5) == 0, "%s: bias gradients differ", what);
    CHECK_MSG(count_off(dx, dxr, sx, in * B, 1e-5) == 0, "%s: input errors differ", what);
    /* The first layer passes dx = NULL and takes the row-order gradient
     * pass, which must match the reference too. */
    for (size_t k = 0; k < L.nw; k++)
        L.gw[k] = NAN;
    rw_sparse_backward(&L, x, NULL, B);
    CHECK_MSG(count_off(L.gw, gw, sw, L.nw, 1e-5) == 0,
              "%s: row-order weight gradients differ", what);
    /* Every SIMD path, batch tiles and thread counts: test_kernels.c. */

    free(x);
    free(z);
    free(zs);
    free(d);
    free(dx);
    free(dxr);
    free(gw);
    free(gb);
    free(sw);
    free(sb);
    free(sx);
    rw_layer_free(&L);
}

static void test_sparse_kernels(void)
{
    static const size_t cases[][4] = {
        /* in, out, nnz, B */
        {13, 9, 40, 7},   {50, 30, 300, 64},  {37, 41, 500, 130}, {5, 3, 15, 1},
        {100, 20, 20, 3}, {8, 200, 1600, 65}, {300, 7, 90, 129},  {1, 5, 5, 17},
        {64, 64, 1000, 192}};
    for (int threads = 1; threads <= 2; threads++) {
        rw_set_threads(threads);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            sparse_kernel_case(cases[c][0], cases[c][1], cases[c][2], cases[c][3],
                               c % 2 ? RW_ACT_RELU : RW_ACT_IDENTITY);
    }
    rw_set_threads(2);
    printf("sparse kernels: %zu patterns x 2 thread counts\n",
           sizeof cases / sizeof cases[0]);
}

/* ---------------- sparse vs dense ---------------- */

typedef struct batch {
    size_t n;
    float *x, *t;
    int32_t *y;
} batch;

static batch make_batch(const rw_net *net, size_t n)
{
    batch b = {n, rand_array(n * rw_net_inputs(net)), rand_array(n * rw_net_outputs(net)),
               malloc(n * sizeof(int32_t))};
    for (size_t j = 0; j < n; j++)
        b.y[j] = (int32_t)(j % rw_net_outputs(net));
    return b;
}

static void batch_free(batch *b)
{
    free(b->x);
    free(b->t);
    free(b->y);
}

static double grad(rw_net *net, const batch *b, size_t off, size_t n)
{
    rw_error err;
    double loss = NAN;
    int ce = rw_net_classes(net) > 0;
    CHECK_OK(rw_net_gradient(net, b->x + off * rw_net_inputs(net), ce ? b->y + off : NULL,
                             ce ? NULL : b->t + off * rw_net_outputs(net), n, &loss,
                             NULL, &err),
             &err);
    return loss;
}

static rw_net *make_net(size_t n_in, const size_t *hidden, size_t n_hidden,
                        size_t n_out, rw_activation act, rw_loss loss,
                        double density, uint64_t seed)
{
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = seed;
    CHECK_OK(rw_net_config_mlp(&cfg, n_in, hidden, n_hidden, n_out, act, loss, &err),
             &err);
    if (density > 0)
        CHECK_OK(rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, density, 1, &err), &err);
    rw_net *net = rw_net_create(&cfg, &err);
    if (!net) {
        fprintf(stderr, "rw_net_create: %s\n", err.msg);
        exit(1);
    }
    /* Non-zero biases, so the bias paths are compared too. */
    for (size_t l = 0; l < rw_net_layers(net); l++) {
        rw_layer_view v;
        CHECK_OK(rw_net_layer_view(net, l, &v, &err), &err);
        for (size_t o = 0; o < v.outputs; o++)
            v.bias[o] = 0.1f * frand();
    }
    return net;
}

/* Makes `dense` hold exactly the sparse net's weights (zero elsewhere). */
static void copy_sparse_to_dense(rw_net *sparse, rw_net *dense)
{
    rw_error err;
    for (size_t l = 0; l < rw_net_layers(sparse); l++) {
        rw_layer_view s, d;
        CHECK_OK(rw_net_layer_view(sparse, l, &s, &err), &err);
        CHECK_OK(rw_net_layer_view(dense, l, &d, &err), &err);
        CHECK(s.kind == RW_LAYER_SPARSE && d.kind == RW_LAYER_DENSE);
        memset(d.weights, 0, d.connections * sizeof(float));
        for (size_t o = 0; o < s.outputs; o++)
            for (size_t k = s.row_ptr[o]; k < s.row_ptr[o + 1]; k++)
                d.weights[o * s.inputs + (s.cols[k] & RW_COL_MASK)] = s.weights[k];
        memcpy(d.bias, s.bias, s.outputs * sizeof(float));
    }
}

/* Same outputs, loss and (mapped) gradients from a sparse and a dense net. */
static void compare_sparse_dense(rw_net *sparse, rw_net *dense, size_t B,
                                 const char *what)
{
    rw_error err;
    batch b = make_batch(dense, B);
    size_t C = rw_net_outputs(dense);
    float *os = malloc(B * C * sizeof *os), *od = malloc(B * C * sizeof *od);
    CHECK_OK(rw_net_predict(sparse, b.x, B, os, &err), &err);
    CHECK_OK(rw_net_predict(dense, b.x, B, od, &err), &err);
    size_t bad = 0;
    for (size_t i = 0; i < B * C; i++)
        bad += !(fabs(os[i] - od[i]) <= 1e-5 + 1e-4 * fabs(od[i]));
    CHECK_MSG(bad == 0, "%s: %zu outputs differ", what, bad);
    double ls = grad(sparse, &b, 0, B), ld = grad(dense, &b, 0, B);
    CHECK_MSG(fabs(ls - ld) <= 1e-5 + 1e-5 * fabs(ld), "%s: loss %.9g vs %.9g", what, ls, ld);
    double gmax = 0.0;
    for (size_t l = 0; l < rw_net_layers(sparse); l++) {
        rw_layer_view s, d;
        CHECK_OK(rw_net_layer_view(sparse, l, &s, &err), &err);
        CHECK_OK(rw_net_layer_view(dense, l, &d, &err), &err);
        bad = 0;
        for (size_t o = 0; o < s.outputs; o++) {
            for (size_t k = s.row_ptr[o]; k < s.row_ptr[o + 1]; k++) {
                float gd = d.grad_weights[o * s.inputs + (s.cols[k] & RW_COL_MASK)];
                bad += !(fabs(s.grad_weights[k] - gd) <= 1e-6 + 1e-4 * fabs(gd));
                gmax = fmax(gmax, fabs(gd));
            }
            bad += !(fabs(s.grad_bias[o] - d.grad_bias[o]) <= 1e-6 + 1e-4 * fabs(d.grad_bias[o]));
        }
        CHECK_MSG(bad == 0, "%s: layer %zu: %zu gradients differ", what, l, bad);
    }
    CHECK_MSG(gmax > 1e-4, "%s: gradients are all zero", what);
    free(os);
    free(od);
    batch_free(&b);
}

static void test_full_density(void)
{
    static const size_t h[] = {8, 5};
    for (int v = 0; v < 2; v++) {
        rw_activation act = v ? RW_ACT_TANH : RW_ACT_RELU;
        rw_loss loss = v ? RW_LOSS_MSE : RW_LOSS_CROSS_ENTROPY;
        rw_net *dense = make_net(6, h, 2, 3, act, loss, 0, 5);
        rw_net *sparse = make_net(6, h, 2, 3, act, loss, 1.0, 9);
        for (size_t l = 0; l < rw_net_layers(sparse); l++) {
            rw_layer_info info;
            rw_error err;
            CHECK_OK(rw_net_layer_info(sparse, l, &info, &err), &err);
            CHECK(info.kind == RW_LAYER_SPARSE && info.connections == info.inputs * info.outputs);
            check_topology(&sparse->layers[l], "full density");
        }
        /* The dense net's weights go into the sparse one, through the
         * column index (top bit masked). */
        rw_error err;
        for (size_t l = 0; l < rw_net_layers(sparse); l++) {
            rw_layer_view s, d;
            CHECK_OK(rw_net_layer_view(sparse, l, &s, &err), &err);
            CHECK_OK(rw_net_layer_view(dense, l, &d, &err), &err);
            for (size_t o = 0; o < s.outputs; o++)
                for (size_t k = s.row_ptr[o]; k < s.row_ptr[o + 1]; k++)
                    s.weights[k] = d.weights[o * s.inputs + (s.cols[k] & RW_COL_MASK)];
            memcpy(s.bias, d.bias, s.outputs * sizeof(float));
        }
        compare_sparse_dense(sparse, dense, 10, v ? "full density mse" : "full density ce");
        compare_sparse_dense(sparse, dense, 70, v ? "full density mse B70" : "full density ce B70");
        rw_net_free(dense);
        rw_net_free(sparse);
    }
    printf("density-1 sparse layers match dense layers\n");
}

/* Forward pass of a sparse net done here in double from the views:
 * z = W_masked x + b per layer, then the activation (softmax at the end). */
static void masked_forward(rw_net *net, const float *x, size_t B, double *out)
{
    rw_error err;
    size_t width = rw_net_inputs(net);
    double *cur = malloc(B * width * sizeof *cur);
    for (size_t i = 0; i < B * width; i++)
        cur[i] = x[i];
    for (size_t l = 0; l < rw_net_layers(net); l++) {
        rw_layer_view v;
        CHECK_OK(rw_net_layer_view(net, l, &v, &err), &err);
        double *M = calloc(v.outputs * v.inputs, sizeof *M); /* masked dense W */
        for (size_t o = 0; o < v.outputs; o++)
            for (size_t k = v.row_ptr[o]; k < v.row_ptr[o + 1]; k++)
                M[o * v.inputs + (v.cols[k] & RW_COL_MASK)] = v.weights[k];
        double *nxt = malloc(B * v.outputs * sizeof *nxt);
        rw_activation act = net->layers[l].act;
        for (size_t j = 0; j < B; j++) {
            double mx = -INFINITY, sum = 0.0;
            for (size_t o = 0; o < v.outputs; o++) {
                double z = v.bias[o];
                for (size_t i = 0; i < v.inputs; i++)
                    z += M[o * v.inputs + i] * cur[j * v.inputs + i];
                switch (act) {
                case RW_ACT_RELU: z = z > 0 ? z : 0; break;
                case RW_ACT_LEAKY_RELU: z = z > 0 ? z : 0.01 * z; break;
                case RW_ACT_SIGMOID: z = 1.0 / (1.0 + exp(-z)); break;
                case RW_ACT_TANH: z = tanh(z); break;
                default: break;
                }
                nxt[j * v.outputs + o] = z;
                mx = fmax(mx, z);
            }
            if (act == RW_ACT_SOFTMAX) {
                for (size_t o = 0; o < v.outputs; o++)
                    sum += exp(nxt[j * v.outputs + o] - mx);
                for (size_t o = 0; o < v.outputs; o++)
                    nxt[j * v.outputs + o] = exp(nxt[j * v.outputs + o] - mx) / sum;
            }
        }
        free(M);
        free(cur);
        cur = nxt;
        width = v.outputs;
    }
    memcpy(out, cur, B * width * sizeof *out);
    free(cur);
}

static void test_masked_dense(void)
{
    static const size_t h[] = {24, 16};
    static const struct { rw_activation act; rw_loss loss; double density; } cases[] = {
        {RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY, 0.3},
        {RW_ACT_SIGMOID, RW_LOSS_MSE, 0.15},
        {RW_ACT_LEAKY_RELU, RW_LOSS_CROSS_ENTROPY, 0.6},
        {RW_ACT_TANH, RW_LOSS_MSE, 0.05},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rw_net *sparse = make_net(20, h, 2, 4, cases[c].act, cases[c].loss,
                                  cases[c].density, 30 + c);
        rw_net *dense = make_net(20, h, 2, 4, cases[c].act, cases[c].loss, 0, 40 + c);
        copy_sparse_to_dense(sparse, dense);
        char what[64];
        snprintf(what, sizeof what, "masked dense case %zu", c);
        compare_sparse_dense(sparse, dense, 9, what);
        compare_sparse_dense(sparse, dense, 100, what);
        /* And against the masked product computed here. */
        size_t B = 77, C = 4;
        batch b = make_batch(sparse, B);
        float *got = malloc(B * C * sizeof *got);
        double *want = malloc(B * C * sizeof *want);
        rw_error err;
        CHECK_OK(rw_net_predict(sparse, b.x, B, got, &err), &err);
        masked_forward(sparse, b.x, B, want);
        size_t bad = 0;
        for (size_t i = 0; i < B * C; i++)
            bad += !(fabs(got[i] - want[i]) <= 1e-5 + 1e-4 * fabs(want[i]));
        CHECK_MSG(bad == 0, "%s: %zu outputs differ from the masked product", what, bad);
        free(got);
        free(want);
        batch_free(&b);
        rw_net_free(sparse);
        rw_net_free(dense);
    }
    printf("sparse nets match masked dense products\n");
}

/* ---------------- half batches ---------------- */

static void half_batch_case(rw_net *net, size_t B, const char *what)
{
    rw_error err;
    batch b = make_batch(net, B);
    size_t L_n = rw_net_layers(net), h = B / 2;
    float *full[RW_MAX_LAYERS], *half[RW_MAX_LAYERS];
    size_t n[RW_MAX_LAYERS];
    double lf = grad(net, &b, 0, B);
    for (size_t l = 0; l < L_n; l++) {
        rw_layer_view v;
        CHECK_OK(rw_net_layer_view(net, l, &v, &err), &err);
        n[l] = v.connections + v.outputs;
        full[l] = malloc(n[l] * sizeof(float));
        half[l] = calloc(n[l], sizeof(float));
        memcpy(full[l], v.grad_weights, v.connections * sizeof(float));
        memcpy(full[l] + v.connections, v.grad_bias, v.outputs * sizeof(float));
    }
    /* Two halves of different sizes when B is odd: weight each by its
     * share of the batch. */
    size_t parts[2][2] = {{0, h}, {h, B - h}};
    double lsum = 0.0;
    for (int p = 0; p < 2; p++) {
        double w = (double)parts[p][1] / (double)B;
        lsum += w * grad(net, &b, parts[p][0], parts[p][1]);
        for (size_t l = 0; l < L_n; l++) {
            rw_layer_view v;
            CHECK_OK(rw_net_layer_view(net, l, &v, &err), &err);
            for (size_t k = 0; k < v.connections; k++)
                half[l][k] += (float)(w * v.grad_weights[k]);
            for (size_t o = 0; o < v.outputs; o++)
                half[l][v.connections + o] += (float)(w * v.grad_bias[o]);
        }
    }
    CHECK_MSG(fabs(lsum - lf) <= 1e-6 * (1.0 + fabs(lf)), "%s: loss %.9g vs %.9g", what,
              lsum, lf);
    double gmax = 0.0;
    for (size_t l = 0; l < L_n; l++) {
        size_t bad = 0;
        for (size_t k = 0; k < n[l]; k++) {
            bad += !(fabs(half[l][k] - full[l][k]) <= 1e-6 + 1e-5 * fabs(full[l][k]));
            gmax = fmax(gmax, fabs(full[l][k]));
        }
        CHECK_MSG(bad == 0, "%s: layer %zu: %zu of %zu accumulated gradients differ", what,
                  l, bad, n[l]);
        free(full[l]);
        free(half[l]);
    }
    CHECK_MSG(gmax > 1e-4, "%s: gradients are all zero", what);
    batch_free(&b);
}

static void test_half_batches(void)
{
    static const size_t h[] = {16, 12};
    rw_net *net = make_net(10, h, 2, 5, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY, 0, 3);
    half_batch_case(net, 8, "dense ce B8");
    half_batch_case(net, 200, "dense ce B200");
    rw_net_free(net);
    net = make_net(10, h, 2, 3, RW_ACT_TANH, RW_LOSS_MSE, 0.4, 4);
    half_batch_case(net, 8, "sparse mse B8");
    half_batch_case(net, 131, "sparse mse B131 (odd)");
    rw_net_free(net);
    printf("half-batch gradients add up to the full batch\n");
}

/* ---------------- determinism ---------------- */

/* 0 when both nets have bit-identical parameters and topology. */
static int nets_differ(rw_net *a, rw_net *b)
{
    if (rw_net_layers(a) != rw_net_layers(b))
        return 1;
    for (size_t l = 0; l < rw_net_layers(a); l++) {
        rw_layer_view x, y;
        rw_error err;
        CHECK_OK(rw_net_layer_view(a, l, &x, &err), &err);
        CHECK_OK(rw_net_layer_view(b, l, &y, &err), &err);
        if (x.kind != y.kind || x.connections != y.connections ||
            memcmp(x.weights, y.weights, x.connections * sizeof(float)) ||
            memcmp(x.bias, y.bias, x.outputs * sizeof(float)))
            return 1;
        if (x.kind == RW_LAYER_SPARSE &&
            (memcmp(x.cols, y.cols, x.connections * sizeof(uint32_t)) ||
             memcmp(x.row_ptr, y.row_ptr, (x.outputs + 1) * sizeof(size_t))))
            return 1;
    }
    return 0;
}

static void test_same_seed_nets(void)
{
    static const size_t h[] = {40, 30};
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = 42;
    CHECK_OK(rw_net_config_mlp(&cfg, 25, h, 2, 4, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY, &err),
             &err);
    CHECK_OK(rw_net_config_sparsify(&cfg, RW_SPARSE_ER, 3.0, 0, &err), &err);
    rw_net *a = rw_net_create(&cfg, &err), *b = rw_net_create(&cfg, &err);
    CHECK(a && b && !nets_differ(a, b));
    cfg.seed = 43;
    rw_net *c = rw_net_create(&cfg, &err);
    CHECK_MSG(c && nets_differ(a, c), "seeds 42 and 43 gave the same network");
    rw_net *d = rw_net_clone(a, &err);
    CHECK(d && !nets_differ(a, d));
    rw_net_free(a);
    rw_net_free(b);
    rw_net_free(c);
    rw_net_free(d);
}

static rw_dataset *synthetic(size_t n, size_t f, size_t classes)
{
    rw_rng rng;
    rw_rng_seed(&rng, 2024);
    float *x = malloc(n * f * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    for (size_t j = 0; j < n; j++) {
        double best = -INFINITY;
        for (size_t i = 0; i < f; i++)
            x[j * f + i] = (float)rw_rng_normal(&rng);
        for (size_t c = 0; c < classes; c++) {
            double s = x[j * f + c % f] - 0.5 * x[j * f + (c + 1) % f];
            if (s > best) {
                best = s;
                y[j] = (int32_t)c;
            }
        }
    }
    rw_error err;
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, n, f, 0, classes, &err);
    if (!ds) {
        fprintf(stderr, "rw_dataset_from_arrays: %s\n", err.msg);
        exit(1);
    }
    free(x);
    free(y);
    return ds;
}

static rw_net *train_once(const rw_dataset *ds, rw_rewire_kind rewire, size_t every,
                          double *final_loss)
{
    static const size_t h[] = {64, 32};
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = 11;
    CHECK_OK(rw_net_config_mlp(&cfg, rw_dataset_features(ds), h, 2,
                               rw_dataset_classes(ds), RW_ACT_RELU,
                               RW_LOSS_CROSS_ENTROPY, &err),
             &err);
    CHECK_OK(rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, 0.3, 0, &err), &err);
    rw_net *net = rw_net_create(&cfg, &err);
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 3;
    tc.batch = 64;
    tc.lr = 0.01;
    tc.seed = 77;
    tc.rewire = rewire;
    tc.rewire_every = every;
    tc.drop_fraction = 0.2;
    rw_train_result res;
    CHECK_OK(rw_train(net, ds, NULL, &tc, &res, &err), &err);
    *final_loss = res.final_train_loss;
    return net;
}

static void test_train_determinism(void)
{
    rw_dataset *ds = synthetic(640, 12, 4);
    static const struct { rw_rewire_kind kind; size_t every; const char *name; } runs[] = {
        {RW_REWIRE_SET, 0, "SET per epoch"}, {RW_REWIRE_RIGL, 4, "RigL every 4 steps"}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        rw_net *by_threads[3] = {NULL, NULL, NULL};
        for (int threads = 1; threads <= 2; threads++) {
            CHECK(rw_set_threads(threads) == threads && rw_get_threads() == threads);
            double l1, l2;
            rw_net *a = train_once(ds, runs[r].kind, runs[r].every, &l1);
            rw_net *b = train_once(ds, runs[r].kind, runs[r].every, &l2);
            CHECK_MSG(!nets_differ(a, b), "%s, %d thread(s): two runs differ", runs[r].name,
                      threads);
            CHECK_MSG(l1 == l2, "%s, %d thread(s): losses %.9g vs %.9g", runs[r].name,
                      threads, l1, l2);
            CHECK_MSG(isfinite(l1) && l1 < log(4.0), "%s: did not learn (loss %g)",
                      runs[r].name, l1);
            /* Training moved the topology away from the initial one. */
            CHECK(rw_net_initial_share(a, 0) < 1.0);
            rw_net_free(b);
            by_threads[threads] = a;
        }
        /* Not required by the API, but worth knowing. */
        printf("%s: 1 and 2 threads give %s results\n", runs[r].name,
               nets_differ(by_threads[1], by_threads[2]) ? "different" : "identical");
        rw_net_free(by_threads[1]);
        rw_net_free(by_threads[2]);
    }
    rw_set_threads(2);
    rw_dataset_free(ds);
}

/* ---------------- small dense layers in pieces ---------------- */

/* With the threads awake for the batch (a sparse layer large enough to
 * share them: rw_net_pool_awake), a dense layer too small for the GEMM
 * library's threads splits its products into two fixed pieces (dense.c):
 * the forward pass by the batch's columns, the backward pass by the
 * inputs, uneven here (B = 40: columns 0-31 and 32-39; 300 inputs: 0-159
 * and 160-299), each piece taking its input error through the hidden
 * layer's derivative (ReLU, and tanh, whose derivative depends on the
 * value). Three momentum steps give the same bits on 1 and 2 threads, and
 * the values of the whole products (every pass sharing the threads, so
 * none in pieces). */
static void dense_pieces_case(rw_activation act)
{
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = 77;
    size_t hidden[1] = {300};
    CHECK_OK(rw_net_config_mlp(&cfg, 120, hidden, 1, 4, act,
                               RW_LOSS_CROSS_ENTROPY, &err), &err);
    cfg.layers[0].kind = RW_LAYER_SPARSE;
    cfg.layers[0].density = 0.5;
    rw_net *net[3];
    net[0] = rw_net_create(&cfg, &err);
    CHECK_MSG(net[0] != NULL, "%s", err.msg);
    net[1] = rw_net_clone(net[0], &err);
    net[2] = rw_net_clone(net[0], &err);
    CHECK(net[1] && net[2]);
    const size_t B = 40;
    /* 2^18: the sparse layer's multiply-adds share the threads, the dense
     * layer's (at least 2^18 / 64) go in pieces, and the gather's values
     * (as many) share them too. */
    const size_t min = (size_t)1 << 18;
    size_t sparse = net[0]->layers[0].nw * B, dense = net[0]->layers[1].nw * B;
    CHECK_MSG(sparse >= min && dense < min && dense >= min / 64 && 120 * B >= min / 64,
              "sparse %zu, dense %zu multiply-adds", sparse, dense);
    batch b = make_batch(net[0], 3 * B);
    rw_optim_config o = rw_optim_defaults(RW_OPT_MOMENTUM);
    for (int k = 0; k < 3; k++) {
        rw_set_par_min_work(k < 2 ? min : 0);
        rw_set_threads(k == 0 ? 1 : 2);
        CHECK(rw_net_pool_awake(net[k], B));
        for (size_t s = 0; s < 3; s++) {
            grad(net[k], &b, s * B, B);
            CHECK_OK(rw_net_step(net[k], &o, 0.1, &err), &err);
        }
    }
    rw_set_par_min_work(min);
    /* Two samples: no pass large enough, so nothing goes in pieces. */
    CHECK(!rw_net_pool_awake(net[0], 2));
    rw_set_par_min_work(0);
    rw_set_threads(2);
    CHECK_MSG(!nets_differ(net[0], net[1]), "dense pieces (%s): 1 and 2 threads differ",
              rw_activation_name(act));
    size_t bad = 0, n = 0;
    for (size_t l = 0; l < 2; l++) {
        const rw_layer *P = &net[0]->layers[l], *W = &net[2]->layers[l];
        for (size_t k = 0; k < P->nw; k++, n++)
            bad += !(fabsf(P->w[k] - W->w[k]) <= 1e-5f * (1.0f + fabsf(W->w[k])));
        for (size_t k = 0; k < P->out; k++, n++)
            bad += !(fabsf(P->b[k] - W->b[k]) <= 1e-5f * (1.0f + fabsf(W->b[k])));
    }
    CHECK_MSG(bad == 0, "dense pieces (%s): %zu of %zu parameters differ from the whole products",
              rw_activation_name(act), bad, n);
    /* The steps moved the output layer's weights (its gradient was formed). */
    size_t moved = 0;
    rw_net *fresh = rw_net_create(&cfg, &err);
    CHECK(fresh != NULL);
    for (size_t k = 0; k < fresh->layers[1].nw; k++)
        moved += fresh->layers[1].w[k] != net[0]->layers[1].w[k];
    CHECK_MSG(moved > fresh->layers[1].nw / 2, "only %zu output weights moved", moved);
    rw_net_free(fresh);
    /* Predicting in chunks of 256 (2^19: the dense layer's 256 x 1200 go in
     * pieces), rw_net_predict_with gives rw_net_predict's bits, on 1 and 2
     * threads. */
    rw_set_par_min_work((size_t)1 << 19);
    CHECK(rw_net_pool_awake(net[0], 256) && net[0]->layers[1].nw * 256 < ((size_t)1 << 19));
    batch p = make_batch(net[0], 300);
    float *want = malloc(300 * 4 * sizeof(float)), *got = malloc(300 * 4 * sizeof(float));
    CHECK(want && got);
    rw_workspace *ws = rw_workspace_create(net[0], 0, &err);
    CHECK_MSG(ws != NULL, "%s", err.msg);
    for (int threads = 1; threads <= 2; threads++) {
        rw_set_threads(threads);
        CHECK_OK(rw_net_predict(net[0], p.x, 300, threads == 1 ? want : got, &err), &err);
        if (threads == 2)
            CHECK_MSG(memcmp(got, want, 300 * 4 * sizeof(float)) == 0,
                      "dense pieces: predictions differ on 1 and 2 threads");
        CHECK_OK(rw_net_predict_with(net[0], ws, p.x, 300, got, &err), &err);
        CHECK_MSG(memcmp(got, want, 300 * 4 * sizeof(float)) == 0,
                  "dense pieces: rw_net_predict_with differs from rw_net_predict (%d threads)",
                  threads);
    }
    rw_workspace_free(ws);
    free(want);
    free(got);
    batch_free(&p);
    rw_set_par_min_work(0);
    batch_free(&b);
    for (int k = 0; k < 3; k++)
        rw_net_free(net[k]);
}

static void test_dense_pieces(void)
{
    dense_pieces_case(RW_ACT_RELU);
    dense_pieces_case(RW_ACT_TANH);
}

/* ---------------- batch independence, evaluate, input transform ---------------- */

/* Predictions do not depend on how samples are grouped into batches
 * (rw_net_predict works in chunks of 256), rw_net_evaluate's loss is the
 * mean of rw_net_gradient's over the same samples, and an input transform
 * is the same as feeding transformed inputs. */
static void test_batching_and_transform(void)
{
    static const size_t h[] = {20, 12};
    rw_error err;
    for (int sparse = 0; sparse < 2; sparse++) {
        rw_net *net = make_net(7, h, 2, 3, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY,
                               sparse ? 0.4 : 0, 50 + sparse);
        size_t n = 600, C = 3, I = 7;
        batch b = make_batch(net, n);
        float *all = malloc(n * C * sizeof *all), *one = malloc(C * sizeof *one);
        CHECK_OK(rw_net_predict(net, b.x, n, all, &err), &err);
        size_t bad = 0;
        for (size_t j = 0; j < n; j += 37) {
            CHECK_OK(rw_net_predict(net, b.x + j * I, 1, one, &err), &err);
            for (size_t c = 0; c < C; c++)
                bad += !(fabs(one[c] - all[j * C + c]) <= 1e-6 + 1e-5 * fabs(one[c]));
        }
        CHECK_MSG(bad == 0, "predict: %zu outputs depend on the batching", bad);

        rw_dataset *ds = rw_dataset_from_arrays(b.x, b.y, NULL, n, I, 0, C, &err);
        rw_eval_result ev;
        CHECK_OK(rw_net_evaluate(net, ds, &ev, NULL, &err), &err);
        double loss = grad(net, &b, 0, n);
        CHECK_MSG(fabs(ev.loss - loss) <= 1e-6 * (1.0 + loss),
                  "evaluate loss %.9g vs gradient loss %.9g", ev.loss, loss);
        CHECK(ev.samples == n && ev.correct <= n);
        rw_dataset_free(ds);

        /* x' = (x - shift) * scale */
        float shift[7], scale[7];
        for (size_t i = 0; i < I; i++) {
            shift[i] = 0.3f * frand();
            scale[i] = 1.0f + 0.5f * frand();
        }
        float *xt = malloc(n * I * sizeof *xt);
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < I; i++)
                xt[j * I + i] = (b.x[j * I + i] - shift[i]) * scale[i];
        float *plain = malloc(n * C * sizeof *plain);
        CHECK_OK(rw_net_predict(net, xt, n, plain, &err), &err);
        CHECK_OK(rw_net_set_input_transform(net, shift, scale, &err), &err);
        CHECK_OK(rw_net_predict(net, b.x, n, all, &err), &err);
        CHECK_MSG(memcmp(all, plain, n * C * sizeof *all) == 0,
                  "input transform differs from transformed inputs");
        CHECK_OK(rw_net_set_input_transform(net, NULL, NULL, &err), &err);
        CHECK(!rw_net_input_transform(net, NULL, NULL));
        free(xt);
        free(plain);
        free(all);
        free(one);
        batch_free(&b);
        rw_net_free(net);
    }
    printf("predictions independent of batching; evaluate and transform agree\n");
}

/* The one table of activation names: every enum value has a name that
 * parses back to it; unknown names and values are refused. */
static void test_activation_names(void)
{
    for (int a = RW_ACT_IDENTITY; a <= RW_ACT_SOFTMAX; a++) {
        rw_activation back = RW_ACT_IDENTITY;
        const char *name = rw_activation_name((rw_activation)a);
        CHECK(strcmp(name, "unknown") != 0);
        CHECK(rw_activation_parse(name, &back) == RW_OK && back == (rw_activation)a);
    }
    CHECK(strcmp(rw_activation_name(RW_ACT_LEAKY_RELU), "leaky_relu") == 0);
    CHECK(strcmp(rw_activation_name((rw_activation)99), "unknown") == 0);
    rw_activation keep = RW_ACT_TANH;
    CHECK(rw_activation_parse("ReLU", &keep) == RW_ERR_ARG && keep == RW_ACT_TANH);
    CHECK(rw_activation_parse(NULL, &keep) == RW_ERR_ARG && keep == RW_ACT_TANH);
}

/* Finite weights that overflow float: predict, predict_with and evaluate
 * refuse the outputs, naming the sample, instead of returning NaN. */
static void test_overflowing_outputs(void)
{
    rw_error err;
    const size_t hidden[] = {6};
    rw_net *net = make_net(3, hidden, 1, 2, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY, 0, 9);
    batch b = make_batch(net, 5);
    float out[10];
    CHECK_OK(rw_net_predict(net, b.x, 5, out, &err), &err);
    rw_layer_view v;
    CHECK_OK(rw_net_layer_view(net, 0, &v, &err), &err);
    for (size_t k = 0; k < v.connections; k++)
        v.weights[k] = 3e38f;
    for (size_t i = 0; i < 5 * 3; i++)
        b.x[i] = 1.0f;
    CHECK(rw_net_predict(net, b.x, 5, out, &err) == RW_ERR_DIVERGED);
    CHECK_MSG(strstr(err.msg, "for sample 1 is not finite"), "%s", err.msg);
    rw_workspace *ws = rw_workspace_create(net, 0, &err);
    CHECK(ws && rw_net_predict_with(net, ws, b.x, 5, out, &err) == RW_ERR_DIVERGED);
    rw_workspace_free(ws);
    rw_dataset *ds = rw_dataset_wrap(b.x, b.y, NULL, 5, 3, 0, 2, &err);
    rw_eval_result ev;
    CHECK(ds && rw_net_evaluate(net, ds, &ev, NULL, &err) == RW_ERR_DIVERGED);
    CHECK_MSG(strstr(err.msg, "the network's output 0 for sample 1"), "%s", err.msg);
    rw_dataset_free(ds);
    batch_free(&b);
    rw_net_free(net);
}

int main(void)
{
    /* Every pass that can use the threads does, however small, so that the
     * comparisons of 1 and 2 threads run the parallel code. */
    rw_set_par_min_work(0);
    rw_rng_seed(&g_rng, 12345);
    test_overflowing_outputs();
    rw_set_threads(2);
    test_sgemm();
    test_sparse_kernels();
    test_full_density();
    test_masked_dense();
    test_half_batches();
    test_same_seed_nets();
    test_batching_and_transform();
    test_train_determinism();
    test_dense_pieces();
    test_activation_names();
    TEST_MAIN_END();
}
