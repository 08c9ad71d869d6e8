/*
 * small_step.c — the cost of a tiny training step (issue 7, acceptance 5:
 * the Iris 4-16-3 MLP, batch 120, softmax cross-entropy, Adam, <= 10 us).
 *
 *   bench_small_step [--steps N] [--dump FILE]
 *
 * Compiles the step for 1 and for 2 threads, then times kiln_run on both,
 * alternating in rounds of 100 runs so that drift in the machine's speed
 * hits both alike, and prints the median and 10th percentile of one run
 * for each.  --dump writes the graph as text (for `kiln explain` and
 * `kiln bench --per-kernel`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiln.h"

enum { BATCH = 120, ROUND = 100 };

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec * 1e-3;
}

static kiln_graph *iris_step(void)
{
    static const int64_t sizes[3] = {4, 16, 3};
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){BATCH, 4});
    kiln_node y = kiln_input(g, "y", KILN_I32, 1, (int64_t[]){BATCH});
    for (int i = 0; i < 2; i++) {
        char w[8], b[8];
        snprintf(w, sizeof w, "w%d", i);
        snprintf(b, sizeof b, "b%d", i);
        kiln_node W = kiln_param(g, w, KILN_F32, 2, (int64_t[]){sizes[i], sizes[i + 1]},
                                 kiln_init_glorot((uint32_t)i + 1));
        kiln_node B = kiln_param(g, b, KILN_F32, 1, &sizes[i + 1], kiln_init_zeros());
        x = kiln_add(g, kiln_matmul(g, x, W), B);
        if (i == 0)
            x = kiln_relu(g, x);
    }
    kiln_node loss = kiln_softmax_cross_entropy(g, x, y);
    kiln_output(g, "loss", loss);
    kiln_adam(g, loss, &(kiln_adam_options){.lr = 1e-3});
    return g;
}

static kiln_program *compile(int threads)
{
    kiln_graph *g = iris_step();
    kiln_program *p = kiln_compile(g, &(kiln_compile_options){.backend = KILN_BACKEND_CPU,
                                                                 .threads = threads});
    if (!p)
        fprintf(stderr, "bench_small_step: %s\n", kiln_graph_error(g));
    kiln_graph_free(g);
    if (!p)
        return NULL;
    float x[BATCH * 4];
    int32_t y[BATCH];
    uint64_t s = 7;
    for (int i = 0; i < BATCH * 4; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (float)((double)(s >> 11) * 0x1p-53 * 4 - 2);
        y[i / 4] = (int32_t)(s % 3);
    }
    kiln_set_input(p, "x", x, sizeof x);
    kiln_set_input(p, "y", y, sizeof y);
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void dump(const char *path)
{
    kiln_graph *g = iris_step();
    char *text = kiln_print(g);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (f) {
        fputs(text, f);
        fclose(f);
    } else {
        fprintf(stderr, "bench_small_step: cannot write %s\n", path);
    }
    kiln_text_free(g, text);
    kiln_graph_free(g);
}

int main(int argc, char **argv)
{
    int steps = 20000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--steps"))
            steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dump"))
            dump(argv[i + 1]);
    }
    steps = steps < ROUND ? ROUND : steps / ROUND * ROUND;
    kiln_program *p[2] = {compile(1), compile(2)};
    double *t[2] = {malloc((size_t)steps * sizeof(double)),
                    malloc((size_t)steps * sizeof(double))};
    if (!p[0] || !p[1] || !t[0] || !t[1])
        return 1;
    for (int v = 0; v < 2; v++)
        for (int i = 0; i < 500; i++) /* warm-up */
            kiln_run(p[v]);
    for (int r = 0; r < steps; r += ROUND)
        for (int v = 0; v < 2; v++)
            for (int i = r; i < r + ROUND; i++) {
                double t0 = now_us();
                kiln_run(p[v]);
                t[v][i] = now_us() - t0;
            }
    for (int v = 0; v < 2; v++) {
        qsort(t[v], (size_t)steps, sizeof(double), cmp_double);
        printf("threads=%d median_us=%.2f p10_us=%.2f p90_us=%.2f\n", v + 1,
               t[v][steps / 2], t[v][steps / 10], t[v][steps * 9 / 10]);
        kiln_program_free(p[v]);
        free(t[v]);
    }
    return 0;
}
