/* gc_elementwise.c — gradient checks of unary, binary, select and cast. */
#include "gc_cases.h"

/* ---- unary ------------------------------------------------------------ */

typedef kiln_node (*unary_fn)(kiln_graph *, kiln_node);

/* Each op's domain keeps the sampler off its kinks and out of its
 * singularities: log/sqrt/rsqrt need x > 0, log1p x > -1, reciprocal
 * x != 0; abs, relu and sign have kinks (or jumps) at 0. */
static const struct {
    int op;
    unary_fn f;
    gc_dom dom;
} unary_ops[] = {
    {IR_OP_EXP, kiln_exp, GC_ANY},
    {IR_OP_LOG, kiln_log, GC_POS},
    {IR_OP_LOG1P, kiln_log1p, {GC_UNIFORM, -0.7, 2}},
    {IR_OP_SQRT, kiln_sqrt, GC_POS},
    {IR_OP_RSQRT, kiln_rsqrt, GC_POS},
    {IR_OP_RECIPROCAL, kiln_reciprocal, GC_AWAY0},
    {IR_OP_TANH, kiln_tanh, GC_ANY},
    {IR_OP_SIGMOID, kiln_sigmoid, {GC_UNIFORM, -4, 4}},
    {IR_OP_GELU, kiln_gelu, {GC_UNIFORM, -3, 3}},
    {IR_OP_SIN, kiln_sin, {GC_UNIFORM, -4, 4}},
    {IR_OP_COS, kiln_cos, {GC_UNIFORM, -4, 4}},
    {IR_OP_NEG, kiln_neg, GC_ANY},
    {IR_OP_ABS, kiln_abs, GC_AWAY0},
    {IR_OP_SQUARE, kiln_square, GC_ANY},
    {IR_OP_RELU, kiln_relu, GC_AWAY0},
    {IR_OP_SIGN, kiln_sign, GC_AWAY0},
};

/* [3,4]; size-1 dims; a scalar; a rank-4 shape with size-1 dims. */
static const struct {
    int rank;
    int64_t dims[4];
} unary_shapes[] = {{2, {3, 4}}, {3, {2, 1, 3}}, {0, {0}}, {4, {1, 3, 1, 2}}};

static void unary_case(gc *c, const gc_case *k)
{
    for (size_t u = 0; u < sizeof unary_ops / sizeof *unary_ops; u++) {
        if (unary_ops[u].op != k->op)
            continue;
        int rank = unary_shapes[k->variant].rank;
        const int64_t *dims = unary_shapes[k->variant].dims;
        kiln_node x = gc_input_f64(c, rank, dims, unary_ops[u].dom);
        gc_check(c, unary_ops[u].f(c->g, x));
        return;
    }
    fail_msg("no unary builder for op %d", k->op);
}

/* ---- binary ----------------------------------------------------------- */

typedef kiln_node (*binary_fn)(kiln_graph *, kiln_node, kiln_node);

/* div keeps |b| >= 0.5; pow has its base in [0.5, 2] so both operands'
 * gradients (b a^(b-1) and a^b log a) are smooth; maximum and minimum
 * draw their operands from two interleaved lattices that are never
 * closer than 0.025, so no pair is equal or nearly so. */
static const struct {
    int op;
    binary_fn f;
    gc_dom a, b;
} binary_ops[] = {
    {IR_OP_ADD, kiln_add, GC_ANY, GC_ANY},
    {IR_OP_SUB, kiln_sub, GC_ANY, GC_ANY},
    {IR_OP_MUL, kiln_mul, GC_ANY, GC_ANY},
    {IR_OP_DIV, kiln_div, GC_ANY, {GC_SIGNED, 0.5, 2}},
    {IR_OP_POW, kiln_pow, {GC_UNIFORM, 0.5, 2}, GC_ANY},
    {IR_OP_MAXIMUM, kiln_maximum, GC_LATA, GC_LATB},
    {IR_OP_MINIMUM, kiln_minimum, GC_LATB, GC_LATA},
};

typedef struct shape {
    int rank;
    int64_t dims[4];
} shape;

/* The broadcasting configurations: equal shapes, both operands
 * stretched, rank growth, a scalar operand, and growth on both sides. */
static const shape binary_shapes[][2] = {
    {{2, {3, 4}}, {2, {3, 4}}},
    {{2, {3, 1}}, {2, {1, 4}}},
    {{3, {2, 3, 4}}, {1, {4}}},
    {{0, {0}}, {1, {5}}},
    {{2, {1, 4}}, {3, {2, 3, 1}}},
};

