/* What kiln_fit does after each epoch: early stopping with the best
 * weights restored, checkpoints, terminate on NaN, the CSV log, the user
 * callback, save/load and the history plots. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln_nn.h"

/* n points of d features with random labels in {0, 1}: nothing to learn,
 * so a big net overfits and the validation loss turns up early. */
static kiln_dataset *noise(int n, int64_t d, uint64_t seed)
{
    float *x = malloc((size_t)(n * d) * sizeof *x);
    int32_t *y = malloc((size_t)n * sizeof *y);
    for (int i = 0; i < n * d; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((seed >> 33) & 0xffff) / 32768.0f - 1;
    }
    for (int i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        y[i] = (int32_t)((seed >> 40) & 1);
    }
    char err[200];
    kiln_dataset *ds = kiln_dataset_new(n, 1, &d, x, KILN_I32, 0, NULL, y, err,
                                        sizeof err);
    assert_non_null(ds);
    free(x);
    free(y);
    return ds;
}

/* The reference backend: these tests are about fit's bookkeeping, and
 * it compiles in microseconds (test_nn_fit covers the CPU backend). */
static kiln_model *big_model(void)
{
    kiln_model *m = kiln_model_new(1, (int64_t[]){4});
    kiln_model_backend(m, KILN_BACKEND_REF, 1);
    kiln_model_add(m, kiln_dense(64, KILN_ACT_RELU));
    kiln_model_add(m, kiln_dense(2, KILN_ACT_NONE));
    return m;
}

static kiln_fit_options classify(int epochs)
{
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.nmetrics = 1;
    o.metrics[0] = KILN_METRIC_ACCURACY;
    o.epochs = epochs;
    o.batch_size = 8;
    o.optimizer = kiln_opt_adam(0.02);
    o.verbose = 0;
    return o;
}

static void test_early_stopping_restores_best(void **state)
{
    (void)state;
    kiln_dataset *train = noise(24, 4, 1), *val = noise(24, 4, 2);
    kiln_model *m = big_model();
    kiln_fit_options o = classify(200);
    o.early_stopping.enabled = 1;
    o.early_stopping.patience = 5;
    o.checkpoint_path = "nn_cb_best.safetensors";
    kiln_history *h = kiln_fit(m, train, val, &o);
    assert_non_null(h);
    assert_true(h->stopped_early);
    assert_true(h->restored_best);
    assert_true(h->best_epoch >= 1 && h->best_epoch < h->nepochs);
    assert_int_equal(h->nepochs, h->best_epoch + 5);
    double best = h->epochs[h->best_epoch - 1].val_loss;
    for (int i = 0; i < h->nepochs; i++)
        assert_true(h->epochs[i].val_loss >= best);
    double loss, acc;
    assert_int_equal(kiln_evaluate(m, val, NULL, &loss, &acc), KILN_OK);
    assert_true(loss == best); /* the same weights, the same program */
    assert_true(acc == h->epochs[h->best_epoch - 1].val_metric[0]);

    /* The checkpoint holds the best epoch too: load it into a new model. */
    kiln_model *again = big_model();
    assert_int_equal(kiln_model_load(again, o.checkpoint_path), KILN_OK);
    double loss2, acc2;
    assert_int_equal(kiln_evaluate(again, val, &o, &loss2, &acc2), KILN_OK);
    assert_float_equal(loss2, best, 1e-6);
    unlink(o.checkpoint_path);
    kiln_history_free(h);
    kiln_model_free(again);
    kiln_model_free(m);
    kiln_dataset_free(train);
    kiln_dataset_free(val);
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    kiln_dataset *train = noise(24, 4, 3);
    kiln_model *m = big_model();
    kiln_fit_options o = classify(2);
    o.optimizer = kiln_opt_sgd(0.05, 0.9);
    kiln_history *h = kiln_fit(m, train, NULL, &o);
    assert_non_null(h);
    const char *path = "nn_cb_model.safetensors";
    assert_int_equal(kiln_model_save(m, path), KILN_OK);
    float x[4] = {0.1f, -0.2f, 0.3f, 0.9f}, a[2], b[2];
    assert_int_equal(kiln_predict(m, 1, x, a, 2), KILN_OK);
    /* Momentum state is in the file: a fresh model expects Adam's. */
    kiln_model *fresh = big_model();
    assert_int_not_equal(kiln_model_load(fresh, path), KILN_OK);
    assert_true(strlen(kiln_model_error(fresh)) > 0);
    kiln_model_optimizer(fresh, kiln_opt_sgd(0.05, 0.9));
    kiln_model_free(fresh);
    fresh = big_model();
    kiln_model_optimizer(fresh, kiln_opt_sgd(0.05, 0.9));
    assert_int_equal(kiln_model_load(fresh, path), KILN_OK);
    assert_int_equal(kiln_predict(fresh, 1, x, b, 2), KILN_OK);
    assert_memory_equal(a, b, sizeof a);
    unlink(path);
    kiln_history_free(h);
    kiln_model_free(fresh);
    kiln_model_free(m);
    kiln_dataset_free(train);
}

