/*
 * memplan.c — arena offsets for temporaries.
 *
 * Requires: a lowered program (kernels in execution order).  Changes only
 * buf[].offset and arena_bytes.  Three steps:
 *  1. liveness (k_live_ranges, memcheck.c): a temp lives from the first
 *     kernel storing it to the last one reading it, or to the end of the
 *     run when it is an output or an assign's source;
 *  2. in-place: walking the kernels in order, an output first stored by a
 *     map kernel takes the slot of an input dying there when
 *     k_inplace_refusal allows it.  Always taken: the two ranges meet
 *     only at that kernel, so sharing never costs a byte;
 *  3. best fit: slots by aligned size, largest first (ties: earlier
 *     start, then buffer number).  Each goes into the smallest gap, among
 *     the slots already placed that are live at the same time, that holds
 *     it, or on top of them when none does.  Large slots placed first fix
 *     the arena's shape; smaller ones fill the holes between them.
 * k_check_plan (memcheck.c) proves the result.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/kernel.h"
#include "passes.h"

#define NO_SLOT UINT32_MAX

typedef struct mp_slot {
    int first, last;   /* kernels, inclusive; last may be nk (the end) */
    int64_t size;      /* bytes, rounded up to K_ARENA_ALIGN */
    int64_t offset;
    uint32_t id;       /* for a stable order */
    int claimed_at;    /* kernel whose output took this slot, or -1 */
    bool used;
} mp_slot;

typedef struct mp_state {
    k_live *live;
    uint32_t *slot_of;  /* buffer -> slot */
    mp_slot *slots;
    mp_slot **order, **conflicts;
} mp_state;

static bool temp(const k_program *p, uint32_t b)
{
    return b < p->nbuf && p->buf[b].kind == KB_TEMP;
}

static int64_t bytes_of(const k_buffer *b)
{
    return b->numel * (int64_t)kiln_dtype_size(b->dtype);
}

static int64_t align_up(int64_t v)
{
    return (v + K_ARENA_ALIGN - 1) / K_ARENA_ALIGN * K_ARENA_ALIGN;
}

/* One slot per temp that some kernel, output or copy touches. */
static void make_slots(const k_program *p, mp_state *s)
{
    for (uint32_t b = 0; b < p->nbuf; b++) {
        const k_live *l = &s->live[b];
        s->slot_of[b] = NO_SLOT;
        s->slots[b].used = false;
        if (!temp(p, b) || l->last < 0)
            continue;
        int first = l->last; /* a read before any write still needs bytes */
        if (l->write >= 0 && l->write < first)
            first = l->write;
        if (l->read >= 0 && l->read < first)
            first = l->read;
        s->slots[b] = (mp_slot){first, l->last, align_up(bytes_of(&p->buf[b])), 0, b, -1,
                                true};
        s->slot_of[b] = b;
    }
}

/* The first input of kernel t whose slot output o may take, or NO_SLOT. */
static uint32_t inplace_partner(const k_program *p, mp_state *s, int t, uint32_t o)
{
    const kernel *k = &p->k[t];
    for (int a = 0; a < k->nacc; a++) {
        uint32_t x = k->acc[a].buf;
        if (!temp(p, x) || x == o || s->slot_of[x] == NO_SLOT)
            continue;
        const mp_slot *sl = &s->slots[s->slot_of[x]];
        if (sl->claimed_at == t || sl->last != t)
            continue;
        if (!k_inplace_refusal(p, s->live, t, x, o))
            return x;
    }
    return NO_SLOT;
}

static void share_inplace(const k_program *p, mp_state *s)
{
    for (int t = 0; t < p->nk; t++) {
        const kernel *k = &p->k[t];
        if (k->kind != K_MAP)
            continue;
        for (int i = 0; i <= k->nextra; i++) {
            int a = i == 0 ? k->out : k->extra_out[i - 1];
            uint32_t o = a >= 0 && a < k->nacc ? k->acc[a].buf : K_NO_BUFFER;
            if (!temp(p, o) || s->live[o].write != t || s->slot_of[o] != o)
                continue;
            uint32_t x = inplace_partner(p, s, t, o);
            if (x == NO_SLOT)
                continue;
            mp_slot *sl = &s->slots[s->slot_of[x]];
            sl->last = s->slots[o].last;
            sl->claimed_at = t;
            s->slots[o].used = false;
            s->slot_of[o] = s->slot_of[x];
        }
    }
}

