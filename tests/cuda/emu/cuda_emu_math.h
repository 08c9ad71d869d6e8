/*
 * cuda_emu_math.h — the CUDA device math, conversion, bit and atomic
 * functions for the host emulation (included by cuda_emu.h).
 *
 * Precise functions map to glibc's libm (declared here rather than through
 * <math.h>, whose C++ wrapper would bring std overloads that clash with
 * CUDA's).  The fast intrinsics (__expf, ...) map to the same precise
 * functions: the emulation checks the structure of the generated code, a
 * GPU run checks the intrinsics' accuracy.  Conversions saturate and send
 * NaN to 0, as the PTX cvt instructions do (plain C++ casts would be
 * undefined behaviour there).
 */
#ifndef KILN_CUDA_EMU_MATH_H
#define KILN_CUDA_EMU_MATH_H

extern "C" {
#define EMU_LIBM(name) float name##f(float) noexcept; double name(double) noexcept;
EMU_LIBM(exp) EMU_LIBM(exp2) EMU_LIBM(expm1) EMU_LIBM(log) EMU_LIBM(log2)
EMU_LIBM(log10) EMU_LIBM(log1p) EMU_LIBM(sqrt) EMU_LIBM(cbrt) EMU_LIBM(sin)
EMU_LIBM(cos) EMU_LIBM(tan) EMU_LIBM(asin) EMU_LIBM(acos) EMU_LIBM(atan)
EMU_LIBM(sinh) EMU_LIBM(cosh) EMU_LIBM(tanh) EMU_LIBM(erf) EMU_LIBM(erfc)
EMU_LIBM(floor) EMU_LIBM(ceil) EMU_LIBM(trunc) EMU_LIBM(round) EMU_LIBM(rint)
EMU_LIBM(nearbyint) EMU_LIBM(fabs)
#undef EMU_LIBM
float powf(float, float) noexcept;
double pow(double, double) noexcept;
float fmodf(float, float) noexcept;
double fmod(double, double) noexcept;
float atan2f(float, float) noexcept;
double atan2(double, double) noexcept;
float fmaf(float, float, float) noexcept;
double fma(double, double, double) noexcept;
float fmaxf(float, float) noexcept;
double fmax(double, double) noexcept;
float fminf(float, float) noexcept;
double fmin(double, double) noexcept;
float copysignf(float, float) noexcept;
double copysign(double, double) noexcept;
float ldexpf(float, int) noexcept;
double ldexp(double, int) noexcept;
float frexpf(float, int *) noexcept;
double frexp(double, int *) noexcept;
float scalbnf(float, int) noexcept;
double scalbn(double, int) noexcept;
}

/* C++ overloads CUDA provides for float arguments. */
#define EMU_OVL1(name) static inline float name(float x) { return name##f(x); }
EMU_OVL1(exp) EMU_OVL1(exp2) EMU_OVL1(expm1) EMU_OVL1(log) EMU_OVL1(log2)
EMU_OVL1(log10) EMU_OVL1(log1p) EMU_OVL1(sqrt) EMU_OVL1(cbrt) EMU_OVL1(sin)
EMU_OVL1(cos) EMU_OVL1(tan) EMU_OVL1(tanh) EMU_OVL1(erf) EMU_OVL1(erfc)
EMU_OVL1(floor) EMU_OVL1(ceil) EMU_OVL1(trunc) EMU_OVL1(round) EMU_OVL1(rint)
EMU_OVL1(fabs)
#undef EMU_OVL1
static inline float pow(float a, float b) { return powf(a, b); }
static inline float fmax(float a, float b) { return fmaxf(a, b); }
static inline float fmin(float a, float b) { return fminf(a, b); }
static inline float fma(float a, float b, float c) { return fmaf(a, b, c); }
static inline float copysign(float a, float b) { return copysignf(a, b); }
static inline float ldexp(float a, int e) { return ldexpf(a, e); }

