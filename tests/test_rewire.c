/* Rewiring invariants (src/plasticity/rewire.c: rw_net_rewire with SET and RigL).
 *
 * Every rewire is checked against an expectation computed here before the
 * call:
 *   - the drop set: SET drops floor(f * #positive) smallest positive weights
 *     and floor(f * #negative) negative weights closest to zero; RigL drops
 *     floor(f * nnz) smallest |w| (ties in storage order, as documented);
 *   - RigL's growth: the positions with the largest |dL/dw| = |d x^T| among
 *     the positions left unconnected after the drop, with d = the layer's
 *     error from the last rw_net_gradient and x its input (G is formed here
 *     in double);
 * and after the call:
 *   - the connection count of each layer is unchanged and stats agree;
 *   - row_ptr is monotone, columns sorted and unique per row, and the
 *     transposed index (tcol_ptr, t_k, t_row) matches the CSR arrays;
 *   - every surviving connection kept its weight, its optimizer moments
 *     (tagged m1 = w, m2 = 2w before the call) and its "initial" flag;
 *   - every new connection has zero moments, no initial flag, and weight 0
 *     (RigL) or a small non-zero random weight (SET, below 8 x 0.1 x He std);
 *   - rw_net_initial_share counts the flagged connections.
 * Plus: a zero drop fraction changes nothing, two hand-checked small cases
 * (SET on a 6x4 layer, RigL on a 4x3 layer), the same seed gives the same
 * topology, dense layers are left alone, nearly full layers still rewire,
 * and RigL before any gradient is refused. */
#include "check.h"
#include "internal.h"
#include "topology_check.h"

#include <string.h>

/* ---------------- snapshots ---------------- */

typedef struct snap {
    size_t in, out, nw, initial_alive;
    float *w, *b, *m1, *m2;
    uint32_t *col;
    size_t *row_ptr;
} snap;

static void *dup(const void *p, size_t bytes)
{
    if (!p)
        return NULL;
    void *q = malloc(bytes ? bytes : 1);
    memcpy(q, p, bytes);
    return q;
}

static snap take(const rw_layer *L)
{
    snap s = {L->in, L->out, L->nw, L->initial_alive,
              dup(L->w, L->nw * sizeof(float)), dup(L->b, L->out * sizeof(float)),
              dup(L->m1, L->nw * sizeof(float)), dup(L->m2, L->nw * sizeof(float)),
              dup(L->col, L->nw * sizeof(uint32_t)),
              dup(L->row_ptr, (L->out + 1) * sizeof(size_t))};
    return s;
}

static void snap_free(snap *s)
{
    free(s->w);
    free(s->b);
    free(s->m1);
    free(s->m2);
    free(s->col);
    free(s->row_ptr);
}

/* pos[o*in+i] = k of connection (o,i), or -1. */
static long *positions(const rw_layer *L)
{
    long *pos = malloc(L->in * L->out * sizeof *pos);
    for (size_t p = 0; p < L->in * L->out; p++)
        pos[p] = -1;
    for (size_t o = 0; o < L->out; o++)
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++)
            pos[o * L->in + (L->col[k] & RW_COL_MASK)] = (long)k;
    return pos;
}

static size_t row_of(const snap *s, size_t k)
{
    size_t o = 0;
    while (s->row_ptr[o + 1] <= k)
        o++;
    return o;
}

/* ---------------- expectations ---------------- */