static int by_size(const void *a, const void *b)
{
    const mp_slot *x = *(mp_slot *const *)a, *y = *(mp_slot *const *)b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int by_offset(const void *a, const void *b)
{
    const mp_slot *x = *(mp_slot *const *)a, *y = *(mp_slot *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Best fit of slot `sl` against the `n` slots placed before it. */
static void place(mp_slot *sl, mp_slot *const *placed, int n, mp_slot **conflicts)
{
    int nc = 0;
    for (int i = 0; i < n; i++)
        if (placed[i]->first <= sl->last && sl->first <= placed[i]->last)
            conflicts[nc++] = placed[i];
    qsort(conflicts, (size_t)nc, sizeof *conflicts, by_offset);
    int64_t cursor = 0, best = -1, best_gap = 0;
    for (int i = 0; i < nc; i++) {
        int64_t gap = conflicts[i]->offset - cursor;
        if (gap >= sl->size && (best < 0 || gap < best_gap)) {
            best = cursor;
            best_gap = gap;
        }
        int64_t end = conflicts[i]->offset + conflicts[i]->size;
        cursor = end > cursor ? end : cursor;
    }
    sl->offset = best >= 0 ? best : cursor;
}

static void place_all(const k_program *p, mp_state *s)
{
    int n = 0;
    for (uint32_t b = 0; b < p->nbuf; b++)
        if (s->slots[b].used)
            s->order[n++] = &s->slots[b];
    qsort(s->order, (size_t)n, sizeof *s->order, by_size);
    for (int i = 0; i < n; i++)
        place(s->order[i], s->order, i, s->conflicts);
}

/* Offsets from the slots; dead temps sit at 0 and take no bytes. */
static void assign_offsets(k_program *p, const mp_state *s)
{
    int64_t top = 0;
    for (uint32_t b = 0; b < p->nbuf; b++) {
        k_buffer *buf = &p->buf[b];
        buf->offset = -1;
        if (buf->kind != KB_TEMP)
            continue;
        buf->offset = 0;
        if (s->slot_of[b] == NO_SLOT)
            continue;
        buf->offset = s->slots[s->slot_of[b]].offset;
        if (buf->offset + bytes_of(buf) > top)
            top = buf->offset + bytes_of(buf);
    }
    p->arena_bytes = top;
}

/* Without memory to plan with: every temp its own slice, still valid. */
static void plan_sequential(k_program *p)
{
    int64_t at = 0;
    for (uint32_t b = 0; b < p->nbuf; b++) {
        k_buffer *buf = &p->buf[b];
        buf->offset = buf->kind == KB_TEMP ? at : -1;
        if (buf->kind == KB_TEMP)
            at += align_up(bytes_of(buf));
    }
    p->arena_bytes = at;
}

static void free_state(kiln_graph *g, mp_state *s)
{
    ir_free(g, s->live);
    ir_free(g, s->slot_of);
    ir_free(g, s->slots);
    ir_free(g, s->order);
    ir_free(g, s->conflicts);
}

kiln_status k_plan_memory(k_program *p)
{
    kiln_graph *g = p->g;
    size_t n = p->nbuf ? p->nbuf : 1;
    mp_state s = {
        .live = ir_alloc(g, n * sizeof *s.live),
        .slot_of = ir_alloc(g, n * sizeof *s.slot_of),
        .slots = ir_alloc(g, n * sizeof *s.slots),
        .order = ir_alloc(g, n * sizeof *s.order),
        .conflicts = ir_alloc(g, n * sizeof *s.conflicts),
    };
    if (!s.live || !s.slot_of || !s.slots || !s.order || !s.conflicts) {
        free_state(g, &s);
        plan_sequential(p);
        return KILN_OK;
    }
    k_live_ranges(p, s.live);
    make_slots(p, &s);
    share_inplace(p, &s);
    place_all(p, &s);
    assign_offsets(p, &s);
    free_state(g, &s);
    return KILN_OK;
}

int64_t k_plan_lower_bound(const k_program *p)
{
    if (p->nk == 0)
        return 0;
    k_live *live = ir_alloc(p->g, (p->nbuf ? p->nbuf : 1) * sizeof *live);
    int64_t *delta = ir_alloc(p->g, ((size_t)p->nk + 1) * sizeof *delta);
    if (!live || !delta) {
        ir_free(p->g, live);
        ir_free(p->g, delta);
        return -1;
    }
    memset(delta, 0, ((size_t)p->nk + 1) * sizeof *delta);
    k_live_ranges(p, live);
    for (uint32_t b = 0; b < p->nbuf; b++) {
        const k_live *l = &live[b];
        if (!temp(p, b) || l->write < 0)
            continue;
        int last = l->last < p->nk ? l->last : p->nk - 1;
        delta[l->write] += bytes_of(&p->buf[b]);
        delta[last + 1] -= bytes_of(&p->buf[b]);
    }
    int64_t live_bytes = 0, most = 0;
    for (int t = 0; t < p->nk; t++) {
        live_bytes += delta[t];
        most = live_bytes > most ? live_bytes : most;
    }
    ir_free(p->g, live);
    ir_free(p->g, delta);
    return most;
}
