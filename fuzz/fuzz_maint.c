/* libFuzzer target for the maintenance state of a checkpoint (the MNTS
 * section; TRST is fuzz_checkpoint's): a tiny sparse run with CBP and the
 * usage-aware drop is checkpointed once, and each input replaces the
 * checkpoint's MNTS before rw_train resumes from it. Any input must give
 * RW_OK or a clean error, never a crash. The seed
 * (fuzz/corpus/maint/cbp_usage.bin) is the MNTS of that checkpoint. */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static rw_net *net0;
static rw_dataset *data;
static rw_train_config tc;
static void *trst;
static size_t trst_len;
static char ck[64], path[64];

/* Stops in the middle of the first epoch, after two checkpoints. */
static int stop_now(const rw_progress *p, void *user)
{
    (void)user;
    return p->batch == 3;
}

static void setup(void)
{
    rw_error err;
    rw_net_config cfg;
    size_t hidden[1] = {5};
    rw_net_config_mlp(&cfg, 4, hidden, 1, 2, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY, &err);
    rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, 0.5, 0, &err);
    rw_net *net = rw_net_create(&cfg, &err);
    float x[64];
    int32_t y[16];
    for (int i = 0; i < 16; i++) {
        for (int j = 0; j < 4; j++)
            x[4 * i + j] = (float)((i + j) % 3);
        y[i] = i % 2;
    }
    data = rw_dataset_from_arrays(x, y, NULL, 16, 4, 0, 2, &err);
    snprintf(ck, sizeof ck, "/tmp/rewire-fuzz-maint-%ld.ck", (long)getpid());
    snprintf(path, sizeof path, "/tmp/rewire-fuzz-maint-%ld.rwm", (long)getpid());
    tc = rw_train_defaults();
    tc.epochs = 2;
    tc.batch = 4;
    tc.rewire = RW_REWIRE_SET;
    tc.drop_by_usage = 1;
    tc.maintain.kind = RW_MAINTAIN_CBP;
    tc.maintain.cbp_maturity = 1;
    tc.maintain.cbp_rho = 0.5;
    tc.checkpoint_path = ck;
    tc.checkpoint_every = 1;
    tc.on_progress = stop_now;
    rw_train(net, data, NULL, &tc, NULL, &err);
    rw_net_free(net);
    tc.on_progress = NULL;
    tc.checkpoint_path = NULL;
    tc.resume_path = path;
    net0 = rw_net_load(ck, &err);
    rw_model_read_section(ck, "TRST", &trst, &trst_len, NULL, &err);
    remove(ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    if (!data)
        setup();
    if (!net0 || !trst)
        return 0;
    rw_error err;
    rw_model_section x[2] = {{"TRST", trst, trst_len}, {"MNTS", buf, len}};
    if (rw_net_save_sections(net0, path, x, 2, &err) != RW_OK)
        return 0;
    rw_net *net = rw_net_load(path, &err);
    if (!net)
        return 0;
    rw_train_result res;
    rw_train(net, data, NULL, &tc, &res, &err);
    rw_net_free(net);
    return 0;
}
