/*
 * Builder misuse that is not about one op: NULL graphs and pointers,
 * invalid, garbage and foreign node handles, bad and duplicate names, bad
 * leaf shapes/dtypes/initialisers, and the sticky first error.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "expect.h"
#include "ir/ir.h"

static const int64_t d23[] = {2, 3};

/* Every builder, given a NULL graph, returns the invalid node. */
static void null_graph_everywhere(void **state)
{
    (void)state;
    kiln_graph *g = NULL;
    kiln_node n = {0x01000001u}, ns[2] = {n, n};
    const int64_t z[2] = {0, 0};
    kiln_node r[] = {
        kiln_input(g, "x", KILN_F32, 2, d23),
        kiln_param(g, "w", KILN_F32, 2, d23, kiln_init_zeros()),
        kiln_constant(g, KILN_F32, 0, NULL, (float[]){1}),
        kiln_fill(g, KILN_F32, 2, d23, 1), kiln_scalar(g, KILN_F32, 1),
        kiln_exp(g, n), kiln_neg(g, n), kiln_add(g, n, n), kiln_lt(g, n, n),
        kiln_select(g, n, n, n), kiln_cast(g, n, KILN_F64),
        kiln_reshape(g, n, 1, (int64_t[]){6}),
        kiln_transpose(g, n, (int[]){1, 0}),
        kiln_broadcast_to(g, n, 2, d23), kiln_slice(g, n, z, d23, NULL),
        kiln_concat(g, 2, ns, 0), kiln_pad(g, n, z, z, 0),
        kiln_sum(g, n, 0, NULL, 0), kiln_mean(g, n, 0, NULL, 0),
        kiln_max(g, n, 0, NULL, 0), kiln_min(g, n, 0, NULL, 0),
        kiln_argmax(g, n, 0, 0), kiln_matmul(g, n, n), kiln_softmax(g, n, 0),
        kiln_log_softmax(g, n, 0), kiln_softmax_cross_entropy(g, n, n),
        kiln_one_hot(g, n, 3, KILN_F32), kiln_mse(g, n, n),
        kiln_random_uniform(g, KILN_F32, 2, d23, n, n),
        kiln_bernoulli(g, 0.5, 2, d23, n, n), kiln_dropout(g, n, 0.5, n, n),
        kiln_assign(g, n, n), kiln_name(g, n, "a"), kiln_find(g, "a"),
    };
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        assert_false(kiln_node_valid(r[i]));
    assert_int_equal(kiln_output(g, "o", n), KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_graph_status(g), KILN_ERR_INVALID_ARGUMENT);
    assert_string_equal(kiln_graph_error(g), "graph is NULL");
    kiln_graph_clear_error(g);
    kiln_graph_free(g);
    assert_int_equal(kiln_graph_node_count(g), 0);
    assert_int_equal(kiln_node_rank(g, n), 0);
    assert_int_equal(kiln_node_shape(g, n, NULL), -1);
    assert_int_equal(kiln_node_numel(g, n), 0);
    assert_null(kiln_node_name(g, n));
    assert_null(kiln_node_op(g, n));
    assert_null(kiln_compile(g, NULL));
}

/* The invalid node (id 0) given to one builder of each family. */
static void invalid_node_inputs(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, d23);
    kiln_node s = kiln_input(g, "s", KILN_I32, 0, NULL);
    kiln_node z = {0};
    const int64_t lo[2] = {0, 0};
    EXPECT_OK(g, x);
