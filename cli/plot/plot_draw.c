/*
 * Drawing kit for `rewire plot` (see plot_draw.h). Everything here is
 * stateless apart from the cairo context passed in.
 */
#include "plot_draw.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Lower-case extension of path including the dot (".png"), or "" when
 * there is none. Writes into ext[n]. */
static void path_ext(const char *path, char *ext, size_t n)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    ext[0] = '\0';
    if (!dot || (slash && dot < slash) || n == 0)
        return;
    size_t i = 0;
    for (; dot[i] && i + 1 < n; i++)
        ext[i] = (char)tolower((unsigned char)dot[i]);
    ext[i] = '\0';
}

/* The message for a name whose extension is none of .png, .svg and .pdf;
 * 0 when it is one of them. */
static int unknown_format(const char *path, char *errbuf, size_t errlen)
{
    char ext[16];
    path_ext(path, ext, sizeof ext);
    if (!strcmp(ext, ".png") || !strcmp(ext, ".svg") || !strcmp(ext, ".pdf"))
        return 0;
    if (ext[0])
        snprintf(errbuf, errlen,
                 "%s: unknown picture format '%s'; use .png, .svg or .pdf",
                 path, ext);
    else
        snprintf(errbuf, errlen,
                 "%s: the output name needs an extension: .png, .svg or .pdf",
                 path);
    return 1;
}

#ifndef RW_HAVE_CAIRO

int rwp_check_format(const char *path, char *errbuf, size_t errlen)
{
    if (unknown_format(path, errbuf, errlen))
        return 2; /* a mistake in the command line, as with cairo */
    snprintf(errbuf, errlen,
             "%s: this rewire was built without cairo, so it cannot draw "
             "pictures (install libcairo2-dev and rebuild)",
             path);
    return 1;
}

#else /* RW_HAVE_CAIRO */

#if CAIRO_HAS_SVG_SURFACE
#include <cairo-svg.h>
#endif
#if CAIRO_HAS_PDF_SURFACE
#include <cairo-pdf.h>
#endif

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ================= colours ================= */

static rwp_rgb hex(unsigned v)
{
    rwp_rgb c = {((v >> 16) & 0xff) / 255.0, ((v >> 8) & 0xff) / 255.0,
                 (v & 0xff) / 255.0};
    return c;
}

rwp_rgb rwp_palette(size_t i)
{
    static const unsigned okabe_ito[8] = {0x0072B2, 0xD55E00, 0x009E73,
                                          0xE69F00, 0xCC79A7, 0x56B4E9,
                                          0x000000, 0xF0E442};
    return hex(okabe_ito[i % 8]);
}

/* Nine evenly spaced samples of viridis; the map interpolates between
 * them in sRGB, which keeps lightness monotonic. */
static const unsigned viridis9[9] = {0x440154, 0x472D7B, 0x3B528B,
                                     0x2C728E, 0x21908C, 0x27AD81,
                                     0x5DC863, 0xAADC32, 0xFDE725};

rwp_rgb rwp_viridis(double t)
{
    if (isnan(t))
        return hex(0xDDDDDD);
    if (t < 0)
        t = 0;
    if (t > 1)
        t = 1;
    double f = t * 8.0;
    int i = (int)f;
    if (i >= 8)
        i = 7;
    double u = f - i;
    rwp_rgb a = hex(viridis9[i]), b = hex(viridis9[i + 1]);
    rwp_rgb c = {a.r + (b.r - a.r) * u, a.g + (b.g - a.g) * u,
                 a.b + (b.b - a.b) * u};
    return c;
}

static double lin(double c)
{
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

rwp_rgb rwp_text_on(rwp_rgb bg)
{
    double L = 0.2126 * lin(bg.r) + 0.7152 * lin(bg.g) + 0.0722 * lin(bg.b);
    /* WCAG contrast ratios against white and black text */
    double with_white = 1.05 / (L + 0.05);
    double with_black = (L + 0.05) / 0.05;
    rwp_rgb white = {1, 1, 1}, black = {0, 0, 0};
    return with_white > with_black ? white : black;
}

void rwp_set(cairo_t *cr, rwp_rgb c)
{
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
}

/* ================= text ================= */

void rwp_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD
                                : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4   ? 4
               : s[0] >= 0xE0                 ? 3
               : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
                                              : 0;
    if (n == 0 || (n == 3 && s[0] > 0xEF))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    unsigned cp =
        n == 2   ? (s[0] & 0x1Fu) << 6 | (s[1] & 0x3Fu)
        : n == 3 ? (s[0] & 0x0Fu) << 12 | (s[1] & 0x3Fu) << 6 | (s[2] & 0x3Fu)
                 : (s[0] & 0x07u) << 18 | (s[1] & 0x3Fu) << 12 |
                       (s[2] & 0x3Fu) << 6 | (s[3] & 0x3Fu);
    /* overlong forms, surrogates and values past U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
}

/* Cairo refuses to draw anything after it meets invalid UTF-8, and names
 * come from files: returns s, or a copy in *tmp (free it) with each bad
 * byte replaced by '?'. Returns "?" when even the copy cannot be had. */
static const char *utf8_safe(const char *s, char **tmp)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, n = strlen(s);
    *tmp = NULL;
    while (i < n) {
        size_t k = utf8_len(u + i);
        if (k == 0)
            break;
        i += k;
    }
    if (i == n)
        return s;
    char *c = malloc(n + 1);
    if (!c)
        return "?";
    memcpy(c, s, n + 1);
    while (i < n) {
        size_t k = utf8_len((const unsigned char *)c + i);
        if (k == 0) {
            c[i] = '?';
            k = 1;
        }
        i += k;
    }
    *tmp = c;
    return c;
}

double rwp_text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t te;
    char *tmp;
    cairo_text_extents(cr, utf8_safe(s, &tmp), &te);
    free(tmp);
    return te.x_advance;
}

