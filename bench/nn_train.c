/*
 * nn_train.c — kiln's side of bench/nn_vs_pytorch.sh (issue 7, acceptance
 * 5); bench/pytorch_fashion.py is PyTorch's side, doing the same work.
 *
 *   bench_nn_train [--threads T] [--epochs N] [--api low|fit]
 *                  [--iris-steps N] [--data DIR]
 *
 * 1. Fashion-MNIST, 784-256-128-10 (ReLU), Glorot-uniform weights and zero
 *    biases, Adam lr 1e-3, batch 128, a seeded shuffle every epoch, N
 *    epochs (default 10) over the 60000 training images; then the test
 *    accuracy on the 10000 test images.
 *      --api low  the training step compiled from kiln.h and driven by a
 *                 plain loop; the last partial batch (96 images) of each
 *                 epoch is dropped, as PyTorch's DataLoader(drop_last=True)
 *                 does in the PyTorch script: 468 steps per epoch.
 *      --api fit  kiln_fit (no validation, verbose 0), which pads the last
 *                 partial batch instead: 469 steps per epoch.
 *    Timed: from before the first compile to after the last step (data
 *    loading excluded, compilation included and also printed alone).
 * 2. The Iris-sized training step: 4-16-3, batch 120, Adam; the median
 *    time of one kiln_run over --iris-steps runs (default 5000) after a
 *    warm-up.  Random inputs (the time does not depend on the values).
 *
 * Prints one line of key=value pairs, read by nn_vs_pytorch.sh; cpu_s is
 * the process's CPU time (user + system) up to the end of part 1, data
 * loading included — on a shared machine it varies less than wall time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kiln.h"
#include "kiln_data.h"
#include "kiln_nn.h"

enum { PIXELS = 784, CLASSES = 10, BATCH = 128 };

typedef struct options {
    int threads, epochs, iris_steps, fit;
    const char *data;
} options;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static kiln_program *compile(kiln_graph *g, int threads)
{
    kiln_program *p = kiln_compile(g, &(kiln_compile_options){.backend = KILN_BACKEND_CPU,
                                                                 .threads = threads});
    if (!p)
        fprintf(stderr, "bench_nn_train: %s\n", kiln_graph_error(g));
    kiln_graph_free(g);
    return p;
}

/* Logits of x [n, sizes[0]] through dense layers (ReLU between). */
static kiln_node mlp(kiln_graph *g, kiln_node x, int layers, const int64_t *sizes)
{
    for (int i = 0; i < layers; i++) {
        char w[16], b[16];
        snprintf(w, sizeof w, "w%d", i);
        snprintf(b, sizeof b, "b%d", i);
        kiln_node W = kiln_param(g, w, KILN_F32, 2, (int64_t[]){sizes[i], sizes[i + 1]},
                                 kiln_init_glorot((uint32_t)i + 1));
        kiln_node B = kiln_param(g, b, KILN_F32, 1, &sizes[i + 1], kiln_init_zeros());
        x = kiln_add(g, kiln_matmul(g, x, W), B);
        if (i + 1 < layers)
            x = kiln_relu(g, x);
    }
    return x;
}

static kiln_program *training_step(int64_t batch, int layers, const int64_t *sizes,
                                   int threads)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){batch, sizes[0]});
    kiln_node y = kiln_input(g, "y", KILN_I32, 1, (int64_t[]){batch});
    kiln_node loss = kiln_softmax_cross_entropy(g, mlp(g, x, layers, sizes), y);
    kiln_output(g, "loss", loss);
    kiln_adam(g, loss, &(kiln_adam_options){.lr = 1e-3});
    return compile(g, threads);
}

static const int64_t MLP[4] = {PIXELS, 256, 128, CLASSES};

