/* fold.c — constant folding with the reference evaluator.
 * Requires: a valid graph.  A node whose inputs are all constants becomes
 * a constant holding exactly what the reference evaluator computes, when
 * that does not grow the constant data (output no larger than its largest
 * input, or at most FOLD_SMALL elements).  Random ops and state are never
 * folded.  Preserves: every value. */
#include <stdio.h>
#include <string.h>

#include "ir/eval.h"
#include "passes.h"

#define FOLD_SMALL 64

typedef kiln_status (*eval_fn)(ir_eval *e, const ir_node *n, double *out);

static const eval_fn evaluators[IR_OP_COUNT] = {
#define OP(id, text, arity, cat, attr, shape, vjp, flags) [IR_OP_##id] = eval_##id,
#include "ir/ops.def"
#undef OP
};

static bool foldable(const kiln_graph *g, const ir_node *n)
{
    ir_category c = ir_ops[n->op].category;
    if (c == IR_CAT_SOURCE || c == IR_CAT_RANDOM || c == IR_CAT_OPAQUE ||
        n->nin == 0)
        return false;
    int64_t biggest = 0;
    for (int k = 0; k < n->nin; k++) {
        const ir_node *in = &g->nodes[n->in[k]];
        if (in->op != IR_OP_CONST)
            return false;
        int64_t m = ir_numel(&in->type);
        biggest = m > biggest ? m : biggest;
    }
    int64_t out = ir_numel(&n->type);
    return out <= biggest || out <= FOLD_SMALL;
}

/* Evaluate node i from its constant inputs. */
static kiln_status fold_node(kiln_graph *g, uint32_t i, double **val)
{
    const ir_node *n = &g->nodes[i];
    kiln_status s = KILN_OK;
    for (int k = 0; k < n->nin && s == KILN_OK; k++) {
        const ir_node *in = &g->nodes[n->in[k]];
        int64_t m = ir_numel(&in->type);
        if (val[n->in[k]])
            continue;
        val[n->in[k]] = ir_alloc(g, (size_t)m * sizeof(double));
        if (!val[n->in[k]])
            s = KILN_ERR_OUT_OF_MEMORY;
        else
            ir_to_doubles(in->type.dtype, in->data, m, val[n->in[k]]);
    }
    int64_t count = ir_numel(&n->type);
    double *out = s == KILN_OK ? ir_alloc(g, (size_t)count * sizeof *out) : NULL;
    if (!out)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "fold: out of memory"),
               g->status;
    char err[256];
    ir_eval e = {g, val, err, sizeof err};
    s = evaluators[n->op](&e, n, out);
    /* A run-time error (a bad label) is left for run time to report. */
    if (s == KILN_OK) {
        for (int64_t j = 0; j < count; j++)
            out[j] = ir_round_to(n->type.dtype, out[j]);
        s = pass_make_const(g, i, out);
    } else {
        s = KILN_OK;
    }
    ir_free(g, out);
    return s;
}

kiln_status pass_fold(kiln_graph *g)
{
    double **val = ir_alloc(g, (g->count ? g->count : 1) * sizeof *val);
    if (!val)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "fold: out of memory"),
               g->status;
    memset(val, 0, (g->count ? g->count : 1) * sizeof *val);
    kiln_status s = KILN_OK;
    for (uint32_t i = 0; i < g->count && s == KILN_OK; i++)
        if (foldable(g, &g->nodes[i]))
            s = fold_node(g, i, val);
    ir_eval_release(g, val);
    return s;
}
