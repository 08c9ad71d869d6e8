/*
 * cpu_math.c — vectorisable math functions emitted as LLVM IR.
 *
 * Every function is written once over an "mx" (the builder plus the value
 * type: float or double, scalar or vector), so the same emitter serves
 * scalars and any vector width.  The code is straight-line: both sides of
 * every case are computed and merged with select, which is what the loop
 * vectoriser needs.  Comparisons that clamp or classify use fcmp+select,
 * never minnum/maxnum, so NaN always propagates.  Accuracy and special
 * values are stated in cpu_math.h.
 */
#include "codegen_cpu/cpu_math.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define LOG2E 1.4426950408889634       /* 1 / ln 2 */
#define TWO_OVER_PI 0.6366197723675814 /* 2 / pi */

/* ---- the emitter context and its small vocabulary ------------------- */

typedef struct mx {
    LLVMBuilderRef b;
    LLVMModuleRef mod;
    LLVMContextRef ctx;
    LLVMTypeRef ty, ity;   /* value type; integer type of the same shape */
    LLVMTypeRef ety, iety; /* their element types */
    unsigned lanes;        /* 0 for scalars */
    bool f64;
} mx;

static mx mx_make(LLVMBuilderRef b, LLVMModuleRef mod, bool f64,
                  unsigned lanes)
{
    mx m = {.b = b, .mod = mod, .ctx = LLVMGetModuleContext(mod),
            .lanes = lanes, .f64 = f64};
    m.ety = f64 ? LLVMDoubleTypeInContext(m.ctx) : LLVMFloatTypeInContext(m.ctx);
    m.iety = LLVMIntTypeInContext(m.ctx, f64 ? 64 : 32);
    m.ty = lanes ? LLVMVectorType(m.ety, lanes) : m.ety;
    m.ity = lanes ? LLVMVectorType(m.iety, lanes) : m.iety;
    return m;
}

/* The builder folds insert+shuffle of constants into a constant vector. */
static LLVMValueRef splat(const mx *m, LLVMValueRef c)
{
    if (!m->lanes)
        return c;
    LLVMTypeRef i32 = LLVMInt32TypeInContext(m->ctx);
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(c), m->lanes);
    LLVMValueRef v = LLVMBuildInsertElement(m->b, LLVMGetPoison(vt), c,
                                            LLVMConstInt(i32, 0, 0), "");
    return LLVMBuildShuffleVector(m->b, v, LLVMGetPoison(vt),
                                  LLVMConstNull(LLVMVectorType(i32, m->lanes)),
                                  "");
}

static LLVMValueRef k(const mx *m, double v)
{
    return splat(m, LLVMConstReal(m->ety, v));
}

static LLVMValueRef ki(const mx *m, long long v)
{
    return splat(m, LLVMConstInt(m->iety, (unsigned long long)v, 1));
}

static LLVMValueRef add(const mx *m, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFAdd(m->b, a, b, "");
}

static LLVMValueRef sub(const mx *m, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFSub(m->b, a, b, "");
}

static LLVMValueRef mul(const mx *m, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFMul(m->b, a, b, "");
}

static LLVMValueRef quot(const mx *m, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFDiv(m->b, a, b, "");
}

static LLVMValueRef neg(const mx *m, LLVMValueRef a)
{
    return LLVMBuildFNeg(m->b, a, "");
}

static LLVMValueRef intrinsic(const mx *m, const char *name,
                              LLVMValueRef *args, unsigned n)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef ty = m->ty;
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, &ty, 1);
    LLVMTypeRef fty = LLVMIntrinsicGetType(m->ctx, id, &ty, 1);
    return LLVMBuildCall2(m->b, fty, fn, args, n, "");
}

/* a*b + c, fused or not as the target prefers: for polynomials. */
static LLVMValueRef mad(const mx *m, LLVMValueRef a, LLVMValueRef b,
                        LLVMValueRef c)
{
    LLVMValueRef v[3] = {a, b, c};
    return intrinsic(m, "llvm.fmuladd", v, 3);
}

/* a*b + c with one rounding: for exact error terms. */
static LLVMValueRef fma_exact(const mx *m, LLVMValueRef a, LLVMValueRef b,
                              LLVMValueRef c)
{
    LLVMValueRef v[3] = {a, b, c};
    return intrinsic(m, "llvm.fma", v, 3);
}

static LLVMValueRef fabs_(const mx *m, LLVMValueRef a)
{
    return intrinsic(m, "llvm.fabs", &a, 1);
}

static LLVMValueRef sqrt_(const mx *m, LLVMValueRef a)
{
    return intrinsic(m, "llvm.sqrt", &a, 1);
}

static LLVMValueRef copysign_(const mx *m, LLVMValueRef mag, LLVMValueRef sgn)
{
    LLVMValueRef v[2] = {mag, sgn};
    return intrinsic(m, "llvm.copysign", v, 2);
}

static LLVMValueRef cmp(const mx *m, LLVMRealPredicate p, LLVMValueRef a,
                        LLVMValueRef b)
{
    return LLVMBuildFCmp(m->b, p, a, b, "");
}

