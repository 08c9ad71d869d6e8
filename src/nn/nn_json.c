/*
 * nn_json.c — a small strict JSON parser, enough for safetensors headers:
 * objects, arrays, strings with every escape, integers, true/false/null.
 *
 * Strict on purpose: a checkpoint header that is not exactly well-formed
 * is more likely a corrupt file than a creative writer, so fractions and
 * exponents, duplicate keys, control characters in strings, "\u0000",
 * trailing commas and trailing garbage are all rejected.  Nesting is
 * limited to NN_JSON_MAX_DEPTH so a hostile header cannot exhaust the
 * stack.  Errors read "offset N: what".
 */
#include <stdlib.h>
#include <string.h>

#include "nn_data_internal.h"

typedef struct json_parser {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
    int failed;
} json_parser;

static nn_json *fail(json_parser *p, const char *msg)
{
    if (!p->failed)
        nn_data_err(p->err, p->errlen, KILN_ERR_PARSE, "offset %zu: %s",
                    p->pos, msg);
    p->failed = 1;
    return NULL;
}

static void skip_ws(json_parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static int peek(json_parser *p)
{
    return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static nn_json *new_value(json_parser *p, nn_json_kind kind)
{
    nn_json *v = calloc(1, sizeof *v);
    if (!v)
        return fail(p, "out of memory");
    v->kind = kind;
    return v;
}

void nn_json_free(nn_json *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->len && v->items; i++) {
        nn_json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

static int hex4(json_parser *p, unsigned *out)
{
    if (p->len - p->pos < 4)
        return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    p->pos += 4;
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* \uXXXX, with a following low surrogate when XXXX is a high one. */
static int unicode_escape(json_parser *p, unsigned *cp)
{
    if (!hex4(p, cp))
        return 0;
    if (*cp >= 0xdc00 && *cp <= 0xdfff)
        return 0;
    if (*cp >= 0xd800 && *cp <= 0xdbff) {
        unsigned lo;
        if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
            p->s[p->pos + 1] != 'u')
            return 0;
        p->pos += 2;
        if (!hex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff)
            return 0;
        *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    return *cp != 0;
}

/* Bytes from `from` to the closing quote (escapes skipped), or to the end
 * of the input when there is none. */
static size_t raw_length(const json_parser *p, size_t from)
{
    size_t i = from;
    while (i < p->len && p->s[i] != '"')
        i += p->s[i] == '\\' ? 2 : 1;
    return (i < p->len ? i : p->len) - from;
}

/* The string at p->pos (on its opening quote) as a new NUL-terminated
 * buffer; the decoded text is never longer than the source. */
static char *parse_string(json_parser *p, size_t *out_len)
{
    p->pos++;
    char *o = malloc(raw_length(p, p->pos) + 1);
    if (!o)
        return (char *)fail(p, "out of memory");
    size_t n = 0;
    for (;;) {
        int c = peek(p);
        if (c < 0) {
            free(o);
            return (char *)fail(p, "unterminated string");
        }
        p->pos++;
        if (c == '"')
            break;
        if (c < 0x20) {
            p->pos--;
            free(o);
            return (char *)fail(p, "control character in a string");
        }
        if (c != '\\') {
            o[n++] = (char)c;
            continue;
        }
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        c = peek(p);
        const char *k = c > 0 ? strchr(from, c) : NULL;
        unsigned cp;
        if (k) {
            p->pos++;
            o[n++] = to[k - from];
        } else if (c == 'u' && (p->pos++, unicode_escape(p, &cp))) {
            n += put_utf8(o + n, cp);
        } else {
            free(o);
            return (char *)fail(p, "bad escape in a string");
        }
    }
    o[n] = '\0';
    *out_len = n;
    return o;
}

static nn_json *parse_int(json_parser *p)
{
    int neg = peek(p) == '-';
    if (neg)
        p->pos++;
    int c = peek(p);
    if (c < '0' || c > '9')
        return fail(p, "expected a value");
    if (c == '0' && p->pos + 1 < p->len && p->s[p->pos + 1] >= '0' &&
        p->s[p->pos + 1] <= '9')
        return fail(p, "leading zero in a number");
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX;
    while ((c = peek(p)) >= '0' && c <= '9') {
        if (v > (limit - (uint64_t)(c - '0')) / 10)
            return fail(p, "integer out of range");
        v = v * 10 + (uint64_t)(c - '0');
        p->pos++;
    }
    if (c == '.' || c == 'e' || c == 'E')
        return fail(p, "only integers are supported");
    nn_json *j = new_value(p, NN_JSON_INT);
    if (j)
        j->ival = neg ? (int64_t)(0 - v) : (int64_t)v;
    return j;
}

static nn_json *parse_value(json_parser *p, int depth);

static int push(json_parser *p, nn_json *v, char *key, nn_json *item,
                size_t *cap)
{
    if (v->len == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        nn_json **items = realloc(v->items, nc * sizeof *items);
        if (items)
            v->items = items;
        char **keys = v->kind == NN_JSON_OBJECT
                          ? realloc(v->keys, nc * sizeof *keys)
                          : NULL;
        if (keys)
            v->keys = keys;
        if (!items || (v->kind == NN_JSON_OBJECT && !keys)) {
            fail(p, "out of memory");
            return 0;
        }
        *cap = nc;
    }
    v->items[v->len] = item;
    if (v->kind == NN_JSON_OBJECT)
        v->keys[v->len] = key;
    v->len++;
    return 1;
}

/* Object member `key: value` (p->pos on the key's quote). */
static int parse_member(json_parser *p, nn_json *v, size_t *cap, int depth)
{
    if (peek(p) != '"') {
        fail(p, "expected a string key");
        return 0;
    }
    size_t key_at = p->pos, klen;
    char *key = parse_string(p, &klen);
    if (!key)
        return 0;
    if (nn_json_get(v, key)) {
        p->pos = key_at;
        free(key);
        fail(p, "duplicate key");
        return 0;
    }
    skip_ws(p);
    if (peek(p) != ':') {
        free(key);
        fail(p, "expected ':'");
        return 0;
    }
    p->pos++;
    nn_json *item = parse_value(p, depth + 1);
    if (!item || !push(p, v, key, item, cap)) {
        free(key);
        nn_json_free(item);
        return 0;
    }
    return 1;
}

static nn_json *parse_container(json_parser *p, int depth)
{
    int obj = peek(p) == '{';
    char close = obj ? '}' : ']';
    if (depth >= NN_JSON_MAX_DEPTH)
        return fail(p, "nested too deeply");
    nn_json *v = new_value(p, obj ? NN_JSON_OBJECT : NN_JSON_ARRAY);
    if (!v)
        return NULL;
    p->pos++;
    skip_ws(p);
    size_t cap = 0;
    if (peek(p) == close) {
        p->pos++;
        return v;
    }
    for (;;) {
        skip_ws(p);
        int ok;
        if (obj) {
            ok = parse_member(p, v, &cap, depth);
        } else {
            nn_json *item = parse_value(p, depth + 1);
            ok = item && push(p, v, NULL, item, &cap);
            if (!ok)
                nn_json_free(item);
        }
        if (!ok) {
            nn_json_free(v);
            return NULL;
        }
        skip_ws(p);
        int c = peek(p);
        p->pos++;
        if (c == close)
            return v;
        if (c != ',') {
            p->pos--;
            nn_json_free(v);
            return fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
}

static nn_json *parse_word(json_parser *p, const char *word, nn_json_kind kind,
                           int64_t ival)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, "expected a value");
    p->pos += n;
    nn_json *v = new_value(p, kind);
    if (v)
        v->ival = ival;
    return v;
}

static nn_json *parse_value(json_parser *p, int depth)
{
    skip_ws(p);
    int c = peek(p);
    if (c == '{' || c == '[')
        return parse_container(p, depth);
    if (c == '"') {
        nn_json *v = new_value(p, NN_JSON_STRING);
        if (v && !(v->str = parse_string(p, &v->len))) {
            free(v);
            return NULL;
        }
        return v;
    }
    if (c == 't')
        return parse_word(p, "true", NN_JSON_BOOL, 1);
    if (c == 'f')
        return parse_word(p, "false", NN_JSON_BOOL, 0);
    if (c == 'n')
        return parse_word(p, "null", NN_JSON_NULL, 0);
    if (c < 0)
        return fail(p, "unexpected end of input");
    return parse_int(p);
}

nn_json *nn_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    json_parser p = {text, len, 0, err, errlen, 0};
    nn_json *v = parse_value(&p, 0);
    if (!v)
        return NULL;
    skip_ws(&p);
    if (p.pos != len) {
        nn_json_free(v);
        return fail(&p, "unexpected text after the value");
    }
    return v;
}

const nn_json *nn_json_get(const nn_json *obj, const char *key)
{
    if (!obj || obj->kind != NN_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}
