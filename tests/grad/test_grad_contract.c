/*
 * test_grad_contract.c — kiln_grad's contract beyond the per-op rules:
 * every misuse gives a precise sticky error, unused wrt nodes get the
 * invalid node or zeros, a node used many times accumulates its
 * gradient, and wrt may be a param, an inner node or the loss itself
 * (checked against hand-computed derivatives).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc.h"

#define DIMS(...) ((const int64_t[]){__VA_ARGS__})

/* kiln_grad must fail with status s and a message containing each of
 * the NULL-terminated parts. */
static void expect_fail(kiln_graph *g, kiln_status got, kiln_status s, ...)
{
    va_list ap;
    va_start(ap, s);
    assert_int_equal(got, s);
    assert_int_equal(kiln_graph_status(g), s);
    for (const char *part; (part = va_arg(ap, const char *));)
        gc_expect_substr(kiln_graph_error(g), part);
    va_end(ap);
}

static void test_non_scalar_loss(void **s)
{
    (void)s;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F64, 1, DIMS(3)), dx;
    kiln_node loss = kiln_exp(g, x);
    expect_fail(g, kiln_grad(g, loss, 1, &x, &dx, 0), KILN_ERR_SHAPE,
                "grad: the loss must be a floating scalar", "exp", "f64[3]",
                NULL);
    kiln_graph_free(g);
}

static void test_integer_loss(void **s)
{
    (void)s;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F64, 1, DIMS(3)), dx;
    kiln_node loss = kiln_sum(g, kiln_cast(g, x, KILN_I32), 0, NULL, 0);
    expect_fail(g, kiln_grad(g, loss, 1, &x, &dx, 0), KILN_ERR_SHAPE,
                "the loss must be a floating scalar", "sum", "i32[]", NULL);
    kiln_graph_free(g);
}

static void test_wrt_integer(void **s)
{
    (void)s;
    kiln_graph *g = kiln_graph_new();
    kiln_node k = kiln_input(g, "k", KILN_I32, 1, DIMS(3)), dk;
    kiln_node loss = kiln_sum(g, kiln_cast(g, k, KILN_F64), 0, NULL, 0);
    expect_fail(g, kiln_grad(g, loss, 1, &k, &dk, 0), KILN_ERR_DTYPE,
                "cannot differentiate with respect to input 'k'", "i32[3]",
                "not floating", NULL);
    kiln_graph_free(g);
}

/* x reaches the loss only through `through`; the message names it, also
 * when zeros for unused nodes were asked for (x is used, just not
 * differentiably). */
static void expect_blamed(kiln_node (*through)(kiln_graph *, kiln_node),
                          const char *op, unsigned flags)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F64, 2, DIMS(2, 3)), dx;
    kiln_node loss = kiln_sum(g, through(g, x), 0, NULL, 0);
    expect_fail(g, kiln_grad(g, loss, 1, &x, &dx, flags),
                KILN_ERR_INVALID_ARGUMENT, "grad: the loss depends on 'x' only "
                "through", op, "not differentiable", NULL);
    kiln_graph_free(g);
}

static kiln_node via_argmax(kiln_graph *g, kiln_node x)
{
    return kiln_cast(g, kiln_argmax(g, x, 1, 0), KILN_F64);
}

static kiln_node via_compare(kiln_graph *g, kiln_node x)
{
    kiln_node one = kiln_scalar(g, KILN_F64, 1), two = kiln_scalar(g, KILN_F64, 2);
    return kiln_select(g, kiln_gt(g, x, kiln_scalar(g, KILN_F64, 0)), one, two);
}

static kiln_node via_int_cast(kiln_graph *g, kiln_node x)
{
    return kiln_cast(g, kiln_cast(g, x, KILN_I32), KILN_F64);
}

static void test_non_differentiable_path(void **s)
{
    (void)s;
    expect_blamed(via_argmax, "argmax", 0);
    expect_blamed(via_argmax, "argmax", KILN_GRAD_ZEROS_FOR_UNUSED);
    expect_blamed(via_compare, "gt", 0);
    expect_blamed(via_int_cast, "cast", 0);
}

