/*
 * test_cpu_determinism.c — results are bitwise identical with 1 and 2
 * threads on shapes where the pool really splits the work: 4096 x 64
 * elementwise (with broadcasting and transcendental math), a 512 x 512
 * matmul, row sums of 4096 x 300, column sums (axis 0) of 3000 x 70, a
 * softmax over rows of 4096 x 300, argmax and max over rows.
 *
 * That the split happens is checked, not assumed: each graph is lowered
 * (fused and unfused) and emitted for the host as kiln_compile does, and
 * every kernel must have a parallel range of at least two grains (the
 * pool's condition for cutting it into chunks, runtime/pool.h).  The
 * graphs small enough for the reference evaluator are also compared with
 * it (tolerances as in the op tests); every CPU op case elsewhere is also
 * compared across 1 and 2 threads, but there the pool mostly runs one
 * chunk.
 */
#include <stdio.h>
#include <string.h>

#include "codegen_cpu/cpu_codegen.h"
#include "cpu_help.h"
#include "passes/passes.h"

/* Every kernel of g's plan (fused or not) is split by a 2-thread pool. */
static void assert_splits(kiln_graph *g, const char *what)
{
    cpu_target t;
    char err[400];
    if (cpu_target_init(&t, NULL, err, sizeof err))
        fail_msg("host target: %s", err);
    for (int fuse = 0; fuse < 2; fuse++) {
        k_program *kp = pass_lower_program(g, fuse, err, sizeof err);
        if (!kp)
            fail_msg("%s: lower: %s", what, err);
        cpu_step_info steps[64];
        assert_true(kp->nk <= 64);
        LLVMContextRef ctx = LLVMContextCreate();
        LLVMModuleRef m = NULL;
        if (cpu_emit_program(kp, &t, ctx, "split", &m, steps, err, sizeof err) != KILN_OK)
            fail_msg("%s: emit: %s", what, err);
        for (int i = 0; i < kp->nk; i++)
            if (steps[i].range < 2 * steps[i].grain)
                fail_msg("%s (%s): kernel %d (%s) has range %lld, grain %lld: one "
                         "chunk only", what, fuse ? "fused" : "unfused", i,
                         ir_ops[kp->g->nodes[kp->k[i].node].op].name,
                         (long long)steps[i].range, (long long)steps[i].grain);
        LLVMDisposeModule(m);
        LLVMContextDispose(ctx);
        k_program_free(kp);
    }
    cpu_target_free(&t);
}

/* CPU(1) vs CPU(2) bitwise only (for graphs too big for the reference). */
static void bitwise_only(ch_ctx *c)
{
    kiln_program *p[2] = {ch_compile(c->g, KILN_BACKEND_CPU, 1, c->stats, c->what),
                          ch_compile(c->g, KILN_BACKEND_CPU, 2, NULL, c->what)};
    ch_values v[2];
    for (int i = 0; i < 2; i++) {
        ch_bind(c, p[i]);
        ch_run(p[i]);
        ch_collect(p[i], 'o', &v[i]);
    }
    ch_same_bits(c->what, &v[0], &v[1]);
    for (int i = 0; i < 2; i++) {
        ch_values_free(&v[i]);
        kiln_program_free(p[i]);
    }
}

static void test_elementwise_4096x64(void **state)
{
    ch_ctx c;
    ch_begin(&c, "elementwise 4096x64", 1, *state);
    kiln_graph *g = c.g;
    kiln_node x = ch_input(&c, KILN_F32, 2, (int64_t[]){4096, 64}, ch_uniform(-3, 3));
    kiln_node b = ch_input(&c, KILN_F32, 1, (int64_t[]){64}, ch_uniform(-1, 1));
    kiln_node y = kiln_mul(g, kiln_tanh(g, kiln_add(g, x, b)),
                           kiln_exp(g, kiln_neg(g, kiln_square(g, x))));
    ch_output(&c, y, ch_rel(CH_REL_F32));
    assert_splits(g, c.what);
    ch_check(&c);
    ch_end(&c);
}

static void test_matmul_512(void **state)
{
    ch_ctx c;
    ch_begin(&c, "matmul 512x512", 2, *state);
    kiln_node a = ch_input(&c, KILN_F32, 2, (int64_t[]){512, 512}, ch_uniform(-1, 1));
    kiln_node b = ch_input(&c, KILN_F32, 2, (int64_t[]){512, 512}, ch_uniform(-1, 1));
    ch_output(&c, kiln_matmul(c.g, a, b), ch_skip());
    assert_splits(c.g, c.what);
    bitwise_only(&c);
    ch_end(&c);
}

static void test_row_sums_4096x300(void **state)
{
    ch_ctx c;
    ch_begin(&c, "row sums 4096x300", 3, *state);
    kiln_graph *g = c.g;
    kiln_node x = ch_input(&c, KILN_F32, 2, (int64_t[]){4096, 300}, ch_uniform(-2, 2));
    int s = ch_output(&c, kiln_sum(g, kiln_abs(g, x), 1, (int[]){1}, 0), ch_skip());
    ch_output(&c, kiln_sum(g, x, 1, (int[]){1}, 0), ch_rel_to(CH_REL_F32, s));
    assert_splits(g, c.what);
    ch_check(&c);
    ch_end(&c);
}

static void test_column_sums_3000x70(void **state)
{
    ch_ctx c;
    ch_begin(&c, "column sums 3000x70", 4, *state);
    kiln_graph *g = c.g;
    kiln_node x = ch_input(&c, KILN_F32, 2, (int64_t[]){3000, 70}, ch_uniform(-2, 2));
    int s = ch_output(&c, kiln_sum(g, kiln_abs(g, x), 1, (int[]){0}, 0), ch_skip());
    ch_output(&c, kiln_sum(g, x, 1, (int[]){0}, 0), ch_rel_to(CH_REL_F32, s));
    assert_splits(g, c.what);
    ch_check(&c);
    ch_end(&c);
}

static void test_rows_softmax_argmax_4096x300(void **state)
{
    ch_ctx c;
    ch_begin(&c, "softmax/argmax/max rows 4096x300", 5, *state);
    kiln_graph *g = c.g;
    ch_dist d = ch_uniform(-4, 4);
    d.coarse = 0.25; /* ties for argmax */
    kiln_node x = ch_input(&c, KILN_F32, 2, (int64_t[]){4096, 300}, d);
    ch_output(&c, kiln_softmax(g, x, 1), ch_rel(CH_REL_F32));
    ch_output(&c, kiln_argmax(g, x, 1, 0), ch_exact());
    ch_output(&c, kiln_max(g, x, 1, (int[]){1}, 1), ch_value());
    assert_splits(g, c.what);
    ch_check(&c);
    ch_end(&c);
}

int main(void)
{
    ch_stats stats;
    memset(&stats, 0, sizeof stats);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_elementwise_4096x64, &stats),
        cmocka_unit_test_prestate(test_matmul_512, &stats),
        cmocka_unit_test_prestate(test_row_sums_4096x300, &stats),
        cmocka_unit_test_prestate(test_column_sums_3000x70, &stats),
        cmocka_unit_test_prestate(test_rows_softmax_argmax_4096x300, &stats),
    };
    int failures = cmocka_run_group_tests_name("cpu_determinism", tests, NULL, NULL);
    ch_stats_print("cpu_determinism", &stats);
    return failures;
}
