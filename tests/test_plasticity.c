/* Use it or lose it (src/plasticity/: traces.c, prune.c, hebbian.c, neurons.c):
 *   - credit, co-activation and activity traces against a hand computation
 *     (forward and backward in double here) on a tiny network over three
 *     steps, for a sparse and a dense layer;
 *   - the cubic schedule: its formula, and a training run in which every
 *     pruning event lands exactly on round(d(t) * in * out) connections,
 *     nothing changes between events, and the target density is reached
 *     exactly at the schedule's end and kept afterwards;
 *   - pruning removes exactly what is asked, lowest score first, never
 *     more (ties and protected connections included); pruning nothing
 *     changes nothing;
 *   - permanence hysteresis: a connection used again before its permanence
 *     falls below the threshold survives pruning, one neglected long enough
 *     goes;
 *   - Hebbian growth picks the most co-active unconnected pairs of a small
 *     layer (checked against every pair), and keeps a large layer valid;
 *   - neuron removal leaves the outputs unchanged when the removed neurons
 *     were silent or had no inputs, the saved model loads with the smaller
 *     layers, training continues; adding neurons changes no output;
 *     turnover during training removes dead neurons and regrows them;
 *   - traces survive a save and load. */
#include "check.h"
#include "internal.h"
#include "topology_check.h"

#include <string.h>
#include <unistd.h>

#ifndef RW_TMPDIR
#define RW_TMPDIR "."
#endif

/* ---------------- helpers ---------------- */

/* Sets a sparse layer's topology from a dense 0/1 pattern (O x I). */
static void set_pattern(rw_layer *L, const int *pat)
{
    size_t k = 0;
    L->row_ptr[0] = 0;
    for (size_t o = 0; o < L->out; o++) {
        for (size_t i = 0; i < L->in; i++)
            if (pat[o * L->in + i])
                L->col[k++] = (uint32_t)i | RW_COL_INITIAL;
        L->row_ptr[o + 1] = k;
    }
    L->nw = k;
    L->initial_nnz = L->initial_alive = k;
    rw_sparse_build_transpose(L);
}

static rw_net *make_net(size_t in, const size_t *hidden, size_t nh,
                        size_t out, const double *density, uint64_t seed)
{
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = seed;
    if (rw_net_config_mlp(&cfg, in, hidden, nh, out, RW_ACT_RELU,
                          RW_LOSS_CROSS_ENTROPY, &err) != RW_OK)
        return NULL;
    for (size_t l = 0; l <= nh; l++)
        if (density && density[l] > 0.0) {
            cfg.layers[l].kind = RW_LAYER_SPARSE;
            cfg.layers[l].density = density[l];
        }
    rw_net *net = rw_net_create(&cfg, &err);
    if (!net)
        fprintf(stderr, "make_net: %s\n", err.msg);
    return net;
}

/* A learnable random dataset: class = argmax of three fixed projections. */
static rw_dataset *make_data(size_t n, size_t f, uint64_t seed)
{
    rw_rng rng;
    rw_rng_seed(&rng, seed);
    float *x = malloc(n * f * sizeof *x);
    int32_t *y = malloc(n * sizeof *y);
    for (size_t j = 0; j < n; j++) {
        double s[3] = {0, 0, 0};
        for (size_t i = 0; i < f; i++) {
            float v = (float)rw_rng_uniform(&rng);
            x[j * f + i] = v;
            s[i % 3] += v * (double)((i * 7) % 5 + 1) / 3.0;
        }
        y[j] = s[0] > s[1] ? (s[0] > s[2] ? 0 : 2) : (s[1] > s[2] ? 1 : 2);
    }
    rw_error err;
    rw_dataset *ds = rw_dataset_from_arrays(x, y, NULL, n, f, 0, 3, &err);
    free(x);
    free(y);
    return ds;
}

/* ---------------- traces against a hand computation ---------------- */