typedef struct keyed {
    float key;
    size_t k;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

/* Marks drop[k] for the connections the rule must drop; returns count. */
static size_t expected_drop(const rw_layer *L, rw_rewire_kind kind, double f,
                            unsigned char *drop)
{
    memset(drop, 0, L->nw);
    keyed *v = malloc((L->nw ? L->nw : 1) * sizeof *v);
    size_t total = 0;
    for (int pass = 0; pass < (kind == RW_REWIRE_SET ? 2 : 1); pass++) {
        size_t n = 0;
        for (size_t k = 0; k < L->nw; k++) {
            float w = L->w[k];
            /* protected connections (plasticity's keep[]) weigh more */
            float scale = L->keep ? 1.0f + L->keep[k] : 1.0f;
            if (kind == RW_REWIRE_RIGL)
                v[n++] = (keyed){fabsf(w) * scale, k};
            else if (pass == 0 && w >= 0.0f) /* zeros count as positive */
                v[n++] = (keyed){w * scale, k};
            else if (pass == 1 && w < 0.0f)
                v[n++] = (keyed){-w * scale, k};
        }
        size_t count = (size_t)(f * (double)n);
        qsort(v, n, sizeof *v, cmp_keyed);
        for (size_t j = 0; j < count; j++)
            drop[v[j].k] = 1;
        total += count;
    }
    free(v);
    return total;
}

/* |d x^T| for every position, in double; x is the layer input (I x B). */
static double *dense_grad(const rw_layer *L, const float *x, size_t B)
{
    double *G = malloc(L->out * L->in * sizeof *G);
    for (size_t o = 0; o < L->out; o++)
        for (size_t i = 0; i < L->in; i++) {
            double s = 0.0;
            for (size_t j = 0; j < B; j++)
                s += (double)L->d[o * B + j] * x[i * B + j];
            G[o * L->in + i] = fabs(s);
        }
    return G;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* ---------------- the check of one rewire ---------------- */

typedef struct expect {
    snap before;
    unsigned char *drop;
    size_t n_drop;
    double *G; /* RigL only */
} expect;

static expect prepare(rw_net *net, size_t l, rw_rewire_kind kind, double f,
                      const float *x_input)
{
    rw_layer *L = &net->layers[l];
    expect e;
    e.before = take(L);
    e.drop = malloc(L->nw ? L->nw : 1);
    e.n_drop = expected_drop(L, kind, f, e.drop);
    e.G = NULL;
    if (kind == RW_REWIRE_RIGL) {
        const float *x = l ? net->layers[l - 1].a : x_input;
        e.G = dense_grad(L, x, net->cur_batch);
    }
    return e;
}

static void verify(rw_net *net, size_t l, rw_rewire_kind kind, expect *e,
                   const rw_rewire_stats *st, const char *what)
{
    rw_layer *L = &net->layers[l];
    snap *s = &e->before;
    size_t in = L->in, P = L->in * L->out;
    CHECK_MSG(L->nw == s->nw, "%s: connections %zu -> %zu", what, s->nw, L->nw);
    CHECK_MSG(st->dropped == e->n_drop && st->grown == e->n_drop,
              "%s: stats dropped %zu grown %zu, expected %zu", what, st->dropped,
              st->grown, e->n_drop);
    if (check_topology(L, what))
        return;
    long *pos = positions(L);
    unsigned char *survivor = calloc(P, 1);
    size_t bad_keep = 0, missing = 0, survivors = 0;
    for (size_t k = 0; k < s->nw; k++) {
        if (e->drop[k])
            continue;
        size_t o = row_of(s, k), i = s->col[k] & RW_COL_MASK;
        long nk = pos[o * in + i];
        survivors++;
        survivor[o * in + i] = 1;
        if (nk < 0) {
            missing++;
            continue;
        }
        bad_keep += memcmp(&L->w[nk], &s->w[k], sizeof(float)) != 0;
        bad_keep += L->col[nk] != s->col[k]; /* same initial flag */
        if (s->m1)
            bad_keep += memcmp(&L->m1[nk], &s->m1[k], sizeof(float)) != 0;
        if (s->m2)
            bad_keep += memcmp(&L->m2[nk], &s->m2[k], sizeof(float)) != 0;
    }
    CHECK_MSG(missing == 0, "%s: %zu connections that should survive were dropped", what,
              missing);
    CHECK_MSG(bad_keep == 0, "%s: %zu survivor values (w, flag, moments) changed", what,
              bad_keep);
    /* New connections. */
    size_t fresh = 0, bad_new = 0;
    double sd = sqrt(2.0 / ((double)s->nw / (double)s->out));
    for (size_t o = 0; o < L->out; o++)
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
            size_t i = L->col[k] & RW_COL_MASK;
            if (survivor[o * in + i])
                continue;
            fresh++;
            bad_new += (L->col[k] & RW_COL_INITIAL) != 0;
            bad_new += L->m1 && L->m1[k] != 0.0f;
            bad_new += L->m2 && L->m2[k] != 0.0f;
            if (kind == RW_REWIRE_RIGL)
                bad_new += L->w[k] != 0.0f;
            else
                bad_new += !(L->w[k] != 0.0f && fabsf(L->w[k]) < 0.8 * sd);
        }
    CHECK_MSG(survivors + fresh == L->nw, "%s: %zu survivors + %zu new != %zu", what,
              survivors, fresh, L->nw);
    CHECK_MSG(fresh == e->n_drop, "%s: %zu new connections, %zu dropped", what, fresh,
              e->n_drop);
    CHECK_MSG(bad_new == 0, "%s: %zu new connections with wrong flag/moments/weight",
              what, bad_new);
    if (kind == RW_REWIRE_RIGL && e->n_drop > 0) {
        /* Growth: largest |G| among positions that are not survivors. The
         * n-th largest value is the threshold; values within 1e-5 of it
         * (float vs double rounding) may go either way. */
        double *cand = malloc(P * sizeof *cand);
        size_t nc = 0;
        for (size_t p = 0; p < P; p++)
            if (!survivor[p])
                cand[nc++] = e->G[p];
        qsort(cand, nc, sizeof *cand, cmp_desc);
        double thr = cand[e->n_drop - 1];
        double slack = 1e-5 * thr + 1e-9;
        size_t wrong = 0;
        for (size_t p = 0; p < P; p++) {
            if (survivor[p])
                continue;
            int grown = pos[p] >= 0;
            if (grown && e->G[p] < thr - slack)
                wrong++;
            if (!grown && e->G[p] > thr + slack)
                wrong++;
        }
        CHECK_MSG(wrong == 0, "%s: %zu positions grown/not grown against |G| order", what,
                  wrong);
        free(cand);
    }
    /* initial share = flagged connections / initial count */
    size_t flagged = 0;
    for (size_t k = 0; k < L->nw; k++)
        flagged += (L->col[k] & RW_COL_INITIAL) != 0;
    CHECK_MSG(flagged == L->initial_alive, "%s: %zu flagged, initial_alive %zu", what,
              flagged, L->initial_alive);
    CHECK(rw_net_initial_share(net, l) == (double)flagged / (double)L->initial_nnz);
    CHECK(L->initial_alive <= s->initial_alive);
    free(pos);
    free(survivor);
}

static void expect_free(expect *e)
{
    snap_free(&e->before);
    free(e->drop);
    free(e->G);
}

/* Tags each connection's moments with its weight, so moves are visible. */
static void tag_moments(rw_net *net)
{
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        for (size_t k = 0; k < L->nw; k++) {
            if (L->m1)
                L->m1[k] = L->w[k];
            if (L->m2)
                L->m2[k] = 2.0f * L->w[k];
        }
    }
}

/* Rewires once, checking every sparse layer against the expectation. */
static void checked_rewire(rw_net *net, rw_rewire_kind kind, double f, rw_rng *rng,
                           const float *x_input, const char *what)
{
    expect e[RW_MAX_LAYERS];
    size_t L_n = net->n_layers;
    for (size_t l = 0; l < L_n; l++)
        if (net->layers[l].kind == RW_LAYER_SPARSE)
            e[l] = prepare(net, l, kind, f, x_input);
    snap dense[RW_MAX_LAYERS];
    for (size_t l = 0; l < L_n; l++)
        if (net->layers[l].kind == RW_LAYER_DENSE)
            dense[l] = take(&net->layers[l]);
    rw_rewire_stats st[RW_MAX_LAYERS];
    rw_error err;
    CHECK_OK(rw_net_rewire(net, kind, f, rng, st, &err), &err);
    for (size_t l = 0; l < L_n; l++) {
        char name[128];
        snprintf(name, sizeof name, "%s, layer %zu", what, l);
        if (net->layers[l].kind == RW_LAYER_SPARSE) {
            verify(net, l, kind, &e[l], &st[l], name);
            expect_free(&e[l]);
        } else {
            rw_layer *L = &net->layers[l];
            CHECK_MSG(st[l].dropped == 0 && st[l].grown == 0 &&
                          memcmp(L->w, dense[l].w, L->nw * sizeof(float)) == 0,
                      "%s: dense layer changed", name);
            CHECK(rw_net_initial_share(net, l) == 1.0);
            snap_free(&dense[l]);
        }
    }
}

