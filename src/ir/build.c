/*
 * build.c — the public graph builders.  Each validates its arguments,
 * fills a prototype node and hands it to ir_add_node, which runs the op's
 * shape rule.  Once the graph holds an error every builder returns the
 * invalid node and leaves that first error in place.
 */
#include <math.h>
#include <string.h>

#include "ir.h"

static const kiln_node bad = {0};

static bool usable(kiln_graph *g) { return g && g->status == KILN_OK; }

static kiln_node emit(kiln_graph *g, ir_node *proto)
{
    return ir_handle(g, ir_add_node(g, proto));
}

/* Resolve n handles into indices, recording an error for a bad one. */
static bool resolve(kiln_graph *g, const char *op, int n, const kiln_node *h,
                    uint32_t *idx)
{
    for (int i = 0; i < n; i++) {
        idx[i] = ir_use(g, h[i], op);
        if (idx[i] == IR_NONE)
            return false;
    }
    return true;
}

static kiln_node op_n(kiln_graph *g, ir_op op, int n, const kiln_node *h,
                      const ir_attr *attr, const ir_type *type)
{
    uint32_t idx[3];
    if (!usable(g) || !resolve(g, ir_ops[op].name, n, h, idx))
        return bad;
    ir_node p = {.op = op, .nin = n, .in = idx};
    if (attr)
        p.attr = *attr;
    if (type)
        p.type = *type;
    return emit(g, &p);
}

static const ir_type *type_of(kiln_graph *g, kiln_node x)
{
    uint32_t i = ir_index(g, x);
    return i == IR_NONE ? NULL : &g->nodes[i].type;
}

static bool make_type(kiln_graph *g, const char *what, kiln_dtype t, int rank,
                      const int64_t *dims, ir_type *out)
{
    if (!ir_dtype_valid(t))
        return ir_error(g, KILN_ERR_DTYPE, "%s: invalid dtype %d", what,
                        (int)t);
    if (!ir_check_shape(g, what, rank, dims))
        return false;
    out->dtype = t;
    out->rank = rank;
    for (int i = 0; i < rank; i++)
        out->dims[i] = dims[i];
    return true;
}

/* ---- leaves --------------------------------------------------------- */

static kiln_node leaf(kiln_graph *g, ir_op op, const char *name, kiln_dtype t,
                      int rank, const int64_t *dims, const kiln_init *init)
{
    ir_node p = {.op = op};
    if (!usable(g) || !ir_check_new_name(g, ir_ops[op].name, name) ||
        !make_type(g, ir_ops[op].name, t, rank, dims, &p.type))
        return bad;
    p.name = (char *)name;
    if (init)
        p.attr.u.init = *init;
    return emit(g, &p);
}

kiln_node kiln_input(kiln_graph *g, const char *name, kiln_dtype t, int rank,
                     const int64_t *dims)
{
    return leaf(g, IR_OP_INPUT, name, t, rank, dims, NULL);
}

kiln_node kiln_param(kiln_graph *g, const char *name, kiln_dtype t, int rank,
                     const int64_t *dims, kiln_init init)
{
    return leaf(g, IR_OP_PARAM, name, t, rank, dims, &init);
}

/* Store one element of dtype t from a double (already rounded to t). */
static void store(kiln_dtype t, void *data, int64_t i, double v)
{
    switch (t) {
    case KILN_F32: ((float *)data)[i] = (float)v; break;
    case KILN_F64: ((double *)data)[i] = v; break;
    case KILN_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    case KILN_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    default: break;
    }
}

static kiln_node constant(kiln_graph *g, kiln_dtype t, int rank,
                          const int64_t *dims, const void *src, double fill)
{
    ir_node p = {.op = IR_OP_CONST};
    if (!usable(g) || !make_type(g, "const", t, rank, dims, &p.type))
        return bad;
    int64_t n = ir_numel(&p.type);
    size_t bytes = (size_t)n * kiln_dtype_size(t);
    p.data = ir_alloc(g, bytes);
    if (!p.data)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY,
                        "const: out of memory (%zu bytes)", bytes),
               bad;
    if (src && t != KILN_BOOL)
        memcpy(p.data, src, bytes);
    else
        for (int64_t i = 0; i < n; i++)
            store(t, p.data, i,
                  src ? ((const uint8_t *)src)[i] != 0 : ir_round_to(t, fill));
    return emit(g, &p);
}

kiln_node kiln_constant(kiln_graph *g, kiln_dtype t, int rank,
                        const int64_t *dims, const void *data)
{
    if (usable(g) && !data)
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT, "const: data is NULL"),
               bad;
    return constant(g, t, rank, dims, data, 0);
}

