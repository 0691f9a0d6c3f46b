/* The fused buffer of the collectives: dist.c packs gradients, traces and
 * weights into it, and the transport's rw_dist_finalize frees it. A file
 * of its own, below both, so neither calls the other back. */
#include "dist/dist.h"

static float *g_buf; /* the fused buffer */
static size_t g_buf_cap;

float *rw_dist_buffer(size_t n, rw_error *err)
{
    if (n <= g_buf_cap)
        return g_buf;
    rw_free(g_buf);
    g_buf = rw_alloc(n, sizeof(float), "fused gradient buffer", err);
    g_buf_cap = g_buf ? n : 0;
    return g_buf;
}

void rw_dist_release_buffers(void)
{
    rw_free(g_buf);
    g_buf = NULL;
    g_buf_cap = 0;
}
