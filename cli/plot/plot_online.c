/* rewire plot --online A.json,B.json,...: the online accuracy per task (or,
 * with --dormant, the dormant fraction of the first hidden layer per task)
 * (with --rank, its effective rank) of several `rewire continual --online`
 * reports, one line per report,
 * labelled by the report's method, maintenance and rewiring. */
#include "../cli.h"
#include "../json.h"
#include "plot_data.h"
#include "plot_draw.h"
#include "plot_online.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ONLINE_MAX_REPORTS 16

#ifdef RW_HAVE_CAIRO
typedef struct online_plot {
    size_t n;
    char label[ONLINE_MAX_REPORTS][96];
    double *x[ONLINE_MAX_REPORTS], *y[ONLINE_MAX_REPORTS];
    size_t len[ONLINE_MAX_REPORTS];
    int dormant; /* what to draw: 0 online accuracy, 1 dormant, 2 rank */
    const rwp_opts *o;
} online_plot;

static int draw_online(cairo_t *cr, double W, double H, void *vp, char *errbuf,
                       size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    const online_plot *op = vp;
    static const char *const titles[3] = {
        "Online accuracy per task", "Dormant fraction of hidden layer 1 per task",
        "Effective rank of hidden layer 1 per task"};
    static const char *const ylab[3] = {"online accuracy", "dormant fraction",
                                        "effective rank"};
    const char *dflt = titles[op->dormant];
    double top = rwp_title(cr, W, op->o->title ? op->o->title : dflt, NULL);
    rwp_panel p;
    memset(&p, 0, sizeof p);
    p.xa = rwp_axis_make("task");
    p.xa.integer = 1;
    p.xa.tight = 1;
    p.ya = rwp_axis_make(ylab[op->dormant]);
    rwp_series s[ONLINE_MAX_REPORTS];
    double lo = INFINITY, hi = -INFINITY, xmax = 1;
    for (size_t i = 0; i < op->n; i++) {
        s[i] = (rwp_series){op->label[i], op->x[i], op->y[i], op->len[i],
                            rwp_palette(i), i >= 8, rwp_marker_for(i)};
        for (size_t k = 0; k < op->len[i]; k++)
            if (isfinite(op->y[i][k])) {
                lo = fmin(lo, op->y[i][k]);
                hi = fmax(hi, op->y[i][k]);
            }
        xmax = fmax(xmax, (double)op->len[i]);
    }
    if (!(lo <= hi))
        lo = 0, hi = 1;
    p.xa.dmin = 1;
    p.xa.dmax = xmax;
    p.ya.dmin = lo;
    p.ya.dmax = hi > lo ? hi : lo + 1e-3;
    rwp_panel_place(cr, &p, 12, top + 4, W - 24, H - top - 14);
    rwp_panel_frame(cr, &p);
    for (size_t i = 0; i < op->n; i++)
        rwp_plot_series(cr, &p, &s[i]);
    rwp_legend(cr, &p, s, op->n);
    return 0;
}

/* Reads one report into op's slot i. */
static int load_report(online_plot *op, size_t i, const char *path,
                       char *errbuf, size_t errlen)
{
    size_t len;
    char *text = rw_json_read_file(path, (size_t)1 << 28, &len);
    if (!text) {
        snprintf(errbuf, errlen, "%s: cannot read", path);
        return 1;
    }
    rw_json_error je;
    rw_json *root = rw_json_parse(text, len, &je);
    free(text);
    if (!root) {
        snprintf(errbuf, errlen, "%s:%zu:%zu: %s", path, je.line, je.column, je.msg);
        return 1;
    }
    static const char *const keys[3] = {"online_accuracy", "dormant_fraction",
                                        "effective_rank"};
    const rw_json *v = rw_json_get(root, keys[op->dormant]);
    const rw_json *maint = rw_json_get(root, "maintain"),
                  *rew = rw_json_get(root, "rewire"),
                  *sparse = rw_json_get(root, "sparse");
    int rc = 0;
    if (!v || v->type != RW_JSON_ARRAY || v->len == 0) {
        snprintf(errbuf, errlen, "%s: no %s list (write it with rewire "
                 "continual --online --out)", path,
                 keys[op->dormant]);
        rc = 1;
    } else {
        op->len[i] = v->len;
        op->x[i] = malloc(v->len * sizeof(double));
        op->y[i] = malloc(v->len * sizeof(double));
        if (!op->x[i] || !op->y[i]) {
            snprintf(errbuf, errlen, "%s: out of memory", path);
            rc = 1;
        }
        for (size_t k = 0; !rc && k < v->len; k++) {
            const rw_json *e = &v->items[k];
            if (op->dormant && e->type == RW_JSON_ARRAY && e->len)
                e = &e->items[0];
            op->x[i][k] = (double)(k + 1);
            op->y[i][k] = e->type == RW_JSON_NUMBER ? e->number : NAN;
        }
        const char *opt = "";
        const rw_json *o = rw_json_get(root, "optimizer");
        (void)o;
        snprintf(op->label[i], sizeof op->label[i], "%s%s%s%s",
                 sparse && sparse->type == RW_JSON_BOOL && sparse->boolean &&
                         rew && rew->type == RW_JSON_STRING
                     ? rew->string : "dense",
                 maint && maint->type == RW_JSON_STRING &&
                         strcmp(maint->string, "none") != 0
                     ? " + " : "",
                 maint && maint->type == RW_JSON_STRING &&
                         strcmp(maint->string, "none") != 0
                     ? maint->string : "",
                 opt);
        /* The file name tells runs of the same method apart. */
        size_t n = strlen(op->label[i]);
        snprintf(op->label[i] + n, sizeof op->label[i] - n, " (%s)",
                 cli_base_name(path));
    }
    rw_json_free(root);
    return rc;
}
#endif

int rwp_plot_online(const char *list, int dormant, const char *out,
                    const rwp_opts *o, char *errbuf, size_t errlen)
{
    if (rwp_check_format(out, errbuf, errlen))
        return 1;
#ifdef RW_HAVE_CAIRO
    online_plot op;
    memset(&op, 0, sizeof op);
    op.dormant = dormant;
    op.o = o;
    int rc = 0;
    const char *p = list;
    while (*p && !rc) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char path[1024];
        if (op.n >= ONLINE_MAX_REPORTS || n == 0 || n >= sizeof path) {
            snprintf(errbuf, errlen, "--online: at most %d reports, no empty or "
                     "overlong names", ONLINE_MAX_REPORTS);
            rc = 1;
            break;
        }
        memcpy(path, p, n);
        path[n] = '\0';
        rc = load_report(&op, op.n, path, errbuf, errlen);
        op.n++;
        p = comma ? comma + 1 : p + n;
    }
    if (!rc)
        rc = rwp_render_opts(out, 1000, 650, draw_online, &op, o, errbuf, errlen);
    for (size_t i = 0; i < op.n; i++) {
        free(op.x[i]);
        free(op.y[i]);
    }
    return rc;
#else
    (void)list;
    (void)dormant;
    (void)o;
    return 1;
#endif
}
