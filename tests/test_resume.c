/* Checkpoint and resume (src/learn/train.c, src/io/checkpoint.c): a run interrupted mid-epoch and
 * resumed from its last checkpoint ends with exactly the model of the
 * uninterrupted run (the saved files are compared byte for byte), for
 * Adam with SET, RigL (rewiring every few steps) and Hebbian growth,
 * pruning with neuron turnover and regrowth, rehearsal, maintenance (CBP
 * and ReDo replacing units before and after the checkpoint, L2 Init),
 * SET's usage-aware drop, and 2 threads; with maintenance the epochs'
 * counts of units reset agree too, and (but for ReDo, which keeps no
 * state between batches) the same checkpoint with the maintenance state
 * of a fresh start resumes to another model, so the MNTS section is what
 * makes the runs agree.
 * And the checkpoint's fingerprint refuses a resume whose data (one value
 * changed, same sample count) or trajectory settings differ: the trace
 * rate, permanence, the silent-neuron and regrowth settings, the
 * consolidation settings, the maintenance settings, and seeds that are
 * equal as doubles; a resume that needs the maintenance state of a
 * checkpoint without it is refused with a clear message. */
#include "check.h"
#include "internal.h"

#include <string.h>
#include <unistd.h>

typedef struct setup {
    const char *name;
    rw_rewire_kind rewire;
    size_t rewire_every;
    rw_optim_kind optim;
    int prune_turnover; /* magnitude pruning, turnover and regrowth */
    int replay;
    int threads;
    size_t features, hidden, n, batch;
    rw_maintain_kind maintain;
    int drop_by_usage;
} setup;

