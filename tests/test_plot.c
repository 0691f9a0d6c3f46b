/*
 * Tests of the data side of `rewire plot`: the JSON reader (values, error
 * positions, every truncation, random corruption, deep nesting), the
 * training-log and continual-report readers, image shapes, the
 * per-input connection counts behind the connectivity map, and the
 * picture names a build without cairo refuses.
 *
 * Tests link only librewire, so the CLI sources under test are compiled
 * into this file. They build without cairo (no RW_HAVE_CAIRO here), which
 * leaves out only the drawing; tests/cli_plot.sh checks the pictures.
 */
#include "../cli/common.c"
#include "../cli/json.c"
#include "../cli/plot/plot_data.c"
#include "../cli/plot/plot_draw.c"
#include "../cli/plot/plot_model.c"

#include "check.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tmp_path(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", RW_TMPDIR, name);
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static void test_json_values(void)
{
    const char *doc =
        "{\"a\": [1, -2.5e3, 0.001, 1E2, true, false, null],\n"
        " \"s\": \"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\",\n"
        " \"o\": {}, \"e\": [], \"big\": 123456789012345678901234567890,\n"
        " \"tiny\": 1e-310, \"huge\": 1e400, \"z\": -0}";
    rw_json_error e;
    rw_json *v = rw_json_parse(doc, strlen(doc), &e);
    CHECK_MSG(v != NULL, "%s at %zu:%zu", e.msg, e.line, e.column);
    if (!v)
        return;
    CHECK(v->type == RW_JSON_OBJECT && v->len == 8);
    const rw_json *a = rw_json_get(v, "a");
    CHECK(a && a->type == RW_JSON_ARRAY && a->len == 7);
    if (a && a->len == 7) {
        CHECK(a->items[0].number == 1);
        CHECK(a->items[1].number == -2500);
        CHECK(a->items[2].number == 0.001);
        CHECK(a->items[3].number == 100);
        CHECK(a->items[4].type == RW_JSON_BOOL && a->items[4].boolean);
        CHECK(a->items[5].type == RW_JSON_BOOL && !a->items[5].boolean);
        CHECK(a->items[6].type == RW_JSON_NULL);
    }
    const rw_json *s = rw_json_get(v, "s");
    const char want[] = "q\"b\\s/\b\f\n\r\t\xC3\xA9\xF0\x9F\x98\x80";
    CHECK(s && s->type == RW_JSON_STRING && s->len == sizeof want - 1 &&
          memcmp(s->string, want, sizeof want) == 0);
    CHECK(rw_json_get(v, "o")->type == RW_JSON_OBJECT);
    CHECK(rw_json_get(v, "e")->len == 0);
    CHECK_CLOSE(rw_json_get(v, "big")->number, 1.2345678901234568e29, 0, 1e-15);
    CHECK_CLOSE(rw_json_get(v, "tiny")->number, 1e-310, 0, 1e-6);
    CHECK(isinf(rw_json_get(v, "huge")->number));
    CHECK(rw_json_get(v, "z")->number == 0);
    CHECK(rw_json_get(v, "missing") == NULL);
    CHECK(rw_json_get(a, "a") == NULL); /* not an object */
    rw_json_free(v);
    rw_json_free(NULL);
}

/* Expects `text` to fail at line:column with a message containing `msg`. */
static void expect_error(const char *text, size_t line, size_t column,
                         const char *msg)
{
    rw_json_error e;
    rw_json *v = rw_json_parse(text, strlen(text), &e);
    CHECK_MSG(v == NULL, "'%s' parsed", text);
    rw_json_free(v);
    CHECK_MSG(e.line == line && e.column == column,
              "'%s': error at %zu:%zu (%s), expected %zu:%zu", text, e.line,
              e.column, e.msg, line, column);
    CHECK_MSG(strstr(e.msg, msg) != NULL, "'%s': message '%s' lacks '%s'", text,
              e.msg, msg);
}

