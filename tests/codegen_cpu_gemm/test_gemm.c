/*
 * test_gemm.c — kiln_gemm_f32/f64 against a triple loop.
 *
 * Reference: the sum in long double (64-bit mantissa), whose own error is
 * ~K * 2^-64 * sum|a||b|, negligible next to the bounds below.
 *
 * Bound: C[i][j] is a chain of K fmuladds per K block plus one addition
 * per block boundary, so every product passes through at most 2K + 1
 * roundings and the classic bound gives
 *     |C - ref| <= (2K + 1) u sum_k |a_ik||b_kj|,  u = 2^-24 (f32), 2^-53.
 * For f32 this is tighter than 1e-5 * sqrt(K) * sum|a||b| for every
 * K < 6900 (all shapes here), while a lost, doubled or misplaced product
 * (an error of ~|a||b|, about sum/K) still exceeds it by orders of
 * magnitude.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_jit.h"

/* The host, and two narrower x86 targets the host can also run, so that
 * each vector width's tiling (MR 12 on zmm, 6 on ymm, 4 on xmm) is
 * checked on one machine. */
enum { HOST, AVX2, SSE2, NTARGETS };
static const char *const target_cpu[NTARGETS] = {NULL, "x86-64-v3", "x86-64"};

typedef struct gemm_state {
    gemm_jit jit[NTARGETS][2]; /* [target][f32, f64] */
    int have[NTARGETS];
} gemm_state;

typedef struct gemm_case {
    int64_t m, n, k;
} gemm_case;

static const gemm_case shapes[] = {
    {1, 1, 1},     {7, 5, 3},    {17, 33, 65},  {64, 64, 64},
    {100, 1, 300}, {1, 100, 37}, {255, 257, 129},
    {1000, 40, 5},  /* M > MC: two A blocks                          */
    {20, 700, 600}, /* N > NC, K > KC (KC <= 512): several B, K blocks */
};

enum { LDC_PAD = 3 };
static const double CANARY = -12345.5;

static size_t esize(kiln_dtype t) { return t == KILN_F32 ? 4 : 8; }

static long double get(const void *p, kiln_dtype t, int64_t i)
{
    return t == KILN_F32 ? ((const float *)p)[i] : ((const double *)p)[i];
}

static void put(void *p, kiln_dtype t, int64_t i, double v)
{
    if (t == KILN_F32)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

/* Values in [-1, 1) from a fixed LCG, so every run sees the same data. */
static void *random_buffer(kiln_dtype t, int64_t n, uint64_t *seed)
{
    void *p = gemm_jit_alloc(esize(t) * (size_t)n);
    assert_non_null(p);
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        put(p, t, i, (double)(*seed >> 11) / 4503599627370496.0 - 1.0);
    }
    return p;
}

static void call_gemm(const gemm_jit *j, kiln_dtype t, const void *a,
                      int64_t a_rs, int64_t a_cs, const void *b, int64_t b_rs,
                      int64_t b_cs, void *c, int64_t ldc, int64_t m,
                      int64_t n, int64_t k, void *work)
{
    if (t == KILN_F32)
        ((gemm_f32_fn)j->fn)(a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, m, n, k,
                             work);
    else
        ((gemm_f64_fn)j->fn)(a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, m, n, k,
                             work);
}

/* Row-major storage of a rows x cols operand, or of its transpose. */
typedef struct operand {
    void *data;
    int64_t rs, cs;
} operand;

static operand make_operand(kiln_dtype t, int64_t rows, int64_t cols,
                            int transposed, uint64_t *seed)
{
    operand o = {random_buffer(t, rows * cols, seed), cols, 1};
    if (transposed) {
        o.rs = 1;
        o.cs = rows;
    }
    return o;
}

