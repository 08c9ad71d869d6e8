/*
 * cpu_ops_elementwise.c — unary, binary, compare, select and cast through
 * the CPU backend vs the reference.
 *
 * Each op runs once per dtype its builder accepts (found by trying, and
 * checked against what kiln.h documents), on sizes 1, 7, 17 x 64, 1000 and
 * rank 0, a transposed operand, and — for binary ops — broadcasting by
 * rank growth, size-1 dims on both sides and scalars.  The 1000-element
 * inputs start with special values (signed zeros, infinities, NaN,
 * subnormals, overflow, i32 extremes).
 *
 * Tolerances: + - * / sqrt reciprocal, max/min, sign, abs, ... are
 * correctly rounded in both backends (the reference rounds an f64 result
 * to f32, which for these ops equals the f32 operation since 53 >= 2*24+2),
 * so they must agree bit for bit.  Transcendental ops use the ulp bounds
 * cpu_math.h documents; those were measured against the correctly rounded
 * result, which is what the reference gives in f32.  In f64 the reference
 * is glibc's double libm, itself off by up to 2 ulp (glibc manual, "Errors
 * in Math Functions", x86_64), so the f64 bound is the documented one plus
 * 2 ulp.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpu_ops.h"

#define F32 (1u << KILN_F32)
#define F64 (1u << KILN_F64)
#define I32 (1u << KILN_I32)
#define BOOL (1u << KILN_BOOL)
#define FLOAT (F32 | F64)
#define NUMERIC (F32 | F64 | I32)
#define NSPEC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* f64 transcendental bound: cpu_math.h's plus 2 ulp of glibc's error. */
#define LIBM_F64 2

