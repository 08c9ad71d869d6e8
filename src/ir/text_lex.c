/* text_lex.c — the parser's view of its input: one validation pass over
 * the whole text (UTF-8, NUL bytes, line lengths), then tokens within one
 * line at a time.  Columns count bytes from 1. */
#include <stdio.h>
#include <string.h>

#include "text.h"

bool text_fail(text_parser *P, size_t pos, const char *fmt, ...)
{
    if (P->failed)
        return false;
    P->failed = true;
    P->err_line = P->line;
    P->err_col = pos >= P->line_start ? pos - P->line_start + 1 : 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(P->msg, sizeof P->msg, fmt, ap);
    va_end(ap);
    return false;
}

/* Length of the UTF-8 sequence at s (n bytes available), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    *cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if (i > 1 && (s[i] < 0x80 || s[i] > 0xBF))
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    return len;
}

bool text_validate(text_parser *P)
{
    const unsigned char *s = (const unsigned char *)P->src;
    bool comment = false;
    P->line = 1;
    P->line_start = 0;
    for (size_t i = 0; i < P->len;) {
        unsigned char c = s[i];
        if (c == '\n') {
            P->line++;
            P->line_start = ++i;
            comment = false;
            continue;
        }
        if (i - P->line_start >= TEXT_MAX_LINE)
            return text_fail(P, i, "line is longer than %zu bytes",
                             TEXT_MAX_LINE);
        if (c == 0)
            return text_fail(P, i, "NUL byte in the input");
        comment = comment || c == '#';
        if (c < 0x80) {
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t len = utf8_len(s + i, P->len - i, &cp);
        if (len == 0)
            return text_fail(P, i, "invalid UTF-8 (byte 0x%02x)", c);
        if (!comment)
            return text_fail(P, i,
                             "non-ASCII character U+%04X outside a comment",
                             (unsigned)cp);
        i += len;
    }
    return true;
}

void text_begin_line(text_parser *P, size_t start)
{
    const char *nl = memchr(P->src + start, '\n', P->len - start);
    P->line_start = P->pos = start;
    P->line_end = nl ? (size_t)(nl - P->src) : P->len;
}

static bool name_char(char c)
{
    return c == '_' || c == '.' || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static size_t scan_name(const text_parser *P, size_t i)
{
    while (i < P->line_end && name_char(P->src[i]))
        i++;
    return i;
}

/* Numbers: a sign, digits, '.', letters (exponent, inf, nan) and a sign
 * right after an exponent letter.  The caller validates the form. */
static size_t scan_number(const text_parser *P, size_t i)
{
    i++;
    while (i < P->line_end) {
        char c = P->src[i], prev = P->src[i - 1];
        if (!name_char(c) &&
            !((c == '+' || c == '-') && (prev == 'e' || prev == 'E')))
            break;
        i++;
    }
    return i;
}

static bool bad_char(text_parser *P, size_t i)
{
    unsigned char c = (unsigned char)P->src[i];
    if (c >= 0x80)
        return text_fail(P, i, "non-ASCII character outside a comment");
    if (c < 0x20 || c == 0x7F)
        return text_fail(P, i, "unexpected control character 0x%02x", c);
    return text_fail(P, i, "unexpected character '%c'", c);
}

bool text_next(text_parser *P, text_tok *t)
{
    size_t i = P->pos;
    while (i < P->line_end &&
           (P->src[i] == ' ' || P->src[i] == '\t' || P->src[i] == '\r'))
        i++;
    t->pos = i;
    t->len = 0;
    t->kind = TOK_END;
    if (i >= P->line_end || P->src[i] == '#') {
        P->pos = i;
        return true;
    }
    char c = P->src[i];
    size_t end;
    if (c == '%') {
        end = scan_name(P, i + 1);
        if (end == i + 1)
            return text_fail(P, i, "expected a name after '%%'");
        t->kind = TOK_VALUE;
    } else if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        end = scan_name(P, i);
        t->kind = TOK_IDENT;
    } else if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
        end = scan_number(P, i);
        t->kind = TOK_NUMBER;
    } else if (strchr("=,:[]{}()", c)) {
        end = i + 1;
        t->kind = TOK_PUNCT;
    } else {
        return bad_char(P, i);
    }
    t->len = end - t->pos;
    P->pos = end;
    return true;
}

bool text_peek(text_parser *P, text_tok *t)
{
    size_t save = P->pos;
    bool ok = text_next(P, t);
    P->pos = save;
    return ok;
}

bool text_is_punct(const text_parser *P, const text_tok *t, char c)
{
    return t->kind == TOK_PUNCT && P->src[t->pos] == c;
}

bool text_is_ident(const text_parser *P, const text_tok *t, const char *word)
{
    return t->kind == TOK_IDENT && strlen(word) == t->len &&
           memcmp(P->src + t->pos, word, t->len) == 0;
}

const char *text_describe(const text_parser *P, const text_tok *t, char *buf,
                          size_t len)
{
    if (t->kind == TOK_END)
        snprintf(buf, len, "end of line");
    else
        snprintf(buf, len, "'%.*s%s'", (int)(t->len > 40 ? 40 : t->len),
                 P->src + t->pos, t->len > 40 ? "..." : "");
    return buf;
}

bool text_expect(text_parser *P, char c, const char *context)
{
    text_tok t;
    char what[64];
    if (!text_next(P, &t))
        return false;
    if (text_is_punct(P, &t, c))
        return true;
    if (t.kind == TOK_END)
        return text_fail(P, t.pos, "unexpected end of line: expected '%c' %s",
                         c, context);
    return text_fail(P, t.pos, "expected '%c' %s, found %s", c, context,
                     text_describe(P, &t, what, sizeof what));
}
