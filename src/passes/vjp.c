/*
 * vjp.c — the vector-Jacobian product of every differentiable op (the
 * vjp_rule column of ops.def), written with the public builders so that
 * gradients are ordinary, differentiable nodes.
 *
 * Each rule gets the forward node i, which input k to differentiate, and
 * the adjoint gy of node i.  Node pointers move when the graph grows, so
 * rules copy what they need before building.  Composite ops carry their
 * own numerically stable rules: softmax_cross_entropy's is
 * (softmax - one_hot) / N, never a path through exp or log of large values.
 */
#include <math.h>
#include <string.h>

#include "passes.h"

#define NODE (g->nodes[i])
#define X(k) ir_handle(g, g->nodes[i].in[k])
#define Y ir_handle(g, i)
#define S(v) kiln_scalar(g, g->nodes[i].type.dtype, (v))

kiln_node vjp_none(kiln_graph *g, uint32_t i, int k, kiln_node gy)
{
    (void)k;
    (void)gy;
    ir_error(g, KILN_ERR_INVALID_ARGUMENT, "grad: %s #%u is not differentiable",
             ir_ops[NODE.op].name, (unsigned)i);
    return (kiln_node){0};
}

/* ---- unary ---------------------------------------------------------- */

#define RULE(name) \
    kiln_node vjp_##name(kiln_graph *g, uint32_t i, int k, kiln_node gy)

RULE(exp) { (void)k; return kiln_mul(g, gy, Y); }
RULE(log) { (void)k; return kiln_div(g, gy, X(0)); }
RULE(log1p) { (void)k; return kiln_div(g, gy, kiln_add(g, X(0), S(1))); }
RULE(sqrt) { (void)k; return kiln_div(g, kiln_mul(g, gy, S(0.5)), Y); }
/* d/dx x^-1/2 = -1/2 y^3 */
RULE(rsqrt)
{
    (void)k;
    kiln_node y = Y;
    kiln_node y3 = kiln_mul(g, kiln_square(g, y), y);
    return kiln_mul(g, gy, kiln_mul(g, y3, S(-0.5)));
}
RULE(reciprocal)
{
    (void)k;
    return kiln_neg(g, kiln_mul(g, gy, kiln_square(g, Y)));
}
RULE(tanh)
{
    (void)k;
    return kiln_mul(g, gy, kiln_sub(g, S(1), kiln_square(g, Y)));
}
RULE(sigmoid)
{
    (void)k;
    kiln_node y = Y;
    return kiln_mul(g, gy, kiln_mul(g, y, kiln_sub(g, S(1), y)));
}
/* gelu = x/2 (1 + t), t = tanh(c (x + a x^3)):
 * gelu' = (1 + t)/2 + x/2 (1 - t^2) c (1 + 3 a x^2) */
RULE(gelu)
{
    (void)k;
    const double c = 0.79788456080286535588, a = 0.044715;
    kiln_node x = X(0), x2 = kiln_square(g, x);
    kiln_node u = kiln_mul(g, S(c), kiln_add(g, x, kiln_mul(g, S(a),
                                                            kiln_mul(g, x2, x))));
    kiln_node t = kiln_tanh(g, u);
    kiln_node left = kiln_mul(g, S(0.5), kiln_add(g, S(1), t));
    kiln_node du = kiln_mul(g, S(c), kiln_add(g, S(1), kiln_mul(g, S(3 * a), x2)));
    kiln_node right = kiln_mul(g, kiln_mul(g, S(0.5), x),
                               kiln_mul(g, kiln_sub(g, S(1), kiln_square(g, t)),
                                        du));
    return kiln_mul(g, gy, kiln_add(g, left, right));
}
RULE(sin) { (void)k; return kiln_mul(g, gy, kiln_cos(g, X(0))); }
RULE(cos) { (void)k; return kiln_neg(g, kiln_mul(g, gy, kiln_sin(g, X(0)))); }
RULE(neg) { (void)i, (void)k; return kiln_neg(g, gy); }
RULE(abs) { (void)k; return kiln_mul(g, gy, kiln_sign(g, X(0))); }
RULE(square) { (void)k; return kiln_mul(g, gy, kiln_mul(g, X(0), S(2))); }
RULE(relu)
{
    (void)k;
    return kiln_select(g, kiln_gt(g, X(0), S(0)), gy, S(0));
}
/* sign is piecewise constant: its gradient is zero. */
RULE(sign)
{
    (void)g, (void)i, (void)k, (void)gy;
    return (kiln_node){0};
}

/* ---- binary --------------------------------------------------------- */