kiln_node kiln_fill(kiln_graph *g, kiln_dtype t, int rank, const int64_t *dims,
                    double v)
{
    return constant(g, t, rank, dims, NULL, v);
}

kiln_node kiln_scalar(kiln_graph *g, kiln_dtype t, double v)
{
    return constant(g, t, 0, NULL, NULL, v);
}

/* ---- elementwise ---------------------------------------------------- */

#define UNARY(fn, ID) \
    kiln_node kiln_##fn(kiln_graph *g, kiln_node x) \
    { \
        return op_n(g, IR_OP_##ID, 1, &x, NULL, NULL); \
    }
UNARY(exp, EXP)
UNARY(log, LOG)
UNARY(log1p, LOG1P)
UNARY(sqrt, SQRT)
UNARY(rsqrt, RSQRT)
UNARY(reciprocal, RECIPROCAL)
UNARY(tanh, TANH)
UNARY(sigmoid, SIGMOID)
UNARY(gelu, GELU)
UNARY(sin, SIN)
UNARY(cos, COS)
UNARY(neg, NEG)
UNARY(abs, ABS)
UNARY(square, SQUARE)
UNARY(relu, RELU)
UNARY(sign, SIGN)
#undef UNARY

#define BINARY(fn, ID) \
    kiln_node kiln_##fn(kiln_graph *g, kiln_node a, kiln_node b) \
    { \
        kiln_node in[2] = {a, b}; \
        return op_n(g, IR_OP_##ID, 2, in, NULL, NULL); \
    }
BINARY(add, ADD)
BINARY(sub, SUB)
BINARY(mul, MUL)
BINARY(div, DIV)
BINARY(pow, POW)
BINARY(maximum, MAXIMUM)
BINARY(minimum, MINIMUM)
BINARY(lt, LT)
BINARY(le, LE)
BINARY(gt, GT)
BINARY(ge, GE)
BINARY(eq, EQ)
BINARY(ne, NE)
#undef BINARY

kiln_node kiln_select(kiln_graph *g, kiln_node cond, kiln_node a, kiln_node b)
{
    kiln_node in[3] = {cond, a, b};
    return op_n(g, IR_OP_SELECT, 3, in, NULL, NULL);
}

kiln_node kiln_cast(kiln_graph *g, kiln_node x, kiln_dtype t)
{
    if (!usable(g) || ir_use(g, x, "cast") == IR_NONE)
        return bad;
    ir_type ty = *type_of(g, x);
    ty.dtype = t;
    return op_n(g, IR_OP_CAST, 1, &x, NULL, &ty);
}

/* ---- layout --------------------------------------------------------- */

kiln_node kiln_reshape(kiln_graph *g, kiln_node x, int rank,
                       const int64_t *dims)
{
    if (!usable(g) || ir_use(g, x, "reshape") == IR_NONE)
        return bad;
    const ir_type *xt = type_of(g, x);
    if (rank < 0 || rank > KILN_MAX_RANK)
        return ir_error(g, KILN_ERR_SHAPE, "reshape: rank %d is out of range "
                        "0..%d", rank, KILN_MAX_RANK),
               bad;
    if (rank > 0 && !dims)
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT, "reshape: dims is NULL"),
               bad;
    ir_type ty = {xt->dtype, rank, {0}};
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < rank; i++) {
        ty.dims[i] = dims[i];
        if (dims[i] == -1 && infer < 0) {
            infer = i;
            continue;
        }
        if (dims[i] < 1)
            return ir_error(g, KILN_ERR_SHAPE,
                            "reshape: dim %d is %lld (only one -1 allowed, "
                            "others >= 1)",
                            i, (long long)dims[i]),
                   bad;
        if (known > IR_MAX_NUMEL / dims[i])
            return ir_error(g, KILN_ERR_SHAPE, "reshape: too many elements"),
                   bad;
        known *= dims[i];
    }
    if (infer >= 0) {
        int64_t total = ir_numel(xt);
        if (total % known)
            return ir_error(g, KILN_ERR_SHAPE,
                            "reshape: %lld elements do not divide by %lld",
                            (long long)total, (long long)known),
                   bad;
        ty.dims[infer] = total / known;
    }
    return op_n(g, IR_OP_RESHAPE, 1, &x, NULL, &ty);
}

