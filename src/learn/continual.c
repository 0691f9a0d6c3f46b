/* Learn it or lose it: continual learning. Task sequences (permuted,
 * split, or given), the loop that trains the tasks one after another and
 * fills the accuracy matrix, and the summary figures computed from it. The
 * rehearsal memory is in rehearsal.c.
 *
 * R[i][j] is the accuracy on task j's test set after training task i. With
 * T tasks and b[j] the accuracy of the untrained network on task j:
 *   average accuracy  = mean_j R[T-1][j]
 *   backward transfer = mean_{j<T-1} (R[T-1][j] - R[j][j])   (< 0: forgetting)
 *   forward transfer  = mean_{j>0}   (R[j-1][j] - b[j])
 */
#include "learn/learn.h"
#include "dist/dist.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---------------- task sequences ---------------- */

typedef enum { TASK_STORED = 0, TASK_PERMUTED, TASK_SPLIT } task_kind;

typedef struct task {
    task_kind kind;
    char name[64];
    rw_dataset *train; /* TASK_STORED: owned copy */
    rw_dataset *test;  /* owned */
    uint32_t *perm;    /* TASK_PERMUTED: source feature of each feature */
    size_t c0, c1;     /* TASK_SPLIT: classes c0 .. c1-1 */
} task;

struct rw_tasks {
    size_t n, cap;
    task *t;
    const rw_dataset *base; /* borrowed training data of generated tasks */
    size_t features, classes;
    rw_dataset *cache;      /* generated training set of task cache_task */
    size_t cache_task;
};

/* Copies ds (all of it) into a new dataset named LABEL. */
static rw_dataset *copy_dataset(const rw_dataset *ds, const char *label,
                                rw_error *err)
{
    rw_dataset *out = rw_dataset_alloc(ds->n, ds->f, ds->classes, ds->targets,
                                       err);
    if (!out)
        return NULL;
    memcpy(out->x, ds->x, ds->n * ds->f * sizeof(float));
    if (ds->labels)
        memcpy(out->labels, ds->labels, ds->n * sizeof(int32_t));
    if (ds->y)
        memcpy(out->y, ds->y, ds->n * ds->targets * sizeof(float));
    out->img_h = ds->img_h;
    out->img_w = ds->img_w;
    out->class_names = ds->class_names;
    rw_dataset_describe(out, label);
    return out;
}

/* ds with its features permuted: x'[j] = x[perm[j]]. */
static rw_dataset *permute_dataset(const rw_dataset *ds, const uint32_t *perm,
                                   const char *label, rw_error *err)
{
    rw_dataset *out = copy_dataset(ds, label, err);
    if (!out)
        return NULL;
    size_t f = ds->f;
    for (size_t i = 0; i < ds->n; i++) {
        const float *src = ds->x + i * f;
        float *dst = out->x + i * f;
        for (size_t j = 0; j < f; j++)
            dst[j] = src[perm[j]];
    }
    return out;
}

/* The samples of ds whose class lies in [c0, c1). */
static rw_dataset *class_subset(const rw_dataset *ds, size_t c0, size_t c1,
                                const char *label, rw_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++)
        if ((size_t)ds->labels[i] >= c0 && (size_t)ds->labels[i] < c1)
            n++;
    if (n == 0) {
        rw_fail(err, RW_ERR_DATA, "%s has no samples of classes %zu to %zu",
                ds->name, c0, c1 - 1);
        return NULL;
    }
    rw_dataset *out = rw_dataset_alloc(n, ds->f, ds->classes, 0, err);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++) {
        size_t y = (size_t)ds->labels[i];
        if (y < c0 || y >= c1)
            continue;
        memcpy(out->x + k * ds->f, ds->x + i * ds->f, ds->f * sizeof(float));
        out->labels[k++] = ds->labels[i];
    }
    out->img_h = ds->img_h;
    out->img_w = ds->img_w;
    out->class_names = ds->class_names;
    rw_dataset_describe(out, label);
    return out;
}

