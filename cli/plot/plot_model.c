/*
 * `rewire plot` pictures of a model: the connectivity map of the first
 * layer, weight histograms and the confusion matrix on a dataset.
 */
#include "plot_model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli.h"
#include "plot.h"
#include "plot_draw.h"

int rw_plot_input_counts(rw_net *net, size_t *counts)
{
    rw_layer_view v;
    rw_error err;
    if (!net || !counts || rw_net_layers(net) == 0)
        return 1;
    if (rw_net_layer_view(net, 0, &v, &err) != RW_OK)
        return 1;
    size_t n = rw_net_inputs(net);
    if (v.inputs != n)
        return 1;
    if (v.kind == RW_LAYER_DENSE || !v.cols || !v.row_ptr) {
        for (size_t i = 0; i < n; i++)
            counts[i] = v.outputs;
        return 0;
    }
    memset(counts, 0, n * sizeof *counts);
    size_t total = v.row_ptr[v.outputs];
    if (total > v.connections)
        return 1;
    for (size_t k = 0; k < total; k++) {
        size_t c = v.cols[k];
        if (c >= n)
            return 1;
        counts[c]++;
    }
    return 0;
}

#ifdef RW_HAVE_CAIRO

/* ================= confusion matrix ================= */

typedef struct confusion {
    size_t n;
    const size_t *counts; /* n x n, row = true class */
    double *share;        /* n x n, counts / row total */
    const char *const *names;
    const char *model, *data;
    double accuracy;
    const rwp_opts *o;
} confusion;

static void confusion_text(const void *ctx, size_t r, size_t c, char *buf,
                           size_t n)
{
    const confusion *m = ctx;
    snprintf(buf, n, "%zu", m->counts[r * m->n + c]);
}

static int draw_confusion(cairo_t *cr, double W, double H, void *vm,
                          char *errbuf, size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    const confusion *m = vm;
    char title[512], sub[512];
    snprintf(title, sizeof title, "Confusion matrix: %s (accuracy %.1f%%)",
             cli_base_name(m->model), 100 * m->accuracy);
    snprintf(sub, sizeof sub,
             "%s; cells count samples, colours show the share of each true "
             "class",
             m->data);
    double top = rwp_title(cr, W, m->o->title ? m->o->title : title, sub);
    rwp_grid g;
    memset(&g, 0, sizeof g);
    g.rows = g.cols = m->n;
    g.colour = m->share;
    g.text = confusion_text;
    g.text_ctx = m;
    g.row_names = m->names;
    g.col_names = m->names;
    g.xlabel = "predicted class";
    g.ylabel = "true class";
    g.outline_diag = 0;
    g.bar = rwp_percent_axis("share of the true class (%)");
    rwp_grid_draw(cr, 12, top + 4, W - 24, H - top - 14, &g);
    return 0;
}

/* ================= connectivity map ================= */

typedef struct connmap {
    size_t h, w, maps;
    const size_t *counts[2];
    const char *names[2];
    size_t max;
    const char *title, *sub;
    const rwp_opts *o;
} connmap;

/* An h x w image of viridis pixels for the counts, scaled to 0..max. */
static cairo_surface_t *count_image(const size_t *counts, size_t h, size_t w,
                                    const rwp_axis *bar)
{
    cairo_surface_t *img =
        cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS)
        return img;
    cairo_surface_flush(img);
    unsigned char *data = cairo_image_surface_get_data(img);
    size_t stride = (size_t)cairo_image_surface_get_stride(img);
    for (size_t r = 0; r < h; r++) {
        uint32_t *row = (uint32_t *)(void *)(data + r * stride);
        for (size_t c = 0; c < w; c++) {
            double t =
                ((double)counts[r * w + c] - bar->lo) / (bar->hi - bar->lo);
            rwp_rgb col = rwp_viridis(t);
            row[c] = (uint32_t)lround(col.r * 255) << 16 |
                     (uint32_t)lround(col.g * 255) << 8 |
                     (uint32_t)lround(col.b * 255);
        }
    }
    cairo_surface_mark_dirty(img);
    return img;
}

