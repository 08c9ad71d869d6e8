/* verify.c — whole-graph invariants, for passes and tests: inputs come
 * earlier, each node's stored type is what its shape rule infers, names
 * are valid and unique, outputs refer to nodes.  Requires nothing;
 * changes nothing but the graph's sticky error. */
#include <string.h>

#include "ir.h"

kiln_status ir_verify(kiln_graph *g)
{
    if (g->status != KILN_OK)
        return g->status;
    for (uint32_t i = 0; i < g->count; i++) {
        const ir_node *n = &g->nodes[i];
        if ((unsigned)n->op >= IR_OP_COUNT) {
            ir_error(g, KILN_ERR_INVALID_ARGUMENT, "verify: node #%u has bad op",
                     (unsigned)i);
            return g->status;
        }
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] >= i) {
                ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                         "verify: %s #%u: input %d is not an earlier node",
                         ir_ops[n->op].name, (unsigned)i, k);
                return g->status;
            }
        if (n->name) {
            if (!ir_name_valid(n->name) || ir_find_name(g, n->name) != i) {
                ir_error(g, KILN_ERR_NAME,
                         "verify: %s #%u: bad or duplicate name '%s'",
                         ir_ops[n->op].name, (unsigned)i, n->name);
                return g->status;
            }
        } else if (n->op == IR_OP_INPUT || n->op == IR_OP_PARAM) {
            ir_error(g, KILN_ERR_NAME, "verify: %s #%u has no name",
                     ir_ops[n->op].name, (unsigned)i);
            return g->status;
        }
        /* Re-infer on a copy; assign's uniqueness check would see the
         * node itself, so count assign targets separately. */
        ir_node copy = *n;
        uint32_t saved = g->count;
        g->count = i; /* the rule sees only earlier nodes */
        bool ok = n->op == IR_OP_ASSIGN
                      ? g->nodes[n->in[0]].op == IR_OP_PARAM &&
                            ir_type_equal(&g->nodes[n->in[0]].type,
                                          &g->nodes[n->in[1]].type)
                      : ir_infer(g, &copy);
        g->count = saved;
        if (ok && !ir_type_equal(&copy.type, &n->type))
            ok = false;
        if (!ok) {
            char a[128], b[128];
            ir_error(g, KILN_ERR_SHAPE,
                     "verify: %s #%u: stored type %s, rule says %s",
                     ir_ops[n->op].name, (unsigned)i,
                     ir_type_str(&n->type, a, sizeof a),
                     ir_type_str(&copy.type, b, sizeof b));
            return g->status;
        }
        if (n->op == IR_OP_ASSIGN)
            for (uint32_t j = i + 1; j < g->count; j++)
                if (g->nodes[j].op == IR_OP_ASSIGN &&
                    g->nodes[j].in[0] == n->in[0]) {
                    ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                             "verify: param #%u is assigned twice",
                             (unsigned)n->in[0]);
                    return g->status;
                }
    }
    for (uint32_t i = 0; i < g->noutputs; i++)
        if (g->outputs[i].node >= g->count) {
            ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                     "verify: output '%s' refers to no node",
                     g->outputs[i].name);
            return g->status;
        }
    return KILN_OK;
}
