/* Continual learning: the accuracy matrix and its summary figures, the
 * rehearsal memory, EWC and SI (penalties, gradients, Fisher, path
 * integral), task sequences, task-incremental masking and the protection
 * of important connections from rewiring. Small synthetic data only. */
#include "check.h"
#include "internal.h"

#include <string.h>

/* ---------------- helpers ---------------- */

/* n samples of 2-D blobs in turn: blob k (of `classes`) sits at 3 (cos,
 * sin) of angle 2 pi (k + p0) / 8, noise sd 0.3, and has label c0 + k.
 * Two calls with different c0 and the same p0 give the same inputs under
 * other labels. */
static rw_dataset *blobs_at(size_t n, int c0, int classes, int p0,
                            uint64_t seed)
{
    float *x = malloc(n * 2 * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    rw_rng rng;
    rw_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        int k = (int)(i % (size_t)classes), c = c0 + k;
        double a = 2.0 * 3.14159265358979 * (k + p0) / 8.0;
        x[2 * i] = (float)(3.0 * cos(a) + 0.3 * rw_rng_normal(&rng));
        x[2 * i + 1] = (float)(3.0 * sin(a) + 0.3 * rw_rng_normal(&rng));
        y[i] = c;
    }
    rw_error err;
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, n, 2, 0,
                                            (size_t)(c0 + classes), &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    free(x);
    free(y);
    return ds;
}

static rw_dataset *blobs(size_t n, int c0, int classes, uint64_t seed)
{
    return blobs_at(n, c0, classes, 0, seed);
}

static rw_net *mlp(size_t in, size_t hidden, size_t out, double density,
                   uint64_t seed)
{
    rw_net_config cfg = rw_net_config_defaults();
    rw_error err;
    size_t h[1] = {hidden};
    CHECK_OK(rw_net_config_mlp(&cfg, in, h, hidden ? 1 : 0, out, RW_ACT_TANH,
                               RW_LOSS_CROSS_ENTROPY, &err), &err);
    cfg.seed = seed;
    if (density < 1.0)
        CHECK_OK(rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, density, 1,
                                        &err), &err);
    rw_net *net = rw_net_create(&cfg, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    return net;
}

/* Two class-incremental tasks on the same two blobs: labelled {0,1},
 * then {2,3}. */
static rw_tasks *two_tasks(void)
{
    rw_error err;
    rw_tasks *t = rw_tasks_create(&err);
    rw_dataset *a = blobs(200, 0, 2, 11), *at = blobs(40, 0, 2, 12);
    rw_dataset *b = blobs(200, 2, 2, 13), *bt = blobs(40, 2, 2, 14);
    CHECK_OK(rw_tasks_add(t, "A", a, at, &err), &err);
    CHECK_OK(rw_tasks_add(t, "B", b, bt, &err), &err);
    rw_dataset_free(a);
    rw_dataset_free(at);
    rw_dataset_free(b);
    rw_dataset_free(bt);
    return t;
}

static rw_continual_config quick_config(void)
{
    rw_continual_config cc = rw_continual_defaults();
    cc.train.epochs = 15;
    cc.train.batch = 20;
    cc.train.lr = 0.02;
    cc.train.seed = 5;
    return cc;
}

/* ---------------- summary figures ---------------- */

static void test_metrics(void)
{
    /* R after 3 tasks, b the untrained accuracies. */
    const double R[9] = {0.9, 0.3, 0.2,
                         0.6, 0.8, 0.4,
                         0.5, 0.7, 1.0};
    const double b[3] = {0.1, 0.2, 0.3};
    double avg, bwt, fwt;
    rw_error err;
    CHECK_OK(rw_continual_metrics(R, b, 3, &avg, &bwt, &fwt, &err), &err);
    CHECK_CLOSE(avg, (0.5 + 0.7 + 1.0) / 3.0, 1e-12, 0);
    CHECK_CLOSE(bwt, ((0.5 - 0.9) + (0.7 - 0.8)) / 2.0, 1e-12, 0);
    CHECK_CLOSE(fwt, ((0.3 - 0.2) + (0.4 - 0.3)) / 2.0, 1e-12, 0);
    CHECK_OK(rw_continual_metrics(R, NULL, 3, &avg, &bwt, &fwt, &err), &err);
    CHECK(isnan(fwt));
    const double one[1] = {0.75};
    CHECK_OK(rw_continual_metrics(one, b, 1, &avg, &bwt, &fwt, &err), &err);
    CHECK(avg == 0.75 && isnan(bwt) && isnan(fwt));
    CHECK(rw_continual_metrics(NULL, b, 2, &avg, &bwt, &fwt, &err) == RW_ERR_ARG);
}

/* ---------------- the accuracy matrix ---------------- */

static double acc_of(rw_net *net, const rw_dataset *ds)
{
    double a = NAN;
    rw_error err;
    CHECK_OK(rw_continual_accuracy(net, ds, NULL, &a, &err), &err);
    return a;
}

