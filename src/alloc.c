/* Checked allocation: every size is computed in size_t with an overflow
 * check, and failures say how many bytes were asked for and what for. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

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
    bytes = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes);
    if (!p) {
        rw_fail(err, RW_ERR_NOMEM, "%s: cannot allocate %.1f MiB", what,
                (double)bytes / (1024.0 * 1024.0));
        return NULL;
    }
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
