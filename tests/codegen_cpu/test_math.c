/*
 * test_math.c — the CPU backend's math functions (cpu_math.c), compiled
 * as vectorised loops out[i] = f(in[i]) under default<O3> for the host
 * CPU, JIT-run and compared with libm one precision up (math_ref.c):
 * every 251st float bit pattern, dense sweeps, random doubles and the
 * special values, for f32 and f64.  Also checks that the loops vectorise
 * and call no library function, and prints a small benchmark.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen_cpu/cpu_math.h"
#include "jit_harness.h"
#include "math_ref.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define CHUNK 65536

typedef void (*map1_fn)(const void *in, void *out, int64_t n);
typedef void (*map2_fn)(const void *a, const void *b, void *out, int64_t n);

typedef struct op_case {
    ir_op op;
    const char *name;
    double lo32, hi32, lo64, hi64; /* dense sweeps */
    double limit32, limit64;       /* bound holds for |x| <= limit; 0: all x */
    double bound32, bound64;       /* asserted max ulp (cpu_math.h) */
} op_case;

static const op_case OPS[] = {
    {IR_OP_EXP, "exp", -105, 89, -746, 710, 0, 0, 4, 4},
    {IR_OP_LOG, "log", 0, 4, 0, 4, 0, 0, 4, 4},
    {IR_OP_LOG1P, "log1p", -1, 3, -1, 3, 0, 0, 4, 4},
    {IR_OP_TANH, "tanh", -10, 10, -20, 20, 0, 0, 4, 4},
    {IR_OP_SIGMOID, "sigmoid", -105, 20, -750, 40, 0, 0, 4, 4},
    {IR_OP_GELU, "gelu", -12, 12, -30, 30, 0, 0, 4, 4},
    {IR_OP_SIN, "sin", -20, 20, -20, 20, 3.2e6, 3.2e6, 4, 4},
    {IR_OP_COS, "cos", -20, 20, -20, 20, 3.2e6, 3.2e6, 4, 4},
    {IR_OP_SQRT, "sqrt", 0, 10, 0, 10, 0, 0, 0, 0},
    {IR_OP_RSQRT, "rsqrt", 0, 10, 0, 10, 0, 0, 1, 1},
};
#define NOPS COUNT(OPS)
#define POW_BOUND32 1 /* cpu_math.h */
#define POW_BOUND64 3

typedef void (*vec1_fn)(const void *in, void *out);
typedef void (*vec2_fn)(const void *a, const void *b, void *out);
#define VLANES 8

typedef struct fixture {
    jh *jit;
    map1_fn f32[NOPS], f64[NOPS];
    map2_fn pow32, pow64;
    vec1_fn v32[NOPS], v64[NOPS]; /* cpu_math on <8 x T> values directly */
    vec2_fn vpow32, vpow64;
    char *ir_exp32, *ir_exp64; /* the optimised exp loops */
    char libcall[128];         /* a non-intrinsic declaration, if any */
    bool avx512;
} fixture;

/* ---- building the module -------------------------------------------- */

static LLVMValueRef unary_body(LLVMBuilderRef b, LLVMValueRef *x, void *ctx)
{
    return cpu_math_unary(b, *(const ir_op *)ctx, x[0]);
}

static LLVMValueRef pow_body(LLVMBuilderRef b, LLVMValueRef *x, void *ctx)
{
    (void)ctx;
    return cpu_math_pow(b, x[0], x[1]);
}

static void build_loops(fixture *fx, LLVMModuleRef mod)
{
    LLVMContextRef c = LLVMGetModuleContext(mod);
    LLVMTypeRef f32 = LLVMFloatTypeInContext(c), f64 = LLVMDoubleTypeInContext(c);
    char name[64];
    for (int i = 0; i < NOPS; i++) {
        snprintf(name, sizeof name, "f_%s_f32", OPS[i].name);
        jh_map_loop(fx->jit, mod, name, f32, 1, unary_body, (void *)&OPS[i].op);
        snprintf(name, sizeof name, "f_%s_f64", OPS[i].name);
        jh_map_loop(fx->jit, mod, name, f64, 1, unary_body, (void *)&OPS[i].op);
    }
    jh_map_loop(fx->jit, mod, "f_pow_f32", f32, 2, pow_body, NULL);
    jh_map_loop(fx->jit, mod, "f_pow_f64", f64, 2, pow_body, NULL);
}

