/* The checks of the training configuration, all in one place: the
 * training loop's own fields, plasticity, consolidation and maintenance.
 * They read only the public structs (rewire.h), so they sit on the lowest
 * floor and every floor that takes a configuration calls them: rw_train
 * checks everything once before it starts, and rw_plasticity_begin,
 * rw_consolidation_begin and rw_maintain_begin check their own part, so
 * that a caller of those alone is checked as well. */
#include "base/base.h"

#include <math.h>

rw_status rw_check_plasticity_config(const rw_train_config *cfg, rw_error *err)
{
    const rw_plasticity_config *p = &cfg->plasticity;
    if (!(p->trace_rate > 0.0 && p->trace_rate <= 1.0))
        return rw_fail(err, RW_ERR_ARG, "trace rate %g is outside (0, 1]",
                       p->trace_rate);
    if ((unsigned)p->prune > RW_PRUNE_HEBBIAN)
        return rw_fail(err, RW_ERR_ARG, "unknown pruning rule %d", (int)p->prune);
    if (p->prune != RW_PRUNE_NONE) {
        if (!(p->prune_to > 0.0 && p->prune_to <= 1.0))
            return rw_fail(err, RW_ERR_ARG,
                           "pruning needs a target density in (0, 1], got %g",
                           p->prune_to);
        if (!(p->prune_start >= 0.0 && p->prune_start <= p->prune_end &&
              p->prune_end <= 1.0))
            return rw_fail(err, RW_ERR_ARG,
                           "pruning schedule start %g and end %g must satisfy "
                           "0 <= start <= end <= 1",
                           p->prune_start, p->prune_end);
        if (p->prune_every == 0)
            return rw_fail(err, RW_ERR_ARG, "pruning interval must be at least 1 step");
    }
    if (!(p->usage_decay >= 0.0) || !isfinite(p->usage_decay))
        return rw_fail(err, RW_ERR_ARG, "usage decay %g must be >= 0",
                       p->usage_decay);
    if (p->permanence) {
        if (!(p->perm_up >= 0.0 && p->perm_up <= 1.0 && p->perm_down >= 0.0 &&
              p->perm_down <= 1.0 && p->perm_threshold >= 0.0 &&
              p->perm_threshold <= 1.0))
            return rw_fail(err, RW_ERR_ARG,
                           "permanence steps and threshold must lie in [0, 1]");
        if (cfg->consolidation.kind != RW_CONSOLIDATE_NONE &&
            cfg->consolidation.protect_rewiring)
            return rw_fail(err, RW_ERR_UNSUPPORTED,
                           "permanence and consolidation's protection of "
                           "rewiring both set the keep weights; use one");
    }
    if (p->neuron_turnover) {
        if (p->silent_epochs == 0)
            return rw_fail(err, RW_ERR_ARG, "silent span must be at least 1 epoch");
        if (!(p->silent_level >= 0.0) || !isfinite(p->silent_level))
            return rw_fail(err, RW_ERR_ARG, "silent level %g must be >= 0",
                           p->silent_level);
    }
    return RW_OK;
}

rw_status rw_check_consolidation_config(const rw_consolidation_config *c,
                                        const rw_train_config *cfg,
                                        rw_error *err)
{
    if (c->kind != RW_CONSOLIDATE_EWC && c->kind != RW_CONSOLIDATE_SI)
        return rw_fail(err, RW_ERR_ARG, "unknown consolidation method %d",
                       (int)c->kind);
    if (!(c->lambda >= 0.0) || !isfinite(c->lambda))
        return rw_fail(err, RW_ERR_ARG,
                       "consolidation strength must be >= 0, got %g", c->lambda);
    if (!(c->gamma >= 0.0 && c->gamma <= 1.0))
        return rw_fail(err, RW_ERR_ARG,
                       "EWC gamma must be between 0 and 1, got %g", c->gamma);
    if (c->protect_rewiring &&
        !(c->protect_strength >= 0.0 && isfinite(c->protect_strength)))
        return rw_fail(err, RW_ERR_ARG, "protection strength must be >= 0, "
                       "got %g", c->protect_strength);
    if (c->kind == RW_CONSOLIDATE_SI && !(c->si_xi > 0.0 && isfinite(c->si_xi)))
        return rw_fail(err, RW_ERR_ARG, "SI xi must be > 0, got %g", c->si_xi);
    /* Turnover resizes layers, and the bias state would not follow. */
    if (cfg && cfg->plasticity.neuron_turnover)
        return rw_fail(err, RW_ERR_UNSUPPORTED,
                       "consolidation (EWC, SI) cannot be combined with "
                       "neuron turnover");
    return RW_OK;
}