static void test_traces_by_hand(void)
{
    /* 3 inputs -> sparse hidden 2 (relu) -> dense output 2 (softmax). */
    size_t hidden = 2;
    double dens[2] = {0.5, 0.0};
    rw_net *net = make_net(3, &hidden, 1, 2, dens, 3);
    rw_layer *H = &net->layers[0], *Y = &net->layers[1];
    static const int pat[6] = {1, 0, 1, /* o0: i0, i2 */ 0, 1, 1 /* o1 */};
    set_pattern(H, pat);
    const float wh[4] = {0.8f, -0.5f, 0.6f, 0.9f}; /* o0:i0,i2  o1:i1,i2 */
    memcpy(H->w, wh, sizeof wh);
    H->b[0] = 0.1f;
    H->b[1] = -0.2f;
    const float wy[4] = {0.7f, -0.4f, -0.3f, 0.5f}; /* 2 x 2, row-major */
    memcpy(Y->w, wy, sizeof wy);
    Y->b[0] = 0.05f;
    Y->b[1] = -0.05f;

    rw_train_config tc = rw_train_defaults();
    tc.plasticity.traces = 1;
    tc.plasticity.trace_rate = 0.25;
    rw_error err;
    CHECK_OK(rw_plasticity_begin(net, &tc, &err), &err);
    CHECK(H->credit && H->coact && H->activity && Y->credit && Y->coact && Y->activity);

    const double r = 0.25;
    double credit_h[4] = {0}, coact_h[4] = {0}, act_h[2] = {0};
    double credit_y[4] = {0}, coact_y[4] = {0}, act_y[2] = {0};
    const float X[3][2][3] = {{{1.0f, 0.5f, -0.2f}, {0.3f, -1.0f, 0.8f}},
                              {{-0.4f, 0.9f, 0.6f}, {1.2f, 0.1f, 0.0f}},
                              {{0.2f, 0.2f, 1.5f}, {-0.7f, 0.4f, 0.3f}}};
    const int32_t lab[3][2] = {{0, 1}, {1, 1}, {0, 0}};
    const size_t B = 2;
    const int hcols[4] = {0, 2, 1, 2}, hrow[4] = {0, 0, 1, 1};
    for (int s = 0; s < 3; s++) {
        double loss;
        CHECK_OK(rw_net_gradient(net, &X[s][0][0], lab[s], NULL, B, &loss, NULL, &err), &err);
        rw_plasticity_after_backward(net, &tc, B);
        /* The same step by hand, in double. */
        double z1[2][2], a1[2][2], p[2][2], d2[2][2], d1[2][2];
        for (int o = 0; o < 2; o++)
            for (size_t b = 0; b < B; b++) {
                double z = H->b[o];
                for (int k = 0; k < 4; k++)
                    if (hrow[k] == o)
                        z += (double)wh[k] * X[s][b][hcols[k]];
                z1[o][b] = z;
                a1[o][b] = z > 0 ? z : 0;
            }
        for (size_t b = 0; b < B; b++) {
            double z[2], m, e0, e1;
            for (int c = 0; c < 2; c++)
                z[c] = Y->b[c] + wy[c * 2] * a1[0][b] + wy[c * 2 + 1] * a1[1][b];
            m = z[0] > z[1] ? z[0] : z[1];
            e0 = exp(z[0] - m);
            e1 = exp(z[1] - m);
            p[0][b] = e0 / (e0 + e1);
            p[1][b] = e1 / (e0 + e1);
            for (int c = 0; c < 2; c++)
                d2[c][b] = (p[c][b] - (lab[s][b] == c)) / (double)B;
            for (int o = 0; o < 2; o++)
                d1[o][b] = (wy[o] * d2[0][b] + wy[2 + o] * d2[1][b]) *
                           (z1[o][b] > 0 ? 1.0 : 0.0);
        }
        for (int k = 0; k < 4; k++) {
            int o = hrow[k], i = hcols[k];
            double g = 0, c = 0;
            for (size_t b = 0; b < B; b++) {
                g += X[s][b][i] * d1[o][b];
                c += X[s][b][i] * a1[o][b];
            }
            credit_h[k] = (1 - r) * credit_h[k] + r * fabs(g);
            coact_h[k] = (1 - r) * coact_h[k] + r * c / (double)B;
        }
        for (int o = 0; o < 2; o++)
            act_h[o] = (1 - r) * act_h[o] + r * (fabs(a1[o][0]) + fabs(a1[o][1])) / 2.0;
        for (int c = 0; c < 2; c++) {
            for (int o = 0; o < 2; o++) {
                double g = 0, ca = 0;
                for (size_t b = 0; b < B; b++) {
                    g += a1[o][b] * d2[c][b];
                    ca += a1[o][b] * p[c][b];
                }
                credit_y[c * 2 + o] = (1 - r) * credit_y[c * 2 + o] + r * fabs(g);
                coact_y[c * 2 + o] = (1 - r) * coact_y[c * 2 + o] + r * ca / (double)B;
            }
            act_y[c] = (1 - r) * act_y[c] + r * (p[c][0] + p[c][1]) / 2.0;
        }
        for (int k = 0; k < 4; k++) {
            CHECK_CLOSE(H->credit[k], credit_h[k], 1e-7, 1e-5);
            CHECK_CLOSE(H->coact[k], coact_h[k], 1e-7, 1e-5);
            CHECK_CLOSE(Y->credit[k], credit_y[k], 1e-7, 1e-5);
            CHECK_CLOSE(Y->coact[k], coact_y[k], 1e-7, 1e-5);
        }
        for (int o = 0; o < 2; o++) {
            CHECK_CLOSE(H->activity[o], act_h[o], 1e-7, 1e-5);
            CHECK_CLOSE(Y->activity[o], act_y[o], 1e-7, 1e-5);
        }
    }
    /* The traces are not trivially zero. */
    CHECK(H->credit[0] > 1e-4f && H->coact[0] != 0.0f && H->activity[0] > 0.0f);

    /* Use-dependent decay: gradient + lambda * w / (1 + credit / mean). */
    tc.plasticity.usage_decay = 0.1;
    double loss;
    CHECK_OK(rw_net_gradient(net, &X[0][0][0], lab[0], NULL, B, &loss, NULL, &err), &err);
    float g0[4], c0[4];
    memcpy(g0, H->gw, sizeof g0);
    memcpy(c0, H->credit, sizeof c0);
    rw_plasticity_after_backward(net, &tc, B);
    double mean = 0;
    for (int k = 0; k < 4; k++)
        mean += (1 - r) * c0[k] + r * fabs(g0[k]);
    mean /= 4;
    for (int k = 0; k < 4; k++) {
        double ck = (1 - r) * c0[k] + r * fabs(g0[k]);
        CHECK_CLOSE(H->gw[k], g0[k] + 0.1 * wh[k] / (1.0 + ck / mean), 1e-7, 1e-5);
    }
    rw_net_free(net);
}

