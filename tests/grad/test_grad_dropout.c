/*
 * test_grad_dropout.c — dropout's backward pass regenerates its mask from
 * (seed, offset): d/dx sum(dropout(x) * W) = mask * W / (1 - rate), with
 * the mask recomputed here from kiln.h's Philox rule by the test's own
 * Philox (gc.c), checked first against Random123's known answers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gc.h"

/* Random123 kat_vectors, philox4x32 10 rounds. */
static void test_own_philox_known_answers(void **s)
{
    (void)s;
    static const struct {
        uint32_t ctr[4], key[2], out[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (size_t i = 0; i < sizeof kat / sizeof *kat; i++) {
        uint32_t out[4];
        gc_philox(kat[i].ctr, kat[i].key, out);
        for (int w = 0; w < 4; w++)
            assert_int_equal(out[w], kat[i].out[w]);
    }
}

enum { R = 5, C = 7 }; /* 35 elements: not a multiple of Philox's 4 words */

static void set_counter(kiln_program *p, const char *name, int32_t v)
{
    assert_int_equal(kiln_set_input(p, name, &v, sizeof v), KILN_OK);
}

/* One program, several (seed, offset) pairs: the mask must follow the
 * counters of each run. */
static void check_dropout(kiln_dtype t, double rate)
{
    double x[R * C], w[R * C];
    float xf[R * C];
    uint64_t rng = 11;
    gc_sample(&rng, (gc_dom)GC_ANY, x, R * C);
    gc_sample(&rng, (gc_dom)GC_ANY, w, R * C);
    for (int i = 0; i < R * C; i++) {
        xf[i] = (float)x[i];
        if (t == KILN_F32)
            w[i] = (float)w[i];
    }
    kiln_graph *g = kiln_graph_new();
    kiln_node xn = kiln_input(g, "x", t, 2, (int64_t[]){R, C});
    kiln_node seed = kiln_input(g, "seed", KILN_I32, 0, NULL);
    kiln_node off = kiln_input(g, "offset", KILN_I32, 0, NULL);
    kiln_node wn = kiln_input(g, "w", t, 2, (int64_t[]){R, C});
    kiln_node y = kiln_dropout(g, xn, rate, seed, off);
    kiln_node l = kiln_sum(g, kiln_mul(g, y, wn), 0, NULL, 0), dx;
    assert_int_equal(kiln_grad(g, l, 1, &xn, &dx, 0), KILN_OK);
    kiln_output(g, "dx", dx);
    kiln_program *p = kiln_compile(g, NULL);
    if (!p)
        fail_msg("%s", kiln_graph_error(g));
    size_t es = kiln_dtype_size(t);
    float wf[R * C];
    for (int i = 0; i < R * C; i++)
        wf[i] = (float)w[i];
    assert_int_equal(kiln_set_input(p, "x", t == KILN_F32 ? (void *)xf : x,
                                    R * C * es), KILN_OK);
    assert_int_equal(kiln_set_input(p, "w", t == KILN_F32 ? (void *)wf : w,
                                    R * C * es), KILN_OK);
    static const int32_t counters[][2] = {{1234, 0}, {1234, 1}, {-7, 99},
                                          {0, 0}};
    uint32_t threshold = (uint32_t)floor((1 - rate) * 16777216.0);
    for (size_t r = 0; r < sizeof counters / sizeof *counters; r++) {
        set_counter(p, "seed", counters[r][0]);
        set_counter(p, "offset", counters[r][1]);
        assert_int_equal(kiln_run(p), KILN_OK);
        double got[R * C];
        float gotf[R * C];
        assert_int_equal(kiln_get_output(p, "dx", t == KILN_F32 ? (void *)gotf
                                                                : got,
                                         R * C * es),
                         KILN_OK);
        int kept = 0;
        for (int e = 0; e < R * C; e++) {
            uint32_t word = gc_stream_word((uint32_t)counters[r][0],
                                           (uint32_t)counters[r][1],
                                           (uint64_t)e);
            bool keep = (word >> 8) < threshold;
            kept += keep;
            double want = keep ? w[e] / (1 - rate) : 0;
            double v = t == KILN_F32 ? gotf[e] : got[e];
            /* kiln scales by 1/(1-rate) rounded to the dtype, then rounds
             * the product: two roundings, 2 ulps of the dtype. */
            double ulp = t == KILN_F32 ? 0x1p-23 : 0x1p-52;
            if (fabs(v - want) > 2 * ulp * fabs(want))
                fail_msg("%s rate %g counters (%d,%d) dx[%d] = %.17g, want "
                         "%.17g (keep %d)",
                         kiln_dtype_name(t), rate, counters[r][0],
                         counters[r][1], e, v, want, keep);
        }
        /* Some kept and some dropped, so the check is not vacuous. */
        assert_true(kept > 0 && kept < R * C);
    }
    kiln_program_free(p);
    kiln_graph_free(g);
}

static void test_dropout_backward_f64(void **s)
{
    (void)s;
    check_dropout(KILN_F64, 0.3);
    check_dropout(KILN_F64, 0.75);
}

static void test_dropout_backward_f32(void **s)
{
    (void)s;
    check_dropout(KILN_F32, 0.5);
}

/* rate 0 is the identity: the gradient is W itself. */
static void test_dropout_rate_zero(void **s)
{
    (void)s;
    double w[4] = {0.5, -1.25, 2, 3}, got[4], x[4] = {1, 2, 3, 4};
    kiln_graph *g = kiln_graph_new();
    kiln_node xn = kiln_input(g, "x", KILN_F64, 1, (int64_t[]){4});
    kiln_node seed = kiln_scalar(g, KILN_I32, 5);
    kiln_node off = kiln_scalar(g, KILN_I32, 6);
    kiln_node wn = kiln_constant(g, KILN_F64, 1, (int64_t[]){4}, w);
    kiln_node y = kiln_dropout(g, xn, 0, seed, off);
    kiln_node l = kiln_sum(g, kiln_mul(g, y, wn), 0, NULL, 0), dx;
    assert_int_equal(kiln_grad(g, l, 1, &xn, &dx, 0), KILN_OK);
    kiln_output(g, "dx", dx);
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    assert_int_equal(kiln_set_input(p, "x", x, sizeof x), KILN_OK);
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_int_equal(kiln_get_output(p, "dx", got, sizeof got), KILN_OK);
    for (int i = 0; i < 4; i++)
        assert_true(got[i] == w[i]);
    kiln_program_free(p);
    kiln_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_philox_known_answers),
        cmocka_unit_test(test_dropout_backward_f64),
        cmocka_unit_test(test_dropout_backward_f32),
        cmocka_unit_test(test_dropout_rate_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
