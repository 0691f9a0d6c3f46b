/* The training checkpoint: a model file (model_file.c) with one more
 * section, TRST, holding the run's state (rw_run_state: position, RNG,
 * running sums, the epoch's counters) and the sample order, and the
 * fingerprint that ties it to the settings and data of its run. The
 * training loop (learn/train.c) decides when to write one. */
#include "io/io.h"
#include "base/bytes.h"

#include <math.h>
#include <string.h>


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
uint64_t rw_checkpoint_fingerprint(const rw_train_config *c,
                                   const rw_dataset *train, size_t R,
                                   size_t classes)
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

rw_status rw_checkpoint_write(const rw_net *net, const rw_train_config *cfg,
                              uint64_t fp, const rw_run_state *rs,
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

rw_status rw_checkpoint_read(const rw_train_config *cfg, uint64_t fp,
                             rw_run_state *rs, size_t *order, size_t n,
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
