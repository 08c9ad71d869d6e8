/* gc_layout.c — gradient checks of the layout ops. */
#include "gc_cases.h"

typedef struct shape {
    int rank;
    int64_t dims[4];
} shape;

static kiln_node input(gc *c, const shape *s)
{
    return gc_input_f64(c, s->rank, s->dims, (gc_dom)GC_ANY);
}

/* ---- reshape, transpose, broadcast_to ---------------------------------- */

/* from, to (-1: inferred) */
static const shape reshapes[][2] = {
    {{2, {3, 4}}, {2, {2, 6}}},
    {{3, {2, 3, 4}}, {2, {4, -1}}},
    {{1, {6}}, {3, {1, 6, 1}}},
    {{3, {2, 1, 3}}, {1, {-1}}},
    {{0, {0}}, {2, {1, 1}}},
};

static void reshape_case(gc *c, const gc_case *k)
{
    const shape *s = reshapes[k->variant];
    kiln_node x = input(c, &s[0]);
    gc_check(c, kiln_reshape(c->g, x, s[1].rank, s[1].dims));
}

static const struct {
    shape x;
    int perm[4];
} transposes[] = {
    {{2, {3, 4}}, {1, 0}},
    {{3, {2, 3, 4}}, {2, 0, 1}},
    {{3, {2, 3, 4}}, {1, 2, 0}},
    {{4, {2, 1, 3, 2}}, {3, 1, 0, 2}},
};

static void transpose_case(gc *c, const gc_case *k)
{
    kiln_node x = input(c, &transposes[k->variant].x);
    gc_check(c, kiln_transpose(c->g, x, transposes[k->variant].perm));
}

static const shape broadcasts[][2] = {
    {{2, {3, 1}}, {3, {2, 3, 4}}},
    {{0, {0}}, {2, {2, 3}}},
    {{1, {4}}, {2, {3, 4}}},
    {{2, {1, 1}}, {2, {1, 5}}},
    {{3, {2, 1, 3}}, {3, {2, 4, 3}}},
};

static void broadcast_case(gc *c, const gc_case *k)
{
    const shape *s = broadcasts[k->variant];
    kiln_node x = input(c, &s[0]);
    gc_check(c, kiln_broadcast_to(c->g, x, s[1].rank, s[1].dims));
}

/* ---- slice, concat, pad ------------------------------------------------ */

/* Steps 2 and 3 with nonzero starts, and stops that leave a tail the
 * last step does not reach (the gradient must not spill past it). */
static const struct {
    shape x;
    int64_t start[4], stop[4], step[4];
} slices[] = {
    {{2, {5, 7}}, {1, 0}, {4, 7}, {0}},
    {{2, {7, 9}}, {1, 2}, {7, 9}, {2, 3}},
    {{3, {2, 8, 5}}, {0, 1, 1}, {2, 8, 5}, {1, 3, 2}},
    {{2, {7, 6}}, {2, 3}, {7, 5}, {3, 1}},
    {{2, {1, 9}}, {0, 0}, {1, 9}, {1, 2}},
};

static void slice_case(gc *c, const gc_case *k)
{
    kiln_node x = input(c, &slices[k->variant].x);
    const int64_t *step = slices[k->variant].step[0] ? slices[k->variant].step
                                                     : NULL;
    gc_check(c, kiln_slice(c->g, x, slices[k->variant].start,
                           slices[k->variant].stop, step));
}

/* n inputs (n = 0 in the last row: one input used twice). */
static const struct {
    int n, axis;
    shape xs[3];
} concats[] = {
    {2, 0, {{2, {2, 3}}, {2, {4, 3}}}},
    {2, -1, {{2, {3, 2}}, {2, {3, 3}}}},
    {2, 0, {{3, {1, 2, 3}}, {3, {2, 2, 3}}}},
    {3, 1, {{3, {2, 1, 4}}, {3, {2, 3, 4}}, {3, {2, 2, 4}}}},
    {3, 2, {{3, {2, 3, 1}}, {3, {2, 3, 2}}, {3, {2, 3, 3}}}},
    {0, 1, {{2, {2, 3}}}},
};