static LLVMValueRef sel(const mx *m, LLVMValueRef c, LLVMValueRef a,
                        LLVMValueRef b)
{
    return LLVMBuildSelect(m->b, c, a, b, "");
}

static LLVMValueRef and_(const mx *m, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildAnd(m->b, a, b, "");
}

static LLVMValueRef not_(const mx *m, LLVMValueRef a)
{
    return LLVMBuildNot(m->b, a, "");
}

static LLVMValueRef as_int(const mx *m, LLVMValueRef v)
{
    return LLVMBuildBitCast(m->b, v, m->ity, "");
}

static LLVMValueRef as_fp(const mx *m, LLVMValueRef v)
{
    return LLVMBuildBitCast(m->b, v, m->ty, "");
}

static LLVMValueRef iadd(const mx *m, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildAdd(m->b, a, b, "");
}

static LLVMValueRef isub(const mx *m, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSub(m->b, a, b, "");
}

static LLVMValueRef iand(const mx *m, LLVMValueRef a, long long mask)
{
    return LLVMBuildAnd(m->b, a, ki(m, mask), "");
}

static LLVMValueRef shl(const mx *m, LLVMValueRef a, int n)
{
    return LLVMBuildShl(m->b, a, ki(m, n), "");
}

static LLVMValueRef ashr(const mx *m, LLVMValueRef a, int n)
{
    return LLVMBuildAShr(m->b, a, ki(m, n), "");
}

/* Horner with c[0] the highest coefficient. */
static LLVMValueRef horner(const mx *m, LLVMValueRef x, const double *c, int n)
{
    LLVMValueRef r = k(m, c[0]);
    for (int i = 1; i < n; i++)
        r = mad(m, r, x, k(m, c[i]));
    return r;
}

/* The same polynomial by Estrin's scheme: pairs a + b x, then pairs of
 * those with x^2, x^4, ...: about log2(n) dependent multiply-adds instead
 * of n.  In a long fused kernel the out-of-order window holds only a few
 * iterations, so the critical path, not the operation count, sets the
 * speed (bench/fusion.c workload (a)). */
static LLVMValueRef estrin(const mx *m, LLVMValueRef x, const double *c, int n)
{
    LLVMValueRef t[16];
    int len = 0;
    for (int i = n - 1; i >= 0; i -= 2) /* ascending powers */
        t[len++] = i > 0 ? mad(m, k(m, c[i - 1]), x, k(m, c[i])) : k(m, c[i]);
    for (LLVMValueRef p = mul(m, x, x); len > 1; p = mul(m, p, p)) {
        int j = 0;
        for (int i = 0; i < len; i += 2)
            t[j++] = i + 1 < len ? mad(m, t[i + 1], p, t[i]) : t[i];
        len = j;
    }
    return t[0];
}

/* NaN-preserving clamp: fcmp with NaN is false, so NaN passes through. */
static LLVMValueRef clamp(const mx *m, LLVMValueRef x, double lo, double hi)
{
    x = sel(m, cmp(m, LLVMRealOLT, x, k(m, lo)), k(m, lo), x);
    return sel(m, cmp(m, LLVMRealOGT, x, k(m, hi)), k(m, hi), x);
}

/* The same lanes in double: f32 functions that need more precision in
 * an intermediate (sin/cos reduction, gelu, pow) compute it there. */
static mx widen(const mx *m)
{
    return mx_make(m->b, m->mod, true, m->lanes);
}

/* ---- double-word arithmetic (f64 only; exact via llvm.fma) ---------- */

typedef struct dw {
    LLVMValueRef hi, lo;
} dw;

static dw two_prod(const mx *m, LLVMValueRef a, LLVMValueRef b)
{
    LLVMValueRef p = mul(m, a, b);
    return (dw){p, fma_exact(m, a, b, neg(m, p))};
}

/* Requires |a| >= |b| or a == 0. */
static dw fast_two_sum(const mx *m, LLVMValueRef a, LLVMValueRef b)
{
    LLVMValueRef s = add(m, a, b);
    return (dw){s, sub(m, b, sub(m, s, a))};
}

static dw two_sum(const mx *m, LLVMValueRef a, LLVMValueRef b)
{
    LLVMValueRef s = add(m, a, b), bb = sub(m, s, a);
    LLVMValueRef err = add(m, sub(m, a, sub(m, s, bb)), sub(m, b, bb));
    return (dw){s, err};
}

/* ---- exp ------------------------------------------------------------ */

/* e^r = 1 + r + r^2 q(r) on |r| <= ln2/2, q the Taylor series
 * 1/2! + r/3! + ...: truncation below 0.05 ulp (f32 degree 7: r^8/8! <
 * 5.3e-9; f64 degree 13: r^14/14! < 4.3e-18). */
static const double EXPF_Q[] = {
    1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5};
static const double EXP_Q[] = {
    1.6059043836821613e-10, 2.08767569878681e-09, 2.505210838544172e-08,
    2.755731922398589e-07, 2.7557319223985893e-06, 2.48015873015873e-05,
    1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5};