static void build_vector_fns(fixture *fx, LLVMModuleRef mod)
{
    LLVMContextRef c = LLVMGetModuleContext(mod);
    LLVMTypeRef f32 = LLVMFloatTypeInContext(c), f64 = LLVMDoubleTypeInContext(c);
    char name[64];
    for (int i = 0; i < NOPS; i++) {
        snprintf(name, sizeof name, "v_%s_f32", OPS[i].name);
        jh_vector_fn(fx->jit, mod, name, f32, VLANES, 1, unary_body, (void *)&OPS[i].op);
        snprintf(name, sizeof name, "v_%s_f64", OPS[i].name);
        jh_vector_fn(fx->jit, mod, name, f64, VLANES, 1, unary_body, (void *)&OPS[i].op);
    }
    jh_vector_fn(fx->jit, mod, "v_pow_f32", f32, VLANES, 2, pow_body, NULL);
    jh_vector_fn(fx->jit, mod, "v_pow_f64", f64, VLANES, 2, pow_body, NULL);
}

/* Everything declared but not defined must be an LLVM intrinsic. */
static void find_libcalls(fixture *fx, LLVMModuleRef mod)
{
    for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
        size_t len;
        const char *name = LLVMGetValueName2(f, &len);
        if (LLVMIsDeclaration(f) && strncmp(name, "llvm.", 5) != 0 && !fx->libcall[0])
            snprintf(fx->libcall, sizeof fx->libcall, "%s", name);
    }
}

static void *lookup(fixture *fx, const char *name)
{
    void *p = jh_lookup(fx->jit, name);
    if (!p)
        fprintf(stderr, "JIT lookup of %s failed\n", name);
    return p;
}

/* fn[i] = the JIT's address of PREFIX_OP_f32 / _f64 (function pointers
 * through memcpy: ISO C has no void * to function pointer conversion). */
static int resolve_vectors(fixture *fx)
{
    char name[64];
    void *p;
    for (int i = 0; i < NOPS; i++) {
        snprintf(name, sizeof name, "v_%s_f32", OPS[i].name);
        if (!(p = lookup(fx, name)))
            return -1;
        memcpy(&fx->v32[i], &p, sizeof p);
        snprintf(name, sizeof name, "v_%s_f64", OPS[i].name);
        if (!(p = lookup(fx, name)))
            return -1;
        memcpy(&fx->v64[i], &p, sizeof p);
    }
    if (!(p = lookup(fx, "v_pow_f32")))
        return -1;
    memcpy(&fx->vpow32, &p, sizeof p);
    if (!(p = lookup(fx, "v_pow_f64")))
        return -1;
    memcpy(&fx->vpow64, &p, sizeof p);
    return 0;
}

static int resolve(fixture *fx)
{
    char name[64];
    void *p;
    for (int i = 0; i < NOPS; i++) {
        snprintf(name, sizeof name, "f_%s_f32", OPS[i].name);
        if (!(p = lookup(fx, name)))
            return -1;
        memcpy(&fx->f32[i], &p, sizeof p);
        snprintf(name, sizeof name, "f_%s_f64", OPS[i].name);
        if (!(p = lookup(fx, name)))
            return -1;
        memcpy(&fx->f64[i], &p, sizeof p);
    }
    if (!(p = lookup(fx, "f_pow_f32")))
        return -1;
    memcpy(&fx->pow32, &p, sizeof p);
    if (!(p = lookup(fx, "f_pow_f64")))
        return -1;
    memcpy(&fx->pow64, &p, sizeof p);
    return 0;
}