rw_tasks *rw_tasks_create(rw_error *err)
{
    rw_tasks *t = rw_calloc(1, sizeof *t, "task sequence", err);
    if (t)
        t->cache_task = SIZE_MAX;
    return t;
}

void rw_tasks_free(rw_tasks *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        rw_dataset_free(t->t[i].train);
        rw_dataset_free(t->t[i].test);
        rw_free(t->t[i].perm);
    }
    rw_free(t->t);
    rw_dataset_free(t->cache);
    rw_free(t);
}

/* Appends an empty task slot; NULL when memory runs out. */
static task *push_task(rw_tasks *t, rw_error *err)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        task *nt = rw_calloc(cap, sizeof *nt, "task list", err);
        if (!nt)
            return NULL;
        if (t->n)
            memcpy(nt, t->t, t->n * sizeof *nt);
        rw_free(t->t);
        t->t = nt;
        t->cap = cap;
    }
    task *k = &t->t[t->n];
    memset(k, 0, sizeof *k);
    return k;
}

static rw_status check_classification(const rw_dataset *ds, const char *what,
                                      rw_error *err)
{
    if (!ds)
        return rw_fail(err, RW_ERR_ARG, "%s: dataset is NULL", what);
    if (!ds->labels || ds->classes == 0)
        return rw_fail(err, RW_ERR_UNSUPPORTED,
                       "%s: continual learning measures accuracy, so it needs "
                       "classification data (%s has no class labels)",
                       what, ds->name);
    if (ds->n == 0)
        return rw_fail(err, RW_ERR_DATA, "%s: %s has no samples", what, ds->name);
    return RW_OK;
}

rw_status rw_tasks_add(rw_tasks *t, const char *name, const rw_dataset *train,
                       const rw_dataset *test, rw_error *err)
{
    if (!t)
        return rw_fail(err, RW_ERR_ARG, "tasks: sequence is NULL");
    char what[96];
    snprintf(what, sizeof what, "task %zu", t->n + 1);
    rw_status st = check_classification(train, what, err);
    if (st != RW_OK || (st = check_classification(test, what, err)) != RW_OK)
        return st;
    size_t f = t->n ? t->features : train->f;
    const rw_dataset *sets[2] = {train, test};
    for (int i = 0; i < 2; i++)
        if (sets[i]->f != f)
            return rw_fail(err, RW_ERR_DATA,
                           "%s: %s has %zu features per sample but %s has %zu",
                           what, sets[i]->name, sets[i]->f,
                           t->n ? "the first task" : train->name, f);
    task *k = push_task(t, err);
    if (!k)
        return RW_ERR_NOMEM;
    if (name && *name)
        snprintf(k->name, sizeof k->name, "%s", name);
    else
        snprintf(k->name, sizeof k->name, "task %zu", t->n + 1);
    char label[128];
    snprintf(label, sizeof label, "%s train", k->name);
    k->train = copy_dataset(train, label, err);
    snprintf(label, sizeof label, "%s test", k->name);
    k->test = k->train ? copy_dataset(test, label, err) : NULL;
    if (!k->test) {
        rw_dataset_free(k->train);
        return err ? err->status : RW_ERR_NOMEM;
    }
    k->kind = TASK_STORED;
    t->features = f;
    size_t c = train->classes > test->classes ? train->classes : test->classes;
    if (c > t->classes)
        t->classes = c;
    t->n++;
    return RW_OK;
}

/* Checks the pair a generated sequence is built from. */
static rw_status check_base(const rw_dataset *train, const rw_dataset *test,
                            rw_error *err)
{
    rw_status st = check_classification(train, "tasks", err);
    if (st != RW_OK || (st = check_classification(test, "tasks", err)) != RW_OK)
        return st;
    if (train->f != test->f)
        return rw_fail(err, RW_ERR_DATA,
                       "%s has %zu features per sample but %s has %zu",
                       test->name, test->f, train->name, train->f);
    return RW_OK;
}

