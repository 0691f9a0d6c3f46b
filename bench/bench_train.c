/* Training throughput and peak memory of 784-1000-1000-1000-10 (ReLU,
 * batch 128, SGD with momentum) on Fashion-MNIST, dense and at several
 * densities of truly sparse hidden layers. Each configuration runs in its
 * own child process so that its peak resident memory is its own.
 *
 *   bench_train [--threads N] [--epochs N] [--densities 1,0.2,0.1,...]
 *               [--epsilon E] [--hidden 1000,1000,1000] [--rewire none|set]
 *               [--isa all|avx512|avx2|generic] [--torch]
 *
 * --isa all (the default) runs the sparse densities once per SIMD path
 * this CPU runs, a table per path; the dense network runs once (its GEMM
 * is the same on every path) and each path's "vs dense" uses that figure.
 * A path narrower than the CPU's best (generic; AVX2 on an AVX-512 CPU) is
 * what a CPU without the wider instructions runs, and such a CPU would run
 * its dense products narrower too: that path's table also times the dense
 * network with oneDNN capped at the path's width (ONEDNN_MAX_CPU_ISA=SSE41
 * for generic, AVX2 for avx2) and gives "vs dense@isa" against it.
 *
 * --epsilon E replaces the density list by one Erdos-Renyi network (the
 * scale test: --hidden 333333,333333,333333 --epsilon 20). The table then
 * also states the memory per connection: peak resident memory less the
 * dataset and the activation buffers, divided by the connections.
 *
 * --torch also runs bench/torch_train.py (Debian python3-torch) in the same
 * run, dense and with a 5% mask, and prints rewire's 5% epoch against
 * PyTorch's masked one for each path. PyTorch's CPU matrix products need
 * OpenBLAS (libopenblas0-pthread); with Debian's reference BLAS they run
 * at a few GFLOP/s and the comparison means nothing, so the script says so.
 * OPENBLAS_CORETYPE is forced to SkylakeX only on a CPU with AVX-512 (the
 * older OpenBLAS in Debian can misdetect such CPUs; the kernel it then
 * picks runs on them); elsewhere OpenBLAS detects the CPU itself. A
 * narrower path is also compared with PyTorch on OpenBLAS's kernels of its
 * width (OPENBLAS_CORETYPE=Nehalem for generic, Haswell for AVX2 on an
 * AVX-512 CPU), which every CPU that runs the path can run. Without
 * the dataset package a random dataset of the same shape is used. */
#define _DEFAULT_SOURCE /* wait4 */
#include "rewire.h"

#include <stdbool.h>

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct result {
    double seconds, sps, accuracy;
    size_t connections;
    double fixed_mib; /* dataset + activation buffers */
    char gemm[96];    /* rw_gemm_info() of the child */
} result;

/* oneDNN's instruction-set cap for the next child (ONEDNN_MAX_CPU_ISA), or
 * NULL. oneDNN reads it once, at its first use; the parent never calls
 * oneDNN, so every child reads it afresh. */
static const char *gemm_cap;

static double epsilon = 0.0;

static int run_config(double density, const size_t *hidden, size_t nh,
                      size_t epochs, rw_rewire_kind rewire, result *r)
{
    rw_error err;
    rw_dataset *train = bench_open_data(RW_SPLIT_TRAIN), *test = bench_open_data(RW_SPLIT_TEST);
    if (!train || !test)
        return 1;
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = 1;
    if (rw_net_config_mlp(&cfg, 784, hidden, nh, 10, RW_ACT_RELU,
                          RW_LOSS_CROSS_ENTROPY, &err) != RW_OK)
        return 1;
    if (epsilon > 0.0 &&
        rw_net_config_sparsify(&cfg, RW_SPARSE_ER, epsilon, 0, &err) != RW_OK)
        return 1;
    if (epsilon <= 0.0 && density < 1.0 &&
        rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, density, 0, &err) != RW_OK)
        return 1;
    rw_net *net = rw_net_create(&cfg, &err);
    if (!net) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    rw_train_config tc = rw_train_defaults();
    tc.epochs = epochs;
    tc.batch = 128;
    tc.lr = 0.01;
    tc.optim = rw_optim_defaults(RW_OPT_MOMENTUM);
    tc.rewire = density < 1.0 || epsilon > 0.0 ? rewire : RW_REWIRE_NONE;
    rw_train_result res;
    if (rw_train(net, train, test, &tc, &res, &err) != RW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    r->seconds = res.train_seconds / (double)res.epochs;
    r->sps = res.samples_per_second;
    r->accuracy = res.test_accuracy;
    r->connections = rw_net_connections(net);
    double fixed = (double)(rw_dataset_size(train) + rw_dataset_size(test)) *
                   (784.0 * 4 + 4 + 8) + 784.0 * 128 * 4;
    for (size_t l = 0; l < rw_net_layers(net); l++) {
        rw_layer_info li;
        rw_net_layer_info(net, l, &li, NULL);
        fixed += 2.0 * 4.0 * (double)li.outputs * 128; /* a and d */
    }
    r->fixed_mib = fixed / (1024.0 * 1024.0);
    snprintf(r->gemm, sizeof r->gemm, "%s", rw_gemm_info());
    rw_net_free(net);
    rw_dataset_free(train);
    rw_dataset_free(test);
    return 0;
}

