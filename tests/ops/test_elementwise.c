/* test_elementwise.c — unary, binary, compare, select and cast against
 * libm formulas written here, every accepted dtype, special values and
 * every broadcasting pattern (scalar, size-1 dims, rank growth, both
 * sides). */
#include <math.h>
#include <stdio.h>

#include "ophelp.h"

#define F32 (1u << KILN_F32)
#define F64 (1u << KILN_F64)
#define I32 (1u << KILN_I32)
#define BOOL (1u << KILN_BOOL)
#define FLOATS (F32 | F64)
#define NUMERIC (F32 | F64 | I32)
#define NMAX 64

/* f32 results are f64 math rounded to f32; the evaluator may arrange a
 * formula differently from the test (sigmoid's two branches, rsqrt as
 * 1/sqrt), a few f64 ulp apart, which after rounding is at most one f32
 * ulp (2^-23). */
#define RTOL_F32 0x1p-22
#define RTOL_F64 0x1p-50

static double rtol_for(kiln_dtype t)
{
    return t == KILN_F32 ? RTOL_F32 : t == KILN_F64 ? RTOL_F64 : 0;
}

static const kiln_dtype dtypes[] = {KILN_F32, KILN_F64, KILN_I32, KILN_BOOL};

/* ---- unary ----------------------------------------------------------- */

typedef struct unary_spec {
    int op;
    kiln_node (*build)(kiln_graph *g, kiln_node x);
    double (*ref)(double x, kiln_dtype t);
    unsigned dtypes;
    double lo, hi;       /* random data range */
    double special[16];  /* ends with the first 1234 */
    double atol;
} unary_spec;

#define END 1234

static double r_exp(double x, kiln_dtype t) { (void)t; return exp(x); }
static double r_log(double x, kiln_dtype t) { (void)t; return log(x); }
static double r_log1p(double x, kiln_dtype t) { (void)t; return log1p(x); }
static double r_sqrt(double x, kiln_dtype t) { (void)t; return sqrt(x); }
static double r_rsqrt(double x, kiln_dtype t) { (void)t; return 1 / sqrt(x); }
static double r_recip(double x, kiln_dtype t) { (void)t; return 1 / x; }
static double r_tanh(double x, kiln_dtype t) { (void)t; return tanh(x); }
static double r_sigmoid(double x, kiln_dtype t)
{
    (void)t;
    return 1 / (1 + exp(-x));
}
static double r_gelu(double x, kiln_dtype t)
{
    (void)t;
    double k = sqrt(2 / acos(-1.0));
    return 0.5 * x * (1 + tanh(k * (x + 0.044715 * x * x * x)));
}
static double r_sin(double x, kiln_dtype t) { (void)t; return sin(x); }
static double r_cos(double x, kiln_dtype t) { (void)t; return cos(x); }
static double r_neg(double x, kiln_dtype t)
{
    return t == KILN_I32 ? oh_wrap(-(int64_t)x) : -x;
}
static double r_abs(double x, kiln_dtype t)
{
    return t == KILN_I32 ? oh_wrap(x < 0 ? -(int64_t)x : (int64_t)x) : fabs(x);
}
static double r_square(double x, kiln_dtype t)
{
    return t == KILN_I32 ? oh_wrap((int64_t)x * (int64_t)x) : x * x;
}
static double r_relu(double x, kiln_dtype t)
{
    (void)t;
    return isnan(x) ? x : x > 0 ? x : 0;
}
static double r_sign(double x, kiln_dtype t)
{
    (void)t;
    return isnan(x) ? x : x > 0 ? 1 : x < 0 ? -1 : 0;
}

#define FSPECIAL_TAIL INFINITY, -INFINITY, NAN
/* i32 specials are used for every numeric unary op (wrapping). */
static const double i32_special[] = {0, 1, -1, 7, -7, 46341, -46341, 65536,
                                     2147483647.0, -2147483648.0};

