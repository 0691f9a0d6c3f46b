/* Optimizer steps against values worked out by hand.
 *
 * The network is a single dense layer with two weights and one bias
 * (2 inputs -> 1 output, MSE). Gradients are written straight into the
 * layer through rw_layer_view, so every expected value below is plain
 * arithmetic on a handful of numbers. Expected values are computed in
 * double; rewire works in float32, so the tolerance is 2e-7 absolute plus
 * 1e-6 relative -- a few float ulps, tight enough to see a wrong
 * constant, a missing bias correction or decay applied to a bias. */
#include "check.h"
#include "internal.h"

#include <string.h>

#define ATOL 2e-7
#define RTOL 1e-6

static rw_net *make_net(double w0, double w1, double b)
{
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    CHECK_OK(rw_net_config_mlp(&cfg, 2, NULL, 0, 1, RW_ACT_IDENTITY, RW_LOSS_MSE,
                               &err),
             &err);
    rw_net *net = rw_net_create(&cfg, &err);
    if (!net) {
        fprintf(stderr, "rw_net_create: %s\n", err.msg);
        exit(1);
    }
    rw_layer_view v;
    CHECK_OK(rw_net_layer_view(net, 0, &v, &err), &err);
    CHECK(v.connections == 2 && v.outputs == 1);
    v.weights[0] = (float)w0;
    v.weights[1] = (float)w1;
    v.bias[0] = (float)b;
    return net;
}

static void set_grads(rw_net *net, double g0, double g1, double gb)
{
    rw_layer_view v;
    rw_error err;
    CHECK_OK(rw_net_layer_view(net, 0, &v, &err), &err);
    v.grad_weights[0] = (float)g0;
    v.grad_weights[1] = (float)g1;
    v.grad_bias[0] = (float)gb;
}

static void step(rw_net *net, const rw_optim_config *opt, double lr)
{
    rw_error err;
    CHECK_OK(rw_net_step(net, opt, lr, &err), &err);
}

#define EXPECT(net, e0, e1, eb)                                               \
    do {                                                                      \
        rw_layer_view v_;                                                     \
        rw_error e_;                                                          \
        CHECK_OK(rw_net_layer_view(net, 0, &v_, &e_), &e_);                   \
        CHECK_CLOSE(v_.weights[0], (e0), ATOL, RTOL);                          \
        CHECK_CLOSE(v_.weights[1], (e1), ATOL, RTOL);                          \
        CHECK_CLOSE(v_.bias[0], (eb), ATOL, RTOL);                             \
    } while (0)

static void test_sgd(void)
{
    rw_optim_config o = rw_optim_defaults(RW_OPT_SGD);
    rw_net *net = make_net(0.5, -1.0, 0.2);
    set_grads(net, 0.1, -0.2, 0.3);
    step(net, &o, 0.1);
    /* w <- w - lr g */
    EXPECT(net, 0.5 - 0.1 * 0.1, -1.0 - 0.1 * -0.2, 0.2 - 0.1 * 0.3);
    EXPECT(net, 0.49, -0.98, 0.17);
    /* A second step with the same gradients moves by the same amount. */
    step(net, &o, 0.1);
    EXPECT(net, 0.48, -0.96, 0.14);
    /* lr 0 changes nothing. */
    step(net, &o, 0.0);
    EXPECT(net, 0.48, -0.96, 0.14);
    rw_net_free(net);

    /* Coupled L2 decay: g' = g + wd w on weights; the bias is not decayed. */
    o.weight_decay = 0.01;
    net = make_net(0.5, -1.0, 0.2);
    set_grads(net, 0.1, -0.2, 0.3);
    step(net, &o, 0.1);
    EXPECT(net, 0.5 - 0.1 * (0.1 + 0.01 * 0.5), -1.0 - 0.1 * (-0.2 + 0.01 * -1.0),
           0.2 - 0.1 * 0.3);
    EXPECT(net, 0.4895, -0.979, 0.17);
    rw_net_free(net);

    /* Pure decay (zero gradient) shrinks weights by (1 - lr wd) and leaves a
     * bias alone. */
    net = make_net(0.5, -1.0, 0.2);
    set_grads(net, 0.0, 0.0, 0.0);
    o.weight_decay = 0.5;
    step(net, &o, 0.1);
    EXPECT(net, 0.5 * 0.95, -1.0 * 0.95, 0.2);
    rw_net_free(net);
}

