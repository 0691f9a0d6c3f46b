/*
 * `rewire plot`: the command line, and the pictures drawn from files:
 * learning curves and rewiring statistics (training logs) and retention
 * matrices (continual-learning reports). Pictures of a model live in
 * plot_model.c, file readers in plot_data.c, the drawing kit in
 * plot_draw.c.
 */
#include "../cli.h"
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_data.h"
#include "plot_draw.h"
#include "plot_model.h"
#include "plot_online.h"

#ifdef RW_HAVE_CAIRO

/* ================= shared layout pieces ================= */

static void range_of(const double *v, size_t n, double *lo, double *hi)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (!(v[i] >= *lo))
            *lo = v[i];
        if (!(v[i] <= *hi))
            *hi = v[i];
    }
}

static int any_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            return 1;
    return 0;
}

/* Log scale pays off when the values span more than `ratio`. */
static int wants_log(double lo, double hi, double ratio)
{
    return lo > 0 && isfinite(hi) && hi / lo >= ratio;
}

static void set_range(rwp_axis *a, const double *v, size_t n)
{
    range_of(v, n, &a->dmin, &a->dmax);
}

static rwp_series line(const char *label, const double *x, const double *y,
                       size_t n, size_t colour, int dashed, rwp_marker marker)
{
    rwp_series s;
    s.label = label;
    s.x = x;
    s.y = y;
    s.n = n;
    s.colour = rwp_palette(colour);
    s.dashed = dashed;
    s.marker = marker;
    return s;
}

/* Panel with the given series: places it, draws the frame, the lines and
 * (for more than one labelled line) the legend. */
static void line_panel(cairo_t *cr, rwp_panel *p, double bx, double by,
                       double bw, double bh, const rwp_series *s, size_t n,
                       int legend)
{
    for (size_t i = 0; i < n; i++)
        set_range(&p->ya, s[i].y, s[i].n);
    for (size_t i = 0; i < n; i++)
        set_range(&p->xa, s[i].x, s[i].n);
    if (p->ya.log && !(p->ya.dmin > 0))
        p->ya.log = 0;
    rwp_panel_place(cr, p, bx, by, bw, bh);
    rwp_panel_frame(cr, p);
    size_t drawn = 0;
    for (size_t i = 0; i < n; i++) {
        if (!any_finite(s[i].y, s[i].n))
            continue;
        rwp_plot_series(cr, p, &s[i]);
        drawn++;
    }
    if (drawn == 0)
        rwp_panel_note(cr, p, "no values in the log");
    else if (legend)
        rwp_legend(cr, p, s, n);
}

/* ================= learning curves ================= */

typedef struct curves {
    const rwp_log *log;
    const char *name;
    const rwp_opts *o;
    size_t n;
    double *x, *trl, *tel, *tra, *tea, *lr, *sec; /* n each */
} curves;

static void fmt_pct(char *buf, size_t n, double v)
{
    snprintf(buf, n, "%.1f%%", 100 * v);
}


/* A panel over the epochs of a log: zeroed, titled, with an integer,
 * tight "epoch" x axis. */
static rwp_panel epoch_panel(const char *title)
{
    rwp_panel p;
    memset(&p, 0, sizeof p);
    p.title = title;
    p.xa = rwp_axis_make("epoch");
    p.xa.integer = 1;
    p.xa.tight = 1;
    return p;
}

