/*
 * grad.c — reverse-mode autodiff as a graph pass.
 *
 * Requires: a valid graph, a floating scalar loss, floating wrt nodes.
 * Appends: the adjoint of every node on a differentiable path from a wrt
 * node to the loss, built from ordinary ops by the VJP rules of ops.def
 * (vjp.c), so gradients can be differentiated again.  Existing nodes are
 * untouched.
 *
 * The walk visits the forward nodes once, in reverse creation order (a
 * reverse topological order); a node used several times accumulates its
 * adjoint with add.  Only nodes that both depend on a wrt node and
 * influence the loss get adjoints, so unrelated branches cost nothing.
 */
#include <string.h>

#include "passes.h"

static const pass_vjp_fn vjp_rules[IR_OP_COUNT] = {
#define OP(id, text, arity, cat, attr, shape, vjp, flags) [IR_OP_##id] = vjp,
#include "ir/ops.def"
#undef OP
};

bool pass_edge_differentiable(const kiln_graph *g, uint32_t i, int k)
{
    const ir_node *n = &g->nodes[i];
    if (!(ir_ops[n->op].flags & IR_F_DIFF))
        return false;
    if (n->op == IR_OP_SELECT && k == 0)
        return false;
    return ir_dtype_is_float(n->type.dtype) &&
           ir_dtype_is_float(g->nodes[n->in[k]].type.dtype);
}

kiln_node pass_unbroadcast(kiln_graph *g, kiln_node x, const ir_type *t)
{
    int64_t dims[KILN_MAX_RANK];
    int rank = kiln_node_shape(g, x, dims);
    if (rank < 0)
        return x;
    int axes[KILN_MAX_RANK], naxes = 0, lead = rank - t->rank;
    for (int d = 0; d < rank; d++)
        if (d < lead || (t->dims[d - lead] == 1 && dims[d] != 1))
            axes[naxes++] = d;
    if (naxes > 0)
        x = kiln_sum(g, x, naxes, axes, 1);
    if (rank != t->rank || naxes > 0)
        x = kiln_reshape(g, x, t->rank, t->dims);
    return x;
}

/* Name the op through which `w` reaches the loss without a gradient and
 * return true; false when every path is differentiable (its rules only
 * contributed zeros, as sign's does), so the gradient is a true zero. */
static bool blame(kiln_graph *g, uint32_t w, uint32_t loss, const bool *reach)
{
    bool *infl = ir_alloc(g, (loss + 1) * sizeof *infl);
    if (!infl)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "grad: out of memory"),
               true;
    memset(infl, 0, (loss + 1) * sizeof *infl);
    infl[w] = true;
    for (uint32_t i = w + 1; i <= loss; i++) {
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            if (!infl[n->in[k]])
                continue;
            infl[i] = true;
            if (reach[i] && !pass_edge_differentiable(g, i, k)) {
                char t[128];
                ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                         "grad: the loss depends on '%s' only through %s #%u "
                         "(%s), which is not differentiable",
                         g->nodes[w].name ? g->nodes[w].name : "?",
                         ir_ops[n->op].name, (unsigned)i,
                         ir_type_str(&n->type, t, sizeof t));
                ir_free(g, infl);
                return true;
            }
        }
    }
    ir_free(g, infl);
    return false;
}

typedef struct ad {
    kiln_graph *g;
    uint32_t loss;
    bool *reach;  /* influences the loss              */
    bool *active; /* depends differentiably on a wrt  */
    kiln_node *adj;
} ad;

static bool ad_init(ad *a, kiln_graph *g, uint32_t loss, int n,
                    const uint32_t *wrt)
{
    size_t count = loss + 1;
    a->g = g;
    a->loss = loss;
    a->reach = ir_alloc(g, count * sizeof *a->reach);
    a->active = ir_alloc(g, count * sizeof *a->active);
    a->adj = ir_alloc(g, count * sizeof *a->adj);
    if (!a->reach || !a->active || !a->adj)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "grad: out of memory");
    memset(a->reach, 0, count * sizeof *a->reach);
    memset(a->active, 0, count * sizeof *a->active);
    memset(a->adj, 0, count * sizeof *a->adj);
    a->reach[loss] = true;
    for (uint32_t i = loss + 1; i-- > 0;)
        if (a->reach[i])
            for (int k = 0; k < g->nodes[i].nin; k++)
                a->reach[g->nodes[i].in[k]] = true;
    for (int j = 0; j < n; j++)
        if (wrt[j] <= loss)
            a->active[wrt[j]] = true;
    for (uint32_t i = 0; i <= loss; i++)
        for (int k = 0; k < g->nodes[i].nin && !a->active[i]; k++)
            a->active[i] = a->active[g->nodes[i].in[k]] &&
                           pass_edge_differentiable(g, i, k);
    return true;
}