typedef struct exp_consts {
    double lo, hi;        /* clamp: beyond these e^x is 0 / inf anyway */
    double shifter;       /* 1.5 * 2^mant: adding it rounds to an integer */
    double ln2hi, ln2lo;  /* ln 2 = ln2hi + ln2lo; n * ln2hi is exact */
    const double *q;
    int nq, mant, bias;
} exp_consts;

/* ln2 splits: Cephes expf (0.693359375 - 2.12194440e-4, 9 bits in the
 * high part) and fdlibm e_exp.c (32 bits in the high part).  The lower
 * clamp of f64 leaves room for gelu, which scales x e^t by 2^n. */
static const exp_consts EXPF = {-104.0, 89.0, 0x1.8p23, 0.693359375,
                                -2.12194440e-4, EXPF_Q, COUNT(EXPF_Q), 23, 127};
static const exp_consts EXPD = {-760.0, 710.0, 0x1.8p52,
                                6.93147180369123816490e-01,
                                1.90821492927058770002e-10, EXP_Q,
                                COUNT(EXP_Q), 52, 1023};

static const exp_consts *expc(const mx *m)
{
    return m->f64 ? &EXPD : &EXPF;
}

/* Cody-Waite reduction of h + l (l: a low-order part, or NULL) to
 * n ln2 + r.  Returns t = e^r - 1 and the integer n in *n. */
static LLVMValueRef exp_reduce(const mx *m, LLVMValueRef h, LLVMValueRef l,
                               LLVMValueRef *n)
{
    const exp_consts *c = expc(m);
    LLVMValueRef hc = clamp(m, h, c->lo, c->hi);
    if (l) /* a clamped argument's low part would pull it back in range */
        l = sel(m, cmp(m, LLVMRealOEQ, hc, h), l, k(m, 0));
    h = hc;
    /* multiply-adds where the target fuses them: n ln2hi is exact, so
     * the high step gives the same r either way; the others only gain */
    LLVMValueRef shifted = mad(m, h, k(m, LOG2E), k(m, c->shifter));
    LLVMValueRef nf = sub(m, shifted, k(m, c->shifter));
    *n = isub(m, as_int(m, shifted), as_int(m, k(m, c->shifter)));
    LLVMValueRef r = mad(m, nf, k(m, -c->ln2hi), h);
    r = mad(m, nf, k(m, -c->ln2lo), r);
    if (l)
        r = add(m, r, l);
    LLVMValueRef q = estrin(m, r, c->q, c->nq);
    return mad(m, mul(m, r, r), q, r);
}

/* 2^n for n in the normal exponent range. */
static LLVMValueRef exp2i(const mx *m, LLVMValueRef n)
{
    const exp_consts *c = expc(m);
    return as_fp(m, shl(m, iadd(m, n, ki(m, c->bias)), c->mant));
}

/* v * 2^n in two exact steps, so a subnormal result is rounded once and
 * n may run past the normal exponent range. */
static LLVMValueRef scale2(const mx *m, LLVMValueRef v, LLVMValueRef n)
{
    LLVMValueRef n1 = ashr(m, n, 1), n2 = isub(m, n, n1);
    return mul(m, mul(m, v, exp2i(m, n1)), exp2i(m, n2));
}

static LLVMValueRef exp_dw(const mx *m, LLVMValueRef h, LLVMValueRef l)
{
    LLVMValueRef n, t = exp_reduce(m, h, l, &n);
    return scale2(m, add(m, t, k(m, 1)), n);
}

static LLVMValueRef emit_exp(const mx *m, LLVMValueRef x)
{
    return exp_dw(m, x, NULL);
}

/* ---- log, log1p ----------------------------------------------------- */

/* x = 2^e * mm, mm in [sqrt(1/2), sqrt(2)), for finite positive x
 * (subnormals included).  Returns mm; *e is e as a float value. */
static LLVMValueRef log_split(const mx *m, LLVMValueRef x, LLVMValueRef *e)
{
    int mant = m->f64 ? 52 : 23, bias = m->f64 ? 1023 : 127;
    long long one = m->f64 ? 0x3ff0000000000000LL : 0x3f800000LL;
    long long rt_half = m->f64 ? 0x3fe6a09e667f3bcdLL : 0x3f3504f3LL;
    double up = m->f64 ? 0x1p54 : 0x1p23;
    LLVMValueRef tiny = cmp(m, LLVMRealOLT, x, k(m, m->f64 ? 0x1p-1022 : 0x1p-126));
    x = sel(m, tiny, mul(m, x, k(m, up)), x);
    /* Offsetting by 1 - sqrt(1/2) moves mantissas >= sqrt(2) into the
     * next binade, so the exponent field is e directly. */
    LLVMValueRef ix = iadd(m, as_int(m, x), ki(m, one - rt_half));
    LLVMValueRef ei = isub(m, ashr(m, ix, mant), ki(m, bias));
    LLVMValueRef adj = sel(m, tiny, k(m, -(double)(m->f64 ? 54 : 23)), k(m, 0));
    *e = add(m, LLVMBuildSIToFP(m->b, ei, m->ty, ""), adj);
    long long mask = (1LL << mant) - 1;
    return as_fp(m, iadd(m, iand(m, ix, mask), ki(m, rt_half)));
}