/* The co-activation kernel on a larger batch: the first 32 samples, four
 * connections at a time plus row tails, against a double computation. */
static void test_coact_kernel(void)
{
    size_t hidden = 30;
    double dens[2] = {0.3, 0.0};
    rw_net *net = make_net(50, &hidden, 1, 3, dens, 47);
    rw_train_config tc = rw_train_defaults();
    tc.plasticity.traces = 1;
    tc.plasticity.trace_rate = 0.5;
    rw_error err;
    CHECK_OK(rw_plasticity_begin(net, &tc, &err), &err);
    const size_t B = 40;
    float *x = malloc(B * 50 * sizeof *x);
    int32_t y[40];
    rw_rng rng;
    rw_rng_seed(&rng, 5);
    for (size_t j = 0; j < B * 50; j++)
        x[j] = (float)rw_rng_uniform(&rng);
    for (size_t j = 0; j < B; j++)
        y[j] = (int32_t)(j % 3);
    double loss;
    CHECK_OK(rw_net_gradient(net, x, y, NULL, B, &loss, NULL, &err), &err);
    rw_plasticity_after_backward(net, &tc, B);
    const rw_layer *L = &net->layers[0];
    size_t bad = 0, nonzero = 0;
    for (size_t o = 0; o < L->out; o++)
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
            size_t i = L->col[k] & RW_COL_MASK;
            double c = 0;
            for (size_t b = 0; b < 32; b++)
                c += (double)net->x0[i * B + b] * L->a[o * B + b];
            double want = 0.5 * c / 32.0;
            bad += fabs(L->coact[k] - want) > 1e-6 + 1e-5 * fabs(want);
            nonzero += want != 0.0;
        }
    CHECK_MSG(bad == 0, "%zu co-activations off", bad);
    CHECK(nonzero > L->nw / 4);
    free(x);
    rw_net_free(net);
}

/* ---------------- the cubic schedule ---------------- */

typedef struct sched_probe {
    rw_net *net;
    size_t step, total, t0, t1, every;
    double d0, df;
    size_t prev_nw;
    size_t bad_event, bad_between, bad_end;
    size_t events;
} sched_probe;

static int probe_progress(const rw_progress *p, void *user)
{
    sched_probe *s = user;
    (void)p;
    s->step++;
    rw_layer *L = &s->net->layers[0];
    double full = (double)L->in * (double)L->out;
    size_t t = s->step;
    bool event = t >= s->t0 && t <= s->t1 && (t == s->t1 || (t - s->t0) % s->every == 0);
    if (event) {
        double prog = (double)(t - s->t0) / (double)(s->t1 - s->t0);
        double d = t == s->t1 ? s->df : rw_prune_density_at(s->d0, s->df, prog);
        size_t want = (size_t)llround(d * full);
        s->bad_event += L->nw != want;
        s->events++;
    } else {
        s->bad_between += L->nw != s->prev_nw;
    }
    if (t >= s->t1)
        s->bad_end += L->nw != (size_t)llround(s->df * full);
    s->prev_nw = L->nw;
    return 0;
}

static void test_schedule(void)
{
    CHECK_CLOSE(rw_prune_density_at(1.0, 0.1, 0.0), 1.0, 0, 1e-12);
    CHECK_CLOSE(rw_prune_density_at(1.0, 0.1, 0.5), 0.1 + 0.9 / 8.0, 0, 1e-12);
    CHECK_CLOSE(rw_prune_density_at(1.0, 0.1, 1.0), 0.1, 0, 1e-12);
    CHECK_CLOSE(rw_prune_density_at(0.5, 0.05, 0.25), 0.05 + 0.45 * 0.421875, 0, 1e-12);

    size_t hidden = 16;
    double dens[2] = {1.0, 0.0};
    rw_net *net = make_net(12, &hidden, 1, 3, dens, 5);
    rw_dataset *ds = make_data(320, 12, 9);
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 6;
    tc.batch = 32;
    tc.plasticity.prune = RW_PRUNE_MAGNITUDE;
    tc.plasticity.prune_to = 0.13;
    tc.plasticity.prune_start = 0.2;
    tc.plasticity.prune_end = 0.7;
    tc.plasticity.prune_every = 4;
    sched_probe s = {net, 0, 60, 12, 42, 4, 1.0, 0.13, 12 * 16, 0, 0, 0, 0};
    tc.on_progress = probe_progress;
    tc.user = &s;
    rw_error err;
    rw_train_result res;
    CHECK_OK(rw_train(net, ds, NULL, &tc, &res, &err), &err);
    CHECK(s.step == 60);
    CHECK_MSG(s.events == 9, "events %zu", s.events); /* 12,16,...,40 and 42 */
    CHECK_MSG(s.bad_event == 0, "%zu events off the schedule", s.bad_event);
    CHECK_MSG(s.bad_between == 0, "%zu changes between events", s.bad_between);
    CHECK_MSG(s.bad_end == 0, "%zu steps off the target after the end", s.bad_end);
    CHECK(net->layers[0].nw == (size_t)llround(0.13 * 12 * 16));
    check_topology(&net->layers[0], "after gradual pruning");
    rw_net_free(net);
    rw_dataset_free(ds);
}

