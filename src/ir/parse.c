/* parse.c — the text format's parser (docs/text-format.md): one statement
 * per line, built through ir_add_node like the C API's builders, so every
 * shape and dtype rule and its message is shared.  No recursion: the
 * grammar is flat.  The first error stops the parse; the graph is freed
 * and the message becomes "file:line:col: message". */
#include <stdio.h>
#include <string.h>

#include "text.h"

/* Value tokens include their '%'. */
static bool is_label(const text_parser *P, const text_tok *t)
{
    return P->src[t->pos + 1] >= '0' && P->src[t->pos + 1] <= '9';
}

/* Checks the SSA name of a definition and copies it into name (the user
 * name, or "%N" for a label). */
static bool check_def_name(text_parser *P, const text_tok *t, char *name)
{
    uint32_t line = 0;
    const char *s = P->src + t->pos;
    int n = (int)t->len;
    if (t->len > KILN_MAX_NAME)
        return text_fail(P, t->pos, "name '%.40s...' is longer than %d bytes",
                         s, KILN_MAX_NAME - 1);
    if (is_label(P, t))
        snprintf(name, KILN_MAX_NAME + 1, "%.*s", n, s);
    else
        snprintf(name, KILN_MAX_NAME + 1, "%.*s", n - 1, s + 1);
    bool ok = is_label(P, t) || ir_name_valid(name);
    for (int i = 1; is_label(P, t) && i < n; i++)
        ok = ok && s[i] >= '0' && s[i] <= '9';
    if (!ok)
        return text_fail(P, t->pos,
                         "bad name '%.*s': want %%name (a letter or '_' "
                         "first) or %%N (digits only)",
                         n, s);
    if (text_sym_find(P, t->pos, t->len, &line) != IR_NONE)
        return text_fail(P, t->pos,
                         "duplicate name '%.*s' (first defined on line %u)", n,
                         s, (unsigned)line);
    return true;
}

/* A use of %name: the node index, or IR_NONE with an error. */
static uint32_t use(text_parser *P, const text_tok *t)
{
    uint32_t i = text_sym_find(P, t->pos, t->len, NULL);
    if (i == IR_NONE)
        text_fail(P, t->pos,
                  "use of undefined value '%.*s' (define it on an earlier "
                  "line)",
                  (int)(t->len > 65 ? 65 : t->len), P->src + t->pos);
    return i;
}

static bool parse_inputs(text_parser *P, ir_node *proto)
{
    text_tok t;
    char buf[64];
    proto->nin = 0;
    proto->in = P->in;
    if (!text_peek(P, &t) || t.kind != TOK_VALUE)
        return !P->failed;
    for (;;) {
        if (!text_next(P, &t))
            return false;
        if (t.kind != TOK_VALUE)
            return text_fail(P, t.pos, "expected an input value (%%name), "
                                       "found %s",
                             text_describe(P, &t, buf, sizeof buf));
        if (proto->nin == TEXT_MAX_INPUTS)
            return text_fail(P, t.pos, "more than %d inputs", TEXT_MAX_INPUTS);
        if ((P->in[proto->nin++] = use(P, &t)) == IR_NONE ||
            !text_peek(P, &t))
            return false;
        if (!text_is_punct(P, &t, ','))
            return true;
        text_next(P, &t);
    }
}

static bool check_arity(text_parser *P, const ir_node *proto, size_t pos)
{
    int arity = ir_ops[proto->op].arity;
    if (arity < 0 && proto->nin < 1)
        return text_fail(P, pos, "wrong number of inputs: %s takes at least "
                                 "1, got 0", ir_ops[proto->op].name);
    if (arity >= 0 && proto->nin != arity)
        return text_fail(P, pos, "wrong number of inputs: %s takes %d, got %d",
                         ir_ops[proto->op].name, arity, proto->nin);
    return true;
}

/* "%r = OP %a, %b {attrs} : TYPE" after the op name; the node's type is
 * the target for typed ops and checked against the rule for the rest. */
static bool parse_op_rest(text_parser *P, ir_node *proto, size_t op_pos,
                          ir_type *declared)
{
    text_tok t;
    if (!parse_inputs(P, proto) || !check_arity(P, proto, op_pos) ||
        !text_parse_attrs(P, proto) || !text_peek(P, &t))
        return false;
    if (!text_is_punct(P, &t, ':'))
        return text_expect(P, ':', "before the result type");
    text_next(P, &t);
    if (!text_parse_type(P, declared))
        return false;
    if (ir_ops[proto->op].flags & IR_F_TYPED)
        proto->type = *declared;
    return true;
}

static int find_op(const text_parser *P, const text_tok *t)
{
    for (int op = 0; op < IR_OP_COUNT; op++)
        if (text_is_ident(P, t, ir_ops[op].name))
            return op;
    return -1;
}

static bool build(text_parser *P, ir_node *proto, const char *ssa,
                  size_t op_pos, const ir_type *declared, uint32_t *idx)
{
    kiln_graph *g = P->g;
    g->pending_name = ssa;
    *idx = ir_add_node(g, proto);
    g->pending_name = NULL;
    if (*idx == IR_NONE)
        return text_fail(P, op_pos, "%s", g->error);
    const ir_type *got = &g->nodes[*idx].type;
    if (declared && !ir_type_equal(got, declared)) {
        char a[128], b[128];
        return text_fail(P, op_pos, "type mismatch: the line says %s but %s "
                                    "gives %s",
                         ir_type_str(declared, a, sizeof a),
                         ir_ops[proto->op].name, ir_type_str(got, b, sizeof b));
    }
    return true;
}