static void test_momentum(void)
{
    rw_optim_config o = rw_optim_defaults(RW_OPT_MOMENTUM);
    CHECK(o.momentum == 0.9 && !o.nesterov);
    /* Heavy ball: v <- mu v + g; w <- w - lr v; v starts at 0. */
    rw_net *net = make_net(0.5, -1.0, 0.2);
    set_grads(net, 0.1, -0.2, 0.3);
    step(net, &o, 0.1);
    /* v1 = (0.1, -0.2 | 0.3) */
    EXPECT(net, 0.49, -0.98, 0.17);
    set_grads(net, 0.05, 0.4, -0.1);
    step(net, &o, 0.1);
    /* v2 = 0.9 v1 + g2 = (0.09 + 0.05, -0.18 + 0.4 | 0.27 - 0.1) */
    EXPECT(net, 0.49 - 0.1 * 0.14, -0.98 - 0.1 * 0.22, 0.17 - 0.1 * 0.17);
    EXPECT(net, 0.476, -1.002, 0.153);
    rw_net_free(net);

    /* Nesterov: v <- mu v + g; w <- w - lr (g + mu v). */
    o.nesterov = 1;
    net = make_net(0.5, -1.0, 0.2);
    set_grads(net, 0.1, -0.2, 0.3);
    step(net, &o, 0.1);
    /* v1 = g1; update g1 + 0.9 g1 = 1.9 g1 */
    EXPECT(net, 0.5 - 0.1 * 0.19, -1.0 - 0.1 * -0.38, 0.2 - 0.1 * 0.57);
    set_grads(net, 0.05, 0.4, -0.1);
    step(net, &o, 0.1);
    /* v2 = (0.14, 0.22 | 0.17); update g2 + 0.9 v2 = (0.176, 0.598 | 0.053) */
    EXPECT(net, 0.481 - 0.1 * 0.176, -0.962 - 0.1 * 0.598, 0.143 - 0.1 * 0.053);
    rw_net_free(net);

    /* Momentum with L2 decay: the decayed gradient enters the velocity. */
    o.nesterov = 0;
    o.weight_decay = 0.1;
    net = make_net(0.5, -1.0, 0.2);
    set_grads(net, 0.1, -0.2, 0.3);
    step(net, &o, 0.1);
    /* g' = (0.1 + 0.05, -0.2 - 0.1) = (0.15, -0.3); bias g' = 0.3 */
    EXPECT(net, 0.5 - 0.015, -1.0 + 0.03, 0.17);
    step(net, &o, 0.1);
    /* g' = (0.1 + 0.1*0.485, -0.2 + 0.1*-0.97) = (0.1485, -0.297)
     * v2 = 0.9 (0.15, -0.3) + g' = (0.2835, -0.567); bias v2 = 0.27 + 0.3 */
    EXPECT(net, 0.485 - 0.1 * 0.2835, -0.97 - 0.1 * -0.567, 0.17 - 0.1 * 0.57);
    rw_net_free(net);
}

static void test_adam(void)
{
    rw_optim_config o = rw_optim_defaults(RW_OPT_ADAM);
    CHECK(o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8);
    rw_net *net = make_net(0.0, 1.0, 0.0);
    set_grads(net, 0.1, -0.2, 0.004);
    /* Step 1 with bias correction: m = 0.1 g, v = 0.001 g^2, so
     * m/(1-0.9) = g and v/(1-0.999) = g^2 and the step is
     * lr g / (|g| + eps). lr = 1 makes any slip in the constants visible. */
    step(net, &o, 1.0);
    EXPECT(net, -0.1 / (0.1 + 1e-8), 1.0 + 0.2 / (0.2 + 1e-8),
           -0.004 / (0.004 + 1e-8));
    /* Step 2, g2 = (0.05, 0.3 | 0.004), bias corrections 1-0.9^2 = 0.19 and
     * 1-0.999^2 = 0.001999. */
    set_grads(net, 0.05, 0.3, 0.004);
    step(net, &o, 1.0);
    {
        double m0 = 0.9 * (0.1 * 0.1) + 0.1 * 0.05;          /* 0.014 */
        double v0 = 0.999 * (0.001 * 0.01) + 0.001 * 0.0025;  /* 1.249e-5 */
        double m1 = 0.9 * (0.1 * -0.2) + 0.1 * 0.3;           /* 0.012 */
        double v1 = 0.999 * (0.001 * 0.04) + 0.001 * 0.09;    /* 1.2996e-4 */
        double mb = 0.9 * (0.1 * 0.004) + 0.1 * 0.004;        /* 0.0004 */
        double vb = 0.999 * (0.001 * 1.6e-5) + 0.001 * 1.6e-5;
        double w0 = -0.1 / (0.1 + 1e-8), w1 = 1.0 + 0.2 / (0.2 + 1e-8);
        double b0 = -0.004 / (0.004 + 1e-8);
        EXPECT(net, w0 - (m0 / 0.19) / (sqrt(v0 / 0.001999) + 1e-8),
               w1 - (m1 / 0.19) / (sqrt(v1 / 0.001999) + 1e-8),
               b0 - (mb / 0.19) / (sqrt(vb / 0.001999) + 1e-8));
    }
    rw_net_free(net);

    /* A zero gradient gives a zero step (m = 0), not 0/0. */
    net = make_net(0.5, -1.0, 0.2);
    set_grads(net, 0.0, 0.0, 0.0);
    step(net, &o, 0.01);
    EXPECT(net, 0.5, -1.0, 0.2);
    rw_net_free(net);

    /* Coupled L2 in Adam: g' = g + wd w enters both moments. With w = -1,
     * g = 0.005 and wd = 0.1, g' = -0.095: the decay flips the sign of the
     * step, so the weight goes up by lr. The bias (g = 0.005) is not
     * decayed and goes down by lr. */
    o.weight_decay = 0.1;
    net = make_net(0.5, -1.0, 0.2);
    set_grads(net, 0.02, 0.005, 0.005);
    step(net, &o, 0.01);
    /* w0: g' = 0.02 + 0.05 = 0.07 */
    EXPECT(net, 0.5 - 0.01 * 0.07 / (0.07 + 1e-8),
           -1.0 + 0.01 * 0.095 / (0.095 + 1e-8), 0.2 - 0.01 * 0.005 / (0.005 + 1e-8));
    rw_net_free(net);
}

