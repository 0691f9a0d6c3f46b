/* The training loop: shuffled mini-batches, optimizer steps with a
 * learning-rate schedule, gradient clipping, a divergence guard, rewiring
 * on a schedule, and evaluation after each epoch. */
#include "learn/learn.h"
#include "base/bytes.h"
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
    if ((unsigned)cfg->rewire > RW_REWIRE_HEBBIAN)
        return rw_fail(err, RW_ERR_ARG, "unknown rewiring rule %d",
                       (int)cfg->rewire);
    if (!(cfg->drop_fraction >= 0.0 && cfg->drop_fraction <= 1.0))
        return rw_fail(err, RW_ERR_ARG, "drop fraction %g is outside [0, 1]",
                       cfg->drop_fraction);
    if (train->n == 0)
        return rw_fail(err, RW_ERR_DATA, "%s has no samples", train->name);
    if (cfg->resume_path && cfg->consolidation.kind != RW_CONSOLIDATE_NONE)
        return rw_fail(err, RW_ERR_UNSUPPORTED,
                       "resume: checkpoints do not hold the consolidation "
                       "state (importance, anchors, SI path)");
    if (cfg->resume_path && (cfg->maintain.kind != RW_MAINTAIN_NONE ||
                             cfg->drop_by_usage))
        return rw_fail(err, RW_ERR_UNSUPPORTED,
                       "resume: checkpoints do not hold the maintenance state "
                       "(CBP utilities and ages, the L2 Init anchor, the "
                       "input usage of --drop-by-usage)");
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
        if (cfg->class_groups) /* task-incremental: own task's classes only */
            rw_mask_class_groups(out->a, t->labels, cfg->class_groups,
                                 out->out, W);
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

/* batch_pass on this rank's share of the global batch order[s..s+B), then
 * the gradients, loss and hits summed over the ranks (dist.c); in one
 * process, batch_pass itself. */
static rw_status shared_pass(rw_net *net, const rw_dataset *ds, trainer *t,
                             size_t s, size_t B, const rw_train_config *cfg,
                             rw_rng *rng, double *loss, size_t *correct,
                             size_t *local, rw_error *err)
{
    size_t off = 0, len = B;
    if (rw_dist_on())
        rw_dist_slice(B, t->R, &off, &len);
    *local = len + t->R;
    *loss = batch_pass(net, ds, t, s + off, len, cfg, rng, correct);
    return rw_dist_reduce_grads(net, loss, correct, err);
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

/* Everything that a checkpoint must carry besides the network. */
typedef struct run_state {
    uint64_t epoch; /* 0-based epoch in progress */
    uint64_t batch; /* next batch of that epoch */
    uint64_t step;  /* steps taken */
    rw_rng rng;
    double train_seconds, loss_sum;
    uint64_t correct_sum, seen;
    rw_epoch_stats es; /* counters of the epoch in progress */
} run_state;

#define STATE_TAG "TRST"
#define STATE_VERSION 2u /* 2: the fingerprint covers every setting and the data */
#define STATE_COUNTERS 5 /* dropped, grown, pruned, removed, added */

/* Sequential little-endian u64 fields (bytes.h), advancing the cursor. */
static void put64(unsigned char **p, uint64_t v)
{
    put_u64(*p, v);
    *p += 8;
}

static uint64_t get64(const unsigned char **p)
{
    uint64_t v = get_u64(*p);
    *p += 8;
    return v;
}

/* FNV-1a, fed little-endian u64 fields. */
static void fp_u64(uint64_t *h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        *h ^= (v >> (8 * i)) & 0xffu;
        *h *= 1099511628211ULL;
    }
}
static void fp_f64(uint64_t *h, double v) { fp_u64(h, f64_bits(v)); }

/* Sizes and CRC32 of everything a dataset feeds to training (the bytes of
 * the in-memory floats and labels). */