static bool parse_def(text_parser *P, const text_tok *lhs)
{
    char name[KILN_MAX_NAME + 1], buf[64];
    text_tok t;
    ir_node proto;
    ir_type declared;
    uint32_t idx;
    memset(&proto, 0, sizeof proto);
    if (!check_def_name(P, lhs, name) ||
        !text_expect(P, '=', "after the value name") || !text_next(P, &t))
        return false;
    int op = t.kind == TOK_IDENT ? find_op(P, &t) : -1;
    if (op < 0 && t.kind == TOK_END)
        return text_fail(P, t.pos, "unexpected end of line: expected an op");
    if (op < 0)
        return text_fail(P, t.pos, "%s %s",
                         t.kind == TOK_IDENT ? "unknown op" : "expected an op, found",
                         text_describe(P, &t, buf, sizeof buf));
    proto.op = (ir_op)op;
    proto.name = is_label(P, lhs) ? NULL : name;
    bool leaf = ir_ops[op].category == IR_CAT_SOURCE;
    if (leaf && op != IR_OP_CONST && !proto.name)
        return text_fail(P, lhs->pos, "%s needs a user name such as %%x, "
                                          "not %s", ir_ops[op].name, name);
    if (leaf ? !text_parse_leaf(P, &proto)
             : !parse_op_rest(P, &proto, t.pos, &declared))
        return false;
    if (!build(P, &proto, name, t.pos,
               leaf || (ir_ops[op].flags & IR_F_TYPED) ? NULL : &declared,
               &idx))
        return false;
    return text_sym_add(P, lhs->pos, lhs->len, idx);
}

/* "output NAME = %value" after the keyword. */
static bool parse_output(text_parser *P)
{
    text_tok t, v;
    char name[KILN_MAX_NAME], buf[64];
    if (!text_next(P, &t))
        return false;
    if (t.kind != TOK_IDENT || t.len >= KILN_MAX_NAME)
        return text_fail(P, t.pos, "expected an output name such as 'loss' "
                                   "(at most %d bytes), found %s",
                         KILN_MAX_NAME - 1,
                         text_describe(P, &t, buf, sizeof buf));
    snprintf(name, sizeof name, "%.*s", (int)t.len, P->src + t.pos);
    if (!text_expect(P, '=', "after the output name") || !text_next(P, &v))
        return false;
    if (v.kind != TOK_VALUE)
        return text_fail(P, v.pos, "expected the output's value (%%name), "
                                   "found %s",
                         text_describe(P, &v, buf, sizeof buf));
    uint32_t i = use(P, &v);
    if (i == IR_NONE)
        return false;
    if (kiln_output(P->g, name, ir_handle(P->g, i)) != KILN_OK)
        return text_fail(P, t.pos, "%s", P->g->error);
    return true;
}

static bool parse_line(text_parser *P)
{
    text_tok t;
    char buf[64];
    if (!text_next(P, &t))
        return false;
    if (t.kind == TOK_END)
        return true;
    bool ok;
    if (t.kind == TOK_VALUE)
        ok = parse_def(P, &t);
    else if (text_is_ident(P, &t, "output"))
        ok = parse_output(P);
    else
        return text_fail(P, t.pos, "expected '%%name = ...' or 'output NAME "
                                   "= %%value', found %s",
                         text_describe(P, &t, buf, sizeof buf));
    if (!ok || !text_next(P, &t))
        return false;
    if (t.kind != TOK_END)
        return text_fail(P, t.pos, "trailing junk %s after the statement",
                         text_describe(P, &t, buf, sizeof buf));
    return true;
}

static bool parse_all(text_parser *P)
{
    if (!text_validate(P))
        return false;
    P->line = 1;
    for (size_t start = 0; start < P->len; P->line++) {
        text_begin_line(P, start);
        if (!parse_line(P))
            return false;
        start = P->line_end + 1;
    }
    return true;
}

static void report(char *err, size_t errlen, const char *file, uint32_t line,
                   size_t col, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s:%u:%zu: %s", file, (unsigned)line, col, msg);
}

kiln_graph *kiln_parse(const char *text, size_t len, const char *filename,
                       const kiln_allocator *a, char *err, size_t errlen)
{
    const char *file = filename ? filename : "<input>";
    if (err && errlen)
        err[0] = 0;
    if (!text && len) {
        report(err, errlen, file, 1, 1, "text is NULL");
        return NULL;
    }
    kiln_graph *g = kiln_graph_new_with_allocator(a);
    if (!g) {
        report(err, errlen, file, 1, 1,
               a ? "out of memory or incomplete allocator" : "out of memory");
        return NULL;
    }
    text_parser *P = ir_alloc(g, sizeof *P);
    if (!P) {
        kiln_graph_free(g);
        report(err, errlen, file, 1, 1, "out of memory");
        return NULL;
    }
    memset(P, 0, sizeof *P);
    P->g = g;
    P->src = text;
    P->len = len;
    bool ok = parse_all(P);
    if (!ok)
        report(err, errlen, file, P->err_line, P->err_col, P->msg);
    text_sym_free(P);
    ir_free(g, P);
    if (!ok) {
        kiln_graph_free(g);
        return NULL;
    }
    return g;
}
