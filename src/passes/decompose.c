/* decompose.c — rewrite composite ops into primitive ones, for backends
 * that compile only primitives (the reference evaluator keeps them):
 *   softmax(x)     = e / sum(e),  e = exp(x - max(x))
 *   log_softmax(x) = x - max(x) - log(sum(exp(x - max(x))))
 *   softmax_cross_entropy(x, y) = -sum(one_hot(y) * log_softmax(x)) / N
 * (a label outside [0, C) then contributes 0 instead of a run-time error).
 * Requires: a valid graph.  Returns a new graph with the same inputs,
 * params, outputs and values (names kept), or NULL with the message in
 * err. */
#include <stdio.h>
#include <string.h>

#include "passes.h"

static kiln_node log_softmax(kiln_graph *g, kiln_node x, int axis)
{
    kiln_node m = kiln_max(g, x, 1, &axis, 1);
    kiln_node shifted = kiln_sub(g, x, m);
    kiln_node lse = kiln_log(g, kiln_sum(g, kiln_exp(g, shifted), 1, &axis, 1));
    return kiln_sub(g, shifted, lse);
}

static kiln_node expand(kiln_graph *g, const ir_node *n, const kiln_node *in)
{
    int axis = n->attr.u.axis;
    switch (n->op) {
    case IR_OP_SOFTMAX: {
        kiln_node m = kiln_max(g, in[0], 1, &axis, 1);
        kiln_node e = kiln_exp(g, kiln_sub(g, in[0], m));
        return kiln_div(g, e, kiln_sum(g, e, 1, &axis, 1));
    }
    case IR_OP_LOG_SOFTMAX:
        return log_softmax(g, in[0], axis);
    case IR_OP_SOFTMAX_CE: {
        const ir_type t = g->nodes[ir_index(g, in[0])].type;
        kiln_node ls = log_softmax(g, in[0], 1);
        kiln_node hot = kiln_one_hot(g, in[1], (int)t.dims[1], t.dtype);
        kiln_node total = kiln_sum(g, kiln_mul(g, hot, ls), 0, NULL, 0);
        return kiln_mul(g, total, kiln_scalar(g, t.dtype, -1.0 / (double)t.dims[0]));
    }
    default:
        return (kiln_node){0};
    }
}

/* Copy node n of src into g with inputs remapped. */
static uint32_t copy_node(kiln_graph *g, const ir_node *n, const uint32_t *map)
{
    uint32_t in[1024];
    ir_node proto = *n;
    for (int k = 0; k < n->nin; k++)
        in[k] = map[n->in[k]];
    proto.in = in;
    proto.data = NULL;
    if (n->data) {
        size_t bytes = (size_t)ir_numel(&n->type) * kiln_dtype_size(n->type.dtype);
        proto.data = ir_alloc(g, bytes);
        if (!proto.data)
            return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "decompose: out of memory"),
                   IR_NONE;
        memcpy(proto.data, n->data, bytes);
    }
    return ir_add_node(g, &proto);
}

kiln_graph *pass_decompose(const kiln_graph *src, char *err, size_t errlen)
{
    kiln_graph *g = kiln_graph_new_with_allocator(&src->alloc);
    uint32_t *map = g ? ir_alloc(g, (src->count ? src->count : 1) * sizeof *map)
                      : NULL;
    for (uint32_t i = 0; map && i < src->count && g->status == KILN_OK; i++) {
        const ir_node *n = &src->nodes[i];
        if (ir_ops[n->op].category != IR_CAT_COMPOSITE || n->op == IR_OP_ONE_HOT) {
            map[i] = copy_node(g, n, map);
            continue;
        }
        kiln_node in[2];
        for (int k = 0; k < n->nin; k++)
            in[k] = ir_handle(g, map[n->in[k]]);
        kiln_node out = expand(g, n, in);
        if (n->name)
            kiln_name(g, out, n->name);
        map[i] = ir_index(g, out);
    }
    for (uint32_t o = 0; map && o < src->noutputs && g->status == KILN_OK; o++)
        kiln_output(g, src->outputs[o].name, ir_handle(g, map[src->outputs[o].node]));
    if (!g || !map || g->status != KILN_OK) {
        snprintf(err, errlen, "decompose: %s",
                 g && map ? g->error : "out of memory");
        if (g)
            ir_free(g, map);
        kiln_graph_free(g);
        return NULL;
    }
    ir_free(g, map);
    return g;
}
