/*
 * cuda_math.c — the device prelude and the text of each elementwise op.
 *
 * Semantics are the reference evaluator's (src/ir/eval_elementwise.c), as
 * in the CPU codegen: i32 arithmetic wraps (done in unsigned, so it is
 * never undefined behaviour on a host compiler either), i32 x / 0 = 0 and
 * INT_MIN / -1 = INT_MIN, float -> i32 casts saturate with NaN -> 0,
 * maximum/minimum propagate NaN and pick the second operand on ties,
 * relu and sign keep NaN, x -> bool is x != 0 (NaN is true).
 *
 * Accuracy (CUDA 12/13 math library, default NVRTC flags, i.e. no
 * --use_fast_math; "ulp" of the correctly rounded result):
 *   f32: expf 2, logf 1, log1pf 1, tanhf 2, sinf/cosf 2 (full range
 *        reduction), sqrtf and x / y correctly rounded (--prec-sqrt and
 *        --prec-div default to true), rsqrt = 1 / sqrtf (<= 1 ulp, two
 *        roundings, as the CPU).  sigmoid, gelu and pow are evaluated in
 *        double and rounded once (<= 1 ulp): their f32 forms in f32 would
 *        stack several 2-ulp steps past the 4-ulp bound of cpu_math.h, and
 *        FP64 throughput is ample on the data-centre parts kiln targets.
 *   f64: exp 1, log 1, log1p 1, tanh 1, sin/cos 2, pow 2; sigmoid and gelu
 *        are the reference's formulas (a few ulp).
 * All of that is within the 4-ulp bound tests/codegen_cpu asserts for the
 * CPU.  NVRTC contracts a * b + c into fma by default (--fmad=true): float
 * results then differ from the reference in the last bit or so, within the
 * op tolerances; pass --fmad=false for bit-exact elementwise arithmetic.
 */
#include <stdio.h>
#include <string.h>

#include "cuda_emit_internal.h"

