/*
 * Drawing kit for `rewire plot`, on top of cairo: output surfaces chosen by
 * file extension, panels with nice 1-2-5 ticks, lines with markers, legends
 * placed away from the data, colour maps and colour bars.
 *
 * Coordinates are device units (pixels for PNG, points for SVG/PDF).
 * Colours: Okabe-Ito for lines, viridis for heat maps (both readable with
 * the common colour-vision deficiencies).
 */
#ifndef RW_CLI_PLOT_DRAW_H
#define RW_CLI_PLOT_DRAW_H

#include <stddef.h>

#include "plot_data.h"

#ifdef RW_HAVE_CAIRO
#include <cairo.h>

/* Font sizes (device units). */
#define RWP_FONT_TITLE 18.0
#define RWP_FONT_PANEL 15.0
#define RWP_FONT_LABEL 14.0
#define RWP_FONT_TICK 13.0
#define RWP_FONT_SMALL 12.0

typedef struct rwp_rgb {
    double r, g, b;
} rwp_rgb;

/* Okabe-Ito, reordered so the first colours have the most contrast on
 * white: blue, vermillion, bluish green, orange, reddish purple, sky blue,
 * black, yellow. */
rwp_rgb rwp_palette(size_t i);
/* Viridis colour map, t in [0,1] (clamped; NaN gives light grey). */
rwp_rgb rwp_viridis(double t);
/* Black or white, whichever reads better on `bg`. */
rwp_rgb rwp_text_on(rwp_rgb bg);
void rwp_set(cairo_t *cr, rwp_rgb c);

/* ---------------- text ---------------- */

void rwp_font(cairo_t *cr, double size, int bold);
/* Draws `s` with its box anchored at (x, y): ax 0/0.5/1 = left/centre/right,
 * ay 0/0.5/1 = top/middle/bottom of the font's line box. */
void rwp_text(cairo_t *cr, double x, double y, double ax, double ay,
              const char *s);
/* Same, rotated 90 degrees counter-clockwise (reads bottom to top);
 * anchors refer to the rotated text's own box. */
void rwp_text_up(cairo_t *cr, double x, double y, double ax, double ay,
                 const char *s);
/* Like rwp_text but never wider than max_w: shrinks the font down to 80%,
 * then cuts the text with an ellipsis. Restores the font size. */
void rwp_text_fit(cairo_t *cr, double x, double y, double ax, double ay,
                  double max_w, const char *s);
double rwp_text_width(cairo_t *cr, const char *s);
double rwp_line_height(cairo_t *cr);

/* ---------------- axes and panels ---------------- */

#define RWP_MAX_TICKS 48

typedef struct rwp_axis {
    /* set by the caller */
    const char *label;  /* with units, e.g. "loss (cross-entropy)" */
    double dmin, dmax;  /* data range (NaN or inf when there is no data) */
    int log;            /* log10 scale (needs dmin > 0) */
    int integer;        /* ticks only at whole numbers */
    int si;             /* tick labels as 12k, 1.5M */
    int tight;          /* range = data range (+3% margin), not rounded out */
    int exact;          /* range = [dmin, dmax] exactly (image pixels) */
    int invert;         /* y axes: lo at the top (image rows) */
    double force_step;  /* linear axes: use this tick step when > 0 */
    double floor, ceil; /* the range never goes past these */
    /* filled by rwp_axis_fit */
    double lo, hi;
    double ticks[RWP_MAX_TICKS];
    size_t nticks;
    double step; /* linear tick step (1 decade = 1 for log axes) */
} rwp_axis;

/* Axis with a label and no limits; the rest zeroed. */
rwp_axis rwp_axis_make(const char *label);
/* Chooses the shown range and about `target` ticks at 1-2-5 steps. */
void rwp_axis_fit(rwp_axis *a, double target);
/* A colour bar of percentages: 0 to 100 in about 5 ticks. */
rwp_axis rwp_percent_axis(const char *label);
/* Tick label for value v on axis a (buf of `n` bytes). */
void rwp_axis_format(const rwp_axis *a, double v, char *buf, size_t n);
/* Formats a count with SI suffix (950, 12.3k, 1.5M). */
void rwp_format_si(double v, char *buf, size_t n);

typedef struct rwp_panel {
    const char *title;
    rwp_axis xa, ya;
    double x, y, w, h; /* plot area, set by rwp_panel_place */
    double bx, bw;     /* the box it was placed in (for the title) */
} rwp_panel;

/* Lays the panel out inside the box (bx, by, bw, bh), leaving room for the
 * title, tick labels and axis labels, and fits both axes. */
void rwp_panel_place(cairo_t *cr, rwp_panel *p, double bx, double by, double bw,
                     double bh);