rw_tasks *rw_tasks_permuted(const rw_dataset *train, const rw_dataset *test,
                            size_t k, uint64_t seed, rw_error *err)
{
    if (check_base(train, test, err) != RW_OK)
        return NULL;
    if (k == 0 || k > 1000) {
        rw_fail(err, RW_ERR_ARG, "permuted tasks: %zu tasks (expected 1 to 1000)",
                k);
        return NULL;
    }
    if (train->f > UINT32_MAX) {
        rw_fail(err, RW_ERR_ARG, "permuted tasks: too many features");
        return NULL;
    }
    rw_tasks *t = rw_tasks_create(err);
    if (!t)
        return NULL;
    t->base = train;
    t->features = train->f;
    t->classes = train->classes > test->classes ? train->classes : test->classes;
    rw_rng rng;
    rw_rng_seed(&rng, seed ^ 0x7065726d75746531ULL);
    size_t f = train->f;
    for (size_t i = 0; i < k; i++) {
        task *tk = push_task(t, err);
        if (!tk)
            goto fail;
        tk->kind = TASK_PERMUTED;
        snprintf(tk->name, sizeof tk->name, "permutation %zu", i + 1);
        tk->perm = rw_alloc(f, sizeof(uint32_t), "permutation", err);
        if (!tk->perm)
            goto fail;
        for (size_t j = 0; j < f; j++)
            tk->perm[j] = (uint32_t)j;
        for (size_t j = f; j > 1; j--) {
            size_t r = (size_t)rw_rng_below(&rng, j);
            uint32_t tmp = tk->perm[j - 1];
            tk->perm[j - 1] = tk->perm[r];
            tk->perm[r] = tmp;
        }
        char label[96];
        snprintf(label, sizeof label, "%s test", tk->name);
        tk->test = permute_dataset(test, tk->perm, label, err);
        t->n++; /* owns perm (and test) from here on */
        if (!tk->test)
            goto fail;
    }
    return t;
fail:
    rw_tasks_free(t);
    return NULL;
}

rw_tasks *rw_tasks_split(const rw_dataset *train, const rw_dataset *test,
                         size_t per_task, rw_error *err)
{
    if (check_base(train, test, err) != RW_OK)
        return NULL;
    size_t C = train->classes;
    if (per_task == 0 || per_task > C) {
        rw_fail(err, RW_ERR_ARG, "split tasks: %zu classes per task, but %s "
                "has %zu classes", per_task, train->name, C);
        return NULL;
    }
    if (test->classes > C) {
        rw_fail(err, RW_ERR_DATA, "%s has labels up to %zu but %s only %zu "
                "classes", test->name, test->classes - 1, train->name, C);
        return NULL;
    }
    rw_tasks *t = rw_tasks_create(err);
    if (!t)
        return NULL;
    t->base = train;
    t->features = train->f;
    t->classes = C;
    for (size_t c0 = 0; c0 < C; c0 += per_task) {
        task *tk = push_task(t, err);
        if (!tk)
            goto fail;
        tk->kind = TASK_SPLIT;
        tk->c0 = c0;
        tk->c1 = c0 + per_task < C ? c0 + per_task : C;
        int len = snprintf(tk->name, sizeof tk->name, "classes %zu", c0);
        for (size_t c = c0 + 1; c < tk->c1 && len > 0 &&
                                (size_t)len < sizeof tk->name - 12; c++)
            len += snprintf(tk->name + len, sizeof tk->name - (size_t)len,
                            ",%zu", c);
        char label[96];
        snprintf(label, sizeof label, "%s test", tk->name);
        tk->test = class_subset(test, tk->c0, tk->c1, label, err);
        t->n++;
        if (!tk->test)
            goto fail;
    }
    return t;
fail:
    rw_tasks_free(t);
    return NULL;
}

