/* Layers of kiln_nn.h: forward values against hand-computed numbers and
 * formulas written here, custom layers, default init, add errors, summary. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "kiln_nn.h"

/* Run m's forward graph on the reference backend with params set by name. */
static void forward_ref(kiln_model *m, int64_t batch, int64_t in, const float *x,
                        int nparams, const char *const *names,
                        const float *const *vals, const size_t *sizes,
                        float *out, size_t out_bytes)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node xn = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){batch, in});
    kiln_node none = {0};
    kiln_node y = kiln_model_forward(m, g, xn, 0, none, none);
    assert_int_equal(kiln_output(g, "y", y), KILN_OK);
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    for (int i = 0; i < nparams; i++)
        assert_int_equal(kiln_set_param(p, names[i], vals[i], sizes[i]), KILN_OK);
    assert_int_equal(kiln_set_input(p, "x", x, (size_t)(batch * in) * 4), KILN_OK);
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_int_equal(kiln_get_output(p, "y", out, out_bytes), KILN_OK);
    kiln_program_free(p);
    kiln_graph_free(g);
}

static void test_dense_relu_by_hand(void **state)
{
    (void)state;
    kiln_model *m = kiln_model_new(1, (int64_t[]){3});
    assert_int_equal(kiln_model_add(m, kiln_dense(2, KILN_ACT_RELU)), KILN_OK);
    const float w[6] = {1, -1, 2, 0, 0, 1}, b[2] = {0.5f, -0.5f};
    const float x[6] = {1, 2, 3, -1, 0, 1};
    const char *names[] = {"l0.w", "l0.b"};
    const float *vals[] = {w, b};
    const size_t sizes[] = {sizeof w, sizeof b};
    float out[4];
    forward_ref(m, 2, 3, x, 2, names, vals, sizes, out, sizeof out);
    /* [1 2 3] W = [5 2] + b = [5.5 1.5]; [-1 0 1] W = [-1 2] + b -> relu. */
    const float want[4] = {5.5f, 1.5f, 0, 1.5f};
    for (int i = 0; i < 4; i++)
        assert_float_equal(out[i], want[i], 1e-6);
    kiln_model_free(m);
}

static double gelu(double x)
{
    return 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

static void test_activations_vs_formulas(void **state)
{
    (void)state;
    const float x[5] = {-2, -0.5f, 0, 1, 3};
    for (int act = KILN_ACT_NONE; act <= KILN_ACT_SOFTMAX; act++) {
        kiln_model *m = kiln_model_new(1, (int64_t[]){5});
        /* The reference backend, but the CPU one for the last activation. */
        if (act != KILN_ACT_SOFTMAX)
            kiln_model_backend(m, KILN_BACKEND_REF, 1);
        assert_int_equal(kiln_model_add(m, kiln_activation_layer(act)), KILN_OK);
        float out[5];
        assert_int_equal(kiln_predict(m, 1, x, out, 5), KILN_OK);
        double sum = 0;
        for (int i = 0; i < 5; i++)
            sum += exp(x[i] - 3.0);
        for (int i = 0; i < 5; i++) {
            double v = x[i], want = v;
            switch (act) {
            case KILN_ACT_RELU: want = v > 0 ? v : 0; break;
            case KILN_ACT_SIGMOID: want = 1 / (1 + exp(-v)); break;
            case KILN_ACT_TANH: want = tanh(v); break;
            case KILN_ACT_GELU: want = gelu(v); break;
            case KILN_ACT_SOFTMAX: want = exp(v - 3.0) / sum; break;
            }
            assert_float_equal(out[i], want, 1e-5);
        }
        kiln_model_free(m);
    }
}

static void test_flatten_keeps_values(void **state)
{
    (void)state;
    kiln_model *m = kiln_model_new(2, (int64_t[]){2, 3});
    assert_int_equal(kiln_model_add(m, kiln_flatten()), KILN_OK);
    float x[12], out[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i - 4.5f;
    assert_int_equal(kiln_predict(m, 2, x, out, 12), KILN_OK);
    assert_memory_equal(x, out, sizeof x);
    assert_int_equal(kiln_predict(m, 2, x, out, 11), KILN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(kiln_model_error(m), "out holds 11 floats"));
    kiln_model_free(m);
}

static void test_dropout_train_and_eval(void **state)
{
    (void)state;
    enum { N = 4000 };
    kiln_model *m = kiln_model_new(1, (int64_t[]){N});
    assert_int_equal(kiln_model_add(m, kiln_dropout_layer(0.25)), KILN_OK);
    static float x[N], out[N];
    for (int i = 0; i < N; i++)
        x[i] = 1 + (float)(i % 7);
    /* Evaluation: identity. */
    assert_int_equal(kiln_predict(m, 1, x, out, N), KILN_OK);
    assert_memory_equal(x, out, sizeof x);
    /* Training: each element is 0 or x / 0.75, about a quarter dropped. */
    kiln_graph *g = kiln_graph_new();
    kiln_node xn = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){1, N});
    kiln_node seed = kiln_scalar(g, KILN_I32, 7), off = kiln_scalar(g, KILN_I32, 0);
    kiln_output(g, "y", kiln_model_forward(m, g, xn, 1, seed, off));
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    kiln_set_input(p, "x", x, sizeof x);
    assert_int_equal(kiln_run(p), KILN_OK);
    kiln_get_output(p, "y", out, sizeof out);
    int dropped = 0;
    for (int i = 0; i < N; i++) {
        if (out[i] == 0)
            dropped++;
        else
            assert_float_equal(out[i], x[i] / 0.75, 1e-5);
    }
    /* Binomial(4000, 0.25): mean 1000, sd 27; 6 sd either way. */
    assert_in_range(dropped, 1000 - 165, 1000 + 165);
    kiln_program_free(p);
    kiln_graph_free(g);
    kiln_model_free(m);
}

