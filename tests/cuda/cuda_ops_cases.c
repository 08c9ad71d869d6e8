/*
 * cuda_ops_cases.c — one case per op of ops.def through the CUDA code
 * generator, fused and unfused, against the reference (see cuda_ops.h).
 *
 * Tolerances: moves, compares, casts, +-x/, sqrt, reciprocal and integer
 * ops exact (the emulation compiles without fp contraction, and the
 * emitter rounds each operation like the reference); transcendentals the
 * ulp bounds of cuda_math.c (f32: exp 2, log 1, log1p 2, tanh 2, sin/cos
 * 2, sigmoid/gelu/pow 1 -> 2 to share tests/cpu's margin; f64: the
 * documented bound + 2 for glibc's own error, as tests/cpu); sums,
 * matmuls and composites tests/cpu's relative bounds (1e-5 f32, 1e-12
 * f64) against a sum of |terms|.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cuda_ops_cases.h"

static const kiln_dtype floats[] = {KILN_F32, KILN_F64};
static const kiln_dtype numerics[] = {KILN_F32, KILN_F64, KILN_I32};

/* ---- unary ------------------------------------------------------------ */

typedef kiln_node (*unary_fn)(kiln_graph *, kiln_node);
typedef struct unary_spec {
    int op;
    unary_fn f;
    bool numeric;
    double lo, hi;
    oc_tol f32, f64;
} unary_spec;

#define EX {OC_EXACT, 0, 0, -1}
#define U(n) {OC_ULP, (n), 0, -1}
static const unary_spec unary_specs[] = {
    {IR_OP_EXP, kiln_exp, false, -20, 20, U(2), U(3)},
    {IR_OP_LOG, kiln_log, false, 1e-3, 100, U(1), U(3)},
    {IR_OP_LOG1P, kiln_log1p, false, -0.999, 100, U(2), U(3)},
    {IR_OP_SQRT, kiln_sqrt, false, 0, 100, EX, EX},
    {IR_OP_RSQRT, kiln_rsqrt, false, 1e-3, 100, U(1), U(1)},
    {IR_OP_RECIPROCAL, kiln_reciprocal, false, -10, 10, EX, EX},
    {IR_OP_TANH, kiln_tanh, false, -10, 10, U(2), U(4)},
    {IR_OP_SIGMOID, kiln_sigmoid, false, -20, 20, U(2), U(4)},
    {IR_OP_GELU, kiln_gelu, false, -5, 5, U(2), {OC_REL, 4 * DBL_EPSILON, 0, -1}},
    {IR_OP_SIN, kiln_sin, false, -10, 10, U(2), U(4)},
    {IR_OP_COS, kiln_cos, false, -10, 10, U(2), U(4)},
    {IR_OP_NEG, kiln_neg, true, -100, 100, EX, EX},
    {IR_OP_ABS, kiln_abs, true, -100, 100, EX, EX},
    {IR_OP_SQUARE, kiln_square, true, -100, 100, EX, EX},
    {IR_OP_RELU, kiln_relu, true, -100, 100, EX, EX},
    {IR_OP_SIGN, kiln_sign, true, -3, 3, EX, EX},
};
#undef EX
#undef U

