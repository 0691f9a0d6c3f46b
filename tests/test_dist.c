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

int main(void)
{
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
    CHECK(rw_dist_available() == 0 || rw_dist_available() == 1);
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
