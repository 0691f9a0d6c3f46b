/* Checked allocation: every size is computed in size_t with an overflow
 * check, and failures say how many bytes were asked for and what for. */
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE */
#include "base/base.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

bool rw_mul_ok(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}

/* Allocations left before the injected failure; 0 = none injected. */
static unsigned long fail_countdown;

void rw_alloc_fail_after(unsigned long n) { fail_countdown = n; }

#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_FROM ((size_t)8 << 20)

void *rw_alloc(size_t n, size_t size, const char *what, rw_error *err)
{
    if (fail_countdown && --fail_countdown == 0) {
        rw_fail(err, RW_ERR_NOMEM, "%s: allocation failure injected by a test",
                what);
        return NULL;
    }
    size_t bytes;
    if (!rw_mul_ok(n, size, &bytes) || bytes > SIZE_MAX - 63) {
        rw_fail(err, RW_ERR_NOMEM, "%s: size %zu x %zu overflows", what, n, size);
        return NULL;
    }
    if (bytes == 0)
        bytes = 64;
    /* Large arrays (a big layer's activations, weights, indices) come in
     * 2 MiB pages where the kernel grants them: sparse kernels read their
     * rows at random, and with 4 KiB pages nearly every such read of a
     * 170 MB activation matrix also misses the TLB, which in a virtual
     * machine costs a two-level page walk. bench_sparse 2 333333 333333
     * 128 0.00012 (AVX2, busy machine): 3370 -> 2302 ms and 3619 -> 2936
     * ms per forward + backward. */
    size_t align = 64;
    if (bytes >= HUGE_FROM && bytes <= SIZE_MAX - HUGE_PAGE)
        align = HUGE_PAGE;
    bytes = (bytes + align - 1) & ~(align - 1);
    void *p = aligned_alloc(align, bytes);
    if (!p) {
        rw_fail(err, RW_ERR_NOMEM, "%s: cannot allocate %.1f MiB", what,
                (double)bytes / (1024.0 * 1024.0));
        return NULL;
    }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == HUGE_PAGE)
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint; failure is fine */
#endif
    return p;
}

void *rw_calloc(size_t n, size_t size, const char *what, rw_error *err)
{
    void *p = rw_alloc(n, size, what, err);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void rw_free(void *p) { free(p); }