static void test_adamw(void)
{
    rw_optim_config o = rw_optim_defaults(RW_OPT_ADAMW);
    o.weight_decay = 0.1;
    /* Decoupled decay: w <- w - lr wd w, then the plain Adam step; the
     * gradient never sees the decay, and biases are not decayed. */
    rw_net *net = make_net(0.5, -1.0, 0.2);
    set_grads(net, 0.02, 0.005, 0.005);
    step(net, &o, 0.01);
    double w0 = 0.5 * (1.0 - 0.01 * 0.1) - 0.01 * 0.02 / (0.02 + 1e-8);
    double w1 = -1.0 * (1.0 - 0.01 * 0.1) - 0.01 * 0.005 / (0.005 + 1e-8);
    double b = 0.2 - 0.01 * 0.005 / (0.005 + 1e-8);
    EXPECT(net, w0, w1, b);
    EXPECT(net, 0.4895, -1.009, 0.19);
    /* Step 2 with a zero gradient: the moments still carry step 1's
     * gradient. m = 0.9 * 0.1 g1, v = 0.999 * 0.001 g1^2. */
    set_grads(net, 0.0, 0.0, 0.0);
    step(net, &o, 0.01);
    {
        double e0 = w0 * 0.999 - 0.01 * (0.09 * 0.02 / 0.19) /
                                     (sqrt(0.000999 * 0.0004 / 0.001999) + 1e-8);
        double e1 = w1 * 0.999 - 0.01 * (0.09 * 0.005 / 0.19) /
                                     (sqrt(0.000999 * 0.000025 / 0.001999) + 1e-8);
        double eb = b - 0.01 * (0.09 * 0.005 / 0.19) /
                            (sqrt(0.000999 * 0.000025 / 0.001999) + 1e-8);
        EXPECT(net, e0, e1, eb);
    }
    rw_net_free(net);
}

static void test_errors(void)
{
    rw_error err;
    rw_optim_config o = rw_optim_defaults(RW_OPT_SGD);
    rw_net *net = make_net(0.5, -1.0, 0.2);
    CHECK(rw_net_step(net, &o, -0.1, &err) == RW_ERR_ARG);
    CHECK(rw_net_step(net, &o, NAN, &err) == RW_ERR_ARG);
    CHECK(rw_net_step(NULL, &o, 0.1, &err) == RW_ERR_ARG);
    o.kind = (rw_optim_kind)17;
    CHECK(rw_net_step(net, &o, 0.1, &err) == RW_ERR_ARG);
    CHECK(err.msg[0] != '\0');
    /* Failed calls left the weights alone. */
    EXPECT(net, 0.5, -1.0, 0.2);
    rw_net_free(net);
}

/* The update must not depend on how parameters are split between layers or
 * threads: a large layer (several of the optimizer's chunks) gets the same
 * per-element result as the tiny hand-checked one. */
