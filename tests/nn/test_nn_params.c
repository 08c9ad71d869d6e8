/* A model's params by name (kiln_model_param_count, kiln_model_param,
 * kiln_model_get_param, kiln_model_set_param): values set by hand give
 * the predictions of a matmul written here, a value set before fit is
 * where fit starts (one SGD step computed here by hand), a value set
 * after fit is used by predict and the next fit, and bad names and sizes
 * fail with a message and change nothing. */
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

enum { N = 4, D = 2, H = 3, C = 2 };
static const float xs[N * D] = {1, 2, -1, 0.5f, 0.25f, -2, 3, 1};

/* 2 -> 3 (relu) -> 2 on the reference backend. */
static kiln_model *mlp(void)
{
    kiln_model *m = kiln_model_new(1, (int64_t[]){D});
    assert_non_null(m);
    kiln_model_seed(m, 7);
    kiln_model_backend(m, KILN_BACKEND_REF, 1);
    assert_int_equal(kiln_model_add(m, kiln_dense(H, KILN_ACT_RELU)), KILN_OK);
    assert_int_equal(kiln_model_add(m, kiln_dense(C, KILN_ACT_NONE)), KILN_OK);
    return m;
}

/* out[n, k] = act(x[n, :] W[:, k] + b[k]), W row-major [in, k]. */
static void dense_ref(const float *x, int n, int in, const float *w,
                      const float *b, int k, int relu, double *out)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            double s = b[j];
            for (int t = 0; t < in; t++)
                s += (double)x[i * in + t] * w[t * k + j];
            out[i * k + j] = relu && s < 0 ? 0 : s;
        }
}

/* The MLP's outputs from its four params, computed here. */
static void mlp_ref(const float *w0, const float *b0, const float *w1,
                    const float *b1, double *out)
{
    double h[N * H];
    float hf[N * H];
    dense_ref(xs, N, D, w0, b0, H, 1, h);
    for (int i = 0; i < N * H; i++)
        hf[i] = (float)h[i];
    dense_ref(hf, N, H, w1, b1, C, 0, out);
}

static void expect_predictions(kiln_model *m, const double *want)
{
    float out[N * C];
    assert_int_equal(kiln_predict(m, N, xs, out, N * C), KILN_OK);
    for (int i = 0; i < N * C; i++)
        assert_float_equal(out[i], want[i], 1e-5);
}

static void test_listing(void **state)
{
    (void)state;
    kiln_model *m = mlp();
    assert_int_equal(kiln_model_param_count(m), 4);
    static const char *const names[] = {"l0.w", "l0.b", "l1.w", "l1.b"};
    static const int ranks[] = {2, 1, 2, 1};
    static const int64_t dims[][2] = {{D, H}, {H, 0}, {H, C}, {C, 0}};
    for (int i = 0; i < 4; i++) {
        kiln_binding b;
        assert_int_equal(kiln_model_param(m, i, &b), KILN_OK);
        assert_int_equal(b.kind, 'p');
        assert_string_equal(b.name, names[i]);
        assert_int_equal(b.dtype, KILN_F32);
        assert_int_equal(b.rank, ranks[i]);
        for (int d = 0; d < b.rank; d++)
            assert_int_equal(b.dims[d], dims[i][d]);
    }
    kiln_binding b;
    assert_int_equal(kiln_model_param(m, 4, &b), KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_model_param(m, -1, &b), KILN_ERR_INVALID_ARGUMENT);
    /* Reading the params fixed the layers, as fit does. */
    assert_int_not_equal(kiln_model_add(m, kiln_dense(2, KILN_ACT_NONE)), KILN_OK);
    kiln_model_free(m);

    /* A bad model reports its error instead of params. */
    kiln_model *bad = kiln_model_new(1, (int64_t[]){0});
    float w[1];
    assert_int_equal(kiln_model_param_count(bad), -1);
    assert_int_not_equal(kiln_model_get_param(bad, "l0.w", w, sizeof w), KILN_OK);
    assert_non_null(strstr(kiln_model_error(bad), "dim 0"));
    kiln_model_free(bad);
}

