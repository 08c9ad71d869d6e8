/* eval_reduce.c — reference reductions: every input element is folded
 * into the output element it maps to, in input order, accumulating in
 * f64 (i32: int64, wrapped at the end). */
#include <math.h>
#include <string.h>

#include "eval.h"

/* Output offset of each input element: reduced axes get stride 0. */
static void reduce_strides(const ir_node *n, const ir_type *in, int64_t *s)
{
    int64_t os[KILN_MAX_RANK];
    ir_type kept = *in;
    for (int d = 0; d < in->rank; d++)
        if (n->attr.u.reduce.mask & (1u << d))
            kept.dims[d] = 1;
    ir_strides(&kept, os);
    for (int d = 0; d < in->rank; d++)
        s[d] = (n->attr.u.reduce.mask & (1u << d)) ? 0 : os[d];
}

static int64_t reduced_count(const ir_node *n, const ir_type *in)
{
    int64_t c = 1;
    for (int d = 0; d < in->rank; d++)
        if (n->attr.u.reduce.mask & (1u << d))
            c *= in->dims[d];
    return c;
}

static kiln_status sum_like(ir_eval *e, const ir_node *n, double *out,
                            bool mean)
{
    const ir_type *xt = EVAL_TYPE(e, n, 0);
    int64_t s[KILN_MAX_RANK], count = ir_numel(xt), outn = ir_numel(&n->type);
    reduce_strides(n, xt, s);
    const double *x = EVAL_IN(e, n, 0);
    memset(out, 0, (size_t)outn * sizeof *out);
    if (xt->dtype == KILN_I32) {
        /* int64 partial sums can't overflow for < 2^31 terms of i32 */
        for (int64_t i = 0; i < count; i++) {
            int64_t o = ir_offset(xt, s, i);
            out[o] = ir_wrap_i32((int64_t)out[o] + (int64_t)x[i]);
        }
        return KILN_OK;
    }
    for (int64_t i = 0; i < count; i++)
        out[ir_offset(xt, s, i)] += x[i];
    if (mean) {
        double c = (double)reduced_count(n, xt);
        for (int64_t o = 0; o < outn; o++)
            out[o] /= c;
    }
    return KILN_OK;
}

kiln_status eval_SUM(ir_eval *e, const ir_node *n, double *out)
{
    return sum_like(e, n, out, false);
}

kiln_status eval_MEAN(ir_eval *e, const ir_node *n, double *out)
{
    return sum_like(e, n, out, true);
}

/* max/min propagate NaN. */
static kiln_status extreme(ir_eval *e, const ir_node *n, double *out, int sign)
{
    const ir_type *xt = EVAL_TYPE(e, n, 0);
    int64_t s[KILN_MAX_RANK], count = ir_numel(xt), outn = ir_numel(&n->type);
    reduce_strides(n, xt, s);
    const double *x = EVAL_IN(e, n, 0);
    for (int64_t o = 0; o < outn; o++)
        out[o] = sign * -INFINITY;
    for (int64_t i = 0; i < count; i++) {
        double *o = &out[ir_offset(xt, s, i)];
        if (isnan(x[i]) || (!isnan(*o) && sign * x[i] > sign * *o))
            *o = x[i];
    }
    return KILN_OK;
}

kiln_status eval_MAX(ir_eval *e, const ir_node *n, double *out)
{
    return extreme(e, n, out, 1);
}

kiln_status eval_MIN(ir_eval *e, const ir_node *n, double *out)
{
    return extreme(e, n, out, -1);
}

/* Index of the first maximum along the one reduced axis; the first NaN
 * counts as the maximum (as numpy). */
kiln_status eval_ARGMAX(ir_eval *e, const ir_node *n, double *out)
{
    const ir_type *xt = EVAL_TYPE(e, n, 0);
    int64_t s[KILN_MAX_RANK], st[KILN_MAX_RANK], count = ir_numel(xt),
                                                 outn = ir_numel(&n->type);
    int axis = 0;
    while (!(n->attr.u.reduce.mask & (1u << axis)))
        axis++;
    reduce_strides(n, xt, s);
    ir_strides(xt, st);
    const double *x = EVAL_IN(e, n, 0);
    double *best = ir_alloc((kiln_graph *)e->g, (size_t)outn * sizeof *best);
    if (!best) {
        ir_eval_fail(e, n, "out of memory");
        return KILN_ERR_OUT_OF_MEMORY;
    }
    for (int64_t o = 0; o < outn; o++) {
        best[o] = -INFINITY;
        out[o] = -1;
    }
    for (int64_t i = 0; i < count; i++) {
        int64_t o = ir_offset(xt, s, i);
        int64_t k = (i / st[axis]) % xt->dims[axis];
        bool take = out[o] < 0 ||
                    (!isnan(best[o]) && (isnan(x[i]) || x[i] > best[o]));
        if (take) {
            best[o] = x[i];
            out[o] = (double)k;
        }
    }
    ir_free((kiln_graph *)e->g, best);
    return KILN_OK;
}