static int draw_connmap(cairo_t *cr, double W, double H, void *vm, char *errbuf,
                        size_t errlen)
{
    const connmap *m = vm;
    double top = rwp_title(cr, W, m->o->title ? m->o->title : m->title, m->sub);
    rwp_axis bar = rwp_axis_make("connections per input");
    bar.dmin = 0;
    bar.dmax = (double)m->max;
    bar.integer = 1;
    bar.floor = 0;
    rwp_axis_fit(&bar, 6);
    double cbw = rwp_colorbar_width(cr, 18, &bar) + 24;
    double bw = (W - 20 - cbw) / (double)m->maps, bh = H - top - 8;
    double map_y = top, map_h = bh;
    for (size_t i = 0; i < m->maps; i++) {
        rwp_panel p;
        memset(&p, 0, sizeof p);
        p.title = m->names[i];
        p.xa = rwp_axis_make("column (pixel)");
        p.xa.dmin = -0.5;
        p.xa.dmax = (double)m->w - 0.5;
        p.xa.exact = p.xa.integer = 1;
        p.ya = rwp_axis_make("row (pixel)");
        p.ya.dmin = -0.5;
        p.ya.dmax = (double)m->h - 0.5;
        p.ya.exact = p.ya.integer = p.ya.invert = 1;
        rwp_panel_place(cr, &p, 10 + bw * (double)i, top, bw, bh);
        /* square pixels: shrink the plot area to the image's aspect */
        /* the same tick step on both axes of an image */
        p.xa.force_step = p.ya.force_step = fmax(p.xa.step, p.ya.step);
        rwp_axis_fit(&p.xa, 2);
        rwp_axis_fit(&p.ya, 2);
        double cell = fmin(p.w / (double)m->w, p.h / (double)m->h);
        double pw = cell * (double)m->w, ph = cell * (double)m->h;
        p.x += (p.w - pw) / 2;
        p.y += (p.h - ph) / 2;
        p.w = pw;
        p.h = ph;
        map_y = p.y;
        map_h = ph;
        rwp_panel_frame(cr, &p);
        cairo_save(cr);
        cairo_rectangle(cr, p.x, p.y, p.w, p.h);
        cairo_clip(cr);
        if (cairo_surface_get_type(cairo_get_target(cr)) ==
                CAIRO_SURFACE_TYPE_SVG &&
            m->h * m->w <= 250000) {
            /* SVG viewers smooth scaled images; squares stay sharp. Each
             * overlaps its right and lower neighbour to hide seams. */
            for (size_t r = 0; r < m->h; r++)
                for (size_t c = 0; c < m->w; c++) {
                    double t = ((double)m->counts[i][r * m->w + c] - bar.lo) /
                               (bar.hi - bar.lo);
                    rwp_set(cr, rwp_viridis(t));
                    cairo_rectangle(cr, p.x + (double)c * cell,
                                    p.y + (double)r * cell, cell + 0.5,
                                    cell + 0.5);
                    cairo_fill(cr);
                }
        } else {
            cairo_surface_t *img = count_image(m->counts[i], m->h, m->w, &bar);
            if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
                cairo_surface_destroy(img);
                cairo_restore(cr);
                return rwp_out_of_memory("connectivity map", errbuf, errlen);
            }
            cairo_translate(cr, p.x, p.y);
            cairo_scale(cr, cell, cell);
            cairo_set_source_surface(cr, img, 0, 0);
            cairo_pattern_set_filter(cairo_get_source(cr),
                                     CAIRO_FILTER_NEAREST);
            cairo_paint(cr);
            cairo_surface_destroy(img);
        }
        cairo_restore(cr);
        cairo_set_source_rgb(cr, 0.33, 0.33, 0.33);
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, p.x, p.y, p.w, p.h);
        cairo_stroke(cr);
    }
    rwp_colorbar(cr, W - 10 - cbw + 14, map_y, 18, map_h, &bar);
    return 0;
}

