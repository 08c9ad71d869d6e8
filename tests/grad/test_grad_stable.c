/*
 * test_grad_stable.c — gradients at extreme logits (+-1e4, where exp
 * overflows unless the rules avoid it), in f32 and f64, against values
 * computed in the test; and the f32 cast's pass-through rule.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gc.h"

enum { N = 5, C = 5 };

/* Row 0: the label's probability underflows to 0 (e^-2e4); row 1: all
 * equal; row 2: a tie at the maximum; row 3: the label is the winner
 * (probability 1 - tiny); row 4: random in [-1e4, 1e4]. */
static void extreme_logits(kiln_dtype t, double *x)
{
    static const double rows[4][C] = {
        {1e4, -1e4, 0, 5e3, 1e4 - 1},
        {-1e4, -1e4, -1e4, -1e4, -1e4},
        {-1e4, 1e4, -1e4, 9999.5, 1e4},
        {3, -1e4, 1e4, 2, 0},
    };
    uint64_t rng = 42;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < C; j++) {
            double v = i < 4 ? rows[i][j] : gc_uniform(&rng, -1e4, 1e4);
            x[i * C + j] = t == KILN_F32 ? (double)(float)v : v;
        }
}

/* Softmax of one row, computed the stable way in long double. */
static void row_softmax(const double *x, double *p, double *lse)
{
    long double m = x[0], s = 0;
    for (int j = 1; j < C; j++)
        m = fmaxl(m, x[j]);
    for (int j = 0; j < C; j++)
        s += expl(x[j] - m);
    for (int j = 0; j < C; j++)
        p[j] = (double)(expl(x[j] - m) / s);
    *lse = (double)(m + logl(s));
}

static void set_typed(kiln_program *p, const char *name, kiln_dtype t,
                      const double *v, int64_t n)
{
    float f[N * C];
    if (t == KILN_F32)
        for (int64_t i = 0; i < n; i++)
            f[i] = (float)v[i];
    assert_int_equal(kiln_set_input(p, name, t == KILN_F32 ? (void *)f
                                                          : (const void *)v,
                                    (size_t)n * kiln_dtype_size(t)),
                     KILN_OK);
}

static void get_typed(kiln_program *p, const char *name, kiln_dtype t,
                      double *v, int64_t n)
{
    float f[N * C];
    void *dst = t == KILN_F32 ? (void *)f : (void *)v;
    assert_int_equal(kiln_get_output(p, name, dst,
                                     (size_t)n * kiln_dtype_size(t)),
                     KILN_OK);
    if (t == KILN_F32)
        for (int64_t i = 0; i < n; i++)
            v[i] = f[i];
}

/* Tolerances: f64 values pass through ~4 rounded ops of size <= 1, so
 * 1e-14 absolute is ~50 ulps of slack.  The evaluator rounds f32 after
 * each op (softmax, subtract, scale): three half-ulps of 2^-24 each on
 * values <= 1, under 2e-7; 1e-6 is the f32 bound. */
static double tol(kiln_dtype t) { return t == KILN_F32 ? 1e-6 : 1e-14; }

static void check_ce(kiln_dtype t)
{
    const int32_t labels[N] = {1, 3, 4, 2, 0};
    double x[N * C], got[N * C], loss;
    extreme_logits(t, x);
    kiln_graph *g = kiln_graph_new();
    kiln_node xn = kiln_input(g, "x", t, 2, (int64_t[]){N, C});
    kiln_node yn = kiln_constant(g, KILN_I32, 1, (int64_t[]){N}, labels);
    kiln_node l = kiln_softmax_cross_entropy(g, xn, yn), dx;
    assert_int_equal(kiln_grad(g, l, 1, &xn, &dx, 0), KILN_OK);
    kiln_output(g, "loss", l);
    kiln_output(g, "dx", dx);
    kiln_program *p = kiln_compile(g, NULL);
    if (!p)
        fail_msg("%s", kiln_graph_error(g));
    set_typed(p, "x", t, x, N * C);
    assert_int_equal(kiln_run(p), KILN_OK);
    get_typed(p, "dx", t, got, N * C);
    get_typed(p, "loss", t, &loss, 1);
    double want_loss = 0;
    for (int i = 0; i < N; i++) {
        double prob[C], lse;
        row_softmax(x + i * C, prob, &lse);
        want_loss += (lse - x[i * C + labels[i]]) / N;
        for (int j = 0; j < C; j++) {
            double want = (prob[j] - (j == labels[i])) / N;
            double v = got[i * C + j];
            if (!isfinite(v) || fabs(v - want) > tol(t))
                fail_msg("%s dx[%d,%d] = %.9g, want %.9g", kiln_dtype_name(t),
                         i, j, v, want);
        }
    }
    assert_true(isfinite(loss));
    assert_true(fabs(loss - want_loss) <= tol(t) * fabs(want_loss));
    kiln_program_free(p);
    kiln_graph_free(g);
}