double rwp_line_height(cairo_t *cr)
{
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    return fe.ascent + fe.descent;
}

void rwp_text(cairo_t *cr, double x, double y, double ax, double ay,
              const char *s)
{
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    double w = rwp_text_width(cr, s);
    double top = y - ay * (fe.ascent + fe.descent);
    char *tmp;
    cairo_move_to(cr, x - ax * w, top + fe.ascent);
    cairo_show_text(cr, utf8_safe(s, &tmp));
    free(tmp);
    cairo_new_path(cr);
}

void rwp_text_up(cairo_t *cr, double x, double y, double ax, double ay,
                 const char *s)
{
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -M_PI / 2);
    rwp_text(cr, 0, 0, ax, ay, s);
    cairo_restore(cr);
}

static double font_size(cairo_t *cr)
{
    cairo_matrix_t m;
    cairo_get_font_matrix(cr, &m);
    return m.yy;
}

void rwp_text_fit(cairo_t *cr, double x, double y, double ax, double ay,
                  double max_w, const char *s)
{
    double size = font_size(cr);
    double w = rwp_text_width(cr, s);
    if (w <= max_w || max_w <= 0) {
        rwp_text(cr, x, y, ax, ay, s);
        return;
    }
    double shrink = max_w / w;
    if (shrink < 0.8)
        shrink = 0.8;
    cairo_set_font_size(cr, size * shrink);
    if (rwp_text_width(cr, s) <= max_w) {
        rwp_text(cr, x, y, ax, ay, s);
        cairo_set_font_size(cr, size);
        return;
    }
    size_t n = strlen(s);
    char *buf = malloc(n + 4);
    if (!buf) {
        rwp_text(cr, x, y, ax, ay, s);
        cairo_set_font_size(cr, size);
        return;
    }
    /* cut at UTF-8 character boundaries until it fits with the ellipsis */
    size_t k = n;
    for (;;) {
        while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
            k--;
        memcpy(buf, s, k);
        memcpy(buf + k, "\xE2\x80\xA6", 4); /* U+2026 and NUL */
        if (k == 0 || rwp_text_width(cr, buf) <= max_w)
            break;
        k--;
    }
    rwp_text(cr, x, y, ax, ay, buf);
    free(buf);
    cairo_set_font_size(cr, size);
}

/* ================= axes ================= */

rwp_axis rwp_axis_make(const char *label)
{
    rwp_axis a;
    memset(&a, 0, sizeof a);
    a.label = label;
    a.dmin = NAN;
    a.dmax = NAN;
    a.floor = -HUGE_VAL;
    a.ceil = HUGE_VAL;
    return a;
}

rwp_axis rwp_percent_axis(const char *label)
{
    rwp_axis a = rwp_axis_make(label);
    a.dmin = 0;
    a.dmax = 100;
    rwp_axis_fit(&a, 5);
    return a;
}

static double nice_step(double raw)
{
    if (!(raw > 0) || !isfinite(raw))
        return 1;
    double e = floor(log10(raw));
    double base = pow(10.0, e);
    double f = raw / base;
    /* round to the nearest of 1, 2, 5, 10 (geometric midpoints) */
    double nf = f < 1.42 ? 1 : f < 3.17 ? 2 : f < 7.08 ? 5 : 10;
    return nf * base;
}

static void add_tick(rwp_axis *a, double v)
{
    if (a->nticks < RWP_MAX_TICKS)
        a->ticks[a->nticks++] = v;
}

static void fit_log(rwp_axis *a, double lo, double hi, double target)
{
    double e0 = floor(log10(lo) + 1e-9), e1 = ceil(log10(hi) - 1e-9);
    if (a->tight) {
        a->lo = lo / pow(10.0, 0.03 * (log10(hi) - log10(lo) + 0.5));
        a->hi = hi * pow(10.0, 0.03 * (log10(hi) - log10(lo) + 0.5));
    } else {
        if (e1 <= e0)
            e1 = e0 + 1;
        a->lo = pow(10.0, e0);
        a->hi = pow(10.0, e1);
    }
    if (e1 <= e0)
        e1 = e0 + 1;
    double decades = e1 - e0;
    a->step = 1;
    a->nticks = 0;
    if (decades <= 2) {
        static const double mult[3] = {1, 2, 5};
        for (double e = e0 - 1; e <= e1; e++)
            for (int m = 0; m < 3; m++) {
                double v = mult[m] * pow(10.0, e);
                if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9))
                    add_tick(a, v);
            }
    } else {
        double stride = ceil(decades / (target > 1 ? target : 1));
        if (stride < 1)
            stride = 1;
        a->step = stride;
        for (double e = e0; e <= e1 + 1e-9; e += stride) {
            double v = pow(10.0, e);
            if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9))
                add_tick(a, v);
        }
    }
}

void rwp_axis_fit(rwp_axis *a, double target)
{
    double lo = a->dmin, hi = a->dmax;
    if (target < 2)
        target = 2;
    if (!isfinite(lo) || !isfinite(hi) || lo > hi) {
        lo = isfinite(a->floor) ? a->floor : 0;
        hi = lo + 1;
    }
    if (a->log && !(lo > 0))
        a->log = 0;
    if (a->log) {
        fit_log(a, lo, hi, target);
        return;
    }
    if (hi - lo <= 1e-12 * (fabs(lo) + fabs(hi)) || hi == lo) {
        double span = a->integer ? 1 : (lo != 0 ? fabs(lo) * 0.1 : 1);
        lo -= span;
        hi += span;
        if (lo < a->floor && a->floor <= a->dmin)
            lo = a->floor;
        if (hi > a->ceil && a->ceil >= a->dmax)
            hi = a->ceil;
    }
    double step =
        a->force_step > 0 ? a->force_step : nice_step((hi - lo) / target);
    if (a->integer && step < 1)
        step = 1;
    if (a->exact) {
        /* keep the given range; ticks fall inside it */
    } else if (a->tight) {
        double m = 0.03 * (hi - lo);
        lo -= m;
        hi += m;
    } else {
        lo = floor(lo / step + 1e-9) * step;
        hi = ceil(hi / step - 1e-9) * step;
    }
    if (lo < a->floor)
        lo = a->floor;
    if (hi > a->ceil)
        hi = a->ceil;
    if (hi <= lo)
        hi = lo + step;
    a->lo = lo;
    a->hi = hi;
    a->step = step;
    a->nticks = 0;
    double k0 = ceil(lo / step - 1e-9);
    for (double k = k0;; k++) {
        double v = k * step;
        if (v > hi + step * 1e-9 || a->nticks >= RWP_MAX_TICKS)
            break;
        if (fabs(v) < step * 1e-9)
            v = 0;
        add_tick(a, v);
    }
}