static int draw_curves(cairo_t *cr, double W, double H, void *vc, char *errbuf,
                       size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    const curves *c = vc;
    const rwp_epoch *last = &c->log->ep[c->n - 1];
    char title[512], sub[512], a[64], b[64];
    snprintf(title, sizeof title, "Learning curves: %s", c->name);
    sub[0] = '\0';
    if (isfinite(last->train_acc) || isfinite(last->test_acc) ||
        isfinite(last->train_loss)) {
        size_t k =
            (size_t)snprintf(sub, sizeof sub, "epoch %.0f:", last->epoch);
        if (isfinite(last->train_acc)) {
            fmt_pct(a, sizeof a, last->train_acc);
            k += (size_t)snprintf(sub + k, sizeof sub - k,
                                  " train accuracy %s,", a);
        } else if (isfinite(last->train_loss) && k < sizeof sub) {
            k += (size_t)snprintf(sub + k, sizeof sub - k, " train loss %.4g,",
                                  last->train_loss);
        }
        if (isfinite(last->test_acc) && k < sizeof sub) {
            fmt_pct(b, sizeof b, last->test_acc);
            k += (size_t)snprintf(sub + k, sizeof sub - k, " test accuracy %s,",
                                  b);
        } else if (isfinite(last->test_loss) && k < sizeof sub) {
            k += (size_t)snprintf(sub + k, sizeof sub - k, " test loss %.4g,",
                                  last->test_loss);
        }
        if (isfinite(last->connections) && k < sizeof sub) {
            rwp_format_si(last->connections, a, sizeof a);
            k += (size_t)snprintf(sub + k, sizeof sub - k, " %s connections,",
                                  a);
        }
        if (k > 0 && k < sizeof sub && sub[k - 1] == ',')
            sub[k - 1] = '\0';
    }
    double top = rwp_title(cr, W, c->o->title ? c->o->title : title, sub);

    int has_test = any_finite(c->tel, c->n) || any_finite(c->tea, c->n);
    int has_acc = any_finite(c->tra, c->n) || any_finite(c->tea, c->n);
    int has_lr = any_finite(c->lr, c->n);
    int has_sec = any_finite(c->sec, c->n);
    int bottom_row = has_lr || has_sec;
    double left = 10, width = W - 20, avail = H - top - 8;
    double top_h = bottom_row ? avail * 0.64 : avail;
    double col_w = has_acc ? width / 2 : width;

    rwp_series s[2];
    rwp_panel p = epoch_panel(has_test ? "Loss"
                                        : "Loss (training set; no test set logged)");
    p.ya = rwp_axis_make(c->log->mse ? "loss (mean squared error)"
                                     : "loss (cross-entropy)");
    s[0] = line("train", c->x, c->trl, c->n, 0, 0, RWP_MARK_CIRCLE);
    s[1] = line("test", c->x, c->tel, c->n, 1, 1, RWP_MARK_SQUARE);
    {
        double lo = NAN, hi = NAN;
        range_of(c->trl, c->n, &lo, &hi);
        range_of(c->tel, c->n, &lo, &hi);
        p.ya.log = wants_log(lo, hi, 50);
        if (!p.ya.log)
            p.ya.floor = lo >= 0 ? 0 : -HUGE_VAL;
    }
    line_panel(cr, &p, left, top, col_w, top_h, s, has_test ? 2 : 1, has_test);

    if (has_acc) {
        double *tra = c->tra, *tea = c->tea;
        p = epoch_panel(has_test ? "Accuracy"
                                 : "Accuracy (training set; no test set logged)");
        p.ya = rwp_axis_make("accuracy (%)");
        p.ya.floor = 0;
        p.ya.ceil = 100;
        s[0] = line("train", c->x, tra, c->n, 0, 0, RWP_MARK_CIRCLE);
        s[1] = line("test", c->x, tea, c->n, 1, 1, RWP_MARK_SQUARE);
        line_panel(cr, &p, left + col_w, top, col_w, top_h, s, has_test ? 2 : 1,
                   has_test);
    }
    if (bottom_row) {
        double y = top + top_h + 4, h = avail - top_h - 4;
        double w = has_lr && has_sec ? width / 2 : width;
        double x = left;
        if (has_lr) {
            p = epoch_panel("Learning rate");
            p.ya = rwp_axis_make("learning rate");
            double lo = NAN, hi = NAN;
            range_of(c->lr, c->n, &lo, &hi);
            p.ya.log = wants_log(lo, hi, 20);
            if (!p.ya.log)
                p.ya.floor = 0;
            s[0] = line(NULL, c->x, c->lr, c->n, 2, 0, RWP_MARK_CIRCLE);
            line_panel(cr, &p, x, y, w, h, s, 1, 0);
            x += w;
        }
        if (has_sec) {
            p = epoch_panel("Training time per epoch");
            p.ya = rwp_axis_make("seconds");
            p.ya.floor = 0;
            p.ya.dmin = 0;
            s[0] = line(NULL, c->x, c->sec, c->n, 3, 0, RWP_MARK_CIRCLE);
            line_panel(cr, &p, x, y, w, h, s, 1, 0);
        }
    }
    return 0;
}

/* ================= rewiring ================= */

typedef struct rewiring {
    const rwp_log *log;
    const char *name;
    const rwp_opts *o;
    size_t n, L;
    double *x;     /* n */
    double *layer; /* L x RWP_L_COUNT x n (share in %) */
    double *total; /* n */
    int *dense;    /* L */
} rewiring;

static const double *rw_series_of(const rewiring *r, size_t l, int field)
{
    return r->layer + (l * RWP_L_COUNT + (size_t)field) * r->n;
}

static void layer_name(const rewiring *r, size_t l, char *buf, size_t n)
{
    const char *kind = r->dense[l] ? "dense" : "sparse";
    if (l + 1 == r->L && r->L > 1)
        snprintf(buf, n, "layer %zu (output, %s)", l + 1, kind);
    else
        snprintf(buf, n, "layer %zu (%s)", l + 1, kind);
}

/* One row of coloured swatches naming the layers, centred; returns the y
 * below it. */