/* ================= weight histograms ================= */

#define HIST_BINS 40

typedef struct whist_layer {
    rw_layer_info info;
    size_t n, nonfinite;
    double lo, hi, mean, sd;
    double bins[HIST_BINS];
    double maxbin;
} whist_layer;

typedef struct whist {
    size_t L, cols, rows;
    whist_layer *layer;
    const char *name;
    const rwp_opts *o;
} whist;

static int draw_whist(cairo_t *cr, double W, double H, void *vw, char *errbuf,
                      size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    const whist *h = vw;
    char title[512], sub[256], ptitle[160], xlab[96], a[32], b[32];
    size_t conns = 0, params = 0;
    for (size_t l = 0; l < h->L; l++) {
        conns += h->layer[l].info.connections;
        params += h->layer[l].info.parameters;
    }
    snprintf(title, sizeof title, "Weight histograms: %s", h->name);
    rwp_format_si((double)conns, a, sizeof a);
    rwp_format_si((double)params, b, sizeof b);
    snprintf(sub, sizeof sub, "%zu layers, %s connections, %s parameters", h->L,
             a, b);
    double top = rwp_title(cr, W, h->o->title ? h->o->title : title, sub);
    double cw = (W - 20) / (double)h->cols;
    double ch = (H - top - 8) / (double)h->rows;
    for (size_t l = 0; l < h->L; l++) {
        const whist_layer *wl = &h->layer[l];
        double bx = 10 + cw * (double)(l % h->cols);
        double by = top + ch * (double)(l / h->cols);
        int out = l + 1 == h->L && h->L > 1;
        if (wl->info.kind == RW_LAYER_SPARSE)
            snprintf(ptitle, sizeof ptitle,
                     "Layer %zu: %zu \xE2\x86\x92 %zu (%s%.1f%% dense)", l + 1,
                     wl->info.inputs, wl->info.outputs, out ? "output, " : "",
                     100 * wl->info.density);
        else
            snprintf(ptitle, sizeof ptitle,
                     "Layer %zu: %zu \xE2\x86\x92 %zu (%sdense)", l + 1,
                     wl->info.inputs, wl->info.outputs, out ? "output, " : "");
        snprintf(xlab, sizeof xlab, "weight (mean %.2g, sd %.2g)", wl->mean,
                 wl->sd);
        rwp_panel p;
        memset(&p, 0, sizeof p);
        p.title = ptitle;
        p.xa = rwp_axis_make(xlab);
        p.xa.dmin = wl->lo;
        p.xa.dmax = wl->hi;
        p.xa.exact = 1;
        p.ya = rwp_axis_make("connections");
        p.ya.dmin = 0;
        p.ya.dmax = wl->maxbin;
        p.ya.floor = 0;
        p.ya.integer = 1;
        p.ya.si = 1;
        rwp_panel_place(cr, &p, bx, by, cw, ch);
        rwp_panel_frame(cr, &p);
        if (wl->n == 0) {
            rwp_panel_note(cr, &p, "no connections");
            continue;
        }
        double bwid = (wl->hi - wl->lo) / HIST_BINS;
        rwp_set(cr, rwp_palette(0));
        for (int i = 0; i < HIST_BINS; i++) {
            if (wl->bins[i] <= 0)
                continue;
            double x0 = rwp_px(&p, wl->lo + bwid * i);
            double x1 = rwp_px(&p, wl->lo + bwid * (i + 1));
            double y0 = rwp_py(&p, wl->bins[i]), y1 = rwp_py(&p, 0);
            cairo_rectangle(cr, x0 + 0.5, y0, fmax(0.5, x1 - x0 - 1), y1 - y0);
        }
        cairo_fill(cr);
        if (wl->nonfinite) {
            char note[64];
            snprintf(note, sizeof note, "%zu weights are NaN or infinite",
                     wl->nonfinite);
            rwp_panel_note(cr, &p, note);
        }
    }
    return 0;
}

