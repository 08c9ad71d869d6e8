/*
 * overfit.c — the lesson's picture made real: a model with as many
 * parameters as it likes can pass through every training point and still
 * be a bad model.
 *
 *   build/examples/overfit [--epochs N] [--out DIR]
 *
 * Data: y = 0.5 + 1.5 x + noise (sd 0.4, seeded); 5 training points at
 * x = -1, -0.6, 0.1, 0.35, 1 and 7 validation points spread evenly over
 * [-1.2, 1.2] (a little beyond the training points, where a model is still
 * expected to answer sensibly).
 *
 * Two models, both trained full-batch with Adam (lr 0.05) until the
 * training error stops moving:
 *   linear       y = w x + b                          2 parameters
 *   polynomial   y = b + w1 x + w2 x^2 + ... + w6 x^6 7 parameters
 * The polynomial is a sequential model too: a custom layer turns x into
 * the features (x, x^2, ..., x^6), then a dense layer with one output.
 * With 7 parameters and 5 points it can fit the noise exactly (training
 * error ~ 0) and pays for it between and beyond the points.
 *
 * Writes DIR/overfit.svg (default /tmp): the points and both fitted curves,
 * and DIR/overfit_poly_loss.svg, the polynomial's loss curves.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln_nn.h"

enum { NTRAIN = 5, NVAL = 7, DEGREE = 6, GRID = 121 };
static const double XMIN = -1.3, XMAX = 1.3;

typedef struct points {
    float x[NTRAIN + NVAL], y[NTRAIN + NVAL]; /* training first */
} points;

/* A small deterministic generator for the noise (splitmix64). */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double normal(uint64_t *s)
{
    double u1 = ((next_u64(s) >> 11) + 0.5) * 0x1p-53;
    double u2 = ((next_u64(s) >> 11) + 0.5) * 0x1p-53;
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static void make_points(points *p)
{
    static const float xtrain[NTRAIN] = {-1.0f, -0.6f, 0.1f, 0.35f, 1.0f};
    uint64_t seed = 5;
    for (int i = 0; i < NTRAIN + NVAL; i++) {
        p->x[i] = i < NTRAIN ? xtrain[i] : (float)(-1.2 + 2.4 * (i - NTRAIN) / (NVAL - 1));
        p->y[i] = (float)(0.5 + 1.5 * p->x[i] + 0.4 * normal(&seed));
    }
}

/* The custom layer: x [batch, 1] -> [batch, degree] = (x, x^2, ..., x^d). */
static kiln_node powers(kiln_graph *g, kiln_node x, const kiln_layer_ctx *ctx, void *user)
{
    (void)ctx;
    int degree = *(const int *)user;
    kiln_node cols[16], p = x;
    for (int k = 0; k < degree && k < 16; k++) {
        cols[k] = p;
        p = kiln_mul(g, p, x);
    }
    return kiln_concat(g, degree, cols, 1);
}

static kiln_model *make_model(const int *degree)
{
    kiln_model *m = kiln_model_new(1, (int64_t[]){1});
    if (!m)
        return NULL;
    if (*degree > 1)
        kiln_model_add(m, kiln_custom(powers, (void *)degree));
    kiln_model_add(m, kiln_dense(1, KILN_ACT_NONE));
    kiln_model_seed(m, 1);
    kiln_model_backend(m, KILN_BACKEND_CPU, 1);
    return m;
}

static kiln_dataset *dataset(const float *x, const float *y, int n)
{
    char err[256];
    const int64_t one[1] = {1};
    kiln_dataset *d = kiln_dataset_new(n, 1, one, x, KILN_F32, 1, one, y, err, sizeof err);
    if (!d)
        fprintf(stderr, "overfit: %s\n", err);
    return d;
}

typedef struct fitted {
    double train_mse, val_mse;
    float curve[GRID]; /* predictions on the plot's grid */
} fitted;

/* Train one model to convergence; its errors and its curve into f. */
static int train(const int *degree, const kiln_dataset *tr, const kiln_dataset *val,
                 int epochs, const char *plot, fitted *f)
{
    kiln_model *m = make_model(degree);
    if (!m)
        return -1;
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_MSE;
    o.optimizer = kiln_opt_adam(0.05);
    o.epochs = epochs;
    o.batch_size = NTRAIN; /* full batch: one step per epoch */
    o.shuffle = 0;
    o.verbose = 0;
    float grid[GRID];
    for (int i = 0; i < GRID; i++)
        grid[i] = (float)(XMIN + (XMAX - XMIN) * i / (GRID - 1));
    double unused[KILN_MAX_METRICS];
    kiln_history *h = kiln_fit(m, tr, val, &o);
    int rc = h && kiln_evaluate(m, tr, &o, &f->train_mse, unused) == KILN_OK &&
                     kiln_evaluate(m, val, &o, &f->val_mse, unused) == KILN_OK &&
                     kiln_predict(m, GRID, grid, f->curve, GRID) == KILN_OK
                 ? 0 : -1;
    if (rc)
        fprintf(stderr, "overfit: %s\n", kiln_model_error(m));
    else if (plot && kiln_history_plot(h, plot) != KILN_OK)
        fprintf(stderr, "overfit: could not write %s_loss.svg\n", plot);
    kiln_history_free(h);
    kiln_model_free(m);
    return rc;
}

/* ---- the picture: points and both curves, as a self-contained SVG ---- */

enum { W = 640, H = 420, PAD = 40 };
static const double YMIN = -2.0, YMAX = 3.5;

static double sx(double x) { return PAD + (x - XMIN) / (XMAX - XMIN) * (W - 2 * PAD); }
static double sy(double y) { return H - PAD - (y - YMIN) / (YMAX - YMIN) * (H - 2 * PAD); }

/* A curve as polylines through the grid points inside the plot's y range
 * (the polynomial leaves it near the ends). */
static void svg_curve(FILE *f, const float *y, const char *color)
{
    int open = 0;
    for (int i = 0; i <= GRID; i++) {
        int inside = i < GRID && y[i] >= YMIN && y[i] <= YMAX;
        if (inside && !open)
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                       "points=\"", color);
        if (inside)
            fprintf(f, "%.1f,%.1f ", sx(XMIN + (XMAX - XMIN) * i / (GRID - 1)), sy(y[i]));
        if (!inside && open)
            fprintf(f, "\"/>\n");
        open = inside;
    }
}

