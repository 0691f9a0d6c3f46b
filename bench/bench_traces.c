/* Cost of usage-trace upkeep: the same sparse training run (784-1000-1000-10,
 * ReLU, hidden layers at 5% density, SET rewiring each epoch, Adam, batch
 * 128, the first --samples images of Fashion-MNIST) with and without traces
 * (credit, co-activation and neuron activity on every layer), alternating
 * the two so that both see the same machine load. It reports the fastest
 * wall time and the least process CPU time of each and their ratios; on a
 * shared machine the CPU-time ratio at one thread (the default) is the
 * steady measure. Target: at most 1.15.
 *
 *   bench_traces [--threads N] [--epochs N] [--repeats N] [--samples N]
 *                [--density D] [--hidden 1000,1000]
 *
 * Without the dataset package a random dataset of the same shape is used. */
#include "rewire.h"

#include "bench_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct run_result {
    double seconds, cpu, loss;
} run_result;

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run(const rw_dataset *train, const size_t *hidden, size_t nh, double density, size_t epochs,
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
    double c0 = cpu_seconds();
    rw_status st = rw_train(net, train, NULL, &tc, &res, &err);
    double cpu = cpu_seconds() - c0;
    rw_net_free(net);
    if (st != RW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    r->seconds = res.train_seconds;
    r->cpu = cpu;
    r->loss = res.final_train_loss;
    return 0;
}

int main(int argc, char **argv)
{
    int threads = 1;
    size_t epochs = 1, repeats = 5, nh = 2, samples = 20000;
    size_t hidden[8] = {1000, 1000};
    double density = 0.05;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
            repeats = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--samples") && i + 1 < argc)
            samples = (size_t)strtoul(argv[++i], NULL, 10);
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
                    "[--repeats N] [--samples N] [--density D] "
                    "[--hidden 1000,1000]\n");
            return 2;
        }
    }
    if (epochs == 0 || repeats == 0 || samples == 0 ||
        !(density > 0.0 && density <= 1.0)) {
        fprintf(stderr, "bench_traces: bad arguments\n");
        return 2;
    }
    rw_set_threads(threads);
    rw_dataset *full = bench_open_data(RW_SPLIT_TRAIN);
    if (!full)
        return 1;
    if (samples > rw_dataset_size(full))
        samples = rw_dataset_size(full);
    size_t *idx = malloc(samples * sizeof *idx);
    if (!idx)
        return 1;
    for (size_t i = 0; i < samples; i++)
        idx[i] = i;
    rw_error err;
    rw_dataset *train = rw_dataset_subset(full, idx, samples, &err);
    free(idx);
    rw_dataset_free(full);
    if (!train) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("784");
    for (size_t l = 0; l < nh; l++)
        printf("-%zu", hidden[l]);
    printf("-10, hidden density %.3f, SET, Adam, batch 128, %zu samples x %zu "
           "epoch(s), %d thread(s), %zu repeats\n",
           density, samples, epochs, rw_get_threads(), repeats);
    double wall[2] = {1e300, 1e300}, cpu[2] = {1e300, 1e300}, loss[2] = {0, 0};
    for (size_t r = 0; r < repeats; r++)
        for (int t = 0; t < 2; t++) {
            run_result res;
            if (run(train, hidden, nh, density, epochs, t == 1, &res))
                return 1;
            printf("  %-15s wall %7.3f s  cpu %7.3f s  train loss %.6f\n",
                   t ? "with traces" : "without traces", res.seconds, res.cpu,
                   res.loss);
            fflush(stdout);
            if (res.seconds < wall[t])
                wall[t] = res.seconds;
            if (res.cpu < cpu[t])
                cpu[t] = res.cpu;
            loss[t] = res.loss;
        }
    printf("fastest wall: without %.3f s, with %.3f s; ratio %.3f\n", wall[0],
           wall[1], wall[1] / wall[0]);
    printf("least cpu:    without %.3f s, with %.3f s; ratio %.3f "
           "(target <= 1.15)\n", cpu[0], cpu[1], cpu[1] / cpu[0]);
    printf("same training with and without traces: %s\n",
           loss[0] == loss[1] ? "yes (identical loss)" : "NO");
    rw_dataset_free(train);
    return 0;
}