static void unary_case(const oc_case *k, cc_stats *st)
{
    oc cs[3];
    int n = 0;
    const unary_spec *s = NULL;
    for (size_t i = 0; i < sizeof unary_specs / sizeof unary_specs[0]; i++)
        if (unary_specs[i].op == k->op)
            s = &unary_specs[i];
    assert_non_null(s);
    for (int i = 0; i < (s->numeric ? 3 : 2); i++) {
        kiln_dtype t = numerics[i];
        oc *c = &cs[n++];
        oc_begin(c, k->name, (uint64_t)i, st);
        oc_dist d = oc_uniform(s->lo, s->hi);
        d.nspecial = 12;
        d.specials = oc_float_specials;
        if (t == KILN_I32) {
            d = oc_uniform(-50, 50);
            d.nspecial = 8;
            d.specials = oc_int_specials;
        }
        /* gelu in f64 is judged relative to |x| (the reference cancels for
         * negative x, tests/cpu's reason) */
        oc_tol tol = t == KILN_F32 ? s->f32 : s->f64;
        kiln_node x = oc_input(c, t, 1, (int64_t[]){1000}, d);
        d.nspecial = 0;
        kiln_node xs[] = {x, oc_input(c, t, 2, (int64_t[]){17, 64}, d),
                          oc_transposed(c, t, 17, 64, d), oc_input(c, t, 0, NULL, d),
                          oc_input(c, t, 3, (int64_t[]){3, 1, 5}, d)};
        for (int j = 0; j < 5; j++) {
            if (k->op == IR_OP_GELU && t == KILN_F64) {
                int sc = oc_output(c, kiln_abs(c->g, xs[j]), oc_skip());
                oc_output(c, s->f(c->g, xs[j]), oc_rel_to(tol.n, sc));
            } else {
                oc_output(c, s->f(c->g, xs[j]), tol);
            }
        }
    }
    oc_check_many(cs, n);
}

static void cast_case(const oc_case *k, cc_stats *st)
{
    static const double sp[] = {NAN, INFINITY, -INFINITY, 3e9, -3e9, 2147483520.0,
                                -2147483648.0, 2147483647.0, -0.5, 0.5, -0.0, 1.5,
                                -2.7, 1e-40, 16777217, 1e300};
    static const kiln_dtype all[] = {KILN_F32, KILN_F64, KILN_I32, KILN_BOOL};
    oc c;
    oc_begin(&c, k->name, 0, st);
    for (int i = 0; i < 4; i++) {
        oc_dist d = oc_uniform(-3, 3);
        d.coarse = 0.25;
        if (all[i] != KILN_BOOL) {
            d.nspecial = all[i] == KILN_I32 ? 8 : 16;
            d.specials = all[i] == KILN_I32 ? oc_int_specials : sp;
        }
        kiln_node x = oc_input(&c, all[i], 1, (int64_t[]){300}, d);
        d.nspecial = 0;
        kiln_node xt = oc_transposed(&c, all[i], 7, 17, d);
        for (int j = 0; j < 4; j++) {
            oc_output(&c, kiln_cast(c.g, x, all[j]), oc_exact());
            oc_output(&c, kiln_cast(c.g, xt, all[j]), oc_exact());
        }
    }
    oc_check(&c);
}

/* ---- binary, select ------------------------------------------------------ */

typedef kiln_node (*binary_fn)(kiln_graph *, kiln_node, kiln_node);
static const struct { int op; binary_fn f; } binaries[] = {
    {IR_OP_ADD, kiln_add}, {IR_OP_SUB, kiln_sub}, {IR_OP_MUL, kiln_mul},
    {IR_OP_DIV, kiln_div}, {IR_OP_POW, kiln_pow}, {IR_OP_MAXIMUM, kiln_maximum},
    {IR_OP_MINIMUM, kiln_minimum}, {IR_OP_LT, kiln_lt}, {IR_OP_LE, kiln_le},
    {IR_OP_GT, kiln_gt}, {IR_OP_GE, kiln_ge}, {IR_OP_EQ, kiln_eq}, {IR_OP_NE, kiln_ne},
};

