/* print.c — the graph as text (docs/text-format.md).  Nodes in index
 * order, which is topological; unnamed nodes get %0, %1, ... in print
 * order so that print(parse(print(g))) == print(g) whatever the ids. */
#include <stdio.h>
#include <string.h>

#include "text.h"

typedef struct pbuf {
    kiln_graph *g;
    char *s;
    size_t len, cap;
    bool oom;
} pbuf;

static void put(pbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = ir_realloc(b->g, b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void puts_(pbuf *b, const char *s) { put(b, s, strlen(s)); }

__attribute__((format(printf, 2, 3))) static void putf(pbuf *b,
                                                       const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(b, tmp, n < 0 ? 0 : (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_ref(pbuf *b, const kiln_graph *g, const uint32_t *label,
                    uint32_t i)
{
    if (g->nodes[i].name)
        putf(b, "%%%s", g->nodes[i].name);
    else
        putf(b, "%%%u", (unsigned)label[i]);
}

static void put_type(pbuf *b, const ir_type *t)
{
    char buf[160];
    puts_(b, ir_type_str(t, buf, sizeof buf));
}

static void put_f64(pbuf *b, double v)
{
    char buf[TEXT_NUM_BUF];
    text_fmt_f64(v, buf);
    puts_(b, buf);
}

static void put_list(pbuf *b, const int64_t *v, int n)
{
    puts_(b, "[");
    for (int i = 0; i < n; i++)
        putf(b, "%s%lld", i ? "," : "", (long long)v[i]);
    puts_(b, "]");
}

/* ---- leaves --------------------------------------------------------- */

static void put_value(pbuf *b, kiln_dtype t, const void *data, int64_t i)
{
    char buf[TEXT_NUM_BUF];
    switch (t) {
    case KILN_F32: text_fmt_f32(((const float *)data)[i], buf); break;
    case KILN_F64: text_fmt_f64(((const double *)data)[i], buf); break;
    case KILN_I32:
        snprintf(buf, sizeof buf, "%d", (int)((const int32_t *)data)[i]);
        break;
    default:
        strcpy(buf, ((const uint8_t *)data)[i] ? "true" : "false");
        break;
    }
    puts_(b, buf);
}

/* Bitwise, so -0 and 0 (or two NaNs) stay distinct in a list. */
static bool all_equal(const ir_node *n, int64_t numel)
{
    size_t size = kiln_dtype_size(n->type.dtype);
    for (int64_t i = 1; i < numel; i++)
        if (memcmp((const char *)n->data + i * size, n->data, size) != 0)
            return false;
    return true;
}

static void put_const(pbuf *b, const ir_node *n)
{
    int64_t numel = ir_numel(&n->type);
    if (all_equal(n, numel)) {
        put_value(b, n->type.dtype, n->data, 0);
        return;
    }
    puts_(b, "[");
    for (int64_t i = 0; i < numel && !b->oom; i++) {
        if (i)
            puts_(b, ", ");
        put_value(b, n->type.dtype, n->data, i);
    }
    puts_(b, "]");
}

static void put_init(pbuf *b, const kiln_init *in)
{
    switch (in->kind) {
    case KILN_INIT_ZEROS: puts_(b, "zeros"); return;
    case KILN_INIT_CONSTANT:
        puts_(b, "constant(");
        put_f64(b, in->a);
        puts_(b, ")");
        return;
    case KILN_INIT_UNIFORM:
    case KILN_INIT_NORMAL:
        puts_(b, in->kind == KILN_INIT_UNIFORM ? "uniform(" : "normal(");
        put_f64(b, in->a);
        puts_(b, ", ");
        put_f64(b, in->b);
        putf(b, ", seed=%u)", (unsigned)in->seed);
        return;
    case KILN_INIT_GLOROT:
    case KILN_INIT_HE:
        putf(b, "%s(seed=%u)", in->kind == KILN_INIT_GLOROT ? "glorot" : "he",
             (unsigned)in->seed);
        return;
    }
}

/* ---- ops ------------------------------------------------------------ */

static void put_axes(pbuf *b, const ir_attr *a)
{
    puts_(b, "{axes=[");
    for (int i = 0, k = 0; i < 32; i++)
        if (a->u.reduce.mask & (1u << i))
            putf(b, "%s%d", k++ ? "," : "", i);
    putf(b, "], keepdims=%s}", a->u.reduce.keepdims ? "true" : "false");
}

static void put_attrs(pbuf *b, const ir_node *n, int rank)
{
    const ir_attr *a = &n->attr;
    int64_t perm[KILN_MAX_RANK];
    switch (ir_ops[n->op].attr) {
    case IR_ATTR_PERM:
        for (int i = 0; i < rank; i++)
            perm[i] = a->u.perm[i];
        puts_(b, " {perm=");
        put_list(b, perm, rank);
        puts_(b, "}");
        break;
    case IR_ATTR_SLICE:
        puts_(b, " {start=");
        put_list(b, a->u.slice.start, rank);
        puts_(b, ", stop=");
        put_list(b, a->u.slice.stop, rank);
        puts_(b, ", step=");
        put_list(b, a->u.slice.step, rank);
        puts_(b, "}");
        break;
    case IR_ATTR_AXIS: putf(b, " {axis=%d}", a->u.axis); break;
    case IR_ATTR_PAD:
        puts_(b, " {lo=");
        put_list(b, a->u.pad.lo, rank);
        puts_(b, ", hi=");
        put_list(b, a->u.pad.hi, rank);
        puts_(b, ", value=");
        put_f64(b, a->u.pad.value);
        puts_(b, "}");
        break;
    case IR_ATTR_REDUCE: puts_(b, " "); put_axes(b, a); break;
    case IR_ATTR_PROB:
        puts_(b, " {p=");
        put_f64(b, a->u.p);
        puts_(b, "}");
        break;
    default: break;
    }
}

static void put_node(pbuf *b, const kiln_graph *g, const uint32_t *label,
                     uint32_t i)
{
    const ir_node *n = &g->nodes[i];
    put_ref(b, g, label, i);
    putf(b, " = %s ", ir_ops[n->op].name);
    if (ir_ops[n->op].category == IR_CAT_SOURCE) {
        put_type(b, &n->type);
        if (n->op == IR_OP_PARAM) {
            puts_(b, " ");
            put_init(b, &n->attr.u.init);
        } else if (n->op == IR_OP_CONST) {
            puts_(b, " ");
            put_const(b, n);
        }
        puts_(b, "\n");
        return;
    }
    for (int k = 0; k < n->nin; k++) {
        if (k)
            puts_(b, ", ");
        put_ref(b, g, label, n->in[k]);
    }
    put_attrs(b, n, n->nin ? g->nodes[n->in[0]].type.rank : 0);
    puts_(b, " : ");
    put_type(b, &n->type);
    puts_(b, "\n");
}

char *kiln_print(kiln_graph *g)
{
    if (!g)
        return NULL;
    pbuf b = {g, NULL, 0, 0, false};
    uint32_t *label = ir_alloc(g, (g->count ? g->count : 1) * sizeof *label);
    if (!label) {
        ir_error(g, KILN_ERR_OUT_OF_MEMORY, "print: out of memory");
        return NULL;
    }
    uint32_t unnamed = 0;
    for (uint32_t i = 0; i < g->count; i++)
        label[i] = g->nodes[i].name ? IR_NONE : unnamed++;
    put(&b, "", 0); /* an empty graph is "" */
    for (uint32_t i = 0; i < g->count && !b.oom; i++)
        put_node(&b, g, label, i);
    for (uint32_t i = 0; i < g->noutputs && !b.oom; i++) {
        putf(&b, "output %s = ", g->outputs[i].name);
        put_ref(&b, g, label, g->outputs[i].node);
        puts_(&b, "\n");
    }
    ir_free(g, label);
    if (b.oom) {
        ir_free(g, b.s);
        ir_error(g, KILN_ERR_OUT_OF_MEMORY, "print: out of memory");
        return NULL;
    }
    return b.s;
}

void kiln_text_free(kiln_graph *g, char *text)
{
    if (g && text)
        ir_free(g, text);
}
