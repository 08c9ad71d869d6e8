/*
 * Builder misuse for the non-elementwise op families: reductions, matmul,
 * composites (softmax, log_softmax, softmax_cross_entropy, one_hot, mse,
 * dropout), random ops and assign.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "expect.h"

typedef kiln_node (*reduce_fn)(kiln_graph *, kiln_node, int, const int *, int);

static const struct {
    const char *name;
    reduce_fn fn;
    int float_only;
} reductions[] = {
    {"sum", kiln_sum, 0},
    {"mean", kiln_mean, 1},
    {"max", kiln_max, 0},
    {"min", kiln_min, 0},
};

static kiln_graph *g;
/* Built in setup: the shared inputs of every case. */
static kiln_node x23, i23, b23, x1, seed, offset, fseed, vseed, w, labels,
    flabels, big8;

static int setup(void **state)
{
    (void)state;
    g = kiln_graph_new();
    x23 = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){2, 3});
    i23 = kiln_input(g, "i", KILN_I32, 2, (int64_t[]){2, 3});
    b23 = kiln_input(g, "b", KILN_BOOL, 2, (int64_t[]){2, 3});
    x1 = kiln_input(g, "x1", KILN_F32, 1, (int64_t[]){3});
    seed = kiln_input(g, "seed", KILN_I32, 0, NULL);
    offset = kiln_input(g, "offset", KILN_I32, 0, NULL);
    fseed = kiln_input(g, "fseed", KILN_F32, 0, NULL);
    vseed = kiln_input(g, "vseed", KILN_I32, 1, (int64_t[]){2});
    w = kiln_param(g, "w", KILN_F32, 2, (int64_t[]){2, 3}, kiln_init_zeros());
    labels = kiln_input(g, "labels", KILN_I32, 1, (int64_t[]){2});
    flabels = kiln_input(g, "flabels", KILN_F32, 1, (int64_t[]){2});
    big8 = kiln_input(g, "big8", KILN_I32, 8,
                      (int64_t[]){1, 1, 1, 1, 1, 1, 1, 2});
    return kiln_graph_status(g) == KILN_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    kiln_graph_free(g);
    return 0;
}

static void reduction_errors(void **state)
{
    (void)state;
    char id[16], head[64];
    for (size_t i = 0; i < sizeof reductions / sizeof reductions[0]; i++) {
        const char *op = reductions[i].name;
        reduce_fn fn = reductions[i].fn;
        next_id(g, id, sizeof id);
        snprintf(head, sizeof head, "%s %s: ", op, id);
        EXPECT_FAIL(g, fn(g, b23, 0, NULL, 0), KILN_ERR_DTYPE, head,
                    "got bool[2,3]");
        if (reductions[i].float_only)
            EXPECT_FAIL(g, fn(g, i23, 0, NULL, 0), KILN_ERR_DTYPE, head,
                        "needs a floating input (f32 or f64), got i32[2,3]");
        snprintf(head, sizeof head, "%s: axis 2 is out of range for rank 2",
                 op);
        EXPECT_FAIL(g, fn(g, x23, 1, (int[]){2}, 0), KILN_ERR_SHAPE, head);
        snprintf(head, sizeof head, "%s: axis -3 is out of range", op);
        EXPECT_FAIL(g, fn(g, x23, 1, (int[]){-3}, 0), KILN_ERR_SHAPE, head);
        snprintf(head, sizeof head, "%s: axis -1 is repeated", op);
        EXPECT_FAIL(g, fn(g, x23, 2, (int[]){1, -1}, 1), KILN_ERR_SHAPE, head);
        snprintf(head, sizeof head, "%s: 3 axes (array given) for a rank-2", op);
        EXPECT_FAIL(g, fn(g, x23, 3, (int[]){0, 1, 0}, 0),
                    KILN_ERR_INVALID_ARGUMENT, head);
        snprintf(head, sizeof head, "%s: 1 axes (array NULL)", op);
        EXPECT_FAIL(g, fn(g, x23, 1, NULL, 0), KILN_ERR_INVALID_ARGUMENT, head);
        snprintf(head, sizeof head, "%s: -1 axes", op);
        EXPECT_FAIL(g, fn(g, x23, -1, (int[]){0}, 0),
                    KILN_ERR_INVALID_ARGUMENT, head);
        kiln_node ok = fn(g, x23, 1, (int[]){-1}, 1);
        EXPECT_OK(g, ok);
        assert_int_equal(kiln_node_rank(g, ok), 2);
    }
}

