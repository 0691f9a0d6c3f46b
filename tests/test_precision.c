/* bf16 rows (rw_net_set_precision) through the network: the setting and
 * its errors, passes that really change (and only by bf16's rounding),
 * the same bits for 1 and 2 threads, for a clone, and for rw_net_predict
 * and rw_net_predict_with, a workspace made before the change refused,
 * fp32 again giving fp32's bits, and training in bf16 going where fp32
 * goes. The kernels' arithmetic is checked in test_kernels. */
#include "internal.h"

#include "check.h"

#include <string.h>

enum { IN = 24, H1 = 96, H2 = 80, OUT = 5, N = 64 };

static rw_net *make_net(void)
{
    rw_error err;
    rw_net_config cfg;
    size_t hidden[2] = {H1, H2};
    CHECK_OK(rw_net_config_mlp(&cfg, IN, hidden, 2, OUT, RW_ACT_RELU,
                               RW_LOSS_CROSS_ENTROPY, &err), &err);
    cfg.seed = 7;
    CHECK_OK(rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, 0.3, 1, &err), &err);
    rw_net *net = rw_net_create(&cfg, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    return net;
}

static void data(float *x, int32_t *y)
{
    rw_rng rng;
    rw_rng_seed(&rng, 3);
    for (size_t i = 0; i < (size_t)N * IN; i++)
        x[i] = (float)rw_rng_normal(&rng);
    for (size_t j = 0; j < N; j++)
        y[j] = (int32_t)rw_rng_below(&rng, OUT);
}

/* Every layer's weight and bias gradients, concatenated. */
static size_t grads(const rw_net *net, float *g)
{
    size_t n = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        if (g) {
            memcpy(g + n, L->gw, L->nw * sizeof *g);
            memcpy(g + n + L->nw, L->gb, L->out * sizeof *g);
        }
        n += L->nw + L->out;
    }
    return n;
}

static void test_setting(void)
{
    rw_error err;
    rw_precision p = RW_PRECISION_BF16;
    CHECK_OK(rw_precision_parse("fp32", &p, &err), &err);
    CHECK(p == RW_PRECISION_FP32);
    CHECK_OK(rw_precision_parse("bf16", &p, &err), &err);
    CHECK(p == RW_PRECISION_BF16);
    CHECK(rw_precision_parse("fp16", &p, &err) == RW_ERR_ARG &&
          strstr(err.msg, "'fp16'") && strstr(err.msg, "fp32 or bf16"));
    CHECK(rw_precision_parse(NULL, &p, &err) == RW_ERR_ARG);
    CHECK(p == RW_PRECISION_BF16); /* unchanged on error */
    CHECK(strcmp(rw_precision_name(RW_PRECISION_BF16), "bf16") == 0 &&
          strcmp(rw_precision_name(RW_PRECISION_FP32), "fp32") == 0 &&
          rw_precision_name((rw_precision)7) == NULL);
    CHECK(rw_net_set_precision(NULL, RW_PRECISION_BF16, &err) == RW_ERR_ARG);
    rw_net *net = make_net();
    CHECK(rw_net_precision(net) == RW_PRECISION_FP32);
    CHECK(rw_net_set_precision(net, (rw_precision)2, &err) == RW_ERR_ARG &&
          strstr(err.msg, "precision 2"));
    CHECK(rw_net_precision(net) == RW_PRECISION_FP32);
    CHECK_OK(rw_net_set_precision(net, RW_PRECISION_BF16, &err), &err);
    CHECK(rw_net_precision(net) == RW_PRECISION_BF16);
    rw_net_free(net);
}

