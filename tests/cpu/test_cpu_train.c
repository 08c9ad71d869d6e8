/*
 * test_cpu_train.c — training steps compiled by the CPU backend: the
 * 2-layer f32 MLP of cpu_mlp.h with SGD (momentum 0.9) and with Adam, ten
 * steps each; the default (fused) and the unfused CPU programs against the
 * reference evaluator, and the default program bitwise equal for 1 and 2
 * threads after every step.
 *
 * Bound: the loss within 1e-5 of |loss|, every param (weights, biases,
 * momentum buffers, Adam moments; the i32 step counter exactly) within
 * 1e-5 of the largest |value| of its tensor.  Why that holds: the CPU
 * evaluates in f32 what the reference evaluates in f64 and rounds to f32
 * per op, so each step's gradients differ by accumulated f32 rounding,
 * about 2^-24 times the sum of |terms| of each matmul/reduction (K <= 64
 * terms here: a few 1e-7 relative).  An update adds lr * (that error) to
 * params of magnitude ~0.1-1, and ten steps add ten such errors: a few
 * 1e-7 of the tensor's scale, well inside 1e-5.  Elements near zero (a
 * bias, a moment) are judged against the tensor's scale, not their own
 * magnitude, because their absolute error is what the update produces.
 */
#include <stdio.h>
#include <string.h>

#include "cpu_help.h"
#include "cpu_mlp.h"

#define STEPS 10

static float loss_of(kiln_program *p)
{
    float l = 0;
    assert_int_equal(kiln_get_output(p, "loss", &l, sizeof l), KILN_OK);
    return l;
}

static void train(ch_stats *st, cm_optimizer opt, const char *what)
{
    ch_ctx c;
    ch_begin(&c, what, 1, st);
    cm_build(c.g, opt);
    static float x[CM_N * CM_D];
    static int32_t labels[CM_N];
    cm_data(x, labels);
    ch_feed_bytes(&c, "x", x, sizeof x);
    ch_feed_bytes(&c, "labels", labels, sizeof labels);
    ch_tolerate(&c, "loss", ch_rel(CH_REL_F32));
    c.param_tol = ch_tensor(CH_REL_F32);
    kiln_program *p[CH_NPROG];
    ch_compile_all(&c, p);
    float first = 0, last = 0;
    for (int step = 1; step <= STEPS; step++) {
        ch_run_all(p);
        ch_compare_all(&c, p, 'o', step);
        /* params after every step: CPU(2) bitwise = CPU(1); vs ref at the end */
        if (step < STEPS) {
            ch_values one, two;
            ch_collect(p[1], 'p', &one);
            ch_collect(p[2], 'p', &two);
            ch_same_bits(what, &one, &two);
            ch_values_free(&one);
            ch_values_free(&two);
        }
        last = loss_of(p[0]);
        if (step == 1)
            first = last;
    }
    ch_compare_all(&c, p, 'p', STEPS);
    ch_report_worst(&c);
    /* the graph really trains: guards against assigns silently dropped
     * by both backends alike */
    if (!(last < first - 0.05f))
        fail_msg("%s: loss went from %g to %g in %d steps", what, first, last, STEPS);
    ch_free_all(p);
    ch_end(&c);
}

static void test_mlp_sgd_momentum(void **state)
{
    train(*state, CM_SGD, "mlp sgd momentum");
}

static void test_mlp_adam(void **state)
{
    train(*state, CM_ADAM, "mlp adam");
}

int main(void)
{
    ch_stats stats;
    memset(&stats, 0, sizeof stats);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_mlp_sgd_momentum, &stats),
        cmocka_unit_test_prestate(test_mlp_adam, &stats),
    };
    int failures = cmocka_run_group_tests_name("cpu_train", tests, NULL, NULL);
    ch_stats_print("cpu_train", &stats);
    return failures;
}