/* ---------------- pruning bounds ---------------- */

static void test_prune_bounds(void)
{
    size_t hidden = 10;
    double dens[2] = {1.0, 0.0};
    rw_net *net = make_net(8, &hidden, 1, 3, dens, 7);
    rw_layer *L = &net->layers[0];
    /* Many ties: |w| in {0.1, 0.2, 0.3, ...} with both signs. */
    for (size_t k = 0; k < L->nw; k++)
        L->w[k] = (float)((k % 7) + 1) * 0.1f * (k % 2 ? -1.0f : 1.0f);
    /* Pruning to the current count changes nothing. */
    float *w0 = malloc(L->nw * sizeof *w0);
    memcpy(w0, L->w, L->nw * sizeof *w0);
    size_t nw0 = L->nw;
    CHECK(rw_prune_layer(L, RW_PRUNE_MAGNITUDE, nw0, -1.0) == 0);
    CHECK(L->nw == nw0 && memcmp(w0, L->w, nw0 * sizeof *w0) == 0);
    size_t targets[] = {79, 50, 33, 11, 1};
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        size_t before = L->nw;
        size_t removed = rw_prune_layer(L, RW_PRUNE_MAGNITUDE, targets[t], -1.0);
        CHECK_MSG(removed == before - targets[t] && L->nw == targets[t],
                  "asked %zu of %zu, removed %zu, left %zu", before - targets[t],
                  before, removed, L->nw);
        check_topology(L, "pruned");
    }
    /* The survivors are the largest: every weight below the smallest kept
     * |w| was pruned, and ties at it fill the rest. */
    rw_net_free(net);
    net = make_net(8, &hidden, 1, 3, dens, 7);
    L = &net->layers[0];
    for (size_t k = 0; k < L->nw; k++)
        L->w[k] = (float)((k % 7) + 1) * 0.1f * (k % 2 ? -1.0f : 1.0f);
    memcpy(w0, L->w, L->nw * sizeof *w0);
    CHECK(rw_prune_layer(L, RW_PRUNE_MAGNITUDE, 45, -1.0) == 35);
    float min_kept = 1e9f;
    for (size_t k = 0; k < L->nw; k++)
        min_kept = fminf(min_kept, fabsf(L->w[k]));
    size_t below = 0, eq = 0;
    for (size_t k = 0; k < nw0; k++) {
        below += fabsf(w0[k]) < min_kept;
        eq += fabsf(w0[k]) == min_kept;
    }
    CHECK_MSG(below <= 35 && below + eq >= 35, "below %zu, at %zu", below, eq);
    check_topology(L, "pruned with ties");

    /* With protected connections, fewer than asked may go, never more,
     * and no protected one goes. */
    rw_net_free(net);
    net = make_net(8, &hidden, 1, 3, dens, 7);
    L = &net->layers[0];
    L->perm = rw_calloc(L->nw, sizeof(float), "perm", NULL);
    size_t prot = 0;
    for (size_t k = 0; k < L->nw; k++) {
        L->w[k] = 0.01f * (float)(k + 1);
        if (k % 3 == 0) {
            L->perm[k] = 0.5f; /* protected, and among the smallest |w| */
            prot++;
        }
    }
    size_t removed = rw_prune_layer(L, RW_PRUNE_MAGNITUDE, 10, 0.1);
    CHECK_MSG(removed == 80 - prot && L->nw == prot, "removed %zu, left %zu", removed, L->nw);
    for (size_t k = 0; k < L->nw; k++)
        CHECK(L->perm[k] == 0.5f);
    check_topology(L, "pruned around protected connections");

    /* The public entry point: usage needs traces; magnitude to a density. */
    rw_error err;
    size_t pr[2];
    CHECK(rw_net_prune(net, RW_PRUNE_USAGE, 0.05, pr, &err) == RW_ERR_ARG);
    CHECK_OK(rw_net_prune(net, RW_PRUNE_MAGNITUDE, 0.2, pr, &err), &err);
    CHECK_MSG(pr[0] == prot - 16 && L->nw == 16 && pr[1] == 0, "pruned %zu", pr[0]);
    free(w0);
    rw_net_free(net);
}