static void test_set_by_hand_then_predict(void **state)
{
    (void)state;
    kiln_model *m = mlp();
    const float w0[D * H] = {1, -1, 0.5f, 2, 0.25f, -1};
    const float b0[H] = {0.5f, 0, -0.25f};
    const float w1[H * C] = {1, -2, 0.5f, 1, -1, 3};
    const float b1[C] = {0.1f, -0.2f};
    assert_int_equal(kiln_model_set_param(m, "l0.w", w0, sizeof w0), KILN_OK);
    assert_int_equal(kiln_model_set_param(m, "l0.b", b0, sizeof b0), KILN_OK);
    assert_int_equal(kiln_model_set_param(m, "l1.w", w1, sizeof w1), KILN_OK);
    assert_int_equal(kiln_model_set_param(m, "l1.b", b1, sizeof b1), KILN_OK);
    double want[N * C];
    mlp_ref(w0, b0, w1, b1, want);
    expect_predictions(m, want);
    /* Reading back gives the values set, bit for bit. */
    float got[D * H];
    assert_int_equal(kiln_model_get_param(m, "l0.w", got, sizeof got), KILN_OK);
    assert_memory_equal(got, w0, sizeof got);
    /* A value set after a program exists reaches it too. */
    const float b1b[C] = {-3, 4};
    assert_int_equal(kiln_model_set_param(m, "l1.b", b1b, sizeof b1b), KILN_OK);
    mlp_ref(w0, b0, w1, b1b, want);
    expect_predictions(m, want);
    kiln_model_free(m);
}

/* Before any fit a param holds the seeded Glorot value, the one predict
 * uses, and reading it changes nothing. */
static void test_initial_values(void **state)
{
    (void)state;
    kiln_model *m = mlp();
    float w0[D * H], b0[H], w1[H * C], b1[C], again[D * H];
    assert_int_equal(kiln_model_get_param(m, "l0.w", w0, sizeof w0), KILN_OK);
    assert_int_equal(kiln_model_get_param(m, "l0.b", b0, sizeof b0), KILN_OK);
    assert_int_equal(kiln_model_get_param(m, "l1.w", w1, sizeof w1), KILN_OK);
    assert_int_equal(kiln_model_get_param(m, "l1.b", b1, sizeof b1), KILN_OK);
    int nonzero = 0;
    for (int i = 0; i < D * H; i++) {
        assert_true(fabs(w0[i]) <= sqrt(6.0 / (D + H)));
        nonzero += w0[i] != 0;
    }
    assert_true(nonzero > 0);
    for (int i = 0; i < H; i++)
        assert_true(b0[i] == 0);
    double want[N * C];
    mlp_ref(w0, b0, w1, b1, want);
    expect_predictions(m, want);
    assert_int_equal(kiln_model_get_param(m, "l0.w", again, sizeof again), KILN_OK);
    assert_memory_equal(again, w0, sizeof again);
    kiln_model_free(m);
}

/* ---- fit starts from the values set -------------------------------------- */

static const float ys[N] = {1, -1, 0.5f, 2};

/* One full-batch SGD step of y = x w + b with the mean squared error:
 * grad w = 2/N sum e x, grad b = 2/N sum e, e = x w + b - y.  Returns
 * the loss before the step. */
static double sgd_step(float *w, float *b, double lr)
{
    double gw[D] = {0}, gb = 0, loss = 0;
    for (int i = 0; i < N; i++) {
        double e = *b - ys[i];
        for (int t = 0; t < D; t++)
            e += (double)xs[i * D + t] * w[t];
        loss += e * e / N;
        gb += 2 * e / N;
        for (int t = 0; t < D; t++)
            gw[t] += 2 * e * xs[i * D + t] / N;
    }
    for (int t = 0; t < D; t++)
        w[t] = (float)(w[t] - lr * gw[t]);
    *b = (float)(*b - lr * gb);
    return loss;
}

static void fit_one_step(kiln_model *m, const kiln_dataset *d, float *w,
                         float *b)
{
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_MSE;
    o.optimizer = kiln_opt_sgd(0.1, 0);
    o.epochs = 1;
    o.batch_size = N;
    o.verbose = 0;
    kiln_history *h = kiln_fit(m, d, NULL, &o);
    assert_non_null(h);
    double loss = sgd_step(w, b, 0.1);
    assert_float_equal(h->epochs[0].loss, loss, 1e-5);
    kiln_history_free(h);
    float gw[D], gb;
    assert_int_equal(kiln_model_get_param(m, "l0.w", gw, sizeof gw), KILN_OK);
    assert_int_equal(kiln_model_get_param(m, "l0.b", &gb, sizeof gb), KILN_OK);
    for (int t = 0; t < D; t++)
        assert_float_equal(gw[t], w[t], 1e-6);
    assert_float_equal(gb, *b, 1e-6);
}

