/*
 * cpu_ops_nn.c — composites (which the CPU backend decomposes into
 * primitives, the reference evaluates directly), random streams, sources
 * (inputs, params, constants) and assign, CPU backend vs reference.
 *
 * Tolerances: softmax within 1e-5 (f32) / 1e-12 (f64) of |ref|;
 * log_softmax = (x - max) - log(sum exp(x - max)) relative to
 * |x - max| + lse + 1 (an extra output evaluated by the reference): the
 * result may cancel to near 0, and the CPU's f32 sum s >= 1 carries a
 * rounding error of a few s 2^-24, which log turns into an absolute error
 * of a few 2^-24 however small lse is; softmax_cross_entropy
 * (a mean of such terms, logits in [-4, 4]) relative to max(|ref|, 1); mse
 * (a mean of squares, all terms >= 0) relative to |ref|.  Random streams,
 * dropout, one_hot, sources and assign are exact: the same bits.
 */
#include <math.h>
#include <stdio.h>

#include "cpu_ops.h"

static double rel(kiln_dtype t) { return t == KILN_F64 ? CH_REL_F64 : CH_REL_F32; }

/* ---- softmax family ------------------------------------------------- */

static void softmax_graph(co_env *e, kiln_dtype t, bool log)
{
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(t));
    kiln_graph *g = c.g;
    ch_dist d = ch_uniform(-6, 6);
    kiln_node x3 = ch_input(&c, t, 3, (int64_t[]){7, 17, 64}, d);
    kiln_node xs[] = {x3, x3, x3, x3, ch_input(&c, t, 1, (int64_t[]){1000}, d),
                      ch_input(&c, t, 2, (int64_t[]){1, 1}, d), co_transposed(&c, t, 17, 64, d)};
    int axes[] = {0, 1, 2, -1, 0, 1, 0};
    for (int i = 0; i < 7; i++) {
        if (!log) {
            ch_output(&c, kiln_softmax(g, xs[i], axes[i]), ch_rel(rel(t)));
            continue;
        }
        kiln_node m = kiln_max(g, xs[i], 1, &axes[i], 1);
        kiln_node shifted = kiln_sub(g, xs[i], m);
        kiln_node lse = kiln_log(g, kiln_sum(g, kiln_exp(g, shifted), 1, &axes[i], 1));
        kiln_node one = kiln_scalar(g, t, 1);
        int s = ch_output(&c, kiln_add(g, kiln_add(g, kiln_abs(g, shifted), lse), one),
                          ch_skip());
        ch_output(&c, kiln_log_softmax(g, xs[i], axes[i]), ch_rel_to(rel(t), s));
    }
    co_check(e, &c);
}

static void softmax_case(co_env *e)
{
    softmax_graph(e, KILN_F32, false);
    softmax_graph(e, KILN_F64, false);
}

static void log_softmax_case(co_env *e)
{
    softmax_graph(e, KILN_F32, true);
    softmax_graph(e, KILN_F64, true);
}

static void sce_graph(co_env *e, kiln_dtype t)
{
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(t));
    kiln_graph *g = c.g;
    ch_dist d = ch_uniform(-4, 4);
    static const int64_t shapes[][2] = {{1, 1}, {7, 17}, {64, 1000}, {17, 7}};
    for (int i = 0; i < 4; i++) {
        int64_t n = shapes[i][0], k = shapes[i][1];
        kiln_node logits = i == 3 ? co_transposed(&c, t, n, k, d)
                                  : ch_input(&c, t, 2, (int64_t[]){n, k}, d);
        /* labels in range: out of range is a run-time error in the
         * reference but contributes 0 on the CPU (decompose.c) */
        kiln_node labels = ch_input(&c, KILN_I32, 1, (int64_t[]){n}, ch_uniform(0, (double)k));
        ch_output(&c, kiln_softmax_cross_entropy(g, logits, labels), ch_rel_fixed(rel(t), 1.0));
    }
    co_check(e, &c);
}