static const double int_specials[] = {-2147483648.0, 2147483647.0, -1, 0, 1,
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

#define U_EXACT CH_TOL_EXACT, CH_TOL_EXACT
static const unary_spec unary_specs[] = {
    {IR_OP_EXP, kiln_exp, FLOAT, -20, 20, NSPEC(sp_exp), sp_exp, CH_TOL_ULP(1), CH_TOL_ULP(1 + LIBM_F64), false},
    {IR_OP_LOG, kiln_log, FLOAT, 1e-3, 100, NSPEC(sp_log), sp_log, CH_TOL_ULP(1), CH_TOL_ULP(1 + LIBM_F64), false},
    {IR_OP_LOG1P, kiln_log1p, FLOAT, -0.999, 100, NSPEC(sp_log1p), sp_log1p, CH_TOL_ULP(2), CH_TOL_ULP(1 + LIBM_F64), false},
    {IR_OP_SQRT, kiln_sqrt, FLOAT, 0, 100, NSPEC(sp_sqrt), sp_sqrt, U_EXACT, false},
    /* 1 / sqrt(x): two roundings on the CPU, one in the f32 reference */
    {IR_OP_RSQRT, kiln_rsqrt, FLOAT, 1e-3, 100, NSPEC(sp_sqrt), sp_sqrt, CH_TOL_ULP(1), CH_TOL_ULP(1), false},
    {IR_OP_RECIPROCAL, kiln_reciprocal, FLOAT, -10, 10, NSPEC(sp_recip), sp_recip, U_EXACT, false},
    {IR_OP_TANH, kiln_tanh, FLOAT, -10, 10, NSPEC(sp_tanh), sp_tanh, CH_TOL_ULP(2), CH_TOL_ULP(2 + LIBM_F64), false},
    {IR_OP_SIGMOID, kiln_sigmoid, FLOAT, -20, 20, NSPEC(sp_sigmoid), sp_sigmoid, CH_TOL_ULP(2), CH_TOL_ULP(2 + LIBM_F64), false},
    /* gelu in [-5, 5]: the reference computes 0.5 x (1 + tanh(..)) in f64,
     * which cancels for negative x (absolute error ~ |x| 2^-53), harmless
     * when rounded to f32 but not in f64; there the CPU (which does not
     * cancel) is compared relative to |x|: 4 * 2^-52 |x|. */
    {IR_OP_GELU, kiln_gelu, FLOAT, -5, 5, NSPEC(sp_gelu), sp_gelu, CH_TOL_ULP(1), CH_TOL_REL(4 * DBL_EPSILON), true},
    {IR_OP_SIN, kiln_sin, FLOAT, -10, 10, NSPEC(sp_trig), sp_trig, CH_TOL_ULP(1), CH_TOL_ULP(1 + LIBM_F64), false},
    {IR_OP_COS, kiln_cos, FLOAT, -10, 10, NSPEC(sp_trig), sp_trig, CH_TOL_ULP(1), CH_TOL_ULP(1 + LIBM_F64), false},
    {IR_OP_NEG, kiln_neg, NUMERIC, -100, 100, NSPEC(sp_move), sp_move, U_EXACT, false},
    {IR_OP_ABS, kiln_abs, NUMERIC, -100, 100, NSPEC(sp_move), sp_move, U_EXACT, false},
    {IR_OP_SQUARE, kiln_square, NUMERIC, -100, 100, NSPEC(sp_move), sp_move, U_EXACT, false},
    {IR_OP_RELU, kiln_relu, NUMERIC, -100, 100, NSPEC(sp_move), sp_move, U_EXACT, false},
    {IR_OP_SIGN, kiln_sign, NUMERIC, -3, 3, NSPEC(sp_move), sp_move, U_EXACT, false},
};
#undef U_EXACT

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
        d.nspecial = NSPEC(int_specials);
        d.specials = int_specials;
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

/* ---- binary and compare ---------------------------------------------- */

typedef struct binary_spec {
    int op;
    co_binary_builder build;
    unsigned dtypes;
    double lo, hi, coarse;
    int nspecial;
    const double *sa, *sb;
    ch_tol f32, f64;
} binary_spec;

static const double sa_arith[] = {0, -0.0, 0, INFINITY, INFINITY, -INFINITY, NAN, 1,
                                  NAN, 1e-40, 3e38, -3e38, 1.5, 1e-310, 2, -0.0, 5};
static const double sb_arith[] = {-0.0, -0.0, 0, INFINITY, -INFINITY, 5, 1, NAN,
                                  NAN, 1e-40, 3e38, 3e38, 1.5, 1e-310, 0, 0, -0.0};
/* C99 Annex F special cases of pow, negative bases, overflow */
static const double sa_pow[] = {-2, -2, -0.5, 0, 0, -0.0, 1, -1, NAN, INFINITY,
                                -INFINITY, 2, 2, -8, 1e-3, 0.5, 1, -0.0, 10};
static const double sb_pow[] = {3, 2, -3, -1, 0, -1, NAN, INFINITY, 0, 0.5, 3,
                                1e3, -1e3, 1.0 / 3, 7.5, -INFINITY, -3, 3, 38.5};
static const double sa_int[] = {-2147483648.0, -2147483648.0, 2147483647.0,
                                2147483647.0, 7, -7, 0, 65536, -1, 7, -7};
static const double sb_int[] = {-1, 1, 1, -1, 0, 2, 0, 65536, -2147483648.0, -2, 2};

#define B_ARITH NSPEC(sa_arith), sa_arith, sb_arith
#define B_EXACT CH_TOL_EXACT, CH_TOL_EXACT
static const binary_spec binary_specs[] = {
    {IR_OP_ADD, kiln_add, NUMERIC, -10, 10, 0, B_ARITH, B_EXACT},
    {IR_OP_SUB, kiln_sub, NUMERIC, -10, 10, 0, B_ARITH, B_EXACT},
    {IR_OP_MUL, kiln_mul, NUMERIC, -10, 10, 0, B_ARITH, B_EXACT},
    {IR_OP_DIV, kiln_div, NUMERIC, -10, 10, 0, B_ARITH, B_EXACT},
    {IR_OP_POW, kiln_pow, FLOAT, 0, 4, 0, NSPEC(sa_pow), sa_pow, sb_pow, CH_TOL_ULP(1),
     CH_TOL_ULP(2 + LIBM_F64)},
    /* coarse values so that ties (and their tie-break) are exercised */
    {IR_OP_MAXIMUM, kiln_maximum, NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_MINIMUM, kiln_minimum, NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_LT, kiln_lt, NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_LE, kiln_le, NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_GT, kiln_gt, NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_GE, kiln_ge, NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_EQ, kiln_eq, NUMERIC | BOOL, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_NE, kiln_ne, NUMERIC | BOOL, -4, 4, 0.5, B_ARITH, B_EXACT},
};
#undef B_ARITH
#undef B_EXACT

static const binary_spec *find_binary(int op)
{
    for (size_t i = 0; i < sizeof binary_specs / sizeof binary_specs[0]; i++)
        if (binary_specs[i].op == op)
            return &binary_specs[i];
    fail_msg("no binary spec for %s", ir_ops[op].name);
    return NULL;
}

static void binary_out(ch_ctx *c, const binary_spec *s, kiln_dtype t, kiln_node a,
                       kiln_node b)
{
    ch_output(c, s->build(c->g, a, b), t == KILN_F64 ? s->f64 : s->f32);
}

/* The operand pairs: shapes and broadcasting of every kind. */
static void binary_graph(co_env *e, const binary_spec *s, kiln_dtype t)
{
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(t));
    ch_dist d = {s->lo, s->hi, s->coarse, 0, NULL};
    if (t == KILN_I32)
        d = (ch_dist){-1000, 1000, 0, 0, NULL};
    if (s->op == IR_OP_DIV && t == KILN_I32)
        d = (ch_dist){-20, 20, 0, 0, NULL}; /* x / 0 and small quotients */
    ch_dist da = d, db = d;
    if (t == KILN_I32) {
        da.nspecial = db.nspecial = NSPEC(sa_int);
        da.specials = sa_int;
        db.specials = sb_int;
    } else if (t != KILN_BOOL) {
        da.nspecial = db.nspecial = s->nspecial;
        da.specials = s->sa;
        db.specials = s->sb;
    }
    if (s->op == IR_OP_POW)
        db.lo = -3, db.hi = 3;
    int64_t n1000[1] = {1000};
    binary_out(&c, s, t, ch_input(&c, t, 1, n1000, da), ch_input(&c, t, 1, n1000, db));
    da.nspecial = db.nspecial = 0;
    binary_out(&c, s, t, ch_input(&c, t, 2, (int64_t[]){17, 64}, da),
               ch_input(&c, t, 1, (int64_t[]){64}, db));
    binary_out(&c, s, t, ch_input(&c, t, 2, (int64_t[]){17, 1}, da),
               ch_input(&c, t, 2, (int64_t[]){1, 64}, db));
    binary_out(&c, s, t, ch_input(&c, t, 0, NULL, da), ch_input(&c, t, 1, (int64_t[]){7}, db));
    binary_out(&c, s, t, ch_input(&c, t, 1, (int64_t[]){7}, da), ch_input(&c, t, 0, NULL, db));
    binary_out(&c, s, t, co_transposed(&c, t, 17, 64, da),
               ch_input(&c, t, 2, (int64_t[]){17, 64}, db));
    binary_out(&c, s, t, ch_input(&c, t, 2, (int64_t[]){64, 17}, da),
               co_transposed(&c, t, 64, 17, db));
    binary_out(&c, s, t, ch_input(&c, t, 1, (int64_t[]){1}, da),
               ch_input(&c, t, 1, (int64_t[]){1}, db));
    binary_out(&c, s, t, ch_input(&c, t, 3, (int64_t[]){3, 1, 7}, da),
               ch_input(&c, t, 2, (int64_t[]){17, 1}, db));
    co_check(e, &c);
}