RULE(add) { (void)g, (void)i, (void)k; return gy; }
RULE(sub) { (void)i; return k == 0 ? gy : kiln_neg(g, gy); }
RULE(mul) { return kiln_mul(g, gy, X(1 - k)); }
RULE(div)
{
    if (k == 0)
        return kiln_div(g, gy, X(1));
    return kiln_neg(g, kiln_div(g, kiln_mul(g, gy, Y), X(1)));
}
RULE(pow)
{
    kiln_node a = X(0), b = X(1);
    if (k == 0)
        return kiln_mul(g, gy, kiln_mul(g, b, kiln_pow(g, a, kiln_sub(g, b, S(1)))));
    return kiln_mul(g, gy, kiln_mul(g, Y, kiln_log(g, a)));
}
/* Ties go to the first operand. */
RULE(maximum)
{
    kiln_node first = kiln_ge(g, X(0), X(1));
    return k == 0 ? kiln_select(g, first, gy, S(0))
                  : kiln_select(g, first, S(0), gy);
}
RULE(minimum)
{
    kiln_node first = kiln_le(g, X(0), X(1));
    return k == 0 ? kiln_select(g, first, gy, S(0))
                  : kiln_select(g, first, S(0), gy);
}
RULE(select)
{
    return k == 1 ? kiln_select(g, X(0), gy, S(0))
                  : kiln_select(g, X(0), S(0), gy);
}
RULE(cast)
{
    (void)k;
    return kiln_cast(g, gy, g->nodes[NODE.in[0]].type.dtype);
}

/* ---- layout --------------------------------------------------------- */

RULE(reshape)
{
    (void)k;
    ir_type t = g->nodes[NODE.in[0]].type;
    return kiln_reshape(g, gy, t.rank, t.dims);
}
RULE(transpose)
{
    (void)k;
    int inv[KILN_MAX_RANK];
    for (int d = 0; d < NODE.type.rank; d++)
        inv[NODE.attr.u.perm[d]] = d;
    return kiln_transpose(g, gy, inv);
}
/* grad.c sums the stretched axes away. */
RULE(broadcast_to) { (void)g, (void)i, (void)k; return gy; }

/* Spread gy [.., m, ..] to [.., m*step, ..] with step-1 zeros after each
 * element, along `axis`. */
static kiln_node spread(kiln_graph *g, kiln_node x, int axis, int64_t step)
{
    int64_t dims[KILN_MAX_RANK + 1], lo[KILN_MAX_RANK + 1] = {0},
                                     hi[KILN_MAX_RANK + 1] = {0};
    int rank = kiln_node_shape(g, x, dims);
    if (rank >= KILN_MAX_RANK) {
        ir_error(g, KILN_ERR_UNSUPPORTED,
                 "grad: slice with step > 1 on a rank-%d tensor", rank);
        return (kiln_node){0};
    }
    memmove(dims + axis + 2, dims + axis + 1,
            (size_t)(rank - axis - 1) * sizeof *dims);
    dims[axis + 1] = 1;
    x = kiln_reshape(g, x, rank + 1, dims);
    hi[axis + 1] = step - 1;
    x = kiln_pad(g, x, lo, hi, 0);
    dims[axis] *= step;
    memmove(dims + axis + 1, dims + axis + 2,
            (size_t)(rank - axis - 1) * sizeof *dims);
    return kiln_reshape(g, x, rank, dims);
}

RULE(slice)
{
    (void)k;
    const ir_node n = NODE;
    const ir_type t = g->nodes[n.in[0]].type;
    int64_t lo[KILN_MAX_RANK], hi[KILN_MAX_RANK], start[KILN_MAX_RANK],
        stop[KILN_MAX_RANK], dims[KILN_MAX_RANK];
    kiln_node x = gy;
    for (int d = 0; d < t.rank; d++)
        if (n.attr.u.slice.step[d] > 1)
            x = spread(g, x, d, n.attr.u.slice.step[d]);
    kiln_node_shape(g, x, dims);
    bool cut = false;
    for (int d = 0; d < t.rank; d++) {
        int64_t room = t.dims[d] - n.attr.u.slice.start[d];
        start[d] = 0;
        stop[d] = dims[d] < room ? dims[d] : room;
        cut |= stop[d] < dims[d];
        lo[d] = n.attr.u.slice.start[d];
        hi[d] = room - stop[d];
    }
    if (cut)
        x = kiln_slice(g, x, start, stop, NULL);
    return kiln_pad(g, x, lo, hi, 0);
}

RULE(concat)
{
    const ir_node n = NODE;
    int axis = n.attr.u.axis;
    int64_t start[KILN_MAX_RANK] = {0}, stop[KILN_MAX_RANK];
    for (int d = 0; d < n.type.rank; d++)
        stop[d] = n.type.dims[d];
    for (int j = 0; j < k; j++)
        start[axis] += g->nodes[n.in[j]].type.dims[axis];
    stop[axis] = start[axis] + g->nodes[n.in[k]].type.dims[axis];
    return kiln_slice(g, gy, start, stop, NULL);
}

