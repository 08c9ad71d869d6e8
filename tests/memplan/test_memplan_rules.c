/*
 * The planner on small programs whose liveness, in-place pairs and
 * offsets are worked out by hand in the comments.  f32[4,8] is 128 bytes,
 * f32[8,8] 256, f32[8] 32 (a 64-byte slot).
 */
#include "mp_help.h"

#include <string.h>

#include "ir/ir.h"
#include "passes/passes.h"

static const int64_t D48[2] = {4, 8};

/* x -> A = exp x (k0) -> B = tanh A (k1) -> C = A + B (k2) -> D = -C (k3),
 * D the output. */
typedef struct chain {
    k_program *p;
    uint32_t x, a, b, c, d;
} chain;

static chain make_chain(void)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, D48);
    kiln_node a = kiln_exp(g, x);
    kiln_node b = kiln_tanh(g, a);
    kiln_node c = kiln_add(g, a, b);
    kiln_node d = kiln_neg(g, c);
    kiln_output(g, "d", d);
    chain ch = {mp_lower(g), 0, 0, 0, 0, 0};
    ch.x = mp_buf(ch.p, x);
    ch.a = mp_buf(ch.p, a);
    ch.b = mp_buf(ch.p, b);
    ch.c = mp_buf(ch.p, c);
    ch.d = mp_buf(ch.p, d);
    return ch;
}

static void expect_live(const k_live *l, int write, int read, int last)
{
    assert_int_equal(l->write, write);
    assert_int_equal(l->read, read);
    assert_int_equal(l->last, last);
}

static void test_liveness_chain(void **state)
{
    (void)state;
    chain ch = make_chain();
    assert_int_equal(ch.p->nk, 4);
    k_live live[8];
    assert_true(ch.p->nbuf <= 8);
    k_live_ranges(ch.p, live);
    expect_live(&live[ch.x], -1, -1, -1); /* not a temp */
    expect_live(&live[ch.a], 0, 1, 2);
    expect_live(&live[ch.b], 1, 2, 2);
    expect_live(&live[ch.c], 2, 3, 3);
    expect_live(&live[ch.d], 3, -1, 4); /* an output: to the end */
    k_program_free(ch.p);
}

/* k2 (A + B): A and B die there, C takes A's slot (A is read first);
 * k3: C dies, D takes the same slot.  B needs its own: 2 x 128 bytes.
 * The bound counts A, B, C live at k2 (384): in-place beats it. */
static void test_inplace_chain(void **state)
{
    (void)state;
    chain ch = make_chain();
    k_program *p = ch.p;
    assert_int_equal(p->buf[ch.a].offset, 0);
    assert_int_equal(p->buf[ch.c].offset, 0);
    assert_int_equal(p->buf[ch.d].offset, 0);
    assert_int_equal(p->buf[ch.b].offset, 128);
    assert_int_equal(p->buf[ch.x].offset, -1);
    assert_int_equal(p->arena_bytes, 256);
    assert_int_equal(k_plan_lower_bound(p), 384);
    assert_true(k_buffers_share(p, ch.a, ch.c));
    assert_false(k_buffers_share(p, ch.a, ch.b));
    assert_false(k_buffers_share(p, ch.x, ch.a));
    mp_expect_ok(p);
    k_program_free(p);
}

/* a = exp x (k0), t1 = a^T (k1), t2 = t1^T (k2), t3 = t2^T (k3, output).
 * A transposed read is never in place, so the four 256-byte temps
 * alternate between two slots: 0, 256, 0, 256. */
static void test_transpose_not_inplace(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    static const int64_t d[2] = {8, 8};
    static const int perm[2] = {1, 0};
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, d);
    kiln_node a = kiln_exp(g, x);
    kiln_node t1 = kiln_transpose(g, a, perm);
    kiln_node t2 = kiln_transpose(g, t1, perm);
    kiln_node t3 = kiln_transpose(g, t2, perm);
    kiln_output(g, "t3", t3);
    k_program *p = mp_lower(g);
    uint32_t ba = mp_buf(p, a), b1 = mp_buf(p, t1), b2 = mp_buf(p, t2), b3 = mp_buf(p, t3);
    k_live live[8];
    k_live_ranges(p, live);
    assert_non_null(k_inplace_refusal(p, live, 1, ba, b1));
    assert_non_null(strstr(k_inplace_refusal(p, live, 1, ba, b1), "different index map"));
    assert_int_equal(p->buf[ba].offset, 0);
    assert_int_equal(p->buf[b1].offset, 256);
    assert_int_equal(p->buf[b2].offset, 0);
    assert_int_equal(p->buf[b3].offset, 256);
    assert_int_equal(p->arena_bytes, 512);
    assert_int_equal(k_plan_lower_bound(p), 512);
    mp_expect_ok(p);
    k_program_free(p);
}

