/* dce.c — dead-code elimination.
 * Requires: a valid graph.  Keeps: outputs, assigns and everything they
 * use, and every input and param (they are the program's bindings).
 * Preserves: every output and every param update. */
#include <string.h>

#include "passes.h"

/* Mark what outputs and assigns need; NULL when out of memory. */
static bool *mark_live(kiln_graph *g)
{
    bool *live = ir_alloc(g, (g->count ? g->count : 1) * sizeof *live);
    if (!live)
        return NULL;
    for (uint32_t i = 0; i < g->count; i++) {
        ir_op op = g->nodes[i].op;
        live[i] = op == IR_OP_INPUT || op == IR_OP_PARAM || op == IR_OP_ASSIGN;
    }
    for (uint32_t o = 0; o < g->noutputs; o++)
        live[g->outputs[o].node] = true;
    for (uint32_t i = g->count; i-- > 0;)
        if (live[i])
            for (int k = 0; k < g->nodes[i].nin; k++)
                live[g->nodes[i].in[k]] = true;
    return live;
}

uint32_t pass_live_count(kiln_graph *g)
{
    bool *live = mark_live(g);
    uint32_t count = 0;
    for (uint32_t i = 0; live && i < g->count; i++)
        count += live[i];
    ir_free(g, live);
    return count;
}

kiln_status pass_dce(kiln_graph *g)
{
    bool *live = mark_live(g);
    if (!live)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "dce: out of memory"),
               g->status;
    kiln_status s = pass_compact(g, live);
    ir_free(g, live);
    return s;
}
