/* gc_reduce.c — gradient checks of reductions, matmul and the softmax
 * family. */
#include "gc_cases.h"

typedef struct shape {
    int rank;
    int64_t dims[4];
} shape;

/* ---- reductions -------------------------------------------------------- */

/* naxes 0 reduces every axis. */
static const struct {
    shape x;
    int naxes, axes[3], keepdims;
} reductions[] = {
    {{3, {2, 3, 4}}, 0, {0}, 0},
    {{3, {2, 3, 4}}, 0, {0}, 1},
    {{3, {2, 3, 4}}, 1, {0}, 0},
    {{3, {2, 3, 4}}, 2, {1, 2}, 1},
    {{3, {2, 3, 4}}, 2, {0, 2}, 0},
    {{3, {2, 3, 4}}, 1, {-1}, 1},
    {{3, {2, 3, 4}}, 2, {2, 0}, 1},
    {{3, {3, 1, 4}}, 1, {1}, 0},
    {{1, {5}}, 1, {0}, 1},
};

typedef kiln_node (*reduce_fn)(kiln_graph *, kiln_node, int, const int *,
                               int);

/* max and min draw every element from a shuffled grid 0.1 apart, so no
 * reduction group has a tie (where the gradient would be split and the
 * function has a kink). */
static void reduce_case(gc *c, const gc_case *k)
{
    reduce_fn f = k->op == IR_OP_SUM    ? kiln_sum
                  : k->op == IR_OP_MEAN ? kiln_mean
                  : k->op == IR_OP_MAX  ? kiln_max
                                        : kiln_min;
    gc_dom dom = k->op == IR_OP_MAX || k->op == IR_OP_MIN
                     ? (gc_dom)GC_NOTIES
                     : (gc_dom)GC_ANY;
    const shape *s = &reductions[k->variant].x;
    kiln_node x = gc_input_f64(c, s->rank, s->dims, dom);
    int naxes = reductions[k->variant].naxes;
    gc_check(c, f(c->g, x, naxes, naxes ? reductions[k->variant].axes : NULL,
                  reductions[k->variant].keepdims));
}

/* ---- matmul ------------------------------------------------------------ */

static const shape matmuls[][2] = {
    {{2, {3, 4}}, {2, {4, 5}}},
    {{3, {2, 3, 4}}, {3, {2, 4, 2}}},
    {{4, {2, 1, 3, 4}}, {3, {5, 4, 2}}},
    {{2, {1, 4}}, {2, {4, 1}}},
    {{2, {3, 4}}, {3, {2, 4, 5}}},
    {{3, {2, 3, 1}}, {2, {1, 2}}},
    {{3, {2, 3, 4}}, {2, {4, 5}}},
};

static void matmul_case(gc *c, const gc_case *k)
{
    const shape *s = matmuls[k->variant];
    kiln_node a = gc_input_f64(c, s[0].rank, s[0].dims, (gc_dom)GC_ANY);
    kiln_node b = gc_input_f64(c, s[1].rank, s[1].dims, (gc_dom)GC_ANY);
    gc_check(c, kiln_matmul(c->g, a, b));
}

/* ---- softmax family ---------------------------------------------------- */

/* Every axis of ranks 1-3, and a size-1 axis (the output is constant 1
 * or 0 there: the gradient must be exactly zero). */
static const struct {
    shape x;
    int axis;
} softmaxes[] = {
    {{2, {3, 4}}, 0},    {{2, {3, 4}}, 1},    {{2, {3, 4}}, -1},
    {{3, {2, 3, 4}}, 0}, {{3, {2, 3, 4}}, 1}, {{3, {2, 3, 4}}, 2},
    {{2, {1, 5}}, 0},    {{1, {5}}, 0},
};

static void softmax_case(gc *c, const gc_case *k)
{
    const shape *s = &softmaxes[k->variant].x;
    kiln_node x = gc_input_f64(c, s->rank, s->dims, (gc_dom){GC_UNIFORM, -3, 3});
    int axis = softmaxes[k->variant].axis;
    gc_check(c, k->op == IR_OP_SOFTMAX ? kiln_softmax(c->g, x, axis)
                                       : kiln_log_softmax(c->g, x, axis));
}

