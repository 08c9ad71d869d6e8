/*
 * k_check_plan against deliberately broken plans: each starts from a
 * plan the checker accepts, breaks one rule by editing offsets (or the
 * schedule), and must be rejected with a message naming the buffers and
 * the rule.
 */
#include "mp_help.h"

#include <string.h>

#include "ir/ir.h"
#include "passes/passes.h"

/* x -> A = exp x (k0) -> B = tanh A (k1) -> C = A + B (k2) -> D = -C (k3).
 * Planned: A, C, D at 0 (in place), B at 128; arena 256. */
typedef struct chain {
    k_program *p;
    uint32_t x, a, b, c, d;
    char na[32], nb[32], nc[32];
} chain;

static chain make_chain(void)
{
    kiln_graph *g = kiln_graph_new();
    static const int64_t d48[2] = {4, 8};
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, d48);
    kiln_node a = kiln_exp(g, x);
    kiln_node b = kiln_tanh(g, a);
    kiln_node c = kiln_add(g, a, b);
    kiln_node d = kiln_neg(g, c);
    kiln_output(g, "d", d);
    chain ch;
    ch.p = mp_lower(g);
    ch.x = mp_buf(ch.p, x);
    ch.a = mp_buf(ch.p, a);
    ch.b = mp_buf(ch.p, b);
    ch.c = mp_buf(ch.p, c);
    ch.d = mp_buf(ch.p, d);
    mp_name(ch.a, ch.na, sizeof ch.na);
    mp_name(ch.b, ch.nb, sizeof ch.nb);
    mp_name(ch.c, ch.nc, sizeof ch.nc);
    assert_int_equal(ch.p->buf[ch.b].offset, 128);
    assert_int_equal(ch.p->arena_bytes, 256);
    mp_expect_ok(ch.p);
    return ch;
}

/* A (kernels 0..2) and B (1..2) both live at k1: B moved onto A. */
static void test_overlap(void **state)
{
    (void)state;
    chain ch = make_chain();
    ch.p->buf[ch.b].offset = 0;
    mp_expect_reject(ch.p, ch.na, ch.nb, "overlap", "live in kernels 0..2",
                     "live in kernels 1..2", NULL);
    k_program_free(ch.p);
}

/* C shifted by 64 bytes half-covers A at k2, where A dies: sharing bytes
 * in place must be exact, so this is an overlap. */
static void test_partial_inplace(void **state)
{
    (void)state;
    chain ch = make_chain();
    ch.p->buf[ch.c].offset = 64;
    mp_expect_reject(ch.p, ch.na, ch.nc, "overlap", "[64, 192)", NULL);
    k_program_free(ch.p);
}

static void test_outside_arena(void **state)
{
    (void)state;
    chain ch = make_chain();
    ch.p->buf[ch.b].offset = 256;
    mp_expect_reject(ch.p, ch.nb, "[256, 384)", "outside the arena of 256 bytes", NULL);
    ch.p->buf[ch.b].offset = -128;
    mp_expect_reject(ch.p, ch.nb, "outside the arena", NULL);
    ch.p->buf[ch.b].offset = 128;
    ch.p->arena_bytes = 255; /* one byte short of B's end */
    mp_expect_reject(ch.p, ch.nb, "outside the arena of 255 bytes", NULL);
    ch.p->arena_bytes = -1;
    mp_expect_reject(ch.p, "negative arena size", NULL);
    k_program_free(ch.p);
}

static void test_misaligned(void **state)
{
    (void)state;
    chain ch = make_chain();
    ch.p->buf[ch.b].offset = 136;
    ch.p->arena_bytes = 512;
    mp_expect_reject(ch.p, ch.nb, "offset 136 is not 64-byte aligned", NULL);
    k_program_free(ch.p);
}

static void test_non_temp_offset(void **state)
{
    (void)state;
    chain ch = make_chain();
    ch.p->buf[ch.x].offset = 0;
    char nx[32];
    mp_expect_reject(ch.p, mp_name(ch.x, nx, sizeof nx), "input", "'x'",
                     "is not a temp but has arena offset 0", NULL);
    k_program_free(ch.p);
}

/* Swapping k0 and k1 makes tanh read A before exp writes it. */
static void test_read_before_write(void **state)
{
    (void)state;
    chain ch = make_chain();
    kernel t = ch.p->k[0];
    ch.p->k[0] = ch.p->k[1];
    ch.p->k[1] = t;
    mp_expect_reject(ch.p, ch.na, "read by kernel 0 before kernel 1 writes it", NULL);
    k_program_free(ch.p);
}

/* a = exp x (k0), t = a^T (k1), u = -t (k2, output).  a dies at k1, t has
 * its size, but t[i,j] = a[j,i]: stored in place it would overwrite
 * elements of a that later points still read. */
