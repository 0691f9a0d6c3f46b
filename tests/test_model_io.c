/* Model file tests: save/load round trips are bit-exact (weights,
 * topology, transform, optimizer state, predictions, one more training
 * step), saving is atomic, and every malformed file fails cleanly with a
 * message naming the file and the byte offset; so does every truncated or
 * corrupt maintenance state (MNTS) of a checkpoint, which leaves the run's
 * state as it was.
 *
 * `test_model_io --write-seeds DIR` writes the fuzzer's seed models
 * (fuzz/corpus/model/). */
#include "internal.h"
#include "io/io.h"

#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPO_DIR RW_FIXTURES "/../.."
#define REGRESSIONS REPO_DIR "/fuzz/regressions/model"
#define CORPUS REPO_DIR "/fuzz/corpus/model"

/* ---------------- helpers ---------------- */

static char *tmp_path(const char *name)
{
    static char buf[8][1024];
    static int next = 0;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/model_io_%s", RW_TMPDIR, name);
    return p;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static void write_all(const char *path, const void *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    if (len)
        fwrite(b, 1, len, f);
    fclose(f);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void fix_crc(unsigned char *b, size_t len)
{
    put32(b + len - 4, rw_crc32(0, b, len - 4));
}

/* Payload offset of the first section with `tag` (and, for LAYR, layer
 * index `index`), or 0. */
static size_t find_section(const unsigned char *b, size_t len,
                           const char *tag, uint32_t index, uint64_t *plen)
{
    size_t pos = 12;
    while (pos + 12 <= len - 4) {
        uint64_t sl = get64(b + pos + 4);
        if (!memcmp(b + pos, tag, 4) &&
            (strcmp(tag, "LAYR") || get32(b + pos + 12) == index)) {
            if (plen)
                *plen = sl;
            return pos + 12;
        }
        pos += 12 + (size_t)sl;
    }
    return 0;
}

static bool has(const char *msg, const char *part)
{
    return strstr(msg, part) != NULL;
}

static void fill_random(float *x, size_t n, uint64_t seed)
{
    rw_rng rng;
    rw_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rw_rng_normal(&rng);
}

static rw_net *make_mlp(size_t in, const size_t *hidden, size_t nh,
                        size_t out, rw_activation act, rw_loss loss,
                        int sparse, uint64_t seed)
{
    rw_error err;
    rw_net_config cfg = rw_net_config_defaults();
    cfg.seed = seed;
    CHECK_OK(rw_net_config_mlp(&cfg, in, hidden, nh, out, act, loss, &err),
             &err);
    if (sparse)
        CHECK_OK(rw_net_config_sparsify(&cfg, RW_SPARSE_UNIFORM, 0.4,
                                        sparse > 1, &err), &err);
    rw_net *net = rw_net_create(&cfg, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    if (!net)
        exit(1);
    return net;
}

/* Random classification batch for `net`. */
typedef struct batch {
    float *x, *y;
    int32_t *labels;
    size_t n;
} batch;

static batch make_batch(const rw_net *net, size_t n, uint64_t seed)
{
    batch b;
    size_t I = rw_net_inputs(net), C = rw_net_outputs(net);
    b.n = n;
    b.x = malloc(n * I * sizeof *b.x);
    b.y = malloc(n * C * sizeof *b.y);
    b.labels = malloc(n * sizeof *b.labels);
    fill_random(b.x, n * I, seed);
    fill_random(b.y, n * C, seed + 1);
    for (size_t j = 0; j < n; j++)
        b.labels[j] = (int32_t)(j % C);
    return b;
}

static void free_batch(batch *b)
{
    free(b->x);
    free(b->y);
    free(b->labels);
}

static void train_steps(rw_net *net, const batch *b, rw_optim_kind kind,
                        int steps)
{
    rw_error err;
    rw_optim_config opt = rw_optim_defaults(kind);
    opt.weight_decay = 1e-3;
    int ce = rw_net_classes(net) > 0;
    for (int s = 0; s < steps; s++) {
        CHECK_OK(rw_net_gradient(net, b->x, ce ? b->labels : NULL,
                                 ce ? NULL : b->y, b->n, NULL, NULL, &err),
                 &err);
        CHECK_OK(rw_net_step(net, &opt, 0.01, &err), &err);
    }
}

static bool same_floats(const float *a, const float *b, size_t n)
{
    if (!a || !b)
        return a == b;
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* Everything a model file carries, compared bit for bit. */
static void check_same_net(const rw_net *a, const rw_net *b)
{
    CHECK(memcmp(&a->cfg, &b->cfg, sizeof a->cfg) == 0);
    CHECK(a->n_layers == b->n_layers);
    CHECK(a->step == b->step);
    CHECK(a->has_moments == b->has_moments);
    CHECK(a->moments_for == b->moments_for);
    CHECK(same_floats(a->shift, b->shift, a->cfg.n_inputs));
    CHECK(same_floats(a->scale, b->scale, a->cfg.n_inputs));
    for (size_t l = 0; l < a->n_layers && l < b->n_layers; l++) {
        const rw_layer *p = &a->layers[l], *q = &b->layers[l];
        CHECK(p->kind == q->kind && p->act == q->act);
        CHECK(p->in == q->in && p->out == q->out && p->nw == q->nw);
        if (p->nw != q->nw || p->out != q->out || p->in != q->in)
            continue;
        CHECK(same_floats(p->w, q->w, p->nw));
        CHECK(same_floats(p->b, q->b, p->out));
        CHECK(same_floats(p->m1, q->m1, p->nw));
        CHECK(same_floats(p->m2, q->m2, p->nw));
        CHECK(same_floats(p->bm1, q->bm1, p->out));
        CHECK(same_floats(p->bm2, q->bm2, p->out));
        CHECK(p->initial_nnz == q->initial_nnz);
        CHECK(p->initial_alive == q->initial_alive);
        CHECK(rw_net_initial_share(a, l) == rw_net_initial_share(b, l));
        if (p->kind == RW_LAYER_SPARSE) {
            CHECK(memcmp(p->row_ptr, q->row_ptr,
                         (p->out + 1) * sizeof *p->row_ptr) == 0);
            CHECK(memcmp(p->col, q->col, p->nw * sizeof *p->col) == 0);
            CHECK(memcmp(p->tcol_ptr, q->tcol_ptr,
                         (p->in + 1) * sizeof *p->tcol_ptr) == 0);
            CHECK(memcmp(p->t_k, q->t_k, p->nw * sizeof *p->t_k) == 0);
            CHECK(memcmp(p->t_row, q->t_row, p->nw * sizeof *p->t_row) == 0);
        }
    }
}

static void check_same_predictions(rw_net *a, rw_net *b)
{
    rw_error err;
    size_t n = 37, I = rw_net_inputs(a), C = rw_net_outputs(a);
    float *x = malloc(n * I * sizeof *x);
    float *ya = malloc(n * C * sizeof *ya), *yb = malloc(n * C * sizeof *yb);
    fill_random(x, n * I, 99);
    CHECK_OK(rw_net_predict(a, x, n, ya, &err), &err);
    CHECK_OK(rw_net_predict(b, x, n, yb, &err), &err);
    CHECK(memcmp(ya, yb, n * C * sizeof *ya) == 0);
    free(x);
    free(ya);
    free(yb);
}

/* Saves, loads and checks that the copy is identical; returns the copy. */
static rw_net *round_trip(rw_net *net, const char *name)
{
    rw_error err;
    const char *path = tmp_path(name);
    CHECK_OK(rw_net_save(net, path, &err), &err);
    rw_net *copy = rw_net_load(path, &err);
    CHECK_MSG(copy != NULL, "%s", err.msg);
    if (!copy)
        return NULL;
    check_same_net(net, copy);
    check_same_predictions(net, copy);
    return copy;
}

/* ---------------- round trips ---------------- */

static void test_dense_round_trip(void)
{
    size_t hidden[] = {7, 5};
    rw_net *net = make_mlp(6, hidden, 2, 3, RW_ACT_RELU,
                           RW_LOSS_CROSS_ENTROPY, 0, 11);
    rw_net *copy = round_trip(net, "dense.rwm");
    CHECK(copy && copy->step == 0 && !copy->has_moments);
    /* A fresh model carries no optimizer section. */
    size_t len;
    unsigned char *b = read_all(tmp_path("dense.rwm"), &len);
    CHECK(b && find_section(b, len, "OPTM", 0, NULL) == 0);
    CHECK(b && find_section(b, len, "XFRM", 0, NULL) == 0);
    free(b);
    rw_net_free(copy);
    rw_net_free(net);
}

static void test_sparse_round_trip(void)
{
    rw_error err;
    size_t hidden[] = {30, 16};
    rw_net *net = make_mlp(20, hidden, 2, 4, RW_ACT_TANH,
                           RW_LOSS_CROSS_ENTROPY, 1, 12);
    CHECK(net->layers[0].kind == RW_LAYER_SPARSE);
    /* Rewire so that some connections are no longer initial ones. */
    rw_rng rng;
    rw_rng_seed(&rng, 5);
    CHECK_OK(rw_net_rewire(net, RW_REWIRE_SET, 0.3, &rng, NULL, &err), &err);
    CHECK(rw_net_initial_share(net, 0) < 1.0);
    rw_net *copy = round_trip(net, "sparse.rwm");
    if (copy)
        CHECK(rw_net_initial_share(copy, 0) == rw_net_initial_share(net, 0));
    rw_net_free(copy);
    rw_net_free(net);

    /* Sparse output layer, MSE. */
    size_t h2[] = {9};
    net = make_mlp(5, h2, 1, 3, RW_ACT_SIGMOID, RW_LOSS_MSE, 2, 13);
    CHECK(net->layers[1].kind == RW_LAYER_SPARSE);
    copy = round_trip(net, "sparse_out.rwm");
    rw_net_free(copy);
    rw_net_free(net);
}

static void test_transform_round_trip(void)
{
    rw_error err;
    size_t hidden[] = {8};
    rw_net *net = make_mlp(5, hidden, 1, 2, RW_ACT_LEAKY_RELU, RW_LOSS_MSE,
                           0, 14);
    float shift[5] = {0.5f, -1.0f, 2.0f, 0.0f, 1e-3f};
    float scale[5] = {2.0f, 0.25f, 1.0f, 3.0f, 100.0f};
    CHECK_OK(rw_net_set_input_transform(net, shift, scale, &err), &err);
    rw_net *copy = round_trip(net, "xfrm.rwm");
    const float *s, *c;
    CHECK(copy && rw_net_input_transform(copy, &s, &c) == 1);
    if (copy) {
        CHECK(memcmp(s, shift, sizeof shift) == 0);
        CHECK(memcmp(c, scale, sizeof scale) == 0);
    }
    rw_net_free(copy);
    rw_net_free(net);
}

/* After a few steps, the loaded copy continues training exactly like the
 * original: moments and the step count survive. */
static void test_optimizer_round_trip(rw_optim_kind kind, int sparse,
                                      rw_loss loss)
{
    size_t hidden[] = {12, 10};
    rw_net *net = make_mlp(8, hidden, 2, 3, RW_ACT_RELU, loss, sparse,
                           20 + (uint64_t)kind);
    batch b = make_batch(net, 16, 77);
    train_steps(net, &b, kind, 3);
    CHECK(net->step == 3);
    CHECK(kind == RW_OPT_SGD || net->has_moments);
    rw_net *copy = round_trip(net, "optim.rwm");
    if (copy) {
        train_steps(net, &b, kind, 1);
        train_steps(copy, &b, kind, 1);
        check_same_net(net, copy);
        CHECK(copy->step == 4);
    }
    free_batch(&b);
    rw_net_free(copy);
    rw_net_free(net);
}

/* ---------------- atomic save ---------------- */

static size_t count_temp_files(const char *base)
{
    DIR *d = opendir(RW_TMPDIR);
    size_t n = 0, bl = strlen(base);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, base, bl) && strstr(e->d_name + bl, ".tmp."))
            n++;
    closedir(d);
    return n;
}

static void test_atomic_save(void)
{
    rw_error err;
    const char *path = tmp_path("atomic.rwm");
    size_t h1[] = {3};
    rw_net *old_net = make_mlp(4, h1, 1, 2, RW_ACT_RELU,
                               RW_LOSS_CROSS_ENTROPY, 0, 31);
    CHECK_OK(rw_net_save(old_net, path, &err), &err);
    size_t old_len;
    unsigned char *old_bytes = read_all(path, &old_len);

    size_t h2[] = {200, 100};
    rw_net *big = make_mlp(50, h2, 2, 10, RW_ACT_RELU,
                           RW_LOSS_CROSS_ENTROPY, 0, 32);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* Writes beyond 4 KiB fail with EFBIG instead of a signal. */
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {4096, 4096};
        setrlimit(RLIMIT_FSIZE, &rl);
        rw_error cerr;
        rw_status st = rw_net_save(big, path, &cerr);
        int ok = st == RW_ERR_IO && has(cerr.msg, path) &&
                 has(cerr.msg, strerror(EFBIG));
        if (!ok)
            fprintf(stderr, "child: status %d, message: %s\n", (int)st,
                    cerr.msg);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the failing save did not report RW_ERR_IO (status %d)", status);
    size_t now_len;
    unsigned char *now = read_all(path, &now_len);
    CHECK(now && now_len == old_len && !memcmp(now, old_bytes, old_len));
    rw_net *back = rw_net_load(path, &err);
    CHECK_MSG(back != NULL, "%s", err.msg);
    if (back)
        check_same_net(old_net, back);
    CHECK(count_temp_files("model_io_atomic.rwm") == 0);

    /* What a writer killed mid-write left goes with the next save; a live
     * writer's file (this process's parent stands in) stays. */
    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    CHECK(gone > 0 && waitpid(gone, &status, 0) == gone);
    char stale[512], live[512];
    snprintf(stale, sizeof stale, "%s.tmp.%ld", path, (long)gone);
    snprintf(live, sizeof live, "%s.tmp.%ld", path, (long)getppid());
    write_all(stale, "half", 4);
    write_all(live, "busy", 4);
    /* Written to a minute ago, the dead writer's file may still be a live
     * writer's on another machine: it stays until it is 10 minutes old. */
    struct timespec recent[2] = {{time(NULL) - 60, 0}, {time(NULL) - 60, 0}};
    struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    CHECK(utimensat(AT_FDCWD, stale, recent, 0) == 0);
    CHECK_OK(rw_net_save(old_net, path, &err), &err);
    CHECK_MSG(access(stale, F_OK) == 0, "%s, a minute old, was removed", stale);
    CHECK(utimensat(AT_FDCWD, stale, old, 0) == 0);
    CHECK(utimensat(AT_FDCWD, live, old, 0) == 0);
    /* Names save_impl never writes are not its to remove. */
    char plus[512];
    snprintf(plus, sizeof plus, "%s.tmp.+%ld", path, (long)gone);
    write_all(plus, "user", 4);
    CHECK(utimensat(AT_FDCWD, plus, old, 0) == 0);
    CHECK_OK(rw_net_save(old_net, path, &err), &err);
    CHECK_MSG(access(stale, F_OK) != 0, "%s was left", stale);
    CHECK_MSG(access(live, F_OK) == 0, "%s was removed", live);
    CHECK_MSG(access(plus, F_OK) == 0, "%s was removed", plus);
    remove(live);
    remove(plus);

    /* A folder that does not exist: an I/O error naming the path. */
    const char *nowhere = RW_TMPDIR "/no/such/folder/m.rwm";
    CHECK(rw_net_save(old_net, nowhere, &err) == RW_ERR_IO);
    CHECK(has(err.msg, nowhere));

    /* A diverged network is refused before anything is written. */
    const char *nan_path = tmp_path("nan.rwm");
    remove(nan_path);
    big->layers[1].w[5] = NAN;
    CHECK(rw_net_save(big, nan_path, &err) == RW_ERR_ARG);
    CHECK(has(err.msg, "layer 2") && has(err.msg, "nan"));
    CHECK(access(nan_path, F_OK) != 0);

    /* A pipe is neither replaced by a save nor waited on by a load; a
     * symbolic link stays, and the file it leads to is replaced. */
    const char *fifo = tmp_path("pipe.rwm");
    remove(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(rw_net_save(old_net, fifo, &err) == RW_ERR_IO);
    CHECK(has(err.msg, fifo) && has(err.msg, "not a regular file"));
    CHECK(rw_check_writable(fifo, "model", &err) == RW_ERR_IO);
    CHECK(has(err.msg, "not a regular file"));
    struct stat sb;
    CHECK(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode));
    CHECK(rw_net_load(fifo, &err) == NULL);
    CHECK(has(err.msg, fifo) && has(err.msg, "not a regular file"));
    remove(fifo);
    const char *target = tmp_path("target.rwm"), *link = tmp_path("link.rwm");
    remove(target);
    remove(link);
    CHECK(symlink(target, link) == 0);
    CHECK(rw_net_save(old_net, link, &err) == RW_ERR_IO); /* leads nowhere */
    CHECK(has(err.msg, link) && has(err.msg, "cannot be reached"));
    big->layers[1].w[5] = 0.0f;
    CHECK_OK(rw_net_save(big, target, &err), &err);
    CHECK_OK(rw_net_save(old_net, link, &err), &err);
    CHECK(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode));
    rw_net *through = rw_net_load(target, &err);
    CHECK(through && through->layers[0].out == old_net->layers[0].out);
    rw_net_free(through);
    CHECK(rw_net_save(old_net, RW_TMPDIR, &err) == RW_ERR_IO);
    CHECK(has(err.msg, "is a folder"));
    remove(link);
    remove(target);

    free(old_bytes);
    free(now);
    rw_net_free(back);
    rw_net_free(big);
    rw_net_free(old_net);
}

/* ---------------- malformed files ---------------- */

/* Loads a buffer that must fail with a message naming `name`, "byte" and
 * `part` (if not NULL), as a format error. */
static void expect_fail(const unsigned char *b, size_t len, const char *part,
                        int line)
{
    rw_error err;
    rw_error_clear(&err);
    rw_net *net = rw_net_load_buffer(b, len, "bad.rwm", &err);
    CHECK_MSG(net == NULL, "line %d: a bad model loaded", line);
    rw_net_free(net);
    CHECK_MSG(err.status == RW_ERR_FORMAT, "line %d: status %s (%s)", line,
              rw_status_str(err.status), err.msg);
    CHECK_MSG(has(err.msg, "bad.rwm: byte "), "line %d: message '%s'", line,
              err.msg);
    if (part)
        CHECK_MSG(has(err.msg, part), "line %d: message '%s' lacks '%s'",
                  line, err.msg, part);
}
#define EXPECT_FAIL(b, len, part) expect_fail(b, len, part, __LINE__)

static unsigned char *model_bytes(rw_net *net, const char *name, size_t *len)
{
    rw_error err;
    const char *path = tmp_path(name);
    CHECK_OK(rw_net_save(net, path, &err), &err);
    unsigned char *b = read_all(path, len);
    if (!b)
        exit(1);
    return b;
}

/* A small sparse model with transform and optimizer state. */
static rw_net *small_sparse(void)
{
    rw_error err;
    size_t hidden[] = {6};
    rw_net *net = make_mlp(5, hidden, 1, 3, RW_ACT_RELU,
                           RW_LOSS_CROSS_ENTROPY, 2, 41);
    float shift[5] = {1, 2, 3, 4, 5}, scale[5] = {1, 1, 2, 2, 3};
    CHECK_OK(rw_net_set_input_transform(net, shift, scale, &err), &err);
    batch b = make_batch(net, 4, 5);
    train_steps(net, &b, RW_OPT_ADAM, 2);
    free_batch(&b);
    return net;
}

/* The training data's label column: kept in a DATA section only when it is
 * not the default, checked on load. */
static void test_label_column(void)
{
    rw_error err;
    size_t h[] = {4};
    rw_net *net = make_mlp(3, h, 1, 2, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY, 0, 5);
    CHECK(rw_net_label_column(net) == RW_LABEL_LAST);
    size_t len;
    rw_net *copy = round_trip(net, "label_last.rwm");
    unsigned char *b = read_all(tmp_path("label_last.rwm"), &len);
    CHECK(b && find_section(b, len, "DATA", 0, NULL) == 0);
    CHECK(copy && rw_net_label_column(copy) == RW_LABEL_LAST);
    free(b);
    rw_net_free(copy);

    CHECK(rw_net_set_label_column(net, -2, &err) == RW_ERR_ARG);
    CHECK(rw_net_set_label_column(net, 1 << 24, &err) == RW_ERR_ARG);
    CHECK(rw_net_set_label_column(NULL, 0, &err) == RW_ERR_ARG);
    CHECK_OK(rw_net_set_label_column(net, 3, &err), &err);
    CHECK(rw_net_label_column(net) == 3);
    copy = round_trip(net, "label_3.rwm");
    CHECK(copy && rw_net_label_column(copy) == 3);
    rw_net *twin = copy ? rw_net_clone(copy, &err) : NULL;
    CHECK(twin && rw_net_label_column(twin) == 3);
    rw_net_free(twin);
    rw_net_free(copy);
    CHECK_OK(rw_net_set_label_column(net, RW_LABEL_FIRST, &err), &err);
    copy = round_trip(net, "label_first.rwm");
    CHECK(copy && rw_net_label_column(copy) == RW_LABEL_FIRST);
    rw_net_free(copy);

    /* A column out of range, and a section of the wrong size. */
    b = read_all(tmp_path("label_first.rwm"), &len);
    uint64_t dl = 0;
    size_t at = b ? find_section(b, len, "DATA", 0, &dl) : 0;
    CHECK(at && dl == 4);
    if (at && dl == 4) {
        put32(b + at, 0xffffffffu);
        fix_crc(b, len);
        expect_fail(b, len, "label column 4294967295 is out of range", __LINE__);
        put32(b + at, 0);
        put64(b + at - 8, 3);
        fix_crc(b, len);
        expect_fail(b, len, NULL, __LINE__);
    }
    free(b);
    rw_net_free(net);
}

static void test_truncation_and_flips(void)
{
    rw_net *net = small_sparse();
    size_t len;
    unsigned char *b = model_bytes(net, "small.rwm", &len);
    unsigned char *c = malloc(len);
    rw_error err;
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(c, b, cut);
        EXPECT_FAIL(c, cut, NULL);
        /* Without the CRC the parser itself must stay safe. */
        rw_net_free(rw_net_load_buffer_opts(c, cut, "bad.rwm", 0, &err));
    }
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(c, b, len);
            c[i] ^= (unsigned char)(1u << bit);
            EXPECT_FAIL(c, len, NULL);
            rw_net_free(rw_net_load_buffer_opts(c, len, "bad.rwm", 0, &err));
        }
    /* A flipped weight byte is reported as a CRC mismatch. */
    uint64_t pl;
    size_t at = find_section(b, len, "LAYR", 0, &pl);
    CHECK(at > 0);
    memcpy(c, b, len);
    c[at + (size_t)pl - 10] ^= 0x40;
    EXPECT_FAIL(c, len, "CRC32 mismatch");
    /* Truncation inside a section names the section. */
    EXPECT_FAIL(b, len - 20, "truncated");
    free(c);
    free(b);
    rw_net_free(net);
}

