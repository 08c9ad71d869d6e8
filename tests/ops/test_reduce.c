/* test_reduce.c — sum, mean, max and min over every axis combination of
 * ranks 0..3 (keepdims on and off, axes given positive or negative) and
 * argmax along every axis of ranks 1..3, against loops written here. */
#include <math.h>
#include <stdio.h>

#include "ophelp.h"

#define NMAX 4096

typedef struct shape {
    int rank;
    int64_t dims[3];
} shape;

/* Ranks 0..3, with size-1 dims and odd sizes. */
static const shape shapes[] = {
    {0, {0}},       {1, {7}},       {1, {1}},       {2, {3, 5}},
    {2, {1, 4}},    {3, {2, 3, 4}}, {3, {3, 1, 5}}, {3, {1, 1, 1}},
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static const kiln_dtype dtypes[] = {KILN_F32, KILN_F64, KILN_I32};

/* Output dims for reducing `mask` of s. */
static int reduced_shape(const shape *s, unsigned mask, bool keep, int64_t *d)
{
    int r = 0;
    for (int i = 0; i < s->rank; i++)
        if (!(mask & (1u << i)))
            d[r++] = s->dims[i];
        else if (keep)
            d[r++] = 1;
    return r;
}

/* The plain definition: output element o folds every input element whose
 * unreduced coordinates equal o's. */
static void expected(int op, kiln_dtype t, const shape *s, unsigned mask,
                     const double *x, double *want)
{
    int64_t kd[3], n = oh_numel(s->rank, s->dims);
    int kr = reduced_shape(s, mask, true, kd);
    int64_t no = oh_numel(kr, kd);
    for (int64_t o = 0; o < no; o++) {
        int64_t oi[3], xi[3], count = 0;
        double acc = op == IR_OP_MAX   ? -INFINITY
                     : op == IR_OP_MIN ? INFINITY
                                       : 0;
        int64_t iacc = 0;
        bool nan = false;
        oh_unflatten(kr, kd, o, oi);
        for (int64_t i = 0; i < n; i++) {
            oh_unflatten(s->rank, s->dims, i, xi);
            bool match = true;
            for (int d = 0; d < s->rank; d++)
                if (!(mask & (1u << d)) && xi[d] != oi[d])
                    match = false;
            if (!match)
                continue;
            count++;
            nan |= isnan(x[i]);
            if (op == IR_OP_SUM || op == IR_OP_MEAN) {
                acc += x[i];
                iacc += (int64_t)x[i];
            } else if (op == IR_OP_MAX) {
                acc = x[i] > acc ? x[i] : acc;
            } else {
                acc = x[i] < acc ? x[i] : acc;
            }
        }
        if (op == IR_OP_MEAN)
            acc /= (double)count;
        if (t == KILN_I32 && op == IR_OP_SUM)
            acc = oh_wrap(iacc);
        want[o] = nan ? NAN : oh_as(t, acc);
    }
}

static kiln_node build(kiln_graph *g, int op, kiln_node x, int naxes,
                       const int *axes, int keep)
{
    switch (op) {
    case IR_OP_SUM: return kiln_sum(g, x, naxes, axes, keep);
    case IR_OP_MEAN: return kiln_mean(g, x, naxes, axes, keep);
    case IR_OP_MAX: return kiln_max(g, x, naxes, axes, keep);
    default: return kiln_min(g, x, naxes, axes, keep);
    }
}

/* form 0: ascending positive axes; form 1: descending negative axes;
 * form 2: naxes 0 with axes NULL (all axes, only for the full mask). */
static int axes_of(const shape *s, unsigned mask, int form, int *axes)
{
    int n = 0;
    for (int d = 0; d < s->rank; d++)
        if (mask & (1u << d))
            axes[n++] = d;
    if (form == 1)
        for (int i = 0; i < n / 2; i++) {
            int tmp = axes[i];
            axes[i] = axes[n - 1 - i];
            axes[n - 1 - i] = tmp;
        }
    for (int i = 0; form == 1 && i < n; i++)
        axes[i] -= s->rank;
    return n;
}

static void check_one(oh_t *t, int op, kiln_dtype dt, const shape *s,
                      unsigned mask, int keep, int form, const double *x)
{
    int axes[3], naxes = axes_of(s, mask, form, axes);
    int64_t yd[3];
    int yr = reduced_shape(s, mask, keep, yd);
    int64_t ny = oh_numel(yr, yd);
    double want[NMAX], got[NMAX];
    expected(op, dt, s, mask, x, want);
    oh_ctx c;
    oh_begin(&c, t);
    kiln_node in = oh_in(&c, dt, s->rank, s->dims, x);
    kiln_node y = form == 2 ? build(c.g, op, in, 0, NULL, keep)
                            : build(c.g, op, in, naxes, axes, keep);
    oh_graph_ok(&c);
    int64_t got_dims[KILN_MAX_RANK];
    assert_int_equal(kiln_node_shape(c.g, y, got_dims), yr);
    for (int d = 0; d < yr; d++)
        assert_int_equal(got_dims[d], yd[d]);
    assert_int_equal(kiln_node_dtype(c.g, y), dt);
    oh_eval(&c, y, got, ny);
    char what[96];
    snprintf(what, sizeof what, "%s %s rank %d dims0 %lld mask %#x keep %d "
             "form %d", ir_ops[op].name, kiln_dtype_name(dt), s->rank,
             (long long)(s->rank ? s->dims[0] : 0), mask, keep, form);
    oh_check_exact(what, got, want, ny);
    oh_end(&c);
}

/* Every mask of every shape, keepdims on and off, each way of naming
 * the axes.  Float data are multiples of 1/8 so sums are exact in any
 * order and the comparison can be exact. */
static void reduce_every_axis_combination(oh_t *t)
{
    int op = t->c->op;
    uint64_t rng = 0x7ed0ce00u + (uint64_t)op;
    for (int k = 0; k < 3; k++) {
        kiln_dtype dt = dtypes[k];
        if (op == IR_OP_MEAN && dt == KILN_I32)
            continue;
        for (size_t si = 0; si < NSHAPES; si++) {
            const shape *s = &shapes[si];
            double x[NMAX];
            int64_t n = oh_numel(s->rank, s->dims);
            oh_fill(&rng, KILN_I32, -64, 64, x, n);
            if (dt != KILN_I32)
                for (int64_t i = 0; i < n; i++)
                    x[i] /= 8;
            for (unsigned mask = 0; mask < (1u << s->rank); mask++)
                for (int keep = 0; keep < 2; keep++) {
                    check_one(t, op, dt, s, mask, keep, 0, x);
                    check_one(t, op, dt, s, mask, keep, 1, x);
                    if (mask == (1u << s->rank) - 1)
                        check_one(t, op, dt, s, mask, keep, 2, x);
                }
        }
    }
}

/* Inexact f32 data over long rows: the reference accumulates in f64, so
 * the only difference from this loop's f64 sum is summation order
 * (~1e-13 relative here), at most one f32 ulp after rounding. */
static void reduce_f32_long_rows(oh_t *t)
{
    int op = t->c->op;
    const shape s = {2, {3, 1001}};
    double x[3003], want[3], got[3];
    uint64_t rng = 0xf32;
    oh_fill(&rng, KILN_F32, -1, 1, x, 3003);
    expected(op, KILN_F32, &s, 2u, x, want);
    oh_ctx c;
    oh_begin(&c, t);
    int axis = 1;
    oh_eval(&c, build(c.g, op, oh_in(&c, KILN_F32, 2, s.dims, x), 1, &axis, 0),
            got, 3);
    oh_check(ir_ops[op].name, got, want, 3, 0x1p-22, 0);
    oh_end(&c);
}

static void run_row(oh_t *t, int op, kiln_dtype dt, int64_t n,
                    const double *x, double want)
{
    double got;
    oh_ctx c;
    oh_begin(&c, t);
    oh_eval(&c, build(c.g, op, oh_in(&c, dt, 1, &n, x), 0, NULL, 0), &got, 1);
    char what[48];
    snprintf(what, sizeof what, "%s %s", ir_ops[op].name, kiln_dtype_name(dt));
    oh_check_exact(what, &got, &want, 1);
    oh_end(&c);
}

static void sum_i32_wraps(oh_t *t)
{
    const double a[2] = {2147483647.0, 1}, b[3] = {-2147483648.0, -1, 5},
                 c[4] = {2147483647.0, 2147483647.0, 1, 1};
    run_row(t, IR_OP_SUM, KILN_I32, 2, a, -2147483648.0);
    run_row(t, IR_OP_SUM, KILN_I32, 3, b, -2147483644.0);
    run_row(t, IR_OP_SUM, KILN_I32, 4, c, 0);
}

static void max_min_nan_and_inf(oh_t *t)
{
    const double nan_first[3] = {NAN, 1, 2}, nan_last[3] = {1, 2, NAN},
                 ninf[2] = {-INFINITY, -INFINITY}, pinf[2] = {INFINITY, 3},
                 i32[3] = {-2147483648.0, 2147483647.0, 0};
    for (int k = 0; k < 2; k++) {
        kiln_dtype dt = dtypes[k];
        run_row(t, IR_OP_MAX, dt, 3, nan_first, NAN);
        run_row(t, IR_OP_MAX, dt, 3, nan_last, NAN);
        run_row(t, IR_OP_MIN, dt, 3, nan_first, NAN);
        run_row(t, IR_OP_MIN, dt, 3, nan_last, NAN);
        run_row(t, IR_OP_MAX, dt, 2, ninf, -INFINITY);
        run_row(t, IR_OP_MIN, dt, 2, ninf, -INFINITY);
        run_row(t, IR_OP_MAX, dt, 2, pinf, INFINITY);
        run_row(t, IR_OP_MIN, dt, 2, pinf, 3);
        run_row(t, IR_OP_SUM, dt, 3, nan_last, NAN);
        run_row(t, IR_OP_MEAN, dt, 2, pinf, INFINITY);
    }
    run_row(t, IR_OP_MAX, KILN_I32, 3, i32, 2147483647.0);
    run_row(t, IR_OP_MIN, KILN_I32, 3, i32, -2147483648.0);
}

/* ---- argmax --------------------------------------------------------- */

static void argmax_expected(const shape *s, int axis, const double *x,
                            double *want)
{
    int64_t kd[3];
    int kr = reduced_shape(s, 1u << axis, true, kd);
    int64_t no = oh_numel(kr, kd);
    for (int64_t o = 0; o < no; o++) {
        int64_t idx[3];
        oh_unflatten(kr, kd, o, idx);
        int64_t best = 0;
        for (int64_t k = 0; k < s->dims[axis]; k++) {
            idx[axis] = k;
            double v = x[oh_flatten(s->rank, s->dims, idx)];
            idx[axis] = best;
            double b = x[oh_flatten(s->rank, s->dims, idx)];
            if (v > b) /* strictly greater: ties keep the first index */
                best = k;
        }
        want[o] = (double)best;
    }
}

/* Small integer data, so most rows have ties. */
static void argmax_every_axis(oh_t *t)
{
    uint64_t rng = 0xa59a;
    for (int k = 0; k < 3; k++)
        for (size_t si = 0; si < NSHAPES; si++) {
            const shape *s = &shapes[si];
            if (s->rank == 0)
                continue;
            double x[NMAX], want[NMAX], got[NMAX];
            int64_t n = oh_numel(s->rank, s->dims);
            oh_fill(&rng, KILN_I32, -1, 2, x, n);
            for (int axis = 0; axis < s->rank; axis++)
                for (int keep = 0; keep < 2; keep++)
                    for (int neg = 0; neg < 2; neg++) {
                        int64_t yd[3];
                        int yr = reduced_shape(s, 1u << axis, keep, yd);
                        int64_t ny = oh_numel(yr, yd);
                        argmax_expected(s, axis, x, want);
                        oh_ctx c;
                        oh_begin(&c, t);
                        kiln_node y = kiln_argmax(
                            c.g, oh_in(&c, dtypes[k], s->rank, s->dims, x),
                            neg ? axis - s->rank : axis, keep);
                        oh_graph_ok(&c);
                        int64_t gd[KILN_MAX_RANK];
                        assert_int_equal(kiln_node_shape(c.g, y, gd), yr);
                        for (int d = 0; d < yr; d++)
                            assert_int_equal(gd[d], yd[d]);
                        assert_int_equal(kiln_node_dtype(c.g, y), KILN_I32);
                        oh_eval(&c, y, got, ny);
                        char what[64];
                        snprintf(what, sizeof what,
                                 "argmax %s shape %zu axis %d keep %d",
                                 kiln_dtype_name(dtypes[k]), si, axis, keep);
                        oh_check_exact(what, got, want, ny);
                        oh_end(&c);
                    }
        }
}

/* Hand-written rows: ties take the first index; an all -inf row gives 0;
 * the first NaN counts as the maximum (numpy's rule; kiln.h says only
 * "first maximum", the evaluator documents NaN). */
static void argmax_by_hand(oh_t *t)
{
    static const struct {
        int n;
        double x[5], want;
    } rows[] = {
        {4, {1, 3, 3, 2}, 1},
        {2, {-INFINITY, -INFINITY}, 0},
        {4, {1, NAN, 5, NAN}, 1},
        {3, {-1, -1, -1}, 0},
        {5, {0, -2, 7, 7, 6.5}, 2},
        {1, {-5}, 0},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int k = 0; k < 2; k++) {
            double got;
            int64_t n = rows[r].n;
            oh_ctx c;
            oh_begin(&c, t);
            oh_eval(&c, kiln_argmax(c.g, oh_in(&c, dtypes[k], 1, &n, rows[r].x),
                                    0, 0),
                    &got, 1);
            char what[32];
            snprintf(what, sizeof what, "argmax row %zu", r);
            oh_check_exact(what, &got, &rows[r].want, 1);
            oh_end(&c);
        }
}

const oh_case oh_cases_reduce[] = {
    {"sum_every_axis_combination", IR_OP_SUM, reduce_every_axis_combination},
    {"mean_every_axis_combination", IR_OP_MEAN, reduce_every_axis_combination},
    {"max_every_axis_combination", IR_OP_MAX, reduce_every_axis_combination},
    {"min_every_axis_combination", IR_OP_MIN, reduce_every_axis_combination},
    {"sum_f32_long_rows", IR_OP_SUM, reduce_f32_long_rows},
    {"mean_f32_long_rows", IR_OP_MEAN, reduce_f32_long_rows},
    {"max_f32_long_rows", IR_OP_MAX, reduce_f32_long_rows},
    {"min_f32_long_rows", IR_OP_MIN, reduce_f32_long_rows},
    {"sum_i32_wraps", IR_OP_SUM, sum_i32_wraps},
    {"max_min_nan_and_inf", IR_OP_MAX, max_min_nan_and_inf},
    {"argmax_every_axis", IR_OP_ARGMAX, argmax_every_axis},
    {"argmax_by_hand", IR_OP_ARGMAX, argmax_by_hand},
    {NULL, 0, NULL},
};