static void sce_case(co_env *e)
{
    sce_graph(e, KILN_F32);
    sce_graph(e, KILN_F64);
}

static void mse_case(co_env *e)
{
    for (int i = 0; i < 2; i++) {
        kiln_dtype t = i ? KILN_F64 : KILN_F32;
        ch_ctx c;
        co_begin(e, &c, kiln_dtype_name(t));
        kiln_graph *g = c.g;
        ch_dist d = ch_uniform(-3, 3);
        ch_output(&c, kiln_mse(g, ch_input(&c, t, 2, (int64_t[]){17, 64}, d),
                               ch_input(&c, t, 1, (int64_t[]){64}, d)), ch_rel(rel(t)));
        ch_output(&c, kiln_mse(g, ch_input(&c, t, 1, (int64_t[]){1000}, d),
                               ch_input(&c, t, 0, NULL, d)), ch_rel(rel(t)));
        ch_output(&c, kiln_mse(g, co_transposed(&c, t, 7, 17, d),
                               ch_input(&c, t, 2, (int64_t[]){7, 17}, d)), ch_rel(rel(t)));
        ch_output(&c, kiln_mse(g, ch_input(&c, t, 1, (int64_t[]){1}, d),
                               ch_input(&c, t, 1, (int64_t[]){1}, d)), ch_rel(rel(t)));
        co_check(e, &c);
    }
}

/* ---- one_hot: every dtype, out-of-range labels give zeros ------------ */

static void one_hot_case(co_env *e)
{
    ch_ctx c;
    co_begin(e, &c, "all dtypes");
    kiln_graph *g = c.g;
    static const double odd[] = {-1, 17, 2147483647.0, -2147483648.0, 0, 16, 64, 3};
    ch_dist d = ch_uniform(-2, 19);
    d.nspecial = 8;
    d.specials = odd;
    kiln_node l7 = ch_input(&c, KILN_I32, 1, (int64_t[]){1000}, d);
    kiln_node l0 = ch_input(&c, KILN_I32, 0, NULL, ch_uniform(0, 17));
    kiln_node l2 = ch_input(&c, KILN_I32, 2, (int64_t[]){3, 17}, d);
    kiln_node lt = co_transposed(&c, KILN_I32, 3, 17, d);
    for (int i = 0; i < KILN_DTYPE_COUNT; i++) {
        kiln_dtype t = co_dtypes[i];
        ch_output(&c, kiln_one_hot(g, l7, 17, t), ch_exact());
        ch_output(&c, kiln_one_hot(g, l0, 64, t), ch_exact());
        ch_output(&c, kiln_one_hot(g, l2, 1, t), ch_exact());
        ch_output(&c, kiln_one_hot(g, lt, 17, t), ch_exact());
    }
    co_check(e, &c);
}

/* ---- random: bit-exact streams --------------------------------------- */

static kiln_node scalar_i32(ch_ctx *c, double v)
{
    return ch_input_values(c, KILN_I32, 0, NULL, &v);
}

static void random_case(co_env *e)
{
    ch_ctx c;
    co_begin(e, &c, "f32 f64");
    kiln_graph *g = c.g;
    kiln_node seeds[3] = {scalar_i32(&c, 12345), scalar_i32(&c, -7), scalar_i32(&c, 0)};
    kiln_node offs[3] = {scalar_i32(&c, 0), scalar_i32(&c, 99), scalar_i32(&c, -2147483648.0)};
    static const int64_t shapes[][3] = {{1000, 0, 0}, {7, 17, 0}, {1, 0, 0}, {3, 1, 5}};
    static const int ranks[] = {1, 2, 1, 3};
    for (int i = 0; i < 4; i++)
        for (int t = 0; t < 2; t++)
            ch_output(&c, kiln_random_uniform(g, t ? KILN_F64 : KILN_F32, ranks[i], shapes[i],
                                              seeds[i % 3], offs[(i + t) % 3]), ch_exact());
    ch_output(&c, kiln_random_uniform(g, KILN_F32, 0, NULL, seeds[0], offs[1]), ch_exact());
    ch_output(&c, kiln_random_uniform(g, KILN_F32, 2, (int64_t[]){64, 1000}, seeds[1], offs[2]),
              ch_exact());
    co_check(e, &c);
}

