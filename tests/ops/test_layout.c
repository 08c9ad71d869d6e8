/* test_layout.c — reshape, transpose, broadcast_to, slice, concat and pad
 * against index loops written here, for every dtype. */
#include <stdio.h>
#include <string.h>

#include "ophelp.h"

#define NMAX 512

static const kiln_dtype dtypes[] = {KILN_F32, KILN_F64, KILN_I32, KILN_BOOL};

/* Distinct values (0..n-1 shifted, bool alternating). */
static void iota(kiln_dtype t, double *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = t == KILN_BOOL ? (i % 3 == 1) : (double)(i - 5);
}

static void check_shape(oh_ctx *c, kiln_node y, int rank, const int64_t *dims)
{
    int64_t got[KILN_MAX_RANK];
    oh_graph_ok(c);
    assert_int_equal(kiln_node_shape(c->g, y, got), rank);
    for (int d = 0; d < rank; d++)
        assert_int_equal(got[d], dims[d]);
}

/* ---- reshape ------------------------------------------------------- */

static void reshape_cases(oh_t *t)
{
    static const struct {
        int xr;
        int64_t xd[3];
        int yr;
        int64_t yd[3], want[3];
    } rows[] = {
        {3, {2, 3, 4}, 2, {4, -1}, {4, 6}},
        {3, {2, 3, 4}, 1, {24}, {24}},
        {3, {2, 3, 4}, 1, {-1}, {24}},
        {3, {2, 3, 4}, 3, {3, -1, 2}, {3, 4, 2}},
        {2, {1, 1}, 0, {0}, {0}},
        {0, {0}, 3, {1, 1, 1}, {1, 1, 1}},
        {0, {0}, 1, {-1}, {1}},
        {1, {7}, 2, {7, 1}, {7, 1}},
        {1, {17}, 3, {1, -1, 1}, {1, 17, 1}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int k = 0; k < 4; k++) {
            double x[NMAX], got[NMAX];
            int64_t n = oh_numel(rows[r].xr, rows[r].xd);
            iota(dtypes[k], x, n);
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node y = kiln_reshape(
                c.g, oh_in(&c, dtypes[k], rows[r].xr, rows[r].xd, x),
                rows[r].yr, rows[r].yd);
            check_shape(&c, y, rows[r].yr, rows[r].want);
            oh_eval(&c, y, got, n);
            oh_check_exact("reshape", got, x, n);
            oh_end(&c);
        }
}

/* ---- transpose ----------------------------------------------------- */

static void check_transpose(oh_t *t, kiln_dtype dt, int rank,
                            const int64_t *xd, const int *perm)
{
    int64_t yd[KILN_MAX_RANK], n = oh_numel(rank, xd);
    double x[NMAX], want[NMAX], got[NMAX];
    for (int d = 0; d < rank; d++)
        yd[d] = xd[perm[d]];
    iota(dt, x, n);
    for (int64_t i = 0; i < n; i++) {
        int64_t yi[KILN_MAX_RANK], xi[KILN_MAX_RANK];
        oh_unflatten(rank, yd, i, yi);
        for (int d = 0; d < rank; d++)
            xi[perm[d]] = yi[d];
        want[i] = x[oh_flatten(rank, xd, xi)];
    }
    oh_ctx c;
    oh_begin(&c, t);
    kiln_node y = kiln_transpose(c.g, oh_in(&c, dt, rank, xd, x), perm);
    check_shape(&c, y, rank, yd);
    oh_eval(&c, y, got, n);
    char what[64];
    snprintf(what, sizeof what, "transpose %s rank %d perm[0] %d",
             kiln_dtype_name(dt), rank, rank ? perm[0] : -1);
    oh_check_exact(what, got, want, n);
    oh_end(&c);
}

static void transpose_rank3_every_permutation(oh_t *t)
{
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const int64_t shapes[2][3] = {{2, 3, 5}, {3, 1, 7}};
    for (int k = 0; k < 4; k++)
        for (int s = 0; s < 2; s++)
            for (int p = 0; p < 6; p++)
                check_transpose(t, dtypes[k], 3, shapes[s], perms[p]);
}

static void transpose_other_ranks(oh_t *t)
{
    static const int64_t d1[1] = {7}, d2[2] = {3, 5}, d4[4] = {2, 1, 3, 2};
    static const int p1[1] = {0}, p2[2] = {1, 0}, p4[4] = {3, 1, 0, 2};
    for (int k = 0; k < 4; k++) {
        check_transpose(t, dtypes[k], 0, NULL, NULL);
        check_transpose(t, dtypes[k], 1, d1, p1);
        check_transpose(t, dtypes[k], 2, d2, p2);
        check_transpose(t, dtypes[k], 4, d4, p4);
    }
}

/* ---- broadcast_to -------------------------------------------------- */

static void broadcast_to_cases(oh_t *t)
{
    static const struct {
        int xr;
        int64_t xd[3];
        int yr;
        int64_t yd[3];
    } rows[] = {
        {2, {3, 1}, 3, {2, 3, 4}}, {0, {0}, 1, {5}},
        {1, {1}, 1, {1}},          {1, {4}, 2, {3, 4}},
        {2, {1, 1}, 3, {7, 2, 17}}, {3, {2, 1, 3}, 3, {2, 5, 3}},
        {1, {7}, 1, {7}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int k = 0; k < 4; k++) {
            int64_t nx = oh_numel(rows[r].xr, rows[r].xd),
                    ny = oh_numel(rows[r].yr, rows[r].yd);
            double x[NMAX], want[NMAX], got[NMAX];
            iota(dtypes[k], x, nx);
            for (int64_t i = 0; i < ny; i++) {
                int64_t idx[3];
                oh_unflatten(rows[r].yr, rows[r].yd, i, idx);
                want[i] = x[oh_bcast_index(rows[r].xr, rows[r].xd,
                                           rows[r].yr, idx)];
            }
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node y = kiln_broadcast_to(
                c.g, oh_in(&c, dtypes[k], rows[r].xr, rows[r].xd, x),
                rows[r].yr, rows[r].yd);
            check_shape(&c, y, rows[r].yr, rows[r].yd);
            oh_eval(&c, y, got, ny);
            oh_check_exact("broadcast_to", got, want, ny);
            oh_end(&c);
        }
}

/* ---- slice --------------------------------------------------------- */

static void slice_with_steps(oh_t *t)
{
    static const struct {
        int rank;
        int64_t dims[3], start[3], stop[3], step[3], want[3];
        bool null_step;
    } rows[] = {
        {1, {17}, {1}, {17}, {3}, {6}, false},
        {1, {17}, {0}, {17}, {17}, {1}, false},
        {1, {17}, {16}, {17}, {1}, {1}, false},
        {1, {7}, {2}, {6}, {2}, {2}, false},
        {3, {4, 5, 7}, {1, 0, 2}, {4, 5, 7}, {2, 4, 3}, {2, 2, 2}, false},
        {3, {2, 1, 7}, {0, 0, 0}, {2, 1, 7}, {1, 1, 2}, {2, 1, 4}, false},
        {2, {3, 5}, {1, 1}, {3, 4}, {0}, {2, 3}, true},
        {0, {0}, {0}, {0}, {0}, {0}, true},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int k = 0; k < 4; k++) {
            int rank = rows[r].rank;
            int64_t nx = oh_numel(rank, rows[r].dims),
                    ny = oh_numel(rank, rows[r].want);
            double x[NMAX], want[NMAX], got[NMAX];
            iota(dtypes[k], x, nx);
            for (int64_t i = 0; i < ny; i++) {
                int64_t idx[3];
                oh_unflatten(rank, rows[r].want, i, idx);
                for (int d = 0; d < rank; d++)
                    idx[d] = rows[r].start[d] +
                             idx[d] * (rows[r].null_step ? 1 : rows[r].step[d]);
                want[i] = x[oh_flatten(rank, rows[r].dims, idx)];
            }
            oh_ctx c;
            oh_begin(&c, t);
            kiln_node y = kiln_slice(
                c.g, oh_in(&c, dtypes[k], rank, rows[r].dims, x),
                rows[r].start, rows[r].stop,
                rows[r].null_step ? NULL : rows[r].step);
            check_shape(&c, y, rank, rows[r].want);
            oh_eval(&c, y, got, ny);
            char what[32];
            snprintf(what, sizeof what, "slice row %zu", r);
            oh_check_exact(what, got, want, ny);
            oh_end(&c);
        }
}

/* ---- concat -------------------------------------------------------- */

/* n inputs of rank 3 (base [2,3,4]) that differ along `axis`: input j
 * has j + 1 there.  `axis_arg` is what the caller passes (maybe < 0). */
static void check_concat(oh_t *t, kiln_dtype dt, int rank,
                         const int64_t *base, int n, int axis, int axis_arg)
{
    int64_t dims[4][3], yd[3], nx[4];
    double x[4][NMAX], want[NMAX], got[NMAX];
    memcpy(yd, base, (size_t)rank * sizeof *yd);
    yd[axis] = 0;
    for (int j = 0; j < n; j++) {
        memcpy(dims[j], base, (size_t)rank * sizeof *base);
        dims[j][axis] = j + 1;
        yd[axis] += j + 1;
        nx[j] = oh_numel(rank, dims[j]);
        iota(dt, x[j], nx[j]);
        for (int64_t i = 0; i < nx[j]; i++)
            x[j][i] = dt == KILN_BOOL ? (i + j) % 2 : x[j][i] + 100 * j;
    }
    int64_t ny = oh_numel(rank, yd);
    for (int64_t i = 0; i < ny; i++) {
        int64_t idx[3];
        oh_unflatten(rank, yd, i, idx);
        int j = 0;
        while (idx[axis] >= dims[j][axis])
            idx[axis] -= dims[j++][axis];
        want[i] = x[j][oh_flatten(rank, dims[j], idx)];
    }
    oh_ctx c;
    oh_begin(&c, t);
    kiln_node xs[4];
    for (int j = 0; j < n; j++)
        xs[j] = oh_in(&c, dt, rank, dims[j], x[j]);
    kiln_node y = kiln_concat(c.g, n, xs, axis_arg);
    check_shape(&c, y, rank, yd);
    oh_eval(&c, y, got, ny);
    char what[64];
    snprintf(what, sizeof what, "concat %s n=%d axis %d", kiln_dtype_name(dt),
             n, axis_arg);
    oh_check_exact(what, got, want, ny);
    oh_end(&c);
}

static void concat_every_axis(oh_t *t)
{
    static const int64_t base3[3] = {2, 3, 4}, base1[1] = {5};
    for (int k = 0; k < 4; k++) {
        for (int axis = 0; axis < 3; axis++)
            for (int n = 1; n <= 3; n++) {
                check_concat(t, dtypes[k], 3, base3, n, axis, axis);
                check_concat(t, dtypes[k], 3, base3, n, axis, axis - 3);
            }
        check_concat(t, dtypes[k], 1, base1, 3, 0, 0);
        check_concat(t, dtypes[k], 1, base1, 2, 0, -1);
    }
}

/* ---- pad ----------------------------------------------------------- */

static void pad_cases(oh_t *t)
{
    static const struct {
        kiln_dtype t;
        int rank;
        int64_t dims[3], lo[3], hi[3];
        double value;
    } rows[] = {
        {KILN_F32, 2, {3, 4}, {1, 0}, {2, 3}, -1.5},
        {KILN_I32, 3, {2, 1, 3}, {0, 2, 1}, {1, 0, 1}, 7},
        {KILN_F64, 1, {1}, {3}, {0}, 0},
        {KILN_F64, 1, {7}, {0}, {0}, 9},
        {KILN_BOOL, 2, {2, 2}, {1, 1}, {1, 1}, 1},
        {KILN_F32, 0, {0}, {0}, {0}, 5},
        {KILN_F64, 3, {1, 1, 1}, {1, 2, 3}, {3, 2, 1}, -0.25},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int rank = rows[r].rank;
        int64_t yd[3], nx = oh_numel(rank, rows[r].dims);
        for (int d = 0; d < rank; d++)
            yd[d] = rows[r].dims[d] + rows[r].lo[d] + rows[r].hi[d];
        int64_t ny = oh_numel(rank, yd);
        double x[NMAX], want[NMAX], got[NMAX];
        iota(rows[r].t, x, nx);
        for (int64_t i = 0; i < ny; i++) {
            int64_t idx[3];
            bool inside = true;
            oh_unflatten(rank, yd, i, idx);
            for (int d = 0; d < rank; d++) {
                idx[d] -= rows[r].lo[d];
                inside &= idx[d] >= 0 && idx[d] < rows[r].dims[d];
            }
            want[i] = inside ? x[oh_flatten(rank, rows[r].dims, idx)]
                             : rows[r].value;
        }
        oh_ctx c;
        oh_begin(&c, t);
        kiln_node y = kiln_pad(c.g, oh_in(&c, rows[r].t, rank, rows[r].dims, x),
                               rows[r].lo, rows[r].hi, rows[r].value);
        check_shape(&c, y, rank, yd);
        oh_eval(&c, y, got, ny);
        char what[32];
        snprintf(what, sizeof what, "pad row %zu", r);
        oh_check_exact(what, got, want, ny);
        oh_end(&c);
    }
}

const oh_case oh_cases_layout[] = {
    {"reshape_cases", IR_OP_RESHAPE, reshape_cases},
    {"transpose_rank3_every_permutation", IR_OP_TRANSPOSE,
     transpose_rank3_every_permutation},
    {"transpose_other_ranks", IR_OP_TRANSPOSE, transpose_other_ranks},
    {"broadcast_to_cases", IR_OP_BROADCAST_TO, broadcast_to_cases},
    {"slice_with_steps", IR_OP_SLICE, slice_with_steps},
    {"concat_every_axis", IR_OP_CONCAT, concat_every_axis},
    {"pad_cases", IR_OP_PAD, pad_cases},
    {NULL, 0, NULL},
};
