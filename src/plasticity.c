/* Use it or lose it: usage traces, pruning, permanence, Hebbian growth and
 * neuron turnover. (Being written: until then, the rules that are not yet
 * implemented are refused with RW_ERR_UNSUPPORTED.) */
#include "internal.h"

#include <string.h>

rw_plasticity_config rw_plasticity_defaults(void)
{
    rw_plasticity_config c;
    memset(&c, 0, sizeof c);
    c.trace_rate = 0.01;
    c.prune_start = 0.1;
    c.prune_end = 0.7;
    c.prune_every = 50;
    c.perm_up = 0.05;
    c.perm_down = 0.01;
    c.perm_threshold = 0.1;
    c.silent_epochs = 2;
    c.silent_level = 1e-3;
    return c;
}

rw_status rw_plasticity_begin(rw_net *net, const rw_train_config *cfg,
                              rw_error *err)
{
    const rw_plasticity_config *p = &cfg->plasticity;
    if (p->traces || p->prune != RW_PRUNE_NONE || p->usage_decay > 0.0 ||
        p->permanence || p->neuron_turnover || cfg->rewire == RW_REWIRE_HEBBIAN)
        return rw_fail(err, RW_ERR_UNSUPPORTED,
                       "usage traces, pruning and neuron turnover are not "
                       "available in this build yet");
    return RW_OK;
}

void rw_plasticity_after_backward(rw_net *net, const rw_train_config *cfg,
                                  size_t B)
{
}

rw_status rw_plasticity_after_step(rw_net *net, const rw_train_config *cfg,
                                   size_t step, size_t total_steps,
                                   rw_epoch_stats *es, rw_error *err)
{
    return RW_OK;
}

rw_status rw_plasticity_epoch_end(rw_net *net, const rw_train_config *cfg,
                                  size_t epoch, rw_rng *rng,
                                  rw_epoch_stats *es, rw_error *err)
{
    return RW_OK;
}

rw_status rw_grow_hebbian(rw_net *net, size_t l, uint64_t *keys, size_t n,
                          rw_rng *rng, rw_error *err)
{
    return rw_fail(err, RW_ERR_UNSUPPORTED, "Hebbian growth is not available yet");
}
