/* Diagnostics of plasticity and the maintenance methods (src/plasticity/diagnostics.c,
 * src/plasticity/maintain.c): effective rank and dormant fraction of known matrices,
 * CBP's bias compensation and replacement count, ReDo's choice of units,
 * shrink and perturb's identity, and L2 Init's gradient. */
#include "check.h"
#include "internal.h"

#include <string.h>

static rw_net *make_net(size_t in, const size_t *hidden, size_t nh, size_t out,
                        rw_loss loss, int sparse, uint64_t seed)
{
    rw_net_config cfg;
    rw_error err;
    if (rw_net_config_mlp(&cfg, in, hidden, nh, out, RW_ACT_RELU, loss, &err) != RW_OK)
        return NULL;
    cfg.seed = seed;
    if (sparse)
        for (size_t l = 0; l < nh; l++) {
            cfg.layers[l].kind = RW_LAYER_SPARSE;
            cfg.layers[l].density = 0.5;
        }
    return rw_net_create(&cfg, &err);
}

static void fill_x(float *x, size_t n, uint64_t seed)
{
    rw_rng r;
    rw_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(2.0 * rw_rng_uniform(&r) - 1.0);
}

static void test_effective_rank(void)
{
    rw_error err;
    double r = -1;
    /* Identity: four equal singular values, rank 4. */
    float eye[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    CHECK_OK(rw_effective_rank(eye, 4, 4, &r, &err), &err);
    CHECK_CLOSE(r, 4.0, 1e-9, 0);
    /* Singular values 3 and 1: p = (3/4, 1/4), exp(H) by hand. */
    float d31[6] = {3, 0, 0, 1, 0, 0}; /* 3 x 2 */
    CHECK_OK(rw_effective_rank(d31, 3, 2, &r, &err), &err);
    CHECK_CLOSE(r, 1.7547653506, 1e-8, 0); /* exp(-(.75 ln .75 + .25 ln .25)) */
    /* Rank one: rows are multiples of (1, 2). */
    float r1[6] = {1, 2, 2, 4, 3, 6};
    CHECK_OK(rw_effective_rank(r1, 3, 2, &r, &err), &err);
    CHECK_CLOSE(r, 1.0, 1e-6, 0);
    /* A rotation of diag(2, 2): rank 2 whatever the basis. */
    float rot[4] = {1.41421356f, -1.41421356f, 1.41421356f, 1.41421356f};
    CHECK_OK(rw_effective_rank(rot, 2, 2, &r, &err), &err);
    CHECK_CLOSE(r, 2.0, 1e-6, 0);
    float z[6] = {0};
    CHECK_OK(rw_effective_rank(z, 2, 3, &r, &err), &err);
    CHECK(r == 0.0);
    CHECK(rw_effective_rank(z, 0, 3, &r, &err) == RW_ERR_ARG);
}

static void test_dormant_fraction(void)
{
    /* 4 samples x 4 units: mean |h| = 0, 1, 2, 0.1; layer mean 0.775, so
     * the scores are 0, 1.29, 2.58, 0.129. */
    float a[16] = {0, 1, 2, 0.1f,  0, -1, 2, -0.1f,  0, 1, -2, 0.1f,  0, 1, 2, 0.1f};
    CHECK_CLOSE(rw_dormant_fraction(a, 4, 4, 0.0), 0.25, 1e-12, 0);
    CHECK_CLOSE(rw_dormant_fraction(a, 4, 4, 0.1), 0.25, 1e-12, 0);
    CHECK_CLOSE(rw_dormant_fraction(a, 4, 4, 0.2), 0.50, 1e-12, 0);
    CHECK_CLOSE(rw_dormant_fraction(a, 4, 4, 1.3), 0.75, 1e-12, 0);
    CHECK_CLOSE(rw_dormant_fraction(a, 4, 4, 2.6), 1.00, 1e-12, 0);
    float z[4] = {0};
    CHECK_CLOSE(rw_dormant_fraction(z, 2, 2, 0.0), 1.0, 1e-12, 0);
}

/* rw_net_diagnose: a unit killed by a large negative bias is dormant, the
 * mean |w| matches a direct sum, and the rank is that of the hidden
 * activations computed by hand. */
static void test_net_diagnose(void)
{
    rw_error err;
    size_t h[1] = {6};
    rw_net *net = make_net(5, h, 1, 3, RW_LOSS_CROSS_ENTROPY, 0, 3);
    CHECK(net != NULL);
    if (!net)
        return;
    rw_layer *L = &net->layers[0];
    for (size_t i = 0; i < 5; i++)
        L->w[2 * 5 + i] = -1.0f;
    L->b[2] = -100.0f;
    float x[50 * 5];
    fill_x(x, 50 * 5, 9);
    rw_diagnostics d;
    CHECK_OK(rw_net_diagnose(net, x, 50, 0.0, &d, &err), &err);
    CHECK(isnan(d.dormant_fraction[1]) && isnan(d.effective_rank[1]));
    double s = 0;
    for (size_t k = 0; k < L->nw; k++)
        s += fabsf(L->w[k]);
    CHECK_CLOSE(d.mean_abs_w[0], s / (double)L->nw, 1e-12, 1e-9);
    /* The same rank from the activations, computed outside the net. */
    float hid[50 * 6];
    for (size_t b = 0; b < 50; b++)
        for (size_t o = 0; o < 6; o++) {
            double z = L->b[o];
            for (size_t i = 0; i < 5; i++)
                z += (double)L->w[o * 5 + i] * x[b * 5 + i];
            hid[b * 6 + o] = z > 0 ? (float)z : 0.0f;
        }
    double r;
    CHECK_CLOSE(d.dormant_fraction[0], rw_dormant_fraction(hid, 50, 6, 0.0), 1e-12, 0);
    CHECK(d.dormant_fraction[0] >= 1.0 / 6.0 - 1e-12);
    CHECK_OK(rw_effective_rank(hid, 50, 6, &r, &err), &err);
    CHECK_CLOSE(d.effective_rank[0], r, 1e-4, 1e-4);
    CHECK(d.effective_rank[0] > 1.0 && d.effective_rank[0] <= 5.0 + 1e-9);
    rw_net_free(net);
}

/* CBP: a unit whose output is the constant 0.7 is replaced; its mean goes
 * into the next layer's bias, so the outputs do not change (float
 * precision). Without the compensation they do, which shows the test can
 * fail. Dense and sparse layers. */
static void test_cbp_compensation(int sparse, int compensate)
{
    rw_error err;
    size_t h[2] = {8, 6};
    rw_net *net = make_net(5, h, 2, 3, RW_LOSS_MSE, sparse, 11);
    CHECK(net != NULL);
    if (!net)
        return;
    rw_layer *L = &net->layers[0], *N = &net->layers[1];
    size_t j = 3;
    size_t k0 = sparse ? L->row_ptr[j] : j * 5, k1 = sparse ? L->row_ptr[j + 1] : k0 + 5;
    for (size_t k = k0; k < k1; k++)
        L->w[k] = 0.0f;
    L->b[j] = 0.7f;
    rw_train_config tc = rw_train_defaults();
    tc.maintain.kind = RW_MAINTAIN_CBP;
    tc.maintain.cbp_rho = 0.0; /* ages only: the replacement is ours */
    CHECK_OK(rw_maintain_begin(net, &tc, &err), &err);
    float x[20 * 5], t[20 * 3] = {0};
    fill_x(x, sizeof x / sizeof x[0], 5);
    double loss;
    for (int s = 0; s < 7; s++) {
        CHECK_OK(rw_net_gradient(net, x, NULL, t, 20, &loss, NULL, &err), &err);
        rw_maintain_after_backward(net, &tc, 20);
        CHECK_OK(rw_maintain_after_step(net, &tc, (size_t)s + 1, NULL, NULL, &err), &err);
    }
    float before[20 * 3], after[20 * 3];
    CHECK_OK(rw_net_predict(net, x, 20, before, &err), &err);
    size_t nnz_row = k1 - k0, nw_next = N->nw;
    float bias_next0 = N->b[0];
    rw_rng rng;
    rw_rng_seed(&rng, 4);
    CHECK_OK(rw_maintain_reinit_unit(net, 0, j, compensate, &rng, &err), &err);
    CHECK_OK(rw_net_predict(net, x, 20, after, &err), &err);
    double maxd = 0;
    for (size_t i = 0; i < 20 * 3; i++)
        maxd = fmax(maxd, fabs((double)after[i] - before[i]));
    if (compensate) {
        CHECK_MSG(maxd <= 1e-5, "outputs moved by %g (sparse %d)", maxd, sparse);
        CHECK(N->b[0] != bias_next0 || N->w[sparse ? 0 : j] == 0.0f);
    } else {
        CHECK_MSG(maxd > 1e-3, "without compensation the outputs should move (%g)", maxd);
    }
    /* Fresh incoming weights, bias 0, outgoing weights 0. */
    size_t nk0 = sparse ? L->row_ptr[j] : j * 5, nk1 = sparse ? L->row_ptr[j + 1] : nk0 + 5;
    CHECK(nk1 - nk0 == nnz_row);
    int nonzero = 0;
    for (size_t k = nk0; k < nk1; k++) {
        nonzero += L->w[k] != 0.0f;
        CHECK(fabsf(L->w[k]) <= sqrtf(6.0f / (float)nnz_row) + 1e-6f);
        if (sparse && k > nk0)
            CHECK((L->col[k] & RW_COL_MASK) > (L->col[k - 1] & RW_COL_MASK));
    }
    CHECK(nonzero > 0 && L->b[j] == 0.0f);
    CHECK(N->nw == nw_next);
    if (!sparse)
        for (size_t o = 0; o < N->out; o++)
            CHECK(N->w[o * N->in + j] == 0.0f);
    else
        for (size_t tt = N->tcol_ptr[j]; tt < N->tcol_ptr[j + 1]; tt++)
            CHECK(N->w[N->t_k[tt]] == 0.0f);
    rw_net_free(net);
}

typedef struct counts {
    size_t n, per_epoch[64];
} counts;

static int count_epoch(const rw_epoch_stats *s, void *user)
{
    counts *c = user;
    if (c->n < 64)
        c->per_epoch[c->n++] = s->units_reset[0];
    return 0;
}

/* CBP replaces rho x (eligible units) per step, carrying fractions over,
 * and never a unit younger than the maturity threshold: the counts per
 * epoch equal a simulation of the rule. */
static void test_cbp_count(void)
{
    rw_error err;
    size_t H = 100, h[1] = {H};
    rw_net *net = make_net(4, h, 1, 3, RW_LOSS_CROSS_ENTROPY, 0, 2);
    float x[10 * 4];
    int32_t y[10];
    fill_x(x, 40, 8);
    for (int i = 0; i < 10; i++)
        y[i] = i % 3;
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, 10, 4, 0, 3, &err);
    CHECK(net && ds);
    if (!net || !ds)
        return;
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 8;
    tc.batch = 1;
    tc.optim = rw_optim_defaults(RW_OPT_SGD);
    tc.lr = 0.01;
    tc.maintain.kind = RW_MAINTAIN_CBP;
    tc.maintain.cbp_rho = 0.013;
    tc.maintain.cbp_maturity = 10;
    counts c = {0};
    tc.on_epoch = count_epoch;
    tc.user = &c;
    CHECK_OK(rw_train(net, ds, NULL, &tc, NULL, &err), &err);
    /* The simulation: which eligible units go does not change the count. */
    uint64_t age[100] = {0};
    double acc = 0;
    size_t total_sim = 0, total = 0;
    for (size_t e = 0; e < 8; e++) {
        size_t per = 0;
        for (size_t s = 0; s < 10; s++) {
            size_t ne = 0;
            for (size_t u = 0; u < H; u++)
                ne += ++age[u] > 10;
            if (!ne)
                continue;
            acc += 0.013 * (double)ne;
            if (acc < 1.0)
                continue;
            size_t r = (size_t)acc;
            acc -= (double)r;
            for (size_t u = 0, done = 0; u < H && done < r; u++)
                if (age[u] > 10) {
                    age[u] = 0;
                    done++;
                }
            per += r;
        }
        CHECK(c.n == 8);
        CHECK_MSG(c.per_epoch[e] == per, "epoch %zu: %zu replaced, expected %zu",
                  e + 1, c.per_epoch[e], per);
        total_sim += per;
        total += c.per_epoch[e];
    }
    CHECK(c.per_epoch[0] == 0); /* steps 1..10: nobody is past maturity */
    rw_train_config bad = tc;
    bad.plasticity.neuron_turnover = 1;
    CHECK(rw_train(net, ds, NULL, &bad, NULL, &err) == RW_ERR_UNSUPPORTED);
    CHECK(total == total_sim && total > 5);
    rw_dataset_free(ds);
    rw_net_free(net);
}

