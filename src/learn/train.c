/* The training loop: shuffled mini-batches, optimizer steps with a
 * learning-rate schedule, gradient clipping, a divergence guard, rewiring
 * on a schedule, and evaluation after each epoch. */
#include "learn/learn.h"
#include "dist/dist.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

rw_train_config rw_train_defaults(void)
{
    rw_train_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 10;
    c.batch = 128;
    c.lr = 0.001;
    c.optim = rw_optim_defaults(RW_OPT_ADAM);
    c.schedule = RW_SCHED_CONSTANT;
    c.step_epochs = 3;
    c.step_gamma = 0.1;
    c.seed = 1;
    c.rewire = RW_REWIRE_NONE;
    c.drop_fraction = 0.3;
    c.rewire_stop = 1.0;
    c.plasticity = rw_plasticity_defaults();
    c.consolidation = rw_consolidation_defaults();
    c.maintain = rw_maintain_defaults();
    return c;
}

double rw_schedule_lr(const rw_train_config *cfg, size_t epoch0,
                      double progress)
{
    switch (cfg->schedule) {
    case RW_SCHED_STEP: {
        size_t period = cfg->step_epochs ? cfg->step_epochs : 1;
        return cfg->lr * pow(cfg->step_gamma, (double)(epoch0 / period));
    }
    case RW_SCHED_COSINE:
        return cfg->lr_min + (cfg->lr - cfg->lr_min) * 0.5 *
                                 (1.0 + cos(3.141592653589793 * progress));
    default:
        return cfg->lr;
    }
}

double rw_schedule_drop(const rw_train_config *cfg, double progress)
{
    if (cfg->rewire == RW_REWIRE_NONE || progress >= cfg->rewire_stop)
        return 0.0;
    if (!cfg->drop_schedule_cosine)
        return cfg->drop_fraction;
    return cfg->drop_fraction * 0.5 *
           (1.0 + cos(3.141592653589793 * progress / cfg->rewire_stop));
}

/* The data a run reads, against the network; the settings are checked by
 * rw_check_train_config (base/config.c). */
static rw_status check_data(const rw_net *net, const rw_dataset *train,
                            const rw_dataset *test,
                            const rw_train_config *cfg, rw_error *err)
{
    if (train->n == 0)
        return rw_fail(err, RW_ERR_DATA, "%s has no samples", train->name);
    const rw_dataset *sets[3] = {train, test, cfg->replay};
    for (int i = 0; i < 3; i++) {
        const rw_dataset *ds = sets[i];
        if (!ds)
            continue;
        if (ds->f != net->cfg.n_inputs)
            return rw_fail(err, RW_ERR_DATA,
                           "%s has %zu features per sample but the network "
                           "has %zu inputs",
                           ds->name, ds->f, net->cfg.n_inputs);
        if (net->cfg.loss == RW_LOSS_CROSS_ENTROPY) {
            if (!ds->labels)
                return rw_fail(err, RW_ERR_DATA, "%s has no class labels", ds->name);
            size_t C = rw_net_outputs(net);
            for (size_t j = 0; j < ds->n; j++)
                if (ds->labels[j] < 0 || (size_t)ds->labels[j] >= C)
                    return rw_fail(err, RW_ERR_DATA,
                                   "%s: sample %zu has label %d, outside the "
                                   "network's %zu classes",
                                   ds->name, j + 1, (int)ds->labels[j], C);
        } else if (!ds->y || ds->targets != rw_net_outputs(net)) {
            return rw_fail(err, RW_ERR_DATA,
                           "%s has %zu targets but the network has %zu outputs",
                           ds->name, ds->targets, rw_net_outputs(net));
        }
    }
    return RW_OK;
}

/* Scratch for one run. */
typedef struct trainer {
    size_t *order;
    int32_t *labels;
    float *targets; /* feature-major C x (B + R) */
    size_t *ridx;   /* rehearsal samples of the current batch */
    size_t R;       /* rehearsal samples per batch */
} trainer;

static void trainer_free(trainer *t)
{
    rw_free(t->order);
    rw_free(t->labels);
    rw_free(t->targets);
    rw_free(t->ridx);
}

/* One forward/backward pass on samples order[s..s+B), plus t->R rehearsal
 * samples drawn from cfg->replay when rehearsal is on. */
