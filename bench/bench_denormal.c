/* Do subnormal floats slow rewire's training down? Nerva's authors found a
 * sparse dot product 8x slower once subnormals built up in highly sparse
 * weights. This trains the main job's network (784-1000x3-10, Erdos-Renyi
 * epsilon 20, SET, AdamW with weight decay 0.1, lr 0.002, cosine) and
 *   1. after each epoch counts the subnormal values in every layer's
 *      weights, activations, errors and weight gradients (on one batch of
 *      the test set; each epoch is its own rw_train call, so the cosine
 *      schedules restart each epoch);
 *   2. times an epoch with the CPU's flush-to-zero and denormals-are-zero
 *      modes off and on, in the same run, alternating which goes first.
 *
 *   bench_denormal [--epochs N] [--threads N] [--density D]
 *
 * --density D replaces Erdos-Renyi epsilon 20 by density D in every hidden
 * layer (subnormals were reported in highly sparse weights).
 */
#include "internal.h"

#include "bench_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

/* Sets FTZ and DAZ on every thread of the OpenMP pool (which oneDNN shares)
 * and on the calling thread. */
static void set_flush(bool on)
{
#if defined(__x86_64__)
#pragma omp parallel
    {
        unsigned c = _mm_getcsr();
        _mm_setcsr(on ? (c | 0x8040u) : (c & ~0x8040u));
    }
    unsigned c = _mm_getcsr();
    _mm_setcsr(on ? (c | 0x8040u) : (c & ~0x8040u));
#else
    (void)on;
#endif
}

static size_t subnormals(const float *v, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; v && i < n; i++)
        c += fpclassify(v[i]) == FP_SUBNORMAL;
    return c;
}

typedef struct probe {
    const rw_dataset *test;
    size_t total[4], values[4];
} probe;

static int count_epoch(const rw_epoch_stats *s, void *user)
{
    (void)s;
    (void)user;
    return 0;
}

static void count(rw_net *net, probe *p, size_t epoch)
{
    rw_error err;
    size_t B = 128;
    const float *x = rw_dataset_x(p->test);
    const int32_t *y = rw_dataset_labels(p->test);
    double loss;
    if (rw_net_gradient(net, x, y, NULL, B, &loss, NULL, &err) != RW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    printf("epoch %zu:", epoch);
    static const char *const what[] = {"weights", "activations", "errors",
                                       "gradients"};
    size_t c[4] = {0}, n[4] = {0};
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        c[0] += subnormals(L->w, L->nw);
        n[0] += L->nw;
        c[1] += subnormals(L->a, L->out * B);
        n[1] += L->out * B;
        c[2] += subnormals(L->d, L->out * B);
        n[2] += L->out * B;
        c[3] += subnormals(L->gw, L->nw);
        n[3] += L->nw;
    }
    for (int k = 0; k < 4; k++) {
        printf(" %s %zu of %zu;", what[k], c[k], n[k]);
        p->total[k] += c[k];
        p->values[k] += n[k];
    }
    printf("\n");
}

static double density = 0.0;

static rw_net *main_job_net(rw_error *err)
{
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = 1;
    const size_t hidden[] = {1000, 1000, 1000};
    if (rw_net_config_mlp(&cfg, 784, hidden, 3, 10, RW_ACT_RELU,
                          RW_LOSS_CROSS_ENTROPY, err) != RW_OK ||
        rw_net_config_sparsify(&cfg, density > 0.0 ? RW_SPARSE_UNIFORM : RW_SPARSE_ER,
                               density > 0.0 ? density : 20.0, 0, err) != RW_OK)
        return NULL;
    return rw_net_create(&cfg, err);
}

static rw_train_config main_job_train(size_t epochs)
{
    rw_train_config tc = rw_train_defaults();
    tc.epochs = epochs;
    tc.optim = rw_optim_defaults(RW_OPT_ADAMW);
    tc.optim.weight_decay = 0.1;
    tc.lr = 0.002;
    tc.schedule = RW_SCHED_COSINE;
    tc.rewire = RW_REWIRE_SET;
    tc.drop_schedule_cosine = 1;
    tc.on_epoch = count_epoch;
    return tc;
}

int main(int argc, char **argv)
{
    bench_prefer_brief_spin(argv);
    size_t epochs = 3;
    int threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--density") && i + 1 < argc)
            density = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--epochs N] [--threads N] [--density D]\n",
                    argv[0]);
            return 2;
        }
    }
    rw_set_threads(threads);
    rw_error err;
    rw_dataset *train = bench_open_data(RW_SPLIT_TRAIN), *test = bench_open_data(RW_SPLIT_TEST);
    if (!train || !test)
        return 1;
    if (density > 0.0)
        printf("784-1000x3-10 at density %g", density);
    else
        printf("main job network (epsilon 20)");
    printf(", %d threads, sparse kernels: %s\n\n", threads, rw_isa());

    /* 1. Subnormals after each epoch, FTZ/DAZ off. */
    set_flush(false);
    rw_net *net = main_job_net(&err);
    if (!net) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    probe p = {test, {0}, {0}};
    for (size_t e = 1; e <= epochs; e++) {
        rw_train_config tc = main_job_train(1);
        tc.seed = e; /* each call is one epoch of a fresh schedule */
        rw_train_result r;
        if (rw_train(net, train, NULL, &tc, &r, &err) != RW_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        count(net, &p, e);
    }
    rw_net_free(net);

    /* 2. One epoch with FTZ/DAZ off and on, twice, alternating. */
    double best[2] = {1e30, 1e30}, acc[2] = {0, 0};
    for (int rep = 0; rep < 4; rep++) {
        bool on = (rep % 2) ^ (rep / 2);
        set_flush(on);
        net = main_job_net(&err);
        rw_train_config tc = main_job_train(1);
        tc.seed = 1;
        rw_train_result r;
        if (!net || rw_train(net, train, test, &tc, &r, &err) != RW_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        if (r.train_seconds < best[on])
            best[on] = r.train_seconds;
        acc[on] = r.test_accuracy;
        rw_net_free(net);
    }
    set_flush(false);
    printf("\none epoch, best of 2: FTZ/DAZ off %.3f s (test %.2f%%), on %.3f s "
           "(test %.2f%%): on/off %.3f\n",
           best[0], 100 * acc[0], best[1], 100 * acc[1], best[1] / best[0]);
    rw_dataset_free(train);
    rw_dataset_free(test);
    return 0;
}