static void test_json_errors(void)
{
    expect_error("{\n  \"a\": 1,\n  \"b\": }", 3, 8, "unexpected '}'");
    expect_error("[1, 2,]", 1, 7, "unexpected ']'");
    expect_error("{\"a\" 1}", 1, 6, "expected ':'");
    expect_error("{a: 1}", 1, 2, "a key in double quotes");
    expect_error("[01]", 1, 3, "leading zeros");
    expect_error("[1.]", 1, 4, "digit after '.'");
    expect_error("[-]", 1, 3, "a digit");
    expect_error("[1e+]", 1, 5, "exponent");
    expect_error("\"a\nb\"", 1, 3, "line break inside a string");
    expect_error("\"\\x\"", 1, 3, "an escape");
    expect_error("\"\\u12G4\"", 1, 6, "hex digits");
    expect_error("[tru]", 1, 5, "true");
    expect_error("nul", 1, 4, "unexpected end of text");
    expect_error("{} {}", 1, 4, "end of the text");
    expect_error("", 1, 1, "unexpected end of text");
    expect_error("[\x01]", 1, 2, "byte 0x01");
    expect_error("[1,\n\n  @]", 3, 3, "unexpected '@'");
    /* a NUL byte inside the text is an error, not the end */
    rw_json_error e;
    CHECK(rw_json_parse("[1,\0 2]", 7, &e) == NULL && e.offset == 3);
    CHECK(rw_json_parse(NULL, 0, &e) == NULL);
}

static void test_json_truncations(void)
{
    const char *doc = "{\"epoch\":7,\"loss\":-1.25e-3,\"ok\":true,\"n\":null,"
                      "\"s\":\"a\\u00e9\\\"\",\"l\":[{\"x\":[]},false]}";
    size_t n = strlen(doc);
    rw_json_error e;
    rw_json *v = rw_json_parse(doc, n, &e);
    CHECK(v != NULL);
    rw_json_free(v);
    /* every proper prefix fails, is flagged truncated, and points at its
     * end */
    for (size_t k = 0; k < n; k++) {
        v = rw_json_parse(doc, k, &e);
        CHECK_MSG(v == NULL, "prefix of %zu bytes parsed", k);
        rw_json_free(v);
        CHECK_MSG(e.truncated, "prefix of %zu bytes: '%s' not truncated", k,
                  e.msg);
        CHECK_MSG(e.offset == k, "prefix of %zu bytes: error at byte %zu", k,
                  e.offset);
    }
}

static void test_json_corruption(void)
{
    const char *doc =
        "{\"epoch\":7,\"train_loss\":0.5,\"layers\":[{\"neurons\":"
        "300,\"density\":0.05}],\"s\":\"\\ud83d\\ude00x\"}";
    size_t n = strlen(doc);
    char *buf = malloc(n);
    CHECK(buf != NULL);
    if (!buf)
        return;
    static const char alphabet[] = "{}[]\",:\\-+.eE0123456789tfnu \n\x01\x80";
    uint64_t s = 88172645463325252ull;
    size_t parsed = 0;
    for (int round = 0; round < 20000; round++) {
        memcpy(buf, doc, n);
        int edits = 1 + round % 4;
        for (int k = 0; k < edits; k++) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            buf[(s >> 8) % n] = alphabet[(s >> 32) % (sizeof alphabet - 1)];
        }
        rw_json_error e;
        rw_json *v = rw_json_parse(buf, n, &e);
        if (v)
            parsed++;
        else
            CHECK(e.line >= 1 && e.column >= 1 && e.offset <= n &&
                  e.msg[0] != '\0');
        rw_json_free(v);
    }
    CHECK(parsed > 0 && parsed < 20000);
    free(buf);
}

static void test_json_depth(void)
{
    size_t n = 100000;
    char *deep = malloc(2 * n);
    CHECK(deep != NULL);
    if (!deep)
        return;
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    rw_json_error e;
    rw_json *v = rw_json_parse(deep, 2 * n, &e);
    CHECK(v == NULL && strstr(e.msg, "too deep") != NULL);
    rw_json_free(v);
    /* exactly the limit is fine */
    size_t d = RW_JSON_MAX_DEPTH;
    memmove(deep + d, deep + n, d);
    v = rw_json_parse(deep, 2 * d, &e);
    CHECK_MSG(v != NULL, "%s", e.msg);
    rw_json_free(v);
    free(deep);
}