static void test_matrix_bookkeeping(void)
{
    rw_error err;
    rw_tasks *t = two_tasks();
    rw_net *net = mlp(2, 16, 4, 1.0, 3);
    rw_net *twin = rw_net_clone(net, &err);
    rw_continual_config cc = quick_config();
    rw_continual_result r;
    CHECK_OK(rw_continual_run(net, t, &cc, &r, &err), &err);
    CHECK(r.tasks == 2);
    /* Each task learnt, then the first one forgotten entirely: the only
     * classes the network answers after B are B's. */
    CHECK_CLOSE(r.matrix[0], 1.0, 0, 0);
    CHECK_CLOSE(r.matrix[1], 0.0, 0, 0);
    CHECK_CLOSE(r.matrix[2], 0.0, 0, 0);
    CHECK_CLOSE(r.matrix[3], 1.0, 0, 0);
    CHECK_CLOSE(r.average_accuracy, 0.5, 1e-12, 0);
    CHECK_CLOSE(r.backward_transfer, -1.0, 1e-12, 0);
    CHECK_CLOSE(r.forward_transfer, 0.0 - r.baseline[1], 1e-12, 0);

    /* Every entry is the accuracy of the network at that point: replay the
     * run by hand on the twin (same seeds per task) and compare exactly. */
    for (size_t j = 0; j < 2; j++)
        CHECK(acc_of(twin, rw_tasks_test(t, j)) == r.baseline[j]);
    for (size_t i = 0; i < 2; i++) {
        rw_train_config tc = cc.train;
        tc.seed = cc.train.seed + i;
        CHECK_OK(rw_train(twin, rw_tasks_train(t, i, &err), NULL, &tc, NULL,
                          &err), &err);
        for (size_t j = 0; j < 2; j++)
            CHECK_MSG(acc_of(twin, rw_tasks_test(t, j)) == r.matrix[i * 2 + j],
                      "R[%zu][%zu]", i, j);
    }
    rw_continual_result_free(&r);
    rw_continual_result_free(&r); /* twice is harmless */

    /* Task-incremental: within its own pair, each task is easy to keep. */
    rw_net *n2 = mlp(2, 16, 4, 1.0, 3);
    cc.task_incremental = 1;
    CHECK_OK(rw_continual_run(n2, t, &cc, &r, &err), &err);
    CHECK(r.matrix[3] == 1.0);
    CHECK_MSG(r.matrix[2] >= 0.9, "task A after B, task-incremental: %g",
              r.matrix[2]);
    rw_continual_result_free(&r);
    rw_net_free(n2);
    rw_net_free(twin);
    rw_net_free(net);
    rw_tasks_free(t);
}

/* Stops after the first task: the result holds that row, NaN after. */
static int stop_now(const rw_task_report *rep, void *user)
{
    *(size_t *)user += 1;
    CHECK(rep->tasks == 2 && rep->task == 0 && rep->accuracy[0] == 1.0);
    return 1;
}

static void test_interrupt_and_errors(void)
{
    rw_error err;
    rw_tasks *t = two_tasks();
    rw_net *net = mlp(2, 8, 4, 1.0, 3);
    rw_continual_config cc = quick_config();
    size_t calls = 0;
    cc.on_task = stop_now;
    cc.user = &calls;
    rw_continual_result r;
    CHECK(rw_continual_run(net, t, &cc, &r, &err) == RW_ERR_INTERRUPTED);
    CHECK(calls == 1 && r.tasks == 2 && r.matrix[0] == 1.0 && isnan(r.matrix[2]));
    CHECK(isnan(r.average_accuracy));
    rw_continual_result_free(&r);
    /* Too few outputs for the tasks' classes. */
    rw_net *small = mlp(2, 8, 3, 1.0, 3);
    cc.on_task = NULL;
    CHECK(rw_continual_run(small, t, &cc, &r, &err) == RW_ERR_DATA);
    rw_continual_result_free(&r);
    /* A sequence is not checkpointed: each task's run would overwrite (or
     * resume) the same file. */
    cc.train.checkpoint_path = "never-written.rwc";
    CHECK(rw_continual_run(net, t, &cc, &r, &err) == RW_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "not checkpointed") != NULL);
    rw_continual_result_free(&r);
    cc.train.checkpoint_path = NULL;
    cc.train.resume_path = "never-read.rwc";
    CHECK(rw_continual_run(net, t, &cc, &r, &err) == RW_ERR_UNSUPPORTED);
    rw_continual_result_free(&r);
    cc.train.resume_path = NULL;
    /* Mismatched widths. */
    rw_dataset *wide = rw_dataset_from_arrays((const float[]){1, 2, 3, 4, 5, 6},
                                              (const int32_t[]){0, 1}, NULL, 2,
                                              3, 0, 2, &err);
    CHECK(rw_tasks_add(t, "wide", wide, wide, &err) == RW_ERR_DATA);
    CHECK(strstr(err.msg, "features") != NULL);
    rw_dataset_free(wide);
    rw_net_free(small);
    rw_net_free(net);
    rw_tasks_free(t);
}

/* ---------------- rehearsal memory ---------------- */

static void test_reservoir(void)
{
    enum { N = 1000, CAP = 50, TASKS = 4, REPS = 4000, BINS = 20 };
    rw_error err;
    float x[N];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i;
        y[i] = i / (N / TASKS);
    }
    rw_dataset *part[TASKS];
    for (int k = 0; k < TASKS; k++)
        part[k] = rw_dataset_from_arrays(x + k * (N / TASKS), y + k * (N / TASKS),
                                         NULL, N / TASKS, 1, 0, TASKS, &err);
    static long count[N];
    memset(count, 0, sizeof count);
    rw_rng rng;
    rw_rng_seed(&rng, 2024);
    int bad = 0;
    for (int rep = 0; rep < REPS; rep++) {
        rw_memory *m = rw_memory_create(CAP, 1, TASKS, &err);
        for (int k = 0; k < TASKS; k++) {
            CHECK_OK(rw_memory_add(m, part[k], &rng, &err), &err);
            size_t want = (size_t)(k + 1) * (N / TASKS);
            if (want > CAP)
                want = CAP;
            bad += rw_memory_size(m) != want;
            bad += rw_memory_size(m) > rw_memory_capacity(m);
        }
        const rw_dataset *v = rw_memory_dataset(m);
        bad += rw_dataset_size(v) != CAP || rw_memory_seen(m) != N;
        for (size_t s = 0; s < rw_memory_size(m); s++) {
            uint64_t o = rw_memory_origin(m, s);
            /* The slot holds the sample it says it holds. */
            bad += o >= N || rw_dataset_x(v)[s] != (float)o ||
                   rw_dataset_labels(v)[s] != y[o];
            if (o < N)
                count[o]++;
        }
        rw_memory_free(m);
    }
    CHECK_MSG(bad == 0, "%d bookkeeping errors", bad);
    /* Every sample is kept with probability CAP/N: chi-square over bins
     * of consecutive samples (the first and last tasks included). */
    double expect = (double)REPS * CAP / N * (N / BINS), chi2 = 0.0;
    for (int b = 0; b < BINS; b++) {
        double o = 0;
        for (int i = b * (N / BINS); i < (b + 1) * (N / BINS); i++)
            o += (double)count[i];
        chi2 += (o - expect) * (o - expect) / expect;
    }
    /* 19 degrees of freedom: P(chi2 > 43.8) = 0.001. */
    CHECK_MSG(chi2 < 43.8, "chi-square %.2f over %d bins", chi2, BINS);
    /* Per sample too: no sample far from its expected count (200). */
    long lo = count[0], hi = count[0];
    for (int i = 0; i < N; i++) {
        lo = count[i] < lo ? count[i] : lo;
        hi = count[i] > hi ? count[i] : hi;
    }
    CHECK_MSG(lo > 140 && hi < 260, "per-sample counts from %ld to %ld", lo, hi);

    /* Capacity above the stream keeps everything in order. */
    rw_memory *m = rw_memory_create(5000, 1, TASKS, &err);
    CHECK_OK(rw_memory_add(m, part[0], &rng, &err), &err);
    CHECK(rw_memory_size(m) == N / TASKS && rw_memory_origin(m, 7) == 7);
    CHECK(rw_memory_origin(m, N) == UINT64_MAX);
    rw_dataset *wide = rw_dataset_from_arrays((const float[]){1, 2}, (const int32_t[]){0},
                                              NULL, 1, 2, 0, 1, &err);
    CHECK(rw_memory_add(m, wide, &rng, &err) == RW_ERR_DATA);
    CHECK(rw_memory_create(0, 1, 1, &err) == NULL && err.status == RW_ERR_ARG);
    rw_dataset_free(wide);
    rw_memory_free(m);
    rw_memory_free(NULL);
    for (int k = 0; k < TASKS; k++)
        rw_dataset_free(part[k]);
}

