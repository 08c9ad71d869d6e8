/* cse.c — common-subexpression elimination.
 * Two nodes with the same op, type, inputs and attributes (and the same
 * bytes, for constants) compute the same value: every op is
 * deterministic, random ops included (their stream is keyed by their
 * inputs).  Later duplicates are redirected to the first; dce removes
 * them.  Inputs, params and assigns are never merged, nor is a named node
 * folded into another (names are kept for users and messages).
 * Requires: a valid graph.  Preserves: every value. */
#include <string.h>

#include "passes.h"

static bool same_i64(const int64_t *a, const int64_t *b, int n)
{
    return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

static bool attrs_equal(const ir_node *a, const ir_node *b)
{
    const ir_attr *x = &a->attr, *y = &b->attr;
    int r = a->type.rank;
    switch (ir_ops[a->op].attr) {
    case IR_ATTR_NONE: return true;
    case IR_ATTR_PERM:
        return memcmp(x->u.perm, y->u.perm, (size_t)r * sizeof(int)) == 0;
    case IR_ATTR_SLICE:
        return same_i64(x->u.slice.start, y->u.slice.start, r) &&
               same_i64(x->u.slice.stop, y->u.slice.stop, r) &&
               same_i64(x->u.slice.step, y->u.slice.step, r);
    case IR_ATTR_AXIS: return x->u.axis == y->u.axis;
    case IR_ATTR_PAD:
        return same_i64(x->u.pad.lo, y->u.pad.lo, r) &&
               same_i64(x->u.pad.hi, y->u.pad.hi, r) &&
               memcmp(&x->u.pad.value, &y->u.pad.value, sizeof(double)) == 0;
    case IR_ATTR_REDUCE:
        return x->u.reduce.mask == y->u.reduce.mask &&
               x->u.reduce.keepdims == y->u.reduce.keepdims;
    case IR_ATTR_PROB: return memcmp(&x->u.p, &y->u.p, sizeof(double)) == 0;
    case IR_ATTR_DATA:
        return memcmp(a->data, b->data,
                      (size_t)ir_numel(&a->type) *
                          kiln_dtype_size(a->type.dtype)) == 0;
    case IR_ATTR_INIT: return false;
    }
    return false;
}

static bool mergeable(const ir_node *n)
{
    return n->op != IR_OP_INPUT && n->op != IR_OP_PARAM &&
           n->op != IR_OP_ASSIGN && !n->name;
}

static bool equal(const ir_node *a, const ir_node *b)
{
    return a->op == b->op && ir_type_equal(&a->type, &b->type) &&
           a->nin == b->nin &&
           (a->nin == 0 ||
            memcmp(a->in, b->in, (size_t)a->nin * sizeof *a->in) == 0) &&
           attrs_equal(a, b);
}

static uint64_t hash(const ir_node *n)
{
    uint64_t h = 1469598103934665603ull;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
    MIX(n->op);
    MIX(n->type.dtype);
    for (int d = 0; d < n->type.rank; d++)
        MIX(n->type.dims[d]);
    for (int k = 0; k < n->nin; k++)
        MIX(n->in[k]);
#undef MIX
    return h;
}

kiln_status pass_cse(kiln_graph *g)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)g->count)
        cap *= 2;
    uint32_t *table = ir_alloc(g, cap * sizeof *table);
    if (!table)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "cse: out of memory"),
               g->status;
    for (size_t s = 0; s < cap; s++)
        table[s] = IR_NONE;
    for (uint32_t i = 0; i < g->count; i++) {
        const ir_node *n = &g->nodes[i];
        size_t s = hash(n) & (cap - 1);
        for (; table[s] != IR_NONE; s = (s + 1) & (cap - 1))
            if (mergeable(n) && equal(&g->nodes[table[s]], n))
                break;
        if (table[s] == IR_NONE)
            table[s] = i;
        else
            pass_replace_uses(g, i, table[s]);
    }
    ir_free(g, table);
    return KILN_OK;
}
