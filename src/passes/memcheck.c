/*
 * memcheck.c — the rules of a memory plan, and the checker that proves a
 * plan follows them.
 *
 * Liveness and in-place legality are defined here, once: the planner
 * (memplan.c) asks k_inplace_refusal before it reuses a slot, and
 * k_check_plan re-derives every conflict from the offsets alone, so a
 * planner bug shows up as a rejected plan rather than as corrupted data.
 *
 * An in-place pair (input x, output o, kernel t) is legal only when, at
 * every loop point p, each read of x[f(p)] happens before o[f(p)] is
 * stored and no other point touches that element:
 *  - t is a K_MAP kernel: it reads and stores each point once, in order.
 *    K_REDUCE and K_MATMUL read many input elements per stored one.
 *    K_ROW is refused too: reading a row for its folds and then storing it
 *    is only safe while every fold of a row finishes before the first
 *    store of that row — a property of the codegen's schedule (true of
 *    today's CPU loop, false once a long row is split across threads or
 *    CUDA blocks, or a fold is fused into the store pass), which the
 *    kernel IR cannot show;
 *  - x dies at t (last read there, not an output or assign source), and t
 *    does not store x;
 *  - x and o have the same element size and byte size;
 *  - o is stored through an unguarded, injective map f, and every access
 *    of x in t is unguarded and equal to f on the domain (same offset,
 *    same strides on every axis longer than 1): a transposed or
 *    broadcast read would fetch elements other points already overwrote;
 *  - every load of x is evaluated before o's store: multi-output kernels
 *    store k->out, then extra_out[0], ..., computing each value just
 *    before its store, so a load of x needed only by a value stored after
 *    o would see o's data.
 */
#include <stdio.h>
#include <string.h>

#include "ir/kernel.h"
#include "passes.h"

static bool is_temp(const k_program *p, uint32_t b)
{
    return b < p->nbuf && p->buf[b].kind == KB_TEMP;
}

static int64_t buf_bytes(const k_buffer *b)
{
    return b->numel * (int64_t)kiln_dtype_size(b->dtype);
}

/* Which store of kernel k access a is: 0 for k->out, 1 + i for
 * extra_out[i], -1 for a read. */
static int store_index(const kernel *k, int a)
{
    if (a == k->out)
        return 0;
    for (int i = 0; i < k->nextra; i++)
        if (a == k->extra_out[i])
            return 1 + i;
    return -1;
}

static void note_use(k_live *l, int t, bool store)
{
    if (store && l->write < 0)
        l->write = t;
    if (!store && l->read < 0)
        l->read = t;
    if (t > l->last)
        l->last = t;
}

static void survive(const k_program *p, k_live *live, uint32_t b)
{
    if (is_temp(p, b))
        live[b].last = p->nk;
}

void k_live_ranges(const k_program *p, k_live *live)
{
    for (uint32_t b = 0; b < p->nbuf; b++)
        live[b] = (k_live){-1, -1, -1};
    for (int t = 0; t < p->nk; t++) {
        const kernel *k = &p->k[t];
        for (int a = 0; a < k->nacc; a++)
            if (is_temp(p, k->acc[a].buf))
                note_use(&live[k->acc[a].buf], t, store_index(k, a) >= 0);
    }
    for (int o = 0; o < p->noutputs; o++)
        survive(p, live, p->outputs[o].buf);
    for (int c = 0; c < p->ncopies; c++)
        if (!p->copies[c].in_place)
            survive(p, live, p->copies[c].src);
}

/* ---- in-place legality ------------------------------------------------- */

/* The same element at every point of k's domain? */
static bool same_map(const kernel *k, const k_access *a, const k_access *b)
{
    if (a->offset != b->offset)
        return false;
    for (int d = 0; d < k->rank; d++)
        if (k->dims[d] > 1 && a->stride[d] != b->stride[d])
            return false;
    return true;
}

