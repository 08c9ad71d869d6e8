/*
 * test_cpu_threads.c — CPU programs used from several user threads.
 *
 *  - Two programs compiled from one training-step graph (threads = 2 each,
 *    so each has its own pool) run 50 steps each, concurrently, from two
 *    pthreads; each thread's losses and final params must be bitwise the
 *    trajectory of a third program stepped alone beforehand, whose first
 *    loss is checked against the reference.
 *  - One thread compiles (kiln_compile, CPU) while another runs a program;
 *    both results are checked.
 * Worker threads only record what they saw; every assertion runs on the
 * main thread (cmocka is not thread-safe).  Registered normally, it also
 * runs in the ThreadSanitizer build (-Db_sanitize=thread).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_help.h"
#include "cpu_mlp.h"

#define RUNS 50

typedef struct worker {
    kiln_program *p;
    float losses[RUNS];
    kiln_status status;
} worker;

static void *run_steps(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < RUNS && w->status == KILN_OK; i++) {
        w->status = kiln_run(w->p);
        if (w->status == KILN_OK)
            w->status = kiln_get_output(w->p, "loss", &w->losses[i], sizeof w->losses[i]);
    }
    return NULL;
}

static kiln_graph *mlp_graph(void)
{
    kiln_graph *g = kiln_graph_new();
    assert_non_null(g);
    cm_build(g, CM_SGD);
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    return g;
}

static kiln_program *mlp_program(kiln_graph *g, kiln_backend b, int threads, ch_stats *st)
{
    static float x[CM_N * CM_D];
    static int32_t labels[CM_N];
    cm_data(x, labels);
    kiln_program *p = ch_compile(g, b, threads, st, "threads: mlp sgd");
    assert_int_equal(kiln_set_input(p, "x", x, sizeof x), KILN_OK);
    assert_int_equal(kiln_set_input(p, "labels", labels, sizeof labels), KILN_OK);
    return p;
}

/* The trajectory of one program stepped alone: losses and final params. */
static void alone(kiln_graph *g, float *losses, ch_values *params, ch_stats *st)
{
    worker w = {.p = mlp_program(g, KILN_BACKEND_CPU, 2, st)};
    run_steps(&w);
    assert_int_equal(w.status, KILN_OK);
    memcpy(losses, w.losses, sizeof w.losses);
    ch_collect(w.p, 'p', params);
    kiln_program_free(w.p);
    /* the trajectory starts where the reference does */
    kiln_program *ref = mlp_program(g, KILN_BACKEND_REF, 0, NULL);
    ch_run(ref);
    float l = 0;
    assert_int_equal(kiln_get_output(ref, "loss", &l, sizeof l), KILN_OK);
    ch_tol tol = ch_rel(CH_REL_F32);
    if (!ch_close(KILN_F32, losses[0], l, 0, &tol))
        fail_msg("first loss %g, reference %g", losses[0], l);
    kiln_program_free(ref);
}

static void same_as_alone(worker *w, const float *losses, const ch_values *params,
                          const char *what)
{
    assert_int_equal(w->status, KILN_OK);
    if (memcmp(w->losses, losses, sizeof w->losses) != 0)
        fail_msg("%s: losses differ from the program run alone", what);
    ch_values got;
    ch_collect(w->p, 'p', &got);
    ch_same_bits(what, params, &got);
    ch_values_free(&got);
}

static void test_two_programs_two_threads(void **state)
{
    kiln_graph *g = mlp_graph();
    float losses[RUNS];
    ch_values params;
    alone(g, losses, &params, *state);
    worker w[2] = {{.p = mlp_program(g, KILN_BACKEND_CPU, 2, *state)},
                   {.p = mlp_program(g, KILN_BACKEND_CPU, 2, *state)}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, run_steps, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    same_as_alone(&w[0], losses, &params, "program 1 of 2");
    same_as_alone(&w[1], losses, &params, "program 2 of 2");
    for (int i = 0; i < 2; i++)
        kiln_program_free(w[i].p);
    ch_values_free(&params);
    kiln_graph_free(g);
}

typedef struct compiler {
    kiln_graph *g;
    kiln_program *p;
    int compiles;
} compiler;

/* Compile a graph (its own) three times while the other thread runs. */
static void *compile_some(void *arg)
{
    compiler *c = arg;
    for (int i = 0; i < 3; i++) {
        kiln_program_free(c->p);
        c->p = kiln_compile(c->g, &(kiln_compile_options){.backend = KILN_BACKEND_CPU,
                                                          .threads = 2});
        c->compiles += c->p != NULL;
    }
    return NULL;
}

static void test_compile_while_running(void **state)
{
    kiln_graph *g = mlp_graph(), *g2 = mlp_graph();
    float losses[RUNS];
    ch_values params;
    alone(g, losses, &params, *state);
    worker w = {.p = mlp_program(g, KILN_BACKEND_CPU, 2, *state)};
    compiler c = {.g = g2};
    pthread_t t[2];
    assert_int_equal(pthread_create(&t[0], NULL, run_steps, &w), 0);
    assert_int_equal(pthread_create(&t[1], NULL, compile_some, &c), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    same_as_alone(&w, losses, &params, "run while compiling");
    if (c.compiles != 3)
        fail_msg("compiling beside a running program failed: %s", kiln_graph_error(g2));
    /* the program compiled meanwhile works: it follows the same trajectory */
    static float x[CM_N * CM_D];
    static int32_t labels[CM_N];
    cm_data(x, labels);
    worker w2 = {.p = c.p};
    assert_int_equal(kiln_set_input(w2.p, "x", x, sizeof x), KILN_OK);
    assert_int_equal(kiln_set_input(w2.p, "labels", labels, sizeof labels), KILN_OK);
    run_steps(&w2);
    same_as_alone(&w2, losses, &params, "compiled while running");
    kiln_program_free(w.p);
    kiln_program_free(c.p);
    ch_values_free(&params);
    kiln_graph_free(g);
    kiln_graph_free(g2);
}

int main(void)
{
    ch_stats stats;
    memset(&stats, 0, sizeof stats);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_two_programs_two_threads, &stats),
        cmocka_unit_test_prestate(test_compile_while_running, &stats),
    };
    int failures = cmocka_run_group_tests_name("cpu_threads", tests, NULL, NULL);
    ch_stats_print("cpu_threads", &stats);
    return failures;
}