/* ReDo recycles the dormant units and nothing else: the other units'
 * weights equal those of the same step without ReDo. */
static void test_redo_only_dormant(void)
{
    rw_error err;
    size_t h[1] = {6};
    rw_net *net = make_net(4, h, 1, 3, RW_LOSS_CROSS_ENTROPY, 0, 21);
    float x[8 * 4];
    int32_t y[8];
    fill_x(x, 32, 3);
    for (int i = 0; i < 8; i++)
        y[i] = i % 3;
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, 8, 4, 0, 3, &err);
    CHECK(net && ds);
    if (!net || !ds)
        return;
    rw_layer *L = &net->layers[0];
    const size_t dead[2] = {1, 4};
    for (int d = 0; d < 2; d++) {
        for (size_t i = 0; i < 4; i++)
            L->w[dead[d] * 4 + i] = -0.5f;
        L->b[dead[d]] = -10.0f;
    }
    rw_net *ref = rw_net_clone(net, &err);
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 1;
    tc.batch = 8;
    tc.maintain.kind = RW_MAINTAIN_REDO;
    tc.maintain.redo_every = 1;
    tc.maintain.redo_tau = 0.05;
    counts c = {0};
    tc.on_epoch = count_epoch;
    tc.user = &c;
    CHECK_OK(rw_train(net, ds, NULL, &tc, NULL, &err), &err);
    rw_train_config plain = tc;
    plain.maintain.kind = RW_MAINTAIN_NONE;
    plain.on_epoch = NULL;
    CHECK_OK(rw_train(ref, ds, NULL, &plain, NULL, &err), &err);
    CHECK(c.n == 1 && c.per_epoch[0] == 2);
    const rw_layer *R = &ref->layers[0], *N = &net->layers[1], *RN = &ref->layers[1];
    for (size_t o = 0; o < 6; o++) {
        int is_dead = o == 1 || o == 4;
        int same = memcmp(L->w + o * 4, R->w + o * 4, 4 * sizeof(float)) == 0 &&
                   L->b[o] == R->b[o];
        CHECK_MSG(is_dead ? !same : same, "unit %zu (dormant %d)", o, is_dead);
        for (size_t k = 0; k < 3; k++) {
            float w = N->w[k * 6 + o];
            CHECK(is_dead ? w == 0.0f : w == RN->w[k * 6 + o]);
        }
        if (is_dead)
            CHECK(L->b[o] == 0.0f && L->m1[o * 4] == 0.0f);
    }
    rw_dataset_free(ds);
    rw_net_free(net);
    rw_net_free(ref);
}

