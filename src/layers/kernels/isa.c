/* Which SIMD path runs the sparse kernels: the best one this CPU has, or
 * the one RW_ISA (or rw_set_isa) names, so that a benchmark or a test can
 * force every path the CPU supports on one machine. */
#include "kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const isa_names[RW_ISA_COUNT] = {"generic", "avx2",
                                                   "avx512"};

static const rw_sparse_kernels *const tables[RW_ISA_COUNT] = {
    &rw_kernels_generic,
#if defined(RW_HAVE_X86_PATHS)
    &rw_kernels_avx2,
    &rw_kernels_avx512,
#else
    NULL,
    NULL,
#endif
};

bool rw_isa_cpu_has(rw_isa_id id)
{
    switch (id) {
    case RW_ISA_GENERIC:
        return true;
#if defined(RW_HAVE_X86_PATHS)
    /* Each path is compiled for an x86-64 level (v3: AVX2, FMA, BMI1/2,
     * F16C, LZCNT, MOVBE; v4: v3 plus AVX-512 F/BW/CD/DQ/VL); the checks
     * include the OS's support for the registers. */
    case RW_ISA_AVX2:
        __builtin_cpu_init();
#if defined(__clang__)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
               __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
#else
        return __builtin_cpu_supports("x86-64-v3");
#endif
    case RW_ISA_AVX512:
        __builtin_cpu_init();
#if defined(__clang__)
        return rw_isa_cpu_has(RW_ISA_AVX2) &&
               __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl");
#else
        return __builtin_cpu_supports("x86-64-v4");
#endif
#endif
    default:
        return false;
    }
}

const char *rw_isa_label(rw_isa_id id)
{
    return (unsigned)id < RW_ISA_COUNT ? isa_names[id] : "unknown";
}

static rw_isa_id best_path(void)
{
    for (int id = RW_ISA_COUNT - 1; id > 0; id--)
        if (rw_isa_cpu_has((rw_isa_id)id))
            return (rw_isa_id)id;
    return RW_ISA_GENERIC;
}

/* The names of the paths this CPU runs, best first, for messages. */
static void list_paths(char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int id = RW_ISA_COUNT - 1; id >= 0; id--)
        if (rw_isa_cpu_has((rw_isa_id)id)) {
            size_t n = strlen(buf);
            snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", isa_names[id]);
        }
}

/* Resolves a name ("auto" or empty for the best path) into *out. */
static rw_status parse_path(const char *what, const char *name,
                            rw_isa_id *out, rw_error *err)
{
    if (!name || !*name || strcmp(name, "auto") == 0) {
        *out = best_path();
        return RW_OK;
    }
    for (int id = 0; id < RW_ISA_COUNT; id++)
        if (strcmp(name, isa_names[id]) == 0) {
            char have[64];
            list_paths(have, sizeof have);
            if (!rw_isa_cpu_has((rw_isa_id)id))
                return rw_fail(err, RW_ERR_UNSUPPORTED,
                               "%s%s: this CPU cannot run the %s path "
                               "(it runs: %s)",
                               what, name, name, have);
            *out = (rw_isa_id)id;
            return RW_OK;
        }
    return rw_fail(err, RW_ERR_ARG,
                   "%s%s: unknown SIMD path (expected avx512, avx2, generic "
                   "or auto)",
                   what, name);
}

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static rw_error env_err; /* RW_ISA's verdict, read once */
static _Atomic int current = -1;

static void read_env(void)
{
    rw_isa_id id;
    rw_error_clear(&env_err);
    if (parse_path("RW_ISA=", getenv("RW_ISA"), &id, &env_err) != RW_OK)
        id = best_path();
    int unset = -1;
    atomic_compare_exchange_strong(&current, &unset, (int)id);
}

rw_status rw_isa_check(rw_error *err)
{
    pthread_once(&env_once, read_env);
    if (env_err.status != RW_OK) {
        if (err)
            *err = env_err;
        return env_err.status;
    }
    return RW_OK;
}

rw_isa_id rw_isa_current(void)
{
    pthread_once(&env_once, read_env);
    return (rw_isa_id)atomic_load(&current);
}

static const rw_sparse_kernels *_Atomic test_table;

void rw_kernels_set_test_table(const rw_sparse_kernels *K)
{
    atomic_store(&test_table, K);
}

const rw_sparse_kernels *rw_kernels(void)
{
    const rw_sparse_kernels *K = atomic_load(&test_table);
    return K ? K : tables[rw_isa_current()];
}

const char *rw_isa(void) { return isa_names[rw_isa_current()]; }

rw_status rw_set_isa(const char *name, rw_error *err)
{
    rw_isa_id id;
    pthread_once(&env_once, read_env);
    rw_status st = parse_path("", name, &id, err);
    if (st != RW_OK)
        return st;
    atomic_store(&current, (int)id);
    /* An explicit choice overrides a bad RW_ISA. */
    rw_error_clear(&env_err);
    return RW_OK;
}

int rw_isa_supported(const char *name)
{
    for (int id = 0; id < RW_ISA_COUNT; id++)
        if (name && strcmp(name, isa_names[id]) == 0)
            return rw_isa_cpu_has((rw_isa_id)id);
    return 0;
}