static void binary_case(const oc_case *k, cc_stats *st)
{
    oc cs[3];
    int n = 0;
    binary_fn f = NULL;
    for (size_t i = 0; i < sizeof binaries / sizeof binaries[0]; i++)
        if (binaries[i].op == k->op)
            f = binaries[i].f;
    assert_non_null(f);
    bool is_pow = k->op == IR_OP_POW;
    for (int i = 0; i < (is_pow ? 2 : 3); i++) {
        kiln_dtype t = numerics[i];
        oc *c = &cs[n++];
        oc_begin(c, k->name, (uint64_t)i, st);
        oc_dist d = is_pow ? oc_uniform(0.1, 10) : oc_uniform(-8, 8);
        d.coarse = t == KILN_I32 ? 0 : 0.5; /* ties for compares, max, min */
        oc_dist e = is_pow ? oc_uniform(-3, 3) : d;
        oc_tol tol = is_pow ? oc_ulp(t == KILN_F32 ? 2 : 4) : oc_exact();
        oc_dist sd = d;
        sd.nspecial = t == KILN_I32 ? 8 : 12;
        sd.specials = t == KILN_I32 ? oc_int_specials : oc_float_specials;
        oc_output(c, f(c->g, oc_input(c, t, 1, (int64_t[]){300}, sd),
                        oc_input(c, t, 1, (int64_t[]){300}, e)), tol);
        oc_output(c, f(c->g, oc_input(c, t, 2, (int64_t[]){17, 1}, d),
                        oc_input(c, t, 2, (int64_t[]){1, 64}, e)), tol);
        oc_output(c, f(c->g, oc_transposed(c, t, 17, 64, d),
                        oc_input(c, t, 0, NULL, e)), tol);
        oc_output(c, f(c->g, oc_input(c, t, 3, (int64_t[]){3, 1, 5}, d),
                        oc_input(c, t, 1, (int64_t[]){5}, e)), tol);
    }
    oc_check_many(cs, n);
}

static void select_case(const oc_case *k, cc_stats *st)
{
    static const kiln_dtype all[] = {KILN_F32, KILN_F64, KILN_I32, KILN_BOOL};
    oc c;
    oc_begin(&c, k->name, 0, st);
    kiln_node cond = oc_input(&c, KILN_BOOL, 2, (int64_t[]){17, 64}, oc_uniform(0, 1));
    kiln_node crow = oc_input(&c, KILN_BOOL, 2, (int64_t[]){17, 1}, oc_uniform(0, 1));
    for (int i = 0; i < 4; i++) {
        oc_dist d = oc_uniform(-5, 5);
        kiln_node a = oc_input(&c, all[i], 2, (int64_t[]){17, 64}, d);
        kiln_node b = oc_transposed(&c, all[i], 17, 64, d);
        oc_output(&c, kiln_select(c.g, cond, a, b), oc_exact());
        oc_output(&c, kiln_select(c.g, crow, oc_input(&c, all[i], 0, NULL, d), b), oc_exact());
    }
    oc_check(&c);
}

/* ---- layout ------------------------------------------------------------- */

static void layout_case(const oc_case *k, cc_stats *st)
{
    oc cs[3];
    int n = 0;
    for (int i = 0; i < 3; i++) {
        kiln_dtype t = i == 2 ? KILN_BOOL : numerics[i * 2];
        oc *c = &cs[n++];
        oc_begin(c, k->name, (uint64_t)i, st);
        kiln_graph *g = c->g;
        oc_dist d = oc_uniform(-9, 9);
        kiln_node x = oc_input(c, t, 3, (int64_t[]){3, 5, 7}, d);
        kiln_node y = {0};
        switch (k->op) {
        case IR_OP_RESHAPE:
            oc_output(c, kiln_reshape(g, x, 2, (int64_t[]){15, 7}), oc_exact());
            oc_output(c, kiln_reshape(g, x, 1, (int64_t[]){-1}), oc_exact());
            y = kiln_reshape(g, kiln_transpose(g, x, (int[]){2, 0, 1}), 2, (int64_t[]){7, 15});
            break;
        case IR_OP_TRANSPOSE:
            oc_output(c, kiln_transpose(g, x, (int[]){2, 0, 1}), oc_exact());
            oc_output(c, kiln_transpose(g, x, (int[]){1, 0, 2}), oc_exact());
            y = kiln_transpose(g, oc_input(c, t, 2, (int64_t[]){33, 65}, d), (int[]){1, 0});
            break;
        case IR_OP_BROADCAST_TO:
            oc_output(c, kiln_broadcast_to(g, x, 4, (int64_t[]){2, 3, 5, 7}), oc_exact());
            y = kiln_broadcast_to(g, oc_input(c, t, 2, (int64_t[]){5, 1}, d), 3,
                                  (int64_t[]){4, 5, 9});
            break;
        case IR_OP_SLICE:
            oc_output(c, kiln_slice(g, x, (int64_t[]){1, 0, 2}, (int64_t[]){3, 5, 7},
                                     (int64_t[]){1, 2, 3}), oc_exact());
            y = kiln_slice(g, kiln_transpose(g, x, (int[]){2, 1, 0}), (int64_t[]){6, 1, 0},
                           (int64_t[]){7, 4, 3}, NULL);
            break;
        case IR_OP_CONCAT:
            oc_output(c, kiln_concat(g, 3, (kiln_node[]){x, oc_input(c, t, 3,
                (int64_t[]){3, 1, 7}, d), x}, 1), oc_exact());
            y = kiln_concat(g, 2, (kiln_node[]){x, oc_input(c, t, 3, (int64_t[]){3, 5, 2}, d)}, -1);
            break;
        default: /* pad */
            oc_output(c, kiln_pad(g, x, (int64_t[]){1, 0, 2}, (int64_t[]){0, 3, 1},
                                   t == KILN_BOOL ? 1 : -2.5), oc_exact());
            y = kiln_pad(g, oc_transposed(c, t, 7, 17, d), (int64_t[]){2, 0},
                         (int64_t[]){0, 5}, 0);
            break;
        }
        oc_output(c, y, oc_exact());
    }
    oc_check_many(cs, n);
}