/* Background, grid, frame, ticks, labels and title. */
void rwp_panel_frame(cairo_t *cr, const rwp_panel *p);
/* Data to device coordinates (NaN when not representable, e.g. <= 0 on a
 * log axis). */
double rwp_px(const rwp_panel *p, double v);
double rwp_py(const rwp_panel *p, double v);

typedef enum rwp_marker {
    RWP_MARK_NONE = 0,
    RWP_MARK_CIRCLE,
    RWP_MARK_SQUARE,
    RWP_MARK_TRIANGLE,
    RWP_MARK_DIAMOND
} rwp_marker;

typedef struct rwp_series {
    const char *label;
    const double *x, *y; /* NaN in y breaks the line */
    size_t n;
    rwp_rgb colour;
    int dashed;
    rwp_marker marker;
} rwp_series;

/* Marker for the i-th series (cycles through the shapes). */
rwp_marker rwp_marker_for(size_t i);
/* Draws the series clipped to the plot area. Markers are drawn only when
 * there are few points, and always for isolated points. */
void rwp_plot_series(cairo_t *cr, const rwp_panel *p, const rwp_series *s);
/* Legend for the labelled series, inside the plot area in the corner that
 * covers the fewest data points. */
void rwp_legend(cairo_t *cr, const rwp_panel *p, const rwp_series *s, size_t n);
/* Draws one legend swatch (line, dash and marker) at (x, y) centre-left,
 * `len` long. */
void rwp_swatch(cairo_t *cr, double x, double y, double len,
                const rwp_series *s);
/* Message centred in the plot area (e.g. "no data"). */
void rwp_panel_note(cairo_t *cr, const rwp_panel *p, const char *msg);

/* ---------------- heat maps ---------------- */

/* Vertical viridis colour bar in (x, y, w, h) with ticks from `a` (which
 * must be fitted, lo at the bottom) on its right and the axis label. */
void rwp_colorbar(cairo_t *cr, double x, double y, double w, double h,
                  const rwp_axis *a);
/* Width the colour bar with its tick labels and label will take. */
double rwp_colorbar_width(cairo_t *cr, double bar_w, const rwp_axis *a);

/* ---------------- figures ---------------- */

/* Draws the figure title (and an optional subtitle) across the top of a
 * canvas W wide; returns the y below them. */
double rwp_title(cairo_t *cr, double W, const char *title,
                 const char *subtitle);

/* A matrix of coloured cells with optional text, row and column names,
 * axis labels and a colour bar (confusion and retention matrices). */
typedef struct rwp_grid {
    size_t rows, cols;
    const double *colour; /* rows x cols, 0..1, NaN = no value */
    void (*text)(const void *ctx, size_t r, size_t c, char *buf, size_t n);
    const void *text_ctx;
    const char *const *row_names, *const *col_names;
    const char *xlabel, *ylabel;
    rwp_axis bar; /* colour bar, already fitted; colour 0..1 = lo..hi */
    int outline_diag;
} rwp_grid;

/* Draws the grid inside (x, y, w, h) with square cells; text colour
 * follows the cell's brightness; names are thinned out when cells are
 * smaller than a line of text. */
void rwp_grid_draw(cairo_t *cr, double x, double y, double w, double h,
                   const rwp_grid *g);

/* ---------------- output ---------------- */

typedef struct rwp_stats {
    int width, height;
    double mean, variance; /* of pixel luminance 0..255 */
} rwp_stats;

typedef int (*rwp_draw_fn)(cairo_t *cr, double w, double h, void *ctx,
                           char *errbuf, size_t errlen);

/* Creates the output for `path` (.png, .svg or .pdf by extension, any
 * case), calls `draw` on a white canvas of w x h, and writes the file.
 * When `stats` is not NULL it receives the pixel statistics of the image
 * (rendered once more as pixels for vector formats). Returns 0 or non-zero
 * with "<path>: <what>" in errbuf; a partly written file is removed. */
int rwp_render(const char *path, int w, int h, rwp_draw_fn draw, void *ctx,
               rwp_stats *stats, char *errbuf, size_t errlen);

/* rwp_render with the canvas size from `o` (or dw x dh when unset);
 * prints "<out>: WxH px, mean M, variance V" when o->stats is set. */
int rwp_render_opts(const char *out, int dw, int dh, rwp_draw_fn fn, void *ctx,
                    const rwp_opts *o, char *errbuf, size_t errlen);

#endif /* RW_HAVE_CAIRO */

/* Checks that `path` names a format this build can write. Returns 0, or
 * with a message in errbuf 2 when its extension is no picture format (a
 * bad option) and 1 when this build cannot write it. Works without cairo
 * (then it always fails, saying so). */
int rwp_check_format(const char *path, char *errbuf, size_t errlen);

#endif /* RW_CLI_PLOT_DRAW_H */
