/* Losses and metrics of kiln_nn.h against formulas written here.  A model
 * without layers outputs its input, so kiln_evaluate scores the inputs
 * themselves as logits/predictions; evaluating a 4-row dataset first fixes
 * the evaluation batch at 4, so a 5-row dataset then runs as a full batch
 * and a padded one (1 real row, 3 with weight 0). */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "kiln_nn.h"

enum { N = 5, C = 3 };
static const float logits[N * C] = {2, 1, 0,   0.5f, 2.5f, -1,  -3, 0, 3,
                                    1, 1, 1,   4, -2, 0.25f};
static const int32_t labels[N] = {0, 0, 2, 1, 0};

static double ce_row(const float *z, const float *t)
{
    double mx = fmax(fmax(z[0], z[1]), z[2]), s = 0, l = 0;
    for (int c = 0; c < C; c++)
        s += exp(z[c] - mx);
    for (int c = 0; c < C; c++)
        l -= t[c] * (z[c] - mx - log(s));
    return l;
}

static int argmax3(const float *z)
{
    int k = 0;
    for (int c = 1; c < C; c++)
        if (z[c] > z[k])
            k = c;
    return k;
}

static kiln_dataset *data(int64_t n, int yr, const int64_t *yd, kiln_dtype t,
                          const void *y, int64_t xdim, const float *x)
{
    char err[200];
    kiln_dataset *d = kiln_dataset_new(n, 1, &xdim, x, t, yr, yd, y, err,
                                       sizeof err);
    assert_non_null(d);
    return d;
}

/* Evaluate with batch 4 first, then the whole set (full + padded batch). */
static void eval_padded(kiln_model *m, kiln_dataset *four, kiln_dataset *all,
                        kiln_fit_options *o, double *loss, double *met)
{
    double l4, m4[KILN_MAX_METRICS];
    assert_int_equal(kiln_evaluate(m, four, o, &l4, m4), KILN_OK);
    assert_int_equal(kiln_evaluate(m, all, o, loss, met), KILN_OK);
}

static void test_softmax_ce_labels_and_accuracy(void **state)
{
    (void)state;
    kiln_model *m = kiln_model_new(1, (int64_t[]){C});
    kiln_dataset *four = data(4, 0, NULL, KILN_I32, labels, C, logits);
    kiln_dataset *all = data(N, 0, NULL, KILN_I32, labels, C, logits);
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.nmetrics = 1;
    o.metrics[0] = KILN_METRIC_ACCURACY;
    double loss, acc, want = 0;
    eval_padded(m, four, all, &o, &loss, &acc);
    for (int i = 0; i < N; i++) {
        float t[C] = {0};
        t[labels[i]] = 1;
        want += ce_row(logits + i * C, t) / N;
    }
    assert_float_equal(loss, want, 1e-5);
    /* argmax rows: 0, 1, 2, 0 (first of ties), 0 -> hits 1, 0, 1, 0, 1. */
    assert_float_equal(acc, 3.0 / 5, 1e-7);
    kiln_dataset_free(four);
    kiln_dataset_free(all);
    kiln_model_free(m);
}

static void test_softmax_ce_probability_targets(void **state)
{
    (void)state;
    const float t[N * C] = {1, 0, 0,  0, 1, 0,  0.2f, 0.3f, 0.5f,
                            0, 0, 1,  0.7f, 0.1f, 0.2f};
    kiln_model *m = kiln_model_new(1, (int64_t[]){C});
    int64_t yd = C;
    kiln_dataset *four = data(4, 1, &yd, KILN_F32, t, C, logits);
    kiln_dataset *all = data(N, 1, &yd, KILN_F32, t, C, logits);
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.nmetrics = 1;
    o.metrics[0] = KILN_METRIC_ACCURACY;
    double loss, acc, want = 0, hits = 0;
    eval_padded(m, four, all, &o, &loss, &acc);
    for (int i = 0; i < N; i++) {
        want += ce_row(logits + i * C, t + i * C) / N;
        hits += argmax3(logits + i * C) == argmax3(t + i * C);
    }
    assert_float_equal(loss, want, 1e-5);
    assert_float_equal(acc, hits / N, 1e-7);
    assert_float_equal(hits, 4, 0); /* rows 0, 1, 2 and 4 agree */
    kiln_dataset_free(four);
    kiln_dataset_free(all);
    kiln_model_free(m);
}