static void test_fit_starts_from_set_values(void **state)
{
    (void)state;
    kiln_model *m = kiln_model_new(1, (int64_t[]){D});
    kiln_model_backend(m, KILN_BACKEND_REF, 1);
    assert_int_equal(kiln_model_add(m, kiln_dense(1, KILN_ACT_NONE)), KILN_OK);
    char err[200];
    kiln_dataset *d = kiln_dataset_new(N, 1, (int64_t[]){D}, xs, KILN_F32, 1,
                                       (int64_t[]){1}, ys, err, sizeof err);
    assert_non_null(d);
    float w[D] = {0.5f, -1}, b = 0.25f;
    /* Before the first fit, with a predict in between. */
    assert_int_equal(kiln_model_set_param(m, "l0.w", w, sizeof w), KILN_OK);
    float out[N];
    assert_int_equal(kiln_predict(m, N, xs, out, N), KILN_OK);
    assert_int_equal(kiln_model_set_param(m, "l0.b", &b, sizeof b), KILN_OK);
    fit_one_step(m, d, w, &b);
    /* After a fit: predict uses the new value, the next fit starts there. */
    w[0] = -0.75f;
    w[1] = 0.125f;
    b = 1;
    assert_int_equal(kiln_model_set_param(m, "l0.w", w, sizeof w), KILN_OK);
    assert_int_equal(kiln_model_set_param(m, "l0.b", &b, sizeof b), KILN_OK);
    assert_int_equal(kiln_predict(m, N, xs, out, N), KILN_OK);
    for (int i = 0; i < N; i++)
        assert_float_equal(out[i], xs[2 * i] * w[0] + xs[2 * i + 1] * w[1] + b,
                           1e-6);
    fit_one_step(m, d, w, &b);
    kiln_dataset_free(d);
    kiln_model_free(m);
}

/* Set before any fit, saved and loaded into a fresh model: the same bits. */
static void test_set_then_checkpoint(void **state)
{
    (void)state;
    kiln_model *m = mlp(), *fresh = mlp();
    const float w1[H * C] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(kiln_model_set_param(m, "l1.w", w1, sizeof w1), KILN_OK);
    char path[] = "/tmp/kiln_params_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(kiln_model_save(m, path), KILN_OK);
    assert_int_equal(kiln_model_load(fresh, path), KILN_OK);
    float got[H * C];
    assert_int_equal(kiln_model_get_param(fresh, "l1.w", got, sizeof got), KILN_OK);
    assert_memory_equal(got, w1, sizeof got);
    remove(path);
    kiln_model_free(m);
    kiln_model_free(fresh);
}

static void test_errors(void **state)
{
    (void)state;
    kiln_model *m = mlp();
    float w0[D * H], before[D * H], big[D * H + 1] = {0};
    assert_int_equal(kiln_model_get_param(m, "l0.w", before, sizeof before), KILN_OK);
    assert_int_equal(kiln_model_set_param(m, "l9.w", big, sizeof w0), KILN_ERR_NAME);
    assert_non_null(strstr(kiln_model_error(m), "no param 'l9.w'"));
    assert_int_equal(kiln_model_get_param(m, "l9.w", w0, sizeof w0), KILN_ERR_NAME);
    assert_int_equal(kiln_model_set_param(m, "l0.w", big, sizeof big), KILN_ERR_SHAPE);
    assert_non_null(strstr(kiln_model_error(m),
                           "param 'l0.w' is f32[2,3], 24 bytes; got 28 bytes"));
    assert_int_equal(kiln_model_get_param(m, "l0.w", w0, 20), KILN_ERR_SHAPE);
    assert_int_equal(kiln_model_set_param(m, "l0.w", NULL, sizeof w0),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_model_get_param(m, NULL, w0, sizeof w0),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_model_param(m, 0, NULL), KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_model_param_count(NULL), -1);
    assert_int_equal(kiln_model_set_param(NULL, "l0.w", w0, sizeof w0),
                     KILN_ERR_INVALID_ARGUMENT);
    /* Optimizer state is not a model param. */
    assert_int_equal(kiln_model_get_param(m, "l0.w.adam_m", w0, sizeof w0),
                     KILN_ERR_NAME);
    /* Nothing changed. */
    assert_int_equal(kiln_model_get_param(m, "l0.w", w0, sizeof w0), KILN_OK);
    assert_memory_equal(w0, before, sizeof w0);
    kiln_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listing),
        cmocka_unit_test(test_set_by_hand_then_predict),
        cmocka_unit_test(test_initial_values),
        cmocka_unit_test(test_fit_starts_from_set_values),
        cmocka_unit_test(test_set_then_checkpoint),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