static void test_large_layer(void)
{
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    size_t n_in = 300, n_out = 200; /* 60000 weights: more than one chunk */
    CHECK_OK(rw_net_config_mlp(&cfg, n_in, NULL, 0, n_out, RW_ACT_IDENTITY,
                               RW_LOSS_MSE, &err),
             &err);
    rw_net *net = rw_net_create(&cfg, &err);
    rw_layer_view v;
    CHECK_OK(rw_net_layer_view(net, 0, &v, &err), &err);
    for (size_t k = 0; k < v.connections; k++) {
        v.weights[k] = 0.5f;
        v.grad_weights[k] = (k % 2) ? 0.02f : -0.02f;
    }
    rw_optim_config o = rw_optim_defaults(RW_OPT_ADAMW);
    o.weight_decay = 0.1;
    CHECK_OK(rw_net_step(net, &o, 0.01, &err), &err);
    size_t bad = 0;
    for (size_t k = 0; k < v.connections; k++) {
        double e = 0.5 * (1.0 - 0.001) - ((k % 2) ? 1.0 : -1.0) * 0.01 * 0.02 / (0.02 + 1e-8);
        bad += !(fabs(v.weights[k] - e) <= ATOL + RTOL * fabs(e));
    }
    CHECK_MSG(bad == 0, "%zu of %zu weights off", bad, v.connections);
    rw_net_free(net);
}

/* The gradient norm runs over all the layers in one parallel region: it
 * must give the bits of the per-array sums it replaced (each layer's
 * rw_sum_squares_f32 of the weights plus that of the biases, added in
 * order) on one thread and on two, with the arrays' chunks in groups of
 * 64 (2.4 million weights: 74 chunks) and one-chunk arrays (a sparse
 * layer of one connection per neuron). The step on two threads gives the
 * same bits as on one. */
static void test_grad_norm_one_region(void)
{
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    size_t hidden[2] = {3000, 7};
    CHECK_OK(rw_net_config_mlp(&cfg, 800, hidden, 2, 3, RW_ACT_RELU,
                               RW_LOSS_CROSS_ENTROPY, &err), &err);
    cfg.layers[1].kind = RW_LAYER_SPARSE;
    cfg.layers[1].density = 1e-9; /* one connection per neuron */
    rw_net *net = rw_net_create(&cfg, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    rw_net *twin = rw_net_clone(net, &err);
    CHECK_MSG(twin != NULL, "%s", err.msg);
    CHECK(net->layers[0].nw == 2400000 && net->layers[1].nw == 7);
    rw_rng rng;
    rw_rng_seed(&rng, 7);
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l], *T = &twin->layers[l];
        for (size_t k = 0; k < L->nw; k++)
            L->gw[k] = T->gw[k] = (float)rw_rng_normal(&rng);
        for (size_t o = 0; o < L->out; o++)
            L->gb[o] = T->gb[o] = (float)rw_rng_normal(&rng);
    }
    double want = 0.0;
    for (size_t l = 0; l < net->n_layers; l++)
        want += rw_sum_squares_f32(net->layers[l].gw, net->layers[l].nw) +
                rw_sum_squares_f32(net->layers[l].gb, net->layers[l].out);
    want = sqrt(want);
    int threads = rw_get_threads();
    rw_set_par_min_work(0);
    rw_set_threads(1);
    double one = rw_net_grad_norm(net);
    rw_set_threads(2);
    double two = rw_net_grad_norm(net);
    CHECK_MSG(one == want && two == want, "norm %.17g (1 thread), %.17g (2), "
              "want %.17g", one, two, want);
    CHECK(want > 1000.0); /* 2.4 million N(0, 1) values: about 1550 */
    rw_optim_config o = rw_optim_defaults(RW_OPT_ADAMW);
    rw_set_threads(1);
    CHECK_OK(rw_net_step(net, &o, 0.01, &err), &err);
    rw_set_threads(2);
    CHECK_OK(rw_net_step(twin, &o, 0.01, &err), &err);
    size_t diff = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        diff += memcmp(net->layers[l].w, twin->layers[l].w,
                       net->layers[l].nw * sizeof(float)) != 0;
        diff += memcmp(net->layers[l].b, twin->layers[l].b,
                       net->layers[l].out * sizeof(float)) != 0;
    }
    CHECK_MSG(diff == 0, "%zu arrays differ after a step on 1 and 2 threads", diff);
    rw_set_par_min_work(RW_PAR_MIN_WORK);
    rw_set_threads(threads);
    rw_net_free(net);
    rw_net_free(twin);
}

int main(void)
{
    test_sgd();
    test_momentum();
    test_adam();
    test_adamw();
    test_errors();
    test_large_layer();
    test_grad_norm_one_region();
    TEST_MAIN_END();
}
