/* Golden-fixture test: rewire against PyTorch.
 *
 * tools/make_reference.py builds small MLPs in PyTorch (float32, fixed
 * seeds) and writes tests/fixtures/reference_*.txt with their weights, an
 * input batch, the outputs, the mean loss and every gradient, plus the
 * parameters after three steps of each optimizer. This test builds the same
 * networks with rw_net_config_mlp, copies the weights in through
 * rw_net_layer_view and checks that rewire computes the same numbers.
 *
 * Tolerances (|got - ref| <= atol + rtol*|ref|): forward pass, loss and
 * gradients 1e-6 + 1e-4 relative (float32 with a different summation order
 * agrees to ~1e-7 here); parameters after three optimizer steps 1e-6 +
 * 1e-5 relative (observed ~3e-8; the generator refuses fixtures whose
 * gradients are small enough for rounding to flip Adam's normalised step,
 * and whose ReLU pre-activations sit near the kink). */
#include "check.h"
#include "rewire.h"

#include <ctype.h>
#include <string.h>

#define FWD_ATOL 1e-6
#define FWD_RTOL 1e-4
#define OPT_ATOL 1e-6
#define OPT_RTOL 1e-5

/* ---------------- fixture parser ---------------- */

typedef struct entry {
    char name[64];
    int is_param;
    char value[64];   /* params */
    size_t ndim, dims[4], n;
    double *v;        /* arrays */
} entry;

typedef struct fixture {
    char path[512];
    entry *e;
    size_t n, cap;
} fixture;

typedef struct lexer {
    const char *p;
    size_t line;
} lexer;

/* Next whitespace-separated token, skipping '#' comments; 0 at the end. */
static int next_token(lexer *lx, char *tok, size_t cap)
{
    for (;;) {
        while (*lx->p && isspace((unsigned char)*lx->p)) {
            if (*lx->p == '\n')
                lx->line++;
            lx->p++;
        }
        if (*lx->p == '#') {
            while (*lx->p && *lx->p != '\n')
                lx->p++;
            continue;
        }
        break;
    }
    if (!*lx->p)
        return 0;
    size_t n = 0;
    while (*lx->p && !isspace((unsigned char)*lx->p)) {
        if (n + 1 < cap)
            tok[n++] = *lx->p;
        lx->p++;
    }
    tok[n] = '\0';
    return 1;
}

static int token_size(lexer *lx, const char *path, size_t *out)
{
    char tok[64], *end;
    if (!next_token(lx, tok, sizeof tok))
        return 0;
    unsigned long long v = strtoull(tok, &end, 10);
    if (*end || tok[0] == '-' || v > (1u << 20)) {
        fprintf(stderr, "%s:%zu: bad size '%s'\n", path, lx->line, tok);
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

static void fixture_free(fixture *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->e[i].v);
    free(f->e);
    memset(f, 0, sizeof *f);
}

/* Loads a fixture; returns 0 (and reports) on any malformed content. */
static int fixture_load(fixture *f, const char *name)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s/%s", RW_FIXTURES, name);
    FILE *fp = fopen(f->path, "rb");
    if (!fp) {
        fprintf(stderr, "cannot open %s (run tools/make_reference.py)\n", f->path);
        return 0;
    }
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    if (!text || fread(text, 1, (size_t)len, fp) != (size_t)len) {
        fclose(fp);
        free(text);
        return 0;
    }
    fclose(fp);
    text[len] = '\0';
    lexer lx = {text, 1};
    char tok[64];
    int ok = 1;
    while (ok && next_token(&lx, tok, sizeof tok)) {
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 32;
            f->e = realloc(f->e, f->cap * sizeof *f->e);
        }
        entry *e = &f->e[f->n];
        memset(e, 0, sizeof *e);
        if (strcmp(tok, "param") == 0) {
            e->is_param = 1;
            ok = next_token(&lx, e->name, sizeof e->name) &&
                 next_token(&lx, e->value, sizeof e->value);
        } else if (strcmp(tok, "array") == 0) {
            ok = next_token(&lx, e->name, sizeof e->name) &&
                 token_size(&lx, f->path, &e->ndim) && e->ndim >= 1 &&
                 e->ndim <= 4;
            e->n = 1;
            for (size_t d = 0; ok && d < e->ndim; d++) {
                ok = token_size(&lx, f->path, &e->dims[d]);
                e->n *= e->dims[d];
            }
            if (ok) {
                e->v = malloc((e->n ? e->n : 1) * sizeof(double));
                for (size_t i = 0; ok && i < e->n; i++) {
                    char *end;
                    ok = next_token(&lx, tok, sizeof tok);
                    if (ok) {
                        e->v[i] = strtod(tok, &end);
                        ok = *end == '\0';
                    }
                    if (!ok)
                        fprintf(stderr, "%s:%zu: array %s: value %zu of %zu "
                                "missing or malformed\n",
                                f->path, lx.line, e->name, i + 1, e->n);
                }
            }
        } else {
            fprintf(stderr, "%s:%zu: unexpected token '%s'\n", f->path, lx.line, tok);
            ok = 0;
        }
        f->n++;
    }
    free(text);
    if (!ok) {
        fprintf(stderr, "%s: malformed fixture\n", f->path);
        fixture_free(f);
    }
    return ok;
}