/* Removes the '+' and leading zeros of a printf exponent: 1.5e-05 -> 1.5e-5 */
static void tidy_exponent(char *buf)
{
    char *e = strchr(buf, 'e');
    if (!e)
        return;
    char *src = e + 1, *dst = e + 1;
    if (*src == '+')
        src++;
    else if (*src == '-')
        *dst++ = *src++;
    while (*src == '0' && src[1])
        src++;
    memmove(dst, src, strlen(src) + 1);
}

static int decimals_for(double step)
{
    if (step >= 1 || !(step > 0))
        return 0;
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d;
}

void rwp_format_si(double v, char *buf, size_t n)
{
    double a = fabs(v);
    if (a >= 1e9)
        snprintf(buf, n, "%.3gG", v / 1e9);
    else if (a >= 1e6)
        snprintf(buf, n, "%.3gM", v / 1e6);
    else if (a >= 1e3)
        snprintf(buf, n, "%.3gk", v / 1e3);
    else
        snprintf(buf, n, "%.3g", v);
}

void rwp_axis_format(const rwp_axis *a, double v, char *buf, size_t n)
{
    if (a->log) {
        double av = fabs(v);
        if (av >= 1e-4 && av < 1e6) {
            int d = av >= 1 ? 0 : (int)ceil(-log10(av) - 1e-9);
            snprintf(buf, n, "%.*f", d, v);
        } else {
            snprintf(buf, n, "%.0e", v);
            tidy_exponent(buf);
        }
        return;
    }
    double big = fmax(fabs(a->lo), fabs(a->hi));
    if (a->si && big >= 1000) {
        double unit = big >= 1e9 ? 1e9 : big >= 1e6 ? 1e6 : 1e3;
        const char *suf = big >= 1e9 ? "G" : big >= 1e6 ? "M" : "k";
        if (v == 0) {
            snprintf(buf, n, "0");
            return;
        }
        snprintf(buf, n, "%.*f%s", decimals_for(a->step / unit), v / unit, suf);
        return;
    }
    int d = decimals_for(a->step);
    if (big >= 1e6 || d > 5) {
        snprintf(buf, n, "%.2g", v);
        tidy_exponent(buf);
        return;
    }
    snprintf(buf, n, "%.*f", d, v);
}

/* ================= panels ================= */

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double max_tick_width(cairo_t *cr, const rwp_axis *a)
{
    char buf[64];
    double w = 0;
    for (size_t i = 0; i < a->nticks; i++) {
        rwp_axis_format(a, a->ticks[i], buf, sizeof buf);
        double tw = rwp_text_width(cr, buf);
        if (tw > w)
            w = tw;
    }
    return w;
}

#define TICK_LEN 5.0

void rwp_panel_place(cairo_t *cr, rwp_panel *p, double bx, double by, double bw,
                     double bh)
{
    rwp_font(cr, RWP_FONT_PANEL, 1);
    double title_h = p->title ? rwp_line_height(cr) + 10 : 8;
    rwp_font(cr, RWP_FONT_TICK, 0);
    double tick_h = rwp_line_height(cr);
    rwp_font(cr, RWP_FONT_LABEL, 0);
    double lab_h = rwp_line_height(cr);

    p->bx = bx;
    p->bw = bw;
    double bottom = TICK_LEN + 4 + tick_h + (p->xa.label ? 6 + lab_h : 0) + 4;
    p->y = by + title_h;
    p->h = bh - title_h - bottom;
    if (p->h < 20)
        p->h = 20;
    rwp_axis_fit(&p->ya, clampd(p->h / 55.0, 2, 10));
    rwp_font(cr, RWP_FONT_TICK, 0);
    double yw = max_tick_width(cr, &p->ya);
    double left = 4 + (p->ya.label ? lab_h + 10 : 0) + yw + TICK_LEN + 5;
    double right = 18;
    p->x = bx + left;
    p->w = bw - left - right;
    if (p->w < 20)
        p->w = 20;
    /* fewer x ticks until their labels have room */
    double target = clampd(p->w / 80.0, 2, 10);
    for (int tries = 0; tries < 6; tries++) {
        rwp_axis_fit(&p->xa, target);
        double xw = max_tick_width(cr, &p->xa) + 14;
        if (xw * (double)p->xa.nticks <= p->w || target <= 2)
            break;
        target = fmax(2, target * 0.7);
    }
}

/* Where v lies on axis a, from 0 (lo) to 1 (hi); NaN for v <= 0 on a log
 * axis. */
static double axis_frac(const rwp_axis *a, double v)
{
    if (a->log) {
        if (!(v > 0))
            return NAN;
        return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    }
    return (v - a->lo) / (a->hi - a->lo);
}

double rwp_px(const rwp_panel *p, double v)
{
    double t = axis_frac(&p->xa, v);
    if (isnan(t))
        return NAN;
    return p->x + t * p->w;
}