static double layer_legend(cairo_t *cr, double W, double y, const rewiring *r,
                           int with_total)
{
    char buf[96];
    double swatch = 30, gap = 22, total_w = 0;
    rwp_font(cr, RWP_FONT_TICK, 0);
    size_t items = r->L + (with_total ? 1 : 0);
    for (size_t i = 0; i < items; i++) {
        if (i < r->L)
            layer_name(r, i, buf, sizeof buf);
        else
            snprintf(buf, sizeof buf, "all layers");
        total_w += swatch + 6 + rwp_text_width(cr, buf) + gap;
    }
    total_w -= gap;
    double x = (W - total_w) / 2, row_h = rwp_line_height(cr) + 6;
    if (x < 10)
        x = 10;
    for (size_t i = 0; i < items; i++) {
        rwp_series s = line(NULL, NULL, NULL, 0, i, 0, rwp_marker_for(i));
        if (i < r->L) {
            layer_name(r, i, buf, sizeof buf);
        } else {
            snprintf(buf, sizeof buf, "all layers");
            s.colour = rwp_palette(6);
            s.marker = RWP_MARK_NONE;
        }
        double tw = rwp_text_width(cr, buf);
        if (x + swatch + 6 + tw > W - 10 && x > 10) {
            x = 10;
            y += row_h;
        }
        rwp_swatch(cr, x, y + row_h / 2, swatch, &s);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        rwp_text(cr, x + swatch + 6, y + row_h / 2, 0, 0.5, buf);
        x += swatch + 6 + tw + gap;
    }
    return y + row_h + 4;
}

static int draw_rewiring(cairo_t *cr, double W, double H, void *vr,
                         char *errbuf, size_t errlen)
{
    const rewiring *r = vr;
    char title[512], sub[256];
    size_t L = r->L;
    rwp_series *s = malloc((2 * L + 1) * sizeof *s);
    if (!s)
        return rwp_out_of_memory(r->name, errbuf, errlen);
    snprintf(title, sizeof title, "Rewiring: %s", r->name);
    const rwp_epoch *first = &r->log->ep[0], *last = &r->log->ep[r->n - 1];
    sub[0] = '\0';
    if (isfinite(first->drop_fraction) && isfinite(last->drop_fraction))
        snprintf(sub, sizeof sub,
                 "drop fraction %.3g at epoch %.0f, %.3g at epoch %.0f",
                 first->drop_fraction, first->epoch, last->drop_fraction,
                 last->epoch);
    double top = rwp_title(cr, W, r->o->title ? r->o->title : title, sub);
    int with_total = L > 1 && any_finite(r->total, r->n);
    top = layer_legend(cr, W, top, r, with_total);

    /* A third row of plasticity diagnostics when the log has them. */
    int diag = 0;
    for (size_t l = 0; l < L; l++)
        diag |= any_finite(rw_series_of(r, l, RWP_L_MEANW), r->n);
    double left = 10, cw = (W - 20) / 2, ch = (H - top - 8) / (diag ? 3 : 2);
    rwp_panel p;

    /* (a) connections per layer */
    p = epoch_panel("Connections per layer");
    p.ya = rwp_axis_make("connections");
    p.ya.si = 1;
    size_t k = 0;
    for (size_t l = 0; l < L; l++)
        s[k++] = line(NULL, r->x, rw_series_of(r, l, RWP_L_CONNECTIONS), r->n,
                      l, 0, rwp_marker_for(l));
    if (with_total) {
        s[k] = line(NULL, r->x, r->total, r->n, 6, 0, RWP_MARK_NONE);
        k++;
    }
    {
        double lo = NAN, hi = NAN;
        for (size_t i = 0; i < k; i++)
            range_of(s[i].y, s[i].n, &lo, &hi);
        p.ya.log = wants_log(lo, hi, 30);
        if (!p.ya.log)
            p.ya.floor = 0;
    }
    line_panel(cr, &p, left, top, cw, ch, s, k, 0);

    /* (b) dropped (solid) and grown (dashed) */
    p = epoch_panel("Connections dropped (solid) and grown (dashed)");
    p.ya = rwp_axis_make("connections per epoch");
    p.ya.si = 1;
    p.ya.floor = 0;
    k = 0;
    for (size_t l = 0; l < L; l++) {
        s[k++] = line(NULL, r->x, rw_series_of(r, l, RWP_L_DROPPED), r->n, l, 0,
                      rwp_marker_for(l));
        s[k++] = line(NULL, r->x, rw_series_of(r, l, RWP_L_GROWN), r->n, l, 1,
                      RWP_MARK_NONE);
    }
    line_panel(cr, &p, left + cw, top, cw, ch, s, k, 0);

    /* (c) share of the initial connections still present */
    p = epoch_panel("Initial connections surviving");
    p.ya = rwp_axis_make("share of initial connections (%)");
    p.ya.floor = 0;
    p.ya.ceil = 100;
    k = 0;
    for (size_t l = 0; l < L; l++)
        s[k++] = line(NULL, r->x, rw_series_of(r, l, RWP_L_SHARE), r->n, l, 0,
                      rwp_marker_for(l));
    line_panel(cr, &p, left, top + ch, cw, ch, s, k, 0);

    /* (d) neurons per layer */
    p = epoch_panel("Neurons per layer");
    p.ya = rwp_axis_make("neurons");
    p.ya.si = 1;
    p.ya.integer = 1;
    k = 0;
    for (size_t l = 0; l < L; l++)
        s[k++] = line(NULL, r->x, rw_series_of(r, l, RWP_L_NEURONS), r->n, l, 0,
                      rwp_marker_for(l));
    {
        double lo = NAN, hi = NAN;
        for (size_t i = 0; i < k; i++)
            range_of(s[i].y, s[i].n, &lo, &hi);
        p.ya.log = wants_log(lo, hi, 30);
        if (!p.ya.log)
            p.ya.floor = 0;
    }
    line_panel(cr, &p, left + cw, top + ch, cw, ch, s, k, 0);

    /* (e, f, g) dormant fraction, effective rank, mean |w| */
    static const char *const dt[3] = {"Dormant fraction (hidden layers)",
                                      "Effective rank (hidden layers)",
                                      "Mean |w| per layer"};
    static const char *const dy[3] = {"dormant fraction", "effective rank",
                                      "mean |w|"};
    static const int df[3] = {RWP_L_DORMANT, RWP_L_ERANK, RWP_L_MEANW};
    double cw3 = (W - 20) / 3;
    for (int q = 0; diag && q < 3; q++) {
        p = epoch_panel(dt[q]);
        p.ya = rwp_axis_make(dy[q]);
        p.ya.floor = 0;
        k = 0;
        for (size_t l = 0; l < L; l++)
            s[k++] = line(NULL, r->x, rw_series_of(r, l, df[q]), r->n, l, 0,
                          rwp_marker_for(l));
        line_panel(cr, &p, left + q * cw3, top + 2 * ch, cw3, ch, s, k, 0);
    }
    free(s);
    return 0;
}