static void test_bad_handles(void **s)
{
    (void)s;
    kiln_graph *g = kiln_graph_new(), *other = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F64, 0, NULL), dx;
    kiln_node loss = kiln_exp(g, x), bad = {0};
    kiln_node foreign = kiln_input(other, "y", KILN_F64, 0, NULL);
    expect_fail(g, kiln_grad(g, bad, 1, &x, &dx, 0), KILN_ERR_INVALID_ARGUMENT,
                "grad: input is the invalid node", NULL);
    kiln_graph_clear_error(g);
    expect_fail(g, kiln_grad(g, loss, 1, &bad, &dx, 0),
                KILN_ERR_INVALID_ARGUMENT, "grad: input is the invalid node",
                NULL);
    kiln_graph_clear_error(g);
    expect_fail(g, kiln_grad(g, foreign, 1, &x, &dx, 0),
                KILN_ERR_INVALID_ARGUMENT, "grad: node handle",
                "does not belong to this graph", NULL);
    kiln_graph_clear_error(g);
    expect_fail(g, kiln_grad(g, loss, 1, &foreign, &dx, 0),
                KILN_ERR_INVALID_ARGUMENT, "does not belong to this graph",
                NULL);
    assert_int_equal(kiln_grad(NULL, loss, 1, &x, &dx, 0),
                     KILN_ERR_INVALID_ARGUMENT);
    kiln_graph_free(g);
    kiln_graph_free(other);
}

static void test_bad_arrays_and_counts(void **s)
{
    (void)s;
    const char *msg = "grad: need n >= 0 and non-NULL wrt and grads";
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F64, 0, NULL), dx;
    kiln_node loss = kiln_exp(g, x);
    expect_fail(g, kiln_grad(g, loss, 1, NULL, &dx, 0),
                KILN_ERR_INVALID_ARGUMENT, msg, NULL);
    kiln_graph_clear_error(g);
    expect_fail(g, kiln_grad(g, loss, 1, &x, NULL, 0),
                KILN_ERR_INVALID_ARGUMENT, msg, NULL);
    kiln_graph_clear_error(g);
    expect_fail(g, kiln_grad(g, loss, -1, &x, &dx, 0),
                KILN_ERR_INVALID_ARGUMENT, msg, NULL);
    kiln_graph_clear_error(g);
    /* n = 0 asks for nothing: fine even with NULL arrays. */
    assert_int_equal(kiln_grad(g, loss, 0, NULL, NULL, 0), KILN_OK);
    kiln_graph_free(g);
}

/* A graph that already failed keeps its first error. */
static void test_sticky_first_error(void **s)
{
    (void)s;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F64, 1, DIMS(3)), dx;
    kiln_node loss = kiln_sum(g, x, 0, NULL, 0);
    kiln_node y = kiln_input(g, "y", KILN_F64, 1, DIMS(4));
    assert_false(kiln_node_valid(kiln_add(g, x, y)));
    char first[512];
    snprintf(first, sizeof first, "%s", kiln_graph_error(g));
    assert_int_equal(kiln_grad(g, loss, 1, &x, &dx, 0), KILN_ERR_SHAPE);
    assert_string_equal(kiln_graph_error(g), first);
    kiln_graph_free(g);
}

typedef struct feed {
    const char *name;
    const double *x;
    size_t nbytes;
} feed;

/* Evaluate n with the nfeeds inputs bound; copy nb bytes into out. */
static void eval_into(kiln_graph *g, kiln_node n, int nfeeds, const feed *f,
                      double *out, size_t nb)
{
    assert_int_equal(kiln_output(g, "out", n), KILN_OK);
    kiln_program *p = kiln_compile(g, NULL);
    if (!p)
        fail_msg("%s", kiln_graph_error(g));
    for (int i = 0; i < nfeeds; i++)
        assert_int_equal(kiln_set_input(p, f[i].name, f[i].x, f[i].nbytes),
                         KILN_OK);
    if (kiln_run(p) != KILN_OK)
        fail_msg("%s", kiln_program_error(p));
    assert_int_equal(kiln_get_output(p, "out", out, nb), KILN_OK);
    kiln_program_free(p);
}