kiln_node kiln_transpose(kiln_graph *g, kiln_node x, const int *perm)
{
    if (!usable(g) || ir_use(g, x, "transpose") == IR_NONE)
        return bad;
    int rank = type_of(g, x)->rank;
    if (!perm && rank > 0)
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT, "transpose: perm is NULL"),
               bad;
    ir_attr a;
    memset(&a, 0, sizeof a);
    for (int i = 0; i < rank; i++)
        a.u.perm[i] = perm[i];
    return op_n(g, IR_OP_TRANSPOSE, 1, &x, &a, NULL);
}

kiln_node kiln_broadcast_to(kiln_graph *g, kiln_node x, int rank,
                            const int64_t *dims)
{
    ir_type ty;
    if (!usable(g) || ir_use(g, x, "broadcast_to") == IR_NONE ||
        !make_type(g, "broadcast_to", type_of(g, x)->dtype, rank, dims, &ty))
        return bad;
    return op_n(g, IR_OP_BROADCAST_TO, 1, &x, NULL, &ty);
}

kiln_node kiln_slice(kiln_graph *g, kiln_node x, const int64_t *start,
                     const int64_t *stop, const int64_t *step)
{
    if (!usable(g) || ir_use(g, x, "slice") == IR_NONE)
        return bad;
    int rank = type_of(g, x)->rank;
    if (rank > 0 && (!start || !stop))
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "slice: start or stop is NULL"),
               bad;
    ir_attr a;
    memset(&a, 0, sizeof a);
    for (int i = 0; i < rank; i++) {
        a.u.slice.start[i] = start[i];
        a.u.slice.stop[i] = stop[i];
        a.u.slice.step[i] = step ? step[i] : 1;
    }
    return op_n(g, IR_OP_SLICE, 1, &x, &a, NULL);
}

kiln_node kiln_concat(kiln_graph *g, int n, const kiln_node *xs, int axis)
{
    if (!usable(g))
        return bad;
    if (n < 1 || n > 1024 || !xs)
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "concat: needs 1..1024 inputs and a non-NULL array, "
                        "got %d",
                        n),
               bad;
    uint32_t idx[1024];
    if (!resolve(g, "concat", n, xs, idx))
        return bad;
    int rank = g->nodes[idx[0]].type.rank;
    ir_attr a;
    memset(&a, 0, sizeof a);
    a.u.axis = axis < 0 ? axis + rank : axis;
    ir_node p = {.op = IR_OP_CONCAT, .nin = n, .in = idx, .attr = a};
    return emit(g, &p);
}

kiln_node kiln_pad(kiln_graph *g, kiln_node x, const int64_t *lo,
                   const int64_t *hi, double value)
{
    if (!usable(g) || ir_use(g, x, "pad") == IR_NONE)
        return bad;
    int rank = type_of(g, x)->rank;
    if (rank > 0 && (!lo || !hi))
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT, "pad: lo or hi is NULL"),
               bad;
    ir_attr a;
    memset(&a, 0, sizeof a);
    for (int i = 0; i < rank; i++) {
        a.u.pad.lo[i] = lo[i];
        a.u.pad.hi[i] = hi[i];
    }
    a.u.pad.value = value;
    return op_n(g, IR_OP_PAD, 1, &x, &a, NULL);
}

/* ---- reductions ----------------------------------------------------- */

static kiln_node reduce(kiln_graph *g, ir_op op, kiln_node x, int naxes,
                        const int *axes, int keepdims)
{
    const char *name = ir_ops[op].name;
    if (!usable(g) || ir_use(g, x, name) == IR_NONE)
        return bad;
    int rank = type_of(g, x)->rank;
    ir_attr a;
    memset(&a, 0, sizeof a);
    a.u.reduce.keepdims = keepdims != 0;
    if (naxes == 0 && !axes) {
        a.u.reduce.mask = rank ? (1u << rank) - 1 : 0;
    } else if (naxes < 0 || naxes > rank || !axes) {
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "%s: %d axes (array %s) for a rank-%d input", name,
                        naxes, axes ? "given" : "NULL", rank),
               bad;
    }
    for (int i = 0; i < naxes; i++) {
        int ax = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (ax < 0 || ax >= rank)
            return ir_error(g, KILN_ERR_SHAPE,
                            "%s: axis %d is out of range for rank %d", name,
                            axes[i], rank),
                   bad;
        if (a.u.reduce.mask & (1u << ax))
            return ir_error(g, KILN_ERR_SHAPE, "%s: axis %d is repeated", name,
                            axes[i]),
                   bad;
        a.u.reduce.mask |= 1u << ax;
    }
    return op_n(g, op, 1, &x, &a, NULL);
}

