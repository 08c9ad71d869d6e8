/*
 * Builder misuse, layout ops: reshape, transpose, broadcast_to, slice,
 * concat and pad with bad shapes, permutations, ranges, paddings and NULL
 * arrays.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "expect.h"

typedef struct fixture {
    kiln_graph *g;
    kiln_node x;   /* f32[2,3] */
    kiln_node y;   /* f32[3,3] */
    kiln_node z;   /* f64[2,3] */
    kiln_node s;   /* f32[]    */
    kiln_node v;   /* f32[2,3,1] */
} fixture;

static int setup(void **state)
{
    fixture *f = test_malloc(sizeof *f);
    f->g = kiln_graph_new();
    f->x = kiln_input(f->g, "x", KILN_F32, 2, (int64_t[]){2, 3});
    f->y = kiln_input(f->g, "y", KILN_F32, 2, (int64_t[]){3, 3});
    f->z = kiln_input(f->g, "z", KILN_F64, 2, (int64_t[]){2, 3});
    f->s = kiln_input(f->g, "s", KILN_F32, 0, NULL);
    f->v = kiln_input(f->g, "v", KILN_F32, 3, (int64_t[]){2, 3, 1});
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

static void reshape_errors(void **state)
{
    fixture *f = *state;
    kiln_graph *g = f->g;
    char id[16];
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_reshape(g, f->x, 1, (int64_t[]){4}), KILN_ERR_SHAPE,
                "reshape ", id, "cannot reshape f32[2,3] to f32[4]");
    EXPECT_FAIL(g, kiln_reshape(g, f->x, 2, (int64_t[]){-1, -1}),
                KILN_ERR_SHAPE, "reshape: dim 1 is -1 (only one -1 allowed");
    EXPECT_FAIL(g, kiln_reshape(g, f->x, 2, (int64_t[]){-1, 4}),
                KILN_ERR_SHAPE, "reshape: 6 elements do not divide by 4");
    EXPECT_FAIL(g, kiln_reshape(g, f->x, 2, (int64_t[]){0, 6}),
                KILN_ERR_SHAPE, "reshape: dim 0 is 0");
    EXPECT_FAIL(g, kiln_reshape(g, f->x, 9, (int64_t[9]){6}), KILN_ERR_SHAPE,
                "reshape: rank 9 is out of range 0..8");
    EXPECT_FAIL(g, kiln_reshape(g, f->x, -1, NULL), KILN_ERR_SHAPE,
                "reshape: rank -1 is out of range 0..8");
    EXPECT_FAIL(g, kiln_reshape(g, f->x, 2, NULL), KILN_ERR_INVALID_ARGUMENT,
                "reshape: dims is NULL");
    /* 2^21 * 2^21 overflows the 2^40 element limit before any multiply
     * can wrap. */
    EXPECT_FAIL(g,
                kiln_reshape(g, f->x, 3,
                             (int64_t[]){(int64_t)1 << 21, (int64_t)1 << 21, 1}),
                KILN_ERR_SHAPE, "reshape: too many elements");
    kiln_node ok = kiln_reshape(g, f->x, 3, (int64_t[]){3, -1, 1});
    EXPECT_OK(g, ok);
    assert_int_equal(kiln_node_numel(g, ok), 6);
}

static void transpose_errors(void **state)
{
    fixture *f = *state;
    kiln_graph *g = f->g;
    char id[16];
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_transpose(g, f->x, (int[]){0, 0}), KILN_ERR_SHAPE,
                "transpose ", id,
                "perm is not a permutation of 0..1 (entry 1 is 0)");
    EXPECT_FAIL(g, kiln_transpose(g, f->x, (int[]){0, 2}), KILN_ERR_SHAPE,
                "transpose ", id, "(entry 1 is 2)");
    EXPECT_FAIL(g, kiln_transpose(g, f->x, (int[]){-1, 0}), KILN_ERR_SHAPE,
                "transpose ", id, "(entry 0 is -1)");
    EXPECT_FAIL(g, kiln_transpose(g, f->x, NULL), KILN_ERR_INVALID_ARGUMENT,
                "transpose: perm is NULL");
    /* A scalar has the empty permutation: NULL is fine there. */
    EXPECT_OK(g, kiln_transpose(g, f->s, NULL));
}

