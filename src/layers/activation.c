/* Activation functions, applied in place to feature-major buffers. The
 * backward pass is written in terms of the activation's output a = f(z),
 * so the pre-activation never needs to be stored. */
#include "layers/layers.h"

#include <math.h>
#include <string.h>

#define LEAKY_SLOPE RW_LEAKY_SLOPE

RW_HOT void rw_act_forward(rw_activation act, float *restrict v, size_t n)
{
    switch (act) {
    case RW_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            v[i] = v[i] > 0.0f ? v[i] : 0.0f;
        break;
    case RW_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            v[i] = v[i] > 0.0f ? v[i] : LEAKY_SLOPE * v[i];
        break;
    case RW_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            v[i] = 1.0f / (1.0f + expf(-v[i]));
        break;
    case RW_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            v[i] = tanhf(v[i]);
        break;
    case RW_ACT_IDENTITY:
    case RW_ACT_SOFTMAX: /* over a whole column: by a dense layer itself,
                            after a sparse one by the net */
        break;
    }
}

RW_HOT void rw_act_backward(rw_activation act, const float *restrict a,
                            float *restrict d, size_t n)
{
    switch (act) {
    case RW_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            d[i] = a[i] > 0.0f ? d[i] : 0.0f;
        break;
    case RW_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            d[i] = a[i] > 0.0f ? d[i] : LEAKY_SLOPE * d[i];
        break;
    case RW_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            d[i] *= a[i] * (1.0f - a[i]);
        break;
    case RW_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            d[i] *= 1.0f - a[i] * a[i];
        break;
    case RW_ACT_IDENTITY:
    case RW_ACT_SOFTMAX: /* folded into the cross-entropy gradient */
        break;
    }
}

/* The one table of activation names, indexed by rw_activation. */
static const char *const act_names[] = {"identity", "relu", "leaky_relu",
                                        "sigmoid", "tanh", "softmax"};
#define N_ACT (sizeof act_names / sizeof act_names[0])

const char *rw_activation_name(rw_activation act)
{
    return (unsigned)act < N_ACT ? act_names[act] : "unknown";
}

rw_status rw_activation_parse(const char *name, rw_activation *act)
{
    for (size_t i = 0; name && i < N_ACT; i++)
        if (strcmp(name, act_names[i]) == 0) {
            *act = (rw_activation)i;
            return RW_OK;
        }
    return RW_ERR_ARG;
}