static const unary_spec unary_specs[] = {
    {IR_OP_EXP, kiln_exp, r_exp, FLOATS, -5, 5,
     {0, -0.0, 1, -1, 88.7, 89, 709, 710, -745, -1000, FSPECIAL_TAIL, END}, 0},
    {IR_OP_LOG, kiln_log, r_log, FLOATS, 0.01, 10,
     {0, -0.0, -1, 1, 0x1p-149, 1e-310, 2.718281828459045, FSPECIAL_TAIL, END},
     0},
    {IR_OP_LOG1P, kiln_log1p, r_log1p, FLOATS, -0.99, 10,
     {-1, -1.5, 0, -0.0, 1e-20, 1e-8, FSPECIAL_TAIL, END}, 0},
    {IR_OP_SQRT, kiln_sqrt, r_sqrt, FLOATS, 0, 10,
     {0, -0.0, -1, 4, 2, 1e-310, FSPECIAL_TAIL, END}, 0},
    {IR_OP_RSQRT, kiln_rsqrt, r_rsqrt, FLOATS, 0.01, 10,
     {0, -0.0, -4, 4, 0.25, FSPECIAL_TAIL, END}, 0},
    {IR_OP_RECIPROCAL, kiln_reciprocal, r_recip, FLOATS, -5, 5,
     {0, -0.0, 2, -4, 3, 1e-310, FSPECIAL_TAIL, END}, 0},
    {IR_OP_TANH, kiln_tanh, r_tanh, FLOATS, -4, 4,
     {0, -0.0, 0.5, -20, 20, 1e-10, FSPECIAL_TAIL, END}, 0},
    {IR_OP_SIGMOID, kiln_sigmoid, r_sigmoid, FLOATS, -8, 8,
     {0, -1000, 1000, -40, 40, 1e-10, FSPECIAL_TAIL, END}, 0},
    /* 1 + tanh(.) cancels for negative x, so the f64 error is absolute,
     * about |x| * 2^-52; the specials stop at |x| = 30 (gelu(-inf) is
     * the formula's -inf * 0, not specified by kiln.h). */
    {IR_OP_GELU, kiln_gelu, r_gelu, FLOATS, -6, 6,
     {0, -0.0, 1, -1, -5, -10, 5, 30, -30, NAN, END}, 1e-14},
    {IR_OP_SIN, kiln_sin, r_sin, FLOATS, -7, 7,
     {0, -0.0, 3.141592653589793, 1e3, -2.5, 1e10, FSPECIAL_TAIL, END}, 0},
    {IR_OP_COS, kiln_cos, r_cos, FLOATS, -7, 7,
     {0, -0.0, 3.141592653589793, 1e3, -2.5, 1e10, FSPECIAL_TAIL, END}, 0},
    {IR_OP_NEG, kiln_neg, r_neg, NUMERIC, -9, 9,
     {0, -0.0, 1.5, -2.5, 1e-310, FSPECIAL_TAIL, END}, 0},
    {IR_OP_ABS, kiln_abs, r_abs, NUMERIC, -9, 9,
     {0, -0.0, 1.5, -2.5, 1e-310, FSPECIAL_TAIL, END}, 0},
    {IR_OP_SQUARE, kiln_square, r_square, NUMERIC, -9, 9,
     {0, -0.0, 1.5, -2.5, 1e200, 1e20, FSPECIAL_TAIL, END}, 0},
    {IR_OP_RELU, kiln_relu, r_relu, NUMERIC, -9, 9,
     {0, -0.0, 1.5, -2.5, 1e-310, FSPECIAL_TAIL, END}, 0},
    {IR_OP_SIGN, kiln_sign, r_sign, NUMERIC, -9, 9,
     {0, -0.0, 1.5, -2.5, 1e-310, FSPECIAL_TAIL, END}, 0},
};

static const unary_spec *find_unary(int op)
{
    for (size_t i = 0; i < sizeof unary_specs / sizeof unary_specs[0]; i++)
        if (unary_specs[i].op == op)
            return &unary_specs[i];
    fail_msg("no unary spec for op %d", op);
    return NULL;
}

/* Specials then 17 random values; returns the count. */
static int64_t unary_data(const unary_spec *s, kiln_dtype t, uint64_t *rng,
                          double *x)
{
    int64_t n = 0;
    if (t == KILN_I32)
        for (size_t i = 0; i < sizeof i32_special / sizeof i32_special[0]; i++)
            x[n++] = i32_special[i];
    else
        for (int i = 0; s->special[i] != END; i++)
            x[n++] = oh_as(t, s->special[i]);
    oh_fill(rng, t, s->lo, s->hi, x + n, 17);
    return n + 17;
}

