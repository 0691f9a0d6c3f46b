/*
 * The plasticity floor (src/plasticity/): what changes a network's wiring
 * or keeps it able to learn: rewiring (rewire.c, hebbian.c), usage traces
 * (traces.c), pruning (prune.c), neuron turnover (neurons.c), maintenance
 * (maintain.c) and the diagnostics (diagnostics.c). Not installed.
 */
#ifndef RW_PLASTICITY_H
#define RW_PLASTICITY_H

#include "net/net.h"
#include "dist/dist.h"

/* Plasticity hooks (plasticity.c), called by the training loop:
 * begin: allocate what the config needs; after_backward: update traces
 * and add use-dependent decay to the gradients; after_step: pruning on its
 * schedule and permanence; epoch_end: neuron turnover. */
rw_status rw_plasticity_begin(rw_net *net, const rw_train_config *cfg,
                              rw_error *err);
void rw_plasticity_after_backward(rw_net *net, const rw_train_config *cfg,
                                  size_t B);
/* Whether step (from 1) of total_steps is a pruning event of the schedule:
 * the same on every rank, whatever the layers hold. */
bool rw_plasticity_prune_due(const rw_train_config *cfg, size_t step,
                             size_t total_steps);
rw_status rw_plasticity_after_step(rw_net *net, const rw_train_config *cfg,
                                   size_t step, size_t total_steps,
                                   rw_epoch_stats *es, rw_error *err);
rw_status rw_plasticity_epoch_end(rw_net *net, const rw_train_config *cfg,
                                  size_t epoch, rw_rng *rng,
                                  rw_epoch_stats *es, rw_error *err);
/* Hebbian growth for rewire.c: fills keys (sorted o*in+i) with the n most
 * co-active pairs of layer l (pre = layer l-1's activity) that are
 * unconnected once the `dropped` connections marked in drop[] (nw flags,
 * NULL for none) are gone. Changes nothing in the network. */
rw_status rw_grow_hebbian(rw_net *net, size_t l, const unsigned char *drop,
                          size_t dropped, uint64_t *keys, size_t n,
                          rw_error *err);

/* Pruning (prune.c). Density of the cubic schedule (Zhu and Gupta 2017)
 * at `progress` in [0,1] from d0 to df: df + (d0 - df) (1 - progress)^3.
 * rw_prune_layer removes up to nw - target connections of a sparse layer,
 * lowest score first (|w|, credit or |coact| by kind, times 1 + keep; ties
 * by |w|, then storage order), skipping connections whose permanence is at
 * or above `perm_threshold` (pass a negative threshold to protect none).
 * Never removes more than asked; returns the number removed. */
double rw_prune_density_at(double d0, double df, double progress);
size_t rw_prune_layer(rw_layer *L, rw_prune_kind kind, size_t target,
                      double perm_threshold);

/* Neuron turnover (neurons.c). remove: deletes the hidden neurons of layer
 * l flagged in mask[0..out) (row of layer l, column of layer l+1, every
 * parallel array), folding the constant output of a neuron without inputs
 * (and the mean output of a silent ReLU/sigmoid neuron when fold_silent)
 * into layer l+1's biases. add: appends n fresh neurons to hidden layer l,
 * with random inputs and zero outgoing weights, so the outputs do not
 * change. Both keep net->cfg and the activation buffers in step. */
rw_status rw_neurons_remove(rw_net *net, size_t l, const unsigned char *mask,
                            int fold_silent, rw_error *err);
rw_status rw_neurons_add(rw_net *net, size_t l, size_t n, rw_rng *rng,
                         rw_error *err);

/* Maintenance (maintain.c), called by the training loop like the
 * plasticity hooks: begin allocates (state persists across rw_train calls
 * on the same network); after_backward updates CBP's utilities and ReDo's
 * activity from the batch and adds L2 Init's gradient; after_step does
 * S&P, CBP replacement and ReDo on their schedules (step is 1-based). */
struct rw_maint;
void rw_maint_free(struct rw_maint *s);
rw_status rw_maintain_begin(rw_net *net, const rw_train_config *cfg,
                            rw_error *err);
void rw_maintain_after_backward(rw_net *net, const rw_train_config *cfg,
                                size_t B);
rw_status rw_maintain_after_step(rw_net *net, const rw_train_config *cfg,
                                 size_t step, rw_rng *rng, rw_epoch_stats *es,
                                 rw_error *err);
/* Fills v with pointers into net's maintenance state for the method of
 * cfg (after rw_maintain_begin; n_layers 0 when none): the per-unit
 * arrays of the hidden layers, and the L2 Init anchor when cfg uses L2
 * Init. The checkpoint reads and fills the arrays through it. */
void rw_maintain_view(rw_net *net, const rw_train_config *cfg,
                      rw_maint_view *v);
/* L2 Init's penalty lambda ||p - p0||^2 (0 for other methods). */
double rw_maintain_penalty(const rw_net *net, const rw_train_config *cfg);
/* Re-initialises hidden unit j of layer l: He-uniform incoming weights (a
 * sparse row gets as many fresh random inputs), bias 0, outgoing weights
 * 0, fresh optimizer state for all of them; with `compensate` the next
 * layer's biases absorb w_out times the unit's CBP mean activation. */
rw_status rw_maintain_reinit_unit(rw_net *net, size_t l, size_t j,
                                  int compensate, rw_rng *rng, rw_error *err);
/* The diagnostics of an epoch (diagnostics.c): fills es's dormant_fraction,
 * effective_rank and mean_abs_w on the first cfg->maintain.probe samples
 * of `ds` (NaN where off or too large). */
rw_status rw_diagnose_epoch(rw_net *net, const rw_dataset *ds,
                            const rw_train_config *cfg, rw_epoch_stats *es,
                            rw_error *err);
/* Mean |w| of a layer's existing weights (diagnostics.c). */
double rw_layer_mean_abs_w(const rw_layer *L);


#endif /* RW_PLASTICITY_H */
