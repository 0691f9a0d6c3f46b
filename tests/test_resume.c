/* Checkpoint and resume (src/learn/train.c, src/io/checkpoint.c): a run interrupted mid-epoch and
 * resumed from its last checkpoint ends with exactly the model of the
 * uninterrupted run (the saved files are compared byte for byte), for
 * Adam with SET, RigL (rewiring every few steps) and Hebbian growth,
 * pruning with neuron turnover and regrowth, rehearsal, and 2 threads.
 * And the checkpoint's fingerprint refuses a resume whose data (one value
 * changed, same sample count) or trajectory settings differ: the trace
 * rate, permanence, the silent-neuron and regrowth settings, the
 * consolidation settings, and seeds that are equal as doubles. */
#include "check.h"
#include "internal.h"

#include <string.h>

typedef struct setup {
    const char *name;
    rw_rewire_kind rewire;
    size_t rewire_every;
    rw_optim_kind optim;
    int prune_turnover; /* magnitude pruning, turnover and regrowth */
    int replay;
    int threads;
    size_t features, hidden, n, batch;
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

/* Sums the neurons removed and added over the epochs. */
static int count_turnover(const rw_epoch_stats *es, void *user)
{
    size_t *n = user;
    for (size_t l = 0; l < RW_MAX_LAYERS; l++)
        *n += es->neurons_removed[l] + es->neurons_added[l];
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
    size_t turnover = 0;
    rw_train_config ta = tc;
    ta.on_epoch = count_turnover;
    ta.user = &turnover;
    CHECK_OK(rw_train(a, ds, NULL, &ta, NULL, &err), &err);
    if (s->prune_turnover)
        CHECK_MSG(turnover > 0, "%s: no neuron turnover", s->name);
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

    rw_net *c = rw_net_load(ck, &err);
    CHECK_MSG(c != NULL, "%s: %s", s->name, err.msg);
    rw_train_config tr = tc;
    tr.checkpoint_path = ck;
    tr.checkpoint_every = 4;
    tr.resume_path = ck;
    if (c) {
        CHECK_OK(rw_train(c, ds, NULL, &tr, NULL, &err), &err);
        CHECK_OK(rw_net_save(c, resumed, &err), &err);
    }
    size_t la = 0, lc = 0;
    unsigned char *fa = slurp(full, &la), *fc = slurp(resumed, &lc);
    CHECK_MSG(fa && fc && la == lc && !memcmp(fa, fc, la),
              "%s: the resumed run differs from the uninterrupted one", s->name);
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
                            1, 12, 32, 120, 16};
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

int main(void)
{
    static const setup setups[] = {
        {"SET + Adam", RW_REWIRE_SET, 0, RW_OPT_ADAM, 0, 0, 1, 12, 32, 150, 16},
        {"RigL every 5 steps + Adam", RW_REWIRE_RIGL, 5, RW_OPT_ADAM, 0, 0, 1, 12,
         32, 150, 16},
        {"Hebbian + Adam", RW_REWIRE_HEBBIAN, 0, RW_OPT_ADAM, 0, 0, 1, 12, 32, 150,
         16},
        {"pruning, turnover, regrowth", RW_REWIRE_NONE, 0, RW_OPT_MOMENTUM, 1, 0, 1,
         12, 32, 150, 16},
        {"pruning, turnover, regrowth + Adam, SET", RW_REWIRE_SET, 0, RW_OPT_ADAM,
         1, 0, 1, 12, 32, 150, 16},
        {"rehearsal + SET", RW_REWIRE_SET, 0, RW_OPT_ADAM, 0, 1, 1, 12, 32, 150,
         16},
        {"RigL every 5 steps + Adam, 2 threads", RW_REWIRE_RIGL, 5, RW_OPT_ADAM, 0,
         0, 2, 64, 256, 640, 64},
    };
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++)
        test_bit_exact(&setups[i]);
    test_fingerprint();
    TEST_MAIN_END();
}