/* Runs one configuration in a child; returns its peak RSS in MiB. */
static double run_child(double density, const size_t *hidden, size_t nh,
                        size_t epochs, rw_rewire_kind rewire, result *r)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        result mine;
        if (gemm_cap)
            setenv("ONEDNN_MAX_CPU_ISA", gemm_cap, 1);
        int rc = run_config(density, hidden, nh, epochs, rewire, &mine);
        if (rc == 0 && write(fd[1], &mine, sizeof mine) != (ssize_t)sizeof mine)
            rc = 1;
        _exit(rc);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], r, sizeof *r);
    close(fd[0]);
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    if (got != (ssize_t)sizeof *r || !WIFEXITED(status) || WEXITSTATUS(status))
        return -1;
    return (double)ru.ru_maxrss / 1024.0;
}

/* Runs bench/torch_train.py (OPENBLAS_CORETYPE=core unless NULL), prints its
 * output and returns its seconds per epoch with a 5% mask (0 on failure). */
static double torch_run(int threads, size_t epochs, const char *core)
{
    char cmd[768], out[4096] = "", env[64] = "";
    if (core)
        snprintf(env, sizeof env, "OPENBLAS_CORETYPE=%s ", core);
    printf("\nPyTorch (bench/torch_train.py, same network and settings%s%s):\n",
           core ? ", OPENBLAS_CORETYPE=" : "", core ? core : "");
    fflush(stdout);
    snprintf(cmd, sizeof cmd,
             "%sGOMP_SPINCOUNT=1000 /usr/bin/python3 %s/torch_train.py "
             "--threads %d --epochs %zu",
             env, BENCH_DIR, threads, epochs);
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[got] = '\0';
    int rc = p ? pclose(p) : -1;
    fputs(out, stdout);
    /* The script prints "mask-5% <seconds per epoch> ..." */
    const char *m = strstr(out, "mask-5%");
    double t5 = m ? atof(m + strlen("mask-5%")) : 0.0;
    if (rc != 0 || t5 <= 0.0) {
        printf("  (PyTorch run failed or python3-torch is not installed: "
               "scripts/deps.sh bench installs it with OpenBLAS)\n");
        return 0.0;
    }
    return t5;
}