static double batch_pass(rw_net *net, const rw_dataset *ds, trainer *t,
                         size_t s, size_t B, const rw_train_config *cfg,
                         rw_rng *rng, size_t *correct)
{
    const rw_dataset *rp = cfg->replay;
    size_t R = t->R, W = B + R;
    rw_net_load_batch_at(net, ds->x, t->order + s, B, 0, W);
    for (size_t r = 0; r < R; r++)
        t->ridx[r] = (size_t)rw_rng_below(rng, rp->n);
    if (R)
        rw_net_load_batch_at(net, rp->x, t->ridx, R, B, W);
    rw_net_forward_batch(net, W);
    rw_batch_src src[2] = {
        {ds->labels, ds->y, t->order + s, 0, B},
        {R ? rp->labels : NULL, R ? rp->y : NULL, t->ridx, 0, R}};
    double loss = rw_net_batch_loss(net, src, R ? 2 : 1, cfg->class_groups,
                                    t->labels, t->targets, true, correct);
    rw_net_backward_batch(net, W);
    return loss;
}

/* batch_pass on this rank's share of the global batch order[s..s+B), then
 * the gradients, loss and hits summed over the ranks (dist.c); in one
 * process, batch_pass itself. */
static rw_status shared_pass(rw_net *net, const rw_dataset *ds, trainer *t,
                             size_t s, size_t B, const rw_train_config *cfg,
                             rw_rng *rng, double *loss, size_t *correct,
                             size_t *local, bool shard, rw_error *err)
{
    size_t off = 0, len = B;
    if (rw_dist_on())
        rw_dist_slice(B, t->R, &off, &len);
    *local = len + t->R;
    *loss = batch_pass(net, ds, t, s + off, len, cfg, rng, correct);
    return shard ? rw_dist_reduce_grads_sharded(net, loss, correct, err)
                 : rw_dist_reduce_grads(net, loss, correct, err);
}

static void shuffle(size_t *order, size_t n, rw_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rw_rng_below(rng, i);
        size_t tmp = order[i - 1];
        order[i - 1] = order[j];
        order[j] = tmp;
    }
}

static void fill_topology_stats(const rw_net *net, rw_epoch_stats *es)
{
    es->connections = rw_net_connections(net);
    for (size_t l = 0; l < net->n_layers && l < RW_MAX_LAYERS; l++) {
        const rw_layer *L = &net->layers[l];
        es->layer_connections[l] = L->nw;
        es->layer_density[l] = (double)L->nw / ((double)L->in * (double)L->out);
        es->layer_neurons[l] = L->out;
        es->initial_share[l] = rw_net_initial_share(net, l);
    }
}

/* Rewires all sparse layers with the scheduled fraction and adds the
 * counts to the epoch's statistics. */
static rw_status rewire_now(rw_net *net, const rw_train_config *cfg,
                            double progress, rw_rng *rng, rw_epoch_stats *es,
                            rw_error *err)
{
    double f = rw_schedule_drop(cfg, progress);
    if (f <= 0.0)
        return RW_OK;
    rw_rewire_stats rs[RW_MAX_LAYERS];
    rw_status st = rw_dist_gather_moments(net, err);
    if (st == RW_OK)
        st = rw_net_rewire(net, cfg->rewire, f, rng, rs, err);
    if (st != RW_OK ||
        (st = rw_dist_check(net, "after rewiring", err)) != RW_OK)
        return st;
    for (size_t l = 0; l < net->n_layers; l++) {
        es->dropped[l] += rs[l].dropped;
        es->grown[l] += rs[l].grown;
    }
    es->drop_fraction = f;
    return RW_OK;
}

/* One run of rw_train: what it reads, its scratch, where it is and what it
 * has found so far. The named steps below take it. */
typedef struct run {
    rw_net *net;
    const rw_dataset *train, *test;
    const rw_train_config *cfg;
    trainer t;
    rw_run_state rs;
    uint64_t fp; /* checkpoint fingerprint (0 without checkpoints) */
    uint64_t setup; /* under mpirun: settings, data, checkpoint steps */
    size_t n, B, batches, total_steps;
    bool resumed;           /* rs came from a checkpoint and is not used yet */
    double t0, epoch_secs0; /* the epoch's start, and the seconds before it */
    double secs_resumed;    /* training time the checkpoint brought */
    double lr;              /* the last step's learning rate */
    bool shard;             /* the optimizer step is sharded over the ranks */
    rw_train_result res;
} run;

