/*
 * nn_plot.c — training curves: kiln_plot_svg writes a self-contained SVG
 * line plot (axes, "nice" ticks, grid, legend, NaN gaps, a best-epoch
 * marker); kiln_plot_png hands the same data to gnuplot when it is on
 * PATH (KILN_ERR_UNSUPPORTED otherwise).
 */

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_data_internal.h"

#define PLOT_W 720.0
#define PLOT_H 420.0
#define LEFT 70.0
#define RIGHT 170.0 /* room for the legend */
#define TOP 40.0
#define BOTTOM 50.0
#define MAX_TICKS 12

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c",
                                      "#d62728", "#9467bd", "#8c564b",
                                      "#e377c2", "#7f7f7f"};

typedef struct axis {
    double lo, hi, step; /* tick range [lo, hi] in steps of step        */
    int count;           /* ticks: lo + i * step, i = 0 .. count - 1    */
    int decimals;        /* for the tick labels; -1: %g                 */
} axis;

/* Heckbert's "nice numbers": 1, 2, 5 or 10 times a power of ten. */
static double nice_number(double x, int round_it)
{
    double e = floor(log10(x)), f = x / pow(10.0, e), nf;
    if (round_it)
        nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else
        nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * pow(10.0, e);
}

/* About `ticks` ticks covering [lo, hi], which may be equal.  When the
 * range defeats nice numbers (huge magnitudes, a range below the values'
 * precision) it falls back to plain ticks at the data range, so the tick
 * loops always end. */
static axis nice_axis(double lo, double hi, int ticks, int integers)
{
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 0.5;
        lo -= pad;
        hi += pad;
    }
    double step = nice_number(nice_number(hi - lo, 0) / (ticks - 1), 1);
    if (integers && step < 1)
        step = 1;
    axis a = {floor(lo / step) * step, ceil(hi / step) * step, step, 0, 0};
    double n = (a.hi - a.lo) / step;
    if (isfinite(n) && n >= 1 && n <= 2 * MAX_TICKS && a.lo + step > a.lo &&
        a.hi > a.lo) {
        a.count = (int)floor(n + 0.5) + 1;
        double d = -floor(log10(step));
        a.decimals = d > 0 ? (d > 10 ? -1 : (int)d) : 0;
        return a;
    }
    /* Quarters of halves: finite even for a range of +-DBL_MAX. */
    step = hi / 4 - lo / 4;
    if (!(lo + step > lo)) {
        /* A range below the values' precision: widen it around them. */
        double pad = fabs(lo) * 1e-6;
        lo -= pad;
        hi += pad;
        step = hi / 4 - lo / 4;
    }
    return (axis){lo, hi, step, 5, -1};
}

static double tick(const axis *a, int i)
{
    double t = i == a->count - 1 ? a->hi : a->lo + i * a->step;
    return fabs(t) < fabs(a->step) * 1e-9 ? 0.0 : t; /* no "-0.0" label */
}

static void put_tick_label(FILE *f, const axis *a, double t)
{
    if (a->decimals < 0)
        fprintf(f, "%g", t);
    else
        fprintf(f, "%.*f", a->decimals, t);
}

/* SVG/XML text with the five special characters escaped. */
static void put_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* Control characters are not allowed in XML 1.0. */
            fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
        }
    }
}

typedef struct frame {
    axis x, y;
    double x0, y0, w, h; /* the plot area in pixels                    */
} frame;

static double px(const frame *fr, double epoch)
{
    return fr->x0 + (epoch / 2 - fr->x.lo / 2) / (fr->x.hi / 2 - fr->x.lo / 2) *
                        fr->w;
}

static double py(const frame *fr, double v)
{
    /* Halves keep huge ranges finite. */
    return fr->y0 + fr->h -
           (v / 2 - fr->y.lo / 2) / (fr->y.hi / 2 - fr->y.lo / 2) * fr->h;
}

static kiln_status check_args(const char *path, int ncurves,
                              const kiln_curve *curves, int *max_n,
                              char *err, size_t errlen)
{
    if (!path || ncurves < 1 || !curves)
        return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                           "plot: need a path and at least one curve");
    *max_n = 0;
    for (int c = 0; c < ncurves; c++) {
        if (curves[c].n < 0 || (curves[c].n > 0 && !curves[c].y))
            return nn_data_err(err, errlen, KILN_ERR_INVALID_ARGUMENT,
                               "plot: curve %d has no values", c);
        if (curves[c].n > *max_n)
            *max_n = curves[c].n;
    }
    return KILN_OK;
}

/* Data range over the finite values; [0, 1] when there are none. */
static void y_range(int ncurves, const kiln_curve *curves, double *lo,
                    double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int c = 0; c < ncurves; c++)
        for (int i = 0; i < curves[c].n; i++)
            if (isfinite(curves[c].y[i])) {
                *lo = fmin(*lo, curves[c].y[i]);
                *hi = fmax(*hi, curves[c].y[i]);
            }
    if (!(*lo <= *hi)) {
        *lo = 0;
        *hi = 1;
    }
}

