/* Losses on the output layer's feature-major activations (C x B). The
 * softmax over each column is defined here (a dense layer applies it
 * itself, the net after a sparse one), so the cross-entropy gradient with
 * respect to the logits is the simple (p - onehot) / B. */
#include "layers/layers.h"

#include <math.h>

void rw_softmax_columns(float *a, size_t C, size_t B)
{
    rw_softmax_column_range(a, C, B, 0, B);
}

void rw_softmax_column_range(float *a, size_t C, size_t B, size_t j0,
                             size_t j1)
{
    for (size_t b = j0; b < j1; b++) {
        float mx = -INFINITY;
        for (size_t c = 0; c < C; c++)
            mx = a[c * B + b] > mx ? a[c * B + b] : mx;
        double sum = 0.0;
        for (size_t c = 0; c < C; c++) {
            float e = expf(a[c * B + b] - mx);
            a[c * B + b] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (size_t c = 0; c < C; c++)
            a[c * B + b] *= inv;
    }
}

size_t rw_argmax_column(const float *a, size_t C, size_t B, size_t b)
{
    size_t best = 0;
    for (size_t c = 1; c < C; c++)
        if (a[c * B + b] > a[best * B + b])
            best = c;
    return best;
}

double rw_loss_ce(float *a, const int32_t *labels, float *d, size_t C,
                  size_t B, size_t *correct)
{
    /* `a` already holds probabilities (the net applies softmax). */
    double loss = 0.0;
    size_t hits = 0;
    float invB = 1.0f / (float)B;
    for (size_t b = 0; b < B; b++) {
        size_t y = (size_t)labels[b];
        float p = a[y * B + b];
        loss -= log(p > 1e-38f ? (double)p : 1e-38);
        if (rw_argmax_column(a, C, B, b) == y)
            hits++;
        if (d)
            for (size_t c = 0; c < C; c++)
                d[c * B + b] = (a[c * B + b] - (c == y ? 1.0f : 0.0f)) * invB;
    }
    if (correct)
        *correct = hits;
    return loss / (double)B;
}

double rw_loss_mse(const float *a, const float *t, float *d, size_t C,
                   size_t B)
{
    double loss = 0.0;
    float scale = 2.0f / (float)(B * C);
    for (size_t i = 0; i < C * B; i++) {
        float diff = a[i] - t[i];
        loss += (double)diff * diff;
        if (d)
            d[i] = scale * diff;
    }
    return loss / (double)(B * C);
}

void rw_mask_class_groups(float *p, const int32_t *labels,
                          const int32_t *groups, size_t C, size_t B)
{
    for (size_t b = 0; b < B; b++) {
        int32_t g = groups[labels[b]];
        double sum = 0.0;
        size_t members = 0;
        for (size_t c = 0; c < C; c++)
            if (groups[c] == g) {
                sum += p[c * B + b];
                members++;
            }
        for (size_t c = 0; c < C; c++) {
            float *v = &p[c * B + b];
            if (groups[c] != g)
                *v = 0.0f;
            else
                *v = sum > 0.0 ? (float)(*v / sum) : 1.0f / (float)members;
        }
    }
}
