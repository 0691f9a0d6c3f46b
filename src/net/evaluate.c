/* Evaluation beyond rw_net_evaluate: accuracy with only a task's classes
 * competing (task-incremental continual learning). Shapes as in
 * layers/layers.h. */
#include "net/net.h"

#define EVAL_CHUNK 256

rw_status rw_continual_accuracy(rw_net *net, const rw_dataset *ds,
                                const int32_t *groups, double *accuracy,
                                rw_error *err)
{
    if (!net || !ds || !accuracy)
        return rw_fail(err, RW_ERR_ARG, "accuracy: NULL argument");
    if (!groups) {
        rw_eval_result ev;
        rw_status st = rw_net_evaluate(net, ds, &ev, NULL, err);
        if (st == RW_OK)
            *accuracy = ev.accuracy;
        return st;
    }
    size_t C = rw_net_outputs(net);
    if (net->cfg.loss != RW_LOSS_CROSS_ENTROPY || !ds->labels)
        return rw_fail(err, RW_ERR_DATA, "accuracy: needs a classifier and "
                       "labelled data");
    if (ds->f != net->cfg.n_inputs)
        return rw_fail(err, RW_ERR_DATA, "%s has %zu features per sample but "
                       "the model expects %zu", ds->name, ds->f,
                       net->cfg.n_inputs);
    for (size_t i = 0; i < ds->n; i++)
        if (ds->labels[i] < 0 || (size_t)ds->labels[i] >= C)
            return rw_fail(err, RW_ERR_DATA, "%s: sample %zu has label %d, "
                           "outside the model's %zu classes", ds->name, i + 1,
                           (int)ds->labels[i], C);
    float *p = rw_alloc(EVAL_CHUNK * C, sizeof(float), "predictions", err);
    if (!p)
        return RW_ERR_NOMEM;
    size_t correct = 0;
    for (size_t s = 0; s < ds->n; s += EVAL_CHUNK) {
        size_t B = ds->n - s < EVAL_CHUNK ? ds->n - s : EVAL_CHUNK;
        rw_status st = rw_net_predict(net, ds->x + s * ds->f, B, p, err);
        if (st != RW_OK) {
            rw_free(p);
            return st;
        }
        for (size_t j = 0; j < B; j++) {
            int32_t y = ds->labels[s + j], g = groups[y];
            size_t best = (size_t)y;
            for (size_t c = 0; c < C; c++)
                if (groups[c] == g && p[j * C + c] > p[j * C + best])
                    best = c;
            /* Ties go to the lowest class, as in plain argmax. */
            for (size_t c = 0; c < best; c++)
                if (groups[c] == g && p[j * C + c] == p[j * C + best]) {
                    best = c;
                    break;
                }
            correct += best == (size_t)y;
        }
    }
    rw_free(p);
    *accuracy = ds->n ? (double)correct / (double)ds->n : 0.0;
    return RW_OK;
}