static void concat_case(gc *c, const gc_case *k)
{
    kiln_node xs[3];
    int n = concats[k->variant].n;
    for (int j = 0; j < n; j++)
        xs[j] = input(c, &concats[k->variant].xs[j]);
    if (n == 0) {
        xs[0] = xs[1] = input(c, &concats[k->variant].xs[0]);
        n = 2;
    }
    gc_check(c, kiln_concat(c->g, n, xs, concats[k->variant].axis));
}

static const struct {
    shape x;
    int64_t lo[4], hi[4];
    double value;
} pads[] = {
    {{2, {3, 4}}, {1, 0}, {2, 3}, 0.5},
    {{3, {2, 1, 3}}, {0, 2, 1}, {1, 0, 0}, 0},
    {{1, {5}}, {3}, {0}, -1},
    {{2, {1, 1}}, {2, 1}, {1, 2}, 3},
};

static void pad_case(gc *c, const gc_case *k)
{
    kiln_node x = input(c, &pads[k->variant].x);
    gc_check(c, kiln_pad(c->g, x, pads[k->variant].lo, pads[k->variant].hi,
                         pads[k->variant].value));
}

const gc_case gc_cases_layout[] = {
    {"[3,4] -> [2,6]", IR_OP_RESHAPE, reshape_case, 0},
    {"[2,3,4] -> [4,-1]", IR_OP_RESHAPE, reshape_case, 1},
    {"[6] -> [1,6,1]", IR_OP_RESHAPE, reshape_case, 2},
    {"[2,1,3] -> [-1]", IR_OP_RESHAPE, reshape_case, 3},
    {"scalar -> [1,1]", IR_OP_RESHAPE, reshape_case, 4},
    {"[3,4] perm 1,0", IR_OP_TRANSPOSE, transpose_case, 0},
    {"[2,3,4] perm 2,0,1", IR_OP_TRANSPOSE, transpose_case, 1},
    {"[2,3,4] perm 1,2,0", IR_OP_TRANSPOSE, transpose_case, 2},
    {"[2,1,3,2] perm 3,1,0,2", IR_OP_TRANSPOSE, transpose_case, 3},
    {"[3,1] -> [2,3,4]", IR_OP_BROADCAST_TO, broadcast_case, 0},
    {"scalar -> [2,3]", IR_OP_BROADCAST_TO, broadcast_case, 1},
    {"[4] -> [3,4]", IR_OP_BROADCAST_TO, broadcast_case, 2},
    {"[1,1] -> [1,5]", IR_OP_BROADCAST_TO, broadcast_case, 3},
    {"[2,1,3] -> [2,4,3]", IR_OP_BROADCAST_TO, broadcast_case, 4},
    {"[5,7] [1:4, 0:7]", IR_OP_SLICE, slice_case, 0},
    {"[7,9] [1:7:2, 2:9:3]", IR_OP_SLICE, slice_case, 1},
    {"[2,8,5] [0:2, 1:8:3, 1:5:2]", IR_OP_SLICE, slice_case, 2},
    {"[7,6] [2:7:3, 3:5]", IR_OP_SLICE, slice_case, 3},
    {"[1,9] [0:1, 0:9:2]", IR_OP_SLICE, slice_case, 4},
    {"[2,3]+[4,3] axis 0", IR_OP_CONCAT, concat_case, 0},
    {"[3,2]+[3,3] axis -1", IR_OP_CONCAT, concat_case, 1},
    {"[1,2,3]+[2,2,3] axis 0", IR_OP_CONCAT, concat_case, 2},
    {"3 inputs rank 3 axis 1", IR_OP_CONCAT, concat_case, 3},
    {"3 inputs rank 3 axis 2", IR_OP_CONCAT, concat_case, 4},
    {"x+x [2,3] axis 1", IR_OP_CONCAT, concat_case, 5},
    {"[3,4] lo 1,0 hi 2,3", IR_OP_PAD, pad_case, 0},
    {"[2,1,3] lo 0,2,1 hi 1,0,0", IR_OP_PAD, pad_case, 1},
    {"[5] lo 3", IR_OP_PAD, pad_case, 2},
    {"[1,1] lo 2,1 hi 1,2", IR_OP_PAD, pad_case, 3},
    {NULL, 0, NULL, 0},
};
