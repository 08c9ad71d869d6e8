/*
 * mnist.c — the lab's part 2: fully connected networks on MNIST-format
 * images (Fashion-MNIST by default: 28x28 grey pictures of 10 kinds of
 * clothing), with dropout, early stopping and the learning curves.
 *
 *   build/examples/mnist [DIR] [--net 1|2] [--epochs N] [--batch N]
 *       [--lr RATE] [--limit N] [--val FRACTION] [--dropout RATE]
 *       [--early-stopping PATIENCE] [--plot DIR] [--threads T]
 *
 * DIR holds the four IDX files (gzipped or not; the names of Debian's
 * dataset-fashion-mnist package and of the original MNIST download both
 * work); default /usr/share/datasets/fashion-mnist.
 *
 *   --net 1     softmax regression, 784 -> 10
 *   --net 2     784 -> 256 -> 128 -> 10 with ReLU (default)
 *   --limit N   train on the first N training images only
 *   --val F     hold out the fraction F of the training images for
 *               validation (seeded, stratified; default 0.1)
 *   --dropout R dropout with rate R after each hidden layer (net 2)
 *   --early-stopping P   stop when the validation loss has not improved
 *               for P epochs and restore the weights of the best epoch;
 *               then the restored model is evaluated again on the
 *               validation set: its loss must equal the best epoch's.
 *
 * The test images are used once, at the very end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiln_nn.h"

typedef struct options {
    const char *dir;
    int net, epochs, patience, threads;
    int64_t batch, limit;
    double lr, val, dropout;
    const char *plot;
} options;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int usage(void)
{
    fprintf(stderr, "usage: mnist [DIR] [--net 1|2] [--epochs N] [--batch N] [--lr RATE]\n"
                    "             [--limit N] [--val FRACTION] [--dropout RATE]\n"
                    "             [--early-stopping PATIENCE] [--plot DIR] [--threads T]\n");
    return -1;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){"/usr/share/datasets/fashion-mnist", 2, 10, 0, 0, 128, 0,
                   1e-3, 0.1, 0.0, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            o->dir = a;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (!strcmp(a, "--net"))
            o->net = atoi(v);
        else if (!strcmp(a, "--epochs"))
            o->epochs = atoi(v);
        else if (!strcmp(a, "--batch"))
            o->batch = atoll(v);
        else if (!strcmp(a, "--lr"))
            o->lr = atof(v);
        else if (!strcmp(a, "--limit"))
            o->limit = atoll(v);
        else if (!strcmp(a, "--val"))
            o->val = atof(v);
        else if (!strcmp(a, "--dropout"))
            o->dropout = atof(v);
        else if (!strcmp(a, "--early-stopping"))
            o->patience = atoi(v);
        else if (!strcmp(a, "--plot"))
            o->plot = v;
        else if (!strcmp(a, "--threads"))
            o->threads = atoi(v);
        else
            return usage();
    }
    if ((o->net != 1 && o->net != 2) || o->epochs < 1 || o->batch < 1 || o->lr <= 0 ||
        o->limit < 0 || !(o->val > 0 && o->val < 1) || !(o->dropout >= 0 && o->dropout < 1))
        return usage();
    return 0;
}

/* dir/<first of the names that exists>, e.g. "train-images" ->
 * train-images-idx3-ubyte.gz, train-images-idx3-ubyte, train-images.idx3-ubyte. */
static void find_file(const char *dir, const char *stem, const char *kind, char *path,
                      size_t n)
{
    static const char *forms[] = {"%s/%s-%s.gz", "%s/%s-%s", "%s/%s.%s"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(path, n, forms[i], dir, stem, kind);
        FILE *f = fopen(path, "rb");
        if (f) {
            fclose(f);
            return;
        }
    }
    snprintf(path, n, forms[0], dir, stem, kind); /* named in the error */
}

static kiln_dataset *load(const char *dir, const char *set)
{
    char images[1024], labels[1024], stem[64], err[512];
    snprintf(stem, sizeof stem, "%s-images", set);
    find_file(dir, stem, "idx3-ubyte", images, sizeof images);
    snprintf(stem, sizeof stem, "%s-labels", set);
    find_file(dir, stem, "idx1-ubyte", labels, sizeof labels);
    kiln_dataset *d = kiln_read_idx(images, labels, err, sizeof err);
    if (!d)
        fprintf(stderr, "mnist: %s\n(apt-get install dataset-fashion-mnist, or give the "
                        "directory of MNIST IDX files)\n", err);
    return d;
}

/* The training images (the first --limit of them), split into training
 * and validation sets. */
static int load_train(const options *o, kiln_dataset **tr, kiln_dataset **val)
{
    char err[512];
    kiln_dataset *all = load(o->dir, "train");
    if (!all)
        return -1;
    if (o->limit > 0 && o->limit < kiln_dataset_size(all)) {
        kiln_dataset *first = kiln_dataset_slice(all, 0, o->limit, err, sizeof err);
        kiln_dataset_free(all);
        if (!(all = first)) {
            fprintf(stderr, "mnist: %s\n", err);
            return -1;
        }
    }
    kiln_status s = kiln_dataset_split(all, o->val, 7, 1, tr, val, err, sizeof err);
    kiln_dataset_free(all);
    if (s != KILN_OK) {
        fprintf(stderr, "mnist: %s\n", err);
        return -1;
    }
    return 0;
}