static int64_t iabs(int64_t v) { return v < 0 ? -v : v; }

/* Sufficient for injectivity: sorted by |stride|, each axis steps past
 * everything the shorter-stride axes can reach (a mixed radix). */
static bool injective(const kernel *k, const k_access *a)
{
    int64_t s[KILN_MAX_RANK], n[KILN_MAX_RANK];
    int m = 0;
    for (int d = 0; d < k->rank; d++)
        if (k->dims[d] > 1) {
            int j = m++;
            for (; j > 0 && s[j - 1] > iabs(a->stride[d]); j--) {
                s[j] = s[j - 1];
                n[j] = n[j - 1];
            }
            s[j] = iabs(a->stride[d]);
            n[j] = k->dims[d];
        }
    int64_t reach = 0;
    for (int j = 0; j < m; j++) {
        if (s[j] <= reach)
            return false;
        reach += s[j] * (n[j] - 1);
    }
    return true;
}

/* The value stored by store number s (0: k->value, 1 + i: extra). */
static int stored_value(const kernel *k, int s)
{
    return s == 0 ? k->value : k->extra_value[s - 1];
}

/* Is every load of buffer x that some stored value needs reachable from
 * the values stored up to and including store number s?  Expressions
 * refer only to earlier ones, so one backward sweep per phase marks
 * reachability.  `mark` has k->nexpr entries. */
static bool loads_precede(const kernel *k, uint32_t x, int s, uint8_t *mark)
{
    memset(mark, 0, (size_t)k->nexpr);
    for (int phase = 1; phase <= 2; phase++) {
        for (int v = phase == 1 ? 0 : s + 1; v <= (phase == 1 ? s : k->nextra); v++) {
            int e = stored_value(k, v);
            if (e >= 0 && e < k->nexpr && !mark[e])
                mark[e] = (uint8_t)phase;
        }
        for (int e = k->nexpr; e-- > 0;) {
            if (mark[e] != phase)
                continue;
            const k_expr *ex = &k->expr[e];
            if (phase == 2 && ex->kind == KE_LOAD && k->acc[ex->acc].buf == x)
                return false;
            for (int j = 0; j < ex->nargs; j++) {
                if (ex->args[j] >= e || ex->args[j] < 0)
                    return false; /* not the expected order: refuse */
                if (!mark[ex->args[j]])
                    mark[ex->args[j]] = (uint8_t)phase;
            }
        }
    }
    return true;
}

/* NULL when loads_precede(k, x, s), else `why`. */
static const char *load_order_refusal(const k_program *p, const kernel *k, uint32_t x,
                                      int s, const char *why)
{
    uint8_t *mark = ir_alloc(p->g, (size_t)k->nexpr + 1);
    if (!mark)
        return "out of memory while checking load order";
    bool ok = loads_precede(k, x, s, mark);
    ir_free(p->g, mark);
    return ok ? NULL : why;
}

/* The refusal for the accesses of kernel k (map kind, x dying there). */
static const char *access_refusal(const k_program *p, const kernel *k,
                                  uint32_t x, uint32_t o)
{
    int s = -1;
    const k_access *out = NULL;
    for (int a = 0; a < k->nacc && !out; a++)
        if (k->acc[a].buf == o && store_index(k, a) >= 0) {
            out = &k->acc[a];
            s = store_index(k, a);
        }
    if (!out)
        return "the kernel does not store the output";
    if (out->guarded)
        return "the output is stored through a guarded access";
    if (!injective(k, out))
        return "the output's store map is not injective";
    for (int a = 0; a < k->nacc; a++) {
        if (k->acc[a].buf != x)
            continue;
        if (store_index(k, a) >= 0)
            return "the kernel also stores the input";
        if (k->acc[a].guarded)
            return "the input is read through a guarded access";
        if (!same_map(k, &k->acc[a], out))
            return "the input is read through a different index map than the "
                   "output's store (offset or strides differ)";
    }
    return load_order_refusal(p, k, x, s, "a value stored after the output still loads the input");
}

