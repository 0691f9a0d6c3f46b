/* Datasets: IDX and CSV readers (good files and every bad-input path, with
 * the messages they give), the number parser, synthetic sets, splits,
 * subsets, standardisation and the named datasets. Files are written to
 * RW_TMPDIR at run time. */
#include "check.h"
#include "data/data.h"

#include <float.h>
#include <locale.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define TMP RW_TMPDIR "/data_tmp"

static char path_buf[8][1024];
static int path_next = 0;

/* A path under the scratch folder (a small ring, so a few can be alive). */
static const char *tmp(const char *name)
{
    char *p = path_buf[path_next++ % 8];
    snprintf(p, sizeof path_buf[0], "%s/%s", TMP, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    if (len)
        fwrite(data, 1, len, f);
    fclose(f);
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile gz = gzopen(path, "wb");
    if (!gz) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    if (len)
        gzwrite(gz, data, (unsigned)len);
    gzclose(gz);
}

static void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

/* Builds an IDX file in `out`: magic, dims, then `payload` bytes. */
static size_t make_idx(uint8_t *out, unsigned type, unsigned ndims,
                       const uint32_t *dims, const uint8_t *payload,
                       size_t payload_len)
{
    size_t o = 0;
    out[o++] = 0;
    out[o++] = 0;
    out[o++] = (uint8_t)type;
    out[o++] = (uint8_t)ndims;
    for (unsigned d = 0; d < ndims; d++) {
        out[o++] = (uint8_t)(dims[d] >> 24);
        out[o++] = (uint8_t)(dims[d] >> 16);
        out[o++] = (uint8_t)(dims[d] >> 8);
        out[o++] = (uint8_t)dims[d];
    }
    if (payload_len)
        memcpy(out + o, payload, payload_len);
    return o + payload_len;
}

/* Checks a failure: NULL result, the status, and each substring. */
#define EXPECT_FAIL(ds, err, st, ...)                                        \
    do {                                                                     \
        const char *subs_[] = {__VA_ARGS__, NULL};                           \
        CHECK_MSG((ds) == NULL, "expected failure");                         \
        CHECK_MSG((err).status == (st), "status %d (%s), expected %d: %s",   \
                  (int)(err).status, rw_status_str((err).status), (int)(st), \
                  (err).msg);                                                \
        for (int k_ = 0; subs_[k_]; k_++)                                    \
            CHECK_MSG(strstr((err).msg, subs_[k_]) != NULL,                  \
                      "message \"%s\" lacks \"%s\"", (err).msg, subs_[k_]);  \
        rw_dataset_free(ds);                                                 \
        rw_error_clear(&(err));                                              \
    } while (0)

/* ---------------- numbers ---------------- */

static rw_num_status pf(const char *s, float *v) { return rw_parse_float(s, strlen(s), v); }

static void test_numbers(void)
{
    float v = 0;
    CHECK(pf("0.5", &v) == RW_NUM_OK && v == 0.5f);
    CHECK(pf("-1.25e2", &v) == RW_NUM_OK && v == -125.0f);
    CHECK(pf("+3", &v) == RW_NUM_OK && v == 3.0f);
    CHECK(pf(".5", &v) == RW_NUM_OK && v == 0.5f);
    CHECK(pf("5.", &v) == RW_NUM_OK && v == 5.0f);
    CHECK(pf("1E-3", &v) == RW_NUM_OK && v == 0.001f);
    CHECK(pf("0.1", &v) == RW_NUM_OK && v == 0.1f);
    CHECK(pf("-0", &v) == RW_NUM_OK && v == 0.0f);
    CHECK(pf("000123.4500", &v) == RW_NUM_OK && v == 123.45f);
    CHECK(pf("3.4028235e38", &v) == RW_NUM_OK && v == FLT_MAX);
    CHECK(pf("123456789012345678901234567890", &v) == RW_NUM_OK &&
          v == 123456789012345678901234567890.0f);
    CHECK(pf("0.000000000000000000000000000000000000000000000000000001", &v) ==
              RW_NUM_OK && v == 0.0f);
    CHECK(pf("1e-50", &v) == RW_NUM_OK && v == 0.0f);
    CHECK(pf("1e-99999999999", &v) == RW_NUM_OK && v == 0.0f);
    CHECK(pf("1e39", &v) == RW_NUM_RANGE);
    CHECK(pf("-1e99999999999", &v) == RW_NUM_RANGE);
    CHECK(pf("nan", &v) == RW_NUM_NONFINITE);
    CHECK(pf("-inf", &v) == RW_NUM_NONFINITE);
    CHECK(pf("Infinity", &v) == RW_NUM_NONFINITE);
    CHECK(pf("NaN", &v) == RW_NUM_NONFINITE);
    CHECK(pf("info", &v) == RW_NUM_SYNTAX);
    CHECK(pf("abc", &v) == RW_NUM_SYNTAX);
    CHECK(pf("1.2.3", &v) == RW_NUM_SYNTAX);
    CHECK(pf("1e", &v) == RW_NUM_SYNTAX);
    CHECK(pf("1e+", &v) == RW_NUM_SYNTAX);
    CHECK(pf("-", &v) == RW_NUM_SYNTAX);
    CHECK(pf(".", &v) == RW_NUM_SYNTAX);
    CHECK(pf("0x10", &v) == RW_NUM_SYNTAX);
    CHECK(pf("1,5", &v) == RW_NUM_SYNTAX);
    CHECK(pf(" 1", &v) == RW_NUM_SYNTAX);
    CHECK(pf("", &v) == RW_NUM_EMPTY);

    /* Round trip: every float printed with 9 significant digits must parse
     * back to exactly itself (correct rounding to float32). */
    rw_rng rng;
    rw_rng_seed(&rng, 7);
    int bad = 0;
    for (int i = 0; i < 200000; i++) {
        uint32_t bits = (uint32_t)rw_rng_u64(&rng);
        float f;
        memcpy(&f, &bits, sizeof f);
        if (!isfinite(f))
            continue;
        char s[64];
        snprintf(s, sizeof s, i % 2 ? "%.9g" : "%.9e", (double)f);
        float g = 0;
        if (pf(s, &g) != RW_NUM_OK || g != f) {
            if (bad++ < 5)
                fprintf(stderr, "round trip of %s gave %.9g\n", s, (double)g);
        }
    }
    CHECK_MSG(bad == 0, "%d floats did not round-trip", bad);
    double d = 0;
    CHECK(rw_parse_double("2.5e-3", 6, &d) == RW_NUM_OK && d == 2.5e-3);
    /* Doubles are promised to a few ulps (floats are exact). */
    CHECK(rw_parse_double("1e308", 5, &d) == RW_NUM_OK);
    CHECK_CLOSE(d, 1e308, 0, 1e-15);
    CHECK(rw_parse_double("1e309", 5, &d) == RW_NUM_RANGE);
}

/* ---------------- IDX ---------------- */

static const uint8_t px12[12] = {0, 255, 51, 102, 1, 2, 3, 4, 250, 251, 252, 253};
static const uint8_t lab3[3] = {0, 2, 1};

static void write_idx_pair(const char *img_path, const char *lab_path, int gz)
{
    uint8_t img[64], lab[64];
    uint32_t di[3] = {3, 2, 2}, dl[1] = {3};
    size_t ni = make_idx(img, 0x08, 3, di, px12, 12);
    size_t nl = make_idx(lab, 0x08, 1, dl, lab3, 3);
    if (gz) {
        write_gz(img_path, img, ni);
        write_gz(lab_path, lab, nl);
    } else {
        write_file(img_path, img, ni);
        write_file(lab_path, lab, nl);
    }
}

static void check_small_idx(const rw_dataset *ds, size_t classes)
{
    CHECK(ds != NULL);
    if (!ds)
        return;
    CHECK(rw_dataset_size(ds) == 3);
    CHECK(rw_dataset_features(ds) == 4);
    CHECK(rw_dataset_classes(ds) == classes);
    CHECK(rw_dataset_targets(ds) == 0);
    CHECK(rw_dataset_y(ds) == NULL);
    size_t h = 9, w = 9;
    rw_dataset_image_shape(ds, &h, &w);
    CHECK(h == 2 && w == 2);
    const float *x = rw_dataset_x(ds);
    for (int i = 0; i < 12; i++)
        CHECK_CLOSE(x[i], px12[i] / 255.0, 1e-7, 0);
    CHECK(x[0] == 0.0f && x[1] == 1.0f);
    const int32_t *l = rw_dataset_labels(ds);
    CHECK(l[0] == 0 && l[1] == 2 && l[2] == 1);
}

static void test_idx_good(void)
{
    rw_error err;
    rw_error_clear(&err);
    char spec[2048];

    write_idx_pair(tmp("img.idx"), tmp("lab.idx"), 0);
    snprintf(spec, sizeof spec, "%s,%s", tmp("img.idx"), tmp("lab.idx"));
    rw_dataset *ds = rw_dataset_open(spec, RW_SPLIT_TRAIN, NULL, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    check_small_idx(ds, 3);
    CHECK(rw_dataset_class_name(ds, 0) == NULL);
    CHECK_MSG(strstr(rw_dataset_name(ds), "img.idx: 3 x 4, 3 classes"),
              "%s", rw_dataset_name(ds));
    rw_dataset_free(ds);

    write_idx_pair(tmp("img.idx.gz"), tmp("lab.idx.gz"), 1);
    snprintf(spec, sizeof spec, "%s,%s", tmp("img.idx.gz"), tmp("lab.idx.gz"));
    ds = rw_dataset_open(spec, RW_SPLIT_TEST, NULL, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    check_small_idx(ds, 3);
    rw_dataset_free(ds);

    /* A path holding a comma still resolves. */
    write_idx_pair(tmp("a,b.idx"), tmp("lab2.idx"), 0);
    snprintf(spec, sizeof spec, "%s,%s", tmp("a,b.idx"), tmp("lab2.idx"));
    ds = rw_dataset_open(spec, RW_SPLIT_TRAIN, NULL, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    check_small_idx(ds, 3);
    rw_dataset_free(ds);

    /* Named layout in a custom folder: 10 classes and class names. */
    mkdir(tmp("fm"), 0755);
    write_idx_pair(tmp("fm/t10k-images-idx3-ubyte"),
                   tmp("fm/t10k-labels-idx1-ubyte.gz"), 0);
    /* the .gz name holds raw bytes: zlib reads those transparently */
    snprintf(spec, sizeof spec, "fashion-mnist:%s", tmp("fm"));
    ds = rw_dataset_open(spec, RW_SPLIT_TEST, NULL, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    check_small_idx(ds, 10);
    if (ds) {
        CHECK(strcmp(rw_dataset_class_name(ds, 1), "Trouser") == 0);
        CHECK(strcmp(rw_dataset_class_name(ds, 9), "Ankle boot") == 0);
        CHECK(rw_dataset_class_name(ds, 10) == NULL);
        CHECK_MSG(strcmp(rw_dataset_name(ds),
                         "fashion-mnist test: 3 x 4, 10 classes") == 0,
                  "%s", rw_dataset_name(ds));
    }
    rw_dataset_free(ds);
    snprintf(spec, sizeof spec, "mnist:%s", tmp("fm"));
    ds = rw_dataset_open(spec, RW_SPLIT_TEST, NULL, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds)
        CHECK(strcmp(rw_dataset_class_name(ds, 7), "7") == 0);
    rw_dataset_free(ds);
    /* The train split is not there. */
    snprintf(spec, sizeof spec, "fashion-mnist:%s", tmp("fm"));
    ds = rw_dataset_open(spec, RW_SPLIT_TRAIN, NULL, &err);
    EXPECT_FAIL(ds, err, RW_ERR_IO, "train-images-idx3-ubyte.gz not found");

    /* Memory entry point; 2-dimension images have no image shape. */
    uint8_t img[64], lab[64];
    uint32_t di[2] = {3, 4}, dl[1] = {3};
    size_t ni = make_idx(img, 0x08, 2, di, px12, 12);
    size_t nl = make_idx(lab, 0x08, 1, dl, lab3, 3);
    ds = rw_idx_load_memory(img, ni, "i", lab, nl, "l", 0, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds) {
        size_t h = 1, w = 1;
        rw_dataset_image_shape(ds, &h, &w);
        CHECK(h == 0 && w == 0);
        CHECK(rw_dataset_features(ds) == 4);
    }
    rw_dataset_free(ds);
}

static void test_idx_bad(void)
{
    rw_error err;
    rw_error_clear(&err);
    uint8_t img[256], lab[64];
    uint32_t di[3] = {3, 2, 2}, dl[1] = {3};
    size_t ni = make_idx(img, 0x08, 3, di, px12, 12);
    size_t nl = make_idx(lab, 0x08, 1, dl, lab3, 3);
    rw_dataset *ds;

    /* Payload shorter than claimed. */
    ds = rw_idx_load_memory(img, ni - 2, "im.idx", lab, nl, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "im.idx: byte 4: header claims 3 x 2 x "
                "2 = 12 bytes of pixels but the file holds 10");
    /* Longer than claimed. */
    img[ni] = 7;
    ds = rw_idx_load_memory(img, ni + 1, "im.idx", lab, nl, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "im.idx: byte 28:", "goes on");
    /* Truncated inside the header and inside the magic; empty. */
    ds = rw_idx_load_memory(img, 9, "im.idx", lab, nl, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "im.idx: byte 9:", "inside the header");
    ds = rw_idx_load_memory(img, 3, "im.idx", lab, nl, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "im.idx: byte 3:", "magic");
    ds = rw_idx_load_memory(img, 0, "im.idx", lab, nl, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "im.idx: byte 0: the file is empty");
    /* Wrong magic, wrong type, wrong dimension count. */
    uint8_t bad[256];
    memcpy(bad, img, ni);
    bad[0] = 0x1f;
    bad[1] = 0x8b;
    ds = rw_idx_load_memory(bad, ni, "im.idx", lab, nl, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "im.idx: byte 0: expected the IDX magic",
                "1f 8b", "gzip");
    memcpy(bad, img, ni);
    bad[2] = 0x0D;
    ds = rw_idx_load_memory(bad, ni, "im.idx", lab, nl, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "im.idx: byte 2: expected data type "
                "0x08 (unsigned byte), found 0x0d (32-bit float)");
    uint32_t dl2[2] = {3, 1};
    size_t nl2 = make_idx(bad, 0x08, 2, dl2, lab3, 3);
    ds = rw_idx_load_memory(img, ni, "im.idx", bad, nl2, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "lb.idx: byte 3: expected 1 dimension "
                "for labels, found 2");
    /* A zero dimension. */
    uint32_t dz[3] = {3, 0, 2};
    size_t nz = make_idx(bad, 0x08, 3, dz, NULL, 0);
    ds = rw_idx_load_memory(bad, nz, "im.idx", lab, nl, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "im.idx: byte 8: dimension 2 is 0");
    /* Label count differs from image count. */
    uint32_t dl4[1] = {2};
    size_t nl4 = make_idx(bad, 0x08, 1, dl4, lab3, 2);
    ds = rw_idx_load_memory(img, ni, "im.idx", bad, nl4, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "lb.idx: byte 4: expected 3 labels, "
                "one per image of im.idx, found 2");
    /* A label outside the named set's classes. */
    uint8_t lab_hi[3] = {0, 12, 1};
    size_t nl5 = make_idx(bad, 0x08, 1, dl, lab_hi, 3);
    ds = rw_idx_load_memory(img, ni, "im.idx", bad, nl5, "lb.idx", 10, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "lb.idx: byte 9: expected a class "
                "label 0..9, found 12");

    /* Billions claimed: over the cap, refused from the header alone. */
    uint32_t huge[3] = {4000000000u, 28, 28};
    size_t nh = make_idx(bad, 0x08, 3, huge, px12, 12);
    double t0 = rw_now();
    ds = rw_idx_load_memory(bad, nh, "big.idx", lab, nl, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "big.idx: byte 4: header claims "
                "4000000000 x 28 x 28", "limit");
    uint32_t over[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu};
    nh = make_idx(bad, 0x08, 4, over, px12, 12);
    ds = rw_idx_load_memory(bad, nh, "big.idx", lab, nl, "lb.idx", 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "big.idx: byte 4", "limit");
    /* Under the cap but far beyond the bytes present, from files (raw and
     * gzip): must fail after reading what is there, without reserving the
     * claimed 1.5 GB. */
    uint32_t big[3] = {2000000, 28, 28};
    nh = make_idx(bad, 0x08, 3, big, px12, 12);
    write_file(tmp("big.idx"), bad, nh);
    write_gz(tmp("big.idx.gz"), bad, nh);
    write_file(tmp("lab.idx"), lab, nl);
    ds = rw_idx_load_files(tmp("big.idx"), tmp("lab.idx"), 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "big.idx: byte 4: header claims 2000000 "
                "x 28 x 28 = 1568000000 bytes of pixels but the file holds 12");
    ds = rw_idx_load_files(tmp("big.idx.gz"), tmp("lab.idx"), 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "big.idx.gz: byte 4:", "holds 12");
    CHECK_MSG(rw_now() - t0 < 2.0, "huge claims took %.2f s", rw_now() - t0);
    /* Trailing bytes in a file. */
    memcpy(bad, img, ni);
    bad[ni] = 1;
    write_file(tmp("long.idx"), bad, ni + 1);
    ds = rw_idx_load_files(tmp("long.idx"), tmp("lab.idx"), 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "long.idx: byte 28:", "goes on");

    /* A gzip file cut short. */
    write_gz(tmp("cut.idx.gz"), img, ni);
    FILE *f = fopen(tmp("cut.idx.gz"), "rb");
    uint8_t gzb[512];
    size_t gn = fread(gzb, 1, sizeof gzb, f);
    fclose(f);
    write_file(tmp("cut.idx.gz"), gzb, gn - 12);
    ds = rw_idx_load_files(tmp("cut.idx.gz"), tmp("lab.idx"), 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "cut.idx.gz: byte ", "of the "
                "decompressed data: the gzip stream ends early");
    /* A gzip file with a damaged byte (its CRC no longer matches). */
    gzb[gn - 8] ^= 0x55; /* first byte of the CRC32 trailer */
    write_file(tmp("flip.idx.gz"), gzb, gn);
    ds = rw_idx_load_files(tmp("flip.idx.gz"), tmp("lab.idx"), 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "flip.idx.gz: byte ", "broken gzip stream");

    /* Missing files, through the SPEC. */
    char spec[2048];
    snprintf(spec, sizeof spec, "%s,%s", tmp("img.idx"), tmp("nolabels.idx"));
    ds = rw_dataset_open(spec, RW_SPLIT_TRAIN, NULL, &err);
    EXPECT_FAIL(ds, err, RW_ERR_IO, "nolabels.idx: not found");
    snprintf(spec, sizeof spec, "%s,%s", tmp("img.idx"), TMP);
    ds = rw_dataset_open(spec, RW_SPLIT_TRAIN, NULL, &err);
    EXPECT_FAIL(ds, err, RW_ERR_IO, "is a folder, expected a file", "IDX pair");
    ds = rw_idx_load_files(tmp("none.idx"), tmp("lab.idx"), 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_IO, "none.idx: cannot open");
    /* One IDX file alone. */
    ds = rw_dataset_open(tmp("img.idx"), RW_SPLIT_TRAIN, NULL, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "IMAGES,LABELS");
}

/* ---------------- CSV ---------------- */

static rw_dataset *csv_mem(const char *text, const rw_data_options *o,
                           rw_error *err)
{
    return rw_csv_parse_memory(text, strlen(text), "data.csv", o, err);
}

/* The header the CSV reader took: none, a header of names, or a data line
 * with a typo (some fields numbers), which the CLI warns about. */
static void test_csv_header_report(void)
{
    rw_error err;
    size_t numbers = 99, fields = 99;
    rw_dataset *d = csv_mem("1,2,0\n3,4,1\n", NULL, &err);
    CHECK(d && rw_dataset_csv_header(d, &numbers, &fields) == 0 &&
          numbers == 0 && fields == 0);
    rw_dataset_free(d);
    d = csv_mem("\nx,y,label\n1,2,0\n3,4,1\n", NULL, &err);
    CHECK(d && rw_dataset_csv_header(d, &numbers, &fields) == 2 &&
          numbers == 0 && fields == 3);
    rw_dataset_free(d);
    d = csv_mem("1,,0\n1,2,0\n3,4,1\n", NULL, &err);
    CHECK(d && rw_dataset_csv_header(d, &numbers, &fields) == 1 &&
          numbers == 2 && fields == 3 && rw_dataset_size(d) == 2);
    rw_dataset_free(d);
}

static void test_csv_good(void)
{
    rw_error err;
    rw_error_clear(&err);
    rw_data_options o = rw_data_options_defaults();
    CHECK(o.label_column == RW_LABEL_LAST && !o.regression);

    rw_dataset *ds = csv_mem("1,2,0\n3.5,-4,1\n5,6e1,2\n", &o, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds) {
        CHECK(rw_dataset_size(ds) == 3 && rw_dataset_features(ds) == 2);
        CHECK(rw_dataset_classes(ds) == 3);
        const float *x = rw_dataset_x(ds);
        const int32_t *l = rw_dataset_labels(ds);
        CHECK(x[0] == 1 && x[1] == 2 && x[2] == 3.5f && x[3] == -4);
        CHECK(x[4] == 5 && x[5] == 60);
        CHECK(l[0] == 0 && l[1] == 1 && l[2] == 2);
        CHECK_MSG(strcmp(rw_dataset_name(ds), "data.csv: 3 x 2, 3 classes") == 0,
                  "%s", rw_dataset_name(ds));
        size_t h = 5, w = 5;
        rw_dataset_image_shape(ds, &h, &w);
        CHECK(h == 0 && w == 0);
    }
    rw_dataset_free(ds);

    /* Header detection, \r\n, blank lines, BOM, blanks and quotes, no final
     * newline. */
    ds = csv_mem("\xEF\xBB\xBF\"x 1\",x2,label\r\n\r\n 1 , \"2\" ,1\r\n  \n"
                 "3,4,0", &o, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds) {
        CHECK(rw_dataset_size(ds) == 2 && rw_dataset_features(ds) == 2);
        const float *x = rw_dataset_x(ds);
        CHECK(x[0] == 1 && x[1] == 2 && x[2] == 3 && x[3] == 4);
        CHECK(rw_dataset_labels(ds)[0] == 1 && rw_dataset_labels(ds)[1] == 0);
        CHECK(rw_dataset_classes(ds) == 2);
    }
    rw_dataset_free(ds);

    /* Label first, then a middle column. */
    o.label_column = RW_LABEL_FIRST;
    ds = csv_mem("2,10,20\n0,30,40\n", &o, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds) {
        const float *x = rw_dataset_x(ds);
        CHECK(x[0] == 10 && x[1] == 20 && x[2] == 30 && x[3] == 40);
        CHECK(rw_dataset_labels(ds)[0] == 2 && rw_dataset_labels(ds)[1] == 0);
        CHECK(rw_dataset_classes(ds) == 3);
    }
    rw_dataset_free(ds);
    o.label_column = 1;
    ds = csv_mem("a,b,c\n10,1,20\n30,0,40\n", &o, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds) {
        const float *x = rw_dataset_x(ds);
        CHECK(x[0] == 10 && x[1] == 20 && x[2] == 30 && x[3] == 40);
        CHECK(rw_dataset_labels(ds)[0] == 1 && rw_dataset_labels(ds)[1] == 0);
    }
    rw_dataset_free(ds);

    /* Regression: a float target. */
    o = rw_data_options_defaults();
    o.regression = 1;
    ds = csv_mem("x,y\n1,0.25\n2,-1.5e-1\n", &o, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds) {
        CHECK(rw_dataset_classes(ds) == 0 && rw_dataset_targets(ds) == 1);
        CHECK(rw_dataset_labels(ds) == NULL);
        CHECK(rw_dataset_y(ds)[0] == 0.25f && rw_dataset_y(ds)[1] == -0.15f);
        CHECK(rw_dataset_x(ds)[1] == 2);
        CHECK(strstr(rw_dataset_name(ds), "1 target") != NULL);
    }
    rw_dataset_free(ds);

    /* Files: plain, gzip, and one streamed across many read chunks with a
     * line longer than the first buffer; all must match the memory parse. */
    o = rw_data_options_defaults();
    write_text(tmp("small.csv"), "f1,f2,y\r\n0.5,1.5,1\r\n2.5,3.5,0\r\n");
    ds = rw_dataset_open(tmp("small.csv"), RW_SPLIT_TRAIN, &o, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds) {
        CHECK(rw_dataset_size(ds) == 2 && rw_dataset_x(ds)[3] == 3.5f);
        CHECK_MSG(strcmp(rw_dataset_name(ds), "small.csv: 2 x 2, 2 classes") == 0,
                  "%s", rw_dataset_name(ds));
    }
    rw_dataset_free(ds);
    const char *gzt = "1,2,3\n4,5,6\n";
    write_gz(tmp("small.csv.gz"), gzt, strlen(gzt));
    ds = rw_dataset_open(tmp("small.csv.gz"), RW_SPLIT_TRAIN, &o, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds)
        CHECK(rw_dataset_size(ds) == 2 && rw_dataset_x(ds)[2] == 4 &&
              rw_dataset_labels(ds)[1] == 6 && rw_dataset_classes(ds) == 7);
    rw_dataset_free(ds);

    size_t cap = 8u << 20, len = 0;
    char *big = malloc(cap);
    rw_rng rng;
    rw_rng_seed(&rng, 3);
    for (int c = 0; c < 30000; c++) /* a 30001-column first line */
        len += (size_t)snprintf(big + len, cap - len, "%.6f,", rw_rng_uniform(&rng));
    len += (size_t)snprintf(big + len, cap - len, "1\n");
    for (int r = 0; r < 40; r++) {
        for (int c = 0; c < 30000; c++)
            len += (size_t)snprintf(big + len, cap - len, "%d,", (r * 7 + c) % 1000);
        len += (size_t)snprintf(big + len, cap - len, "%d\r\n", r % 5);
    }
    write_file(tmp("big.csv"), big, len);
    write_gz(tmp("big.csv.gz"), big, len);
    rw_dataset *a = rw_csv_parse_memory(big, len, "big.csv", &o, &err);
    CHECK_MSG(a != NULL, "%s", err.msg);
    rw_dataset *b = rw_dataset_open(tmp("big.csv"), RW_SPLIT_TRAIN, &o, &err);
    CHECK_MSG(b != NULL, "%s", err.msg);
    rw_dataset *c = rw_dataset_open(tmp("big.csv.gz"), RW_SPLIT_TRAIN, &o, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    if (a && b && c) {
        CHECK(rw_dataset_size(a) == 41 && rw_dataset_features(a) == 30000);
        CHECK(rw_dataset_size(b) == 41 && rw_dataset_size(c) == 41);
        size_t nx = 41 * 30000;
        CHECK(memcmp(rw_dataset_x(a), rw_dataset_x(b), nx * sizeof(float)) == 0);
        CHECK(memcmp(rw_dataset_x(a), rw_dataset_x(c), nx * sizeof(float)) == 0);
        CHECK(memcmp(rw_dataset_labels(a), rw_dataset_labels(c), 41 * 4) == 0);
        CHECK(rw_dataset_x(a)[30000 + 5] == 5.0f && rw_dataset_labels(a)[40] == 4);
        CHECK(rw_dataset_classes(a) == 5);
    }
    rw_dataset_free(a);
    rw_dataset_free(b);
    rw_dataset_free(c);
    free(big);
}

static void test_csv_bad(void)
{
    rw_error err;
    rw_error_clear(&err);
    rw_data_options o = rw_data_options_defaults();
    rw_dataset *ds;

    ds = csv_mem("a,b,c\n1,2,0\n1,abc,1\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT,
                "data.csv: line 3, column 2: expected a number, found \"abc\"");
    ds = csv_mem("1,2,0\n\n1,2\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "data.csv: line 3, column 3: expected 3 "
                "columns as on line 1, found 2");
    ds = csv_mem("x,y,z\n1,2,0\n1,2,3,4\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 3, column 4: expected 3 columns as "
                "on line 1 (the header), found 4");
    ds = csv_mem("1,2,0\n1,2,-1\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 2, column 3: expected a class label "
                "(an integer >= 0), found \"-1\"");
    ds = csv_mem("1,2,0\n1,2,1.5\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 2, column 3", "class label", "1.5");
    ds = csv_mem("1,2,0\n1,2,70000\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 2, column 3: expected a class label "
                "up to 65535");
    ds = csv_mem("1,2,0\n1,nan,1\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 2, column 2: expected a number, "
                "found \"nan\" (not finite)");
    ds = csv_mem("1,2,0\n-inf,2,1\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 2, column 1", "not finite");
    ds = csv_mem("1,2,0\n1e39,2,1\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 2, column 1", "out of range");
    ds = csv_mem("1,2,0\n1,,1\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 2, column 2: expected a number, "
                "found an empty field");
    ds = csv_mem("1,2,0\n1,\"2,1\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 2, column 2: expected a closing quote");
    ds = csv_mem("1,2,0\n1,\"2\"x,1\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 2, column 2: expected a comma");
    ds = csv_mem("1,2,0\n1,\x01\xff,1\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "found \"\\x01\\xff\"");
    ds = csv_mem("", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "data.csv: the file is empty");
    ds = csv_mem("\n  \r\n\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "data.csv: the file is empty");
    ds = csv_mem("a,b,label\n\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "expected data rows after the header");
    ds = csv_mem("1\n2\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 1: expected at least 2 columns");
    o.label_column = 5;
    ds = csv_mem("1,2,0\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_ARG, "label column 5", "3 columns");
    o.label_column = -3;
    ds = rw_dataset_open("spirals", RW_SPLIT_TRAIN, &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_ARG, "label column -3");
    o = rw_data_options_defaults();
    o.regression = 1;
    ds = csv_mem("1,2,0\n1,2,x\n", &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "line 2, column 3: expected a number "
                "(the regression target), found \"x\"");
    o = rw_data_options_defaults();

    /* Files. */
    write_text(tmp("empty.csv"), "");
    ds = rw_dataset_open(tmp("empty.csv"), RW_SPLIT_TRAIN, &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "empty.csv: the file is empty");
    write_text(tmp("bad.csv"), "h1,h2,h3\r\n1,2,1\r\n3,x4,0\r\n");
    ds = rw_dataset_open(tmp("bad.csv"), RW_SPLIT_TRAIN, &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "bad.csv: line 3, column 2: expected a "
                "number, found \"x4\"");
    const char *gzt = "1,2,3\n4,5,6\n7,8,9\n";
    write_gz(tmp("cut.csv.gz"), gzt, strlen(gzt));
    FILE *f = fopen(tmp("cut.csv.gz"), "rb");
    char gzb[512];
    size_t gn = fread(gzb, 1, sizeof gzb, f);
    fclose(f);
    write_file(tmp("cut.csv.gz"), gzb, gn - 10);
    ds = rw_dataset_open(tmp("cut.csv.gz"), RW_SPLIT_TRAIN, &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "cut.csv.gz: byte ", "gzip stream ends early");
    ds = rw_dataset_open(tmp("missing.csv"), RW_SPLIT_TRAIN, &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_IO, "missing.csv: not found");
    ds = rw_csv_load_file(tmp("missing.csv"), &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_IO, "missing.csv: cannot open");
    ds = rw_dataset_open(TMP, RW_SPLIT_TRAIN, &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_IO, "is a folder, expected a file");
    /* Lines that end in CR alone (classic Mac OS) read as one line. */
    write_text(tmp("cr.csv"), "1,2,0\r3,4,1\r5,6,0\r");
    ds = rw_dataset_open(tmp("cr.csv"), RW_SPLIT_TRAIN, &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "cr.csv: line 1: a carriage return",
                "LF or CRLF");
    write_text(tmp("crlf.csv"), "1,2,0\r\n3,4,1\r\n");
    ds = rw_dataset_open(tmp("crlf.csv"), RW_SPLIT_TRAIN, &o, &err);
    CHECK(ds && rw_dataset_size(ds) == 2);
    rw_dataset_free(ds);
    ds = rw_dataset_open("no-such-set", RW_SPLIT_TRAIN, &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_ARG, "unknown dataset \"no-such-set\"", "spirals");
    ds = rw_dataset_open("", RW_SPLIT_TRAIN, &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_ARG, "empty SPEC");
}

/* ---------------- arrays, subsets, splits, standardisation ---------------- */

static void test_arrays_split(void)
{
    rw_error err;
    rw_error_clear(&err);
    enum { N = 101, F = 3 };
    float x[N * F];
    int32_t l[N];
    for (int i = 0; i < N; i++) {
        x[i * F] = (float)i;           /* identifies the row */
        x[i * F + 1] = (float)(i % 7);
        x[i * F + 2] = 5.0f;            /* constant */
        l[i] = i % 4;
    }
    rw_dataset *ds = rw_dataset_from_arrays(x, l, NULL, N, F, 0, 4, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (!ds)
        return;
    CHECK(rw_dataset_x(ds) != x && rw_dataset_x(ds)[3 * F] == 3.0f);

    rw_dataset *rest = NULL, *held = NULL, *rest2 = NULL, *held2 = NULL,
               *rest3 = NULL, *held3 = NULL;
    CHECK_OK(rw_dataset_split(ds, 0.2, 42, &rest, &held, &err), &err);
    CHECK_OK(rw_dataset_split(ds, 0.2, 42, &rest2, &held2, &err), &err);
    CHECK_OK(rw_dataset_split(ds, 0.2, 43, &rest3, &held3, &err), &err);
    if (rest && held && rest2 && held2 && rest3 && held3) {
        CHECK(rw_dataset_size(held) == 20 && rw_dataset_size(rest) == 81);
        CHECK(rw_dataset_classes(held) == 4 && rw_dataset_features(held) == F);
        CHECK(memcmp(rw_dataset_x(held), rw_dataset_x(held2), 20 * F * 4) == 0);
        CHECK(memcmp(rw_dataset_x(rest), rw_dataset_x(rest2), 81 * F * 4) == 0);
        CHECK(memcmp(rw_dataset_x(held), rw_dataset_x(held3), 20 * F * 4) != 0);
        /* Every row lands in exactly one part, with its label. */
        int seen[N] = {0};
        const rw_dataset *parts[2] = {rest, held};
        int shuffled = 0;
        for (int p = 0; p < 2; p++)
            for (size_t i = 0; i < rw_dataset_size(parts[p]); i++) {
                const float *r = rw_dataset_x(parts[p]) + i * F;
                int id = (int)r[0];
                CHECK(id >= 0 && id < N);
                seen[id]++;
                CHECK(r[1] == (float)(id % 7));
                CHECK(rw_dataset_labels(parts[p])[i] == id % 4);
                if (p == 0 && (size_t)id != i)
                    shuffled = 1;
            }
        for (int i = 0; i < N; i++)
            CHECK(seen[i] == 1);
        CHECK(shuffled);
        CHECK_MSG(strstr(rw_dataset_name(held), "held out") &&
                      strstr(rw_dataset_name(held), ": 20 x 3, 4 classes"),
                  "%s", rw_dataset_name(held));
    }
    rw_dataset_free(rest);
    rw_dataset_free(held);
    rw_dataset_free(rest2);
    rw_dataset_free(held2);
    rw_dataset_free(rest3);
    rw_dataset_free(held3);

    CHECK(rw_dataset_split(ds, 0.0, 1, &rest, &held, &err) == RW_ERR_ARG);
    CHECK(rest == NULL && held == NULL && strstr(err.msg, "fraction"));
    CHECK(rw_dataset_split(ds, 1.0, 1, &rest, &held, &err) == RW_ERR_ARG);
    CHECK(rw_dataset_split(ds, 0.001, 1, &rest, &held, &err) == RW_ERR_ARG);
    CHECK(strstr(err.msg, "empty") != NULL);
    rw_error_clear(&err);

    size_t idx[3] = {100, 0, 50};
    rw_dataset *sub = rw_dataset_subset(ds, idx, 3, &err);
    CHECK_MSG(sub != NULL, "%s", err.msg);
    if (sub) {
        CHECK(rw_dataset_size(sub) == 3);
        CHECK(rw_dataset_x(sub)[0] == 100 && rw_dataset_x(sub)[F] == 0 &&
              rw_dataset_x(sub)[2 * F] == 50);
        CHECK(rw_dataset_labels(sub)[0] == 0 && rw_dataset_labels(sub)[2] == 2);
        CHECK(rw_dataset_classes(sub) == 4);
    }
    rw_dataset_free(sub);
    size_t bad_idx[2] = {1, 101};
    sub = rw_dataset_subset(ds, bad_idx, 2, &err);
    EXPECT_FAIL(sub, err, RW_ERR_ARG, "index 101 (position 1) is out of range");

    /* Standardisation: mean and 1/std (population), constant features. */
    float shift[F], scale[F];
    CHECK_OK(rw_dataset_fit_standardize(ds, shift, scale, &err), &err);
    CHECK_CLOSE(shift[0], 50.0, 1e-5, 0);
    double var0 = 0;
    for (int i = 0; i < N; i++)
        var0 += (i - 50.0) * (i - 50.0);
    CHECK_CLOSE(scale[0], 1.0 / sqrt(var0 / N), 0, 1e-5);
    CHECK_CLOSE(shift[2], 5.0, 0, 1e-7);
    CHECK(scale[2] == 1.0f); /* constant: left at scale 1 */
    rw_dataset_free(ds);

    /* A feature that is almost always 0 with one spike: its std is floored
     * so that the spike lands at 20, not at sqrt(n) = 100. */
    enum { NS = 10000 };
    float *xs = calloc(NS * 2, sizeof(float));
    int32_t *ls = calloc(NS, sizeof(int32_t));
    for (int i = 0; i < NS; i++)
        xs[2 * i + 1] = (float)(i % 2);
    xs[2 * 17] = 1.0f;
    ds = rw_dataset_from_arrays(xs, ls, NULL, NS, 2, 0, 1, &err);
    CHECK_OK(rw_dataset_fit_standardize(ds, shift, scale, &err), &err);
    CHECK_CLOSE((1.0 - shift[0]) * scale[0], 20.0, 1e-3, 0);
    CHECK_CLOSE(shift[1], 0.5, 1e-6, 0);
    CHECK_CLOSE(scale[1], 2.0, 0, 1e-6); /* ordinary features untouched */
    rw_dataset_free(ds);
    free(xs);
    free(ls);

    float z[4] = {0, 1, 0, 3};
    int32_t zl[2] = {0, 1};
    ds = rw_dataset_from_arrays(z, zl, NULL, 2, 2, 0, 2, &err);
    CHECK_OK(rw_dataset_fit_standardize(ds, shift, scale, &err), &err);
    CHECK(shift[0] == 0 && scale[0] == 1.0f); /* all-zero: left alone */
    CHECK_CLOSE(shift[1], 2.0, 0, 1e-7);
    CHECK_CLOSE(scale[1], 1.0, 0, 1e-7);
    rw_dataset_free(ds);

    /* Regression arrays and every refusal. */
    float t[2] = {0.5f, -1.0f};
    ds = rw_dataset_from_arrays(z, NULL, t, 2, 2, 1, 0, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds)
        CHECK(rw_dataset_targets(ds) == 1 && rw_dataset_y(ds)[1] == -1.0f &&
              rw_dataset_labels(ds) == NULL && rw_dataset_classes(ds) == 0);
    rw_dataset_free(ds);
    int32_t badl[2] = {0, 2};
    ds = rw_dataset_from_arrays(z, badl, NULL, 2, 2, 0, 2, &err);
    EXPECT_FAIL(ds, err, RW_ERR_DATA, "label 2 of sample 1 is outside 0..1");
    float zn[4] = {0, 1, NAN, 3};
    ds = rw_dataset_from_arrays(zn, zl, NULL, 2, 2, 0, 2, &err);
    EXPECT_FAIL(ds, err, RW_ERR_DATA, "sample 1, feature 0 is not a finite");
    ds = rw_dataset_from_arrays(z, zl, NULL, 0, 2, 0, 2, &err);
    EXPECT_FAIL(ds, err, RW_ERR_ARG, "n > 0");
    ds = rw_dataset_from_arrays(z, NULL, NULL, 2, 2, 0, 0, &err);
    EXPECT_FAIL(ds, err, RW_ERR_ARG, "regression");

    /* NULL is fine everywhere. */
    rw_dataset_free(NULL);
    CHECK(rw_dataset_size(NULL) == 0 && rw_dataset_x(NULL) == NULL);
    CHECK(rw_dataset_class_name(NULL, 0) == NULL);
}

/* ---------------- synthetic ---------------- */

static void test_synth(void)
{
    rw_error err;
    rw_error_clear(&err);
    const char *names[] = {"spirals", "moons", "blobs", "xor"};
    const size_t classes[] = {2, 2, 4, 2};
    for (int k = 0; k < 4; k++) {
        rw_data_options o = rw_data_options_defaults();
        o.synth_seed = 5;
        rw_dataset *tr = rw_dataset_open(names[k], RW_SPLIT_TRAIN, &o, &err);
        rw_dataset *tr2 = rw_dataset_open(names[k], RW_SPLIT_TRAIN, &o, &err);
        rw_dataset *te = rw_dataset_open(names[k], RW_SPLIT_TEST, &o, &err);
        o.synth_seed = 6;
        o.synth_samples = 300;
        rw_dataset *tr3 = rw_dataset_open(names[k], RW_SPLIT_TRAIN, &o, &err);
        CHECK_MSG(tr && tr2 && te && tr3, "%s: %s", names[k], err.msg);
        if (tr && tr2 && te && tr3) {
            CHECK(rw_dataset_size(tr) == 2000 && rw_dataset_size(te) == 1000);
            CHECK(rw_dataset_size(tr3) == 300);
            CHECK(rw_dataset_features(tr) == 2);
            CHECK(rw_dataset_classes(tr) == classes[k]);
            CHECK(memcmp(rw_dataset_x(tr), rw_dataset_x(tr2), 2000 * 2 * 4) == 0);
            CHECK(memcmp(rw_dataset_x(tr), rw_dataset_x(te), 1000 * 2 * 4) != 0);
            CHECK(memcmp(rw_dataset_x(tr), rw_dataset_x(tr3), 300 * 2 * 4) != 0);
            size_t count[4] = {0};
            for (size_t i = 0; i < 2000; i++) {
                int32_t c = rw_dataset_labels(tr)[i];
                CHECK(c >= 0 && (size_t)c < classes[k]);
                if (c >= 0 && c < 4)
                    count[c]++;
                CHECK(fabsf(rw_dataset_x(tr)[2 * i]) < 5.0f);
                CHECK(fabsf(rw_dataset_x(tr)[2 * i + 1]) < 5.0f);
            }
            for (size_t c = 0; c < classes[k]; c++)
                CHECK(count[c] == 2000 / classes[k]);
            char want[64];
            snprintf(want, sizeof want, "%s test: 1000 x 2, %zu classes",
                     names[k], classes[k]);
            CHECK_MSG(strcmp(rw_dataset_name(te), want) == 0, "%s",
                      rw_dataset_name(te));
        }
        rw_dataset_free(tr);
        rw_dataset_free(tr2);
        rw_dataset_free(te);
        rw_dataset_free(tr3);
    }
    /* xor labels follow the signs. */
    rw_dataset *x = rw_dataset_open("xor", RW_SPLIT_TRAIN, NULL, &err);
    if (x)
        for (size_t i = 0; i < rw_dataset_size(x); i++) {
            const float *p = rw_dataset_x(x) + 2 * i;
            CHECK(rw_dataset_labels(x)[i] == ((p[0] > 0) != (p[1] > 0)));
        }
    rw_dataset_free(x);
    rw_data_options o = rw_data_options_defaults();
    o.synth_samples = (size_t)1 << 40;
    x = rw_dataset_open("moons", RW_SPLIT_TRAIN, &o, &err);
    EXPECT_FAIL(x, err, RW_ERR_ARG, "limit");
}

/* ---------------- named datasets ---------------- */

static void test_named(void)
{
    rw_error err;
    rw_error_clear(&err);
    struct stat st;
    if (stat("/usr/share/datasets/mnist/train-images-idx3-ubyte.gz", &st) != 0) {
        rw_dataset *ds = rw_dataset_open("mnist", RW_SPLIT_TRAIN, NULL, &err);
        EXPECT_FAIL(ds, err, RW_ERR_IO, "mnist: the dataset is not installed: "
                    "/usr/share/datasets/mnist/train-images-idx3-ubyte.gz not "
                    "found");
    }
    rw_dataset *ds = rw_dataset_open("fashion-mnist:/nonexistent/dir",
                                     RW_SPLIT_TEST, NULL, &err);
    EXPECT_FAIL(ds, err, RW_ERR_IO, "/nonexistent/dir/t10k-images-idx3-ubyte.gz "
                "not found");

    if (stat("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
             &st) != 0) {
        ds = rw_dataset_open("fashion-mnist", RW_SPLIT_TEST, NULL, &err);
        EXPECT_FAIL(ds, err, RW_ERR_IO, "fashion-mnist: the dataset is not "
                    "installed", "apt-get install dataset-fashion-mnist");
        printf("fashion-mnist not installed: skipping the real-data checks\n");
        return;
    }
    ds = rw_dataset_open("fashion-mnist", RW_SPLIT_TEST, NULL, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (!ds)
        return;
    CHECK(rw_dataset_size(ds) == 10000 && rw_dataset_features(ds) == 784);
    CHECK(rw_dataset_classes(ds) == 10);
    size_t h, w;
    rw_dataset_image_shape(ds, &h, &w);
    CHECK(h == 28 && w == 28);
    CHECK(strcmp(rw_dataset_class_name(ds, 0), "T-shirt/top") == 0);
    CHECK(strcmp(rw_dataset_name(ds), "fashion-mnist test: 10000 x 784, 10 classes") == 0);
    const float *x = rw_dataset_x(ds);
    float lo = 1, hi = 0;
    for (size_t i = 0; i < 10000 * 784; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    CHECK(lo == 0.0f && hi == 1.0f);
    size_t count[10] = {0};
    for (size_t i = 0; i < 10000; i++)
        count[rw_dataset_labels(ds)[i]]++;
    for (int c = 0; c < 10; c++)
        CHECK(count[c] == 1000); /* the test split is balanced */
    float *shift = malloc(784 * sizeof(float)), *scale = malloc(784 * sizeof(float));
    CHECK_OK(rw_dataset_fit_standardize(ds, shift, scale, &err), &err);
    /* Border pixels are nearly always 0; the image floor keeps them tame. */
    for (int j = 0; j < 784; j++)
        CHECK(isfinite(scale[j]) && scale[j] > 0 && scale[j] <= 100.0f);
    free(shift);
    free(scale);
    rw_dataset_free(ds);
}

/* The parser must not follow LC_NUMERIC (a comma locale turns strtod's
 * "0.5" into 0). Skipped where no such locale is installed. */
static void test_locale(void)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8"};
    const char *got = NULL;
    for (int i = 0; i < 4 && !got; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    if (!got) {
        printf("no comma-decimal locale installed: locale check skipped\n");
        return;
    }
    float v = 0;
    CHECK(pf("0.5", &v) == RW_NUM_OK && v == 0.5f);
    rw_error err;
    rw_error_clear(&err);
    rw_dataset *ds = csv_mem("0.25,1\n", NULL, &err);
    CHECK(ds && rw_dataset_x(ds)[0] == 0.25f);
    rw_dataset_free(ds);
    setlocale(LC_NUMERIC, "C");
}

/* ---------------- CSV without labels ---------------- */

static void test_csv_unlabelled(void)
{
    rw_error err;
    rw_data_options o = rw_data_options_defaults();
    o.no_labels = 1;
    write_text(tmp("raw.csv"), "a,b,c\n1,2,3.5\n4,5,6\n7,8,9\n");
    rw_dataset *ds = rw_dataset_open(tmp("raw.csv"), RW_SPLIT_TEST, &o, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (!ds)
        return;
    CHECK(rw_dataset_size(ds) == 3 && rw_dataset_features(ds) == 3);
    CHECK(rw_dataset_classes(ds) == 0 && rw_dataset_targets(ds) == 0);
    CHECK(rw_dataset_labels(ds) == NULL && rw_dataset_y(ds) == NULL);
    const float *x = rw_dataset_x(ds);
    CHECK(x[2] == 3.5f && x[3] == 4.0f && x[8] == 9.0f);
    CHECK_MSG(strcmp(rw_dataset_name(ds), "raw.csv: 3 x 3, unlabelled") == 0,
              "%s", rw_dataset_name(ds));
    /* Subsets and splits stay unlabelled (and do not touch labels). */
    size_t idx[2] = {2, 0};
    rw_dataset *sub = rw_dataset_subset(ds, idx, 2, &err);
    CHECK(sub && rw_dataset_labels(sub) == NULL && rw_dataset_x(sub)[0] == 7.0f);
    rw_dataset *a = NULL, *b = NULL;
    CHECK_OK(rw_dataset_split(ds, 0.34, 1, &a, &b, &err), &err);
    CHECK(a && b && rw_dataset_labels(a) == NULL && rw_dataset_labels(b) == NULL);
    /* Training and evaluation refuse it; prediction works. */
    rw_net_config cfg;
    CHECK_OK(rw_net_config_mlp(&cfg, 3, NULL, 0, 2, RW_ACT_RELU,
                               RW_LOSS_CROSS_ENTROPY, &err), &err);
    rw_net *net = rw_net_create(&cfg, &err);
    rw_eval_result r;
    CHECK(rw_net_evaluate(net, ds, &r, NULL, &err) == RW_ERR_DATA &&
          strstr(err.msg, "no class labels"));
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 1;
    CHECK(rw_train(net, ds, NULL, &tc, NULL, &err) == RW_ERR_DATA &&
          strstr(err.msg, "no class labels"));
    float p[6];
    CHECK_OK(rw_net_predict(net, x, 3, p, &err), &err);
    CHECK_CLOSE(p[0] + p[1], 1.0, 1e-6, 0);
    rw_net_free(net);
    rw_dataset_free(a);
    rw_dataset_free(b);
    rw_dataset_free(sub);
    rw_dataset_free(ds);

    /* One column is enough without labels (with them it is an error). */
    write_text(tmp("one.csv"), "0.5\n1.5\n");
    ds = rw_dataset_open(tmp("one.csv"), RW_SPLIT_TEST, &o, &err);
    CHECK_MSG(ds && rw_dataset_features(ds) == 1 && rw_dataset_size(ds) == 2,
              "%s", ds ? rw_dataset_name(ds) : err.msg);
    rw_dataset_free(ds);
    o.no_labels = 0;
    ds = rw_dataset_open(tmp("one.csv"), RW_SPLIT_TEST, &o, &err);
    EXPECT_FAIL(ds, err, RW_ERR_FORMAT, "one.csv: line 1", "at least 2 columns");

    /* Regression reads its target from the label column, first here. */
    o.regression = 1;
    o.label_column = RW_LABEL_FIRST;
    write_text(tmp("reg.csv"), "0.25,1,2\n0.5,3,4\n");
    ds = rw_dataset_open(tmp("reg.csv"), RW_SPLIT_TEST, &o, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    if (ds) {
        CHECK(rw_dataset_features(ds) == 2 && rw_dataset_targets(ds) == 1);
        CHECK(rw_dataset_y(ds)[0] == 0.25f && rw_dataset_y(ds)[1] == 0.5f);
        CHECK(rw_dataset_x(ds)[0] == 1.0f && rw_dataset_x(ds)[3] == 4.0f);
    }
    rw_dataset_free(ds);
}

/* ---------------- messages that quote themselves ---------------- */

/* An error prefixed with context (the dataset's name before the label
 * check's message) must read once, not overwrite itself: rw_fail used to
 * format err->msg into itself. */
static void test_self_prefixed_messages(void)
{
    rw_error err;
    rw_error_clear(&err);
    rw_fail(&err, RW_ERR_DATA, "inner %d", 7);
    rw_fail(&err, RW_ERR_FORMAT, "outer: %s (again: %s)", err.msg, err.msg);
    CHECK_MSG(strcmp(err.msg, "outer: inner 7 (again: inner 7)") == 0, "%s",
              err.msg);
    CHECK(err.status == RW_ERR_FORMAT);

    /* 4 samples of 64 features, one labelled 37, on a 10-class model. */
    char text[4 * 64 * 2 + 64];
    size_t o = 0;
    for (int r = 0; r < 4; r++) {
        for (int c = 0; c < 64; c++)
            text[o++] = '1', text[o++] = ',';
        o += (size_t)sprintf(text + o, "%d\n", r == 2 ? 37 : r);
    }
    text[o] = '\0';
    write_text(tmp("l.csv"), text);
    rw_data_options opts = rw_data_options_defaults();
    rw_dataset *ds = rw_dataset_open(tmp("l.csv"), RW_SPLIT_TEST, &opts, &err);
    CHECK_MSG(ds != NULL, "%s", err.msg);
    rw_net_config cfg;
    CHECK_OK(rw_net_config_mlp(&cfg, 64, NULL, 0, 10, RW_ACT_RELU,
                               RW_LOSS_CROSS_ENTROPY, &err), &err);
    rw_net *net = rw_net_create(&cfg, &err);
    CHECK(net != NULL);
    if (ds && net) {
        rw_eval_result r;
        CHECK(rw_net_evaluate(net, ds, &r, NULL, &err) == RW_ERR_DATA);
        char want[512];
        snprintf(want, sizeof want,
                 "%s: sample 2: label 37 is outside the model's 10 classes "
                 "(0..9)", rw_dataset_name(ds));
        CHECK_MSG(strcmp(err.msg, want) == 0, "got \"%s\", want \"%s\"",
                  err.msg, want);
    }
    rw_net_free(net);
    rw_dataset_free(ds);
}

int main(void)
{
    mkdir(TMP, 0755);
    test_numbers();
    test_idx_good();
    test_idx_bad();
    test_csv_header_report();
    test_csv_good();
    test_csv_bad();
    test_arrays_split();
    test_synth();
    test_named();
    test_locale();
    test_self_prefixed_messages();
    test_csv_unlabelled();
    TEST_MAIN_END();
}
