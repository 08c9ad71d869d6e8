/* test_init.c — param initialisers through kiln_param + kiln_compile +
 * kiln_get_param: exact values for zeros and constant, distribution
 * checks with stated 5-sigma bounds for the random ones, and
 * reproducibility by seed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ophelp.h"

/* Compile a graph holding one param and read its initial value. */
static void init_values(oh_t *t, kiln_dtype dt, int rank, const int64_t *dims,
                        kiln_init init, double *out)
{
    oh_ctx c;
    oh_begin(&c, t);
    kiln_param(c.g, "w", dt, rank, dims, init);
    kiln_program *p = oh_compile(&c);
    int64_t n = oh_numel(rank, dims);
    size_t nbytes = (size_t)n * kiln_dtype_size(dt);
    unsigned char *bytes = malloc(nbytes);
    assert_non_null(bytes);
    assert_int_equal(kiln_get_param(p, "w", bytes, nbytes), KILN_OK);
    for (int64_t i = 0; i < n; i++)
        out[i] = dt == KILN_F32   ? ((float *)bytes)[i]
                 : dt == KILN_F64 ? ((double *)bytes)[i]
                 : dt == KILN_I32 ? ((int32_t *)bytes)[i]
                                  : bytes[i];
    free(bytes);
    kiln_program_free(p);
    oh_end(&c);
}

static void zeros_and_constant(oh_t *t)
{
    static const kiln_dtype types[] = {KILN_F32, KILN_F64, KILN_I32, KILN_BOOL};
    static const double consts[] = {0.1, -2.5, -7, 3};
    static const double want_const[] = {(double)0.1f, -2.5, -7, 1};
    const int64_t dims[3] = {2, 1, 3};
    for (int k = 0; k < 4; k++) {
        double got[6], want[6];
        init_values(t, types[k], 3, dims, kiln_init_zeros(), got);
        for (int i = 0; i < 6; i++)
            want[i] = 0;
        oh_check_exact("zeros", got, want, 6);
        init_values(t, types[k], 3, dims, kiln_init_constant(consts[k]), got);
        for (int i = 0; i < 6; i++)
            want[i] = want_const[k];
        oh_check_exact("constant", got, want, 6);
    }
}

typedef struct stats {
    double mean, sd, lo, hi;
} stats;

static stats stats_of(const double *x, int64_t n)
{
    stats s = {0, 0, INFINITY, -INFINITY};
    for (int64_t i = 0; i < n; i++) {
        s.mean += x[i];
        s.lo = fmin(s.lo, x[i]);
        s.hi = fmax(s.hi, x[i]);
    }
    s.mean /= (double)n;
    for (int64_t i = 0; i < n; i++)
        s.sd += (x[i] - s.mean) * (x[i] - s.mean);
    s.sd = sqrt(s.sd / (double)(n - 1));
    return s;
}

enum { N = 100000 };
static const int64_t big[2] = {100, 1000};

/* U[lo, hi): every value inside; the mean of 1e5 draws has sd
 * (hi - lo) / sqrt(12 * 1e5) and the sample sd a relative sd of about
 * sqrt(0.8 / 4 / 1e5) = 1.4e-3 (U's kurtosis is 1.8); bounds are 5 sd.
 * The extremes come within 1e-3 of the ends (missing by more has
 * probability e^-20). */
static void uniform_range(oh_t *t)
{
    double *x = malloc(N * sizeof *x);
    assert_non_null(x);
    for (int k = 0; k < 2; k++) {
        kiln_dtype dt = k ? KILN_F64 : KILN_F32;
        const double lo = -2, hi = 3;
        init_values(t, dt, 2, big, kiln_init_uniform(lo, hi, 17), x);
        stats s = stats_of(x, N);
        double w = hi - lo, sd = w / sqrt(12.0);
        assert_true(s.lo >= lo && s.hi < hi);
        assert_true(s.lo < lo + 1e-3 && s.hi > hi - 1e-3);
        if (fabs(s.mean - (lo + hi) / 2) > 5 * sd / sqrt((double)N) ||
            fabs(s.sd / sd - 1) > 5 * 1.4e-3)
            fail_msg("%s uniform: mean %g sd %g", kiln_dtype_name(dt), s.mean,
                     s.sd);
    }
    /* a degenerate range gives the constant */
    const int64_t n = 5;
    double v[5];
    init_values(t, KILN_F64, 1, &n, kiln_init_uniform(1.25, 1.25, 3), v);
    for (int i = 0; i < 5; i++)
        assert_true(v[i] == 1.25);
    free(x);
}

/* Fraction of |x - mean| <= k * sd. */
static double within(const double *x, int64_t n, double mean, double sd,
                     double k)
{
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
        c += fabs(x[i] - mean) <= k * sd;
    return (double)c / (double)n;
}

/* N(mean, sd) over 1e5 draws: sample mean within 5 sd/sqrt(n), sample sd
 * within 5 / sqrt(2n) relative, and the mass within 1 and 2 sd (0.6827,
 * 0.9545) within 5 binomial sd. */
static void check_normal(const double *x, int64_t n, double mean, double sd,
                         const char *what)
{
    stats s = stats_of(x, n);
    double f1 = within(x, n, mean, sd, 1), f2 = within(x, n, mean, sd, 2);
    double dn = (double)n;
    if (fabs(s.mean - mean) > 5 * sd / sqrt(dn) ||
        fabs(s.sd / sd - 1) > 5 / sqrt(2 * dn) ||
        fabs(f1 - 0.682689) > 5 * sqrt(0.682689 * 0.317311 / dn) ||
        fabs(f2 - 0.954500) > 5 * sqrt(0.954500 * 0.045500 / dn))
        fail_msg("%s: mean %g sd %g (want %g, %g), within 1 sd %g, 2 sd %g",
                 what, s.mean, s.sd, mean, sd, f1, f2);
}

