/*
 * shape.c — dtype and shape rules, one per op family (the shape_rule
 * column of ops.def).  Each rule checks its node's inputs and attributes
 * and sets node->type; for IR_F_TYPED ops the caller's target type is
 * checked instead.  Messages name the op, the node and the types:
 *   matmul 'h1': inner dimensions differ: f32[128,784] x f32[785,256]
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

#define IN(i) (&g->nodes[n->in[i]].type)
#define TYPE_STR 128

/* Record "<op> <node>: <message>", where <node> is the node's user name,
 * the name the parser is building, or its future index. */
__attribute__((format(printf, 4, 5))) static bool
fail(kiln_graph *g, const ir_node *n, kiln_status s, const char *fmt, ...)
{
    char msg[400], who[KILN_MAX_NAME + 8];
    if (n->name)
        snprintf(who, sizeof who, "'%s'", n->name);
    else if (g->pending_name)
        snprintf(who, sizeof who, "'%s'", g->pending_name);
    else
        snprintf(who, sizeof who, "#%u", (unsigned)g->count);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ir_error(g, s, "%s %s: %s", ir_ops[n->op].name, who, msg);
}

/* Type text of input i, as "f32[2,3]". */
static const char *tin(kiln_graph *g, const ir_node *n, int i, char *buf)
{
    return ir_type_str(&g->nodes[n->in[i]].type, buf, TYPE_STR);
}

static bool want_float(kiln_graph *g, ir_node *n, int i)
{
    char b[TYPE_STR];
    if (!ir_dtype_is_float(IN(i)->dtype))
        return fail(g, n, KILN_ERR_DTYPE,
                    "needs a floating input (f32 or f64), got %s",
                    tin(g, n, i, b));
    return true;
}

static bool want_numeric(kiln_graph *g, ir_node *n, int i)
{
    char b[TYPE_STR];
    if (!ir_dtype_is_numeric(IN(i)->dtype))
        return fail(g, n, KILN_ERR_DTYPE,
                    "needs a numeric input (f32, f64 or i32), got %s",
                    tin(g, n, i, b));
    return true;
}

static bool same_dtype(kiln_graph *g, ir_node *n, int i, int j)
{
    char a[TYPE_STR], b[TYPE_STR];
    if (IN(i)->dtype != IN(j)->dtype)
        return fail(g, n, KILN_ERR_DTYPE,
                    "dtypes differ: %s and %s (use cast)", tin(g, n, i, a),
                    tin(g, n, j, b));
    return true;
}

static bool broadcast2(kiln_graph *g, ir_node *n, int i, int j, ir_type *out)
{
    char a[TYPE_STR], b[TYPE_STR];
    if (!ir_broadcast_shapes(IN(i), IN(j), out))
        return fail(g, n, KILN_ERR_SHAPE, "shapes do not broadcast: %s and %s",
                    tin(g, n, i, a), tin(g, n, j, b));
    return true;
}

/* The target type a typed op was given must be a legal tensor type. */
static bool target_ok(kiln_graph *g, ir_node *n)
{
    char what[80];
    if (!ir_dtype_valid(n->type.dtype))
        return fail(g, n, KILN_ERR_DTYPE, "invalid dtype %d",
                    (int)n->type.dtype);
    snprintf(what, sizeof what, "%s", ir_ops[n->op].name);
    return ir_check_shape(g, what, n->type.rank, n->type.dims);
}

