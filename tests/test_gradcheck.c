/* Finite-difference gradient checks.
 *
 * For every weight and bias of small float32 networks the analytic gradient
 * from rw_net_gradient is compared with the central difference
 *     (L(p + eps) - L(p - eps)) / (2 eps),     eps = 1e-2,
 * of the mean loss it reports. Covered: every hidden activation (relu,
 * leaky_relu, sigmoid, tanh, identity), both losses, dense layers, sparse
 * layers (gradients of existing connections, rw_net_config_sparsify) and
 * deep stacks, whose first-layer weights depend on errors propagated back
 * through every layer above (the input-gradient path of dense and sparse
 * layers alike).
 *
 * Float32 loss values carry ~1e-7 of rounding noise, so eps is large by
 * double-precision standards: the noise then costs ~1e-5 in the quotient and
 * the truncation error (eps^2/6 f''') stays of the same order. Per element
 * the check is |num - ana| <= 1e-4 + 1e-2 |ana|, and over each layer the
 * relative error ||num - ana|| / ||ana|| must stay below 3e-3; observed
 * errors are ~1e-5 (relative ~1e-4 at worst), while a wrong derivative,
 * factor or index is off by O(|ana|).
 *
 * Kinks: for relu and leaky_relu a difference straddling a kink measures
 * neither one-sided slope. Rather than loosening the tolerance, each
 * perturbation records which hidden units are active (a > 0) for every
 * sample at p - eps, p and p + eps; when that pattern changes the element
 * is skipped (and counted: at most half of a layer may be skipped).
 *
 * Guards: every layer's analytic gradient must have an element above 1e-5,
 * so a network whose gradients vanish cannot pass silently. */
#include "check.h"
#include "internal.h"

#include <string.h>

#define EPS 1e-2
#define ATOL 1e-4
#define RTOL 1e-2
#define LAYER_RTOL 3e-3

typedef struct problem {
    size_t B, n_in, n_out;
    int ce;
    float *x, *t;
    int32_t *y;
} problem;

static void problem_init(problem *p, const rw_net *net, size_t B, uint64_t seed)
{
    rw_rng rng;
    rw_rng_seed(&rng, seed);
    p->B = B;
    p->n_in = rw_net_inputs(net);
    p->n_out = rw_net_outputs(net);
    p->ce = rw_net_classes(net) > 0;
    p->x = malloc(B * p->n_in * sizeof *p->x);
    p->t = malloc(B * p->n_out * sizeof *p->t);
    p->y = malloc(B * sizeof *p->y);
    for (size_t i = 0; i < B * p->n_in; i++)
        p->x[i] = (float)rw_rng_normal(&rng);
    for (size_t i = 0; i < B * p->n_out; i++)
        p->t[i] = (float)rw_rng_normal(&rng);
    for (size_t j = 0; j < B; j++)
        p->y[j] = (int32_t)(j < p->n_out ? j : rw_rng_below(&rng, p->n_out));
}

static void problem_free(problem *p)
{
    free(p->x);
    free(p->t);
    free(p->y);
}

static double loss_at(rw_net *net, const problem *p)
{
    rw_error err;
    double loss = NAN;
    CHECK_OK(rw_net_gradient(net, p->x, p->ce ? p->y : NULL, p->ce ? NULL : p->t,
                             p->B, &loss, NULL, &err),
             &err);
    return loss;
}

/* Active-unit pattern of the kinked hidden layers after the last pass. */
static size_t pattern_size(const rw_net *net, size_t B)
{
    size_t n = 0;
    for (size_t l = 0; l + 1 < net->n_layers; l++)
        n += net->layers[l].out * B;
    return n;
}

static void pattern(const rw_net *net, size_t B, unsigned char *pat)
{
    size_t n = 0;
    for (size_t l = 0; l + 1 < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        int kinked = L->act == RW_ACT_RELU || L->act == RW_ACT_LEAKY_RELU;
        for (size_t i = 0; i < L->out * B; i++)
            pat[n++] = kinked ? L->a[i] > 0.0f : 0;
    }
}