/* ================= retention matrix ================= */

typedef struct retention {
    const rwp_continual *c;
    char **row_names;
    const rwp_opts *o;
} retention;

static void retention_text(const void *ctx, size_t r, size_t c, char *buf,
                           size_t n)
{
    const rwp_continual *m = ((const retention *)ctx)->c;
    double v = m->matrix[r * m->cols + c];
    if (isnan(v))
        snprintf(buf, n, "\xE2\x80\x93"); /* en dash: no value */
    else
        snprintf(buf, n, "%.1f%%", 100 * v);
}

static int draw_retention(cairo_t *cr, double W, double H, void *vr,
                          char *errbuf, size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    const retention *rt = vr;
    const rwp_continual *c = rt->c;
    char title[512], sub[512];
    size_t k = 0;
    snprintf(title, sizeof title, "Retention: %s",
             c->method ? c->method : "continual learning");
    sub[0] = '\0';
    if (isfinite(c->average_accuracy))
        k += (size_t)snprintf(sub, sizeof sub, "average accuracy %.1f%%",
                              100 * c->average_accuracy);
    if (isfinite(c->backward_transfer) && k < sizeof sub)
        k += (size_t)snprintf(sub + k, sizeof sub - k,
                              "%sbackward transfer %+.1f pp",
                              k ? ", " : "", 100 * c->backward_transfer);
    if (isfinite(c->forward_transfer) && k < sizeof sub)
        k += (size_t)snprintf(sub + k, sizeof sub - k,
                              "%sforward transfer %+.1f pp",
                              k ? ", " : "", 100 * c->forward_transfer);
    double top = rwp_title(cr, W, rt->o->title ? rt->o->title : title, sub);
    rwp_grid g;
    memset(&g, 0, sizeof g);
    g.rows = c->rows;
    g.cols = c->cols;
    g.colour = c->matrix;
    g.text = retention_text;
    g.text_ctx = rt;
    g.row_names = (const char *const *)rt->row_names;
    g.col_names = (const char *const *)c->tasks;
    g.xlabel = "accuracy on task";
    g.ylabel = "after training task";
    g.outline_diag = 1;
    g.bar = rwp_percent_axis("accuracy (%)");
    rwp_grid_draw(cr, 12, top + 4, W - 24, H - top - 14, &g);
    return 0;
}

#endif /* RW_HAVE_CAIRO */

/* ================= the pictures ================= */

