/* text_type.c — the small pieces of a line: types (f32[2,3]), integers,
 * numbers, integer lists and typed literals, each with its own message. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

/* Fail on t as "expected <what>, found <t>" (or "unexpected end of
 * line: expected <what>"). */
static bool expected(text_parser *P, const text_tok *t, const char *what)
{
    char buf[64];
    if (t->kind == TOK_END)
        return text_fail(P, t->pos, "unexpected end of line: expected %s",
                         what);
    return text_fail(P, t->pos, "expected %s, found %s", what,
                     text_describe(P, t, buf, sizeof buf));
}

static bool parse_dtype(text_parser *P, kiln_dtype *dt)
{
    text_tok t;
    if (!text_next(P, &t))
        return false;
    for (int d = 0; d < KILN_DTYPE_COUNT; d++)
        if (text_is_ident(P, &t, kiln_dtype_name((kiln_dtype)d))) {
            *dt = (kiln_dtype)d;
            return true;
        }
    if (t.kind == TOK_IDENT)
        return text_fail(P, t.pos,
                         "unknown dtype '%.*s' (want f32, f64, i32 or bool)",
                         (int)(t.len > 40 ? 40 : t.len), P->src + t.pos);
    return expected(P, &t, "a type such as f32[2,3]");
}

static bool parse_dim(text_parser *P, ir_type *ty, int64_t *numel)
{
    text_tok t;
    int64_t d = 0;
    if (!text_next(P, &t))
        return false;
    if (t.kind != TOK_NUMBER)
        return expected(P, &t, "a dimension");
    text_num r = text_scan_int(P->src + t.pos, t.len, &d);
    if (r == TEXT_NUM_BAD)
        return text_fail(P, t.pos, "bad dimension '%.*s'",
                         (int)(t.len > 40 ? 40 : t.len), P->src + t.pos);
    if (r == TEXT_NUM_RANGE || d > IR_MAX_NUMEL)
        return text_fail(P, t.pos, "dimension '%.*s' is larger than 2^40",
                         (int)(t.len > 40 ? 40 : t.len), P->src + t.pos);
    if (d < 1)
        return text_fail(P, t.pos, "dimension %lld must be >= 1",
                         (long long)d);
    if (ty->rank == KILN_MAX_RANK)
        return text_fail(P, t.pos, "more than %d dimensions", KILN_MAX_RANK);
    if (*numel > IR_MAX_NUMEL / d)
        return text_fail(P, t.pos,
                         "element count overflow: the type has more than "
                         "2^40 elements");
    *numel *= d;
    ty->dims[ty->rank++] = d;
    return true;
}

bool text_parse_type(text_parser *P, ir_type *ty)
{
    text_tok t;
    int64_t numel = 1;
    memset(ty, 0, sizeof *ty);
    if (!parse_dtype(P, &ty->dtype) ||
        !text_expect(P, '[', "after the dtype") || !text_peek(P, &t))
        return false;
    if (text_is_punct(P, &t, ']'))
        return text_next(P, &t);
    for (;;) {
        if (!parse_dim(P, ty, &numel) || !text_next(P, &t))
            return false;
        if (text_is_punct(P, &t, ']'))
            return true;
        if (!text_is_punct(P, &t, ','))
            return expected(P, &t, "',' or ']' in the shape");
    }
}

bool text_parse_int(text_parser *P, int64_t lo, int64_t hi, int64_t *out)
{
    text_tok t;
    if (!text_next(P, &t))
        return false;
    if (t.kind != TOK_NUMBER)
        return expected(P, &t, "an integer");
    text_num r = text_scan_int(P->src + t.pos, t.len, out);
    int n = (int)(t.len > 40 ? 40 : t.len);
    if (r == TEXT_NUM_BAD)
        return text_fail(P, t.pos, "bad integer '%.*s'", n, P->src + t.pos);
    if (r == TEXT_NUM_RANGE || *out < lo || *out > hi)
        return text_fail(P, t.pos, "integer %.*s is out of range %lld..%lld",
                         n, P->src + t.pos, (long long)lo, (long long)hi);
    return true;
}