static void test_header_errors(void)
{
    rw_net *net = small_sparse();
    size_t len;
    unsigned char *b = model_bytes(net, "hdr.rwm", &len);
    unsigned char *c = malloc(len + 64);

    memcpy(c, b, len);
    c[2] = 'X';
    EXPECT_FAIL(c, len, "byte 0: not a rewire model (bad magic)");
    EXPECT_FAIL((const unsigned char *)"PK\3\4", 4, "bad magic");

    memcpy(c, b, len);
    put32(c + 8, 7);
    fix_crc(c, len);
    EXPECT_FAIL(c, len,
                "byte 8: unsupported format version 7 (this build reads 1)");

    /* Trailing garbage. */
    memcpy(c, b, len);
    memcpy(c + len, "garbage!", 8);
    EXPECT_FAIL(c, len + 8, "8 unexpected bytes after the end");

    /* An unknown section is skipped. */
    size_t body = len - 4;
    memcpy(c, b, body);
    memcpy(c + body, "ZZZZ", 4);
    put64(c + body + 4, 5);
    memcpy(c + body + 12, "hello", 5);
    size_t len2 = body + 17 + 4;
    fix_crc(c, len2);
    rw_error err;
    rw_net *copy = rw_net_load_buffer(c, len2, "unknown.rwm", &err);
    CHECK_MSG(copy != NULL, "%s", err.msg);
    if (copy) {
        check_same_net(net, copy);
        check_same_predictions(net, copy);
    }
    rw_net_free(copy);

    /* A duplicated XFRM section. */
    uint64_t xl;
    size_t xa = find_section(b, len, "XFRM", 0, &xl);
    CHECK(xa > 0);
    size_t xs = 12 + (size_t)xl;
    unsigned char *d = malloc(len + xs);
    memcpy(d, b, body);
    memcpy(d + body, b + xa - 12, xs);
    fix_crc(d, body + xs + 4);
    EXPECT_FAIL(d, body + xs + 4, "second XFRM section");
    free(d);

    /* A missing layer: rename its tag. */
    memcpy(c, b, len);
    size_t la = find_section(b, len, "LAYR", 1, NULL);
    memcpy(c + la - 12, "LAYX", 4);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "without a LAYR section for layer index 1");

    /* A missing CONF section. */
    memcpy(c, b, len);
    memcpy(c + 12, "CONX", 4);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "without a CONF section");

    /* Bad enums and counts in CONF. */
    size_t ca = find_section(b, len, "CONF", 0, NULL);
    memcpy(c, b, len);
    put32(c + ca + 8, 0);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "layer count 0");
    memcpy(c, b, len);
    put32(c + ca + 12, 9);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "loss 9 is unknown");
    memcpy(c, b, len);
    put32(c + ca + 28 + 8, 5); /* softmax on the hidden layer */
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "softmax");
    memcpy(c, b, len);
    put64(c + ca + 28 + 16, 0x7ff8000000000000ull); /* NaN density */
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "density");

    /* XFRM for the wrong number of inputs, and with a wrong length. */
    memcpy(c, b, len);
    put64(c + xa, get64(b + xa) + 1);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "input transform has 6 entries");
    memcpy(c, b, len); /* 12 bytes shorter, followed by an empty section */
    put64(c + xa - 8, xl - 12);
    memcpy(c + xa + (size_t)xl - 12, "ZZZZ", 4);
    put64(c + xa + (size_t)xl - 8, 0);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "XFRM section has");

    /* A CONF section too short to hold its own counts (the rest of its
     * bytes become an unknown section). */
    uint64_t cl;
    find_section(b, len, "CONF", 0, &cl);
    memcpy(c, b, len);
    put64(c + 16, 4);
    memcpy(c + 28, "ZZZZ", 4);
    put64(c + 32, cl - 4 - 12);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "expected the input count (8 bytes) but the CONF "
                        "section ends at byte 28");

    /* A non-finite weight. */
    memcpy(c, b, len);
    uint64_t l1;
    size_t l1a = find_section(b, len, "LAYR", 1, &l1);
    put32(c + l1a + (size_t)l1 - 4 * 3 - 4, 0x7f800000u); /* +inf */
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "infinite");

    free(c);
    free(b);
    rw_net_free(net);
}