/* Cephes logf: log(1+f) = f - f^2/2 + f^3 P(f) on [sqrt(1/2)-1, sqrt(2)-1]
 * (relative error 3.4e-9, checked with mpmath). */
static const double LOGF_P[] = {
    7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1, -1.2420140846E-1,
    1.4249322787E-1, -1.6668057665E-1, 2.0000714765E-1, -2.4999993993E-1,
    3.3333331174E-1};

/* f32 log of finite positive x. */
static LLVMValueRef logf_core(const mx *m, LLVMValueRef x)
{
    LLVMValueRef e, f = sub(m, log_split(m, x, &e), k(m, 1));
    LLVMValueRef z = mul(m, f, f);
    LLVMValueRef y = mul(m, mul(m, f, z), horner(m, f, LOGF_P, COUNT(LOGF_P)));
    y = mad(m, e, k(m, -2.12194440e-4), y);
    y = mad(m, z, k(m, -0.5), y);
    return mad(m, e, k(m, 0.693359375), add(m, f, y));
}

/* 2 atanh(s) = 2s + (2/3)s^3 + s^5 Q(s^2), |s| <= 0.1716: Q is a
 * Chebyshev fit (mpmath chebyfit, degree 7 on z in [0, 0.02945], relative
 * error 6.5e-17 after rounding the coefficients). */
static const double LOG_Q[] = {
    0.11723603622905411, 0.11706195689881364, 0.13334806212100603,
    0.15384594934597917, 0.1818181833565416, 0.22222222221654733,
    0.2857142857142937, 0.4};
#define TWO_THIRDS_HI 0.6666666666666666
#define TWO_THIRDS_LO 3.700743415417188e-17
/* fdlibm e_log.c: ln 2 with 32 bits in the high part. */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10

/* s = (mm - 1) / (mm + 1) as a double-word. */
static dw log_s(const mx *m, LLVMValueRef mm)
{
    LLVMValueRef one = k(m, 1), f = sub(m, mm, one);
    LLVMValueRef dh = add(m, mm, one), dl = sub(m, mm, sub(m, dh, one));
    LLVMValueRef sh = quot(m, f, dh);
    LLVMValueRef rem = sub(m, fma_exact(m, neg(m, sh), dh, f), mul(m, sh, dl));
    return (dw){sh, quot(m, rem, dh)};
}

/* log(mm) = 2 atanh(s): the two leading terms in double-word, the rest
 * (under 1.8e-4 of the total) in double. */
static dw log_atanh(const mx *m, dw s)
{
    dw z = two_prod(m, s.hi, s.hi);
    z.lo = mad(m, add(m, s.hi, s.hi), s.lo, z.lo);
    dw s3 = two_prod(m, s.hi, z.hi);
    s3.lo = add(m, s3.lo, mad(m, s.hi, z.lo, mul(m, s.lo, z.hi)));
    dw t3 = two_prod(m, k(m, TWO_THIRDS_HI), s3.hi);
    t3.lo = add(m, t3.lo, mad(m, k(m, TWO_THIRDS_HI), s3.lo,
                              mul(m, k(m, TWO_THIRDS_LO), s3.hi)));
    LLVMValueRef rest = mul(m, mul(m, s3.hi, z.hi),
                            horner(m, z.hi, LOG_Q, COUNT(LOG_Q)));
    dw u = fast_two_sum(m, add(m, s.hi, s.hi), t3.hi);
    u.lo = add(m, u.lo, add(m, add(m, s.lo, s.lo), add(m, t3.lo, rest)));
    return u;
}

/* f64 log of finite positive x as hi + lo, about 2^-63 relative. */
static dw log_dd(const mx *m, LLVMValueRef x)
{
    LLVMValueRef e, mm = log_split(m, x, &e);
    dw u = log_atanh(m, log_s(m, mm));
    dw l = fast_two_sum(m, mul(m, e, k(m, LN2_HI)), u.hi);
    l.lo = add(m, l.lo, add(m, u.lo, mul(m, e, k(m, LN2_LO))));
    return fast_two_sum(m, l.hi, l.lo);
}

/* log(u)'s special values over the finite-positive core result r. */
static LLVMValueRef log_specials(const mx *m, LLVMValueRef u, LLVMValueRef r)
{
    r = sel(m, cmp(m, LLVMRealOEQ, u, k(m, INFINITY)), u, r);
    r = sel(m, cmp(m, LLVMRealOEQ, u, k(m, 0)), k(m, -INFINITY), r);
    return sel(m, cmp(m, LLVMRealULT, u, k(m, 0)), k(m, NAN), r);
}

static LLVMValueRef emit_log(const mx *m, LLVMValueRef x)
{
    LLVMValueRef r = m->f64 ? log_dd(m, x).hi : logf_core(m, x);
    return log_specials(m, x, r);
}

/* log1p(x) = log(u) + (x - (u - 1)) / u with u = 1 + x rounded: the
 * second term restores what the rounding of u lost. */