/* ReDo's schedule counts the network's steps, so it fires in a stream of
 * rw_train calls (tasks) shorter than its period: 3 calls of 2 steps with
 * redo_every 3 recycle twice (after steps 3 and 6). */
static void test_redo_across_calls(void)
{
    rw_error err;
    size_t h[1] = {6};
    rw_net *net = make_net(4, h, 1, 3, RW_LOSS_CROSS_ENTROPY, 0, 23);
    float x[2 * 4];
    int32_t y[2] = {0, 1};
    fill_x(x, 8, 4);
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, 2, 4, 0, 3, &err);
    CHECK(net && ds);
    if (!net || !ds)
        return;
    rw_layer *L = &net->layers[0];
    for (size_t i = 0; i < 4; i++)
        L->w[2 * 4 + i] = -0.5f;
    L->b[2] = -10.0f;
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 1;
    tc.batch = 1;
    tc.maintain.kind = RW_MAINTAIN_REDO;
    tc.maintain.redo_every = 3;
    tc.maintain.redo_tau = 0.0;
    size_t fired = 0;
    for (int call = 0; call < 3; call++) {
        counts c = {0};
        tc.on_epoch = count_epoch;
        tc.user = &c;
        /* Keep unit 2 dead, so every recycling finds it. */
        for (size_t i = 0; i < 4; i++)
            L->w[2 * 4 + i] = -0.5f;
        L->b[2] = -10.0f;
        CHECK_OK(rw_train(net, ds, NULL, &tc, NULL, &err), &err);
        fired += c.n ? (c.per_epoch[0] > 0) : 0;
    }
    CHECK_MSG(fired == 2, "ReDo fired in %zu of 3 calls, expected 2", fired);
    rw_dataset_free(ds);
    rw_net_free(net);
}

