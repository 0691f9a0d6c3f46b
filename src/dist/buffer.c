/* The buffers of the collectives: dist.c packs gradients, traces and
 * weights into the fused buffer, the transport receives into the scratch
 * buffer, and the transport's rw_dist_finalize frees both. A file of its
 * own, below dist.c and the transports, so neither calls the other back. */
#include "dist/dist.h"

typedef struct grow_buf {
    float *p;
    size_t cap;
} grow_buf;

static grow_buf g_fused, g_scratch;

static float *grow(grow_buf *b, size_t n, const char *what, rw_error *err)
{
    if (n <= b->cap)
        return b->p;
    rw_free(b->p);
    b->p = rw_alloc(n, sizeof(float), what, err);
    b->cap = b->p ? n : 0;
    return b->p;
}

float *rw_dist_buffer(size_t n, rw_error *err)
{
    return grow(&g_fused, n, "fused gradient buffer", err);
}

float *rw_dist_scratch(size_t n, rw_error *err)
{
    return grow(&g_scratch, n, "all-reduce receive buffer", err);
}

void rw_dist_release_buffers(void)
{
    rw_free(g_fused.p);
    rw_free(g_scratch.p);
    g_fused = g_scratch = (grow_buf){NULL, 0};
}

void rw_dist_chunk(size_t n, int ranks, int r, size_t *lo, size_t *hi)
{
    size_t P = (size_t)ranks, q = n / P, rem = n % P, k = (size_t)r;
    *lo = k * q + (k < rem ? k : rem);
    *hi = *lo + q + (k < rem);
}