/* C (m x n, row stride ldc) against the long double triple loop. */
static void check_c(kiln_dtype t, const operand *a, const operand *b,
                    const void *c, int64_t ldc, const gemm_case *s)
{
    long double u = t == KILN_F32 ? ldexpl(1, -24) : ldexpl(1, -53);
    for (int64_t i = 0; i < s->m; i++) {
        for (int64_t j = 0; j < s->n; j++) {
            long double ref = 0, mag = 0;
            for (int64_t k = 0; k < s->k; k++) {
                long double p = get(a->data, t, i * a->rs + k * a->cs) *
                                get(b->data, t, k * b->rs + j * b->cs);
                ref += p;
                mag += fabsl(p);
            }
            long double got = get(c, t, i * ldc + j);
            long double tol = (2 * s->k + 1) * u * mag;
            if (fabsl(got - ref) > tol)
                fail_msg("%s %lldx%lldx%lld C[%lld][%lld] = %.17Lg, want "
                         "%.17Lg (tol %.3Lg)", t == KILN_F32 ? "f32" : "f64",
                         (long long)s->m, (long long)s->n, (long long)s->k,
                         (long long)i, (long long)j, got, ref, tol);
        }
        for (int64_t j = s->n; j < ldc; j++)
            assert_true(get(c, t, i * ldc + j) == CANARY);
    }
}

static void *canary_c(kiln_dtype t, int64_t m, int64_t ldc)
{
    void *c = gemm_jit_alloc(esize(t) * (size_t)(m * ldc));
    assert_non_null(c);
    for (int64_t i = 0; i < m * ldc; i++)
        put(c, t, i, CANARY);
    return c;
}

/* Every shape with A and B each plain or transposed (strides only). */
static void check_dtype(const gemm_jit *j, kiln_dtype t)
{
    void *work = gemm_jit_alloc(j->work_bytes);
    assert_non_null(work);
    uint64_t seed = 42;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const gemm_case *sh = &shapes[s];
        for (int trans = 0; trans < 4; trans++) {
            operand a = make_operand(t, sh->m, sh->k, trans & 1, &seed);
            operand b = make_operand(t, sh->k, sh->n, trans >> 1, &seed);
            int64_t ldc = sh->n + LDC_PAD;
            void *c = canary_c(t, sh->m, ldc);
            call_gemm(j, t, a.data, a.rs, a.cs, b.data, b.rs, b.cs, c, ldc,
                      sh->m, sh->n, sh->k, work);
            check_c(t, &a, &b, c, ldc, sh);
            free(a.data);
            free(b.data);
            free(c);
        }
    }
    free(work);
}

static void check_target(void **state, int target)
{
    gemm_state *st = *state;
    if (!st->have[target])
        skip();
    check_dtype(&st->jit[target][0], KILN_F32);
    check_dtype(&st->jit[target][1], KILN_F64);
}

static void test_host_matches_reference(void **state)
{
    check_target(state, HOST);
}

static void test_avx2_matches_reference(void **state)
{
    check_target(state, AVX2);
}

static void test_sse2_matches_reference(void **state)
{
    check_target(state, SSE2);
}

/* C from one call against C from two calls over rows [0, s) and [s, M)
 * (split_n: columns instead), for several split points: bitwise equal. */