double rwp_py(const rwp_panel *p, double v)
{
    double t = axis_frac(&p->ya, v);
    if (isnan(t))
        return NAN;
    if (p->ya.invert)
        t = 1 - t;
    return p->y + p->h - t * p->h;
}

/* Pixel-aligned coordinate for crisp 1-unit lines. */
static double crisp(double v)
{
    return floor(v) + 0.5;
}

void rwp_panel_frame(cairo_t *cr, const rwp_panel *p)
{
    char buf[64];
    cairo_save(cr);
    cairo_set_line_width(cr, 1);
    /* grid */
    cairo_set_source_rgb(cr, 0.90, 0.90, 0.90);
    for (size_t i = 0; i < p->ya.nticks; i++) {
        double y = crisp(rwp_py(p, p->ya.ticks[i]));
        cairo_move_to(cr, p->x, y);
        cairo_line_to(cr, p->x + p->w, y);
    }
    for (size_t i = 0; i < p->xa.nticks; i++) {
        double x = crisp(rwp_px(p, p->xa.ticks[i]));
        cairo_move_to(cr, x, p->y);
        cairo_line_to(cr, x, p->y + p->h);
    }
    cairo_stroke(cr);
    /* frame and ticks */
    cairo_set_source_rgb(cr, 0.33, 0.33, 0.33);
    cairo_rectangle(cr, crisp(p->x), crisp(p->y), floor(p->w), floor(p->h));
    for (size_t i = 0; i < p->ya.nticks; i++) {
        double y = crisp(rwp_py(p, p->ya.ticks[i]));
        cairo_move_to(cr, crisp(p->x), y);
        cairo_line_to(cr, crisp(p->x) - TICK_LEN, y);
    }
    for (size_t i = 0; i < p->xa.nticks; i++) {
        double x = crisp(rwp_px(p, p->xa.ticks[i]));
        cairo_move_to(cr, x, crisp(p->y + p->h));
        cairo_line_to(cr, x, crisp(p->y + p->h) + TICK_LEN);
    }
    cairo_stroke(cr);
    /* tick labels */
    cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
    rwp_font(cr, RWP_FONT_TICK, 0);
    double tick_h = rwp_line_height(cr);
    double yw = 0;
    for (size_t i = 0; i < p->ya.nticks; i++) {
        rwp_axis_format(&p->ya, p->ya.ticks[i], buf, sizeof buf);
        double w = rwp_text_width(cr, buf);
        if (w > yw)
            yw = w;
        rwp_text(cr, p->x - TICK_LEN - 4, rwp_py(p, p->ya.ticks[i]), 1, 0.5,
                 buf);
    }
    for (size_t i = 0; i < p->xa.nticks; i++) {
        rwp_axis_format(&p->xa, p->xa.ticks[i], buf, sizeof buf);
        rwp_text(cr, rwp_px(p, p->xa.ticks[i]), p->y + p->h + TICK_LEN + 3, 0.5,
                 0, buf);
    }
    /* axis labels */
    rwp_font(cr, RWP_FONT_LABEL, 0);
    if (p->xa.label)
        rwp_text_fit(cr, p->x + p->w / 2,
                     p->y + p->h + TICK_LEN + 3 + tick_h + 5, 0.5, 0, p->w,
                     p->xa.label);
    if (p->ya.label) {
        /* rotated label, shortened when taller than the plot area */
        cairo_save(cr);
        cairo_translate(cr, p->x - TICK_LEN - 4 - yw - 8, p->y + p->h / 2);
        cairo_rotate(cr, -M_PI / 2);
        rwp_text_fit(cr, 0, 0, 0.5, 1, p->h + 30, p->ya.label);
        cairo_restore(cr);
    }
    /* title: centred over the plot area, or over the whole box when it
     * is wider than the plot area */
    if (p->title) {
        rwp_font(cr, RWP_FONT_PANEL, 1);
        cairo_set_source_rgb(cr, 0, 0, 0);
        double tw = rwp_text_width(cr, p->title);
        if (tw <= p->w + 20 || p->bw <= 0)
            rwp_text_fit(cr, p->x + p->w / 2, p->y - 6, 0.5, 1, p->w + 20,
                         p->title);
        else
            rwp_text_fit(cr, p->bx + p->bw / 2, p->y - 6, 0.5, 1, p->bw - 8,
                         p->title);
    }
    cairo_restore(cr);
}

void rwp_panel_note(cairo_t *cr, const rwp_panel *p, const char *msg)
{
    cairo_save(cr);
    rwp_font(cr, RWP_FONT_LABEL, 0);
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    rwp_text_fit(cr, p->x + p->w / 2, p->y + p->h / 2, 0.5, 0.5, p->w - 10,
                 msg);
    cairo_restore(cr);
}

/* ================= series ================= */

rwp_marker rwp_marker_for(size_t i)
{
    static const rwp_marker m[4] = {RWP_MARK_CIRCLE, RWP_MARK_SQUARE,
                                    RWP_MARK_TRIANGLE, RWP_MARK_DIAMOND};
    return m[i % 4];
}

static void marker_path(cairo_t *cr, rwp_marker m, double x, double y, double r)
{
    switch (m) {
    case RWP_MARK_NONE: break;
    case RWP_MARK_CIRCLE:
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, r, 0, 2 * M_PI);
        break;
    case RWP_MARK_SQUARE:
        cairo_rectangle(cr, x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8);
        break;
    case RWP_MARK_TRIANGLE:
        cairo_move_to(cr, x, y - r * 1.15);
        cairo_line_to(cr, x + r * 1.1, y + r * 0.8);
        cairo_line_to(cr, x - r * 1.1, y + r * 0.8);
        cairo_close_path(cr);
        break;
    case RWP_MARK_DIAMOND:
        cairo_move_to(cr, x, y - r * 1.25);
        cairo_line_to(cr, x + r * 1.05, y);
        cairo_line_to(cr, x, y + r * 1.25);
        cairo_line_to(cr, x - r * 1.05, y);
        cairo_close_path(cr);
        break;
    }
}

