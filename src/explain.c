/* explain.c — kiln_explain: lower the graph as the CPU backend would and
 * describe the kernels and every fusion decision in words. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/kernel.h"
#include "passes/passes.h"

typedef struct text {
    kiln_graph *g;
    char *buf;
    size_t len, cap;
    bool oom;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->oom || n < 0)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *b = ir_realloc(t->g, t->buf, cap);
        if (!b) {
            t->oom = true;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void node_label(text *t, const kiln_graph *g, uint32_t n)
{
    const ir_node *node = &g->nodes[n];
    if (node->name)
        put(t, "%s '%s'", ir_ops[node->op].name, node->name);
    else
        put(t, "%s #%u", ir_ops[node->op].name, (unsigned)n);
}


static void describe(text *t, const k_program *p)
{
    put(t, "%d kernels, arena %lld bytes\n", p->nk, (long long)p->arena_bytes);
    for (int i = 0; i < p->nk; i++) {
        const kernel *k = &p->k[i];
        char type[128];
        static const char *const kinds[] = {"map", "reduce", "matmul", "row"};
        put(t, "kernel %d: %s computing ", i, kinds[k->kind]);
        node_label(t, p->g, k->node);
        put(t, " %s", ir_type_str(&p->g->nodes[k->node].type, type, sizeof type));
        if (k->nextra)
            put(t, " (+%d more outputs)", k->nextra);
        if (k->nrow)
            put(t, " (%d row folds)", k->nrow);
        put(t, ", %d expression nodes\n", k->nexpr);
    }
    put(t, "%d edges left unfused:\n", p->nlog);
    for (int i = 0; i < p->nlog; i++) {
        put(t, "  ");
        node_label(t, p->g, p->log[i].producer);
        put(t, " -> ");
        node_label(t, p->g, p->log[i].consumer);
        put(t, ": %s\n", k_reason_text(p->log[i].reason));
    }
}

char *kiln_explain(kiln_graph *g, const kiln_compile_options *opts)
{
    if (!g || g->status != KILN_OK || ir_verify(g) != KILN_OK)
        return NULL;
    char err[400];
    bool fuse = !(opts && opts->no_fuse);
    k_program *p = pass_lower_program(g, fuse, err, sizeof err);
    if (!p) {
        ir_error(g, KILN_ERR_UNSUPPORTED, "explain: %s", err);
        return NULL;
    }
    text t = {g, NULL, 0, 0, false};
    describe(&t, p);
    k_program_free(p);
    if (t.oom || !t.buf) {
        ir_free(g, t.buf);
        ir_error(g, KILN_ERR_OUT_OF_MEMORY, "explain: out of memory");
        return NULL;
    }
    return t.buf;
}
