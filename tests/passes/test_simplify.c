/* test_simplify.c — the simplification passes: each rewrite on a small
 * graph, and the whole pipeline on an MLP training step, whose outputs
 * and param updates must not change.  Issue 3, acceptance 4. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "mlp.h"
#include "passes/passes.h"

/* Count live nodes with op `op`. */
static int count_op(kiln_graph *g, ir_op op)
{
    pass_dce(g);
    int c = 0;
    for (uint32_t i = 0; i < g->count; i++)
        c += g->nodes[i].op == op;
    return c;
}

static double run1(kiln_graph *g, const double *x, int n)
{
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    assert_int_equal(kiln_set_input(p, "x", x, (size_t)n * sizeof *x), KILN_OK);
    assert_int_equal(kiln_run(p), KILN_OK);
    double y;
    assert_int_equal(kiln_get_output(p, "y", &y, sizeof y), KILN_OK);
    kiln_program_free(p);
    return y;
}

/* Build y = sum(f(x)) for x f64[4], simplify a clone, return both values
 * after checking the clone verifies. */
static void simplify_checked(kiln_graph *g, kiln_graph **out)
{
    kiln_graph *s = ir_clone(g);
    assert_non_null(s);
    assert_int_equal(pass_simplify(s, NULL, NULL), KILN_OK);
    assert_int_equal(ir_verify(s), KILN_OK);
    *out = s;
}

static kiln_node x4(kiln_graph *g)
{
    return kiln_input(g, "x", KILN_F64, 1, (int64_t[]){4});
}

static void identities(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = x4(g);
    kiln_node one = kiln_scalar(g, KILN_F64, 1), zero = kiln_scalar(g, KILN_F64, 0);
    kiln_node t = kiln_mul(g, kiln_add(g, kiln_sub(g, x, zero), zero), one);
    t = kiln_div(g, kiln_add(g, zero, kiln_mul(g, one, t)), one);
    t = kiln_neg(g, kiln_neg(g, t));
    t = kiln_cast(g, t, KILN_F64);
    kiln_output(g, "y", kiln_sum(g, kiln_exp(g, t), 0, NULL, 0));
    kiln_graph *s;
    simplify_checked(g, &s);
    /* input, exp, sum: everything else was an identity */
    assert_int_equal(s->count, 3);
    double xv[4] = {0.5, -1, 2, -0.0};
    assert_true(run1(g, xv, 4) == run1(s, xv, 4));
    kiln_graph_free(s);
    kiln_graph_free(g);
}

static void mul_by_zero_only_when_finite(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = x4(g);
    kiln_node zero = kiln_scalar(g, KILN_F64, 0);
    /* x may be inf or nan: x * 0 must stay (inf * 0 is nan) */
    kiln_node a = kiln_mul(g, x, zero);
    /* a finite constant times zero is folded */
    kiln_node c = kiln_fill(g, KILN_F64, 1, (int64_t[]){4}, 3);
    kiln_node b = kiln_mul(g, kiln_add(g, c, x), zero);
    kiln_output(g, "y", kiln_sum(g, kiln_add(g, a, b), 0, NULL, 0));
    kiln_graph *s;
    simplify_checked(g, &s);
    assert_int_equal(count_op(s, IR_OP_MUL), 2);
    double xv[4] = {INFINITY, 1, 2, 3};
    assert_true(isnan(run1(s, xv, 4)));
    kiln_graph_free(s);

    kiln_graph *h = kiln_graph_new();
    kiln_node u = kiln_random_uniform(h, KILN_F64, 1, (int64_t[]){4},
                                      kiln_scalar(h, KILN_I32, 1),
                                      kiln_scalar(h, KILN_I32, 2));
    kiln_node hx = x4(h);
    kiln_output(h, "y", kiln_sum(h, kiln_add(h, hx, kiln_mul(h, u, kiln_scalar(h, KILN_F64, 0))),
                                 0, NULL, 0));
    simplify_checked(h, &s);
    assert_int_equal(count_op(s, IR_OP_MUL), 0);
    assert_int_equal(count_op(s, IR_OP_RANDOM_UNIFORM), 0);
    double finite[4] = {1, 2, 3, 4};
    assert_true(run1(h, finite, 4) == run1(s, finite, 4));
    kiln_graph_free(s);
    kiln_graph_free(h);
    kiln_graph_free(g);
}

static void layout_chains(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F64, 3, (int64_t[]){2, 3, 4});
    kiln_node t = kiln_transpose(g, x, (int[]){2, 0, 1});
    t = kiln_transpose(g, t, (int[]){1, 0, 2});          /* composed: one left */
    kiln_node back = kiln_transpose(g, kiln_transpose(g, x, (int[]){1, 2, 0}),
                                    (int[]){2, 0, 1});   /* identity */
    kiln_node r = kiln_reshape(g, kiln_reshape(g, x, 2, (int64_t[]){6, 4}), 1,
                               (int64_t[]){24});
    kiln_node sum = kiln_add(g, kiln_sum(g, t, 0, NULL, 0),
                             kiln_sum(g, kiln_mul(g, back, x), 0, NULL, 0));
    sum = kiln_add(g, sum, kiln_sum(g, r, 0, NULL, 0));
    kiln_node wt = kiln_sum(g, kiln_mul(g, t, kiln_fill(g, KILN_F64, 3,
                                                        (int64_t[]){2, 4, 3}, 0.5)),
                            0, NULL, 0);
    kiln_output(g, "y", kiln_add(g, sum, wt));
    kiln_graph *s;
    simplify_checked(g, &s);
    assert_int_equal(count_op(s, IR_OP_TRANSPOSE), 1);
    assert_int_equal(count_op(s, IR_OP_RESHAPE), 1);
    double xv[24];
    for (int i = 0; i < 24; i++)
        xv[i] = sin(i);
    assert_true(run1(g, xv, 24) == run1(s, xv, 24));
    kiln_graph_free(s);
    kiln_graph_free(g);
}