static void unary_case(oh_t *t)
{
    const unary_spec *s = find_unary(t->c->op);
    uint64_t rng = 0x5eed0000u + (uint64_t)s->op;
    for (int k = 0; k < 3; k++) {
        kiln_dtype dt = dtypes[k];
        if (!(s->dtypes & (1u << dt)))
            continue;
        double x[NMAX], want[NMAX], got[NMAX];
        int64_t n = unary_data(s, dt, &rng, x);
        for (int64_t i = 0; i < n; i++)
            want[i] = oh_as(dt, s->ref(x[i], dt));
        char what[64];
        snprintf(what, sizeof what, "%s %s", ir_ops[s->op].name,
                 kiln_dtype_name(dt));
        oh_ctx c;
        oh_begin(&c, t);
        oh_eval(&c, s->build(c.g, oh_in(&c, dt, 1, &n, x)), got, n);
        oh_check(what, got, want, n, rtol_for(dt), s->atol);
        /* the same op on a rank-0 and a [1,1,3] input */
        const int64_t d3[3] = {1, 1, 3};
        oh_eval(&c, s->build(c.g, oh_in(&c, dt, 0, NULL, x + n - 1)), got, 1);
        oh_check(what, got, want + n - 1, 1, rtol_for(dt), s->atol);
        oh_eval(&c, s->build(c.g, oh_in(&c, dt, 3, d3, x + n - 3)), got, 3);
        oh_check(what, got, want + n - 3, 3, rtol_for(dt), s->atol);
        oh_end(&c);
    }
}

/* Hand-computed values for the special cases kiln.h and IEEE fix. */
static void unary_specials_by_hand(oh_t *t)
{
    static const struct {
        kiln_node (*build)(kiln_graph *, kiln_node);
        double x, want;
    } rows[] = {
        {kiln_log, 0, -INFINITY},      {kiln_log, -1, NAN},
        {kiln_log, 1, 0},              {kiln_sqrt, -1, NAN},
        {kiln_sqrt, 16, 4},            {kiln_reciprocal, 0, INFINITY},
        {kiln_reciprocal, -0.0, -INFINITY}, {kiln_reciprocal, 4, 0.25},
        {kiln_exp, -INFINITY, 0},      {kiln_exp, 0, 1},
        {kiln_exp, 1000, INFINITY},    {kiln_log1p, -1, -INFINITY},
        {kiln_log1p, -2, NAN},         {kiln_rsqrt, 0, INFINITY},
        {kiln_rsqrt, 0.25, 2},         {kiln_sigmoid, -1000, 0},
        {kiln_sigmoid, 1000, 1},       {kiln_sigmoid, 0, 0.5},
        {kiln_tanh, 20, 1},            {kiln_tanh, -INFINITY, -1},
        {kiln_gelu, 0, 0},             {kiln_sin, 0, 0},
        {kiln_cos, 0, 1},              {kiln_sign, NAN, NAN},
        {kiln_sign, -0.5, -1},         {kiln_abs, -INFINITY, INFINITY},
        {kiln_relu, -3, 0},            {kiln_square, -3, 9},
        {kiln_neg, 2, -2},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int k = 0; k < 2; k++) {
            double got, x = rows[r].x;
            oh_ctx c;
            oh_begin(&c, t);
            oh_eval(&c, rows[r].build(c.g, oh_in(&c, dtypes[k], 0, NULL, &x)),
                    &got, 1);
            char what[64];
            snprintf(what, sizeof what, "row %zu %s", r,
                     kiln_dtype_name(dtypes[k]));
            oh_check_exact(what, &got, &rows[r].want, 1);
            oh_end(&c);
        }
}

/* kiln.h: i32 arithmetic wraps. */
static void i32_unary_wraps(oh_t *t)
{
    static const struct {
        kiln_node (*build)(kiln_graph *, kiln_node);
        double x, want;
    } rows[] = {
        {kiln_neg, -2147483648.0, -2147483648.0},
        {kiln_neg, 2147483647.0, -2147483647.0},
        {kiln_abs, -2147483648.0, -2147483648.0},
        {kiln_abs, -5, 5},
        {kiln_square, 65536, 0},
        {kiln_square, 46341, -2147479015.0},
        {kiln_square, -3, 9},
        {kiln_relu, -2147483648.0, 0},
        {kiln_sign, -2147483648.0, -1},
        {kiln_sign, 0, 0},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        double got, x = rows[r].x;
        oh_ctx c;
        oh_begin(&c, t);
        oh_eval(&c, rows[r].build(c.g, oh_in(&c, KILN_I32, 0, NULL, &x)), &got,
                1);
        char what[32];
        snprintf(what, sizeof what, "i32 row %zu", r);
        oh_check_exact(what, &got, &rows[r].want, 1);
        oh_end(&c);
    }
}