/* ---------------- networks and batches ---------------- */

static rw_net *make_net(size_t n_in, const size_t *h, size_t nh, size_t n_out,
                        double density, int include_output, uint64_t seed)
{
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = seed;
    CHECK_OK(rw_net_config_mlp(&cfg, n_in, h, nh, n_out, RW_ACT_TANH,
                               RW_LOSS_CROSS_ENTROPY, &err),
             &err);
    CHECK_OK(rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, density, include_output,
                                    &err),
             &err);
    rw_net *net = rw_net_create(&cfg, &err);
    if (!net) {
        fprintf(stderr, "rw_net_create: %s\n", err.msg);
        exit(1);
    }
    return net;
}

typedef struct batch {
    size_t n, f;
    float *x, *xt; /* row-major, and transposed (feature-major) */
    int32_t *y;
} batch;

static batch make_batch(const rw_net *net, size_t n, uint64_t seed)
{
    rw_rng rng;
    rw_rng_seed(&rng, seed);
    size_t f = rw_net_inputs(net), C = rw_net_outputs(net);
    batch b = {n, f, malloc(n * f * sizeof(float)), malloc(n * f * sizeof(float)),
               malloc(n * sizeof(int32_t))};
    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < f; i++) {
            b.x[j * f + i] = (float)rw_rng_normal(&rng);
            b.xt[i * n + j] = b.x[j * f + i];
        }
        b.y[j] = (int32_t)rw_rng_below(&rng, C);
    }
    return b;
}

static void batch_free(batch *b)
{
    free(b->x);
    free(b->xt);
    free(b->y);
}

static void gradient(rw_net *net, const batch *b)
{
    rw_error err;
    double loss;
    CHECK_OK(rw_net_gradient(net, b->x, b->y, NULL, b->n, &loss, NULL, &err), &err);
}

/* ---------------- tests ---------------- */

static void test_rounds(rw_rewire_kind kind, rw_optim_kind moments, double density,
                        int include_output, const char *name)
{
    static const size_t h[] = {30, 25};
    rw_net *net = make_net(20, h, 2, 4, density, include_output, 5);
    rw_error err;
    CHECK_OK(rw_net_ensure_moments(net, moments, &err), &err);
    batch b = make_batch(net, 16, 6);
    rw_rng rng;
    rw_rng_seed(&rng, 7);
    rw_optim_config opt = rw_optim_defaults(RW_OPT_SGD);
    double prev_share = 1.0;
    for (int round = 0; round < 6; round++) {
        gradient(net, &b);
        /* A small step, so weights move off their initial values (and
         * RigL's zero weights become non-zero) between rounds. */
        CHECK_OK(rw_net_step(net, &opt, 0.05, &err), &err);
        gradient(net, &b);
        tag_moments(net);
        char what[96];
        snprintf(what, sizeof what, "%s round %d", name, round);
        checked_rewire(net, kind, 0.3, &rng, b.xt, what);
        double share = rw_net_initial_share(net, 0);
        CHECK_MSG(share <= prev_share, "%s: initial share rose %g -> %g", what, prev_share,
                  share);
        if (round == 0)
            CHECK_MSG(share < 1.0, "%s: first rewire kept every initial connection", what);
        prev_share = share;
    }
    /* The rewired net still trains: forward and backward run and give a
     * finite loss. */
    double loss;
    CHECK_OK(rw_net_gradient(net, b.x, b.y, NULL, b.n, &loss, NULL, &err), &err);
    CHECK(isfinite(loss));
    batch_free(&b);
    rw_net_free(net);
    printf("%s: 6 checked rounds, initial share %.3f\n", name, prev_share);
}

static void test_zero_fraction(void)
{
    static const size_t h[] = {12};
    rw_net *net = make_net(10, h, 1, 3, 0.4, 1, 8);
    rw_error err;
    CHECK_OK(rw_net_ensure_moments(net, RW_OPT_ADAM, &err), &err);
    tag_moments(net);
    batch b = make_batch(net, 8, 9);
    gradient(net, &b);
    rw_net *ref = rw_net_clone(net, &err);
    static const double fractions[] = {0.0, 1e-9};
    for (int kind = RW_REWIRE_NONE; kind <= RW_REWIRE_RIGL; kind++)
        for (size_t fi = 0; fi < 2; fi++) {
            rw_rng rng;
            rw_rng_seed(&rng, 1);
            rw_rewire_stats st[RW_MAX_LAYERS];
            CHECK_OK(rw_net_rewire(net, (rw_rewire_kind)kind, fractions[fi], &rng, st, &err),
                     &err);
            for (size_t l = 0; l < net->n_layers; l++) {
                rw_layer *L = &net->layers[l], *R = &ref->layers[l];
                CHECK(st[l].dropped == 0 && st[l].grown == 0);
                CHECK(L->nw == R->nw);
                CHECK(!memcmp(L->w, R->w, L->nw * sizeof(float)));
                CHECK(!memcmp(L->m1, R->m1, L->nw * sizeof(float)));
                CHECK(!memcmp(L->m2, R->m2, L->nw * sizeof(float)));
                CHECK(!memcmp(L->col, R->col, L->nw * sizeof(uint32_t)));
                CHECK(!memcmp(L->row_ptr, R->row_ptr, (L->out + 1) * sizeof(size_t)));
                CHECK(!memcmp(L->tcol_ptr, R->tcol_ptr, (L->in + 1) * sizeof(size_t)));
                CHECK(!memcmp(L->t_k, R->t_k, L->nw * sizeof(uint32_t)));
                CHECK(!memcmp(L->t_row, R->t_row, L->nw * sizeof(uint32_t)));
                CHECK(rw_net_initial_share(net, l) == 1.0);
            }
        }
    rw_net_free(ref);
    batch_free(&b);
    rw_net_free(net);
}

