/* graph.c — graph storage, the allocator hook, the sticky error, handles
 * and names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

const ir_op_info ir_ops[IR_OP_COUNT] = {
#define OP(id, text, arity, cat, attr, shape, vjp, flags) \
    [IR_OP_##id] = {text, arity, IR_CAT_##cat, IR_ATTR_##attr, flags},
#include "ops.def"
#undef OP
};

static void *libc_malloc(size_t n, void *u) { (void)u; return malloc(n); }
static void *libc_realloc(void *p, size_t n, void *u) { (void)u; return realloc(p, n); }
static void libc_free(void *p, void *u) { (void)u; free(p); }

void *ir_alloc(kiln_graph *g, size_t size)
{
    return g->alloc.malloc(size ? size : 1, g->alloc.user);
}

void *ir_realloc(kiln_graph *g, void *p, size_t size)
{
    return g->alloc.realloc(p, size ? size : 1, g->alloc.user);
}

void ir_free(kiln_graph *g, void *p)
{
    if (p)
        g->alloc.free(p, g->alloc.user);
}

char *ir_strdup(kiln_graph *g, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = ir_alloc(g, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

bool ir_verror(kiln_graph *g, kiln_status s, const char *fmt, va_list ap)
{
    if (g->status == KILN_OK) {
        g->status = s;
        vsnprintf(g->error, sizeof g->error, fmt, ap);
    }
    return false;
}

bool ir_error(kiln_graph *g, kiln_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ir_verror(g, s, fmt, ap);
    va_end(ap);
    return false;
}

kiln_graph *kiln_graph_new(void) { return kiln_graph_new_with_allocator(NULL); }

kiln_graph *kiln_graph_new_with_allocator(const kiln_allocator *a)
{
    kiln_allocator al = {libc_malloc, libc_realloc, libc_free, NULL};
    if (a) {
        if (!a->malloc || !a->realloc || !a->free)
            return NULL;
        al = *a;
    }
    kiln_graph *g = al.malloc(sizeof *g, al.user);
    if (!g)
        return NULL;
    memset(g, 0, sizeof *g);
    g->alloc = al;
    /* A per-graph tag so handles from another graph are caught.  Mixed
     * from the address: no global counter (kiln has no global state). */
    uintptr_t h = (uintptr_t)g;
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    g->tag = (uint32_t)(h % 255) + 1;
    return g;
}

static void free_node(kiln_graph *g, ir_node *n)
{
    ir_free(g, n->in);
    ir_free(g, n->name);
    ir_free(g, n->data);
}

void kiln_graph_free(kiln_graph *g)
{
    if (!g)
        return;
    for (uint32_t i = 0; i < g->count; i++)
        free_node(g, &g->nodes[i]);
    for (uint32_t i = 0; i < g->noutputs; i++)
        ir_free(g, g->outputs[i].name);
    ir_free(g, g->nodes);
    ir_free(g, g->outputs);
    g->alloc.free(g, g->alloc.user);
}

kiln_status kiln_graph_status(const kiln_graph *g)
{
    return g ? g->status : KILN_ERR_INVALID_ARGUMENT;
}

const char *kiln_graph_error(const kiln_graph *g)
{
    if (!g)
        return "graph is NULL";
    return g->error;
}

void kiln_graph_clear_error(kiln_graph *g)
{
    if (!g)
        return;
    g->status = KILN_OK;
    g->error[0] = 0;
}

size_t kiln_graph_node_count(const kiln_graph *g) { return g ? g->count : 0; }

/* ---- handles ------------------------------------------------------- */

uint32_t ir_index(const kiln_graph *g, kiln_node n)
{
    if (!g || n.id == 0 || (n.id >> IR_INDEX_BITS) != g->tag)
        return IR_NONE;
    uint32_t i = (n.id & ((1u << IR_INDEX_BITS) - 1)) - 1;
    return i < g->count ? i : IR_NONE;
}

kiln_node ir_handle(const kiln_graph *g, uint32_t index)
{
    kiln_node n = {0};
    if (index != IR_NONE)
        n.id = (g->tag << IR_INDEX_BITS) | (index + 1);
    return n;
}