static LLVMValueRef emit_log1p(const mx *m, LLVMValueRef x)
{
    LLVMValueRef one = k(m, 1), u = add(m, one, x);
    LLVMValueRef c = quot(m, sub(m, x, sub(m, u, one)), u);
    LLVMValueRef r;
    if (m->f64) {
        dw l = log_dd(m, u);
        r = add(m, l.hi, add(m, l.lo, c));
    } else {
        r = add(m, logf_core(m, u), c);
    }
    r = log_specials(m, u, r);
    return sel(m, cmp(m, LLVMRealOEQ, x, k(m, 0)), x, r); /* keeps -0 */
}

/* ---- tanh, sigmoid, gelu -------------------------------------------- */

/* tanh|x| = E / (E + 2) with E = e^2|x| - 1 = 2^n t + (2^n - 1): no
 * cancellation anywhere, so small x keep full relative accuracy. */
static LLVMValueRef emit_tanh(const mx *m, LLVMValueRef x)
{
    LLVMValueRef ax = fabs_(m, x), n;
    LLVMValueRef t = exp_reduce(m, add(m, ax, ax), NULL, &n);
    LLVMValueRef pw = exp2i(m, n);
    LLVMValueRef em = add(m, mul(m, t, pw), sub(m, pw, k(m, 1)));
    LLVMValueRef th = quot(m, em, add(m, em, k(m, 2)));
    /* tanh rounds to 1 from 9.01 (f32) / 19.06 (f64) on. */
    LLVMValueRef big = cmp(m, LLVMRealOGT, ax, k(m, m->f64 ? 20 : 9.5));
    return copysign_(m, sel(m, big, k(m, 1), th), x);
}

/* e^-|x| never overflows; the x < 0 side is w / (1 + w). */
static LLVMValueRef emit_sigmoid(const mx *m, LLVMValueRef x)
{
    LLVMValueRef one = k(m, 1);
    LLVMValueRef w = emit_exp(m, neg(m, fabs_(m, x)));
    LLVMValueRef den = add(m, one, w); /* one division, of either numerator */
    return quot(m, sel(m, cmp(m, LLVMRealOGE, x, k(m, 0)), one, w), den);
}

/* gelu(x) = x sigmoid(t), t = 2 sqrt(2/pi) (x + 0.044715 x^3) = x (A + B x^2)
 * (mpmath; A, B as double-words). */
#define GELU_A_HI 1.5957691216057308
#define GELU_A_LO -9.96930880911092e-17
#define GELU_B_HI 0.07135481627260025
#define GELU_B_LO -6.175149918155315e-19

/* Beyond +-40 gelu is x (t > 4600) or -0 (underflow), and the
 * double-word arithmetic would see infinities. */
static LLVMValueRef gelu_tails(const mx *m, LLVMValueRef x, LLVMValueRef g)
{
    g = sel(m, cmp(m, LLVMRealOGT, x, k(m, 40)), x, g);
    return sel(m, cmp(m, LLVMRealOLT, x, k(m, -40)), copysign_(m, k(m, 0), x), g);
}

/* f32: t in double is accurate enough (|t| < 110 where it matters). */
static LLVMValueRef gelu_f32(const mx *m, LLVMValueRef x)
{
    mx d = widen(m);
    LLVMValueRef xd = LLVMBuildFPExt(m->b, x, d.ty, "");
    LLVMValueRef ab = mad(&d, mul(&d, xd, xd), k(&d, GELU_B_HI), k(&d, GELU_A_HI));
    LLVMValueRef g = mul(&d, xd, emit_sigmoid(&d, mul(&d, xd, ab)));
    return gelu_tails(m, x, LLVMBuildFPTrunc(m->b, g, m->ty, ""));
}

/* f64: an absolute error d in t is a relative error d in e^t, and |t|
 * reaches 750, so t is carried as a double-word. */
static dw gelu_arg(const mx *m, LLVMValueRef x)
{
    dw x2 = two_prod(m, x, x);
    dw bx2 = two_prod(m, k(m, GELU_B_HI), x2.hi);
    bx2.lo = add(m, bx2.lo, mad(m, k(m, GELU_B_HI), x2.lo,
                                mul(m, k(m, GELU_B_LO), x2.hi)));
    dw in = two_sum(m, k(m, GELU_A_HI), bx2.hi);
    in.lo = add(m, in.lo, add(m, k(m, GELU_A_LO), bx2.lo));
    dw t = two_prod(m, x, in.hi);
    t.lo = mad(m, x, in.lo, t.lo);
    return fast_two_sum(m, t.hi, t.lo);
}

/* t >= 0: x / (1 + e^-t).  t < 0: (x p / (1 + e^t)) 2^n with e^t = p 2^n,
 * so a result in the subnormal range is rounded once. */
