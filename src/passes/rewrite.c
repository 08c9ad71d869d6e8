/* rewrite.c — the small mutations passes share: redirect uses, turn a
 * node into a constant, and compact the node array after deletions. */
#include <string.h>

#include "ir/eval.h"
#include "passes.h"

void pass_replace_uses(kiln_graph *g, uint32_t from, uint32_t to)
{
    for (uint32_t i = from + 1; i < g->count; i++) {
        ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == from && !(n->op == IR_OP_ASSIGN && k == 0))
                n->in[k] = to;
    }
    for (uint32_t o = 0; o < g->noutputs; o++)
        if (g->outputs[o].node == from)
            g->outputs[o].node = to;
}

kiln_status pass_make_const(kiln_graph *g, uint32_t i, const double *values)
{
    ir_node *n = &g->nodes[i];
    int64_t numel = ir_numel(&n->type);
    void *data = ir_alloc(g, (size_t)numel * kiln_dtype_size(n->type.dtype));
    if (!data)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "fold: out of memory"),
               g->status;
    ir_from_doubles(n->type.dtype, values, numel, data);
    ir_free(g, n->in);
    ir_free(g, n->data);
    n->in = NULL;
    n->nin = 0;
    n->op = IR_OP_CONST;
    memset(&n->attr, 0, sizeof n->attr);
    n->data = data;
    return KILN_OK;
}

kiln_status pass_compact(kiln_graph *g, const bool *keep)
{
    uint32_t *map = ir_alloc(g, (g->count ? g->count : 1) * sizeof *map);
    if (!map)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "compact: out of memory"),
               g->status;
    uint32_t next = 0;
    for (uint32_t i = 0; i < g->count; i++) {
        ir_node *n = &g->nodes[i];
        if (!keep[i]) {
            ir_free(g, n->in);
            ir_free(g, n->name);
            ir_free(g, n->data);
            map[i] = IR_NONE;
            continue;
        }
        for (int k = 0; k < n->nin; k++)
            n->in[k] = map[n->in[k]];
        map[i] = next;
        g->nodes[next++] = *n;
    }
    g->count = next;
    for (uint32_t o = 0; o < g->noutputs; o++)
        g->outputs[o].node = map[g->outputs[o].node];
    ir_free(g, map);
    return KILN_OK;
}