/* Checks every weight and bias of every layer against central differences. */
static void gradcheck(rw_net *net, const problem *p, const char *name)
{
    size_t np = pattern_size(net, p->B);
    unsigned char *pat0 = malloc(np), *pat1 = malloc(np);
    loss_at(net, p);
    pattern(net, p->B, pat0);
    /* Keep the analytic gradients: every later pass overwrites them. */
    size_t L_n = rw_net_layers(net);
    float *ana[RW_MAX_LAYERS];
    for (size_t l = 0; l < L_n; l++) {
        rw_layer_view v;
        rw_error err;
        CHECK_OK(rw_net_layer_view(net, l, &v, &err), &err);
        ana[l] = malloc((v.connections + v.outputs) * sizeof(float));
        memcpy(ana[l], v.grad_weights, v.connections * sizeof(float));
        memcpy(ana[l] + v.connections, v.grad_bias, v.outputs * sizeof(float));
    }
    for (size_t l = 0; l < L_n; l++) {
        rw_layer_view v;
        rw_error err;
        CHECK_OK(rw_net_layer_view(net, l, &v, &err), &err);
        size_t n = v.connections + v.outputs, skipped = 0, bad = 0;
        double amax = 0.0, diff2 = 0.0, ana2 = 0.0, worst = 0.0;
        for (size_t k = 0; k < n; k++) {
            float *param = k < v.connections ? &v.weights[k] : &v.bias[k - v.connections];
            float saved = *param;
            *param = saved + (float)EPS;
            double up = (double)*param - saved;
            double lp = loss_at(net, p);
            pattern(net, p->B, pat1);
            int crossed = memcmp(pat0, pat1, np) != 0;
            *param = saved - (float)EPS;
            double down = saved - (double)*param;
            double lm = loss_at(net, p);
            pattern(net, p->B, pat1);
            crossed |= memcmp(pat0, pat1, np) != 0;
            *param = saved;
            double a = ana[l][k];
            amax = fabs(a) > amax ? fabs(a) : amax;
            if (crossed) {
                skipped++;
                continue;
            }
            /* Divide by the step actually taken after float rounding. */
            double num = (lp - lm) / (up + down);
            double e = fabs(num - a);
            worst = e > worst ? e : worst;
            diff2 += e * e;
            ana2 += a * a;
            if (!(e <= ATOL + RTOL * fabs(a))) {
                if (bad < 4)
                    fprintf(stderr, "%s layer %zu %s %zu: analytic %.7g, numeric %.7g\n",
                            name, l, k < v.connections ? "weight" : "bias",
                            k < v.connections ? k : k - v.connections, a, num);
                bad++;
            }
        }
        double rel = ana2 > 0 ? sqrt(diff2 / ana2) : 0.0;
        printf("  %-28s layer %zu (%s, %zu params): max |err| %.2e, rel %.2e, "
               "skipped %zu at kinks\n",
               name, l, v.kind == RW_LAYER_SPARSE ? "sparse" : "dense", n, worst,
               rel, skipped);
        CHECK_MSG(bad == 0, "%s layer %zu: %zu of %zu gradients off", name, l, bad, n);
        CHECK_MSG(rel < LAYER_RTOL, "%s layer %zu: relative error %.3g", name, l, rel);
        CHECK_MSG(amax > 1e-5, "%s layer %zu: analytic gradient is all zeros", name, l);
        CHECK_MSG(skipped * 2 <= n, "%s layer %zu: %zu of %zu skipped at kinks",
                  name, l, skipped, n);
    }
    /* The loss and gradients are unchanged after all the perturbations. */
    loss_at(net, p);
    for (size_t l = 0; l < L_n; l++) {
        rw_layer_view v;
        rw_error err;
        CHECK_OK(rw_net_layer_view(net, l, &v, &err), &err);
        CHECK(memcmp(ana[l], v.grad_weights, v.connections * sizeof(float)) == 0);
        free(ana[l]);
    }
    free(pat0);
    free(pat1);
}

/* Gives biases small random values, so bias paths are exercised away from
 * zero. */
static void randomize_biases(rw_net *net, uint64_t seed)
{
    rw_rng rng;
    rw_rng_seed(&rng, seed);
    for (size_t l = 0; l < rw_net_layers(net); l++) {
        rw_layer_view v;
        rw_error err;
        CHECK_OK(rw_net_layer_view(net, l, &v, &err), &err);
        for (size_t o = 0; o < v.outputs; o++)
            v.bias[o] = (float)(0.2 * rw_rng_normal(&rng));
    }
}

typedef struct spec {
    const char *name;
    size_t sizes[8], n_sizes; /* inputs, hidden..., outputs */
    rw_activation act;
    rw_loss loss;
    int sparse;               /* 0 dense, 1 hidden sparse, 2 all sparse */
    double density;
    size_t B;
} spec;