/* ---- binary ------------------------------------------------------------ */

typedef struct binary_spec {
    int op;
    kiln_node (*build)(kiln_graph *g, kiln_node a, kiln_node b);
    double (*ref)(double a, double b, kiln_dtype t);
    unsigned dtypes;
    double lo, hi; /* random data range; compare ops use small integers */
    double blo, bhi;
} binary_spec;

static double r_add(double a, double b, kiln_dtype t)
{
    return t == KILN_I32 ? oh_wrap((int64_t)a + (int64_t)b) : a + b;
}
static double r_sub(double a, double b, kiln_dtype t)
{
    return t == KILN_I32 ? oh_wrap((int64_t)a - (int64_t)b) : a - b;
}
static double r_mul(double a, double b, kiln_dtype t)
{
    return t == KILN_I32 ? oh_wrap((int64_t)a * (int64_t)b) : a * b;
}
static double r_div(double a, double b, kiln_dtype t)
{
    if (t != KILN_I32)
        return a / b;
    return b == 0 ? 0 : oh_wrap((int64_t)a / (int64_t)b);
}
static double r_pow(double a, double b, kiln_dtype t)
{
    (void)t;
    return pow(a, b);
}
static double r_maximum(double a, double b, kiln_dtype t)
{
    (void)t;
    return isnan(a) || isnan(b) ? NAN : a >= b ? a : b;
}
static double r_minimum(double a, double b, kiln_dtype t)
{
    (void)t;
    return isnan(a) || isnan(b) ? NAN : a <= b ? a : b;
}
static double r_lt(double a, double b, kiln_dtype t) { (void)t; return a < b; }
static double r_le(double a, double b, kiln_dtype t) { (void)t; return a <= b; }
static double r_gt(double a, double b, kiln_dtype t) { (void)t; return a > b; }
static double r_ge(double a, double b, kiln_dtype t) { (void)t; return a >= b; }
static double r_eq(double a, double b, kiln_dtype t) { (void)t; return a == b; }
static double r_ne(double a, double b, kiln_dtype t) { (void)t; return a != b; }

static const binary_spec binary_specs[] = {
    {IR_OP_ADD, kiln_add, r_add, NUMERIC, -50, 50, -50, 50},
    {IR_OP_SUB, kiln_sub, r_sub, NUMERIC, -50, 50, -50, 50},
    {IR_OP_MUL, kiln_mul, r_mul, NUMERIC, -50, 50, -50, 50},
    {IR_OP_DIV, kiln_div, r_div, NUMERIC, -50, 50, -5, 5},
    {IR_OP_POW, kiln_pow, r_pow, FLOATS, 0, 4, -3, 3},
    {IR_OP_MAXIMUM, kiln_maximum, r_maximum, NUMERIC, -5, 5, -5, 5},
    {IR_OP_MINIMUM, kiln_minimum, r_minimum, NUMERIC, -5, 5, -5, 5},
    {IR_OP_LT, kiln_lt, r_lt, NUMERIC, -2, 3, -2, 3},
    {IR_OP_LE, kiln_le, r_le, NUMERIC, -2, 3, -2, 3},
    {IR_OP_GT, kiln_gt, r_gt, NUMERIC, -2, 3, -2, 3},
    {IR_OP_GE, kiln_ge, r_ge, NUMERIC, -2, 3, -2, 3},
    {IR_OP_EQ, kiln_eq, r_eq, NUMERIC | BOOL, -2, 3, -2, 3},
    {IR_OP_NE, kiln_ne, r_ne, NUMERIC | BOOL, -2, 3, -2, 3},
};

static const binary_spec *find_binary(int op)
{
    for (size_t i = 0; i < sizeof binary_specs / sizeof binary_specs[0]; i++)
        if (binary_specs[i].op == op)
            return &binary_specs[i];
    fail_msg("no binary spec for op %d", op);
    return NULL;
}

typedef struct shape {
    int rank;
    int64_t dims[3];
} shape;

/* Broadcasting patterns: scalar either side, size-1 dims stretching on
 * both sides, rank growth on either side, odd sizes. */
static const shape pairs[][2] = {
    {{0, {0}}, {1, {7}}},          {{1, {7}}, {0, {0}}},
    {{0, {0}}, {0, {0}}},          {{1, {17}}, {1, {17}}},
    {{2, {3, 1}}, {2, {1, 5}}},    {{2, {1, 5}}, {2, {3, 1}}},
    {{3, {2, 3, 5}}, {1, {5}}},    {{1, {5}}, {3, {2, 3, 5}}},
    {{3, {2, 1, 5}}, {2, {3, 1}}}, {{1, {1}}, {3, {7, 1, 1}}},
    {{3, {1, 1, 1}}, {1, {1}}},    {{2, {1, 7}}, {3, {3, 1, 7}}},
};
#define NPAIRS (sizeof pairs / sizeof pairs[0])