const char *k_inplace_refusal(const k_program *p, const k_live *live, int t,
                              uint32_t x, uint32_t o)
{
    if (t < 0 || t >= p->nk)
        return "no such kernel";
    if (!is_temp(p, x) || !is_temp(p, o) || x == o)
        return "in-place needs two distinct temps";
    const kernel *k = &p->k[t];
    if (k->kind != K_MAP)
        return "only map kernels update in place (reduce, matmul and row "
               "kernels read an element after storing over it)";
    if (live[o].write != t)
        return "the kernel is not the output's first writer";
    if (live[x].last != t || live[x].read < 0 || live[x].write < 0 ||
        live[x].write >= t)
        return "the input does not die at this kernel";
    const k_buffer *bx = &p->buf[x], *bo = &p->buf[o];
    if (kiln_dtype_size(bx->dtype) != kiln_dtype_size(bo->dtype))
        return "element sizes differ";
    if (buf_bytes(bx) != buf_bytes(bo))
        return "byte sizes differ";
    return access_refusal(p, k, x, o);
}

/* ---- assigns in place ------------------------------------------------- */

int k_sole_writer(const k_program *p, uint32_t b)
{
    int w = -1;
    for (int t = 0; t < p->nk; t++)
        for (int a = 0; a < p->k[t].nacc; a++)
            if (p->k[t].acc[a].buf == b && store_index(&p->k[t], a) >= 0) {
                if (w >= 0 && w != t)
                    return -2;
                w = t;
            }
    return w;
}

/* The refusal for kernel t storing param P's new value (held in buffer o:
 * a temp, or P itself once rewritten) straight into P.  Besides the
 * in-place rules above for t's own reads of P, the old value must be dead
 * once t starts storing: no later kernel, output or other assign reads P,
 * and the new value o is needed by nobody but the assign. */
const char *k_assign_in_place_refusal(const k_program *p, int t, uint32_t P,
                                      uint32_t o)
{
    if (t < 0 || t >= p->nk)
        return "no such kernel";
    if (P >= p->nbuf || p->buf[P].kind != KB_PARAM)
        return "the destination is not a param";
    if (o >= p->nbuf || (o != P && p->buf[o].kind != KB_TEMP))
        return "the new value is neither a temp nor the param";
    const kernel *k = &p->k[t];
    if (k->kind != K_MAP)
        return "only map kernels store a param in place";
    if (buf_bytes(&p->buf[P]) != buf_bytes(&p->buf[o]) ||
        p->buf[P].dtype != p->buf[o].dtype)
        return "the new value's type differs from the param's";
    int s = -1;
    const k_access *out = NULL;
    for (int a = 0; a < k->nacc; a++)
        if (k->acc[a].buf == o && store_index(k, a) >= 0) {
            if (out)
                return "the kernel stores the new value twice";
            out = &k->acc[a];
            s = store_index(k, a);
        }
    if (!out)
        return "the kernel does not store the new value";
    if (out->guarded || !injective(k, out))
        return "the new value is stored through a guarded or non-injective map";
    for (int a = 0; a < k->nacc; a++) {
        const k_access *x = &k->acc[a];
        if ((x->buf != P && x->buf != o) || x == out)
            continue;
        if (x->buf == P && store_index(k, a) >= 0)
            return "the kernel stores the param besides its new value";
        if (x->buf == o && o != P)
            return "the kernel reads back the new value";
        if (x->guarded || !same_map(k, x, out))
            return "the param is read through a different index map than its "
                   "new value's store";
    }
    for (int u = 0; u < p->nk; u++) {
        if (u == t)
            continue;
        for (int a = 0; a < p->k[u].nacc; a++) {
            uint32_t b = p->k[u].acc[a].buf;
            if (b == o && o != P)
                return "another kernel reads the new value";
            if (b == P && store_index(&p->k[u], a) >= 0)
                return "another kernel stores the param";
            if (b == P && u > t)
                return "a later kernel reads the param's old value";
        }
    }
    for (int i = 0; i < p->noutputs; i++)
        if (p->outputs[i].buf == P || p->outputs[i].buf == o)
            return "the param or its new value is an output";
    int copies = 0;
    for (int i = 0; i < p->ncopies; i++) {
        const k_copy *c = &p->copies[i];
        if (c->dst == P && (c->src == o || (o == P && c->in_place)))
            copies++;
        else if (c->src == P || c->src == o || c->dst == P)
            return "another assign reads the param or its new value";
    }
    if (copies != 1)
        return "the param is not assigned exactly this value once";
    return load_order_refusal(p, k, P, s,
                              "a value stored after the new value still loads the param");
}

