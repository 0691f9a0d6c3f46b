/* The smallest useful rewire program: train a sparse network that rewires
 * itself (SET) on the built-in two-spirals data, evaluate it, save it and
 * load it back. Build: cc minimal.c $(pkg-config --cflags --libs rewire) */
#include <rewire.h>
#include <stdio.h>

int main(void)
{
    rw_error err;
    rw_data_options dopts = rw_data_options_defaults();
    rw_dataset *train = rw_dataset_open("spirals", RW_SPLIT_TRAIN, &dopts, &err);
    rw_dataset *test = rw_dataset_open("spirals", RW_SPLIT_TEST, &dopts, &err);
    if (!train || !test) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }

    /* 2 inputs -> 64 -> 64 -> 2 classes, hidden layers sparse. */
    rw_net_config cfg;
    size_t hidden[] = {64, 64};
    if (rw_net_config_mlp(&cfg, rw_dataset_features(train), hidden, 2,
                          rw_dataset_classes(train), RW_ACT_RELU,
                          RW_LOSS_CROSS_ENTROPY, &err) != RW_OK ||
        rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, 0.5, 0, &err) != RW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    cfg.seed = 42;
    rw_net *net = rw_net_create(&cfg, &err);
    if (!net) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }

    rw_train_config tc = rw_train_defaults();
    tc.epochs = 60;
    tc.lr = 0.01;
    tc.rewire = RW_REWIRE_SET; /* drop 30% weakest, regrow at random */
    rw_train_result res;
    if (rw_train(net, train, test, &tc, &res, &err) != RW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("test accuracy %.1f%% with %zu connections\n",
           100.0 * res.test_accuracy, rw_net_connections(net));

    /* Save, load, and check the copy predicts the same. */
    rw_eval_result a, b;
    rw_net *copy = NULL;
    if (rw_net_save(net, "minimal.rwm", &err) != RW_OK ||
        !(copy = rw_net_load("minimal.rwm", &err)) ||
        rw_net_evaluate(net, test, &a, NULL, &err) != RW_OK ||
        rw_net_evaluate(copy, test, &b, NULL, &err) != RW_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("reloaded model: %.1f%%\n", 100.0 * b.accuracy);
    int ok = a.correct == b.correct && res.test_accuracy > 0.8;
    rw_net_free(copy);
    rw_net_free(net);
    rw_dataset_free(train);
    rw_dataset_free(test);
    remove("minimal.rwm");
    return ok ? 0 : 1;
}