static void argmax_errors(void **state)
{
    (void)state;
    char id[16];
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_argmax(g, b23, 0, 0), KILN_ERR_DTYPE, "argmax ", id,
                "got bool[2,3]");
    EXPECT_FAIL(g, kiln_argmax(g, x23, 2, 0), KILN_ERR_SHAPE,
                "argmax: axis 2 is out of range for rank 2");
    EXPECT_FAIL(g, kiln_argmax(g, seed, 0, 0), KILN_ERR_INVALID_ARGUMENT,
                "argmax: 1 axes", "rank-0 input");
    kiln_node ok = kiln_argmax(g, x23, -1, 0);
    EXPECT_OK(g, ok);
    assert_int_equal(kiln_node_dtype(g, ok), KILN_I32);
}

static void matmul_errors(void **state)
{
    (void)state;
    char id[16];
    kiln_node a = kiln_input(g, "a", KILN_F32, 2, (int64_t[]){128, 784});
    kiln_node b = kiln_input(g, "b_", KILN_F32, 2, (int64_t[]){785, 256});
    kiln_node c = kiln_input(g, "c", KILN_F64, 2, (int64_t[]){784, 256});
    kiln_node d = kiln_input(g, "d", KILN_F32, 3, (int64_t[]){2, 3, 4});
    kiln_node e = kiln_input(g, "e", KILN_F32, 3, (int64_t[]){3, 4, 5});
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_matmul(g, a, b), KILN_ERR_SHAPE, "matmul ", id,
                "inner dimensions differ: f32[128,784] x f32[785,256]");
    EXPECT_FAIL(g, kiln_matmul(g, a, c), KILN_ERR_DTYPE, "matmul ", id,
                "dtypes differ: f32[128,784] and f64[784,256]");
    EXPECT_FAIL(g, kiln_matmul(g, x1, x23), KILN_ERR_SHAPE, "matmul ", id,
                "operands need rank >= 2: f32[3] x f32[2,3]");
    EXPECT_FAIL(g, kiln_matmul(g, b23, b23), KILN_ERR_DTYPE, "matmul ", id,
                "got bool[2,3]");
    EXPECT_FAIL(g, kiln_matmul(g, d, e), KILN_ERR_SHAPE, "matmul ", id,
                "batch dimensions do not broadcast: f32[2,3,4] x f32[3,4,5]");
    /* The user name given later shows up once the node is named. */
    kiln_node ok = kiln_name(g, kiln_matmul(g, x23, kiln_transpose(g, x23,
                                                                   (int[]){1, 0})),
                             "gram");
    EXPECT_OK(g, ok);
    assert_string_equal(kiln_node_name(g, ok), "gram");
}

static void softmax_errors(void **state)
{
    (void)state;
    char id[16];
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_softmax(g, i23, 1), KILN_ERR_DTYPE, "softmax ", id,
                "got i32[2,3]");
    EXPECT_FAIL(g, kiln_softmax(g, x23, 2), KILN_ERR_SHAPE, "softmax ", id,
                "axis 2 is out of range for f32[2,3]");
    EXPECT_FAIL(g, kiln_log_softmax(g, i23, 1), KILN_ERR_DTYPE,
                "log_softmax ", id, "got i32[2,3]");
    EXPECT_FAIL(g, kiln_log_softmax(g, x23, -3), KILN_ERR_SHAPE,
                "log_softmax ", id, "out of range for f32[2,3]");
    EXPECT_OK(g, kiln_log_softmax(g, x23, -1));
}

static void cross_entropy_errors(void **state)
{
    (void)state;
    char id[16];
    kiln_node l3 = kiln_input(g, "l3", KILN_I32, 1, (int64_t[]){3});
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_softmax_cross_entropy(g, x23, flabels), KILN_ERR_SHAPE,
                "softmax_cross_entropy ", id,
                "needs logits [N,C] and i32 labels [N], got f32[2,3] and f32[2]");
    EXPECT_FAIL(g, kiln_softmax_cross_entropy(g, x23, l3), KILN_ERR_SHAPE,
                "got f32[2,3] and i32[3]");
    EXPECT_FAIL(g, kiln_softmax_cross_entropy(g, x1, l3), KILN_ERR_SHAPE,
                "got f32[3] and i32[3]");
    EXPECT_FAIL(g, kiln_softmax_cross_entropy(g, i23, labels), KILN_ERR_DTYPE,
                "softmax_cross_entropy ", id, "got i32[2,3]");
    kiln_node ok = kiln_softmax_cross_entropy(g, x23, labels);
    EXPECT_OK(g, ok);
    assert_int_equal(kiln_node_rank(g, ok), 0);
}

