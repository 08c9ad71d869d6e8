/*
 * cpu_ops_unary.c — unary elementwise ops and cast through the CPU backend
 * vs the reference.
 *
 * Each op runs once per dtype its builder accepts (found by trying, and
 * checked against what kiln.h documents), on sizes 1, 7, 17 x 64, 1000,
 * rank 0 and a size-1 dim, and on a transposed operand.  The 1000-element
 * input starts with special values (signed zeros, infinities, NaN,
 * subnormals, overflow, i32 extremes).
 *
 * Tolerances: sqrt, reciprocal, neg, abs, square, relu, sign are exact in
 * both backends (the reference rounds an f64 result to f32, which for
 * these equals the f32 operation since 53 >= 2*24+2), so they must agree
 * bit for bit.  Transcendental ops use the ulp bounds cpu_math.h
 * documents; those were measured against the correctly rounded result,
 * which is what the reference gives in f32.  In f64 the bound is the
 * documented one plus CO_LIBM_F64 (cpu_ops.h).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpu_ops.h"

const double co_int_specials[8] = {-2147483648.0, 2147483647.0, -1, 0, 1,
                                   46341, -46341, 65536};

/* ---- unary ----------------------------------------------------------- */

typedef struct unary_spec {
    int op;
    co_unary_builder build;
    unsigned dtypes; /* what kiln.h documents */
    double lo, hi;
    int nspecial;
    const double *specials;
    ch_tol f32, f64;
    bool f64_scale_x; /* f64 compared relative to |x| (see gelu) */
} unary_spec;

static const double sp_exp[] = {0, -0.0, 88.5, -88, -100, -104, -110, -746, 710,
                                INFINITY, -INFINITY, NAN, 1e-30, 1e-40};
static const double sp_log[] = {0, -0.0, -1, 1, INFINITY, -INFINITY, NAN, 1e-38,
                                1e-45, 3e38, 1e-310, 1e300};
static const double sp_log1p[] = {-1, -2, 0, -0.0, 1e-10, -1e-10, -0.5, INFINITY,
                                  NAN, 1e-40, 1e30};
static const double sp_sqrt[] = {0, -0.0, -1, INFINITY, NAN, 1e-45, 1e-310, 2, 3e38};
static const double sp_recip[] = {0, -0.0, INFINITY, -INFINITY, NAN, 1e-40, 3e38,
                                  -3, 1e-310};
static const double sp_tanh[] = {0, -0.0, INFINITY, -INFINITY, NAN, 1e-30, 20, -20,
                                 1e-40, 0.55, -0.55};
static const double sp_sigmoid[] = {0, -0.0, INFINITY, -INFINITY, NAN, 100, -100,
                                    -88, 40, -750, 1e-30};
/* gelu(-inf) is left out: the reference gives NaN (-inf * 0), the CPU -0
 * (the limit, as cpu_math.h documents). */
static const double sp_gelu[] = {0, -0.0, INFINITY, NAN, 1e-30, -1e-30, 10, -5};
static const double sp_trig[] = {0, -0.0, INFINITY, -INFINITY, NAN, 1e4, -1e4,
                                 3.14159265358979, 1.5707963267949, 1e-30, 1e-40,
                                 100, -100};
static const double sp_move[] = {0, -0.0, INFINITY, -INFINITY, NAN, 1e-40, 3e38,
                                 -3e38, -1, 1, 1e-310};

/* op, builder, dtypes, [lo, hi), specials, f32 and f64 tolerances, and
 * whether f64 is judged relative to |x| */