#define ZERO(call, op) \
    EXPECT_FAIL(g, call, KILN_ERR_INVALID_ARGUMENT, \
                op ": input is the invalid node (id 0)")
    ZERO(kiln_exp(g, z), "exp");
    ZERO(kiln_relu(g, z), "relu");
    ZERO(kiln_sub(g, x, z), "sub");
    ZERO(kiln_ge(g, z, x), "ge");
    ZERO(kiln_select(g, z, x, x), "select");
    ZERO(kiln_cast(g, z, KILN_I32), "cast");
    ZERO(kiln_reshape(g, z, 1, (int64_t[]){6}), "reshape");
    ZERO(kiln_transpose(g, z, (int[]){1, 0}), "transpose");
    ZERO(kiln_broadcast_to(g, z, 2, d23), "broadcast_to");
    ZERO(kiln_slice(g, z, lo, d23, NULL), "slice");
    ZERO(kiln_concat(g, 2, (kiln_node[]){x, z}, 0), "concat");
    ZERO(kiln_pad(g, z, lo, lo, 0), "pad");
    ZERO(kiln_sum(g, z, 0, NULL, 0), "sum");
    ZERO(kiln_mean(g, z, 0, NULL, 0), "mean");
    ZERO(kiln_argmax(g, z, 0, 0), "argmax");
    ZERO(kiln_matmul(g, x, z), "matmul");
    ZERO(kiln_softmax(g, z, 0), "softmax");
    ZERO(kiln_softmax_cross_entropy(g, x, z), "softmax_cross_entropy");
    ZERO(kiln_one_hot(g, z, 3, KILN_F32), "one_hot");
    ZERO(kiln_mse(g, z, x), "mse");
    ZERO(kiln_random_uniform(g, KILN_F32, 2, d23, s, z), "random_uniform");
    ZERO(kiln_bernoulli(g, 0.5, 2, d23, z, s), "bernoulli");
    ZERO(kiln_dropout(g, z, 0.5, s, s), "dropout");
    ZERO(kiln_assign(g, z, x), "assign");
    ZERO(kiln_name(g, z, "nm"), "name");
#undef ZERO
    EXPECT_STATUS_FAIL(g, kiln_output(g, "o", z), KILN_ERR_INVALID_ARGUMENT,
                       "output: input is the invalid node (id 0)");
    assert_int_equal(kiln_graph_node_count(g), 2);
    kiln_graph_free(g);
}

/* Handles that were never returned by this graph: a matching tag with an
 * index past the end, a wrong tag, all bits set. */
static void garbage_handles(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, d23);
    EXPECT_OK(g, x);
    uint32_t tag = g->tag, other = tag % 255 + 1;
    const kiln_node bad[] = {
        {(tag << IR_INDEX_BITS) | 2u},          /* index 1: not yet made  */
        {(tag << IR_INDEX_BITS) | 0xFFFFFFu},   /* far past the end       */
        {(tag << IR_INDEX_BITS)},               /* index field 0          */
        {(other << IR_INDEX_BITS) | 1u},        /* x's index, wrong tag   */
        {1u},                                   /* tag 0 never exists     */
    };
    char want[80];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(want, sizeof want,
                 "add: node handle %#x does not belong to this graph",
                 (unsigned)bad[i].id);
        EXPECT_FAIL(g, kiln_add(g, x, bad[i]), KILN_ERR_INVALID_ARGUMENT,
                    want);
        assert_null(kiln_node_op(g, bad[i]));
        assert_int_equal(kiln_node_shape(g, bad[i], NULL), -1);
    }
    /* 0xFFFFFFFF carries tag 255, which may be g's own: then it is an
     * index past the end; either way it is rejected. */
    EXPECT_FAIL(g, kiln_neg(g, (kiln_node){0xFFFFFFFFu}),
                KILN_ERR_INVALID_ARGUMENT, "neg: node handle 0xffffffff");
    assert_int_equal(kiln_graph_node_count(g), 1);
    kiln_graph_free(g);
}

/* Tags are derived from the graph's address, so two live graphs usually
 * differ; keep making graphs until one does, to test deterministically. */
static void foreign_handles(void **state)
{
    (void)state;
    kiln_graph *pool[64];
    int n = 0;
    pool[n++] = kiln_graph_new();
    while (n < 64) {
        pool[n] = kiln_graph_new();
        assert_non_null(pool[n]);
        if (pool[n++]->tag != pool[0]->tag)
            break;
    }
    kiln_graph *g = pool[0], *h = pool[n - 1];
    assert_int_not_equal(g->tag, h->tag);
    kiln_node gx = kiln_input(g, "x", KILN_F32, 2, d23);
    kiln_node hx = kiln_input(h, "x", KILN_F32, 2, d23);
    kiln_node hy = kiln_exp(h, hx);
    EXPECT_OK(g, gx);
    EXPECT_OK(h, hy);
    char want[80];
    snprintf(want, sizeof want,
             "mul: node handle %#x does not belong to this graph",
             (unsigned)hx.id);
    EXPECT_FAIL(g, kiln_mul(g, gx, hx), KILN_ERR_INVALID_ARGUMENT, want);
    snprintf(want, sizeof want, "matmul: node handle %#x", (unsigned)hy.id);
    EXPECT_FAIL(g, kiln_matmul(g, hy, gx), KILN_ERR_INVALID_ARGUMENT, want);
    EXPECT_FAIL(g, kiln_name(g, hy, "y"), KILN_ERR_INVALID_ARGUMENT,
                "name: node handle");
    EXPECT_STATUS_FAIL(g, kiln_output(g, "y", hy), KILN_ERR_INVALID_ARGUMENT,
                       "output: node handle");
    assert_null(kiln_node_op(g, hy));
    /* h is untouched by g's errors. */
    assert_int_equal(kiln_graph_status(h), KILN_OK);
    assert_string_equal(kiln_node_op(h, hy), "exp");
    for (int i = 0; i < n; i++)
        kiln_graph_free(pool[i]);
}