static void test_read_file(void)
{
    size_t len = 1;
    errno = 0;
    CHECK(rw_json_read_file(tmp_path("no-such-file.json"), 100, &len) == NULL &&
          errno == ENOENT);
    write_file(tmp_path("plot_big.json"), "[1,2,3,4,5,6,7,8,9,10]");
    errno = 0;
    CHECK(rw_json_read_file(tmp_path("plot_big.json"), 5, &len) == NULL &&
          errno == EFBIG);
    char *t = rw_json_read_file(tmp_path("plot_big.json"), 100, &len);
    CHECK(t && len == 22 && t[22] == '\0');
    free(t);
}

static void test_logs(void)
{
    char err[512];
    rwp_log log;
    CHECK_MSG(rwp_log_load(RW_FIXTURES "/run_small.jsonl", &log, err,
                           sizeof err) == 0,
              "%s", err);
    CHECK(log.n == 6 && log.max_layers == 3);
    if (log.n == 6 && log.max_layers == 3) {
        CHECK(log.ep[5].epoch == 6 && log.ep[5].test_acc == 0.861);
        CHECK(log.ep[0].layer[RWP_L_CONNECTIONS] == 10760);
        CHECK(log.ep[2].layer[2 * RWP_L_COUNT + RWP_L_DENSITY] == 1);
        CHECK(log.ep[0].drop_fraction == 0.3);
    }
    rwp_log_free(&log);

    /* the cut-off last line is dropped (a warning goes to stderr) */
    CHECK(rwp_log_load(RW_FIXTURES "/run_truncated.jsonl", &log, err,
                       sizeof err) == 0);
    CHECK(log.n == 5 && log.max_layers == 0);
    if (log.n == 5)
        CHECK(isnan(log.ep[4].test_loss) && log.ep[4].train_loss == 0.42);
    rwp_log_free(&log);

    /* a second run appended to the same log: only the last run is kept */
    write_file(
        tmp_path("plot_restart.jsonl"),
        "{\"epoch\":1,\"train_loss\":1}\n{\"epoch\":2,\"train_loss\":0.9}\n"
        "{\"run\":\"header lines are skipped\"}\n"
        "{\"epoch\":1,\"train_loss\":0.8}\r\n\n"
        "{\"epoch\":2,\"train_loss\":0.7}\n{\"epoch\":3,\"train_loss\":0.6}");
    CHECK(rwp_log_load(tmp_path("plot_restart.jsonl"), &log, err, sizeof err) ==
          0);
    CHECK(log.n == 3 && log.ep[0].train_loss == 0.8 &&
          log.ep[2].train_loss == 0.6);
    rwp_log_free(&log);

    /* a broken line that is not the last is an error naming it */
    write_file(tmp_path("plot_broken.jsonl"),
               "{\"epoch\":1,\"train_loss\":1}\n{\"epoch\":2,\"train_loss\":}\n"
               "{\"epoch\":3,\"train_loss\":0.6}\n");
    CHECK(rwp_log_load(tmp_path("plot_broken.jsonl"), &log, err, sizeof err) !=
          0);
    CHECK_MSG(strstr(err, "plot_broken.jsonl: line 2, column 25 (byte 51)") !=
                  NULL,
              "%s", err);

    /* a complete last line with a syntax error (not a cut) is an error */
    write_file(tmp_path("plot_bad_last.jsonl"),
               "{\"epoch\":1,\"train_loss\":1}\n{\"epoch\":2,,}\n");
    CHECK(rwp_log_load(tmp_path("plot_bad_last.jsonl"), &log, err,
                       sizeof err) != 0);
    CHECK_MSG(strstr(err, "line 2, column 12") != NULL, "%s", err);

    write_file(tmp_path("plot_types.jsonl"),
               "{\"epoch\":1,\"layers\":[{\"neurons\":\"many\"}]}\n");
    CHECK(rwp_log_load(tmp_path("plot_types.jsonl"), &log, err, sizeof err) !=
          0);
    CHECK_MSG(strstr(err, "line 1: layers[0].neurons should be a number, "
                          "not a string") != NULL,
              "%s", err);

    write_file(tmp_path("plot_only_cut.jsonl"), "{\"epoch\":1,\"tra");
    CHECK(rwp_log_load(tmp_path("plot_only_cut.jsonl"), &log, err,
                       sizeof err) != 0);
    CHECK_MSG(strstr(err, "line 1 is incomplete") != NULL, "%s", err);

    write_file(tmp_path("plot_blank.jsonl"), "\n  \n");
    CHECK(rwp_log_load(tmp_path("plot_blank.jsonl"), &log, err, sizeof err) !=
          0);
    CHECK_MSG(strstr(err, "empty") != NULL, "%s", err);

    CHECK(rwp_log_load(tmp_path("no-such-log.jsonl"), &log, err, sizeof err) !=
          0);
    CHECK_MSG(strstr(err, "no-such-log.jsonl: cannot read: ") != NULL, "%s",
              err);
}