#define U_EXACT CH_TOL_EXACT, CH_TOL_EXACT, false
#define SP(a) CO_NSPEC(a), a
#define ULP(f32, f64) CH_TOL_ULP(f32), CH_TOL_ULP(f64), false
static const unary_spec unary_specs[] = {
    {IR_OP_EXP, kiln_exp, CO_FLOAT, -20, 20, SP(sp_exp), ULP(1, 1 + CO_LIBM_F64)},
    {IR_OP_LOG, kiln_log, CO_FLOAT, 1e-3, 100, SP(sp_log), ULP(1, 1 + CO_LIBM_F64)},
    {IR_OP_LOG1P, kiln_log1p, CO_FLOAT, -0.999, 100, SP(sp_log1p), ULP(2, 1 + CO_LIBM_F64)},
    {IR_OP_SQRT, kiln_sqrt, CO_FLOAT, 0, 100, SP(sp_sqrt), U_EXACT},
    /* 1 / sqrt(x): two roundings on the CPU, one in the f32 reference */
    {IR_OP_RSQRT, kiln_rsqrt, CO_FLOAT, 1e-3, 100, SP(sp_sqrt), ULP(1, 1)},
    {IR_OP_RECIPROCAL, kiln_reciprocal, CO_FLOAT, -10, 10, SP(sp_recip), U_EXACT},
    {IR_OP_TANH, kiln_tanh, CO_FLOAT, -10, 10, SP(sp_tanh), ULP(2, 2 + CO_LIBM_F64)},
    {IR_OP_SIGMOID, kiln_sigmoid, CO_FLOAT, -20, 20, SP(sp_sigmoid), ULP(2, 2 + CO_LIBM_F64)},
    /* gelu in [-5, 5]: the reference computes 0.5 x (1 + tanh(..)) in f64,
     * which cancels for negative x (absolute error ~ |x| 2^-53), harmless
     * when rounded to f32 but not in f64; there the CPU (which does not
     * cancel) is compared relative to |x|: 4 * 2^-52 |x|. */
    {IR_OP_GELU, kiln_gelu, CO_FLOAT, -5, 5, SP(sp_gelu), CH_TOL_ULP(1),
     CH_TOL_REL(4 * DBL_EPSILON), true},
    {IR_OP_SIN, kiln_sin, CO_FLOAT, -10, 10, SP(sp_trig), ULP(1, 1 + CO_LIBM_F64)},
    {IR_OP_COS, kiln_cos, CO_FLOAT, -10, 10, SP(sp_trig), ULP(1, 1 + CO_LIBM_F64)},
    {IR_OP_NEG, kiln_neg, CO_NUMERIC, -100, 100, SP(sp_move), U_EXACT},
    {IR_OP_ABS, kiln_abs, CO_NUMERIC, -100, 100, SP(sp_move), U_EXACT},
    {IR_OP_SQUARE, kiln_square, CO_NUMERIC, -100, 100, SP(sp_move), U_EXACT},
    {IR_OP_RELU, kiln_relu, CO_NUMERIC, -100, 100, SP(sp_move), U_EXACT},
    {IR_OP_SIGN, kiln_sign, CO_NUMERIC, -3, 3, SP(sp_move), U_EXACT},
};
#undef U_EXACT
#undef SP
#undef ULP

static const unary_spec *find_unary(int op)
{
    for (size_t i = 0; i < sizeof unary_specs / sizeof unary_specs[0]; i++)
        if (unary_specs[i].op == op)
            return &unary_specs[i];
    fail_msg("no unary spec for %s", ir_ops[op].name);
    return NULL;
}

static unsigned accepted_unary(co_unary_builder f)
{
    unsigned mask = 0;
    for (int i = 0; i < KILN_DTYPE_COUNT; i++)
        if (co_accepts_unary(f, co_dtypes[i]))
            mask |= 1u << co_dtypes[i];
    return mask;
}

static void unary_out(ch_ctx *c, const unary_spec *s, kiln_dtype t, kiln_node x)
{
    if (t == KILN_F64 && s->f64_scale_x) {
        int scale = ch_output(c, kiln_abs(c->g, x), ch_skip());
        ch_output(c, s->build(c->g, x), ch_rel_to(s->f64.n, scale));
        return;
    }
    ch_output(c, s->build(c->g, x), t == KILN_F64 ? s->f64 : s->f32);
}

