/* libFuzzer target for the training state of a checkpoint (the TRST
 * section; the model part is fuzz_model's): a tiny valid network is saved
 * with the fuzzed bytes as its state, and rw_train resumes from it. Any
 * input must give RW_OK or a clean error, never a crash. */
#include "internal.h"

#include <stdio.h>
#include <unistd.h>

static rw_net *net0;
static rw_dataset *data;
static char path[64];

static void setup(void)
{
    rw_error err;
    rw_net_config cfg;
    size_t hidden[1] = {4};
    rw_net_config_mlp(&cfg, 2, hidden, 1, 2, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY, &err);
    net0 = rw_net_create(&cfg, &err);
    float x[16];
    int32_t y[8];
    for (int i = 0; i < 8; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = (float)(i % 3);
        y[i] = i % 2;
    }
    data = rw_dataset_from_arrays(x, y, NULL, 8, 2, 0, 2, &err);
    snprintf(path, sizeof path, "/tmp/rewire-fuzz-ckpt-%ld.rwm", (long)getpid());
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
    if (!net0)
        setup();
    rw_error err;
    if (rw_net_save_with(net0, path, "TRST", buf, len, &err) != RW_OK)
        return 0;
    rw_net *net = rw_net_load(path, &err);
    if (!net)
        return 0;
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 2;
    tc.batch = 4;
    tc.resume_path = path;
    rw_train_result res;
    rw_train(net, data, NULL, &tc, &res, &err);
    rw_net_free(net);
    return 0;
}
