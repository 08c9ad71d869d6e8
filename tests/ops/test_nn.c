/* test_nn.c — softmax, log_softmax, softmax_cross_entropy, one_hot, mse
 * and dropout against formulas written here. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ophelp.h"

#define NMAX 1024

/* f32: both sides are f64 math rounded once to f32, so they differ by at
 * most one f32 ulp.  Both dtypes: the test's naive formula (no max
 * subtracted) and the evaluator's stable one differ by rounding in exp
 * and log, a few f64 ulp of the row's log-sum-exp (|value| < 8 here):
 * an absolute part that matters where the exact answer is 0 (a size-1
 * axis gives log_softmax 0 and cross-entropy 0). */
#define RTOL_F32 0x1p-22
#define RTOL_F64 1e-13
#define ATOL 1e-14

static double rtol(kiln_dtype t) { return t == KILN_F32 ? RTOL_F32 : RTOL_F64; }
static double atol(kiln_dtype t) { (void)t; return ATOL; }

static const kiln_dtype floats[] = {KILN_F32, KILN_F64};

/* ---- softmax / log_softmax ------------------------------------------ */

typedef struct shape {
    int rank;
    int64_t dims[3];
} shape;

/* The definition, without subtracting the max (data are small). */
static void softmax_expected(kiln_dtype t, const shape *s, int axis,
                             bool log_form, const double *x, double *want)
{
    int64_t n = oh_numel(s->rank, s->dims);
    for (int64_t i = 0; i < n; i++) {
        int64_t idx[3];
        oh_unflatten(s->rank, s->dims, i, idx);
        double sum = 0;
        for (int64_t k = 0; k < s->dims[axis]; k++) {
            int64_t j[3];
            memcpy(j, idx, sizeof j);
            j[axis] = k;
            sum += exp(x[oh_flatten(s->rank, s->dims, j)]);
        }
        want[i] = oh_as(t, log_form ? x[i] - log(sum) : exp(x[i]) / sum);
    }
}

static void softmax_every_axis(oh_t *t)
{
    static const shape shapes[] = {
        {3, {2, 3, 4}}, {3, {3, 1, 5}}, {1, {7}}, {2, {17, 1}}, {2, {1, 1}},
    };
    bool log_form = t->c->op == IR_OP_LOG_SOFTMAX;
    uint64_t rng = log_form ? 0x1050f : 0x50f;
    for (int k = 0; k < 2; k++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            const shape *s = &shapes[si];
            int64_t n = oh_numel(s->rank, s->dims);
            double x[NMAX], want[NMAX], got[NMAX];
            oh_fill(&rng, floats[k], -3, 3, x, n);
            for (int axis = 0; axis < s->rank; axis++)
                for (int neg = 0; neg < 2; neg++) {
                    softmax_expected(floats[k], s, axis, log_form, x, want);
                    oh_ctx c;
                    oh_begin(&c, t);
                    kiln_node in = oh_in(&c, floats[k], s->rank, s->dims, x);
                    int a = neg ? axis - s->rank : axis;
                    kiln_node y = log_form ? kiln_log_softmax(c.g, in, a)
                                           : kiln_softmax(c.g, in, a);
                    oh_eval(&c, y, got, n);
                    char what[64];
                    snprintf(what, sizeof what, "%s %s shape %zu axis %d",
                             ir_ops[t->c->op].name,
                             kiln_dtype_name(floats[k]), si, a);
                    oh_check(what, got, want, n, rtol(floats[k]),
                             atol(floats[k]));
                    oh_end(&c);
                }
        }
}