size_t rw_tasks_count(const rw_tasks *t) { return t ? t->n : 0; }
size_t rw_tasks_features(const rw_tasks *t) { return t ? t->features : 0; }
size_t rw_tasks_classes(const rw_tasks *t) { return t ? t->classes : 0; }

const char *rw_tasks_name(const rw_tasks *t, size_t i)
{
    return t && i < t->n ? t->t[i].name : "";
}

const rw_dataset *rw_tasks_test(const rw_tasks *t, size_t i)
{
    return t && i < t->n ? t->t[i].test : NULL;
}

const rw_dataset *rw_tasks_train(rw_tasks *t, size_t i, rw_error *err)
{
    if (!t || i >= t->n) {
        rw_fail(err, RW_ERR_ARG, "tasks: no task %zu", i + 1);
        return NULL;
    }
    task *k = &t->t[i];
    if (k->kind == TASK_STORED)
        return k->train;
    if (t->cache_task == i)
        return t->cache;
    rw_dataset_free(t->cache);
    t->cache = NULL;
    t->cache_task = SIZE_MAX;
    char label[96];
    snprintf(label, sizeof label, "%s train", k->name);
    t->cache = k->kind == TASK_PERMUTED
                   ? permute_dataset(t->base, k->perm, label, err)
                   : class_subset(t->base, k->c0, k->c1, label, err);
    if (t->cache)
        t->cache_task = i;
    return t->cache;
}

/* Marks class c as used by task i; fails when another task has it. */
static rw_status claim_class(int32_t *groups, size_t c, size_t i,
                             rw_error *err)
{
    if (groups[c] >= 0 && groups[c] != (int32_t)i)
        return rw_fail(err, RW_ERR_DATA,
                       "task-incremental learning needs tasks with their own "
                       "classes, but tasks %d and %zu share class %zu",
                       (int)groups[c] + 1, i + 1, c);
    groups[c] = (int32_t)i;
    return RW_OK;
}

rw_status rw_tasks_class_groups(const rw_tasks *t, int32_t *groups,
                                rw_error *err)
{
    if (!t || !groups)
        return rw_fail(err, RW_ERR_ARG, "class groups: NULL argument");
    for (size_t c = 0; c < t->classes; c++)
        groups[c] = -1;
    for (size_t i = 0; i < t->n; i++) {
        const task *k = &t->t[i];
        rw_status st = RW_OK;
        if (k->kind == TASK_SPLIT)
            for (size_t c = k->c0; c < k->c1 && st == RW_OK; c++)
                st = claim_class(groups, c, i, err);
        else if (k->kind == TASK_PERMUTED)
            for (size_t c = 0; c < t->classes && st == RW_OK; c++)
                st = claim_class(groups, c, i, err);
        else
            for (size_t j = 0; j < k->train->n && st == RW_OK; j++)
                st = claim_class(groups, (size_t)k->train->labels[j], i, err);
        if (st != RW_OK)
            return st;
    }
    return RW_OK;
}

/* ---------------- summary figures ---------------- */

rw_status rw_continual_metrics(const double *R, const double *b, size_t T,
                               double *average, double *backward,
                               double *forward, rw_error *err)
{
    if (!R || T == 0)
        return rw_fail(err, RW_ERR_ARG, "metrics: empty accuracy matrix");
    double avg = 0.0, bwt = NAN, fwt = NAN;
    for (size_t j = 0; j < T; j++)
        avg += R[(T - 1) * T + j];
    avg /= (double)T;
    if (T > 1) {
        bwt = 0.0;
        for (size_t j = 0; j + 1 < T; j++)
            bwt += R[(T - 1) * T + j] - R[j * T + j];
        bwt /= (double)(T - 1);
        if (b) {
            fwt = 0.0;
            for (size_t j = 1; j < T; j++)
                fwt += R[(j - 1) * T + j] - b[j];
            fwt /= (double)(T - 1);
        }
    }
    if (average)
        *average = avg;
    if (backward)
        *backward = bwt;
    if (forward)
        *forward = fwt;
    return RW_OK;
}

