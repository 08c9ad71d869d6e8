/*
 * gg_ops.c — elementwise ops of the generator and what each one does to
 * the knowledge about its operands.
 *
 * Error rule, per op: err_out = sum_i L_i * err_i + ulps * eps * |out|max,
 * where L_i bounds |d out / d operand_i| over the operands' intervals and
 * `ulps` covers the rounding of the op itself in both backends: 1 for
 * + - * (0.5 ulp each side), 2 for / and 1/x, 5 for the transcendental
 * functions (kiln's CPU math is within 4 ulp, the reference within 0.5;
 * src/codegen_cpu/cpu_math.h), 3 for pow.  Operands are first checked
 * against each op's domain with margins (log, sqrt, rsqrt, 1/x and
 * divisors bounded away from 0, exp and pow bounded above), so every L_i
 * stays moderate.
 */
#include <math.h>
#include <string.h>

#include "gg_internal.h"

const char *const gg_unop_name[U_COUNT] = {
    "exp", "log", "log1p", "sqrt", "rsqrt", "reciprocal", "tanh", "sigmoid",
    "gelu", "sin", "cos", "neg", "abs", "square", "relu", "sign"};

typedef kiln_node (*un_fn)(kiln_graph *, kiln_node);
static const un_fn un_fns[U_COUNT] = {
    kiln_exp, kiln_log, kiln_log1p, kiln_sqrt, kiln_rsqrt, kiln_reciprocal,
    kiln_tanh, kiln_sigmoid, kiln_gelu, kiln_sin, kiln_cos, kiln_neg,
    kiln_abs, kiln_square, kiln_relu, kiln_sign};

typedef kiln_node (*bin_fn)(kiln_graph *, kiln_node, kiln_node);
static const bin_fn bin_fns[B_COUNT] = {
    kiln_add, kiln_sub, kiln_mul, kiln_div, kiln_pow, kiln_maximum,
    kiln_minimum, kiln_lt, kiln_le, kiln_gt, kiln_ge, kiln_eq, kiln_ne};