#endif /* RW_HAVE_CAIRO */

/* ================= building the pictures ================= */

/* Loads a model file, reporting errors as "<path>: ...". */
rw_net *rwp_load_model(const char *path, char *errbuf, size_t errlen)
{
    rw_error err;
    rw_error_clear(&err);
    rw_net *net = rw_net_load(path, &err);
    if (!net)
        rwp_lib_error(path, &err, errbuf, errlen);
    return net;
}

/* Prints the counts as the image's rows (one line when not image-shaped). */
static void print_counts(const size_t *counts, size_t n, size_t h, size_t w)
{
    if (h == 0 || w == 0) {
        h = 1;
        w = n;
    }
    for (size_t r = 0; r < h; r++) {
        for (size_t c = 0; c < w; c++)
            printf(c ? " %zu" : "%zu", counts[r * w + c]);
        putchar('\n');
    }
}

int rwp_plot_connectivity(rw_net *net, rw_net *start, const char *name,
                          const char *start_name, size_t img_h, size_t img_w,
                          const char *out, int want_counts, const rwp_opts *o,
                          char *errbuf, size_t errlen)
{
    const char *title_name = name;
    (void)title_name; /* unused without cairo */
    if (!name)        /* messages need a subject: the picture */
        name = out ? out : "model";
    size_t n = rw_net_inputs(net), h = 0, w = 0;
    if (out && rwp_check_format(out, errbuf, errlen))
        return 1;
    if (start && rw_net_inputs(start) != n)
        return rwp_fail(errbuf, errlen,
                        "%s: has %zu inputs but %s has %zu; they must be the "
                        "same network",
                        start_name, rw_net_inputs(start), name, n);
    int shaped =
        rwp_image_shape(n, img_h, img_w, &h, &w, name, errbuf, errlen) == 0;
    if (!shaped && (out || img_h || img_w))
        return 1;
    if (n == 0 || n > SIZE_MAX / sizeof(size_t) / 2)
        return rwp_fail(errbuf, errlen, "%s: model has %zu inputs", name, n);
    size_t *counts = malloc(2 * n * sizeof *counts);
    if (!counts)
        return rwp_out_of_memory(name, errbuf, errlen);
    const char *bad = rw_plot_input_counts(net, counts) ? name
                      : start && rw_plot_input_counts(start, counts + n)
                          ? start_name
                          : NULL;
    if (bad) {
        free(counts);
        return rwp_fail(errbuf, errlen,
                        "%s: cannot read the first layer's connections", bad);
    }
    if (want_counts)
        print_counts(counts, n, shaped ? h : 0, shaped ? w : 0);
    int rc = 0;
    if (out) {
#ifdef RW_HAVE_CAIRO
        char title[512], sub[512], a[32], b[32];
        rw_layer_info info;
        rw_error err;
        size_t max = 0;
        for (size_t i = 0; i < (start ? 2 * n : n); i++)
            if (counts[i] > max)
                max = counts[i];
        if (rw_net_layer_info(net, 0, &info, &err) != RW_OK) {
            free(counts);
            return rwp_lib_error(name, &err, errbuf, errlen);
        }
        if (title_name)
            snprintf(title, sizeof title, "Connections kept per input: %s",
                     cli_base_name(title_name));
        else
            snprintf(title, sizeof title, "Connections kept per input");
        rwp_format_si((double)info.connections, a, sizeof a);
        rwp_format_si((double)info.inputs * (double)info.outputs, b, sizeof b);
        snprintf(sub, sizeof sub,
                 "first layer: %zu inputs (%zu x %zu) \xE2\x86\x92 %zu "
                 "neurons, %s of %s connections (%.1f%%)%s",
                 info.inputs, h, w, info.outputs, a, b, 100 * info.density,
                 info.kind == RW_LAYER_DENSE ? "; dense, so every input "
                                               "keeps them all"
                                             : "");
        connmap m;
        memset(&m, 0, sizeof m);
        m.h = h;
        m.w = w;
        m.maps = start ? 2 : 1;
        m.counts[0] = start ? counts + n : counts;
        m.counts[1] = counts;
        m.names[0] = start ? "initial" : NULL;
        m.names[1] = "final";
        m.max = max;
        m.title = title;
        m.sub = sub;
        m.o = o;
        /* landscape canvas for two maps side by side */
        rc = rwp_render_opts(out, start ? 1180 : 760, 640, draw_connmap, &m, o,
                             errbuf, errlen);
#else
        (void)o;
        rc = 1;
#endif
    }
    free(counts);
    return rc;
}

