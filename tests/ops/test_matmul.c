/* test_matmul.c — 2-D, batched and broadcast matmul against a triple loop
 * written here; f32, f64 and wrapping i32. */
#include <stdio.h>
#include <string.h>

#include "ophelp.h"

#define NMAX 1024

typedef struct shape {
    int rank;
    int64_t dims[4];
} shape;

static const shape pairs[][2] = {
    {{2, {3, 4}}, {2, {4, 5}}},
    {{2, {1, 1}}, {2, {1, 1}}},
    {{2, {7, 17}}, {2, {17, 1}}},
    {{2, {1, 7}}, {2, {7, 17}}},
    {{3, {2, 3, 4}}, {3, {2, 4, 5}}},
    {{4, {2, 1, 3, 4}}, {3, {5, 4, 2}}},
    {{2, {3, 4}}, {3, {2, 4, 5}}},
    {{3, {2, 3, 4}}, {2, {4, 5}}},
    {{3, {1, 2, 3}}, {3, {4, 3, 2}}},
    {{4, {3, 1, 1, 2}}, {4, {1, 2, 2, 1}}},
};
#define NPAIRS (sizeof pairs / sizeof pairs[0])

/* Output shape: broadcast batch dims, then [M, N]. */
static void out_shape(const shape *a, const shape *b, shape *o)
{
    int ra = a->rank - 2, rb = b->rank - 2, r = ra > rb ? ra : rb;
    o->rank = r + 2;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ra), ib = i - (r - rb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        o->dims[i] = da > db ? da : db;
    }
    o->dims[r] = a->dims[a->rank - 2];
    o->dims[r + 1] = b->dims[b->rank - 1];
}

static void expected(kiln_dtype t, const shape *sa, const double *a,
                     const shape *sb, const double *b, const shape *so,
                     double *want)
{
    int r = so->rank - 2;
    int64_t M = so->dims[r], N = so->dims[r + 1], K = sa->dims[sa->rank - 1];
    int64_t batches = oh_numel(r, so->dims);
    for (int64_t bi = 0; bi < batches; bi++) {
        int64_t idx[4];
        oh_unflatten(r, so->dims, bi, idx);
        int64_t ab = oh_bcast_index(sa->rank - 2, sa->dims, r, idx);
        int64_t bb = oh_bcast_index(sb->rank - 2, sb->dims, r, idx);
        const double *A = a + ab * M * K, *B = b + bb * K * N;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0;
                int64_t iacc = 0;
                for (int64_t k = 0; k < K; k++) {
                    acc += A[i * K + k] * B[k * N + j];
                    iacc += (int64_t)A[i * K + k] * (int64_t)B[k * N + j];
                }
                want[(bi * M + i) * N + j] =
                    t == KILN_I32 ? oh_wrap(iacc) : oh_as(t, acc);
            }
    }
}

/* Float data are multiples of 1/4 so every dot product is exact and the
 * comparison can be exact. */
static void matmul_shapes(oh_t *t)
{
    static const kiln_dtype types[] = {KILN_F32, KILN_F64, KILN_I32};
    uint64_t rng = 0x3a7;
    for (int k = 0; k < 3; k++)
        for (size_t p = 0; p < NPAIRS; p++) {
            const shape *sa = &pairs[p][0], *sb = &pairs[p][1];
            shape so;
            out_shape(sa, sb, &so);
            int64_t na = oh_numel(sa->rank, sa->dims),
                    nb = oh_numel(sb->rank, sb->dims),
                    no = oh_numel(so.rank, so.dims);
            double a[NMAX], b[NMAX], want[NMAX], got[NMAX];
            oh_fill(&rng, KILN_I32, -16, 16, a, na);
            oh_fill(&rng, KILN_I32, -16, 16, b, nb);
            for (int64_t i = 0; types[k] != KILN_I32 && i < na; i++)
                a[i] /= 4;
            for (int64_t i = 0; types[k] != KILN_I32 && i < nb; i++)
                b[i] /= 4;
            expected(types[k], sa, a, sb, b, &so, want);
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node xa = oh_in(&c, types[k], sa->rank, sa->dims, a);
            kiln_node xb = oh_in(&c, types[k], sb->rank, sb->dims, b);
            kiln_node y = kiln_matmul(c.g, xa, xb);
            oh_graph_ok(&c);
            int64_t d[KILN_MAX_RANK];
            assert_int_equal(kiln_node_shape(c.g, y, d), so.rank);
            for (int i = 0; i < so.rank; i++)
                assert_int_equal(d[i], so.dims[i]);
            oh_eval(&c, y, got, no);
            char what[48];
            snprintf(what, sizeof what, "matmul %s pair %zu",
                     kiln_dtype_name(types[k]), p);
            oh_check_exact(what, got, want, no);
            oh_end(&c);
        }
}

/* Inexact f32 data: the reference accumulates in f64 like this loop; a
 * different summation order changes the f64 result by ~1e-15 relative,
 * at most one f32 ulp after rounding. */
