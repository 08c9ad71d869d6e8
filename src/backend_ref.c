/* backend_ref.c — the reference evaluator as a program backend: the
 * program keeps a snapshot of the graph and evaluates it on every run. */
#include <string.h>

#include "ir/eval.h"
#include "runtime/program.h"
#include "backends.h"

static kiln_status ref_run(kiln_program *p)
{
    kiln_graph *g = p->impl;
    double **val = ir_alloc(g, g->count * sizeof *val);
    if (!val)
        return rt_fail(p, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    memset(val, 0, g->count * sizeof *val);
    kiln_status s = KILN_OK;
    for (int i = 0; i < p->nbinds && s == KILN_OK; i++) {
        rt_binding *b = &p->binds[i];
        if (b->kind == 'o')
            continue;
        const ir_node *n = &g->nodes[b->node];
        int64_t numel = ir_numel(&n->type);
        val[b->node] = ir_alloc(g, (size_t)numel * sizeof(double));
        if (!val[b->node])
            s = rt_fail(p, KILN_ERR_OUT_OF_MEMORY, "out of memory");
        else
            ir_to_doubles(n->type.dtype, b->data, numel, val[b->node]);
    }
    if (s == KILN_OK) {
        s = ir_eval_graph(g, val, p->error, sizeof p->error);
    }
    if (s == KILN_OK) {
        for (int i = 0; i < p->nbinds; i++) {
            rt_binding *b = &p->binds[i];
            if (b->kind == 'o')
                ir_from_doubles(b->dtype, val[b->node],
                                ir_numel(&g->nodes[b->node].type), b->data);
        }
        /* Assigns read pre-run values (the evaluation is done), so they
         * can now be written in any order. */
        for (uint32_t j = 0; j < g->count; j++) {
            const ir_node *n = &g->nodes[j];
            if (n->op != IR_OP_ASSIGN)
                continue;
            for (int i = 0; i < p->nbinds; i++)
                if (p->binds[i].kind == 'p' && p->binds[i].node == n->in[0])
                    ir_from_doubles(n->type.dtype, val[j], ir_numel(&n->type),
                                    p->binds[i].data);
        }
    }
    ir_eval_release(g, val);
    return s;
}

static void ref_destroy(kiln_program *p) { kiln_graph_free(p->impl); }

static const rt_backend ref_backend = {.name = "ref", .run = ref_run, .destroy = ref_destroy};

bool kiln_backend_ref_attach(kiln_program *p, const kiln_graph *g)
{
    p->impl = ir_clone(g);
    if (!p->impl)
        return false;
    p->backend = &ref_backend;
    return true;
}
