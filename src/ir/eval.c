/* eval.c — the reference evaluator's driver: value storage, dispatch
 * from ops.def, index helpers, leaves and state. */
#include <stdio.h>
#include <string.h>

#include "eval.h"

typedef kiln_status (*eval_fn)(ir_eval *e, const ir_node *n, double *out);

static const eval_fn eval_table[IR_OP_COUNT] = {
#define OP(id, text, arity, cat, attr, shape, vjp, flags) [IR_OP_##id] = eval_##id,
#include "ops.def"
#undef OP
};

void ir_to_doubles(kiln_dtype t, const void *src, int64_t n, double *dst)
{
    for (int64_t i = 0; i < n; i++) {
        switch (t) {
        case KILN_F32: dst[i] = ((const float *)src)[i]; break;
        case KILN_F64: dst[i] = ((const double *)src)[i]; break;
        case KILN_I32: dst[i] = ((const int32_t *)src)[i]; break;
        case KILN_BOOL: dst[i] = ((const uint8_t *)src)[i] != 0; break;
        default: dst[i] = 0; break;
        }
    }
}

void ir_from_doubles(kiln_dtype t, const double *src, int64_t n, void *dst)
{
    for (int64_t i = 0; i < n; i++) {
        double v = ir_round_to(t, src[i]);
        switch (t) {
        case KILN_F32: ((float *)dst)[i] = (float)v; break;
        case KILN_F64: ((double *)dst)[i] = v; break;
        case KILN_I32: ((int32_t *)dst)[i] = (int32_t)v; break;
        case KILN_BOOL: ((uint8_t *)dst)[i] = v != 0; break;
        default: break;
        }
    }
}

void ir_strides(const ir_type *t, int64_t *strides)
{
    int64_t s = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= t->dims[i];
    }
}

void ir_broadcast_strides(const ir_type *in, const ir_type *out,
                          int64_t *strides)
{
    int64_t own[KILN_MAX_RANK];
    ir_strides(in, own);
    int shift = out->rank - in->rank;
    for (int i = 0; i < out->rank; i++) {
        int j = i - shift;
        strides[i] = (j < 0 || in->dims[j] == 1) ? 0 : own[j];
    }
}

int64_t ir_offset(const ir_type *out, const int64_t *strides, int64_t i)
{
    int64_t off = 0;
    for (int d = out->rank - 1; d >= 0; d--) {
        off += (i % out->dims[d]) * strides[d];
        i /= out->dims[d];
    }
    return off;
}

double ir_wrap_i32(int64_t v) { return (double)(int32_t)(uint32_t)(uint64_t)v; }

kiln_status ir_eval_fail(ir_eval *e, const ir_node *n, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n->name)
        snprintf(e->err, e->errlen, "%s '%s': %s", ir_ops[n->op].name,
                 n->name, msg);
    else
        snprintf(e->err, e->errlen, "%s #%u: %s", ir_ops[n->op].name,
                 (unsigned)(n - e->g->nodes), msg);
    return KILN_ERR_RUNTIME;
}

kiln_status ir_eval_graph(kiln_graph *g, double **val, char *err,
                          size_t errlen)
{
    ir_eval e = {g, val, err, errlen};
    if (errlen)
        err[0] = 0;
    for (uint32_t i = 0; i < g->count; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->op == IR_OP_INPUT || n->op == IR_OP_PARAM) {
            if (!val[i]) {
                snprintf(err, errlen, "%s '%s' has no value",
                         ir_ops[n->op].name, n->name ? n->name : "?");
                return KILN_ERR_INVALID_ARGUMENT;
            }
            continue;
        }
        int64_t numel = ir_numel(&n->type);
        if (!val[i]) {
            val[i] = ir_alloc(g, (size_t)numel * sizeof(double));
            if (!val[i]) {
                snprintf(err, errlen, "out of memory evaluating %s #%u",
                         ir_ops[n->op].name, (unsigned)i);
                return KILN_ERR_OUT_OF_MEMORY;
            }
        }
        kiln_status s = eval_table[n->op](&e, n, val[i]);
        if (s != KILN_OK)
            return s;
        for (int64_t k = 0; k < numel; k++)
            val[i][k] = ir_round_to(n->type.dtype, val[i][k]);
    }
    return KILN_OK;
}

void ir_eval_release(kiln_graph *g, double **val)
{
    if (!val)
        return;
    for (uint32_t i = 0; i < g->count; i++)
        ir_free(g, val[i]);
    ir_free(g, val);
}

/* ---- leaves and state ---------------------------------------------- */

kiln_status eval_INPUT(ir_eval *e, const ir_node *n, double *out)
{
    (void)out;
    return ir_eval_fail(e, n, "inputs are bound, not evaluated");
}

kiln_status eval_PARAM(ir_eval *e, const ir_node *n, double *out)
{
    (void)out;
    return ir_eval_fail(e, n, "params are bound, not evaluated");
}

kiln_status eval_CONST(ir_eval *e, const ir_node *n, double *out)
{
    (void)e;
    ir_to_doubles(n->type.dtype, n->data, ir_numel(&n->type), out);
    return KILN_OK;
}

/* The assign node's value is the param's next value; the program copies
 * it into the param after the run. */
kiln_status eval_ASSIGN(ir_eval *e, const ir_node *n, double *out)
{
    memcpy(out, EVAL_IN(e, n, 1), (size_t)ir_numel(&n->type) * sizeof *out);
    return KILN_OK;
}
