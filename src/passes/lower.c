/*
 * lower.c — graph IR to kernel IR, one kernel per node (unfused).
 *
 * Requires: a valid graph without composite ops (pass_decompose).  Makes a
 * k_program that owns the graph: inputs, params and constants become bound
 * buffers, every other value a temp computed by its own kernel, and each
 * assign an end-of-run copy into its param.  Layout ops become accesses of
 * a copy kernel here; fusion turns them into accesses of their consumers.
 */
#include <stdio.h>
#include <string.h>

#include "ir/kernel.h"
#include "passes.h"

static const ir_type *type_of(const k_program *p, uint32_t node)
{
    return &p->g->nodes[node].type;
}

/* An access of node `in` laid out row-major, read through `strides`. */
static int access(k_program *p, kernel *k, uint32_t in, int64_t offset,
                  const int64_t *strides)
{
    k_access a;
    memset(&a, 0, sizeof a);
    a.buf = p->node_buf[in];
    a.offset = offset;
    for (int d = 0; d < k->rank; d++)
        a.stride[d] = strides[d];
    return k_add_access(p, k, &a);
}

/* Read `in` broadcast against the kernel's domain (numpy rules). */
static int broadcast_access(k_program *p, kernel *k, uint32_t in)
{
    const ir_type *t = type_of(p, in);
    int64_t own[KILN_MAX_RANK], s[KILN_MAX_RANK];
    k_row_major(t, own);
    int shift = k->rank - t->rank;
    for (int d = 0; d < k->rank; d++) {
        int j = d - shift;
        s[d] = (j < 0 || t->dims[j] == 1) ? 0 : own[j];
    }
    return access(p, k, in, 0, s);
}

static int store_row_major(k_program *p, kernel *k, uint32_t node)
{
    int64_t s[KILN_MAX_RANK];
    k_row_major(type_of(p, node), s);
    return access(p, k, node, 0, s);
}

static kernel *map_kernel(k_program *p, uint32_t i)
{
    const ir_type *t = type_of(p, i);
    kernel *k = k_add_kernel(p, K_MAP, i, t->rank, t->dims);
    if (k)
        k->out = store_row_major(p, k, i);
    return k;
}

static bool lower_elementwise(k_program *p, uint32_t i)
{
    const ir_node n = p->g->nodes[i];
    kernel *k = map_kernel(p, i);
    int args[3];
    for (int j = 0; k && j < n.nin; j++)
        args[j] = k_load(p, k, broadcast_access(p, k, n.in[j]),
                         type_of(p, n.in[j])->dtype);
    return k && (k->value = k_op(p, k, n.op, n.type.dtype, n.nin, args)) >= 0;
}

/* reshape, transpose, broadcast_to, slice: one affine read. */
static bool lower_view(k_program *p, uint32_t i)
{
    const ir_node n = p->g->nodes[i];
    const ir_type *xt = type_of(p, n.in[0]);
    int64_t own[KILN_MAX_RANK], s[KILN_MAX_RANK], offset = 0;
    k_row_major(xt, own);
    kernel *k = map_kernel(p, i);
    if (!k)
        return false;
    int a;
    switch (n.op) {
    case IR_OP_RESHAPE:
        k_row_major(&n.type, s);
        a = access(p, k, n.in[0], 0, s);
        break;
    case IR_OP_TRANSPOSE:
        for (int d = 0; d < n.type.rank; d++)
            s[d] = own[n.attr.u.perm[d]];
        a = access(p, k, n.in[0], 0, s);
        break;
    case IR_OP_SLICE:
        for (int d = 0; d < n.type.rank; d++) {
            offset += n.attr.u.slice.start[d] * own[d];
            s[d] = n.attr.u.slice.step[d] * own[d];
        }
        a = access(p, k, n.in[0], offset, s);
        break;
    default: /* broadcast_to */
        a = broadcast_access(p, k, n.in[0]);
        break;
    }
    return (k->value = k_load(p, k, a, n.type.dtype)) >= 0;
}