static void unary_graph(co_env *e, const unary_spec *s, kiln_dtype t)
{
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(t));
    ch_dist d = ch_uniform(s->lo, s->hi);
    if (t == KILN_I32) {
        d = ch_uniform(-50, 50);
        d.nspecial = CO_NSPEC(co_int_specials);
        d.specials = co_int_specials;
    } else if (t != KILN_BOOL) {
        d.nspecial = s->nspecial;
        d.specials = s->specials;
    }
    unary_out(&c, s, t, ch_input(&c, t, 1, (int64_t[]){1000}, d));
    d.nspecial = 0;
    unary_out(&c, s, t, ch_input(&c, t, 2, (int64_t[]){17, 64}, d));
    unary_out(&c, s, t, co_transposed(&c, t, 17, 64, d));
    unary_out(&c, s, t, ch_input(&c, t, 1, (int64_t[]){7}, d));
    unary_out(&c, s, t, ch_input(&c, t, 1, (int64_t[]){1}, d));
    unary_out(&c, s, t, ch_input(&c, t, 0, NULL, d));
    unary_out(&c, s, t, ch_input(&c, t, 3, (int64_t[]){3, 1, 5}, d));
    co_check(e, &c);
}

static void unary_case(co_env *e)
{
    const unary_spec *s = find_unary(e->c->op);
    unsigned mask = accepted_unary(s->build);
    assert_int_equal(mask, s->dtypes);
    for (int i = 0; i < KILN_DTYPE_COUNT; i++)
        if (mask & (1u << co_dtypes[i]))
            unary_graph(e, s, co_dtypes[i]);
}

/* ---- cast ------------------------------------------------------------ */

static const double sp_cast_float[] = {NAN, INFINITY, -INFINITY, 3e9, -3e9,
                                       2147483520.0, -2147483648.0, 2147483647.0,
                                       -0.5, 0.5, -0.0, 0, 1.5, -2.7, 1e-40, 1e39,
                                       16777217, 0.9999999, -1e-310, 1e300};
static const double sp_cast_int[] = {-2147483648.0, 2147483647.0, 0, 1, -1,
                                     16777217, -16777217, 16777219, 9007199};

/* From one dtype to all four, plain and transposed. */
static void cast_graph(co_env *e, kiln_dtype from)
{
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(from));
    ch_dist d = ch_uniform(-5, 5);
    if (from == KILN_I32) {
        d = ch_uniform(-3, 3); /* many zeros and ones for bool */
        d.nspecial = CO_NSPEC(sp_cast_int);
        d.specials = sp_cast_int;
    } else if (from != KILN_BOOL) {
        d.coarse = 0.25; /* exact zeros */
        d.nspecial = CO_NSPEC(sp_cast_float);
        d.specials = sp_cast_float;
    }
    kiln_node x = ch_input(&c, from, 1, (int64_t[]){1000}, d);
    d.nspecial = 0;
    kiln_node xt = co_transposed(&c, from, 17, 64, d);
    for (int i = 0; i < KILN_DTYPE_COUNT; i++) {
        ch_output(&c, kiln_cast(c.g, x, co_dtypes[i]), ch_exact());
        ch_output(&c, kiln_cast(c.g, xt, co_dtypes[i]), ch_exact());
    }
    co_check(e, &c);
}

static void cast_case(co_env *e)
{
    for (int i = 0; i < KILN_DTYPE_COUNT; i++)
        cast_graph(e, co_dtypes[i]);
}

#define UNARY(ID, name) {name, IR_OP_##ID, unary_case},
const co_case co_cases_unary[] = {
    UNARY(EXP, "exp") UNARY(LOG, "log") UNARY(LOG1P, "log1p") UNARY(SQRT, "sqrt")
    UNARY(RSQRT, "rsqrt") UNARY(RECIPROCAL, "reciprocal") UNARY(TANH, "tanh")
    UNARY(SIGMOID, "sigmoid") UNARY(GELU, "gelu") UNARY(SIN, "sin") UNARY(COS, "cos")
    UNARY(NEG, "neg") UNARY(ABS, "abs") UNARY(SQUARE, "square") UNARY(RELU, "relu")
    UNARY(SIGN, "sign")
    {"cast", IR_OP_CAST, cast_case},
    {NULL, 0, NULL},
};