/* ---- reductions ---------------------------------------------------------- */

typedef kiln_node (*reduce_fn)(kiln_graph *, kiln_node, int, const int *, int);

static void reduce_case(const oc_case *k, cc_stats *st)
{
    oc cs[3];
    int n = 0;
    reduce_fn f = k->op == IR_OP_SUM ? kiln_sum : k->op == IR_OP_MEAN ? kiln_mean
                : k->op == IR_OP_MAX ? kiln_max : kiln_min;
    bool moves = k->op == IR_OP_MAX || k->op == IR_OP_MIN;
    for (int i = 0; i < (k->op == IR_OP_MEAN ? 2 : 3); i++) {
        kiln_dtype t = numerics[i];
        oc *c = &cs[n++];
        oc_begin(c, k->name, (uint64_t)i, st);
        kiln_graph *g = c->g;
        oc_dist d = oc_uniform(-10, 10);
        d.coarse = moves ? 0.5 : 0;
        kiln_node xs[] = {oc_input(c, t, 2, (int64_t[]){17, 300}, d),
                          oc_transposed(c, t, 33, 65, d),
                          oc_input(c, t, 3, (int64_t[]){3, 5, 7}, d),
                          oc_input(c, t, 1, (int64_t[]){5000}, d)};
        static const int naxes[] = {1, 1, 2, 0};
        static const int axes[][2] = {{1, 0}, {0, 0}, {0, 2}, {0, 0}};
        for (int j = 0; j < 4; j++)
            for (int keep = 0; keep < 2; keep++) {
                const int *ax = naxes[j] ? axes[j] : NULL;
                if (moves || t == KILN_I32) {
                    oc_output(c, f(g, xs[j], naxes[j], ax, keep), oc_value());
                    continue;
                }
                int sc = oc_output(c, f(g, kiln_abs(g, xs[j]), naxes[j], ax, keep), oc_skip());
                oc_output(c, f(g, xs[j], naxes[j], ax, keep), oc_rel_to(oc_rel_of(t), sc));
            }
        /* the other axis of the first input, and a row of one */
        oc_output(c, f(g, xs[0], 1, (int[]){0}, 0), moves || t == KILN_I32 ? oc_value()
                  : oc_rel(oc_rel_of(t), 200));
        oc_output(c, f(g, oc_input(c, t, 2, (int64_t[]){7, 1}, d), 1, (int[]){1}, 0),
                  oc_value());
    }
    oc_check_many(cs, n);
}