static inline float rsqrtf(float x) { return (float)(1.0 / sqrt((double)x)); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float rcbrtf(float x) { return 1.0f / cbrtf(x); }
static inline float exp10f(float x) { return powf(10.0f, x); }

template <typename T> static inline bool isnan(T x) { return x != x; }
template <typename T> static inline bool isinf(T x) { return x - x != x - x && x == x; }
template <typename T> static inline bool isfinite(T x) { return x - x == x - x; }
static inline bool signbit(float x) { return __builtin_signbitf(x) != 0; }
static inline bool signbit(double x) { return __builtin_signbit(x) != 0; }

/* fast intrinsics: the precise functions (see the top of the file) */
static inline float __expf(float x) { return expf(x); }
static inline float __exp10f(float x) { return exp10f(x); }
static inline float __logf(float x) { return logf(x); }
static inline float __log2f(float x) { return log2f(x); }
static inline float __log10f(float x) { return log10f(x); }
static inline float __sinf(float x) { return sinf(x); }
static inline float __cosf(float x) { return cosf(x); }
static inline float __tanf(float x) { return tanf(x); }
static inline float __powf(float a, float b) { return powf(a, b); }
static inline float __fdividef(float a, float b) { return a / b; }
static inline float __tanhf(float x) { return tanhf(x); }
static inline void sincosf(float x, float *s, float *c) { *s = sinf(x); *c = cosf(x); }
static inline void __sincosf(float x, float *s, float *c) { sincosf(x, s, c); }
static inline void sincos(double x, double *s, double *c) { *s = sin(x); *c = cos(x); }

/* IEEE operations with an explicit rounding mode: round to nearest only */
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline float __frcp_rn(float x) { return 1.0f / x; }
static inline float __fsqrt_rn(float x) { return sqrtf(x); }
static inline float __frsqrt_rn(float x) { return rsqrtf(x); }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
static inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
static inline double __drcp_rn(double x) { return 1.0 / x; }
static inline double __dsqrt_rn(double x) { return sqrt(x); }
static inline float __saturatef(float x) { return x != x ? 0.0f : x < 0 ? 0.0f : x > 1 ? 1.0f : x; }

/* ---- conversions (saturating, NaN -> 0, like cvt.rzi/rni) ---------------- */

static inline double emu_round_mode(double x, int mode)
{
    switch (mode) {
    case 0: return trunc(x);
    case 1: return rint(x); /* round half even in the default FP mode */
    case 2: return floor(x);
    default: return ceil(x);
    }
}
static inline int emu_to_i32(double x, int mode)
{
    if (x != x) return 0;
    x = emu_round_mode(x, mode);
    return x <= -2147483648.0 ? INT32_MIN : x >= 2147483647.0 ? INT32_MAX : (int)x;
}
static inline unsigned emu_to_u32(double x, int mode)
{
    if (x != x) return 0;
    x = emu_round_mode(x, mode);
    return x <= 0 ? 0u : x >= 4294967295.0 ? UINT32_MAX : (unsigned)x;
}
static inline long long emu_to_i64(double x, int mode)
{
    if (x != x) return 0;
    x = emu_round_mode(x, mode);
    return x < -9223372036854775808.0 ? INT64_MIN
           : x >= 9223372036854775808.0 ? INT64_MAX : (long long)x;
}
#define EMU_CVT(from, T, suffix, mode, to)                                  \
    static inline T __##from##2##to##_##suffix(from x) { return (T)emu_to_##to##_impl(x, mode); }
#define emu_to_int_impl emu_to_i32
#define emu_to_uint_impl emu_to_u32
#define emu_to_ll_impl emu_to_i64
EMU_CVT(float, int, rz, 0, int) EMU_CVT(float, int, rn, 1, int)
EMU_CVT(float, int, rd, 2, int) EMU_CVT(float, int, ru, 3, int)
EMU_CVT(double, int, rz, 0, int) EMU_CVT(double, int, rn, 1, int)
EMU_CVT(double, int, rd, 2, int) EMU_CVT(double, int, ru, 3, int)
EMU_CVT(float, unsigned, rz, 0, uint) EMU_CVT(float, unsigned, rn, 1, uint)
EMU_CVT(double, unsigned, rz, 0, uint) EMU_CVT(double, unsigned, rn, 1, uint)
EMU_CVT(float, long long, rz, 0, ll) EMU_CVT(float, long long, rn, 1, ll)
EMU_CVT(double, long long, rz, 0, ll) EMU_CVT(double, long long, rn, 1, ll)
#undef EMU_CVT
static inline float __int2float_rn(int x) { return (float)x; }
static inline float __uint2float_rn(unsigned x) { return (float)x; }
static inline double __int2double_rn(int x) { return (double)x; }
static inline double __uint2double_rn(unsigned x) { return (double)x; }
static inline float __ll2float_rn(long long x) { return (float)x; }
static inline float __double2float_rn(double x) { return (float)x; }
static inline float __double2float_rz(double x)
{
    float f = (float)x;
    if (f != f || (double)f == x || __builtin_isinf(x)) return f;
    if (__builtin_fabs((double)f) > __builtin_fabs(x))
        f = __builtin_nextafterf(f, 0.0f);
    return f;
}

/* ---- bit casts and integer intrinsics ------------------------------------ */

#define EMU_BITCAST(name, From, To) \
    static inline To name(From x) { To r; memcpy(&r, &x, sizeof r); return r; }
EMU_BITCAST(__float_as_int, float, int)
EMU_BITCAST(__float_as_uint, float, unsigned)
EMU_BITCAST(__int_as_float, int, float)
EMU_BITCAST(__uint_as_float, unsigned, float)
EMU_BITCAST(__double_as_longlong, double, long long)
EMU_BITCAST(__longlong_as_double, long long, double)
#undef EMU_BITCAST
static inline int __double2hiint(double x) { return (int)(__double_as_longlong(x) >> 32); }
static inline int __double2loint(double x) { return (int)__double_as_longlong(x); }
static inline double __hiloint2double(int hi, int lo)
{
    return __longlong_as_double((long long)(((unsigned long long)(unsigned)hi << 32) | (unsigned)lo));
}

static inline unsigned __umulhi(unsigned a, unsigned b)
{
    return (unsigned)(((unsigned long long)a * b) >> 32);
}
static inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b)
{
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
static inline long long __mul64hi(long long a, long long b)
{
    return (long long)(((__int128)a * b) >> 64);
}
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
static inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline unsigned __brev(unsigned x)
{
    unsigned r = 0;
    for (int i = 0; i < 32; i++)
        r |= ((x >> i) & 1u) << (31 - i);
    return r;
}
static inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned s)
{
    unsigned long long v = ((unsigned long long)hi << 32) | lo;
    return (unsigned)((v << (s & 31)) >> 32);
}
static inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned s)
{
    unsigned long long v = ((unsigned long long)hi << 32) | lo;
    return (unsigned)(v >> (s & 31));
}

