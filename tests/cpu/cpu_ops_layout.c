/*
 * cpu_ops_layout.c — reshape, transpose, broadcast_to, slice (with steps),
 * concat and pad through the CPU backend vs the reference, for every
 * dtype (layout ops accept all four), including operands that are
 * themselves transposes.  Layout ops only move values, so every result
 * must match bit for bit (NaN and -0 included among the moved values).
 */
#include <math.h>

#include "cpu_ops.h"

static const double moved[] = {NAN, -0.0, INFINITY, -INFINITY, 1e-40};

static ch_dist dist_for(kiln_dtype t)
{
    ch_dist d = t == KILN_I32 ? ch_uniform(-1000, 1000) : ch_uniform(-10, 10);
    if (ir_dtype_is_float(t)) {
        d.nspecial = (int)(sizeof moved / sizeof moved[0]);
        d.specials = moved;
    }
    return d;
}

typedef void (*layout_fn)(ch_ctx *c, kiln_dtype t, ch_dist d);

/* One graph holding the op's variants for all four dtypes. */
static void layout_case(co_env *e, layout_fn f)
{
    ch_ctx c;
    co_begin(e, &c, "all dtypes");
    for (int i = 0; i < KILN_DTYPE_COUNT; i++)
        f(&c, co_dtypes[i], dist_for(co_dtypes[i]));
    co_check(e, &c);
}

static void out(ch_ctx *c, kiln_node y) { ch_output(c, y, ch_exact()); }

static void reshapes(ch_ctx *c, kiln_dtype t, ch_dist d)
{
    kiln_graph *g = c->g;
    kiln_node x = ch_input(c, t, 2, (int64_t[]){17, 64}, d);
    out(c, kiln_reshape(g, x, 2, (int64_t[]){64, 17}));
    out(c, kiln_reshape(g, x, 1, (int64_t[]){1088}));
    out(c, kiln_reshape(g, co_transposed(c, t, 17, 64, d), 3, (int64_t[]){4, -1, 17}));
    out(c, kiln_reshape(g, ch_input(c, t, 1, (int64_t[]){1000}, d), 3,
                        (int64_t[]){10, -1, 10}));
    out(c, kiln_reshape(g, ch_input(c, t, 0, NULL, d), 2, (int64_t[]){1, 1}));
    out(c, kiln_reshape(g, ch_input(c, t, 1, (int64_t[]){7}, d), 2, (int64_t[]){7, 1}));
}

static void transposes(ch_ctx *c, kiln_dtype t, ch_dist d)
{
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    kiln_graph *g = c->g;
    kiln_node x = ch_input(c, t, 3, (int64_t[]){3, 7, 17}, d);
    for (int p = 0; p < 6; p++)
        out(c, kiln_transpose(g, x, perms[p]));
    out(c, kiln_transpose(g, ch_input(c, t, 4, (int64_t[]){2, 3, 1, 5}, d),
                          (int[]){3, 1, 0, 2}));
    out(c, kiln_transpose(g, co_transposed(c, t, 64, 17, d), (int[]){1, 0}));
    out(c, kiln_transpose(g, ch_input(c, t, 2, (int64_t[]){1, 7}, d), (int[]){1, 0}));
}

static void broadcasts(ch_ctx *c, kiln_dtype t, ch_dist d)
{
    kiln_graph *g = c->g;
    out(c, kiln_broadcast_to(g, ch_input(c, t, 1, (int64_t[]){64}, d), 2, (int64_t[]){17, 64}));
    out(c, kiln_broadcast_to(g, ch_input(c, t, 2, (int64_t[]){17, 1}, d), 2, (int64_t[]){17, 64}));
    out(c, kiln_broadcast_to(g, ch_input(c, t, 0, NULL, d), 1, (int64_t[]){7}));
    out(c, kiln_broadcast_to(g, ch_input(c, t, 3, (int64_t[]){1, 7, 1}, d), 4,
                             (int64_t[]){3, 5, 7, 4}));
    out(c, kiln_broadcast_to(g, co_transposed(c, t, 1, 17, d), 3, (int64_t[]){7, 5, 17}));
    out(c, kiln_broadcast_to(g, ch_input(c, t, 1, (int64_t[]){1000}, d), 1, (int64_t[]){1000}));
}