/* Shrink and perturb with lambda 1 and sigma 0 is the identity, in a
 * training run (bit for bit) and alone; lambda 0.5 halves. */
static void test_snp_identity(void)
{
    rw_error err;
    size_t h[1] = {7};
    rw_net *net = make_net(4, h, 1, 3, RW_LOSS_CROSS_ENTROPY, 1, 5);
    float x[16 * 4];
    int32_t y[16];
    fill_x(x, 64, 1);
    for (int i = 0; i < 16; i++)
        y[i] = i % 3;
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, 16, 4, 0, 3, &err);
    CHECK(net && ds);
    if (!net || !ds)
        return;
    rw_net *ref = rw_net_clone(net, &err);
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 2;
    tc.batch = 4;
    tc.maintain.kind = RW_MAINTAIN_SNP;
    tc.maintain.snp_lambda = 1.0;
    tc.maintain.snp_sigma = 0.0;
    CHECK_OK(rw_train(net, ds, NULL, &tc, NULL, &err), &err);
    rw_train_config plain = tc;
    plain.maintain.kind = RW_MAINTAIN_NONE;
    CHECK_OK(rw_train(ref, ds, NULL, &plain, NULL, &err), &err);
    for (size_t l = 0; l < 2; l++) {
        CHECK(memcmp(net->layers[l].w, ref->layers[l].w,
                     net->layers[l].nw * sizeof(float)) == 0);
        CHECK(memcmp(net->layers[l].b, ref->layers[l].b,
                     net->layers[l].out * sizeof(float)) == 0);
    }
    rw_rng rng;
    rw_rng_seed(&rng, 1);
    float w0 = net->layers[1].w[2];
    CHECK_OK(rw_net_shrink_perturb(net, 0.5, 0.0, &rng, &err), &err);
    CHECK(net->layers[1].w[2] == 0.5f * w0);
    CHECK(rw_net_shrink_perturb(net, 0.5, -1.0, &rng, &err) == RW_ERR_ARG);
    rw_dataset_free(ds);
    rw_net_free(net);
    rw_net_free(ref);
}

