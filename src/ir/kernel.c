/* kernel.c — building, normalising and printing kernel IR. */
#include <stdio.h>
#include <string.h>

#include "kernel.h"

void k_program_free(k_program *p)
{
    if (!p)
        return;
    kiln_graph *g = p->g;
    for (int i = 0; i < p->nk; i++) {
        ir_free(g, p->k[i].acc);
        ir_free(g, p->k[i].expr);
    }
    ir_free(g, p->k);
    ir_free(g, p->buf);
    ir_free(g, p->node_buf);
    ir_free(g, p->copies);
    ir_free(g, p->outputs);
    ir_free(g, p->log);
    ir_free(g, p);
    kiln_graph_free(g);
}

/* Grow *arr (of *cap elements of size sz) to hold one more. */
static bool grow(kiln_graph *g, void **arr, int *cap, int count, size_t sz)
{
    if (count < *cap)
        return true;
    int ncap = *cap ? *cap * 2 : 8;
    void *n = ir_realloc(g, *arr, (size_t)ncap * sz);
    if (!n)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "lower: out of memory");
    *arr = n;
    *cap = ncap;
    return true;
}

kernel *k_add_kernel(k_program *p, k_kind kind, uint32_t node, int rank,
                     const int64_t *dims)
{
    if (!grow(p->g, (void **)&p->k, &p->kcap, p->nk, sizeof *p->k))
        return NULL;
    kernel *k = &p->k[p->nk++];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->node = node;
    k->rank = rank;
    for (int d = 0; d < rank; d++)
        k->dims[d] = dims[d];
    k->value = k->out = k->epilogue = k->a = k->b = -1;
    return k;
}

uint32_t k_add_buffer(k_program *p, k_buf_kind kind, uint32_t node)
{
    int cap = (int)p->bufcap;
    if (!grow(p->g, (void **)&p->buf, &cap, (int)p->nbuf, sizeof *p->buf))
        return K_NO_BUFFER;
    p->bufcap = (uint32_t)cap;
    const ir_node *n = &p->g->nodes[node];
    k_buffer *b = &p->buf[p->nbuf];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->dtype = n->type.dtype;
    b->numel = ir_numel(&n->type);
    b->node = node;
    b->offset = -1;
    if (kind == KB_CONST)
        b->data = n->data;
    p->node_buf[node] = p->nbuf;
    return p->nbuf++;
}

int k_add_access(k_program *p, kernel *k, const k_access *a)
{
    if (!grow(p->g, (void **)&k->acc, &k->acccap, k->nacc, sizeof *k->acc))
        return -1;
    k->acc[k->nacc] = *a;
    return k->nacc++;
}

int k_add_expr(k_program *p, kernel *k, const k_expr *e)
{
    if (!grow(p->g, (void **)&k->expr, &k->exprcap, k->nexpr, sizeof *k->expr))
        return -1;
    k->expr[k->nexpr] = *e;
    return k->nexpr++;
}

int k_load(k_program *p, kernel *k, int acc, kiln_dtype t)
{
    k_expr e = {.kind = KE_LOAD, .dtype = t, .acc = acc};
    return acc < 0 ? -1 : k_add_expr(p, k, &e);
}

int k_const(k_program *p, kernel *k, kiln_dtype t, double v)
{
    k_expr e = {.kind = KE_CONST, .dtype = t, .value = v};
    return k_add_expr(p, k, &e);
}

int k_op(k_program *p, kernel *k, ir_op op, kiln_dtype t, int nargs,
         const int *args)
{
    k_expr e = {.kind = KE_OP, .op = op, .dtype = t, .nargs = nargs};
    for (int i = 0; i < nargs; i++) {
        if (args[i] < 0)
            return -1;
        e.args[i] = args[i];
    }
    return k_add_expr(p, k, &e);
}

void k_row_major(const ir_type *t, int64_t *strides)
{
    int64_t s = 1;
    for (int d = t->rank - 1; d >= 0; d--) {
        strides[d] = s;
        s *= t->dims[d];
    }
}

/* Can axes d and d+1 become one?  Every access must step through d+1 and
 * then d as one run, guards forbid it, and folding must agree. */