/* Large values stay finite (the max is subtracted). */
static void softmax_large_values(oh_t *t)
{
    const double ln2 = log(2.0);
    static const int64_t n = 3;
    const struct {
        double x[3], soft[3], logsoft[3];
    } rows[] = {
        {{1000, 1000, -1000}, {0.5, 0.5, 0}, {-ln2, -ln2, -2000 - ln2}},
        {{1e4, 0, -1e4}, {1, 0, 0}, {0, -1e4, -2e4}},
        {{-1e4, -1e4, -1e4}, {1.0 / 3, 1.0 / 3, 1.0 / 3},
         {-log(3.0), -log(3.0), -log(3.0)}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int k = 0; k < 2; k++) {
            double got[3], want[3];
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node x = oh_in(&c, floats[k], 1, &n, rows[r].x);
            const double *src = t->c->op == IR_OP_SOFTMAX ? rows[r].soft
                                                          : rows[r].logsoft;
            for (int i = 0; i < 3; i++)
                want[i] = oh_as(floats[k], src[i]);
            oh_eval(&c, t->c->op == IR_OP_SOFTMAX ? kiln_softmax(c.g, x, 0)
                                                  : kiln_log_softmax(c.g, x, 0),
                    got, 3);
            for (int i = 0; i < 3; i++)
                assert_true(isfinite(got[i]));
            char what[48];
            snprintf(what, sizeof what, "%s row %zu %s", ir_ops[t->c->op].name,
                     r, kiln_dtype_name(floats[k]));
            /* -1e4 + log 3 loses the low bits of log 3 (ulp(1e4) is
             * 1.8e-12 in f64): an absolute tolerance of a few of those */
            oh_check(what, got, want, 3, rtol(floats[k]), 1e-11);
            oh_end(&c);
        }
}

/* ---- softmax_cross_entropy ------------------------------------------ */

static double ce_expected(int64_t N, int64_t C, const double *x,
                          const double *labels)
{
    double total = 0;
    for (int64_t r = 0; r < N; r++) {
        double sum = 0;
        for (int64_t k = 0; k < C; k++)
            sum += exp(x[r * C + k]);
        total += -(x[r * C + (int64_t)labels[r]] - log(sum));
    }
    return total / (double)N;
}

static void cross_entropy_formula(oh_t *t)
{
    static const int64_t shapes[][2] = {{3, 4}, {1, 1}, {7, 17}, {5, 1}};
    uint64_t rng = 0xce;
    for (int k = 0; k < 2; k++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            int64_t N = shapes[si][0], C = shapes[si][1];
            double x[NMAX], y[32], got;
            oh_fill(&rng, floats[k], -4, 4, x, N * C);
            oh_fill(&rng, KILN_I32, 0, (double)C, y, N);
            double want = oh_as(floats[k], ce_expected(N, C, x, y));
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node loss = kiln_softmax_cross_entropy(
                c.g, oh_in(&c, floats[k], 2, shapes[si], x),
                oh_in(&c, KILN_I32, 1, &N, y));
            oh_graph_ok(&c);
            assert_int_equal(kiln_node_rank(c.g, loss), 0);
            oh_eval(&c, loss, &got, 1);
            char what[48];
            snprintf(what, sizeof what, "ce %s [%lld,%lld]",
                     kiln_dtype_name(floats[k]), (long long)N, (long long)C);
            oh_check(what, &got, &want, 1, rtol(floats[k]), atol(floats[k]));
            oh_end(&c);
        }
}

/* Logits of +-1e4 stay finite: row 0 pays 2e4, row 1 nothing, row 2 (all
 * equal) log 3. */
static void cross_entropy_large_logits(oh_t *t)
{
    const int64_t dims[2] = {3, 3}, n = 3;
    const double x[9] = {1e4, -1e4, 0, 1e4, -1e4, 0, -1e4, -1e4, -1e4};
    const double y[3] = {1, 0, 2};
    for (int k = 0; k < 2; k++) {
        double got, want = oh_as(floats[k], (2e4 + 0 + log(3.0)) / 3);
        oh_ctx c;
        oh_begin(&c, t);
        kiln_node logits = oh_in(&c, floats[k], 2, dims, x);
        kiln_node labels = oh_in(&c, KILN_I32, 1, &n, y);
        oh_eval(&c, kiln_softmax_cross_entropy(c.g, logits, labels), &got, 1);
        assert_true(isfinite(got));
        /* row 2 computes -1e4 + log 3 + 1e4: absolute error ~ulp(1e4) */
        oh_check("ce large logits", &got, &want, 1, rtol(floats[k]), 1e-11);
        oh_end(&c);
    }
}

/* A label outside [0, C) fails the run with a message naming the row. */
static void cross_entropy_label_out_of_range(oh_t *t)
{
    static const struct {
        double labels[3];
        const char *row;
    } rows[] = {
        {{0, 4, 1}, "row 1"},
        {{-1, 0, 0}, "row 0"},
        {{3, 3, 2147483647.0}, "row 2"},
    };
    const int64_t dims[2] = {3, 4}, n = 3;
    const double x[12] = {0};
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        double got;
        char msg[512];
        oh_ctx c;
        oh_begin(&c, t);
        kiln_node loss = kiln_softmax_cross_entropy(
            c.g, oh_in(&c, KILN_F32, 2, dims, x),
            oh_in(&c, KILN_I32, 1, &n, rows[r].labels));
        kiln_status s = oh_try_eval(&c, loss, &got, 1, msg, sizeof msg);
        assert_int_equal(s, KILN_ERR_RUNTIME);
        if (!strstr(msg, rows[r].row) ||
            !strstr(msg, "softmax_cross_entropy")) {
            print_error("message '%s' should name the op and '%s'\n", msg,
                        rows[r].row);
            fail();
        }
        oh_end(&c);
    }
}

/* ---- one_hot --------------------------------------------------------- */