static void test_sparse_errors(void)
{
    rw_net *net = small_sparse();
    size_t len;
    unsigned char *b = model_bytes(net, "sp.rwm", &len);
    unsigned char *c = malloc(len);
    const rw_layer *L = &net->layers[0];
    uint64_t pl;
    size_t at = find_section(b, len, "LAYR", 0, &pl);
    CHECK(at > 0 && L->kind == RW_LAYER_SPARSE);
    size_t rows = at + 48, cols = rows + 4 * L->out;

    /* A connection count of 2^40 in a file of a few hundred bytes fails
     * as a format error: nothing of that size is allocated. */
    memcpy(c, b, len);
    put64(c + at + 24, (uint64_t)1 << 40);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "1099511627776 connections");

    /* So do 2^30 inputs (the transposed index would need 8 GiB). */
    size_t ca = find_section(b, len, "CONF", 0, NULL);
    memcpy(c, b, len);
    put64(c + ca, (uint64_t)1 << 30);
    put64(c + at + 8, (uint64_t)1 << 30);
    size_t xa = find_section(b, len, "XFRM", 0, NULL);
    put64(c + xa, (uint64_t)1 << 30);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "1073741824 inputs");

    /* Find a row with at least two connections. */
    size_t r = 0;
    while (r < L->out && L->row_ptr[r + 1] - L->row_ptr[r] < 2)
        r++;
    CHECK(r < L->out);
    size_t k = L->row_ptr[r];
    uint32_t c0 = get32(b + cols + 4 * k), c1 = get32(b + cols + 4 * k + 4);

    memcpy(c, b, len); /* unsorted */
    put32(c + cols + 4 * k, c1);
    put32(c + cols + 4 * k + 4, c0);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "strictly increasing");

    memcpy(c, b, len); /* duplicate */
    put32(c + cols + 4 * k + 4, c0);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "strictly increasing");

    memcpy(c, b, len); /* out of range */
    put32(c + cols + 4 * k, (c0 & RW_COL_INITIAL) | (uint32_t)L->in);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "out of range");

    memcpy(c, b, len); /* row counts that do not add up */
    put32(c + rows, get32(b + rows) + 1);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "row");

    memcpy(c, b, len); /* more surviving initial connections than flagged */
    put64(c + at + 40, get64(b + at + 40) - 1);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "initial");

    memcpy(c, b, len); /* layer shape against the config */
    put64(c + at + 16, L->out + 1);
    fix_crc(c, len);
    EXPECT_FAIL(c, len, "CONF section makes it");

    free(c);
    free(b);
    rw_net_free(net);
}