static void test_terminate_on_nan(void **state)
{
    (void)state;
    kiln_dataset *train = noise(64, 4, 4);
    kiln_model *m = big_model();
    kiln_fit_options o = classify(5);
    o.optimizer = kiln_opt_sgd(1e30, 0);
    kiln_history *h = kiln_fit(m, train, NULL, &o);
    assert_non_null(h);
    assert_true(h->nan_stop);
    assert_true(h->stopped_early);
    assert_int_equal(h->nepochs, 1);
    assert_false(isfinite(h->epochs[0].loss));
    kiln_history_free(h);
    kiln_model_free(m);
    /* Without it all epochs run. */
    m = big_model();
    o.terminate_on_nan = 0;
    o.epochs = 2;
    h = kiln_fit(m, train, NULL, &o);
    assert_non_null(h);
    assert_false(h->nan_stop);
    assert_int_equal(h->nepochs, 2);
    kiln_history_free(h);
    kiln_model_free(m);
    kiln_dataset_free(train);
}

static int stop_at_two(kiln_model *m, const kiln_epoch_log *log, void *user)
{
    (void)m;
    int *calls = user;
    (*calls)++;
    return log->epoch == 2;
}

static void test_csv_log_and_user_callback(void **state)
{
    (void)state;
    kiln_dataset *train = noise(40, 4, 5);
    kiln_model *m = big_model();
    kiln_fit_options o = classify(10);
    o.validation_split = 0.25;
    o.csv_log_path = "nn_cb_log.csv";
    int calls = 0;
    o.on_epoch = stop_at_two;
    o.user = &calls;
    kiln_history *h = kiln_fit(m, train, NULL, &o);
    assert_non_null(h);
    assert_int_equal(calls, 2);
    assert_int_equal(h->nepochs, 2);
    assert_true(h->stopped_early);
    FILE *f = fopen(o.csv_log_path, "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
    for (int e = 0; e < 2; e++) {
        const kiln_epoch_log *l = &h->epochs[e];
        char want[256];
        snprintf(want, sizeof want, "%d,%.9g,%.9g,%.9g,%.9g,", e + 1, l->loss,
                 l->metric[0], l->val_loss, l->val_metric[0]);
        assert_non_null(fgets(line, sizeof line, f));
        assert_memory_equal(line, want, strlen(want));
        assert_true(isfinite(l->val_loss));
    }
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
    unlink(o.csv_log_path);
    o.csv_log_path = "/nonexistent-dir/log.csv";
    assert_null(kiln_fit(m, train, NULL, &o));
    assert_non_null(strstr(kiln_model_error(m), "cannot write the CSV log"));
    kiln_history_free(h);
    kiln_model_free(m);
    kiln_dataset_free(train);
}

static void test_history_plot_files(void **state)
{
    (void)state;
    kiln_dataset *train = noise(40, 4, 6);
    kiln_model *m = big_model();
    kiln_fit_options o = classify(3);
    o.validation_split = 0.25;
    kiln_history *h = kiln_fit(m, train, NULL, &o);
    assert_non_null(h);
    assert_int_equal(kiln_history_plot(h, "nn_cb_plot"), KILN_OK);
    const char *files[] = {"nn_cb_plot_loss.svg", "nn_cb_plot_accuracy.svg"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        assert_non_null(f);
        char head[64] = {0};
        assert_true(fread(head, 1, sizeof head - 1, f) > 0);
        assert_non_null(strstr(head, "<svg") ? head : strstr(head, "<?xml"));
        fclose(f);
        unlink(files[i]);
    }
    unlink("nn_cb_plot_loss.png");
    unlink("nn_cb_plot_accuracy.png");
    kiln_history_free(h);
    kiln_model_free(m);
    kiln_dataset_free(train);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_early_stopping_restores_best),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_terminate_on_nan),
        cmocka_unit_test(test_csv_log_and_user_callback),
        cmocka_unit_test(test_history_plot_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