/* A guarded read of `in` placed at `at` (per axis) inside the domain. */
static int placed_access(k_program *p, kernel *k, uint32_t in, const int64_t *at)
{
    const ir_type *t = type_of(p, in);
    k_access a;
    memset(&a, 0, sizeof a);
    a.buf = p->node_buf[in];
    a.guarded = true;
    k_row_major(t, a.stride);
    for (int d = 0; d < t->rank; d++) {
        a.offset -= at[d] * a.stride[d];
        a.lo[d] = at[d];
        a.hi[d] = at[d] + t->dims[d];
    }
    return k_add_access(p, k, &a);
}

static int inside(k_program *p, kernel *k, int acc)
{
    k_expr e = {.kind = KE_INSIDE, .dtype = KILN_BOOL, .acc = acc};
    return acc < 0 ? -1 : k_add_expr(p, k, &e);
}

static int select3(k_program *p, kernel *k, kiln_dtype t, int c, int a, int b)
{
    return k_op(p, k, IR_OP_SELECT, t, 3, (int[]){c, a, b});
}

static bool lower_pad(k_program *p, uint32_t i)
{
    const ir_node n = p->g->nodes[i];
    kernel *k = map_kernel(p, i);
    if (!k)
        return false;
    int a = placed_access(p, k, n.in[0], n.attr.u.pad.lo);
    int fill = k_const(p, k, n.type.dtype, n.attr.u.pad.value);
    k->value = select3(p, k, n.type.dtype, inside(p, k, a),
                       k_load(p, k, a, n.type.dtype), fill);
    return k->value >= 0;
}

static bool lower_concat(k_program *p, uint32_t i)
{
    const ir_node n = p->g->nodes[i];
    int axis = n.attr.u.axis;
    int64_t at[KILN_MAX_RANK] = {0};
    int acc[1024];
    kernel *k = map_kernel(p, i);
    for (int j = 0; k && j < n.nin; j++) {
        acc[j] = placed_access(p, k, n.in[j], at);
        at[axis] += type_of(p, n.in[j])->dims[axis];
    }
    if (!k)
        return false;
    int v = k_load(p, k, acc[n.nin - 1], n.type.dtype);
    for (int j = n.nin - 2; j >= 0; j--)
        v = select3(p, k, n.type.dtype, inside(p, k, acc[j]),
                    k_load(p, k, acc[j], n.type.dtype), v);
    return (k->value = v) >= 0;
}

static bool lower_reduce(k_program *p, uint32_t i)
{
    const ir_node n = p->g->nodes[i];
    const ir_type *xt = type_of(p, n.in[0]);
    kernel *k = k_add_kernel(p, K_REDUCE, i, xt->rank, xt->dims);
    if (!k)
        return false;
    uint32_t mask = n.attr.u.reduce.mask;
    int64_t s[KILN_MAX_RANK], kept[KILN_MAX_RANK];
    ir_type kt = *xt;
    for (int d = 0; d < xt->rank; d++)
        if (mask & (1u << d))
            kt.dims[d] = 1;
    k_row_major(&kt, kept);
    for (int d = 0; d < xt->rank; d++)
        s[d] = (mask & (1u << d)) ? 0 : kept[d];
    k->out = access(p, k, i, 0, s);
    k_row_major(xt, s);
    k->value = k_load(p, k, access(p, k, n.in[0], 0, s), xt->dtype);
    k->reduce_mask = mask;
    k->combiner = n.op == IR_OP_MEAN ? IR_OP_SUM : n.op;
    if (n.op == IR_OP_MEAN) {
        double count = (double)ir_numel(xt) / (double)ir_numel(&n.type);
        k_expr acc = {.kind = KE_ACC, .dtype = n.type.dtype};
        int args[2] = {k_add_expr(p, k, &acc),
                       k_const(p, k, n.type.dtype, count)};
        k->epilogue = k_op(p, k, IR_OP_DIV, n.type.dtype, 2, args);
        return k->epilogue >= 0;
    }
    return k->value >= 0;
}

