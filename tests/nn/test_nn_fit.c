/* kiln_fit: the padded last batch trains exactly like a graph of the
 * smaller batch (checked against low-level graphs using the built-in
 * mean cross-entropy on the reference backend), a tiny separable problem
 * is learnt, and every option error is caught before compiling. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "kiln_nn.h"

enum { N = 7, D = 3, H = 4, C = 3 };
static const float xs[N * D] = {0.5f, -1, 2,  1, 1, 0,  -0.5f, 0.25f, 1,
                                2, -2, 0.5f,  0, 0.75f, -1,  -1.5f, 1, 0.3f,
                                0.8f, 0.1f, -0.6f};
static const int32_t ys[N] = {0, 1, 2, 1, 0, 2, 1};

static kiln_dataset *labelled(int64_t n, int64_t d, const float *x,
                              const int32_t *y)
{
    char err[200];
    kiln_dataset *ds = kiln_dataset_new(n, 1, &d, x, KILN_I32, 0, NULL, y, err,
                                        sizeof err);
    assert_non_null(ds);
    return ds;
}

static kiln_model *small_model(void)
{
    kiln_model *m = kiln_model_new(1, (int64_t[]){D});
    kiln_model_seed(m, 11);
    kiln_model_backend(m, KILN_BACKEND_REF, 1);
    assert_int_equal(kiln_model_add(m, kiln_dense(H, KILN_ACT_TANH)), KILN_OK);
    assert_int_equal(kiln_model_add(m, kiln_dense(C, KILN_ACT_NONE)), KILN_OK);
    return m;
}

static const char *const state_names[] = {
    "l0.w", "l0.b", "l1.w", "l1.b", "l0.w.momentum", "l0.b.momentum",
    "l1.w.momentum", "l1.b.momentum"};
static const size_t state_floats[] = {D * H, H, H * C, C, D * H, H, H * C, C};

/* A low-level SGD step graph of batch b with the mean cross-entropy. */
static kiln_program *oracle_step(kiln_model *m, int64_t b)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){b, D});
    kiln_node y = kiln_input(g, "y", KILN_I32, 1, &b);
    kiln_node none = {0};
    kiln_node out = kiln_model_forward(m, g, x, 1, none, none);
    kiln_node loss = kiln_softmax_cross_entropy(g, out, y);
    kiln_sgd_options o = {0.1, 0.9, 0, 0, 0, 0, NULL};
    assert_int_equal(kiln_sgd(g, loss, &o), KILN_OK);
    assert_int_equal(kiln_output(g, "loss", loss), KILN_OK);
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    kiln_graph_free(g);
    return p;
}

static float run_oracle(kiln_program *p, int64_t first, int64_t b)
{
    float loss;
    kiln_set_input(p, "x", xs + first * D, (size_t)(b * D) * 4);
    kiln_set_input(p, "y", ys + first, (size_t)b * 4);
    assert_int_equal(kiln_run(p), KILN_OK);
    kiln_get_output(p, "loss", &loss, sizeof loss);
    return loss;
}

