/*
 * cpu_ops_binary.c — binary elementwise ops, comparisons and select
 * through the CPU backend vs the reference.
 *
 * Each op runs once per dtype its builder accepts (checked against
 * kiln.h), on operand pairs covering every kind of broadcasting — rank
 * growth, size-1 dims on both sides, scalars — plus transposed operands
 * on either side and sizes 1, 7, 17 x 64 and 1000.  The 1000-element pair
 * starts with special pairs (signed zeros, infinities, NaN, subnormals,
 * overflow, C99 pow cases, i32 INT_MIN / -1 and x / 0); comparison and
 * max/min inputs are coarse so ties occur.
 *
 * Tolerances: + - * / max min and comparisons are correctly rounded or
 * exact in both backends, so they must agree bit for bit; pow uses the
 * ulp bound of cpu_math.h (f64: plus CO_LIBM_F64).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpu_ops.h"

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

#define B_ARITH CO_NSPEC(sa_arith), sa_arith, sb_arith
#define B_EXACT CH_TOL_EXACT, CH_TOL_EXACT
static const binary_spec binary_specs[] = {
    {IR_OP_ADD, kiln_add, CO_NUMERIC, -10, 10, 0, B_ARITH, B_EXACT},
    {IR_OP_SUB, kiln_sub, CO_NUMERIC, -10, 10, 0, B_ARITH, B_EXACT},
    {IR_OP_MUL, kiln_mul, CO_NUMERIC, -10, 10, 0, B_ARITH, B_EXACT},
    {IR_OP_DIV, kiln_div, CO_NUMERIC, -10, 10, 0, B_ARITH, B_EXACT},
    {IR_OP_POW, kiln_pow, CO_FLOAT, 0, 4, 0, CO_NSPEC(sa_pow), sa_pow, sb_pow, CH_TOL_ULP(1),
     CH_TOL_ULP(2 + CO_LIBM_F64)},
    /* coarse values so that ties (and their tie-break) are exercised */
    {IR_OP_MAXIMUM, kiln_maximum, CO_NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_MINIMUM, kiln_minimum, CO_NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_LT, kiln_lt, CO_NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_LE, kiln_le, CO_NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_GT, kiln_gt, CO_NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_GE, kiln_ge, CO_NUMERIC, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_EQ, kiln_eq, CO_NUMERIC | CO_BOOL, -4, 4, 0.5, B_ARITH, B_EXACT},
    {IR_OP_NE, kiln_ne, CO_NUMERIC | CO_BOOL, -4, 4, 0.5, B_ARITH, B_EXACT},
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
        da.nspecial = db.nspecial = CO_NSPEC(sa_int);
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
        ds.nspecial = CO_NSPEC(sp);
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

#define BINARY(ID, name) {name, IR_OP_##ID, binary_case},
const co_case co_cases_binary[] = {
    BINARY(ADD, "add") BINARY(SUB, "sub") BINARY(MUL, "mul") BINARY(DIV, "div")
    BINARY(POW, "pow") BINARY(MAXIMUM, "maximum") BINARY(MINIMUM, "minimum")
    BINARY(LT, "lt") BINARY(LE, "le") BINARY(GT, "gt") BINARY(GE, "ge")
    BINARY(EQ, "eq") BINARY(NE, "ne")
    {"select", IR_OP_SELECT, select_case},
    {NULL, 0, NULL},
};
