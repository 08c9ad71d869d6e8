/*
 * demo.c — kiln's main job in one program: a 784-256-128-10 MLP trained on
 * Fashion-MNIST by one compiled, fused training step (forward, backward
 * and Adam update in one kiln_run), then the test accuracy, then the time
 * of that step fused and unfused.
 *
 *   build/examples/demo [epochs] [data-dir]
 *
 * data-dir holds the four MNIST-format IDX files (gzipped), by default
 * Debian's dataset-fashion-mnist package: /usr/share/datasets/fashion-mnist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "kiln.h"

enum { BATCH = 128, PIXELS = 784, CLASSES = 10 };

typedef struct dataset {
    int n;
    float *x;   /* n x 784, scaled to [0, 1] */
    int32_t *y; /* n labels */
} dataset;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint32_t big_endian(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Read a gzipped IDX file: magic, dims, bytes.  Returns the bytes (count
 * in *n) or NULL with a message on stderr. */
static unsigned char *read_idx(const char *dir, const char *file, int rank, int *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "demo: cannot open %s (apt-get install dataset-fashion-mnist, "
                        "or give the directory of MNIST IDX files)\n", path);
        return NULL;
    }
    unsigned char head[16];
    size_t size = 1;
    unsigned char *data = NULL;
    if (gzread(f, head, (unsigned)(4 + 4 * rank)) == 4 + 4 * rank &&
        big_endian(head) == (uint32_t)(0x800 + rank)) {
        *n = (int)big_endian(head + 4);
        for (int d = 0; d < rank; d++)
            size *= big_endian(head + 4 + 4 * d);
        data = size <= (1u << 30) ? malloc(size) : NULL;
        if (data && gzread(f, data, (unsigned)size) != (int)size) {
            free(data);
            data = NULL;
        }
    }
    gzclose(f);
    if (!data)
        fprintf(stderr, "demo: %s is not a readable IDX file of rank %d\n", path, rank);
    return data;
}

static int load(const char *dir, const char *images, const char *labels, dataset *d)
{
    int n, m;
    unsigned char *x = read_idx(dir, images, 3, &n), *y = read_idx(dir, labels, 1, &m);
    if (!x || !y || n != m) {
        free(x);
        free(y);
        return -1;
    }
    d->n = n;
    d->x = malloc((size_t)n * PIXELS * sizeof *d->x);
    d->y = malloc((size_t)n * sizeof *d->y);
    for (size_t i = 0; i < (size_t)n * PIXELS; i++)
        d->x[i] = x[i] / 255.0f;
    for (int i = 0; i < n; i++)
        d->y[i] = y[i];
    free(x);
    free(y);
    return 0;
}

/* logits of x [batch, 784] through the three dense layers */
static kiln_node mlp(kiln_graph *g, kiln_node x)
{
    static const int64_t sizes[4] = {PIXELS, 256, 128, CLASSES};
    for (int i = 0; i < 3; i++) {
        char w[8], b[8];
        snprintf(w, sizeof w, "w%d", i + 1);
        snprintf(b, sizeof b, "b%d", i + 1);
        kiln_node W = kiln_param(g, w, KILN_F32, 2, (int64_t[]){sizes[i], sizes[i + 1]},
                                 kiln_init_he((uint32_t)i + 1));
        kiln_node B = kiln_param(g, b, KILN_F32, 1, &sizes[i + 1], kiln_init_zeros());
        x = kiln_add(g, kiln_matmul(g, x, W), B);
        if (i < 2)
            x = kiln_relu(g, x);
    }
    return x;
}

static kiln_program *compile_or_die(kiln_graph *g, int no_fuse)
{
    kiln_program *p = kiln_compile(g, &(kiln_compile_options){.backend = KILN_BACKEND_CPU,
                                                                 .no_fuse = no_fuse});
    if (!p) {
        fprintf(stderr, "demo: %s\n", kiln_graph_error(g));
        exit(1);
    }
    return p;
}

static kiln_program *training_step(int no_fuse)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){BATCH, PIXELS});
    kiln_node y = kiln_input(g, "y", KILN_I32, 1, (int64_t[]){BATCH});
    kiln_node loss = kiln_softmax_cross_entropy(g, mlp(g, x), y);
    kiln_output(g, "loss", loss);
    kiln_adam(g, loss, &(kiln_adam_options){.lr = 1e-3});
    kiln_program *p = compile_or_die(g, no_fuse);
    kiln_graph_free(g);
    return p;
}