static void one_hot_errors(void **state)
{
    (void)state;
    char id[16];
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_one_hot(g, flabels, 4, KILN_F32), KILN_ERR_DTYPE,
                "one_hot ", id, "labels must be i32, got f32[2]");
    EXPECT_FAIL(g, kiln_one_hot(g, labels, 0, KILN_F32), KILN_ERR_SHAPE,
                "one_hot: need depth >= 1", "(depth 0, rank 1)");
    EXPECT_FAIL(g, kiln_one_hot(g, big8, 4, KILN_F32), KILN_ERR_SHAPE,
                "one_hot: need depth >= 1 and labels of rank < 8",
                "(depth 4, rank 8)");
    EXPECT_FAIL(g, kiln_one_hot(g, labels, 4, (kiln_dtype)7), KILN_ERR_DTYPE,
                "one_hot ", id, "invalid dtype 7");
    kiln_node ok = kiln_one_hot(g, labels, 4, KILN_F64);
    EXPECT_OK(g, ok);
    assert_int_equal(kiln_node_numel(g, ok), 8);
}

static void mse_errors(void **state)
{
    (void)state;
    kiln_node d23 = kiln_input(g, "d23", KILN_F64, 2, (int64_t[]){2, 3});
    EXPECT_FAIL(g, kiln_mse(g, x23, flabels), KILN_ERR_SHAPE,
                "mse: shapes do not broadcast: f32[2,3] and f32[2]");
    EXPECT_FAIL(g, kiln_mse(g, i23, i23), KILN_ERR_DTYPE,
                "mse: needs two f32 or two f64 operands, got i32[2,3] and "
                "i32[2,3]");
    EXPECT_FAIL(g, kiln_mse(g, x23, d23), KILN_ERR_DTYPE,
                "mse: needs two f32 or two f64 operands, got f32[2,3] and "
                "f64[2,3]");
    EXPECT_FAIL(g, kiln_mse(g, x23, (kiln_node){0}), KILN_ERR_INVALID_ARGUMENT,
                "mse: input is the invalid node");
    kiln_node ok = kiln_mse(g, x23, w);
    EXPECT_OK(g, ok);
    assert_int_equal(kiln_node_rank(g, ok), 0);
}

static void dropout_errors(void **state)
{
    (void)state;
    EXPECT_FAIL(g, kiln_dropout(g, i23, 0.5, seed, offset), KILN_ERR_DTYPE,
                "dropout: needs f32 or f64, got i32");
    EXPECT_FAIL(g, kiln_dropout(g, x23, 1.0, seed, offset),
                KILN_ERR_INVALID_ARGUMENT, "dropout: rate 1 is outside [0, 1)");
    EXPECT_FAIL(g, kiln_dropout(g, x23, -0.25, seed, offset),
                KILN_ERR_INVALID_ARGUMENT, "rate -0.25 is outside");
    EXPECT_FAIL(g, kiln_dropout(g, x23, NAN, seed, offset),
                KILN_ERR_INVALID_ARGUMENT, "rate nan is outside");
    EXPECT_FAIL(g, kiln_dropout(g, x23, 0.5, fseed, offset), KILN_ERR_DTYPE,
                "dropout: seed must be i32[], got f32[]");
    /* rate 0 makes dropout the identity, but a bad seed is still a bug in
     * the caller's graph and must not slip through. */
    EXPECT_FAIL(g, kiln_dropout(g, x23, 0, (kiln_node){0}, offset),
                KILN_ERR_INVALID_ARGUMENT, "dropout: input is the invalid node");
    EXPECT_FAIL(g, kiln_dropout(g, x23, 0, seed, vseed), KILN_ERR_DTYPE,
                "dropout: offset must be i32[], got i32[2]");
    kiln_node same = kiln_dropout(g, x23, 0, seed, offset);
    EXPECT_OK(g, same);
    assert_int_equal(same.id, x23.id);
    EXPECT_OK(g, kiln_dropout(g, x23, 0.5, seed, offset));
}

