/* rw_dataset_wrap borrows the caller's arrays (the Python package's path
 * for training data) and rw_dataset_set_image_shape marks them as images:
 * a wrapped dataset trains and standardises exactly as a copied one. */
#include "check.h"
#include "rewire.h"

#include <string.h>

int main(void)
{
    rw_error err;
    enum { N = 64, F = 6 };
    float x[N * F];
    int32_t y[N];
    float t[N];
    rw_rng rng;
    rw_rng_seed(&rng, 3);
    for (int i = 0; i < N * F; i++)
        x[i] = (float)rw_rng_uniform(&rng) * (i % F == 0 ? 0.01f : 1.0f);
    for (int i = 0; i < N; i++) {
        y[i] = x[i * F + 1] > 0.5f;
        t[i] = x[i * F + 2];
    }

    rw_dataset *w = rw_dataset_wrap(x, y, NULL, N, F, 0, 2, &err);
    rw_dataset *c = rw_dataset_from_arrays(x, y, NULL, N, F, 0, 2, &err);
    CHECK(w && c);
    /* Borrowed, not copied. */
    CHECK(rw_dataset_x(w) == x && rw_dataset_labels(w) == y);
    CHECK(rw_dataset_x(c) != x);
    CHECK(rw_dataset_size(w) == N && rw_dataset_features(w) == F);
    CHECK(rw_dataset_classes(w) == 2 && rw_dataset_targets(w) == 0);

    /* The same checks as from_arrays. */
    int32_t bad[N];
    memcpy(bad, y, sizeof bad);
    bad[5] = 2;
    CHECK(!rw_dataset_wrap(x, bad, NULL, N, F, 0, 2, &err) && err.status == RW_ERR_DATA);
    CHECK(!rw_dataset_wrap(x, y, NULL, 0, F, 0, 2, &err) && err.status == RW_ERR_ARG);
    CHECK(!rw_dataset_wrap(x, NULL, NULL, N, F, 0, 0, &err) && err.status == RW_ERR_ARG);
    rw_dataset *r = rw_dataset_wrap(x, NULL, t, N, F, 1, 0, &err);
    CHECK(r && rw_dataset_targets(r) == 1 && rw_dataset_y(r) == t);
    rw_dataset_free(r);

    /* Image shape: must match the features; changes standardisation. */
    CHECK(rw_dataset_set_image_shape(w, 4, 2, &err) == RW_ERR_ARG);
    CHECK(rw_dataset_set_image_shape(w, 2, 0, &err) == RW_ERR_ARG);
    CHECK(rw_dataset_set_image_shape(NULL, 2, 3, &err) == RW_ERR_ARG);
    float s1[F], k1[F], s2[F], k2[F];
    CHECK_OK(rw_dataset_fit_standardize(w, s1, k1, &err), &err);
    CHECK_OK(rw_dataset_set_image_shape(w, 2, 3, &err), &err);
    size_t h, wd;
    rw_dataset_image_shape(w, &h, &wd);
    CHECK(h == 2 && wd == 3);
    CHECK_OK(rw_dataset_fit_standardize(w, s2, k2, &err), &err);
    CHECK(memcmp(s1, s2, sizeof s1) == 0);
    CHECK(k2[0] < k1[0]); /* the nearly constant feature meets the floor */
    CHECK_OK(rw_dataset_set_image_shape(w, 0, 0, &err), &err);

    /* Training on the wrapped and the copied dataset gives the same net. */
    rw_net_config cfg;
    size_t hidden[] = {8};
    CHECK_OK(rw_net_config_mlp(&cfg, F, hidden, 1, 2, RW_ACT_RELU,
                               RW_LOSS_CROSS_ENTROPY, &err), &err);
    rw_net *a = rw_net_create(&cfg, &err), *b = rw_net_create(&cfg, &err);
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 3;
    tc.batch = 16;
    CHECK_OK(rw_train(a, w, NULL, &tc, NULL, &err), &err);
    CHECK_OK(rw_train(b, c, NULL, &tc, NULL, &err), &err);
    float pa[N * 2], pb[N * 2];
    CHECK_OK(rw_net_predict(a, x, N, pa, &err), &err);
    CHECK_OK(rw_net_predict(b, x, N, pb, &err), &err);
    CHECK(memcmp(pa, pb, sizeof pa) == 0);
    rw_net_free(a);
    rw_net_free(b);

    rw_dataset_free(w); /* frees the handle only: x and y are ours */
    rw_dataset_free(c);
    CHECK(x[0] == x[0] && y[0] == y[0]);
    TEST_MAIN_END();
}
