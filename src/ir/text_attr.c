/* text_attr.c — an op's attribute block, `{key=value, ...}`, read into
 * the typed ir_attr member that ops.def's attr column names.  Lists must
 * have one entry per axis of the first input; axes may be negative
 * (counted from the end) as in the C API. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

#define MAX_ENTRIES 4

typedef struct attr_entry {
    text_tok key;
    bool is_list, used;
    int64_t list[KILN_MAX_RANK];
    int n;
    text_tok tok; /* the value when it is not a list */
} attr_entry;

typedef struct attr_block {
    attr_entry e[MAX_ENTRIES];
    int n;
    size_t close; /* position of '}', for "missing" messages */
    const char *op;
    int rank; /* of the first input */
} attr_block;

static bool key_is(const text_parser *P, const text_tok *k, const char *s)
{
    return strlen(s) == k->len && memcmp(P->src + k->pos, s, k->len) == 0;
}

static bool parse_entry(text_parser *P, attr_block *b)
{
    text_tok t;
    char buf[64];
    if (!text_next(P, &t))
        return false;
    if (t.kind != TOK_IDENT)
        return text_fail(P, t.pos, "expected an attribute name, found %s",
                         text_describe(P, &t, buf, sizeof buf));
    for (int i = 0; i < b->n; i++)
        if (b->e[i].key.len == t.len &&
            memcmp(P->src + b->e[i].key.pos, P->src + t.pos, t.len) == 0)
            return text_fail(P, t.pos, "attribute '%.*s' is given twice",
                             (int)t.len, P->src + t.pos);
    if (b->n == MAX_ENTRIES)
        return text_fail(P, t.pos, "too many attributes for %s", b->op);
    attr_entry *e = &b->e[b->n++];
    memset(e, 0, sizeof *e);
    e->key = t;
    if (!text_expect(P, '=', "after the attribute name") || !text_peek(P, &t))
        return false;
    if (text_is_punct(P, &t, '[')) {
        e->is_list = true;
        return text_parse_int_list(P, e->list, &e->n);
    }
    if (t.kind != TOK_NUMBER && t.kind != TOK_IDENT)
        return text_fail(P, t.pos, "expected an attribute value, found %s",
                         text_describe(P, &t, buf, sizeof buf));
    return text_next(P, &e->tok);
}

static bool parse_block(text_parser *P, attr_block *b)
{
    text_tok t;
    if (!text_expect(P, '{', "to start the attributes") || !text_peek(P, &t))
        return false;
    if (text_is_punct(P, &t, '}')) {
        b->close = t.pos;
        return text_next(P, &t);
    }
    for (;;) {
        if (!parse_entry(P, b) || !text_next(P, &t))
            return false;
        if (text_is_punct(P, &t, '}')) {
            b->close = t.pos;
            return true;
        }
        if (!text_is_punct(P, &t, ','))
            return text_fail(P, t.pos, "%s in the attributes",
                             t.kind == TOK_END
                                 ? "unexpected end of line: expected ',' or '}'"
                                 : "expected ',' or '}'");
    }
}

static attr_entry *get(text_parser *P, attr_block *b, const char *key)
{
    for (int i = 0; i < b->n; i++)
        if (key_is(P, &b->e[i].key, key)) {
            b->e[i].used = true;
            return &b->e[i];
        }
    text_fail(P, b->close, "%s: missing attribute '%s'", b->op, key);
    return NULL;
}

/* A list with one entry per axis of the first input. */
static bool get_list(text_parser *P, attr_block *b, const char *key,
                     int64_t *out)
{
    attr_entry *e = get(P, b, key);
    if (!e)
        return false;
    if (!e->is_list)
        return text_fail(P, e->tok.pos, "%s: attribute '%s' needs a list "
                                        "like [0,1]", b->op, key);
    if (e->n != b->rank)
        return text_fail(P, e->key.pos,
                         "%s: '%s' has %d entries but the input has rank %d",
                         b->op, key, e->n, b->rank);
    memcpy(out, e->list, sizeof e->list);
    return true;
}

static attr_entry *get_scalar(text_parser *P, attr_block *b, const char *key)
{
    attr_entry *e = get(P, b, key);
    if (e && e->is_list) {
        text_fail(P, e->key.pos, "%s: attribute '%s' takes one value, not a "
                                 "list", b->op, key);
        return NULL;
    }
    return e;
}

static bool get_int(text_parser *P, attr_block *b, const char *key, int *out)
{
    attr_entry *e = get_scalar(P, b, key);
    int64_t v;
    if (!e)
        return false;
    text_num r = text_scan_int(P->src + e->tok.pos, e->tok.len, &v);
    if (r != TEXT_NUM_OK || v < INT_MIN || v > INT_MAX)
        return text_fail(P, e->tok.pos, "%s: bad value for '%s': want an "
                                        "integer", b->op, key);
    *out = (int)v;
    return true;
}