static void broadcast_to_errors(void **state)
{
    fixture *f = *state;
    kiln_graph *g = f->g;
    char id[16];
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_broadcast_to(g, f->x, 2, (int64_t[]){3, 3}),
                KILN_ERR_SHAPE, "broadcast_to ", id,
                "cannot broadcast f32[2,3] to f32[3,3]");
    EXPECT_FAIL(g, kiln_broadcast_to(g, f->x, 1, (int64_t[]){3}),
                KILN_ERR_SHAPE, "cannot broadcast f32[2,3] to f32[3]");
    EXPECT_FAIL(g, kiln_broadcast_to(g, f->x, 2, NULL),
                KILN_ERR_INVALID_ARGUMENT, "broadcast_to: dims is NULL");
    EXPECT_FAIL(g, kiln_broadcast_to(g, f->x, 2, (int64_t[]){2, 0}),
                KILN_ERR_SHAPE, "broadcast_to: dim 1 is 0");
    EXPECT_FAIL(g, kiln_broadcast_to(g, f->x, 9, (int64_t[9]){1}),
                KILN_ERR_SHAPE, "broadcast_to: rank 9 is out of range 0..8");
    EXPECT_OK(g, kiln_broadcast_to(g, f->x, 3, (int64_t[]){4, 2, 3}));
}

static void slice_errors(void **state)
{
    fixture *f = *state;
    kiln_graph *g = f->g;
    char id[16];
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g,
                kiln_slice(g, f->x, (int64_t[]){0, 2}, (int64_t[]){2, 2},
                           NULL),
                KILN_ERR_SHAPE, "slice ", id,
                "axis 1: need 0 <= start < stop <= 3 and step >= 1, got start "
                "2 stop 2 step 1 on f32[2,3]");
    EXPECT_FAIL(g,
                kiln_slice(g, f->x, (int64_t[]){0, 0}, (int64_t[]){3, 3},
                           NULL),
                KILN_ERR_SHAPE, "axis 0:", "start 0 stop 3 step 1");
    EXPECT_FAIL(g,
                kiln_slice(g, f->x, (int64_t[]){-1, 0}, (int64_t[]){2, 3},
                           NULL),
                KILN_ERR_SHAPE, "axis 0:", "start -1 stop 2");
    EXPECT_FAIL(g,
                kiln_slice(g, f->x, (int64_t[]){0, 0}, (int64_t[]){2, 3},
                           (int64_t[]){1, 0}),
                KILN_ERR_SHAPE, "axis 1:", "step 0");
    EXPECT_FAIL(g, kiln_slice(g, f->x, NULL, (int64_t[]){2, 3}, NULL),
                KILN_ERR_INVALID_ARGUMENT, "slice: start or stop is NULL");
    EXPECT_FAIL(g, kiln_slice(g, f->x, (int64_t[]){0, 0}, NULL, NULL),
                KILN_ERR_INVALID_ARGUMENT, "slice: start or stop is NULL");
    kiln_node ok = kiln_slice(g, f->x, (int64_t[]){1, 0}, (int64_t[]){2, 3},
                              (int64_t[]){1, 2});
    EXPECT_OK(g, ok);
    int64_t dims[KILN_MAX_RANK];
    assert_int_equal(kiln_node_shape(g, ok, dims), 2);
    assert_int_equal(dims[0], 1);
    assert_int_equal(dims[1], 2);
}

