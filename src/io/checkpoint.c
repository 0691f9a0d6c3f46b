/* The training checkpoint: a model file (model_file.c) with one more
 * section, TRST, holding the run's state (rw_run_state: position, RNG,
 * running sums, the epoch's counters) and the sample order, and the
 * fingerprint that ties it to the settings and data of its run; a run with
 * maintenance or --drop-by-usage adds MNTS, the maintenance state (through
 * rw_maint_view, net/net.h) and the layers' input usage. The training loop
 * (learn/train.c) decides when to write one. */
#include "io/io.h"
#include "base/bytes.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define STATE_TAG "TRST"
#define STATE_VERSION 2u /* 2: the fingerprint covers every setting and the data */
#define STATE_COUNTERS 5 /* dropped, grown, pruned, removed, added */

/* Sequential little-endian u64 fields (bytes.h), advancing the cursor. */
static void put64(unsigned char **p, uint64_t v)
{
    put_u64(*p, v);
    *p += 8;
}

static uint64_t get64(const unsigned char **p)
{
    uint64_t v = get_u64(*p);
    *p += 8;
    return v;
}

/* FNV-1a, fed little-endian u64 fields. */
static void fp_u64(uint64_t *h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        *h ^= (v >> (8 * i)) & 0xffu;
        *h *= 1099511628211ULL;
    }
}
static void fp_f64(uint64_t *h, double v) { fp_u64(h, f64_bits(v)); }

/* Sizes and CRC32 of everything a dataset feeds to training (the bytes of
 * the in-memory floats and labels). */
static void fp_data(uint64_t *h, const rw_dataset *ds)
{
    fp_u64(h, ds ? 1 : 0);
    if (!ds)
        return;
    fp_u64(h, ds->n);
    fp_u64(h, ds->f);
    fp_u64(h, ds->classes);
    fp_u64(h, ds->targets);
    uint32_t crc = rw_crc32(0, ds->x, ds->n * ds->f * sizeof(float));
    if (ds->labels)
        crc = rw_crc32(crc, ds->labels, ds->n * sizeof(int32_t));
    if (ds->y)
        crc = rw_crc32(crc, ds->y, ds->n * ds->targets * sizeof(float));
    fp_u64(h, crc);
}

/* The settings that shape a run's trajectory, by the CLI's names, in the
 * order the fingerprint hashes them: integers, then reals, then (only with
 * maintenance on, so that the hash of a run without it is what it was
 * before maintenance could resume) the maintenance settings. */
typedef struct setting {
    const char *name;
    int real;
    uint64_t u;
    double d;
    const char *const *names; /* an enum's values by the CLI's names, or NULL */
} setting;

static const char *const optim_names[] = {"sgd", "momentum", "adam", "adamw", NULL};
static const char *const rewire_names[] = {"none", "set", "rigl", "hebbian", NULL};
static const char *const sched_names[] = {"constant", "step", "cosine", NULL};
static const char *const drop_sched_names[] = {"constant", "cosine", NULL};
static const char *const prune_names[] = {"none", "magnitude", "usage", "hebbian", NULL};
static const char *const consol_names[] = {"none", "ewc", "si", NULL};
static const char *const maintain_names[] = {"none", "cbp", "redo", "snp", "l2init", NULL};

#define MAX_SETTINGS 64
#define SETTINGS_TAG "SETG"