static int setup(void **state)
{
    char err[512];
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx || !(fx->jit = jh_create(err, sizeof err))) {
        fprintf(stderr, "JIT: %s\n", fx ? err : "out of memory");
        free(fx);
        return -1;
    }
    fx->avx512 = jh_host_has(fx->jit, "+avx512f");
    LLVMModuleRef mod = jh_module(fx->jit, "math");
    build_loops(fx, mod);
    if (jh_optimize(fx->jit, mod, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    fx->ir_exp32 = LLVMPrintValueToString(LLVMGetNamedFunction(mod, "f_exp_f32"));
    fx->ir_exp64 = LLVMPrintValueToString(LLVMGetNamedFunction(mod, "f_exp_f64"));
    const char *dump = getenv("KILN_MATH_DUMP_IR"); /* for reading the code */
    if (dump && LLVMPrintModuleToFile(mod, dump, NULL))
        fprintf(stderr, "could not write %s\n", dump);
    find_libcalls(fx, mod);
    LLVMModuleRef vec = jh_module(fx->jit, "vec");
    build_vector_fns(fx, vec);
    if (jh_add(fx->jit, mod, err, sizeof err) ||
        jh_optimize(fx->jit, vec, err, sizeof err) ||
        jh_add(fx->jit, vec, err, sizeof err) || resolve(fx) ||
        resolve_vectors(fx)) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    LLVMDisposeMessage(fx->ir_exp32);
    LLVMDisposeMessage(fx->ir_exp64);
    jh_destroy(fx->jit);
    free(fx);
    return 0;
}

/* ---- the generated code -------------------------------------------- */

static void test_vectorised(void **state)
{
    fixture *fx = *state;
    const char *want32 = fx->avx512 ? "<16 x float>" : " x float>";
    const char *want64 = fx->avx512 ? "<8 x double>" : " x double>";
    print_message("host has AVX-512: %s\n", fx->avx512 ? "yes" : "no");
    if (!strstr(fx->ir_exp32, want32))
        fail_msg("exp f32 loop did not vectorise to %s", want32);
    if (!strstr(fx->ir_exp64, want64))
        fail_msg("exp f64 loop did not vectorise to %s", want64);
}

static void test_no_library_calls(void **state)
{
    fixture *fx = *state;
    if (fx->libcall[0])
        fail_msg("optimised module declares %s", fx->libcall);
}

static void test_bad_arguments(void **state)
{
    fixture *fx = *state;
    LLVMContextRef c = jh_context(fx->jit);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
    LLVMValueRef one = LLVMConstReal(LLVMFloatTypeInContext(c), 1.0);
    LLVMValueRef i = LLVMConstInt(LLVMInt32TypeInContext(c), 1, 0);
    assert_null(cpu_math_unary(b, IR_OP_EXP, one)); /* no insert block */
    LLVMModuleRef mod = jh_module(fx->jit, "bad");
    LLVMValueRef fn = LLVMAddFunction(mod, "g", LLVMFunctionType(LLVMVoidTypeInContext(c), NULL, 0, 0));
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, fn, "entry"));
    assert_null(cpu_math_unary(b, IR_OP_ADD, one));
    assert_null(cpu_math_unary(b, IR_OP_EXP, i));
    assert_null(cpu_math_pow(b, one, LLVMConstReal(LLVMDoubleTypeInContext(c), 1.0)));
    assert_non_null(cpu_math_unary(b, IR_OP_EXP, one));
    LLVMDisposeBuilder(b);
    LLVMDisposeModule(mod);
}

/* cpu_math takes vectors directly, too: <8 x T> through the same bounds. */
static const double VX[VLANES] = {-3.7, -0.5, -0.0, 0.25, 1, 2.5, 10, 100};
static const double VY[VLANES] = {2, -1.5, 3, 0.5, -7, 10.25, -2, 0.125};

static bool vector_op_ok(fixture *fx, int i)
{
    float x32[VLANES], y32[VLANES];
    double y64[VLANES];
    for (int l = 0; l < VLANES; l++)
        x32[l] = (float)VX[l];
    fx->v32[i](x32, y32);
    fx->v64[i](VX, y64);
    bool ok = true;
    for (int l = 0; l < VLANES; l++) {
        ok &= ulp_dist_f32(y32[l], (float)ref_unary_d(OPS[i].op, x32[l])) <= OPS[i].bound32;
        ok &= ulp_dist_f64(y64[l], (double)ref_unary(OPS[i].op, VX[l])) <= OPS[i].bound64;
    }
    if (!ok)
        print_message("%s on <%d x T> vectors is off\n", OPS[i].name, VLANES);
    return ok;
}

