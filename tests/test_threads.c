/* Threads and the seams of the public views: rw_set_threads is a setting
 * of the calling thread, rw_net_predict_with predicts from several threads
 * at once with the single-threaded results, rw_net_layer_view's cols are
 * input indices, and a first predict allocates what the call needs. */
#include "internal.h"

#include "check.h"

#include <pthread.h>
#include <string.h>

/* ---------------- rw_set_threads belongs to the calling thread ---------------- */

typedef struct thread_counts {
    int seen_at_start, set, seen_after_set;
} thread_counts;

static void *count_threads(void *arg)
{
    thread_counts *t = arg;
    t->seen_at_start = rw_get_threads();
    t->set = rw_set_threads(1);
    t->seen_after_set = rw_get_threads();
    return NULL;
}

static void test_set_threads_per_thread(void)
{
    /* OMP_NUM_THREADS, else all cores: no thread has set it yet */
    int initial = rw_get_threads();
    int mine = initial + 1;
    CHECK(rw_set_threads(mine) == mine && rw_get_threads() == mine);
    thread_counts t = {0, 0, 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, count_threads, &t) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    /* A new thread starts from the process's initial count, not from the
     * setting of the thread that created it... */
    CHECK_MSG(t.seen_at_start == initial, "second thread saw %d, initial %d",
              t.seen_at_start, initial);
    CHECK(t.set == 1 && t.seen_after_set == 1);
    /* ... and its own setting does not reach back to this one. */
    CHECK_MSG(rw_get_threads() == mine, "main thread now has %d, set %d",
              rw_get_threads(), mine);
    /* More than the library can start is capped (libgomp crashed when
     * thread creation failed). */
    CHECK(rw_set_threads(100000) == RW_MAX_THREADS &&
          rw_get_threads() == RW_MAX_THREADS);
    rw_set_threads(initial);
}

/* ---------------- predicting from several threads ---------------- */

