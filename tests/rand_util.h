/* Random test data and a tolerance count, shared by the kernel and layer
 * tests. Each test file seeds g_rng itself. */
#ifndef RW_TEST_RAND_UTIL_H
#define RW_TEST_RAND_UTIL_H

#include "internal.h"

#include <math.h>
#include <stdlib.h>

static rw_rng g_rng;

/* Uniform in [-1, 1). */
static inline float frand(void) { return (float)(2.0 * rw_rng_uniform(&g_rng) - 1.0); }

/* n values from frand, malloc'ed (at least one element). */
static inline float *rand_array(size_t n)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = frand();
    return a;
}

/* How many got[i] differ from ref[i] by more than rtol * (1 + scale[i]),
 * scale being the magnitude of the terms summed into ref[i]. */
static inline size_t count_off(const float *got, const float *ref,
                               const float *scale, size_t n, double rtol)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += !(fabs((double)got[i] - ref[i]) <= rtol * (1.0 + scale[i]));
    return bad;
}

#endif