static void draw_marker(cairo_t *cr, rwp_marker m, rwp_rgb c, double x,
                        double y)
{
    if (m == RWP_MARK_NONE)
        m = RWP_MARK_CIRCLE;
    marker_path(cr, m, x, y, 3.8);
    rwp_set(cr, c);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_set_line_width(cr, 1);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_stroke(cr);
}

static void set_line_style(cairo_t *cr, const rwp_series *s)
{
    static const double dash[2] = {7, 4};
    cairo_set_line_width(cr, 2.2);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr,
                       s->dashed ? CAIRO_LINE_CAP_BUTT : CAIRO_LINE_CAP_ROUND);
    cairo_set_dash(cr, dash, s->dashed ? 2 : 0, 0);
    rwp_set(cr, s->colour);
}

void rwp_plot_series(cairo_t *cr, const rwp_panel *p, const rwp_series *s)
{
    cairo_save(cr);
    cairo_rectangle(cr, p->x - 6, p->y - 6, p->w + 12, p->h + 12);
    cairo_clip(cr);
    set_line_style(cr, s);
    int pen = 0;
    for (size_t i = 0; i < s->n; i++) {
        double x = rwp_px(p, s->x[i]), y = rwp_py(p, s->y[i]);
        if (!isfinite(x) || !isfinite(y)) {
            pen = 0;
            continue;
        }
        if (pen)
            cairo_line_to(cr, x, y);
        else
            cairo_move_to(cr, x, y);
        pen = 1;
    }
    cairo_stroke(cr);
    int all = s->n <= 40 && s->marker != RWP_MARK_NONE;
    for (size_t i = 0; i < s->n; i++) {
        double x = rwp_px(p, s->x[i]), y = rwp_py(p, s->y[i]);
        if (!isfinite(x) || !isfinite(y))
            continue;
        int left = i > 0 && isfinite(rwp_px(p, s->x[i - 1])) &&
                   isfinite(rwp_py(p, s->y[i - 1]));
        int right = i + 1 < s->n && isfinite(rwp_px(p, s->x[i + 1])) &&
                    isfinite(rwp_py(p, s->y[i + 1]));
        if (all || (!left && !right))
            draw_marker(cr, s->marker, s->colour, x, y);
    }
    cairo_restore(cr);
}

void rwp_swatch(cairo_t *cr, double x, double y, double len,
                const rwp_series *s)
{
    cairo_save(cr);
    set_line_style(cr, s);
    cairo_move_to(cr, x, y);
    cairo_line_to(cr, x + len, y);
    cairo_stroke(cr);
    if (s->marker != RWP_MARK_NONE)
        draw_marker(cr, s->marker, s->colour, x + len / 2, y);
    cairo_restore(cr);
}

/* How many points of the series fall inside the box (segments sampled). */
static size_t covered(const rwp_panel *p, const rwp_series *s, size_t n,
                      double bx, double by, double bw, double bh)
{
    size_t hits = 0;
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < s[k].n; i++) {
            double x1 = rwp_px(p, s[k].x[i]), y1 = rwp_py(p, s[k].y[i]);
            if (!isfinite(x1) || !isfinite(y1))
                continue;
            int steps = 1;
            double x0 = x1, y0 = y1;
            if (i > 0) {
                x0 = rwp_px(p, s[k].x[i - 1]);
                y0 = rwp_py(p, s[k].y[i - 1]);
                if (isfinite(x0) && isfinite(y0))
                    steps = 12;
                else
                    x0 = x1, y0 = y1;
            }
            for (int j = 0; j < steps; j++) {
                double t = steps == 1 ? 1 : (double)(j + 1) / steps;
                double x = x0 + (x1 - x0) * t, y = y0 + (y1 - y0) * t;
                if (x >= bx - 4 && x <= bx + bw + 4 && y >= by - 4 &&
                    y <= by + bh + 4)
                    hits++;
            }
        }
    }
    return hits;
}

void rwp_legend(cairo_t *cr, const rwp_panel *p, const rwp_series *s, size_t n)
{
    size_t rows = 0;
    double tw = 0;
    cairo_save(cr);
    rwp_font(cr, RWP_FONT_TICK, 0);
    for (size_t i = 0; i < n; i++) {
        if (!s[i].label)
            continue;
        rows++;
        double w = rwp_text_width(cr, s[i].label);
        if (w > tw)
            tw = w;
    }
    if (rows == 0) {
        cairo_restore(cr);
        return;
    }
    double row_h = rwp_line_height(cr) + 5, swatch = 30, pad = 8;
    double bw = pad + swatch + 8 + tw + pad, bh = rows * row_h + pad;
    double inset = 8;
    double cand[4][2] = {
        {p->x + p->w - inset - bw, p->y + inset},             /* top right */
        {p->x + inset, p->y + inset},                         /* top left */
        {p->x + p->w - inset - bw, p->y + p->h - inset - bh}, /* bottom r */
        {p->x + inset, p->y + p->h - inset - bh}};            /* bottom left */
    size_t best = 0, best_hits = (size_t)-1;
    for (size_t c = 0; c < 4; c++) {
        size_t h = covered(p, s, n, cand[c][0], cand[c][1], bw, bh);
        if (h < best_hits) {
            best_hits = h;
            best = c;
        }
    }
    double x = cand[best][0], y = cand[best][1];
    cairo_rectangle(cr, x, y, bw, bh);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.75, 0.75, 0.75);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    double ry = y + pad / 2 + row_h / 2;
    for (size_t i = 0; i < n; i++) {
        if (!s[i].label)
            continue;
        rwp_swatch(cr, x + pad, ry, swatch, &s[i]);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        rwp_text(cr, x + pad + swatch + 8, ry, 0, 0.5, s[i].label);
        ry += row_h;
    }
    cairo_restore(cr);
}