/* N = w + 1 (k0) is assign's source: it must survive to the end, so
 * Z = exp x (k1) and ZZ = -Z (k2, in place over Z) cannot reuse it. */
static void test_assign_source_survives(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    static const int64_t d[1] = {8};
    kiln_node x = kiln_input(g, "x", KILN_F32, 1, d);
    kiln_node w = kiln_param(g, "w", KILN_F32, 1, d, kiln_init_zeros());
    kiln_node n = kiln_add(g, w, kiln_scalar(g, KILN_F32, 1));
    kiln_assign(g, w, n);
    kiln_node z = kiln_exp(g, x);
    kiln_node zz = kiln_neg(g, z);
    kiln_output(g, "zz", zz);
    k_program *p = mp_lower(g);
    assert_int_equal(p->nk, 3);
    uint32_t bn = mp_buf(p, n), bz = mp_buf(p, z), bzz = mp_buf(p, zz);
    k_live live[8];
    k_live_ranges(p, live);
    expect_live(&live[bn], 0, -1, 3);
    assert_int_equal(p->buf[mp_buf(p, w)].offset, -1);
    assert_int_equal(p->buf[bn].offset, 0);
    assert_int_equal(p->buf[bz].offset, 64);
    assert_int_equal(p->buf[bzz].offset, 64);
    assert_int_equal(p->arena_bytes, 96);
    mp_expect_ok(p);
    k_program_free(p);
}

/* cast f32 -> i32 reads and stores 4 bytes per element: in place; cast
 * f32 -> f64 would store 8 bytes over elements not yet read: refused. */
static void test_inplace_element_size(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, D48);
    kiln_node a = kiln_exp(g, x), b = kiln_exp(g, x);
    kiln_node ai = kiln_cast(g, a, KILN_I32);
    kiln_node bd = kiln_cast(g, b, KILN_F64);
    kiln_output(g, "ai", ai);
    kiln_output(g, "bd", bd);
    k_program *p = mp_lower(g);
    k_live live[8];
    k_live_ranges(p, live);
    uint32_t ba = mp_buf(p, a), bb = mp_buf(p, b), bai = mp_buf(p, ai), bbd = mp_buf(p, bd);
    assert_null(k_inplace_refusal(p, live, mp_writer(p, bai), ba, bai));
    assert_string_equal(k_inplace_refusal(p, live, mp_writer(p, bbd), bb, bbd),
                        "element sizes differ");
    assert_int_equal(p->buf[bai].offset, p->buf[ba].offset);
    assert_false(k_buffers_share(p, bb, bbd));
    mp_expect_ok(p);
    k_program_free(p);
}

/* Built by hand, over f32[64] buffers (256 bytes):
 *   k0: A = exp x
 *   k1: O = -x, then (multi-output) E = -A
 *   k2: R = O + E, the output
 * A dies at k1 but is loaded only for E, which is stored after O: O may
 * not take A's slot (its store would clobber A before E's load), E may.
 * At k2 R takes O's slot (O is read first).  Two slots: 512 bytes; the
 * bound counts three temps at k1 and k2 (768). */
typedef struct multi {
    k_program *p;
    uint32_t x, a, o, e, r;
} multi;

static int load_op(k_program *p, kernel *k, uint32_t buf, ir_op op)
{
    k_access acc = mp_flat(buf);
    int l = k_load(p, k, k_add_access(p, k, &acc), KILN_F32);
    return k_op(p, k, op, KILN_F32, 1, &l);
}

static void store(k_program *p, kernel *k, uint32_t buf, int value)
{
    k_access acc = mp_flat(buf);
    k->out = k_add_access(p, k, &acc);
    k->value = value;
}