static void argmax_case(const oc_case *k, cc_stats *st)
{
    oc cs[3];
    int n = 0;
    for (int i = 0; i < 3; i++) {
        kiln_dtype t = numerics[i];
        oc *c = &cs[n++];
        oc_begin(c, k->name, (uint64_t)i, st);
        oc_dist d = oc_uniform(-4, 4);
        d.coarse = 1; /* ties: the first maximum wins */
        kiln_node x = oc_input(c, t, 2, (int64_t[]){17, 300}, d);
        oc_output(c, kiln_argmax(c->g, x, 1, 0), oc_exact());
        oc_output(c, kiln_argmax(c->g, x, 0, 1), oc_exact());
        oc_output(c, kiln_argmax(c->g, oc_transposed(c, t, 33, 65, d), 1, 0), oc_exact());
        oc_dist sd = oc_uniform(-4, 4);
        sd.nspecial = t == KILN_I32 ? 8 : 12;
        sd.specials = t == KILN_I32 ? oc_int_specials : oc_float_specials;
        oc_output(c, kiln_argmax(c->g, oc_input(c, t, 1, (int64_t[]){1000}, sd), 0, 0),
                  oc_exact());
    }
    oc_check_many(cs, n);
}

/* ---- matmul ---------------------------------------------------------------- */

static void matmul_one(oc *c, kiln_dtype t, kiln_node a, kiln_node b)
{
    kiln_graph *g = c->g;
    if (t == KILN_I32) {
        oc_output(c, kiln_matmul(g, a, b), oc_exact());
        return;
    }
    int sc = oc_output(c, kiln_matmul(g, kiln_abs(g, a), kiln_abs(g, b)), oc_skip());
    oc_output(c, kiln_matmul(g, a, b), oc_rel_to(oc_rel_of(t), sc));
}

static void matmul_case(const oc_case *k, cc_stats *st)
{
    oc cs[3];
    int n = 0;
    for (int i = 0; i < 3; i++) {
        kiln_dtype t = numerics[i];
        oc *c = &cs[n++];
        oc_begin(c, k->name, (uint64_t)i, st);
        oc_dist d = oc_uniform(-2, 2);
        matmul_one(c, t, oc_input(c, t, 2, (int64_t[]){17, 33}, d),
                   oc_input(c, t, 2, (int64_t[]){33, 9}, d));
        matmul_one(c, t, oc_input(c, t, 2, (int64_t[]){70, 129}, d),
                   oc_transposed(c, t, 129, 67, d));
        matmul_one(c, t, oc_input(c, t, 3, (int64_t[]){2, 5, 7}, d),
                   oc_input(c, t, 3, (int64_t[]){2, 7, 3}, d));
        matmul_one(c, t, oc_input(c, t, 2, (int64_t[]){1, 64}, d),
                   oc_input(c, t, 2, (int64_t[]){64, 1}, d));
        /* an epilogue to fuse: relu(a b + bias) */
        kiln_node mm = kiln_matmul(c->g, oc_input(c, t, 2, (int64_t[]){31, 40}, d),
                                   oc_input(c, t, 2, (int64_t[]){40, 24}, d));
        kiln_node bias = oc_input(c, t, 1, (int64_t[]){24}, d);
        oc_output(c, kiln_relu(c->g, kiln_add(c->g, mm, bias)),
                  t == KILN_I32 ? oc_exact() : oc_rel(oc_rel_of(t), 80));
    }
    oc_check_many(cs, n);
}

/* ---- composites, random, sources ------------------------------------------- */

static void softmax_case(const oc_case *k, cc_stats *st)
{
    oc cs[3];
    int n = 0;
    for (int i = 0; i < 2; i++) {
        kiln_dtype t = floats[i];
        oc *c = &cs[n++];
        oc_begin(c, k->name, (uint64_t)i, st);
        kiln_graph *g = c->g;
        oc_dist d = oc_uniform(-6, 6);
        kiln_node xs[] = {oc_input(c, t, 2, (int64_t[]){17, 300}, d),
                          oc_transposed(c, t, 9, 65, d),
                          oc_input(c, t, 3, (int64_t[]){3, 5, 7}, d),
                          oc_input(c, t, 1, (int64_t[]){1}, d)};
        static const int axes[] = {1, 0, 1, 0};
        for (int j = 0; j < 4; j++) {
            if (k->op == IR_OP_SOFTMAX) {
                oc_output(c, kiln_softmax(g, xs[j], axes[j]), oc_rel(oc_rel_of(t), 0));
            } else {
                /* |log_softmax| can be small where |x| is not: scale by |x|+1 */
                kiln_node s = kiln_add(g, kiln_abs(g, xs[j]), kiln_scalar(g, t, 8));
                int sc = oc_output(c, s, oc_skip());
                oc_output(c, kiln_log_softmax(g, xs[j], axes[j]), oc_rel_to(oc_rel_of(t), sc));
            }
        }
    }
    oc_check_many(cs, n);
}