int main(int argc, char **argv)
{
    bench_prefer_brief_spin(argv);
    int threads = 2;
    size_t epochs = 1;
    double densities[16] = {1.0, 0.2, 0.1, 0.05, 0.02, 0.01};
    int nd = 6;
    size_t hidden[8] = {1000, 1000, 1000};
    size_t nh = 3;
    bool torch = false;
    const char *isa_arg = "all";
    rw_rewire_kind rewire = RW_REWIRE_SET;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--epsilon") && i + 1 < argc) {
            epsilon = atof(argv[++i]);
            densities[0] = 0.0;
            nd = 1;
        } else if (!strcmp(argv[i], "--torch"))
            torch = true;
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc)
            isa_arg = argv[++i];
        else if (!strcmp(argv[i], "--rewire") && i + 1 < argc)
            rewire = !strcmp(argv[++i], "none") ? RW_REWIRE_NONE : RW_REWIRE_SET;
        else if (!strcmp(argv[i], "--densities") && i + 1 < argc) {
            nd = 0;
            for (char *p = strtok(argv[++i], ","); p && nd < 16; p = strtok(NULL, ","))
                densities[nd++] = atof(p);
        } else if (!strcmp(argv[i], "--hidden") && i + 1 < argc) {
            nh = 0;
            for (char *p = strtok(argv[++i], ","); p && nh < 8; p = strtok(NULL, ","))
                hidden[nh++] = (size_t)atol(p);
        } else {
            fprintf(stderr, "usage: %s [--threads N] [--epochs N] [--densities L] "
                            "[--hidden L] [--rewire none|set] [--isa all|P] [--torch]\n",
                    argv[0]);
            return 2;
        }
    }
    const char *paths[3];
    int npaths = bench_isa_list(isa_arg, paths);
    if (npaths <= 0)
        return 2;
    rw_set_threads(threads);
    printf("network 784");
    for (size_t l = 0; l < nh; l++)
        printf("-%zu", hidden[l]);
    printf("-10, batch 128, SGD momentum, %d threads, %zu epoch(s), rewiring %s\n",
           threads, epochs, rewire == RW_REWIRE_SET ? "SET" : "none");
    bench_print_wait(stdout);
    printf("\n");
    double dense_s = 0.0, five_s[3] = {0, 0, 0};
    bool dense_done = false;
    for (int ip = 0; ip < npaths; ip++) {
        rw_set_isa(paths[ip], NULL);
        /* A CPU that runs only this path would also run its dense products
         * at this width: the table compares with that too. */
        const char *cap = !strcmp(paths[ip], "generic") ? "SSE41"
                          : !strcmp(paths[ip], "avx2") && rw_isa_supported("avx512")
                              ? "AVX2" : NULL;
        printf("\nsparse kernels: %s\n", rw_isa());
        printf("%8s %12s %10s %12s %10s %9s %11s %8s %9s\n", "density",
               "connections", "s/epoch", "samples/s", "peak MiB", "vs dense",
               "vs dense@isa", "test acc", "B/conn");
        double isa_dense_s = 0.0;
        for (int d = 0; d < nd; d++) {
            bool dense = densities[d] >= 1.0;
            for (int pass = 0; pass < (dense && cap ? 2 : 1); pass++) {
                bool capped = pass == 1;
                if (dense && !capped && dense_done) {
                    printf("%7.1f%% %12s %10.2f %12s %10s %8.1fx %11s %8s %9s\n",
                           100.0, "(as above)", dense_s, "", "", 1.0, "", "", "");
                    continue;
                }
                result r;
                gemm_cap = capped ? cap : NULL;
                double mib = run_child(densities[d], hidden, nh, epochs, rewire, &r);
                gemm_cap = NULL;
                if (mib < 0) {
                    printf("%7.1f%% failed\n", 100 * densities[d]);
                    continue;
                }
                if (dense && !capped) {
                    dense_s = r.seconds;
                    dense_done = true;
                    printf("   GEMM: %s\n", r.gemm);
                }
                if (capped) {
                    isa_dense_s = r.seconds;
                    printf("   GEMM capped at this path's width "
                           "(ONEDNN_MAX_CPU_ISA=%s): %s\n", cap, r.gemm);
                }
                if (densities[d] == 0.05)
                    five_s[ip] = r.seconds;
                if (epsilon > 0.0)
                    printf("  eps %-3g", epsilon);
                else
                    printf("%7.1f%%", 100 * densities[d]);
                double isa_ref = cap ? isa_dense_s : dense_s;
                char vs_isa[16] = "";
                if (isa_ref > 0.0)
                    snprintf(vs_isa, sizeof vs_isa, "%.1fx", isa_ref / r.seconds);
                printf(" %12zu %10.2f %12.0f %10.0f %8.1fx %11s %7.2f%% %9.1f\n",
                       r.connections, r.seconds, r.sps, mib,
                       dense_s > 0 ? dense_s / r.seconds : 0.0, vs_isa,
                       100 * r.accuracy,
                       (mib - r.fixed_mib) * 1024.0 * 1024.0 / (double)r.connections);
                fflush(stdout);
            }
        }
    }
    if (torch) {
        double native5 = torch_run(threads, epochs,
                                   rw_isa_supported("avx512") ? "SkylakeX" : NULL);
        for (int ip = 0; ip < npaths; ip++) {
            if (five_s[ip] <= 0.0)
                continue;
            /* The narrower paths against PyTorch on OpenBLAS's kernels of
             * the same width, which any x86-64 CPU with that width runs. */
            const char *core = !strcmp(paths[ip], "generic") ? "Nehalem"
                               : !strcmp(paths[ip], "avx2") && rw_isa_supported("avx512")
                                   ? "Haswell" : NULL;
            double t5 = core ? torch_run(threads, epochs, core) : native5;
            if (native5 > 0.0)
                printf("rewire 5%% (%s) vs PyTorch with a 5%% mask: %.1fx as fast\n",
                       paths[ip], native5 / five_s[ip]);
            if (core && t5 > 0.0)
                printf("rewire 5%% (%s) vs PyTorch with a 5%% mask on OpenBLAS's "
                       "%s kernels: %.1fx as fast\n", paths[ip], core, t5 / five_s[ip]);
        }
    }
    return 0;
}