static LLVMValueRef gelu_f64(const mx *m, LLVMValueRef x)
{
    dw t = gelu_arg(m, x);
    LLVMValueRef tneg = cmp(m, LLVMRealOLT, t.hi, k(m, 0));
    LLVMValueRef h = sel(m, tneg, t.hi, neg(m, t.hi));
    LLVMValueRef l = sel(m, tneg, t.lo, neg(m, t.lo));
    LLVMValueRef n, p = add(m, exp_reduce(m, h, l, &n), k(m, 1));
    LLVMValueRef w = scale2(m, p, n);
    LLVMValueRef num = sel(m, tneg, mul(m, x, p), x);
    LLVMValueRef g = quot(m, num, add(m, k(m, 1), w));
    return gelu_tails(m, x, sel(m, tneg, scale2(m, g, n), g));
}

static LLVMValueRef emit_gelu(const mx *m, LLVMValueRef x)
{
    return m->f64 ? gelu_f64(m, x) : gelu_f32(m, x);
}

/* ---- sin, cos ------------------------------------------------------- */

/* pi/2 in four parts (fdlibm k_rem_pio2 / e_rem_pio2: 31, 32, 28 and 53
 * significant bits), so j * part is exact for |j| < 2^21. */
#define PIO2_1 1.57079632673412561417e+00
#define PIO2_2 6.07710050630396597660e-11
#define PIO2_3 2.02226624871116645580e-21
#define PIO2_3T 8.47842766036889956997e-32

/* x = j pi/2 + r in double; returns r and j's integer bits in *q (the
 * low two bits are j mod 4).  Only |x| past the exact range can leave
 * [-pi/4, pi/4]; the clamp keeps their results bounded. */
static LLVMValueRef reduce_pio2(const mx *d, LLVMValueRef x, LLVMValueRef *q)
{
    LLVMValueRef shifter = k(d, 0x1.8p52);
    LLVMValueRef sh = add(d, mul(d, x, k(d, TWO_OVER_PI)), shifter);
    LLVMValueRef j = sub(d, sh, shifter);
    *q = as_int(d, sh);
    LLVMValueRef r = sub(d, x, mul(d, j, k(d, PIO2_1)));
    r = sub(d, r, mul(d, j, k(d, PIO2_2)));
    r = sub(d, r, mul(d, j, k(d, PIO2_3)));
    r = sub(d, r, mul(d, j, k(d, PIO2_3T)));
    return clamp(d, r, -0.8, 0.8);
}

/* sin r = r + r^3 S(r^2), cos r = 1 - r^2/2 + r^4 C(r^2) on |r| <= pi/4:
 * Cephes sinf.c / cosf.c (f32) and fdlibm k_sin.c / k_cos.c (f64). */
static const double SINF_S[] = {-1.9515295891E-4, 8.3321608736E-3,
                                -1.6666654611E-1};
static const double COSF_C[] = {2.443315711809948E-5, -1.388731625493765E-3,
                                4.166664568298827E-2};
static const double SIN_S[] = {
    1.58969099521155010221e-10, -2.50507602534068634195e-08,
    2.75573137070700676789e-06, -1.98412698298579493134e-04,
    8.33333333332248946124e-03, -1.66666666666666324348e-01};
static const double COS_C[] = {
    -1.13596475577881948265e-11, 2.08757232129817482790e-09,
    -2.75573143513906633035e-07, 2.48015872894767294178e-05,
    -1.38888888888741095749e-03, 4.16666666666666019037e-02};

static LLVMValueRef sin_kernel(const mx *m, LLVMValueRef r, LLVMValueRef z)
{
    LLVMValueRef s = m->f64 ? horner(m, z, SIN_S, COUNT(SIN_S))
                            : horner(m, z, SINF_S, COUNT(SINF_S));
    return mad(m, mul(m, r, z), s, r);
}

/* (1 - w) - z/2 recovers the rounding error of w = 1 - z/2. */
static LLVMValueRef cos_kernel(const mx *m, LLVMValueRef z)
{
    LLVMValueRef c = m->f64 ? horner(m, z, COS_C, COUNT(COS_C))
                            : horner(m, z, COSF_C, COUNT(COSF_C));
    LLVMValueRef one = k(m, 1), hz = mul(m, z, k(m, 0.5));
    LLVMValueRef w = sub(m, one, hz);
    return add(m, w, mad(m, mul(m, z, z), c, sub(m, sub(m, one, w), hz)));
}

/* Quadrant j: sin x = (sin r, cos r, -sin r, -cos r)[j mod 4], and
 * cos x is the same with j + 1. */
static LLVMValueRef emit_sincos(const mx *m, LLVMValueRef x, bool cosine)
{
    mx d = widen(m);
    LLVMValueRef q, r;
    if (m->f64) {
        r = reduce_pio2(&d, x, &q);
    } else {
        r = reduce_pio2(&d, LLVMBuildFPExt(m->b, x, d.ty, ""), &q);
        r = LLVMBuildFPTrunc(m->b, r, m->ty, "");
        q = LLVMBuildTrunc(m->b, q, m->ity, "");
    }
    if (cosine)
        q = iadd(m, q, ki(m, 1));
    LLVMValueRef z = mul(m, r, r);
    LLVMValueRef odd = LLVMBuildICmp(m->b, LLVMIntNE, iand(m, q, 1), ki(m, 0), "");
    LLVMValueRef v = sel(m, odd, cos_kernel(m, z), sin_kernel(m, r, z));
    LLVMValueRef sign = shl(m, iand(m, q, 2), m->f64 ? 62 : 30);
    return as_fp(m, LLVMBuildXor(m->b, as_int(m, v), sign, ""));
}

