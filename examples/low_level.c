/*
 * low_level.c — iris.c's medium net (4 -> 16 -> 3) without kiln_fit: the
 * graph, the training step and the loop written by hand with kiln.h.
 *
 *   build/examples/low_level [CSV] [--epochs N]
 *
 * Part 1 writes the net as params and ops.  Part 2 lets a kiln_model
 * (kiln_nn.h) write the same forward graph with kiln_model_forward and
 * trains it with the same hand-written loop: the two levels meet in one
 * graph, and the params carry the names kiln_fit would give them.  The
 * hand-trained weights are then saved and loaded into the model, whose
 * kiln_evaluate must agree with the hand-computed accuracy.
 *
 * Data as in iris.c: a seeded, stratified 80/20 split, standardised on the
 * training rows (kiln_data.h).  A batch of 24 divides the 120 training
 * rows, so every step has the one compiled batch size.  The data goes in
 * as it is; only the graphs are built by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include "kiln.h"
#include "kiln_data.h"
#include "kiln_nn.h"

#ifndef KILN_SOURCE_DIR
#define KILN_SOURCE_DIR "."
#endif

enum { FEATURES = 4, HIDDEN = 16, CLASSES = 3, BATCH = 24 };

/* Builds logits [n, 3] for x [n, 4] in g. */
typedef kiln_node (*forward_fn)(kiln_graph *g, kiln_node x, void *user);

/* Part 1: the net written out.  Params are found by name, so building it
 * again in another graph (the classifier below) refers to the same ones. */
static kiln_node by_hand(kiln_graph *g, kiln_node x, void *user)
{
    (void)user;
    kiln_node w1 = kiln_param(g, "w1", KILN_F32, 2, (int64_t[]){FEATURES, HIDDEN},
                              kiln_init_glorot(1));
    kiln_node b1 = kiln_param(g, "b1", KILN_F32, 1, (int64_t[]){HIDDEN}, kiln_init_zeros());
    kiln_node w2 = kiln_param(g, "w2", KILN_F32, 2, (int64_t[]){HIDDEN, CLASSES},
                              kiln_init_glorot(2));
    kiln_node b2 = kiln_param(g, "b2", KILN_F32, 1, (int64_t[]){CLASSES}, kiln_init_zeros());
    kiln_node h = kiln_relu(g, kiln_add(g, kiln_matmul(g, x, w1), b1));
    return kiln_add(g, kiln_matmul(g, h, w2), b2);
}

/* Part 2: the same net described as a model. */
static kiln_node by_model(kiln_graph *g, kiln_node x, void *user)
{
    kiln_node none = {0}; /* no dropout: no random numbers needed */
    return kiln_model_forward(user, g, x, 1, none, none);
}

static kiln_program *compile(kiln_graph *g)
{
    kiln_compile_options o = {.backend = KILN_BACKEND_CPU, .threads = 1};
    kiln_program *p = kiln_compile(g, &o);
    if (!p && kiln_graph_status(g) == KILN_ERR_UNSUPPORTED) { /* built without LLVM */
        kiln_graph_clear_error(g);
        o.backend = KILN_BACKEND_REF;
        p = kiln_compile(g, &o);
    }
    if (!p)
        fprintf(stderr, "low_level: %s\n", kiln_graph_error(g));
    kiln_graph_free(g);
    return p;
}

/* One kiln_run = forward, loss, gradients and the Adam update. */
static kiln_program *training_step(forward_fn f, void *user)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){BATCH, FEATURES});
    kiln_node y = kiln_input(g, "y", KILN_I32, 1, (int64_t[]){BATCH});
    kiln_node loss = kiln_softmax_cross_entropy(g, f(g, x, user), y);
    kiln_output(g, "loss", loss);
    kiln_adam(g, loss, &(kiln_adam_options){.lr = 0.01});
    return compile(g);
}

/* Predicted classes of n rows at once. */
static kiln_program *classifier(forward_fn f, void *user, int64_t n)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){n, FEATURES});
    kiln_output(g, "class", kiln_argmax(g, f(g, x, user), 1, 0));
    return compile(g);
}