/* L2 Init: the gradient added is that of lambda ||p - p0||^2, checked by
 * central differences of the penalty, on a dense and a sparse layer. */
static void test_l2init_gradient(void)
{
    rw_error err;
    size_t h[1] = {5};
    rw_net *net = make_net(4, h, 1, 3, RW_LOSS_CROSS_ENTROPY, 1, 17);
    CHECK(net != NULL);
    if (!net)
        return;
    rw_train_config tc = rw_train_defaults();
    tc.maintain.kind = RW_MAINTAIN_L2INIT;
    tc.maintain.l2_lambda = 0.3;
    CHECK_OK(rw_maintain_begin(net, &tc, &err), &err);
    rw_rng rng;
    rw_rng_seed(&rng, 2);
    for (size_t l = 0; l < 2; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw; k++)
            L->w[k] += (float)(0.2 * rw_rng_normal(&rng));
        for (size_t o = 0; o < L->out; o++)
            L->b[o] += (float)(0.2 * rw_rng_normal(&rng));
        memset(L->gw, 0, L->nw * sizeof(float));
        memset(L->gb, 0, L->out * sizeof(float));
    }
    rw_maintain_after_backward(net, &tc, 1);
    double maxg = 0;
    for (size_t l = 0; l < 2; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw + L->out; k++) {
            float *p = k < L->nw ? &L->w[k] : &L->b[k - L->nw];
            float g = k < L->nw ? L->gw[k] : L->gb[k - L->nw];
            float p0 = *p, eps = 1e-2f;
            *p = p0 + eps;
            double fp = rw_maintain_penalty(net, &tc);
            *p = p0 - eps;
            double fm = rw_maintain_penalty(net, &tc);
            *p = p0;
            double fd = (fp - fm) / (2.0 * (double)eps);
            CHECK_CLOSE(g, fd, 1e-4, 1e-3);
            maxg = fmax(maxg, fabs(g));
        }
    }
    CHECK(maxg > 0.01); /* the gradient checked is not all zeros */
    CHECK(rw_maintain_penalty(net, &tc) > 0.0);
    rw_net_free(net);
}

