/* What every layer kind shares: freeing a layer's arrays and the bias
 * gradient's row sums. Shapes as in layers/layers.h. */
#include "layers/layers.h"

#include <string.h>

void rw_layer_free(rw_layer *L)
{
    if (!L)
        return;
    void *arrays[] = {L->w, L->gw, L->b, L->gb, L->m1, L->m2, L->bm1, L->bm2,
                      L->mstep, L->bmstep,
                      L->row_ptr, L->col, L->tcol_ptr, L->t_k, L->t_row,
                      L->a, L->d, L->credit, L->coact, L->perm, L->imp,
                      L->anchor, L->si_path, L->si_prev, L->keep,
                      L->activity, L->silent, L->bstate, L->si_grad,
                      L->in_usage};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        rw_free(arrays[i]);
    memset(L, 0, sizeof *L);
}

RW_HOT void rw_row_sums(const float *restrict d, float *restrict out,
                        size_t o0, size_t o1, size_t B)
{
    for (size_t o = o0; o < o1; o++) {
        const float *r = d + o * B;
        rw_v16 acc = rw_v16_splat(0.0f);
        size_t j = 0;
        for (; j + 16 <= B; j += 16)
            acc += rw_v16_load(r + j);
        float s = rw_v16_sum(acc);
        for (; j < B; j++)
            s += r[j];
        out[o] = s;
    }
}