static void test_ce_extreme_f64(void **s) { (void)s; check_ce(KILN_F64); }
static void test_ce_extreme_f32(void **s) { (void)s; check_ce(KILN_F32); }

/* d/dx sum(log_softmax(x) * W) = W - softmax(x) * rowsum(W). */
static void check_log_softmax(kiln_dtype t)
{
    double x[N * C], w[N * C], got[N * C];
    extreme_logits(t, x);
    uint64_t rng = 7;
    for (int i = 0; i < N * C; i++)
        w[i] = t == KILN_F32 ? (float)gc_uniform(&rng, -1, 1)
                             : gc_uniform(&rng, -1, 1);
    kiln_graph *g = kiln_graph_new();
    kiln_node xn = kiln_input(g, "x", t, 2, (int64_t[]){N, C});
    kiln_node wn = kiln_input(g, "w", t, 2, (int64_t[]){N, C});
    kiln_node l = kiln_sum(g, kiln_mul(g, kiln_log_softmax(g, xn, 1), wn), 0,
                           NULL, 0);
    kiln_node dx;
    assert_int_equal(kiln_grad(g, l, 1, &xn, &dx, 0), KILN_OK);
    kiln_output(g, "dx", dx);
    kiln_program *p = kiln_compile(g, NULL);
    if (!p)
        fail_msg("%s", kiln_graph_error(g));
    set_typed(p, "x", t, x, N * C);
    set_typed(p, "w", t, w, N * C);
    assert_int_equal(kiln_run(p), KILN_OK);
    get_typed(p, "dx", t, got, N * C);
    for (int i = 0; i < N; i++) {
        double prob[C], lse, rowsum = 0;
        row_softmax(x + i * C, prob, &lse);
        for (int j = 0; j < C; j++)
            rowsum += w[i * C + j];
        for (int j = 0; j < C; j++) {
            double want = w[i * C + j] - prob[j] * rowsum;
            double v = got[i * C + j];
            /* rowsum (|.| <= 5) is rounded once more than in the CE rule. */
            if (!isfinite(v) || fabs(v - want) > 8 * tol(t))
                fail_msg("%s dx[%d,%d] = %.9g, want %.9g", kiln_dtype_name(t),
                         i, j, v, want);
        }
    }
    kiln_program_free(p);
    kiln_graph_free(g);
}

static void test_log_softmax_extreme_f64(void **s)
{
    (void)s;
    check_log_softmax(KILN_F64);
}

static void test_log_softmax_extreme_f32(void **s)
{
    (void)s;
    check_log_softmax(KILN_F32);
}

/* A round trip through f32 is piecewise constant, so it is not checked by
 * finite differences (gc_elementwise.c says why); the rule passes the
 * gradient through, cast to each input's dtype: d/dx sum(f64(f32(x)) W)
 * is W rounded to f32, exactly. */
static void test_cast_f32_passes_gradient_through(void **s)
{
    (void)s;
    enum { M = 7 };
    double x[M], w[M], got[M];
    uint64_t rng = 3;
    for (int i = 0; i < M; i++) {
        x[i] = gc_uniform(&rng, -2, 2);
        w[i] = gc_uniform(&rng, -1, 1);
    }
    kiln_graph *g = kiln_graph_new();
    kiln_node xn = kiln_input(g, "x", KILN_F64, 1, (int64_t[]){M});
    kiln_node wn = kiln_constant(g, KILN_F64, 1, (int64_t[]){M}, w);
    kiln_node y = kiln_cast(g, kiln_cast(g, xn, KILN_F32), KILN_F64);
    kiln_node l = kiln_sum(g, kiln_mul(g, y, wn), 0, NULL, 0), dx;
    assert_int_equal(kiln_grad(g, l, 1, &xn, &dx, 0), KILN_OK);
    assert_int_equal(kiln_node_dtype(g, dx), KILN_F64);
    kiln_output(g, "dx", dx);
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    assert_int_equal(kiln_set_input(p, "x", x, sizeof x), KILN_OK);
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_int_equal(kiln_get_output(p, "dx", got, sizeof got), KILN_OK);
    for (int i = 0; i < M; i++)
        assert_true(got[i] == (double)(float)w[i]);
    kiln_program_free(p);
    kiln_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ce_extreme_f64),
        cmocka_unit_test(test_ce_extreme_f32),
        cmocka_unit_test(test_log_softmax_extreme_f64),
        cmocka_unit_test(test_log_softmax_extreme_f32),
        cmocka_unit_test(test_cast_f32_passes_gradient_through),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