static void fp_data(uint64_t *h, const rw_dataset *ds)
{
    fp_u64(h, ds ? 1 : 0);
    if (!ds)
        return;
    fp_u64(h, ds->n);
    fp_u64(h, ds->f);
    fp_u64(h, ds->classes);
    fp_u64(h, ds->targets);
    uint32_t crc = rw_crc32(0, ds->x, ds->n * ds->f * sizeof(float));
    if (ds->labels)
        crc = rw_crc32(crc, ds->labels, ds->n * sizeof(int32_t));
    if (ds->y)
        crc = rw_crc32(crc, ds->y, ds->n * ds->targets * sizeof(float));
    fp_u64(h, crc);
}

/* A hash of everything that shapes a run's trajectory: every setting of
 * the training, optimizer, rewiring, plasticity and consolidation, the
 * full seed, the rehearsal per batch, the class groups, and the training
 * and rehearsal data (sizes and CRC32). A checkpoint is only resumed by a
 * run with the same hash. Left out, as they do not change the result:
 * the test set, the thread count, the checkpoint settings and callbacks. */
static uint64_t fingerprint(const rw_train_config *c, const rw_dataset *train,
                            size_t R, size_t classes)
{
    uint64_t h = 1469598103934665603ULL;
    const rw_optim_config *o = &c->optim;
    const rw_plasticity_config *p = &c->plasticity;
    const rw_consolidation_config *k = &c->consolidation;
    const uint64_t ints[] = {
        c->epochs, c->batch, (uint64_t)o->kind, (uint64_t)o->nesterov,
        (uint64_t)o->adam_global_steps,
        (uint64_t)c->schedule, c->step_epochs, c->seed, (uint64_t)c->rewire,
        c->rewire_every, (uint64_t)c->drop_schedule_cosine,
        (uint64_t)c->drop_by_usage,
        (uint64_t)p->traces, (uint64_t)p->prune, p->prune_every,
        (uint64_t)p->permanence, (uint64_t)p->neuron_turnover,
        p->silent_epochs, (uint64_t)p->regrow_neurons, (uint64_t)k->kind,
        k->fisher_samples, (uint64_t)k->protect_rewiring, R};
    const double reals[] = {
        c->lr, o->momentum, o->beta1, o->beta2, o->eps, o->weight_decay,
        c->lr_min, c->step_gamma, c->clip_grad, c->drop_fraction,
        c->rewire_stop, p->trace_rate, p->prune_to, p->prune_start,
        p->prune_end, p->usage_decay, p->perm_up, p->perm_down,
        p->perm_threshold, p->silent_level, k->lambda, k->gamma, k->si_xi,
        k->protect_strength};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        fp_u64(&h, ints[i]);
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        fp_f64(&h, reals[i]);
    fp_u64(&h, c->class_groups ? classes : 0);
    for (size_t i = 0; c->class_groups && i < classes; i++)
        fp_u64(&h, (uint64_t)(int64_t)c->class_groups[i]);
    fp_data(&h, train);
    fp_data(&h, R ? c->replay : NULL);
    return h;
}

/* The state is a sequence of u64: 16 scalars (version, fingerprint, n,
 * epoch, batch, step, correct, seen, 4 RNG words, 3 doubles, 1 reserved),
 * the per-layer counters, 2 reserved, and the sample order. */
static size_t state_len(size_t n)
{
    return 8 * (16 + STATE_COUNTERS * RW_MAX_LAYERS + 2 + n);
}

static size_t *counter(rw_epoch_stats *es, int which, size_t l)
{
    size_t *arrs[STATE_COUNTERS] = {es->dropped, es->grown, es->pruned,
                                    es->neurons_removed, es->neurons_added};
    return &arrs[which][l];
}