static void test_continual(void)
{
    char err[512];
    rwp_continual c;
    CHECK_MSG(rwp_continual_load(RW_FIXTURES "/continual_small.json", &c, err,
                                 sizeof err) == 0,
              "%s", err);
    CHECK(c.rows == 3 && c.cols == 3);
    if (c.rows == 3 && c.cols == 3) {
        CHECK(strcmp(c.tasks[2], "digits 4-5") == 0);
        CHECK(c.matrix[1 * 3 + 1] == 0.978);
        CHECK(strcmp(c.method, "replay") == 0);
        CHECK(c.backward_transfer == -0.0425);
    }
    rwp_continual_free(&c);

    write_file(tmp_path("plot_cont.json"), "{\"matrix\":[[0.5,null],[1,0]]}");
    CHECK(rwp_continual_load(tmp_path("plot_cont.json"), &c, err, sizeof err) ==
          0);
    CHECK(c.rows == 2 && strcmp(c.tasks[1], "task 2") == 0 &&
          isnan(c.matrix[1]) && isnan(c.average_accuracy));
    rwp_continual_free(&c);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"[]", "expected a JSON object"},
        {"{}", "no \"matrix\""},
        {"{\"matrix\":[]}", "non-empty array"},
        {"{\"matrix\":[[0.5],[0.5,0.5]]}", "matrix[1] should be an array of 1"},
        {"{\"matrix\":[[97]]}", "matrix[0][0] = 97 is not an accuracy"},
        {"{\"matrix\":[[\"x\"]]}", "should be a number or null, not a string"},
        {"{\"tasks\":[\"a\"],\"matrix\":[[0.1,0.2]]}", "1 task names"},
        {"{\"matrix\":[[0.1]], }", "line 1, column 20 (byte 19)"},
        {"  ", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_file(tmp_path("plot_bad.json"), bad[i].text);
        CHECK_MSG(rwp_continual_load(tmp_path("plot_bad.json"), &c, err,
                                     sizeof err) != 0,
                  "'%s' loaded", bad[i].text);
        CHECK_MSG(strstr(err, bad[i].msg) != NULL, "'%s': '%s' lacks '%s'",
                  bad[i].text, err, bad[i].msg);
    }
}