static void test_passes(void)
{
    rw_error err;
    float x[N * IN];
    int32_t y[N];
    data(x, y);
    rw_net *net = make_net();
    size_t ng = grads(net, NULL);
    float *g32 = malloc(ng * sizeof *g32), *g16 = malloc(ng * sizeof *g16);
    float *g16b = malloc(ng * sizeof *g16b);
    double loss32, loss16, loss16b, loss32b;
    float p32[N * OUT], p16[N * OUT], pw[N * OUT], pc[N * OUT];

    rw_set_threads(1);
    CHECK_OK(rw_net_gradient(net, x, y, NULL, N, &loss32, NULL, &err), &err);
    grads(net, g32);
    CHECK_OK(rw_net_predict(net, x, N, p32, &err), &err);
    rw_workspace *ws32 = rw_workspace_create(net, 0, &err);
    CHECK(ws32 != NULL);

    /* The scratch comes at once, for the buffers as they are: a training
     * loop keeps the width it reserved. */
    size_t cap = net->batch_cap;
    CHECK(cap >= N);
    CHECK_OK(rw_net_set_precision(net, RW_PRECISION_BF16, &err), &err);
    CHECK(net->batch_cap == cap && net->h16 != NULL && net->layers[0].h == net->h16);
    CHECK_OK(rw_net_gradient(net, x, y, NULL, N, &loss16, NULL, &err), &err);
    grads(net, g16);
    CHECK(net->h16 != NULL && net->layers[1].h == net->h16);
    /* Other numbers, by about bf16's rounding (2^-9 of each term). */
    CHECK_MSG(loss16 != loss32 && fabs(loss16 - loss32) < 1e-2 * loss32,
              "loss fp32 %.9g, bf16 %.9g", loss32, loss16);
    size_t differ = 0;
    double gmax = 0, dmax = 0;
    for (size_t i = 0; i < ng; i++) {
        differ += g16[i] != g32[i];
        gmax = fmax(gmax, fabs(g32[i]));
        dmax = fmax(dmax, fabs(g16[i] - g32[i]));
    }
    CHECK_MSG(differ > ng / 2 && dmax < 0.05 * gmax,
              "%zu of %zu gradients differ, by up to %g (largest %g)", differ,
              ng, dmax, gmax);
    /* The same bits on 2 threads. */
    rw_set_threads(2);
    CHECK_OK(rw_net_gradient(net, x, y, NULL, N, &loss16b, NULL, &err), &err);
    grads(net, g16b);
    CHECK(loss16b == loss16 && memcmp(g16, g16b, ng * sizeof *g16) == 0);

    /* Prediction: rw_net_predict and a new workspace agree bit for bit,
     * the workspace made at fp32 is refused, and both differ from fp32's
     * probabilities a little. */
    CHECK_OK(rw_net_predict(net, x, N, p16, &err), &err);
    CHECK(rw_net_predict_with(net, ws32, x, N, pw, &err) == RW_ERR_ARG &&
          strstr(err.msg, "bf16"));
    rw_workspace *ws16 = rw_workspace_create(net, 16, &err);
    CHECK(ws16 != NULL);
    CHECK_OK(rw_net_predict_with(net, ws16, x, N, pw, &err), &err);
    CHECK(memcmp(pw, p16, sizeof pw) == 0);
    double pmax = 0;
    for (size_t i = 0; i < N * OUT; i++)
        pmax = fmax(pmax, fabs(p16[i] - p32[i]));
    CHECK_MSG(pmax > 0 && pmax < 1e-2, "bf16 probabilities off by %g", pmax);
    /* A clone keeps the precision and its numbers. */
    rw_net *c = rw_net_clone(net, &err);
    CHECK(c != NULL && rw_net_precision(c) == RW_PRECISION_BF16);
    CHECK_OK(rw_net_predict(c, x, N, pc, &err), &err);
    CHECK(memcmp(pc, p16, sizeof pc) == 0 && c->h16 != net->h16);
    rw_net_free(c);

    /* fp32 again: fp32's bits, the scratch gone, the old workspace good. */
    cap = net->batch_cap;
    CHECK_OK(rw_net_set_precision(net, RW_PRECISION_FP32, &err), &err);
    CHECK(net->batch_cap == cap && net->h16 == NULL && net->layers[0].h == NULL);
    rw_set_threads(1);
    CHECK_OK(rw_net_gradient(net, x, y, NULL, N, &loss32b, NULL, &err), &err);
    grads(net, g16b);
    CHECK(loss32b == loss32 && memcmp(g32, g16b, ng * sizeof *g32) == 0);
    CHECK(net->h16 == NULL && net->layers[1].h == NULL);
    CHECK_OK(rw_net_predict_with(net, ws32, x, N, pw, &err), &err);
    CHECK(memcmp(pw, p32, sizeof pw) == 0);
    rw_set_threads(2);
    rw_workspace_free(ws32);
    rw_workspace_free(ws16);
    rw_net_free(net);
    free(g32);
    free(g16);
    free(g16b);
}

/* 150 Adam steps on one batch from the same start: bf16's loss follows
 * fp32's down. */
static void test_training(void)
{
    rw_error err;
    float x[N * IN];
    int32_t y[N];
    data(x, y);
    double final[2], first = 0;
    for (int p = 0; p < 2; p++) {
        rw_net *net = make_net();
        CHECK_OK(rw_net_set_precision(net, p ? RW_PRECISION_BF16 : RW_PRECISION_FP32,
                                      &err), &err);
        rw_optim_config opt = rw_optim_defaults(RW_OPT_ADAM);
        double loss = 0;
        for (int s = 0; s < 150; s++) {
            CHECK_OK(rw_net_gradient(net, x, y, NULL, N, &loss, NULL, &err), &err);
            if (s == 0 && p == 0)
                first = loss;
            CHECK_OK(rw_net_step(net, &opt, 0.003, &err), &err);
        }
        final[p] = loss;
        rw_net_free(net);
    }
    CHECK_MSG(final[0] < 0.3 * first && fabs(final[1] - final[0]) < 0.1 * first,
              "loss %.4f at the start, after 150 steps fp32 %.4f, bf16 %.4f",
              first, final[0], final[1]);
}

int main(void)
{
    rw_set_par_min_work(0);
    test_setting();
    test_passes();
    test_training();
    TEST_MAIN_END();
}