static int plot_curves(const char *log_path, const char *out, const rwp_opts *o,
                       char *errbuf, size_t errlen)
{
    if (rwp_check_format(out, errbuf, errlen))
        return 1;
#ifdef RW_HAVE_CAIRO
    rwp_log log;
    if (rwp_log_load(log_path, &log, errbuf, errlen))
        return 1;
    curves c;
    memset(&c, 0, sizeof c);
    c.log = &log;
    c.name = cli_base_name(log_path);
    c.o = o;
    c.n = log.n;
    double *buf = log.n <= SIZE_MAX / (7 * sizeof(double))
                      ? malloc(7 * log.n * sizeof *buf)
                      : NULL;
    if (!buf) {
        rwp_log_free(&log);
        return rwp_out_of_memory(log_path, errbuf, errlen);
    }
    double **cols[7] = {&c.x, &c.trl, &c.tel, &c.tra, &c.tea, &c.lr, &c.sec};
    for (size_t k = 0; k < 7; k++)
        *cols[k] = buf + k * log.n;
    for (size_t i = 0; i < log.n; i++) {
        const rwp_epoch *e = &log.ep[i];
        c.x[i] = e->epoch;
        c.trl[i] = e->train_loss;
        c.tel[i] = e->test_loss;
        c.tra[i] = 100 * e->train_acc;
        c.tea[i] = 100 * e->test_acc;
        c.lr[i] = e->lr;
        c.sec[i] = e->seconds;
    }
    int rc =
        rwp_render_opts(out, 1000, 700, draw_curves, &c, o, errbuf, errlen);
    free(buf);
    rwp_log_free(&log);
    return rc;
#else
    (void)log_path;
    (void)o;
    return 1;
#endif
}

static int plot_rewiring(const char *log_path, const char *out,
                         const rwp_opts *o, char *errbuf, size_t errlen)
{
    if (rwp_check_format(out, errbuf, errlen))
        return 1;
#ifdef RW_HAVE_CAIRO
    rwp_log log;
    if (rwp_log_load(log_path, &log, errbuf, errlen))
        return 1;
    if (log.max_layers == 0) {
        rwp_log_free(&log);
        return rwp_fail(errbuf, errlen,
                        "%s: the log has no per-layer statistics "
                        "(\"layers\"); it comes from a dense run or an older "
                        "rewire",
                        log_path);
    }
    rewiring r;
    memset(&r, 0, sizeof r);
    r.log = &log;
    r.name = cli_base_name(log_path);
    r.o = o;
    r.n = log.n;
    r.L = log.max_layers;
    size_t cells = r.L * RWP_L_COUNT; /* L <= 4096, so no overflow */
    double *buf = NULL;
    if (log.n <= SIZE_MAX / sizeof(double) / (cells + 2))
        buf = malloc((cells + 2) * log.n * sizeof *buf);
    r.dense = calloc(r.L, sizeof *r.dense);
    if (!buf || !r.dense) {
        free(buf);
        free(r.dense);
        rwp_log_free(&log);
        return rwp_out_of_memory(log_path, errbuf, errlen);
    }
    r.x = buf;
    r.total = buf + log.n;
    r.layer = buf + 2 * log.n;
    for (size_t l = 0; l < r.L; l++) {
        int seen_density = 0, all_full = 1, dropping = 0;
        for (size_t i = 0; i < log.n; i++) {
            const rwp_epoch *e = &log.ep[i];
            for (int f = 0; f < RWP_L_COUNT; f++) {
                double v = l < e->n_layers
                               ? e->layer[l * RWP_L_COUNT + (size_t)f]
                               : NAN;
                if (f == RWP_L_SHARE)
                    v *= 100;
                r.layer[(l * RWP_L_COUNT + (size_t)f) * log.n + i] = v;
            }
            if (l < e->n_layers) {
                double d = e->layer[l * RWP_L_COUNT + RWP_L_DENSITY];
                double dr = e->layer[l * RWP_L_COUNT + RWP_L_DROPPED];
                if (isfinite(d)) {
                    seen_density = 1;
                    all_full &= d >= 0.99999;
                }
                dropping |= isfinite(dr) && dr > 0;
            }
        }
        r.dense[l] = seen_density && all_full && !dropping;
    }
    for (size_t i = 0; i < log.n; i++) {
        r.x[i] = log.ep[i].epoch;
        r.total[i] = log.ep[i].connections;
    }
    int has_diag = 0; /* the diagnostics add a row of panels */
    for (size_t l = 0; l < r.L; l++)
        has_diag |= any_finite(rw_series_of(&r, l, RWP_L_MEANW), r.n);
    int rc =
        rwp_render_opts(out, 1100, has_diag ? 1150 : 820, draw_rewiring, &r, o,
                        errbuf, errlen);
    free(buf);
    free(r.dense);
    rwp_log_free(&log);
    return rc;
#else
    (void)log_path;
    (void)o;
    return 1;
#endif
}