/* Domain [batch.., M, N]; A is read at k = 0 and stepped by a_kstride. */
static bool lower_matmul(k_program *p, uint32_t i)
{
    const ir_node n = p->g->nodes[i];
    const ir_type *at = type_of(p, n.in[0]), *bt = type_of(p, n.in[1]);
    kernel *k = k_add_kernel(p, K_MATMUL, i, n.type.rank, n.type.dims);
    if (!k)
        return false;
    int r = n.type.rank;
    int64_t K = at->dims[at->rank - 1], N = bt->dims[bt->rank - 1];
    int64_t sa[KILN_MAX_RANK] = {0}, sb[KILN_MAX_RANK] = {0}, own[KILN_MAX_RANK];
    const ir_type *ops[2] = {at, bt};
    int64_t *dst[2] = {sa, sb};
    for (int o = 0; o < 2; o++) {
        const ir_type *t = ops[o];
        k_row_major(t, own);
        int shift = (r - 2) - (t->rank - 2);
        for (int d = 0; d < r - 2; d++) {
            int j = d - shift;
            dst[o][d] = (j < 0 || t->dims[j] == 1) ? 0 : own[j];
        }
    }
    sa[r - 2] = K; /* A[.., m, k]: row stride K, column stride 1 */
    sb[r - 1] = 1; /* B[.., k, n]: row stride N, column stride 1 */
    k->a = access(p, k, n.in[0], 0, sa);
    k->b = access(p, k, n.in[1], 0, sb);
    k->k_len = K;
    k->a_kstride = 1;
    k->b_kstride = N;
    k->out = store_row_major(p, k, i);
    return k->a >= 0 && k->b >= 0 && k->out >= 0;
}

static bool lower_one_hot(k_program *p, uint32_t i)
{
    const ir_node n = p->g->nodes[i];
    const ir_type *lt = type_of(p, n.in[0]);
    int64_t s[KILN_MAX_RANK] = {0};
    k_row_major(lt, s);
    s[n.type.rank - 1] = 0;
    kernel *k = map_kernel(p, i);
    if (!k)
        return false;
    k_expr index = {.kind = KE_INDEX, .dtype = KILN_I32, .axis = n.type.rank - 1};
    int args[2] = {k_load(p, k, access(p, k, n.in[0], 0, s), KILN_I32),
                   k_add_expr(p, k, &index)};
    int hit = k_op(p, k, IR_OP_EQ, KILN_BOOL, 2, args);
    k->value = k_op(p, k, IR_OP_CAST, n.type.dtype, 1, &hit);
    return k->value >= 0;
}

static bool lower_random(k_program *p, uint32_t i)
{
    const ir_node n = p->g->nodes[i];
    kernel *k = map_kernel(p, i);
    if (!k)
        return false;
    int64_t zero[KILN_MAX_RANK] = {0};
    k_access index;
    memset(&index, 0, sizeof index);
    index.buf = K_NO_BUFFER;
    k_row_major(&n.type, index.stride);
    k_expr e = {.kind = KE_RANDOM, .dtype = n.type.dtype, .nargs = 2,
                .acc = k_add_access(p, k, &index),
                .value = n.op == IR_OP_BERNOULLI ? n.attr.u.p : -1};
    e.args[0] = k_load(p, k, access(p, k, n.in[0], 0, zero), KILN_I32);
    e.args[1] = k_load(p, k, access(p, k, n.in[1], 0, zero), KILN_I32);
    if (e.acc < 0 || e.args[0] < 0 || e.args[1] < 0)
        return false;
    return (k->value = k_add_expr(p, k, &e)) >= 0;
}

