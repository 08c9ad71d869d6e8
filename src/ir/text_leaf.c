/* text_leaf.c — the rest of a leaf line: `input TYPE`, `param TYPE INIT`
 * and `const TYPE VALUE` / `const TYPE [v0, v1, ...]`. */
#include <stdio.h>
#include <string.h>

#include "text.h"

static bool parse_seed(text_parser *P, uint32_t *seed)
{
    text_tok t;
    int64_t v;
    char buf[64];
    if (!text_next(P, &t))
        return false;
    if (!text_is_ident(P, &t, "seed"))
        return text_fail(P, t.pos, "expected 'seed=' in the initialiser, "
                                   "found %s",
                         text_describe(P, &t, buf, sizeof buf));
    if (!text_expect(P, '=', "after 'seed'") ||
        !text_parse_int(P, 0, UINT32_MAX, &v))
        return false;
    *seed = (uint32_t)v;
    return true;
}

/* "(a, b, seed=S)" with nargs numbers (0..2) and an optional seed. */
static bool parse_init_args(text_parser *P, kiln_init *init, int nargs,
                            bool seeded)
{
    if (!text_expect(P, '(', "after the initialiser name"))
        return false;
    if (nargs > 0 && !text_parse_double(P, &init->a))
        return false;
    if (nargs > 1 && (!text_expect(P, ',', "between initialiser arguments") ||
                      !text_parse_double(P, &init->b)))
        return false;
    if (seeded && nargs > 0 &&
        !text_expect(P, ',', "before 'seed=' in the initialiser"))
        return false;
    if (seeded && !parse_seed(P, &init->seed))
        return false;
    return text_expect(P, ')', "to close the initialiser");
}

static bool parse_init(text_parser *P, kiln_init *init)
{
    static const struct {
        const char *name;
        kiln_init_kind kind;
        int nargs;
        bool seeded;
    } inits[] = {
        {"zeros", KILN_INIT_ZEROS, 0, false},
        {"constant", KILN_INIT_CONSTANT, 1, false},
        {"uniform", KILN_INIT_UNIFORM, 2, true},
        {"normal", KILN_INIT_NORMAL, 2, true},
        {"glorot", KILN_INIT_GLOROT, 0, true},
        {"he", KILN_INIT_HE, 0, true},
    };
    text_tok t;
    char buf[64];
    memset(init, 0, sizeof *init);
    if (!text_next(P, &t))
        return false;
    for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++) {
        if (!text_is_ident(P, &t, inits[i].name))
            continue;
        init->kind = inits[i].kind;
        if (init->kind == KILN_INIT_ZEROS)
            return true;
        return parse_init_args(P, init, inits[i].nargs, inits[i].seeded);
    }
    return text_fail(P, t.pos,
                     "%s %s: want zeros, constant(V), uniform(LO, HI, seed=S), "
                     "normal(MEAN, STD, seed=S), glorot(seed=S) or he(seed=S)",
                     t.kind == TOK_END ? "missing initialiser, found"
                                       : "unknown initialiser",
                     text_describe(P, &t, buf, sizeof buf));
}

static bool parse_values(text_parser *P, const ir_type *ty, void *data,
                         int64_t numel)
{
    text_tok t;
    char what[128];
    ir_type_str(ty, what, sizeof what);
    if (!text_peek(P, &t))
        return false;
    if (!text_is_punct(P, &t, '[')) {
        size_t size = kiln_dtype_size(ty->dtype);
        if (!text_parse_literal(P, ty->dtype, data, 0))
            return false;
        for (int64_t i = 1; i < numel; i++)
            memcpy((char *)data + i * size, data, size);
        return true;
    }
    text_next(P, &t);
    for (int64_t i = 0;; i++) {
        if (!text_peek(P, &t))
            return false;
        if (text_is_punct(P, &t, ']') && i == 0)
            return text_fail(P, t.pos, "const %s needs %lld values, found 0",
                             what, (long long)numel);
        if (i == numel)
            return text_fail(P, t.pos, "const %s needs %lld values, found more",
                             what, (long long)numel);
        if (!text_parse_literal(P, ty->dtype, data, i) || !text_next(P, &t))
            return false;
        if (text_is_punct(P, &t, ']')) {
            if (i + 1 == numel)
                return true;
            return text_fail(P, t.pos, "const %s needs %lld values, found %lld",
                             what, (long long)numel, (long long)(i + 1));
        }
        if (!text_is_punct(P, &t, ','))
            return text_fail(P, t.pos, "%s in the values of const %s",
                             t.kind == TOK_END
                                 ? "unexpected end of line: expected ',' or ']'"
                                 : "expected ',' or ']'",
                             what);
    }
}

static bool parse_const(text_parser *P, ir_node *proto, size_t type_pos)
{
    int64_t numel = ir_numel(&proto->type);
    if (numel > TEXT_MAX_CONST)
        return text_fail(P, type_pos,
                         "const has %lld elements; the text format allows at "
                         "most 2^24 per const",
                         (long long)numel);
    if (P->const_total + numel > TEXT_MAX_CONST_TOTAL)
        return text_fail(P, type_pos,
                         "consts of this file exceed 2^26 elements in total");
    size_t bytes = (size_t)numel * kiln_dtype_size(proto->type.dtype);
    void *data = ir_alloc(P->g, bytes);
    if (!data)
        return text_fail(P, P->pos, "out of memory (%zu bytes)", bytes);
    if (!parse_values(P, &proto->type, data, numel)) {
        ir_free(P->g, data);
        return false;
    }
    proto->data = data;
    P->const_total += numel;
    return true;
}

bool text_parse_leaf(text_parser *P, ir_node *proto)
{
    text_tok t;
    if (!text_peek(P, &t) || !text_parse_type(P, &proto->type))
        return false;
    if (proto->op == IR_OP_PARAM)
        return parse_init(P, &proto->attr.u.init);
    if (proto->op == IR_OP_CONST)
        return parse_const(P, proto, t.pos);
    return true;
}