static void bernoulli_case(co_env *e)
{
    ch_ctx c;
    co_begin(e, &c, "bool");
    kiln_graph *g = c.g;
    kiln_node seed = scalar_i32(&c, 2024), off = scalar_i32(&c, 3);
    static const double ps[] = {0, 0.3, 0.5, 1, 1e-7, 0.999999};
    for (int i = 0; i < 6; i++)
        ch_output(&c, kiln_bernoulli(g, ps[i], 1, (int64_t[]){1000}, seed, off), ch_exact());
    ch_output(&c, kiln_bernoulli(g, 0.25, 2, (int64_t[]){17, 64}, off, seed), ch_exact());
    co_check(e, &c);
}

static void dropout_case(co_env *e)
{
    ch_ctx c;
    co_begin(e, &c, "f32 f64");
    kiln_graph *g = c.g;
    kiln_node seed = scalar_i32(&c, 77), off = scalar_i32(&c, 5);
    static const double rates[] = {0, 0.5, 0.9};
    for (int t = 0; t < 2; t++) {
        kiln_dtype dt = t ? KILN_F64 : KILN_F32;
        kiln_node x = ch_input(&c, dt, 2, (int64_t[]){17, 64}, ch_uniform(-3, 3));
        for (int i = 0; i < 3; i++)
            ch_output(&c, kiln_dropout(g, x, rates[i], seed, off), ch_exact());
        ch_output(&c, kiln_dropout(g, co_transposed(&c, dt, 7, 17, ch_uniform(-1, 1)), 0.3,
                                   off, seed), ch_exact());
    }
    co_check(e, &c);
}

/* ---- sources ----------------------------------------------------------- */

/* Inputs, params (every init kind) and constants of every dtype, output
 * directly and through an op. */
static void inputs_case(co_env *e)
{
    ch_ctx c;
    co_begin(e, &c, "all dtypes");
    for (int i = 0; i < KILN_DTYPE_COUNT; i++) {
        kiln_dtype t = co_dtypes[i];
        ch_dist d = t == KILN_I32 ? ch_uniform(-1000, 1000) : ch_uniform(-5, 5);
        kiln_node x = ch_input(&c, t, 2, (int64_t[]){7, 17}, d);
        ch_output(&c, x, ch_exact());
        ch_output(&c, kiln_eq(c.g, x, ch_input(&c, t, 0, NULL, d)), ch_exact());
    }
    co_check(e, &c);
}

static void consts_case(co_env *e)
{
    ch_ctx c;
    co_begin(e, &c, "all dtypes");
    kiln_graph *g = c.g;
    for (int i = 0; i < KILN_DTYPE_COUNT; i++) {
        kiln_dtype t = co_dtypes[i];
        double vals[7 * 17];
        for (int k = 0; k < 7 * 17; k++)
            vals[k] = t == KILN_BOOL ? k % 3 == 0 : (k * 37) % 101 - 50 + (t == KILN_I32 ? 0 : 0.25);
        kiln_node k = kiln_constant(g, t, 2, (int64_t[]){7, 17}, vals);
        ch_output(&c, k, ch_exact());
        ch_output(&c, kiln_ne(g, kiln_fill(g, t, 1, (int64_t[]){17}, 1), k), ch_exact());
        ch_output(&c, kiln_scalar(g, t, 1), ch_exact());
    }
    co_check(e, &c);
}