static bool mergeable(const kernel *k, int d)
{
    bool rd = k->reduce_mask & (1u << d), rn = k->reduce_mask & (1u << (d + 1));
    if (rd != rn)
        return false;
    if (k->kind == K_MATMUL && d + 1 >= k->rank - 2)
        return false;
    for (int i = 0; i < k->nacc; i++) {
        const k_access *a = &k->acc[i];
        if (a->guarded || a->stride[d] != a->stride[d + 1] * k->dims[d + 1])
            return false;
    }
    for (int i = 0; i < k->nexpr; i++)
        if (k->expr[i].kind == KE_INDEX)
            return false;
    return true;
}

void k_collapse(kernel *k)
{
    for (int d = k->rank - 2; d >= 0; d--) {
        if (!mergeable(k, d))
            continue;
        k->dims[d] *= k->dims[d + 1];
        for (int i = 0; i < k->nacc; i++) {
            k_access *a = &k->acc[i];
            a->stride[d] = a->stride[d + 1];
            for (int e = d + 1; e < k->rank - 1; e++)
                a->stride[e] = a->stride[e + 1];
        }
        for (int e = d + 1; e < k->rank - 1; e++)
            k->dims[e] = k->dims[e + 1];
        uint32_t low = k->reduce_mask & ((1u << (d + 1)) - 1);
        uint32_t high = (k->reduce_mask >> (d + 2)) << (d + 1);
        k->reduce_mask = low | high;
        k->rank--;
    }
}

static const char *kind_name(k_kind kind)
{
    static const char *const names[] = {"map", "reduce", "matmul", "row"};
    return names[kind];
}

void k_print(const k_program *p, const kernel *k, char *buf, size_t len)
{
    size_t used = 0;
#define OUT(...) \
    do { \
        if (used < len) { \
            int w_ = snprintf(buf + used, len - used, __VA_ARGS__); \
            used += w_ > 0 ? (size_t)w_ : 0; \
        } \
    } while (0)
    const ir_node *n = &p->g->nodes[k->node];
    OUT("kernel %s (%s #%u) domain [", kind_name(k->kind), ir_ops[n->op].name,
        (unsigned)k->node);
    for (int d = 0; d < k->rank; d++)
        OUT("%s%lld%s", d ? "," : "", (long long)k->dims[d],
            (k->reduce_mask & (1u << d)) ? "r" : "");
    OUT("]\n");
    for (int i = 0; i < k->nacc; i++) {
        const k_access *a = &k->acc[i];
        OUT("  a%d = buf%d[%lld", i, a->buf == K_NO_BUFFER ? -1 : (int)a->buf,
            (long long)a->offset);
        for (int d = 0; d < k->rank; d++)
            OUT(" %+lld*i%d", (long long)a->stride[d], d);
        OUT("]%s\n", a->guarded ? " guarded" : "");
    }
    for (int i = 0; i < k->nexpr; i++) {
        const k_expr *e = &k->expr[i];
        OUT("  e%d = ", i);
        switch (e->kind) {
        case KE_LOAD: OUT("load a%d", e->acc); break;
        case KE_INSIDE: OUT("inside a%d", e->acc); break;
        case KE_CONST: OUT("const %g", e->value); break;
        case KE_INDEX: OUT("index i%d", e->axis); break;
        case KE_RANDOM: OUT("random(e%d, e%d) a%d", e->args[0], e->args[1], e->acc); break;
        case KE_ACC: OUT("acc%d", e->axis); break;
        case KE_OP:
            OUT("%s", ir_ops[e->op].name);
            for (int j = 0; j < e->nargs; j++)
                OUT(" e%d", e->args[j]);
            break;
        }
        OUT(" : %s\n", kiln_dtype_name(e->dtype));
    }
    OUT("  value e%d, out a%d, epilogue e%d\n", k->value, k->out, k->epilogue);
#undef OUT
}

const char *k_reason_text(k_reason r)
{
    switch (r) {
    case KR_SOURCE: return "source (input, param or constant)";
    case KR_OUTPUT: return "output or assigned value";
    case KR_HEAVY: return "reduction or matmul boundary";
    case KR_SHARED: return "several consumers, too costly to recompute";
    case KR_OPERAND: return "GEMM operand must be in memory";
    case KR_RESHAPE: return "reshape merges axes of a computed value";
    case KR_EPILOGUE: return "read through a non-identity index map";
    case KR_CAP: return "kernel size cap";
    case KR_UNFUSED: return "fusion is off";
    }
    return "?";
}