static rw_status write_checkpoint(const rw_net *net, const rw_train_config *cfg,
                                  uint64_t fp, const run_state *rs,
                                  const size_t *order, size_t n, rw_error *err)
{
    size_t len = state_len(n);
    unsigned char *buf = rw_alloc(len, 1, "checkpoint state", err), *p = buf;
    if (!buf)
        return RW_ERR_NOMEM;
    put64(&p, STATE_VERSION);
    put64(&p, fp);
    put64(&p, n);
    put64(&p, rs->epoch);
    put64(&p, rs->batch);
    put64(&p, rs->step);
    put64(&p, rs->correct_sum);
    put64(&p, rs->seen);
    for (int i = 0; i < 4; i++)
        put64(&p, rs->rng.s[i]);
    put64(&p, f64_bits(rs->train_seconds));
    put64(&p, f64_bits(rs->loss_sum));
    put64(&p, f64_bits(rs->es.drop_fraction));
    put64(&p, 0); /* reserved */
    rw_epoch_stats es = rs->es;
    for (int c = 0; c < STATE_COUNTERS; c++)
        for (size_t l = 0; l < RW_MAX_LAYERS; l++)
            put64(&p, (uint64_t)*counter(&es, c, l));
    put64(&p, 0); /* reserved */
    put64(&p, 0); /* reserved */
    for (size_t i = 0; i < n; i++)
        put64(&p, order[i]);
    if ((size_t)(p - buf) != len) {
        rw_free(buf);
        return rw_fail(err, RW_ERR_ARG, "checkpoint: internal size mismatch");
    }
    rw_status st = rw_net_save_with(net, cfg->checkpoint_path, STATE_TAG, buf,
                                    len, err);
    rw_free(buf);
    return st;
}

static rw_status read_checkpoint(const rw_train_config *cfg, uint64_t fp,
                                 run_state *rs, size_t *order, size_t n,
                                 rw_error *err)
{
    const char *path = cfg->resume_path;
    void *raw = NULL;
    size_t len = 0;
    rw_status st = rw_model_read_section(path, STATE_TAG, &raw, &len, err);
    if (st != RW_OK)
        return st == RW_ERR_FORMAT && err && strstr(err->msg, STATE_TAG)
                   ? rw_fail(err, RW_ERR_FORMAT,
                             "%s is a model without training state: pass a "
                             "checkpoint written by --checkpoint", path)
                   : st;
    const unsigned char *p = raw;
    st = RW_OK;
    uint64_t version = len >= 3 * 8 ? get64(&p) : 0;
    if (version != STATE_VERSION) {
        st = rw_fail(err, RW_ERR_FORMAT, "%s: training state version %llu is "
                     "not %u (written by another version of rewire); start "
                     "the run again", path, (unsigned long long)version,
                     STATE_VERSION);
    } else if (get64(&p) != fp) {
        st = rw_fail(err, RW_ERR_ARG,
                     "%s was written by a run with other settings or data; "
                     "resume with the same data and options as that run", path);
    } else if (get64(&p) != n || len != state_len(n)) {
        st = rw_fail(err, RW_ERR_FORMAT, "%s: training state is for another "
                     "number of samples", path);
    } else {
        rs->epoch = get64(&p);
        rs->batch = get64(&p);
        rs->step = get64(&p);
        rs->correct_sum = get64(&p);
        rs->seen = get64(&p);
        for (int i = 0; i < 4; i++)
            rs->rng.s[i] = get64(&p);
        rs->train_seconds = bits_f64(get64(&p));
        rs->loss_sum = bits_f64(get64(&p));
        rs->es.drop_fraction = bits_f64(get64(&p));
        get64(&p);
        for (int c = 0; c < STATE_COUNTERS; c++)
            for (size_t l = 0; l < RW_MAX_LAYERS; l++)
                *counter(&rs->es, c, l) = (size_t)get64(&p);
        get64(&p);
        get64(&p);
        for (size_t i = 0; i < n && st == RW_OK; i++) {
            uint64_t v = get64(&p);
            if (v >= n)
                st = rw_fail(err, RW_ERR_FORMAT, "%s: sample order holds %llu, "
                             "beyond %zu samples", path, (unsigned long long)v, n);
            order[i] = (size_t)v;
        }
        if (st == RW_OK && (rs->epoch > cfg->epochs || !isfinite(rs->loss_sum)))
            st = rw_fail(err, RW_ERR_FORMAT, "%s: training state is inconsistent",
                         path);
    }
    rw_free(raw);
    return st;
}