/* ================= colour bar ================= */

double rwp_colorbar_width(cairo_t *cr, double bar_w, const rwp_axis *a)
{
    cairo_save(cr);
    rwp_font(cr, RWP_FONT_TICK, 0);
    double w = bar_w + TICK_LEN + 4 + max_tick_width(cr, a) + 10;
    rwp_font(cr, RWP_FONT_LABEL, 0);
    if (a->label)
        w += rwp_line_height(cr);
    cairo_restore(cr);
    return w;
}

void rwp_colorbar(cairo_t *cr, double x, double y, double w, double h,
                  const rwp_axis *a)
{
    char buf[64];
    cairo_save(cr);
    cairo_pattern_t *pat = cairo_pattern_create_linear(0, y + h, 0, y);
    for (int i = 0; i < 9; i++) {
        rwp_rgb c = hex(viridis9[i]);
        cairo_pattern_add_color_stop_rgb(pat, i / 8.0, c.r, c.g, c.b);
    }
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source(cr, pat);
    cairo_fill(cr);
    cairo_pattern_destroy(pat);
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0.33, 0.33, 0.33);
    cairo_rectangle(cr, crisp(x), crisp(y), floor(w), floor(h));
    cairo_stroke(cr);
    rwp_font(cr, RWP_FONT_TICK, 0);
    double tw = max_tick_width(cr, a);
    for (size_t i = 0; i < a->nticks; i++) {
        double t = (a->ticks[i] - a->lo) / (a->hi - a->lo);
        double ty = crisp(y + h - t * h);
        cairo_set_source_rgb(cr, 0.33, 0.33, 0.33);
        cairo_move_to(cr, x + w, ty);
        cairo_line_to(cr, x + w + TICK_LEN, ty);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
        rwp_axis_format(a, a->ticks[i], buf, sizeof buf);
        rwp_text(cr, x + w + TICK_LEN + 4, ty, 0, 0.5, buf);
    }
    if (a->label) {
        rwp_font(cr, RWP_FONT_LABEL, 0);
        cairo_translate(cr, x + w + TICK_LEN + 4 + tw + 8, y + h / 2);
        cairo_rotate(cr, -M_PI / 2);
        rwp_text_fit(cr, 0, 0, 0.5, 0, h + 40, a->label);
    }
    cairo_restore(cr);
}

/* ================= figures ================= */

/* Draws the figure title (and an optional subtitle) across the top;
 * returns the y below them. */
double rwp_title(cairo_t *cr, double W, const char *title, const char *subtitle)
{
    double y = 12;
    cairo_set_source_rgb(cr, 0, 0, 0);
    rwp_font(cr, RWP_FONT_TITLE, 1);
    rwp_text_fit(cr, W / 2, y, 0.5, 0, W - 24, title);
    y += rwp_line_height(cr) + 4;
    if (subtitle && subtitle[0]) {
        rwp_font(cr, RWP_FONT_TICK, 0);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        rwp_text_fit(cr, W / 2, y, 0.5, 0, W - 24, subtitle);
        y += rwp_line_height(cr) + 2;
    }
    return y + 6;
}

/* ================= grids (confusion, retention) ================= */

static double names_width(cairo_t *cr, const char *const *names, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double t = rwp_text_width(cr, names[i]);
        if (t > w)
            w = t;
    }
    return w;
}

/* The grid's thin white separators, the diagonal's outline, the frame. */
static void grid_lines(cairo_t *cr, double mx, double my, double cell,
                       const rwp_grid *g)
{
    double gw = cell * (double)g->cols, gh = cell * (double)g->rows;
    /* thin white separators, then the frame */
    cairo_set_line_width(cr, 1);
    if (cell >= 6) {
        cairo_set_source_rgb(cr, 1, 1, 1);
        for (size_t r = 1; r < g->rows; r++) {
            cairo_move_to(cr, mx, my + (double)r * cell);
            cairo_line_to(cr, mx + gw, my + (double)r * cell);
        }
        for (size_t c = 1; c < g->cols; c++) {
            cairo_move_to(cr, mx + (double)c * cell, my);
            cairo_line_to(cr, mx + (double)c * cell, my + gh);
        }
        cairo_stroke(cr);
    }
    if (g->outline_diag && cell >= 6) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 2);
        size_t d = g->rows < g->cols ? g->rows : g->cols;
        for (size_t i = 0; i < d; i++)
            cairo_rectangle(cr, mx + (double)i * cell + 1,
                            my + (double)i * cell + 1, cell - 2, cell - 2);
        cairo_stroke(cr);
        cairo_set_line_width(cr, 1);
    }
    cairo_set_source_rgb(cr, 0.33, 0.33, 0.33);
    cairo_rectangle(cr, mx, my, gw, gh);
    cairo_stroke(cr);
}

