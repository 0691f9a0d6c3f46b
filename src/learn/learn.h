/*
 * The learn floor (src/learn/), the top: the training loop (train.c),
 * task sequences (continual.c), consolidation (consolidation.c) and
 * rehearsal. Not installed.
 */
#ifndef RW_LEARN_H
#define RW_LEARN_H

#include "plasticity/plasticity.h"
#include "io/io.h"

/* ---------------- training (train.c) ---------------- */
/* Learning rate for 0-based epoch `epoch0` at `progress` (0..1) of all
 * steps; drop fraction of rewiring at `progress`. */
double rw_schedule_lr(const rw_train_config *cfg, size_t epoch0,
                      double progress);
double rw_schedule_drop(const rw_train_config *cfg, double progress);

/* Consolidation hooks (consolidation.c): begin allocates state;
 * after_gradient keeps SI's copy of the task gradient (call it right after
 * the backward pass, before anything else changes the gradients);
 * after_backward adds the penalty gradient; after_step accumulates the SI
 * path integral from the kept task gradient. */
rw_status rw_consolidation_begin(rw_net *net, const rw_train_config *cfg,
                                 rw_error *err);
void rw_consolidation_after_gradient(rw_net *net, const rw_train_config *cfg);
void rw_consolidation_after_backward(rw_net *net, const rw_train_config *cfg);
void rw_consolidation_after_step(rw_net *net, const rw_train_config *cfg);

#endif /* RW_LEARN_H */