/* ---------------- the run ---------------- */

rw_continual_config rw_continual_defaults(void)
{
    rw_continual_config c;
    memset(&c, 0, sizeof c);
    c.train = rw_train_defaults();
    return c;
}

void rw_continual_result_free(rw_continual_result *res)
{
    if (!res)
        return;
    rw_free(res->matrix);
    rw_free(res->baseline);
    rw_free(res->seconds);
    rw_free(res->importance_kept);
    rw_free(res->online_accuracy);
    rw_free(res->dormant);
    rw_free(res->effective_rank);
    rw_free(res->mean_abs_w);
    memset(res, 0, sizeof *res);
}

/* Importance held by the sparse layers (the part rewiring can remove). */
static double sparse_importance(const rw_net *net)
{
    double s = 0.0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        if (L->kind == RW_LAYER_SPARSE && L->imp)
            for (size_t k = 0; k < L->nw; k++)
                s += L->imp[k];
    }
    return s;
}

static rw_status check_run(const rw_net *net, const rw_tasks *tasks,
                           const rw_continual_config *cfg, rw_error *err)
{
    if (!net || !tasks || !cfg)
        return rw_fail(err, RW_ERR_ARG, "continual: NULL argument");
    if (tasks->n == 0)
        return rw_fail(err, RW_ERR_ARG, "continual: the sequence has no tasks");
    if (cfg->train.checkpoint_path || cfg->train.resume_path)
        return rw_fail(err, RW_ERR_UNSUPPORTED, "continual: a sequence of "
                       "tasks is not checkpointed (checkpoint_path and "
                       "resume_path must be NULL)");
    if (net->cfg.loss != RW_LOSS_CROSS_ENTROPY)
        return rw_fail(err, RW_ERR_UNSUPPORTED, "continual learning measures "
                       "accuracy: it needs a classifier (cross-entropy)");
    if (tasks->features != net->cfg.n_inputs)
        return rw_fail(err, RW_ERR_DATA, "the tasks have %zu features per "
                       "sample but the network has %zu inputs",
                       tasks->features, net->cfg.n_inputs);
    if (tasks->classes > rw_net_outputs(net))
        return rw_fail(err, RW_ERR_DATA, "the tasks use %zu classes but the "
                       "network has %zu outputs", tasks->classes,
                       rw_net_outputs(net));
    return RW_OK;
}

/* The result's arrays for T tasks of a network of Lh layers, every
 * figure NaN until it is measured. */
static rw_status result_alloc(rw_continual_result *res, size_t T, size_t Lh,
                              rw_error *err)
{
    size_t TT, TL;
    if (!rw_mul_ok(T, T, &TT))
        return rw_fail(err, RW_ERR_NOMEM, "continual: too many tasks");
    res->tasks = T;
    res->matrix = rw_alloc(TT, sizeof(double), "accuracy matrix", err);
    res->baseline = rw_alloc(T, sizeof(double), "accuracy matrix", err);
    res->seconds = rw_calloc(T, sizeof(double), "accuracy matrix", err);
    res->importance_kept = rw_alloc(T, sizeof(double), "accuracy matrix", err);
    res->hidden = Lh - 1;
    res->layers = Lh;
    if (!rw_mul_ok(T, Lh, &TL))
        return rw_fail(err, RW_ERR_NOMEM, "continual: too many tasks");
    res->online_accuracy = rw_alloc(T, sizeof(double), "online accuracy", err);
    res->dormant = rw_alloc(TL, sizeof(double), "diagnostics", err);
    res->effective_rank = rw_alloc(TL, sizeof(double), "diagnostics", err);
    res->mean_abs_w = rw_alloc(TL, sizeof(double), "diagnostics", err);
    if (!res->matrix || !res->baseline || !res->seconds ||
        !res->importance_kept || !res->online_accuracy || !res->dormant ||
        !res->effective_rank || !res->mean_abs_w)
        return RW_ERR_NOMEM;
    for (size_t i = 0; i < TL; i++)
        res->dormant[i] = res->effective_rank[i] = res->mean_abs_w[i] = NAN;
    for (size_t i = 0; i < T; i++)
        res->online_accuracy[i] = NAN;
    for (size_t i = 0; i < TT; i++)
        res->matrix[i] = NAN;
    for (size_t i = 0; i < T; i++)
        res->importance_kept[i] = res->baseline[i] = NAN;
    res->average_accuracy = res->backward_transfer = res->forward_transfer = NAN;
    return RW_OK;
}

