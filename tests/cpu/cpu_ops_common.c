/* cpu_ops_common.c — helpers shared by the op case groups (cpu_ops.h). */
#include <stdio.h>
#include <string.h>

#include "cpu_ops.h"

const kiln_dtype co_dtypes[KILN_DTYPE_COUNT] = {KILN_F32, KILN_F64, KILN_I32, KILN_BOOL};

static uint64_t hash(const char *s, const char *t)
{
    uint64_t h = 1469598103934665603ull;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    for (; t && *t; t++)
        h = (h ^ (unsigned char)*t) * 1099511628211ull;
    return h;
}

void co_begin(co_env *e, ch_ctx *c, const char *variant)
{
    char what[96];
    snprintf(what, sizeof what, "%s[%s]", e->c->name, variant);
    ch_begin(c, what, hash(e->c->name, variant), e->stats);
}

void co_check(co_env *e, ch_ctx *c)
{
    ch_check(c);
    for (int op = 0; op < IR_OP_COUNT; op++)
        e->seen[op] |= c->seen[op];
    ch_end(c);
}

bool co_accepts_unary(co_unary_builder f, kiln_dtype t)
{
    kiln_graph *g = kiln_graph_new();
    assert_non_null(g);
    f(g, kiln_input(g, "x", t, 1, (int64_t[]){3}));
    bool ok = kiln_graph_status(g) == KILN_OK;
    kiln_graph_free(g);
    return ok;
}

bool co_accepts_binary(co_binary_builder f, kiln_dtype t)
{
    kiln_graph *g = kiln_graph_new();
    assert_non_null(g);
    f(g, kiln_input(g, "a", t, 1, (int64_t[]){3}), kiln_input(g, "b", t, 1, (int64_t[]){3}));
    bool ok = kiln_graph_status(g) == KILN_OK;
    kiln_graph_free(g);
    return ok;
}

kiln_node co_transposed(ch_ctx *c, kiln_dtype t, int64_t d0, int64_t d1,
                        ch_dist dist)
{
    kiln_node x = ch_input(c, t, 2, (int64_t[]){d1, d0}, dist);
    return kiln_transpose(c->g, x, (int[]){1, 0});
}
