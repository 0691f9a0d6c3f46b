/* The rehearsal memory of continual learning: a uniform sample of every
 * example seen so far, kept by reservoir sampling, that the training loop
 * mixes into each batch (rw_train_config.replay). */
#include "learn/learn.h"

#include <string.h>

struct rw_memory {
    size_t cap, f;
    uint64_t seen;
    uint64_t *origin; /* stream position of each slot's sample */
    rw_dataset view;  /* x and labels sized for cap; n = samples held */
};

rw_memory *rw_memory_create(size_t capacity, size_t features, size_t classes,
                            rw_error *err)
{
    if (capacity == 0 || features == 0 || classes == 0 || classes > INT32_MAX) {
        rw_fail(err, RW_ERR_ARG, "memory: needs capacity, features and classes "
                "> 0 (got %zu, %zu, %zu)", capacity, features, classes);
        return NULL;
    }
    size_t nx;
    if (!rw_mul_ok(capacity, features, &nx)) {
        rw_fail(err, RW_ERR_NOMEM, "memory: %zu x %zu features overflow",
                capacity, features);
        return NULL;
    }
    rw_memory *m = rw_calloc(1, sizeof *m, "rehearsal memory", err);
    if (!m)
        return NULL;
    m->cap = capacity;
    m->f = features;
    m->origin = rw_alloc(capacity, sizeof(uint64_t), "rehearsal memory", err);
    m->view.x = rw_alloc(nx, sizeof(float), "rehearsal memory", err);
    m->view.labels = rw_alloc(capacity, sizeof(int32_t), "rehearsal memory", err);
    if (!m->origin || !m->view.x || !m->view.labels) {
        rw_memory_free(m);
        return NULL;
    }
    m->view.f = features;
    m->view.classes = classes;
    rw_dataset_describe(&m->view, "rehearsal memory");
    return m;
}

void rw_memory_free(rw_memory *m)
{
    if (!m)
        return;
    rw_free(m->origin);
    rw_free(m->view.x);
    rw_free(m->view.labels);
    rw_free(m);
}

rw_status rw_memory_add(rw_memory *m, const rw_dataset *ds, rw_rng *rng,
                        rw_error *err)
{
    if (!m || !ds || !rng)
        return rw_fail(err, RW_ERR_ARG, "memory: NULL argument");
    if (ds->f != m->f)
        return rw_fail(err, RW_ERR_DATA, "memory holds %zu features per sample "
                       "but %s has %zu", m->f, ds->name, ds->f);
    if (!ds->labels)
        return rw_fail(err, RW_ERR_DATA, "memory: %s has no class labels",
                       ds->name);
    for (size_t i = 0; i < ds->n; i++)
        if (ds->labels[i] < 0 || (size_t)ds->labels[i] >= m->view.classes)
            return rw_fail(err, RW_ERR_DATA, "memory: sample %zu of %s has "
                           "label %d, outside 0..%zu", i + 1, ds->name,
                           (int)ds->labels[i], m->view.classes - 1);
    rw_dataset *v = &m->view;
    for (size_t i = 0; i < ds->n; i++) {
        uint64_t pos = m->seen++;
        size_t slot;
        if (v->n < m->cap) {
            slot = v->n++;
        } else {
            /* Algorithm R: keep the (pos+1)-th sample with probability
             * cap / (pos+1), in a slot chosen uniformly. */
            uint64_t j = rw_rng_below(rng, pos + 1);
            if (j >= m->cap)
                continue;
            slot = (size_t)j;
        }
        memcpy(v->x + slot * m->f, ds->x + i * m->f, m->f * sizeof(float));
        v->labels[slot] = ds->labels[i];
        m->origin[slot] = pos;
    }
    rw_dataset_describe(v, "rehearsal memory");
    return RW_OK;
}

size_t rw_memory_size(const rw_memory *m) { return m ? m->view.n : 0; }
size_t rw_memory_capacity(const rw_memory *m) { return m ? m->cap : 0; }
uint64_t rw_memory_seen(const rw_memory *m) { return m ? m->seen : 0; }

uint64_t rw_memory_origin(const rw_memory *m, size_t slot)
{
    return m && slot < m->view.n ? m->origin[slot] : UINT64_MAX;
}

const rw_dataset *rw_memory_dataset(const rw_memory *m)
{
    return m ? &m->view : NULL;
}