typedef struct affine_seen {
    char prefix[KILN_MAX_NAME];
    int calls, training;
} affine_seen;

/* y = scale * x + 1 with a learnable scale initialised to 3. */
static kiln_node affine(kiln_graph *g, kiln_node x, const kiln_layer_ctx *ctx,
                        void *user)
{
    affine_seen *seen = user;
    snprintf(seen->prefix, sizeof seen->prefix, "%s", ctx->prefix);
    seen->calls++;
    seen->training = ctx->training;
    char name[KILN_MAX_NAME];
    snprintf(name, sizeof name, "%s.scale", ctx->prefix);
    kiln_node s = kiln_param(g, name, KILN_F32, 0, NULL, kiln_init_constant(3));
    return kiln_add(g, kiln_mul(g, x, s), kiln_scalar(g, KILN_F32, 1));
}

static void test_custom_layer(void **state)
{
    (void)state;
    affine_seen seen = {{0}, 0, -1};
    kiln_model *m = kiln_model_new(1, (int64_t[]){3});
    kiln_layer l = kiln_custom(affine, &seen);
    l.name = "aff";
    assert_int_equal(kiln_model_add(m, l), KILN_OK);
    assert_int_equal(kiln_model_add(m, kiln_activation_layer(KILN_ACT_RELU)), KILN_OK);
    const float x[6] = {1, -2, 0.5f, 0, -0.25f, 4};
    float out[6];
    assert_int_equal(kiln_predict(m, 2, x, out, 6), KILN_OK);
    for (int i = 0; i < 6; i++)
        assert_float_equal(out[i], fmax(3.0 * x[i] + 1, 0), 1e-6);
    assert_string_equal(seen.prefix, "aff");
    assert_int_equal(seen.training, 0);
    kiln_model_free(m);
}

static void read_param(kiln_model *m, const char *name, float *v, size_t bytes)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){1, 3});
    kiln_node none = {0};
    kiln_output(g, "y", kiln_model_forward(m, g, x, 0, none, none));
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    assert_int_equal(kiln_get_param(p, name, v, bytes), KILN_OK);
    kiln_program_free(p);
    kiln_graph_free(g);
}