kiln_node kiln_sum(kiln_graph *g, kiln_node x, int naxes, const int *axes,
                   int keepdims)
{
    return reduce(g, IR_OP_SUM, x, naxes, axes, keepdims);
}

kiln_node kiln_mean(kiln_graph *g, kiln_node x, int naxes, const int *axes,
                    int keepdims)
{
    return reduce(g, IR_OP_MEAN, x, naxes, axes, keepdims);
}

kiln_node kiln_max(kiln_graph *g, kiln_node x, int naxes, const int *axes,
                   int keepdims)
{
    return reduce(g, IR_OP_MAX, x, naxes, axes, keepdims);
}

kiln_node kiln_min(kiln_graph *g, kiln_node x, int naxes, const int *axes,
                   int keepdims)
{
    return reduce(g, IR_OP_MIN, x, naxes, axes, keepdims);
}

kiln_node kiln_argmax(kiln_graph *g, kiln_node x, int axis, int keepdims)
{
    return reduce(g, IR_OP_ARGMAX, x, 1, &axis, keepdims);
}

/* ---- contraction and composites ------------------------------------ */

kiln_node kiln_matmul(kiln_graph *g, kiln_node a, kiln_node b)
{
    kiln_node in[2] = {a, b};
    return op_n(g, IR_OP_MATMUL, 2, in, NULL, NULL);
}

static kiln_node along_axis(kiln_graph *g, ir_op op, kiln_node x, int axis)
{
    if (!usable(g) || ir_use(g, x, ir_ops[op].name) == IR_NONE)
        return bad;
    ir_attr a;
    memset(&a, 0, sizeof a);
    a.u.axis = axis < 0 ? axis + type_of(g, x)->rank : axis;
    return op_n(g, op, 1, &x, &a, NULL);
}

kiln_node kiln_softmax(kiln_graph *g, kiln_node x, int axis)
{
    return along_axis(g, IR_OP_SOFTMAX, x, axis);
}

kiln_node kiln_log_softmax(kiln_graph *g, kiln_node x, int axis)
{
    return along_axis(g, IR_OP_LOG_SOFTMAX, x, axis);
}

kiln_node kiln_softmax_cross_entropy(kiln_graph *g, kiln_node logits,
                                     kiln_node labels)
{
    kiln_node in[2] = {logits, labels};
    return op_n(g, IR_OP_SOFTMAX_CE, 2, in, NULL, NULL);
}

kiln_node kiln_one_hot(kiln_graph *g, kiln_node labels, int depth,
                       kiln_dtype t)
{
    if (!usable(g) || ir_use(g, labels, "one_hot") == IR_NONE)
        return bad;
    ir_type ty = *type_of(g, labels);
    if (ty.rank >= KILN_MAX_RANK || depth < 1)
        return ir_error(g, KILN_ERR_SHAPE,
                        "one_hot: need depth >= 1 and labels of rank < %d "
                        "(depth %d, rank %d)",
                        KILN_MAX_RANK, depth, ty.rank),
               bad;
    ty.dtype = t;
    ty.dims[ty.rank++] = depth;
    return op_n(g, IR_OP_ONE_HOT, 1, &labels, NULL, &ty);
}

/* Checked here so that a misuse is reported as mse's, not as the error
 * of a sub or mean node the caller never asked for. */
kiln_node kiln_mse(kiln_graph *g, kiln_node a, kiln_node b)
{
    char sa[128], sb[128];
    ir_type out;
    if (!usable(g) || ir_use(g, a, "mse") == IR_NONE ||
        ir_use(g, b, "mse") == IR_NONE)
        return bad;
    const ir_type *ta = type_of(g, a), *tb = type_of(g, b);
    ir_type_str(ta, sa, sizeof sa);
    ir_type_str(tb, sb, sizeof sb);
    if (!ir_dtype_is_float(ta->dtype) || ta->dtype != tb->dtype)
        return ir_error(g, KILN_ERR_DTYPE,
                        "mse: needs two f32 or two f64 operands, got %s and %s",
                        sa, sb),
               bad;
    if (!ir_broadcast_shapes(ta, tb, &out))
        return ir_error(g, KILN_ERR_SHAPE,
                        "mse: shapes do not broadcast: %s and %s", sa, sb),
               bad;
    return kiln_mean(g, kiln_square(g, kiln_sub(g, a, b)), 0, NULL, 0);
}

/* ---- random --------------------------------------------------------- */