static void run(const spec *s, uint64_t seed)
{
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = seed;
    CHECK_OK(rw_net_config_mlp(&cfg, s->sizes[0], s->sizes + 1, s->n_sizes - 2,
                               s->sizes[s->n_sizes - 1], s->act, s->loss, &err),
             &err);
    if (s->sparse)
        CHECK_OK(rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, s->density,
                                        s->sparse == 2, &err),
                 &err);
    rw_net *net = rw_net_create(&cfg, &err);
    if (!net) {
        fprintf(stderr, "%s: %s\n", s->name, err.msg);
        rw_test_failures++;
        return;
    }
    if (s->sparse) {
        rw_layer_info info;
        CHECK_OK(rw_net_layer_info(net, 0, &info, &err), &err);
        CHECK(info.kind == RW_LAYER_SPARSE && info.density < 1.0);
    }
    randomize_biases(net, seed + 7);
    problem p;
    problem_init(&p, net, s->B, seed + 13);
    gradcheck(net, &p, s->name);
    problem_free(&p);
    rw_net_free(net);
}

int main(void)
{
    /* Thousands of tiny passes: one thread avoids OpenMP barrier costs on a
     * loaded machine (threaded kernels are compared in test_layers). */
    rw_set_threads(1);
    const spec specs[] = {
        /* every hidden activation, cross-entropy, dense */
        {"ce relu", {4, 6, 5, 3}, 4, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY, 0, 1, 6},
        {"ce leaky_relu", {4, 6, 5, 3}, 4, RW_ACT_LEAKY_RELU, RW_LOSS_CROSS_ENTROPY, 0, 1, 6},
        {"ce sigmoid", {4, 6, 5, 3}, 4, RW_ACT_SIGMOID, RW_LOSS_CROSS_ENTROPY, 0, 1, 6},
        {"ce tanh", {4, 6, 5, 3}, 4, RW_ACT_TANH, RW_LOSS_CROSS_ENTROPY, 0, 1, 6},
        {"ce identity", {4, 6, 5, 3}, 4, RW_ACT_IDENTITY, RW_LOSS_CROSS_ENTROPY, 0, 1, 6},
        /* MSE regression (identity output) */
        {"mse tanh", {3, 5, 4, 2}, 4, RW_ACT_TANH, RW_LOSS_MSE, 0, 1, 5},
        {"mse relu", {3, 5, 4, 2}, 4, RW_ACT_RELU, RW_LOSS_MSE, 0, 1, 5},
        {"mse sigmoid", {3, 5, 2}, 3, RW_ACT_SIGMOID, RW_LOSS_MSE, 0, 1, 5},
        {"mse leaky_relu", {3, 5, 2}, 3, RW_ACT_LEAKY_RELU, RW_LOSS_MSE, 0, 1, 5},
        /* a lone dense layer, both losses */
        {"ce single layer", {5, 4}, 2, RW_ACT_IDENTITY, RW_LOSS_CROSS_ENTROPY, 0, 1, 6},
        {"mse single layer", {5, 3}, 2, RW_ACT_IDENTITY, RW_LOSS_MSE, 0, 1, 6},
        /* sparse layers: all sparse, or sparse hidden + dense output */
        {"sparse all tanh ce", {8, 10, 9, 3}, 4, RW_ACT_TANH, RW_LOSS_CROSS_ENTROPY, 2, 0.4, 6},
        {"sparse all relu ce", {8, 12, 10, 3}, 4, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY, 2, 0.5, 6},
        {"sparse hidden sigmoid mse", {6, 10, 8, 2}, 4, RW_ACT_SIGMOID, RW_LOSS_MSE, 1, 0.3, 5},
        {"sparse hidden leaky mse", {6, 10, 8, 2}, 4, RW_ACT_LEAKY_RELU, RW_LOSS_MSE, 1, 0.5, 5},
        /* deep stacks: first-layer gradients pass back through 4 layers */
        {"deep dense tanh", {4, 6, 6, 6, 6, 3}, 6, RW_ACT_TANH, RW_LOSS_CROSS_ENTROPY, 0, 1, 5},
        {"deep sparse tanh", {6, 8, 8, 8, 8, 3}, 6, RW_ACT_TANH, RW_LOSS_CROSS_ENTROPY, 2, 0.5, 5},
        {"deep sparse relu mse", {6, 10, 10, 10, 2}, 5, RW_ACT_RELU, RW_LOSS_MSE, 1, 0.5, 5},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        run(&specs[i], 100 + 17 * i);
    TEST_MAIN_END();
}