/* SET by hand: one 6-input, 4-output sparse layer with 12 connections. */
static void test_set_by_hand(void)
{
    rw_net *net = make_net(6, NULL, 0, 4, 0.5, 1, 3);
    rw_layer *L = &net->layers[0];
    CHECK(L->kind == RW_LAYER_SPARSE && L->nw == 12);
    /* 7 positive, 5 negative weights in storage order. */
    static const float w[12] = {0.5f, -0.1f, 0.3f, -0.7f, 0.05f, -0.02f,
                                0.9f, -0.4f, 0.2f, 0.01f, -0.3f, 0.8f};
    memcpy(L->w, w, sizeof w);
    rw_rng rng;
    rw_rng_seed(&rng, 4);
    /* f = 0.5: floor(3.5) = 3 positives go: 0.01, 0.05, 0.2; floor(2.5) = 2
     * negatives go: -0.02, -0.1. Survivors: 0.5 0.3 -0.7 0.9 -0.4 0.8 -0.3 */
    static const float keep[7] = {0.5f, 0.3f, -0.7f, 0.9f, -0.4f, -0.3f, 0.8f};
    checked_rewire(net, RW_REWIRE_SET, 0.5, &rng, NULL, "SET by hand");
    for (size_t j = 0; j < 7; j++) {
        size_t found = 0;
        for (size_t k = 0; k < L->nw; k++)
            found += L->w[k] == keep[j];
        CHECK_MSG(found == 1, "SET by hand: weight %g found %zu times", keep[j], found);
    }
    static const float gone[5] = {0.01f, 0.05f, 0.2f, -0.02f, -0.1f};
    for (size_t j = 0; j < 5; j++)
        for (size_t k = 0; k < L->nw; k++)
            CHECK_MSG(L->w[k] != gone[j], "SET by hand: %g survived", gone[j]);
    CHECK(L->nw == 12);
    CHECK_CLOSE(rw_net_initial_share(net, 0), 7.0 / 12.0, 1e-12, 0);
    rw_net_free(net);
}

/* RigL by hand: a 4-input, 3-output layer (softmax output) with 6
 * connections; G = d x^T is formed here from the layer's error and the
 * batch, and the three largest |G| among the free positions must grow. */
static void test_rigl_by_hand(void)
{
    rw_net *net = make_net(4, NULL, 0, 3, 0.5, 1, 12);
    rw_layer *L = &net->layers[0];
    CHECK(L->kind == RW_LAYER_SPARSE && L->nw == 6 && L->in == 4 && L->out == 3);
    static const float w[6] = {0.9f, -0.05f, 0.4f, -0.6f, 0.1f, 0.02f};
    memcpy(L->w, w, sizeof w);
    static const float X[3 * 4] = {1.0f, -0.5f, 0.25f, 2.0f,
                                   -1.5f, 0.75f, 1.0f, -0.5f,
                                   0.5f, 2.0f, -1.0f, 0.3f};
    static const int32_t y[3] = {0, 2, 1};
    rw_error err;
    double loss;
    CHECK_OK(rw_net_gradient(net, X, y, NULL, 3, &loss, NULL, &err), &err);
    /* Which positions were connected, and G from d (3 x 3) and x. */
    int conn[3][4] = {{0}};
    for (size_t o = 0; o < 3; o++)
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++)
            conn[o][L->col[k] & RW_COL_MASK] = 1;
    double G[3][4];
    for (size_t o = 0; o < 3; o++)
        for (size_t i = 0; i < 4; i++) {
            G[o][i] = 0.0;
            for (size_t j = 0; j < 3; j++)
                G[o][i] += (double)L->d[o * 3 + j] * X[j * 4 + i];
        }
    /* Dropped: the three smallest |w| (0.02, -0.05, 0.1). Free afterwards:
     * the 6 unconnected positions plus those 3. Pick the top 3 |G|. */
    int freepos[3][4];
    for (size_t o = 0; o < 3; o++)
        for (size_t i = 0; i < 4; i++)
            freepos[o][i] = !conn[o][i];
    for (size_t k = 0; k < 6; k++)
        if (fabsf(w[k]) < 0.3f) {
            size_t o = 0;
            while (L->row_ptr[o + 1] <= k)
                o++;
            freepos[o][L->col[k] & RW_COL_MASK] = 1;
        }
    int grow[3][4] = {{0}};
    for (int pick = 0; pick < 3; pick++) {
        int bo = -1, bi = -1;
        for (int o = 0; o < 3; o++)
            for (int i = 0; i < 4; i++)
                if (freepos[o][i] && !grow[o][i] &&
                    (bo < 0 || fabs(G[o][i]) > fabs(G[bo][bi]))) {
                    bo = o;
                    bi = i;
                }
        grow[bo][bi] = 1;
    }
    rw_rng rng;
    rw_rng_seed(&rng, 1);
    /* Also through the generic checker, which repeats the same logic on
     * the library's own arrays. */
    float xt[4 * 3]; /* the batch feature-major, as the layer sees it */
    for (size_t j = 0; j < 3; j++)
        for (size_t i = 0; i < 4; i++)
            xt[i * 3 + j] = X[j * 4 + i];
    checked_rewire(net, RW_REWIRE_RIGL, 0.5, &rng, xt, "RigL by hand");
    CHECK(L->nw == 6);
    /* Survivors 0.9, 0.4, -0.6 plus the three grown positions at weight 0. */
    size_t n_grown = 0;
    for (size_t o = 0; o < 3; o++)
        for (size_t k = L->row_ptr[o]; k < L->row_ptr[o + 1]; k++) {
            size_t i = L->col[k] & RW_COL_MASK;
            if (L->w[k] == 0.0f) {
                CHECK_MSG(grow[o][i], "RigL by hand: grew (%zu,%zu), |G| %.6g", o, i,
                          fabs(G[o][i]));
                n_grown++;
            } else {
                CHECK(L->w[k] == 0.9f || L->w[k] == 0.4f || L->w[k] == -0.6f);
            }
        }
    CHECK(n_grown == 3);
    /* The hand case must not be degenerate: distinct |G| at the boundary. */
    double sel_min = INFINITY, rest_max = 0.0;
    for (int o = 0; o < 3; o++)
        for (int i = 0; i < 4; i++) {
            if (grow[o][i])
                sel_min = fmin(sel_min, fabs(G[o][i]));
            else if (freepos[o][i])
                rest_max = fmax(rest_max, fabs(G[o][i]));
        }
    CHECK_MSG(sel_min > rest_max * 1.01, "RigL by hand: |G| tie at the boundary");
    rw_net_free(net);
}

