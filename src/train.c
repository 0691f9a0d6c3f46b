/* The training loop: shuffled mini-batches, optimizer steps with a
 * learning-rate schedule, gradient clipping, a divergence guard, rewiring
 * on a schedule, and evaluation after each epoch. */
#include "internal.h"

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

static rw_status check_config(const rw_net *net, const rw_dataset *train,
                              const rw_dataset *test,
                              const rw_train_config *cfg, rw_error *err)
{
    if (!net || !train || !cfg)
        return rw_fail(err, RW_ERR_ARG, "train: NULL argument");
    if (cfg->batch == 0)
        return rw_fail(err, RW_ERR_ARG, "batch size must be at least 1");
    if (!(cfg->lr > 0.0) || !isfinite(cfg->lr))
        return rw_fail(err, RW_ERR_ARG, "learning rate must be positive, got %g",
                       cfg->lr);
    if (!(cfg->drop_fraction >= 0.0 && cfg->drop_fraction <= 1.0))
        return rw_fail(err, RW_ERR_ARG, "drop fraction %g is outside [0, 1]",
                       cfg->drop_fraction);
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
    rw_layer *out = &net->layers[net->n_layers - 1];
    double loss;
    if (net->cfg.loss == RW_LOSS_CROSS_ENTROPY) {
        for (size_t j = 0; j < B; j++)
            t->labels[j] = ds->labels[t->order[s + j]];
        for (size_t r = 0; r < R; r++)
            t->labels[B + r] = rp->labels[t->ridx[r]];
        loss = rw_loss_ce(out->a, t->labels, out->d, out->out, W, correct);
    } else {
        size_t C = out->out;
        for (size_t j = 0; j < W; j++) {
            const float *y = j < B ? ds->y + t->order[s + j] * C
                                   : rp->y + t->ridx[j - B] * C;
            for (size_t c = 0; c < C; c++)
                t->targets[c * W + j] = y[c];
        }
        loss = rw_loss_mse(out->a, t->targets, out->d, C, W);
        rw_act_backward(out->act, out->a, out->d, C * W);
        *correct = 0;
    }
    rw_net_backward_batch(net, W);
    return loss;
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

rw_status rw_train(rw_net *net, const rw_dataset *train,
                   const rw_dataset *test, const rw_train_config *cfg,
                   rw_train_result *result, rw_error *err)
{
    rw_status st = check_config(net, train, test, cfg, err);
    if (st != RW_OK)
        return st;
    size_t n = train->n, B = cfg->batch < n ? cfg->batch : n;
    size_t batches = (n + B - 1) / B, C = rw_net_outputs(net);
    size_t total_steps = batches * cfg->epochs;
    trainer t = {0};
    t.R = cfg->replay && cfg->replay->n ? cfg->replay_batch : 0;
    t.order = rw_alloc(n, sizeof(size_t), "sample order", err);
    t.labels = rw_alloc(B + t.R, sizeof(int32_t), "batch labels", err);
    t.targets = rw_alloc((B + t.R) * C, sizeof(float), "batch targets", err);
    t.ridx = rw_alloc(t.R + 1, sizeof(size_t), "rehearsal batch", err);
    if (!t.order || !t.labels || !t.targets || !t.ridx) {
        trainer_free(&t);
        return RW_ERR_NOMEM;
    }
    if ((st = rw_net_reserve_batch(net, B + t.R, err)) != RW_OK ||
        (st = rw_net_ensure_moments(net, cfg->optim.kind, err)) != RW_OK ||
        (st = rw_plasticity_begin(net, cfg, err)) != RW_OK ||
        (st = rw_consolidation_begin(net, cfg, err)) != RW_OK) {
        trainer_free(&t);
        return st;
    }
    for (size_t i = 0; i < n; i++)
        t.order[i] = i;
    rw_rng rng;
    rw_rng_seed(&rng, cfg->seed ^ 0x5eedf00dULL);
    double train_seconds = 0.0;
    size_t step = 0;
    rw_train_result res;
    memset(&res, 0, sizeof res);
    res.test_loss = res.test_accuracy = NAN;

    for (size_t epoch = 0; epoch < cfg->epochs; epoch++) {
        shuffle(t.order, n, &rng);
        rw_epoch_stats es;
        memset(&es, 0, sizeof es);
        es.epoch = epoch + 1;
        double loss_sum = 0.0, t0 = rw_now();
        size_t correct_sum = 0, seen = 0;
        double lr = 0.0;
        for (size_t b = 0; b < batches; b++, step++) {
            size_t s = b * B, bs = n - s < B ? n - s : B;
            size_t correct = 0;
            double loss = batch_pass(net, train, &t, s, bs, cfg, &rng, &correct);
            rw_plasticity_after_backward(net, cfg, bs + t.R);
            rw_consolidation_after_backward(net, cfg);
            double norm = rw_net_grad_norm(net);
            if (!isfinite(loss) || !isfinite(norm)) {
                int layer = rw_net_find_nonfinite(net);
                char where[32] = "";
                if (layer >= 0)
                    snprintf(where, sizeof where, " in layer %d", layer + 1);
                trainer_free(&t);
                return rw_fail(err, RW_ERR_DIVERGED,
                               "training diverged at epoch %zu, step %zu: %s%s "
                               "is not finite; try a lower learning rate "
                               "(--lr) or gradient clipping (--clip-grad)",
                               epoch + 1, b + 1,
                               !isfinite(loss) ? "the loss" : "a gradient",
                               where);
            }
            if (cfg->clip_grad > 0.0 && norm > cfg->clip_grad)
                rw_net_scale_grads(net, (float)(cfg->clip_grad / norm));
            lr = rw_schedule_lr(cfg, epoch, (double)step / (double)total_steps);
            if ((st = rw_net_step(net, &cfg->optim, lr, err)) != RW_OK) {
                trainer_free(&t);
                return st;
            }
            rw_consolidation_after_step(net, cfg);
            if ((st = rw_plasticity_after_step(net, cfg, step + 1, total_steps,
                                               &es, err)) != RW_OK) {
                trainer_free(&t);
                return st;
            }
            if (cfg->rewire != RW_REWIRE_NONE && cfg->rewire_every &&
                (step + 1) % cfg->rewire_every == 0 && step + 1 < total_steps) {
                double f = rw_schedule_drop(cfg, (double)(step + 1) / (double)total_steps);
                rw_rewire_stats rs[RW_MAX_LAYERS];
                if (f > 0.0) {
                    if ((st = rw_net_rewire(net, cfg->rewire, f, &rng, rs, err)) != RW_OK) {
                        trainer_free(&t);
                        return st;
                    }
                    for (size_t l = 0; l < net->n_layers; l++) {
                        es.dropped[l] += rs[l].dropped;
                        es.grown[l] += rs[l].grown;
                    }
                    es.drop_fraction = f;
                }
            }
            loss_sum += loss * (double)(bs + t.R);
            correct_sum += correct;
            seen += bs + t.R;
            if (cfg->on_progress) {
                double el = rw_now() - t0;
                rw_progress p = {epoch + 1, cfg->epochs, b + 1, batches,
                                 loss_sum / (double)seen,
                                 (double)correct_sum / (double)seen,
                                 el > 0 ? (double)seen / el : 0.0, el};
                if (cfg->on_progress(&p, cfg->user)) {
                    trainer_free(&t);
                    return rw_fail(err, RW_ERR_INTERRUPTED,
                                   "training stopped at epoch %zu", epoch + 1);
                }
            }
        }
        /* Per-epoch rewiring (the default), never after the last epoch. */
        if (cfg->rewire != RW_REWIRE_NONE && !cfg->rewire_every &&
            epoch + 1 < cfg->epochs) {
            double f = rw_schedule_drop(cfg, (double)(epoch + 1) / (double)cfg->epochs);
            if (f > 0.0) {
                if (cfg->rewire == RW_REWIRE_RIGL) {
                    /* Fresh gradients on one random batch. */
                    shuffle(t.order, n, &rng);
                    size_t dummy;
                    batch_pass(net, train, &t, 0, B, cfg, &rng, &dummy);
                }
                rw_rewire_stats rs[RW_MAX_LAYERS];
                if ((st = rw_net_rewire(net, cfg->rewire, f, &rng, rs, err)) != RW_OK) {
                    trainer_free(&t);
                    return st;
                }
                for (size_t l = 0; l < net->n_layers; l++) {
                    es.dropped[l] += rs[l].dropped;
                    es.grown[l] += rs[l].grown;
                }
                es.drop_fraction = f;
            }
        }
        if ((st = rw_plasticity_epoch_end(net, cfg, epoch, &rng, &es, err)) != RW_OK) {
            trainer_free(&t);
            return st;
        }
        double secs = rw_now() - t0;
        train_seconds += secs;
        es.seconds = secs;
        es.lr = lr;
        es.train_loss = loss_sum / (double)seen;
        es.train_accuracy = (double)correct_sum / (double)seen;
        es.test_loss = es.test_accuracy = NAN;
        if (test) {
            rw_eval_result ev;
            if ((st = rw_net_evaluate(net, test, &ev, NULL, err)) != RW_OK) {
                trainer_free(&t);
                return st;
            }
            es.test_loss = ev.loss;
            es.test_accuracy = net->cfg.loss == RW_LOSS_CROSS_ENTROPY ? ev.accuracy : NAN;
        }
        fill_topology_stats(net, &es);
        res.epochs = epoch + 1;
        res.final_train_loss = es.train_loss;
        res.final_train_accuracy = es.train_accuracy;
        res.test_loss = es.test_loss;
        res.test_accuracy = es.test_accuracy;
        res.train_seconds = train_seconds;
        res.samples_per_second =
            train_seconds > 0 ? (double)(n * (epoch + 1)) / train_seconds : 0.0;
        if (result)
            *result = res;
        if (cfg->on_epoch && cfg->on_epoch(&es, cfg->user)) {
            trainer_free(&t);
            return rw_fail(err, RW_ERR_INTERRUPTED,
                           "training stopped after epoch %zu", epoch + 1);
        }
    }
    trainer_free(&t);
    if (result)
        *result = res;
    return RW_OK;
}