/* ---------------- permanence ---------------- */

static void test_permanence(void)
{
    size_t hidden = 1;
    double dens[2] = {1.0, 0.0};
    rw_net *net = make_net(4, &hidden, 1, 2, dens, 11);
    rw_layer *L = &net->layers[0];
    CHECK(L->nw == 4);
    rw_train_config tc = rw_train_defaults();
    tc.plasticity.permanence = 1;
    tc.plasticity.trace_rate = 1.0; /* credit = |gradient| of the step */
    tc.plasticity.perm_up = 0.05;
    tc.plasticity.perm_down = 0.01;
    tc.plasticity.perm_threshold = 0.1;
    rw_error err;
    CHECK_OK(rw_plasticity_begin(net, &tc, &err), &err);
    CHECK(L->perm && L->keep && L->credit);
    float x[2 * 4] = {1, 1, 1, 1, 1, 1, 1, 1};
    int32_t y[2] = {0, 1};
    double loss;
    CHECK_OK(rw_net_gradient(net, x, y, NULL, 2, &loss, NULL, &err), &err);
    /* Use pattern per phase: which connections get a gradient. */
    static const struct {
        int steps;
        float use[4];
    } phases[] = {{20, {1, 1, 1, 0}}, /* A: all but k3 in use */
                  {50, {1, 0, 0, 0}}, /* B: k1, k2 neglected */
                  {5, {1, 1, 0, 0}},  /* C: k1 used again in time */
                  {45, {1, 1, 0, 0}}}; /* D: k2 neglected for good */
    float after_a = 0, after_b1 = 0, after_b2 = 0;
    for (size_t ph = 0; ph < 4; ph++) {
        for (int s = 0; s < phases[ph].steps; s++) {
            memcpy(L->gw, phases[ph].use, sizeof phases[ph].use);
            rw_plasticity_after_backward(net, &tc, 2);
        }
        if (ph == 0)
            after_a = L->perm[1];
        if (ph == 1) {
            after_b1 = L->perm[1];
            after_b2 = L->perm[2];
            /* Neglected for 50 steps, still protected: hysteresis. */
            CHECK(L->keep[1] > 1e20f && L->keep[2] > 1e20f);
        }
    }
    CHECK_CLOSE(after_a, 1.0, 0, 1e-6);
    CHECK_CLOSE(after_b1, 0.5, 1e-5, 0);
    CHECK_CLOSE(after_b2, 0.5, 1e-5, 0);
    CHECK_CLOSE(L->perm[0], 1.0, 0, 1e-6);
    CHECK_CLOSE(L->perm[1], 1.0, 0, 1e-6);
    CHECK_CLOSE(L->perm[2], 0.0, 1e-6, 0);
    CHECK(L->perm[3] == 0.0f);
    CHECK(L->keep[0] > 1e20f && L->keep[1] > 1e20f && L->keep[2] == 0.0f &&
          L->keep[3] == 0.0f);
    /* The protected ones have the smallest weights, yet only k2 and k3 go
     * when three removals are asked. */
    const float w[4] = {0.01f, 0.02f, 0.5f, 0.6f};
    memcpy(L->w, w, sizeof w);
    size_t removed = rw_prune_layer(L, RW_PRUNE_MAGNITUDE, 1, tc.plasticity.perm_threshold);
    CHECK(removed == 2 && L->nw == 2);
    CHECK((L->col[0] & RW_COL_MASK) == 0 && (L->col[1] & RW_COL_MASK) == 1);
    CHECK(L->w[0] == 0.01f && L->w[1] == 0.02f);
    rw_net_free(net);
}

/* ---------------- Hebbian growth ---------------- */