int rwp_plot_weights(rw_net *net, const char *name, const char *out,
                     const rwp_opts *o, char *errbuf, size_t errlen)
{
    if (rwp_check_format(out, errbuf, errlen))
        return 1;
#ifdef RW_HAVE_CAIRO
    whist h;
    memset(&h, 0, sizeof h);
    h.L = rw_net_layers(net);
    h.name = cli_base_name(name);
    h.o = o;
    if (h.L == 0)
        return rwp_fail(errbuf, errlen, "%s: the model has no layers", name);
    h.layer = calloc(h.L, sizeof *h.layer);
    if (!h.layer)
        return rwp_out_of_memory(name, errbuf, errlen);
    for (size_t l = 0; l < h.L; l++) {
        whist_layer *wl = &h.layer[l];
        rw_layer_view v;
        rw_error err;
        if (rw_net_layer_info(net, l, &wl->info, &err) != RW_OK ||
            rw_net_layer_view(net, l, &v, &err) != RW_OK) {
            free(h.layer);
            return rwp_lib_error(name, &err, errbuf, errlen);
        }
        size_t n = v.connections;
        if (v.kind == RW_LAYER_DENSE && v.inputs && v.outputs &&
            v.inputs <= SIZE_MAX / v.outputs)
            n = v.inputs * v.outputs;
        double lo = HUGE_VAL, hi = -HUGE_VAL, sum = 0, sum2 = 0;
        for (size_t k = 0; k < n; k++) {
            double x = v.weights[k];
            if (!isfinite(x)) {
                wl->nonfinite++;
                continue;
            }
            lo = fmin(lo, x);
            hi = fmax(hi, x);
            sum += x;
        }
        wl->n = n - wl->nonfinite;
        wl->mean = wl->n ? sum / (double)wl->n : 0;
        for (size_t k = 0; k < n; k++) {
            double x = v.weights[k];
            if (isfinite(x))
                sum2 += (x - wl->mean) * (x - wl->mean);
        }
        wl->sd = wl->n > 1 ? sqrt(sum2 / (double)(wl->n - 1)) : 0;
        /* bins over a nicely rounded range so bar edges meet the ticks */
        rwp_axis a = rwp_axis_make(NULL);
        a.dmin = wl->n ? lo : -1;
        a.dmax = wl->n ? hi : 1;
        rwp_axis_fit(&a, 6);
        wl->lo = a.lo;
        wl->hi = a.hi;
        double bw = (wl->hi - wl->lo) / HIST_BINS;
        for (size_t k = 0; k < n; k++) {
            double x = v.weights[k];
            if (!isfinite(x))
                continue;
            long b = (long)floor((x - wl->lo) / bw);
            if (b < 0)
                b = 0;
            if (b >= HIST_BINS)
                b = HIST_BINS - 1;
            wl->bins[b]++;
        }
        for (int b = 0; b < HIST_BINS; b++)
            wl->maxbin = fmax(wl->maxbin, wl->bins[b]);
    }
    h.cols = h.L <= 3 ? h.L : h.L == 4 ? 2 : h.L <= 9 ? 3 : 4;
    h.rows = (h.L + h.cols - 1) / h.cols;
    int W = h.cols == 4 ? 1300 : 1000;
    int H = h.rows == 1 ? 460 : 80 + 320 * (int)h.rows;
    int rc = rwp_render_opts(out, W, H, draw_whist, &h, o, errbuf, errlen);
    free(h.layer);
    return rc;
#else
    (void)net;
    (void)name;
    (void)o;
    return 1;
#endif
}