static void test_padded_batch_equals_smaller_batch(void **state)
{
    (void)state;
    kiln_model *m = small_model(), *ref = small_model();
    kiln_dataset *d = labelled(N, D, xs, ys);
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.epochs = 1;
    o.batch_size = 4;
    o.shuffle = 0;
    o.verbose = 0;
    o.optimizer = kiln_opt_sgd(0.1, 0.9);
    kiln_history *h = kiln_fit(m, d, NULL, &o);
    assert_non_null(h);

    /* The oracle: batch 4 on rows 0-3, then batch 3 on rows 4-6. */
    kiln_program *p4 = oracle_step(ref, 4), *p3 = oracle_step(ref, 3);
    float l4 = run_oracle(p4, 0, 4), buf[D * H];
    for (int i = 0; i < 8; i++) {
        assert_int_equal(kiln_get_param(p4, state_names[i], buf, state_floats[i] * 4), KILN_OK);
        assert_int_equal(kiln_set_param(p3, state_names[i], buf, state_floats[i] * 4), KILN_OK);
    }
    float l3 = run_oracle(p3, 4, 3);
    assert_float_equal(h->epochs[0].loss, (4.0 * l4 + 3.0 * l3) / 7, 1e-6);

    /* Same weights after the step: predict vs a forward pass by hand. */
    float w0[D * H], b0[H], w1[H * C], b1[C], out[N * C];
    kiln_get_param(p3, "l0.w", w0, sizeof w0);
    kiln_get_param(p3, "l0.b", b0, sizeof b0);
    kiln_get_param(p3, "l1.w", w1, sizeof w1);
    kiln_get_param(p3, "l1.b", b1, sizeof b1);
    assert_int_equal(kiln_predict(m, N, xs, out, N * C), KILN_OK);
    for (int i = 0; i < N; i++) {
        double hid[H];
        for (int j = 0; j < H; j++) {
            double s = b0[j];
            for (int k = 0; k < D; k++)
                s += xs[i * D + k] * w0[k * H + j];
            hid[j] = tanh(s);
        }
        for (int c = 0; c < C; c++) {
            double s = b1[c];
            for (int j = 0; j < H; j++)
                s += hid[j] * w1[j * C + c];
            assert_float_equal(out[i * C + c], s, 1e-5);
        }
    }
    kiln_program_free(p4);
    kiln_program_free(p3);
    kiln_history_free(h);
    kiln_dataset_free(d);
    kiln_model_free(m);
    kiln_model_free(ref);
}

/* Points on either side of x0 + x1 = 0, at least 0.3 away. */
static kiln_dataset *separable(int n, uint64_t seed)
{
    static float x[400 * 2];
    static int32_t y[400];
    int k = 0;
    while (k < n) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        float a = (float)((seed >> 40) & 0xffff) / 16384.0f - 2;
        float b = (float)((seed >> 20) & 0xffff) / 16384.0f - 2;
        if (fabsf(a + b) < 0.3f)
            continue;
        x[2 * k] = a;
        x[2 * k + 1] = b;
        y[k++] = a + b > 0;
    }
    return labelled(n, 2, x, y);
}

static void test_learns_separable_problem(void **state)
{
    (void)state;
    kiln_dataset *train = separable(200, 1), *test = separable(100, 2);
    kiln_model *m = kiln_model_new(1, (int64_t[]){2});
    kiln_model_add(m, kiln_dense(8, KILN_ACT_RELU));
    kiln_model_add(m, kiln_dense(2, KILN_ACT_NONE));
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.nmetrics = 1;
    o.metrics[0] = KILN_METRIC_ACCURACY;
    o.epochs = 30;
    o.batch_size = 16;
    o.optimizer = kiln_opt_adam(0.03);
    o.validation_split = 0.2;
    o.verbose = 0;
    kiln_history *h = kiln_fit(m, train, NULL, &o);
    assert_non_null(h);
    assert_int_equal(h->nepochs, 30);
    const kiln_epoch_log *last = &h->epochs[29];
    assert_true(last->loss < h->epochs[0].loss);
    assert_true(last->metric[0] >= 0.95);
    assert_true(last->val_metric[0] >= 0.9);
    double loss, acc;
    assert_int_equal(kiln_evaluate(m, test, NULL, &loss, &acc), KILN_OK);
    assert_true(acc >= 0.95);
    kiln_history_free(h);
    kiln_dataset_free(train);
    kiln_dataset_free(test);
    kiln_model_free(m);
}

/* With weights all but frozen (lr 1e-9) and one step per epoch: the
 * training loss changes between epochs (a new dropout mask: the RNG
 * offset advances) while the validation loss, without dropout, stays. */
