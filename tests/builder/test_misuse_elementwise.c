/*
 * Builder misuse, elementwise ops: unary (floating and numeric), binary,
 * comparisons, select and cast, each with wrong dtypes and shapes that do
 * not broadcast.  Every case checks the status and the exact fragments of
 * the message: op name, node id and the types involved.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "expect.h"

typedef kiln_node (*unary_fn)(kiln_graph *, kiln_node);
typedef kiln_node (*binary_fn)(kiln_graph *, kiln_node, kiln_node);

static const struct {
    const char *name;
    unary_fn fn;
} float_unary[] = {
    {"exp", kiln_exp},       {"log", kiln_log},
    {"log1p", kiln_log1p},   {"sqrt", kiln_sqrt},
    {"rsqrt", kiln_rsqrt},   {"reciprocal", kiln_reciprocal},
    {"tanh", kiln_tanh},     {"sigmoid", kiln_sigmoid},
    {"gelu", kiln_gelu},     {"sin", kiln_sin},
    {"cos", kiln_cos},
}, numeric_unary[] = {
    {"neg", kiln_neg},       {"abs", kiln_abs},
    {"square", kiln_square}, {"relu", kiln_relu},
    {"sign", kiln_sign},
};

static const struct {
    const char *name;
    binary_fn fn;
    int float_only;
} arith[] = {
    {"add", kiln_add, 0}, {"sub", kiln_sub, 0},
    {"mul", kiln_mul, 0}, {"div", kiln_div, 0},
    {"pow", kiln_pow, 1}, {"maximum", kiln_maximum, 0},
    {"minimum", kiln_minimum, 0},
}, compare[] = {
    {"lt", kiln_lt, 0}, {"le", kiln_le, 0}, {"gt", kiln_gt, 0},
    {"ge", kiln_ge, 0}, {"eq", kiln_eq, 0}, {"ne", kiln_ne, 0},
};

#define COUNT(a) (sizeof(a) / sizeof(a)[0])

/* A graph with one input per dtype/shape the cases need. */
typedef struct fixture {
    kiln_graph *g;
    kiln_node f32_23, f64_23, i32_23, bool_23, f32_4, bool_4, f32_13;
} fixture;