/* ---- the checker ------------------------------------------------------- */

bool k_buffers_share(const k_program *p, uint32_t a, uint32_t b)
{
    if (!is_temp(p, a) || !is_temp(p, b))
        return false;
    const k_buffer *x = &p->buf[a], *y = &p->buf[b];
    return x->offset < y->offset + buf_bytes(y) && y->offset < x->offset + buf_bytes(x);
}

static const char *describe(const k_program *p, uint32_t b, char *s, size_t len)
{
    const k_buffer *buf = &p->buf[b];
    const ir_node *n = &p->g->nodes[buf->node];
    snprintf(s, len, "buf%u (%s #%u%s%s%s, %lld B)", (unsigned)b, ir_ops[n->op].name,
             (unsigned)buf->node, n->name ? " '" : "", n->name ? n->name : "",
             n->name ? "'" : "", (long long)buf_bytes(buf));
    return s;
}

#define FAIL(...) \
    do { \
        snprintf(err, len, "memory plan: " __VA_ARGS__); \
        return KILN_ERR_INVALID_ARGUMENT; \
    } while (0)

/* Offsets, alignment, arena bounds, and write-before-read, per buffer. */
static kiln_status check_buffer(const k_program *p, const k_live *live, uint32_t b,
                                char *err, size_t len)
{
    char who[200];
    const k_buffer *buf = &p->buf[b];
    if (buf->kind != KB_TEMP) {
        if (buf->offset != -1)
            FAIL("%s is not a temp but has arena offset %lld",
                 describe(p, b, who, sizeof who), (long long)buf->offset);
        return KILN_OK;
    }
    const k_live *l = &live[b];
    if (l->write < 0 && l->read >= 0)
        FAIL("%s is read by kernel %d but no kernel writes it",
             describe(p, b, who, sizeof who), l->read);
    if (l->write < 0 && l->last >= 0)
        FAIL("%s must survive the run but no kernel writes it",
             describe(p, b, who, sizeof who));
    if (l->read >= 0 && l->read < l->write)
        FAIL("%s is read by kernel %d before kernel %d writes it",
             describe(p, b, who, sizeof who), l->read, l->write);
    if (buf->offset % K_ARENA_ALIGN)
        FAIL("%s at offset %lld is not %d-byte aligned", describe(p, b, who, sizeof who),
             (long long)buf->offset, K_ARENA_ALIGN);
    int64_t bytes = l->write < 0 ? 0 : buf_bytes(buf); /* dead: no space */
    if (buf->offset < 0 || buf->offset > p->arena_bytes - bytes)
        FAIL("%s at bytes [%lld, %lld) lies outside the arena of %lld bytes",
             describe(p, b, who, sizeof who), (long long)buf->offset,
             (long long)(buf->offset + bytes), (long long)p->arena_bytes);
    return KILN_OK;
}

static bool live_together(const k_live *a, const k_live *b)
{
    return a->write >= 0 && b->write >= 0 && a->write <= b->last && b->write <= a->last;
}

/* Two temps live at the same time share bytes: legal only as an exact
 * in-place pair where one dies at the kernel that first writes the other. */
