/* Learn it or lose it: consolidation (EWC, SI). (Being written: until then
 * a consolidation method is refused with RW_ERR_UNSUPPORTED.) */
#include "internal.h"

#include <string.h>

rw_consolidation_config rw_consolidation_defaults(void)
{
    rw_consolidation_config c;
    memset(&c, 0, sizeof c);
    c.gamma = 1.0;
    c.si_xi = 0.1;
    c.fisher_samples = 1000;
    return c;
}

rw_status rw_consolidation_begin(rw_net *net, const rw_train_config *cfg,
                                 rw_error *err)
{
    if (cfg->consolidation.kind != RW_CONSOLIDATE_NONE)
        return rw_fail(err, RW_ERR_UNSUPPORTED,
                       "consolidation is not available in this build yet");
    return RW_OK;
}

void rw_consolidation_after_backward(rw_net *net, const rw_train_config *cfg)
{
}

void rw_consolidation_after_step(rw_net *net, const rw_train_config *cfg)
{
}