static const entry *find(const fixture *f, const char *name, int is_param)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->e[i].is_param == is_param && strcmp(f->e[i].name, name) == 0)
            return &f->e[i];
    return NULL;
}

/* Array `name` that must hold exactly n values. */
static const double *arr(const fixture *f, const char *name, size_t n)
{
    const entry *e = find(f, name, 0);
    if (!e) {
        fprintf(stderr, "%s: array %s missing\n", f->path, name);
        rw_test_failures++;
        return NULL;
    }
    if (e->n != n) {
        fprintf(stderr, "%s: array %s has %zu values, expected %zu\n", f->path,
                name, e->n, n);
        rw_test_failures++;
        return NULL;
    }
    return e->v;
}

static const char *param(const fixture *f, const char *name)
{
    const entry *e = find(f, name, 1);
    if (!e) {
        fprintf(stderr, "%s: param %s missing\n", f->path, name);
        rw_test_failures++;
        return "";
    }
    return e->value;
}

/* ---------------- comparisons ---------------- */

/* Compares n values; reports the worst and up to 3 failing elements. */
static void compare(const char *what, const char *name, const float *got,
                    const double *ref, size_t n, double atol, double rtol)
{
    if (!ref)
        return;
    size_t bad = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - ref[i]);
        double lim = atol + rtol * fabs(ref[i]);
        if (err > worst)
            worst = err;
        if (!(err <= lim)) {
            if (bad < 3)
                fprintf(stderr, "%s %s[%zu]: rewire %.9g, torch %.9g (|diff| %.3g)\n",
                        what, name, i, (double)got[i], ref[i], err);
            bad++;
        }
    }
    if (bad) {
        fprintf(stderr, "%s %s: %zu of %zu values off\n", what, name, bad, n);
        rw_test_failures++;
    }
    printf("  %-14s %-12s max |diff| %.2e over %zu values\n", what, name, worst, n);
}

/* Guard: a reference array that is all zeros would make a comparison pass
 * vacuously. */
static void check_not_all_zero(const char *name, const double *v, size_t n)
{
    if (!v)
        return;
    double mx = 0.0;
    for (size_t i = 0; i < n; i++)
        mx = fabs(v[i]) > mx ? fabs(v[i]) : mx;
    CHECK_MSG(mx > 1e-6, "reference %s is all zeros", name);
}

/* ---------------- building the network ---------------- */

typedef struct ref_net {
    rw_net *net;
    size_t batch, n_in, n_out, n_layers;
    int ce;
    const double *x, *labels, *targets;
} ref_net;

static int parse_act(const char *s, rw_activation *act)
{
    static const struct { const char *name; rw_activation act; } map[] = {
        {"identity", RW_ACT_IDENTITY}, {"relu", RW_ACT_RELU},
        {"leaky_relu", RW_ACT_LEAKY_RELU}, {"sigmoid", RW_ACT_SIGMOID},
        {"tanh", RW_ACT_TANH}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(s, map[i].name) == 0) {
            *act = map[i].act;
            return 1;
        }
    return 0;
}

/* Copies the fixture's parameters (prefix "" or "opt<r>.") into the net. */
static void load_params(const fixture *f, rw_net *net, const char *prefix)
{
    rw_error err;
    for (size_t l = 0; l < rw_net_layers(net); l++) {
        rw_layer_view v;
        CHECK_OK(rw_net_layer_view(net, l, &v, &err), &err);
        char name[96];
        snprintf(name, sizeof name, "%sL%zu.W", prefix, l);
        const double *W = arr(f, name, v.inputs * v.outputs);
        snprintf(name, sizeof name, "%sL%zu.b", prefix, l);
        const double *b = arr(f, name, v.outputs);
        if (!W || !b)
            continue;
        CHECK(v.kind == RW_LAYER_DENSE && v.connections == v.inputs * v.outputs);
        for (size_t k = 0; k < v.inputs * v.outputs; k++)
            v.weights[k] = (float)W[k];
        for (size_t o = 0; o < v.outputs; o++)
            v.bias[o] = (float)b[o];
    }
}