/* The training settings of task i: its own seed, the class groups, the
 * rehearsal memory so far; one pass without the per-epoch diagnostics
 * when online (they are taken once per task). */
static rw_train_config task_config(const rw_continual_config *cfg, size_t i,
                                   int32_t *groups, rw_memory *mem)
{
    rw_train_config tc = cfg->train;
    tc.seed = cfg->train.seed + i;
    tc.class_groups = groups;
    tc.replay = mem && rw_memory_size(mem) ? rw_memory_dataset(mem) : NULL;
    tc.replay_batch = tc.replay ? (cfg->replay_batch ? cfg->replay_batch
                                                     : tc.batch) : 0;
    if (cfg->online) {
        /* One pass; task_diagnostics takes the diagnostics, once per task. */
        tc.epochs = 1;
        tc.maintain.probe = 0;
    }
    return tc;
}

/* The diagnostics after task i, into row i of the result's tables. */
static rw_status task_diagnostics(rw_net *net, const rw_dataset *train,
                                  const rw_continual_config *cfg,
                                  rw_continual_result *res, size_t i,
                                  rw_error *err)
{
    size_t Lh = res->layers;
    rw_epoch_stats dg;
    rw_train_config dc = cfg->train;
    rw_status st;
    if ((st = rw_diagnose_epoch(net, train, &dc, &dg, err)) != RW_OK)
        return st;
    for (size_t l = 0; l < Lh; l++) {
        res->dormant[i * Lh + l] = dg.dormant_fraction[l];
        res->effective_rank[i * Lh + l] = dg.effective_rank[l];
        res->mean_abs_w[i * Lh + l] = dg.mean_abs_w[l];
    }
    return RW_OK;
}