void rwp_grid_draw(cairo_t *cr, double x, double y, double w, double h,
                   const rwp_grid *g)
{
    char buf[64];
    rwp_font(cr, RWP_FONT_LABEL, 0);
    double lab_h = rwp_line_height(cr);
    rwp_font(cr, RWP_FONT_TICK, 0);
    double name_h = rwp_line_height(cr);
    double rw = fmin(names_width(cr, g->row_names, g->rows), 0.25 * w);
    double cwn = fmin(names_width(cr, g->col_names, g->cols), 0.22 * h);
    double cbw = rwp_colorbar_width(cr, 18, &g->bar) + 18;
    double aw = w - (lab_h + 10) - (rw + 8) - cbw;
    /* column names lie flat when they fit the cells, else stand up */
    double ah_flat = h - (name_h + 8) - (lab_h + 8);
    double cell = fmin(aw / (double)g->cols, ah_flat / (double)g->rows);
    int upright = cwn > cell - 6;
    double col_h = upright ? cwn : name_h;
    double ah = h - (col_h + 8) - (lab_h + 8);
    cell = fmin(aw / (double)g->cols, ah / (double)g->rows);
    if (cell < 1)
        cell = 1;
    double gw = cell * (double)g->cols, gh = cell * (double)g->rows;
    double mx = x + lab_h + 10 + rw + 8 + (aw - gw) / 2;
    double my = y + (ah - gh) / 2;
    if (my < y)
        my = y;

    /* one font size for all cell texts: the widest must fit its cell */
    double fs = fmin(16, fmax(8, cell * 0.3));
    int with_text = g->text != NULL && cell >= 14;
    if (with_text) {
        double widest = 0;
        rwp_font(cr, fs, 0);
        for (size_t r = 0; r < g->rows; r++)
            for (size_t c = 0; c < g->cols; c++) {
                g->text(g->text_ctx, r, c, buf, sizeof buf);
                widest = fmax(widest, rwp_text_width(cr, buf));
            }
        if (widest > cell - 4)
            fs *= (cell - 4) / widest;
        with_text = fs >= 7.5;
    }
    rwp_font(cr, fs, 0);
    for (size_t r = 0; r < g->rows; r++)
        for (size_t c = 0; c < g->cols; c++) {
            double v = g->colour[r * g->cols + c];
            rwp_rgb bg = rwp_viridis(isnan(v) ? NAN
                                              : (v * 100 - g->bar.lo) /
                                                    (g->bar.hi - g->bar.lo));
            double cx = mx + (double)c * cell, cy = my + (double)r * cell;
            rwp_set(cr, bg);
            cairo_rectangle(cr, cx, cy, cell, cell);
            cairo_fill(cr);
            if (!with_text)
                continue;
            g->text(g->text_ctx, r, c, buf, sizeof buf);
            rwp_set(cr, rwp_text_on(bg));
            rwp_text(cr, cx + cell / 2, cy + cell / 2, 0.5, 0.5, buf);
        }
    grid_lines(cr, mx, my, cell, g);

    /* names: every k-th when the cells are smaller than a line of text */
    rwp_font(cr, RWP_FONT_TICK, 0);
    cairo_set_source_rgb(cr, 0.13, 0.13, 0.13);
    size_t step = (size_t)ceil((name_h + 2) / cell);
    if (step < 1)
        step = 1;
    for (size_t r = 0; r < g->rows; r += step)
        rwp_text_fit(cr, mx - 8, my + ((double)r + 0.5) * cell, 1, 0.5, rw,
                     g->row_names[r]);
    for (size_t c = 0; c < g->cols; c += upright ? step : 1) {
        double cx = mx + ((double)c + 0.5) * cell;
        if (upright) {
            cairo_save(cr);
            cairo_translate(cr, cx, my + gh + 6);
            cairo_rotate(cr, -M_PI / 2);
            rwp_text_fit(cr, 0, 0, 1, 0.5, cwn, g->col_names[c]);
            cairo_restore(cr);
        } else {
            rwp_text_fit(cr, cx, my + gh + 6, 0.5, 0, cell - 2,
                         g->col_names[c]);
        }
    }
    /* axis labels */
    rwp_font(cr, RWP_FONT_LABEL, 0);
    cairo_set_source_rgb(cr, 0, 0, 0);
    rwp_text_fit(cr, mx + gw / 2, my + gh + 8 + col_h + 6, 0.5, 0, gw + 80,
                 g->xlabel);
    cairo_save(cr);
    cairo_translate(cr, mx - 8 - rw - 10, my + gh / 2);
    cairo_rotate(cr, -M_PI / 2);
    rwp_text_fit(cr, 0, 0, 0.5, 1, gh + 80, g->ylabel);
    cairo_restore(cr);
    /* colour bar beside the matrix */
    double bh = gh < 160 ? fmin(160, h) : gh;
    rwp_colorbar(cr, mx + gw + 18, my + (gh - bh) / 2, 18, bh, &g->bar);
}

/* ================= output ================= */

typedef enum out_kind { OUT_PNG, OUT_SVG, OUT_PDF, OUT_NONE } out_kind;

static out_kind kind_of(const char *path, char *errbuf, size_t errlen)
{
    char ext[16];
    path_ext(path, ext, sizeof ext);
    if (strcmp(ext, ".png") == 0)
        return OUT_PNG;
    if (strcmp(ext, ".svg") == 0) {
#if CAIRO_HAS_SVG_SURFACE
        return OUT_SVG;
#else
        snprintf(errbuf, errlen,
                 "%s: this cairo build cannot write SVG; use .png", path);
        return OUT_NONE;
#endif
    }
    if (strcmp(ext, ".pdf") == 0) {
#if CAIRO_HAS_PDF_SURFACE
        return OUT_PDF;
#else
        snprintf(errbuf, errlen,
                 "%s: this cairo build cannot write PDF; use .png", path);
        return OUT_NONE;
#endif
    }
    unknown_format(path, errbuf, errlen);
    return OUT_NONE;
}

int rwp_check_format(const char *path, char *errbuf, size_t errlen)
{
    if (kind_of(path, errbuf, errlen) != OUT_NONE)
        return 0;
    char ext[16];
    path_ext(path, ext, sizeof ext);
    return strcmp(ext, ".svg") && strcmp(ext, ".pdf") ? 2 : 1;
}

typedef struct sink {
    FILE *f;
    int failed;
    int err;
} sink;