static void test_replay_run(void)
{
    /* Tasks on separate blobs: rehearsal keeps task A alive where plain
     * fine-tuning loses it. */
    rw_error err;
    rw_tasks *t = rw_tasks_create(&err);
    rw_dataset *a = blobs_at(200, 0, 2, 0, 11), *at = blobs_at(40, 0, 2, 0, 12);
    rw_dataset *b = blobs_at(200, 2, 2, 2, 13), *bt = blobs_at(40, 2, 2, 2, 14);
    CHECK_OK(rw_tasks_add(t, "A", a, at, &err), &err);
    CHECK_OK(rw_tasks_add(t, "B", b, bt, &err), &err);
    rw_dataset_free(a);
    rw_dataset_free(at);
    rw_dataset_free(b);
    rw_dataset_free(bt);
    rw_net *naive = mlp(2, 16, 4, 1.0, 3);
    rw_continual_config c0 = quick_config();
    rw_continual_result r0;
    CHECK_OK(rw_continual_run(naive, t, &c0, &r0, &err), &err);
    CHECK_MSG(r0.matrix[2] <= 0.6, "naive keeps A: %g", r0.matrix[2]);
    rw_continual_result_free(&r0);
    rw_net_free(naive);
    rw_net *net = mlp(2, 16, 4, 1.0, 3);
    rw_continual_config cc = quick_config();
    cc.memory = 40;
    cc.replay_batch = 10;
    rw_continual_result r;
    CHECK_OK(rw_continual_run(net, t, &cc, &r, &err), &err);
    CHECK_MSG(r.matrix[2] >= 0.9 && r.matrix[3] >= 0.9,
              "with replay: A %g, B %g", r.matrix[2], r.matrix[3]);
    rw_continual_result_free(&r);
    rw_net_free(net);
    rw_tasks_free(t);
}

/* ---------------- EWC and SI ---------------- */

/* Gives every layer importance and anchors (random, seeded). */
static void random_state(rw_net *net, rw_consolidation_kind kind, uint64_t seed)
{
    rw_error err;
    rw_train_config tc = rw_train_defaults();
    tc.consolidation.kind = kind;
    tc.consolidation.lambda = 1.0;
    CHECK_OK(rw_consolidation_begin(net, &tc, &err), &err);
    rw_rng rng;
    rw_rng_seed(&rng, seed);
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw; k++) {
            L->imp[k] = (float)(0.1 + rw_rng_uniform(&rng));
            L->anchor[k] = L->w[k] + (float)(0.5 * rw_rng_normal(&rng));
        }
        for (size_t o = 0; o < L->out; o++) {
            L->bstate[o] = (float)(0.1 + rw_rng_uniform(&rng));
            L->bstate[L->out + o] = L->b[o] + (float)(0.5 * rw_rng_normal(&rng));
        }
    }
}

/* The penalty by its definition, in double. */
static double penalty_by_hand(const rw_net *net, const rw_consolidation_config *c)
{
    double s = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw; k++)
            s += (double)L->imp[k] * ((double)L->w[k] - L->anchor[k]) *
                 ((double)L->w[k] - L->anchor[k]);
        for (size_t o = 0; o < L->out; o++) {
            double d = (double)L->b[o] - L->bstate[L->out + o];
            s += (double)L->bstate[o] * d * d;
        }
    }
    return c->kind == RW_CONSOLIDATE_EWC ? 0.5 * c->lambda * s : c->lambda * s;
}

static double objective(rw_net *net, const float *x, const int32_t *y, size_t n,
                        const rw_consolidation_config *c)
{
    double loss;
    rw_error err;
    CHECK_OK(rw_net_gradient(net, x, y, NULL, n, &loss, NULL, &err), &err);
    return loss + rw_consolidation_penalty(net, c);
}