rw_status rw_check_maintain_config(const rw_train_config *cfg, rw_error *err)
{
    const rw_maintain_config *mc = &cfg->maintain;
    if ((unsigned)mc->kind > RW_MAINTAIN_L2INIT)
        return rw_fail(err, RW_ERR_ARG, "unknown maintenance method %d",
                       (int)mc->kind);
    if (mc->kind == RW_MAINTAIN_NONE)
        return RW_OK;
    /* Turnover resizes layers between epochs, under the per-unit state. */
    if (cfg->plasticity.neuron_turnover)
        return rw_fail(err, RW_ERR_UNSUPPORTED,
                       "maintenance (CBP, ReDo, S&P, L2 Init) cannot be "
                       "combined with neuron turnover");
    if (!(mc->cbp_eta >= 0.0 && mc->cbp_eta < 1.0) ||
        !(mc->cbp_rho >= 0.0 && mc->cbp_rho <= 1.0) ||
        !(mc->redo_tau >= 0.0) || !isfinite(mc->snp_lambda) ||
        !(mc->snp_sigma >= 0.0) || !isfinite(mc->snp_sigma) ||
        !(mc->l2_lambda >= 0.0) || !isfinite(mc->l2_lambda) ||
        (mc->kind == RW_MAINTAIN_REDO && mc->redo_every == 0))
        return rw_fail(err, RW_ERR_ARG,
                       "maintenance settings out of range (CBP eta in [0,1), "
                       "rho in [0,1], ReDo tau >= 0 and every >= 1, S&P sigma "
                       ">= 0, L2 lambda >= 0)");
    return RW_OK;
}

rw_status rw_check_train_config(const rw_train_config *cfg, rw_error *err)
{
    if (cfg->batch == 0)
        return rw_fail(err, RW_ERR_ARG, "batch size must be at least 1");
    if (!(cfg->lr > 0.0) || !isfinite(cfg->lr))
        return rw_fail(err, RW_ERR_ARG, "learning rate must be positive, got %g",
                       cfg->lr);
    if ((unsigned)cfg->rewire > RW_REWIRE_HEBBIAN)
        return rw_fail(err, RW_ERR_ARG, "unknown rewiring rule %d",
                       (int)cfg->rewire);
    if (!(cfg->drop_fraction >= 0.0 && cfg->drop_fraction <= 1.0))
        return rw_fail(err, RW_ERR_ARG, "drop fraction %g is outside [0, 1]",
                       cfg->drop_fraction);
    if (cfg->resume_path && cfg->consolidation.kind != RW_CONSOLIDATE_NONE)
        return rw_fail(err, RW_ERR_UNSUPPORTED,
                       "resume: checkpoints do not hold the consolidation "
                       "state (importance, anchors, SI path)");
    rw_status st = rw_check_plasticity_config(cfg, err);
    if (st == RW_OK && cfg->consolidation.kind != RW_CONSOLIDATE_NONE)
        st = rw_check_consolidation_config(&cfg->consolidation, cfg, err);
    if (st == RW_OK)
        st = rw_check_maintain_config(cfg, err);
    return st;
}