static void slices(ch_ctx *c, kiln_dtype t, ch_dist d)
{
    kiln_graph *g = c->g;
    kiln_node x = ch_input(c, t, 2, (int64_t[]){17, 64}, d);
    out(c, kiln_slice(g, x, (int64_t[]){1, 3}, (int64_t[]){17, 64}, (int64_t[]){2, 5}));
    out(c, kiln_slice(g, x, (int64_t[]){16, 0}, (int64_t[]){17, 64}, NULL));
    out(c, kiln_slice(g, x, (int64_t[]){0, 63}, (int64_t[]){17, 64}, (int64_t[]){16, 1}));
    out(c, kiln_slice(g, ch_input(c, t, 1, (int64_t[]){1000}, d), (int64_t[]){7},
                      (int64_t[]){1000}, (int64_t[]){7}));
    out(c, kiln_slice(g, ch_input(c, t, 3, (int64_t[]){3, 7, 17}, d), (int64_t[]){0, 1, 2},
                      (int64_t[]){3, 7, 17}, (int64_t[]){3, 2, 4}));
    out(c, kiln_slice(g, co_transposed(c, t, 17, 64, d), (int64_t[]){2, 1},
                      (int64_t[]){15, 60}, (int64_t[]){3, 7}));
}

static void concats(ch_ctx *c, kiln_dtype t, ch_dist d)
{
    kiln_graph *g = c->g;
    kiln_node rows[3] = {ch_input(c, t, 2, (int64_t[]){3, 17}, d),
                         ch_input(c, t, 2, (int64_t[]){1, 17}, d),
                         ch_input(c, t, 2, (int64_t[]){5, 17}, d)};
    out(c, kiln_concat(g, 3, rows, 0));
    kiln_node cols[2] = {ch_input(c, t, 2, (int64_t[]){7, 1}, d),
                         ch_input(c, t, 2, (int64_t[]){7, 64}, d)};
    out(c, kiln_concat(g, 2, cols, 1));
    kiln_node last[2] = {ch_input(c, t, 3, (int64_t[]){2, 3, 4}, d),
                         ch_input(c, t, 3, (int64_t[]){2, 3, 1}, d)};
    out(c, kiln_concat(g, 2, last, -1));
    out(c, kiln_concat(g, 1, &rows[0], 0));
    kiln_node mixed[2] = {co_transposed(c, t, 17, 64, d),
                          ch_input(c, t, 2, (int64_t[]){17, 64}, d)};
    out(c, kiln_concat(g, 2, mixed, 1));
    kiln_node flat[2] = {ch_input(c, t, 1, (int64_t[]){1000}, d),
                         ch_input(c, t, 1, (int64_t[]){7}, d)};
    out(c, kiln_concat(g, 2, flat, 0));
}

static void pads(ch_ctx *c, kiln_dtype t, ch_dist d)
{
    kiln_graph *g = c->g;
    out(c, kiln_pad(g, ch_input(c, t, 2, (int64_t[]){17, 64}, d), (int64_t[]){1, 0},
                    (int64_t[]){2, 3}, 7));
    out(c, kiln_pad(g, ch_input(c, t, 1, (int64_t[]){1000}, d), (int64_t[]){3},
                    (int64_t[]){0}, 0));
    out(c, kiln_pad(g, ch_input(c, t, 3, (int64_t[]){3, 7, 17}, d), (int64_t[]){0, 2, 1},
                    (int64_t[]){1, 0, 2}, 1));
    out(c, kiln_pad(g, co_transposed(c, t, 7, 17, d), (int64_t[]){2, 2}, (int64_t[]){2, 2},
                    ir_dtype_is_float(t) ? -2.5 : 3));
    out(c, kiln_pad(g, ch_input(c, t, 1, (int64_t[]){1}, d), (int64_t[]){0},
                    (int64_t[]){0}, 5));
    if (ir_dtype_is_float(t))
        out(c, kiln_pad(g, ch_input(c, t, 2, (int64_t[]){1, 7}, d), (int64_t[]){1, 1},
                        (int64_t[]){0, 1}, NAN));
}

static void reshape_case(co_env *e) { layout_case(e, reshapes); }
static void transpose_case(co_env *e) { layout_case(e, transposes); }
static void broadcast_case(co_env *e) { layout_case(e, broadcasts); }
static void slice_case(co_env *e) { layout_case(e, slices); }
static void concat_case(co_env *e) { layout_case(e, concats); }
static void pad_case(co_env *e) { layout_case(e, pads); }

const co_case co_cases_layout[] = {
    {"reshape", IR_OP_RESHAPE, reshape_case},
    {"transpose", IR_OP_TRANSPOSE, transpose_case},
    {"broadcast_to", IR_OP_BROADCAST_TO, broadcast_case},
    {"slice", IR_OP_SLICE, slice_case},
    {"concat", IR_OP_CONCAT, concat_case},
    {"pad", IR_OP_PAD, pad_case},
    {NULL, 0, NULL},
};