static size_t settings_of(const rw_train_config *c, setting *s)
{
    const rw_optim_config *o = &c->optim;
    const rw_plasticity_config *p = &c->plasticity;
    const rw_consolidation_config *k = &c->consolidation;
    const rw_maintain_config *m = &c->maintain;
    size_t n = 0;
#define U(nm, v) (s[n++] = (setting){nm, 0, (uint64_t)(v), 0.0, NULL})
#define E(nm, v, names) (s[n++] = (setting){nm, 0, (uint64_t)(v), 0.0, names})
#define D(nm, v) (s[n++] = (setting){nm, 1, 0, (v), NULL})
    U("epochs", c->epochs); U("batch", c->batch); E("optimizer", o->kind, optim_names);
    U("nesterov", o->nesterov); U("adam-steps", o->adam_global_steps);
    E("schedule", c->schedule, sched_names); U("step-epochs", c->step_epochs);
    U("seed", c->seed); E("rewire", c->rewire, rewire_names);
    U("rewire-every", c->rewire_every);
    E("drop-schedule", c->drop_schedule_cosine, drop_sched_names);
    U("drop-by-usage", c->drop_by_usage);
    U("traces", p->traces); E("prune", p->prune, prune_names);
    U("prune-every", p->prune_every);
    U("permanence", p->permanence); U("neuron-turnover", p->neuron_turnover);
    U("silent-epochs", p->silent_epochs); U("regrow-neurons", p->regrow_neurons);
    E("method (consolidation)", k->kind, consol_names);
    U("fisher-samples", k->fisher_samples);
    U("protect-rewiring", k->protect_rewiring);
    D("lr", c->lr); D("momentum", o->momentum); D("beta1", o->beta1);
    D("beta2", o->beta2); D("adam-eps", o->eps); D("weight-decay", o->weight_decay);
    D("lr-min", c->lr_min); D("step-gamma", c->step_gamma);
    D("clip-grad", c->clip_grad); D("drop-fraction", c->drop_fraction);
    D("rewire-stop", c->rewire_stop); D("trace-rate", p->trace_rate);
    D("prune-to", p->prune_to); D("prune-start", p->prune_start);
    D("prune-end", p->prune_end); D("usage-decay", p->usage_decay);
    D("perm-up", p->perm_up); D("perm-down", p->perm_down);
    D("perm-threshold", p->perm_threshold); D("silent-level", p->silent_level);
    D("consolidation strength (ewc-lambda, si-c)", k->lambda);
    D("ewc-gamma", k->gamma); D("si-xi", k->si_xi);
    D("protect-strength", k->protect_strength);
    if (m->kind != RW_MAINTAIN_NONE) {
        E("maintain", m->kind, maintain_names); U("cbp-maturity", m->cbp_maturity);
        U("cbp-adaptable", m->cbp_adaptable); U("redo-every", m->redo_every);
        U("snp-at-task", m->snp_at_task);
        D("cbp-eta", m->cbp_eta); D("cbp-rho", m->cbp_rho);
        D("redo-tau", m->redo_tau); D("snp-lambda", m->snp_lambda);
        D("snp-sigma", m->snp_sigma); D("l2-lambda", m->l2_lambda);
    }
#undef U
#undef E
#undef D
    return n;
}

/* A hash of everything that shapes a run's trajectory: every setting of
 * the training, optimizer, rewiring, plasticity, consolidation and
 * maintenance (settings_of), the full seed, the rehearsal per batch, the
 * class groups, and the training and rehearsal data (sizes and CRC32). A
 * checkpoint is only resumed by a run with the same hash. Left out, as
 * they do not change the result: the test set, the thread count, the
 * checkpoint settings and callbacks. */
uint64_t rw_checkpoint_fingerprint(const rw_train_config *c,
                                   const rw_dataset *train, size_t R,
                                   size_t classes)
{
    uint64_t h = 1469598103934665603ULL;
    setting s[MAX_SETTINGS];
    size_t n = settings_of(c, s), i = 0;
    for (; i < n && !s[i].real; i++) /* the training integers */
        fp_u64(&h, s[i].u);
    fp_u64(&h, R);
    for (; i < n && s[i].real; i++) /* the training reals */
        fp_f64(&h, s[i].d);
    for (; i < n; i++) /* maintenance */
        s[i].real ? fp_f64(&h, s[i].d) : fp_u64(&h, s[i].u);
    fp_u64(&h, c->class_groups ? classes : 0);
    for (size_t g = 0; c->class_groups && g < classes; g++)
        fp_u64(&h, (uint64_t)(int64_t)c->class_groups[g]);
    fp_data(&h, train);
    fp_data(&h, R ? c->replay : NULL);
    return h;
}

/* A setting's value as SETG writes it: exact, so equal text is equal value. */
static void setting_value(const setting *s, char *out, size_t cap)
{
    if (s->real)
        snprintf(out, cap, "%.17g", s->d);
    else
        snprintf(out, cap, "%llu", (unsigned long long)s->u);
}

/* A value of SETG's text for a message: an enum's name where it has one
 * ("set" for "1"), a real in the fewest digits that give it back ("0.1",
 * not the file's "0.10000000000000001"), else the text itself; buf holds
 * what needs one. */
static const char *setting_shown(const setting *s, const char *text, char *buf,
                                 size_t cap)
{
    if (s->real) {
        char *e;
        double d = strtod(text, &e);
        for (int p = 1; e != text && !*e && p <= 17; p++) {
            snprintf(buf, cap, "%.*g", p, d);
            if (strtod(buf, NULL) == d)
                return buf;
        }
        return text;
    }
    if (!s->names)
        return text;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end)
        return text;
    for (unsigned long long i = 0; s->names[i]; i++)
        if (i == v)
            return s->names[i];
    return text;
}