static void one_hot_cases(oh_t *t)
{
    static const kiln_dtype types[] = {KILN_F32, KILN_F64, KILN_I32, KILN_BOOL};
    static const struct {
        int rank;
        int64_t dims[2];
        double labels[6];
        int depth;
    } rows[] = {
        {2, {2, 3}, {0, 1, 2, -1, 3, 5}, 3},
        {1, {2}, {0, 1}, 1},
        {0, {0}, {4}, 7},
        {1, {3}, {-2147483648.0, 2147483647.0, 6}, 7},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int k = 0; k < 4; k++) {
            int64_t n = oh_numel(rows[r].rank, rows[r].dims);
            int depth = rows[r].depth;
            double want[64], got[64];
            for (int64_t i = 0; i < n; i++)
                for (int d = 0; d < depth; d++)
                    want[i * depth + d] = rows[r].labels[i] == d;
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node y = kiln_one_hot(
                c.g, oh_in(&c, KILN_I32, rows[r].rank, rows[r].dims,
                           rows[r].labels),
                depth, types[k]);
            oh_graph_ok(&c);
            assert_int_equal(kiln_node_dtype(c.g, y), types[k]);
            assert_int_equal(kiln_node_rank(c.g, y), rows[r].rank + 1);
            oh_eval(&c, y, got, n * depth);
            char what[32];
            snprintf(what, sizeof what, "one_hot row %zu %s", r,
                     kiln_dtype_name(types[k]));
            oh_check_exact(what, got, want, n * depth);
            oh_end(&c);
        }
}

/* ---- mse --------------------------------------------------------------- */

/* mse is sub, square and mean, each rounded to the dtype; in f32 each
 * squared term carries up to ~3 f32 half-ulps of relative error, and a
 * mean of positive terms keeps that bound: 2^-21. */
static void mse_cases(oh_t *t)
{
    static const shape pairs[][2] = {
        {{2, {3, 4}}, {1, {4}}},
        {{0, {0}}, {0, {0}}},
        {{1, {17}}, {0, {0}}},
        {{3, {2, 1, 5}}, {2, {3, 1}}},
    };
    uint64_t rng = 0x3e5;
    for (int k = 0; k < 2; k++)
        for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
            const shape *sa = &pairs[p][0], *sb = &pairs[p][1];
            shape so = {sa->rank > sb->rank ? sa->rank : sb->rank, {0}};
            for (int i = 0; i < so.rank; i++) {
                int ia = i - (so.rank - sa->rank);
                int ib = i - (so.rank - sb->rank);
                int64_t da = ia >= 0 ? sa->dims[ia] : 1,
                        db = ib >= 0 ? sb->dims[ib] : 1;
                so.dims[i] = da > db ? da : db;
            }
            int64_t na = oh_numel(sa->rank, sa->dims),
                    nb = oh_numel(sb->rank, sb->dims),
                    no = oh_numel(so.rank, so.dims);
            double a[NMAX], b[NMAX], sum = 0, got;
            oh_fill(&rng, floats[k], -3, 3, a, na);
            oh_fill(&rng, floats[k], -3, 3, b, nb);
            for (int64_t i = 0; i < no; i++) {
                int64_t idx[3];
                oh_unflatten(so.rank, so.dims, i, idx);
                double d = a[oh_bcast_index(sa->rank, sa->dims, so.rank, idx)] -
                           b[oh_bcast_index(sb->rank, sb->dims, so.rank, idx)];
                sum += d * d;
            }
            double want = oh_as(floats[k], sum / (double)no);
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node xa = oh_in(&c, floats[k], sa->rank, sa->dims, a);
            kiln_node xb = oh_in(&c, floats[k], sb->rank, sb->dims, b);
            kiln_node y = kiln_mse(c.g, xa, xb);
            oh_graph_ok(&c);
            assert_int_equal(kiln_node_rank(c.g, y), 0);
            oh_eval(&c, y, &got, 1);
            char what[32];
            snprintf(what, sizeof what, "mse pair %zu %s", p,
                     kiln_dtype_name(floats[k]));
            oh_check(what, &got, &want, 1,
                     floats[k] == KILN_F32 ? 0x1p-21 : 1e-14, 0);
            oh_end(&c);
        }
}

static void mse_by_hand(oh_t *t)
{
    const int64_t n = 4;
    const double a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 3, 8}, want = 5;
    double got;
    oh_ctx c;
    oh_begin(&c, t);
    oh_eval(&c, kiln_mse(c.g, oh_in(&c, KILN_F64, 1, &n, a),
                         oh_in(&c, KILN_F64, 1, &n, b)),
            &got, 1);
    oh_check_exact("mse by hand", &got, &want, 1);
    oh_end(&c);
}

/* ---- dropout ------------------------------------------------------------ */