RULE(pad)
{
    (void)k;
    const ir_node n = NODE;
    const ir_type t = g->nodes[n.in[0]].type;
    int64_t start[KILN_MAX_RANK], stop[KILN_MAX_RANK];
    for (int d = 0; d < t.rank; d++) {
        start[d] = n.attr.u.pad.lo[d];
        stop[d] = start[d] + t.dims[d];
    }
    return kiln_slice(g, gy, start, stop, NULL);
}

/* ---- reductions ----------------------------------------------------- */

/* gy reshaped to the input's rank with reduced axes of size 1. */
static kiln_node keepdims(kiln_graph *g, uint32_t i, kiln_node gy)
{
    const ir_node n = NODE;
    ir_type t = g->nodes[n.in[0]].type;
    for (int d = 0; d < t.rank; d++)
        if (n.attr.u.reduce.mask & (1u << d))
            t.dims[d] = 1;
    return n.attr.u.reduce.keepdims ? gy : kiln_reshape(g, gy, t.rank, t.dims);
}

static int reduced_axes(const ir_node *n, int *axes)
{
    int count = 0;
    for (int d = 0; d < KILN_MAX_RANK; d++)
        if (n->attr.u.reduce.mask & (1u << d))
            axes[count++] = d;
    return count;
}

RULE(sum)
{
    (void)k;
    ir_type t = g->nodes[NODE.in[0]].type;
    return kiln_broadcast_to(g, keepdims(g, i, gy), t.rank, t.dims);
}

RULE(mean)
{
    (void)k;
    ir_type t = g->nodes[NODE.in[0]].type;
    double count = (double)ir_numel(&t) / (double)ir_numel(&NODE.type);
    kiln_node scaled = kiln_mul(g, keepdims(g, i, gy), S(1 / count));
    return kiln_broadcast_to(g, scaled, t.rank, t.dims);
}

/* The gradient is shared evenly by the elements equal to the extreme. */
static kiln_node extreme(kiln_graph *g, uint32_t i, kiln_node gy)
{
    const ir_node n = NODE;
    int axes[KILN_MAX_RANK], naxes = reduced_axes(&n, axes);
    kiln_node x = X(0);
    kiln_node hit = kiln_eq(g, x, keepdims(g, i, Y));
    kiln_node ties = kiln_sum(g, kiln_cast(g, hit, n.type.dtype), naxes, axes, 1);
    kiln_node share = kiln_div(g, keepdims(g, i, gy), ties);
    return kiln_select(g, hit, share, S(0));
}

RULE(max) { (void)k; return extreme(g, i, gy); }
RULE(min) { (void)k; return extreme(g, i, gy); }

/* ---- contraction ---------------------------------------------------- */

static kiln_node swap_last(kiln_graph *g, kiln_node x)
{
    int perm[KILN_MAX_RANK], rank = kiln_node_rank(g, x);
    for (int d = 0; d < rank; d++)
        perm[d] = d;
    perm[rank - 2] = rank - 1;
    perm[rank - 1] = rank - 2;
    return kiln_transpose(g, x, perm);
}

/* dA = gy B^T, dB = A^T gy; grad.c sums broadcast batch dims away. */
RULE(matmul)
{
    if (k == 0)
        return kiln_matmul(g, gy, swap_last(g, X(1)));
    return kiln_matmul(g, swap_last(g, X(0)), gy);
}

/* ---- composites ----------------------------------------------------- */

RULE(softmax)
{
    (void)k;
    int axis = NODE.attr.u.axis;
    kiln_node y = Y;
    kiln_node dot = kiln_sum(g, kiln_mul(g, gy, y), 1, &axis, 1);
    return kiln_mul(g, y, kiln_sub(g, gy, dot));
}

/* exp of a log-softmax is <= 1: no overflow. */
RULE(log_softmax)
{
    (void)k;
    int axis = NODE.attr.u.axis;
    kiln_node total = kiln_sum(g, gy, 1, &axis, 1);
    return kiln_sub(g, gy, kiln_mul(g, kiln_exp(g, Y), total));
}

RULE(softmax_ce)
{
    (void)k;
    const ir_node n = NODE;
    const ir_type t = g->nodes[n.in[0]].type;
    kiln_node p = kiln_softmax(g, X(0), 1);
    kiln_node hot = kiln_one_hot(g, X(1), (int)t.dims[1], t.dtype);
    kiln_node scale = kiln_div(g, gy, S((double)t.dims[0]));
    return kiln_mul(g, kiln_sub(g, p, hot), scale);
}