static void penalty_gradcheck(rw_consolidation_kind kind, double density)
{
    rw_net *net = mlp(3, 5, 3, density, 17);
    random_state(net, kind, 99);
    rw_train_config tc = rw_train_defaults();
    tc.consolidation.kind = kind;
    tc.consolidation.lambda = kind == RW_CONSOLIDATE_EWC ? 0.7 : 0.3;
    const rw_consolidation_config *c = &tc.consolidation;
    CHECK_CLOSE(rw_consolidation_penalty(net, c), penalty_by_hand(net, c), 1e-9,
                1e-9);
    rw_consolidation_config none = *c;
    none.kind = RW_CONSOLIDATE_NONE;
    CHECK(rw_consolidation_penalty(net, &none) == 0.0);

    const int32_t y[2] = {2, 0};
    rw_error err;
    /* Penalty alone: gradient added to zeroed gradients. */
    for (size_t l = 0; l < net->n_layers; l++) {
        memset(net->layers[l].gw, 0, net->layers[l].nw * sizeof(float));
        memset(net->layers[l].gb, 0, net->layers[l].out * sizeof(float));
    }
    rw_consolidation_after_backward(net, &tc);
    double worst = 0.0, gsum = 0.0;
    const double h = 1e-2; /* quadratic: central differences are exact */
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw + L->out; k++) {
            float *p = k < L->nw ? &L->w[k] : &L->b[k - L->nw];
            float g = k < L->nw ? L->gw[k] : L->gb[k - L->nw];
            float keep = *p;
            *p = keep + (float)h;
            double up = rw_consolidation_penalty(net, c);
            double hp = (double)*p - keep;
            *p = keep - (float)h;
            double down = rw_consolidation_penalty(net, c);
            double hm = keep - (double)*p;
            *p = keep;
            double fd = (up - down) / (hp + hm);
            double e = fabs(fd - g) / (1e-3 + fabs(fd));
            worst = e > worst ? e : worst;
            gsum += fabs(g);
        }
    }
    CHECK_MSG(worst < 1e-4, "penalty gradient error %g (kind %d)", worst, kind);
    CHECK(gsum > 1e-3);

    /* Loss plus penalty, through the training hook. */
    CHECK_OK(rw_net_gradient(net, (const float[]){0.5f, -1.0f, 0.3f, 1.2f, 0.1f,
                                                  -0.4f},
                             y, NULL, 2, NULL, NULL, &err), &err);
    rw_consolidation_after_backward(net, &tc);
    size_t nl = net->n_layers;
    float *gw[RW_MAX_LAYERS], *gb[RW_MAX_LAYERS];
    for (size_t l = 0; l < nl; l++) {
        rw_layer *L = &net->layers[l];
        gw[l] = malloc(L->nw * sizeof(float));
        gb[l] = malloc(L->out * sizeof(float));
        memcpy(gw[l], L->gw, L->nw * sizeof(float));
        memcpy(gb[l], L->gb, L->out * sizeof(float));
    }
    const float xs[6] = {0.5f, -1.0f, 0.3f, 1.2f, 0.1f, -0.4f};
    worst = 0.0;
    for (size_t l = 0; l < nl; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw + L->out; k++) {
            float *p = k < L->nw ? &L->w[k] : &L->b[k - L->nw];
            double g = k < L->nw ? gw[l][k] : gb[l][k - L->nw];
            float keep = *p;
            const double e1 = 1e-3;
            *p = keep + (float)e1;
            double up = objective(net, xs, y, 2, c);
            double hp = (double)*p - keep;
            *p = keep - (float)e1;
            double down = objective(net, xs, y, 2, c);
            double hm = keep - (double)*p;
            *p = keep;
            double fd = (up - down) / (hp + hm);
            double e = fabs(fd - g) / (1e-2 + fabs(fd));
            worst = e > worst ? e : worst;
        }
    }
    CHECK_MSG(worst < 5e-3, "loss+penalty gradient error %g (kind %d)", worst,
              kind);
    for (size_t l = 0; l < nl; l++) {
        free(gw[l]);
        free(gb[l]);
    }
    rw_net_free(net);
}

/* Fisher of a network without hidden layer, by hand: per sample the
 * gradient of -log p_y is (p - onehot) x^T for the weights and p - onehot
 * for the biases; the Fisher is the mean of its squares. */
static void test_fisher_by_hand(void)
{
    rw_error err;
    rw_net *net = mlp(2, 0, 3, 1.0, 1);
    rw_layer *L = &net->layers[0];
    const float W[6] = {0.5f, -0.2f, 0.1f, 0.3f, -0.4f, 0.8f};
    const float bias[3] = {0.05f, -0.1f, 0.2f};
    memcpy(L->w, W, sizeof W);
    memcpy(L->b, bias, sizeof bias);
    const float x[6] = {1.0f, 2.0f, -1.0f, 0.5f, 0.3f, -0.7f};
    const int32_t y[3] = {0, 2, 1};
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, 3, 2, 0, 3, &err);
    double Fw[6] = {0}, Fb[3] = {0};
    for (int s = 0; s < 3; s++) {
        double z[3], p[3], mx = -1e30, sum = 0;
        for (int o = 0; o < 3; o++) {
            z[o] = bias[o] + W[o * 2] * x[s * 2] + W[o * 2 + 1] * x[s * 2 + 1];
            mx = z[o] > mx ? z[o] : mx;
        }
        for (int o = 0; o < 3; o++)
            sum += p[o] = exp(z[o] - mx);
        for (int o = 0; o < 3; o++) {
            double d = p[o] / sum - (o == y[s]);
            Fb[o] += d * d / 3.0;
            for (int i = 0; i < 2; i++)
                Fw[o * 2 + i] += d * d * x[s * 2 + i] * x[s * 2 + i] / 3.0;
        }
    }
    rw_train_config tc = rw_train_defaults();
    tc.consolidation.kind = RW_CONSOLIDATE_EWC;
    tc.consolidation.lambda = 1.0;
    tc.consolidation.fisher_samples = 0; /* all */
    rw_rng rng;
    rw_rng_seed(&rng, 1);
    CHECK_OK(rw_consolidation_end_task(net, ds, &tc, &rng, &err), &err);
    for (int k = 0; k < 6; k++)
        CHECK_CLOSE(L->imp[k], Fw[k], 1e-7, 1e-5);
    for (int o = 0; o < 3; o++)
        CHECK_CLOSE(L->bstate[o], Fb[o], 1e-7, 1e-5);
    /* Anchors are the weights at the end of the task. */
    CHECK(memcmp(L->anchor, W, sizeof W) == 0);
    /* Online: a second task with gamma 0.5 adds to half the old Fisher. */
    tc.consolidation.gamma = 0.5;
    CHECK_OK(rw_consolidation_end_task(net, ds, &tc, &rng, &err), &err);
    for (int k = 0; k < 6; k++)
        CHECK_CLOSE(L->imp[k], 1.5 * Fw[k], 1e-7, 1e-5);
    /* Task-incremental: with groups {0}, {1, 2} sample 0 has p = 1 and no
     * gradient; samples 1 and 2 compete between classes 1 and 2. */
    rw_net *n2 = mlp(2, 0, 3, 1.0, 1);
    memcpy(n2->layers[0].w, W, sizeof W);
    memcpy(n2->layers[0].b, bias, sizeof bias);
    const int32_t groups[3] = {0, 1, 1};
    tc.class_groups = groups;
    tc.consolidation.gamma = 1.0;
    CHECK_OK(rw_consolidation_end_task(n2, ds, &tc, &rng, &err), &err);
    CHECK(n2->layers[0].imp[0] == 0.0f && n2->layers[0].imp[1] == 0.0f);
    CHECK(n2->layers[0].imp[2] > 0.0f);
    rw_net_free(n2);
    rw_dataset_free(ds);
    rw_net_free(net);
}