kiln_node kiln_random_uniform(kiln_graph *g, kiln_dtype t, int rank,
                              const int64_t *dims, kiln_node seed,
                              kiln_node offset)
{
    ir_type ty;
    kiln_node in[2] = {seed, offset};
    if (!usable(g) || !make_type(g, "random_uniform", t, rank, dims, &ty))
        return bad;
    return op_n(g, IR_OP_RANDOM_UNIFORM, 2, in, NULL, &ty);
}

kiln_node kiln_bernoulli(kiln_graph *g, double p, int rank,
                         const int64_t *dims, kiln_node seed, kiln_node offset)
{
    ir_type ty;
    ir_attr a;
    kiln_node in[2] = {seed, offset};
    if (!usable(g) || !make_type(g, "bernoulli", KILN_BOOL, rank, dims, &ty))
        return bad;
    memset(&a, 0, sizeof a);
    a.u.p = p;
    return op_n(g, IR_OP_BERNOULLI, 2, in, &a, &ty);
}

/* seed and offset are checked even when rate is 0 (dropout is then the
 * identity): a bad seed is a bug in the caller's graph either way. */
static bool dropout_counter_ok(kiln_graph *g, kiln_node h, const char *what)
{
    char buf[128];
    uint32_t i = ir_use(g, h, "dropout");
    if (i == IR_NONE)
        return false;
    const ir_type *t = &g->nodes[i].type;
    if (t->dtype != KILN_I32 || t->rank != 0)
        return ir_error(g, KILN_ERR_DTYPE, "dropout: %s must be i32[], got %s",
                        what, ir_type_str(t, buf, sizeof buf));
    return true;
}

kiln_node kiln_dropout(kiln_graph *g, kiln_node x, double rate, kiln_node seed,
                       kiln_node offset)
{
    if (!usable(g) || ir_use(g, x, "dropout") == IR_NONE ||
        !dropout_counter_ok(g, seed, "seed") ||
        !dropout_counter_ok(g, offset, "offset"))
        return bad;
    const ir_type xt = *type_of(g, x);
    if (!ir_dtype_is_float(xt.dtype))
        return ir_error(g, KILN_ERR_DTYPE, "dropout: needs f32 or f64, got %s",
                        kiln_dtype_name(xt.dtype)),
               bad;
    if (!(rate >= 0 && rate < 1))
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "dropout: rate %g is outside [0, 1)", rate),
               bad;
    if (rate == 0)
        return x;
    kiln_node keep = kiln_bernoulli(g, 1 - rate, xt.rank, xt.dims, seed, offset);
    kiln_node scaled = kiln_mul(g, x, kiln_scalar(g, xt.dtype, 1 / (1 - rate)));
    return kiln_select(g, keep, scaled, kiln_scalar(g, xt.dtype, 0));
}

/* ---- state and outputs ---------------------------------------------- */

kiln_node kiln_assign(kiln_graph *g, kiln_node param, kiln_node value)
{
    kiln_node in[2] = {param, value};
    return op_n(g, IR_OP_ASSIGN, 2, in, NULL, NULL);
}

kiln_status kiln_output(kiln_graph *g, const char *name, kiln_node value)
{
    if (!g)
        return KILN_ERR_INVALID_ARGUMENT;
    if (g->status != KILN_OK)
        return g->status;
    uint32_t i = ir_use(g, value, "output");
    if (i == IR_NONE)
        return g->status;
    if (!name) {
        ir_error(g, KILN_ERR_INVALID_ARGUMENT, "output: name is NULL");
        return g->status;
    }
    if (!ir_name_valid(name)) {
        ir_error(g, KILN_ERR_NAME,
                 "output: invalid name '%.80s' (want [A-Za-z_][A-Za-z0-9_.]*, "
                 "at most %d bytes)",
                 name, KILN_MAX_NAME - 1);
        return g->status;
    }
    if (ir_find_output(g, name) != IR_NONE) {
        ir_error(g, KILN_ERR_NAME, "output: duplicate output name '%s'", name);
        return g->status;
    }
    if (g->noutputs == g->outcap) {
        uint32_t cap = g->outcap ? g->outcap * 2 : 4;
        ir_output *o = ir_realloc(g, g->outputs, cap * sizeof *o);
        if (!o) {
            ir_error(g, KILN_ERR_OUT_OF_MEMORY, "output: out of memory");
            return g->status;
        }
        g->outputs = o;
        g->outcap = cap;
    }
    char *copy = ir_strdup(g, name);
    if (!copy) {
        ir_error(g, KILN_ERR_OUT_OF_MEMORY, "output: out of memory");
        return g->status;
    }
    g->outputs[g->noutputs++] = (ir_output){copy, i};
    return KILN_OK;
}
