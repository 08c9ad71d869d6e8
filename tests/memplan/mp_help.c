#include "mp_help.h"

#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "passes/passes.h"

k_program *mp_lower(kiln_graph *g)
{
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    k_program *p = pass_fuse(g, false);
    assert_non_null(p);
    if (p->g->status != KILN_OK)
        fail_msg("lower: %s", p->g->error);
    assert_int_equal(k_plan_memory(p), KILN_OK);
    return p;
}

k_program *mp_new(kiln_graph *g)
{
    k_program *p = ir_alloc(g, sizeof *p);
    assert_non_null(p);
    memset(p, 0, sizeof *p);
    p->g = g;
    p->node_buf = ir_alloc(g, g->count * sizeof *p->node_buf);
    p->outputs = ir_alloc(g, 4 * sizeof *p->outputs);
    assert_non_null(p->node_buf);
    assert_non_null(p->outputs);
    for (uint32_t i = 0; i < g->count; i++)
        p->node_buf[i] = K_NO_BUFFER;
    return p;
}

uint32_t mp_buf(const k_program *p, kiln_node n)
{
    uint32_t i = ir_index(p->g, n);
    assert_int_not_equal(i, IR_NONE);
    assert_int_not_equal(p->node_buf[i], K_NO_BUFFER);
    return p->node_buf[i];
}

int mp_writer(const k_program *p, uint32_t b)
{
    k_live *live = test_malloc(p->nbuf * sizeof *live);
    k_live_ranges(p, live);
    int w = live[b].write;
    test_free(live);
    if (w < 0)
        fail_msg("no kernel writes buf%u", (unsigned)b);
    return w;
}

k_access mp_flat(uint32_t b)
{
    k_access a;
    memset(&a, 0, sizeof a);
    a.buf = b;
    a.stride[0] = 1;
    return a;
}

void mp_expect_ok(const k_program *p)
{
    char err[600] = "";
    kiln_status s = k_check_plan(p, err, sizeof err);
    if (s != KILN_OK)
        fail_msg("plan rejected: %s", err);
}

void mp_expect_reject(const k_program *p, ...)
{
    char err[600] = "";
    kiln_status s = k_check_plan(p, err, sizeof err);
    if (s == KILN_OK)
        fail_msg("a broken plan was accepted");
    print_message("rejected: %s\n", err);
    va_list ap;
    va_start(ap, p);
    for (const char *n = va_arg(ap, const char *); n; n = va_arg(ap, const char *))
        if (!strstr(err, n)) {
            va_end(ap);
            fail_msg("message lacks \"%s\": %s", n, err);
        }
    va_end(ap);
}

int64_t mp_bytes(const k_program *p, uint32_t b)
{
    return p->buf[b].numel * (int64_t)kiln_dtype_size(p->buf[b].dtype);
}

const char *mp_name(uint32_t b, char *s, size_t len)
{
    snprintf(s, len, "buf%u (", (unsigned)b);
    return s;
}