static rw_net *make_net(size_t in, size_t h1, size_t h2, size_t out,
                        double density, uint64_t seed)
{
    rw_error err;
    rw_net_config cfg;
    size_t hidden[2] = {h1, h2};
    CHECK_OK(rw_net_config_mlp(&cfg, in, hidden, 2, out, RW_ACT_RELU,
                               RW_LOSS_CROSS_ENTROPY, &err), &err);
    cfg.seed = seed;
    if (density > 0) {
        cfg.layers[0].kind = RW_LAYER_SPARSE;
        cfg.layers[0].density = density;
    }
    rw_net *net = rw_net_create(&cfg, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    return net;
}

static float *random_inputs(size_t n, uint64_t seed)
{
    rw_rng rng;
    rw_rng_seed(&rng, seed);
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rw_rng_normal(&rng);
    return x;
}

typedef struct worker {
    const rw_net *net;
    const float *x;
    const float *want;
    size_t n, C, rounds;
    size_t mismatches;
    rw_status st;
} worker;

static void *predict_worker(void *arg)
{
    worker *w = arg;
    rw_set_threads(1);
    rw_error err;
    rw_workspace *ws = rw_workspace_create(w->net, 256, &err);
    if (!ws) {
        w->st = err.status;
        return NULL;
    }
    float *out = malloc(w->n * w->C * sizeof *out);
    for (size_t r = 0; r < w->rounds && w->st == RW_OK; r++) {
        memset(out, 0xff, w->n * w->C * sizeof *out);
        w->st = rw_net_predict_with(w->net, ws, w->x, w->n, out, &err);
        w->mismatches += memcmp(out, w->want, w->n * w->C * sizeof *out) != 0;
    }
    free(out);
    rw_workspace_free(ws);
    return NULL;
}

static void test_concurrent_predict(void)
{
    rw_error err;
    for (int sparse = 0; sparse < 2; sparse++) {
        size_t I = 20, C = 5, n = 300; /* passes of 256 and 44 */
        rw_net *net = make_net(I, 64, 32, C, sparse ? 0.2 : 0, 7 + sparse);
        float *x = random_inputs(n * I, 11);
        float *want = malloc(n * C * sizeof *want);
        float *got = malloc(n * C * sizeof *got);
        rw_set_threads(1);
        CHECK_OK(rw_net_predict(net, x, n, want, &err), &err);

        /* One thread: equal to rw_net_predict, bit for bit. */
        rw_workspace *ws = rw_workspace_create(net, 256, &err);
        CHECK_MSG(ws != NULL, "%s", err.msg);
        CHECK_OK(rw_net_predict_with(net, ws, x, n, got, &err), &err);
        CHECK_MSG(memcmp(got, want, n * C * sizeof *got) == 0,
                  "predict_with differs from predict (sparse %d)", sparse);
        /* Another batch groups the samples differently: equal up to
         * rounding. */
        rw_workspace *small = rw_workspace_create(net, 7, &err);
        CHECK_OK(rw_net_predict_with(net, small, x, n, got, &err), &err);
        size_t far = 0;
        for (size_t k = 0; k < n * C; k++)
            far += !(fabsf(got[k] - want[k]) <= 1e-6f + 1e-5f * fabsf(want[k]));
        CHECK_MSG(far == 0, "%zu outputs differ with a batch of 7", far);
        rw_workspace_free(small);

        /* Four threads at once on the same network. */
        enum { T = 4 };
        worker w[T];
        pthread_t th[T];
        for (int t = 0; t < T; t++) {
            w[t] = (worker){net, x, want, n, C, 25, 0, RW_OK};
            CHECK(pthread_create(&th[t], NULL, predict_worker, &w[t]) == 0);
        }
        for (int t = 0; t < T; t++) {
            CHECK(pthread_join(th[t], NULL) == 0);
            CHECK_MSG(w[t].st == RW_OK && w[t].mismatches == 0,
                      "thread %d: status %d, %zu of 25 rounds differ", t,
                      (int)w[t].st, w[t].mismatches);
        }

        /* A workspace for another shape is refused, not overrun. */
        rw_net *wide = make_net(I, 65, 32, C, 0, 3);
        CHECK(rw_net_predict_with(wide, ws, x, 1, got, &err) == RW_ERR_ARG);
        CHECK(strstr(err.msg, "workspace") != NULL);
        CHECK(rw_net_predict_with(net, NULL, x, 1, got, &err) == RW_ERR_ARG);
        rw_net_free(wide);
        rw_workspace_free(ws);
        rw_workspace_free(NULL);
        free(x);
        free(want);
        free(got);
        rw_net_free(net);
    }
    rw_set_threads(2);
}

/* ---------------- layer views ---------------- */

static void test_view_cols(void)
{
    rw_error err;
    rw_net *net = make_net(50, 40, 8, 3, 0.3, 5);
    rw_layer_view v;
    CHECK_OK(rw_net_layer_view(net, 0, &v, &err), &err);
    const rw_layer *L = &net->layers[0];
    CHECK(v.kind == RW_LAYER_SPARSE && v.cols && v.connections == L->nw);
    size_t out_of_range = 0, differ = 0;
    for (size_t k = 0; k < v.connections; k++) {
        out_of_range += v.cols[k] >= v.inputs;
        differ += v.cols[k] != (L->col[k] & RW_COL_MASK);
    }
    /* Every connection of a new network is an initial one, so before the
     * flag was cleared every index was out of range. */
    CHECK_MSG(out_of_range == 0, "%zu of %zu indices >= %zu inputs",
              out_of_range, v.connections, v.inputs);
    CHECK(differ == 0);
    /* Indexing a dense copy by the view stays in bounds and gives back
     * every weight. */
    float *dense = calloc(v.inputs * v.outputs, sizeof *dense);
    double sum_view = 0, sum_dense = 0;
    for (size_t o = 0; o < v.outputs; o++)
        for (size_t k = v.row_ptr[o]; k < v.row_ptr[o + 1]; k++)
            if (v.cols[k] < v.inputs) {
                dense[o * v.inputs + v.cols[k]] = v.weights[k];
                sum_view += fabs(v.weights[k]);
            }
    for (size_t i = 0; i < v.inputs * v.outputs; i++)
        sum_dense += fabs(dense[i]);
    CHECK_CLOSE(sum_dense, sum_view, 1e-9, 1e-9);
    free(dense);
    /* The flag inside is untouched (initial share stays 1). */
    CHECK(L->col[0] & RW_COL_INITIAL);
    CHECK_CLOSE(rw_net_initial_share(net, 0), 1.0, 0, 0);
    /* Dense layers have no cols. */
    CHECK_OK(rw_net_layer_view(net, 1, &v, &err), &err);
    CHECK(v.kind == RW_LAYER_DENSE && v.cols == NULL && v.row_ptr == NULL);
    /* A clone has its own copies. */
    rw_net *copy = rw_net_clone(net, &err);
    rw_layer_view a, b;
    CHECK_OK(rw_net_layer_view(net, 0, &a, &err), &err);
    CHECK_OK(rw_net_layer_view(copy, 0, &b, &err), &err);
    CHECK(a.cols != b.cols &&
          memcmp(a.cols, b.cols, a.connections * sizeof *a.cols) == 0);
    rw_net_free(copy);
    rw_net_free(net);
}

/* ---------------- what a first predict allocates ---------------- */

static void test_predict_allocation(void)
{
    rw_error err;
    /* One sample: buffers for one sample, not a chunk of 256. */
    rw_net *net = make_net(10, 16, 8, 3, 0, 1);
    float x[10] = {0}, out[3];
    CHECK_OK(rw_net_predict(net, x, 1, out, &err), &err);
    CHECK_MSG(net->batch_cap == 1, "batch_cap %zu after 1 sample",
              net->batch_cap);
    rw_net_free(net);

    /* 2^21 outputs from one input: the model holds 4 Mi parameters; a pass
     * of 256 samples would need 2 x 256 x 2^21 floats (4 GiB). */
    rw_net_config cfg;
    CHECK_OK(rw_net_config_mlp(&cfg, 1, NULL, 0, (size_t)1 << 21,
                               RW_ACT_RELU, RW_LOSS_MSE, &err), &err);
    net = rw_net_create(&cfg, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    if (net) {
        size_t n = 8;
        float xs[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        float *y = malloc(n * ((size_t)1 << 21) * sizeof *y);
        CHECK_OK(rw_net_predict(net, xs, n, y, &err), &err);
        size_t floats = 2 * net->batch_cap * ((size_t)1 << 21);
        CHECK_MSG(floats <= rw_net_parameters(net),
                  "predict buffers of %zu floats for %zu parameters", floats,
                  rw_net_parameters(net));
        /* Still the right values: output o of sample j = w[o] x_j + b[o]. */
        const float *w = net->layers[0].w, *b = net->layers[0].b;
        size_t bad = 0;
        for (size_t j = 0; j < n; j++)
            for (size_t o = 0; o < ((size_t)1 << 21); o += 4099)
                bad += !(fabsf(y[j * ((size_t)1 << 21) + o] -
                               (w[o] * xs[j] + b[o])) <= 1e-5f);
        CHECK(bad == 0);
        rw_workspace *ws = rw_workspace_create(net, 0, &err);
        CHECK(ws != NULL);
        rw_workspace_free(ws);
        free(y);
    }
    rw_net_free(net);
}

int main(void)
{
    /* Every pass that can use the threads does, however small, so that the
     * comparisons of 1 and 2 threads run the parallel code. */
    rw_set_par_min_work(0);
    test_set_threads_per_thread(); /* first: it reads the initial count */
    rw_set_threads(2);
    test_concurrent_predict();
    test_view_cols();
    test_predict_allocation();
    TEST_MAIN_END();
}