static void softmax_ce_case(const oc_case *k, cc_stats *st)
{
    oc cs[3];
    int n = 0;
    for (int i = 0; i < 2; i++) {
        kiln_dtype t = floats[i];
        oc *c = &cs[n++];
        oc_begin(c, k->name, (uint64_t)i, st);
        kiln_node logits = oc_input(c, t, 2, (int64_t[]){33, 10}, oc_uniform(-5, 5));
        kiln_node labels = oc_input(c, KILN_I32, 1, (int64_t[]){33}, oc_uniform(0, 10));
        oc_output(c, kiln_softmax_cross_entropy(c->g, logits, labels), oc_rel(oc_rel_of(t), 1));
    }
    oc_check_many(cs, n);
}

static void one_hot_case(const oc_case *k, cc_stats *st)
{
    oc c;
    oc_begin(&c, k->name, 0, st);
    oc_dist d = oc_uniform(-2, 19); /* out-of-range labels give zero rows */
    kiln_node l = oc_input(&c, KILN_I32, 1, (int64_t[]){40}, d);
    kiln_node l2 = oc_input(&c, KILN_I32, 2, (int64_t[]){3, 5}, d);
    for (int i = 0; i < 2; i++) {
        oc_output(&c, kiln_one_hot(c.g, l, 17, floats[i]), oc_exact());
        oc_output(&c, kiln_one_hot(c.g, l2, 7, floats[i]), oc_exact());
    }
    oc_check(&c);
}

static kiln_node scalar_i32(oc *c, double v)
{
    return oc_input(c, KILN_I32, 0, NULL, (oc_dist){v, v, 0, 1, (const double[]){v}});
}

static void random_case(const oc_case *k, cc_stats *st)
{
    oc c;
    oc_begin(&c, k->name, 0, st);
    kiln_graph *g = c.g;
    kiln_node seed = scalar_i32(&c, 12345), off = scalar_i32(&c, -2147483648.0);
    kiln_node seed2 = scalar_i32(&c, -7), off2 = scalar_i32(&c, 99);
    if (k->op == IR_OP_RANDOM_UNIFORM) {
        oc_output(&c, kiln_random_uniform(g, KILN_F32, 1, (int64_t[]){1001}, seed, off), oc_exact());
        oc_output(&c, kiln_random_uniform(g, KILN_F64, 2, (int64_t[]){7, 17}, seed2, off2), oc_exact());
        oc_output(&c, kiln_random_uniform(g, KILN_F32, 0, NULL, seed2, off), oc_exact());
    } else if (k->op == IR_OP_BERNOULLI) {
        static const double ps[] = {0, 0.3, 1, 1e-7};
        for (int i = 0; i < 4; i++)
            oc_output(&c, kiln_bernoulli(g, ps[i], 1, (int64_t[]){1000}, seed, off2), oc_exact());
        oc_output(&c, kiln_bernoulli(g, 0.25, 2, (int64_t[]){17, 64}, off, seed2), oc_exact());
    }
    oc_check(&c);
}