static void test_dropout_only_in_training(void **state)
{
    (void)state;
    kiln_dataset *d = separable(64, 3);
    kiln_model *m = kiln_model_new(1, (int64_t[]){2});
    kiln_model_backend(m, KILN_BACKEND_REF, 1);
    kiln_model_add(m, kiln_dense(32, KILN_ACT_RELU));
    kiln_model_add(m, kiln_dropout_layer(0.5));
    kiln_model_add(m, kiln_dense(2, KILN_ACT_NONE));
    kiln_fit_options o = kiln_fit_defaults();
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.epochs = 3;
    o.batch_size = 64;
    o.shuffle = 0;
    o.verbose = 0;
    o.optimizer = kiln_opt_sgd(1e-9, 0);
    kiln_history *h = kiln_fit(m, d, d, &o);
    assert_non_null(h);
    const kiln_epoch_log *e = h->epochs;
    assert_true(e[0].loss != e[1].loss && e[1].loss != e[2].loss);
    assert_float_equal(e[0].val_loss, e[2].val_loss, 1e-6);
    assert_true(fabs(e[0].loss - e[0].val_loss) > 1e-4);
    kiln_history_free(h);
    kiln_dataset_free(d);
    kiln_model_free(m);
}

/* fit fails with a message containing `msg`. */
static void fit_fails(kiln_model *m, const kiln_dataset *d,
                      const kiln_fit_options *o,
                      const char *msg)
{
    kiln_history *h = kiln_fit(m, d, NULL, o);
    assert_null(h);
    if (!strstr(kiln_model_error(m), msg))
        fail_msg("wanted '%s' in '%s'", msg, kiln_model_error(m));
}

static void test_option_errors(void **state)
{
    (void)state;
    kiln_model *m = small_model();
    kiln_dataset *d = labelled(N, D, xs, ys);
    kiln_fit_options o = kiln_fit_defaults();
    fit_fails(m, d, &o, "loss 0 is not a kiln_loss");
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.epochs = 0;
    fit_fails(m, d, &o, "epochs is 0; want 1 or more");
    o.epochs = 1;
    o.batch_size = -3;
    fit_fails(m, d, &o, "batch_size is -3; want 1 or more");
    o.batch_size = 4;
    o.validation_split = 1.5;
    fit_fails(m, d, &o, "validation_split is 1.5");
    o.validation_split = 0;
    o.loss = KILN_LOSS_BCE_LOGITS;
    fit_fails(m, d, &o, "loss bce_logits: targets are i32 class labels");
    o.loss = KILN_LOSS_SOFTMAX_CE;
    o.nmetrics = 1;
    o.metrics[0] = KILN_METRIC_MAE;
    fit_fails(m, d, &o, "metric mae does not go with loss softmax_ce");
    o.nmetrics = 0;
    o.optimizer = kiln_opt_sgd(0, 0);
    fit_fails(m, d, &o, "SGD learning rate is 0");
    o.optimizer = kiln_opt_adam(1e-3);

    /* Data that does not fit the model. */
    float x4[2 * 4] = {0};
    int32_t y2[2] = {0, 5};
    kiln_dataset *wide = labelled(2, 4, x4, y2);
    fit_fails(m, wide, &o, "the training samples have shape [4] but the model takes [3]");
    kiln_dataset *many = labelled(2, 3, x4, y2);
    fit_fails(m, many, &o, "labels go up to 5 but the model outputs 3 classes");
    float t2[2 * 2] = {0};
    char err[200];
    int64_t two = 2, three = 3;
    kiln_dataset *vals = kiln_dataset_new(2, 1, &three, x4, KILN_F32, 1, &two,
                                          t2, err, sizeof err);
    assert_non_null(vals);
    o.loss = KILN_LOSS_MSE;
    fit_fails(m, vals, &o, "loss mse: targets are [2] per sample but the model outputs [3]");
    assert_null(kiln_fit(m, NULL, NULL, &o));
    assert_non_null(strstr(kiln_model_error(m), "NULL training data"));
    kiln_dataset_free(wide);
    kiln_dataset_free(many);
    kiln_dataset_free(vals);
    kiln_dataset_free(d);
    kiln_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padded_batch_equals_smaller_batch),
        cmocka_unit_test(test_learns_separable_problem),
        cmocka_unit_test(test_dropout_only_in_training),
        cmocka_unit_test(test_option_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