static int build(const fixture *f, ref_net *r)
{
    memset(r, 0, sizeof *r);
    rw_error err;
    rw_activation act;
    if (!parse_act(param(f, "act"), &act)) {
        fprintf(stderr, "%s: unknown activation\n", f->path);
        rw_test_failures++;
        return 0;
    }
    r->ce = strcmp(param(f, "loss"), "cross_entropy") == 0;
    const entry *sz = find(f, "sizes", 0);
    const double *bt = arr(f, "batch", 1);
    if (!sz || sz->n < 2 || sz->n > RW_MAX_LAYERS + 1 || !bt) {
        fprintf(stderr, "%s: bad sizes/batch\n", f->path);
        rw_test_failures++;
        return 0;
    }
    size_t sizes[RW_MAX_LAYERS + 1];
    for (size_t i = 0; i < sz->n; i++)
        sizes[i] = (size_t)sz->v[i];
    r->batch = (size_t)bt[0];
    r->n_in = sizes[0];
    r->n_out = sizes[sz->n - 1];
    r->n_layers = sz->n - 1;
    rw_net_config cfg = rw_net_config_defaults();
    CHECK_OK(rw_net_config_mlp(&cfg, r->n_in, sizes + 1, sz->n - 2, r->n_out, act,
                               r->ce ? RW_LOSS_CROSS_ENTROPY : RW_LOSS_MSE, &err),
             &err);
    r->net = rw_net_create(&cfg, &err);
    if (!r->net) {
        fprintf(stderr, "%s: rw_net_create: %s\n", f->path, err.msg);
        rw_test_failures++;
        return 0;
    }
    CHECK(rw_net_layers(r->net) == r->n_layers);
    r->x = arr(f, "x", r->batch * r->n_in);
    if (r->ce)
        r->labels = arr(f, "labels", r->batch);
    else
        r->targets = arr(f, "targets", r->batch * r->n_out);
    if (!r->x || (r->ce ? !r->labels : !r->targets))
        return 0;
    load_params(f, r->net, "");
    return 1;
}

/* Runs rw_net_gradient on the fixture's batch. */
static double gradient(ref_net *r)
{
    rw_error err;
    size_t B = r->batch;
    float *x = malloc(B * r->n_in * sizeof *x);
    float *t = malloc(B * r->n_out * sizeof *t);
    int32_t *y = malloc(B * sizeof *y);
    for (size_t i = 0; i < B * r->n_in; i++)
        x[i] = (float)r->x[i];
    for (size_t j = 0; r->ce && j < B; j++)
        y[j] = (int32_t)r->labels[j];
    for (size_t i = 0; !r->ce && i < B * r->n_out; i++)
        t[i] = (float)r->targets[i];
    double loss = NAN;
    CHECK_OK(rw_net_gradient(r->net, x, r->ce ? y : NULL, r->ce ? NULL : t, B,
                             &loss, NULL, &err),
             &err);
    free(x);
    free(t);
    free(y);
    return loss;
}

static void test_forward_fixture(const char *file)
{
    printf("%s\n", file);
    fixture f;
    if (!fixture_load(&f, file)) {
        rw_test_failures++;
        return;
    }
    ref_net r;
    if (!build(&f, &r)) {
        rw_net_free(r.net);
        fixture_free(&f);
        return;
    }
    rw_error err;
    size_t B = r.batch;

    /* Outputs through the public predict path. */
    float *x = malloc(B * r.n_in * sizeof *x);
    float *out = malloc(B * r.n_out * sizeof *out);
    for (size_t i = 0; i < B * r.n_in; i++)
        x[i] = (float)r.x[i];
    CHECK_OK(rw_net_predict(r.net, x, B, out, &err), &err);
    compare(file, "out", out, arr(&f, "out", B * r.n_out), B * r.n_out, FWD_ATOL,
            FWD_RTOL);

    /* Loss and every gradient. */
    double loss = gradient(&r);
    const double *ref_loss = arr(&f, "loss", 1);
    if (ref_loss) {
        float lf = (float)loss;
        compare(file, "loss", &lf, ref_loss, 1, FWD_ATOL, FWD_RTOL);
    }
    for (size_t l = 0; l < r.n_layers; l++) {
        rw_layer_view v;
        CHECK_OK(rw_net_layer_view(r.net, l, &v, &err), &err);
        char name[32];
        snprintf(name, sizeof name, "L%zu.gW", l);
        const double *gW = arr(&f, name, v.outputs * v.inputs);
        check_not_all_zero(name, gW, v.outputs * v.inputs);
        compare(file, name, v.grad_weights, gW, v.outputs * v.inputs, FWD_ATOL,
                FWD_RTOL);
        snprintf(name, sizeof name, "L%zu.gb", l);
        const double *gb = arr(&f, name, v.outputs);
        check_not_all_zero(name, gb, v.outputs);
        compare(file, name, v.grad_bias, gb, v.outputs, FWD_ATOL, FWD_RTOL);
    }
    free(x);
    free(out);
    rw_net_free(r.net);
    fixture_free(&f);
}

