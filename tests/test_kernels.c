/* The sparse kernels on every SIMD path this CPU runs, against the plain
 * references (rw_sparse_forward_ref / rw_sparse_backward_ref, in double):
 *   - random layers at densities from 0.1% to 100%, batches from 1 to 300
 *     (on both sides of every tile width), 1 and 2 threads;
 *   - for each path, results bit-identical for 1 and 2 threads;
 *   - forward results bit-identical for any batch tile (cache blocking);
 *   - the kernels' streaming build (rows fetched far ahead) bit-identical
 *     to the cached one;
 *   - the first layer's row-order gradients match the reference too;
 *   - the batch gather (a transpose) equals the plain loop bit for bit;
 *   - bf16 rows (rw_layer.h): the forward pass against the reference on
 *     the inputs rounded to bf16, the input errors and weight gradients
 *     against it on the errors rounded, the biases and the first layer's
 *     gradients on the fp32 values; bit-identical for 1 and 2 threads and
 *     in the streaming build; the rounding itself against PyTorch's
 *     (tests/fixtures/reference_bf16.txt, tools/make_bf16_reference.py);
 *   - a path the CPU lacks, or an unknown name, is refused with a message.
 * So CI on an AVX-512 machine checks the AVX2 and generic paths as well,
 * and a CPU without AVX-512 runs the AVX-512 tiles compiled for itself.
 *
 * Tolerance: |got - ref| <= 1e-5 * (1 + scale), where scale is the sum of
 * the terms' magnitudes, which bounds the rounding of any summation order. */
#include "check.h"
#include "internal.h"
#include "rand_util.h"
#include "layers/kernels/kernels.h"

#include <string.h>



/* What one path computes for a layer: forward output, input errors,
 * weight and bias gradients with dx, and weight gradients without dx. */
typedef struct result {
    float *a, *dx, *gw, *gb, *gw1;
} result;

static void run_layer(rw_layer *L, const float *x, const float *d, size_t B,
                      result *r)
{
    size_t in = L->in, out = L->out;
    r->a = malloc(out * B * sizeof(float) + 1);
    r->dx = malloc(in * B * sizeof(float) + 1);
    r->gw = malloc(L->nw * sizeof(float) + 1);
    r->gb = malloc(out * sizeof(float) + 1);
    r->gw1 = malloc(L->nw * sizeof(float) + 1);
    for (size_t i = 0; i < out * B; i++)
        L->a[i] = NAN; /* every element must be written */
    rw_sparse_forward(L, x, B);
    memcpy(r->a, L->a, out * B * sizeof(float));
    memcpy(L->d, d, out * B * sizeof(float));
    for (size_t i = 0; i < in * B; i++)
        r->dx[i] = NAN;
    for (size_t k = 0; k < L->nw; k++)
        L->gw[k] = NAN;
    rw_sparse_backward(L, x, r->dx, B);
    memcpy(r->gw, L->gw, L->nw * sizeof(float));
    memcpy(r->gb, L->gb, out * sizeof(float));
    for (size_t k = 0; k < L->nw; k++)
        L->gw[k] = NAN;
    rw_sparse_backward(L, x, NULL, B);
    memcpy(r->gw1, L->gw, L->nw * sizeof(float));
}

static void result_free(result *r)
{
    free(r->a);
    free(r->dx);
    free(r->gw);
    free(r->gb);
    free(r->gw1);
}