/* Usage-aware drop: after training on data whose input 0 is always 0,
 * rewiring that drops as many connections as input 0 has drops exactly
 * those, and every other connection survives. */
static void test_usage_drop(void)
{
    rw_error err;
    size_t h[1] = {12};
    rw_net *net = make_net(6, h, 1, 3, RW_LOSS_CROSS_ENTROPY, 1, 31);
    float x[32 * 6];
    int32_t y[32];
    fill_x(x, 32 * 6, 12);
    for (int i = 0; i < 32; i++) {
        x[i * 6] = 0.0f;
        y[i] = i % 3;
    }
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, 32, 6, 0, 3, &err);
    CHECK(net && ds);
    if (!net || !ds)
        return;
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 3;
    tc.batch = 8;
    tc.drop_by_usage = 1;
    tc.plasticity.trace_rate = 0.2;
    CHECK_OK(rw_train(net, ds, NULL, &tc, NULL, &err), &err);
    rw_layer *L = &net->layers[0];
    CHECK(L->in_usage != NULL && L->in_usage[0] < 1e-3f && L->in_usage[1] > 0.05f);
    unsigned char had[12 * 6] = {0};
    size_t c0 = 0, nw = L->nw;
    for (size_t o = 0; o < 12; o++)
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
            uint32_t i = L->col[k] & RW_COL_MASK;
            had[o * 6 + i] = 1;
            c0 += i == 0;
        }
    CHECK(c0 >= 2);
    double loss;
    size_t correct;
    CHECK_OK(rw_net_gradient(net, x, y, NULL, 32, &loss, &correct, &err), &err);
    rw_rng rng;
    rw_rng_seed(&rng, 3);
    rw_rewire_stats st[2];
    CHECK_OK(rw_net_rewire(net, RW_REWIRE_RIGL, ((double)c0 + 0.5) / (double)nw,
                           &rng, st, &err), &err);
    CHECK(st[0].dropped == c0);
    size_t kept_other = 0, kept0 = 0;
    for (size_t o = 0; o < 12; o++)
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
            uint32_t i = L->col[k] & RW_COL_MASK;
            if (i == 0)
                kept0 += had[o * 6];
            else
                kept_other += had[o * 6 + i];
        }
    CHECK_MSG(kept0 == 0, "%zu connections from the unused input survived", kept0);
    CHECK(kept_other == nw - c0);
    rw_dataset_free(ds);
    rw_net_free(net);
}

int main(void)
{
    test_effective_rank();
    test_dormant_fraction();
    test_net_diagnose();
    test_cbp_compensation(0, 1);
    test_cbp_compensation(1, 1);
    test_cbp_compensation(0, 0);
    test_cbp_count();
    test_redo_only_dormant();
    test_redo_across_calls();
    test_snp_identity();
    test_l2init_gradient();
    test_usage_drop();
    TEST_MAIN_END();
}
