/* Shared by the benchmark programs. */
#ifndef RW_BENCH_UTIL_H
#define RW_BENCH_UTIL_H

#include <stdlib.h>
#include <unistd.h>

/* Runs the benchmark with passive OpenMP waiting, as the rewire tool does
 * (cli/main.c) and as the PyTorch side is given, unless the caller chose a
 * policy. libgomp reads it at load time, so the program starts itself
 * again. */
static inline void bench_prefer_passive_wait(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) == 0)
        execv("/proc/self/exe", argv);
}

static inline const char *bench_wait_policy(void)
{
    const char *p = getenv("OMP_WAIT_POLICY");
    return p ? p : "default";
}

#endif