/* Test accuracy of the step's weights: one forward pass over d. */
static double accuracy(kiln_program *step, const kiln_dataset *d, int threads)
{
    int64_t n = kiln_dataset_size(d);
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){n, PIXELS});
    kiln_output(g, "class", kiln_argmax(g, mlp(g, x, 3, MLP), 1, 0));
    kiln_program *p = compile(g, threads);
    int32_t *cls = malloc((size_t)n * sizeof *cls);
    float *buf = malloc(PIXELS * 256 * sizeof *buf);
    double acc = -1;
    if (p && cls && buf) {
        for (int i = 0; i < kiln_program_binding_count(p); i++) {
            kiln_binding b;
            kiln_program_binding(p, i, &b);
            size_t bytes = sizeof(float) * (size_t)b.dims[0] * (b.rank > 1 ? (size_t)b.dims[1] : 1);
            if (b.kind == 'p') {
                kiln_get_param(step, b.name, buf, bytes);
                kiln_set_param(p, b.name, buf, bytes);
            }
        }
        kiln_set_input(p, "x", kiln_dataset_x(d), (size_t)n * PIXELS * sizeof(float));
        if (kiln_run(p) == KILN_OK &&
            kiln_get_output(p, "class", cls, (size_t)n * sizeof *cls) == KILN_OK) {
            const int32_t *y = kiln_dataset_y(d);
            int64_t right = 0;
            for (int64_t i = 0; i < n; i++)
                right += cls[i] == y[i];
            acc = (double)right / (double)n;
        }
    }
    free(cls);
    free(buf);
    kiln_program_free(p);
    return acc;
}

