/*
 * test_grad_hvp.c — gradients of gradients.  For a smooth scalar f of a
 * vector x, g = grad(f, x) and hv = grad(sum(g * v), x) is the Hessian-
 * vector product H v; it must match central differences of the gradient,
 * (g(x + h v) - g(x - h v)) / 2h, norm-wise within 1e-6.  Each function
 * differentiates a different family of VJP rules a second time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc.h"

enum { NX = 6 };

typedef kiln_node (*scalar_fn)(kiln_graph *g, kiln_node x);

static kiln_node S(kiln_graph *g, double v) { return kiln_scalar(g, KILN_F64, v); }

static kiln_node total(kiln_graph *g, kiln_node x)
{
    return kiln_sum(g, x, 0, NULL, 0);
}

/* The brief's function: sum(tanh(z) z^2 + exp(0.3 z) sin(z)) with
 * z = reshape(x, [2,3]) M, so matmul and reshape are differentiated twice
 * too. */
static kiln_node f_tanh_matmul(kiln_graph *g, kiln_node x)
{
    static const double m[9] = {0.5, -0.3, 0.8, 0.2, 0.9, -0.4, -0.7, 0.1, 0.6};
    kiln_node M = kiln_constant(g, KILN_F64, 2, (int64_t[]){3, 3}, m);
    kiln_node z = kiln_matmul(g, kiln_reshape(g, x, 2, (int64_t[]){2, 3}), M);
    kiln_node a = kiln_mul(g, kiln_tanh(g, z), kiln_square(g, z));
    kiln_node b = kiln_mul(g, kiln_exp(g, kiln_mul(g, S(g, 0.3), z)),
                           kiln_sin(g, z));
    return total(g, kiln_add(g, a, b));
}

/* The softmax family, gelu and sigmoid, with a batched matmul. */
static kiln_node f_softmax(kiln_graph *g, kiln_node x)
{
    static const double c[6] = {0.3, -1.2, 0.7, 1.1, -0.4, 0.9};
    static const int32_t labels[2] = {2, 0};
    kiln_node z = kiln_reshape(g, x, 2, (int64_t[]){2, 3});
    kiln_node C = kiln_constant(g, KILN_F64, 2, (int64_t[]){2, 3}, c);
    kiln_node y = kiln_constant(g, KILN_I32, 1, (int64_t[]){2}, labels);
    kiln_node zz = kiln_matmul(g, kiln_reshape(g, z, 3, (int64_t[]){2, 3, 1}),
                               kiln_reshape(g, z, 3, (int64_t[]){2, 1, 3}));
    kiln_node parts[] = {
        total(g, kiln_mul(g, kiln_softmax(g, z, 1), C)),
        total(g, kiln_mul(g, kiln_log_softmax(g, z, 0), C)),
        kiln_softmax_cross_entropy(g, kiln_mul(g, z, S(g, 2)), y),
        total(g, kiln_mul(g, kiln_gelu(g, z), kiln_sigmoid(g, z))),
        total(g, kiln_softmax(g, zz, -1)),
        total(g, kiln_mul(g, kiln_log_softmax(g, zz, 1), kiln_tanh(g, zz))),
    };
    kiln_node f = parts[0];
    for (size_t i = 1; i < sizeof parts / sizeof *parts; i++)
        f = kiln_add(g, f, parts[i]);
    return f;
}

/* Positive x in [0.5, 1.5]: pow in both operands, div, log, log1p, sqrt,
 * rsqrt, reciprocal, and abs/maximum/max whose second derivatives pass
 * through sign and select. */
static kiln_node f_positive(kiln_graph *g, kiln_node x)
{
    kiln_node z = kiln_reshape(g, x, 2, (int64_t[]){2, 3});
    kiln_node parts[] = {
        total(g, kiln_pow(g, z, kiln_mul(g, z, S(g, 0.5)))),
        total(g, kiln_div(g, kiln_log1p(g, z), kiln_rsqrt(g, z))),
        total(g, kiln_mul(g, kiln_reciprocal(g, z), kiln_sqrt(g, z))),
        total(g, kiln_mul(g, kiln_log(g, z), kiln_square(g, z))),
        total(g, kiln_mul(g, kiln_abs(g, z), kiln_cos(g, z))),
        total(g, kiln_square(g, kiln_maximum(g, z, S(g, 0.2)))),
        total(g, kiln_exp(g, kiln_max(g, z, 1, (int[]){1}, 0))),
        kiln_mean(g, kiln_mul(g, kiln_minimum(g, z, S(g, 5)), kiln_neg(g, z)),
                  0, NULL, 0),
    };
    kiln_node f = parts[0];
    for (size_t i = 1; i < sizeof parts / sizeof *parts; i++)
        f = kiln_add(g, f, parts[i]);
    return f;
}

/* Layout ops between nonlinearities, so their rules' adjoints (slice of
 * pad, pad of slice, ...) are differentiated again. */
