/* The data-parallel layer in one process (every build): without mpirun
 * there is one rank, nothing communicates, and training gives exactly the
 * result it gives without rw_dist_init. The multi-rank behaviour is
 * tests/mpi_train.sh, run under mpirun when MPI support is built. */
#include "check.h"
#include "dist/dist.h"

#include <rewire.h>
#include <string.h>

static rw_net *spiral_net(const rw_dataset *train, rw_error *err)
{
    rw_net_config cfg;
    size_t hidden[] = {32, 32};
    if (rw_net_config_mlp(&cfg, rw_dataset_features(train), hidden, 2,
                          rw_dataset_classes(train), RW_ACT_RELU,
                          RW_LOSS_CROSS_ENTROPY, err) != RW_OK ||
        rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, 0.5, 0, err) != RW_OK)
        return NULL;
    cfg.seed = 7;
    return rw_net_create(&cfg, err);
}

static double train_once(const rw_dataset *train, rw_error *err)
{
    rw_net *net = spiral_net(train, err);
    CHECK(net != NULL);
    if (!net)
        return -1.0;
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 3;
    tc.batch = 50;
    tc.rewire = RW_REWIRE_RIGL;
    tc.rewire_every = 10;
    rw_train_result res;
    CHECK(rw_train(net, train, NULL, &tc, &res, err) == RW_OK);
    rw_net_free(net);
    return res.final_train_loss;
}

/* Every parameter of the fused order, or its moments (which = 1, 2: m1,
 * m2), copied out: each layer's weights, then its biases. */
static size_t flat(const rw_net *net, int which, float *out)
{
    size_t n = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        const float *w = which == 0 ? L->w : which == 1 ? L->m1 : L->m2;
        const float *b = which == 0 ? L->b : which == 1 ? L->bm1 : L->bm2;
        for (size_t k = 0; k < L->nw; k++)
            out[n++] = w[k];
        for (size_t o = 0; o < L->out; o++)
            out[n++] = b[o];
    }
    return n;
}

/* rw_net_step_range on every [lo, hi) of a small dense + sparse network:
 * inside the range the weights and moments are the whole step's bit for
 * bit, outside they are untouched. (A range ending inside a layer once
 * updated that layer's biases too.) */
static void test_step_range(void)
{
    rw_error err;
    rw_net_config cfg;
    size_t hidden[] = {4};
    CHECK(rw_net_config_mlp(&cfg, 3, hidden, 1, 2, RW_ACT_RELU,
                            RW_LOSS_CROSS_ENTROPY, &err) == RW_OK);
    CHECK(rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, 0.5, 0, &err) == RW_OK);
    cfg.seed = 5;
    rw_net *base = rw_net_create(&cfg, &err);
    CHECK_MSG(base != NULL, "%s", err.msg);
    if (!base)
        return;
    rw_optim_config opt = rw_optim_defaults(RW_OPT_ADAMW);
    opt.weight_decay = 0.1;
    CHECK(rw_net_ensure_moments(base, opt.kind, &err) == RW_OK);
    size_t N = 0;
    for (size_t l = 0; l < base->n_layers; l++) {
        rw_layer *L = &base->layers[l];
        for (size_t k = 0; k < L->nw; k++)
            L->gw[k] = 0.1f * (float)((k * 7 + l) % 11) - 0.5f;
        for (size_t o = 0; o < L->out; o++)
            L->gb[o] = 0.05f * (float)o - 0.1f;
        N += L->nw + L->out;
    }
    CHECK(base->layers[0].kind == RW_LAYER_SPARSE && N > 10 && N < 64);
    rw_net *full = rw_net_clone(base, &err);
    CHECK(full && rw_net_step(full, &opt, 0.01, &err) == RW_OK);
    float p0[3][64], pf[3][64], pr[3][64];
    for (int m = 0; m < 3; m++) {
        flat(base, m, p0[m]);
        flat(full, m, pf[m]);
    }
    size_t bad = 0;
    for (size_t lo = 0; lo <= N; lo++)
        for (size_t hi = lo; hi <= N; hi++) {
            rw_net *r = rw_net_clone(base, &err);
            CHECK(r && rw_net_step_range(r, &opt, 0.01, lo, hi, NULL, &err) == RW_OK);
            for (int m = 0; m < 3; m++) {
                flat(r, m, pr[m]);
                for (size_t i = 0; i < N; i++)
                    bad += pr[m][i] != (i >= lo && i < hi ? pf[m][i] : p0[m][i]);
            }
            rw_net_free(r);
        }
    CHECK_MSG(bad == 0, "step on a range: %zu values wrong over every range of %zu", bad, N);
    rw_net_free(full);
    rw_net_free(base);
}

int main(void)
{
    test_step_range();

    rw_error err;
    rw_data_options dopts = rw_data_options_defaults();
    rw_dataset *train = rw_dataset_open("spirals", RW_SPLIT_TRAIN, &dopts, &err);
    CHECK_MSG(train != NULL, "%s", err.msg);
    if (!train)
        return 1;
    double before = train_once(train, &err);

    CHECK(rw_dist_init(NULL, NULL, &err) == RW_OK);
    CHECK(rw_dist_rank() == 0);
    CHECK(rw_dist_size() == 1);
    CHECK_MSG(rw_dist_available() == RW_TEST_HAVE_MPI,
              "rw_dist_available() says %d in a build %s MPI", rw_dist_available(),
              RW_TEST_HAVE_MPI ? "with" : "without");
    CHECK(!rw_dist_on());
    CHECK(rw_dist_root());
    double after = train_once(train, &err);
    CHECK_MSG(after == before, "loss %.9g after rw_dist_init, %.9g before", after,
              before);
    rw_dist_stats s = rw_dist_last_stats();
    CHECK(s.ranks == 1);
    CHECK(s.steps == 0 && s.bytes_per_step == 0 && s.checks == 0);
    CHECK(s.comm_seconds == 0.0);

    /* One rank: the whole batch, weight 1; the collectives change nothing. */
    size_t off = 99, len = 0;
    rw_dist_slice(128, 4, &off, &len);
    CHECK(off == 0 && len == 128);
    float v[3] = {1.0f, -2.0f, 3.5f};
    CHECK(rw_dist_sum_block(v, 3, &err) == RW_OK);
    CHECK(v[0] == 1.0f && v[1] == -2.0f && v[2] == 3.5f);
    uint64_t u[2] = {5, 7};
    CHECK(rw_dist_max_u64(u, 2, &err) == RW_OK && u[0] == 5 && u[1] == 7);
    CHECK(strcmp(rw_status_str(RW_ERR_DIST), "ranks disagree") == 0);

    rw_dist_abort(3); /* no ranks: returns */
    rw_dist_finalize();
    rw_dist_finalize(); /* twice is fine */
    CHECK(rw_dist_size() == 1);
    rw_dataset_free(train);
    return rw_test_failures ? 1 : 0;
}