static int setup(void **state)
{
    static const int64_t d23[] = {2, 3}, d4[] = {4}, d13[] = {1, 3};
    fixture *f = test_malloc(sizeof *f);
    f->g = kiln_graph_new();
    f->f32_23 = kiln_input(f->g, "a", KILN_F32, 2, d23);
    f->f64_23 = kiln_input(f->g, "b", KILN_F64, 2, d23);
    f->i32_23 = kiln_input(f->g, "c", KILN_I32, 2, d23);
    f->bool_23 = kiln_input(f->g, "d", KILN_BOOL, 2, d23);
    f->f32_4 = kiln_input(f->g, "e", KILN_F32, 1, d4);
    f->bool_4 = kiln_input(f->g, "f", KILN_BOOL, 1, d4);
    f->f32_13 = kiln_input(f->g, "h", KILN_F32, 2, d13);
    if (kiln_graph_status(f->g) != KILN_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kiln_graph_free(f->g);
    test_free(f);
    return 0;
}

static void unary_float_rejects_int_and_bool(void **state)
{
    fixture *f = *state;
    char id[16], head[64];
    for (size_t i = 0; i < COUNT(float_unary); i++) {
        snprintf(head, sizeof head, "%s %s: ", float_unary[i].name,
                 next_id(f->g, id, sizeof id));
        EXPECT_FAIL(f->g, float_unary[i].fn(f->g, f->i32_23), KILN_ERR_DTYPE,
                    head, "needs a floating input (f32 or f64), got i32[2,3]");
        EXPECT_FAIL(f->g, float_unary[i].fn(f->g, f->bool_23), KILN_ERR_DTYPE,
                    head, "got bool[2,3]");
        EXPECT_OK(f->g, float_unary[i].fn(f->g, f->f64_23));
    }
}

static void unary_numeric_rejects_bool(void **state)
{
    fixture *f = *state;
    char id[16], head[64];
    for (size_t i = 0; i < COUNT(numeric_unary); i++) {
        snprintf(head, sizeof head, "%s %s: ", numeric_unary[i].name,
                 next_id(f->g, id, sizeof id));
        EXPECT_FAIL(f->g, numeric_unary[i].fn(f->g, f->bool_4),
                    KILN_ERR_DTYPE, head,
                    "needs a numeric input (f32, f64 or i32), got bool[4]");
        EXPECT_OK(f->g, numeric_unary[i].fn(f->g, f->i32_23));
    }
}

static void binary_dtype_and_shape_errors(void **state)
{
    fixture *f = *state;
    char id[16], head[64];
    for (size_t i = 0; i < COUNT(arith); i++) {
        binary_fn fn = arith[i].fn;
        snprintf(head, sizeof head, "%s %s: ", arith[i].name,
                 next_id(f->g, id, sizeof id));
        EXPECT_FAIL(f->g, fn(f->g, f->f32_23, f->f64_23), KILN_ERR_DTYPE, head,
                    "dtypes differ: f32[2,3] and f64[2,3] (use cast)");
        EXPECT_FAIL(f->g, fn(f->g, f->f32_23, f->f32_4), KILN_ERR_SHAPE, head,
                    "shapes do not broadcast: f32[2,3] and f32[4]");
        EXPECT_FAIL(f->g, fn(f->g, f->bool_23, f->bool_23), KILN_ERR_DTYPE,
                    head, "got bool[2,3]");
        if (arith[i].float_only)
            EXPECT_FAIL(f->g, fn(f->g, f->i32_23, f->i32_23), KILN_ERR_DTYPE,
                        head, "needs a floating input", "got i32[2,3]");
        /* [1,3] against [2,3] broadcasts: the control case. */
        EXPECT_OK(f->g, fn(f->g, f->f32_13, f->f32_23));
    }
}

static void compare_dtype_and_shape_errors(void **state)
{
    fixture *f = *state;
    char id[16], head[64];
    for (size_t i = 0; i < COUNT(compare); i++) {
        binary_fn fn = compare[i].fn;
        int eq_like = strcmp(compare[i].name, "eq") == 0 ||
                      strcmp(compare[i].name, "ne") == 0;
        snprintf(head, sizeof head, "%s %s: ", compare[i].name,
                 next_id(f->g, id, sizeof id));
        EXPECT_FAIL(f->g, fn(f->g, f->i32_23, f->f32_23), KILN_ERR_DTYPE, head,
                    "dtypes differ: i32[2,3] and f32[2,3]");
        EXPECT_FAIL(f->g, fn(f->g, f->f32_4, f->f32_23), KILN_ERR_SHAPE, head,
                    "shapes do not broadcast: f32[4] and f32[2,3]");
        kiln_node r = fn(f->g, f->bool_23, f->bool_23);
        if (eq_like) {
            EXPECT_OK(f->g, r);
            assert_int_equal(kiln_node_dtype(f->g, r), KILN_BOOL);
        } else {
            EXPECT_FAIL(f->g, r, KILN_ERR_DTYPE, head, "got bool[2,3]");
        }
    }
}

static void select_errors(void **state)
{
    fixture *f = *state;
    char id[16];
    next_id(f->g, id, sizeof id);
    EXPECT_FAIL(f->g, kiln_select(f->g, f->f32_23, f->f32_23, f->f32_23),
                KILN_ERR_DTYPE, "select ", id,
                "condition must be bool, got f32[2,3]");
    EXPECT_FAIL(f->g, kiln_select(f->g, f->bool_23, f->f32_23, f->f64_23),
                KILN_ERR_DTYPE, "select ", id,
                "dtypes differ: f32[2,3] and f64[2,3]");
    EXPECT_FAIL(f->g, kiln_select(f->g, f->bool_23, f->f32_23, f->f32_4),
                KILN_ERR_SHAPE, "select ", id,
                "shapes do not broadcast: f32[2,3] and f32[4]");
    EXPECT_FAIL(f->g, kiln_select(f->g, f->bool_4, f->f32_23, f->f32_13),
                KILN_ERR_SHAPE, "select ", id,
                "condition bool[4] does not broadcast");
    EXPECT_OK(f->g, kiln_select(f->g, f->bool_23, f->f32_13, f->f32_23));
}

static void cast_errors(void **state)
{
    fixture *f = *state;
    char id[16];
    next_id(f->g, id, sizeof id);
    EXPECT_FAIL(f->g, kiln_cast(f->g, f->f32_23, KILN_DTYPE_COUNT),
                KILN_ERR_DTYPE, "cast ", id, "invalid target dtype 4");
    EXPECT_FAIL(f->g, kiln_cast(f->g, f->f32_23, (kiln_dtype)-1),
                KILN_ERR_DTYPE, "cast ", id, "invalid target dtype -1");
    EXPECT_FAIL(f->g, kiln_cast(f->g, (kiln_node){0}, KILN_F32),
                KILN_ERR_INVALID_ARGUMENT, "cast: input is the invalid node");
    kiln_node b = kiln_cast(f->g, f->f32_23, KILN_BOOL);
    EXPECT_OK(f->g, b);
    assert_int_equal(kiln_node_dtype(f->g, b), KILN_BOOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unary_float_rejects_int_and_bool, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(unary_numeric_rejects_bool, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(binary_dtype_and_shape_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compare_dtype_and_shape_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(select_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(cast_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