static void check_split(const gemm_jit *j, kiln_dtype t, const gemm_case *sh,
                        int split_n)
{
    uint64_t seed = 7;
    operand a = make_operand(t, sh->m, sh->k, 0, &seed);
    operand b = make_operand(t, sh->k, sh->n, 1, &seed);
    size_t bytes = esize(t) * (size_t)(sh->m * sh->n);
    void *whole = canary_c(t, sh->m, sh->n);
    void *parts = canary_c(t, sh->m, sh->n);
    void *w1 = gemm_jit_alloc(j->work_bytes);
    void *w2 = gemm_jit_alloc(j->work_bytes);
    assert_true(w1 && w2);
    call_gemm(j, t, a.data, a.rs, a.cs, b.data, b.rs, b.cs, whole, sh->n,
              sh->m, sh->n, sh->k, w1);
    int64_t len = split_n ? sh->n : sh->m;
    const int64_t splits[] = {1, 5, len / 2, len - 1};
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        int64_t s = splits[i];
        memset(parts, 0, bytes);
        char *p = parts;
        if (split_n) {
            call_gemm(j, t, a.data, a.rs, a.cs, b.data, b.rs, b.cs, p, sh->n,
                      sh->m, s, sh->k, w1);
            call_gemm(j, t, a.data, a.rs, a.cs, (char *)b.data +
                      esize(t) * (size_t)(s * b.cs), b.rs, b.cs,
                      p + esize(t) * (size_t)s, sh->n, sh->m, sh->n - s,
                      sh->k, w2);
        } else {
            call_gemm(j, t, a.data, a.rs, a.cs, b.data, b.rs, b.cs, p, sh->n,
                      s, sh->n, sh->k, w1);
            call_gemm(j, t, (char *)a.data + esize(t) * (size_t)(s * a.rs),
                      a.rs, a.cs, b.data, b.rs, b.cs,
                      p + esize(t) * (size_t)(s * sh->n), sh->n, sh->m - s,
                      sh->n, sh->k, w2);
        }
        if (memcmp(whole, parts, bytes) != 0)
            fail_msg("%s %lldx%lldx%lld: split of %s at %lld differs",
                     t == KILN_F32 ? "f32" : "f64", (long long)sh->m,
                     (long long)sh->n, (long long)sh->k, split_n ? "N" : "M",
                     (long long)s);
    }
    free(a.data);
    free(b.data);
    free(whole);
    free(parts);
    free(w1);
    free(w2);
}

static void test_split_is_bitwise_identical(void **state)
{
    gemm_state *st = *state;
    /* K = 800 spans several K blocks, so partial sums are carried in C.
     * The last two are packed whole (M*N*K > 65536) while pieces of them
     * take the direct small-product path (cpu_gemm.c), which must give
     * the same bits: one fmuladd chain per element, in the same order.
     * (check_split splits at 5: every dim split must exceed 5.) */
    const gemm_case cases[] = {{255, 257, 129}, {61, 75, 800}, {120, 16, 40},
                               {200, 8, 60}};
    for (int d = 0; d < 2; d++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (int split_n = 0; split_n < 2; split_n++)
                check_split(&st->jit[HOST][d], d ? KILN_F64 : KILN_F32,
                            &cases[c], split_n);
}

/* K = 0 is the empty sum; M = 0 or N = 0 touches nothing. */
static void test_degenerate_sizes(void **state)
{
    gemm_state *st = *state;
    const gemm_jit *j = &st->jit[HOST][0];
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 3, 4, 5, 6};
    float c[4] = {9, 9, 9, 9};
    void *work = gemm_jit_alloc(j->work_bytes);
    assert_non_null(work);
    gemm_f32_fn fn = (gemm_f32_fn)j->fn;
    fn(a, 3, 1, b, 2, 1, c, 2, 2, 2, 0, work);
    for (int i = 0; i < 4; i++)
        assert_true(c[i] == 0.0f);
    c[0] = 9;
    fn(a, 3, 1, b, 2, 1, c, 2, 0, 2, 3, work);
    fn(a, 3, 1, b, 2, 1, c, 2, 2, 0, 3, work);
    assert_true(c[0] == 9.0f);
    /* 2x3 times 3x2 by hand: [22 28; 49 64]. */
    fn(a, 3, 1, b, 2, 1, c, 2, 2, 2, 3, work);
    assert_true(c[0] == 22 && c[1] == 28 && c[2] == 49 && c[3] == 64);
    free(work);
}

/* Lines of text[0..len) containing both needles. */
static int count_lines(const char *text, size_t len, const char *a,
                       const char *b)
{
    int n = 0;
    const char *end = text + len;
    while (text < end) {
        const char *nl = memchr(text, '\n', (size_t)(end - text));
        size_t l = nl ? (size_t)(nl - text) : (size_t)(end - text);
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(l < 255 ? l : 255), text);
        n += strstr(line, a) && strstr(line, b);
        text += l + 1;
    }
    return n;
}

/* After default<O3> the micro-kernel must still be vector fmas on the
 * widest registers: at least one whole MR x NR tile of them, and no scalar
 * fma (which is what de-vectorisation would leave). */