static void test_same_seed(void)
{
    static const size_t h[] = {16};
    for (int kind = RW_REWIRE_SET; kind <= RW_REWIRE_RIGL; kind++) {
        rw_net *a = make_net(12, h, 1, 3, 0.3, 1, 21), *b = make_net(12, h, 1, 3, 0.3, 1, 21);
        batch bt = make_batch(a, 8, 3);
        rw_rng ra, rb;
        rw_rng_seed(&ra, 99);
        rw_rng_seed(&rb, 99);
        rw_error err;
        for (int round = 0; round < 3; round++) {
            gradient(a, &bt);
            gradient(b, &bt);
            CHECK_OK(rw_net_rewire(a, (rw_rewire_kind)kind, 0.4, &ra, NULL, &err), &err);
            CHECK_OK(rw_net_rewire(b, (rw_rewire_kind)kind, 0.4, &rb, NULL, &err), &err);
        }
        for (size_t l = 0; l < a->n_layers; l++) {
            rw_layer *A = &a->layers[l], *B = &b->layers[l];
            CHECK(A->nw == B->nw);
            CHECK(!memcmp(A->col, B->col, A->nw * sizeof(uint32_t)));
            CHECK(!memcmp(A->row_ptr, B->row_ptr, (A->out + 1) * sizeof(size_t)));
            CHECK(!memcmp(A->w, B->w, A->nw * sizeof(float)));
        }
        if (kind == RW_REWIRE_SET) {
            /* A different seed grows elsewhere. */
            rw_net *c = make_net(12, h, 1, 3, 0.3, 1, 21);
            rw_rng rc;
            rw_rng_seed(&rc, 100);
            CHECK_OK(rw_net_rewire(c, RW_REWIRE_SET, 0.4, &rc, NULL, &err), &err);
            rw_net *d = make_net(12, h, 1, 3, 0.3, 1, 21);
            rw_rng rd;
            rw_rng_seed(&rd, 99);
            CHECK_OK(rw_net_rewire(d, RW_REWIRE_SET, 0.4, &rd, NULL, &err), &err);
            CHECK_MSG(memcmp(c->layers[0].col, d->layers[0].col,
                             c->layers[0].nw * sizeof(uint32_t)) != 0,
                      "SET: seeds 99 and 100 grew the same connections");
            rw_net_free(c);
            rw_net_free(d);
        }
        batch_free(&bt);
        rw_net_free(a);
        rw_net_free(b);
    }
}

/* Layers at and near density 1: growth must find the few free positions. */
static void test_nearly_full(void)
{
    static const size_t h[] = {9};
    static const double densities[] = {1.0, 0.95};
    for (size_t di = 0; di < 2; di++)
        for (int kind = RW_REWIRE_SET; kind <= RW_REWIRE_RIGL; kind++) {
            rw_net *net = make_net(7, h, 1, 3, densities[di], 1, 31);
            rw_error err;
            CHECK_OK(rw_net_ensure_moments(net, RW_OPT_MOMENTUM, &err), &err);
            batch b = make_batch(net, 6, 2);
            rw_rng rng;
            rw_rng_seed(&rng, 5);
            for (int round = 0; round < 3; round++) {
                gradient(net, &b);
                tag_moments(net);
                char what[64];
                snprintf(what, sizeof what, "density %.2f %s round %d", densities[di],
                         kind == RW_REWIRE_SET ? "SET" : "RigL", round);
                checked_rewire(net, (rw_rewire_kind)kind, 0.5, &rng, b.xt, what);
            }
            if (densities[di] == 1.0)
                for (size_t l = 0; l < net->n_layers; l++)
                    CHECK(net->layers[l].nw == net->layers[l].in * net->layers[l].out);
            batch_free(&b);
            rw_net_free(net);
        }
}

