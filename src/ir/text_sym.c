/* text_sym.c — the parser's SSA name table: %name and %N to node index.
 * A hash table (open addressing) so that parsing stays linear in the
 * number of nodes; keys are slices of the input text. */
#include <string.h>

#include "text.h"

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The slot holding the key, or the empty slot where it would go. */
static uint32_t slot(const text_parser *P, const text_sym *tab, uint32_t cap,
                     size_t pos, size_t len)
{
    uint32_t i = hash(P->src + pos, len) & (cap - 1);
    while (tab[i].len != 0 &&
           (tab[i].len != len ||
            memcmp(P->src + tab[i].pos, P->src + pos, len) != 0))
        i = (i + 1) & (cap - 1);
    return i;
}

uint32_t text_sym_find(const text_parser *P, size_t pos, size_t len,
                       uint32_t *line)
{
    if (P->symcap == 0)
        return IR_NONE;
    const text_sym *s = &P->syms[slot(P, P->syms, P->symcap, pos, len)];
    if (s->len == 0)
        return IR_NONE;
    if (line)
        *line = s->line;
    return s->node;
}

static bool grow(text_parser *P)
{
    uint32_t cap = P->symcap ? P->symcap * 2 : 64;
    text_sym *tab = ir_alloc(P->g, (size_t)cap * sizeof *tab);
    if (!tab)
        return false;
    memset(tab, 0, (size_t)cap * sizeof *tab);
    for (uint32_t i = 0; i < P->symcap; i++) {
        const text_sym *s = &P->syms[i];
        if (s->len)
            tab[slot(P, tab, cap, s->pos, s->len)] = *s;
    }
    ir_free(P->g, P->syms);
    P->syms = tab;
    P->symcap = cap;
    return true;
}

bool text_sym_add(text_parser *P, size_t pos, size_t len, uint32_t node)
{
    if ((P->nsyms + 1) * 2 > P->symcap && !grow(P))
        return text_fail(P, pos, "out of memory");
    text_sym *s = &P->syms[slot(P, P->syms, P->symcap, pos, len)];
    *s = (text_sym){pos, len, node, P->line};
    P->nsyms++;
    return true;
}

void text_sym_free(text_parser *P)
{
    ir_free(P->g, P->syms);
    P->syms = NULL;
    P->nsyms = P->symcap = 0;
}