static void test_shapes(void)
{
    char err[256];
    size_t h = 0, w = 0;
    CHECK(rwp_image_shape(784, 0, 0, &h, &w, "m", err, sizeof err) == 0 &&
          h == 28 && w == 28);
    CHECK(rwp_image_shape(16, 0, 4, &h, &w, "m", err, sizeof err) == 0 &&
          h == 4 && w == 4);
    CHECK(rwp_image_shape(12, 3, 4, &h, &w, "m", err, sizeof err) == 0 &&
          h == 3 && w == 4);
    CHECK(rwp_image_shape(10, 0, 0, &h, &w, "m.rwm", err, sizeof err) != 0);
    CHECK_MSG(strcmp(err, "m.rwm: model input (10 features) is not "
                          "image-shaped; pass --height and --width") == 0,
              "%s", err);
    CHECK(rwp_image_shape(16, 3, 3, &h, &w, "m", err, sizeof err) != 0);
    CHECK(rwp_image_shape(16, 0, 5, &h, &w, "m", err, sizeof err) != 0);
    CHECK(rwp_image_shape(SIZE_MAX, SIZE_MAX, 2, &h, &w, "m", err,
                          sizeof err) != 0);
}

static void test_input_counts(void)
{
    rw_net_config cfg;
    size_t hidden = 32;
    rw_error err;
    CHECK(rw_net_config_mlp(&cfg, 16, &hidden, 1, 3, RW_ACT_RELU,
                            RW_LOSS_CROSS_ENTROPY, &err) == RW_OK);
    rw_net *dense = rw_net_create(&cfg, &err);
    CHECK(rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, 0.2, 0, &err) ==
          RW_OK);
    rw_net *sparse = rw_net_create(&cfg, &err);
    CHECK(dense && sparse);
    if (!dense || !sparse) {
        rw_net_free(dense);
        rw_net_free(sparse);
        return;
    }
    size_t counts[16], total = 0;
    CHECK(rw_plot_input_counts(dense, counts) == 0);
    for (int i = 0; i < 16; i++)
        CHECK(counts[i] == 32);
    CHECK(rw_plot_input_counts(sparse, counts) == 0);
    for (int i = 0; i < 16; i++) {
        CHECK(counts[i] <= 32);
        total += counts[i];
    }
    rw_layer_info li;
    CHECK(rw_net_layer_info(sparse, 0, &li, &err) == RW_OK);
    CHECK(li.kind == RW_LAYER_SPARSE && li.connections < 16 * 32);
    CHECK_MSG(total == li.connections, "counts add up to %zu, layer has %zu",
              total, li.connections);
    /* rewiring moves connections but keeps the total */
    rw_rng rng;
    rw_rng_seed(&rng, 7);
    CHECK(rw_net_rewire(sparse, RW_REWIRE_SET, 0.3, &rng, NULL, &err) == RW_OK);
    total = 0;
    CHECK(rw_plot_input_counts(sparse, counts) == 0);
    for (int i = 0; i < 16; i++)
        total += counts[i];
    CHECK(total == li.connections);
    CHECK(rw_plot_input_counts(NULL, counts) != 0);
    rw_net_free(dense);
    rw_net_free(sparse);
}

/* Without cairo (as here) a picture name with a known extension cannot be
 * drawn (1), but a wrong or missing extension is a mistake in the command
 * line (2), as in a build with cairo. */
static void test_format_without_cairo(void)
{
    char err[256];
    static const char *const known[] = {"a.png", "dir.x/b.SVG", "c.pdf"};
    for (size_t i = 0; i < 3; i++) {
        CHECK(rwp_check_format(known[i], err, sizeof err) == 1);
        CHECK_MSG(strstr(err, "without cairo") != NULL, "%s: %s", known[i], err);
    }
    CHECK(rwp_check_format("d.txt", err, sizeof err) == 2);
    CHECK_MSG(strstr(err, "unknown picture format '.txt'") != NULL, "%s", err);
    CHECK(rwp_check_format("dir.png/e", err, sizeof err) == 2);
    CHECK_MSG(strstr(err, "needs an extension") != NULL, "%s", err);
}

int main(void)
{
    test_format_without_cairo();
    test_json_values();
    test_json_errors();
    test_json_truncations();
    test_json_corruption();
    test_json_depth();
    test_read_file();
    test_logs();
    test_continual();
    test_shapes();
    test_input_counts();
    if (rw_test_failures)
        fprintf(stderr, "test_plot: %d checks failed\n", rw_test_failures);
    return rw_test_failures ? 1 : 0;
}