static void test_mixed_and_errors(void)
{
    static const size_t h[] = {14, 10};
    /* Sparse hidden layers, dense output: the output is left alone. */
    rw_net *net = make_net(9, h, 2, 3, 0.35, 0, 41);
    CHECK(net->layers[2].kind == RW_LAYER_DENSE);
    batch b = make_batch(net, 10, 4);
    rw_rng rng;
    rw_rng_seed(&rng, 3);
    rw_error err;
    /* RigL before any gradient has nothing to go on. */
    CHECK(rw_net_rewire(net, RW_REWIRE_RIGL, 0.3, &rng, NULL, &err) == RW_ERR_ARG);
    CHECK(rw_net_rewire(net, RW_REWIRE_SET, 1.5, &rng, NULL, &err) == RW_ERR_ARG);
    CHECK(rw_net_rewire(net, RW_REWIRE_SET, -0.1, &rng, NULL, &err) == RW_ERR_ARG);
    CHECK(rw_net_rewire(net, RW_REWIRE_SET, NAN, &rng, NULL, &err) == RW_ERR_ARG);
    CHECK(rw_net_rewire(net, RW_REWIRE_SET, 0.3, NULL, NULL, &err) == RW_ERR_ARG);
    for (int round = 0; round < 3; round++) {
        gradient(net, &b);
        checked_rewire(net, round % 2 ? RW_REWIRE_RIGL : RW_REWIRE_SET, 0.3, &rng, b.xt,
                       "mixed net");
    }
    /* Dropping everything (f = 1) still leaves a valid layer with the same
     * number of connections. */
    gradient(net, &b);
    checked_rewire(net, RW_REWIRE_SET, 1.0, &rng, b.xt, "SET f=1");
    gradient(net, &b);
    checked_rewire(net, RW_REWIRE_RIGL, 1.0, &rng, b.xt, "RigL f=1");
    /* Every weight is now 0: RigL's drop is all ties, broken in storage
     * order, and SET counts the zeros with the positive weights, so it
     * drops half of them (they were immune to SET before). */
    gradient(net, &b);
    checked_rewire(net, RW_REWIRE_RIGL, 0.3, &rng, b.xt, "RigL all ties");
    for (size_t l = 0; l < 2; l++)
        for (size_t k = 0; k < net->layers[l].nw; k++)
            CHECK(net->layers[l].w[k] == 0.0f);
    rw_rewire_stats zs[RW_MAX_LAYERS];
    rw_rng zr = rng;
    CHECK_OK(rw_net_rewire(net, RW_REWIRE_SET, 0.5, &zr, zs, &err), &err);
    CHECK(zs[0].dropped == net->layers[0].nw / 2 && zs[1].dropped == net->layers[1].nw / 2);
    checked_rewire(net, RW_REWIRE_SET, 0.5, &rng, b.xt, "SET all zero");
    /* An unknown rule is refused and changes nothing (it used to run as
     * RigL). */
    gradient(net, &b);
    rw_net *ref = rw_net_clone(net, &err);
    CHECK(rw_net_rewire(net, (rw_rewire_kind)7, 0.3, &rng, NULL, &err) == RW_ERR_ARG);
    CHECK(strstr(err.msg, "unknown rewiring rule 7") != NULL);
    /* rw_train refuses it before the first step. */
    rw_dataset *ds = rw_dataset_alloc(b.n, b.f, 3, 0, &err);
    memcpy(ds->x, b.x, b.n * b.f * sizeof(float));
    memcpy(ds->labels, b.y, b.n * sizeof(int32_t));
    rw_train_config tc = rw_train_defaults();
    tc.rewire = (rw_rewire_kind)7;
    CHECK(rw_train(net, ds, NULL, &tc, NULL, &err) == RW_ERR_ARG);
    CHECK(!memcmp(net->layers[0].w, ref->layers[0].w, net->layers[0].nw * sizeof(float)));
    rw_dataset_free(ds);
    CHECK(!memcmp(net->layers[0].col, ref->layers[0].col,
                  net->layers[0].nw * sizeof(uint32_t)));
    rw_net_free(ref);
    batch_free(&b);
    rw_net_free(net);
}

/* ---------------- transactions and stale buffers ---------------- */

/* Every array of two networks agrees bit for bit (0 on a difference). */
static int same_net(const rw_net *a, const rw_net *b)
{
    if (a->n_layers != b->n_layers)
        return 0;
    for (size_t l = 0; l < a->n_layers; l++) {
        const rw_layer *A = &a->layers[l], *B = &b->layers[l];
        if (A->nw != B->nw || A->initial_alive != B->initial_alive ||
            A->kind != B->kind)
            return 0;
        const float *fa[] = {A->w, A->gw, A->b, A->m1, A->m2, A->credit, A->si_prev};
        const float *fb[] = {B->w, B->gw, B->b, B->m1, B->m2, B->credit, B->si_prev};
        for (size_t i = 0; i < sizeof fa / sizeof fa[0]; i++)
            if ((fa[i] == NULL) != (fb[i] == NULL) ||
                (fa[i] && memcmp(fa[i], fb[i], (i == 2 ? A->out : A->nw) * sizeof(float))))
                return 0;
        if (A->kind != RW_LAYER_SPARSE)
            continue;
        if (memcmp(A->col, B->col, A->nw * sizeof(uint32_t)) ||
            memcmp(A->row_ptr, B->row_ptr, (A->out + 1) * sizeof(size_t)) ||
            memcmp(A->tcol_ptr, B->tcol_ptr, (A->in + 1) * sizeof(size_t)) ||
            memcmp(A->t_k, B->t_k, A->nw * sizeof(uint32_t)) ||
            memcmp(A->t_row, B->t_row, A->nw * sizeof(uint32_t)))
            return 0;
    }
    return 1;
}

/* A rewire that fails leaves the network and the RNG exactly as they
 * were: every allocation of the call is made to fail in turn (both sparse
 * layers, every growth rule), then the call that succeeds must give the
 * same result as on an untouched copy. */