static void svg_legend(FILE *f, int row, const char *color, int dot, const char *text)
{
    double y = PAD + 14 + 18 * row;
    if (dot)
        fprintf(f, "<circle cx=\"%d\" cy=\"%.0f\" r=\"4\" %s/>\n", PAD + 18, y - 4, color);
    else
        fprintf(f, "<line x1=\"%d\" y1=\"%.0f\" x2=\"%d\" y2=\"%.0f\" stroke=\"%s\" "
                   "stroke-width=\"2\"/>\n", PAD + 8, y - 4, PAD + 28, y - 4, color);
    fprintf(f, "<text x=\"%d\" y=\"%.0f\" font-size=\"13\">%s</text>\n", PAD + 36, y, text);
}

static int write_svg(const char *path, const points *p, const fitted *lin, const fitted *poly)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "overfit: cannot write %s\n", path);
        return -1;
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" "
               "fill=\"white\"/>\n", W, H);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
               "stroke=\"#888\"/>\n", PAD, PAD, W - 2 * PAD, H - 2 * PAD);
    fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\">5 noisy points of a line: "
               "2 vs 7 parameters</text>\n", PAD);
    svg_curve(f, lin->curve, "#1f77b4");
    svg_curve(f, poly->curve, "#d62728");
    for (int i = 0; i < NTRAIN + NVAL; i++)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" %s/>\n", sx(p->x[i]), sy(p->y[i]),
                i < NTRAIN ? "fill=\"black\"" : "fill=\"white\" stroke=\"black\"");
    svg_legend(f, 0, "fill=\"black\"", 1, "training points");
    svg_legend(f, 1, "fill=\"white\" stroke=\"black\"", 1, "validation points");
    svg_legend(f, 2, "#1f77b4", 0, "linear (2 parameters)");
    svg_legend(f, 3, "#d62728", 0, "degree-6 polynomial (7 parameters)");
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int epochs = 6000;
    const char *out = "/tmp";
    int bad = argc % 2 == 0; /* options come in pairs */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--epochs"))
            epochs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else
            bad = 1;
    }
    if (epochs < 1 || bad) {
        fprintf(stderr, "usage: overfit [--epochs N] [--out DIR]\n");
        return 2;
    }
    points p;
    make_points(&p);
    kiln_dataset *tr = dataset(p.x, p.y, NTRAIN), *val = dataset(p.x + NTRAIN,
                                                               p.y + NTRAIN, NVAL);
    static const int linear = 1, poly = DEGREE;
    fitted lin, pol;
    char loss_plot[1024], svg[1024];
    snprintf(loss_plot, sizeof loss_plot, "%s/overfit_poly", out);
    snprintf(svg, sizeof svg, "%s/overfit.svg", out);
    int rc = !tr || !val || train(&linear, tr, val, epochs, NULL, &lin) ||
             train(&poly, tr, val, epochs, loss_plot, &pol) || write_svg(svg, &p, &lin, &pol);
    kiln_dataset_free(tr);
    kiln_dataset_free(val);
    if (rc)
        return 1;
    printf("%d epochs of full-batch Adam on %d training points, %d validation points\n",
           epochs, NTRAIN, NVAL);
    printf("  %-11s %6s  %10s  %10s\n", "model", "params", "train MSE", "val MSE");
    printf("  %-11s %6d  %10.6f  %10.6f\n", "linear", 2, lin.train_mse, lin.val_mse);
    printf("  %-11s %6d  %10.6f  %10.6f\n", "polynomial", DEGREE + 1, pol.train_mse,
           pol.val_mse);
    printf("the polynomial fits the training points %s and misses the validation "
           "points by %.1fx the linear model's error\n",
           pol.train_mse < 1e-3 ? "almost exactly" : "closely", pol.val_mse / lin.val_mse);
    printf("plots: %s (points and fits), %s_loss.svg\n", svg, loss_plot);
    printf("summary: linear_train=%.6f linear_val=%.6f poly_train=%.6f poly_val=%.6f\n",
           lin.train_mse, lin.val_mse, pol.train_mse, pol.val_mse);
    return 0;
}