/* The settings as text, "name value" a line, for the SETG section. */
static size_t settings_text(const rw_train_config *c, char *buf, size_t cap)
{
    setting s[MAX_SETTINGS];
    size_t n = settings_of(c, s), len = 0;
    for (size_t i = 0; i < n && len < cap; i++) {
        char v[40];
        setting_value(&s[i], v, sizeof v);
        int w = snprintf(buf + len, cap - len, "%s %s\n", s[i].name, v);
        if (w < 0 || (size_t)w >= cap - len)
            return 0;
        len += (size_t)w;
    }
    return len;
}

/* On a fingerprint mismatch: the settings that differ between the file's
 * SETG section (untrusted text, read line by line within its length) and
 * this run, as "name: A in the checkpoint, B now; ..." in `out`. Returns
 * how many differ (at most 4 are named), or -1 when the file has no SETG
 * section (written before rewire kept one). */
static int settings_diff(const char *path, const rw_train_config *c, char *out,
                         size_t cap)
{
    out[0] = '\0';
    void *raw = NULL;
    size_t len = 0;
    rw_error e;
    if (rw_model_read_section(path, SETTINGS_TAG, &raw, &len, NULL, &e) != RW_OK)
        return -1;
    setting s[MAX_SETTINGS];
    size_t n = settings_of(c, s), used = 0, shown = 0;
    const char *t = raw, *end = t + len;
    while (t < end && shown < 4) {
        const char *nl = memchr(t, '\n', (size_t)(end - t));
        size_t ll = nl ? (size_t)(nl - t) : (size_t)(end - t);
        char line[160];
        if (ll < sizeof line) {
            memcpy(line, t, ll);
            line[ll] = '\0';
            char *sp = strrchr(line, ' ');
            for (size_t i = 0; sp && i < n; i++) {
                if (strlen(s[i].name) != (size_t)(sp - line) ||
                    strncmp(line, s[i].name, (size_t)(sp - line)) != 0)
                    continue;
                char now[40], was_b[40], now_b[40];
                setting_value(&s[i], now, sizeof now);
                if (strcmp(sp + 1, now) != 0) {
                    int w = snprintf(out + used, cap - used, "%s%s: %s in the "
                                     "checkpoint, %s now", shown ? "; " : "",
                                     s[i].name,
                                     setting_shown(&s[i], sp + 1, was_b, sizeof was_b),
                                     setting_shown(&s[i], now, now_b, sizeof now_b));
                    if (w > 0 && (size_t)w < cap - used) {
                        used += (size_t)w;
                        shown++;
                    }
                }
                break;
            }
        }
        t += ll + 1;
    }
    rw_free(raw);
    return (int)shown;
}

/* The state is a sequence of u64: 16 scalars (version, fingerprint, n,
 * epoch, batch, step, correct, seen, 4 RNG words, 3 doubles, 1 reserved),
 * the per-layer counters, 2 reserved, and the sample order. */
static size_t state_len(size_t n)
{
    return 8 * (16 + STATE_COUNTERS * RW_MAX_LAYERS + 2 + n);
}

static size_t *counter(rw_epoch_stats *es, int which, size_t l)
{
    size_t *arrs[STATE_COUNTERS] = {es->dropped, es->grown, es->pruned,
                                    es->neurons_removed, es->neurons_added};
    return &arrs[which][l];
}

/* ---------------- MNTS: the maintenance state ---------------- */

#define MAINT_TAG "MNTS"
#define MAINT_VERSION 1u
#define MAINT_HEAD 16       /* version, method, n_layers, flags */
#define MAINT_LAYER_HEAD 32 /* units, inputs, units reset, replacements owed */
#define MAINT_UNITS 1u      /* per-unit state of the hidden layers */
#define MAINT_ANCHOR 2u     /* L2 Init's anchor */
#define MAINT_USAGE 4u      /* the sparse layers' input usage */
#define MAINT_READY 8u      /* the per-unit mean |h| holds the last batch */
#define MAINT_ALL 15u

/* A run keeps MNTS when it maintains or drops by usage. */
static bool maint_wanted(const rw_train_config *cfg)
{
    return cfg->maintain.kind != RW_MAINTAIN_NONE || cfg->drop_by_usage;
}

static const char *maint_needs(const rw_train_config *cfg)
{
    if (cfg->maintain.kind == RW_MAINTAIN_NONE)
        return "--drop-by-usage";
    return cfg->drop_by_usage ? "maintenance and --drop-by-usage" : "maintenance";
}

/* The flags, READY aside, that a run of cfg writes and expects. */
static uint32_t maint_flags(const rw_train_config *cfg)
{
    uint32_t f = 0;
    if (cfg->maintain.kind != RW_MAINTAIN_NONE)
        f |= MAINT_UNITS;
    if (cfg->maintain.kind == RW_MAINTAIN_L2INIT)
        f |= MAINT_ANCHOR;
    if (cfg->drop_by_usage)
        f |= MAINT_USAGE;
    return f;
}