static void test_inplace_transposed(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    static const int64_t d[2] = {8, 8};
    static const int perm[2] = {1, 0};
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, d);
    kiln_node a = kiln_exp(g, x);
    kiln_node t = kiln_transpose(g, a, perm);
    kiln_output(g, "u", kiln_neg(g, t));
    k_program *p = mp_lower(g);
    uint32_t ba = mp_buf(p, a), bt = mp_buf(p, t);
    assert_false(k_buffers_share(p, ba, bt));
    p->buf[bt].offset = p->buf[ba].offset;
    char na[32], nt[32];
    mp_expect_reject(p, mp_name(bt, nt, sizeof nt), mp_name(ba, na, sizeof na),
                     "stored over", "by kernel 1 is not a legal in-place update",
                     "different index map", NULL);
    k_program_free(p);
}

/* The hand-built multi-output kernel: O = -x stored before E = -A; A dies
 * there.  O over A would clobber A before E loads it. */
static void test_inplace_load_order(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    static const int64_t d[1] = {64};
    kiln_node x = kiln_input(g, "x", KILN_F32, 1, d);
    kiln_node a = kiln_exp(g, x), o = kiln_neg(g, x), e = kiln_neg(g, a);
    k_program *p = mp_new(g);
    uint32_t bx = k_add_buffer(p, KB_INPUT, ir_index(g, x));
    uint32_t ba = k_add_buffer(p, KB_TEMP, ir_index(g, a));
    uint32_t bo = k_add_buffer(p, KB_TEMP, ir_index(g, o));
    uint32_t be = k_add_buffer(p, KB_TEMP, ir_index(g, e));
    kernel *k = k_add_kernel(p, K_MAP, ir_index(g, a), 1, d);
    k_access acc = mp_flat(bx);
    k->value = k_load(p, k, k_add_access(p, k, &acc), KILN_F32);
    acc = mp_flat(ba);
    k->out = k_add_access(p, k, &acc);
    k = k_add_kernel(p, K_MAP, ir_index(g, o), 1, d);
    acc = mp_flat(bx);
    int lx = k_load(p, k, k_add_access(p, k, &acc), KILN_F32);
    k->value = k_op(p, k, IR_OP_NEG, KILN_F32, 1, &lx);
    acc = mp_flat(bo);
    k->out = k_add_access(p, k, &acc);
    acc = mp_flat(ba);
    int la = k_load(p, k, k_add_access(p, k, &acc), KILN_F32);
    k->extra_value[0] = k_op(p, k, IR_OP_NEG, KILN_F32, 1, &la);
    acc = mp_flat(be);
    k->extra_out[0] = k_add_access(p, k, &acc);
    k->nextra = 1;
    p->outputs[p->noutputs++] = (k_output){"o", bo};
    p->outputs[p->noutputs++] = (k_output){"e", be};
    assert_int_equal(g->status, KILN_OK);
    assert_int_equal(k_plan_memory(p), KILN_OK);
    mp_expect_ok(p);
    assert_int_equal(p->buf[be].offset, p->buf[ba].offset);
    /* swap: O over A, E elsewhere */
    int64_t other = p->buf[bo].offset;
    p->buf[bo].offset = p->buf[ba].offset;
    p->buf[be].offset = other;
    char no[32];
    mp_expect_reject(p, mp_name(bo, no, sizeof no), "not a legal in-place update",
                     "a value stored after the output still loads the input", NULL);
    k_program_free(p);
}

/* softmax(x w), fused: the row kernel reads h = x w, which dies there,
 * through the same map as its store of y; forced in place anyway. */
static void test_inplace_row_kernel(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    static const int64_t dx[2] = {4, 8}, dw[2] = {8, 8};
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, dx);
    kiln_node w = kiln_param(g, "w", KILN_F32, 2, dw, kiln_init_glorot(1));
    kiln_output(g, "y", kiln_softmax(g, kiln_matmul(g, x, w), -1));
    char err[256];
    k_program *p = pass_lower_program(g, true, err, sizeof err);
    kiln_graph_free(g);
    if (!p)
        fail_msg("%s", err);
    int row = -1, mm = -1;
    for (int i = 0; i < p->nk; i++) {
        if (p->k[i].kind == K_ROW)
            row = i;
        if (p->k[i].kind == K_MATMUL)
            mm = i;
    }
    if (row < 0 || mm < 0)
        fail_msg("expected a matmul and a row kernel, got %d kernels", p->nk);
    uint32_t h = p->k[mm].acc[p->k[mm].out].buf, y = p->k[row].acc[p->k[row].out].buf;
    mp_expect_ok(p);
    p->buf[y].offset = p->buf[h].offset;
    char nh[32], ny[32];
    mp_expect_reject(p, mp_name(h, nh, sizeof nh), mp_name(y, ny, sizeof ny),
                     "not a legal in-place update", "only map kernels", NULL);
    k_program_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_partial_inplace),
        cmocka_unit_test(test_outside_arena),
        cmocka_unit_test(test_misaligned),
        cmocka_unit_test(test_non_temp_offset),
        cmocka_unit_test(test_read_before_write),
        cmocka_unit_test(test_inplace_transposed),
        cmocka_unit_test(test_inplace_load_order),
        cmocka_unit_test(test_inplace_row_kernel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