/* 1e6 draws here, so the sample sd is pinned to 0.35% (5 sd) and a
 * scale error of 1% cannot pass. */
static void normal_mean_std(oh_t *t)
{
    enum { BIG = 1000000 };
    const int64_t dims[2] = {1000, 1000};
    double *x = malloc(BIG * sizeof *x);
    assert_non_null(x);
    for (int k = 0; k < 2; k++) {
        kiln_dtype dt = k ? KILN_F64 : KILN_F32;
        init_values(t, dt, 2, dims, kiln_init_normal(1.5, 2, 23), x);
        check_normal(x, BIG, 1.5, 2, kiln_dtype_name(dt));
        for (int64_t i = 0; i < BIG; i++)
            assert_true(isfinite(x[i]));
    }
    const int64_t n = 4;
    double v[4];
    init_values(t, KILN_F64, 1, &n, kiln_init_normal(-3, 0, 1), v);
    for (int i = 0; i < 4; i++)
        assert_true(v[i] == -3);
    free(x);
}

/* U[-l, l) with l = sqrt(6 / (fan_in + fan_out)); fan_out is the last dim,
 * fan_in the product of the others, both numel for rank <= 1. */
static void glorot_bound(oh_t *t)
{
    static const struct {
        int rank;
        int64_t dims[3];
        double fan_in, fan_out;
    } rows[] = {
        {2, {300, 200}, 300, 200},
        {3, {4, 5, 6}, 20, 6},
        {1, {50}, 50, 50},
        {2, {1000, 100}, 1000, 100},
    };
    double *x = malloc(N * sizeof *x);
    assert_non_null(x);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int k = 0; k < 2; k++) {
            kiln_dtype dt = k ? KILN_F64 : KILN_F32;
            int64_t n = oh_numel(rows[r].rank, rows[r].dims);
            double l = sqrt(6 / (rows[r].fan_in + rows[r].fan_out));
            init_values(t, dt, rows[r].rank, rows[r].dims, kiln_init_glorot(5),
                        x);
            stats s = stats_of(x, n);
            /* f32 rounding of a value just under l may land on l itself */
            double bound = dt == KILN_F32 ? (double)(float)l : l;
            assert_true(s.lo >= -bound && s.hi <= bound);
            /* with n >= 50 draws, max |x| below 0.8 l has probability
             * 0.8^50 ~ 1.4e-5 */
            assert_true(fmax(-s.lo, s.hi) > 0.8 * l);
            if (n >= 10000) {
                /* sd l / sqrt(3); sample sd relative sd ~ 1.4e-3 / sqrt(n
                 * / 1e5), mean sd (l / sqrt 3) / sqrt(n): 5 sd bounds */
                double sd = l / sqrt(3.0);
                if (fabs(s.sd / sd - 1) > 5 * 1.4e-3 * sqrt(1e5 / (double)n) ||
                    fabs(s.mean) > 5 * sd / sqrt((double)n))
                    fail_msg("glorot row %zu: mean %g sd %g, want sd %g", r,
                             s.mean, s.sd, sd);
            }
        }
    free(x);
}

/* N(0, sqrt(2 / fan_in)). */
static void he_std(oh_t *t)
{
    static const struct {
        int rank;
        int64_t dims[3];
        double fan_in;
    } rows[] = {
        {2, {400, 250}, 400},
        {3, {10, 10, 1000}, 100},
        {1, {100000}, 100000},
    };
    double *x = malloc(N * sizeof *x);
    assert_non_null(x);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int k = 0; k < 2; k++) {
            kiln_dtype dt = k ? KILN_F64 : KILN_F32;
            init_values(t, dt, rows[r].rank, rows[r].dims, kiln_init_he(9), x);
            char what[32];
            snprintf(what, sizeof what, "he row %zu %s", r,
                     kiln_dtype_name(dt));
            check_normal(x, N, 0, sqrt(2 / rows[r].fan_in), what);
        }
    free(x);
}

/* The same seed gives the same bits in separate programs; another seed
 * gives different values (f64 coincidences have probability ~2^-24). */
static void reproducible_by_seed(oh_t *t)
{
    const int64_t dims[2] = {31, 33};
    double a[1023], b[1023];
    kiln_init (*const makers[3])(uint32_t) = {kiln_init_glorot, kiln_init_he,
                                              NULL};
    for (int m = 0; m < 3; m++)
        for (int k = 0; k < 2; k++) {
            kiln_dtype dt = k ? KILN_F64 : KILN_F32;
            kiln_init i1 = makers[m] ? makers[m](77)
                                     : kiln_init_uniform(0, 1, 77);
            kiln_init i2 = makers[m] ? makers[m](78)
                                     : kiln_init_uniform(0, 1, 78);
            init_values(t, dt, 2, dims, i1, a);
            init_values(t, dt, 2, dims, i1, b);
            assert_memory_equal(a, b, sizeof a);
            init_values(t, dt, 2, dims, i2, b);
            int same = 0;
            for (int i = 0; i < 1023; i++)
                same += a[i] == b[i];
            assert_true(same < 5);
        }
}

const oh_case oh_cases_init[] = {
    {"zeros_and_constant", IR_OP_PARAM, zeros_and_constant},
    {"uniform_range", IR_OP_PARAM, uniform_range},
    {"normal_mean_std", IR_OP_PARAM, normal_mean_std},
    {"glorot_bound", IR_OP_PARAM, glorot_bound},
    {"he_std", IR_OP_PARAM, he_std},
    {"reproducible_by_seed", IR_OP_PARAM, reproducible_by_seed},
    {NULL, 0, NULL},
};
