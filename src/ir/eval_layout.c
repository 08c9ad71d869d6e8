/* eval_layout.c — reference semantics of the layout ops, by index
 * arithmetic on the output's multi-index. */
#include <string.h>

#include "eval.h"

/* Multi-index of flat index i in t (row-major). */
static void unflatten(const ir_type *t, int64_t i, int64_t *idx)
{
    for (int d = t->rank - 1; d >= 0; d--) {
        idx[d] = i % t->dims[d];
        i /= t->dims[d];
    }
}

kiln_status eval_RESHAPE(ir_eval *e, const ir_node *n, double *out)
{
    memcpy(out, EVAL_IN(e, n, 0), (size_t)ir_numel(&n->type) * sizeof *out);
    return KILN_OK;
}

kiln_status eval_TRANSPOSE(ir_eval *e, const ir_node *n, double *out)
{
    int64_t in_strides[KILN_MAX_RANK], s[KILN_MAX_RANK];
    ir_strides(EVAL_TYPE(e, n, 0), in_strides);
    for (int d = 0; d < n->type.rank; d++)
        s[d] = in_strides[n->attr.u.perm[d]];
    const double *x = EVAL_IN(e, n, 0);
    int64_t count = ir_numel(&n->type);
    for (int64_t i = 0; i < count; i++)
        out[i] = x[ir_offset(&n->type, s, i)];
    return KILN_OK;
}

kiln_status eval_BROADCAST_TO(ir_eval *e, const ir_node *n, double *out)
{
    int64_t s[KILN_MAX_RANK];
    ir_broadcast_strides(EVAL_TYPE(e, n, 0), &n->type, s);
    const double *x = EVAL_IN(e, n, 0);
    int64_t count = ir_numel(&n->type);
    for (int64_t i = 0; i < count; i++)
        out[i] = x[ir_offset(&n->type, s, i)];
    return KILN_OK;
}

kiln_status eval_SLICE(ir_eval *e, const ir_node *n, double *out)
{
    int64_t s[KILN_MAX_RANK], idx[KILN_MAX_RANK];
    ir_strides(EVAL_TYPE(e, n, 0), s);
    const double *x = EVAL_IN(e, n, 0);
    int64_t count = ir_numel(&n->type);
    for (int64_t i = 0; i < count; i++) {
        unflatten(&n->type, i, idx);
        int64_t off = 0;
        for (int d = 0; d < n->type.rank; d++)
            off += (n->attr.u.slice.start[d] + idx[d] * n->attr.u.slice.step[d]) *
                   s[d];
        out[i] = x[off];
    }
    return KILN_OK;
}

kiln_status eval_CONCAT(ir_eval *e, const ir_node *n, double *out)
{
    int axis = n->attr.u.axis;
    int64_t idx[KILN_MAX_RANK], count = ir_numel(&n->type);
    for (int64_t i = 0; i < count; i++) {
        unflatten(&n->type, i, idx);
        int k = 0;
        while (idx[axis] >= EVAL_TYPE(e, n, k)->dims[axis]) {
            idx[axis] -= EVAL_TYPE(e, n, k)->dims[axis];
            k++;
        }
        int64_t s[KILN_MAX_RANK], off = 0;
        ir_strides(EVAL_TYPE(e, n, k), s);
        for (int d = 0; d < n->type.rank; d++)
            off += idx[d] * s[d];
        out[i] = EVAL_IN(e, n, k)[off];
    }
    return KILN_OK;
}

kiln_status eval_PAD(ir_eval *e, const ir_node *n, double *out)
{
    const ir_type *xt = EVAL_TYPE(e, n, 0);
    int64_t s[KILN_MAX_RANK], idx[KILN_MAX_RANK], count = ir_numel(&n->type);
    ir_strides(xt, s);
    const double *x = EVAL_IN(e, n, 0);
    for (int64_t i = 0; i < count; i++) {
        unflatten(&n->type, i, idx);
        int64_t off = 0;
        bool inside = true;
        for (int d = 0; d < n->type.rank && inside; d++) {
            int64_t j = idx[d] - n->attr.u.pad.lo[d];
            inside = j >= 0 && j < xt->dims[d];
            off += j * s[d];
        }
        out[i] = inside ? x[off] : n->attr.u.pad.value;
    }
    return KILN_OK;
}
