/* algebra.c — algebraic identities, applied in place so the graph stays
 * in topological order (a node only ever gets pointed at earlier nodes):
 *   x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1, neg(neg x), cast to the same
 *   dtype, broadcast_to / reshape to the same shape, identity transpose -> x
 *   x * 0 -> 0 only when x is known finite (a finite constant, a uniform
 *   draw, a one_hot): for other x, inf * 0 and nan * 0 are nan
 *   transpose(transpose x) -> one transpose; reshape(reshape x) -> one
 *   an elementwise operand broadcast_to(scalar const) -> the scalar itself
 * Requires: a valid graph.  Preserves: every value (bit for bit, except
 * that x * 0 may give +0 where -0 was computed).  Dead
 * nodes are left for dce. */
#include <math.h>
#include <string.h>

#include "ir/eval.h"
#include "passes.h"

/* Is node i a constant whose every element equals v? */
static bool const_all(const kiln_graph *g, uint32_t i, double v)
{
    const ir_node *n = &g->nodes[i];
    if (n->op != IR_OP_CONST)
        return false;
    int64_t count = ir_numel(&n->type);
    for (int64_t j = 0; j < count; j++) {
        double x;
        ir_to_doubles(n->type.dtype,
                      (const char *)n->data + j * kiln_dtype_size(n->type.dtype),
                      1, &x);
        if (x != v || (v == 0 && signbit(x)))
            return false;
    }
    return true;
}

static bool known_finite(const kiln_graph *g, uint32_t i)
{
    const ir_node *n = &g->nodes[i];
    if (n->op == IR_OP_RANDOM_UNIFORM || n->op == IR_OP_ONE_HOT)
        return true;
    if (n->op != IR_OP_CONST)
        return false;
    int64_t count = ir_numel(&n->type);
    for (int64_t j = 0; j < count; j++) {
        double x;
        ir_to_doubles(n->type.dtype,
                      (const char *)n->data + j * kiln_dtype_size(n->type.dtype),
                      1, &x);
        if (!isfinite(x))
            return false;
    }
    return true;
}

static bool same_type(const kiln_graph *g, uint32_t a, uint32_t b)
{
    return ir_type_equal(&g->nodes[a].type, &g->nodes[b].type);
}

/* The input node i can be replaced by, or IR_NONE. */
static uint32_t identity_of(kiln_graph *g, uint32_t i)
{
    const ir_node *n = &g->nodes[i];
    uint32_t a = n->nin > 0 ? n->in[0] : IR_NONE;
    uint32_t b = n->nin > 1 ? n->in[1] : IR_NONE;
    switch (n->op) {
    case IR_OP_ADD:
        if (const_all(g, b, 0) && same_type(g, a, i))
            return a;
        if (const_all(g, a, 0) && same_type(g, b, i))
            return b;
        return IR_NONE;
    case IR_OP_SUB:
        return const_all(g, b, 0) && same_type(g, a, i) ? a : IR_NONE;
    case IR_OP_MUL:
        if (const_all(g, b, 1) && same_type(g, a, i))
            return a;
        if (const_all(g, a, 1) && same_type(g, b, i))
            return b;
        return IR_NONE;
    case IR_OP_DIV:
        return const_all(g, b, 1) && same_type(g, a, i) ? a : IR_NONE;
    case IR_OP_NEG:
        return g->nodes[a].op == IR_OP_NEG ? g->nodes[a].in[0] : IR_NONE;
    case IR_OP_CAST:
    case IR_OP_BROADCAST_TO:
    case IR_OP_RESHAPE:
        return same_type(g, a, i) ? a : IR_NONE;
    case IR_OP_TRANSPOSE:
        for (int d = 0; d < n->type.rank; d++)
            if (n->attr.u.perm[d] != d)
                return IR_NONE;
        return a;
    default:
        return IR_NONE;
    }
}

/* Rewrites of node i itself; true when something changed. */
static bool rewrite(kiln_graph *g, uint32_t i)
{
    ir_node *n = &g->nodes[i];
    if (n->op == IR_OP_TRANSPOSE && g->nodes[n->in[0]].op == IR_OP_TRANSPOSE) {
        const ir_node *inner = &g->nodes[n->in[0]];
        int perm[KILN_MAX_RANK];
        for (int d = 0; d < n->type.rank; d++)
            perm[d] = inner->attr.u.perm[n->attr.u.perm[d]];
        memcpy(n->attr.u.perm, perm, sizeof perm);
        n->in[0] = inner->in[0];
        return true;
    }
    if (n->op == IR_OP_RESHAPE && g->nodes[n->in[0]].op == IR_OP_RESHAPE) {
        n->in[0] = g->nodes[n->in[0]].in[0];
        return true;
    }
    if (n->op == IR_OP_MUL && ir_dtype_is_float(n->type.dtype)) {
        for (int k = 0; k < 2; k++)
            if (const_all(g, n->in[k], 0) && known_finite(g, n->in[1 - k])) {
                double *zeros = ir_alloc(g, (size_t)ir_numel(&n->type) *
                                                sizeof *zeros);
                if (!zeros)
                    return false;
                memset(zeros, 0, (size_t)ir_numel(&n->type) * sizeof *zeros);
                pass_make_const(g, i, zeros);
                ir_free(g, zeros);
                return true;
            }
    }
    if (ir_ops[n->op].category == IR_CAT_ELEMENTWISE && n->nin >= 2) {
        bool changed = false;
        for (int k = 0; k < n->nin; k++) {
            const ir_node *in = &g->nodes[n->in[k]];
            if (in->op != IR_OP_BROADCAST_TO ||
                g->nodes[in->in[0]].op != IR_OP_CONST ||
                g->nodes[in->in[0]].type.rank != 0)
                continue;
            /* Without the broadcast the result must keep its type. */
            uint32_t saved = n->in[k];
            n->in[k] = in->in[0];
            ir_node probe = *n;
            uint32_t count = g->count;
            g->count = i;
            bool ok = ir_infer(g, &probe) && ir_type_equal(&probe.type, &n->type);
            g->count = count;
            if (!ok) {
                n->in[k] = saved;
                kiln_graph_clear_error(g);
            }
            changed |= ok;
        }
        return changed;
    }
    return false;
}

kiln_status pass_algebra(kiln_graph *g)
{
    for (uint32_t i = 0; i < g->count && g->status == KILN_OK; i++) {
        while (rewrite(g, i))
            ;
        uint32_t to = identity_of(g, i);
        if (to != IR_NONE)
            pass_replace_uses(g, i, to);
    }
    return g->status;
}
