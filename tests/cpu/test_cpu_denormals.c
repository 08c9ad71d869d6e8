/*
 * Subnormal floats on the CPU backend: flushed to zero by default (inputs
 * read as 0, results below the normal range stored as 0) on every worker
 * thread, kept with keep_denormals, and the caller's own floating-point
 * setting untouched after kiln_run either way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "kiln.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#define N 65536 /* several chunks: two threads both run some */

/* y = x * 0.5 over N floats with x[0] = 2^-126 (the smallest normal: y is
 * subnormal), x[1] = 2^-140 (subnormal), the rest 2^-120 (y normal). */
static void run(int threads, int keep, float *y)
{
    static float x[N];
    for (int i = 0; i < N; i++)
        x[i] = 0x1p-120f;
    x[0] = 0x1p-126f;
    x[1] = 0x1p-140f;
    kiln_graph *g = kiln_graph_new();
    kiln_node in = kiln_input(g, "x", KILN_F32, 1, (int64_t[]){N});
    kiln_output(g, "y", kiln_mul(g, in, kiln_scalar(g, KILN_F32, 0.5)));
    kiln_program *p = kiln_compile(g, &(kiln_compile_options){
        .backend = KILN_BACKEND_CPU, .threads = threads, .keep_denormals = keep});
    assert_non_null(p);
    kiln_graph_free(g);
    assert_int_equal(kiln_set_input(p, "x", x, sizeof x), KILN_OK);
    unsigned before = _mm_getcsr();
    assert_int_equal(kiln_run(p), KILN_OK);
    /* the caller's control bits are back (bits 0-5 are sticky exception
     * flags, which arithmetic on subnormals may raise) */
    assert_int_equal(_mm_getcsr() & ~0x3fu, before & ~0x3fu);
    assert_int_equal(kiln_get_output(p, "y", y, N * sizeof *y), KILN_OK);
    kiln_program_free(p);
}

static void test_flushed_by_default(void **state)
{
    (void)state;
    static float y[N];
    for (int threads = 1; threads <= 2; threads++) {
        run(threads, 0, y);
        assert_true(y[0] == 0.0f); /* FTZ: a subnormal result */
        assert_true(y[1] == 0.0f); /* DAZ: a subnormal input */
        assert_true(y[2] == 0x1p-121f);
        assert_true(y[N - 1] == 0x1p-121f);
    }
}

static void test_kept_on_request(void **state)
{
    (void)state;
    static float y[N];
    for (int threads = 1; threads <= 2; threads++) {
        run(threads, 1, y);
        assert_true(y[0] == 0x1p-127f);
        assert_true(y[1] == 0x1p-141f);
        assert_true(y[N - 1] == 0x1p-121f);
    }
}

/* A caller that flushes already keeps doing so. */
static void test_caller_flushing_kept(void **state)
{
    (void)state;
    static float y[N];
    unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040);
    run(1, 0, y);
    assert_true(y[0] == 0.0f);
    _mm_setcsr(csr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flushed_by_default),
        cmocka_unit_test(test_kept_on_request),
        cmocka_unit_test(test_caller_flushing_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
static void test_not_x86(void **state)
{
    (void)state;
    skip(); /* the checks read MXCSR */
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_not_x86)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