static void test_hebbian(void)
{
    size_t hidden = 3;
    double dens[2] = {0.5, 0.0};
    rw_net *net = make_net(4, &hidden, 1, 2, dens, 13);
    rw_layer *L = &net->layers[0];
    static const int pat[12] = {1, 0, 0, 1, /* o0 */ 0, 1, 0, 0, /* o1 */ 0, 0, 1, 0};
    set_pattern(L, pat);
    const float w[4] = {0.5f, 0.4f, 0.7f, 0.3f};
    memcpy(L->w, w, sizeof w);
    L->b[0] = 0.1f;
    L->b[1] = 0.2f;
    L->b[2] = 0.0f;
    const size_t B = 3;
    const float xs[3 * 4] = {1.0f, 0.2f, 0.5f, 0.0f, /* sample 0 */
                             0.3f, 1.0f, 0.1f, 0.9f, /* sample 1 */
                             0.0f, 0.8f, 1.0f, 0.4f};
    rw_error err;
    CHECK_OK(rw_net_reserve_batch(net, B, &err), &err);
    rw_net_load_batch(net, xs, NULL, B);
    rw_net_forward_batch(net, B);
    /* Every unconnected pair's co-activation, computed here. */
    double best = -1, second = -1;
    size_t best_key = 0, second_key = 0;
    for (size_t o = 0; o < 3; o++)
        for (size_t i = 0; i < 4; i++) {
            if (pat[o * 4 + i])
                continue;
            double c = 0;
            for (size_t b = 0; b < B; b++) {
                double z = L->b[o];
                for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++)
                    z += (double)L->w[k] * xs[b * 4 + (L->col[k] & RW_COL_MASK)];
                c += xs[b * 4 + i] * (z > 0 ? z : 0);
            }
            c = fabs(c / (double)B);
            if (c > best) {
                second = best;
                second_key = best_key;
                best = c;
                best_key = o * 4 + i;
            } else if (c > second) {
                second = c;
                second_key = o * 4 + i;
            }
        }
    uint64_t keys[2];
    rw_rng rng;
    rw_rng_seed(&rng, 1);
    CHECK_OK(rw_grow_hebbian(net, 0, NULL, 0, keys, 1, &err), &err);
    CHECK_MSG(keys[0] == best_key, "picked %llu, best %zu (%.4f)",
              (unsigned long long)keys[0], best_key, best);
    CHECK_OK(rw_grow_hebbian(net, 0, NULL, 0, keys, 2, &err), &err);
    size_t lo = best_key < second_key ? best_key : second_key;
    size_t hi = best_key < second_key ? second_key : best_key;
    CHECK(keys[0] == lo && keys[1] == hi);
    CHECK(best > second && second > 0);
    rw_net_free(net);

    /* A larger layer: rewiring with Hebbian growth keeps the count and a
     * valid topology, and grows only unconnected pairs. */
    size_t h2[1] = {150};
    double d2[2] = {0.05, 0.0};
    net = make_net(200, h2, 1, 3, d2, 17);
    L = &net->layers[0];
    float *xb = malloc(64 * 200 * sizeof *xb);
    for (size_t j = 0; j < 64 * 200; j++)
        xb[j] = (float)rw_rng_uniform(&rng);
    int32_t yb[64];
    for (size_t j = 0; j < 64; j++)
        yb[j] = (int32_t)(j % 3);
    CHECK_OK(rw_net_gradient(net, xb, yb, NULL, 64, NULL, NULL, &err), &err);
    size_t nw = L->nw;
    rw_rewire_stats st[2];
    CHECK_OK(rw_net_rewire(net, RW_REWIRE_HEBBIAN, 0.3, &rng, st, &err), &err);
    CHECK(L->nw == nw && st[0].dropped == st[0].grown && st[0].grown == (size_t)(0.3 * nw));
    check_topology(L, "Hebbian rewiring");
    free(xb);
    rw_net_free(net);
}

/* ---------------- neuron turnover ---------------- */