/* The Fisher with a hidden layer (dense and sparse) equals the mean of the
 * squared gradients of one-sample batches. */
static void fisher_vs_single_samples(double density)
{
    rw_error err;
    rw_net *net = mlp(2, 6, 4, density, 8);
    rw_dataset *ds = blobs(37, 0, 4, 3);
    rw_train_config tc = rw_train_defaults();
    tc.consolidation.kind = RW_CONSOLIDATE_EWC;
    tc.consolidation.fisher_samples = 0;
    rw_rng rng;
    rw_rng_seed(&rng, 1);
    CHECK_OK(rw_consolidation_end_task(net, ds, &tc, &rng, &err), &err);
    double worst = 0.0, total = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        double *fw = calloc(L->nw, sizeof *fw), *fb = calloc(L->out, sizeof *fb);
        for (size_t s = 0; s < ds->n; s++) {
            CHECK_OK(rw_net_gradient(net, ds->x + 2 * s, ds->labels + s, NULL, 1,
                                     NULL, NULL, &err), &err);
            for (size_t k = 0; k < L->nw; k++)
                fw[k] += (double)L->gw[k] * L->gw[k] / (double)ds->n;
            for (size_t o = 0; o < L->out; o++)
                fb[o] += (double)L->gb[o] * L->gb[o] / (double)ds->n;
        }
        for (size_t k = 0; k < L->nw; k++) {
            worst = fmax(worst, fabs(L->imp[k] - fw[k]) / (1e-6 + fw[k]));
            total += fw[k];
        }
        for (size_t o = 0; o < L->out; o++)
            worst = fmax(worst, fabs(L->bstate[o] - fb[o]) / (1e-6 + fb[o]));
        free(fw);
        free(fb);
    }
    CHECK_MSG(worst < 1e-3, "Fisher vs one-sample gradients: %g (density %g)",
              worst, density);
    CHECK(total > 1e-4);
    /* A sample of the data: same scale, different values. */
    rw_net *n2 = rw_net_clone(net, &err);
    for (size_t l = 0; l < n2->n_layers; l++)
        memset(n2->layers[l].imp, 0, n2->layers[l].nw * sizeof(float));
    tc.consolidation.fisher_samples = 10;
    CHECK_OK(rw_consolidation_end_task(n2, ds, &tc, &rng, &err), &err);
    CHECK(rw_consolidation_importance(n2) > 0.0);
    rw_net_free(n2);
    rw_dataset_free(ds);
    rw_net_free(net);
}

static void test_ewc_lambda_zero_is_naive(void)
{
    rw_error err;
    rw_tasks *t = two_tasks();
    rw_continual_config cc = quick_config();
    rw_net *a = mlp(2, 16, 4, 1.0, 21), *b = rw_net_clone(a, &err);
    rw_continual_result ra, rb;
    CHECK_OK(rw_continual_run(a, t, &cc, &ra, &err), &err);
    cc.train.consolidation.kind = RW_CONSOLIDATE_EWC;
    cc.train.consolidation.lambda = 0.0;
    CHECK_OK(rw_continual_run(b, t, &cc, &rb, &err), &err);
    CHECK(memcmp(ra.matrix, rb.matrix, 4 * sizeof(double)) == 0);
    for (size_t l = 0; l < a->n_layers; l++)
        CHECK(memcmp(a->layers[l].w, b->layers[l].w,
                     a->layers[l].nw * sizeof(float)) == 0);
    /* EWC did compute its Fisher, it just had no weight. */
    CHECK(rw_consolidation_importance(b) > 0.0);
    /* A strong penalty runs too (class-incremental EWC cannot keep A's
     * classes on the same inputs; the matrix just has to be sound). */
    rw_net *c = mlp(2, 16, 4, 1.0, 21);
    rw_continual_result rc;
    cc.train.consolidation.lambda = 1e4;
    CHECK_OK(rw_continual_run(c, t, &cc, &rc, &err), &err);
    CHECK(isfinite(rc.average_accuracy));
    rw_continual_result_free(&ra);
    rw_continual_result_free(&rb);
    rw_continual_result_free(&rc);
    rw_net_free(a);
    rw_net_free(b);
    rw_net_free(c);
    rw_tasks_free(t);
}

/* SI by hand: one SGD step of lr on gradient g moves p by -lr g, so the
 * path gains g * lr g; the importance becomes lr g^2 / ((lr g)^2 + xi). */