static void binary_case(gc *c, const gc_case *k)
{
    for (size_t u = 0; u < sizeof binary_ops / sizeof *binary_ops; u++) {
        if (binary_ops[u].op != k->op)
            continue;
        const shape *s = binary_shapes[k->variant];
        kiln_node a = gc_input_f64(c, s[0].rank, s[0].dims, binary_ops[u].a);
        kiln_node b = gc_input_f64(c, s[1].rank, s[1].dims, binary_ops[u].b);
        gc_check(c, binary_ops[u].f(c->g, a, b));
        return;
    }
    fail_msg("no binary builder for op %d", k->op);
}

/* ---- select and cast -------------------------------------------------- */

/* cond, a, b: the condition is a bool constant (it carries no gradient);
 * every operand broadcasts in some configuration. */
static const shape select_shapes[][3] = {
    {{2, {3, 4}}, {2, {3, 4}}, {2, {3, 4}}},
    {{2, {3, 1}}, {2, {1, 4}}, {2, {3, 4}}},
    {{3, {2, 3, 4}}, {1, {4}}, {0, {0}}},
    {{0, {0}}, {2, {2, 3}}, {2, {1, 3}}},
};

static void select_case(gc *c, const gc_case *k)
{
    const shape *s = select_shapes[k->variant];
    kiln_node cond = gc_const_bool(c, s[0].rank, s[0].dims);
    kiln_node a = gc_input_f64(c, s[1].rank, s[1].dims, (gc_dom)GC_ANY);
    kiln_node b = gc_input_f64(c, s[2].rank, s[2].dims, (gc_dom)GC_ANY);
    gc_check(c, kiln_select(c->g, cond, a, b));
}

/* Only f64 -> f64 is checked against finite differences: a cast to f32
 * rounds to 24 bits, so the f32 function is piecewise constant (its true
 * derivative is 0 almost everywhere, the rule's pass-through 1 is a
 * convention), and central differences of the rounded loss carry errors
 * of eps_f32 |L| / h ~ 1e-2, far above 1e-6.  test_grad_special.c checks
 * the f32 pass-through rule exactly instead. */
static void cast_case(gc *c, const gc_case *k)
{
    int rank = unary_shapes[k->variant].rank;
    const int64_t *dims = unary_shapes[k->variant].dims;
    kiln_node x = gc_input_f64(c, rank, dims, (gc_dom)GC_ANY);
    gc_check(c, kiln_cast(c->g, kiln_sin(c->g, x), KILN_F64));
}

#define UNARY(ID)                                                          \
    {"[3,4]", IR_OP_##ID, unary_case, 0},                                  \
        {"[2,1,3]", IR_OP_##ID, unary_case, 1},                            \
        {"scalar", IR_OP_##ID, unary_case, 2},                             \
        {"[1,3,1,2]", IR_OP_##ID, unary_case, 3}
#define BINARY(ID)                                                         \
    {"[3,4] x [3,4]", IR_OP_##ID, binary_case, 0},                         \
        {"[3,1] x [1,4]", IR_OP_##ID, binary_case, 1},                     \
        {"[2,3,4] x [4]", IR_OP_##ID, binary_case, 2},                     \
        {"scalar x [5]", IR_OP_##ID, binary_case, 3},                      \
        {"[1,4] x [2,3,1]", IR_OP_##ID, binary_case, 4}

const gc_case gc_cases_elementwise[] = {
    UNARY(EXP), UNARY(LOG), UNARY(LOG1P), UNARY(SQRT), UNARY(RSQRT),
    UNARY(RECIPROCAL), UNARY(TANH), UNARY(SIGMOID), UNARY(GELU), UNARY(SIN),
    UNARY(COS), UNARY(NEG), UNARY(ABS), UNARY(SQUARE), UNARY(RELU),
    UNARY(SIGN),
    BINARY(ADD), BINARY(SUB), BINARY(MUL), BINARY(DIV), BINARY(POW),
    BINARY(MAXIMUM), BINARY(MINIMUM),
    {"all [3,4]", IR_OP_SELECT, select_case, 0},
    {"[3,1] ? [1,4] : [3,4]", IR_OP_SELECT, select_case, 1},
    {"[2,3,4] ? [4] : scalar", IR_OP_SELECT, select_case, 2},
    {"scalar ? [2,3] : [1,3]", IR_OP_SELECT, select_case, 3},
    {"f64->f64 [3,4]", IR_OP_CAST, cast_case, 0},
    {"f64->f64 [2,1,3]", IR_OP_CAST, cast_case, 1},
    {"f64->f64 scalar", IR_OP_CAST, cast_case, 2},
    {NULL, 0, NULL, 0},
};