static bool vector_pow_ok(fixture *fx)
{
    float x32[VLANES], y32[VLANES], r32[VLANES];
    double r64[VLANES];
    for (int l = 0; l < VLANES; l++) {
        x32[l] = (float)VX[l];
        y32[l] = (float)VY[l];
    }
    fx->vpow32(x32, y32, r32);
    fx->vpow64(VX, VY, r64);
    bool ok = true;
    for (int l = 0; l < VLANES; l++) {
        ok &= ulp_dist_f32(r32[l], (float)pow(x32[l], y32[l])) <= POW_BOUND32;
        ok &= ulp_dist_f64(r64[l], (double)powl(VX[l], VY[l])) <= POW_BOUND64;
    }
    return ok;
}

static void test_vector_arguments(void **state)
{
    fixture *fx = *state;
    bool ok = vector_pow_ok(fx);
    for (int i = 0; i < NOPS; i++)
        ok &= vector_op_ok(fx, i);
    assert_true(ok);
}

/* ---- unary accuracy ------------------------------------------------- */

typedef struct stats {
    double max_ulp, at;  /* worst error within the limit, and where */
    long long n;         /* values checked against the bound */
    long long bad_big;   /* beyond the limit: NaN or |y| > 1 for finite x */
} stats;

static void note(stats *s, double ulp, double x)
{
    s->n++;
    if (ulp > s->max_ulp || (isinf(ulp) && s->max_ulp == 0)) {
        s->max_ulp = ulp;
        s->at = x;
    }
}

static bool beyond(double x, double limit)
{
    return limit > 0 && !(fabs(x) <= limit) && !isnan(x);
}

static void check32(const op_case *c, stats *s, const float *x, const float *y, int n)
{
    for (int i = 0; i < n; i++) {
        if (beyond(x[i], c->limit32)) {
            s->bad_big += isfinite(x[i]) && !(fabsf(y[i]) <= 1);
            continue;
        }
        float want = (float)ref_unary_d(c->op, x[i]);
        note(s, ulp_dist_f32(y[i], want), x[i]);
    }
}

static void check64(const op_case *c, stats *s, const double *x, const double *y, int n)
{
    for (int i = 0; i < n; i++) {
        if (beyond(x[i], c->limit64)) {
            s->bad_big += isfinite(x[i]) && !(fabs(y[i]) <= 1);
            continue;
        }
        double want = (double)ref_unary(c->op, x[i]);
        note(s, ulp_dist_f64(y[i], want), x[i]);
    }
}

static void sweep32(const op_case *c, map1_fn f, stats *s, float *x, float *y)
{
    int n = 0;
    for (uint64_t bits = 0; bits < (1ull << 32); bits += 251) {
        uint32_t u = (uint32_t)bits;
        memcpy(&x[n], &u, sizeof u);
        if (++n == CHUNK) {
            f(x, y, n);
            check32(c, s, x, y, n);
            n = 0;
        }
    }
    for (long i = 0; i <= 16 * CHUNK; i++) {
        x[n] = (float)(c->lo32 + (c->hi32 - c->lo32) * (double)i / (16.0 * CHUNK));
        if (++n == CHUNK || i == 16 * CHUNK) {
            f(x, y, n);
            check32(c, s, x, y, n);
            n = 0;
        }
    }
}

/* Random bit patterns (every exponent equally likely), a dense sweep, and
 * uniform values up to the limit where there is one: F64_ROUNDS chunks of
 * each. */
#ifndef F64_ROUNDS
#define F64_ROUNDS 16
#endif
static void sweep64(const op_case *c, map1_fn f, stats *s, double *x, double *y)
{
    uint64_t seed = 42 + (uint64_t)c->op;
    for (int round = 0; round < 3 * F64_ROUNDS; round++) {
        for (int i = 0; i < CHUNK; i++) {
            if (round < F64_ROUNDS) {
                uint64_t u = ref_rand(&seed);
                memcpy(&x[i], &u, sizeof u);
            } else if (round < 2 * F64_ROUNDS || c->limit64 == 0) {
                long j = (long)(round % F64_ROUNDS) * CHUNK + i;
                x[i] = c->lo64 + (c->hi64 - c->lo64) * (double)j / ((double)F64_ROUNDS * CHUNK);
            } else {
                x[i] = ref_uniform(&seed, -c->limit64, c->limit64);
            }
        }
        f(x, y, CHUNK);
        check64(c, s, x, y, CHUNK);
    }
}