static int plot_continual(const char *path, const char *out, const rwp_opts *o,
                          char *errbuf, size_t errlen)
{
    if (rwp_check_format(out, errbuf, errlen))
        return 1;
#ifdef RW_HAVE_CAIRO
    rwp_continual c;
    if (rwp_continual_load(path, &c, errbuf, errlen))
        return 1;
    retention rt;
    rt.c = &c;
    rt.o = o;
    rt.row_names = calloc(c.rows, sizeof *rt.row_names);
    int rc = rt.row_names == NULL;
    for (size_t i = 0; i < c.rows && !rc; i++) {
        char buf[32];
        const char *name = i < c.cols ? c.tasks[i] : buf;
        snprintf(buf, sizeof buf, "stage %zu", i + 1);
        size_t n = strlen(name);
        rt.row_names[i] = malloc(n + 1);
        if (!rt.row_names[i])
            rc = 1;
        else
            memcpy(rt.row_names[i], name, n + 1);
    }
    if (rc)
        rc = rwp_out_of_memory(path, errbuf, errlen);
    else
        rc = rwp_render_opts(out, 820, 720, draw_retention, &rt, o, errbuf,
                             errlen);
    if (rt.row_names)
        for (size_t i = 0; i < c.rows; i++)
            free(rt.row_names[i]);
    free(rt.row_names);
    rwp_continual_free(&c);
    return rc;
#else
    (void)path;
    (void)o;
    return 1;
#endif
}

/* ================= public entry points ================= */

int rw_plot_learning_curves(const char *log_path, const char *out_png,
                            char *errbuf, size_t errlen)
{
    return plot_curves(log_path, out_png, &rwp_default_opts, errbuf, errlen);
}

int rw_plot_rewiring(const char *log_path, const char *out_png, char *errbuf,
                     size_t errlen)
{
    return plot_rewiring(log_path, out_png, &rwp_default_opts, errbuf, errlen);
}

int rw_plot_connectivity(rw_net *net, size_t img_h, size_t img_w,
                         const char *out_png, char *errbuf, size_t errlen)
{
    if (!net || !out_png)
        return rwp_fail(errbuf, errlen, "plot: no model or output given");
    return rwp_plot_connectivity(net, NULL, NULL, NULL, img_h, img_w, out_png,
                                 0, &rwp_default_opts, errbuf, errlen);
}

/* ================= command line ================= */

typedef struct plot_args {
    const char *log, *model, *model_start, *continual, *data, *out, *online;
    int dormant; /* --online: 1 the dormant fraction, 2 the effective rank */
    int rewiring, connectivity, weights, confusion, print_counts;
    size_t img_h, img_w;
    rwp_opts o;
} plot_args;

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints a usage error and returns exit code 2. */
static int usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "rewire plot: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see rewire plot --help)\n");
    return 2;
}

/* Parses a positive whole number no larger than `max`. */
static int parse_count(const char *s, size_t max, size_t *out)
{
    size_t v = 0;
    if (!s || !*s)
        return 1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return 1;
        size_t d = (size_t)(*p - '0');
        if (v > (max - d) / 10)
            return 1;
        v = v * 10 + d;
    }
    if (v == 0)
        return 1;
    *out = v;
    return 0;
}

static int parse_size(const char *s, int *w, int *h)
{
    const char *x = strchr(s, 'x');
    if (!x)
        x = strchr(s, 'X');
    if (!x || (size_t)(x - s) >= 16)
        return 1;
    char first[16];
    memcpy(first, s, (size_t)(x - s));
    first[x - s] = '\0';
    size_t a, b;
    if (parse_count(first, 16000, &a) || parse_count(x + 1, 16000, &b) ||
        a < 200 || b < 150)
        return 1;
    *w = (int)a;
    *h = (int)b;
    return 0;
}

/* --height H, --width W: a whole number of pixels, 1 to 2^20. */
static bool opt_height(const char *cmd, const char *arg, void *t)
{
    return cli_parse_size(cmd, "--height", arg, 1, 1u << 20, &((plot_args *)t)->img_h);
}

static bool opt_width(const char *cmd, const char *arg, void *t)
{
    return cli_parse_size(cmd, "--width", arg, 1, 1u << 20, &((plot_args *)t)->img_w);
}

static bool opt_size(const char *cmd, const char *arg, void *t)
{
    (void)cmd;
    plot_args *a = t;
    if (parse_size(arg, &a->o.width, &a->o.height) == 0)
        return true;
    usage("--size needs WIDTHxHEIGHT in pixels (200x150 to 16000x16000), not "
          "'%s'", arg);
    return false;
}