static kiln_model *make_net(const options *o)
{
    kiln_model *m = kiln_model_new(1, (int64_t[]){784});
    if (!m)
        return NULL;
    if (o->net == 2) {
        kiln_model_add(m, kiln_dense(256, KILN_ACT_RELU));
        if (o->dropout > 0)
            kiln_model_add(m, kiln_dropout_layer(o->dropout));
        kiln_model_add(m, kiln_dense(128, KILN_ACT_RELU));
        if (o->dropout > 0)
            kiln_model_add(m, kiln_dropout_layer(o->dropout));
    }
    if (kiln_model_add(m, kiln_dense(10, KILN_ACT_NONE)) != KILN_OK) {
        fprintf(stderr, "mnist: %s\n", kiln_model_error(m));
        kiln_model_free(m);
        return NULL;
    }
    kiln_model_backend(m, KILN_BACKEND_CPU, o->threads);
    return m;
}

static kiln_fit_options fit_options(const options *o)
{
    kiln_fit_options f = kiln_fit_defaults();
    f.loss = KILN_LOSS_SOFTMAX_CE;
    f.nmetrics = 1;
    f.metrics[0] = KILN_METRIC_ACCURACY;
    f.optimizer = kiln_opt_adam(o->lr);
    f.epochs = o->epochs;
    f.batch_size = o->batch;
    f.verbose = 1;
    if (o->patience > 0) {
        f.early_stopping.enabled = 1;
        f.early_stopping.monitor_val = 1;
        f.early_stopping.patience = o->patience;
        f.early_stopping.restore_best = 1;
    }
    return f;
}

/* After early stopping: the restored weights must give the best epoch's
 * validation loss again.  Returns -1 on an error, 1 on a mismatch. */
static int check_restored(kiln_model *m, const kiln_history *h, const kiln_dataset *val,
                          const kiln_fit_options *f)
{
    double loss, acc;
    if (kiln_evaluate(m, val, f, &loss, &acc) != KILN_OK) {
        fprintf(stderr, "mnist: evaluate: %s\n", kiln_model_error(m));
        return -1;
    }
    const kiln_epoch_log *best = &h->epochs[h->best_epoch - 1];
    printf("early stopping: %s after epoch %d of %d; best epoch %d\n",
           h->stopped_early ? "stopped" : "did not stop", h->nepochs, f->epochs,
           h->best_epoch);
    printf("  best epoch's validation loss   %.9g (accuracy %.4f)\n", best->val_loss,
           best->val_metric[0]);
    printf("  restored model's validation loss %.9g (accuracy %.4f)%s\n", loss, acc,
           h->restored_best ? "" : "  [weights NOT restored]");
    int same = loss == best->val_loss;
    printf("  %s\n", same ? "equal: the best weights are back"
                          : "DIFFERENT: the restored weights are not the best epoch's");
    printf("summary: stopped_early=%d best_epoch=%d best_val_loss=%.9g "
           "restored_val_loss=%.9g equal=%d\n",
           h->stopped_early, h->best_epoch, best->val_loss, loss, same);
    return same ? 0 : 1;
}

static int run(const options *o, kiln_model *m, const kiln_dataset *tr,
               const kiln_dataset *val, const kiln_dataset *test)
{
    kiln_fit_options f = fit_options(o);
    kiln_model_summary(m, stdout);
    double t0 = now_s();
    kiln_history *h = kiln_fit(m, tr, val, &f);
    double seconds = now_s() - t0;
    if (!h) {
        fprintf(stderr, "mnist: fit: %s\n", kiln_model_error(m));
        return -1;
    }
    int rc = 0;
    if (o->plot) {
        char prefix[1024];
        snprintf(prefix, sizeof prefix, "%s/mnist_net%d", o->plot, o->net);
        if (kiln_history_plot(h, prefix) == KILN_OK)
            printf("curves: %s_loss.svg, %s_accuracy.svg\n", prefix, prefix);
        else
            fprintf(stderr, "mnist: could not write the plots %s_*\n", prefix);
    }
    if (o->patience > 0)
        rc = check_restored(m, h, val, &f);
    int nepochs = h->nepochs;
    kiln_history_free(h);
    double loss, acc;
    if (rc >= 0 && kiln_evaluate(m, test, &f, &loss, &acc) != KILN_OK) {
        fprintf(stderr, "mnist: evaluate: %s\n", kiln_model_error(m));
        rc = -1;
    }
    if (rc >= 0) {
        printf("test loss %.4f, test accuracy %.4f (%lld images)\n", loss, acc,
               (long long)kiln_dataset_size(test));
        printf("summary: test_accuracy=%.4f epochs=%d train_seconds=%.1f\n", acc, nepochs,
               seconds);
    }
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    if (parse_options(argc, argv, &o))
        return 2;
    kiln_dataset *tr = NULL, *val = NULL, *test = NULL;
    if (load_train(&o, &tr, &val) || !(test = load(o.dir, "t10k"))) {
        kiln_dataset_free(tr);
        kiln_dataset_free(val);
        return 1;
    }
    printf("%s: %lld training, %lld validation, %lld test images\n", o.dir,
           (long long)kiln_dataset_size(tr), (long long)kiln_dataset_size(val),
           (long long)kiln_dataset_size(test));
    kiln_model *m = make_net(&o);
    int rc = m ? run(&o, m, tr, val, test) : -1;
    kiln_model_free(m);
    kiln_dataset_free(tr);
    kiln_dataset_free(val);
    kiln_dataset_free(test);
    return rc ? 1 : 0;
}