static void *my_malloc(size_t n, void *u) { (void)u; return malloc(n); }
static void *my_realloc(void *p, size_t n, void *u) { (void)u; return realloc(p, n); }
static void my_free(void *p, void *u) { (void)u; free(p); }

static void null_pointers(void **state)
{
    (void)state;
    /* An allocator with a hole is refused (NULL), not called later. */
    const kiln_allocator holes[] = {{NULL, my_realloc, my_free, NULL},
                                    {my_malloc, NULL, my_free, NULL},
                                    {my_malloc, my_realloc, NULL, NULL}};
    for (int i = 0; i < 3; i++)
        assert_null(kiln_graph_new_with_allocator(&holes[i]));
    kiln_graph *g = kiln_graph_new_with_allocator(NULL);
    assert_non_null(g);
    kiln_graph_free(g);
    g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, d23);
    EXPECT_FAIL(g, kiln_input(g, NULL, KILN_F32, 2, d23),
                KILN_ERR_INVALID_ARGUMENT, "input: name is NULL");
    EXPECT_FAIL(g, kiln_input(g, "y", KILN_F32, 2, NULL),
                KILN_ERR_INVALID_ARGUMENT, "input: dims is NULL");
    EXPECT_FAIL(g, kiln_param(g, NULL, KILN_F32, 2, d23, kiln_init_zeros()),
                KILN_ERR_INVALID_ARGUMENT, "param: name is NULL");
    EXPECT_FAIL(g, kiln_param(g, "w", KILN_F32, 1, NULL, kiln_init_zeros()),
                KILN_ERR_INVALID_ARGUMENT, "param: dims is NULL");
    EXPECT_FAIL(g, kiln_constant(g, KILN_F32, 2, d23, NULL),
                KILN_ERR_INVALID_ARGUMENT, "const: data is NULL");
    EXPECT_FAIL(g, kiln_constant(g, KILN_F32, 2, NULL, (float[6]){0}),
                KILN_ERR_INVALID_ARGUMENT, "const: dims is NULL");
    EXPECT_FAIL(g, kiln_fill(g, KILN_F32, 1, NULL, 0),
                KILN_ERR_INVALID_ARGUMENT, "const: dims is NULL");
    EXPECT_FAIL(g, kiln_name(g, x, NULL), KILN_ERR_INVALID_ARGUMENT,
                "name: name is NULL");
    EXPECT_STATUS_FAIL(g, kiln_output(g, NULL, x), KILN_ERR_INVALID_ARGUMENT,
                       "output: name is NULL");
    /* A lookup is not a misuse: no error is recorded. */
    assert_false(kiln_node_valid(kiln_find(g, NULL)));
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    /* Rank 0 needs no dims at all. */
    EXPECT_OK(g, kiln_input(g, "s", KILN_F32, 0, NULL));
    EXPECT_OK(g, kiln_constant(g, KILN_I32, 0, NULL, (int32_t[]){7}));
    kiln_graph_free(g);
}