/* The transposed index of a sparse layer costs 8 bytes per input: a file
 * of a few hundred bytes that declares 2^17 inputs, otherwise valid (it
 * loaded before, allocating 1 MiB for it), is refused; so is saving a
 * network whose file would be refused. */
static void test_sparse_input_bound(void)
{
    rw_net *net = make_mlp(5, (size_t[]){6}, 1, 3, RW_ACT_RELU,
                           RW_LOSS_CROSS_ENTROPY, 2, 41);
    size_t len;
    unsigned char *b = model_bytes(net, "wide_inputs.rwm", &len);
    size_t at = find_section(b, len, "LAYR", 0, NULL);
    size_t ca = find_section(b, len, "CONF", 0, NULL);
    CHECK(at > 0 && ca > 0 && find_section(b, len, "XFRM", 0, NULL) == 0);
    put64(b + ca, (uint64_t)1 << 17);
    put64(b + at + 8, (uint64_t)1 << 17);
    fix_crc(b, len);
    /* The bytes of fuzz/regressions/model/sparse_inputs_2_17.rwm. */
    write_all(tmp_path("sparse_inputs_2_17.rwm"), b, len);
    EXPECT_FAIL(b, len, "131072 inputs");
    free(b);
    rw_net_free(net);

    /* 70000 inputs, 140 connections: the loader would refuse the file. */
    rw_error err;
    rw_net_config cfg;
    CHECK_OK(rw_net_config_mlp(&cfg, 70000, (size_t[]){2}, 1, 2, RW_ACT_RELU,
                               RW_LOSS_CROSS_ENTROPY, &err), &err);
    cfg.layers[0].kind = RW_LAYER_SPARSE;
    cfg.layers[0].density = 0.001;
    net = rw_net_create(&cfg, &err);
    CHECK_MSG(net != NULL, "%s", err.msg);
    const char *path = tmp_path("too_wide.rwm");
    remove(path);
    CHECK(rw_net_save(net, path, &err) == RW_ERR_UNSUPPORTED);
    CHECK_MSG(has(err.msg, path) && has(err.msg, "70000 inputs") &&
              has(err.msg, "140 connections"), "%s", err.msg);
    CHECK(access(path, F_OK) != 0);
    /* With enough connections it saves and loads. */
    rw_net_free(net);
    cfg.layers[0].density = 0.6;
    net = rw_net_create(&cfg, &err);
    CHECK_OK(rw_net_save(net, path, &err), &err);
    rw_net *back = rw_net_load(path, &err);
    CHECK_MSG(back != NULL, "%s", err.msg);
    rw_net_free(back);
    rw_net_free(net);
    remove(path);
}