#define EMU_MINMAX(T) \
    static inline T min(T a, T b) { return a < b ? a : b; } \
    static inline T max(T a, T b) { return a > b ? a : b; }
EMU_MINMAX(int) EMU_MINMAX(unsigned) EMU_MINMAX(long long)
EMU_MINMAX(unsigned long long) EMU_MINMAX(long)
#undef EMU_MINMAX
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }
static inline unsigned umin(unsigned a, unsigned b) { return a < b ? a : b; }
static inline unsigned umax(unsigned a, unsigned b) { return a > b ? a : b; }
static inline int abs(int x) { return x < 0 ? -x : x; }
static inline long long llabs(long long x) { return x < 0 ? -x : x; }

template <typename T> static inline T __ldg(const T *p) { return *p; }

/* ---- atomics: fibres only switch at barriers, so plain updates are
 * atomic here ------------------------------------------------------------- */
template <typename T> static inline T atomicAdd(T *p, T v) { T o = *p; *p = o + v; return o; }
template <typename T> static inline T atomicSub(T *p, T v) { T o = *p; *p = o - v; return o; }
template <typename T> static inline T atomicMax(T *p, T v) { T o = *p; *p = o > v ? o : v; return o; }
template <typename T> static inline T atomicMin(T *p, T v) { T o = *p; *p = o < v ? o : v; return o; }
template <typename T> static inline T atomicExch(T *p, T v) { T o = *p; *p = v; return o; }
template <typename T> static inline T atomicCAS(T *p, T cmp, T v)
{
    T o = *p;
    if (o == cmp) *p = v;
    return o;
}
template <typename T> static inline T atomicOr(T *p, T v) { T o = *p; *p = o | v; return o; }
template <typename T> static inline T atomicAnd(T *p, T v) { T o = *p; *p = o & v; return o; }

#endif