static multi make_multi(void)
{
    kiln_graph *g = kiln_graph_new();
    static const int64_t d[1] = {64};
    kiln_node x = kiln_input(g, "x", KILN_F32, 1, d);
    kiln_node a = kiln_exp(g, x), o = kiln_neg(g, x), e = kiln_neg(g, a);
    kiln_node r = kiln_add(g, o, e);
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    k_program *p = mp_new(g);
    multi m = {p, k_add_buffer(p, KB_INPUT, ir_index(g, x)),
               k_add_buffer(p, KB_TEMP, ir_index(g, a)),
               k_add_buffer(p, KB_TEMP, ir_index(g, o)),
               k_add_buffer(p, KB_TEMP, ir_index(g, e)),
               k_add_buffer(p, KB_TEMP, ir_index(g, r))};
    kernel *k = k_add_kernel(p, K_MAP, ir_index(g, a), 1, d);
    store(p, k, m.a, load_op(p, k, m.x, IR_OP_EXP));
    k = k_add_kernel(p, K_MAP, ir_index(g, o), 1, d);
    store(p, k, m.o, load_op(p, k, m.x, IR_OP_NEG));
    k_access acc = mp_flat(m.e);
    k->extra_out[0] = k_add_access(p, k, &acc);
    k->extra_value[0] = load_op(p, k, m.a, IR_OP_NEG);
    k->nextra = 1;
    k = k_add_kernel(p, K_MAP, ir_index(g, r), 1, d);
    acc = mp_flat(m.o);
    int args[2] = {k_load(p, k, k_add_access(p, k, &acc), KILN_F32), 0};
    acc = mp_flat(m.e);
    args[1] = k_load(p, k, k_add_access(p, k, &acc), KILN_F32);
    store(p, k, m.r, k_op(p, k, IR_OP_ADD, KILN_F32, 2, args));
    p->outputs[p->noutputs++] = (k_output){"r", m.r};
    assert_int_equal(p->g->status, KILN_OK);
    assert_int_equal(k_plan_memory(p), KILN_OK);
    return m;
}

static void test_multi_output_order(void **state)
{
    (void)state;
    multi m = make_multi();
    k_program *p = m.p;
    k_live live[8];
    k_live_ranges(p, live);
    expect_live(&live[m.a], 0, 1, 1);
    expect_live(&live[m.o], 1, 2, 2);
    expect_live(&live[m.e], 1, 2, 2);
    expect_live(&live[m.r], 2, -1, 3);
    assert_non_null(strstr(k_inplace_refusal(p, live, 1, m.a, m.o), "stored after"));
    assert_null(k_inplace_refusal(p, live, 1, m.a, m.e));
    assert_int_equal(p->buf[m.e].offset, p->buf[m.a].offset);
    assert_int_equal(p->buf[m.r].offset, p->buf[m.o].offset);
    assert_int_not_equal(p->buf[m.o].offset, p->buf[m.a].offset);
    assert_int_equal(p->arena_bytes, 512);
    assert_int_equal(k_plan_lower_bound(p), 768);
    mp_expect_ok(p);
    k_program_free(p);
}

/* A temp no kernel writes gets offset 0 and no bytes. */
static void test_dead_temp(void **state)
{
    (void)state;
    multi m = make_multi();
    k_program *p = m.p;
    kiln_node y = kiln_exp(p->g, kiln_input(p->g, "y", KILN_F32, 2, D48));
    uint32_t *nb = ir_realloc(p->g, p->node_buf, p->g->count * sizeof *nb);
    assert_non_null(nb);
    p->node_buf = nb;
    uint32_t dead = k_add_buffer(p, KB_TEMP, ir_index(p->g, y));
    assert_int_equal(k_plan_memory(p), KILN_OK);
    assert_int_equal(p->buf[dead].offset, 0);
    assert_int_equal(p->arena_bytes, 512);
    mp_expect_ok(p);
    k_program_free(p);
}

/* h = x w (matmul) dies in softmax's row kernel, which stores y of the
 * same size through the same map: still not in place (row kernel). */
static void test_row_kernel_not_inplace(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    static const int64_t dw[2] = {8, 8};
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, D48);
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
    k_live live[16];
    assert_true(p->nbuf <= 16);
    k_live_ranges(p, live);
    assert_int_equal(live[h].last, row);
    assert_non_null(strstr(k_inplace_refusal(p, live, row, h, y), "only map kernels"));
    assert_false(k_buffers_share(p, h, y));
    mp_expect_ok(p);
    k_program_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liveness_chain),
        cmocka_unit_test(test_inplace_chain),
        cmocka_unit_test(test_transpose_not_inplace),
        cmocka_unit_test(test_assign_source_survives),
        cmocka_unit_test(test_inplace_element_size),
        cmocka_unit_test(test_multi_output_order),
        cmocka_unit_test(test_dead_temp),
        cmocka_unit_test(test_row_kernel_not_inplace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