static void shuffle(int64_t *idx, int64_t n, uint64_t *state)
{
    for (int64_t i = n - 1; i > 0; i--) {
        *state ^= *state << 13, *state ^= *state >> 7, *state ^= *state << 17;
        int64_t j = (int64_t)(*state % (uint64_t)(i + 1)), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

/* --api low: returns the test accuracy, times into *train_s, *compile_s. */
static double train_low(const options *o, const kiln_dataset *tr, const kiln_dataset *te,
                        double *train_s, double *compile_s)
{
    int64_t n = kiln_dataset_size(tr);
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    float *x = malloc(BATCH * PIXELS * sizeof *x);
    int32_t y[BATCH];
    uint64_t state = 42;
    double t0 = now_s();
    kiln_program *step = training_step(BATCH, 3, MLP, o->threads);
    *compile_s = now_s() - t0;
    if (!step || !idx || !x) {
        free(idx);
        free(x);
        kiln_program_free(step);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        idx[i] = i;
    for (int e = 0; e < o->epochs; e++) {
        shuffle(idx, n, &state);
        for (int64_t b = 0; b + BATCH <= n; b += BATCH) {
            kiln_dataset_gather(tr, idx + b, BATCH, x, y);
            kiln_set_input(step, "x", x, BATCH * PIXELS * sizeof *x);
            kiln_set_input(step, "y", y, sizeof y);
            if (kiln_run(step) != KILN_OK) {
                fprintf(stderr, "bench_nn_train: %s\n", kiln_program_error(step));
                e = o->epochs;
                break;
            }
        }
    }
    *train_s = now_s() - t0;
    double acc = accuracy(step, te, o->threads);
    kiln_program_free(step);
    free(idx);
    free(x);
    return acc;
}

/* --api fit: the same network and optimizer through kiln_nn.h. */
static double train_fit(const options *o, const kiln_dataset *tr, const kiln_dataset *te,
                        double *train_s, double *compile_s)
{
    kiln_model *m = kiln_model_new(1, (int64_t[]){PIXELS});
    kiln_model_add(m, kiln_dense(256, KILN_ACT_RELU));
    kiln_model_add(m, kiln_dense(128, KILN_ACT_RELU));
    kiln_model_add(m, kiln_dense(CLASSES, KILN_ACT_NONE));
    kiln_model_backend(m, KILN_BACKEND_CPU, o->threads);
    kiln_fit_options f = kiln_fit_defaults();
    f.loss = KILN_LOSS_SOFTMAX_CE;
    f.nmetrics = 1;
    f.metrics[0] = KILN_METRIC_ACCURACY;
    f.optimizer = kiln_opt_adam(1e-3);
    f.epochs = o->epochs;
    f.batch_size = BATCH;
    f.validation_split = 0;
    f.verbose = 0;
    double t0 = now_s(), loss, acc = -1;
    kiln_history *h = kiln_fit(m, tr, NULL, &f);
    *train_s = now_s() - t0;
    *compile_s = -1; /* inside kiln_fit, not measured apart */
    if (!h || kiln_evaluate(m, te, &f, &loss, &acc) != KILN_OK)
        fprintf(stderr, "bench_nn_train: %s\n", kiln_model_error(m));
    kiln_history_free(h);
    kiln_model_free(m);
    return acc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median microseconds of one 4-16-3 training step at batch 120. */
static double iris_step_us(const options *o)
{
    static const int64_t sizes[3] = {4, 16, 3};
    kiln_program *p = training_step(120, 2, sizes, o->threads);
    double *t = malloc((size_t)o->iris_steps * sizeof *t), med = -1;
    float x[120 * 4];
    int32_t y[120];
    uint64_t s = 7;
    for (int i = 0; i < 120 * 4; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (float)((s >> 11) * 0x1p-53 * 4 - 2);
        y[i / 4] = (int32_t)(s % 3);
    }
    if (p && t && !kiln_set_input(p, "x", x, sizeof x) && !kiln_set_input(p, "y", y, sizeof y)) {
        for (int i = 0; i < 200; i++) /* warm-up */
            kiln_run(p);
        for (int i = 0; i < o->iris_steps; i++) {
            double t0 = now_s();
            kiln_run(p);
            t[i] = (now_s() - t0) * 1e6;
        }
        qsort(t, (size_t)o->iris_steps, sizeof *t, cmp_double);
        med = t[o->iris_steps / 2];
    }
    free(t);
    kiln_program_free(p);
    return med;
}

static int parse(int argc, char **argv, options *o)
{
    *o = (options){1, 10, 5000, 0, "/usr/share/datasets/fashion-mnist"};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--threads"))
            o->threads = atoi(v);
        else if (!strcmp(a, "--epochs"))
            o->epochs = atoi(v);
        else if (!strcmp(a, "--iris-steps"))
            o->iris_steps = atoi(v);
        else if (!strcmp(a, "--api") && (!strcmp(v, "low") || !strcmp(v, "fit")))
            o->fit = !strcmp(v, "fit");
        else if (!strcmp(a, "--data"))
            o->data = v;
        else
            return -1;
    }
    return argc % 2 == 1 && o->threads >= 1 && o->epochs >= 0 && o->iris_steps >= 1 ? 0 : -1;
}

static kiln_dataset *load(const char *dir, const char *set)
{
    char images[1024], labels[1024], err[512];
    snprintf(images, sizeof images, "%s/%s-images-idx3-ubyte.gz", dir, set);
    snprintf(labels, sizeof labels, "%s/%s-labels-idx1-ubyte.gz", dir, set);
    kiln_dataset *d = kiln_read_idx(images, labels, err, sizeof err);
    if (!d)
        fprintf(stderr, "bench_nn_train: %s\n", err);
    return d;
}

int main(int argc, char **argv)
{
    options o;
    if (parse(argc, argv, &o)) {
        fprintf(stderr, "usage: bench_nn_train [--threads T] [--epochs N] [--api low|fit] "
                        "[--iris-steps N] [--data DIR]\n");
        return 2;
    }
    double train_s = 0, compile_s = 0, acc = -1;
    if (o.epochs > 0) {
        kiln_dataset *tr = load(o.data, "train"), *te = tr ? load(o.data, "t10k") : NULL;
        if (!te) {
            kiln_dataset_free(tr);
            return 1;
        }
        acc = o.fit ? train_fit(&o, tr, te, &train_s, &compile_s)
                    : train_low(&o, tr, te, &train_s, &compile_s);
        kiln_dataset_free(tr);
        kiln_dataset_free(te);
        if (acc < 0)
            return 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    double iris = iris_step_us(&o);
    getrusage(RUSAGE_SELF, &ru);
    printf("impl=kiln-%s threads=%d epochs=%d train_s=%.2f compile_s=%.2f cpu_s=%.1f "
           "test_acc=%.4f peak_rss_mb=%.0f iris_step_us=%.2f\n", o.fit ? "fit" : "low",
           o.threads, o.epochs, train_s, compile_s, cpu_s, acc,
           (double)ru.ru_maxrss / 1024.0, iris);
    return iris < 0 ? 1 : 0;
}