static void broadcast_scalar_const(void **state)
{
    (void)state;
    /* Sizes above fold's limit, so the broadcasts are not simply folded. */
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F64, 1, (int64_t[]){100});
    kiln_node b = kiln_broadcast_to(g, kiln_scalar(g, KILN_F64, 2), 1, (int64_t[]){100});
    kiln_node big = kiln_broadcast_to(g, kiln_scalar(g, KILN_F64, 3), 2, (int64_t[]){2, 100});
    kiln_output(g, "y", kiln_sum(g, kiln_add(g, kiln_mul(g, x, b), big), 0, NULL, 0));
    kiln_graph *s;
    simplify_checked(g, &s);
    /* the first broadcast is gone; the second sets the result's shape */
    assert_int_equal(count_op(s, IR_OP_BROADCAST_TO), 1);
    double xv[100];
    for (int i = 0; i < 100; i++)
        xv[i] = i * 0.25;
    assert_true(run1(g, xv, 100) == run1(s, xv, 100));
    kiln_graph_free(s);
    kiln_graph_free(g);
}

static void fold_and_cse(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = x4(g);
    kiln_node c = kiln_exp(g, kiln_add(g, kiln_scalar(g, KILN_F64, 1),
                                       kiln_scalar(g, KILN_F64, 0.5)));
    kiln_node e1 = kiln_mul(g, kiln_tanh(g, x), c), e2 = kiln_mul(g, kiln_tanh(g, x), c);
    kiln_node named = kiln_name(g, kiln_tanh(g, x), "keep_me");
    kiln_node y = kiln_add(g, kiln_add(g, e1, e2), named);
    kiln_output(g, "y", kiln_sum(g, y, 0, NULL, 0));
    kiln_graph *s;
    simplify_checked(g, &s);
    assert_int_equal(count_op(s, IR_OP_EXP), 0);  /* folded */
    assert_int_equal(count_op(s, IR_OP_TANH), 2); /* one merged, the named kept */
    assert_int_equal(count_op(s, IR_OP_MUL), 1);
    assert_true(kiln_node_valid(kiln_find(s, "keep_me")));
    double xv[4] = {0.1, -0.2, 0.3, 2};
    assert_true(run1(g, xv, 4) == run1(s, xv, 4));
    kiln_graph_free(s);
    kiln_graph_free(g);
}

static void dce_keeps_bindings(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = x4(g);
    kiln_input(g, "unused_input", KILN_F32, 0, NULL);
    kiln_node p = kiln_param(g, "p", KILN_F64, 1, (int64_t[]){4}, kiln_init_zeros());
    kiln_exp(g, x); /* dead */
    kiln_assign(g, p, kiln_add(g, p, x));
    kiln_output(g, "y", kiln_sum(g, x, 0, NULL, 0));
    assert_int_equal(pass_dce(g), KILN_OK);
    assert_int_equal(ir_verify(g), KILN_OK);
    assert_int_equal(g->count, 6); /* x, unused_input, p, add, assign, sum */
    kiln_graph_free(g);
}

static void obs_count(const char *pass, kiln_graph *g, void *user)
{
    uint32_t *last = user;
    uint32_t live = pass_live_count(g);
    print_message("  after %-8s %4u live nodes (%+d)\n", pass, live,
                  (int)live - (int)*last);
    *last = live;
}

/* The whole pipeline on an Adam training step: fewer nodes, identical
 * losses and params over 3 steps (the passes reuse the reference
 * evaluator's semantics, so equality is exact). */
static void mlp_training_step(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node loss = mlp_build(g);
    assert_int_equal(kiln_adam(g, loss, &(kiln_adam_options){.lr = 0.01}), KILN_OK);
    kiln_graph *s = ir_clone(g);
    uint32_t live = pass_live_count(s);
    print_message("MLP + Adam step: %u nodes, %u live before the pipeline\n",
                  (unsigned)s->count, live);
    uint32_t before = live;
    assert_int_equal(pass_simplify(s, obs_count, &live), KILN_OK);
    assert_true(live < before);
    kiln_program *a = kiln_compile(g, NULL), *b = kiln_compile(s, NULL);
    assert_non_null(a);
    assert_non_null(b);
    mlp_data d;
    mlp_data_fill(&d);
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < MLP_N * MLP_D; i++)
            d.x[i] += 0.01 * step * cos(i);
        mlp_bind(a, &d);
        mlp_bind(b, &d);
        assert_int_equal(kiln_run(a), KILN_OK);
        assert_int_equal(kiln_run(b), KILN_OK);
        double la, lb;
        kiln_get_output(a, "loss", &la, sizeof la);
        kiln_get_output(b, "loss", &lb, sizeof lb);
        assert_true(la == lb);
        mlp_params pa, pb;
        mlp_read(a, &pa);
        mlp_read(b, &pb);
        assert_memory_equal(&pa, &pb, sizeof pa);
    }
    kiln_program_free(a);
    kiln_program_free(b);
    kiln_graph_free(s);
    kiln_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identities),
        cmocka_unit_test(mul_by_zero_only_when_finite),
        cmocka_unit_test(layout_chains),
        cmocka_unit_test(broadcast_scalar_const),
        cmocka_unit_test(fold_and_cse),
        cmocka_unit_test(dce_keeps_bindings),
        cmocka_unit_test(mlp_training_step),
    };
    return cmocka_run_group_tests_name("simplify", tests, NULL, NULL);
}
