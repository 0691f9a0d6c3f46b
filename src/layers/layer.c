/* What every layer kind shares: the table of per-connection arrays,
 * freeing a layer's arrays and the bias gradient's row sums. Shapes as in
 * layers/layers.h. */
#include "layers/layers.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#define CONN(field, type, role, trce, lo, hi, what) \
    {offsetof(rw_layer, field), sizeof(type), role, trce, lo, hi, what}

/* The order is the order of rw_layer_parallel_arrays and of the TRCE
 * section (credit, coact, perm). */
const rw_conn_array rw_conn_arrays[] = {
    CONN(w, float, RW_CONN_WEIGHT, 0, 0, 0, "weight"),
    CONN(gw, float, RW_CONN_GRAD, 0, 0, 0, "weight gradient"),
    CONN(m1, float, RW_CONN_STATE, 0, 0, 0, "optimizer moment"),
    CONN(m2, float, RW_CONN_STATE, 0, 0, 0, "optimizer moment"),
    CONN(mstep, float, RW_CONN_STATE, 0, 0, 0, "optimizer step count"),
    CONN(credit, float, RW_CONN_STATE, RW_TRCE_CREDIT, 0.0f, FLT_MAX, "credit trace"),
    CONN(coact, float, RW_CONN_STATE, RW_TRCE_COACT, -FLT_MAX, FLT_MAX, "co-activation trace"),
    CONN(perm, float, RW_CONN_STATE, RW_TRCE_PERM, 0.0f, 1.0f, "permanence"),
    CONN(imp, float, RW_CONN_STATE, 0, 0, 0, "consolidation importance"),
    CONN(anchor, float, RW_CONN_STATE, 0, 0, 0, "consolidation anchor"),
    CONN(si_path, float, RW_CONN_STATE, 0, 0, 0, "SI path integral"),
    CONN(si_prev, float, RW_CONN_STATE, 0, 0, 0, "SI last weights"),
    CONN(keep, float, RW_CONN_STATE, 0, 0, 0, "rewiring protection"),
    CONN(col, uint32_t, RW_CONN_INDEX, 0, 0, 0, "input indices"),
    CONN(t_k, uint32_t, RW_CONN_INDEX, 0, 0, 0, "transposed index"),
    CONN(t_row, uint32_t, RW_CONN_INDEX, 0, 0, 0, "transposed index"),
    CONN(t_pos, uint32_t, RW_CONN_INDEX, 0, 0, 0, "transposed index"),
    CONN(gwt, float, RW_CONN_GRAD, 0, 0, 0, "weight gradient"),
};
const size_t rw_conn_array_count = sizeof rw_conn_arrays / sizeof rw_conn_arrays[0];

void rw_layer_free(rw_layer *L)
{
    if (!L)
        return;
    for (size_t i = 0; i < rw_conn_array_count; i++)
        rw_free(*rw_conn_ptr(L, &rw_conn_arrays[i]));
    /* The per-neuron and per-input arrays, the index and the buffers. */
    void *arrays[] = {L->b, L->gb, L->bm1, L->bm2, L->bmstep,
                      L->row_ptr, L->tcol_ptr, L->a, L->d,
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
        float acc[16] = {0};
        size_t j = 0;
        for (; j + 16 <= B; j += 16)
            RW_UNROLL16 for (int k = 0; k < 16; k++)
                acc[k] += r[j + k];
        float s = rw_lanes_sum(acc);
        for (; j < B; j++)
            s += r[j];
        out[o] = s;
    }
}

double rw_init_std(rw_init init, rw_activation act, double fan_in,
                   double fan_out)
{
    if (init == RW_INIT_AUTO)
        init = (act == RW_ACT_RELU || act == RW_ACT_LEAKY_RELU) ? RW_INIT_HE
                                                                : RW_INIT_XAVIER;
    return init == RW_INIT_HE ? sqrt(2.0 / fan_in) : sqrt(2.0 / (fan_in + fan_out));
}