static void sources_case(const oc_case *k, cc_stats *st)
{
    oc c;
    oc_begin(&c, k->name, 0, st);
    kiln_graph *g = c.g;
    kiln_node x = oc_input(&c, KILN_F32, 2, (int64_t[]){7, 17}, oc_uniform(-1, 1));
    kiln_node p = kiln_param(g, "p", KILN_F32, 2, (int64_t[]){7, 17}, kiln_init_uniform(-1, 1, 3));
    kiln_node next = kiln_add(g, kiln_mul(g, p, kiln_scalar(g, KILN_F32, 0.5)), x);
    oc_output(&c, kiln_assign(g, p, next), oc_exact());
    oc_output(&c, p, oc_exact()); /* the value before the run */
    /* a swap: both assigns read the values from before the run */
    kiln_node a = kiln_param(g, "a", KILN_F64, 1, (int64_t[]){100}, kiln_init_normal(0, 1, 4));
    kiln_node b = kiln_param(g, "b", KILN_F64, 1, (int64_t[]){100}, kiln_init_constant(3));
    kiln_assign(g, a, b);
    kiln_assign(g, b, a);
    oc_output(&c, kiln_add(g, a, kiln_scalar(g, KILN_F64, 1)), oc_exact());
    kiln_node n = kiln_param(g, "n", KILN_I32, 0, NULL, kiln_init_constant(41));
    kiln_assign(g, n, kiln_add(g, n, kiln_scalar(g, KILN_I32, 1)));
    int32_t n0 = 7;
    oc_param_value(&c, "n", &n0, sizeof n0);
    static const double cv[] = {1.5, -2, 0.25, 8, 3, -0.5};
    kiln_node k6 = kiln_constant(g, KILN_F64, 2, (int64_t[]){2, 3}, cv);
    oc_output(&c, kiln_mul(g, k6, oc_input(&c, KILN_F64, 1, (int64_t[]){3}, oc_uniform(-2, 2))),
              oc_exact());
    oc_output(&c, k6, oc_exact());
    oc_output(&c, kiln_fill(g, KILN_I32, 1, (int64_t[]){17}, -3), oc_exact());
    oc_check(&c);
}

/* ---- the table -------------------------------------------------------------- */

#define UN(ID) {#ID, IR_OP_##ID, unary_case, OC_ELEMENTWISE},
#define BI(ID) {#ID, IR_OP_##ID, binary_case, OC_ELEMENTWISE},
#define LA(ID) {#ID, IR_OP_##ID, layout_case, OC_LAYOUT},
#define RE(ID) {#ID, IR_OP_##ID, reduce_case, OC_REDUCE},
const oc_case oc_cases[] = {
    {"INPUT", IR_OP_INPUT, sources_case, OC_NN},
    {"PARAM", IR_OP_PARAM, sources_case, OC_NN},
    {"CONST", IR_OP_CONST, sources_case, OC_NN},
    UN(EXP) UN(LOG) UN(LOG1P) UN(SQRT) UN(RSQRT) UN(RECIPROCAL) UN(TANH) UN(SIGMOID)
    UN(GELU) UN(SIN) UN(COS) UN(NEG) UN(ABS) UN(SQUARE) UN(RELU) UN(SIGN)
    BI(ADD) BI(SUB) BI(MUL) BI(DIV) BI(POW) BI(MAXIMUM) BI(MINIMUM) BI(LT) BI(LE)
    BI(GT) BI(GE) BI(EQ) BI(NE)
    {"SELECT", IR_OP_SELECT, select_case, OC_ELEMENTWISE},
    {"CAST", IR_OP_CAST, cast_case, OC_ELEMENTWISE},
    LA(RESHAPE) LA(TRANSPOSE) LA(BROADCAST_TO) LA(SLICE) LA(CONCAT) LA(PAD)
    RE(SUM) RE(MEAN) RE(MAX) RE(MIN)
    {"ARGMAX", IR_OP_ARGMAX, argmax_case, OC_REDUCE},
    {"MATMUL", IR_OP_MATMUL, matmul_case, OC_MATMUL},
    {"SOFTMAX", IR_OP_SOFTMAX, softmax_case, OC_NN},
    {"LOG_SOFTMAX", IR_OP_LOG_SOFTMAX, softmax_case, OC_NN},
    {"SOFTMAX_CE", IR_OP_SOFTMAX_CE, softmax_ce_case, OC_NN},
    {"ONE_HOT", IR_OP_ONE_HOT, one_hot_case, OC_NN},
    {"RANDOM_UNIFORM", IR_OP_RANDOM_UNIFORM, random_case, OC_NN},
    {"BERNOULLI", IR_OP_BERNOULLI, random_case, OC_NN},
    {"ASSIGN", IR_OP_ASSIGN, sources_case, OC_NN},
    {NULL, 0, NULL, 0},
};