static void test_bce_logits_stable_and_accuracy(void **state)
{
    (void)state;
    enum { K = 2 };
    const float x[N * K] = {0.5f, -1, 30, -30, 2, 0, -4, 1, 60, -0.25f};
    const float y[N * K] = {1, 0, 1, 0, 0.3f, 1, 0, 1, 0, 0.6f};
    kiln_model *m = kiln_model_new(1, (int64_t[]){K});
    int64_t yd = K;
    kiln_dataset *four = data(4, 1, &yd, KILN_F32, y, K, x);
    kiln_dataset *all = data(N, 1, &yd, KILN_F32, y, K, x);
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_BCE_LOGITS;
    o.nmetrics = 1;
    o.metrics[0] = KILN_METRIC_ACCURACY;
    double loss, acc, want = 0, hits = 0;
    eval_padded(m, four, all, &o, &loss, &acc);
    for (int i = 0; i < N * K; i++) {
        /* -(y log s + (1-y) log(1-s)) with log s = -log(1 + e^-x). */
        double v = x[i];
        double log_s = -log1p(exp(-v)), log_1ms = -v - log1p(exp(-v));
        if (v < 0) {
            log_s = v - log1p(exp(v));
            log_1ms = -log1p(exp(v));
        }
        want += -(y[i] * log_s + (1 - y[i]) * log_1ms) / (N * K);
        hits += (v > 0) == (y[i] > 0.5);
    }
    assert_float_equal(loss, want, 1e-5 * want);
    assert_float_equal(acc, hits / (N * K), 1e-7);
    kiln_dataset_free(four);
    kiln_dataset_free(all);
    kiln_model_free(m);
}

static void test_mse_and_mae(void **state)
{
    (void)state;
    enum { K = 2 };
    const float x[N * K] = {1, 2, 3, 4, -1, 0.5f, 0, 0, 10, -10};
    const float y[N * K] = {1.5f, 2, 1, 4, 1, 0, 0, 3, 9, -8};
    kiln_model *m = kiln_model_new(1, (int64_t[]){K});
    int64_t yd = K;
    kiln_dataset *four = data(4, 1, &yd, KILN_F32, y, K, x);
    kiln_dataset *all = data(N, 1, &yd, KILN_F32, y, K, x);
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_MSE;
    o.nmetrics = 1;
    o.metrics[0] = KILN_METRIC_MAE;
    double loss, mae;
    eval_padded(m, four, all, &o, &loss, &mae);
    /* squared: .25 0 4 0 4 .25 0 9 1 4 = 22.5; abs: .5 0 2 0 2 .5 0 3 1 2 = 11. */
    assert_float_equal(loss, 22.5 / 10, 1e-6);
    assert_float_equal(mae, 11.0 / 10, 1e-6);
    kiln_dataset_free(four);
    kiln_dataset_free(all);
    kiln_model_free(m);
}

static void test_evaluate_errors(void **state)
{
    (void)state;
    kiln_model *m = kiln_model_new(1, (int64_t[]){C});
    kiln_dataset *all = data(N, 0, NULL, KILN_I32, labels, C, logits);
    double loss, met[KILN_MAX_METRICS];
    assert_int_equal(kiln_evaluate(m, all, NULL, &loss, met),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(kiln_model_error(m), "no fit ran yet"));
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_MSE;
    assert_int_equal(kiln_evaluate(m, all, &o, &loss, met), KILN_ERR_DTYPE);
    assert_non_null(strstr(kiln_model_error(m),
                           "loss mse: targets are i32 class labels"));
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.nmetrics = 1;
    o.metrics[0] = KILN_METRIC_MAE;
    assert_int_equal(kiln_evaluate(m, all, &o, &loss, met),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(kiln_model_error(m),
                           "metric mae does not go with loss softmax_ce"));
    kiln_dataset_free(all);
    kiln_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_ce_labels_and_accuracy),
        cmocka_unit_test(test_softmax_ce_probability_targets),
        cmocka_unit_test(test_bce_logits_stable_and_accuracy),
        cmocka_unit_test(test_mse_and_mae),
        cmocka_unit_test(test_evaluate_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