static bool scan_number_tok(text_parser *P, const text_tok *t, double *out,
                            const char *what)
{
    int n = (int)(t->len > 40 ? 40 : t->len);
    if (t->kind != TOK_NUMBER && t->kind != TOK_IDENT)
        return expected(P, t, what);
    text_num r = text_scan_float(P->src + t->pos, t->len, out);
    if (r == TEXT_NUM_BAD)
        return text_fail(P, t->pos, "bad literal '%.*s': expected %s", n,
                         P->src + t->pos, what);
    if (r == TEXT_NUM_RANGE)
        return text_fail(P, t->pos, "literal '%.*s' is out of range", n,
                         P->src + t->pos);
    return true;
}

bool text_parse_double(text_parser *P, double *out)
{
    text_tok t;
    return text_next(P, &t) && scan_number_tok(P, &t, out, "a number");
}

bool text_parse_int_list(text_parser *P, int64_t *v, int *n)
{
    text_tok t;
    *n = 0;
    if (!text_expect(P, '[', "to start a list") || !text_peek(P, &t))
        return false;
    if (text_is_punct(P, &t, ']'))
        return text_next(P, &t);
    for (;;) {
        if (!text_peek(P, &t))
            return false;
        if (*n == KILN_MAX_RANK)
            return text_fail(P, t.pos, "list has more than %d entries",
                             KILN_MAX_RANK);
        if (!text_parse_int(P, INT64_MIN, INT64_MAX, &v[(*n)++]) ||
            !text_next(P, &t))
            return false;
        if (text_is_punct(P, &t, ']'))
            return true;
        if (!text_is_punct(P, &t, ','))
            return expected(P, &t, "',' or ']' in the list");
    }
}

static bool literal_float(text_parser *P, const text_tok *t, kiln_dtype dt,
                          void *data, int64_t i)
{
    double v;
    if (!scan_number_tok(P, t, &v, dt == KILN_F32 ? "an f32 value"
                                                   : "an f64 value"))
        return false;
    if (dt == KILN_F64) {
        ((double *)data)[i] = v;
        return true;
    }
    if (isfinite(v) && isinf((float)v))
        return text_fail(P, t->pos, "literal '%.*s' is out of range for f32",
                         (int)(t->len > 40 ? 40 : t->len), P->src + t->pos);
    ((float *)data)[i] = (float)v;
    return true;
}

bool text_parse_literal(text_parser *P, kiln_dtype dt, void *data, int64_t i)
{
    text_tok t;
    if (!text_next(P, &t))
        return false;
    int n = (int)(t.len > 40 ? 40 : t.len);
    if (dt == KILN_F32 || dt == KILN_F64)
        return literal_float(P, &t, dt, data, i);
    if (dt == KILN_BOOL) {
        if (!text_is_ident(P, &t, "true") && !text_is_ident(P, &t, "false"))
            return expected(P, &t, "a bool value (true or false)");
        ((uint8_t *)data)[i] = text_is_ident(P, &t, "true");
        return true;
    }
    int64_t v;
    if (t.kind != TOK_NUMBER)
        return expected(P, &t, "an i32 value");
    text_num r = text_scan_int(P->src + t.pos, t.len, &v);
    if (r == TEXT_NUM_BAD)
        return text_fail(P, t.pos, "bad i32 literal '%.*s' (want an integer)",
                         n, P->src + t.pos);
    if (r == TEXT_NUM_RANGE || v < INT32_MIN || v > INT32_MAX)
        return text_fail(P, t.pos, "literal '%.*s' is out of range for i32", n,
                         P->src + t.pos);
    ((int32_t *)data)[i] = (int32_t)v;
    return true;
}