static const char prelude_base[] =
    "/* ---- kiln prelude: types, constants, exact-semantics helpers ---- */\n"
    "#define KILN_NAN_F __int_as_float(0x7fc00000)\n"
    "#define KILN_INF_F __int_as_float(0x7f800000)\n"
    "#define KILN_NAN_D ((double)KILN_NAN_F)\n"
    "#define KILN_INF_D ((double)KILN_INF_F)\n"
    "#define KILN_INT_MIN (-2147483647 - 1)\n"
    "#define KILN_DEV __device__ __forceinline__\n"
    "\n"
    "/* NaN-propagating; ties pick b, as the reference's a > b ? a : b. */\n"
    "KILN_DEV float kiln_max_f(float a, float b) { return isnan(a) || isnan(b) ? KILN_NAN_F : (a > b ? a : b); }\n"
    "KILN_DEV float kiln_min_f(float a, float b) { return isnan(a) || isnan(b) ? KILN_NAN_F : (a < b ? a : b); }\n"
    "KILN_DEV double kiln_max_d(double a, double b) { return isnan(a) || isnan(b) ? KILN_NAN_D : (a > b ? a : b); }\n"
    "KILN_DEV double kiln_min_d(double a, double b) { return isnan(a) || isnan(b) ? KILN_NAN_D : (a < b ? a : b); }\n"
    "KILN_DEV int kiln_max_i(int a, int b) { return a > b ? a : b; }\n"
    "KILN_DEV int kiln_min_i(int a, int b) { return a < b ? a : b; }\n"
    "\n"
    "/* i32 arithmetic wraps: computed in unsigned. */\n"
    "KILN_DEV int kiln_add_i(int a, int b) { return (int)((unsigned)a + (unsigned)b); }\n"
    "KILN_DEV int kiln_sub_i(int a, int b) { return (int)((unsigned)a - (unsigned)b); }\n"
    "KILN_DEV int kiln_mul_i(int a, int b) { return (int)((unsigned)a * (unsigned)b); }\n"
    "KILN_DEV int kiln_neg_i(int a) { return (int)(0u - (unsigned)a); }\n"
    "KILN_DEV int kiln_abs_i(int a) { return a < 0 ? kiln_neg_i(a) : a; }\n"
    "KILN_DEV int kiln_div_i(int a, int b)\n"
    "{\n"
    "    if (b == 0) return 0;\n"
    "    if (a == KILN_INT_MIN && b == -1) return a;\n"
    "    return a / b;\n"
    "}\n"
    "\n"
    "/* float -> i32: truncate, saturate, NaN -> 0. */\n"
    "KILN_DEV int kiln_f2i_f(float x)\n"
    "{\n"
    "    if (isnan(x)) return 0;\n"
    "    if (x >= 2147483648.0f) return 2147483647;\n"
    "    if (x < -2147483648.0f) return KILN_INT_MIN;\n"
    "    return (int)x;\n"
    "}\n"
    "KILN_DEV int kiln_f2i_d(double x)\n"
    "{\n"
    "    if (isnan(x)) return 0;\n"
    "    if (x >= 2147483648.0) return 2147483647;\n"
    "    if (x <= -2147483649.0) return KILN_INT_MIN;\n"
    "    return (int)x;\n"
    "}\n"
    "\n"
    "KILN_DEV float kiln_relu_f(float x) { return !(x <= 0.0f) ? x : 0.0f; }\n"
    "KILN_DEV double kiln_relu_d(double x) { return !(x <= 0.0) ? x : 0.0; }\n"
    "KILN_DEV int kiln_relu_i(int x) { return x > 0 ? x : 0; }\n"
    "KILN_DEV float kiln_sign_f(float x) { return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x; }\n"
    "KILN_DEV double kiln_sign_d(double x) { return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : x; }\n"
    "KILN_DEV int kiln_sign_i(int x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }\n"
    "\n"
    "/* The reference's sigmoid: exp never overflows, either tail keeps its\n"
    " * relative accuracy. */\n"
    "KILN_DEV double kiln_sigmoid_d(double x)\n"
    "{\n"
    "    double z = exp(-fabs(x));\n"
    "    return x >= 0.0 ? 1.0 / (1.0 + z) : z / (1.0 + z);\n"
    "}\n"
    "KILN_DEV float kiln_sigmoid_f(float x) { return (float)kiln_sigmoid_d((double)x); }\n"
    "/* tanh-form gelu as x sigmoid(2u); gelu(-inf) = -0. */\n"
    "KILN_DEV double kiln_gelu_d(double x)\n"
    "{\n"
    "    const double k = 0.79788456080286535588; /* sqrt(2/pi) */\n"
    "    if (isinf(x)) return x > 0.0 ? x : -0.0;\n"
    "    return x * kiln_sigmoid_d(2.0 * k * (x + 0.044715 * x * x * x));\n"
    "}\n"
    "KILN_DEV float kiln_gelu_f(float x) { return (float)kiln_gelu_d((double)x); }\n"
    "KILN_DEV float kiln_pow_f(float a, float b) { return (float)pow((double)a, (double)b); }\n"
    "KILN_DEV float kiln_rsqrt_f(float x) { return 1.0f / sqrtf(x); }\n"
    "KILN_DEV double kiln_rsqrt_d(double x) { return 1.0 / sqrt(x); }\n"
    "\n";

/* Philox-4x32-10 exactly as src/ir/philox.c: word e % 4 of
 * Philox(key = {seed, 0}, counter = {e / 4 low, e / 4 high, offset, 0}). */