/* Probe samples for the diagnostics: at most maintain.probe from the
 * start of the training set, fewer when the widest hidden layer would need
 * more than 2^24 activations; the effective rank is left out (NaN) for
 * layers wider than 4096. */
#define DIAG_MAX_ACTS ((size_t)1 << 24)
#define DIAG_MAX_RANK_UNITS 4096

rw_status rw_diagnose_epoch(rw_net *net, const rw_dataset *train,
                                const rw_train_config *cfg, rw_epoch_stats *es,
                                rw_error *err)
{
    for (size_t l = 0; l < RW_MAX_LAYERS; l++)
        es->dormant_fraction[l] = es->effective_rank[l] = es->mean_abs_w[l] = NAN;
    size_t n = cfg->maintain.probe < train->n ? cfg->maintain.probe : train->n;
    if (n == 0 || n > 65536)
        return RW_OK;
    size_t maxo = 1;
    for (size_t l = 0; l < net->n_layers; l++)
        if (net->layers[l].out > maxo)
            maxo = net->layers[l].out;
    if (maxo > DIAG_MAX_ACTS / n)
        n = DIAG_MAX_ACTS / maxo;
    if (n == 0 || maxo > DIAG_MAX_RANK_UNITS) {
        for (size_t l = 0; l < net->n_layers; l++)
            es->mean_abs_w[l] = rw_layer_mean_abs_w(&net->layers[l]);
        return RW_OK;
    }
    rw_diagnostics d;
    rw_status st = rw_net_diagnose(net, train->x, n, cfg->maintain.dormant_tau,
                                   &d, err);
    if (st != RW_OK)
        return st;
    for (size_t l = 0; l < net->n_layers; l++) {
        es->dormant_fraction[l] = d.dormant_fraction[l];
        es->effective_rank[l] = d.effective_rank[l];
        es->mean_abs_w[l] = d.mean_abs_w[l];
    }
    return RW_OK;
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
    rw_status st = rw_net_rewire(net, cfg->rewire, f, rng, rs, err);
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
    /* replay_batch 0 means one rehearsal sample per new one, as in
     * rw_continual (it used to turn rehearsal off without a word). */
    t.R = cfg->replay && cfg->replay->n
              ? (cfg->replay_batch ? cfg->replay_batch : cfg->batch) : 0;
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
        (st = rw_consolidation_begin(net, cfg, err)) != RW_OK ||
        (st = rw_dist_begin(net, err)) != RW_OK ||
        (st = rw_maintain_begin(net, cfg, err)) != RW_OK) {
        trainer_free(&t);
        return st;
    }
    run_state rs;
    memset(&rs, 0, sizeof rs);
    for (size_t i = 0; i < n; i++)
        t.order[i] = i;
    rw_rng_seed(&rs.rng, cfg->seed ^ 0x5eedf00dULL);
    bool resumed = false;
    uint64_t fp = cfg->checkpoint_path || cfg->resume_path
                      ? fingerprint(cfg, train, t.R, C) : 0;
    if (cfg->resume_path) {
        if ((st = read_checkpoint(cfg, fp, &rs, t.order, n, err)) != RW_OK) {
            trainer_free(&t);
            return st;
        }
        resumed = true;
    }
    rw_train_result res;
    memset(&res, 0, sizeof res);
    res.test_loss = res.test_accuracy = NAN;
    res.epochs = (size_t)rs.epoch;

    for (; rs.epoch < cfg->epochs; rs.epoch++) {
        size_t epoch = (size_t)rs.epoch;
        /* A checkpoint taken at an epoch's end resumes before the shuffle. */
        if (!resumed || rs.batch == 0) {
            shuffle(t.order, n, &rs.rng);
            memset(&rs.es, 0, sizeof rs.es);
            rs.batch = 0;
            rs.loss_sum = 0.0;
            rs.correct_sum = rs.seen = 0;
        }
        resumed = false;
        rw_epoch_stats *es = &rs.es;
        es->epoch = epoch + 1;
        double t0 = rw_now(), lr = 0.0, epoch_secs0 = rs.train_seconds;
        for (; rs.batch < batches; rs.batch++, rs.step++) {
            size_t b = (size_t)rs.batch, step = (size_t)rs.step;
            size_t s = b * B, bs = n - s < B ? n - s : B;
            size_t correct = 0, local = 0;
            double loss = 0.0;
            if ((st = shared_pass(net, train, &t, s, bs, cfg, &rs.rng, &loss,
                                  &correct, &local, err)) != RW_OK)
                goto out;
            rw_consolidation_after_gradient(net, cfg);
            rw_plasticity_after_backward(net, cfg, local);
            if ((st = rw_dist_sync_traces(net, err)) != RW_OK)
                goto out;
            rw_consolidation_after_backward(net, cfg);
            rw_maintain_after_backward(net, cfg, local);
            double norm = rw_net_grad_norm(net);
            if (!isfinite(loss) || !isfinite(norm)) {
                int layer = rw_net_find_nonfinite(net);
                char where[32] = "";
                if (layer >= 0)
                    snprintf(where, sizeof where, " in layer %d", layer + 1);
                st = rw_fail(err, RW_ERR_DIVERGED,
                             "training diverged at epoch %zu, step %zu: %s%s is "
                             "not finite%s; try a lower learning rate (--lr) or "
                             "gradient clipping (--clip-grad)",
                             epoch + 1, b + 1,
                             !isfinite(loss) ? "the loss" : "a gradient", where,
                             cfg->checkpoint_path ? " (the last checkpoint is "
                                                    "kept)" : "");
                goto out;
            }
            if (cfg->clip_grad > 0.0 && norm > cfg->clip_grad)
                rw_net_scale_grads(net, (float)(cfg->clip_grad / norm));
            lr = rw_schedule_lr(cfg, epoch, (double)step / (double)total_steps);
            if ((st = rw_net_step(net, &cfg->optim, lr, err)) != RW_OK)
                goto out;
            rw_consolidation_after_step(net, cfg);
            if ((st = rw_plasticity_after_step(net, cfg, step + 1, total_steps,
                                               es, err)) != RW_OK)
                goto out;
            if ((st = rw_maintain_after_step(net, cfg, step + 1, &rs.rng, es,
                                             err)) != RW_OK)
                goto out;
            if (cfg->rewire != RW_REWIRE_NONE && cfg->rewire_every &&
                (step + 1) % cfg->rewire_every == 0 && step + 1 < total_steps &&
                (st = rewire_now(net, cfg, (double)(step + 1) / (double)total_steps,
                                 &rs.rng, es, err)) != RW_OK)
                goto out;
            rs.loss_sum += loss * (double)(bs + t.R);
            rs.correct_sum += correct;
            rs.seen += bs + t.R;
            double el = rw_now() - t0;
            if (cfg->on_progress) {
                rw_progress p = {epoch + 1, cfg->epochs, b + 1, batches,
                                 rs.loss_sum / (double)rs.seen,
                                 (double)rs.correct_sum / (double)rs.seen,
                                 el > 0 ? (double)(bs + t.R) * (double)(b + 1) / el
                                        : 0.0,
                                 el};
                if (cfg->on_progress(&p, cfg->user)) {
                    st = rw_fail(err, RW_ERR_INTERRUPTED,
                                 "training stopped at epoch %zu", epoch + 1);
                    goto out;
                }
            }
            if (cfg->checkpoint_path && rw_dist_root() && cfg->checkpoint_every &&
                (step + 1) % cfg->checkpoint_every == 0 && b + 1 < batches) {
                run_state snap = rs;
                snap.batch++;
                snap.step++;
                snap.train_seconds = epoch_secs0 + (rw_now() - t0);
                if ((st = write_checkpoint(net, cfg, fp, &snap, t.order, n, err)) != RW_OK)
                    goto out;
            }
        }
        /* Per-epoch rewiring (the default), never after the last epoch. */
        if (cfg->rewire != RW_REWIRE_NONE && !cfg->rewire_every &&
            epoch + 1 < cfg->epochs &&
            rw_schedule_drop(cfg, (double)(epoch + 1) / (double)cfg->epochs) > 0.0) {
            if (cfg->rewire == RW_REWIRE_RIGL) {
                /* Fresh gradients on one random batch. */
                shuffle(t.order, n, &rs.rng);
                size_t dummy, local;
                double l0;
                if ((st = shared_pass(net, train, &t, 0, B, cfg, &rs.rng, &l0,
                                      &dummy, &local, err)) != RW_OK)
                    goto out;
            }
            if ((st = rewire_now(net, cfg, (double)(epoch + 1) / (double)cfg->epochs,
                                 &rs.rng, es, err)) != RW_OK)
                goto out;
        }
        if ((st = rw_plasticity_epoch_end(net, cfg, epoch, &rs.rng, es, err)) != RW_OK ||
            (st = rw_dist_check(net, "at the end of an epoch", err)) != RW_OK)
            goto out;
        double secs = rw_now() - t0;
        rs.train_seconds = epoch_secs0 + secs;
        es->seconds = secs;
        es->lr = lr;
        es->train_loss = rs.loss_sum / (double)rs.seen;
        es->train_accuracy = (double)rs.correct_sum / (double)rs.seen;
        es->test_loss = es->test_accuracy = NAN;
        if (test) {
            rw_eval_result ev;
            if ((st = rw_net_evaluate(net, test, &ev, NULL, err)) != RW_OK)
                goto out;
            es->test_loss = ev.loss;
            es->test_accuracy =
                net->cfg.loss == RW_LOSS_CROSS_ENTROPY ? ev.accuracy : NAN;
            /* Task-incremental: a sample's prediction is the best class of
             * its own task, as in training. */
            if (cfg->class_groups &&
                (st = rw_continual_accuracy(net, test, cfg->class_groups,
                                            &es->test_accuracy, err)) != RW_OK)
                goto out;
        }
        fill_topology_stats(net, es);
        if ((st = rw_diagnose_epoch(net, train, cfg, es, err)) != RW_OK)
            goto out;
        res.epochs = epoch + 1;
        res.final_train_loss = es->train_loss;
        res.final_train_accuracy = es->train_accuracy;
        res.test_loss = es->test_loss;
        res.test_accuracy = es->test_accuracy;
        res.train_seconds = rs.train_seconds;
        res.samples_per_second = rs.train_seconds > 0
            ? (double)((n + t.R * batches) * (epoch + 1)) / rs.train_seconds : 0.0;
        if (result)
            *result = res;
        /* The epoch is reported before its checkpoint: a run killed in
         * between repeats the epoch's log line on resume, never loses it. */
        if (cfg->on_epoch && cfg->on_epoch(es, cfg->user)) {
            st = rw_fail(err, RW_ERR_INTERRUPTED, "training stopped after epoch %zu",
                         epoch + 1);
            goto out;
        }
        if (cfg->checkpoint_path && rw_dist_root()) {
            run_state snap = rs;
            snap.epoch++;
            snap.batch = 0;
            if ((st = write_checkpoint(net, cfg, fp, &snap, t.order, n, err)) != RW_OK)
                goto out;
        }
    }
    if (result)
        *result = res;
out:
    trainer_free(&t);
    return st;
}