static const struct {
    int64_t n, classes;
    double spread;
} ces[] = {{4, 5, 3}, {1, 3, 3}, {6, 2, 3}, {3, 7, 8}, {2, 1, 3}};

/* Labels are an i32 constant drawn in [0, classes). */
static void ce_case(gc *c, const gc_case *k)
{
    int64_t n = ces[k->variant].n, dims[2] = {n, ces[k->variant].classes};
    double s = ces[k->variant].spread;
    kiln_node x = gc_input_f64(c, 2, dims, (gc_dom){GC_UNIFORM, -s, s});
    int32_t labels[8];
    for (int64_t i = 0; i < n; i++)
        labels[i] = (int32_t)(gc_next(&c->rng) % (uint64_t)dims[1]);
    kiln_node y = kiln_constant(c->g, KILN_I32, 1, &n, labels);
    gc_check(c, kiln_softmax_cross_entropy(c->g, x, y));
}

#define REDUCE(ID)                                                         \
    {"[2,3,4] all", IR_OP_##ID, reduce_case, 0},                           \
        {"[2,3,4] all keepdims", IR_OP_##ID, reduce_case, 1},              \
        {"[2,3,4] axis 0", IR_OP_##ID, reduce_case, 2},                    \
        {"[2,3,4] axes 1,2 keepdims", IR_OP_##ID, reduce_case, 3},         \
        {"[2,3,4] axes 0,2", IR_OP_##ID, reduce_case, 4},                  \
        {"[2,3,4] axis -1 keepdims", IR_OP_##ID, reduce_case, 5},          \
        {"[2,3,4] axes 2,0 keepdims", IR_OP_##ID, reduce_case, 6},         \
        {"[3,1,4] axis 1", IR_OP_##ID, reduce_case, 7},                    \
        {"[5] axis 0 keepdims", IR_OP_##ID, reduce_case, 8}
#define SOFTMAX(ID)                                                        \
    {"[3,4] axis 0", IR_OP_##ID, softmax_case, 0},                         \
        {"[3,4] axis 1", IR_OP_##ID, softmax_case, 1},                     \
        {"[3,4] axis -1", IR_OP_##ID, softmax_case, 2},                    \
        {"[2,3,4] axis 0", IR_OP_##ID, softmax_case, 3},                   \
        {"[2,3,4] axis 1", IR_OP_##ID, softmax_case, 4},                   \
        {"[2,3,4] axis 2", IR_OP_##ID, softmax_case, 5},                   \
        {"[1,5] axis 0 (size 1)", IR_OP_##ID, softmax_case, 6},            \
        {"[5] axis 0", IR_OP_##ID, softmax_case, 7}

const gc_case gc_cases_reduce[] = {
    REDUCE(SUM), REDUCE(MEAN), REDUCE(MAX), REDUCE(MIN),
    {"[3,4] x [4,5]", IR_OP_MATMUL, matmul_case, 0},
    {"[2,3,4] x [2,4,2]", IR_OP_MATMUL, matmul_case, 1},
    {"[2,1,3,4] x [5,4,2]", IR_OP_MATMUL, matmul_case, 2},
    {"[1,4] x [4,1]", IR_OP_MATMUL, matmul_case, 3},
    {"[3,4] x [2,4,5]", IR_OP_MATMUL, matmul_case, 4},
    {"[2,3,1] x [1,2]", IR_OP_MATMUL, matmul_case, 5},
    {"[2,3,4] x [4,5]", IR_OP_MATMUL, matmul_case, 6},
    SOFTMAX(SOFTMAX), SOFTMAX(LOG_SOFTMAX),
    {"[4,5]", IR_OP_SOFTMAX_CE, ce_case, 0},
    {"[1,3]", IR_OP_SOFTMAX_CE, ce_case, 1},
    {"[6,2]", IR_OP_SOFTMAX_CE, ce_case, 2},
    {"[3,7] logits in [-8,8]", IR_OP_SOFTMAX_CE, ce_case, 3},
    {"[2,1] (one class)", IR_OP_SOFTMAX_CE, ce_case, 4},
    {NULL, 0, NULL, 0},
};
