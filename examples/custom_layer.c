/*
 * custom_layer.c — a layer kiln_nn.h does not have, written with the
 * low-level API and dropped into a sequential model.
 *
 *   build/examples/custom_layer [CSV] [--epochs N] [--out DIR]
 *
 * The layer is a parametric ReLU: max(x, 0) + alpha * min(x, 0) with one
 * learnable slope alpha per feature (He et al., 2015), starting at 0.25.
 * The model is 4 -> dense 16 -> PReLU -> dense 3 on the Iris split of
 * iris.c; kiln_fit trains the slopes with the dense weights, because the
 * layer's param is an ordinary param of the graph.
 *
 * Reading the learned slopes: kiln_nn.h has no call to read one param of
 * a model by name, so the model is saved (kiln_model_save, safetensors)
 * and the slopes are read back from the file with the twenty lines of
 * read_tensor below — the format is simple enough to read by hand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln_nn.h"

#ifndef KILN_SOURCE_DIR
#define KILN_SOURCE_DIR "."
#endif

enum { HIDDEN = 16 };

/* The custom layer.  Its param is named after the layer's prefix so that
 * it is the same param in every graph kiln_fit builds (train, evaluate). */
static kiln_node prelu(kiln_graph *g, kiln_node x, const kiln_layer_ctx *ctx, void *user)
{
    const double *alpha0 = user;
    int64_t dims[KILN_MAX_RANK];
    int rank = kiln_node_shape(g, x, dims);
    char name[KILN_MAX_NAME];
    snprintf(name, sizeof name, "%s.alpha", ctx->prefix);
    kiln_node alpha = kiln_param(g, name, KILN_F32, 1, &dims[rank - 1],
                                 kiln_init_constant(*alpha0));
    kiln_node zero = kiln_scalar(g, KILN_F32, 0);
    return kiln_add(g, kiln_maximum(g, x, zero), kiln_mul(g, alpha, kiln_minimum(g, x, zero)));
}

/* Read tensor `name` (F32, n floats) from a safetensors file: 8 bytes of
 * little-endian header length, a JSON header, then the data. */
static int read_tensor(const char *path, const char *name, float *out, size_t n)
{
    FILE *f = fopen(path, "rb");
    unsigned char len8[8];
    uint64_t len = 0;
    char *json = NULL, key[KILN_MAX_NAME + 4];
    int rc = -1;
    if (f && fread(len8, 1, 8, f) == 8) {
        for (int i = 7; i >= 0; i--)
            len = len << 8 | len8[i];
        json = len < (1u << 20) ? calloc(1, len + 1) : NULL;
    }
    snprintf(key, sizeof key, "\"%s\"", name);
    if (json && fread(json, 1, len, f) == len) {
        const char *at = strstr(json, key);
        const char *off = at ? strstr(at, "\"data_offsets\"") : NULL;
        unsigned long long begin, end;
        if (off && sscanf(off, "\"data_offsets\" : [ %llu , %llu ]", &begin, &end) == 2 &&
            end - begin == n * sizeof *out && fseek(f, (long)(8 + len + begin), SEEK_SET) == 0 &&
            fread(out, sizeof *out, n, f) == n)
            rc = 0; /* little-endian data read on a little-endian host */
    }
    free(json);
    if (f)
        fclose(f);
    return rc;
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
        fprintf(stderr, "custom_layer: %s\n", err);
    return s == KILN_OK ? 0 : -1;
}

/* Print the learned slopes of layer "l1" (the custom one). */
static int show_slopes(kiln_model *m, const char *dir, int *moved)
{
    char path[1024];
    float alpha[HIDDEN];
    snprintf(path, sizeof path, "%s/custom_layer_%ld.safetensors", dir, (long)getpid());
    if (kiln_model_save(m, path) != KILN_OK) {
        fprintf(stderr, "custom_layer: %s\n", kiln_model_error(m));
        return -1;
    }
    int rc = read_tensor(path, "l1.alpha", alpha, HIDDEN);
    remove(path);
    if (rc) {
        fprintf(stderr, "custom_layer: no F32 [%d] tensor l1.alpha in %s\n", HIDDEN, path);
        return -1;
    }
    *moved = 0;
    printf("learned PReLU slopes (all started at 0.25):\n");
    for (int i = 0; i < HIDDEN; i++) {
        printf("%s%7.3f%s", i % 8 ? " " : "  ", alpha[i], i % 8 == 7 ? "\n" : "");
        *moved += alpha[i] != 0.25f;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char csv[1024];
    const char *root = getenv("KILN_SOURCE_ROOT"), *out = "/tmp";
    snprintf(csv, sizeof csv, "%s/examples/data/iris.csv", root && *root ? root : KILN_SOURCE_DIR);
    int epochs = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] != '-')
            snprintf(csv, sizeof csv, "%s", argv[i]);
        else
            epochs = 0;
    }
    if (epochs < 1) {
        fprintf(stderr, "usage: custom_layer [CSV] [--epochs N] [--out DIR]\n");
        return 2;
    }
    kiln_dataset *tr, *val;
    if (load_split(csv, &tr, &val))
        return 1;
    static const double alpha0 = 0.25;
    kiln_model *m = kiln_model_new(1, (int64_t[]){4});
    kiln_model_add(m, kiln_dense(HIDDEN, KILN_ACT_NONE));
    kiln_model_add(m, kiln_custom(prelu, (void *)&alpha0));
    kiln_model_add(m, kiln_dense(3, KILN_ACT_NONE));
    kiln_model_backend(m, KILN_BACKEND_CPU, 1);
    kiln_model_summary(m, stdout);
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.nmetrics = 1;
    o.metrics[0] = KILN_METRIC_ACCURACY;
    o.optimizer = kiln_opt_adam(0.01);
    o.epochs = epochs;
    o.batch_size = 16;
    o.verbose = 0;
    kiln_history *h = kiln_fit(m, tr, val, &o);
    double loss, acc, val_loss, val_acc;
    int rc = !h || kiln_evaluate(m, tr, &o, &loss, &acc) != KILN_OK ||
             kiln_evaluate(m, val, &o, &val_loss, &val_acc) != KILN_OK;
    if (rc)
        fprintf(stderr, "custom_layer: %s\n", kiln_model_error(m));
    else {
        printf("after %d epochs: training loss %.4f accuracy %.4f, validation loss %.4f "
               "accuracy %.4f\n", epochs, loss, acc, val_loss, val_acc);
        int moved;
        rc = show_slopes(m, out, &moved);
        if (!rc)
            printf("summary: slopes_changed=%d val_accuracy=%.4f\n", moved, val_acc);
    }
    kiln_history_free(h);
    kiln_model_free(m);
    kiln_dataset_free(tr);
    kiln_dataset_free(val);
    return rc ? 1 : 0;
}