static void bad_names(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    char longest[KILN_MAX_NAME], too_long[KILN_MAX_NAME + 1];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = 0;
    memset(too_long, 'b', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = 0;
    const char *invalid[] = {"", "1x", "a-b", "a b", ".a", "caf\xc3\xa9",
                             "x\ny", too_long};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        EXPECT_FAIL(g, kiln_input(g, invalid[i], KILN_F32, 0, NULL),
                    KILN_ERR_NAME, "input: invalid name '",
                    "(want [A-Za-z_][A-Za-z0-9_.]*, at most 63 bytes)");
        EXPECT_FAIL(g, kiln_param(g, invalid[i], KILN_F32, 0, NULL,
                                  kiln_init_zeros()),
                    KILN_ERR_NAME, "param: invalid name '");
    }
    kiln_node x = kiln_input(g, longest, KILN_F32, 2, d23);
    EXPECT_OK(g, x);
    kiln_node w = kiln_param(g, "layer1.w_0", KILN_F32, 2, d23,
                             kiln_init_zeros());
    EXPECT_OK(g, w);
    char want[128];
    snprintf(want, sizeof want, "input: duplicate name '%s'", longest);
    EXPECT_FAIL(g, kiln_input(g, longest, KILN_F64, 0, NULL), KILN_ERR_NAME,
                want);
    EXPECT_FAIL(g, kiln_param(g, "layer1.w_0", KILN_F32, 0, NULL,
                              kiln_init_zeros()),
                KILN_ERR_NAME, "param: duplicate name 'layer1.w_0'");
    EXPECT_FAIL(g, kiln_input(g, "layer1.w_0", KILN_F32, 0, NULL),
                KILN_ERR_NAME, "input: duplicate name 'layer1.w_0'");
    kiln_node y = kiln_exp(g, x);
    EXPECT_FAIL(g, kiln_name(g, y, "layer1.w_0"), KILN_ERR_NAME,
                "name: duplicate name 'layer1.w_0'");
    EXPECT_FAIL(g, kiln_name(g, y, "9lives"), KILN_ERR_NAME,
                "name: invalid name '9lives'");
    assert_int_equal(kiln_name(g, y, "y").id, y.id);
    EXPECT_FAIL(g, kiln_name(g, y, "y2"), KILN_ERR_NAME,
                "name: node 'y' is already named");
    EXPECT_FAIL(g, kiln_name(g, w, "w2"), KILN_ERR_NAME,
                "name: node 'layer1.w_0' is already named");
    assert_int_equal(kiln_find(g, "y").id, y.id);
    assert_int_equal(kiln_output(g, "out", y), KILN_OK);
    EXPECT_STATUS_FAIL(g, kiln_output(g, "out", x), KILN_ERR_NAME,
                       "output: duplicate output name 'out'");
    EXPECT_STATUS_FAIL(g, kiln_output(g, "o-1", x), KILN_ERR_NAME,
                       "output: invalid name 'o-1'");
    EXPECT_STATUS_FAIL(g, kiln_output(g, too_long, x), KILN_ERR_NAME,
                       "output: invalid name 'bbbb");
    kiln_graph_free(g);
}

static void bad_leaf_types(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    EXPECT_FAIL(g, kiln_input(g, "x", (kiln_dtype)4, 2, d23), KILN_ERR_DTYPE,
                "input: invalid dtype 4");
    EXPECT_FAIL(g, kiln_input(g, "x", KILN_F32, -1, d23), KILN_ERR_SHAPE,
                "input: rank -1 is out of range 0..8");
    EXPECT_FAIL(g, kiln_input(g, "x", KILN_F32, 9, (int64_t[9]){1}),
                KILN_ERR_SHAPE, "input: rank 9 is out of range 0..8");
    EXPECT_FAIL(g, kiln_input(g, "x", KILN_F32, 2, (int64_t[]){2, 0}),
                KILN_ERR_SHAPE, "input: dim 1 is 0; dims must be >= 1");
    EXPECT_FAIL(g, kiln_input(g, "x", KILN_F32, 1, (int64_t[]){-3}),
                KILN_ERR_SHAPE, "input: dim 0 is -3");
    EXPECT_FAIL(g, kiln_input(g, "x", KILN_F32, 3,
                              (int64_t[]){1 << 20, 1 << 20, 2}),
                KILN_ERR_SHAPE, "input: too many elements (more than 2^40)");
    EXPECT_FAIL(g, kiln_input(g, "x", KILN_F32, 2,
                              (int64_t[]){INT64_MAX, INT64_MAX}),
                KILN_ERR_SHAPE, "input: too many elements");
    EXPECT_FAIL(g, kiln_fill(g, (kiln_dtype)-2, 0, NULL, 1), KILN_ERR_DTYPE,
                "const: invalid dtype -2");
    EXPECT_FAIL(g, kiln_scalar(g, KILN_DTYPE_COUNT, 1), KILN_ERR_DTYPE,
                "const: invalid dtype 4");
    EXPECT_FAIL(g, kiln_param(g, "w", KILN_I32, 1, (int64_t[]){3},
                              kiln_init_uniform(0, 1, 1)),
                KILN_ERR_DTYPE,
                "a i32 param takes only zeros or constant initialisers");
    EXPECT_FAIL(g, kiln_param(g, "w", KILN_BOOL, 1, (int64_t[]){3},
                              kiln_init_glorot(1)),
                KILN_ERR_DTYPE, "a bool param takes only zeros or constant");
    EXPECT_FAIL(g, kiln_param(g, "w", KILN_F32, 1, (int64_t[]){3},
                              kiln_init_uniform(1, 0, 1)),
                KILN_ERR_INVALID_ARGUMENT, "uniform(1, 0) needs low <= high");
    EXPECT_FAIL(g, kiln_param(g, "w", KILN_F32, 1, (int64_t[]){3},
                              kiln_init_normal(0, -1, 1)),
                KILN_ERR_INVALID_ARGUMENT, "normal std -1 is negative");
    EXPECT_FAIL(g, kiln_param(g, "w", KILN_F32, 1, (int64_t[]){3},
                              kiln_init_constant(NAN)),
                KILN_ERR_INVALID_ARGUMENT,
                "initialiser arguments must be finite");
    kiln_init weird = {(kiln_init_kind)42, 0, 0, 0};
    EXPECT_FAIL(g, kiln_param(g, "w", KILN_F32, 1, (int64_t[]){3}, weird),
                KILN_ERR_INVALID_ARGUMENT, "unknown initialiser kind 42");
    EXPECT_OK(g, kiln_param(g, "w", KILN_I32, 1, (int64_t[]){3},
                            kiln_init_constant(2)));
    assert_int_equal(kiln_graph_node_count(g), 1);
    kiln_graph_free(g);
}