static void test_files(void)
{
    rw_error err;
    const char *empty = tmp_path("empty.rwm");
    write_all(empty, "", 0);
    rw_net *net = rw_net_load(empty, &err);
    CHECK(net == NULL && err.status == RW_ERR_FORMAT);
    CHECK(has(err.msg, empty) && has(err.msg, "byte 0") &&
          has(err.msg, "empty"));

    const char *missing = tmp_path("does-not-exist.rwm");
    remove(missing);
    net = rw_net_load(missing, &err);
    CHECK(net == NULL && err.status == RW_ERR_IO);
    CHECK(has(err.msg, missing) && has(err.msg, strerror(ENOENT)));

    net = rw_net_load(RW_TMPDIR, &err);
    CHECK(net == NULL && err.status == RW_ERR_IO &&
          has(err.msg, "is a folder, expected a file"));
    CHECK(rw_net_load_buffer(NULL, 0, NULL, &err) == NULL &&
          has(err.msg, "<buffer>: byte 0"));
}

/* Every crasher the fuzzer ever found fails cleanly, with and without the
 * CRC check; every seed in the corpus loads. */
static void test_fuzz_files(void)
{
    const char *dirs[] = {REGRESSIONS, CORPUS};
    for (int which = 0; which < 2; which++) {
        DIR *d = opendir(dirs[which]);
        if (!d) {
            CHECK_MSG(which == 0, "cannot open %s", dirs[which]);
            continue;
        }
        struct dirent *e;
        size_t n = 0;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dirs[which], e->d_name);
            size_t len;
            unsigned char *b = read_all(path, &len);
            if (!b)
                continue;
            n++;
            rw_error err;
            rw_net *net = rw_net_load_buffer(b, len, e->d_name, &err);
            if (which == 0) {
                CHECK_MSG(net == NULL && has(err.msg, e->d_name) &&
                          has(err.msg, "byte"), "%s", path);
                rw_net_free(net);
                net = rw_net_load_buffer_opts(b, len, e->d_name, 0, &err);
                CHECK_MSG(net == NULL && has(err.msg, "byte"),
                          "%s loads without its CRC", path);
            } else {
                CHECK_MSG(net != NULL, "seed %s: %s", path, err.msg);
            }
            rw_net_free(net);
            free(b);
        }
        closedir(d);
        if (which == 1)
            CHECK_MSG(n >= 3, "only %zu seeds in %s", n, dirs[which]);
    }
}