static rw_dataset *make_data(size_t n, size_t f, uint64_t seed)
{
    rw_rng rng;
    rw_rng_seed(&rng, seed);
    float *x = malloc(n * f * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    for (size_t j = 0; j < n; j++) {
        y[j] = (int32_t)(j % 3);
        for (size_t i = 0; i < f; i++)
            x[j * f + i] = (float)(rw_rng_normal(&rng) + 1.5 * (i % 3 == (size_t)y[j]));
    }
    rw_error err;
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, n, f, 0, 3, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    free(x);
    free(y);
    return ds;
}

static rw_net *make_net(const setup *s)
{
    rw_error err;
    rw_net_config cfg;
    size_t h[2] = {s->hidden, s->hidden / 2};
    CHECK_OK(rw_net_config_mlp(&cfg, s->features, h, 2, 3, RW_ACT_RELU,
                               RW_LOSS_CROSS_ENTROPY, &err), &err);
    cfg.seed = 7;
    CHECK_OK(rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, 0.3, 0, &err), &err);
    rw_net *net = rw_net_create(&cfg, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    return net;
}

static rw_train_config make_config(const setup *s, const rw_dataset *replay)
{
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 4;
    tc.batch = s->batch;
    tc.optim = rw_optim_defaults(s->optim);
    tc.lr = s->optim == RW_OPT_ADAM ? 0.003 : 0.02;
    tc.seed = 11;
    tc.rewire = s->rewire;
    tc.rewire_every = s->rewire_every;
    tc.drop_fraction = 0.2;
    if (s->prune_turnover) {
        tc.plasticity.prune = RW_PRUNE_MAGNITUDE;
        tc.plasticity.prune_to = 0.1;
        tc.plasticity.prune_every = 5;
        tc.plasticity.neuron_turnover = 1;
        tc.plasticity.silent_epochs = 1;
        tc.plasticity.silent_level = 0.05;
        tc.plasticity.regrow_neurons = 1;
    }
    if (s->maintain != RW_MAINTAIN_NONE) {
        /* Replacements early and often: before and after the checkpoint. */
        tc.maintain.kind = s->maintain;
        tc.maintain.cbp_maturity = 5;
        tc.maintain.cbp_rho = 0.05;
        tc.maintain.redo_every = 3;
        tc.maintain.redo_tau = 0.5;
        tc.maintain.l2_lambda = 0.01;
    }
    tc.drop_by_usage = s->drop_by_usage;
    if (replay) {
        tc.replay = replay;
        tc.replay_batch = s->batch / 2;
    }
    return tc;
}

/* Stops the run once `stop_at` steps have been reported. */
typedef struct stopper {
    size_t seen, stop_at;
} stopper;

static int stop_after(const rw_progress *p, void *user)
{
    (void)p;
    stopper *st = user;
    return ++st->seen >= st->stop_at;
}

/* What the epochs reported: the neurons removed and added, and the units
 * maintenance reset in each epoch. */
typedef struct epoch_log {
    size_t turnover;
    size_t reset[8]; /* by 1-based epoch */
} epoch_log;

static int log_epoch(const rw_epoch_stats *es, void *user)
{
    epoch_log *g = user;
    for (size_t l = 0; l < RW_MAX_LAYERS; l++) {
        g->turnover += es->neurons_removed[l] + es->neurons_added[l];
        if (es->epoch < 8)
            g->reset[es->epoch] += es->units_reset[l];
    }
    return 0;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len ? *len : 1);
    if (fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static void path_of(char *buf, size_t n, const char *what)
{
    snprintf(buf, n, "%s/resume_%s.rwm", RW_TMPDIR, what);
}

/* The checkpoint ck rewritten with the maintenance state of a fresh start
 * (rw_maintain_begin on the loaded network: ages and utilities 0, the
 * anchor at the checkpoint's weights, no input usage yet) and the same
 * run state: resumed, it must not give the uninterrupted run's model
 * `full` (fl bytes), or the test could not tell a lost state. */
static void check_fresh_state_differs(const setup *s, const rw_dataset *ds,
                                      const rw_train_config *tr, const char *ck,
                                      const unsigned char *full, size_t fl)
{
    rw_error err;
    char fresh[256], out[256];
    path_of(fresh, sizeof fresh, "fresh");
    path_of(out, sizeof out, "fresh_out");
    rw_net *kept = rw_net_load(ck, &err), *bare = rw_net_load(ck, &err);
    CHECK_MSG(kept && bare, "%s", err.msg);
    if (!kept || !bare)
        return;
    rw_train_config tf = *tr;
    tf.resume_path = ck;
    CHECK_OK(rw_maintain_begin(kept, &tf, &err), &err);
    CHECK_OK(rw_maintain_begin(bare, &tf, &err), &err);
    rw_maint_view mk, mb;
    rw_maintain_view(kept, &tf, &mk);
    rw_maintain_view(bare, &tf, &mb);
    rw_run_state rs;
    memset(&rs, 0, sizeof rs);
    size_t *order = malloc(ds->n * sizeof *order);
    uint64_t fp = rw_checkpoint_fingerprint(&tf, ds, 0, 3);
    CHECK_OK(rw_checkpoint_read(&tf, fp, kept, &mk, &rs, order, ds->n, &err),
             &err);
    tf.checkpoint_path = fresh;
    CHECK_OK(rw_checkpoint_write(bare, &tf, fp, &rs, &mb, order, ds->n, &err),
             &err);
    rw_net *f = rw_net_load(fresh, &err);
    CHECK_MSG(f != NULL, "%s", err.msg);
    tf.checkpoint_path = NULL;
    tf.resume_path = fresh;
    if (f) {
        CHECK_OK(rw_train(f, ds, NULL, &tf, NULL, &err), &err);
        CHECK_OK(rw_net_save(f, out, &err), &err);
    }
    size_t lo = 0;
    unsigned char *fo = slurp(out, &lo);
    CHECK_MSG(fo && !(lo == fl && !memcmp(fo, full, fl)),
              "%s: a fresh maintenance state resumes to the same model", s->name);
    free(fo);
    free(order);
    rw_net_free(f);
    rw_net_free(kept);
    rw_net_free(bare);
    remove(fresh);
    remove(out);
}

static void test_bit_exact(const setup *s)
{
    rw_set_threads(s->threads);
    rw_error err;
    rw_dataset *ds = make_data(s->n, s->features, 3);
    rw_dataset *mem = s->replay ? make_data(60, s->features, 4) : NULL;
    rw_train_config tc = make_config(s, mem);
    char full[256], ck[256], resumed[256];
    path_of(full, sizeof full, "full");
    path_of(ck, sizeof ck, "ck");
    path_of(resumed, sizeof resumed, "resumed");
    remove(ck);

    rw_net *a = make_net(s);
    epoch_log full_log = {0}, res_log = {0};
    rw_train_config ta = tc;
    ta.on_epoch = log_epoch;
    ta.user = &full_log;
    CHECK_OK(rw_train(a, ds, NULL, &ta, NULL, &err), &err);
    if (s->prune_turnover)
        CHECK_MSG(full_log.turnover > 0, "%s: no neuron turnover", s->name);
    /* Units replaced before the checkpoint (epoch 1) and after it. */
    if (s->maintain == RW_MAINTAIN_CBP || s->maintain == RW_MAINTAIN_REDO)
        CHECK_MSG(full_log.reset[1] > 0 && full_log.reset[3] + full_log.reset[4] > 0,
                  "%s: units reset by epoch: %zu %zu %zu %zu", s->name,
                  full_log.reset[1], full_log.reset[2], full_log.reset[3],
                  full_log.reset[4]);
    CHECK_OK(rw_net_save(a, full, &err), &err);

    /* Interrupted in the second epoch, between two checkpoints. */
    size_t batches = (s->n + s->batch - 1) / s->batch;
    rw_train_config tb = tc;
    stopper stop = {0, batches + batches / 2 + 2};
    tb.checkpoint_path = ck;
    tb.checkpoint_every = 4;
    tb.on_progress = stop_after;
    tb.user = &stop;
    rw_net *b = make_net(s);
    CHECK(rw_train(b, ds, NULL, &tb, NULL, &err) == RW_ERR_INTERRUPTED);
    rw_net_free(b);

    /* The interrupted run's checkpoint, kept: the resumed run writes over ck. */
    char mid[256];
    path_of(mid, sizeof mid, "mid");
    size_t lm = 0;
    unsigned char *fm = slurp(ck, &lm);
    CHECK(fm != NULL);
    FILE *fmid = fopen(mid, "wb");
    CHECK(fmid && fm && fwrite(fm, 1, lm, fmid) == lm);
    if (fmid)
        fclose(fmid);
    free(fm);
    rw_net *c = rw_net_load(ck, &err);
    CHECK_MSG(c != NULL, "%s: %s", s->name, err.msg);
    rw_train_config tr = tc;
    tr.checkpoint_path = ck;
    tr.checkpoint_every = 4;
    tr.resume_path = ck;
    rw_train_config tl = tr;
    tl.on_epoch = log_epoch;
    tl.user = &res_log;
    if (c) {
        CHECK_OK(rw_train(c, ds, NULL, &tl, NULL, &err), &err);
        CHECK_OK(rw_net_save(c, resumed, &err), &err);
    }
    size_t la = 0, lc = 0;
    unsigned char *fa = slurp(full, &la), *fc = slurp(resumed, &lc);
    CHECK_MSG(fa && fc && la == lc && !memcmp(fa, fc, la),
              "%s: the resumed run differs from the uninterrupted one", s->name);
    /* The resumed epochs (the second one from its middle) count the same
     * units reset. */
    for (int e = 2; e <= 4; e++)
        CHECK_MSG(res_log.reset[e] == full_log.reset[e],
                  "%s: epoch %d reset %zu units, uninterrupted %zu", s->name, e,
                  res_log.reset[e], full_log.reset[e]);
    /* ReDo reads only the batch at hand (its counts of units reset are
     * checked above). */
    if ((s->maintain != RW_MAINTAIN_NONE && s->maintain != RW_MAINTAIN_REDO) ||
        s->drop_by_usage)
        check_fresh_state_differs(s, ds, &tr, mid, fa, la);
    remove(mid);
    /* The run did something worth checking. */
    if (s->rewire != RW_REWIRE_NONE || s->prune_turnover)
        CHECK(rw_net_initial_share(a, 0) < 1.0);
    if (s->prune_turnover)
        CHECK_MSG(a->layers[0].nw < (size_t)(0.2 * s->features * s->hidden),
                  "%s: pruning did not prune", s->name);
    printf("%s: %zu bytes, identical\n", s->name, la);
    free(fa);
    free(fc);
    rw_net_free(c);
    rw_net_free(a);
    rw_dataset_free(mem);
    rw_dataset_free(ds);
    remove(full);
    remove(resumed);
    remove(ck);
}

/* Resuming with anything that changes the trajectory is refused. */
static void test_fingerprint(void)
{
    rw_set_threads(1);
    static const setup s = {"fingerprint", RW_REWIRE_SET, 0, RW_OPT_ADAM, 0, 0,
                            1, 12, 32, 120, 16, RW_MAINTAIN_NONE, 0};
    rw_error err;
    rw_dataset *ds = make_data(s.n, s.features, 5);
    rw_train_config tc = make_config(&s, NULL);
    tc.seed = (1ULL << 60) + 1;
    char ck[256];
    path_of(ck, sizeof ck, "fp");
    tc.checkpoint_path = ck;
    rw_net *net = make_net(&s);
    tc.epochs = 4;
    stopper stop = {0, 10};
    tc.on_progress = stop_after;
    tc.user = &stop;
    /* Epoch checkpoints: stop in the second epoch, after the first. */
    CHECK(rw_train(net, ds, NULL, &tc, NULL, &err) == RW_ERR_INTERRUPTED);
    rw_net_free(net);
    tc.on_progress = NULL;
    tc.resume_path = ck;
    tc.checkpoint_path = NULL; /* keep the checkpoint as it is */

    /* The same run resumes. */
    rw_net *r = rw_net_load(ck, &err);
    CHECK_OK(rw_train(r, ds, NULL, &tc, NULL, &err), &err);
    rw_net_free(r);

    struct variant {
        const char *what;
        rw_train_config c;
        const rw_dataset *data;
    } v[12];
    size_t nv = 0;
    rw_dataset *other = make_data(s.n, s.features, 5);
    other->x[17] += 0.25f; /* one value, same sample count */
    rw_dataset *relabel = make_data(s.n, s.features, 5);
    relabel->labels[3] = (relabel->labels[3] + 1) % 3;
#define VARIANT(name, field, value)                                           \
    do {                                                                      \
        v[nv].what = name;                                                    \
        v[nv].c = tc;                                                         \
        v[nv].c.field = value;                                                \
        v[nv].data = ds;                                                      \
        nv++;                                                                 \
    } while (0)
    VARIANT("seed equal as a double", seed, (1ULL << 60) + 2);
    VARIANT("trace rate", plasticity.trace_rate, 0.02);
    VARIANT("permanence", plasticity.permanence, 1);
    VARIANT("permanence threshold", plasticity.perm_threshold, 0.2);
    VARIANT("silent level", plasticity.silent_level, 0.01);
    VARIANT("silent epochs", plasticity.silent_epochs, 3);
    VARIANT("regrowth", plasticity.regrow_neurons, 1);
    VARIANT("traces", plasticity.traces, 1);
    VARIANT("protect strength", consolidation.protect_strength, 3.0);
    v[nv].what = "data";
    v[nv].c = tc;
    v[nv++].data = other;
    v[nv].what = "labels";
    v[nv].c = tc;
    v[nv++].data = relabel;
    for (size_t i = 0; i < nv; i++) {
        rw_net *n2 = rw_net_load(ck, &err);
        CHECK(n2 != NULL);
        rw_status st = rw_train(n2, v[i].data, NULL, &v[i].c, NULL, &err);
        CHECK_MSG(st == RW_ERR_ARG && strstr(err.msg, "other settings or data"),
                  "resume with another %s: status %d, %s", v[i].what, (int)st,
                  st == RW_OK ? "accepted" : err.msg);
        rw_net_free(n2);
    }
    /* Consolidation state is not in a checkpoint: resuming is refused. */
    rw_train_config cc = tc;
    cc.consolidation.kind = RW_CONSOLIDATE_SI;
    rw_net *n3 = rw_net_load(ck, &err);
    CHECK(rw_train(n3, ds, NULL, &cc, NULL, &err) == RW_ERR_UNSUPPORTED);
    rw_net_free(n3);
    rw_dataset_free(other);
    rw_dataset_free(relabel);
    rw_dataset_free(ds);
    remove(ck);
}

/* With maintenance: its settings are in the fingerprint, and a resume
 * that needs the maintenance state refuses a checkpoint without it. */
static void test_fingerprint_maint(void)
{
    rw_set_threads(1);
    static const setup s = {"fingerprint, CBP", RW_REWIRE_SET, 0, RW_OPT_ADAM,
                            0, 0, 1, 12, 32, 120, 16, RW_MAINTAIN_CBP, 1};
    rw_error err;
    rw_dataset *ds = make_data(s.n, s.features, 5);
    rw_train_config tc = make_config(&s, NULL);
    char ck[256], plain[256];
    path_of(ck, sizeof ck, "fp_maint");
    path_of(plain, sizeof plain, "fp_plain");
    stopper stop = {0, 10};
    tc.on_progress = stop_after;
    tc.user = &stop;
    tc.checkpoint_path = ck;
    rw_net *net = make_net(&s);
    CHECK(rw_train(net, ds, NULL, &tc, NULL, &err) == RW_ERR_INTERRUPTED);
    rw_net_free(net);
    rw_train_config pc = make_config(&s, NULL);
    pc.maintain.kind = RW_MAINTAIN_NONE;
    pc.drop_by_usage = 0;
    pc.checkpoint_path = plain;
    pc.on_progress = stop_after;
    stop.seen = 0;
    pc.user = &stop;
    net = make_net(&s);
    CHECK(rw_train(net, ds, NULL, &pc, NULL, &err) == RW_ERR_INTERRUPTED);
    rw_net_free(net);
    tc.on_progress = NULL;
    tc.resume_path = ck;
    tc.checkpoint_path = NULL;

    rw_net *r = rw_net_load(ck, &err);
    CHECK_OK(rw_train(r, ds, NULL, &tc, NULL, &err), &err);
    rw_net_free(r);

    struct variant {
        const char *what;
        rw_train_config c;
    } v[8];
    size_t nv = 0;
#define MVARIANT(name, field, value)                                          \
    do {                                                                      \
        v[nv].what = name;                                                    \
        v[nv].c = tc;                                                         \
        v[nv].c.field = value;                                                \
        nv++;                                                                 \
    } while (0)
    MVARIANT("method", maintain.kind, RW_MAINTAIN_L2INIT);
    MVARIANT("CBP rate", maintain.cbp_rho, 0.06);
    MVARIANT("CBP maturity", maintain.cbp_maturity, 6);
    MVARIANT("CBP decay", maintain.cbp_eta, 0.9);
    MVARIANT("CBP utility", maintain.cbp_adaptable, 1);
    MVARIANT("usage-aware drop", drop_by_usage, 0);
    for (size_t i = 0; i < nv; i++) {
        rw_net *n2 = rw_net_load(ck, &err);
        CHECK(n2 != NULL);
        rw_status st = rw_train(n2, ds, NULL, &v[i].c, NULL, &err);
        CHECK_MSG(st == RW_ERR_ARG && strstr(err.msg, "other settings or data"),
                  "resume with another %s: status %d, %s", v[i].what, (int)st,
                  st == RW_OK ? "accepted" : err.msg);
        rw_net_free(n2);
    }
    /* A checkpoint of a run without maintenance (or one from before the
     * MNTS section) cannot resume a run that needs its state. */
    rw_train_config needs[2] = {pc, pc};
    needs[0].maintain.kind = RW_MAINTAIN_CBP;
    needs[1].drop_by_usage = 1;
    for (int i = 0; i < 2; i++) {
        needs[i].on_progress = NULL;
        needs[i].checkpoint_path = NULL;
        needs[i].resume_path = plain;
        rw_net *n2 = rw_net_load(plain, &err);
        CHECK(n2 != NULL);
        rw_status st = rw_train(n2, ds, NULL, &needs[i], NULL, &err);
        CHECK_MSG(st == RW_ERR_FORMAT && strstr(err.msg, plain) &&
                  strstr(err.msg, "holds no maintenance state"),
                  "resume %d without the state: status %d, %s", i, (int)st,
                  st == RW_OK ? "accepted" : err.msg);
        rw_net_free(n2);
    }
    /* The plain checkpoint resumes its own run. */
    pc.on_progress = NULL;
    pc.checkpoint_path = NULL;
    pc.resume_path = plain;
    r = rw_net_load(plain, &err);
    CHECK_OK(rw_train(r, ds, NULL, &pc, NULL, &err), &err);
    rw_net_free(r);
    rw_dataset_free(ds);
    remove(ck);
    remove(plain);
}

/* A checkpoint that cannot be written is refused before the first step,
 * not an epoch later, and leaves the network as it was. */
static void test_unwritable(void)
{
    rw_set_threads(1);
    static const setup s = {"unwritable", RW_REWIRE_SET, 0, RW_OPT_ADAM, 0, 0,
                            1, 12, 32, 120, 16, RW_MAINTAIN_NONE, 0};
    rw_error err;
    rw_dataset *ds = make_data(s.n, s.features, 5);
    rw_train_config tc = make_config(&s, NULL);
    char ck[256];
    snprintf(ck, sizeof ck, "%s/no_such_folder/ck.rwm", RW_TMPDIR);
    tc.checkpoint_path = ck;
    stopper stop = {0, 1000};
    tc.on_progress = stop_after;
    tc.user = &stop;
    rw_net *net = make_net(&s);
    float w0 = net->layers[0].w[0];
    CHECK(rw_train(net, ds, NULL, &tc, NULL, &err) == RW_ERR_IO);
    CHECK(strstr(err.msg, ck) && strstr(err.msg, "checked before training"));
    CHECK(stop.seen == 0);
    CHECK(net->layers[0].w[0] == w0);
    tc.checkpoint_path = RW_TMPDIR; /* a folder */
    CHECK(rw_train(net, ds, NULL, &tc, NULL, &err) == RW_ERR_IO);
    CHECK(strstr(err.msg, "is a folder: expected a file name"));
    CHECK(stop.seen == 0);
    rw_net_free(net);
    rw_dataset_free(ds);
    /* The probe itself: it leaves nothing behind where it succeeds. */
    char ok[256], left[300];
    snprintf(ok, sizeof ok, "%s/probe_ok.rwm", RW_TMPDIR);
    snprintf(left, sizeof left, "%s.tmp.%ld", ok, (long)getpid());
    CHECK(rw_check_writable(ok, "model", &err) == RW_OK);
    CHECK(access(ok, F_OK) != 0 && access(left, F_OK) != 0);
    CHECK(rw_check_writable("", "model", &err) == RW_ERR_ARG);
    CHECK(strstr(err.msg, "the model path is empty"));
    CHECK(rw_check_writable(ck, "model", &err) == RW_ERR_IO);
    CHECK(strstr(err.msg, ck) && strstr(err.msg, "No such file"));
}

int main(void)
{
    static const setup setups[] = {
        {"SET + Adam", RW_REWIRE_SET, 0, RW_OPT_ADAM, 0, 0, 1, 12, 32, 150, 16, RW_MAINTAIN_NONE, 0},
        {"RigL every 5 steps + Adam", RW_REWIRE_RIGL, 5, RW_OPT_ADAM, 0, 0, 1, 12,
         32, 150, 16, RW_MAINTAIN_NONE, 0},
        {"Hebbian + Adam", RW_REWIRE_HEBBIAN, 0, RW_OPT_ADAM, 0, 0, 1, 12, 32, 150,
         16, RW_MAINTAIN_NONE, 0},
        {"pruning, turnover, regrowth", RW_REWIRE_NONE, 0, RW_OPT_MOMENTUM, 1, 0, 1,
         12, 32, 150, 16, RW_MAINTAIN_NONE, 0},
        {"pruning, turnover, regrowth + Adam, SET", RW_REWIRE_SET, 0, RW_OPT_ADAM,
         1, 0, 1, 12, 32, 150, 16, RW_MAINTAIN_NONE, 0},
        {"rehearsal + SET", RW_REWIRE_SET, 0, RW_OPT_ADAM, 0, 1, 1, 12, 32, 150,
         16, RW_MAINTAIN_NONE, 0},
        {"RigL every 5 steps + Adam, 2 threads", RW_REWIRE_RIGL, 5, RW_OPT_ADAM, 0,
         0, 2, 64, 256, 640, 64, RW_MAINTAIN_NONE, 0},
        {"CBP + SET", RW_REWIRE_SET, 0, RW_OPT_ADAM, 0, 0, 1, 12, 32, 150, 16,
         RW_MAINTAIN_CBP, 0},
        {"ReDo + momentum", RW_REWIRE_NONE, 0, RW_OPT_MOMENTUM, 0, 0, 1, 12, 32,
         150, 16, RW_MAINTAIN_REDO, 0},
        {"L2 Init + SET", RW_REWIRE_SET, 0, RW_OPT_ADAM, 0, 0, 1, 12, 32, 150, 16,
         RW_MAINTAIN_L2INIT, 0},
        {"drop by usage + SET", RW_REWIRE_SET, 0, RW_OPT_ADAM, 0, 0, 1, 12, 32,
         150, 16, RW_MAINTAIN_NONE, 1},
        {"CBP, drop by usage + SET every 5 steps, 2 threads", RW_REWIRE_SET, 5,
         RW_OPT_ADAM, 0, 0, 2, 64, 256, 640, 64, RW_MAINTAIN_CBP, 1},
    };
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++)
        test_bit_exact(&setups[i]);
    test_fingerprint();
    test_fingerprint_maint();
    test_unwritable();
    TEST_MAIN_END();
}