static void matmul_f32_inexact(oh_t *t)
{
    const shape sa = {2, {5, 33}}, sb = {2, {33, 7}}, so = {2, {5, 7}};
    double a[165], b[231], want[35], got[35];
    uint64_t rng = 0x1e;
    oh_fill(&rng, KILN_F32, -1, 1, a, 165);
    oh_fill(&rng, KILN_F32, -1, 1, b, 231);
    expected(KILN_F32, &sa, a, &sb, b, &so, want);
    oh_ctx c;
    oh_begin(&c, t);
    oh_eval(&c, kiln_matmul(c.g, oh_in(&c, KILN_F32, 2, sa.dims, a),
                            oh_in(&c, KILN_F32, 2, sb.dims, b)),
            got, 35);
    oh_check("matmul f32", got, want, 35, 0x1p-22, 0);
    oh_end(&c);
}

/* i32 products and sums wrap to 32 bits. */
static void matmul_i32_wraps(oh_t *t)
{
    const int64_t da[2] = {2, 2}, db[2] = {2, 1};
    const double a[4] = {65536, 0, 1073741824.0, 1073741824.0};
    const double b[2] = {65536, 2};
    /* row 0: 65536 * 65536 = 2^32 -> 0; row 1: 2^30 * 2^16 + 2^31 =
     * 2^46 + 2^31 -> 2^31 -> INT_MIN */
    const double want[2] = {0, -2147483648.0};
    double got[2];
    oh_ctx c;
    oh_begin(&c, t);
    oh_eval(&c, kiln_matmul(c.g, oh_in(&c, KILN_I32, 2, da, a),
                            oh_in(&c, KILN_I32, 2, db, b)),
            got, 2);
    oh_check_exact("matmul i32", got, want, 2);
    oh_end(&c);
}

/* Products near 2^62: two or three of them leave int64, so the
 * accumulation must wrap (not overflow) to keep the low 32 bits.  The
 * expected values are the exact dot products mod 2^32 (checked with
 * Python's big integers):
 *   against b = -2^31:     row 0: 2^63 -> 0; row 1: 2^63 - (2^31-1) 2^31
 *                          = 2^62 + 2^31 -> INT_MIN; row 2: -3 (2^31-1) 2^31
 *                          -> 3 * 2^31 mod 2^32 = 2^31 -> INT_MIN
 *   against b = 2^31 - 1:  row 0: -2^63 + 2^32 -> 0; row 1: that plus
 *                          (2^31-1)^2 -> 1; row 2: 3 (2^31-1)^2 -> 3 */
static void matmul_i32_large_products(oh_t *t)
{
    const int64_t da[2] = {3, 3}, db[2] = {3, 1};
    const double a[9] = {-2147483648.0, -2147483648.0, 0,
                         -2147483648.0, -2147483648.0, 2147483647.0,
                         2147483647.0,  2147483647.0,  2147483647.0};
    const double b1[3] = {-2147483648.0, -2147483648.0, -2147483648.0};
    const double b2[3] = {2147483647.0, 2147483647.0, 2147483647.0};
    const double want1[3] = {0, -2147483648.0, -2147483648.0};
    const double want2[3] = {0, 1, 3};
    double got[3];
    oh_ctx c;
    oh_begin(&c, t);
    kiln_node A = oh_in(&c, KILN_I32, 2, da, a);
    oh_eval(&c, kiln_matmul(c.g, A, oh_in(&c, KILN_I32, 2, db, b1)), got, 3);
    oh_check_exact("matmul i32 x -2^31", got, want1, 3);
    oh_eval(&c, kiln_matmul(c.g, A, oh_in(&c, KILN_I32, 2, db, b2)), got, 3);
    oh_check_exact("matmul i32 x 2^31-1", got, want2, 3);
    oh_end(&c);
}

/* A hand-computed product. */
static void matmul_by_hand(oh_t *t)
{
    const int64_t da[2] = {2, 3}, db[2] = {3, 2};
    const double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12};
    const double want[4] = {58, 64, 139, 154};
    double got[4];
    oh_ctx c;
    oh_begin(&c, t);
    oh_eval(&c, kiln_matmul(c.g, oh_in(&c, KILN_F64, 2, da, a),
                            oh_in(&c, KILN_F64, 2, db, b)),
            got, 4);
    oh_check_exact("matmul by hand", got, want, 4);
    oh_end(&c);
}

const oh_case oh_cases_matmul[] = {
    {"matmul_shapes", IR_OP_MATMUL, matmul_shapes},
    {"matmul_f32_inexact", IR_OP_MATMUL, matmul_f32_inexact},
    {"matmul_i32_wraps", IR_OP_MATMUL, matmul_i32_wraps},
    {"matmul_i32_large_products", IR_OP_MATMUL, matmul_i32_large_products},
    {"matmul_by_hand", IR_OP_MATMUL, matmul_by_hand},
    {NULL, 0, NULL},
};