static void dropout_rate_zero_is_identity(oh_t *t)
{
    const int64_t n = 5;
    const double x[5] = {1, -2, 0.5, 3, -0.25}, zero = 0;
    double got[5];
    oh_ctx c;
    oh_begin(&c, t);
    kiln_node in = oh_in(&c, KILN_F32, 1, &n, x);
    kiln_node seed = oh_in(&c, KILN_I32, 0, NULL, &zero);
    kiln_node y = kiln_dropout(c.g, in, 0, seed, seed);
    oh_graph_ok(&c);
    assert_int_equal(y.id, in.id);
    /* the case is filed under bernoulli: a positive rate builds one */
    oh_eval(&c, y, got, 5);
    oh_check_exact("dropout rate 0", got, x, 5);
    kiln_node z = kiln_dropout(c.g, in, 0.5, seed, seed);
    oh_eval(&c, z, got, 5);
    oh_end(&c);
}

/* Kept elements are x / (1 - rate), dropped ones exactly 0, and the mask
 * is kiln.h's rule computed with this file's own Philox: keep element e
 * iff (word(seed, offset, e) >> 8) < floor((1 - rate) * 2^24).  The scale
 * 1/(1-rate) is itself a dtype scalar, so in f32 the kept value is within
 * two f32 half-ulps of x / (1 - rate). */
static void dropout_mask_and_scale(oh_t *t)
{
    static const struct {
        kiln_dtype t;
        int rank;
        int64_t dims[3];
        double rate, seed, offset;
    } rows[] = {
        {KILN_F32, 1, {1000}, 0.3, 1234, 7},
        {KILN_F64, 3, {3, 1, 5}, 0.5, -5, 0},
        {KILN_F32, 2, {17, 7}, 0.9, 0, -1},
        {KILN_F64, 0, {0}, 0.25, 2147483647.0, 3},
    };
    uint64_t rng = 0xd509;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int64_t n = oh_numel(rows[r].rank, rows[r].dims), kept = 0;
        double x[NMAX], want[NMAX], got[NMAX];
        oh_fill(&rng, rows[r].t, 0.5, 2, x, n);
        uint32_t threshold = (uint32_t)floor((1 - rows[r].rate) * 16777216.0);
        for (int64_t e = 0; e < n; e++) {
            uint32_t w = oh_stream_word((uint32_t)(int32_t)rows[r].seed,
                                        (uint32_t)(int32_t)rows[r].offset,
                                        (uint64_t)e);
            bool keep = (w >> 8) < threshold;
            kept += keep;
            want[e] = keep ? x[e] / (1 - rows[r].rate) : 0;
        }
        oh_ctx c;
        oh_begin(&c, t);
        kiln_node in = oh_in(&c, rows[r].t, rows[r].rank, rows[r].dims, x);
        kiln_node seed = oh_in(&c, KILN_I32, 0, NULL, &rows[r].seed);
        kiln_node offset = oh_in(&c, KILN_I32, 0, NULL, &rows[r].offset);
        kiln_node y = kiln_dropout(c.g, in, rows[r].rate, seed, offset);
        oh_eval(&c, y, got, n);
        char what[32];
        snprintf(what, sizeof what, "dropout row %zu", r);
        oh_check(what, got, want, n, rows[r].t == KILN_F32 ? 0x1p-23 : 0x1p-52,
                 0);
        /* row 0: 1000 draws keep ~70%: 5 sigma is 72 elements */
        if (r == 0)
            assert_true(kept > 700 - 73 && kept < 700 + 73);
        oh_end(&c);
    }
}

const oh_case oh_cases_nn[] = {
    {"softmax_every_axis", IR_OP_SOFTMAX, softmax_every_axis},
    {"log_softmax_every_axis", IR_OP_LOG_SOFTMAX, softmax_every_axis},
    {"softmax_large_values", IR_OP_SOFTMAX, softmax_large_values},
    {"log_softmax_large_values", IR_OP_LOG_SOFTMAX, softmax_large_values},
    {"cross_entropy_formula", IR_OP_SOFTMAX_CE, cross_entropy_formula},
    {"cross_entropy_large_logits", IR_OP_SOFTMAX_CE,
     cross_entropy_large_logits},
    {"cross_entropy_label_out_of_range", IR_OP_SOFTMAX_CE,
     cross_entropy_label_out_of_range},
    {"one_hot_cases", IR_OP_ONE_HOT, one_hot_cases},
    {"mse_cases", IR_OP_MEAN, mse_cases},
    {"mse_by_hand", IR_OP_MEAN, mse_by_hand},
    {"dropout_rate_zero_is_identity", IR_OP_BERNOULLI,
     dropout_rate_zero_is_identity},
    {"dropout_mask_and_scale", IR_OP_BERNOULLI, dropout_mask_and_scale},
    {NULL, 0, NULL},
};
