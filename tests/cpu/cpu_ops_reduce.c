/*
 * cpu_ops_reduce.c — sum, mean, max, min and argmax through the CPU
 * backend vs the reference: every axis set of a rank-3 tensor, keepdims
 * both ways, negative axes, the full reduction of 1000 elements (vector
 * fold plus tail), size-1 axes, transposed operands, NaN and ties.
 *
 * Tolerances: the CPU folds f32 sums in f32 with a fixed vector split, the
 * reference in f64, so a sum's error is bounded relative to the sum of
 * |terms| (an extra output of the graph: sum or mean of abs(x), evaluated
 * by the reference): |cpu - ref| <= 1e-5 max(|ref|, sum|x|) in f32, 1e-12
 * in f64.  max and min choose one of the inputs, so they match exactly as
 * values (-0 and +0 tie in an unspecified order); i32 sums wrap identically
 * and match exactly, as does argmax.
 */
#include <math.h>

#include "cpu_ops.h"

typedef kiln_node (*reduce_builder)(kiln_graph *g, kiln_node x, int naxes,
                                    const int *axes, int keepdims);

static bool accepts(reduce_builder f, kiln_dtype t)
{
    kiln_graph *g = kiln_graph_new();
    assert_non_null(g);
    f(g, kiln_input(g, "x", t, 1, (int64_t[]){3}), 0, NULL, 0);
    bool ok = kiln_graph_status(g) == KILN_OK;
    kiln_graph_free(g);
    return ok;
}

static unsigned accepted(reduce_builder f)
{
    unsigned mask = 0;
    for (int i = 0; i < KILN_DTYPE_COUNT; i++)
        if (accepts(f, co_dtypes[i]))
            mask |= 1u << co_dtypes[i];
    return mask;
}

/* One reduction output, with its scale output for float sums. */
static void reduce_out(ch_ctx *c, int op, reduce_builder f, kiln_node x,
                       int naxes, const int *axes, int keepdims)
{
    kiln_graph *g = c->g;
    kiln_dtype t = kiln_node_dtype(g, x);
    bool sums = op == IR_OP_SUM || op == IR_OP_MEAN;
    if (!ir_dtype_is_float(t) || !sums) {
        ch_output(c, f(g, x, naxes, axes, keepdims), ch_value());
        return;
    }
    int scale = ch_output(c, f(g, kiln_abs(g, x), naxes, axes, keepdims), ch_skip());
    ch_output(c, f(g, x, naxes, axes, keepdims),
              ch_rel_to(t == KILN_F32 ? CH_REL_F32 : CH_REL_F64, scale));
}

static const int axis_sets[][3] = {{0}, {1}, {2}, {0, 1}, {0, 2}, {1, 2}, {0, 1, 2}};
static const int axis_counts[] = {1, 1, 1, 2, 2, 2, 3};

static ch_dist reduce_dist(int op, kiln_dtype t)
{
    if (t == KILN_I32) /* sums wrap around */
        return op == IR_OP_SUM ? ch_uniform(-1073741824.0, 1073741824.0)
                               : ch_uniform(-20, 20);
    ch_dist d = ch_uniform(-4, 4);
    if (op == IR_OP_MAX || op == IR_OP_MIN)
        d.coarse = 0.5; /* ties */
    return d;
}

/* Rows with NaN and infinities (floating dtypes), reduced along each axis. */
static void special_rows(ch_ctx *c, int op, reduce_builder f, kiln_dtype t)
{
    double v[4 * 33];
    for (int i = 0; i < 4 * 33; i++)
        v[i] = (double)((i * 7) % 11) - 5;
    v[0 * 33 + 5] = NAN;
    v[2 * 33 + 32] = NAN;
    v[3 * 33 + 3] = INFINITY;
    v[3 * 33 + 9] = -INFINITY;
    v[1 * 33 + 0] = INFINITY;
    kiln_node x = ch_input_values(c, t, 2, (int64_t[]){4, 33}, v);
    reduce_out(c, op, f, x, 1, (int[]){1}, 0);
    reduce_out(c, op, f, x, 1, (int[]){0}, 1);
}