static void test_si_by_hand(void)
{
    rw_error err;
    rw_net *net = mlp(2, 0, 2, 1.0, 4);
    rw_train_config tc = rw_train_defaults();
    tc.consolidation.kind = RW_CONSOLIDATE_SI;
    tc.consolidation.lambda = 1.0;
    tc.consolidation.si_xi = 0.1;
    tc.optim = rw_optim_defaults(RW_OPT_SGD);
    CHECK_OK(rw_consolidation_begin(net, &tc, &err), &err);
    const float x[2] = {1.0f, -2.0f};
    const int32_t y[1] = {1};
    CHECK_OK(rw_net_gradient(net, x, y, NULL, 1, NULL, NULL, &err), &err);
    rw_consolidation_after_gradient(net, &tc);
    rw_layer *L = &net->layers[0];
    float g[4], b0[4];
    memcpy(g, L->gw, sizeof g);
    memcpy(b0, L->w, sizeof b0);
    const double lr = 0.5;
    CHECK_OK(rw_net_step(net, &tc.optim, lr, &err), &err);
    rw_consolidation_after_step(net, &tc);
    for (int k = 0; k < 4; k++)
        CHECK_CLOSE(L->si_path[k], lr * g[k] * g[k], 1e-7, 1e-5);
    rw_rng rng;
    rw_rng_seed(&rng, 1);
    CHECK_OK(rw_consolidation_end_task(net, NULL, &tc, &rng, &err), &err);
    for (int k = 0; k < 4; k++) {
        double dp = L->w[k] - b0[k];
        CHECK_CLOSE(L->imp[k], lr * g[k] * g[k] / (dp * dp + 0.1), 1e-7, 1e-4);
        CHECK(L->si_path[k] == 0.0f && L->anchor[k] == L->w[k]);
    }
    /* A negative path (the loss went up) adds nothing. */
    float before = L->imp[0];
    L->si_path[0] = -5.0f;
    CHECK_OK(rw_consolidation_end_task(net, NULL, &tc, &rng, &err), &err);
    CHECK(L->imp[0] == before);
    /* Bad settings are refused. */
    tc.consolidation.si_xi = 0.0;
    CHECK(rw_consolidation_begin(net, &tc, &err) == RW_ERR_ARG);
    tc.consolidation.si_xi = 0.1;
    tc.consolidation.lambda = -1.0;
    CHECK(rw_consolidation_begin(net, &tc, &err) == RW_ERR_ARG);
    rw_net_free(net);
}

/* SI's path uses the task's own gradient: with a strong penalty and
 * clipping in the step, omega = -g_task * dw (it used to take the gradient
 * of the step, penalty and clipping included). One full batch, SGD. */
static void test_si_task_gradient(void)
{
    rw_error err;
    rw_net *net = mlp(2, 6, 2, 1.0, 8);
    rw_dataset *ds = blobs(16, 0, 2, 9);
    rw_train_config tc = rw_train_defaults();
    tc.consolidation.kind = RW_CONSOLIDATE_SI;
    tc.consolidation.lambda = 5.0;
    tc.optim = rw_optim_defaults(RW_OPT_SGD);
    tc.epochs = 1;
    tc.batch = 16;
    tc.lr = 0.1;
    tc.clip_grad = 0.05;
    /* Importance and an anchor away from the weights: a penalty. */
    CHECK_OK(rw_consolidation_begin(net, &tc, &err), &err);
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw; k++) {
            L->imp[k] = 1.0f;
            L->anchor[k] = L->w[k] + 0.5f;
        }
    }
    rw_net *ref = rw_net_clone(net, &err);
    CHECK_OK(rw_net_gradient(ref, ds->x, ds->labels, NULL, 16, NULL, NULL, &err),
             &err);
    CHECK_OK(rw_train(net, ds, NULL, &tc, NULL, &err), &err);
    double worst = 0.0, old_rule = 0.0, scale = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l], *R = &ref->layers[l];
        for (size_t k = 0; k < L->nw; k++) {
            double dw = (double)L->w[k] - R->w[k];
            double want = -(double)R->gw[k] * dw;
            worst = fmax(worst, fabs(L->si_path[k] - want));
            /* the step's gradient is -dw / lr */
            old_rule = fmax(old_rule, fabs(L->si_path[k] - dw * dw / tc.lr));
            scale = fmax(scale, fabs(want));
        }
    }
    CHECK(scale > 1e-6);
    CHECK_MSG(worst <= 1e-3 * scale, "path off by %g (scale %g)", worst, scale);
    CHECK_MSG(old_rule > 0.1 * scale, "the test cannot tell the rules apart");
    rw_net_free(ref);
    rw_dataset_free(ds);
    rw_net_free(net);
}

/* A connection grown by SET starts its SI path (and its anchor) at its
 * first weight: a step that changes nothing adds nothing to the path. It
 * used to start from 0, adding -g * w for a jump never taken. */
static void test_si_grown(void)
{
    rw_error err;
    rw_net *net = mlp(6, 12, 3, 0.4, 10);
    rw_dataset *ds = blobs(12, 0, 3, 11);
    rw_dataset *wide = NULL;
    {
        float x[12 * 6];
        for (size_t j = 0; j < 12; j++)
            for (size_t i = 0; i < 6; i++)
                x[j * 6 + i] = ds->x[j * 2 + i % 2] * (float)(i + 1) * 0.3f;
        wide = rw_dataset_from_arrays(x, ds->labels, NULL, 12, 6, 0, 3, &err);
    }
    rw_train_config tc = rw_train_defaults();
    tc.consolidation.kind = RW_CONSOLIDATE_SI;
    tc.optim = rw_optim_defaults(RW_OPT_SGD);
    CHECK_OK(rw_consolidation_begin(net, &tc, &err), &err);
    CHECK_OK(rw_net_gradient(net, wide->x, wide->labels, NULL, 12, NULL, NULL,
                             &err), &err);
    rw_rng rng;
    rw_rng_seed(&rng, 12);
    rw_rewire_stats st[RW_MAX_LAYERS];
    CHECK_OK(rw_net_rewire(net, RW_REWIRE_SET, 0.5, &rng, st, &err), &err);
    CHECK(st[0].grown > 0);
    size_t bad = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw; k++)
            bad += L->si_prev[k] != L->w[k] || L->anchor[k] != L->w[k];
    }
    CHECK_MSG(bad == 0, "%zu connections start their path elsewhere", bad);
    CHECK_OK(rw_net_gradient(net, wide->x, wide->labels, NULL, 12, NULL, NULL,
                             &err), &err);
    rw_consolidation_after_gradient(net, &tc);
    CHECK_OK(rw_net_step(net, &tc.optim, 0.0, &err), &err);
    rw_consolidation_after_step(net, &tc);
    for (size_t l = 0; l < net->n_layers; l++)
        for (size_t k = 0; k < net->layers[l].nw; k++)
            bad += net->layers[l].si_path[k] != 0.0f;
    CHECK_MSG(bad == 0, "%zu paths moved without a step", bad);
    rw_dataset_free(wide);
    rw_dataset_free(ds);
    rw_net_free(net);
}

/* EWC's Fisher pass indexes the outputs by label: a label beyond the
 * network's classes is refused before anything changes. */
