/*
 * Built-in synthetic datasets that need no files: small 2-D problems for
 * demos, plots and tests. Each is generated from an rw_rng seeded with the
 * user's seed, the split and the set, so train and test differ and every
 * run with the same seed is identical. Classes take turns (sample i has
 * class i mod C), which keeps them balanced.
 */
#include "data/data.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PI 3.14159265358979323846
#define SYNTH_MAX_SAMPLES ((size_t)100000000)

typedef void (*synth_fn)(rw_rng *rng, size_t cls, float *xy);

/* Two interleaved arms, 1.5 turns each, radius 0 to 1. */
static void gen_spirals(rw_rng *rng, size_t cls, float *xy)
{
    double t = sqrt(rw_rng_uniform(rng)); /* even density along the arm */
    double a = t * 3.0 * PI + (double)cls * PI;
    xy[0] = (float)(t * cos(a) + 0.04 * rw_rng_normal(rng));
    xy[1] = (float)(t * sin(a) + 0.04 * rw_rng_normal(rng));
}

/* Two interleaving half circles, centred on the origin. */
static void gen_moons(rw_rng *rng, size_t cls, float *xy)
{
    double a = PI * rw_rng_uniform(rng);
    double x = cls ? 1.0 - cos(a) : cos(a);
    double y = cls ? 0.5 - sin(a) : sin(a);
    xy[0] = (float)(x - 0.5 + 0.1 * rw_rng_normal(rng));
    xy[1] = (float)(y - 0.25 + 0.1 * rw_rng_normal(rng));
}

/* Four gaussian blobs at (+-1.5, +-1.5). */
static void gen_blobs(rw_rng *rng, size_t cls, float *xy)
{
    double cx = (cls & 1) ? 1.5 : -1.5, cy = (cls & 2) ? 1.5 : -1.5;
    xy[0] = (float)(cx + 0.6 * rw_rng_normal(rng));
    xy[1] = (float)(cy + 0.6 * rw_rng_normal(rng));
}

/* Uniform in [-1, 1]^2; the class is whether the signs of x and y differ.
 * Points are drawn until one of the requested class comes up. */
static void gen_xor(rw_rng *rng, size_t cls, float *xy)
{
    for (;;) {
        double x = 2.0 * rw_rng_uniform(rng) - 1.0;
        double y = 2.0 * rw_rng_uniform(rng) - 1.0;
        if ((size_t)((x > 0) != (y > 0)) == cls) {
            xy[0] = (float)x;
            xy[1] = (float)y;
            return;
        }
    }
}

typedef struct synth_set {
    const char *name;
    size_t classes;
    synth_fn gen;
} synth_set;

static const synth_set synth_sets[] = {
    {"spirals", 2, gen_spirals},
    {"moons", 2, gen_moons},
    {"blobs", 4, gen_blobs},
    {"xor", 2, gen_xor},
};
#define N_SYNTH (sizeof synth_sets / sizeof synth_sets[0])

int rw_synth_lookup(const char *name)
{
    for (size_t i = 0; i < N_SYNTH; i++)
        if (strcmp(name, synth_sets[i].name) == 0)
            return (int)i;
    return -1;
}

const char *rw_synth_names(void) { return "spirals, moons, blobs, xor"; }

rw_dataset *rw_synth_make(int which, rw_split split, const rw_data_options *o,
                          rw_error *err)
{
    if (which < 0 || (size_t)which >= N_SYNTH) {
        rw_fail(err, RW_ERR_ARG, "synthetic dataset %d does not exist", which);
        return NULL;
    }
    const synth_set *s = &synth_sets[which];
    size_t n = o->synth_samples ? o->synth_samples
                                : (split == RW_SPLIT_TEST ? 1000 : 2000);
    if (n > SYNTH_MAX_SAMPLES) {
        rw_fail(err, RW_ERR_ARG, "%s: %zu samples is more than the limit of "
                "%zu", s->name, n, SYNTH_MAX_SAMPLES);
        return NULL;
    }
    rw_dataset *ds = rw_dataset_alloc(n, 2, s->classes, 0, err);
    if (!ds)
        return NULL;
    /* Distinct streams per (seed, split, set); rw_rng_seed mixes the bits. */
    rw_rng rng;
    rw_rng_seed(&rng, o->synth_seed * 0x9e3779b97f4a7c15ULL ^
                          ((uint64_t)split + 1) * 0xd1b54a32d192ed03ULL ^
                          ((uint64_t)which + 1) * 0x8cb92ba72f3d8dd7ULL);
    for (size_t i = 0; i < n; i++) {
        size_t c = i % s->classes;
        s->gen(&rng, c, ds->x + 2 * i);
        ds->labels[i] = (int32_t)c;
    }
    char label[64];
    snprintf(label, sizeof label, "%s %s", s->name,
             split == RW_SPLIT_TEST ? "test" : "train");
    rw_dataset_describe(ds, label);
    return ds;
}