/* *acc += a * b in u64; false on overflow. */
static bool add_mul(uint64_t *acc, uint64_t a, uint64_t b)
{
    if (a && b > UINT64_MAX / a)
        return false;
    if (a * b > UINT64_MAX - *acc)
        return false;
    *acc += a * b;
    return true;
}

/* Bytes of layer l's record under flags fl, from the network's sizes. */
static bool maint_layer_len(const rw_net *net, size_t l, uint32_t fl,
                            uint64_t *len)
{
    const rw_layer *L = &net->layers[l];
    uint64_t anchor = 0;
    *len = MAINT_LAYER_HEAD;
    return (!(fl & MAINT_UNITS) || l + 1 >= net->n_layers ||
            add_mul(len, L->out, 32)) &&
           (!(fl & MAINT_ANCHOR) ||
            (add_mul(&anchor, L->in, L->out) && add_mul(len, anchor, 4) &&
             add_mul(len, L->out, 4))) &&
           (!(fl & MAINT_USAGE) || L->kind != RW_LAYER_SPARSE ||
            add_mul(len, L->in, 4));
}

/* Whether the view holds layer l's arrays that flags fl ask for, at the
 * network's sizes (rw_maintain_begin and rw_maintain_view prepared it). */
static bool maint_view_ok(const rw_net *net, const rw_maint_view *mv,
                          size_t l, uint32_t fl)
{
    const rw_layer *L = &net->layers[l];
    const rw_maint_layer_view *lv = &mv->l[l];
    if ((fl & (MAINT_UNITS | MAINT_ANCHOR)) &&
        (mv->n_layers != net->n_layers || !mv->hmean_ready || !lv->acc ||
         lv->units != L->out || lv->in != L->in))
        return false;
    if ((fl & MAINT_UNITS) && l + 1 < net->n_layers &&
        (!lv->util || !lv->fmean || !lv->hmean || !lv->age))
        return false;
    if ((fl & MAINT_ANCHOR) && (!lv->p0w || !lv->p0b))
        return false;
    return !((fl & MAINT_USAGE) && L->kind == RW_LAYER_SPARSE &&
             (!L->in_usage || L->in_usage_n != L->in));
}

static long first_bad_f64(const double *a, size_t n, double lo)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]) || a[i] < lo)
            return (long)i;
    return -1;
}

static long first_bad_f32(const float *a, size_t n, int usage)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]) || (usage && a[i] < 0.0f && a[i] != -1.0f))
            return (long)i;
    return -1;
}

/* Sequential little-endian fields of MNTS. */
static void put32(unsigned char **p, uint32_t v)
{
    put_u32(*p, v);
    *p += 4;
}
static void put_f64s(unsigned char **p, const double *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put64(p, f64_bits(a[i]));
}
static void put_f32s(unsigned char **p, const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put32(p, f32_bits(a[i]));
}

/* The MNTS payload of the run's state: mv (the maintenance state), the
 * layers' input usage and the epoch's units_reset counters. Refuses a
 * non-finite value, which a resume would reject. */