static void test_ewc_bad_labels(void)
{
    rw_error err;
    rw_net *net = mlp(2, 4, 3, 1.0, 13);
    const float x[8] = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f};
    const int32_t y[4] = {0, 1, 4, 2}; /* 4: outside 3 classes */
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, 4, 2, 0, 5, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    rw_train_config tc = rw_train_defaults();
    tc.consolidation.kind = RW_CONSOLIDATE_EWC;
    tc.consolidation.lambda = 1.0;
    tc.consolidation.fisher_samples = 0;
    rw_rng rng;
    rw_rng_seed(&rng, 1);
    CHECK(rw_consolidation_end_task(net, ds, &tc, &rng, &err) == RW_ERR_DATA);
    CHECK_MSG(strstr(err.msg, "label 4") != NULL, "unclear: %s", err.msg);
    CHECK(rw_consolidation_importance(net) == 0.0);
    rw_dataset_free(ds);
    rw_net_free(net);
}

/* replay_batch 0 with a replay set means `batch` rehearsal samples per
 * batch (as in rw_continual), not rehearsal silently off. */
static void test_replay_batch_zero(void)
{
    rw_error err;
    rw_dataset *a = blobs(40, 0, 2, 21), *mem = blobs(20, 2, 2, 22);
    rw_net *n0 = mlp(2, 8, 4, 1.0, 23);
    rw_net *n1 = rw_net_clone(n0, &err), *n2 = rw_net_clone(n0, &err);
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 2;
    tc.batch = 10;
    tc.replay = mem;
    tc.replay_batch = 0;
    CHECK_OK(rw_train(n0, a, NULL, &tc, NULL, &err), &err);
    tc.replay_batch = 10;
    CHECK_OK(rw_train(n1, a, NULL, &tc, NULL, &err), &err);
    tc.replay = NULL;
    CHECK_OK(rw_train(n2, a, NULL, &tc, NULL, &err), &err);
    rw_layer *L0 = &n0->layers[0], *L1 = &n1->layers[0], *L2 = &n2->layers[0];
    CHECK(!memcmp(L0->w, L1->w, L0->nw * sizeof(float)));
    CHECK(memcmp(L0->w, L2->w, L0->nw * sizeof(float)) != 0);
    rw_net_free(n0);
    rw_net_free(n1);
    rw_net_free(n2);
    rw_dataset_free(a);
    rw_dataset_free(mem);
}

/* ---------------- rewiring keeps what consolidation protects ---------- */

static void test_protect_rewiring(void)
{
    /* Layer 0 (8 x 8 at density 0.5: 32 connections) gets weights of
     * alternating sign with |w| = 0.10, 0.11, ..., 0.41, and the 6 smallest
     * (|w| <= 0.15) importance 1 (the rest 0): with strength 1, keep =
     * imp / mean = 32/6,
     * which lifts their drop keys |w| (1 + keep) above 0.63, beyond every
     * other connection's. SET drops 30% of each sign: unprotected, the 6
     * marked go first; protected, none of them. */
    rw_error err;
    for (int protect = 0; protect < 2; protect++) {
        rw_net *net = mlp(8, 8, 4, 0.5, 31);
        rw_layer *L = &net->layers[0];
        CHECK(L->kind == RW_LAYER_SPARSE && L->nw == 32);
        rw_train_config tc = rw_train_defaults();
        tc.consolidation.kind = RW_CONSOLIDATE_SI;
        tc.consolidation.lambda = 1.0;
        tc.consolidation.protect_rewiring = protect;
        tc.consolidation.protect_strength = 1.0;
        rw_rng rng;
        rw_rng_seed(&rng, 5);
        CHECK_OK(rw_consolidation_begin(net, &tc, &err), &err);
        for (size_t l = 0; l < net->n_layers; l++)
            memset(net->layers[l].imp, 0, net->layers[l].nw * sizeof(float));
        for (size_t k = 0; k < L->nw; k++) {
            float mag = 0.10f + 0.01f * (float)k;
            L->w[k] = k % 2 ? -mag : mag;
            L->imp[k] = k < 6 ? 1.0f : 0.0f;
        }
        /* SI's path is empty, so the end of task keeps these importances
         * (and, protected, sets keep from them). */
        CHECK_OK(rw_consolidation_end_task(net, NULL, &tc, &rng, &err), &err);
        CHECK_CLOSE(rw_consolidation_importance(net), 6.0, 0, 1e-6);
        if (protect)
            CHECK_CLOSE(L->keep[0], 32.0 / 6.0, 0, 1e-6);
        else
            CHECK(L->keep == NULL);
        rw_rewire_stats st[RW_MAX_LAYERS];
        CHECK_OK(rw_net_rewire(net, RW_REWIRE_SET, 0.3, &rng, st, &err), &err);
        CHECK(st[0].dropped == 8 && L->nw == 32);
        double kept = rw_consolidation_importance(net) / 6.0;
        CHECK_MSG(kept == (protect ? 1.0 : 0.0), "protect %d: kept %g",
                  protect, kept);
        /* The strength scales keep (the default is 10). */
        tc.consolidation.protect_strength = 10.0;
        CHECK_OK(rw_consolidation_end_task(net, NULL, &tc, &rng, &err), &err);
        if (protect) {
            size_t k = 0;
            while (k < L->nw && L->imp[k] == 0.0f)
                k++;
            CHECK(k < L->nw && fabsf(L->keep[k] - 10.0f * 32.0f / 6.0f) < 1e-4f);
        }
        tc.consolidation.protect_strength = -1.0;
        CHECK(rw_consolidation_end_task(net, NULL, &tc, &rng, &err) ==
              (protect ? RW_ERR_ARG : RW_OK));
        rw_net_free(net);
    }
}

/* ---------------- task sequences ---------------- */