/* ---------------- the checkpoint's maintenance state (MNTS) ---------------- */

/* Stops a run after `*user` steps. */
static int stop_at(const rw_progress *p, void *user)
{
    (void)p;
    size_t *left = user;
    return --*left == 0;
}

typedef struct mnts_case {
    rw_train_config tc;  /* the resume */
    rw_dataset *ds;
    char ck[1024];       /* the checkpoint */
    unsigned char *trst, *mnts;
    size_t trst_len, mnts_len, mnts_at; /* mnts_at: its offset in ck */
    uint64_t fp;
} mnts_case;

/* A checkpoint of a small sparse run with CBP (or L2 Init) and the
 * usage-aware drop of SET, taken mid-run, and its two extra sections. */
static void mnts_setup(mnts_case *m, rw_maintain_kind kind)
{
    rw_error err;
    memset(m, 0, sizeof *m);
    size_t n = 24, f = 5;
    float x[24 * 5];
    int32_t y[24];
    fill_random(x, n * f, 61);
    for (size_t j = 0; j < n; j++)
        y[j] = (int32_t)(j % 3);
    m->ds = rw_dataset_from_arrays(x, y, NULL, n, f, 0, 3, &err);
    CHECK_MSG(m->ds != NULL, "%s", err.msg);
    size_t hidden[] = {6, 4};
    rw_net *net = make_mlp(f, hidden, 2, 3, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY,
                           1, 62);
    rw_train_config tc = rw_train_defaults();
    tc.epochs = 3;
    tc.batch = 4;
    tc.rewire = RW_REWIRE_SET;
    tc.drop_by_usage = 1;
    tc.maintain.kind = kind;
    tc.maintain.cbp_maturity = 2;
    tc.maintain.cbp_rho = 0.2;
    snprintf(m->ck, sizeof m->ck, "%s",
             tmp_path(kind == RW_MAINTAIN_CBP ? "mnts_cbp.rwm" : "mnts_l2.rwm"));
    tc.checkpoint_path = m->ck;
    tc.checkpoint_every = 2;
    size_t left = 9;
    tc.on_progress = stop_at;
    tc.user = &left;
    CHECK(rw_train(net, m->ds, NULL, &tc, NULL, &err) == RW_ERR_INTERRUPTED);
    rw_net_free(net);
    tc.on_progress = NULL;
    tc.user = NULL;
    tc.checkpoint_path = NULL;
    tc.resume_path = m->ck;
    m->tc = tc;
    m->fp = rw_checkpoint_fingerprint(&tc, m->ds, 0, 3);
    void *p = NULL;
    CHECK_OK(rw_model_read_section(m->ck, "TRST", &p, &m->trst_len, NULL, &err),
             &err);
    m->trst = p;
    CHECK_OK(rw_model_read_section(m->ck, "MNTS", &p, &m->mnts_len, &m->mnts_at,
                                   &err), &err);
    m->mnts = p;
}