static void params_case(co_env *e)
{
    ch_ctx c;
    co_begin(e, &c, "all dtypes");
    static const kiln_init inits[] = {
        {KILN_INIT_ZEROS, 0, 0, 0},       {KILN_INIT_CONSTANT, -2.5, 0, 0},
        {KILN_INIT_UNIFORM, -1, 3, 11},   {KILN_INIT_NORMAL, 1, 2, 12},
        {KILN_INIT_GLOROT, 0, 0, 13},     {KILN_INIT_HE, 0, 0, 14}};
    for (int i = 0; i < KILN_DTYPE_COUNT; i++) {
        kiln_dtype t = co_dtypes[i];
        for (int j = 0; j < 6; j++) {
            if (!ir_dtype_is_float(t) && j >= 2)
                break; /* integer and bool params take zeros and constant */
            char name[32];
            snprintf(name, sizeof name, "p_%s_%d", kiln_dtype_name(t), j);
            kiln_init init = inits[j];
            if (!ir_dtype_is_float(t) && j == 1)
                init.a = 1;
            kiln_node p = kiln_param(c.g, name, t, 2, (int64_t[]){7 + j, 17}, init);
            ch_output(&c, p, ch_exact());
            if (t != KILN_BOOL)
                ch_output(&c, kiln_neg(c.g, p), ch_exact());
        }
    }
    co_check(e, &c);
}

/* ---- assign: three runs, swaps, every dtype ---------------------------- */

static void assign_case(co_env *e)
{
    ch_ctx c;
    co_begin(e, &c, "three runs");
    c.runs = 3;
    kiln_graph *g = c.g;
    kiln_node x = ch_input(&c, KILN_F32, 2, (int64_t[]){7, 17}, ch_uniform(-1, 1));
    kiln_node p = kiln_param(g, "p", KILN_F32, 2, (int64_t[]){7, 17}, kiln_init_uniform(-1, 1, 3));
    kiln_node next = kiln_add(g, kiln_mul(g, p, kiln_scalar(g, KILN_F32, 0.5)), x);
    ch_output(&c, kiln_assign(g, p, next), ch_exact());
    ch_output(&c, p, ch_exact()); /* the value before the run */
    /* a swap: both assigns read the values from before the run */
    kiln_node a = kiln_param(g, "a", KILN_F64, 1, (int64_t[]){1000}, kiln_init_normal(0, 1, 4));
    kiln_node b = kiln_param(g, "b", KILN_F64, 1, (int64_t[]){1000}, kiln_init_constant(3));
    kiln_assign(g, a, b);
    kiln_assign(g, b, a);
    ch_output(&c, kiln_add(g, a, kiln_scalar(g, KILN_F64, 1)), ch_exact());
    kiln_node n = kiln_param(g, "n", KILN_I32, 0, NULL, kiln_init_constant(41));
    kiln_assign(g, n, kiln_add(g, n, kiln_scalar(g, KILN_I32, 1)));
    ch_output(&c, n, ch_exact());
    kiln_node flag = kiln_param(g, "flag", KILN_BOOL, 2, (int64_t[]){7, 17}, kiln_init_zeros());
    kiln_assign(g, flag, kiln_gt(g, x, p));
    co_check(e, &c);
}

const co_case co_cases_nn[] = {
    {"softmax", IR_OP_SOFTMAX, softmax_case},
    {"log_softmax", IR_OP_LOG_SOFTMAX, log_softmax_case},
    {"softmax_cross_entropy", IR_OP_SOFTMAX_CE, sce_case},
    {"mse", IR_OP_MEAN, mse_case},
    {"one_hot", IR_OP_ONE_HOT, one_hot_case},
    {"random_uniform", IR_OP_RANDOM_UNIFORM, random_case},
    {"bernoulli", IR_OP_BERNOULLI, bernoulli_case},
    {"dropout", IR_OP_BERNOULLI, dropout_case},
    {"input", IR_OP_INPUT, inputs_case},
    {"param", IR_OP_PARAM, params_case},
    {"const", IR_OP_CONST, consts_case},
    {"assign", IR_OP_ASSIGN, assign_case},
    {NULL, 0, NULL},
};
