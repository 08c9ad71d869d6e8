/* test_source.c — leaves and state: inputs, constants and params of every
 * dtype pass through the evaluator unchanged; assign updates params. */
#include <math.h>
#include <string.h>

#include "ophelp.h"

static const kiln_dtype all_dtypes[] = {KILN_F32, KILN_F64, KILN_I32,
                                        KILN_BOOL};

/* Awkward values per dtype, already as the dtype stores them. */
static int awkward(kiln_dtype t, double *v)
{
    static const double f32[] = {0.0, -0.0, 1.5, -3.25, 0x1p-140,
                                 3.4028234663852886e38, INFINITY, -INFINITY,
                                 NAN};
    static const double f64[] = {0.1, -0.0, 1e-310, -1.7976931348623157e308,
                                 INFINITY, NAN, 12345.678};
    static const double i32[] = {0, 1, -1, 2147483647.0, -2147483648.0, 17,
                                 -99};
    static const double b[] = {0, 1, 1, 0, 1};
    const double *src = t == KILN_F32 ? f32 : t == KILN_F64 ? f64
                                            : t == KILN_I32 ? i32 : b;
    int n = t == KILN_F32 ? 9 : t == KILN_F64 ? 7 : t == KILN_I32 ? 7 : 5;
    for (int i = 0; i < n; i++)
        v[i] = oh_as(t, src[i]);
    return n;
}

static void input_every_dtype(oh_t *t)
{
    for (int k = 0; k < 4; k++) {
        kiln_dtype dt = all_dtypes[k];
        double v[16], got[16];
        int64_t n = awkward(dt, v);
        oh_ctx c;
        oh_begin(&c, t);
        oh_eval(&c, oh_in(&c, dt, 1, &n, v), got, n);
        oh_check_exact(kiln_dtype_name(dt), got, v, n);
        /* -0.0 keeps its sign bit through a float input */
        if (dt == KILN_F32 || dt == KILN_F64)
            assert_true(signbit(got[1]));
        oh_end(&c);
    }
}

static void input_shapes(oh_t *t)
{
    static const int64_t shapes[][3] = {{1, 1, 1}, {7, 1, 1}, {1, 17, 1}};
    double v[17], got[17], s = 2.5;
    oh_ctx c;
    oh_begin(&c, t);
    oh_eval(&c, oh_in(&c, KILN_F64, 0, NULL, &s), got, 1);
    assert_true(got[0] == 2.5);
    oh_end(&c);
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 17; i++)
            v[i] = i - 8;
        int64_t n = oh_numel(3, shapes[k]);
        oh_begin(&c, t);
        oh_eval(&c, oh_in(&c, KILN_I32, 3, shapes[k], v), got, n);
        oh_check_exact("input shape", got, v, n);
        oh_end(&c);
    }
}

static void const_every_dtype(oh_t *t)
{
    const float f[3] = {1.5f, -0.0f, NAN};
    const double d[3] = {1e300, -2.0, 0.1};
    const int32_t i[3] = {INT32_MIN, 0, INT32_MAX};
    const uint8_t b[3] = {1, 0, 1};
    const void *data[4] = {f, d, i, b};
    const double want[4][3] = {{1.5, -0.0, NAN},
                               {1e300, -2.0, 0.1},
                               {-2147483648.0, 0, 2147483647.0},
                               {1, 0, 1}};
    for (int k = 0; k < 4; k++) {
        int64_t n = 3;
        double got[3];
        oh_ctx c;
        oh_begin(&c, t);
        oh_eval(&c, kiln_constant(c.g, all_dtypes[k], 1, &n, data[k]), got, 3);
        oh_check_exact(kiln_dtype_name(all_dtypes[k]), got, want[k], 3);
        oh_end(&c);
    }
}

/* kiln_fill and kiln_scalar convert a double to the dtype: f32 rounds,
 * i32 truncates toward zero, bool is v != 0. */
static void fill_and_scalar_convert(oh_t *t)
{
    static const struct {
        kiln_dtype t;
        double v, want;
    } rows[] = {
        {KILN_F32, 0.1, (double)0.1f}, {KILN_F64, 0.1, 0.1},
        {KILN_I32, -2.7, -2},          {KILN_I32, 2.7, 2},
        {KILN_BOOL, 0.5, 1},           {KILN_BOOL, 0, 0},
        {KILN_BOOL, -3, 1},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int64_t dims[2] = {2, 3};
        double got[6], want[6];
        for (int i = 0; i < 6; i++)
            want[i] = rows[r].want;
        oh_ctx c;
        oh_begin(&c, t);
        oh_eval(&c, kiln_fill(c.g, rows[r].t, 2, dims, rows[r].v), got, 6);
        oh_check_exact("fill", got, want, 6);
        oh_eval(&c, kiln_scalar(c.g, rows[r].t, rows[r].v), got, 1);
        oh_check_exact("scalar", got, want, 1);
        oh_end(&c);
    }
}