static void test_transactional(rw_rewire_kind kind, const char *name)
{
    static const size_t h[] = {30, 25};
    rw_net *net = make_net(20, h, 2, 4, 0.4, 0, 11);
    rw_error err;
    CHECK_OK(rw_net_ensure_moments(net, RW_OPT_ADAM, &err), &err);
    tag_moments(net);
    for (size_t l = 0; l < net->n_layers; l++) { /* a trace and SI state */
        rw_layer *L = &net->layers[l];
        L->credit = rw_calloc(L->nw, sizeof(float), "test", &err);
        L->si_prev = rw_calloc(L->nw, sizeof(float), "test", &err);
        for (size_t k = 0; k < L->nw; k++)
            L->credit[k] = L->si_prev[k] = (float)k;
    }
    batch b = make_batch(net, 16, 12);
    gradient(net, &b);
    rw_net *ref = rw_net_clone(net, &err);
    rw_net *want = rw_net_clone(net, &err);
    gradient(want, &b); /* the same buffers */
    rw_rng rng, rng0;
    rw_rng_seed(&rng, 21);
    rng0 = rng;
    rw_rng wrng = rng;
    CHECK_OK(rw_net_rewire(want, kind, 0.3, &wrng, NULL, &err), &err);
    size_t failures = 0;
    rw_status st = RW_ERR_NOMEM;
    for (unsigned long n = 1; n < 100 && st == RW_ERR_NOMEM; n++) {
        rw_alloc_fail_after(n);
        st = rw_net_rewire(net, kind, 0.3, &rng, NULL, &err);
        rw_alloc_fail_after(0);
        if (st != RW_ERR_NOMEM)
            break;
        failures++;
        CHECK_MSG(same_net(net, ref), "%s: failed rewire (allocation %lu) "
                  "changed the network", name, n);
        CHECK_MSG(!memcmp(&rng, &rng0, sizeof rng), "%s: failed rewire "
                  "(allocation %lu) advanced the RNG", name, n);
    }
    CHECK_OK(st, &err);
    /* two sparse layers, at least four allocations each */
    CHECK_MSG(failures >= 8, "%s: only %zu failure paths", name, failures);
    CHECK_MSG(same_net(net, want), "%s: the rewire after failures differs", name);
    for (size_t l = 0; l < 2; l++)
        check_topology(&net->layers[l], name);
    rw_net_free(ref);
    rw_net_free(want);
    batch_free(&b);
    rw_net_free(net);
}

/* Hebbian growth above density 1/(1+f): the free positions are counted
 * after the drop (it used to count them before and refuse), and the
 * result is a valid layer that saves and loads. */
static void test_hebbian_dense(void)
{
    static const size_t h[] = {24};
    rw_net *net = make_net(16, h, 1, 3, 0.8, 0, 31);
    batch b = make_batch(net, 32, 32);
    rw_rng rng;
    rw_rng_seed(&rng, 33);
    rw_error err;
    for (int round = 0; round < 3; round++) {
        gradient(net, &b);
        rw_rewire_stats st[RW_MAX_LAYERS];
        size_t nw = net->layers[0].nw;
        CHECK_OK(rw_net_rewire(net, RW_REWIRE_HEBBIAN, 0.3, &rng, st, &err), &err);
        CHECK(net->layers[0].nw == nw && st[0].grown == st[0].dropped &&
              st[0].grown == (size_t)(0.3 * (double)nw));
        CHECK(check_topology(&net->layers[0], "dense Hebbian") == 0);
    }
    const char *path = "rewire_hebbian_dense.rwm";
    CHECK_OK(rw_net_save(net, path, &err), &err);
    rw_net *back = rw_net_load(path, &err);
    CHECK_MSG(back != NULL, "reload: %s", err.msg);
    if (back)
        CHECK(back->layers[0].nw == net->layers[0].nw &&
              !memcmp(back->layers[0].col, net->layers[0].col,
                      net->layers[0].nw * sizeof(uint32_t)));
    rw_net_free(back);
    remove(path);
    batch_free(&b);
    rw_net_free(net);
}

/* RigL and Hebbian growth read the buffers of the last rw_net_gradient; a
 * forward pass in between (predict, evaluate) replaces them, so the
 * rewire is refused with a clear message and changes nothing. In the
 * other order (predict, then gradient) the growth is the same as with no
 * predict at all. */
static void test_stale_buffers(rw_rewire_kind kind)
{
    static const size_t h[] = {30, 25};
    rw_net *net = make_net(20, h, 2, 4, 0.4, 0, 51);
    batch b = make_batch(net, 16, 52), other = make_batch(net, 40, 53);
    rw_error err;
    float *out = malloc(40 * 4 * sizeof(float));
    rw_net *twin = rw_net_clone(net, &err);
    /* gradient, predict, rewire: refused */
    gradient(net, &b);
    CHECK_OK(rw_net_predict(net, other.x, 40, out, &err), &err);
    rw_net *ref = rw_net_clone(net, &err);
    rw_rng rng;
    rw_rng_seed(&rng, 54);
    CHECK(rw_net_rewire(net, kind, 0.3, &rng, NULL, &err) == RW_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "rw_net_predict") && strstr(err.msg, "rw_net_gradient"),
              "unclear message: %s", err.msg);
    CHECK(same_net(net, ref));
    /* gradient, evaluate, rewire: refused too */
    gradient(net, &b);
    rw_dataset *ds = rw_dataset_alloc(40, 20, 4, 0, &err);
    memcpy(ds->x, other.x, 40 * 20 * sizeof(float));
    memcpy(ds->labels, other.y, 40 * sizeof(int32_t));
    rw_eval_result ev;
    CHECK_OK(rw_net_evaluate(net, ds, &ev, NULL, &err), &err);
    CHECK(rw_net_rewire(net, kind, 0.3, &rng, NULL, &err) == RW_ERR_ARG);
    /* predict, gradient, rewire: as if there had been no predict */
    CHECK_OK(rw_net_predict(net, other.x, 40, out, &err), &err);
    gradient(net, &b);
    rw_rng r1, r2;
    rw_rng_seed(&r1, 55);
    r2 = r1;
    CHECK_OK(rw_net_rewire(net, kind, 0.3, &r1, NULL, &err), &err);
    gradient(twin, &b);
    CHECK_OK(rw_net_rewire(twin, kind, 0.3, &r2, NULL, &err), &err);
    for (size_t l = 0; l < 2; l++)
        CHECK(!memcmp(net->layers[l].col, twin->layers[l].col,
                      net->layers[l].nw * sizeof(uint32_t)));
    rw_dataset_free(ds);
    rw_net_free(ref);
    rw_net_free(twin);
    free(out);
    batch_free(&b);
    batch_free(&other);
    rw_net_free(net);
}

/* ---------------- Adam on new connections ---------------- */

/* A connection RigL grows after 200 Adam steps takes its first step with
 * its own bias correction (t = 1): |dw| = lr |g| / (|g| + eps) ~ lr, as a
 * fresh Adam would. With the global step it was ~1.35 lr (and up to 6 lr
 * over its next steps). Survivors keep counting; the counts survive a
 * save and load, and a file without counts (as written before them) means
 * every count equals the global step, which gives the old trajectory. */