/* r + r z S(z) loses the sign of r = -0, so sin(+-0) is passed through. */
static LLVMValueRef emit_sin(const mx *m, LLVMValueRef x)
{
    return sel(m, cmp(m, LLVMRealOEQ, x, k(m, 0)), x, emit_sincos(m, x, false));
}

static LLVMValueRef emit_cos(const mx *m, LLVMValueRef x)
{
    return emit_sincos(m, x, true);
}

/* ---- sqrt, rsqrt ---------------------------------------------------- */

static LLVMValueRef emit_sqrt(const mx *m, LLVMValueRef x)
{
    return sqrt_(m, x);
}

static LLVMValueRef emit_rsqrt(const mx *m, LLVMValueRef x)
{
    return quot(m, k(m, 1), sqrt_(m, x));
}

/* ---- pow ------------------------------------------------------------ */

/* |v| >= 2^52 is integral; below, (|v| + 2^52) - 2^52 rounds to one. */
static LLVMValueRef is_integer(const mx *m, LLVMValueRef v)
{
    LLVMValueRef av = fabs_(m, v), big = k(m, 0x1p52);
    LLVMValueRef rounded = sub(m, add(m, av, big), big);
    return LLVMBuildOr(m->b, cmp(m, LLVMRealOGE, av, big),
                       cmp(m, LLVMRealOEQ, rounded, av), "");
}

/* C99 F.9.4.4 over r = e^(y log|x|), which already gets zeros,
 * infinities and y = +-inf with |x| != 1 right. */
static LLVMValueRef pow_specials(const mx *m, LLVMValueRef x, LLVMValueRef y,
                                 LLVMValueRef r)
{
    LLVMValueRef one = k(m, 1), inf = k(m, INFINITY), ax = fabs_(m, x);
    LLVMValueRef yint = is_integer(m, y);
    LLVMValueRef yodd = and_(m, yint, not_(m, is_integer(m, mul(m, y, k(m, 0.5)))));
    LLVMValueRef neg_finite = and_(m, cmp(m, LLVMRealOLT, x, k(m, 0)),
                                   cmp(m, LLVMRealOLT, ax, inf));
    r = sel(m, and_(m, neg_finite, not_(m, yint)), k(m, NAN), r);
    LLVMValueRef xsign = LLVMBuildICmp(m->b, LLVMIntSLT, as_int(m, x), ki(m, 0), "");
    r = sel(m, and_(m, xsign, yodd), neg(m, r), r);
    r = sel(m, and_(m, cmp(m, LLVMRealOEQ, ax, one), cmp(m, LLVMRealOEQ, fabs_(m, y), inf)),
            one, r);
    r = sel(m, cmp(m, LLVMRealOEQ, x, one), one, r);
    return sel(m, cmp(m, LLVMRealOEQ, y, k(m, 0)), one, r);
}

/* Double only: e^(y log|x|) with log|x| and the product as double-words. */
static LLVMValueRef pow_f64(const mx *m, LLVMValueRef x, LLVMValueRef y)
{
    LLVMValueRef ax = fabs_(m, x);
    dw l = log_dd(m, ax);
    LLVMValueRef lh = log_specials(m, ax, l.hi);
    LLVMValueRef ph = mul(m, y, lh);
    LLVMValueRef pl = mad(m, y, l.lo, fma_exact(m, y, lh, neg(m, ph)));
    /* Infinite or NaN products (zero or infinite x, infinite y) carry no
     * low part; exp's clamp then gives 0 or inf. */
    pl = sel(m, cmp(m, LLVMRealOLT, fabs_(m, ph), k(m, 0x1p1000)), pl, k(m, 0));
    return pow_specials(m, x, y, exp_dw(m, ph, pl));
}

static LLVMValueRef emit_pow(const mx *m, LLVMValueRef x, LLVMValueRef y)
{
    if (m->f64)
        return pow_f64(m, x, y);
    mx d = widen(m);
    LLVMValueRef r = pow_f64(&d, LLVMBuildFPExt(m->b, x, d.ty, ""),
                             LLVMBuildFPExt(m->b, y, d.ty, ""));
    return LLVMBuildFPTrunc(m->b, r, m->ty, "");
}

/* ---- dispatch and helper functions ---------------------------------- */

typedef LLVMValueRef (*unary_emit)(const mx *m, LLVMValueRef x);