static cairo_status_t sink_write(void *closure, const unsigned char *data,
                                 unsigned int len)
{
    sink *s = closure;
    if (s->failed)
        return CAIRO_STATUS_WRITE_ERROR;
    if (len && fwrite(data, 1, len, s->f) != len) {
        s->failed = 1;
        s->err = errno ? errno : EIO;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

static void pixel_stats(cairo_surface_t *img, rwp_stats *st)
{
    cairo_surface_flush(img);
    const unsigned char *data = cairo_image_surface_get_data(img);
    int w = cairo_image_surface_get_width(img);
    int h = cairo_image_surface_get_height(img);
    int stride = cairo_image_surface_get_stride(img);
    double sum = 0, sum2 = 0;
    st->width = w;
    st->height = h;
    if (!data || w <= 0 || h <= 0) {
        st->mean = st->variance = 0;
        return;
    }
    for (int y = 0; y < h; y++) {
        const uint32_t *row =
            (const uint32_t *)(const void *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            uint32_t px = row[x];
            double r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
            double l = 0.299 * r + 0.587 * g + 0.114 * b;
            sum += l;
            sum2 += l * l;
        }
    }
    double n = (double)w * (double)h;
    st->mean = sum / n;
    st->variance = sum2 / n - st->mean * st->mean;
    if (st->variance < 0)
        st->variance = 0;
}

/* Draws onto a fresh context on `surf`. Returns 0 or non-zero with errbuf
 * filled. */
static int draw_on(cairo_surface_t *surf, const char *path, int w, int h,
                   rwp_draw_fn draw, void *ctx, char *errbuf, size_t errlen)
{
    cairo_t *cr = cairo_create(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        snprintf(errbuf, errlen, "%s: cannot draw: %s", path,
                 cairo_status_to_string(cairo_status(cr)));
        cairo_destroy(cr);
        return 1;
    }
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    int rc = draw(cr, (double)w, (double)h, ctx, errbuf, errlen);
    if (rc == 0 && cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        snprintf(errbuf, errlen, "%s: cannot draw: %s", path,
                 cairo_status_to_string(cairo_status(cr)));
        rc = 1;
    }
    cairo_destroy(cr);
    return rc;
}

static int render_file(const char *path, int w, int h, rwp_draw_fn draw,
                       void *ctx, rwp_stats *stats, char *errbuf, size_t errlen)
{
    out_kind kind = kind_of(path, errbuf, errlen);
    if (kind == OUT_NONE)
        return 1;
    if (w < 1 || h < 1 || w > 16000 || h > 16000) {
        snprintf(errbuf, errlen, "%s: picture size %dx%d is out of range", path,
                 w, h);
        return 1;
    }
    int rc = 0;
    cairo_surface_t *img = NULL;
    if (kind == OUT_PNG || stats) {
        img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
        if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
            snprintf(errbuf, errlen, "%s: cannot make a %dx%d image: %s", path,
                     w, h, cairo_status_to_string(cairo_surface_status(img)));
            cairo_surface_destroy(img);
            return 1;
        }
        rc = draw_on(img, path, w, h, draw, ctx, errbuf, errlen);
        if (rc) {
            cairo_surface_destroy(img);
            return rc;
        }
        if (stats)
            pixel_stats(img, stats);
    }

    sink out = {fopen(path, "wb"), 0, 0};
    if (!out.f) {
        snprintf(errbuf, errlen, "%s: cannot write: %s", path, strerror(errno));
        cairo_surface_destroy(img);
        return 1;
    }
    /* only a regular file is removed when writing fails (not a device) */
    struct stat sb;
    int regular = fstat(fileno(out.f), &sb) == 0 && S_ISREG(sb.st_mode);
    cairo_status_t st = CAIRO_STATUS_SUCCESS;
    if (kind == OUT_PNG) {
        st = cairo_surface_write_to_png_stream(img, sink_write, &out);
    } else {
        cairo_surface_t *vec = NULL;
#if CAIRO_HAS_SVG_SURFACE
        if (kind == OUT_SVG)
            vec = cairo_svg_surface_create_for_stream(sink_write, &out, w, h);
#endif
#if CAIRO_HAS_PDF_SURFACE
        if (kind == OUT_PDF)
            vec = cairo_pdf_surface_create_for_stream(sink_write, &out, w, h);
#endif
        if (!vec) {
            st = CAIRO_STATUS_NULL_POINTER;
        } else {
            rc = draw_on(vec, path, w, h, draw, ctx, errbuf, errlen);
            cairo_surface_finish(vec);
            st = cairo_surface_status(vec);
            cairo_surface_destroy(vec);
        }
    }
    cairo_surface_destroy(img);
    int close_failed = fclose(out.f) != 0;
    if (rc == 0 && (st != CAIRO_STATUS_SUCCESS || out.failed || close_failed)) {
        if (out.failed)
            snprintf(errbuf, errlen, "%s: cannot write: %s", path,
                     strerror(out.err));
        else if (close_failed)
            snprintf(errbuf, errlen, "%s: cannot write: %s", path,
                     strerror(errno));
        else
            snprintf(errbuf, errlen, "%s: cannot write: %s", path,
                     cairo_status_to_string(st));
        rc = 1;
    }
    if (rc && regular)
        remove(path);
    return rc;
}

int rwp_render(const char *path, int w, int h, rwp_draw_fn draw, void *ctx,
               rwp_stats *stats, char *errbuf, size_t errlen)
{
    int rc = render_file(path, w, h, draw, ctx, stats, errbuf, errlen);
    /* Every cairo object is gone now; dropping cairo's font caches lets
     * leak checkers see a clean exit (fontconfig data would look leaked). */
    cairo_debug_reset_static_data();
    return rc;
}

/* ================= rendering ================= */

int rwp_render_opts(const char *out, int dw, int dh, rwp_draw_fn fn, void *ctx,
                    const rwp_opts *o, char *errbuf, size_t errlen)
{
    int w = o->width > 0 ? o->width : dw, h = o->height > 0 ? o->height : dh;
    rwp_stats st;
    int rc =
        rwp_render(out, w, h, fn, ctx, o->stats ? &st : NULL, errbuf, errlen);
    if (rc == 0 && o->stats)
        printf("%s: %dx%d px, mean %.2f, variance %.2f\n", out, st.width,
               st.height, st.mean, st.variance);
    return rc;
}

#endif /* RW_HAVE_CAIRO */