/* out = broadcast(a, b); returns out's numel. */
static int64_t bcast_shape(const shape *a, const shape *b, shape *out)
{
    out->rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < out->rank; i++) {
        int ia = i - (out->rank - a->rank), ib = i - (out->rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        out->dims[i] = da > db ? da : db;
    }
    return oh_numel(out->rank, out->dims);
}

/* i32 data gets wrap-prone extremes mixed in at fixed positions. */
static void binary_data(const binary_spec *s, kiln_dtype t, uint64_t *rng,
                        double *a, int64_t na, double *b, int64_t nb)
{
    bool cmp = s->op >= IR_OP_LT && s->op <= IR_OP_NE;
    oh_fill(rng, t, s->lo, s->hi, a, na);
    oh_fill(rng, t, s->blo, s->bhi, b, nb);
    if (cmp && t != KILN_BOOL)
        for (int64_t i = 0; i < na; i++)
            a[i] = floor(a[i]);
    if (cmp && t != KILN_BOOL)
        for (int64_t i = 0; i < nb; i++)
            b[i] = floor(b[i]);
    if (t == KILN_I32) {
        static const double ext[] = {2147483647.0, -2147483648.0, -1, 0};
        for (int64_t i = 0; i < na; i += 3)
            a[i] = ext[(i / 3) % 4];
        for (int64_t i = 1; i < nb; i += 4)
            b[i] = ext[(i / 4 + 1) % 4];
    } else if (t != KILN_BOOL && na > 4 && nb > 4) {
        a[1] = NAN;
        b[2] = NAN;
        a[3] = INFINITY;
        b[4] = -INFINITY;
    }
}

static void binary_case(oh_t *t)
{
    const binary_spec *s = find_binary(t->c->op);
    uint64_t rng = 0xb1000000u + (uint64_t)s->op;
    for (int k = 0; k < 4; k++) {
        kiln_dtype dt = dtypes[k];
        if (!(s->dtypes & (1u << dt)))
            continue;
        for (size_t p = 0; p < NPAIRS; p++) {
            const shape *sa = &pairs[p][0], *sb = &pairs[p][1];
            shape so;
            int64_t na = oh_numel(sa->rank, sa->dims),
                    nb = oh_numel(sb->rank, sb->dims),
                    no = bcast_shape(sa, sb, &so);
            double a[NMAX], b[NMAX], want[NMAX], got[NMAX];
            binary_data(s, dt, &rng, a, na, b, nb);
            kiln_dtype rt = (s->op >= IR_OP_LT && s->op <= IR_OP_NE)
                                ? KILN_BOOL : dt;
            for (int64_t i = 0; i < no; i++) {
                int64_t idx[3];
                oh_unflatten(so.rank, so.dims, i, idx);
                double x = a[oh_bcast_index(sa->rank, sa->dims, so.rank, idx)];
                double y = b[oh_bcast_index(sb->rank, sb->dims, so.rank, idx)];
                want[i] = oh_as(rt, s->ref(x, y, dt));
            }
            char what[64];
            snprintf(what, sizeof what, "%s %s pair %zu", ir_ops[s->op].name,
                     kiln_dtype_name(dt), p);
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node xa = oh_in(&c, dt, sa->rank, sa->dims, a);
            kiln_node xb = oh_in(&c, dt, sb->rank, sb->dims, b);
            kiln_node y = s->build(c.g, xa, xb);
            int64_t dims[KILN_MAX_RANK];
            assert_int_equal(kiln_node_shape(c.g, y, dims), so.rank);
            for (int d = 0; d < so.rank; d++)
                assert_int_equal(dims[d], so.dims[d]);
            assert_int_equal(kiln_node_dtype(c.g, y), rt);
            oh_eval(&c, y, got, no);
            oh_check(what, got, want, no, rtol_for(rt), 0);
            oh_end(&c);
        }
    }
}

/* Elementwise pairs (a[i], b[i]) with hand-written results, f32 and f64. */
typedef struct hand_row {
    double a, b, want;
} hand_row;