/* A param is readable as an output and through kiln_get_param, in its
 * dtype's bytes. */
static void param_every_dtype(oh_t *t)
{
    static const double init[4] = {-1.25, 1e-300, -7, 1};
    const int64_t dims[2] = {3, 1};
    for (int k = 0; k < 4; k++) {
        kiln_dtype dt = all_dtypes[k];
        oh_ctx c;
        oh_begin(&c, t);
        kiln_node p = kiln_param(c.g, "p", dt, 2, dims,
                                 kiln_init_constant(init[k]));
        assert_int_equal(kiln_output(c.g, "o", p), KILN_OK);
        kiln_program *prog = oh_compile(&c);
        assert_int_equal(kiln_run(prog), KILN_OK);
        unsigned char out[24], par[24];
        size_t nb = 3 * kiln_dtype_size(dt);
        assert_int_equal(kiln_get_output(prog, "o", out, nb), KILN_OK);
        assert_int_equal(kiln_get_param(prog, "p", par, nb), KILN_OK);
        assert_memory_equal(out, par, nb);
        for (int i = 0; i < 3; i++) {
            double v = dt == KILN_F32   ? ((float *)out)[i]
                       : dt == KILN_F64 ? ((double *)out)[i]
                       : dt == KILN_I32 ? ((int32_t *)out)[i]
                                        : out[i];
            assert_true(v == oh_as(dt, init[k]));
        }
        kiln_program_free(prog);
        oh_end(&c);
    }
}

/* p <- p * 2 + 1 each run; the output sees the value before the run. */
static void assign_updates_param(oh_t *t)
{
    const int64_t n = 2;
    oh_ctx c;
    oh_begin(&c, t);
    kiln_node p = kiln_param(c.g, "p", KILN_F32, 1, &n,
                             kiln_init_constant(1));
    kiln_node twice = kiln_mul(c.g, p, kiln_scalar(c.g, KILN_F32, 2));
    kiln_node next = kiln_add(c.g, twice, kiln_scalar(c.g, KILN_F32, 1));
    kiln_node a = kiln_assign(c.g, p, next);
    assert_int_equal(kiln_output(c.g, "before", p), KILN_OK);
    assert_int_equal(kiln_output(c.g, "assigned", a), KILN_OK);
    kiln_program *prog = oh_compile(&c);
    float before[2], assigned[2], now[2], want = 1;
    for (int run = 0; run < 4; run++) {
        assert_int_equal(kiln_run(prog), KILN_OK);
        assert_int_equal(kiln_get_output(prog, "before", before, sizeof before),
                         KILN_OK);
        assert_int_equal(
            kiln_get_output(prog, "assigned", assigned, sizeof assigned),
            KILN_OK);
        assert_int_equal(kiln_get_param(prog, "p", now, sizeof now), KILN_OK);
        for (int i = 0; i < 2; i++) {
            assert_true(before[i] == want);
            assert_true(assigned[i] == want * 2 + 1);
            assert_true(now[i] == want * 2 + 1);
        }
        want = want * 2 + 1;
    }
    kiln_program_free(prog);
    oh_end(&c);
}

/* Both assigns read the values from before the run, so a swap swaps. */
static void assign_swap_reads_old_values(oh_t *t)
{
    oh_ctx c;
    oh_begin(&c, t);
    kiln_node a =
        kiln_param(c.g, "a", KILN_I32, 0, NULL, kiln_init_constant(3));
    kiln_node b =
        kiln_param(c.g, "b", KILN_I32, 0, NULL, kiln_init_constant(-5));
    kiln_assign(c.g, a, b);
    kiln_assign(c.g, b, a);
    kiln_program *prog = oh_compile(&c);
    int32_t va, vb;
    for (int run = 1; run <= 3; run++) {
        assert_int_equal(kiln_run(prog), KILN_OK);
        assert_int_equal(kiln_get_param(prog, "a", &va, 4), KILN_OK);
        assert_int_equal(kiln_get_param(prog, "b", &vb, 4), KILN_OK);
        assert_int_equal(va, run % 2 ? -5 : 3);
        assert_int_equal(vb, run % 2 ? 3 : -5);
    }
    kiln_program_free(prog);
    oh_end(&c);
}

const oh_case oh_cases_source[] = {
    {"input_every_dtype", IR_OP_INPUT, input_every_dtype},
    {"input_shapes", IR_OP_INPUT, input_shapes},
    {"const_every_dtype", IR_OP_CONST, const_every_dtype},
    {"fill_and_scalar_convert", IR_OP_CONST, fill_and_scalar_convert},
    {"param_every_dtype", IR_OP_PARAM, param_every_dtype},
    {"assign_updates_param", IR_OP_ASSIGN, assign_updates_param},
    {"assign_swap_reads_old_values", IR_OP_ASSIGN,
     assign_swap_reads_old_values},
    {NULL, 0, NULL},
};
