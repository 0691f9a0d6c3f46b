/* Cost of usage-trace upkeep: the same sparse training run (784-1000-1000-10,
 * ReLU, hidden layers at 5% density, SET rewiring each epoch, Adam, batch
 * 128, Fashion-MNIST) with and without traces (credit, co-activation and
 * neuron activity on every layer), alternating the two so that both see
 * the same machine load, and the ratio of the fastest times of each.
 * Target: at most 1.15.
 *
 *   bench_traces [--threads N] [--epochs N] [--repeats N] [--density D]
 *                [--hidden 1000,1000]
 *
 * Without the dataset package a random dataset of the same shape is used. */
#include "rewire.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rw_dataset *open_data(rw_split split)
{
    rw_error err;
    rw_data_options o = rw_data_options_defaults();
    rw_dataset *ds = rw_dataset_open("fashion-mnist", split, &o, &err);
    if (ds)
        return ds;
    size_t n = split == RW_SPLIT_TRAIN ? 60000 : 10000;
    fprintf(stderr, "note: %s; using random data of the same shape\n", err.msg);
    float *x = malloc(n * 784 * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    if (!x || !y)
        return NULL;
    rw_rng rng;
    rw_rng_seed(&rng, 7 + (uint64_t)split);
    for (size_t i = 0; i < n * 784; i++)
        x[i] = (float)rw_rng_uniform(&rng);
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)rw_rng_below(&rng, 10);
    ds = rw_dataset_from_arrays(x, y, NULL, n, 784, 0, 10, &err);
    free(x);
    free(y);
    return ds;
}

typedef struct run_result {
    double seconds, accuracy;
} run_result;

static int run(const rw_dataset *train, const rw_dataset *test,
               const size_t *hidden, size_t nh, double density, size_t epochs,
               bool traces, run_result *r)
{
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = 1;
    if (rw_net_config_mlp(&cfg, 784, hidden, nh, 10, RW_ACT_RELU,
                          RW_LOSS_CROSS_ENTROPY, &err) != RW_OK ||
        rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, density, 0, &err) != RW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    rw_net *net = rw_net_create(&cfg, &err);
    if (!net) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    rw_train_config tc = rw_train_defaults();
    tc.epochs = epochs;
    tc.batch = 128;
    tc.rewire = RW_REWIRE_SET;
    tc.plasticity.traces = traces;
    rw_train_result res;
    rw_status st = rw_train(net, train, test, &tc, &res, &err);
    rw_net_free(net);
    if (st != RW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    r->seconds = res.train_seconds;
    r->accuracy = res.test_accuracy;
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 0;
    size_t epochs = 1, repeats = 3, nh = 2;
    size_t hidden[8] = {1000, 1000};
    double density = 0.05;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--density") && i + 1 < argc)
            density = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--hidden") && i + 1 < argc) {
            char *s = argv[++i];
            nh = 0;
            while (*s && nh < 8) {
                hidden[nh++] = (size_t)strtoul(s, &s, 10);
                if (*s == ',')
                    s++;
            }
        } else {
            fprintf(stderr,
                    "usage: bench_traces [--threads N] [--epochs N] "
                    "[--repeats N] [--density D] [--hidden 1000,1000]\n");
            return 2;
        }
    }
    if (epochs == 0 || repeats == 0 || !(density > 0.0 && density <= 1.0)) {
        fprintf(stderr, "bench_traces: bad arguments\n");
        return 2;
    }
    rw_set_threads(threads);
    rw_dataset *train = open_data(RW_SPLIT_TRAIN), *test = open_data(RW_SPLIT_TEST);
    if (!train || !test)
        return 1;
    printf("784");
    for (size_t l = 0; l < nh; l++)
        printf("-%zu", hidden[l]);
    printf("-10, hidden density %.3f, SET, Adam, batch 128, %zu epoch(s), "
           "%d threads, %zu repeats\n", density, epochs, rw_get_threads(), repeats);
    double best[2] = {1e300, 1e300}, acc[2] = {0, 0};
    for (size_t r = 0; r < repeats; r++)
        for (int t = 0; t < 2; t++) {
            run_result res;
            if (run(train, test, hidden, nh, density, epochs, t == 1, &res))
                return 1;
            printf("  %-15s %8.2f s  test accuracy %.2f%%\n",
                   t ? "with traces" : "without traces", res.seconds,
                   100.0 * res.accuracy);
            fflush(stdout);
            if (res.seconds < best[t])
                best[t] = res.seconds;
            acc[t] = res.accuracy;
        }
    printf("fastest: without %.2f s, with %.2f s; ratio %.3f (target <= 1.15)\n",
           best[0], best[1], best[1] / best[0]);
    printf("test accuracy: without %.2f%%, with %.2f%% (traces do not change "
           "training)\n", 100.0 * acc[0], 100.0 * acc[1]);
    rw_dataset_free(train);
    rw_dataset_free(test);
    return 0;
}