int rwp_plot_confusion(rw_net *net, const char *name, const char *spec,
                       const char *out, const rwp_opts *o, char *errbuf,
                       size_t errlen)
{
    if (rwp_check_format(out, errbuf, errlen))
        return 1;
#ifdef RW_HAVE_CAIRO
    size_t k = rw_net_classes(net);
    if (k == 0)
        return rwp_fail(errbuf, errlen,
                        "%s: is a regression model; a confusion matrix "
                        "needs a classifier",
                        name);
    if (k > 4096)
        return rwp_fail(errbuf, errlen, "%s: %zu classes are too many to draw",
                        name, k);
    rw_data_options dopt = rw_data_options_defaults();
    rw_error err;
    rw_error_clear(&err);
    rw_dataset *ds = rw_dataset_open(spec, RW_SPLIT_TEST, &dopt, &err);
    if (!ds)
        return rwp_lib_error(spec, &err, errbuf, errlen);
    if (rw_dataset_features(ds) != rw_net_inputs(net)) {
        int rc = rwp_fail(
            errbuf, errlen, "%s: has %zu features but the model %s expects %zu",
            spec, rw_dataset_features(ds), name, rw_net_inputs(net));
        rw_dataset_free(ds);
        return rc;
    }
    if (rw_dataset_classes(ds) > k) {
        int rc = rwp_fail(errbuf, errlen,
                          "%s: has %zu classes but the model %s knows %zu",
                          spec, rw_dataset_classes(ds), name, k);
        rw_dataset_free(ds);
        return rc;
    }
    size_t *counts = calloc(k * k, sizeof *counts);
    double *share = malloc(k * k * sizeof *share);
    char **names = calloc(k, sizeof *names);
    char *numbers = malloc(k * 24);
    int rc = 0;
    if (!counts || !share || !names || !numbers) {
        rc = rwp_out_of_memory(name, errbuf, errlen);
        goto done;
    }
    rw_eval_result res;
    if (rw_net_evaluate(net, ds, &res, counts, &err) != RW_OK) {
        rc = rwp_lib_error(spec, &err, errbuf, errlen);
        goto done;
    }
    for (size_t r = 0; r < k; r++) {
        size_t total = 0;
        for (size_t c = 0; c < k; c++)
            total += counts[r * k + c];
        for (size_t c = 0; c < k; c++)
            share[r * k + c] =
                total ? (double)counts[r * k + c] / (double)total : NAN;
        const char *cn = rw_dataset_class_name(ds, r);
        if (cn && cn[0]) {
            names[r] = (char *)cn;
        } else {
            snprintf(numbers + r * 24, 24, "%zu", r);
            names[r] = numbers + r * 24;
        }
    }
    confusion m;
    m.n = k;
    m.counts = counts;
    m.share = share;
    m.names = (const char *const *)names;
    m.model = name;
    m.data = rw_dataset_name(ds) ? rw_dataset_name(ds) : spec;
    m.accuracy = res.accuracy;
    m.o = o;
    rc = rwp_render_opts(out, k <= 12 ? 900 : 1100, k <= 12 ? 820 : 1000,
                         draw_confusion, &m, o, errbuf, errlen);
done:
    free(counts);
    free(share);
    free(names);
    free(numbers);
    rw_dataset_free(ds);
    return rc;
#else
    (void)net;
    (void)name;
    (void)spec;
    (void)o;
    return 1;
#endif
}