/* After the first error every call fails without touching the message;
 * clearing it makes the graph usable again, old nodes included. */
static void sticky_first_error(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node a = kiln_input(g, "a", KILN_F32, 2, (int64_t[]){128, 784});
    kiln_node b = kiln_input(g, "b", KILN_F32, 2, (int64_t[]){785, 256});
    kiln_node ok = kiln_exp(g, a);
    EXPECT_OK(g, ok);
    kiln_node h = kiln_matmul(g, a, b);
    assert_false(kiln_node_valid(h));
    char first[512];
    snprintf(first, sizeof first, "%s", kiln_graph_error(g));
    assert_string_equal(first, "matmul #3: inner dimensions differ: "
                               "f32[128,784] x f32[785,256]");
    /* Valid calls, calls on the failed node, other misuse: all refused. */
    assert_false(kiln_node_valid(kiln_exp(g, a)));
    assert_false(kiln_node_valid(kiln_relu(g, h)));
    assert_false(kiln_node_valid(kiln_input(g, "c", KILN_F32, 0, NULL)));
    assert_false(kiln_node_valid(kiln_input(g, "1bad", (kiln_dtype)9, -4,
                                            NULL)));
    assert_false(kiln_node_valid(kiln_add(g, a, (kiln_node){0})));
    assert_false(kiln_node_valid(kiln_name(g, ok, "fine")));
    assert_int_equal(kiln_output(g, "o", ok), KILN_ERR_SHAPE);
    assert_null(kiln_compile(g, NULL));
    assert_int_equal(kiln_graph_status(g), KILN_ERR_SHAPE);
    assert_string_equal(kiln_graph_error(g), first);
    assert_int_equal(kiln_graph_node_count(g), 3);
    assert_null(kiln_node_name(g, ok));

    kiln_graph_clear_error(g);
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    assert_string_equal(kiln_graph_error(g), "");
    kiln_node c = kiln_input(g, "c", KILN_F32, 2, (int64_t[]){784, 256});
    kiln_node m = kiln_matmul(g, ok, c);
    EXPECT_OK(g, m);
    assert_int_equal(kiln_output(g, "m", m), KILN_OK);
    /* The node that failed stays invalid: using it is a new first error. */
    EXPECT_FAIL(g, kiln_relu(g, h), KILN_ERR_INVALID_ARGUMENT,
                "relu: input is the invalid node");
    kiln_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(null_graph_everywhere),
        cmocka_unit_test(invalid_node_inputs),
        cmocka_unit_test(garbage_handles),
        cmocka_unit_test(foreign_handles),
        cmocka_unit_test(null_pointers),
        cmocka_unit_test(bad_names),
        cmocka_unit_test(bad_leaf_types),
        cmocka_unit_test(sticky_first_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