rw_status rw_continual_run(rw_net *net, rw_tasks *tasks,
                           const rw_continual_config *cfg,
                           rw_continual_result *res, rw_error *err)
{
    if (res)
        memset(res, 0, sizeof *res);
    if (!res)
        return rw_fail(err, RW_ERR_ARG, "continual: result is NULL");
    rw_status st = check_run(net, tasks, cfg, err);
    size_t T = st == RW_OK ? tasks->n : 0, C = st == RW_OK ? rw_net_outputs(net) : 0;
    size_t Lh = st == RW_OK ? net->n_layers : 0;
    int32_t *groups = NULL;
    rw_memory *mem = NULL;
    if (st == RW_OK)
        st = result_alloc(res, T, Lh, err);
    if (st == RW_OK && cfg->task_incremental) {
        if (!(groups = rw_alloc(C, sizeof(int32_t), "class groups", err)))
            st = RW_ERR_NOMEM;
        else if ((st = rw_tasks_class_groups(tasks, groups, err)) == RW_OK)
            for (size_t c = tasks->classes; c < C; c++)
                groups[c] = -1;
    }
    if (st == RW_OK && cfg->memory &&
        !(mem = rw_memory_create(cfg->memory, tasks->features, C, err)))
        st = err ? err->status : RW_ERR_NOMEM;
    /* Separate streams, so that one method's draws never shift another's. */
    rw_rng mem_rng, fisher_rng;
    rw_rng_seed(&mem_rng, cfg->train.seed ^ 0x6d656d6f72790001ULL);
    rw_rng_seed(&fisher_rng, cfg->train.seed ^ 0x6669736865720002ULL);
    rw_rng snp_rng;
    rw_rng_seed(&snp_rng, cfg->train.seed ^ 0x736e700000000003ULL);
    for (size_t j = 0; st == RW_OK && j < T && !cfg->online; j++)
        st = rw_continual_accuracy(net, tasks->t[j].test, groups, &res->baseline[j],
                                   err);
    /* Under mpirun every rank goes on, or all return (each task's rw_train
     * agrees on its own set-up likewise). */
    if ((st = rw_dist_agree_begin(st, err)) != RW_OK)
        goto done;

    for (size_t i = 0; i < T; i++) {
        const rw_dataset *train = rw_tasks_train(tasks, i, err);
        if (!train) {
            st = err ? err->status : RW_ERR_NOMEM;
            goto done;
        }
        rw_train_config tc = task_config(cfg, i, groups, mem);
        /* Shrink and perturb at task boundaries is told where tasks begin. */
        const rw_maintain_config *mc = &cfg->train.maintain;
        if (i > 0 && mc->kind == RW_MAINTAIN_SNP && mc->snp_at_task &&
            (st = rw_net_shrink_perturb(net, mc->snp_lambda, mc->snp_sigma,
                                        &snp_rng, err)) != RW_OK)
            goto done;
        double imp_before = sparse_importance(net);
        rw_train_result tr;
        if ((st = rw_train(net, train, NULL, &tc, &tr, err)) != RW_OK)
            goto done;
        res->seconds[i] = tr.train_seconds;
        /* The training accuracy of a single pass is taken on each batch
         * before its step: the online accuracy. */
        if (tc.epochs == 1)
            res->online_accuracy[i] = tr.final_train_accuracy;
        if ((st = task_diagnostics(net, train, cfg, res, i, err)) != RW_OK)
            goto done;
        if (imp_before > 0.0)
            res->importance_kept[i] = sparse_importance(net) / imp_before;
        double penalty = rw_consolidation_penalty(net, &tc.consolidation);
        if ((st = rw_consolidation_end_task(net, train, &tc, &fisher_rng,
                                            err)) != RW_OK)
            goto done;
        if (mem && (st = rw_memory_add(mem, train, &mem_rng, err)) != RW_OK)
            goto done;
        double *row = res->matrix + i * T;
        for (size_t j = 0; j < T && !cfg->online; j++)
            if ((st = rw_continual_accuracy(net, tasks->t[j].test, groups,
                                            &row[j], err)) != RW_OK)
                goto done;
        if (cfg->on_task) {
            rw_task_report rep = {
                .task = i, .tasks = T, .accuracy = row,
                .seconds = tr.train_seconds, .epochs = tr.epochs,
                .train_loss = tr.final_train_loss,
                .train_accuracy = tr.final_train_accuracy,
                .penalty = penalty,
                .importance_kept = res->importance_kept[i],
                .memory = rw_memory_size(mem),
                .online_accuracy = res->online_accuracy[i],
                .dormant = res->dormant + i * Lh,
                .effective_rank = res->effective_rank + i * Lh,
                .mean_abs_w = res->mean_abs_w + i * Lh,
            };
            if (cfg->on_task(&rep, cfg->user)) {
                st = rw_fail(err, RW_ERR_INTERRUPTED,
                             "continual learning stopped after task %zu", i + 1);
                goto done;
            }
        }
    }
    rw_continual_metrics(res->matrix, res->baseline, T, &res->average_accuracy,
                         &res->backward_transfer, &res->forward_transfer, NULL);
done:
    rw_free(groups);
    rw_memory_free(mem);
    return st;
}