static double gelu(double x)
{
    return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

/* The result starts as a copy of operand a (same shape until kiln says
 * otherwise), with no error of its own yet. */
static gg_val derived(const gg_val *a)
{
    gg_val r = *a;
    r.leaf = false;
    r.uses = 0;
    r.err = 0;
    return r;
}

static int finish(gg *s, gg_val *r, kiln_node n, const int *ops, int nops)
{
    if (!gg_within_budget(r))
        return -1;
    r->n = n;
    return gg_push(s, r, ops, nops);
}

/* Interval, Lipschitz bound and rounding of the floating unary ops;
 * false when a is outside the op's domain (with margins). */
static bool float_unary(gg_unop op, const gg_val *a, gg_val *r, double *L, double *ulps)
{
    double lo = a->lo, hi = a->hi, m = gg_mag(a);
    /* an exact operand carries no error, so no margin is needed */
    double margin = a->exact ? 0 : 0.05;
    *ulps = 5;
    switch (op) {
    case U_EXP:
        if (hi > 6)
            return false;
        r->lo = exp(lo), r->hi = exp(hi), *L = exp(hi);
        return true;
    case U_LOG:
        if (lo <= margin || lo <= 0)
            return false;
        r->lo = log(lo), r->hi = log(hi), *L = 1 / lo;
        return true;
    case U_LOG1P:
        if (lo <= -0.5)
            return false;
        r->lo = log1p(lo), r->hi = log1p(hi), *L = 1 / (1 + lo);
        return true;
    case U_SQRT:
        if (lo < margin)
            return false;
        r->lo = sqrt(lo), r->hi = sqrt(hi), *L = lo > 0 ? 0.5 / sqrt(lo) : 0;
        *ulps = 1;
        return true;
    case U_RSQRT:
        if (lo <= margin || lo <= 0)
            return false;
        r->lo = 1 / sqrt(hi), r->hi = 1 / sqrt(lo), *L = 0.5 / (lo * sqrt(lo));
        *ulps = 2;
        return true;
    case U_RECIP: {
        double least = lo > 0 ? lo : hi < 0 ? -hi : 0;
        if (least < 0.1)
            return false;
        r->lo = 1 / hi, r->hi = 1 / lo, *L = 1 / (least * least);
        *ulps = 2;
        return true;
    }
    case U_TANH: r->lo = tanh(lo), r->hi = tanh(hi), *L = 1; return true;
    case U_SIGMOID:
        r->lo = 1 / (1 + exp(-lo)), r->hi = 1 / (1 + exp(-hi)), *L = 0.25;
        return true;
    case U_GELU:
        r->hi = fmax(gelu(lo), gelu(hi));
        r->lo = (lo < -0.75 && hi > -0.76) ? -0.1701 : fmin(gelu(lo), gelu(hi));
        *L = 1.13;
        return true;
    case U_SIN:
    case U_COS:
        if (m > 64)
            return false;
        r->lo = -1, r->hi = 1, *L = 1;
        return true;
    default: return false;
    }
}

/* The numeric unary ops, which keep exactness; false if not applicable. */
static bool exact_unary(gg_unop op, const gg_val *a, gg_val *r, double *L, int *q)
{
    double lo = a->lo, hi = a->hi, m = gg_mag(a);
    *L = 1;
    *q = a->q;
    switch (op) {
    case U_NEG: r->lo = -hi, r->hi = -lo; return true;
    case U_ABS: r->lo = lo >= 0 ? lo : hi <= 0 ? -hi : 0, r->hi = m; return true;
    case U_SQUARE:
        r->lo = lo >= 0 ? lo * lo : hi <= 0 ? hi * hi : 0, r->hi = m * m;
        *L = 2 * m, *q = 2 * a->q;
        return true;
    case U_RELU: r->lo = fmax(lo, 0), r->hi = fmax(hi, 0); return true;
    case U_SIGN:
        if (!a->exact) /* discontinuous at 0 */
            return false;
        r->lo = lo > 0 ? 1 : lo == 0 ? 0 : -1, r->hi = hi > 0 ? 1 : hi == 0 ? 0 : -1;
        *q = 0, *L = 0;
        return true;
    default: return false;
    }
}

int gg_unary(gg *s, int ai, gg_unop op)
{
    if (ai < 0)
        return -1;
    const gg_val *a = &s->v[ai];
    if (a->t == KILN_BOOL || (op < U_NEG && !gg_is_float(a->t)))
        return -1;
    gg_val r = derived(a);
    double L, ulps = 0;
    int q = 0;
    bool exact = false;
    if (op < U_NEG) {
        if (!float_unary(op, a, &r, &L, &ulps))
            return -1;
    } else {
        if (!exact_unary(op, a, &r, &L, &q))
            return -1;
        exact = a->exact;
        ulps = op == U_SQUARE ? 1 : 0;
    }
    r.err = a->err > 0 ? L * a->err : 0;
    if (op == U_SIGN)
        r.params = 0;
    gg_settle(&r, exact, q, ulps);
    if (!gg_is_float(r.t) && !gg_fits(r.t, gg_mag(&r), 0))
        return -1;
    return finish(s, &r, un_fns[op](s->g, a->n), &ai, 1);
}

bool gg_broadcasts(const gg_val *a, const gg_val *b)
{
    for (int i = 1; i <= a->rank && i <= b->rank; i++) {
        int64_t x = a->dims[a->rank - i], y = b->dims[b->rank - i];
        if (x != y && x != 1 && y != 1)
            return false;
    }
    return true;
}

static void corners(double alo, double ahi, double blo, double bhi,
                    double (*f)(double, double), double *lo, double *hi)
{
    double c[4] = {f(alo, blo), f(alo, bhi), f(ahi, blo), f(ahi, bhi)};
    *lo = *hi = c[0];
    for (int i = 1; i < 4; i++)
        *lo = fmin(*lo, c[i]), *hi = fmax(*hi, c[i]);
}

static double f_mul(double a, double b) { return a * b; }
static double f_div(double a, double b) { return a / b; }
static double f_pow(double a, double b) { return pow(a, b); }
static double f_powm1(double a, double b) { return pow(a, b - 1); }

/* Division and pow: domains, intervals and Lipschitz bounds. */
static bool div_pow(gg_binop op, const gg_val *a, const gg_val *b, gg_val *r,
                    double *La, double *Lb)
{
    double ma = gg_mag(a), mb = gg_mag(b);
    if (op == B_DIV) {
        if (!gg_is_float(a->t)) { /* truncating, x / 0 = 0 */
            r->lo = -ma, r->hi = ma, *La = *Lb = 0;
            return true;
        }
        double least = b->lo > 0 ? b->lo : b->hi < 0 ? -b->hi : 0;
        if (least < 0.25)
            return false;
        corners(a->lo, a->hi, b->lo, b->hi, f_div, &r->lo, &r->hi);
        *La = 1 / least, *Lb = ma / (least * least);
        return true;
    }
    if (!gg_is_float(a->t) || a->lo < 0.25 || a->hi > 4 || mb > 3)
        return false;
    double plo, phi, dlo, dhi;
    corners(a->lo, a->hi, b->lo, b->hi, f_pow, &plo, &phi);
    corners(a->lo, a->hi, b->lo, b->hi, f_powm1, &dlo, &dhi);
    r->lo = plo, r->hi = phi;
    *La = mb * dhi;
    *Lb = phi * fmax(fabs(log(a->lo)), fabs(log(a->hi)));
    return true;
}

static bool arith(gg_binop op, const gg_val *a, const gg_val *b, gg_val *r,
                  double *La, double *Lb, int *q, bool *exact, double *ulps)
{
    double ma = gg_mag(a), mb = gg_mag(b);
    *q = a->q > b->q ? a->q : b->q;
    *exact = a->exact && b->exact;
    *La = *Lb = 1;
    *ulps = 1;
    switch (op) {
    case B_ADD: r->lo = a->lo + b->lo, r->hi = a->hi + b->hi; return true;
    case B_SUB: r->lo = a->lo - b->hi, r->hi = a->hi - b->lo; return true;
    case B_MUL:
        corners(a->lo, a->hi, b->lo, b->hi, f_mul, &r->lo, &r->hi);
        *La = mb + b->err, *Lb = ma, *q = a->q + b->q;
        return true;
    case B_MAX:
    case B_MIN:
        r->lo = op == B_MAX ? fmax(a->lo, b->lo) : fmin(a->lo, b->lo);
        r->hi = op == B_MAX ? fmax(a->hi, b->hi) : fmin(a->hi, b->hi);
        *ulps = 0;
        return true;
    default:
        *exact = !gg_is_float(a->t);
        *ulps = op == B_DIV ? 2 : 3;
        return div_pow(op, a, b, r, La, Lb);
    }
}

int gg_binary(gg *s, int ai, int bi, gg_binop op)
{
    if (ai < 0 || bi < 0)
        return -1;
    const gg_val *a = &s->v[ai], *b = &s->v[bi];
    if (a->t != b->t || !gg_broadcasts(a, b))
        return -1;
    bool cmp = op >= B_LT;
    if (a->t == KILN_BOOL && op != B_EQ && op != B_NE)
        return -1;
    int ops[2] = {ai, bi};
    gg_val r = derived(a);
    r.params = a->params | b->params;
    if (cmp) { /* discontinuous: only on exact values */
        if (!a->exact || !b->exact)
            return -1;
        r.lo = 0, r.hi = 1, r.params = 0;
        gg_settle(&r, true, 0, 0);
        return finish(s, &r, bin_fns[op](s->g, a->n, b->n), ops, 2);
    }
    double La, Lb, ulps;
    int q;
    bool exact;
    if (!arith(op, a, b, &r, &La, &Lb, &q, &exact, &ulps))
        return -1;
    r.err = (a->err > 0 ? La * a->err : 0) + (b->err > 0 ? Lb * b->err : 0);
    gg_settle(&r, exact, q, ulps);
    if (!gg_is_float(r.t) && !gg_fits(r.t, gg_mag(&r), 0))
        return -1;
    return finish(s, &r, bin_fns[op](s->g, a->n, b->n), ops, 2);
}

int gg_select(gg *s, int ci, int ai, int bi)
{
    if (ci < 0 || ai < 0 || bi < 0)
        return -1;
    const gg_val *c = &s->v[ci], *a = &s->v[ai], *b = &s->v[bi];
    if (c->t != KILN_BOOL || a->t != b->t || !gg_broadcasts(a, b) ||
        !gg_broadcasts(a, c) || !gg_broadcasts(b, c))
        return -1;
    gg_val r = derived(a);
    r.lo = fmin(a->lo, b->lo);
    r.hi = fmax(a->hi, b->hi);
    r.err = fmax(a->err, b->err);
    r.params = a->params | b->params;
    gg_settle(&r, a->exact && b->exact, a->q > b->q ? a->q : b->q, 0);
    int ops[3] = {ci, ai, bi};
    return finish(s, &r, kiln_select(s->g, c->n, a->n, b->n), ops, 3);
}

int gg_cast(gg *s, int ai, kiln_dtype t)
{
    if (ai < 0)
        return -1;
    const gg_val *a = &s->v[ai];
    gg_val r = derived(a);
    r.t = t;
    r.err = a->err;
    if (t == KILN_BOOL || (t == KILN_I32 && gg_is_float(a->t))) {
        if (!a->exact) /* truncation and != 0 are discontinuous */
            return -1;
        r.lo = t == KILN_BOOL ? 0 : trunc(a->lo);
        r.hi = t == KILN_BOOL ? 1 : trunc(a->hi);
        r.params = 0;
    }
    if (!gg_is_float(t) && !gg_fits(t, gg_mag(&r), 0))
        return -1;
    if (!gg_is_float(a->t))
        r.params = 0;
    gg_settle(&r, a->exact, gg_is_float(a->t) ? a->q : 0, 1);
    return finish(s, &r, kiln_cast(s->g, a->n, t), &ai, 1);
}

int gg_rescale(gg *s, int ai, double limit)
{
    if (ai < 0)
        return -1;
    double m = gg_mag(&s->v[ai]);
    if (m <= limit || s->v[ai].t == KILN_BOOL)
        return ai;
    int k = 0;
    while (ldexp(m, -k) > limit)
        k++;
    if (!gg_is_float(s->v[ai].t))
        return gg_binary(s, ai, gg_scalar(s, KILN_I32, ldexp(1, k)), B_DIV);
    int c = gg_scalar(s, s->v[ai].t, ldexp(1, -k));
    return c < 0 ? -1 : gg_binary(s, ai, c, B_MUL);
}

/* A grid constant >= x (quarter steps). */
static double quarter_above(double x) { return ceil(x * 4) / 4; }

int gg_positive(gg *s, int ai, double floor)
{
    if (ai < 0)
        return -1;
    const gg_val *a = &s->v[ai];
    if (!gg_is_float(a->t))
        return -1;
    if (a->lo >= floor)
        return ai;
    kiln_dtype t = a->t;
    int r = -1;
    switch (gg_below(s, 5)) {
    case 0: r = gg_unary(s, ai, U_ABS); break;
    case 1: r = gg_unary(s, gg_rescale(s, ai, 4), U_SQUARE); break;
    case 2: r = gg_unary(s, ai, U_SIGMOID); break;
    case 3:
        if (s->v[ai].hi <= 3 && s->v[ai].lo >= log(floor))
            return gg_unary(s, ai, U_EXP);
        break;
    default: break;
    }
    if (r < 0)
        r = ai;
    if (s->v[r].lo >= floor)
        return r;
    double shift = quarter_above(floor - s->v[r].lo);
    return gg_binary(s, r, gg_scalar(s, t, shift), B_ADD);
}