static const char prelude_philox[] =
    "/* Philox-4x32-10: the same stream as every kiln backend. */\n"
    "KILN_DEV unsigned kiln_philox(unsigned seed, unsigned offset, unsigned long long e)\n"
    "{\n"
    "    unsigned long long block = e >> 2;\n"
    "    unsigned c0 = (unsigned)block, c1 = (unsigned)(block >> 32), c2 = offset, c3 = 0u;\n"
    "    unsigned k0 = seed, k1 = 0u;\n"
    "    for (int round = 0; round < 10; round++) {\n"
    "        unsigned hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;\n"
    "        unsigned hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;\n"
    "        c0 = hi1 ^ c1 ^ k0;\n"
    "        c1 = lo1;\n"
    "        c2 = hi0 ^ c3 ^ k1;\n"
    "        c3 = lo0;\n"
    "        k0 += 0x9E3779B9u;\n"
    "        k1 += 0xBB67AE85u;\n"
    "    }\n"
    "    unsigned w = (unsigned)(e & 3u);\n"
    "    return w == 0u ? c0 : w == 1u ? c1 : w == 2u ? c2 : c3;\n"
    "}\n"
    "\n";

/* Warp and block folds.  Every thread of the block gets the same result:
 * lane 0 of each warp posts its warp's value and every thread folds the
 * posts in warp order, so results are deterministic and identical across
 * threads.  The first barrier lets a block reuse `sm` for the next fold. */
static const char prelude_reduce[] =
    "/* ---- warp / block folds (blockDim.x a multiple of 32, <= 1024) ---- */\n"
    "#define KILN_PLUS(a, b) ((a) + (b))\n"
    "#define KILN_FOLDS(NAME, T, OP)                                            \\\n"
    "KILN_DEV T kiln_warp_##NAME(T v)                                           \\\n"
    "{                                                                          \\\n"
    "    for (int o = 16; o > 0; o >>= 1)                                       \\\n"
    "        v = OP(v, __shfl_xor_sync(0xffffffffu, v, o));                     \\\n"
    "    return v;                                                              \\\n"
    "}                                                                          \\\n"
    "KILN_DEV T kiln_block_##NAME(T v, T *sm)                                   \\\n"
    "{                                                                          \\\n"
    "    v = kiln_warp_##NAME(v);                                               \\\n"
    "    __syncthreads();                                                       \\\n"
    "    if ((threadIdx.x & 31u) == 0u) sm[threadIdx.x >> 5] = v;               \\\n"
    "    __syncthreads();                                                       \\\n"
    "    T r = sm[0];                                                           \\\n"
    "    for (unsigned w = 1u; w < (blockDim.x >> 5); w++) r = OP(r, sm[w]);    \\\n"
    "    return r;                                                              \\\n"
    "}\n"
    "KILN_FOLDS(sum_d, double, KILN_PLUS)\n"
    "KILN_FOLDS(sum_u, unsigned, KILN_PLUS)\n"
    "KILN_FOLDS(max_f, float, kiln_max_f)\n"
    "KILN_FOLDS(max_d, double, kiln_max_d)\n"
    "KILN_FOLDS(max_i, int, kiln_max_i)\n"
    "KILN_FOLDS(min_f, float, kiln_min_f)\n"
    "KILN_FOLDS(min_d, double, kiln_min_d)\n"
    "KILN_FOLDS(min_i, int, kiln_min_i)\n"
    "\n"
    "/* argmax: is (vb, ib) better than (va, ia)?  Index -1 is empty; the\n"
    " * first NaN wins, else the first maximum (as the reference). */\n"
    "KILN_DEV bool kiln_argbetter_f(float vb, int ib, float va, int ia)\n"
    "{\n"
    "    if (ib < 0) return false;\n"
    "    if (ia < 0) return true;\n"
    "    if (isnan(va) || isnan(vb)) return isnan(va) && isnan(vb) ? ib < ia : isnan(vb);\n"
    "    return vb > va || (vb == va && ib < ia);\n"
    "}\n"
    "KILN_DEV bool kiln_argbetter_d(double vb, int ib, double va, int ia)\n"
    "{\n"
    "    if (ib < 0) return false;\n"
    "    if (ia < 0) return true;\n"
    "    if (isnan(va) || isnan(vb)) return isnan(va) && isnan(vb) ? ib < ia : isnan(vb);\n"
    "    return vb > va || (vb == va && ib < ia);\n"
    "}\n"
    "KILN_DEV bool kiln_argbetter_i(int vb, int ib, int va, int ia)\n"
    "{\n"
    "    if (ib < 0) return false;\n"
    "    if (ia < 0) return true;\n"
    "    return vb > va || (vb == va && ib < ia);\n"
    "}\n"
    "#define KILN_ARGMAX(S, T)                                                  \\\n"
    "KILN_DEV void kiln_warp_argmax_##S(T *v, int *i)                           \\\n"
    "{                                                                          \\\n"
    "    for (int o = 16; o > 0; o >>= 1) {                                     \\\n"
    "        T ov = __shfl_xor_sync(0xffffffffu, *v, o);                        \\\n"
    "        int oi = __shfl_xor_sync(0xffffffffu, *i, o);                      \\\n"
    "        if (kiln_argbetter_##S(ov, oi, *v, *i)) { *v = ov; *i = oi; }      \\\n"
    "    }                                                                      \\\n"
    "}                                                                          \\\n"
    "KILN_DEV int kiln_block_argmax_##S(T v, int i, T *smv, int *smi)           \\\n"
    "{                                                                          \\\n"
    "    kiln_warp_argmax_##S(&v, &i);                                          \\\n"
    "    __syncthreads();                                                       \\\n"
    "    if ((threadIdx.x & 31u) == 0u) {                                       \\\n"
    "        smv[threadIdx.x >> 5] = v;                                         \\\n"
    "        smi[threadIdx.x >> 5] = i;                                         \\\n"
    "    }                                                                      \\\n"
    "    __syncthreads();                                                       \\\n"
    "    T bv = smv[0];                                                         \\\n"
    "    int bi = smi[0];                                                       \\\n"
    "    for (unsigned w = 1u; w < (blockDim.x >> 5); w++)                      \\\n"
    "        if (kiln_argbetter_##S(smv[w], smi[w], bv, bi)) {                  \\\n"
    "            bv = smv[w];                                                   \\\n"
    "            bi = smi[w];                                                   \\\n"
    "        }                                                                  \\\n"
    "    return bi;                                                             \\\n"
    "}\n"
    "KILN_ARGMAX(f, float)\n"
    "KILN_ARGMAX(d, double)\n"
    "KILN_ARGMAX(i, int)\n"
    "/* ---- end of prelude ---- */\n"
    "\n";