uint32_t ir_use(kiln_graph *g, kiln_node n, const char *op)
{
    uint32_t i = ir_index(g, n);
    if (i == IR_NONE && g->status == KILN_OK) {
        if (n.id == 0)
            ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                     "%s: input is the invalid node (id 0)", op);
        else
            ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                     "%s: node handle %#x does not belong to this graph",
                     op, (unsigned)n.id);
    }
    return i;
}

/* ---- names --------------------------------------------------------- */

bool ir_name_valid(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = strlen(s);
    if (n >= KILN_MAX_NAME)
        return false;
    unsigned char c = (unsigned char)s[0];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        return false;
    for (size_t i = 1; i < n; i++) {
        c = (unsigned char)s[i];
        if (!(c == '_' || c == '.' || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

uint32_t ir_find_name(const kiln_graph *g, const char *name)
{
    for (uint32_t i = 0; i < g->count; i++)
        if (g->nodes[i].name && strcmp(g->nodes[i].name, name) == 0)
            return i;
    return IR_NONE;
}

uint32_t ir_find_output(const kiln_graph *g, const char *name)
{
    for (uint32_t i = 0; i < g->noutputs; i++)
        if (strcmp(g->outputs[i].name, name) == 0)
            return i;
    return IR_NONE;
}

static bool check_new_name(kiln_graph *g, const char *what, const char *name)
{
    if (!name)
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT, "%s: name is NULL",
                        what);
    if (!ir_name_valid(name))
        return ir_error(g, KILN_ERR_NAME,
                        "%s: invalid name '%.80s' (want [A-Za-z_][A-Za-z0-9_.]*, "
                        "at most %d bytes)",
                        what, name, KILN_MAX_NAME - 1);
    if (ir_find_name(g, name) != IR_NONE)
        return ir_error(g, KILN_ERR_NAME, "%s: duplicate name '%s'", what,
                        name);
    return true;
}

kiln_node kiln_name(kiln_graph *g, kiln_node n, const char *name)
{
    kiln_node bad = {0};
    if (!g || g->status != KILN_OK)
        return bad;
    uint32_t i = ir_use(g, n, "name");
    if (i == IR_NONE || !check_new_name(g, "name", name))
        return bad;
    ir_node *node = &g->nodes[i];
    if (node->name)
        return ir_error(g, KILN_ERR_NAME,
                        "name: node '%s' is already named", node->name),
               bad;
    node->name = ir_strdup(g, name);
    if (!node->name)
        return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "name: out of memory"),
               bad;
    return n;
}

kiln_node kiln_find(const kiln_graph *g, const char *name)
{
    if (!g || !name)
        return (kiln_node){0};
    return ir_handle(g, ir_find_name(g, name));
}

/* ---- nodes --------------------------------------------------------- */

static uint32_t add_failed(kiln_graph *g, ir_node *n, const char *why)
{
    if (why)
        ir_error(g, KILN_ERR_OUT_OF_MEMORY, "%s: %s", ir_ops[n->op].name,
                 why);
    free_node(g, n);
    return IR_NONE;
}

uint32_t ir_add_node(kiln_graph *g, const ir_node *proto)
{
    ir_node n = *proto;
    n.in = NULL;
    n.name = NULL;
    if (g->count >= IR_MAX_NODES) {
        ir_error(g, KILN_ERR_INVALID_ARGUMENT, "%s: graph is full (%u nodes)",
                 ir_ops[n.op].name, (unsigned)IR_MAX_NODES);
        return add_failed(g, &n, NULL);
    }
    if (g->count == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 16;
        ir_node *nodes = ir_realloc(g, g->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return add_failed(g, &n, "out of memory");
        g->nodes = nodes;
        g->cap = cap;
    }
    if (n.nin > 0) {
        n.in = ir_alloc(g, (size_t)n.nin * sizeof *n.in);
        if (!n.in)
            return add_failed(g, &n, "out of memory");
        memcpy(n.in, proto->in, (size_t)n.nin * sizeof *n.in);
    }
    if (proto->name) {
        if (!check_new_name(g, ir_ops[n.op].name, proto->name))
            return add_failed(g, &n, NULL);
        n.name = ir_strdup(g, proto->name);
        if (!n.name)
            return add_failed(g, &n, "out of memory");
    }
    if (!ir_infer(g, &n))
        return add_failed(g, &n, NULL);
    g->nodes[g->count] = n;
    return g->count++;
}

/* ---- introspection -------------------------------------------------- */

static const ir_node *peek(const kiln_graph *g, kiln_node n)
{
    uint32_t i = ir_index(g, n);
    return i == IR_NONE ? NULL : &g->nodes[i];
}

kiln_dtype kiln_node_dtype(const kiln_graph *g, kiln_node n)
{
    const ir_node *p = peek(g, n);
    return p ? p->type.dtype : KILN_F32;
}

int kiln_node_rank(const kiln_graph *g, kiln_node n)
{
    const ir_node *p = peek(g, n);
    return p ? p->type.rank : 0;
}

int kiln_node_shape(const kiln_graph *g, kiln_node n, int64_t *dims)
{
    const ir_node *p = peek(g, n);
    if (!p)
        return -1;
    if (dims)
        for (int i = 0; i < p->type.rank; i++)
            dims[i] = p->type.dims[i];
    return p->type.rank;
}

int64_t kiln_node_numel(const kiln_graph *g, kiln_node n)
{
    const ir_node *p = peek(g, n);
    return p ? ir_numel(&p->type) : 0;
}

const char *kiln_node_name(const kiln_graph *g, kiln_node n)
{
    const ir_node *p = peek(g, n);
    return p ? p->name : NULL;
}

const char *kiln_node_op(const kiln_graph *g, kiln_node n)
{
    const ir_node *p = peek(g, n);
    return p ? ir_ops[p->op].name : NULL;
}

const char *kiln_status_string(kiln_status s)
{
    switch (s) {
    case KILN_OK: return "ok";
    case KILN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case KILN_ERR_SHAPE: return "shape error";
    case KILN_ERR_DTYPE: return "dtype error";
    case KILN_ERR_NAME: return "name error";
    case KILN_ERR_OUT_OF_MEMORY: return "out of memory";
    case KILN_ERR_PARSE: return "parse error";
    case KILN_ERR_IO: return "i/o error";
    case KILN_ERR_RUNTIME: return "runtime error";
    case KILN_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

bool ir_check_new_name(kiln_graph *g, const char *what, const char *name)
{
    return check_new_name(g, what, name);
}

/* ---- cloning -------------------------------------------------------- */

kiln_graph *ir_clone(const kiln_graph *src)
{
    kiln_graph *g = kiln_graph_new_with_allocator(&src->alloc);
    if (!g)
        return NULL;
    g->nodes = ir_alloc(g, (src->count ? src->count : 1) * sizeof *g->nodes);
    g->outputs = ir_alloc(g, (src->noutputs ? src->noutputs : 1) *
                                 sizeof *g->outputs);
    if (!g->nodes || !g->outputs) {
        kiln_graph_free(g);
        return NULL;
    }
    g->cap = src->count ? src->count : 1;
    g->outcap = src->noutputs ? src->noutputs : 1;
    for (uint32_t i = 0; i < src->count; i++) {
        const ir_node *s = &src->nodes[i];
        ir_node n = *s;
        n.in = NULL;
        n.name = NULL;
        n.data = NULL;
        bool ok = true;
        if (s->nin) {
            n.in = ir_alloc(g, (size_t)s->nin * sizeof *n.in);
            ok = n.in != NULL;
            if (ok)
                memcpy(n.in, s->in, (size_t)s->nin * sizeof *n.in);
        }
        if (ok && s->name)
            ok = (n.name = ir_strdup(g, s->name)) != NULL;
        if (ok && s->data) {
            size_t bytes = (size_t)ir_numel(&s->type) *
                           kiln_dtype_size(s->type.dtype);
            ok = (n.data = ir_alloc(g, bytes)) != NULL;
            if (ok)
                memcpy(n.data, s->data, bytes);
        }
        g->nodes[g->count++] = n;
        if (!ok) {
            kiln_graph_free(g);
            return NULL;
        }
    }
    for (uint32_t i = 0; i < src->noutputs; i++) {
        char *name = ir_strdup(g, src->outputs[i].name);
        if (!name) {
            kiln_graph_free(g);
            return NULL;
        }
        g->outputs[g->noutputs++] = (ir_output){name, src->outputs[i].node};
    }
    return g;
}