/* Whether the ranks may shard the optimizer step (dist.c): only when
 * nothing but the step reads the summed gradients (the usage, activity and
 * co-activation traces, consolidation and maintenance do) and nothing
 * between two steps moves the optimizer's moments except rewiring, which
 * gathers them first. RW_DIST_SHARD=0 turns it off. */
static bool can_shard(const rw_net *net, const rw_train_config *cfg)
{
    const rw_plasticity_config *p = &cfg->plasticity;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        if (L->credit || L->activity || L->coact)
            return false;
    }
    return rw_dist_on() && rw_dist_shard_wanted() &&
           p->prune == RW_PRUNE_NONE && !p->neuron_turnover &&
           cfg->consolidation.kind == RW_CONSOLIDATE_NONE &&
           cfg->maintain.kind == RW_MAINTAIN_NONE && !cfg->drop_by_usage;
}

/* Scratch, the hooks' state and the start (fresh or from a checkpoint),
 * on this rank alone: rw_train agrees on the outcome with the other ranks
 * before rw_dist_begin. */
static rw_status run_begin(run *r, rw_net *net, const rw_dataset *train,
                           const rw_dataset *test, const rw_train_config *cfg,
                           rw_error *err)
{
    r->net = net;
    r->train = train;
    r->test = test;
    r->cfg = cfg;
    size_t n = r->n = train->n;
    size_t B = r->B = cfg->batch < n ? cfg->batch : n;
    size_t C = rw_net_outputs(net);
    r->batches = (n + B - 1) / B;
    r->total_steps = r->batches * cfg->epochs;
    trainer *t = &r->t;
    /* replay_batch 0 means one rehearsal sample per new one, as in
     * rw_continual (it used to turn rehearsal off without a word). */
    t->R = cfg->replay && cfg->replay->n
               ? (cfg->replay_batch ? cfg->replay_batch : cfg->batch) : 0;
    t->order = rw_alloc(n, sizeof(size_t), "sample order", err);
    t->labels = rw_alloc(B + t->R, sizeof(int32_t), "batch labels", err);
    t->targets = rw_alloc((B + t->R) * C, sizeof(float), "batch targets", err);
    t->ridx = rw_alloc(t->R + 1, sizeof(size_t), "rehearsal batch", err);
    if (!t->order || !t->labels || !t->targets || !t->ridx)
        return RW_ERR_NOMEM;
    rw_status st;
    /* The checkpoint's folder is checked now, not an epoch from now (only
     * rank 0 writes it). */
    if ((st = rw_dist_check_env(err)) != RW_OK ||
        (cfg->checkpoint_path && rw_dist_root() &&
         (st = rw_check_writable(cfg->checkpoint_path, "checkpoint", err)) !=
             RW_OK) ||
        (st = rw_net_reserve_batch(net, B + t->R, err)) != RW_OK ||
        (st = rw_net_ensure_moments(net, cfg->optim.kind, err)) != RW_OK ||
        (st = rw_plasticity_begin(net, cfg, err)) != RW_OK ||
        (st = rw_consolidation_begin(net, cfg, err)) != RW_OK ||
        (st = rw_maintain_begin(net, cfg, err)) != RW_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        t->order[i] = i;
    rw_rng_seed(&r->rs.rng, cfg->seed ^ 0x5eedf00dULL);
    r->fp = cfg->checkpoint_path || cfg->resume_path
                ? rw_checkpoint_fingerprint(cfg, train, t->R, C) : 0;
    /* Under mpirun the ranks compare it before training (rw_dist_begin),
     * with what decides the collectives of checkpoints: ranks given other
     * data (a shard each, say) or other options would train apart or wait
     * for each other. */
    if (rw_dist_size() > 1)
        r->setup = (r->fp ? r->fp : rw_checkpoint_fingerprint(cfg, train, t->R, C)) ^
                   (cfg->checkpoint_path ? 0x9e3779b97f4a7c15ULL * (cfg->checkpoint_every + 1) : 0);
    if (cfg->resume_path) {
        rw_maint_view mv;
        rw_maintain_view(net, cfg, &mv);
        if ((st = rw_checkpoint_read(cfg, r->fp, net, &mv, &r->rs, t->order,
                                     n, err)) != RW_OK)
            return st;
        r->resumed = true;
    }
    r->res.test_loss = r->res.test_accuracy = NAN;
    r->res.final_train_loss = r->res.final_train_accuracy = NAN;
    r->res.epochs = (size_t)r->rs.epoch;
    r->res.epochs_trained = 0;
    r->secs_resumed = r->rs.train_seconds;
    r->shard = can_shard(net, cfg);
    return RW_OK;
}

/* A new epoch shuffles and clears its sums, unless it resumes mid-epoch
 * (a checkpoint taken at an epoch's end resumes before the shuffle). */
static void epoch_begin(run *r)
{
    rw_run_state *rs = &r->rs;
    if (!r->resumed || rs->batch == 0) {
        shuffle(r->t.order, r->n, &rs->rng);
        memset(&rs->es, 0, sizeof rs->es);
        rs->batch = 0;
        rs->loss_sum = 0.0;
        rs->correct_sum = rs->seen = 0;
    }
    r->resumed = false;
    rs->es.epoch = (size_t)rs->epoch + 1;
    r->t0 = rw_now();
    r->lr = 0.0;
    r->epoch_secs0 = rs->train_seconds;
}

/* Step 1, the batch: forward and backward on samples [s, s+bs) (this
 * rank's share, summed over the ranks), then the hooks that read the
 * fresh gradients: SI's task gradient, traces, penalties. */
static rw_status step_batch(run *r, size_t s, size_t bs, double *loss,
                            size_t *correct, rw_error *err)
{
    rw_net *net = r->net;
    const rw_train_config *cfg = r->cfg;
    size_t local = 0;
    rw_status st = shared_pass(net, r->train, &r->t, s, bs, cfg, &r->rs.rng,
                               loss, correct, &local, r->shard, err);
    if (st != RW_OK)
        return st;
    rw_consolidation_after_gradient(net, cfg);
    rw_plasticity_after_backward(net, cfg, local);
    if ((st = rw_dist_sync_traces(net, err)) != RW_OK)
        return st;
    rw_consolidation_after_backward(net, cfg);
    rw_maintain_after_backward(net, cfg, local);
    return RW_OK;
}

/* Step 2, the guard: stops on a non-finite loss or gradient, naming the
 * layer, and clips the global gradient norm. */
static rw_status step_clip(run *r, double loss, size_t b, rw_error *err)
{
    const rw_train_config *cfg = r->cfg;
    double norm = r->shard ? rw_dist_shard_norm() : rw_net_grad_norm(r->net);
    rw_status st;
    if (!isfinite(loss) || !isfinite(norm)) {
        if (r->shard && (st = rw_dist_shard_unpack_grads(r->net, err)) != RW_OK)
            return st;
        int layer = rw_net_find_nonfinite(r->net);
        char where[32] = "";
        if (layer >= 0)
            snprintf(where, sizeof where, " in layer %d", layer + 1);
        return rw_fail(err, RW_ERR_DIVERGED,
                       "training diverged at epoch %zu, step %zu: %s%s is "
                       "not finite%s; try a lower learning rate (--lr) or "
                       "gradient clipping (--clip-grad)",
                       (size_t)r->rs.epoch + 1, b + 1,
                       !isfinite(loss) ? "the loss" : "a gradient", where,
                       cfg->checkpoint_path ? " (the last checkpoint is "
                                              "kept)" : "");
    }
    if (cfg->clip_grad > 0.0 && norm > cfg->clip_grad) {
        if (r->shard)
            rw_dist_shard_scale((float)(cfg->clip_grad / norm));
        else
            rw_net_scale_grads(r->net, (float)(cfg->clip_grad / norm));
    }
    return RW_OK;
}

/* Step 3, the schedules and the step: the learning rate of this point of
 * training, the optimizer step and SI's path integral. */
static rw_status step_update(run *r, size_t step, rw_error *err)
{
    r->lr = rw_schedule_lr(r->cfg, (size_t)r->rs.epoch,
                           (double)step / (double)r->total_steps);
    rw_status st = r->shard ? rw_dist_shard_step(r->net, &r->cfg->optim, r->lr, err)
                            : rw_net_step(r->net, &r->cfg->optim, r->lr, err);
    if (st == RW_OK)
        rw_consolidation_after_step(r->net, r->cfg);
    return st;
}

/* Step 4, rewire and prune: pruning and permanence on their schedule,
 * maintenance, and rewiring when it runs every rewire_every steps. */
static rw_status step_rewire_prune(run *r, size_t step, rw_error *err)
{
    rw_net *net = r->net;
    const rw_train_config *cfg = r->cfg;
    rw_epoch_stats *es = &r->rs.es;
    rw_status st;
    if ((st = rw_plasticity_after_step(net, cfg, step + 1, r->total_steps, es,
                                       err)) != RW_OK)
        return st;
    /* A pruning event of the schedule (a step every rank agrees on, so all
     * of them take the collective): the ranks compare the topology now, as
     * after a rewiring, not only at the epoch's end. */
    if (rw_plasticity_prune_due(cfg, step + 1, r->total_steps) &&
        (st = rw_dist_check(net, "after pruning", err)) != RW_OK)
        return st;
    if ((st = rw_maintain_after_step(net, cfg, step + 1, &r->rs.rng, es,
                                     err)) != RW_OK)
        return st;
    if (cfg->rewire != RW_REWIRE_NONE && cfg->rewire_every &&
        (step + 1) % cfg->rewire_every == 0 && step + 1 < r->total_steps)
        return rewire_now(net, cfg, (double)(step + 1) / (double)r->total_steps,
                          &r->rs.rng, es, err);
    return RW_OK;
}

/* Step 5, the progress: running sums and the progress callback. */
static rw_status step_report(run *r, double loss, size_t correct, size_t bs,
                             size_t b, rw_error *err)
{
    rw_run_state *rs = &r->rs;
    const rw_train_config *cfg = r->cfg;
    /* The batch's rehearsal samples: R on every rank, and the summed loss
     * and hits are over all of them. */
    size_t R = r->t.R * (size_t)rw_dist_size();
    rs->loss_sum += loss * (double)(bs + R);
    rs->correct_sum += correct;
    rs->seen += bs + R;
    double el = rw_now() - r->t0;
    if (!cfg->on_progress)
        return RW_OK;
    size_t epoch = (size_t)rs->epoch;
    rw_progress p = {epoch + 1, cfg->epochs, b + 1, r->batches,
                     rs->loss_sum / (double)rs->seen,
                     (double)rs->correct_sum / (double)rs->seen,
                     el > 0 ? (double)(bs + R) * (double)(b + 1) / el : 0.0,
                     el};
    if (cfg->on_progress(&p, cfg->user))
        return rw_fail(err, RW_ERR_INTERRUPTED, "training stopped at epoch %zu",
                       epoch + 1);
    return RW_OK;
}

/* Step 6, the checkpoint every checkpoint_every steps (rank 0), never at
 * an epoch's last batch, which the epoch's own checkpoint follows. */
static rw_status step_checkpoint(run *r, size_t b, size_t step, rw_error *err)
{
    const rw_train_config *cfg = r->cfg;
    if (!(cfg->checkpoint_path && cfg->checkpoint_every &&
          (step + 1) % cfg->checkpoint_every == 0 && b + 1 < r->batches))
        return RW_OK;
    rw_status st = rw_dist_gather_moments(r->net, err);
    if (st != RW_OK || !rw_dist_root())
        return st;
    rw_run_state snap = r->rs;
    snap.batch++;
    snap.step++;
    snap.train_seconds = r->epoch_secs0 + (rw_now() - r->t0);
    rw_maint_view mv;
    rw_maintain_view(r->net, cfg, &mv);
    return rw_checkpoint_write(r->net, cfg, r->fp, &snap, &mv, r->t.order, r->n,
                               err);
}

/* One training step, the batch rs.batch of the epoch: the named steps in
 * their order. */
static rw_status train_step(run *r, rw_error *err)
{
    size_t b = (size_t)r->rs.batch, step = (size_t)r->rs.step;
    size_t s = b * r->B, bs = r->n - s < r->B ? r->n - s : r->B;
    size_t correct = 0;
    double loss = 0.0;
    rw_status st;
    if ((st = step_batch(r, s, bs, &loss, &correct, err)) != RW_OK ||
        (st = step_clip(r, loss, b, err)) != RW_OK ||
        (st = step_update(r, step, err)) != RW_OK ||
        (st = step_rewire_prune(r, step, err)) != RW_OK ||
        (st = step_report(r, loss, correct, bs, b, err)) != RW_OK)
        return st;
    return step_checkpoint(r, b, step, err);
}

/* Per-epoch rewiring (the default), never after the last epoch; RigL
 * takes fresh gradients on one random batch first. Then the epoch's
 * plasticity (neuron turnover) and the ranks' agreement. */
static rw_status epoch_rewire(run *r, rw_error *err)
{
    rw_net *net = r->net;
    const rw_train_config *cfg = r->cfg;
    size_t epoch = (size_t)r->rs.epoch;
    double progress = (double)(epoch + 1) / (double)cfg->epochs;
    rw_status st;
    if (cfg->rewire != RW_REWIRE_NONE && !cfg->rewire_every &&
        epoch + 1 < cfg->epochs && rw_schedule_drop(cfg, progress) > 0.0) {
        if (cfg->rewire == RW_REWIRE_RIGL) {
            shuffle(r->t.order, r->n, &r->rs.rng);
            size_t dummy, local;
            double l0;
            if ((st = shared_pass(net, r->train, &r->t, 0, r->B, cfg,
                                  &r->rs.rng, &l0, &dummy, &local, false,
                                  err)) != RW_OK)
                return st;
        }
        if ((st = rewire_now(net, cfg, progress, &r->rs.rng, &r->rs.es,
                             err)) != RW_OK)
            return st;
    }
    if ((st = rw_plasticity_epoch_end(net, cfg, epoch, &r->rs.rng, &r->rs.es,
                                      err)) != RW_OK)
        return st;
    return rw_dist_check(net, "at the end of an epoch", err);
}

/* The test set's loss and accuracy (task-incremental: a sample's
 * prediction is the best class of its own task, as in training); NaN
 * without a test set. */
static rw_status test_figures(run *r, double *loss, double *accuracy,
                              rw_error *err)
{
    rw_net *net = r->net;
    *loss = *accuracy = NAN;
    if (!r->test)
        return RW_OK;
    rw_eval_result ev;
    rw_status st = rw_net_evaluate(net, r->test, &ev, NULL, err);
    if (st != RW_OK)
        return st;
    *loss = ev.loss;
    *accuracy = net->cfg.loss == RW_LOSS_CROSS_ENTROPY ? ev.accuracy : NAN;
    if (r->cfg->class_groups)
        st = rw_continual_accuracy(net, r->test, r->cfg->class_groups,
                                   accuracy, err);
    return st;
}

/* The evaluation: the epoch's time and training figures, the test set,
 * the topology and the diagnostics. */
static rw_status epoch_evaluate(run *r, rw_error *err)
{
    rw_net *net = r->net;
    const rw_train_config *cfg = r->cfg;
    rw_run_state *rs = &r->rs;
    rw_epoch_stats *es = &rs->es;
    double secs = rw_now() - r->t0;
    rs->train_seconds = r->epoch_secs0 + secs;
    es->seconds = secs;
    es->lr = r->lr;
    es->train_loss = rs->loss_sum / (double)rs->seen;
    es->train_accuracy = (double)rs->correct_sum / (double)rs->seen;
    rw_status st = test_figures(r, &es->test_loss, &es->test_accuracy, err);
    if (st != RW_OK)
        return st;
    fill_topology_stats(net, es);
    return rw_diagnose_epoch(net, r->train, cfg, es, err);
}

/* The result's training time and throughput after `epochs` epochs (each
 * of the run's samples once per epoch, and every rank's rehearsal). */
static void result_time(run *r, size_t epochs)
{
    rw_train_result *res = &r->res;
    res->train_seconds = r->rs.train_seconds;
    res->samples_per_second = r->rs.train_seconds > 0
        ? (double)((r->n + r->t.R * (size_t)rw_dist_size() * r->batches) * epochs) /
              r->rs.train_seconds
        : 0.0;
}

/* The result so far and the epoch callback. The epoch is reported before
 * its checkpoint: a run killed in between repeats the epoch's log line on
 * resume, never loses it. */
static rw_status epoch_report(run *r, rw_train_result *result, rw_error *err)
{
    const rw_train_config *cfg = r->cfg;
    const rw_epoch_stats *es = &r->rs.es;
    size_t epoch = (size_t)r->rs.epoch;
    rw_train_result *res = &r->res;
    res->epochs = epoch + 1;
    res->epochs_trained++;
    res->final_train_loss = es->train_loss;
    res->final_train_accuracy = es->train_accuracy;
    res->test_loss = es->test_loss;
    res->test_accuracy = es->test_accuracy;
    result_time(r, epoch + 1);
    if (result)
        *result = *res;
    if (cfg->on_epoch && cfg->on_epoch(es, cfg->user))
        return rw_fail(err, RW_ERR_INTERRUPTED, "training stopped after epoch %zu",
                       epoch + 1);
    return RW_OK;
}

/* The checkpoint at an epoch's end (rank 0): it resumes at the next one. */
static rw_status epoch_checkpoint(run *r, rw_error *err)
{
    if (!r->cfg->checkpoint_path)
        return RW_OK;
    rw_status st = rw_dist_gather_moments(r->net, err);
    if (st != RW_OK || !rw_dist_root())
        return st;
    rw_run_state snap = r->rs;
    snap.epoch++;
    snap.batch = 0;
    rw_maint_view mv;
    rw_maintain_view(r->net, r->cfg, &mv);
    return rw_checkpoint_write(r->net, r->cfg, r->fp, &snap, &mv, r->t.order,
                               r->n, err);
}

static rw_status train_epoch(run *r, rw_train_result *result, rw_error *err)
{
    rw_status st;
    epoch_begin(r);
    for (; r->rs.batch < r->batches; r->rs.batch++, r->rs.step++)
        if ((st = train_step(r, err)) != RW_OK)
            return st;
    /* The epoch's end reads the weights and hands them to callbacks: each
     * rank's own again, not the sharded step's shared ones (dist.c). */
    rw_dist_own_weights(r->net);
    if ((st = epoch_rewire(r, err)) != RW_OK ||
        (st = epoch_evaluate(r, err)) != RW_OK ||
        (st = epoch_report(r, result, err)) != RW_OK)
        return st;
    return epoch_checkpoint(r, err);
}

rw_status rw_train(rw_net *net, const rw_dataset *train,
                   const rw_dataset *test, const rw_train_config *cfg,
                   rw_train_result *result, rw_error *err)
{
    if (!net || !train || !cfg)
        return rw_fail(err, RW_ERR_ARG, "train: NULL argument");
    rw_status st = rw_check_train_config(cfg, err);
    if (st == RW_OK)
        st = check_data(net, train, test, cfg, err);
    run r;
    memset(&r, 0, sizeof r);
    if (st == RW_OK)
        st = run_begin(&r, net, train, test, cfg, err);
    /* Under mpirun all ranks start training or all return (the set-up's
     * errors, above, are a rank's own: its data, its checkpoint file). */
    st = rw_dist_agree_begin(st, err);
    if (st == RW_OK)
        st = rw_dist_begin(net, r.setup, err);
    if (st == RW_OK) {
        /* A finished run resumed trains nothing: its time from the
         * checkpoint, the test figures of the network as it stands. */
        if (r.rs.epoch >= cfg->epochs) {
            result_time(&r, (size_t)r.rs.epoch);
            st = test_figures(&r, &r.res.test_loss, &r.res.test_accuracy, err);
        }
        for (; st == RW_OK && r.rs.epoch < cfg->epochs; r.rs.epoch++)
            if ((st = train_epoch(&r, result, err)) != RW_OK)
                break;
        if (st == RW_OK && result)
            *result = r.res;
        /* Every rank leaves with the whole optimizer state (a run stopped
         * by its callback too: the callback must stop every rank at the
         * same step under MPI). */
        if (st == RW_OK || st == RW_ERR_INTERRUPTED) {
            rw_status gs = rw_dist_gather_moments(net, err);
            st = st == RW_OK ? gs : st;
        }
        rw_dist_note_training(r.rs.train_seconds - r.secs_resumed);
    }
    rw_dist_own_weights(net); /* on every way out, errors too */
    trainer_free(&r.t);
    return st;
}
