/*
 * linear_regression.c — the course's first model, trained by kiln.
 *
 * 120 points, x evenly spaced on [0, 3], y = 2x + 0.9 + noise (sd 0.5,
 * seed 13).  The model y = w x + b is one graph; kiln_sgd appends its
 * gradients and the update, so each kiln_run is one SGD step on a batch
 * of 4.  10 epochs, lr 0.1, on the reference evaluator.  The last SGD
 * iterate wanders around the least-squares fit (printed for comparison)
 * by about +-0.15 in w, depending on the shuffling seed.
 *
 *   build/examples/linear_regression [epochs]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kiln.h"

enum { POINTS = 120, BATCH = 4 };

/* A small deterministic generator for the data (splitmix64). */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return ((next_u64(s) >> 11) + 0.5) * 0x1p-53; }

static double normal(uint64_t *s)
{
    double u1 = uniform01(s), u2 = uniform01(s);
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static void make_data(float *x, float *y)
{
    uint64_t seed = 13;
    for (int i = 0; i < POINTS; i++) {
        x[i] = (float)(3.0 * i / (POINTS - 1));
        y[i] = (float)(2 * x[i] + 0.9 + 0.5 * normal(&seed));
    }
}

/* The closed-form least-squares line, for comparison. */
static void least_squares(const float *x, const float *y, double *w, double *b)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < POINTS; i++) {
        sx += x[i];
        sy += y[i];
        sxx += (double)x[i] * x[i];
        sxy += (double)x[i] * y[i];
    }
    *w = (POINTS * sxy - sx * sy) / (POINTS * sxx - sx * sx);
    *b = (sy - *w * sx) / POINTS;
}

static kiln_program *build_step(void)
{
    kiln_graph *g = kiln_graph_new();
    int64_t col[2] = {BATCH, 1};
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, col);
    kiln_node y = kiln_input(g, "y", KILN_F32, 2, col);
    kiln_node w = kiln_param(g, "w", KILN_F32, 2, (int64_t[]){1, 1}, kiln_init_zeros());
    kiln_node b = kiln_param(g, "b", KILN_F32, 1, (int64_t[]){1}, kiln_init_zeros());
    kiln_node loss = kiln_mse(g, kiln_add(g, kiln_matmul(g, x, w), b), y);
    kiln_output(g, "loss", loss);
    kiln_sgd(g, loss, &(kiln_sgd_options){.lr = 0.1});
    kiln_program *p = kiln_compile(g, NULL);
    if (!p)
        fprintf(stderr, "linear_regression: %s\n", kiln_graph_error(g));
    kiln_graph_free(g);
    return p;
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 10;
    float x[POINTS], y[POINTS];
    int order[POINTS];
    make_data(x, y);
    kiln_program *p = build_step();
    if (!p)
        return 1;
    uint64_t shuffle = 13;
    for (int i = 0; i < POINTS; i++)
        order[i] = i;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        for (int i = POINTS - 1; i > 0; i--) {
            int j = (int)(next_u64(&shuffle) % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double total = 0;
        for (int start = 0; start < POINTS; start += BATCH) {
            float bx[BATCH], by[BATCH], loss;
            for (int k = 0; k < BATCH; k++) {
                bx[k] = x[order[start + k]];
                by[k] = y[order[start + k]];
            }
            kiln_set_input(p, "x", bx, sizeof bx);
            kiln_set_input(p, "y", by, sizeof by);
            if (kiln_run(p) != KILN_OK) {
                fprintf(stderr, "linear_regression: %s\n", kiln_program_error(p));
                kiln_program_free(p);
                return 1;
            }
            kiln_get_output(p, "loss", &loss, sizeof loss);
            total += loss;
        }
        printf("epoch %2d  loss %.4f\n", epoch, total / (POINTS / BATCH));
    }
    float w, b;
    kiln_get_param(p, "w", &w, sizeof w);
    kiln_get_param(p, "b", &b, sizeof b);
    double lw, lb;
    least_squares(x, y, &lw, &lb);
    printf("learned w = %.3f, b = %.3f (least squares: w = %.3f, b = %.3f; "
           "true: w = 2, b = 0.9)\n",
           w, b, lw, lb);
    kiln_program_free(p);
    return 0;
}