static kiln_status check_pair(const k_program *p, const k_live *live, uint32_t a,
                              uint32_t b, char *err, size_t len)
{
    char wa[200], wb[200];
    const k_live *la = &live[a], *lb = &live[b];
    uint32_t x = la->last == lb->write ? a : b, o = x == a ? b : a;
    bool touch = live[x].last == live[o].write;
    if (touch && p->buf[a].offset == p->buf[b].offset) {
        const char *why = k_inplace_refusal(p, live, live[o].write, x, o);
        if (!why)
            return KILN_OK;
        FAIL("%s stored over %s by kernel %d is not a legal in-place update: %s",
             describe(p, o, wb, sizeof wb), describe(p, x, wa, sizeof wa),
             live[o].write, why);
    }
    FAIL("%s at bytes [%lld, %lld), live in kernels %d..%d, and %s at bytes "
         "[%lld, %lld), live in kernels %d..%d, overlap",
         describe(p, a, wa, sizeof wa), (long long)p->buf[a].offset,
         (long long)(p->buf[a].offset + buf_bytes(&p->buf[a])), la->write, la->last,
         describe(p, b, wb, sizeof wb), (long long)p->buf[b].offset,
         (long long)(p->buf[b].offset + buf_bytes(&p->buf[b])), lb->write, lb->last);
}

/* A kernel may store a param only as the in-place assign that a copy
 * marked in_place records, and only when that is legal. */
static kiln_status check_param_stores(const k_program *p, uint32_t b, char *err,
                                      size_t len)
{
    char who[200];
    if (p->buf[b].kind != KB_PARAM)
        return KILN_OK;
    bool in_place = false;
    for (int i = 0; i < p->ncopies; i++)
        in_place |= p->copies[i].dst == b && p->copies[i].in_place;
    int t = k_sole_writer(p, b);
    if (t == -1 && !in_place)
        return KILN_OK;
    if (t == -1)
        FAIL("%s is assigned in place but no kernel stores it", describe(p, b, who, sizeof who));
    if (t == -2)
        FAIL("%s is stored by several kernels", describe(p, b, who, sizeof who));
    if (!in_place)
        FAIL("kernel %d stores %s, which is not assigned in place", t,
             describe(p, b, who, sizeof who));
    const char *why = k_assign_in_place_refusal(p, t, b, b);
    if (why)
        FAIL("%s assigned in place by kernel %d is not legal: %s",
             describe(p, b, who, sizeof who), t, why);
    return KILN_OK;
}

kiln_status k_check_plan(const k_program *p, char *err, size_t len)
{
    k_live *live = ir_alloc(p->g, (p->nbuf ? p->nbuf : 1) * sizeof *live);
    if (!live) {
        snprintf(err, len, "memory plan: out of memory while checking");
        return KILN_ERR_OUT_OF_MEMORY;
    }
    k_live_ranges(p, live);
    kiln_status s = KILN_OK;
    if (p->arena_bytes < 0) {
        snprintf(err, len, "memory plan: negative arena size %lld", (long long)p->arena_bytes);
        s = KILN_ERR_INVALID_ARGUMENT;
    }
    for (uint32_t b = 0; b < p->nbuf && s == KILN_OK; b++)
        s = check_buffer(p, live, b, err, len);
    for (uint32_t b = 0; b < p->nbuf && s == KILN_OK; b++)
        s = check_param_stores(p, b, err, len);
    for (uint32_t a = 0; a < p->nbuf && s == KILN_OK; a++) {
        if (!is_temp(p, a))
            continue;
        for (uint32_t b = a + 1; b < p->nbuf && s == KILN_OK; b++)
            if (is_temp(p, b) && live_together(&live[a], &live[b]) &&
                k_buffers_share(p, a, b))
                s = check_pair(p, live, a, b, err, len);
    }
    ir_free(p->g, live);
    return s;
}
