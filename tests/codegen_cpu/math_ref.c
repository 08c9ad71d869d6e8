/* math_ref.c — see math_ref.h. */
#include "math_ref.h"

#include <math.h>
#include <string.h>

/* 1/(1+e^-x) on the side where e^-x <= 1, e^x/(1+e^x) on the other. */
static long double sigmoid_l(long double x)
{
    if (x >= 0)
        return 1 / (1 + expl(-x));
    long double e = expl(x);
    return e / (1 + e);
}

/* The tanh form 0.5 x (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3), is
 * x sigmoid(2u) exactly; written that way the negative tail keeps its
 * relative accuracy in the oracle too (1 + tanh u cancels). */
static long double gelu_l(long double x)
{
    if (isinf(x))
        return x > 0 ? x : -0.0L;
    const long double k = 0.797884560802865355879892119868763737L;
    return x * sigmoid_l(2 * k * (x + 0.044715L * x * x * x));
}

long double ref_unary(ir_op op, long double x)
{
    switch (op) {
    case IR_OP_EXP: return expl(x);
    case IR_OP_LOG: return logl(x);
    case IR_OP_LOG1P: return log1pl(x);
    case IR_OP_TANH: return tanhl(x);
    case IR_OP_SIGMOID: return sigmoid_l(x);
    case IR_OP_GELU: return gelu_l(x);
    case IR_OP_SIN: return sinl(x);
    case IR_OP_COS: return cosl(x);
    /* IEEE sqrt is correctly rounded in every precision; sqrtl would be
     * rounded twice on the way to double. */
    case IR_OP_SQRT: return sqrt((double)x);
    case IR_OP_RSQRT: return 1 / sqrtl(x);
    default: return NAN;
    }
}

/* gelu and sigmoid go through long double: the identities above are not
 * libm functions, and the double versions would round twice. */
double ref_unary_d(ir_op op, double x)
{
    switch (op) {
    case IR_OP_EXP: return exp(x);
    case IR_OP_LOG: return log(x);
    case IR_OP_LOG1P: return log1p(x);
    case IR_OP_TANH: return tanh(x);
    case IR_OP_SIN: return sin(x);
    case IR_OP_COS: return cos(x);
    case IR_OP_SQRT: return sqrt(x);
    case IR_OP_RSQRT: return 1 / sqrt(x);
    default: return (double)ref_unary(op, x);
    }
}

static int64_t key32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u >> 31) ? -(int64_t)(u & 0x7fffffffu) : (int64_t)u;
}

static double key64(double f)
{
    uint64_t u;
    memcpy(&u, &f, sizeof u);
    int64_t mag = (int64_t)(u & 0x7fffffffffffffffu);
    return (u >> 63) ? -(double)mag : (double)mag;
}

double ulp_dist_f32(float got, float want)
{
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want) ? 0 : INFINITY;
    return fabs((double)(key32(got) - key32(want)));
}

/* In double: the keys differ by up to 2^64, exact enough for a few ulp. */
double ulp_dist_f64(double got, double want)
{
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want) ? 0 : INFINITY;
    uint64_t a, b;
    memcpy(&a, &got, sizeof a);
    memcpy(&b, &want, sizeof b);
    if ((a >> 63) == (b >> 63)) {
        uint64_t ma = a & 0x7fffffffffffffffu, mb = b & 0x7fffffffffffffffu;
        return (double)(ma > mb ? ma - mb : mb - ma);
    }
    return fabs(key64(got) - key64(want));
}

uint64_t ref_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

double ref_uniform(uint64_t *state, double lo, double hi)
{
    double u = (double)(ref_rand(state) >> 11) * 0x1p-53;
    return lo + (hi - lo) * u;
}