static void check_pairs(oh_t *t, kiln_node (*op)(kiln_graph *, kiln_node,
                                                 kiln_node),
                        const hand_row *rows, int64_t n, unsigned types,
                        const char *name)
{
    for (int k = 0; k < 3; k++) {
        if (!(types & (1u << dtypes[k])))
            continue;
        double a[NMAX], b[NMAX], want[NMAX], got[NMAX];
        for (int64_t i = 0; i < n; i++) {
            a[i] = rows[i].a;
            b[i] = rows[i].b;
            want[i] = rows[i].want;
        }
        oh_ctx c;
        oh_begin(&c, t);
        kiln_node y = op(c.g, oh_in(&c, dtypes[k], 1, &n, a),
                         oh_in(&c, dtypes[k], 1, &n, b));
        oh_eval(&c, y, got, n);
        char what[64];
        snprintf(what, sizeof what, "%s %s", name, kiln_dtype_name(dtypes[k]));
        oh_check_exact(what, got, want, n);
        oh_end(&c);
    }
}

static void float_division_by_zero(oh_t *t)
{
    static const hand_row rows[] = {
        {1, 0, INFINITY}, {-1, 0, -INFINITY}, {0, 0, NAN},
        {1, -0.0, -INFINITY}, {7, 2, 3.5}, {-7, 2, -3.5},
        {INFINITY, INFINITY, NAN}, {3, INFINITY, 0},
    };
    check_pairs(t, kiln_div, rows, 8, FLOATS, "div");
}

static void pow_special_cases(oh_t *t)
{
    static const hand_row rows[] = {
        {0, 0, 1},           {2, -1, 0.5},         {0, -1, INFINITY},
        {-8, 1.0 / 3, NAN},  {-2, 3, -8},          {-2, 2, 4},
        {NAN, 0, 1},         {1, NAN, 1},          {-INFINITY, 3, -INFINITY},
        {INFINITY, -1, 0},   {-1, INFINITY, 1},    {-0.0, -1, -INFINITY},
        {4, 0.5, 2},         {0, 2, 0},            {NAN, 1, NAN},
        {2, 10, 1024},
    };
    check_pairs(t, kiln_pow, rows, 16, FLOATS, "pow");
}

static void maximum_minimum_propagate_nan(oh_t *t)
{
    static const hand_row mx[] = {
        {NAN, 1, NAN}, {1, NAN, NAN}, {NAN, NAN, NAN}, {-INFINITY, NAN, NAN},
        {2, 3, 3},     {-0.5, -2, -0.5}, {INFINITY, 1, INFINITY},
    };
    static const hand_row mn[] = {
        {NAN, 1, NAN}, {1, NAN, NAN}, {NAN, NAN, NAN}, {INFINITY, NAN, NAN},
        {2, 3, 2},     {-0.5, -2, -2}, {-INFINITY, 1, -INFINITY},
    };
    check_pairs(t, kiln_maximum, mx, 7, FLOATS, "maximum");
    check_pairs(t, kiln_minimum, mn, 7, FLOATS, "minimum");
}

/* Comparisons with NaN are all false except ne. */
static void compare_nan(oh_t *t)
{
    static const hand_row nan1[] = {{NAN, 1, 0}, {1, NAN, 0}, {NAN, NAN, 0}};
    static const hand_row nan_ne[] = {{NAN, 1, 1}, {1, NAN, 1}, {NAN, NAN, 1}};
    check_pairs(t, kiln_lt, nan1, 3, FLOATS, "lt");
    check_pairs(t, kiln_le, nan1, 3, FLOATS, "le");
    check_pairs(t, kiln_gt, nan1, 3, FLOATS, "gt");
    check_pairs(t, kiln_ge, nan1, 3, FLOATS, "ge");
    check_pairs(t, kiln_eq, nan1, 3, FLOATS, "eq");
    check_pairs(t, kiln_ne, nan_ne, 3, FLOATS, "ne");
}

/* kiln.h: i32 add/mul wrap; div truncates toward zero, x / 0 == 0,
 * INT_MIN / -1 wraps to INT_MIN. */