/* Copy every param of `to` from the program with the trained values. */
static int copy_params(kiln_program *from, kiln_program *to)
{
    float buf[FEATURES * HIDDEN + HIDDEN * CLASSES];
    for (int i = 0; i < kiln_program_binding_count(to); i++) {
        kiln_binding b;
        kiln_program_binding(to, i, &b);
        size_t bytes = kiln_dtype_size(b.dtype);
        for (int k = 0; k < b.rank; k++)
            bytes *= (size_t)b.dims[k];
        if (b.kind == 'p' && (bytes > sizeof buf ||
                              kiln_get_param(from, b.name, buf, bytes) != KILN_OK ||
                              kiln_set_param(to, b.name, buf, bytes) != KILN_OK)) {
            fprintf(stderr, "low_level: param %s: %s\n", b.name, kiln_program_error(from));
            return -1;
        }
    }
    return 0;
}

static double accuracy(kiln_program *trained, forward_fn f, void *user,
                       const kiln_dataset *d)
{
    int64_t n = kiln_dataset_size(d);
    kiln_program *p = classifier(f, user, n);
    int32_t *cls = malloc((size_t)n * sizeof *cls);
    double acc = -1;
    if (p && cls && !copy_params(trained, p) &&
        kiln_set_input(p, "x", kiln_dataset_x(d), (size_t)(n * FEATURES) * sizeof(float)) == KILN_OK &&
        kiln_run(p) == KILN_OK &&
        kiln_get_output(p, "class", cls, (size_t)n * sizeof *cls) == KILN_OK) {
        const int32_t *y = kiln_dataset_y(d);
        int right = 0;
        for (int64_t i = 0; i < n; i++)
            right += cls[i] == y[i];
        acc = (double)right / (double)n;
    }
    free(cls);
    kiln_program_free(p);
    return acc;
}

/* The hand-written loop: shuffle, gather a batch, run the step.  The rows
 * past the last whole batch sit out the epoch (another shuffle next time). */
static int train(kiln_program *step, const kiln_dataset *tr, int epochs)
{
    int64_t n = kiln_dataset_size(tr), *idx = malloc((size_t)n * sizeof *idx);
    float x[BATCH * FEATURES];
    int32_t y[BATCH];
    uint64_t state = 42;
    if (!idx || n < BATCH) {
        free(idx);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        idx[i] = i;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates with xorshift */
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            int64_t j = (int64_t)(state % (uint64_t)(i + 1)), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        double total = 0;
        for (int64_t b = 0; b < n / BATCH; b++) {
            float loss;
            kiln_dataset_gather(tr, idx + b * BATCH, BATCH, x, y);
            if (kiln_set_input(step, "x", x, sizeof x) || kiln_set_input(step, "y", y, sizeof y) ||
                kiln_run(step) || kiln_get_output(step, "loss", &loss, sizeof loss)) {
                fprintf(stderr, "low_level: %s\n", kiln_program_error(step));
                free(idx);
                return -1;
            }
            total += loss;
        }
        if (epoch == 1 || epoch % 25 == 0)
            printf("   epoch %3d  loss %.4f\n", epoch, total / (double)(n / BATCH));
    }
    free(idx);
    return 0;
}

/* Train, print the accuracies; the trained step program into *out. */
static int part(const char *title, forward_fn f, void *user, const kiln_dataset *tr,
                const kiln_dataset *val, int epochs, kiln_program **out, double *val_acc)
{
    printf("%s\n", title);
    kiln_program *step = training_step(f, user);
    if (!step || train(step, tr, epochs)) {
        kiln_program_free(step);
        return -1;
    }
    double acc = accuracy(step, f, user, tr);
    *val_acc = accuracy(step, f, user, val);
    printf("   training accuracy %.4f, validation accuracy %.4f\n", acc, *val_acc);
    printf("   params:");
    for (int i = 0; i < kiln_program_binding_count(step); i++) {
        kiln_binding b;
        kiln_program_binding(step, i, &b);
        if (b.kind == 'p' && !strstr(b.name, "adam")) /* not Adam's state */
            printf(" %s", b.name);
    }
    printf("\n\n");
    *out = step;
    return acc < 0 || *val_acc < 0 ? -1 : 0;
}

