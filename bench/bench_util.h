/* Shared by the benchmark programs. */
#ifndef RW_BENCH_UTIL_H
#define RW_BENCH_UTIL_H

#include "rewire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs the benchmark with the rewire tool's OpenMP waiting (a brief spin,
 * then sleep: GOMP_SPINCOUNT=1000, see cli/main.c), which the PyTorch side
 * is given too, unless the caller chose a policy or spin count. libgomp
 * reads it at load time, so the program starts itself again. */
static inline void bench_prefer_brief_spin(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    if (setenv("GOMP_SPINCOUNT", "1000", 1) == 0)
        execv("/proc/self/exe", argv);
}

/* The waiting in force, for the report. */
static inline void bench_print_wait(FILE *f)
{
    const char *p = getenv("OMP_WAIT_POLICY"), *s = getenv("GOMP_SPINCOUNT");
    if (p)
        fprintf(f, "OMP_WAIT_POLICY=%s", p);
    if (s)
        fprintf(f, "%sGOMP_SPINCOUNT=%s", p ? " " : "", s);
    if (!p && !s)
        fprintf(f, "libgomp's default waiting");
}

/* Fashion-MNIST's split, or random data of the same shape (with a note on
 * stderr) when the dataset package is missing. */
static inline rw_dataset *bench_open_data(rw_split split)
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

/* The SIMD paths to measure, from --isa: "all" (every path this CPU
 * runs, best first), one name, or a comma list. Fills names[] and returns
 * the count, or -1 with a message on stderr for a path the CPU cannot run
 * or an unknown name. */
static inline int bench_isa_list(const char *arg, const char *names[3])
{
    static const char *const all[] = {"avx512", "avx2", "generic"};
    int n = 0;
    if (!arg || !strcmp(arg, "all")) {
        for (int i = 0; i < 3; i++)
            if (rw_isa_supported(all[i]))
                names[n++] = all[i];
        return n;
    }
    static char buf[64];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *p = strtok(buf, ","); p && n < 3; p = strtok(NULL, ",")) {
        rw_error err;
        if (rw_set_isa(p, &err) != RW_OK) {
            fprintf(stderr, "--isa %s\n", err.msg);
            return -1;
        }
        names[n++] = rw_isa();
    }
    rw_set_isa(NULL, NULL);
    return n;
}

#endif