static rw_status maint_encode(const rw_net *net, const rw_train_config *cfg,
                              const rw_maint_view *mv, const rw_epoch_stats *es,
                              unsigned char **out, size_t *out_len,
                              rw_error *err)
{
    const char *path = cfg->checkpoint_path;
    uint32_t fl = maint_flags(cfg);
    uint64_t total = MAINT_HEAD;
    for (size_t l = 0; l < net->n_layers; l++) {
        uint64_t len;
        if (!mv || !maint_view_ok(net, mv, l, fl))
            return rw_fail(err, RW_ERR_ARG, "checkpoint %s: the maintenance "
                           "state of layer %zu is not ready", path, l + 1);
        if (!maint_layer_len(net, l, fl, &len) || !add_mul(&total, len, 1) ||
            total > SIZE_MAX)
            return rw_fail(err, RW_ERR_NOMEM, "checkpoint %s: the maintenance "
                           "state does not fit in memory", path);
    }
    if ((fl & MAINT_UNITS) && *mv->hmean_ready)
        fl |= MAINT_READY;
    unsigned char *buf = rw_alloc((size_t)total, 1, "maintenance state", err);
    unsigned char *p = buf;
    if (!buf)
        return RW_ERR_NOMEM;
    put32(&p, MAINT_VERSION);
    put32(&p, (uint32_t)cfg->maintain.kind);
    put32(&p, (uint32_t)net->n_layers);
    put32(&p, fl);
    const char *bad = NULL;
    long at = -1;
    size_t bad_l = 0;
    for (size_t l = 0; l < net->n_layers; l++) {
        const rw_layer *L = &net->layers[l];
        const rw_maint_layer_view *lv = &mv->l[l];
        double acc = (fl & MAINT_UNITS) ? *lv->acc : 0.0;
        put64(&p, L->out);
        put64(&p, L->in);
        put64(&p, es->units_reset[l]);
        put64(&p, f64_bits(acc));
        if (!bad && !(acc >= 0.0 && acc < 1.0))
            bad = "replacements owed", at = 0, bad_l = l;
        if ((fl & MAINT_UNITS) && l + 1 < net->n_layers) {
            struct { const double *a; double lo; const char *what; } u[3] = {
                {lv->util, 0.0, "utility"}, {lv->fmean, -INFINITY, "mean output"},
                {lv->hmean, 0.0, "mean |output|"}};
            for (int i = 0; i < 3; i++) {
                put_f64s(&p, u[i].a, L->out);
                if (!bad && (at = first_bad_f64(u[i].a, L->out, u[i].lo)) >= 0)
                    bad = u[i].what, bad_l = l;
            }
            for (size_t j = 0; j < L->out; j++)
                put64(&p, lv->age[j]);
        }
        if (fl & MAINT_ANCHOR) {
            put_f32s(&p, lv->p0w, L->in * L->out);
            put_f32s(&p, lv->p0b, L->out);
            if (!bad && ((at = first_bad_f32(lv->p0w, L->in * L->out, 0)) >= 0 ||
                         (at = first_bad_f32(lv->p0b, L->out, 0)) >= 0))
                bad = "L2 Init anchor", bad_l = l;
        }
        if ((fl & MAINT_USAGE) && L->kind == RW_LAYER_SPARSE) {
            put_f32s(&p, L->in_usage, L->in);
            if (!bad && (at = first_bad_f32(L->in_usage, L->in, 1)) >= 0)
                bad = "input usage", bad_l = l;
        }
    }
    if (bad) {
        rw_free(buf);
        return rw_fail(err, RW_ERR_ARG, "cannot write checkpoint %s: layer %zu "
                       "%s %ld is out of range or not finite (the run has "
                       "diverged)", path, bad_l + 1, bad, at);
    }
    if ((uint64_t)(p - buf) != total) {
        rw_free(buf);
        return rw_fail(err, RW_ERR_ARG, "checkpoint: internal size mismatch "
                       "in the maintenance state");
    }
    *out = buf;
    *out_len = (size_t)total;
    return RW_OK;
}

/* A reader of the MNTS payload raw[0..len), which starts at byte `base`
 * of the file, for messages. */
typedef struct mcur {
    const unsigned char *p;
    size_t len, pos, base;
    const char *path;
    rw_error *err;
} mcur;

/* Fails with "<path>: byte <offset>: maintenance state (MNTS section):
 * <message>"; returns RW_ERR_FORMAT. */