static void test_optim_fixture(const char *file)
{
    printf("%s\n", file);
    fixture f;
    if (!fixture_load(&f, file)) {
        rw_test_failures++;
        return;
    }
    int runs = 0;
    for (int run = 0;; run++) {
        char name[96];
        snprintf(name, sizeof name, "opt%d.name", run);
        const entry *pn = find(&f, name, 1);
        if (!pn)
            break;
        runs++;
        ref_net r;
        if (!build(&f, &r)) {
            rw_net_free(r.net);
            break;
        }
        snprintf(name, sizeof name, "opt%d.config", run);
        const double *c = arr(&f, name, 8);
        snprintf(name, sizeof name, "opt%d.steps", run);
        const double *steps = arr(&f, name, 1);
        if (!c || !steps) {
            rw_net_free(r.net);
            break;
        }
        rw_optim_config opt = rw_optim_defaults((rw_optim_kind)(int)c[0]);
        double lr = c[1];
        opt.momentum = c[2];
        opt.nesterov = (int)c[3];
        opt.beta1 = c[4];
        opt.beta2 = c[5];
        opt.eps = c[6];
        opt.weight_decay = c[7];
        rw_error err;
        for (int s = 0; s < (int)steps[0]; s++) {
            double loss = gradient(&r);
            CHECK(isfinite(loss));
            CHECK_OK(rw_net_step(r.net, &opt, lr, &err), &err);
        }
        char what[64];
        snprintf(what, sizeof what, "%s", pn->value);
        for (size_t l = 0; l < r.n_layers; l++) {
            rw_layer_view v;
            CHECK_OK(rw_net_layer_view(r.net, l, &v, &err), &err);
            char an[96];
            snprintf(an, sizeof an, "opt%d.L%zu.W", run, l);
            const double *W = arr(&f, an, v.outputs * v.inputs);
            snprintf(an, sizeof an, "opt%d.L%zu.b", run, l);
            const double *b = arr(&f, an, v.outputs);
            snprintf(an, sizeof an, "L%zu.W", l);
            compare(what, an, v.weights, W, v.outputs * v.inputs, OPT_ATOL, OPT_RTOL);
            snprintf(an, sizeof an, "L%zu.b", l);
            compare(what, an, v.bias, b, v.outputs, OPT_ATOL, OPT_RTOL);
            /* Guard: the run must have moved the parameters, or the
             * comparison above says nothing about the optimizer. */
            snprintf(an, sizeof an, "L%zu.W", l);
            const double *W0 = arr(&f, an, v.outputs * v.inputs);
            double moved = 0.0;
            for (size_t k = 0; W && W0 && k < v.outputs * v.inputs; k++)
                moved = fmax(moved, fabs(W[k] - W0[k]));
            CHECK_MSG(moved > 1e-4, "%s: layer %zu weights did not move", what, l);
        }
        rw_net_free(r.net);
    }
    CHECK_MSG(runs >= 8, "%s: expected 8 optimizer runs, found %d", file, runs);
    fixture_free(&f);
}

int main(void)
{
    static const char *forward[] = {
        "reference_ce_relu.txt",     "reference_ce_leaky_relu.txt",
        "reference_ce_sigmoid.txt",  "reference_ce_tanh.txt",
        "reference_ce_identity.txt", "reference_mse_tanh.txt",
        "reference_mse_relu.txt"};
    for (size_t i = 0; i < sizeof forward / sizeof forward[0]; i++)
        test_forward_fixture(forward[i]);
    test_optim_fixture("reference_optim.txt");
    TEST_MAIN_END();
}
