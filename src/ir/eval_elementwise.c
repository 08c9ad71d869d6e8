/* eval_elementwise.c — reference semantics of the elementwise ops.
 * Float math is done in double and rounded to the node's dtype by the
 * driver; i32 arithmetic wraps like two's complement hardware. */
#include <math.h>

#include "eval.h"

typedef double (*unary_fn)(double x, kiln_dtype t);

static kiln_status unary(ir_eval *e, const ir_node *n, double *out,
                         unary_fn f)
{
    const double *x = EVAL_IN(e, n, 0);
    int64_t count = ir_numel(&n->type);
    for (int64_t i = 0; i < count; i++)
        out[i] = f(x[i], n->type.dtype);
    return KILN_OK;
}

static double sigmoid(double x)
{
    if (x >= 0)
        return 1 / (1 + exp(-x));
    double z = exp(x);
    return z / (1 + z);
}

/* 0.5 x (1 + tanh(u)) = x sigmoid(2u): written so, no cancellation for
 * negative x; the limit at -inf is -0. */
static double gelu(double x)
{
    const double k = 0.79788456080286535588; /* sqrt(2/pi) */
    if (isinf(x))
        return x > 0 ? x : -0.0;
    return x * sigmoid(2 * k * (x + 0.044715 * x * x * x));
}

#define UNARY(ID, expr) \
    static double f_##ID(double x, kiln_dtype t) \
    { \
        (void)t; \
        return (expr); \
    } \
    kiln_status eval_##ID(ir_eval *e, const ir_node *n, double *out) \
    { \
        return unary(e, n, out, f_##ID); \
    }

#define I32 (t == KILN_I32)
UNARY(EXP, exp(x))
UNARY(LOG, log(x))
UNARY(LOG1P, log1p(x))
UNARY(SQRT, sqrt(x))
UNARY(RSQRT, 1 / sqrt(x))
UNARY(RECIPROCAL, 1 / x)
UNARY(TANH, tanh(x))
UNARY(SIGMOID, sigmoid(x))
UNARY(GELU, gelu(x))
UNARY(SIN, sin(x))
UNARY(COS, cos(x))
UNARY(NEG, I32 ? ir_wrap_i32(-(int64_t)x) : -x)
UNARY(ABS, I32 ? ir_wrap_i32(x < 0 ? -(int64_t)x : (int64_t)x) : fabs(x))
UNARY(SQUARE, I32 ? ir_wrap_i32((int64_t)x * (int64_t)x) : x * x)
UNARY(RELU, (x > 0 || isnan(x)) ? x : 0)
UNARY(SIGN, x > 0 ? 1 : x < 0 ? -1 : x)
#undef UNARY

/* ---- binary (broadcasting) ----------------------------------------- */

typedef double (*binary_fn)(double a, double b, kiln_dtype t);

static kiln_status binary(ir_eval *e, const ir_node *n, double *out,
                          binary_fn f)
{
    int64_t sa[KILN_MAX_RANK], sb[KILN_MAX_RANK];
    const ir_type *ta = EVAL_TYPE(e, n, 0), *tb = EVAL_TYPE(e, n, 1);
    ir_broadcast_strides(ta, &n->type, sa);
    ir_broadcast_strides(tb, &n->type, sb);
    const double *a = EVAL_IN(e, n, 0), *b = EVAL_IN(e, n, 1);
    int64_t count = ir_numel(&n->type);
    for (int64_t i = 0; i < count; i++)
        out[i] = f(a[ir_offset(&n->type, sa, i)], b[ir_offset(&n->type, sb, i)],
                   ta->dtype);
    return KILN_OK;
}

static double idiv(double a, double b)
{
    int64_t x = (int64_t)a, y = (int64_t)b;
    if (y == 0)
        return 0;
    return ir_wrap_i32(x / y);
}

static double fmax_nan(double a, double b)
{
    return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
}

static double fmin_nan(double a, double b)
{
    return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
}

#define BINARY(ID, expr) \
    static double f_##ID(double a, double b, kiln_dtype t) \
    { \
        (void)t; \
        return (expr); \
    } \
    kiln_status eval_##ID(ir_eval *e, const ir_node *n, double *out) \
    { \
        return binary(e, n, out, f_##ID); \
    }

BINARY(ADD, I32 ? ir_wrap_i32((int64_t)a + (int64_t)b) : a + b)
BINARY(SUB, I32 ? ir_wrap_i32((int64_t)a - (int64_t)b) : a - b)
BINARY(MUL, I32 ? ir_wrap_i32((int64_t)a * (int64_t)b) : a * b)
BINARY(DIV, I32 ? idiv(a, b) : a / b)
BINARY(POW, pow(a, b))
BINARY(MAXIMUM, fmax_nan(a, b))
BINARY(MINIMUM, fmin_nan(a, b))
BINARY(LT, a < b)
BINARY(LE, a <= b)
BINARY(GT, a > b)
BINARY(GE, a >= b)
BINARY(EQ, a == b)
BINARY(NE, a != b)
#undef BINARY
#undef I32

kiln_status eval_SELECT(ir_eval *e, const ir_node *n, double *out)
{
    int64_t s[3][KILN_MAX_RANK];
    for (int k = 0; k < 3; k++)
        ir_broadcast_strides(EVAL_TYPE(e, n, k), &n->type, s[k]);
    const double *c = EVAL_IN(e, n, 0), *a = EVAL_IN(e, n, 1),
                 *b = EVAL_IN(e, n, 2);
    int64_t count = ir_numel(&n->type);
    for (int64_t i = 0; i < count; i++)
        out[i] = c[ir_offset(&n->type, s[0], i)] != 0
                     ? a[ir_offset(&n->type, s[1], i)]
                     : b[ir_offset(&n->type, s[2], i)];
    return KILN_OK;
}

/* The driver's rounding to the target dtype is the conversion. */
kiln_status eval_CAST(ir_eval *e, const ir_node *n, double *out)
{
    const double *x = EVAL_IN(e, n, 0);
    int64_t count = ir_numel(&n->type);
    for (int64_t i = 0; i < count; i++)
        out[i] = x[i];
    return KILN_OK;
}