static rw_status m_bad(const mcur *c, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static rw_status m_bad(const mcur *c, size_t pos, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rw_fail(c->err, RW_ERR_FORMAT, "%s: byte %zu: maintenance state (%s "
                   "section): %s", c->path, c->base + pos, MAINT_TAG, msg);
}

static rw_status m_need(const mcur *c, uint64_t n, const char *what)
{
    if (c->len - c->pos >= n)
        return RW_OK;
    return m_bad(c, c->pos, "expected %s (%llu bytes) but the section ends "
                 "at byte %zu (truncated or corrupt)", what,
                 (unsigned long long)n, c->base + c->len);
}

static rw_status m_u32(mcur *c, const char *what, uint32_t *v)
{
    rw_status st = m_need(c, 4, what);
    if (st == RW_OK) {
        *v = get_u32(c->p + c->pos);
        c->pos += 4;
    }
    return st;
}

static rw_status m_u64(mcur *c, const char *what, uint64_t *v)
{
    rw_status st = m_need(c, 8, what);
    if (st == RW_OK) {
        *v = get_u64(c->p + c->pos);
        c->pos += 8;
    }
    return st;
}

/* n f64 values of layer l, each finite and >= lo, into dst (NULL: check
 * only). */
static rw_status m_f64s(mcur *c, double *dst, size_t n, double lo, size_t l,
                        const char *which)
{
    char what[64];
    snprintf(what, sizeof what, "layer %zu %s (%zu f64)", l + 1, which, n);
    rw_status st = m_need(c, (uint64_t)n * 8, what);
    for (size_t i = 0; i < n && st == RW_OK; i++) {
        double v = bits_f64(get_u64(c->p + c->pos + 8 * i));
        if (!isfinite(v) || v < lo)
            return m_bad(c, c->pos + 8 * i, "layer %zu %s %zu is %g (expected "
                         "a finite value%s)", l + 1, which, i, v,
                         lo == 0.0 ? " >= 0" : "");
        if (dst)
            dst[i] = v;
    }
    if (st == RW_OK)
        c->pos += 8 * n;
    return st;
}

/* n f32 values of layer l, each finite (and, for usage, -1 or >= 0). */
static rw_status m_f32s(mcur *c, float *dst, size_t n, int usage, size_t l,
                        const char *which)
{
    char what[64];
    snprintf(what, sizeof what, "layer %zu %s (%zu f32)", l + 1, which, n);
    rw_status st = m_need(c, (uint64_t)n * 4, what);
    for (size_t i = 0; i < n && st == RW_OK; i++) {
        float v = bits_f32(get_u32(c->p + c->pos + 4 * i));
        if (!isfinite(v) || (usage && v < 0.0f && v != -1.0f))
            return m_bad(c, c->pos + 4 * i, "layer %zu %s %zu is %g (expected "
                         "a finite value%s)", l + 1, which, i, (double)v,
                         usage ? ", -1 (no data yet) or >= 0" : "");
        if (dst)
            dst[i] = v;
    }
    if (st == RW_OK)
        c->pos += 4 * n;
    return st;
}

/* Checks the MNTS payload raw[0..len) (at byte `base` of `path`) against
 * the network and the run's settings; with es it also restores it into
 * mv's arrays, the layers' input usage and es->units_reset (call it once
 * without es first: a bad section then changes nothing). Every count is
 * compared with the network's before anything is read; nothing is
 * allocated. */
static rw_status maint_decode(const void *raw, size_t len, size_t base,
                              const char *path, rw_net *net,
                              const rw_train_config *cfg,
                              const rw_maint_view *mv, rw_epoch_stats *es,
                              rw_error *err)
{
    mcur c = {raw, len, 0, base, path, err};
    int apply = es != NULL;
    uint32_t version, method, nl, fl, want = maint_flags(cfg);
    rw_status st;
    if ((st = m_u32(&c, "the section version", &version)) != RW_OK)
        return st;
    if (version != MAINT_VERSION)
        return m_bad(&c, 0, "version %u is not %u (written by another version "
                     "of rewire); start the run again", version, MAINT_VERSION);
    if ((st = m_u32(&c, "the maintenance method", &method)) != RW_OK)
        return st;
    if (method != (uint32_t)cfg->maintain.kind)
        return m_bad(&c, 4, "method %u, but this run maintains with method %d "
                     "(0 none, 1 CBP, 2 ReDo, 3 S&P, 4 L2 Init)", method,
                     (int)cfg->maintain.kind);
    if ((st = m_u32(&c, "the layer count", &nl)) != RW_OK)
        return st;
    if (nl != net->n_layers)
        return m_bad(&c, 8, "%u layers (expected the network's %zu)", nl,
                     net->n_layers);
    if ((st = m_u32(&c, "the flags", &fl)) != RW_OK)
        return st;
    if ((fl & ~MAINT_ALL) || (fl & ~MAINT_READY) != want ||
        ((fl & MAINT_READY) && !(fl & MAINT_UNITS)))
        return m_bad(&c, 12, "flags 0x%x (expected 0x%x for this run, with "
                     "bit 3 only beside bit 0: bit 0 unit state, 1 L2 Init "
                     "anchor, 2 input usage, 3 last batch)", fl, want);
    for (size_t l = 0; l < net->n_layers; l++) {
        rw_layer *L = &net->layers[l];
        const rw_maint_layer_view *lv = &mv->l[l];
        if (!maint_view_ok(net, mv, l, want))
            return rw_fail(err, RW_ERR_ARG, "resume %s: the maintenance state "
                           "of layer %zu is not ready", path, l + 1);
        uint64_t units, in, reset, acc_bits;
        char what[64];
        size_t at = c.pos;
        snprintf(what, sizeof what, "layer %zu unit count", l + 1);
        if ((st = m_u64(&c, what, &units)) != RW_OK)
            return st;
        if (units != L->out)
            return m_bad(&c, at, "layer %zu has %llu units (expected the "
                         "network's %zu)", l + 1, (unsigned long long)units,
                         L->out);
        at = c.pos;
        snprintf(what, sizeof what, "layer %zu input count", l + 1);
        if ((st = m_u64(&c, what, &in)) != RW_OK)
            return st;
        if (in != L->in)
            return m_bad(&c, at, "layer %zu has %llu inputs (expected the "
                         "network's %zu)", l + 1, (unsigned long long)in, L->in);
        snprintf(what, sizeof what, "layer %zu count of units reset", l + 1);
        if ((st = m_u64(&c, what, &reset)) != RW_OK)
            return st;
        at = c.pos;
        snprintf(what, sizeof what, "layer %zu replacements owed", l + 1);
        if ((st = m_u64(&c, what, &acc_bits)) != RW_OK)
            return st;
        double acc = bits_f64(acc_bits);
        if (!(acc >= 0.0 && acc < 1.0))
            return m_bad(&c, at, "layer %zu replacements owed %g (expected "
                         "0 <= value < 1)", l + 1, acc);
        if (apply) {
            es->units_reset[l] = (size_t)reset;
            if (lv->acc)
                *lv->acc = acc;
        }
        if ((fl & MAINT_UNITS) && l + 1 < net->n_layers) {
            if ((st = m_f64s(&c, apply ? lv->util : NULL, L->out, 0.0, l,
                             "utility")) != RW_OK ||
                (st = m_f64s(&c, apply ? lv->fmean : NULL, L->out, -INFINITY,
                             l, "mean output")) != RW_OK ||
                (st = m_f64s(&c, apply ? lv->hmean : NULL, L->out, 0.0, l,
                             "mean |output|")) != RW_OK)
                return st;
            snprintf(what, sizeof what, "layer %zu unit ages (%zu u64)", l + 1,
                     L->out);
            if ((st = m_need(&c, (uint64_t)L->out * 8, what)) != RW_OK)
                return st;
            for (size_t j = 0; j < L->out; j++, c.pos += 8)
                if (apply)
                    lv->age[j] = get_u64(c.p + c.pos);
        }
        if (fl & MAINT_ANCHOR) {
            if ((st = m_f32s(&c, apply ? lv->p0w : NULL, L->in * L->out, 0, l,
                             "L2 Init anchor weights")) != RW_OK ||
                (st = m_f32s(&c, apply ? lv->p0b : NULL, L->out, 0, l,
                             "L2 Init anchor biases")) != RW_OK)
                return st;
        }
        if ((fl & MAINT_USAGE) && L->kind == RW_LAYER_SPARSE &&
            (st = m_f32s(&c, apply ? L->in_usage : NULL, L->in, 1, l,
                         "input usage")) != RW_OK)
            return st;
    }
    if (c.pos != c.len)
        return m_bad(&c, c.pos, "%zu unexpected bytes at the end (expected "
                     "the section to end here)", c.len - c.pos);
    if (apply && (fl & MAINT_UNITS))
        *mv->hmean_ready = (fl & MAINT_READY) != 0;
    return RW_OK;
}

rw_status rw_checkpoint_write(const rw_net *net, const rw_train_config *cfg,
                              uint64_t fp, const rw_run_state *rs,
                              const rw_maint_view *mv, const size_t *order,
                              size_t n, rw_error *err)
{
    size_t len = state_len(n);
    unsigned char *buf = rw_alloc(len, 1, "checkpoint state", err), *p = buf;
    if (!buf)
        return RW_ERR_NOMEM;
    put64(&p, STATE_VERSION);
    put64(&p, fp);
    put64(&p, n);
    put64(&p, rs->epoch);
    put64(&p, rs->batch);
    put64(&p, rs->step);
    put64(&p, rs->correct_sum);
    put64(&p, rs->seen);
    for (int i = 0; i < 4; i++)
        put64(&p, rs->rng.s[i]);
    put64(&p, f64_bits(rs->train_seconds));
    put64(&p, f64_bits(rs->loss_sum));
    put64(&p, f64_bits(rs->es.drop_fraction));
    put64(&p, 0); /* reserved */
    rw_epoch_stats es = rs->es;
    for (int c = 0; c < STATE_COUNTERS; c++)
        for (size_t l = 0; l < RW_MAX_LAYERS; l++)
            put64(&p, (uint64_t)*counter(&es, c, l));
    put64(&p, 0); /* reserved */
    put64(&p, 0); /* reserved */
    for (size_t i = 0; i < n; i++)
        put64(&p, order[i]);
    if ((size_t)(p - buf) != len) {
        rw_free(buf);
        return rw_fail(err, RW_ERR_ARG, "checkpoint: internal size mismatch");
    }
    char text[MAX_SETTINGS * 80];
    size_t tlen = settings_text(cfg, text, sizeof text);
    rw_model_section x[3] = {{STATE_TAG, buf, len}};
    size_t nx = 1;
    unsigned char *mbuf = NULL;
    rw_status st = RW_OK;
    if (maint_wanted(cfg)) {
        st = maint_encode(net, cfg, mv, &rs->es, &mbuf, &x[nx].len, err);
        x[nx] = (rw_model_section){MAINT_TAG, mbuf, x[nx].len};
        nx++;
    }
    /* Last, so that the sections before it keep their offsets. */
    if (tlen)
        x[nx++] = (rw_model_section){SETTINGS_TAG, text, tlen};
    if (st == RW_OK)
        st = rw_net_save_sections(net, cfg->checkpoint_path, x, nx, err);
    rw_free(mbuf);
    rw_free(buf);
    return st;
}

rw_status rw_checkpoint_read(const rw_train_config *cfg, uint64_t fp,
                             rw_net *net, const rw_maint_view *mv,
                             rw_run_state *rs, size_t *order, size_t n,
                             rw_error *err)
{
    const char *path = cfg->resume_path;
    void *raw = NULL, *mraw = NULL;
    size_t len = 0, mlen = 0, mat = 0;
    rw_status st = rw_model_read_section(path, STATE_TAG, &raw, &len, NULL, err);
    if (st != RW_OK)
        return st == RW_ERR_FORMAT && err && strstr(err->msg, "no " STATE_TAG)
                   ? rw_fail(err, RW_ERR_FORMAT,
                             "%s is a model without training state: pass a "
                             "checkpoint written by --checkpoint", path)
                   : st;
    const unsigned char *p = raw;
    uint64_t version = len >= 3 * 8 ? get64(&p) : 0;
    if (version != STATE_VERSION) {
        st = rw_fail(err, RW_ERR_FORMAT, "%s: training state version %llu is "
                     "not %u (written by another version of rewire); start "
                     "the run again", path, (unsigned long long)version,
                     STATE_VERSION);
    } else if (maint_wanted(cfg) &&
               (st = rw_model_read_section(path, MAINT_TAG, &mraw, &mlen,
                                           &mat, err)) != RW_OK) {
        /* Before the fingerprint: a checkpoint of a maintained run from a
         * rewire that did not keep the state hashes differently too. */
        if (st == RW_ERR_FORMAT && err && strstr(err->msg, "no " MAINT_TAG))
            st = rw_fail(err, RW_ERR_FORMAT,
                         "%s holds no maintenance state (no %s section): it "
                         "was written by a run without %s or by a rewire "
                         "that did not keep that state, and this run cannot "
                         "resume without it; start the run again", path,
                         MAINT_TAG, maint_needs(cfg));
    } else if (get64(&p) != fp) {
        char diff[512];
        int nd = settings_diff(path, cfg, diff, sizeof diff);
        st = rw_fail(err, RW_ERR_ARG,
                     "%s was written by a run with other settings or data%s%s%s; "
                     "resume with the same data and options as that run", path,
                     nd > 0 ? " (" : nd == 0 ? " (the settings agree: the "
                     "training data, the rehearsal data or the class groups "
                     "differ" : "", diff, nd >= 0 ? ")" : "");
    } else if (get64(&p) != n || len != state_len(n)) {
        st = rw_fail(err, RW_ERR_FORMAT, "%s: training state is for another "
                     "number of samples", path);
    } else if (mraw && (st = maint_decode(mraw, mlen, mat, path, net, cfg, mv,
                                          NULL, err)) != RW_OK) {
        /* checked in full before anything changes */
    } else {
        rs->epoch = get64(&p);
        rs->batch = get64(&p);
        rs->step = get64(&p);
        rs->correct_sum = get64(&p);
        rs->seen = get64(&p);
        for (int i = 0; i < 4; i++)
            rs->rng.s[i] = get64(&p);
        rs->train_seconds = bits_f64(get64(&p));
        rs->loss_sum = bits_f64(get64(&p));
        rs->es.drop_fraction = bits_f64(get64(&p));
        get64(&p);
        for (int c = 0; c < STATE_COUNTERS; c++)
            for (size_t l = 0; l < RW_MAX_LAYERS; l++)
                *counter(&rs->es, c, l) = (size_t)get64(&p);
        get64(&p);
        get64(&p);
        for (size_t i = 0; i < n && st == RW_OK; i++) {
            uint64_t v = get64(&p);
            if (v >= n)
                st = rw_fail(err, RW_ERR_FORMAT, "%s: sample order holds %llu, "
                             "beyond %zu samples", path, (unsigned long long)v, n);
            order[i] = (size_t)v;
        }
        if (st == RW_OK && (rs->epoch > cfg->epochs || !isfinite(rs->loss_sum)))
            st = rw_fail(err, RW_ERR_FORMAT, "%s: training state is inconsistent",
                         path);
        if (st == RW_OK && mraw)
            st = maint_decode(mraw, mlen, mat, path, net, cfg, mv, &rs->es, err);
    }
    rw_free(mraw);
    rw_free(raw);
    return st;
}