static kiln_node f_layout(kiln_graph *g, kiln_node x)
{
    kiln_node z = kiln_reshape(g, x, 2, (int64_t[]){2, 3});
    kiln_node t = kiln_transpose(g, z, (int[]){1, 0});
    kiln_node sl = kiln_slice(g, x, (int64_t[]){1}, (int64_t[]){6},
                              (int64_t[]){2});
    kiln_node cat = kiln_concat(g, 2, (kiln_node[]){sl, kiln_sin(g, sl)}, 0);
    kiln_node pad = kiln_pad(g, kiln_exp(g, z), (int64_t[]){1, 0},
                             (int64_t[]){0, 2}, 0.5);
    kiln_node b = kiln_broadcast_to(g, kiln_reshape(g, t, 3, (int64_t[]){3, 1, 2}),
                                    3, (int64_t[]){3, 2, 2});
    kiln_node sel = kiln_select(g, kiln_gt(g, x, S(g, 0)), kiln_square(g, x),
                                kiln_tanh(g, x));
    kiln_node parts[] = {
        total(g, kiln_square(g, cat)),
        total(g, kiln_mul(g, pad, kiln_sigmoid(g, pad))),
        total(g, kiln_mul(g, kiln_cos(g, b), b)),
        total(g, kiln_mul(g, sel, x)),
        total(g, kiln_square(g, kiln_mean(g, z, 1, (int[]){0}, 1))),
    };
    kiln_node f = parts[0];
    for (size_t i = 1; i < sizeof parts / sizeof *parts; i++)
        f = kiln_add(g, f, parts[i]);
    return f;
}

static void run(kiln_program *p, const double *x, const double *v,
                const char *out, double *y)
{
    assert_int_equal(kiln_set_input(p, "x", x, NX * sizeof *x), KILN_OK);
    assert_int_equal(kiln_set_input(p, "v", v, NX * sizeof *v), KILN_OK);
    if (kiln_run(p) != KILN_OK)
        fail_msg("run: %s", kiln_program_error(p));
    assert_int_equal(kiln_get_output(p, out, y, NX * sizeof *y), KILN_OK);
}

/* h = 1e-5: x and v are O(1), so truncation (h^2 |f''''|) and rounding
 * (eps |g| / h) of the difference quotient are both ~1e-10 relative. */
static void check_hvp(scalar_fn f, gc_dom dom, uint64_t seed)
{
    double x[NX], v[NX], hv[NX], gp[NX], gm[NX], fd[NX], xs[NX];
    gc_sample(&seed, dom, x, NX);
    gc_sample(&seed, (gc_dom){GC_UNIFORM, -1, 1}, v, NX);
    kiln_graph *g = kiln_graph_new();
    kiln_node xn = kiln_input(g, "x", KILN_F64, 1, (int64_t[]){NX});
    kiln_node vn = kiln_input(g, "v", KILN_F64, 1, (int64_t[]){NX});
    kiln_node gx, hvn;
    if (kiln_grad(g, f(g, xn), 1, &xn, &gx, 0) != KILN_OK ||
        kiln_grad(g, total(g, kiln_mul(g, gx, vn)), 1, &xn, &hvn, 0) != KILN_OK)
        fail_msg("grad: %s", kiln_graph_error(g));
    assert_int_equal(ir_verify(g), KILN_OK);
    kiln_output(g, "g", gx);
    kiln_output(g, "hv", hvn);
    kiln_program *p = kiln_compile(g, NULL);
    if (!p)
        fail_msg("compile: %s", kiln_graph_error(g));
    run(p, x, v, "hv", hv);
    const double h = 1e-5;
    for (int i = 0; i < NX; i++)
        xs[i] = x[i] + h * v[i];
    run(p, xs, v, "g", gp);
    for (int i = 0; i < NX; i++)
        xs[i] = x[i] - h * v[i];
    run(p, xs, v, "g", gm);
    for (int i = 0; i < NX; i++)
        fd[i] = (gp[i] - gm[i]) / (2 * h);
    double err = gc_norm_diff(hv, fd, NX), ref = gc_norm_diff(fd, NULL, NX);
    print_message("||Hv - fd|| / ||fd|| = %.2e (||fd|| = %.3g)\n", err / ref,
                  ref);
    assert_true(ref > 0.1); /* a real curvature, not a vacuous pass */
    if (!(err <= GC_TOL * ref))
        fail_msg("Hv off: ||Hv - fd|| = %.3g, ||fd|| = %.3g", err, ref);
    kiln_program_free(p);
    kiln_graph_free(g);
}

static void test_hvp_tanh_matmul(void **s)
{
    (void)s;
    check_hvp(f_tanh_matmul, (gc_dom)GC_ANY, 1);
    check_hvp(f_tanh_matmul, (gc_dom)GC_ANY, 2);
}

static void test_hvp_softmax_family(void **s)
{
    (void)s;
    check_hvp(f_softmax, (gc_dom)GC_ANY, 3);
    check_hvp(f_softmax, (gc_dom)GC_ANY, 4);
}

static void test_hvp_positive_domain(void **s)
{
    (void)s;
    check_hvp(f_positive, (gc_dom){GC_UNIFORM, 0.5, 1.5}, 5);
    check_hvp(f_positive, (gc_dom){GC_UNIFORM, 0.5, 1.5}, 6);
}

/* x away from 0, where select's condition flips. */
static void test_hvp_layout(void **s)
{
    (void)s;
    check_hvp(f_layout, (gc_dom)GC_AWAY0, 7);
    check_hvp(f_layout, (gc_dom)GC_AWAY0, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hvp_tanh_matmul),
        cmocka_unit_test(test_hvp_softmax_family),
        cmocka_unit_test(test_hvp_positive_domain),
        cmocka_unit_test(test_hvp_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