static void test_sequences(void)
{
    rw_error err;
    rw_dataset *tr = blobs(120, 0, 6, 1), *te = blobs(60, 0, 6, 2);
    /* Split: 6 classes in tasks of 4 then 2. */
    rw_tasks *s = rw_tasks_split(tr, te, 4, &err);
    CHECK(s && rw_tasks_count(s) == 2 && rw_tasks_classes(s) == 6);
    CHECK(strcmp(rw_tasks_name(s, 0), "classes 0,1,2,3") == 0);
    CHECK(rw_dataset_size(rw_tasks_test(s, 0)) == 40);
    CHECK(rw_dataset_size(rw_tasks_test(s, 1)) == 20);
    const rw_dataset *s1 = rw_tasks_train(s, 1, &err);
    CHECK(s1 && rw_dataset_size(s1) == 40);
    for (size_t i = 0; s1 && i < rw_dataset_size(s1); i++)
        CHECK(rw_dataset_labels(s1)[i] >= 4 && rw_dataset_labels(s1)[i] < 6);
    int32_t groups[6];
    CHECK_OK(rw_tasks_class_groups(s, groups, &err), &err);
    const int32_t want[6] = {0, 0, 0, 0, 1, 1};
    CHECK(memcmp(groups, want, sizeof want) == 0);
    CHECK(rw_tasks_train(s, 2, &err) == NULL && err.status == RW_ERR_ARG);
    rw_tasks_free(s);

    /* Permuted: each task a bijection of the features, seeded. */
    rw_tasks *p = rw_tasks_permuted(tr, te, 3, 7, &err);
    rw_tasks *q = rw_tasks_permuted(tr, te, 3, 7, &err);
    CHECK(p && rw_tasks_count(p) == 3);
    for (size_t k = 0; k < 3; k++) {
        const rw_dataset *a = rw_tasks_train(p, k, &err);
        const rw_dataset *b = rw_tasks_train(q, k, &err);
        CHECK(memcmp(rw_dataset_x(a), rw_dataset_x(b), 240 * sizeof(float)) == 0);
        for (size_t i = 0; i < 120; i++) {
            const float *u = rw_dataset_x(a) + 2 * i, *v = rw_dataset_x(tr) + 2 * i;
            CHECK((u[0] == v[0] && u[1] == v[1]) || (u[0] == v[1] && u[1] == v[0]));
        }
        CHECK(rw_dataset_size(rw_tasks_test(p, k)) == 60);
    }
    CHECK(rw_tasks_class_groups(p, groups, &err) == RW_ERR_DATA);
    rw_tasks_free(p);
    rw_tasks_free(q);
    CHECK(rw_tasks_split(tr, te, 0, &err) == NULL);
    CHECK(rw_tasks_permuted(tr, te, 0, 1, &err) == NULL);
    rw_tasks_free(NULL);
    rw_dataset_free(tr);
    rw_dataset_free(te);
}

static void test_masking(void)
{
    /* Two columns (B = 2), classes grouped {0,1}, {2}, {3}. */
    float p[8] = {0.1f, 0.4f, 0.3f, 0.1f, 0.4f, 0.2f, 0.2f, 0.3f};
    const int32_t labels[2] = {1, 3}, groups[4] = {0, 0, 1, 2};
    rw_mask_class_groups(p, labels, groups, 4, 2);
    CHECK_CLOSE(p[0], 0.25, 1e-6, 0);
    CHECK_CLOSE(p[2], 0.75, 1e-6, 0);
    CHECK(p[4] == 0.0f && p[6] == 0.0f);
    CHECK(p[1] == 0.0f && p[3] == 0.0f && p[5] == 0.0f);
    CHECK_CLOSE(p[7], 1.0, 1e-6, 0);
    /* Everything underflowed: uniform within the group. */
    float z[2] = {0.0f, 0.0f};
    const int32_t one[1] = {0}, g2[2] = {0, 0};
    rw_mask_class_groups(z, one, g2, 2, 1);
    CHECK(z[0] == 0.5f && z[1] == 0.5f);
}

/* rw_train's per-epoch test accuracy follows the task-incremental groups:
 * trained on task A ({0,1}), then on task B ({2,3}) and tested on A, the
 * plain argmax picks B's classes while the grouped prediction stays within
 * A's. */
static void test_train_reports_grouped_accuracy(void)
{
    rw_error err;
    rw_net *net = mlp(2, 8, 4, 1.0, 3);
    rw_dataset *a = blobs(200, 0, 2, 11), *at = blobs(40, 0, 2, 12);
    rw_dataset *b = blobs(200, 2, 2, 13);
    const int32_t groups[4] = {0, 0, 1, 1};
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 3;
    tc.batch = 20;
    tc.lr = 0.02;
    tc.class_groups = groups;
    rw_train_result res;
    CHECK_OK(rw_train(net, a, NULL, &tc, NULL, &err), &err);
    CHECK_OK(rw_train(net, b, at, &tc, &res, &err), &err);
    double grouped;
    CHECK_OK(rw_continual_accuracy(net, at, groups, &grouped, &err), &err);
    rw_eval_result plain;
    CHECK_OK(rw_net_evaluate(net, at, &plain, NULL, &err), &err);
    CHECK_MSG(res.test_accuracy == grouped,
              "per-epoch accuracy %g, grouped %g", res.test_accuracy, grouped);
    CHECK_MSG(plain.accuracy != grouped, "the case does not tell them apart "
              "(plain %g, grouped %g)", plain.accuracy, grouped);
    rw_dataset_free(a);
    rw_dataset_free(b);
    rw_dataset_free(at);
    rw_net_free(net);
}

int main(void)
{
    /* Every pass that can use the threads does, however small, so that the
     * comparisons of 1 and 2 threads run the parallel code. */
    rw_set_par_min_work(0);
    rw_set_threads(2);
    test_metrics();
    test_matrix_bookkeeping();
    test_interrupt_and_errors();
    test_reservoir();
    test_replay_run();
    penalty_gradcheck(RW_CONSOLIDATE_EWC, 1.0);
    penalty_gradcheck(RW_CONSOLIDATE_SI, 1.0);
    penalty_gradcheck(RW_CONSOLIDATE_EWC, 0.6);
    test_fisher_by_hand();
    fisher_vs_single_samples(1.0);
    fisher_vs_single_samples(0.5);
    test_ewc_lambda_zero_is_naive();
    test_si_by_hand();
    test_si_task_gradient();
    test_si_grown();
    test_ewc_bad_labels();
    test_replay_batch_zero();
    test_protect_rewiring();
    test_sequences();
    test_masking();
    test_train_reports_grouped_accuracy();
    TEST_MAIN_END();
}