/* u is never used; `late` is made after the loss; z reaches the loss only
 * through sign, whose derivative is zero: a true zero gradient, given
 * with or without the flag. */
static void test_unused_wrt(void **s)
{
    (void)s;
    for (unsigned flags = 0; flags <= KILN_GRAD_ZEROS_FOR_UNUSED;
         flags += KILN_GRAD_ZEROS_FOR_UNUSED) {
        kiln_graph *g = kiln_graph_new();
        kiln_node x = kiln_input(g, "x", KILN_F64, 1, DIMS(3));
        kiln_node u = kiln_input(g, "u", KILN_F64, 2, DIMS(2, 2));
        kiln_node z = kiln_input(g, "z", KILN_F64, 1, DIMS(3));
        kiln_node loss = kiln_sum(g, kiln_mul(g, kiln_square(g, x),
                                              kiln_sign(g, z)), 0, NULL, 0);
        kiln_node late = kiln_exp(g, x);
        kiln_node wrt[4] = {x, u, late, z}, d[4];
        assert_int_equal(kiln_grad(g, loss, 4, wrt, d, flags), KILN_OK);
        assert_true(kiln_node_valid(d[0]));
        assert_true(kiln_node_valid(d[3]));
        bool zeros = flags & KILN_GRAD_ZEROS_FOR_UNUSED;
        assert_int_equal(kiln_node_valid(d[1]), zeros);
        assert_int_equal(kiln_node_valid(d[2]), zeros);
        double xv[3] = {1, 2, 3}, uv[4] = {0}, zv[3] = {-1, 2, 0.5};
        feed f[3] = {{"x", xv, sizeof xv}, {"u", uv, sizeof uv},
                     {"z", zv, sizeof zv}};
        kiln_node all = d[3];
        if (zeros) {
            int64_t dims[KILN_MAX_RANK];
            assert_int_equal(kiln_node_shape(g, d[1], dims), 2);
            assert_true(dims[0] == 2 && dims[1] == 2);
            assert_int_equal(kiln_node_dtype(g, d[1]), KILN_F64);
            assert_int_equal(kiln_node_shape(g, d[2], dims), 1);
            assert_true(dims[0] == 3);
            kiln_node parts[] = {kiln_reshape(g, d[1], 1, DIMS(4)), d[2], d[3]};
            all = kiln_concat(g, 3, parts, 0);
        }
        int64_t n = zeros ? 10 : 3;
        double *vals = calloc((size_t)n, sizeof *vals);
        assert_non_null(vals);
        for (int64_t i = 0; i < n; i++)
            vals[i] = 9;
        eval_into(g, all, 3, f, vals, (size_t)n * sizeof *vals);
        for (int64_t i = 0; i < n; i++)
            assert_true(vals[i] == 0);
        free(vals);
        kiln_graph_free(g);
    }
}

/* y = x*x + x*3 + sin(x) uses x four times: dy/dx = 2x + 3 + cos(x).
 * And x [3,1] broadcast against b [1,4] twice: d/dx sum((x*b + exp(x)) W)
 * = sum_j W_ij b_j + exp(x_i) sum_j W_ij.  A few f64 roundings: 1e-14
 * relative to the terms' magnitude. */