void cuda_emit_prelude(cuda_text *t)
{
    cuda_put(t, prelude_base);
    cuda_put(t, prelude_philox);
    cuda_put(t, prelude_reduce);
}

/* ---- one op as C text --------------------------------------------------- */

static bool arith(ir_op op, kiln_dtype in, char a[][48], char *buf, size_t len)
{
    static const char sym[] = "+-*/";
    static const char *const iname[] = {"kiln_add_i", "kiln_sub_i", "kiln_mul_i",
                                        "kiln_div_i"};
    int k = op == IR_OP_ADD ? 0 : op == IR_OP_SUB ? 1 : op == IR_OP_MUL ? 2 : 3;
    if (in == KILN_I32)
        snprintf(buf, len, "%s(%s, %s)", iname[k], a[0], a[1]);
    else
        snprintf(buf, len, "(%s %c %s)", a[0], sym[k], a[1]);
    return true;
}

static bool compare(ir_op op, char a[][48], char *buf, size_t len)
{
    static const char *const sym[] = {"<", "<=", ">", ">=", "==", "!="};
    snprintf(buf, len, "(%s %s %s)", a[0], sym[op - IR_OP_LT], a[1]);
    return true;
}

static bool cast(kiln_dtype from, kiln_dtype to, const char *x, char *buf,
                 size_t len)
{
    if (from == to)
        snprintf(buf, len, "%s", x);
    else if (to == KILN_BOOL)
        snprintf(buf, len, "(%s != %s)", x,
                 from == KILN_F32 ? "0.0f" : from == KILN_F64 ? "0.0" : "0");
    else if (to == KILN_I32 && ir_dtype_is_float(from))
        snprintf(buf, len, "kiln_f2i_%s(%s)", cuda_suffix(from), x);
    else
        snprintf(buf, len, "(%s)%s", cuda_ctype(to), x);
    return true;
}