static bool same_shape(const ir_type *a, const ir_type *b)
{
    if (a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

static bool want_scalar_i32(kiln_graph *g, ir_node *n, int i, const char *what)
{
    char b[TYPE_STR];
    if (IN(i)->dtype != KILN_I32 || IN(i)->rank != 0)
        return fail(g, n, KILN_ERR_DTYPE, "%s must be i32[], got %s", what,
                    tin(g, n, i, b));
    return true;
}

/* ---- leaves --------------------------------------------------------- */

bool shape_leaf(kiln_graph *g, ir_node *n)
{
    if (!target_ok(g, n))
        return false;
    if (n->op == IR_OP_PARAM && !ir_init_valid(g, &n->attr.u.init,
                                               n->type.dtype))
        return false;
    if (n->op == IR_OP_CONST && !n->data)
        return fail(g, n, KILN_ERR_INVALID_ARGUMENT, "data is NULL");
    return true;
}

/* ---- elementwise ---------------------------------------------------- */

bool shape_unary_float(kiln_graph *g, ir_node *n)
{
    if (!want_float(g, n, 0))
        return false;
    n->type = *IN(0);
    return true;
}

bool shape_unary_numeric(kiln_graph *g, ir_node *n)
{
    if (!want_numeric(g, n, 0))
        return false;
    n->type = *IN(0);
    return true;
}

bool shape_binary_numeric(kiln_graph *g, ir_node *n)
{
    return want_numeric(g, n, 0) && same_dtype(g, n, 0, 1) &&
           broadcast2(g, n, 0, 1, &n->type);
}

bool shape_binary_float(kiln_graph *g, ir_node *n)
{
    return want_float(g, n, 0) && same_dtype(g, n, 0, 1) &&
           broadcast2(g, n, 0, 1, &n->type);
}

bool shape_compare(kiln_graph *g, ir_node *n)
{
    if (!want_numeric(g, n, 0) || !same_dtype(g, n, 0, 1) ||
        !broadcast2(g, n, 0, 1, &n->type))
        return false;
    n->type.dtype = KILN_BOOL;
    return true;
}

bool shape_compare_eq(kiln_graph *g, ir_node *n)
{
    if (!same_dtype(g, n, 0, 1) || !broadcast2(g, n, 0, 1, &n->type))
        return false;
    n->type.dtype = KILN_BOOL;
    return true;
}

bool shape_select(kiln_graph *g, ir_node *n)
{
    char b[TYPE_STR];
    ir_type ab, all;
    if (IN(0)->dtype != KILN_BOOL)
        return fail(g, n, KILN_ERR_DTYPE, "condition must be bool, got %s",
                    tin(g, n, 0, b));
    if (!same_dtype(g, n, 1, 2) || !broadcast2(g, n, 1, 2, &ab))
        return false;
    if (!ir_broadcast_shapes(IN(0), &ab, &all))
        return fail(g, n, KILN_ERR_SHAPE,
                    "condition %s does not broadcast with the values",
                    tin(g, n, 0, b));
    all.dtype = IN(1)->dtype;
    n->type = all;
    return true;
}

bool shape_cast(kiln_graph *g, ir_node *n)
{
    char a[TYPE_STR], b[TYPE_STR];
    if (!ir_dtype_valid(n->type.dtype))
        return fail(g, n, KILN_ERR_DTYPE, "invalid target dtype %d",
                    (int)n->type.dtype);
    if (!same_shape(&n->type, IN(0)))
        return fail(g, n, KILN_ERR_SHAPE, "cast to %s changes the shape of %s",
                    ir_type_str(&n->type, a, sizeof a), tin(g, n, 0, b));
    return true;
}

/* ---- layout --------------------------------------------------------- */

bool shape_reshape(kiln_graph *g, ir_node *n)
{
    char a[TYPE_STR], b[TYPE_STR];
    if (!target_ok(g, n))
        return false;
    if (n->type.dtype != IN(0)->dtype ||
        ir_numel(&n->type) != ir_numel(IN(0)))
        return fail(g, n, KILN_ERR_SHAPE, "cannot reshape %s to %s",
                    tin(g, n, 0, b), ir_type_str(&n->type, a, sizeof a));
    return true;
}

bool shape_transpose(kiln_graph *g, ir_node *n)
{
    const ir_type *x = IN(0);
    unsigned seen = 0;
    for (int i = 0; i < x->rank; i++) {
        int p = n->attr.u.perm[i];
        if (p < 0 || p >= x->rank || (seen & (1u << p)))
            return fail(g, n, KILN_ERR_SHAPE,
                        "perm is not a permutation of 0..%d (entry %d is %d)",
                        x->rank - 1, i, p);
        seen |= 1u << p;
    }
    n->type = *x;
    for (int i = 0; i < x->rank; i++)
        n->type.dims[i] = x->dims[n->attr.u.perm[i]];
    return true;
}

bool shape_broadcast_to(kiln_graph *g, ir_node *n)
{
    char a[TYPE_STR], b[TYPE_STR];
    const ir_type *x = IN(0);
    if (!target_ok(g, n))
        return false;
    bool ok = n->type.dtype == x->dtype && n->type.rank >= x->rank;
    for (int i = 0; ok && i < x->rank; i++) {
        int64_t d = x->dims[i], t = n->type.dims[i + n->type.rank - x->rank];
        ok = d == t || d == 1;
    }
    if (!ok)
        return fail(g, n, KILN_ERR_SHAPE, "cannot broadcast %s to %s",
                    tin(g, n, 0, b), ir_type_str(&n->type, a, sizeof a));
    return true;
}

bool shape_slice(kiln_graph *g, ir_node *n)
{
    char b[TYPE_STR];
    const ir_type *x = IN(0);
    n->type = *x;
    for (int i = 0; i < x->rank; i++) {
        int64_t s = n->attr.u.slice.start[i], e = n->attr.u.slice.stop[i],
                st = n->attr.u.slice.step[i];
        if (st < 1 || s < 0 || s >= e || e > x->dims[i])
            return fail(g, n, KILN_ERR_SHAPE,
                        "axis %d: need 0 <= start < stop <= %lld and step >= 1, "
                        "got start %lld stop %lld step %lld on %s",
                        i, (long long)x->dims[i], (long long)s, (long long)e,
                        (long long)st, tin(g, n, 0, b));
        n->type.dims[i] = (e - s + st - 1) / st;
    }
    for (int i = x->rank; i < KILN_MAX_RANK; i++) {
        n->attr.u.slice.start[i] = n->attr.u.slice.stop[i] = 0;
        n->attr.u.slice.step[i] = 0;
    }
    return true;
}

bool shape_concat(kiln_graph *g, ir_node *n)
{
    char a[TYPE_STR], b[TYPE_STR];
    const ir_type *x = IN(0);
    int axis = n->attr.u.axis;
    if (x->rank < 1 || axis < 0 || axis >= x->rank)
        return fail(g, n, KILN_ERR_SHAPE, "axis %d is out of range for %s",
                    axis, tin(g, n, 0, a));
    n->type = *x;
    for (int k = 1; k < n->nin; k++) {
        const ir_type *y = IN(k);
        if (!same_dtype(g, n, 0, k))
            return false;
        bool ok = y->rank == x->rank;
        for (int i = 0; ok && i < x->rank; i++)
            ok = i == axis || y->dims[i] == x->dims[i];
        if (!ok)
            return fail(g, n, KILN_ERR_SHAPE,
                        "input %d %s does not fit %s outside axis %d", k,
                        tin(g, n, k, b), tin(g, n, 0, a), axis);
        n->type.dims[axis] += y->dims[axis];
        if (n->type.dims[axis] > IR_MAX_NUMEL)
            return fail(g, n, KILN_ERR_SHAPE, "result is too large");
    }
    return ir_check_shape(g, "concat", n->type.rank, n->type.dims);
}

bool shape_pad(kiln_graph *g, ir_node *n)
{
    const ir_type *x = IN(0);
    n->type = *x;
    for (int i = 0; i < x->rank; i++) {
        int64_t lo = n->attr.u.pad.lo[i], hi = n->attr.u.pad.hi[i];
        if (lo < 0 || hi < 0 || lo > IR_MAX_NUMEL || hi > IR_MAX_NUMEL)
            return fail(g, n, KILN_ERR_SHAPE,
                        "axis %d: padding must be in 0..2^40, got %lld and %lld",
                        i, (long long)lo, (long long)hi);
        n->type.dims[i] += lo + hi;
    }
    for (int i = x->rank; i < KILN_MAX_RANK; i++)
        n->attr.u.pad.lo[i] = n->attr.u.pad.hi[i] = 0;
    return ir_check_shape(g, "pad", n->type.rank, n->type.dims);
}

/* ---- reductions ----------------------------------------------------- */

static bool reduce_type(kiln_graph *g, ir_node *n)
{
    const ir_type *x = IN(0);
    uint32_t mask = n->attr.u.reduce.mask;
    if (mask >> x->rank)
        return fail(g, n, KILN_ERR_SHAPE,
                    "reduced axes mask %#x is out of range for rank %d",
                    (unsigned)mask, x->rank);
    ir_type t = {x->dtype, 0, {0}};
    for (int i = 0; i < x->rank; i++) {
        if (!(mask & (1u << i)))
            t.dims[t.rank++] = x->dims[i];
        else if (n->attr.u.reduce.keepdims)
            t.dims[t.rank++] = 1;
    }
    n->type = t;
    return true;
}

bool shape_reduce_numeric(kiln_graph *g, ir_node *n)
{
    return want_numeric(g, n, 0) && reduce_type(g, n);
}

bool shape_reduce_float(kiln_graph *g, ir_node *n)
{
    return want_float(g, n, 0) && reduce_type(g, n);
}

bool shape_argmax(kiln_graph *g, ir_node *n)
{
    uint32_t m = n->attr.u.reduce.mask;
    if (!want_numeric(g, n, 0))
        return false;
    if (m == 0 || (m & (m - 1)))
        return fail(g, n, KILN_ERR_SHAPE, "needs exactly one axis");
    if (!reduce_type(g, n))
        return false;
    n->type.dtype = KILN_I32;
    return true;
}

/* ---- contraction ---------------------------------------------------- */

bool shape_matmul(kiln_graph *g, ir_node *n)
{
    char a[TYPE_STR], b[TYPE_STR];
    const ir_type *x = IN(0), *y = IN(1);
    if (!want_numeric(g, n, 0) || !same_dtype(g, n, 0, 1))
        return false;
    if (x->rank < 2 || y->rank < 2)
        return fail(g, n, KILN_ERR_SHAPE,
                    "operands need rank >= 2: %s x %s", tin(g, n, 0, a),
                    tin(g, n, 1, b));
    if (x->dims[x->rank - 1] != y->dims[y->rank - 2])
        return fail(g, n, KILN_ERR_SHAPE, "inner dimensions differ: %s x %s",
                    tin(g, n, 0, a), tin(g, n, 1, b));
    ir_type bx = *x, by = *y, out;
    bx.rank -= 2;
    by.rank -= 2;
    if (!ir_broadcast_shapes(&bx, &by, &out))
        return fail(g, n, KILN_ERR_SHAPE,
                    "batch dimensions do not broadcast: %s x %s",
                    tin(g, n, 0, a), tin(g, n, 1, b));
    out.dims[out.rank++] = x->dims[x->rank - 2];
    out.dims[out.rank++] = y->dims[y->rank - 1];
    out.dtype = x->dtype;
    n->type = out;
    return ir_check_shape(g, "matmul", out.rank, out.dims);
}

/* ---- composite ------------------------------------------------------ */

bool shape_softmax(kiln_graph *g, ir_node *n)
{
    char a[TYPE_STR];
    if (!want_float(g, n, 0))
        return false;
    if (n->attr.u.axis < 0 || n->attr.u.axis >= IN(0)->rank)
        return fail(g, n, KILN_ERR_SHAPE, "axis %d is out of range for %s",
                    n->attr.u.axis, tin(g, n, 0, a));
    n->type = *IN(0);
    return true;
}

bool shape_softmax_ce(kiln_graph *g, ir_node *n)
{
    char a[TYPE_STR], b[TYPE_STR];
    const ir_type *x = IN(0), *y = IN(1);
    if (!want_float(g, n, 0))
        return false;
    if (x->rank != 2 || y->rank != 1 || y->dtype != KILN_I32 ||
        y->dims[0] != x->dims[0])
        return fail(g, n, KILN_ERR_SHAPE,
                    "needs logits [N,C] and i32 labels [N], got %s and %s",
                    tin(g, n, 0, a), tin(g, n, 1, b));
    n->type = (ir_type){x->dtype, 0, {0}};
    return true;
}

bool shape_one_hot(kiln_graph *g, ir_node *n)
{
    char a[TYPE_STR], b[TYPE_STR];
    const ir_type *x = IN(0);
    if (x->dtype != KILN_I32)
        return fail(g, n, KILN_ERR_DTYPE, "labels must be i32, got %s",
                    tin(g, n, 0, b));
    if (!target_ok(g, n))
        return false;
    bool ok = n->type.rank == x->rank + 1;
    for (int i = 0; ok && i < x->rank; i++)
        ok = n->type.dims[i] == x->dims[i];
    if (!ok)
        return fail(g, n, KILN_ERR_SHAPE,
                    "result %s must be the labels' shape %s plus a depth axis",
                    ir_type_str(&n->type, a, sizeof a), tin(g, n, 0, b));
    return true;
}

/* ---- random and state ---------------------------------------------- */

bool shape_random_uniform(kiln_graph *g, ir_node *n)
{
    if (!target_ok(g, n) || !want_scalar_i32(g, n, 0, "seed") ||
        !want_scalar_i32(g, n, 1, "offset"))
        return false;
    if (!ir_dtype_is_float(n->type.dtype))
        return fail(g, n, KILN_ERR_DTYPE, "result must be f32 or f64, not %s",
                    kiln_dtype_name(n->type.dtype));
    return true;
}

bool shape_bernoulli(kiln_graph *g, ir_node *n)
{
    if (!target_ok(g, n) || !want_scalar_i32(g, n, 0, "seed") ||
        !want_scalar_i32(g, n, 1, "offset"))
        return false;
    if (n->type.dtype != KILN_BOOL)
        return fail(g, n, KILN_ERR_DTYPE, "result must be bool, not %s",
                    kiln_dtype_name(n->type.dtype));
    double p = n->attr.u.p;
    if (!(p >= 0 && p <= 1))
        return fail(g, n, KILN_ERR_INVALID_ARGUMENT,
                    "probability %g is outside [0, 1]", p);
    return true;
}

bool shape_assign(kiln_graph *g, ir_node *n)
{
    char a[TYPE_STR], b[TYPE_STR];
    const ir_node *target = &g->nodes[n->in[0]];
    if (target->op != IR_OP_PARAM)
        return fail(g, n, KILN_ERR_INVALID_ARGUMENT,
                    "target must be a param, got a %s node",
                    ir_ops[target->op].name);
    if (!ir_type_equal(IN(0), IN(1)))
        return fail(g, n, KILN_ERR_SHAPE,
                    "value %s does not match param '%s' %s", tin(g, n, 1, b),
                    target->name ? target->name : "?", tin(g, n, 0, a));
    for (uint32_t i = 0; i < g->count; i++)
        if (g->nodes[i].op == IR_OP_ASSIGN && g->nodes[i].in[0] == n->in[0])
            return fail(g, n, KILN_ERR_INVALID_ARGUMENT,
                        "param '%s' is already assigned",
                        target->name ? target->name : "?");
    n->type = *IN(0);
    return true;
}

/* ---- dispatch ------------------------------------------------------- */

typedef bool (*shape_fn)(kiln_graph *g, ir_node *n);

static const shape_fn shape_rules[IR_OP_COUNT] = {
#define OP(id, text, arity, cat, attr, shape, vjp, flags) [IR_OP_##id] = shape,
#include "ops.def"
#undef OP
};

bool ir_infer(kiln_graph *g, ir_node *n)
{
    const ir_op_info *info = &ir_ops[n->op];
    if (info->arity >= 0 ? n->nin != info->arity : n->nin < 1)
        return fail(g, n, KILN_ERR_INVALID_ARGUMENT,
                    "takes %d inputs, got %d", info->arity, n->nin);
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] >= g->count)
            return fail(g, n, KILN_ERR_INVALID_ARGUMENT,
                        "input %d is not an earlier node", i);
    return shape_rules[n->op](g, n);
}