static bool lower_node(k_program *p, uint32_t i)
{
    const ir_node *n = &p->g->nodes[i];
    switch (n->op) {
    case IR_OP_INPUT: return k_add_buffer(p, KB_INPUT, i) != K_NO_BUFFER;
    case IR_OP_PARAM: return k_add_buffer(p, KB_PARAM, i) != K_NO_BUFFER;
    case IR_OP_CONST: return k_add_buffer(p, KB_CONST, i) != K_NO_BUFFER;
    case IR_OP_ASSIGN: {
        k_copy c = {p->node_buf[n->in[0]], p->node_buf[n->in[1]]};
        k_copy *copies = ir_realloc(p->g, p->copies,
                                    (size_t)(p->ncopies + 1) * sizeof *copies);
        if (!copies)
            return ir_error(p->g, KILN_ERR_OUT_OF_MEMORY, "lower: out of memory");
        p->copies = copies;
        p->copies[p->ncopies++] = c;
        p->node_buf[i] = c.src; /* an assign's value is its new value */
        return true;
    }
    default: break;
    }
    if (k_add_buffer(p, KB_TEMP, i) == K_NO_BUFFER)
        return false;
    switch (ir_ops[n->op].category) {
    case IR_CAT_ELEMENTWISE: return lower_elementwise(p, i);
    case IR_CAT_REDUCTION: return lower_reduce(p, i);
    case IR_CAT_CONTRACTION: return lower_matmul(p, i);
    case IR_CAT_RANDOM: return lower_random(p, i);
    case IR_CAT_LAYOUT:
        if (n->op == IR_OP_PAD)
            return lower_pad(p, i);
        if (n->op == IR_OP_CONCAT)
            return lower_concat(p, i);
        return lower_view(p, i);
    default:
        if (n->op == IR_OP_ONE_HOT)
            return lower_one_hot(p, i);
        return ir_error(p->g, KILN_ERR_UNSUPPORTED,
                        "lower: %s #%u must be decomposed first",
                        ir_ops[n->op].name, (unsigned)i);
    }
}

k_program *pass_lower(kiln_graph *g)
{
    k_program *p = ir_alloc(g, sizeof *p);
    if (!p) {
        kiln_graph_free(g);
        return NULL;
    }
    memset(p, 0, sizeof *p);
    p->g = g;
    p->node_buf = ir_alloc(g, (g->count ? g->count : 1) * sizeof *p->node_buf);
    p->outputs = ir_alloc(g, (g->noutputs ? g->noutputs : 1) * sizeof *p->outputs);
    if (!p->node_buf || !p->outputs) {
        ir_error(g, KILN_ERR_OUT_OF_MEMORY, "lower: out of memory");
        return p;
    }
    for (uint32_t i = 0; i < g->count; i++)
        p->node_buf[i] = K_NO_BUFFER;
    for (uint32_t i = 0; i < g->count && g->status == KILN_OK; i++)
        if (!lower_node(p, i) && g->status == KILN_OK)
            ir_error(g, KILN_ERR_OUT_OF_MEMORY, "lower: out of memory");
    for (uint32_t o = 0; o < g->noutputs; o++)
        p->outputs[p->noutputs++] =
            (k_output){g->outputs[o].name, p->node_buf[g->outputs[o].node]};
    for (int j = 0; j < p->nk; j++)
        k_collapse(&p->k[j]);
    return p;
}

k_program *pass_lower_program(const kiln_graph *g, bool fuse, char *err,
                              size_t errlen)
{
    kiln_graph *dg = pass_decompose(g, err, errlen);
    if (!dg)
        return NULL;
    if (pass_simplify(dg, NULL, NULL) != KILN_OK) {
        snprintf(err, errlen, "%s", dg->error);
        kiln_graph_free(dg);
        return NULL;
    }
    k_program *p = fuse ? pass_fuse(dg, true) : pass_lower(dg);
    if (!p) {
        snprintf(err, errlen, "lower: out of memory");
        return NULL;
    }
    if (p->g->status != KILN_OK) {
        snprintf(err, errlen, "%s", p->g->error);
        k_program_free(p);
        return NULL;
    }
    k_plan_memory(p);
#ifndef NDEBUG
    /* every plan is proved before use in debug builds (and the tests) */
    if (k_check_plan(p, err, errlen) != KILN_OK) {
        k_program_free(p);
        return NULL;
    }
#endif
    return p;
}