static void report(const char *op, const char *type, const stats *s, double bound)
{
    print_message("%-8s %-4s max %4.0f ulp at %-14.8g bound %2.0f  (%lld values)\n",
                  op, type, s->max_ulp, s->at, bound, s->n);
}

static void test_accuracy_f32(void **state)
{
    fixture *fx = *state;
    float *x = malloc(CHUNK * sizeof *x), *y = malloc(CHUNK * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    bool ok = true;
    for (int i = 0; i < NOPS; i++) {
        stats s = {0};
        sweep32(&OPS[i], fx->f32[i], &s, x, y);
        report(OPS[i].name, "f32", &s, OPS[i].bound32);
        ok &= s.max_ulp <= OPS[i].bound32 && s.bad_big == 0;
        if (s.bad_big)
            print_message("  %lld finite inputs beyond the limit gave NaN or |y| > 1\n", s.bad_big);
    }
    free(x);
    free(y);
    assert_true(ok);
}

static void test_accuracy_f64(void **state)
{
    fixture *fx = *state;
    double *x = malloc(CHUNK * sizeof *x), *y = malloc(CHUNK * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    bool ok = true;
    for (int i = 0; i < NOPS; i++) {
        stats s = {0};
        sweep64(&OPS[i], fx->f64[i], &s, x, y);
        report(OPS[i].name, "f64", &s, OPS[i].bound64);
        ok &= s.max_ulp <= OPS[i].bound64 && s.bad_big == 0;
        if (s.bad_big)
            print_message("  %lld finite inputs beyond the limit gave NaN or |y| > 1\n", s.bad_big);
    }
    free(x);
    free(y);
    assert_true(ok);
}

/* ---- special values ------------------------------------------------- */

typedef struct special {
    ir_op op;
    double x, want; /* compared bit for bit, any NaN matching any NaN */
} special;

static const special SPECIALS[] = {
    {IR_OP_EXP, NAN, NAN}, {IR_OP_EXP, INFINITY, INFINITY},
    {IR_OP_EXP, -INFINITY, 0}, {IR_OP_EXP, 1000, INFINITY},
    {IR_OP_EXP, -1000, 0}, {IR_OP_EXP, 0, 1}, {IR_OP_EXP, -0.0, 1},
    {IR_OP_LOG, 0, -INFINITY}, {IR_OP_LOG, -0.0, -INFINITY},
    {IR_OP_LOG, -1, NAN}, {IR_OP_LOG, -INFINITY, NAN},
    {IR_OP_LOG, INFINITY, INFINITY}, {IR_OP_LOG, NAN, NAN}, {IR_OP_LOG, 1, 0},
    {IR_OP_LOG1P, -1, -INFINITY}, {IR_OP_LOG1P, -2, NAN},
    {IR_OP_LOG1P, INFINITY, INFINITY}, {IR_OP_LOG1P, -0.0, -0.0},
    {IR_OP_LOG1P, 0, 0}, {IR_OP_LOG1P, NAN, NAN},
    {IR_OP_TANH, INFINITY, 1}, {IR_OP_TANH, -INFINITY, -1},
    {IR_OP_TANH, -0.0, -0.0}, {IR_OP_TANH, 0, 0}, {IR_OP_TANH, NAN, NAN},
    {IR_OP_SIGMOID, INFINITY, 1}, {IR_OP_SIGMOID, -INFINITY, 0},
    {IR_OP_SIGMOID, 0, 0.5}, {IR_OP_SIGMOID, NAN, NAN},
    {IR_OP_SIGMOID, 1000, 1}, {IR_OP_SIGMOID, -1000, 0},
    {IR_OP_GELU, INFINITY, INFINITY}, {IR_OP_GELU, -INFINITY, -0.0},
    {IR_OP_GELU, 0, 0}, {IR_OP_GELU, -0.0, -0.0}, {IR_OP_GELU, NAN, NAN},
    {IR_OP_SIN, INFINITY, NAN}, {IR_OP_SIN, -INFINITY, NAN},
    {IR_OP_SIN, NAN, NAN}, {IR_OP_SIN, -0.0, -0.0}, {IR_OP_SIN, 0, 0},
    {IR_OP_COS, INFINITY, NAN}, {IR_OP_COS, -INFINITY, NAN},
    {IR_OP_COS, NAN, NAN}, {IR_OP_COS, 0, 1}, {IR_OP_COS, -0.0, 1},
    {IR_OP_SQRT, -1, NAN}, {IR_OP_SQRT, INFINITY, INFINITY},
    {IR_OP_SQRT, -0.0, -0.0}, {IR_OP_SQRT, 4, 2},
    {IR_OP_RSQRT, 0, INFINITY}, {IR_OP_RSQRT, INFINITY, 0},
    {IR_OP_RSQRT, -1, NAN}, {IR_OP_RSQRT, 4, 0.5},
};

static bool same_f64(double a, double b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static int op_index(ir_op op)
{
    for (int i = 0; i < NOPS; i++)
        if (OPS[i].op == op)
            return i;
    return -1;
}

static bool check_special(fixture *fx, const special *sp)
{
    int i = op_index(sp->op);
    float x32 = (float)sp->x, y32;
    double y64;
    fx->f32[i](&x32, &y32, 1);
    fx->f64[i](&sp->x, &y64, 1);
    bool ok = same_f64(y32, (double)(float)sp->want) && same_f64(y64, sp->want);
    if (!ok)
        print_message("%s(%g): want %g, f32 gave %g, f64 gave %g\n", OPS[i].name,
                      sp->x, sp->want, (double)y32, y64);
    return ok;
}

/* Large finite arguments of sin/cos stay bounded and are never NaN. */
static bool check_huge_trig(fixture *fx)
{
    const double xs[] = {FLT_MAX, -FLT_MAX, 1e30, 3.3e6, 1e7, 1e20, DBL_MAX, -DBL_MAX};
    bool ok = true;
    for (int i = 0; i < COUNT(xs); i++) {
        for (int t = op_index(IR_OP_SIN); t <= op_index(IR_OP_COS); t++) {
            double y;
            fx->f64[t](&xs[i], &y, 1);
            ok &= fabs(y) <= 1;
            if (fabs(xs[i]) <= FLT_MAX) {
                float x32 = (float)xs[i], y32;
                fx->f32[t](&x32, &y32, 1);
                ok &= fabsf(y32) <= 1;
            }
        }
    }
    return ok;
}

static void test_specials(void **state)
{
    fixture *fx = *state;
    bool ok = check_huge_trig(fx);
    for (int i = 0; i < COUNT(SPECIALS); i++)
        ok &= check_special(fx, &SPECIALS[i]);
    /* exp underflows gradually: 2^-140 is a subnormal float, 2^-1070 a
     * subnormal double, each exactly representable. */
    float x32 = (float)(-140 * 0.6931471805599453), y32;
    double x64 = -1070 * 0.6931471805599453, y64;
    fx->f32[op_index(IR_OP_EXP)](&x32, &y32, 1);
    fx->f64[op_index(IR_OP_EXP)](&x64, &y64, 1);
    ok &= ulp_dist_f32(y32, (float)exp(x32)) <= 1 && y32 > 0;
    ok &= ulp_dist_f64(y64, (double)expl(x64)) <= 1 && y64 > 0;
    assert_true(ok);
}

/* ---- pow ------------------------------------------------------------ */

typedef struct pow_case {
    double x, y, want;
} pow_case;

/* C99 F.9.4.4, row by row. */
static const pow_case POW_SPECIALS[] = {
    {0, -3, INFINITY}, {-0.0, -3, -INFINITY}, {0, -2, INFINITY},
    {-0.0, -2, INFINITY}, {-0.0, -0.5, INFINITY}, {0, -INFINITY, INFINITY},
    {-0.0, -INFINITY, INFINITY}, {0, 3, 0}, {-0.0, 3, -0.0}, {-0.0, 2, 0},
    {-0.0, 0.5, 0}, {-1, INFINITY, 1}, {-1, -INFINITY, 1}, {1, NAN, 1},
    {1, -INFINITY, 1}, {NAN, 0, 1}, {NAN, -0.0, 1}, {-2.5, 0, 1},
    {-2, 0.5, NAN}, {-2, -1.5, NAN}, {0.5, -INFINITY, INFINITY},
    {-0.5, -INFINITY, INFINITY}, {2, -INFINITY, 0}, {-2, -INFINITY, 0},
    {0.5, INFINITY, 0}, {-0.5, INFINITY, 0}, {2, INFINITY, INFINITY},
    {-2, INFINITY, INFINITY}, {-INFINITY, -3, -0.0}, {-INFINITY, -2, 0},
    {-INFINITY, -0.5, 0}, {-INFINITY, 3, -INFINITY}, {-INFINITY, 2, INFINITY},
    {-INFINITY, 0.5, INFINITY}, {INFINITY, -1, 0}, {INFINITY, 0.5, INFINITY},
    {NAN, 1, NAN}, {2, NAN, NAN}, {-2, 3, -8}, {-2, -3, -0.125}, {-2, 2, 4},
    {2, 10, 1024}, {10, 400, INFINITY}, {10, -400, 0}, {-10, 401, -INFINITY},
    {2, -1074, 0x1p-1074}, {2, 1023, 0x1p1023}, {2, 1024, INFINITY},
    {-3, 4503599627370497.0, -INFINITY}, {-0.5, 9007199254740992.0, 0},
};

static bool check_pow_special(fixture *fx, const pow_case *pc)
{
    float x32 = (float)pc->x, y32 = (float)pc->y, r32;
    double r64;
    fx->pow32(&x32, &y32, &r32, 1);
    fx->pow64(&pc->x, &pc->y, &r64, 1);
    double want32 = (double)powf(x32, y32);
    bool ok = same_f64(r32, want32) && same_f64(r64, pc->want);
    if (!ok)
        print_message("pow(%g, %g): want %g (f32 %g), f32 gave %g, f64 gave %g\n",
                      pc->x, pc->y, pc->want, want32, (double)r32, r64);
    return ok;
}

static void test_pow_specials(void **state)
{
    fixture *fx = *state;
    bool ok = true;
    for (int i = 0; i < COUNT(POW_SPECIALS); i++)
        ok &= check_pow_special(fx, &POW_SPECIALS[i]);
    assert_true(ok);
}

/* Pairs: random magnitudes and exponents, a dense grid, negative bases
 * with integral exponents, and results near overflow and underflow. */
static void pow_pair(uint64_t *seed, int kind, double hi_exp, double *x, double *y)
{
    switch (kind) {
    case 0:
        *x = exp2(ref_uniform(seed, -hi_exp, hi_exp));
        *y = ref_uniform(seed, -1, 1) * exp2(ref_uniform(seed, -10, 10));
        break;
    case 1:
        *x = ref_uniform(seed, 0, 4);
        *y = ref_uniform(seed, -40, 40);
        break;
    case 2:
        *x = ref_uniform(seed, -10, 0);
        *y = floor(ref_uniform(seed, -60, 60));
        break;
    case 3:
        *x = ref_uniform(seed, 0.5, 2.5);
        *y = ref_uniform(seed, hi_exp - 10, hi_exp + 2) / log2(*x);
        break;
    default: { /* any positive x, subnormals included */
        uint64_t u = ref_rand(seed);
        if (hi_exp < 1000) {
            float f;
            uint32_t u32 = (uint32_t)(u >> 33);
            memcpy(&f, &u32, sizeof f);
            *x = f;
        } else {
            u >>= 1;
            memcpy(x, &u, sizeof u);
        }
        *y = ref_uniform(seed, -2, 2);
        break;
    }
    }
}

#ifndef POW_ROUNDS
#define POW_ROUNDS 20
#endif

typedef struct pow_stats {
    double max_ulp, x, y;
    long long n;
} pow_stats;

static void pow_note(pow_stats *s, double ulp, double x, double y)
{
    s->n++;
    if (ulp > s->max_ulp) {
        s->max_ulp = ulp;
        s->x = x;
        s->y = y;
    }
}

static void pow_sweep32(fixture *fx, pow_stats *s, float *x, float *y, float *r)
{
    uint64_t seed = 7;
    for (int round = 0; round < POW_ROUNDS; round++) {
        for (int i = 0; i < CHUNK; i++) {
            double a, b;
            pow_pair(&seed, round % 5, 126, &a, &b);
            x[i] = (float)a;
            y[i] = (float)b;
        }
        fx->pow32(x, y, r, CHUNK);
        for (int i = 0; i < CHUNK; i++)
            pow_note(s, ulp_dist_f32(r[i], (float)pow(x[i], y[i])), x[i], y[i]);
    }
}

static void pow_sweep64(fixture *fx, pow_stats *s, double *x, double *y, double *r)
{
    uint64_t seed = 9;
    for (int round = 0; round < POW_ROUNDS; round++) {
        for (int i = 0; i < CHUNK; i++)
            pow_pair(&seed, round % 5, 1022, &x[i], &y[i]);
        fx->pow64(x, y, r, CHUNK);
        for (int i = 0; i < CHUNK; i++)
            pow_note(s, ulp_dist_f64(r[i], (double)powl(x[i], y[i])), x[i], y[i]);
    }
}

static void test_pow_accuracy(void **state)
{
    fixture *fx = *state;
    double *x = malloc(CHUNK * sizeof *x), *y = malloc(CHUNK * sizeof *y);
    double *r = malloc(CHUNK * sizeof *r);
    assert_true(x && y && r);
    pow_stats s32 = {0}, s64 = {0};
    pow_sweep32(fx, &s32, (float *)x, (float *)y, (float *)r);
    pow_sweep64(fx, &s64, x, y, r);
    print_message("pow      f32  max %4.0f ulp at (%.9g, %.9g) bound %d  (%lld values)\n",
                  s32.max_ulp, s32.x, s32.y, POW_BOUND32, s32.n);
    print_message("pow      f64  max %4.0f ulp at (%.17g, %.17g) bound %d  (%lld values)\n",
                  s64.max_ulp, s64.x, s64.y, POW_BOUND64, s64.n);
    free(x);
    free(y);
    free(r);
    assert_true(s32.max_ulp <= POW_BOUND32);
    assert_true(s64.max_ulp <= POW_BOUND64);
}

/* ---- benchmark (printed, never asserted) ---------------------------- */

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double bench_jit(map1_fn f, const float *x, float *y, int n, int reps)
{
    double t0 = now_ns();
    for (int r = 0; r < reps; r++)
        f(x, y, n);
    return (now_ns() - t0) / ((double)n * reps);
}

static double bench_libm(float (*g)(float), const float *x, float *y, int n, int reps)
{
    double t0 = now_ns();
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n; i++)
            y[i] = g(x[i]);
    return (now_ns() - t0) / ((double)n * reps);
}

static void test_benchmark(void **state)
{
    fixture *fx = *state;
    enum { N = 4096, REPS = 200 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    assert_true(x && y);
    for (int i = 0; i < N; i++)
        x[i] = -10.0f + 20.0f * (float)i / N;
    float (*libm[2])(float) = {expf, tanhf};
    ir_op ops[2] = {IR_OP_EXP, IR_OP_TANH};
    for (int k = 0; k < 2; k++) {
        map1_fn f = fx->f32[op_index(ops[k])];
        bench_jit(f, x, y, N, 10); /* warm up */
        double jit = bench_jit(f, x, y, N, REPS);
        double lib = bench_libm(libm[k], x, y, N, REPS);
        print_message("bench %-5s f32: kiln %.2f ns/elem, libm scalar %.2f ns/elem (%.1fx)\n",
                      OPS[op_index(ops[k])].name, jit, lib, lib / jit);
    }
    free(x);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectorised),
        cmocka_unit_test(test_no_library_calls),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_vector_arguments),
        cmocka_unit_test(test_specials),
        cmocka_unit_test(test_accuracy_f32),
        cmocka_unit_test(test_accuracy_f64),
        cmocka_unit_test(test_pow_specials),
        cmocka_unit_test(test_pow_accuracy),
        cmocka_unit_test(test_benchmark),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