static bool get_double(text_parser *P, attr_block *b, const char *key,
                       double *out)
{
    attr_entry *e = get_scalar(P, b, key);
    if (!e)
        return false;
    if (text_scan_float(P->src + e->tok.pos, e->tok.len, out) != TEXT_NUM_OK)
        return text_fail(P, e->tok.pos, "%s: bad value for '%s': want a "
                                        "number", b->op, key);
    return true;
}

static bool get_bool(text_parser *P, attr_block *b, const char *key, bool *out)
{
    attr_entry *e = get_scalar(P, b, key);
    if (!e)
        return false;
    bool t = text_is_ident(P, &e->tok, "true");
    if (!t && !text_is_ident(P, &e->tok, "false"))
        return text_fail(P, e->tok.pos, "%s: bad value for '%s': want true "
                                        "or false", b->op, key);
    *out = t;
    return true;
}

/* Axes list -> bitmask, normalising negative axes. */
static bool get_axes(text_parser *P, attr_block *b, uint32_t *mask)
{
    attr_entry *e = get(P, b, "axes");
    if (!e)
        return false;
    if (!e->is_list)
        return text_fail(P, e->tok.pos, "%s: 'axes' needs a list like [0,1]",
                         b->op);
    *mask = 0;
    for (int i = 0; i < e->n; i++) {
        int64_t ax = e->list[i] < 0 ? e->list[i] + b->rank : e->list[i];
        if (ax < 0 || ax >= b->rank)
            return text_fail(P, e->key.pos,
                             "%s: axis %lld is out of range for rank %d",
                             b->op, (long long)e->list[i], b->rank);
        if (*mask & (1u << ax))
            return text_fail(P, e->key.pos, "%s: axis %lld is repeated",
                             b->op, (long long)e->list[i]);
        *mask |= 1u << ax;
    }
    return true;
}

static bool bind_perm(text_parser *P, attr_block *b, ir_attr *a)
{
    int64_t v[KILN_MAX_RANK];
    if (!get_list(P, b, "perm", v))
        return false;
    /* Range here, before narrowing to int; repeats are the shape rule's. */
    for (int i = 0; i < b->rank; i++) {
        if (v[i] < 0 || v[i] >= b->rank)
            return text_fail(P, b->close,
                             "%s: perm entry %lld is out of range 0..%d",
                             b->op, (long long)v[i], b->rank - 1);
        a->u.perm[i] = (int)v[i];
    }
    return true;
}

static bool bind(text_parser *P, attr_block *b, ir_attr_kind kind, ir_attr *a)
{
    switch (kind) {
    case IR_ATTR_PERM: return bind_perm(P, b, a);
    case IR_ATTR_SLICE:
        return get_list(P, b, "start", a->u.slice.start) &&
               get_list(P, b, "stop", a->u.slice.stop) &&
               get_list(P, b, "step", a->u.slice.step);
    case IR_ATTR_AXIS:
        if (!get_int(P, b, "axis", &a->u.axis))
            return false;
        if (a->u.axis < 0)
            a->u.axis += b->rank;
        return true;
    case IR_ATTR_PAD:
        return get_list(P, b, "lo", a->u.pad.lo) &&
               get_list(P, b, "hi", a->u.pad.hi) &&
               get_double(P, b, "value", &a->u.pad.value);
    case IR_ATTR_REDUCE:
        return get_axes(P, b, &a->u.reduce.mask) &&
               get_bool(P, b, "keepdims", &a->u.reduce.keepdims);
    case IR_ATTR_PROB: return get_double(P, b, "p", &a->u.p);
    default: return true;
    }
}

static const char *keys_of(ir_attr_kind kind)
{
    switch (kind) {
    case IR_ATTR_PERM: return "perm";
    case IR_ATTR_SLICE: return "start, stop, step";
    case IR_ATTR_AXIS: return "axis";
    case IR_ATTR_PAD: return "lo, hi, value";
    case IR_ATTR_REDUCE: return "axes, keepdims";
    case IR_ATTR_PROB: return "p";
    default: return "none";
    }
}

bool text_parse_attrs(text_parser *P, ir_node *proto)
{
    ir_attr_kind kind = ir_ops[proto->op].attr;
    attr_block b = {.n = 0, .op = ir_ops[proto->op].name};
    text_tok t;
    if (!text_peek(P, &t))
        return false;
    if (kind == IR_ATTR_NONE)
        return text_is_punct(P, &t, '{')
                   ? text_fail(P, t.pos, "%s takes no attributes", b.op)
                   : true;
    if (!text_is_punct(P, &t, '{'))
        return text_fail(P, t.pos, "%s: missing attributes {%s}", b.op,
                         keys_of(kind));
    b.rank = P->g->nodes[proto->in[0]].type.rank;
    memset(&proto->attr, 0, sizeof proto->attr);
    if (!parse_block(P, &b) || !bind(P, &b, kind, &proto->attr))
        return false;
    for (int i = 0; i < b.n; i++)
        if (!b.e[i].used)
            return text_fail(P, b.e[i].key.pos,
                             "%s: unknown attribute '%.*s' (want %s)", b.op,
                             (int)b.e[i].key.len, P->src + b.e[i].key.pos,
                             keys_of(kind));
    return true;
}