static unary_emit unary_emitter(ir_op op, const char **name)
{
    switch (op) {
    case IR_OP_EXP: *name = "exp"; return emit_exp;
    case IR_OP_LOG: *name = "log"; return emit_log;
    case IR_OP_LOG1P: *name = "log1p"; return emit_log1p;
    case IR_OP_TANH: *name = "tanh"; return emit_tanh;
    case IR_OP_SIGMOID: *name = "sigmoid"; return emit_sigmoid;
    case IR_OP_GELU: *name = "gelu"; return emit_gelu;
    case IR_OP_SIN: *name = "sin"; return emit_sin;
    case IR_OP_COS: *name = "cos"; return emit_cos;
    case IR_OP_SQRT: *name = "sqrt"; return emit_sqrt;
    case IR_OP_RSQRT: *name = "rsqrt"; return emit_rsqrt;
    default: return NULL;
    }
}

/* float/double scalar or fixed vector: sets *f64 and *lanes. */
static bool math_type(LLVMTypeRef ty, bool *f64, unsigned *lanes)
{
    *lanes = 0;
    if (LLVMGetTypeKind(ty) == LLVMVectorTypeKind) {
        *lanes = LLVMGetVectorSize(ty);
        ty = LLVMGetElementType(ty);
    }
    LLVMTypeKind kind = LLVMGetTypeKind(ty);
    *f64 = kind == LLVMDoubleTypeKind;
    return kind == LLVMDoubleTypeKind || kind == LLVMFloatTypeKind;
}

static void add_enum_attr(LLVMValueRef fn, const char *name)
{
    LLVMContextRef ctx = LLVMGetModuleContext(LLVMGetGlobalParent(fn));
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(ctx, kind, 0));
}

/* The helper must not target less than its caller, or the inliner
 * refuses it. */
static void copy_string_attr(LLVMValueRef from, LLVMValueRef to,
                             const char *key)
{
    LLVMAttributeRef a = LLVMGetStringAttributeAtIndex(
        from, LLVMAttributeFunctionIndex, key, (unsigned)strlen(key));
    if (a)
        LLVMAddAttributeAtIndex(to, LLVMAttributeFunctionIndex, a);
}

typedef struct helper_spec {
    const char *name; /* op name in the helper's symbol */
    unary_emit unary; /* NULL: pow */
    unsigned nargs;
} helper_spec;

static LLVMValueRef define_helper(LLVMValueRef caller, const char *sym,
                                  LLVMTypeRef fty, const helper_spec *spec,
                                  bool f64, unsigned lanes)
{
    LLVMModuleRef mod = LLVMGetGlobalParent(caller);
    LLVMContextRef ctx = LLVMGetModuleContext(mod);
    LLVMValueRef fn = LLVMAddFunction(mod, sym, fty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    add_enum_attr(fn, "alwaysinline");
    add_enum_attr(fn, "nounwind");
    copy_string_attr(caller, fn, "target-cpu");
    copy_string_attr(caller, fn, "target-features");
    LLVMBuilderRef hb = LLVMCreateBuilderInContext(ctx);
    LLVMPositionBuilderAtEnd(hb, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
    mx m = mx_make(hb, mod, f64, lanes);
    LLVMValueRef r = spec->unary
                         ? spec->unary(&m, LLVMGetParam(fn, 0))
                         : emit_pow(&m, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1));
    LLVMBuildRet(hb, r);
    LLVMDisposeBuilder(hb);
    return fn;
}

/* Call kiln.math.NAME.TYPE, defining it on first use in this module. */
static LLVMValueRef call_helper(LLVMBuilderRef b, const helper_spec *spec,
                                LLVMValueRef *args)
{
    LLVMBasicBlockRef bb = LLVMGetInsertBlock(b);
    if (!bb)
        return NULL;
    LLVMValueRef caller = LLVMGetBasicBlockParent(bb);
    LLVMTypeRef ty = LLVMTypeOf(args[0]);
    bool f64;
    unsigned lanes;
    if (!math_type(ty, &f64, &lanes))
        return NULL;
    if (spec->nargs == 2 && LLVMTypeOf(args[1]) != ty)
        return NULL;
    char sym[64], width[16] = "";
    if (lanes)
        snprintf(width, sizeof width, "v%u", lanes);
    snprintf(sym, sizeof sym, "kiln.math.%s.%s%s", spec->name, width,
             f64 ? "f64" : "f32");
    LLVMTypeRef params[2] = {ty, ty};
    LLVMTypeRef fty = LLVMFunctionType(ty, params, spec->nargs, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(LLVMGetGlobalParent(caller), sym);
    if (!fn)
        fn = define_helper(caller, sym, fty, spec, f64, lanes);
    return LLVMBuildCall2(b, fty, fn, args, spec->nargs, "");
}

LLVMValueRef cpu_math_unary(LLVMBuilderRef b, ir_op op, LLVMValueRef x)
{
    helper_spec spec = {.nargs = 1};
    spec.unary = unary_emitter(op, &spec.name);
    if (!spec.unary || !x)
        return NULL;
    return call_helper(b, &spec, &x);
}

LLVMValueRef cpu_math_pow(LLVMBuilderRef b, LLVMValueRef a, LLVMValueRef y)
{
    if (!a || !y)
        return NULL;
    helper_spec spec = {.name = "pow", .unary = NULL, .nargs = 2};
    LLVMValueRef args[2] = {a, y};
    return call_helper(b, &spec, args);
}