static void i32_arithmetic_semantics(oh_t *t)
{
    static const hand_row add[] = {{2147483647.0, 1, -2147483648.0},
                                   {-2147483648.0, -1, 2147483647.0},
                                   {-5, 3, -2}};
    static const hand_row sub[] = {{-2147483648.0, 1, 2147483647.0},
                                   {2147483647.0, -1, -2147483648.0},
                                   {3, 5, -2}};
    static const hand_row mul[] = {{65536, 65536, 0},
                                   {46341, 46341, -2147479015.0},
                                   {-2147483648.0, -1, -2147483648.0},
                                   {-7, 6, -42}};
    static const hand_row div[] = {
        {7, 2, 3},  {-7, 2, -3}, {7, -2, -3}, {-7, -2, 3}, {5, 0, 0},
        {-5, 0, 0}, {0, 0, 0},   {1, 3, 0},
        {-2147483648.0, -1, -2147483648.0},
        {-2147483648.0, 2, -1073741824.0},
    };
    check_pairs(t, kiln_add, add, 3, I32, "add");
    check_pairs(t, kiln_sub, sub, 3, I32, "sub");
    check_pairs(t, kiln_mul, mul, 4, I32, "mul");
    check_pairs(t, kiln_div, div, 10, I32, "div");
}

/* ---- select ------------------------------------------------------------ */

static void select_broadcasts(oh_t *t)
{
    static const shape triples[][3] = {
        {{1, {7}}, {1, {7}}, {1, {7}}},
        {{2, {3, 1}}, {2, {1, 5}}, {0, {0}}},
        {{0, {0}}, {2, {2, 3}}, {1, {3}}},
        {{3, {2, 1, 5}}, {1, {1}}, {2, {3, 1}}},
        {{1, {5}}, {3, {1, 3, 1}}, {3, {2, 1, 1}}},
    };
    uint64_t rng = 0x5e1ec7;
    for (int k = 0; k < 4; k++)
        for (size_t p = 0; p < sizeof triples / sizeof triples[0]; p++) {
            const shape *s = triples[p];
            shape ab, so;
            bcast_shape(&s[1], &s[2], &ab);
            int64_t no = bcast_shape(&s[0], &ab, &so), n[3];
            double v[3][NMAX], want[NMAX], got[NMAX];
            for (int j = 0; j < 3; j++) {
                n[j] = oh_numel(s[j].rank, s[j].dims);
                oh_fill(&rng, j ? dtypes[k] : KILN_BOOL, -9, 9, v[j], n[j]);
            }
            for (int64_t i = 0; i < no; i++) {
                int64_t idx[3], o[3];
                oh_unflatten(so.rank, so.dims, i, idx);
                for (int j = 0; j < 3; j++)
                    o[j] = oh_bcast_index(s[j].rank, s[j].dims, so.rank, idx);
                want[i] = v[0][o[0]] != 0 ? v[1][o[1]] : v[2][o[2]];
            }
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node cond = oh_in(&c, KILN_BOOL, s[0].rank, s[0].dims, v[0]);
            kiln_node a = oh_in(&c, dtypes[k], s[1].rank, s[1].dims, v[1]);
            kiln_node b = oh_in(&c, dtypes[k], s[2].rank, s[2].dims, v[2]);
            oh_eval(&c, kiln_select(c.g, cond, a, b), got, no);
            char what[48];
            snprintf(what, sizeof what, "select %s triple %zu",
                     kiln_dtype_name(dtypes[k]), p);
            oh_check_exact(what, got, want, no);
            oh_end(&c);
        }
}

/* ---- cast ------------------------------------------------------------ */

/* kiln.h: float -> i32 truncates toward zero and saturates, NaN -> 0;
 * anything -> bool is x != 0.  Written independently of the evaluator's
 * rounding helper. */
static double cast_ref(double x, kiln_dtype to)
{
    switch (to) {
    case KILN_F32: return (float)x;
    case KILN_F64: return x;
    case KILN_I32:
        if (isnan(x))
            return 0;
        if (x >= 2147483648.0)
            return 2147483647.0;
        if (x <= -2147483649.0)
            return -2147483648.0;
        return trunc(x);
    default: return x != 0;
    }
}

static int cast_values(kiln_dtype from, double *v)
{
    static const double f[] = {0, -0.0, 2.7, -2.7, 0.5, -0.5, 1e10, -1e10,
                               3e9, 16777217, 2147483520.0, 2147483648.0,
                               -2147483648.0, 0.1, 1e300, 1e-50, 2147483647.9,
                               -2147483648.9, -2147483649.0, INFINITY,
                               -INFINITY, NAN};
    static const double i[] = {0, 1, -1, 7, 2147483647.0, -2147483648.0,
                               16777217, -16777219};
    int n = 0;
    if (from == KILN_BOOL) {
        v[0] = 0;
        v[1] = 1;
        return 2;
    }
    if (from == KILN_I32) {
        for (size_t k = 0; k < sizeof i / sizeof i[0]; k++)
            v[n++] = i[k];
        return n;
    }
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
        v[n++] = oh_as(from, f[k]);
    return n;
}