static void svg_axes(FILE *f, const frame *fr, const char *title,
                     const char *ylabel)
{
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%g\" height=\"%g\" "
               "fill=\"white\"/>\n", PLOT_W, PLOT_H);
    fprintf(f, "<g stroke=\"#dddddd\" stroke-width=\"1\">\n");
    for (int i = 0; i < fr->y.count; i++)
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n",
                fr->x0, py(fr, tick(&fr->y, i)), fr->x0 + fr->w,
                py(fr, tick(&fr->y, i)));
    for (int i = 0; i < fr->x.count; i++)
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n",
                px(fr, tick(&fr->x, i)), fr->y0, px(fr, tick(&fr->x, i)),
                fr->y0 + fr->h);
    fprintf(f, "</g>\n<g font-family=\"sans-serif\" font-size=\"12\" "
               "fill=\"black\">\n");
    for (int i = 0; i < fr->y.count; i++) {
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">",
                fr->x0 - 6, py(fr, tick(&fr->y, i)) + 4);
        put_tick_label(f, &fr->y, tick(&fr->y, i));
        fprintf(f, "</text>\n");
    }
    for (int i = 0; i < fr->x.count; i++) {
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">",
                px(fr, tick(&fr->x, i)), fr->y0 + fr->h + 18);
        put_tick_label(f, &fr->x, tick(&fr->x, i));
        fprintf(f, "</text>\n");
    }
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">epoch"
               "</text>\n", fr->x0 + fr->w / 2, PLOT_H - 10);
    fprintf(f, "<text x=\"0\" y=\"0\" text-anchor=\"middle\" "
               "transform=\"translate(18 %.2f) rotate(-90)\">",
            fr->y0 + fr->h / 2);
    put_text(f, ylabel);
    fprintf(f, "</text>\n<text x=\"%.2f\" y=\"24\" text-anchor=\"middle\" "
               "font-size=\"16\">", fr->x0 + fr->w / 2);
    put_text(f, title);
    fprintf(f, "</text>\n</g>\n");
    fprintf(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
               "fill=\"none\" stroke=\"black\"/>\n", fr->x0, fr->y0, fr->w,
            fr->h);
}

/* One polyline per run of finite values (NaN and infinities are gaps);
 * a run of a single point is drawn as a dot. */
static void svg_curve(FILE *f, const frame *fr, const kiln_curve *c,
                      const char *color)
{
    int i = 0;
    while (i < c->n) {
        while (i < c->n && !isfinite(c->y[i]))
            i++;
        int start = i;
        while (i < c->n && isfinite(c->y[i]))
            i++;
        if (i - start == 1) {
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>"
                       "\n", px(fr, start + 1), py(fr, c->y[start]), color);
        } else if (i - start > 1) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
                       "stroke-width=\"2\" points=\"", color);
            for (int k = start; k < i; k++)
                fprintf(f, "%s%.2f,%.2f", k > start ? " " : "",
                        px(fr, k + 1), py(fr, c->y[k]));
            fprintf(f, "\"/>\n");
        }
    }
}

static void svg_legend(FILE *f, const frame *fr, int ncurves,
                       const kiln_curve *curves)
{
    double x = fr->x0 + fr->w + 14;
    fprintf(f, "<g font-family=\"sans-serif\" font-size=\"12\">\n");
    for (int c = 0; c < ncurves; c++) {
        double y = fr->y0 + 12 + 20 * c;
        const char *color = palette[c % 8];
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                   "stroke=\"%s\" stroke-width=\"2\"/>\n", x, y, x + 24, y,
                color);
        fprintf(f, "<text x=\"%.2f\" y=\"%.2f\">", x + 30, y + 4);
        put_text(f, curves[c].name ? curves[c].name : "");
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</g>\n");
}

static void svg_marker(FILE *f, const frame *fr, int epoch)
{
    double x = px(fr, epoch);
    fprintf(f, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
               "stroke=\"black\" stroke-dasharray=\"5,4\"/>\n", x, fr->y0, x,
            fr->y0 + fr->h);
    fprintf(f, "<text x=\"%.2f\" y=\"%.2f\" font-family=\"sans-serif\" "
               "font-size=\"12\">best (epoch %d)</text>\n", x + 4,
            fr->y0 + 14, epoch);
}

kiln_status kiln_plot_svg(const char *path, const char *title,
                          const char *ylabel, int ncurves,
                          const kiln_curve *curves, int mark_epoch, char *err,
                          size_t errlen)
{
    int n;
    kiln_status s = check_args(path, ncurves, curves, &n, err, errlen);
    if (s != KILN_OK)
        return s;
    double lo, hi;
    y_range(ncurves, curves, &lo, &hi);
    int last = n > mark_epoch ? n : mark_epoch;
    frame fr = {nice_axis(1, last > 1 ? last : 2, 8, 1),
                nice_axis(lo, hi, 6, 0), LEFT, TOP,
                PLOT_W - LEFT - RIGHT, PLOT_H - TOP - BOTTOM};
    FILE *f = fopen(path, "w");
    if (!f)
        return nn_data_err(err, errlen, KILN_ERR_IO, "%s: cannot write: %s",
                           path, strerror(errno));
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "
               "xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" "
               "height=\"%g\" viewBox=\"0 0 %g %g\">\n", PLOT_W, PLOT_H,
            PLOT_W, PLOT_H);
    svg_axes(f, &fr, title, ylabel);
    for (int c = 0; c < ncurves; c++)
        svg_curve(f, &fr, &curves[c], palette[c % 8]);
    if (mark_epoch >= 1)
        svg_marker(f, &fr, mark_epoch);
    svg_legend(f, &fr, ncurves, curves);
    fprintf(f, "</svg>\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return nn_data_err(err, errlen, KILN_ERR_IO, "%s: write failed",
                           path);
    return KILN_OK;
}