static const char plot_intro[] =
    "usage: rewire plot WHAT [options] -o FILE\n"
    "\n"
    "Draws a picture of a training run, a model or a continual-learning\n"
    "report. The extension of FILE picks the format: .png, .svg or .pdf.\n"
    "\n"
    "  rewire plot --log RUN.jsonl -o curves.png\n"
    "      learning curves: train and test loss, accuracy, learning rate\n"
    "      and seconds per epoch from a log of `rewire train --log`\n"
    "  rewire plot --log RUN.jsonl --rewiring -o rewiring.png\n"
    "      connections per layer, connections dropped and grown per epoch,\n"
    "      share of the initial connections surviving, neurons per layer\n"
    "  rewire plot --model M --connectivity -o map.png [--height H --width W]\n"
    "      heat map of the first-layer connections each input pixel keeps\n"
    "  rewire plot --model M --weights -o hist.png\n"
    "      histogram of the weights of every layer\n"
    "  rewire plot --model M --data SPEC --confusion -o cm.png\n"
    "      confusion matrix on the test split of SPEC\n"
    "  rewire plot --online A.json,B.json,... [--dormant|--rank] -o online.png\n"
    "      online accuracy (or dormant fraction or effective rank of hidden\n"
    "      layer 1) per task\n"
    "      of `rewire continual --online` reports, one line each\n"
    "  rewire plot --continual REPORT.json -o retention.png\n"
    "      accuracy on every task after training each task, in percent\n"
    "\n";

static const char plot_outro[] =
    "\n"
    "Exit status: 0 on success; 1 when a file cannot be read or written, or\n"
    "does not suit the picture (a model whose inputs are not image-shaped,\n"
    "without --height and --width); 2 for bad options (an -o name that is\n"
    "no .png, .svg or .pdf among them).\n";

#define P plot_args
#define FLAG(nm, fld, text) {.type = CLI_FLAG, .name = nm, CLI_FIELD(P, fld), \
                             .flag = 1, .help = text}
static const cli_opt plot_table[] = {
    {.type = CLI_HEADING, .name = "Inputs:"},
    {.type = CLI_STRING, .name = "log", .arg = "FILE", CLI_FIELD(P, log),
     .help = "training log (JSON Lines, one object per epoch).\n"
             "An incomplete last line (a killed run) is skipped\n"
             "with a warning; the complete epochs are drawn."},
    {.type = CLI_STRING, .name = "model", .arg = "FILE", CLI_FIELD(P, model),
     .help = "model saved by `rewire train --save FILE`"},
    {.type = CLI_STRING, .name = "model-start", .arg = "FILE",
     CLI_FIELD(P, model_start),
     .help = "with --connectivity: the model at the start of\n"
             "training, drawn beside --model (\"initial\" and\n"
             "\"final\") on the same colour scale"},
    {.type = CLI_STRING, .name = "data", .arg = "SPEC", CLI_FIELD(P, data),
     .help = "dataset for --confusion: fashion-mnist, mnist,\n"
             "spirals, moons, blobs, xor, a .csv file or an IDX\n"
             "pair IMAGES,LABELS"},
    {.type = CLI_STRING, .name = "continual", .arg = "FILE", CLI_FIELD(P, continual),
     .help = "JSON report: {\"method\": ..., \"tasks\": [...],\n"
             "\"matrix\": [[...], ...], \"average_accuracy\": ...,\n"
             "\"backward_transfer\": ...}; matrix[i][j] is the\n"
             "accuracy (0..1 or null) on task j after task i"},
    /* documented by the examples above */
    {.type = CLI_STRING, .name = "online", .arg = "FILES", CLI_FIELD(P, online)},
    {.type = CLI_FLAG, .name = "dormant", CLI_FIELD(P, dormant), .flag = 1},
    {.type = CLI_FLAG, .name = "rank", CLI_FIELD(P, dormant), .flag = 2},
    {.type = CLI_HEADING, .name = ""},
    {.type = CLI_HEADING, .name = "Pictures of a model (choose one):"},
    FLAG("connectivity", connectivity,
         "connections per input; the image shape comes from"),
    {.type = CLI_CUSTOM, .name = "height", .arg = "H", .parse = opt_height,
     .help = "--height and --width, or is square when the input"},
    {.type = CLI_CUSTOM, .name = "width", .arg = "W", .parse = opt_width,
     .help = "count is a perfect square (784 -> 28 x 28)"},
    FLAG("print-counts", print_counts,
         "with --connectivity: print the per-input counts,\n"
         "one image row per line (-o is then optional)"),
    FLAG("weights", weights, "weight histograms per layer"),
    FLAG("confusion", confusion, "confusion matrix (needs --data)"),
    {.type = CLI_HEADING, .name = ""},
    {.type = CLI_HEADING, .name = "Output:"},
    {.type = CLI_STRING, .name = "output", .short_name = 'o', .arg = "FILE",
     CLI_FIELD(P, out), .help = "picture to write (.png, .svg or .pdf)"},
    {.type = CLI_CUSTOM, .name = "size", .arg = "WxH", .parse = opt_size,
     .help = "canvas size in pixels (default depends on the\n"
             "picture, e.g. 1000x700 for learning curves)"},
    {.type = CLI_STRING, .name = "title", .arg = "TEXT", CLI_FIELD(P, o.title),
     .help = "use TEXT as the picture's title"},
    FLAG("rewiring", rewiring, "with --log: draw the rewiring statistics"),
    FLAG("stats", o.stats,
         "print the picture's size and the mean and variance\n"
         "of its pixels' brightness (used by the tests)"),
    {.type = CLI_HELP, .name = "help", .short_name = 'h', .help = "show this help"},
    {.type = CLI_END},
};
#undef FLAG
#undef P