static void cast_every_pair(oh_t *t)
{
    for (int from = 0; from < 4; from++)
        for (int to = 0; to < 4; to++) {
            double x[NMAX], want[NMAX], got[NMAX];
            int64_t n = cast_values(dtypes[from], x);
            for (int64_t i = 0; i < n; i++)
                want[i] = cast_ref(x[i], dtypes[to]);
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node y = kiln_cast(c.g, oh_in(&c, dtypes[from], 1, &n, x),
                                    dtypes[to]);
            oh_eval(&c, y, got, n);
            char what[32];
            snprintf(what, sizeof what, "cast %s->%s",
                     kiln_dtype_name(dtypes[from]),
                     kiln_dtype_name(dtypes[to]));
            oh_check_exact(what, got, want, n);
            oh_end(&c);
        }
}

static void cast_by_hand(oh_t *t)
{
    static const hand_row rows[] = {
        /* a: input, want: output; b unused */
        {2.7, KILN_I32, 2},           {-2.7, KILN_I32, -2},
        {-0.5, KILN_I32, 0},          {3e9, KILN_I32, 2147483647.0},
        {-3e9, KILN_I32, -2147483648.0}, {NAN, KILN_I32, 0},
        {INFINITY, KILN_I32, 2147483647.0},
        {-INFINITY, KILN_I32, -2147483648.0},
        {NAN, KILN_BOOL, 1},          {-0.0, KILN_BOOL, 0},
        {0.25, KILN_BOOL, 1},         {1e-300, KILN_BOOL, 1},
        {1e300, KILN_F32, INFINITY},  {1e-300, KILN_F32, 0},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        double got;
        oh_ctx c;
        oh_begin(&c, t);
        kiln_node y = kiln_cast(c.g, oh_in(&c, KILN_F64, 0, NULL, &rows[r].a),
                                (kiln_dtype)rows[r].b);
        oh_eval(&c, y, &got, 1);
        char what[32];
        snprintf(what, sizeof what, "cast row %zu", r);
        oh_check_exact(what, &got, &rows[r].want, 1);
        oh_end(&c);
    }
}

#define UNARY_ROW(ID) {#ID, IR_OP_##ID, unary_case}
#define BINARY_ROW(ID) {#ID, IR_OP_##ID, binary_case}

const oh_case oh_cases_elementwise[] = {
    UNARY_ROW(EXP), UNARY_ROW(LOG), UNARY_ROW(LOG1P), UNARY_ROW(SQRT),
    UNARY_ROW(RSQRT), UNARY_ROW(RECIPROCAL), UNARY_ROW(TANH),
    UNARY_ROW(SIGMOID), UNARY_ROW(GELU), UNARY_ROW(SIN), UNARY_ROW(COS),
    UNARY_ROW(NEG), UNARY_ROW(ABS), UNARY_ROW(SQUARE), UNARY_ROW(RELU),
    UNARY_ROW(SIGN),
    {"unary_specials_by_hand", IR_OP_LOG, unary_specials_by_hand},
    {"i32_unary_wraps", IR_OP_NEG, i32_unary_wraps},
    BINARY_ROW(ADD), BINARY_ROW(SUB), BINARY_ROW(MUL), BINARY_ROW(DIV),
    BINARY_ROW(POW), BINARY_ROW(MAXIMUM), BINARY_ROW(MINIMUM),
    BINARY_ROW(LT), BINARY_ROW(LE), BINARY_ROW(GT), BINARY_ROW(GE),
    BINARY_ROW(EQ), BINARY_ROW(NE),
    {"float_division_by_zero", IR_OP_DIV, float_division_by_zero},
    {"pow_special_cases", IR_OP_POW, pow_special_cases},
    {"maximum_minimum_propagate_nan", IR_OP_MAXIMUM,
     maximum_minimum_propagate_nan},
    {"compare_nan", IR_OP_LT, compare_nan},
    {"i32_arithmetic_semantics", IR_OP_DIV, i32_arithmetic_semantics},
    {"select_broadcasts", IR_OP_SELECT, select_broadcasts},
    {"cast_every_pair", IR_OP_CAST, cast_every_pair},
    {"cast_by_hand", IR_OP_CAST, cast_by_hand},
    {NULL, 0, NULL},
};