static void binary_case(co_env *e)
{
    const binary_spec *s = find_binary(e->c->op);
    unsigned mask = 0;
    for (int i = 0; i < KILN_DTYPE_COUNT; i++)
        if (co_accepts_binary(s->build, co_dtypes[i]))
            mask |= 1u << co_dtypes[i];
    assert_int_equal(mask, s->dtypes);
    for (int i = 0; i < KILN_DTYPE_COUNT; i++)
        if (mask & (1u << co_dtypes[i]))
            binary_graph(e, s, co_dtypes[i]);
}

/* ---- select ---------------------------------------------------------- */

static void select_graph(co_env *e, kiln_dtype t)
{
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(t));
    kiln_graph *g = c.g;
    ch_dist d = t == KILN_I32 ? ch_uniform(-1000, 1000) : ch_uniform(-10, 10);
    ch_dist b = ch_uniform(0, 1);
    static const double sp[] = {NAN, -0.0, INFINITY, 0};
    ch_dist ds = d;
    if (ir_dtype_is_float(t)) {
        ds.nspecial = NSPEC(sp);
        ds.specials = sp;
    }
    int64_t n[1] = {1000};
    ch_output(&c, kiln_select(g, ch_input(&c, KILN_BOOL, 1, n, b), ch_input(&c, t, 1, n, ds),
                              ch_input(&c, t, 1, n, d)), ch_exact());
    ch_output(&c, kiln_select(g, ch_input(&c, KILN_BOOL, 2, (int64_t[]){17, 64}, b),
                              ch_input(&c, t, 1, (int64_t[]){64}, d),
                              ch_input(&c, t, 0, NULL, d)), ch_exact());
    ch_output(&c, kiln_select(g, ch_input(&c, KILN_BOOL, 2, (int64_t[]){17, 1}, b),
                              co_transposed(&c, t, 17, 64, d),
                              ch_input(&c, t, 2, (int64_t[]){1, 64}, d)), ch_exact());
    ch_output(&c, kiln_select(g, ch_input(&c, KILN_BOOL, 0, NULL, b),
                              ch_input(&c, t, 1, (int64_t[]){7}, d),
                              ch_input(&c, t, 1, (int64_t[]){7}, d)), ch_exact());
    ch_output(&c, kiln_select(g, co_transposed(&c, KILN_BOOL, 7, 17, b),
                              ch_input(&c, t, 3, (int64_t[]){3, 7, 1}, d),
                              ch_input(&c, t, 1, (int64_t[]){1}, d)), ch_exact());
    co_check(e, &c);
}