static void reduce_graph(co_env *e, int op, reduce_builder f, kiln_dtype t)
{
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(t));
    ch_dist d = reduce_dist(op, t);
    kiln_node x = ch_input(&c, t, 3, (int64_t[]){7, 17, 64}, d);
    for (int s = 0; s < 7; s++) {
        reduce_out(&c, op, f, x, axis_counts[s], axis_sets[s], s % 2);
        if (s == 1 || s == 5)
            reduce_out(&c, op, f, x, axis_counts[s], axis_sets[s], !(s % 2));
    }
    reduce_out(&c, op, f, x, 0, NULL, 0);
    reduce_out(&c, op, f, x, 0, NULL, 1);
    reduce_out(&c, op, f, x, 2, (int[]){-1, 0}, 0);
    reduce_out(&c, op, f, ch_input(&c, t, 1, (int64_t[]){1000}, d), 1, (int[]){0}, 0);
    reduce_out(&c, op, f, ch_input(&c, t, 1, (int64_t[]){1}, d), 0, NULL, 1);
    kiln_node xt = co_transposed(&c, t, 17, 64, d);
    reduce_out(&c, op, f, xt, 1, (int[]){0}, 0);
    reduce_out(&c, op, f, xt, 1, (int[]){1}, 1);
    reduce_out(&c, op, f, ch_input(&c, t, 3, (int64_t[]){17, 1, 64}, d), 1, (int[]){1}, 0);
    if (ir_dtype_is_float(t))
        special_rows(&c, op, f, t);
    co_check(e, &c);
}

static void reduce_case(co_env *e, reduce_builder f, unsigned expected)
{
    unsigned mask = accepted(f);
    assert_int_equal(mask, expected);
    for (int i = 0; i < KILN_DTYPE_COUNT; i++)
        if (mask & (1u << co_dtypes[i]))
            reduce_graph(e, e->c->op, f, co_dtypes[i]);
}

#define NUMERIC ((1u << KILN_F32) | (1u << KILN_F64) | (1u << KILN_I32))
#define FLOAT ((1u << KILN_F32) | (1u << KILN_F64))
static void sum_case(co_env *e) { reduce_case(e, kiln_sum, NUMERIC); }
static void mean_case(co_env *e) { reduce_case(e, kiln_mean, FLOAT); }
static void max_case(co_env *e) { reduce_case(e, kiln_max, NUMERIC); }
static void min_case(co_env *e) { reduce_case(e, kiln_min, NUMERIC); }

/* ---- argmax: ties (coarse values), NaN, every axis ------------------- */

static void argmax_graph(co_env *e, kiln_dtype t)
{
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(t));
    kiln_graph *g = c.g;
    ch_dist d = t == KILN_I32 ? ch_uniform(-3, 3) : ch_uniform(-2, 2);
    d.coarse = 0.5;
    kiln_node x = ch_input(&c, t, 3, (int64_t[]){7, 17, 64}, d);
    for (int axis = -1; axis < 3; axis++)
        for (int keep = 0; keep < 2; keep++)
            ch_output(&c, kiln_argmax(g, x, axis, keep), ch_exact());
    ch_output(&c, kiln_argmax(g, ch_input(&c, t, 1, (int64_t[]){1000}, d), 0, 0), ch_exact());
    ch_output(&c, kiln_argmax(g, ch_input(&c, t, 2, (int64_t[]){7, 1}, d), 1, 1), ch_exact());
    ch_output(&c, kiln_argmax(g, co_transposed(&c, t, 17, 64, d), 0, 0), ch_exact());
    if (ir_dtype_is_float(t)) {
        /* a NaN first, in the middle, last; all-equal and all -inf rows */
        double v[5 * 6] = {NAN, 1, 2, 3, 4, 5,   1, 2, NAN, 9, NAN, 0,
                           1, 2, 3, 4, 5, NAN,   7, 7, 7, 7, 7, 7,
                           -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
        kiln_node s = ch_input_values(&c, t, 2, (int64_t[]){5, 6}, v);
        ch_output(&c, kiln_argmax(g, s, 1, 0), ch_exact());
        ch_output(&c, kiln_argmax(g, s, 0, 1), ch_exact());
    }
    co_check(e, &c);
}

static void argmax_case(co_env *e)
{
    unsigned mask = 0;
    for (int i = 0; i < KILN_DTYPE_COUNT; i++) {
        kiln_graph *g = kiln_graph_new();
        assert_non_null(g);
        kiln_argmax(g, kiln_input(g, "x", co_dtypes[i], 1, (int64_t[]){3}), 0, 0);
        if (kiln_graph_status(g) == KILN_OK)
            mask |= 1u << co_dtypes[i];
        kiln_graph_free(g);
    }
    assert_int_equal(mask, NUMERIC);
    for (int i = 0; i < KILN_DTYPE_COUNT; i++)
        if (mask & (1u << co_dtypes[i]))
            argmax_graph(e, co_dtypes[i]);
}

const co_case co_cases_reduce[] = {
    {"sum", IR_OP_SUM, sum_case},
    {"mean", IR_OP_MEAN, mean_case},
    {"max", IR_OP_MAX, max_case},
    {"min", IR_OP_MIN, min_case},
    {"argmax", IR_OP_ARGMAX, argmax_case},
    {NULL, 0, NULL},
};