/* Float functions: CUDA's name for f32 and f64, or a kiln_ helper. */
static const char *float_fn(ir_op op, kiln_dtype t)
{
    bool d = t == KILN_F64;
    switch (op) {
    case IR_OP_EXP: return d ? "exp" : "expf";
    case IR_OP_LOG: return d ? "log" : "logf";
    case IR_OP_LOG1P: return d ? "log1p" : "log1pf";
    case IR_OP_SQRT: return d ? "sqrt" : "sqrtf";
    case IR_OP_RSQRT: return d ? "kiln_rsqrt_d" : "kiln_rsqrt_f";
    case IR_OP_TANH: return d ? "tanh" : "tanhf";
    case IR_OP_SIGMOID: return d ? "kiln_sigmoid_d" : "kiln_sigmoid_f";
    case IR_OP_GELU: return d ? "kiln_gelu_d" : "kiln_gelu_f";
    case IR_OP_SIN: return d ? "sin" : "sinf";
    case IR_OP_COS: return d ? "cos" : "cosf";
    case IR_OP_ABS: return d ? "fabs" : "fabsf";
    default: return NULL;
    }
}

static bool unary(ir_op op, kiln_dtype t, const char *x, char *buf, size_t len)
{
    bool fl = ir_dtype_is_float(t);
    const char *s = cuda_suffix(t), *fn = fl ? float_fn(op, t) : NULL;
    if (fn) {
        snprintf(buf, len, "%s(%s)", fn, x);
        return true;
    }
    switch (op) {
    case IR_OP_NEG:
        if (fl)
            snprintf(buf, len, "(-%s)", x);
        else
            snprintf(buf, len, "kiln_neg_i(%s)", x);
        return true;
    case IR_OP_ABS: snprintf(buf, len, "kiln_abs_i(%s)", x); return true;
    case IR_OP_SQUARE:
        if (fl)
            snprintf(buf, len, "(%s * %s)", x, x);
        else
            snprintf(buf, len, "kiln_mul_i(%s, %s)", x, x);
        return true;
    case IR_OP_RELU: snprintf(buf, len, "kiln_relu_%s(%s)", s, x); return true;
    case IR_OP_SIGN: snprintf(buf, len, "kiln_sign_%s(%s)", s, x); return true;
    case IR_OP_RECIPROCAL:
        if (!fl)
            return false;
        snprintf(buf, len, "(%s / %s)", t == KILN_F64 ? "1.0" : "1.0f", x);
        return true;
    default: return false;
    }
}

bool cuda_op_text(ir_op op, kiln_dtype out, kiln_dtype in, char a[][48],
                  int nargs, char *buf, size_t len)
{
    if (in == KILN_BOOL && op != IR_OP_CAST && op != IR_OP_SELECT &&
        op != IR_OP_EQ && op != IR_OP_NE)
        return false;
    switch (op) {
    case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: case IR_OP_DIV:
        return nargs == 2 && arith(op, in, a, buf, len);
    case IR_OP_POW:
        snprintf(buf, len, "%s(%s, %s)", in == KILN_F64 ? "pow" : "kiln_pow_f",
                 a[0], a[1]);
        return nargs == 2 && ir_dtype_is_float(in);
    case IR_OP_MAXIMUM: case IR_OP_MINIMUM:
        snprintf(buf, len, "kiln_%s_%s(%s, %s)", op == IR_OP_MAXIMUM ? "max" : "min",
                 cuda_suffix(in), a[0], a[1]);
        return nargs == 2;
    case IR_OP_LT: case IR_OP_LE: case IR_OP_GT: case IR_OP_GE:
    case IR_OP_EQ: case IR_OP_NE:
        return nargs == 2 && compare(op, a, buf, len);
    case IR_OP_SELECT:
        snprintf(buf, len, "(%s ? %s : %s)", a[0], a[1], a[2]);
        return nargs == 3;
    case IR_OP_CAST: return nargs == 1 && cast(in, out, a[0], buf, len);
    default: return nargs == 1 && unary(op, in, a[0], buf, len);
    }
}