static void select_case(co_env *e)
{
    for (int i = 0; i < KILN_DTYPE_COUNT; i++)
        select_graph(e, co_dtypes[i]);
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
        d.nspecial = NSPEC(sp_cast_int);
        d.specials = sp_cast_int;
    } else if (from != KILN_BOOL) {
        d.coarse = 0.25; /* exact zeros */
        d.nspecial = NSPEC(sp_cast_float);
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
#define BINARY(ID, name) {name, IR_OP_##ID, binary_case},
const co_case co_cases_elementwise[] = {
    UNARY(EXP, "exp") UNARY(LOG, "log") UNARY(LOG1P, "log1p") UNARY(SQRT, "sqrt")
    UNARY(RSQRT, "rsqrt") UNARY(RECIPROCAL, "reciprocal") UNARY(TANH, "tanh")
    UNARY(SIGMOID, "sigmoid") UNARY(GELU, "gelu") UNARY(SIN, "sin") UNARY(COS, "cos")
    UNARY(NEG, "neg") UNARY(ABS, "abs") UNARY(SQUARE, "square") UNARY(RELU, "relu")
    UNARY(SIGN, "sign")
    BINARY(ADD, "add") BINARY(SUB, "sub") BINARY(MUL, "mul") BINARY(DIV, "div")
    BINARY(POW, "pow") BINARY(MAXIMUM, "maximum") BINARY(MINIMUM, "minimum")
    BINARY(LT, "lt") BINARY(LE, "le") BINARY(GT, "gt") BINARY(GE, "ge")
    BINARY(EQ, "eq") BINARY(NE, "ne")
    {"select", IR_OP_SELECT, select_case},
    {"cast", IR_OP_CAST, cast_case},
    {NULL, 0, NULL},
};