/* Checks the combination of options; returns 0 or an exit code. */
static int check_args(const plot_args *a)
{
    int sources = !!a->log + !!a->model + !!a->continual + !!a->online;
    if (a->dormant && !a->online)
        return usage("--dormant and --rank go with --online");
    int kinds = a->connectivity + a->weights + a->confusion;
    if (sources == 0)
        return usage("nothing to plot: give --log, --model or --continual");
    if (sources > 1)
        return usage("give only one of --log, --model and --continual");
    if (a->rewiring && !a->log)
        return usage("--rewiring goes with --log");
    if (kinds && !a->model)
        return usage("--connectivity, --weights and --confusion go with "
                     "--model");
    if (a->model && kinds == 0)
        return usage("with --model, choose --connectivity, --weights or "
                     "--confusion");
    if (kinds > 1)
        return usage("choose one of --connectivity, --weights and "
                     "--confusion");
    if (a->confusion && !a->data)
        return usage("--confusion needs --data SPEC");
    if (a->data && !a->confusion)
        return usage("--data goes with --confusion");
    if (a->model_start && !a->connectivity)
        return usage("--model-start goes with --connectivity");
    if ((a->img_h || a->img_w) && !a->connectivity)
        return usage("--height and --width go with --connectivity");
    if (a->print_counts && !a->connectivity)
        return usage("--print-counts goes with --connectivity");
    if (!a->out && !(a->connectivity && a->print_counts))
        return usage("no output file: add -o FILE.png (or .svg, .pdf)");
    char err[512];
    if (a->out && rwp_check_format(a->out, err, sizeof err) == 2)
        return usage("%s", err);
    return 0;
}

int rw_cli_plot(int argc, char **argv)
{
    plot_args a;
    memset(&a, 0, sizeof a);
    const cli_group groups[] = {
        {.opts = plot_table, .target = &a, .before = plot_intro, .after = plot_outro},
    };
    const cli_command cmd = {"plot", 20, groups, 1};
    int rc = cli_parse(&cmd, argc, argv);
    if (rc >= 0)
        return rc;
    char err[1024];
    rc = check_args(&a);
    if (rc)
        return rc;
    err[0] = '\0';
    if (a.log && a.rewiring)
        rc = plot_rewiring(a.log, a.out, &a.o, err, sizeof err);
    else if (a.log)
        rc = plot_curves(a.log, a.out, &a.o, err, sizeof err);
    else if (a.continual)
        rc = plot_continual(a.continual, a.out, &a.o, err, sizeof err);
    else if (a.online)
        rc = rwp_plot_online(a.online, a.dormant, a.out, &a.o, err, sizeof err);
    else {
        /* check the output name before the (possibly slow) model work */
        if (a.out && rwp_check_format(a.out, err, sizeof err)) {
            fprintf(stderr, "rewire plot: %s\n", err);
            return 1;
        }
        rw_net *net = rwp_load_model(a.model, err, sizeof err);
        rw_net *start = NULL;
        if (net && a.model_start) {
            start = rwp_load_model(a.model_start, err, sizeof err);
            if (!start) {
                rw_net_free(net);
                net = NULL;
            }
        }
        if (!net)
            rc = 1;
        else if (a.connectivity)
            rc = rwp_plot_connectivity(net, start, a.model, a.model_start,
                                       a.img_h, a.img_w, a.out, a.print_counts,
                                       &a.o, err, sizeof err);
        else if (a.weights)
            rc = rwp_plot_weights(net, a.model, a.out, &a.o, err, sizeof err);
        else
            rc = rwp_plot_confusion(net, a.model, a.data, a.out, &a.o, err,
                                    sizeof err);
        rw_net_free(start);
        rw_net_free(net);
    }
    if (rc) {
        fprintf(stderr, "rewire plot: %s\n", err[0] ? err : "failed");
        return 1;
    }
    return 0;
}