static void predict(rw_net *net, const float *x, size_t n, float *out)
{
    rw_error err;
    CHECK_OK(rw_net_predict(net, x, n, out, &err), &err);
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void test_neuron_removal(void)
{
    size_t hidden[2] = {8, 5};
    double dens[3] = {0.6, 0.0, 0.0};
    rw_net *net = make_net(6, hidden, 2, 3, dens, 19);
    rw_dataset *ds = make_data(256, 6, 23);
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 2;
    tc.batch = 32;
    tc.plasticity.traces = 1;
    rw_error err;
    rw_train_result res;
    CHECK_OK(rw_train(net, ds, NULL, &tc, &res, &err), &err);
    rw_layer *H0 = &net->layers[0], *H1 = &net->layers[1];
    /* Silence neuron 2 of layer 1 and neuron 1 of layer 2 for inputs in
     * [0, 1); empty neuron 5's inputs, leaving it a constant output. */
    for (size_t k = H0->row_ptr[2]; k < H0->row_ptr[3]; k++)
        H0->w[k] = -fabsf(H0->w[k]);
    H0->b[2] = -0.01f;
    for (size_t k = H0->row_ptr[5]; k < H0->row_ptr[6]; k++) {
        if (H0->col[k] & RW_COL_INITIAL)
            H0->initial_alive--;
        H0->col[k] = RW_COL_DROPPED;
    }
    H0->nw = rw_sparse_compact(H0);
    rw_sparse_build_transpose(H0);
    H0->b[5] = 0.7f;
    for (size_t i = 0; i < H1->in; i++)
        H1->w[1 * H1->in + i] = -fabsf(H1->w[1 * H1->in + i]);
    H1->b[1] = -0.5f;
    const float *x = rw_dataset_x(ds);
    size_t n = 256, C = 3;
    float *before = malloc(n * C * sizeof *before), *after = malloc(n * C * sizeof *after);
    predict(net, x, n, before);
    size_t rm0[2] = {5, 2}, rm1[1] = {1};
    CHECK_OK(rw_net_remove_neurons(net, 0, rm0, 2, &err), &err);
    CHECK_OK(rw_net_remove_neurons(net, 1, rm1, 1, &err), &err);
    CHECK(net->layers[0].out == 6 && net->layers[1].in == 6 && net->layers[1].out == 4 &&
          net->layers[2].in == 4);
    CHECK(rw_net_config_of(net)->layers[0].units == 6 &&
          rw_net_config_of(net)->layers[1].units == 4);
    CHECK(net->layers[1].nw == 24 && net->layers[2].nw == 12);
    check_topology(&net->layers[0], "layer 1 after removal");
    predict(net, x, n, after);
    CHECK_MSG(max_diff(before, after, n * C) < 1e-6, "outputs moved by %g",
              max_diff(before, after, n * C));
    /* Save, load: the smaller layers, the same outputs. */
    char path[512];
    snprintf(path, sizeof path, "%s/plasticity_small_%d.rwm", RW_TMPDIR, (int)getpid());
    CHECK_OK(rw_net_save(net, path, &err), &err);
    rw_net *back = rw_net_load(path, &err);
    CHECK(back != NULL);
    if (back) {
        rw_layer_info li;
        rw_net_layer_info(back, 0, &li, NULL);
        CHECK(li.outputs == 6 && li.connections == net->layers[0].nw);
        rw_net_layer_info(back, 1, &li, NULL);
        CHECK(li.inputs == 6 && li.outputs == 4);
        float *loaded = malloc(n * C * sizeof *loaded);
        predict(back, x, n, loaded);
        CHECK(max_diff(after, loaded, n * C) == 0.0);
        free(loaded);
        rw_net_free(back);
    }
    unlink(path);
    /* Training continues on the smaller network (moments and traces moved
     * with their neurons). */
    tc.epochs = 1;
    CHECK_OK(rw_train(net, ds, NULL, &tc, &res, &err), &err);
    CHECK(isfinite(res.final_train_loss));
    /* Adding neurons changes no output; removing them again neither. */
    predict(net, x, n, before);
    rw_rng rng;
    rw_rng_seed(&rng, 3);
    CHECK_OK(rw_net_add_neurons(net, 0, 3, &rng, &err), &err);
    CHECK_OK(rw_net_add_neurons(net, 1, 2, &rng, &err), &err);
    CHECK(net->layers[0].out == 9 && net->layers[1].in == 9 && net->layers[1].out == 6);
    check_topology(&net->layers[0], "layer 1 after adding");
    predict(net, x, n, after);
    CHECK_MSG(max_diff(before, after, n * C) < 1e-6, "adding moved outputs by %g",
              max_diff(before, after, n * C));
    CHECK_OK(rw_train(net, ds, NULL, &tc, &res, &err), &err);
    size_t bad[1] = {9};
    CHECK(rw_net_remove_neurons(net, 0, bad, 1, &err) == RW_ERR_ARG);
    CHECK(rw_net_remove_neurons(net, 2, rm1, 1, &err) == RW_ERR_ARG);
    free(before);
    free(after);
    rw_net_free(net);

    /* Turnover during training: dead neurons go after `silent_epochs`;
     * with regrowth the layer gets fresh ones back. */
    for (int regrow = 0; regrow < 2; regrow++) {
        size_t h[1] = {12};
        net = make_net(6, h, 1, 3, NULL, 29);
        rw_layer *L = &net->layers[0];
        for (size_t o = 0; o < 12; o++) { /* four dead ReLUs, eight lively */
            for (size_t i = 0; i < 6; i++)
                L->w[o * 6 + i] = o < 4 ? -fabsf(L->w[o * 6 + i]) : fabsf(L->w[o * 6 + i]);
            L->b[o] = o < 4 ? -1.0f : 0.5f;
        }
        tc = rw_train_defaults();
        tc.epochs = 3;
        tc.batch = 32;
        tc.lr = 1e-4;
        tc.plasticity.neuron_turnover = 1;
        tc.plasticity.regrow_neurons = regrow;
        tc.plasticity.silent_epochs = 2;
        CHECK_OK(rw_train(net, ds, NULL, &tc, &res, &err), &err);
        CHECK_MSG(net->layers[0].out == (regrow ? 12u : 8u), "layer has %zu neurons",
                  net->layers[0].out);
        CHECK(net->layers[1].in == net->layers[0].out);
        rw_net_free(net);
    }
    rw_dataset_free(ds);
}

/* ---------------- traces in the model file ---------------- */

static void test_trace_roundtrip(void)
{
    size_t hidden[2] = {10, 7};
    double dens[3] = {0.4, 0.0, 0.5};
    rw_net *net = make_net(9, hidden, 2, 3, dens, 31);
    rw_dataset *ds = make_data(200, 9, 37);
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 1;
    tc.batch = 25;
    tc.plasticity.traces = 1;
    tc.plasticity.permanence = 1;
    tc.plasticity.neuron_turnover = 1;
    rw_error err;
    rw_train_result res;
    CHECK_OK(rw_train(net, ds, NULL, &tc, &res, &err), &err);
    char path[512];
    snprintf(path, sizeof path, "%s/plasticity_traces_%d.rwm", RW_TMPDIR, (int)getpid());
    CHECK_OK(rw_net_save(net, path, &err), &err);
    rw_net *back = rw_net_load(path, &err);
    CHECK(back != NULL);
    if (!back) {
        rw_net_free(net);
        rw_dataset_free(ds);
        return;
    }
    for (size_t l = 0; l < 3; l++) {
        const rw_layer *A = &net->layers[l], *Bk = &back->layers[l];
        const float *a[] = {A->credit, A->coact, A->perm};
        const float *b[] = {Bk->credit, Bk->coact, Bk->perm};
        for (int t = 0; t < 3; t++) {
            CHECK_MSG(!a[t] == !b[t], "layer %zu array %d presence", l, t);
            if (a[t] && b[t])
                CHECK(memcmp(a[t], b[t], A->nw * sizeof(float)) == 0);
        }
        CHECK(!A->activity == !Bk->activity);
        if (A->activity && Bk->activity)
            CHECK(memcmp(A->activity, Bk->activity, A->out * sizeof(float)) == 0);
        CHECK(!A->silent == !Bk->silent);
        if (A->silent && Bk->silent)
            CHECK(memcmp(A->silent, Bk->silent, A->out * sizeof(uint32_t)) == 0);
    }
    CHECK(net->layers[0].credit && net->layers[0].perm && net->layers[1].coact);
    /* Continued training from the file matches continued training of the
     * original. */
    CHECK_OK(rw_train(net, ds, NULL, &tc, &res, &err), &err);
    rw_train_result res2;
    CHECK_OK(rw_train(back, ds, NULL, &tc, &res2, &err), &err);
    CHECK(res.final_train_loss == res2.final_train_loss);
    CHECK(memcmp(net->layers[0].credit, back->layers[0].credit,
                 net->layers[0].nw * sizeof(float)) == 0);
    unlink(path);
    rw_net_free(back);
    rw_net_free(net);
    rw_dataset_free(ds);
}

/* ---------------- everything at once ---------------- */

static void test_combined(void)
{
    size_t hidden[2] = {40, 30};
    double dens[3] = {0.3, 0.3, 0.0};
    rw_dataset *ds = make_data(600, 20, 41);
    rw_prune_kind kinds[] = {RW_PRUNE_MAGNITUDE, RW_PRUNE_USAGE, RW_PRUNE_HEBBIAN};
    rw_rewire_kind rew[] = {RW_REWIRE_SET, RW_REWIRE_RIGL, RW_REWIRE_HEBBIAN};
    for (int c = 0; c < 3; c++) {
        rw_net *net = make_net(20, hidden, 2, 3, dens, 43 + (uint64_t)c);
        rw_train_config tc = rw_train_defaults();
        tc.epochs = 6;
        tc.batch = 50;
        tc.lr = 0.01;
        tc.rewire = rew[c];
        tc.plasticity.prune = kinds[c];
        tc.plasticity.prune_to = 0.1;
        tc.plasticity.prune_every = 5;
        tc.plasticity.usage_decay = c == 1 ? 1e-3 : 0.0;
        tc.plasticity.permanence = c == 2;
        tc.plasticity.neuron_turnover = c > 0;
        tc.plasticity.regrow_neurons = c == 1;
        rw_error err;
        rw_train_result res;
        CHECK_OK(rw_train(net, ds, ds, &tc, &res, &err), &err);
        CHECK_MSG(res.final_train_accuracy > 0.5, "run %d: accuracy %.3f", c,
                  res.final_train_accuracy);
        printf("combined run %d: train accuracy %.3f\n", c, res.final_train_accuracy);
        for (size_t l = 0; l < 2; l++) {
            const rw_layer *L = &net->layers[l];
            check_topology(L, "combined run");
            if (c == 0) /* no permanence, no regrowth: exactly the target */
                CHECK(L->nw == (size_t)llround(0.1 * (double)L->in * L->out));
        }
        /* Deterministic: the same run again gives the same network. */
        rw_net *again = make_net(20, hidden, 2, 3, dens, 43 + (uint64_t)c);
        rw_train_result res2;
        CHECK_OK(rw_train(again, ds, ds, &tc, &res2, &err), &err);
        CHECK(res.final_train_loss == res2.final_train_loss);
        CHECK(again->layers[0].nw == net->layers[0].nw &&
              again->layers[0].out == net->layers[0].out);
        rw_net_free(again);
        rw_net_free(net);
    }
    rw_dataset_free(ds);
}

int main(void)
{
    /* Every pass that can use the threads does, however small, so that the
     * comparisons of 1 and 2 threads run the parallel code. */
    rw_set_par_min_work(0);
    rw_set_threads(2);
    test_traces_by_hand();
    test_coact_kernel();
    test_schedule();
    test_prune_bounds();
    test_permanence();
    test_hebbian();
    test_neuron_removal();
    test_trace_roundtrip();
    test_combined();
    TEST_MAIN_END();
}