static void mnts_free(mnts_case *m)
{
    rw_free(m->trst);
    rw_free(m->mnts);
    rw_dataset_free(m->ds);
    remove(m->ck);
}

/* Resumes the run of m from its checkpoint with MNTS replaced by b[0..len):
 * the status, with err's message; on failure the maintenance state must be
 * the fresh one rw_maintain_begin made (ages 0, input usage -1). */
static rw_status mnts_try(const mnts_case *m, const unsigned char *b,
                          size_t len, rw_error *err)
{
    const char *bad = tmp_path("mnts_bad.rwm");
    rw_net *net = rw_net_load(m->ck, err);
    CHECK(net != NULL);
    if (!net)
        return RW_ERR_IO;
    rw_model_section x[2] = {{"TRST", m->trst, m->trst_len}, {"MNTS", b, len}};
    CHECK_OK(rw_net_save_sections(net, bad, x, 2, err), err);
    rw_net_free(net);
    net = rw_net_load(bad, err);
    CHECK(net != NULL);
    if (!net)
        return RW_ERR_IO;
    rw_train_config tc = m->tc;
    tc.resume_path = bad;
    CHECK_OK(rw_maintain_begin(net, &tc, err), err);
    rw_maint_view mv;
    rw_maintain_view(net, &tc, &mv);
    rw_run_state rs;
    memset(&rs, 0, sizeof rs);
    size_t order[24];
    rw_status st = rw_checkpoint_read(&tc, m->fp, net, &mv, &rs, order,
                                      m->ds->n, err);
    if (st != RW_OK) {
        bool fresh = rs.epoch == 0 && rs.step == 0;
        for (size_t l = 0; l + 1 < net->n_layers; l++)
            for (size_t j = 0; j < net->layers[l].out; j++)
                fresh &= mv.l[l].age[j] == 0 && mv.l[l].util[j] == 0.0;
        for (size_t l = 0; l < net->n_layers; l++)
            for (size_t i = 0; net->layers[l].in_usage && i < net->layers[l].in; i++)
                fresh &= net->layers[l].in_usage[i] == -1.0f;
        CHECK_MSG(fresh, "a rejected MNTS section changed the run's state");
    }
    rw_net_free(net);
    remove(bad);
    return st;
}

/* Expects the MNTS section b[0..len) to be refused as a format error
 * naming the file, the section, the byte offset `at` within the section
 * (or any, when at is SIZE_MAX) and `part`. */
static void expect_mnts_fail(const mnts_case *m, const unsigned char *b,
                             size_t len, size_t at, const char *part, int line)
{
    rw_error err;
    rw_error_clear(&err);
    rw_status st = mnts_try(m, b, len, &err);
    char where[64];
    if (at == SIZE_MAX)
        snprintf(where, sizeof where, ": byte ");
    else
        snprintf(where, sizeof where, ": byte %zu: ", m->mnts_at + at);
    CHECK_MSG(st == RW_ERR_FORMAT && has(err.msg, "mnts_bad.rwm") &&
                  has(err.msg, where) && has(err.msg, "MNTS section") &&
                  (!part || has(err.msg, part)),
              "line %d: status %s, message '%s' (expected '%s' and '%s')",
              line, rw_status_str(st), err.msg, where, part ? part : "");
}
#define EXPECT_MNTS_FAIL(m, b, len, at, part) \
    expect_mnts_fail(m, b, len, at, part, __LINE__)