static void concat_errors(void **state)
{
    fixture *f = *state;
    kiln_graph *g = f->g;
    char id[16];
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_concat(g, 0, (kiln_node[]){f->x}, 0),
                KILN_ERR_INVALID_ARGUMENT, "concat: needs 1..1024 inputs",
                "got 0");
    EXPECT_FAIL(g, kiln_concat(g, 2, NULL, 0), KILN_ERR_INVALID_ARGUMENT,
                "concat: needs 1..1024 inputs and a non-NULL array");
    EXPECT_FAIL(g, kiln_concat(g, 2, (kiln_node[]){f->x, f->y}, 1),
                KILN_ERR_SHAPE, "concat ", id,
                "input 1 f32[3,3] does not fit f32[2,3] outside axis 1");
    EXPECT_FAIL(g, kiln_concat(g, 2, (kiln_node[]){f->x, f->z}, 0),
                KILN_ERR_DTYPE, "concat ", id,
                "dtypes differ: f32[2,3] and f64[2,3]");
    EXPECT_FAIL(g, kiln_concat(g, 2, (kiln_node[]){f->x, f->v}, 0),
                KILN_ERR_SHAPE, "input 1 f32[2,3,1] does not fit f32[2,3]");
    EXPECT_FAIL(g, kiln_concat(g, 2, (kiln_node[]){f->x, f->x}, 2),
                KILN_ERR_SHAPE, "concat ", id,
                "axis 2 is out of range for f32[2,3]");
    EXPECT_FAIL(g, kiln_concat(g, 1, (kiln_node[]){f->s}, 0), KILN_ERR_SHAPE,
                "concat ", id, "axis 0 is out of range for f32[]");
    EXPECT_FAIL(g, kiln_concat(g, 3, (kiln_node[]){f->x, (kiln_node){0}, f->x},
                               0),
                KILN_ERR_INVALID_ARGUMENT, "concat: input is the invalid node");
    /* x [2,3] and y [3,3] stack along axis 0 (given as -2) into [5,3]. */
    kiln_node ok = kiln_concat(g, 2, (kiln_node[]){f->x, f->y}, -2);
    EXPECT_OK(g, ok);
    assert_int_equal(kiln_node_numel(g, ok), 15);
}

static void pad_errors(void **state)
{
    fixture *f = *state;
    kiln_graph *g = f->g;
    char id[16];
    next_id(g, id, sizeof id);
    EXPECT_FAIL(g, kiln_pad(g, f->x, (int64_t[]){-1, 0}, (int64_t[]){0, 0}, 0),
                KILN_ERR_SHAPE, "pad ", id,
                "axis 0: padding must be in 0..2^40, got -1 and 0");
    EXPECT_FAIL(g, kiln_pad(g, f->x, (int64_t[]){0, 0}, (int64_t[]){0, -5}, 0),
                KILN_ERR_SHAPE, "axis 1:", "got 0 and -5");
    EXPECT_FAIL(g,
                kiln_pad(g, f->x, (int64_t[]){0, 0},
                         (int64_t[]){0, INT64_MAX}, 0),
                KILN_ERR_SHAPE, "pad ", id, "axis 1:");
    EXPECT_FAIL(g,
                kiln_pad(g, f->x, (int64_t[]){(int64_t)1 << 39, 0},
                         (int64_t[]){(int64_t)1 << 39, 0}, 0),
                KILN_ERR_SHAPE, "pad: too many elements");
    EXPECT_FAIL(g, kiln_pad(g, f->x, NULL, (int64_t[]){0, 0}, 0),
                KILN_ERR_INVALID_ARGUMENT, "pad: lo or hi is NULL");
    EXPECT_FAIL(g, kiln_pad(g, f->x, (int64_t[]){0, 0}, NULL, 0),
                KILN_ERR_INVALID_ARGUMENT, "pad: lo or hi is NULL");
    kiln_node ok = kiln_pad(g, f->x, (int64_t[]){1, 0}, (int64_t[]){0, 2}, 7);
    EXPECT_OK(g, ok);
    assert_int_equal(kiln_node_numel(g, ok), 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reshape_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(transpose_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(broadcast_to_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(slice_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(concat_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(pad_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