/* ------------------------------------------------------------------------ */
/* PNG through gnuplot                                                      */
/* ------------------------------------------------------------------------ */

static int on_path(const char *prog)
{
    const char *p = getenv("PATH");
    char buf[4096];
    while (p && *p) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        if (n > 0 && n + strlen(prog) + 2 < sizeof buf) {
            memcpy(buf, p, n);
            buf[n] = '/';
            strcpy(buf + n + 1, prog);
            if (access(buf, X_OK) == 0)
                return 1;
        }
        p = colon ? colon + 1 : NULL;
    }
    return 0;
}

/* gnuplot strings in single quotes: a quote is doubled; newlines (which
 * would end the command) become spaces. */
static void put_gp(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; s && *s; s++) {
        if (*s == '\'')
            fputs("''", f);
        else
            fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc('\'', f);
}

static void gnuplot_script(FILE *g, const char *path, const char *title,
                           const char *ylabel, int ncurves,
                           const kiln_curve *curves, int mark_epoch)
{
    fputs("set terminal png size 900,520\nset output ", g);
    put_gp(g, path);
    fputs("\nset title ", g);
    put_gp(g, title ? title : "");
    fputs("\nset ylabel ", g);
    put_gp(g, ylabel ? ylabel : "");
    fputs("\nset xlabel 'epoch'\nset grid\nset key outside right\n", g);
    if (mark_epoch >= 1)
        fprintf(g, "set arrow from %d, graph 0 to %d, graph 1 nohead "
                   "dashtype 2\nset label 'best (epoch %d)' at %d, graph 0.95"
                   " offset 0.5,0\n", mark_epoch, mark_epoch, mark_epoch,
                mark_epoch);
    fputs("plot ", g);
    for (int c = 0; c < ncurves; c++) {
        fputs(c ? ", '-' with linespoints title " : "'-' with linespoints "
                                                    "title ", g);
        put_gp(g, curves[c].name ? curves[c].name : "");
    }
    fputc('\n', g);
    /* A blank line breaks a line in gnuplot's data: the NaN gaps. */
    for (int c = 0; c < ncurves; c++) {
        for (int i = 0; i < curves[c].n; i++) {
            if (isfinite(curves[c].y[i]))
                fprintf(g, "%d %.17g\n", i + 1, curves[c].y[i]);
            else
                fputc('\n', g);
        }
        fputs("e\n", g);
    }
}

/* The script goes to a temporary file run as `gnuplot FILE` rather than
 * down a pipe: a gnuplot that dies early would otherwise kill the caller
 * with SIGPIPE. */
kiln_status kiln_plot_png(const char *path, const char *title,
                          const char *ylabel, int ncurves,
                          const kiln_curve *curves, int mark_epoch, char *err,
                          size_t errlen)
{
    int n;
    kiln_status s = check_args(path, ncurves, curves, &n, err, errlen);
    if (s != KILN_OK)
        return s;
    if (!on_path("gnuplot"))
        return nn_data_err(err, errlen, KILN_ERR_UNSUPPORTED,
                           "plot: gnuplot is not on PATH, so no PNG (the SVG "
                           "plot needs no tool)");
    char script[] = "/tmp/kiln_plot_XXXXXX";
    int fd = mkstemp(script);
    FILE *g = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!g) {
        if (fd >= 0) {
            close(fd);
            remove(script);
        }
        return nn_data_err(err, errlen, KILN_ERR_IO,
                           "plot: cannot write a gnuplot script: %s",
                           strerror(errno));
    }
    gnuplot_script(g, path, title, ylabel, ncurves, curves, mark_epoch);
    int bad = ferror(g);
    bad |= fclose(g) != 0;
    remove(path); /* so a stale file cannot pass for gnuplot's output */
    char cmd[64];
    snprintf(cmd, sizeof cmd, "gnuplot %s 2>/dev/null", script);
    int rc = bad ? -1 : system(cmd);
    remove(script);
    if (rc != 0)
        return nn_data_err(err, errlen, KILN_ERR_IO,
                           "plot: gnuplot failed (status %d) writing %s", rc,
                           path);
    if (access(path, R_OK) != 0)
        return nn_data_err(err, errlen, KILN_ERR_IO,
                           "plot: gnuplot wrote no %s", path);
    return KILN_OK;
}