static void random_errors(void **state)
{
    (void)state;
    char id[16];
    const int64_t d[] = {4, 5};
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_random_uniform(g, KILN_I32, 2, d, seed, offset),
                KILN_ERR_DTYPE, "random_uniform ", id,
                "result must be f32 or f64, not i32");
    EXPECT_FAIL(g, kiln_random_uniform(g, KILN_F32, 2, d, fseed, offset),
                KILN_ERR_DTYPE, "random_uniform ", id,
                "seed must be i32[], got f32[]");
    EXPECT_FAIL(g, kiln_random_uniform(g, KILN_F32, 2, d, seed, vseed),
                KILN_ERR_DTYPE, "random_uniform ", id,
                "offset must be i32[], got i32[2]");
    EXPECT_FAIL(g, kiln_random_uniform(g, KILN_F32, 2, (int64_t[]){4, -5}, seed,
                                       offset),
                KILN_ERR_SHAPE, "random_uniform: dim 1 is -5");
    EXPECT_FAIL(g, kiln_random_uniform(g, KILN_F32, 2, NULL, seed, offset),
                KILN_ERR_INVALID_ARGUMENT, "random_uniform: dims is NULL");
    EXPECT_FAIL(g, kiln_random_uniform(g, (kiln_dtype)9, 2, d, seed, offset),
                KILN_ERR_DTYPE, "random_uniform: invalid dtype 9");
    EXPECT_FAIL(g, kiln_random_uniform(g, KILN_F32, 2, d, (kiln_node){0}, offset),
                KILN_ERR_INVALID_ARGUMENT,
                "random_uniform: input is the invalid node");
    EXPECT_FAIL(g, kiln_bernoulli(g, 1.5, 2, d, seed, offset),
                KILN_ERR_INVALID_ARGUMENT, "bernoulli ", id,
                "probability 1.5 is outside [0, 1]");
    EXPECT_FAIL(g, kiln_bernoulli(g, NAN, 2, d, seed, offset),
                KILN_ERR_INVALID_ARGUMENT, "probability nan is outside");
    EXPECT_FAIL(g, kiln_bernoulli(g, 0.5, 2, d, offset, fseed), KILN_ERR_DTYPE,
                "bernoulli ", id, "offset must be i32[], got f32[]");
    EXPECT_FAIL(g, kiln_bernoulli(g, 0.5, 9, d, seed, offset), KILN_ERR_SHAPE,
                "bernoulli: rank 9 is out of range");
    EXPECT_OK(g, kiln_bernoulli(g, 1.0, 2, d, seed, offset));
    EXPECT_OK(g, kiln_random_uniform(g, KILN_F64, 0, NULL, seed, offset));
}

static void assign_errors(void **state)
{
    (void)state;
    char id[16];
    kiln_node v = kiln_param(g, "v", KILN_F32, 1, (int64_t[]){3},
                             kiln_init_zeros());
    kiln_node d = kiln_param(g, "d", KILN_F64, 2, (int64_t[]){2, 3},
                             kiln_init_zeros());
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_assign(g, x23, x23), KILN_ERR_INVALID_ARGUMENT,
                "assign ", id, "target must be a param, got a input node");
    EXPECT_FAIL(g, kiln_assign(g, kiln_neg(g, w), x23), KILN_ERR_INVALID_ARGUMENT,
                "target must be a param, got a neg node");
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_assign(g, w, x1), KILN_ERR_SHAPE, "assign ", id,
                "value f32[3] does not match param 'w' f32[2,3]");
    EXPECT_FAIL(g, kiln_assign(g, v, x23), KILN_ERR_SHAPE,
                "value f32[2,3] does not match param 'v' f32[3]");
    /* A dtype mismatch is reported as a shape error today (shape_assign
     * compares whole types); the message still names both dtypes. */
    EXPECT_FAIL(g, kiln_assign(g, d, x23), KILN_ERR_SHAPE,
                "value f32[2,3] does not match param 'd' f64[2,3]");
    EXPECT_OK(g, kiln_assign(g, w, kiln_add(g, w, x23)));
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_assign(g, w, x23), KILN_ERR_INVALID_ARGUMENT,
                "assign ", id, "param 'w' is already assigned");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reduction_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(argmax_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(matmul_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(softmax_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(cross_entropy_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(one_hot_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(mse_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(dropout_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(random_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(assign_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