static void ad_free(ad *a)
{
    ir_free(a->g, a->reach);
    ir_free(a->g, a->active);
    ir_free(a->g, a->adj);
}

static bool needed(const ad *a, uint32_t i) { return a->reach[i] && a->active[i]; }

/* Push node i's adjoint to its inputs. */
static bool backprop_node(ad *a, uint32_t i)
{
    kiln_graph *g = a->g;
    int nin = g->nodes[i].nin;
    for (int k = 0; k < nin; k++) {
        uint32_t in = g->nodes[i].in[k];
        if (!needed(a, in) || !pass_edge_differentiable(g, i, k))
            continue;
        kiln_node c = vjp_rules[g->nodes[i].op](g, i, k, a->adj[i]);
        if (g->status != KILN_OK)
            return false;
        if (!kiln_node_valid(c))
            continue; /* a zero contribution */
        ir_type t = g->nodes[in].type;
        c = pass_unbroadcast(g, c, &t);
        a->adj[in] = kiln_node_valid(a->adj[in]) ? kiln_add(g, a->adj[in], c)
                                                 : c;
        if (g->status != KILN_OK)
            return false;
    }
    return true;
}

static kiln_status finish(ad *a, int n, const uint32_t *wrt, kiln_node *grads,
                          unsigned flags)
{
    kiln_graph *g = a->g;
    for (int j = 0; j < n && g->status == KILN_OK; j++) {
        uint32_t w = wrt[j];
        if (w <= a->loss && kiln_node_valid(a->adj[w])) {
            grads[j] = a->adj[w];
        } else if (w <= a->loss && a->reach[w] &&
                   blame(g, w, a->loss, a->reach)) {
            break;
        } else if ((w <= a->loss && a->reach[w]) ||
                   (flags & KILN_GRAD_ZEROS_FOR_UNUSED)) {
            ir_type t = g->nodes[w].type;
            grads[j] = kiln_fill(g, t.dtype, t.rank, t.dims, 0);
        } else {
            grads[j] = (kiln_node){0};
        }
    }
    return g->status;
}

static bool check_args(kiln_graph *g, kiln_node loss, int n,
                       const kiln_node *wrt, const kiln_node *grads,
                       uint32_t *L, uint32_t *w)
{
    char t[128];
    if (n < 0 || (n > 0 && (!wrt || !grads)))
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "grad: need n >= 0 and non-NULL wrt and grads");
    *L = ir_use(g, loss, "grad");
    if (*L == IR_NONE)
        return false;
    const ir_node *ln = &g->nodes[*L];
    if (ln->type.rank != 0 || !ir_dtype_is_float(ln->type.dtype))
        return ir_error(g, KILN_ERR_SHAPE,
                        "grad: the loss must be a floating scalar, but %s #%u "
                        "is %s",
                        ir_ops[ln->op].name, (unsigned)*L,
                        ir_type_str(&ln->type, t, sizeof t));
    for (int j = 0; j < n; j++) {
        w[j] = ir_use(g, wrt[j], "grad");
        if (w[j] == IR_NONE)
            return false;
        const ir_node *wn = &g->nodes[w[j]];
        if (!ir_dtype_is_float(wn->type.dtype))
            return ir_error(g, KILN_ERR_DTYPE,
                            "grad: cannot differentiate with respect to %s "
                            "'%s' of type %s (not floating)",
                            ir_ops[wn->op].name, wn->name ? wn->name : "?",
                            ir_type_str(&wn->type, t, sizeof t));
    }
    return true;
}

kiln_status kiln_grad(kiln_graph *g, kiln_node loss, int n,
                      const kiln_node *wrt, kiln_node *grads, unsigned flags)
{
    if (!g)
        return KILN_ERR_INVALID_ARGUMENT;
    if (g->status != KILN_OK)
        return g->status;
    uint32_t L = 0, *w = ir_alloc(g, (size_t)(n > 0 ? n : 1) * sizeof *w);
    if (!w)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "grad: out of memory"),
               g->status;
    ad a;
    memset(&a, 0, sizeof a);
    if (check_args(g, loss, n, wrt, grads, &L, w) && ad_init(&a, g, L, n, w)) {
        a.adj[L] = kiln_scalar(g, g->nodes[L].type.dtype, 1);
        for (uint32_t i = L + 1; i-- > 0 && g->status == KILN_OK;)
            if (needed(&a, i) && kiln_node_valid(a.adj[i]))
                backprop_node(&a, i);
        if (g->status == KILN_OK)
            finish(&a, n, w, grads, flags);
    }
    ad_free(&a);
    ir_free(g, w);
    return g->status;
}