static kiln_model *two_dense(uint64_t seed)
{
    kiln_model *m = kiln_model_new(1, (int64_t[]){3});
    kiln_model_seed(m, seed);
    kiln_model_add(m, kiln_dense(3, KILN_ACT_NONE));
    kiln_model_add(m, kiln_dense(3, KILN_ACT_NONE));
    return m;
}

static void test_default_init_is_seeded_glorot(void **state)
{
    (void)state;
    kiln_model *a = two_dense(5), *b = two_dense(5), *c = two_dense(6);
    float a0[9], a1[9], b0[9], c0[9], bias[3];
    read_param(a, "l0.w", a0, sizeof a0);
    read_param(a, "l1.w", a1, sizeof a1);
    read_param(b, "l0.w", b0, sizeof b0);
    read_param(c, "l0.w", c0, sizeof c0);
    read_param(a, "l0.b", bias, sizeof bias);
    double limit = sqrt(6.0 / (3 + 3));
    int distinct = 0;
    for (int i = 0; i < 9; i++) {
        assert_true(fabs(a0[i]) <= limit && fabs(a1[i]) <= limit);
        distinct += a0[i] != a0[0];
    }
    assert_true(distinct > 0);
    assert_memory_equal(a0, b0, sizeof a0);        /* same seed       */
    assert_memory_not_equal(a0, a1, sizeof a0);    /* other layer     */
    assert_memory_not_equal(a0, c0, sizeof a0);    /* other seed      */
    for (int i = 0; i < 3; i++)
        assert_true(bias[i] == 0);
    kiln_model_free(a);
    kiln_model_free(b);
    kiln_model_free(c);
}

static void test_add_errors(void **state)
{
    (void)state;
    kiln_model *m = kiln_model_new(1, (int64_t[]){3});
    assert_int_equal(kiln_model_add(m, kiln_dense(0, KILN_ACT_NONE)),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(kiln_model_error(m), "dense units 0"));
    assert_int_equal(kiln_model_add(m, kiln_dropout_layer(1)),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(kiln_model_error(m), "dropout rate 1"));
    assert_int_equal(kiln_model_add(m, kiln_custom(NULL, NULL)),
                     KILN_ERR_INVALID_ARGUMENT);
    kiln_layer l = kiln_dense(2, KILN_ACT_NONE);
    l.name = "h";
    assert_int_equal(kiln_model_add(m, l), KILN_OK);
    assert_int_equal(kiln_model_add(m, l), KILN_ERR_NAME);
    assert_non_null(strstr(kiln_model_error(m), "'h' is used twice"));
    l.name = "1bad";
    assert_int_equal(kiln_model_add(m, l), KILN_ERR_NAME);
    float x[3] = {0}, y[2];
    assert_int_equal(kiln_predict(m, 1, x, y, 2), KILN_OK);
    assert_int_equal(kiln_model_add(m, kiln_flatten()), KILN_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(kiln_model_error(m), "compiled already"));
    kiln_model_free(m);
}

static void test_summary(void **state)
{
    (void)state;
    kiln_model *m = kiln_model_new(1, (int64_t[]){4});
    kiln_model_add(m, kiln_dense(16, KILN_ACT_RELU));
    kiln_model_add(m, kiln_dropout_layer(0.5));
    kiln_model_add(m, kiln_dense(3, KILN_ACT_NONE));
    FILE *f = tmpfile();
    kiln_model_summary(m, f);
    char text[2048] = {0};
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    assert_true(n > 0);
    assert_non_null(strstr(text, "l0           dense      [16]           80\n"));
    assert_non_null(strstr(text, "l1           dropout    [16]           0\n"));
    assert_non_null(strstr(text, "l2           dense      [3]            51\n"));
    assert_non_null(strstr(text, "total params: 131\n"));
    kiln_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_relu_by_hand),
        cmocka_unit_test(test_activations_vs_formulas),
        cmocka_unit_test(test_flatten_keeps_values),
        cmocka_unit_test(test_dropout_train_and_eval),
        cmocka_unit_test(test_custom_layer),
        cmocka_unit_test(test_default_init_is_seeded_glorot),
        cmocka_unit_test(test_add_errors),
        cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