static void test_micro_kernel_stays_vector(void **state)
{
    gemm_state *st = *state;
    for (int d = 0; d < 2; d++) {
        const gemm_jit *j = &st->jit[HOST][d];
        if (j->vector_bits != 512)
            skip();
        const char *name = d ? "kiln_gemm_f64_micro" : "kiln_gemm_f32_micro";
        size_t len = 0;
        const char *text = gemm_jit_asm_function(j, name, &len);
        assert_non_null(text);
        int tile = j->blocking.mr * (j->blocking.nr / j->blocking.vec);
        int vfma = count_lines(text, len, "vfmadd", "%zmm");
        int sfma = count_lines(text, len, "vfmadd", d ? "sd\t" : "ss\t");
        print_message("%s: %d vfmadd on zmm (tile %d), %d scalar\n", name,
                      vfma, tile, sfma);
        assert_true(vfma >= tile);
        assert_int_equal(sfma, 0);
    }
}

static void test_blocking_and_bad_arguments(void **state)
{
    (void)state;
    char err[256];
    cpu_target tgt;
    assert_int_equal(cpu_target_init(&tgt, NULL, err, sizeof err), 0);
    for (int d = 0; d < 2; d++) {
        kiln_dtype t = d ? KILN_F64 : KILN_F32;
        cpu_gemm_blocking k;
        assert_int_equal(cpu_gemm_blocking_for(t, &tgt, &k), 0);
        assert_int_equal(k.nr % k.vec, 0);
        assert_int_equal(k.mc % k.mr, 0);
        assert_int_equal(k.nc % k.nr, 0);
        assert_true(k.kc >= 16 && k.kc % 16 == 0);
        assert_true(cpu_gemm_work_bytes(t, &tgt) ==
                    (size_t)(k.mc + k.nc) * (size_t)k.kc * esize(t));
        /* The zmm budget: MR*NV accumulators + NV loads within 32. */
        if (tgt.vector_bits == 512)
            assert_true(k.mr * (k.nr / k.vec) + k.nr / k.vec <= 32);
    }
    cpu_gemm_blocking k;
    assert_int_equal(cpu_gemm_blocking_for(KILN_I32, &tgt, &k), -1);
    assert_int_equal(cpu_gemm_work_bytes(KILN_BOOL, &tgt), 0);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("bad", ctx);
    assert_null(cpu_gemm_function(m, KILN_I32, &tgt));
    assert_null(cpu_gemm_function(NULL, KILN_F32, &tgt));
    assert_null(LLVMGetFirstFunction(m));
    LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    cpu_target_free(&tgt);
}

static int setup(void **state)
{
    static gemm_state st;
    char err[512];
    st.have[HOST] = 1;
#if defined(__x86_64__)
    __builtin_cpu_init();
    st.have[AVX2] = __builtin_cpu_supports("avx2") &&
                    __builtin_cpu_supports("fma");
    st.have[SSE2] = 1;
#endif
    for (int t = 0; t < NTARGETS; t++) {
        for (int d = 0; st.have[t] && d < 2; d++) {
            if (gemm_jit_init(&st.jit[t][d], d ? KILN_F64 : KILN_F32,
                              target_cpu[t], t == HOST, err, sizeof err) < 0) {
                print_error("gemm_jit_init(%s): %s\n",
                            target_cpu[t] ? target_cpu[t] : "host", err);
                return -1;
            }
        }
    }
    *state = &st;
    return 0;
}

static int teardown(void **state)
{
    gemm_state *st = *state;
    for (int t = 0; t < NTARGETS; t++)
        for (int d = 0; d < 2; d++)
            gemm_jit_free(&st->jit[t][d]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_matches_reference),
        cmocka_unit_test(test_avx2_matches_reference),
        cmocka_unit_test(test_sse2_matches_reference),
        cmocka_unit_test(test_split_is_bitwise_identical),
        cmocka_unit_test(test_degenerate_sizes),
        cmocka_unit_test(test_micro_kernel_stays_vector),
        cmocka_unit_test(test_blocking_and_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