static int load_split(const char *csv, kiln_dataset **tr, kiln_dataset **val)
{
    char err[512];
    kiln_dataset *all = kiln_read_csv(csv, NULL, err, sizeof err);
    kiln_status s = all ? kiln_dataset_split(all, 0.2, 1, 1, tr, val, err, sizeof err)
                        : KILN_ERR_IO;
    kiln_dataset_free(all);
    if (s == KILN_OK)
        s = kiln_dataset_standardize(*tr, 1, val, err, sizeof err);
    if (s != KILN_OK)
        fprintf(stderr, "low_level: %s\n", err);
    return s == KILN_OK ? 0 : -1;
}

/* Hand the hand-trained weights (and Adam's state) to the model through a
 * checkpoint, then let the high level evaluate them. */
static int meet(kiln_model *m, kiln_program *step, const kiln_dataset *val, double hand_acc)
{
    char err[512], path[64];
    snprintf(path, sizeof path, "/tmp/kiln_low_level_%ld.safetensors", (long)getpid());
    double loss, acc;
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.nmetrics = 1;
    o.metrics[0] = KILN_METRIC_ACCURACY;
    o.optimizer = kiln_opt_adam(0.01);
    if (kiln_save_params(step, path, err, sizeof err) != KILN_OK) {
        fprintf(stderr, "low_level: %s\n", err);
        return -1;
    }
    kiln_status s = kiln_model_load(m, path);
    remove(path);
    if (s == KILN_OK)
        s = kiln_evaluate(m, val, &o, &loss, &acc);
    if (s != KILN_OK) {
        fprintf(stderr, "low_level: %s\n", kiln_model_error(m));
        return -1;
    }
    /* Accuracies are multiples of 1/30; allow for one of them summed in f32. */
    int same = fabs(acc - hand_acc) < 1e-6;
    printf("the model, given the hand-trained weights: kiln_evaluate says validation "
           "loss %.4f, accuracy %.4f (%s)\n", loss, acc,
           same ? "the same as the hand-written classifier"
                : "DIFFERENT from the hand-written classifier");
    return same ? 0 : -1;
}

int main(int argc, char **argv)
{
    char csv[1024];
    const char *root = getenv("KILN_SOURCE_ROOT");
    snprintf(csv, sizeof csv, "%s/examples/data/iris.csv", root && *root ? root : KILN_SOURCE_DIR);
    int epochs = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (argv[i][0] != '-')
            snprintf(csv, sizeof csv, "%s", argv[i]);
        else
            epochs = 0;
    }
    if (epochs < 1) {
        fprintf(stderr, "usage: low_level [CSV] [--epochs N]\n");
        return 2;
    }
    kiln_dataset *tr, *val;
    if (load_split(csv, &tr, &val))
        return 1;
    kiln_model *m = kiln_model_new(1, (int64_t[]){FEATURES});
    kiln_model_add(m, kiln_dense(HIDDEN, KILN_ACT_RELU));
    kiln_model_add(m, kiln_dense(CLASSES, KILN_ACT_NONE));
    kiln_model_backend(m, KILN_BACKEND_CPU, 1);
    kiln_program *step1 = NULL, *step2 = NULL;
    double acc1 = -1, acc2 = -1;
    int rc = part("1. the net written with kiln.h, trained by a hand-written loop", by_hand,
                  NULL, tr, val, epochs, &step1, &acc1) ||
             part("2. the same net from kiln_model_forward, the same loop", by_model, m, tr,
                  val, epochs, &step2, &acc2) ||
             meet(m, step2, val, acc2);
    if (!rc)
        printf("summary: hand_val_accuracy=%.4f model_val_accuracy=%.4f\n", acc1, acc2);
    kiln_program_free(step1);
    kiln_program_free(step2);
    kiln_model_free(m);
    kiln_dataset_free(tr);
    kiln_dataset_free(val);
    return rc ? 1 : 0;
}
