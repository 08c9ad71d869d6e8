/*
 * cpu_ops_matmul.c — matmul through the CPU backend vs the reference:
 * 2-D sizes 1, 15, 16, 17, 63, 65, 200 and sizes one below and above the
 * GEMM's register tile (mr, nr) and cache blocks (kc, mc, nc) for this
 * host (asked from cpu_gemm_blocking_for, so the edges move with the
 * target), transposed operands (a kiln_transpose output on either side),
 * batched and broadcast batch dims, and exact wrapping i32.
 *
 * Tolerance: the CPU sums f32 products in f32 (fmuladd chains per K
 * block), the reference in f64, so the bound is relative to the sum of
 * |terms|, an extra output matmul(|a|, |b|) evaluated by the reference:
 * |cpu - ref| <= 1e-5 max(|ref|, sum_k |a_ik b_kj|) in f32, 1e-12 in f64.
 */
#include "codegen_cpu/cpu_gemm.h"
#include "cpu_ops.h"

static cpu_gemm_blocking host_blocking(kiln_dtype t)
{
    cpu_target tgt;
    char err[256];
    if (cpu_target_init(&tgt, NULL, err, sizeof err))
        fail_msg("host target: %s", err);
    cpu_gemm_blocking b;
    assert_int_equal(cpu_gemm_blocking_for(t, &tgt, &b), 0);
    cpu_target_free(&tgt);
    return b;
}

static ch_tol tol_for(kiln_dtype t, int scale)
{
    return ch_rel_to(t == KILN_F64 ? CH_REL_F64 : CH_REL_F32, scale);
}

/* a x b with its scale output (floating) or exactly (i32). */
static void mm_out(ch_ctx *c, kiln_node a, kiln_node b)
{
    kiln_graph *g = c->g;
    kiln_dtype t = kiln_node_dtype(g, a);
    if (t == KILN_I32) {
        ch_output(c, kiln_matmul(g, a, b), ch_exact());
        return;
    }
    int s = ch_output(c, kiln_matmul(g, kiln_abs(g, a), kiln_abs(g, b)), ch_skip());
    ch_output(c, kiln_matmul(g, a, b), tol_for(t, s));
}

static ch_dist mm_dist(kiln_dtype t)
{
    /* i32: products up to 2^40 make the sums wrap */
    return t == KILN_I32 ? ch_uniform(-1048576.0, 1048576.0) : ch_uniform(-1, 1);
}

/* A [m, k] x [k, n] product; `how` 1 transposes A, 2 transposes B. */
static void mm2(ch_ctx *c, kiln_dtype t, int64_t m, int64_t k, int64_t n, int how)
{
    ch_dist d = mm_dist(t);
    kiln_node a = how & 1 ? co_transposed(c, t, m, k, d) : ch_input(c, t, 2, (int64_t[]){m, k}, d);
    kiln_node b = how & 2 ? co_transposed(c, t, k, n, d) : ch_input(c, t, 2, (int64_t[]){k, n}, d);
    mm_out(c, a, b);
}

static void small_sizes(co_env *e, kiln_dtype t)
{
    static const int64_t sizes[][3] = {{1, 1, 1}, {1, 15, 17}, {15, 16, 17}, {17, 63, 65},
                                       {63, 65, 16}, {65, 17, 63}, {16, 1, 15},
                                       {200, 200, 200}, {7, 200, 1}};
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(t));
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        mm2(&c, t, sizes[i][0], sizes[i][1], sizes[i][2], (int)(i % 4));
    co_check(e, &c);
}

static void block_edges(co_env *e, kiln_dtype t)
{
    cpu_gemm_blocking b = host_blocking(t);
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(t));
    mm2(&c, t, b.mr - 1, b.kc - 1, b.nr - 1, 0);
    mm2(&c, t, b.mr + 1, b.kc + 1, b.nr + 1, 0);
    mm2(&c, t, b.mr, b.kc, b.nr, 3);
    mm2(&c, t, b.mc + 1, 7, b.vec + 1, 1);
    mm2(&c, t, 13, 5, b.nc + 1, 2);
    mm2(&c, t, 3, 2 * b.kc + 1, b.vec - 1, 0);
    mm2(&c, t, 2 * b.mr + 1, 33, 2 * b.nr + 1, 3);
    co_check(e, &c);
}

static void batched(co_env *e, kiln_dtype t)
{
    ch_ctx c;
    co_begin(e, &c, kiln_dtype_name(t));
    ch_dist d = mm_dist(t);
    kiln_graph *g = c.g;
    mm_out(&c, ch_input(&c, t, 3, (int64_t[]){3, 17, 15}, d),
           ch_input(&c, t, 3, (int64_t[]){3, 15, 16}, d));
    mm_out(&c, ch_input(&c, t, 4, (int64_t[]){2, 1, 7, 5}, d),
           ch_input(&c, t, 3, (int64_t[]){3, 5, 9}, d));
    mm_out(&c, ch_input(&c, t, 2, (int64_t[]){7, 5}, d),
           ch_input(&c, t, 3, (int64_t[]){4, 5, 6}, d));
    mm_out(&c, ch_input(&c, t, 3, (int64_t[]){4, 7, 5}, d),
           ch_input(&c, t, 2, (int64_t[]){5, 6}, d));
    mm_out(&c, ch_input(&c, t, 3, (int64_t[]){1, 7, 5}, d),
           ch_input(&c, t, 3, (int64_t[]){3, 5, 2}, d));
    /* batched with a transposed operand: b is [3, 16, 15] swapped */
    kiln_node bt = kiln_transpose(g, ch_input(&c, t, 3, (int64_t[]){3, 16, 15}, d),
                                  (int[]){0, 2, 1});
    mm_out(&c, ch_input(&c, t, 3, (int64_t[]){3, 17, 15}, d), bt);
    co_check(e, &c);
}

static void matmul_case(co_env *e)
{
    small_sizes(e, KILN_F32);
    block_edges(e, KILN_F32);
    batched(e, KILN_F32);
    small_sizes(e, KILN_F64);
    block_edges(e, KILN_F64);
    batched(e, KILN_F64);
    small_sizes(e, KILN_I32);
    batched(e, KILN_I32);
}

const co_case co_cases_matmul[] = {
    {"matmul", IR_OP_MATMUL, matmul_case},
    {NULL, 0, NULL},
};