static void test_adam_new_connections(void)
{
    static const size_t h[] = {30, 25};
    rw_net *net = make_net(20, h, 2, 4, 0.4, 0, 61);
    batch b = make_batch(net, 16, 62);
    rw_optim_config opt = rw_optim_defaults(RW_OPT_ADAM);
    const double lr = 1e-3;
    rw_error err;
    for (int s = 0; s < 200; s++) {
        gradient(net, &b);
        CHECK_OK(rw_net_step(net, &opt, lr, &err), &err);
    }
    /* Old file (no counts): save before any rewire, strip the counts, and
     * the next step is the same as with them. */
    rw_net *old = rw_net_clone(net, &err);
    for (size_t l = 0; l < old->n_layers; l++) {
        rw_free(old->layers[l].mstep);
        rw_free(old->layers[l].bmstep);
        old->layers[l].mstep = old->layers[l].bmstep = NULL;
    }
    gradient(old, &b);
    CHECK_OK(rw_net_step(old, &opt, lr, &err), &err);
    rw_net *cur = rw_net_clone(net, &err);
    gradient(cur, &b);
    CHECK_OK(rw_net_step(cur, &opt, lr, &err), &err);
    CHECK(same_net(old, cur));
    CHECK(old->layers[0].mstep && old->layers[0].mstep[0] == 201.0f);
    rw_net_free(old);
    rw_net_free(cur);

    gradient(net, &b);
    rw_rng rng;
    rw_rng_seed(&rng, 63);
    CHECK_OK(rw_net_rewire(net, RW_REWIRE_RIGL, 0.3, &rng, NULL, &err), &err);
    gradient(net, &b);
    rw_net *before = rw_net_clone(net, &err);
    CHECK_OK(rw_net_step(net, &opt, lr, &err), &err);
    size_t fresh = 0, bad = 0, old_ok = 0;
    for (size_t l = 0; l < 2; l++) {
        rw_layer *L = &net->layers[l], *P = &before->layers[l];
        for (size_t k = 0; k < L->nw; k++) {
            if (P->mstep[k] == 0.0f) { /* grown */
                fresh++;
                double g = fabs(P->gw[k]);
                double want = g > 0 ? lr * g / (g + 1e-8) : 0.0;
                double got = fabs((double)L->w[k] - P->w[k]);
                bad += !(fabs(got - want) <= 1e-3 * lr) || L->mstep[k] != 1.0f;
            } else {
                old_ok += P->mstep[k] == 200.0f && L->mstep[k] == 201.0f;
            }
        }
        CHECK(L->bmstep[0] == 201.0f);
    }
    CHECK(fresh > 0);
    CHECK_MSG(bad == 0, "%zu of %zu new connections took a wrong first step", bad,
              fresh);
    CHECK(old_ok + fresh == net->layers[0].nw + net->layers[1].nw);
    /* adam_global_steps = 1: the old correction, 1 - beta^201 for all. */
    rw_net *glob = rw_net_clone(before, &err);
    rw_optim_config gopt = opt;
    gopt.adam_global_steps = 1;
    CHECK_OK(rw_net_step(glob, &gopt, lr, &err), &err);
    double c1 = 1.0 - pow(0.9, 201.0), c2 = 1.0 - pow(0.999, 201.0);
    size_t gbad = 0, gseen = 0;
    for (size_t k = 0; k < glob->layers[0].nw; k++) {
        const rw_layer *P = &before->layers[0];
        if (P->mstep[k] != 0.0f || fabs(P->gw[k]) < 1e-4)
            continue;
        double g = P->gw[k];
        double want = lr * (0.1 * g / c1) / (sqrt(0.001 * g * g / c2) + 1e-8);
        double got = (double)P->w[k] - glob->layers[0].w[k];
        gbad += !(fabs(got - want) <= 1e-3 * fabs(want));
        gseen++;
    }
    CHECK(gseen > 0 && gbad == 0);
    rw_net_free(glob);
    /* The counts travel in the model file. */
    const char *path = "rewire_adam_counts.rwm";
    CHECK_OK(rw_net_save(net, path, &err), &err);
    rw_net *back = rw_net_load(path, &err);
    CHECK_MSG(back != NULL, "%s", err.msg);
    if (back) {
        CHECK(!memcmp(back->layers[0].mstep, net->layers[0].mstep,
                      net->layers[0].nw * sizeof(float)));
        CHECK(!memcmp(back->layers[1].bmstep, net->layers[1].bmstep,
                      net->layers[1].out * sizeof(float)));
    }
    rw_net_free(back);
    remove(path);
    rw_net_free(before);
    batch_free(&b);
    rw_net_free(net);
}

int main(void)
{
    /* Rewiring itself is serial; one thread keeps the many tiny passes
     * cheap on a loaded machine (threaded kernels: test_layers). */
    rw_set_threads(1);
    test_rounds(RW_REWIRE_SET, RW_OPT_MOMENTUM, 0.3, 1, "SET, momentum moments");
    test_rounds(RW_REWIRE_RIGL, RW_OPT_MOMENTUM, 0.3, 1, "RigL, momentum moments");
    test_rounds(RW_REWIRE_SET, RW_OPT_ADAM, 0.1, 0, "SET, Adam moments");
    test_rounds(RW_REWIRE_RIGL, RW_OPT_ADAM, 0.6, 0, "RigL, Adam moments");
    test_zero_fraction();
    test_set_by_hand();
    test_rigl_by_hand();
    test_same_seed();
    test_nearly_full();
    test_mixed_and_errors();
    test_transactional(RW_REWIRE_SET, "SET transaction");
    test_transactional(RW_REWIRE_RIGL, "RigL transaction");
    test_transactional(RW_REWIRE_HEBBIAN, "Hebbian transaction");
    test_hebbian_dense();
    test_stale_buffers(RW_REWIRE_RIGL);
    test_stale_buffers(RW_REWIRE_HEBBIAN);
    test_adam_new_connections();
    TEST_MAIN_END();
}