static void test_checkpoint_maint_section(void)
{
    rw_error err;
    mnts_case m;
    mnts_setup(&m, RW_MAINTAIN_CBP);
    size_t len = m.mnts_len;
    /* 16 bytes of header, then layer 1 (5 inputs, 6 units, sparse): 32
     * bytes of counts, 4 x 6 x 8 of unit state, 5 x 4 of usage; layer 2
     * (6 inputs, 4 units, sparse) alike; the dense output layer's counts. */
    size_t end2 = 16 + (32 + 6 * 32 + 5 * 4) + (32 + 4 * 32 + 6 * 4);
    CHECK_MSG(m.mnts && len == end2 + 32, "MNTS of %zu bytes", len);
    if (!m.mnts || len < 300) {
        mnts_free(&m);
        return;
    }
    unsigned char *c = malloc(len + 8);
    /* Untouched, it resumes. */
    CHECK_OK(mnts_try(&m, m.mnts, len, &err), &err);
    /* Every truncation is refused. */
    for (size_t cut = 0; cut < len; cut++)
        EXPECT_MNTS_FAIL(&m, m.mnts, cut, SIZE_MAX, "expected");
    EXPECT_MNTS_FAIL(&m, m.mnts, len - 3, len - 8, "layer 3 replacements owed");
    EXPECT_MNTS_FAIL(&m, m.mnts, end2 - 3, end2 - 24, "layer 2 input usage (6 f32)");
    memcpy(c, m.mnts, len);
    memset(c + len, 0, 8);
    EXPECT_MNTS_FAIL(&m, c, len + 2, len, "2 unexpected bytes");
    /* Each header field and count is checked against the network. */
    struct {
        size_t at, width;
        uint64_t value;
        const char *part;
    } bad[] = {
        {0, 4, 2, "version 2 is not 1"},
        {4, 4, 4, "method 4, but this run maintains with method 1"},
        {8, 4, 2, "2 layers (expected the network's 3)"},
        {12, 4, 0x15, "flags 0x15 (expected 0x5"},
        {12, 4, 0x0c, "flags 0xc"},
        {16, 8, 7, "layer 1 has 7 units (expected the network's 6)"},
        {24, 8, (uint64_t)1 << 40, "layer 1 has 1099511627776 inputs"},
        {40, 8, 0x3ff8000000000000ULL, "replacements owed 1.5"},
        {48, 8, 0x7ff8000000000000ULL, "layer 1 utility 0 is nan"},
        {56, 8, 0xbff0000000000000ULL, "layer 1 utility 1 is -1 (expected a finite value >= 0)"},
        {48 + 6 * 8, 8, 0x7ff0000000000000ULL, "layer 1 mean output 0 is inf"},
        {48 + 6 * 32 + 4, 4, 0xbf000000u, "layer 1 input usage 1 is -0.5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memcpy(c, m.mnts, len);
        if (bad[i].width == 4)
            put32(c + bad[i].at, (uint32_t)bad[i].value);
        else
            put64(c + bad[i].at, bad[i].value);
        EXPECT_MNTS_FAIL(&m, c, len, bad[i].at, bad[i].part);
    }
    /* A usage of -1 (no data yet) is valid; the last usage value is
     * checked before anything is restored (mnts_try). */
    memcpy(c, m.mnts, len);
    put32(c + 48 + 6 * 32 + 4, 0xbf800000u);
    CHECK_OK(mnts_try(&m, c, len, &err), &err);
    memcpy(c, m.mnts, len);
    put32(c + end2 - 4, 0x7fc00000u);
    EXPECT_MNTS_FAIL(&m, c, len, end2 - 4, "layer 2 input usage 5 is nan");
    free(c);
    mnts_free(&m);

    /* L2 Init: the anchor, dense-indexed, 5 x 6 weights and 6 biases of
     * layer 1 after its counts. */
    mnts_setup(&m, RW_MAINTAIN_L2INIT);
    len = m.mnts_len;
    CHECK(m.mnts && len > 48 + 6 * 32 + 31 * 4);
    if (m.mnts && len > 48 + 6 * 32 + 31 * 4) {
        c = malloc(len);
        CHECK_OK(mnts_try(&m, m.mnts, len, &err), &err);
        memcpy(c, m.mnts, len);
        size_t at = 48 + 6 * 32 + 30 * 4; /* the first anchor bias */
        put32(c + at, 0x7f800000u);
        EXPECT_MNTS_FAIL(&m, c, len, at, "layer 1 L2 Init anchor biases 0 is inf");
        EXPECT_MNTS_FAIL(&m, m.mnts, 48 + 6 * 32 + 8, 48 + 6 * 32,
                         "layer 1 L2 Init anchor weights (30 f32)");
        free(c);
    }
    mnts_free(&m);
}

/* ---------------- seeds for the fuzzer ---------------- */

static int write_seeds(const char *dir)
{
    rw_error err;
    char path[1024];
    size_t h[] = {4};
    rw_net *dense = make_mlp(3, h, 1, 2, RW_ACT_RELU, RW_LOSS_CROSS_ENTROPY,
                             0, 1);
    snprintf(path, sizeof path, "%s/dense.rwm", dir);
    CHECK_OK(rw_net_save(dense, path, &err), &err);

    rw_net *sparse = make_mlp(6, (size_t[]){5}, 1, 3, RW_ACT_TANH,
                              RW_LOSS_CROSS_ENTROPY, 2, 2);
    rw_rng rng;
    rw_rng_seed(&rng, 3);
    CHECK_OK(rw_net_rewire(sparse, RW_REWIRE_SET, 0.3, &rng, NULL, &err),
             &err);
    snprintf(path, sizeof path, "%s/sparse.rwm", dir);
    CHECK_OK(rw_net_save(sparse, path, &err), &err);

    rw_net *xf = make_mlp(4, (size_t[]){3}, 1, 2, RW_ACT_SIGMOID, RW_LOSS_MSE,
                          1, 3);
    float shift[4] = {0.5f, 1, -1, 0}, scale[4] = {2, 1, 0.5f, 4};
    CHECK_OK(rw_net_set_input_transform(xf, shift, scale, &err), &err);
    snprintf(path, sizeof path, "%s/transform_mse.rwm", dir);
    CHECK_OK(rw_net_save(xf, path, &err), &err);

    batch b = make_batch(sparse, 4, 9);
    train_steps(sparse, &b, RW_OPT_ADAM, 2);
    free_batch(&b);
    snprintf(path, sizeof path, "%s/sparse_adam.rwm", dir);
    CHECK_OK(rw_net_save(sparse, path, &err), &err);

    b = make_batch(dense, 4, 10);
    train_steps(dense, &b, RW_OPT_MOMENTUM, 1);
    free_batch(&b);
    snprintf(path, sizeof path, "%s/dense_momentum.rwm", dir);
    CHECK_OK(rw_net_save(dense, path, &err), &err);

    rw_net_free(dense);
    rw_net_free(sparse);
    rw_net_free(xf);
    TEST_MAIN_END();
}

int main(int argc, char **argv)
{
    /* Every pass that can use the threads does, however small, so that the
     * comparisons of 1 and 2 threads run the parallel code. */
    rw_set_par_min_work(0);
    rw_set_threads(2);
    if (argc == 3 && !strcmp(argv[1], "--write-seeds"))
        return write_seeds(argv[2]);
    test_dense_round_trip();
    test_label_column();
    test_sparse_round_trip();
    test_transform_round_trip();
    test_optimizer_round_trip(RW_OPT_ADAM, 0, RW_LOSS_CROSS_ENTROPY);
    test_optimizer_round_trip(RW_OPT_ADAMW, 1, RW_LOSS_CROSS_ENTROPY);
    test_optimizer_round_trip(RW_OPT_MOMENTUM, 2, RW_LOSS_MSE);
    test_optimizer_round_trip(RW_OPT_SGD, 1, RW_LOSS_MSE);
    test_atomic_save();
    test_truncation_and_flips();
    test_header_errors();
    test_sparse_errors();
    test_sparse_input_bound();
    test_files();
    test_fuzz_files();
    test_checkpoint_maint_section();
    TEST_MAIN_END();
}