static bool same(const float *a, const float *b, size_t n)
{
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static size_t n_cases = 0;

#if defined(RW_TEST_EMUL512)
extern const rw_sparse_kernels rw_kernels_emul512;
#endif

/* The paths a case runs: every path the CPU has, then (where built) the
 * AVX-512 tiles compiled for this CPU, unless it runs the real ones. */
#define EMUL_ID RW_ISA_COUNT

static bool use_path(int id, const char **name)
{
    rw_error err;
    rw_kernels_set_test_table(NULL);
    if (id < RW_ISA_COUNT) {
        if (!rw_isa_cpu_has((rw_isa_id)id))
            return false;
        *name = rw_isa_label((rw_isa_id)id);
        CHECK_OK(rw_set_isa(*name, &err), &err);
        return true;
    }
#if defined(RW_TEST_EMUL512)
    if (rw_isa_cpu_has(RW_ISA_AVX512))
        return false;
    *name = "avx512 tiles, emulated";
    rw_kernels_set_test_table(&rw_kernels_emul512);
    return true;
#else
    return false;
#endif
}

static void kernel_case(size_t in, size_t out, double density, size_t B,
                        rw_activation act)
{
    rw_layer L;
    rw_error err;
    size_t nnz = (size_t)(density * (double)in * (double)out + 0.5);
    CHECK_OK(rw_layer_init_sparse(&L, in, out, nnz, act, &g_rng, &err), &err);
    for (size_t k = 0; k < L.nw; k++)
        L.w[k] = frand();
    for (size_t o = 0; o < out; o++)
        L.b[o] = frand();
    L.a = rw_calloc(out * B, sizeof(float), "a", &err);
    L.d = rw_calloc(out * B, sizeof(float), "d", &err);
    float *x = rand_array(in * B), *d = rand_array(out * B);

    /* The references and the scales of their sums. */
    float *z = malloc(out * B * sizeof *z), *zs = calloc(out * B, sizeof *zs);
    rw_sparse_forward_ref(&L, x, z, B);
    rw_act_forward(act, z, out * B);
    for (size_t o = 0; o < out; o++)
        for (size_t j = 0; j < B; j++) {
            double s = fabs(L.b[o]);
            for (size_t k = L.row_ptr[o]; k < L.row_ptr[o + 1]; k++)
                s += fabs(L.w[k] * x[(L.col[k] & RW_COL_MASK) * B + j]);
            zs[o * B + j] = (float)s;
        }
    float *dxr = malloc(in * B * sizeof *dxr), *gwr = malloc(L.nw * sizeof *gwr);
    float *gbr = malloc(out * sizeof *gbr);
    rw_sparse_backward_ref(&L, x, d, gwr, gbr, dxr, B);
    /* The same with bf16 rows: the forward pass on x rounded, the input
     * errors and the gradients through the transposed index on d rounded
     * (the biases and the first layer's gradients read fp32). */
    float *xh = malloc(in * B * sizeof *xh), *dh = malloc(out * B * sizeof *dh);
    for (size_t i = 0; i < in * B; i++)
        xh[i] = rw_bf16_round(x[i]);
    for (size_t i = 0; i < out * B; i++)
        dh[i] = rw_bf16_round(d[i]);
    float *zh = malloc(out * B * sizeof *zh), *dxh = malloc(in * B * sizeof *dxh);
    float *gwh = malloc(L.nw * sizeof *gwh), *gbh = malloc(out * sizeof *gbh);
    rw_sparse_forward_ref(&L, xh, zh, B);
    rw_act_forward(act, zh, out * B);
    rw_sparse_backward_ref(&L, x, dh, gwh, gbh, dxh, B);
    uint16_t *hbuf = malloc((in > out ? in : out) * B * sizeof *hbuf);
    float *sw = malloc(L.nw * sizeof *sw), *sb = malloc(out * sizeof *sb);
    float *sx = malloc(in * B * sizeof *sx);
    for (size_t k = 0; k < L.nw; k++)
        sw[k] = (float)B; /* |d x| <= 1 per term */
    for (size_t o = 0; o < out; o++)
        sb[o] = (float)B;
    for (size_t i = 0; i < in; i++)
        for (size_t j = 0; j < B; j++)
            sx[i * B + j] = (float)(L.tcol_ptr[i + 1] - L.tcol_ptr[i]);

    for (int id = 0; id <= EMUL_ID; id++) {
        const char *path;
        if (!use_path(id, &path))
            continue;
        char what[128];
        snprintf(what, sizeof what, "%s: %zux%zu density %g (%zu) B %zu act %d",
                 path, out, in, density, L.nw, B, (int)act);
        result r1, r2;
        rw_set_threads(1);
        run_layer(&L, x, d, B, &r1);
        rw_set_threads(2);
        run_layer(&L, x, d, B, &r2);
        CHECK_MSG(count_off(r1.a, z, zs, out * B, 1e-5) == 0, "%s: forward differs", what);
        CHECK_MSG(count_off(r1.dx, dxr, sx, in * B, 1e-5) == 0,
                  "%s: input errors differ", what);
        CHECK_MSG(count_off(r1.gw, gwr, sw, L.nw, 1e-5) == 0,
                  "%s: weight gradients differ", what);
        CHECK_MSG(count_off(r1.gb, gbr, sb, out, 1e-5) == 0, "%s: bias gradients differ",
                  what);
        CHECK_MSG(count_off(r1.gw1, gwr, sw, L.nw, 1e-5) == 0,
                  "%s: row-order weight gradients differ", what);
        CHECK_MSG(same(r1.a, r2.a, out * B) && same(r1.dx, r2.dx, in * B) &&
                      same(r1.gw, r2.gw, L.nw) && same(r1.gb, r2.gb, out) &&
                      same(r1.gw1, r2.gw1, L.nw),
                  "%s: 1 and 2 threads give different results", what);

        /* Batch tiles of one vector, three vectors and 40 columns: the
         * forward pass gives the very same outputs. */
        size_t vw = rw_kernels()->vec_floats;
        CHECK(vw == 4 || vw == 8 || vw == 16);
        const size_t tiles[] = {vw, 3 * vw, 40};
        for (size_t t = 0; t < 3; t++) {
            rw_sparse_set_block_bytes(tiles[t] * in * sizeof(float));
            for (size_t i = 0; i < out * B; i++)
                L.a[i] = NAN;
            rw_sparse_forward(&L, x, B);
            CHECK_MSG(same(L.a, r1.a, out * B),
                      "%s: forward in batch tiles of %zu columns differs", what,
                      tiles[t]);
            /* The backward pass in tiles is checked against the reference. */
            float *dx = malloc(in * B * sizeof *dx);
            memcpy(L.d, d, out * B * sizeof(float));
            rw_sparse_backward(&L, x, dx, B);
            CHECK_MSG(count_off(dx, dxr, sx, in * B, 1e-5) == 0 &&
                          count_off(L.gw, gwr, sw, L.nw, 1e-5) == 0,
                      "%s: backward in batch tiles of %zu columns differs", what,
                      tiles[t]);
            free(dx);
        }
        rw_sparse_set_block_bytes(0);
        /* The kernels' build for rows that stream from memory (every layer
         * here, with a threshold of 1 byte) fetches ahead differently and
         * computes the very same numbers. */
        rw_sparse_set_stream_bytes(1);
        result rs;
        run_layer(&L, x, d, B, &rs);
        rw_sparse_set_stream_bytes(0);
        CHECK_MSG(same(rs.a, r1.a, out * B) && same(rs.dx, r1.dx, in * B) &&
                      same(rs.gw, r1.gw, L.nw) && same(rs.gb, r1.gb, out) &&
                      same(rs.gw1, r1.gw1, L.nw),
                  "%s: the streaming kernels give other results", what);
        result_free(&rs);
        /* bf16 rows. The tolerance is the fp32 one: rounding the rows is
         * what the references do too, and an fp32 read would miss them by
         * about 2^-9 of each term. */
        result h1, h2, hs;
        L.h = hbuf;
        rw_set_threads(1);
        run_layer(&L, x, d, B, &h1);
        rw_set_threads(2);
        run_layer(&L, x, d, B, &h2);
        rw_sparse_set_stream_bytes(1);
        run_layer(&L, x, d, B, &hs);
        rw_sparse_set_stream_bytes(0);
        L.h = NULL;
        CHECK_MSG(count_off(h1.a, zh, zs, out * B, 1e-5) == 0,
                  "%s: bf16 forward differs", what);
        CHECK_MSG(count_off(h1.dx, dxh, sx, in * B, 1e-5) == 0,
                  "%s: bf16 input errors differ", what);
        CHECK_MSG(count_off(h1.gw, gwh, sw, L.nw, 1e-5) == 0,
                  "%s: bf16 weight gradients differ", what);
        CHECK_MSG(same(h1.gb, r1.gb, out) && same(h1.gw1, r1.gw1, L.nw),
                  "%s: bf16 bias or row-order gradients differ from fp32's", what);
        CHECK_MSG(same(h1.a, h2.a, out * B) && same(h1.dx, h2.dx, in * B) &&
                      same(h1.gw, h2.gw, L.nw),
                  "%s: bf16, 1 and 2 threads give different results", what);
        CHECK_MSG(same(hs.a, h1.a, out * B) && same(hs.dx, h1.dx, in * B) &&
                      same(hs.gw, h1.gw, L.nw),
                  "%s: bf16, the streaming kernels give other results", what);
        /* The derivative fused into the bf16 input error: the numbers of
         * the pass after it. */
        {
            float *dxp = malloc(in * B * sizeof *dxp), *dxf = malloc(in * B * sizeof *dxf);
            L.h = hbuf;
            memcpy(L.d, d, out * B * sizeof(float));
            rw_sparse_backward(&L, x, dxp, B);
            rw_act_backward(RW_ACT_RELU, x, dxp, in * B);
            memcpy(L.d, d, out * B * sizeof(float));
            rw_sparse_backward_act(&L, x, dxf, B, RW_ACT_RELU);
            L.h = NULL;
            CHECK_MSG(same(dxf, dxp, in * B),
                      "%s: bf16, the fused ReLU derivative differs from the pass "
                      "after it", what);
            free(dxp);
            free(dxf);
        }
        result_free(&h1);
        result_free(&h2);
        result_free(&hs);
        /* The input error through ReLU's and leaky ReLU's derivative as
         * the kernels store it: the very numbers of the separate pass. */
        const rw_activation fused[2] = {RW_ACT_RELU, RW_ACT_LEAKY_RELU};
        for (int f = 0; f < 2; f++) {
            float *dxp = malloc(in * B * sizeof *dxp), *dxf = malloc(in * B * sizeof *dxf);
            memcpy(L.d, d, out * B * sizeof(float));
            rw_sparse_backward(&L, x, dxp, B);
            rw_act_backward(fused[f], x, dxp, in * B);
            memcpy(L.d, d, out * B * sizeof(float));
            CHECK(rw_sparse_fuses_act_grad(fused[f]));
            rw_sparse_backward_act(&L, x, dxf, B, fused[f]);
            size_t masked = 0;
            for (size_t i = 0; i < in * B; i++)
                masked += !(x[i] > 0.0f) && dxr[i] != 0.0f;
            CHECK_MSG(same(dxf, dxp, in * B) && (B * in < 64 || masked > 0),
                      "%s: the fused %s derivative differs from the pass after "
                      "it (%zu values masked)", what, fused[f] == RW_ACT_RELU
                      ? "ReLU" : "leaky ReLU", masked);
            free(dxp);
            free(dxf);
        }
        CHECK(!rw_sparse_fuses_act_grad(RW_ACT_TANH) &&
              !rw_sparse_fuses_act_grad(RW_ACT_IDENTITY));
        result_free(&r1);
        result_free(&r2);
        n_cases++;
    }
    rw_kernels_set_test_table(NULL);
    CHECK_OK(rw_set_isa("auto", &err), &err);
    free(x);
    free(d);
    free(z);
    free(zs);
    free(dxr);
    free(gwr);
    free(gbr);
    free(sw);
    free(sb);
    free(sx);
    free(xh);
    free(dh);
    free(zh);
    free(dxh);
    free(gwh);
    free(gbh);
    free(hbuf);
    rw_layer_free(&L);
}

static void test_paths_against_reference(void)
{
    static const struct {
        size_t in, out;
        double density;
        size_t B;
    } cases[] = {
        {1000, 300, 0.001, 128}, {400, 300, 0.01, 64}, {200, 150, 0.05, 300},
        {120, 90, 0.2, 129},     {64, 48, 1.0, 96},    {37, 41, 0.3, 1},
        {50, 30, 0.1, 7},        {300, 7, 0.05, 33},   {8, 200, 1.0, 65},
        {13, 9, 0.4, 17},        {100, 100, 0.02, 250}, {1, 5, 1.0, 16},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        kernel_case(cases[c].in, cases[c].out, cases[c].density, cases[c].B,
                    c % 3 == 0 ? RW_ACT_IDENTITY
                               : (c % 3 == 1 ? RW_ACT_RELU : RW_ACT_LEAKY_RELU));
    rw_set_threads(2);
    CHECK(n_cases >= sizeof cases / sizeof cases[0]);
    printf("sparse kernels: %zu layer x path cases, paths:", n_cases);
    for (int id = 0; id <= EMUL_ID; id++) {
        const char *name;
        if (use_path(id, &name))
            printf(" [%s]", name);
    }
    rw_kernels_set_test_table(NULL);
    rw_set_isa(NULL, NULL);
    printf("\n");
}

/* The batch gather of every path gives exactly what the plain loop gives
 * (the same subtraction and product per value): whole and partial blocks
 * of samples, feature counts on both sides of the vector widths. */
static void test_gather(void)
{
    static const size_t nis[] = {1, 3, 4, 7, 8, 13, 17, 64, 785};
    static const size_t njs[] = {1, 3, 4, 8, 9, 15, 16};
    size_t checked = 0;
    for (int id = 0; id <= EMUL_ID; id++) {
        const char *path;
        if (!use_path(id, &path))
            continue;
        const rw_sparse_kernels *K = rw_kernels();
        for (size_t a = 0; a < sizeof nis / sizeof nis[0]; a++)
            for (size_t b = 0; b < sizeof njs / sizeof njs[0]; b++)
                for (int stdz = 0; stdz < 2; stdz++) {
                    size_t I = nis[a], nj = njs[b], B = 40, off = 5;
                    float *x = rand_array(16 * I), *sh = rand_array(I);
                    float *sc = rand_array(I);
                    float *got = malloc(I * B * sizeof *got);
                    float *want = malloc(I * B * sizeof *want);
                    const float *rows[16];
                    for (size_t j = 0; j < nj; j++)
                        rows[j] = x + ((j * 7) % 16) * I;
                    for (size_t k = 0; k < I * B; k++)
                        got[k] = want[k] = -1.0f;
                    for (size_t i = 0; i < I; i++)
                        for (size_t j = 0; j < nj; j++)
                            want[i * B + off + j] =
                                stdz ? (rows[j][i] - sh[i]) * sc[i] : rows[j][i];
                    K->gather(got + off, B, rows, nj, I, stdz ? sh : NULL,
                              stdz ? sc : NULL);
                    CHECK_MSG(same(got, want, I * B),
                              "%s: gather of %zu samples x %zu features (standardised "
                              "%d) differs",
                              path, nj, I, stdz);
                    checked++;
                    free(x);
                    free(sh);
                    free(sc);
                    free(got);
                    free(want);
                }
    }
    rw_kernels_set_test_table(NULL);
    rw_set_isa(NULL, NULL);
    CHECK(checked >= 2 * 9 * 7 * 2);
}

/* bf16 rounding: rw_bf16_bits and every path's to_bf16 (whole vectors and
 * every tail length) give PyTorch's bits for each value of the fixture,
 * and keep NaNs NaN with their sign. */
static void test_bf16_rounding(void)
{
    const char *path_name = RW_FIXTURES "/reference_bf16.txt";
    FILE *f = fopen(path_name, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path_name);
    if (!f)
        return;
    char line[256];
    size_t n = 0;
    CHECK(fgets(line, sizeof line, f) && line[0] == '#');
    CHECK(fscanf(f, "%zu", &n) == 1 && n >= 2000 && n < 100000);
    uint32_t *in = malloc(n * sizeof *in);
    uint16_t *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    float *src = malloc(n * sizeof *src);
    for (size_t i = 0; i < n; i++) {
        unsigned a, b;
        CHECK_MSG(fscanf(f, "%x %x", &a, &b) == 2, "%s: entry %zu", path_name, i);
        in[i] = a;
        want[i] = (uint16_t)b;
        memcpy(&src[i], &in[i], sizeof src[i]);
    }
    fclose(f);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (rw_bf16_bits(src[i]) != want[i] && bad++ < 5)
            fprintf(stderr, "rw_bf16_bits(%08x) = %04x, PyTorch %04x\n",
                    (unsigned)in[i], rw_bf16_bits(src[i]), want[i]);
    CHECK_MSG(bad == 0, "rw_bf16_bits: %zu of %zu differ from PyTorch", bad, n);
    /* NaNs: quiet, sign kept. */
    const uint32_t nans[] = {0x7fc00000u, 0x7f800001u, 0xffc12345u, 0x7fffffffu};
    float fn[4];
    uint16_t hn[4];
    memcpy(fn, nans, sizeof fn);
    size_t paths = 0;
    for (int id = 0; id <= EMUL_ID; id++) {
        const char *path;
        if (!use_path(id, &path))
            continue;
        const rw_sparse_kernels *K = rw_kernels();
        memset(got, 0, n * sizeof *got);
        K->to_bf16(got, src, n);
        CHECK_MSG(memcmp(got, want, n * sizeof *got) == 0,
                  "%s: to_bf16 differs from PyTorch", path);
        for (size_t len = 0; len <= 50; len++) {
            uint16_t buf[52];
            for (size_t i = 0; i < 52; i++)
                buf[i] = 0xabcd;
            K->to_bf16(buf, src + 3, len);
            CHECK_MSG(memcmp(buf, want + 3, len * sizeof *buf) == 0 &&
                          buf[len] == 0xabcd,
                      "%s: to_bf16 of %zu values", path, len);
        }
        K->to_bf16(hn, fn, 4);
        for (int i = 0; i < 4; i++)
            CHECK_MSG((hn[i] & 0x7f80u) == 0x7f80u && (hn[i] & 0x7fu) != 0 &&
                          (hn[i] & 0x8000u) == ((nans[i] >> 16) & 0x8000u) &&
                          hn[i] == rw_bf16_bits(fn[i]),
                      "%s: NaN %08x -> %04x", path, (unsigned)nans[i], hn[i]);
        paths++;
    }
    rw_kernels_set_test_table(NULL);
    rw_set_isa(NULL, NULL);
    CHECK(paths >= 1);
    free(in);
    free(want);
    free(got);
    free(src);
}

static void test_path_selection(void)
{
    rw_error err;
    /* The generic path runs everywhere; the default is the best path. */
    CHECK(rw_isa_supported("generic"));
    CHECK(!rw_isa_supported("sse9"));
    CHECK(!rw_isa_supported(NULL));
    CHECK_OK(rw_set_isa("generic", &err), &err);
    CHECK(strcmp(rw_isa(), "generic") == 0);
    CHECK_OK(rw_set_isa(NULL, &err), &err);
    const char *best = rw_isa();
    for (int id = RW_ISA_COUNT - 1; id >= 0; id--)
        if (rw_isa_cpu_has((rw_isa_id)id)) {
            CHECK_MSG(strcmp(best, rw_isa_label((rw_isa_id)id)) == 0,
                      "default path %s, best %s", best, rw_isa_label((rw_isa_id)id));
            break;
        }
    /* An unknown name: RW_ERR_ARG, the path in use unchanged. */
    CHECK(rw_set_isa("avx9000", &err) == RW_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "avx9000") && strstr(err.msg, "unknown SIMD path"),
              "message: %s", err.msg);
    CHECK(strcmp(rw_isa(), best) == 0);
    /* A path this CPU lacks, if there is one: RW_ERR_UNSUPPORTED. */
    for (int id = 0; id < RW_ISA_COUNT; id++)
        if (!rw_isa_cpu_has((rw_isa_id)id)) {
            const char *name = rw_isa_label((rw_isa_id)id);
            CHECK(!rw_isa_supported(name));
            CHECK(rw_set_isa(name, &err) == RW_ERR_UNSUPPORTED);
            CHECK_MSG(strstr(err.msg, "this CPU cannot run") && strstr(err.msg, name),
                      "message: %s", err.msg);
            CHECK(strcmp(rw_isa(), best) == 0);
        }
    CHECK_OK(rw_isa_check(&err), &err);
}

int main(void)
{
    /* Every pass that can use the threads does, however small, so that the
     * comparisons of 1 and 2 threads run the parallel code. */
    rw_set_par_min_work(0);
    rw_rng_seed(&g_rng, 11);
    test_path_selection();
    test_paths_against_reference();
    test_gather();
    test_bf16_rounding();
    TEST_MAIN_END();
}