static void test_accumulation(void **s)
{
    (void)s;
    double x[3] = {0.7, -1.3, 2.1}, w[12], b[4] = {0.5, -1, 2, 0.25}, got[3];
    uint64_t rng = 9;
    gc_sample(&rng, (gc_dom)GC_ANY, w, 12);
    kiln_graph *g = kiln_graph_new();
    kiln_node xn = kiln_input(g, "x", KILN_F64, 2, DIMS(3, 1));
    kiln_node W = kiln_constant(g, KILN_F64, 2, DIMS(3, 4), w);
    kiln_node B = kiln_constant(g, KILN_F64, 2, DIMS(1, 4), b);
    kiln_node y1 = kiln_add(g, kiln_add(g, kiln_mul(g, xn, xn),
                                        kiln_mul(g, xn, kiln_scalar(g, KILN_F64, 3))),
                            kiln_sin(g, xn));
    kiln_node y2 = kiln_add(g, kiln_mul(g, xn, B), kiln_exp(g, xn));
    kiln_node loss = kiln_add(g, kiln_sum(g, kiln_mul(g, y1, W), 0, NULL, 0),
                              kiln_sum(g, kiln_mul(g, y2, W), 0, NULL, 0));
    kiln_node dx;
    assert_int_equal(kiln_grad(g, loss, 1, &xn, &dx, 0), KILN_OK);
    eval_into(g, dx, 1, &(feed){"x", x, sizeof x}, got, sizeof got);
    for (int i = 0; i < 3; i++) {
        double rw = 0, rwb = 0, scale = 0;
        for (int j = 0; j < 4; j++) {
            rw += w[i * 4 + j];
            rwb += w[i * 4 + j] * b[j];
            scale += fabs(w[i * 4 + j]) * (2 * fabs(x[i]) + 4 + fabs(b[j]) +
                                            exp(x[i]));
        }
        double want = rw * (2 * x[i] + 3 + cos(x[i])) + rwb + exp(x[i]) * rw;
        if (fabs(got[i] - want) > 1e-14 * scale)
            fail_msg("dx[%d] = %.17g, want %.17g", i, got[i], want);
    }
    kiln_graph_free(g);
}

/* loss = sum(exp(p * x) * W) with p a param: d/dp = sum(W x exp(p x)),
 * d/dy for the inner y = exp(p x) is W, d/dloss is 1. */
static void test_wrt_param_inner_and_loss(void **s)
{
    (void)s;
    double x[3] = {0.5, -1, 2}, w[3] = {0.25, -2, 1.5}, got[5];
    kiln_graph *g = kiln_graph_new();
    kiln_node xn = kiln_input(g, "x", KILN_F64, 1, DIMS(3));
    kiln_node p = kiln_param(g, "p", KILN_F64, 0, NULL, kiln_init_constant(0.7));
    kiln_node y = kiln_exp(g, kiln_mul(g, p, xn));
    kiln_node W = kiln_constant(g, KILN_F64, 1, DIMS(3), w);
    kiln_node loss = kiln_sum(g, kiln_mul(g, y, W), 0, NULL, 0);
    kiln_node wrt[3] = {p, y, loss}, d[3];
    assert_int_equal(kiln_grad(g, loss, 3, wrt, d, 0), KILN_OK);
    kiln_node parts[] = {kiln_reshape(g, d[0], 1, DIMS(1)), d[1],
                         kiln_reshape(g, d[2], 1, DIMS(1))};
    eval_into(g, kiln_concat(g, 3, parts, 0), 1, &(feed){"x", x, sizeof x},
              got, sizeof got);
    double dp = 0;
    for (int i = 0; i < 3; i++)
        dp += w[i] * x[i] * exp(0.7 * x[i]);
    assert_true(fabs(got[0] - dp) <= 1e-14 * 10);
    for (int i = 0; i < 3; i++)
        assert_true(got[1 + i] == w[i]);
    assert_true(got[4] == 1);
    kiln_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_scalar_loss),
        cmocka_unit_test(test_integer_loss),
        cmocka_unit_test(test_wrt_integer),
        cmocka_unit_test(test_non_differentiable_path),
        cmocka_unit_test(test_bad_handles),
        cmocka_unit_test(test_bad_arrays_and_counts),
        cmocka_unit_test(test_sticky_first_error),
        cmocka_unit_test(test_unused_wrt),
        cmocka_unit_test(test_accumulation),
        cmocka_unit_test(test_wrt_param_inner_and_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