/* Accuracy of the trained params on d, one forward pass over all of it. */
static double accuracy(kiln_program *train, const dataset *d)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){d->n, PIXELS});
    kiln_output(g, "class", kiln_argmax(g, mlp(g, x), 1, 0));
    kiln_program *p = compile_or_die(g, 0);
    kiln_graph_free(g);
    for (int i = 0; i < kiln_program_binding_count(p); i++) { /* copy params */
        kiln_binding b;
        kiln_program_binding(p, i, &b);
        if (b.kind != 'p')
            continue;
        size_t bytes = kiln_dtype_size(b.dtype);
        for (int k = 0; k < b.rank; k++)
            bytes *= (size_t)b.dims[k];
        void *data = malloc(bytes);
        kiln_get_param(train, b.name, data, bytes);
        kiln_set_param(p, b.name, data, bytes);
        free(data);
    }
    int32_t *cls = malloc((size_t)d->n * sizeof *cls);
    kiln_set_input(p, "x", d->x, (size_t)d->n * PIXELS * sizeof *d->x);
    kiln_run(p);
    kiln_get_output(p, "class", cls, (size_t)d->n * sizeof *cls);
    int right = 0;
    for (int i = 0; i < d->n; i++)
        right += cls[i] == d->y[i];
    free(cls);
    kiln_program_free(p);
    return (double)right / d->n;
}

/* Mean time of `steps` runs after one warm-up. */
static double step_ms(kiln_program *p, const dataset *d, int steps)
{
    kiln_set_input(p, "x", d->x, BATCH * PIXELS * sizeof *d->x);
    kiln_set_input(p, "y", d->y, BATCH * sizeof *d->y);
    kiln_run(p);
    double t0 = now_s();
    for (int i = 0; i < steps; i++)
        kiln_run(p);
    return (now_s() - t0) * 1e3 / steps;
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 5;
    const char *dir = argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist";
    dataset train, test;
    if (load(dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", &train) ||
        load(dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", &test))
        return 1;
    printf("Fashion-MNIST: %d training and %d test images\n", train.n, test.n);
    double t0 = now_s();
    kiln_program *step = training_step(0);
    kiln_compile_stats st;
    kiln_program_stats(step, &st);
    printf("compiled the training step: %d fused kernels in %.0f ms\n", st.kernels,
           now_s() * 1e3 - t0 * 1e3);
    int *order = malloc((size_t)train.n * sizeof *order);
    float *bx = malloc(BATCH * PIXELS * sizeof *bx);
    int32_t by[BATCH];
    uint64_t seed = 42;
    for (int i = 0; i < train.n; i++)
        order[i] = i;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        for (int i = train.n - 1; i > 0; i--) { /* shuffle (xorshift) */
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            int j = (int)(seed % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        double start = now_s(), total = 0;
        int batches = train.n / BATCH; /* the last partial batch is dropped */
        for (int b = 0; b < batches; b++) {
            for (int k = 0; k < BATCH; k++) {
                int i = order[b * BATCH + k];
                memcpy(bx + k * PIXELS, train.x + (size_t)i * PIXELS, PIXELS * sizeof *bx);
                by[k] = train.y[i];
            }
            float loss;
            kiln_set_input(step, "x", bx, BATCH * PIXELS * sizeof *bx);
            kiln_set_input(step, "y", by, sizeof by);
            kiln_run(step);
            kiln_get_output(step, "loss", &loss, sizeof loss);
            total += loss;
        }
        printf("epoch %d/%d  loss %.4f  test accuracy %.4f  (%.1f s)\n", epoch, epochs,
               total / batches, accuracy(step, &test), now_s() - start);
    }
    kiln_program *unfused = training_step(1);
    double fused_ms = step_ms(step, &train, 100), unfused_ms = step_ms(unfused, &train, 100);
    printf("training step (batch %d): fused %.3f ms, unfused %.3f ms (%.2fx)\n", BATCH,
           fused_ms, unfused_ms, unfused_ms / fused_ms);
    kiln_program_free(unfused);
    kiln_program_free(step);
    free(order);
    free(bx);
    free(train.x);
    free(train.y);
    free(test.x);
    free(test.y);
    return 0;
}
