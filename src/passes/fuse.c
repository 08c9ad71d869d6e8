/*
 * fuse.c — graph IR to kernel IR with fusion.
 *
 * Requires: a valid graph without composite ops (pass_decompose).  Makes a
 * k_program like pass_lower, but with few kernels: every node is either a
 * ROOT (its value is stored in a buffer by some kernel) or INLINE (it is
 * recomputed inside each kernel that reads it).  Decisions, made from the
 * op table's categories:
 *
 *  - inputs, params, non-uniform constants, reductions and matmuls are
 *    roots; uniform constants are immediates;
 *  - outputs and assigned values are roots (they must reach memory);
 *  - an elementwise, layout or random node read by kernels of one root is
 *    inlined there (loop fusion; a reduction absorbs its producers);
 *  - read by several kernels, it is inlined into each only when cheap —
 *    views and casts, or at most one arithmetic op per element — since
 *    then recomputing costs less than a store and a load per consumer;
 *    otherwise it is a root;
 *  - a GEMM operand must be a buffer: views (transpose, broadcast, slice)
 *    between it and the matmul become strides, anything else a root;
 *  - a reshape that merges axes of an inlined value needs division, so its
 *    input is a root; pad and concat read buffers through guards, so
 *    their inputs are roots;
 *  - a matmul or reduction whose only reader is one root of the same shape
 *    through elementwise ops runs that root as its epilogue;
 *  - a root whose only kernel reader is a root of the same shape, through
 *    elementwise ops, is computed in that root's kernel and stored from
 *    there too (multi-output fusion: an optimizer's moments and weights);
 *  - a kernel computes at most FUSE_CAP inlined nodes; past that its
 *    largest inlined producer becomes a root (logged as the cap).
 * Every edge left unfused is logged with its reason.  Each kernel reads a
 * value through an affine map from its loop indices, composed through
 * the views on the way, so layout ops cost nothing.
 */
#include <stdio.h>
#include <string.h>

#include "ir/kernel.h"
#include "passes.h"

#define FUSE_CAP 96
#define MAXC (KILN_MAX_RANK + 1) /* map columns: loop axes, then k */

/* F_ROWRED: a reduction folded inside its row kernel (row_of) */
enum { F_INLINE, F_ROOT, F_IMMEDIATE, F_SINK, F_ROWRED };

/* node index[d] = sum_e coef[d][e] * loop[e] + off[d] */
typedef struct fz_map {
    int rank;
    int64_t coef[KILN_MAX_RANK][MAXC];
    int64_t off[KILN_MAX_RANK];
} fz_map;

typedef struct fz_memo {
    uint32_t node;
    fz_map map;
    int expr;
} fz_memo;

typedef struct fz {
    kiln_graph *g;
    k_program *p;
    uint8_t *fate;
    k_reason *why;
    uint32_t *reader;  /* the one root whose kernel reads a node, or MULTI */
    uint32_t *host;    /* root whose kernel computes and stores this root  */
    uint32_t *absorb;  /* heavy node run as this root's prologue, or NONE  */
    uint32_t *row_of;  /* row kernel root computing this node, or NONE     */
    uint32_t *mark;    /* visit stamps for searches                        */
    bool *spread;      /* read through a reshape spreading an axis over many */
    bool *sink;        /* output or assigned value                         */
    uint32_t *uoff, *users; /* consumers, CSR */
    /* kernel being built */
    kernel *k;
    uint32_t cur;      /* the host root of the kernel */
    uint32_t acc_node; /* heavy node whose value is KE_ACC */
    fz_memo *memo;
    int nmemo, memocap;
    uint32_t row_node[K_MAX_ROW]; /* the graph node of each row fold */
    bool failed;
} fz;

#define NONE UINT32_MAX
#define IDENTITY_STAMP 0x80000000u /* mark stamps of identity_path */
#define MULTI (UINT32_MAX - 1)

static const ir_type *T(const fz *f, uint32_t n) { return &f->g->nodes[n].type; }

static bool same_shape(const ir_type *a, const ir_type *b)
{
    return a->rank == b->rank &&
           memcmp(a->dims, b->dims, (size_t)a->rank * sizeof *a->dims) == 0;
}
static ir_op OPOF(const fz *f, uint32_t n) { return f->g->nodes[n].op; }

/* ---- consumers --------------------------------------------------------- */

static bool build_users(fz *f)
{
    kiln_graph *g = f->g;
    uint32_t n = g->count;
    f->uoff = ir_alloc(g, (n + 1) * sizeof *f->uoff);
    if (!f->uoff)
        return false;
    memset(f->uoff, 0, (n + 1) * sizeof *f->uoff);
    size_t edges = 0;
    for (uint32_t i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].nin; k++) {
            f->uoff[g->nodes[i].in[k] + 1]++;
            edges++;
        }
    for (uint32_t i = 0; i < n; i++)
        f->uoff[i + 1] += f->uoff[i];
    f->users = ir_alloc(g, (edges ? edges : 1) * sizeof *f->users);
    uint32_t *fill = ir_alloc(g, (n ? n : 1) * sizeof *fill);
    if (!f->users || !fill) {
        ir_free(g, fill);
        return false;
    }
    memcpy(fill, f->uoff, n * sizeof *fill);
    for (uint32_t i = 0; i < n; i++)
        for (int k = 0; k < g->nodes[i].nin; k++)
            f->users[fill[g->nodes[i].in[k]]++] = i;
    ir_free(g, fill);
    return true;
}

static void log_edge(fz *f, uint32_t producer, uint32_t consumer, k_reason r)
{
    k_program *p = f->p;
    if (p->nlog == p->logcap) {
        int cap = p->logcap ? p->logcap * 2 : 32;
        k_decision *d = ir_realloc(f->g, p->log, (size_t)cap * sizeof *d);
        if (!d)
            return; /* the log is advisory */
        p->log = d;
        p->logcap = cap;
    }
    p->log[p->nlog++] = (k_decision){producer, consumer, r};
}

/* ---- decisions --------------------------------------------------------- */

static bool is_view(ir_op op)
{
    return op == IR_OP_TRANSPOSE || op == IR_OP_BROADCAST_TO || op == IR_OP_SLICE ||
           op == IR_OP_RESHAPE;
}

/* Work per element of recomputing a node (views are free). */
static int cost(ir_op op)
{
    switch (ir_ops[op].category) {
    case IR_CAT_LAYOUT: return 0;
    case IR_CAT_RANDOM: return 20;
    default: break;
    }
    switch (op) {
    case IR_OP_CAST: return 0;
    case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: case IR_OP_NEG: case IR_OP_ABS:
    case IR_OP_SQUARE: case IR_OP_RELU: case IR_OP_SIGN: case IR_OP_MAXIMUM:
    case IR_OP_MINIMUM: case IR_OP_SELECT: case IR_OP_LT: case IR_OP_LE: case IR_OP_GT:
    case IR_OP_GE: case IR_OP_EQ: case IR_OP_NE: case IR_OP_ONE_HOT:
        return 1;
    case IR_OP_DIV: case IR_OP_RECIPROCAL: case IR_OP_SQRT: case IR_OP_RSQRT: return 4;
    default: return 8;
    }
}

static bool uniform_const(const ir_node *n)
{
    size_t sz = kiln_dtype_size(n->type.dtype);
    int64_t count = ir_numel(&n->type);
    for (int64_t i = 1; i < count; i++)
        if (memcmp((const char *)n->data + i * sz, n->data, sz))
            return false;
    return true;
}

/* A reshape whose every output axis lies within one input axis: the input
 * index is then affine in the output index. */
static bool reshape_splits(const ir_type *in, const ir_type *out)
{
    int j = 0;
    for (int i = 0; i < in->rank; i++) {
        int64_t prod = 1;
        while (prod < in->dims[i] && j < out->rank)
            prod *= out->dims[j++];
        if (prod != in->dims[i])
            return false;
        while (i == in->rank - 1 && j < out->rank)
            if (out->dims[j++] != 1)
                return false;
    }
    for (; j < out->rank; j++)
        if (out->dims[j] != 1)
            return false;
    return true;
}

static void make_root(fz *f, uint32_t n, k_reason r)
{
    if (f->fate[n] != F_ROOT) {
        f->fate[n] = F_ROOT;
        f->why[n] = r;
    }
}

/* Initial fates that do not depend on consumers. */
static void seed_fates(fz *f, bool fuse)
{
    kiln_graph *g = f->g;
    for (uint32_t o = 0; o < g->noutputs; o++)
        f->sink[g->outputs[o].node] = true;
    for (uint32_t i = 0; i < g->count; i++)
        if (g->nodes[i].op == IR_OP_ASSIGN)
            f->sink[g->nodes[i].in[1]] = true;
    for (uint32_t i = 0; i < g->count; i++) {
        const ir_node *n = &g->nodes[i];
        f->host[i] = i;
        f->absorb[i] = NONE;
        f->fate[i] = F_INLINE;
        if (n->op == IR_OP_ASSIGN) {
            f->fate[i] = F_SINK;
            continue;
        }
        switch (ir_ops[n->op].category) {
        case IR_CAT_SOURCE:
            /* a uniform constant is an immediate, unless it must be read
             * from memory as an output or a param's new value */
            if (n->op == IR_OP_CONST && uniform_const(n) && fuse && !f->sink[i])
                f->fate[i] = F_IMMEDIATE;
            else
                make_root(f, i, KR_SOURCE);
            break;
        case IR_CAT_REDUCTION:
        case IR_CAT_CONTRACTION: make_root(f, i, KR_HEAVY); break;
        default: if (!fuse) make_root(f, i, KR_UNFUSED); break;
        }
    }
    for (uint32_t i = 0; i < g->count; i++)
        if (f->sink[i] && f->fate[i] == F_INLINE)
            make_root(f, i, KR_OUTPUT);
    if (!fuse)
        return;
    /* GEMM operands: views become strides, the first non-view a root */
    for (uint32_t i = 0; i < g->count; i++) {
        if (g->nodes[i].op != IR_OP_MATMUL)
            continue;
        for (int k = 0; k < 2; k++) {
            uint32_t x = g->nodes[i].in[k];
            while (f->fate[x] == F_INLINE && is_view(OPOF(f, x)) &&
                   OPOF(f, x) != IR_OP_RESHAPE)
                x = g->nodes[x].in[0];
            if (f->fate[x] == F_INLINE || f->fate[x] == F_IMMEDIATE)
                make_root(f, x, KR_OPERAND);
        }
    }
    /* pad and concat read buffers through guards */
    for (uint32_t i = 0; i < g->count; i++)
        if (g->nodes[i].op == IR_OP_PAD || g->nodes[i].op == IR_OP_CONCAT)
            for (int k = 0; k < g->nodes[i].nin; k++)
                if (f->fate[g->nodes[i].in[k]] != F_IMMEDIATE)
                    make_root(f, g->nodes[i].in[k], KR_RESHAPE);
}

/* ---- row kernels ------------------------------------------------------- */

static bool row_reduction(const fz *f, uint32_t x, const ir_type *S)
{
    const ir_node *n = &f->g->nodes[x];
    const ir_type *in = T(f, n->in[0]);
    return (n->op == IR_OP_SUM || n->op == IR_OP_MEAN || n->op == IR_OP_MAX ||
            n->op == IR_OP_MIN) &&
           n->attr.u.reduce.keepdims && n->attr.u.reduce.mask == 1u << (in->rank - 1) &&
           same_shape(in, S);
}

/* [O.., 1] for S = [O.., L] */
static bool row_shaped(const ir_type *t, const ir_type *S)
{
    if (t->rank != S->rank)
        return false;
    for (int d = 0; d < S->rank - 1; d++)
        if (t->dims[d] != S->dims[d])
            return false;
    return t->dims[S->rank - 1] == 1;
}

/* The nodes a row kernel rooted at r would compute: elementwise ops over
 * r's shape S or over one value per row, and reductions of S-shaped
 * values along the last axis.  Returns how many, in `members` (r first),
 * or 0 when r roots no row kernel (no reduction, or a member is needed
 * outside). */
static int row_cluster(fz *f, uint32_t r, uint32_t *members)
{
    const ir_type *S = T(f, r);
    uint32_t stamp = r + 1;
    int n = 0, top = 0, reds = 0;
    members[n++] = r;
    f->mark[r] = stamp;
    while (top < n) {
        const ir_node *node = &f->g->nodes[members[top++]];
        for (int k = 0; k < node->nin; k++) {
            uint32_t x = node->in[k];
            if (f->mark[x] == stamp || f->fate[x] == F_IMMEDIATE || f->row_of[x] != NONE)
                continue;
            ir_category c = ir_ops[OPOF(f, x)].category;
            bool red = c == IR_CAT_REDUCTION && row_reduction(f, x, S);
            bool elem = c == IR_CAT_ELEMENTWISE && f->fate[x] == F_INLINE &&
                        (same_shape(T(f, x), S) || row_shaped(T(f, x), S));
            if (!red && !elem)
                continue; /* read from memory */
            if (f->sink[x])
                return 0;
            f->mark[x] = stamp;
            members[n++] = x;
            reds += red;
        }
    }
    if (!reds || reds > K_MAX_ROW)
        return 0;
    for (int i = 1; i < n; i++) /* members feed only members */
        for (uint32_t u = f->uoff[members[i]]; u < f->uoff[members[i] + 1]; u++)
            if (f->mark[f->users[u]] != stamp)
                return 0;
    return n;
}

static void detect_rows(fz *f)
{
    kiln_graph *g = f->g;
    uint32_t *members = ir_alloc(g, (g->count ? g->count : 1) * sizeof *members);
    if (!members)
        return; /* an optimisation: without it, plain kernels */
    for (uint32_t i = 0; i < g->count; i++)
        f->mark[i] = 0;
    for (uint32_t r = g->count; r-- > 0;) {
        if (f->fate[r] != F_ROOT || f->row_of[r] != NONE || T(f, r)->rank < 1 ||
            ir_ops[OPOF(f, r)].category != IR_CAT_ELEMENTWISE)
            continue;
        int n = row_cluster(f, r, members);
        for (int i = 0; i < n; i++) {
            f->row_of[members[i]] = r;
            if (i > 0)
                f->fate[members[i]] = ir_ops[OPOF(f, members[i])].category ==
                                              IR_CAT_REDUCTION
                                          ? F_ROWRED
                                          : F_INLINE;
        }
    }
    ir_free(g, members);
}

/* A reshape that spreads one input axis over several output axes (of
 * size > 1): its input index is a sum over loop axes, which a guard (pad,
 * concat) cannot test axis by axis. */
static bool reshape_spreads(const ir_type *in, const ir_type *out)
{
    int j = 0;
    for (int i = 0; i < in->rank; i++) {
        int64_t prod = 1;
        int wide = 0;
        while (prod < in->dims[i] && j < out->rank) {
            wide += out->dims[j] != 1;
            prod *= out->dims[j++];
        }
        if (wide > 1)
            return true;
    }
    return false;
}

/* Consumers first: which root's kernel reads each node. */
static void propagate_readers(fz *f)
{
    kiln_graph *g = f->g;
    for (uint32_t i = g->count; i-- > 0;) {
        uint32_t r = NONE;
        f->spread[i] = false;
        for (uint32_t u = f->uoff[i]; u < f->uoff[i + 1]; u++) {
            uint32_t c = f->users[u];
            if (f->fate[c] == F_SINK)
                continue;
            f->spread[i] |= (f->fate[c] == F_INLINE && f->spread[c]) ||
                            (OPOF(f, c) == IR_OP_RESHAPE && reshape_spreads(T(f, i), T(f, c)));
            uint32_t via = f->fate[c] == F_ROOT ? c : f->reader[c];
            if (via == NONE)
                continue;
            r = (r == NONE || r == via) ? via : MULTI;
            /* reshape merging axes, or a guard above, needs a buffer */
            /* a reshape computed anywhere (inline or as a root) reads
             * its input through an affine map only when it splits axes */
            if (OPOF(f, c) == IR_OP_RESHAPE && !reshape_splits(T(f, i), T(f, c)) &&
                f->fate[i] == F_INLINE)
                make_root(f, i, KR_RESHAPE);
        }
        f->reader[i] = r;
        if (f->fate[i] == F_INLINE && r == MULTI && cost(OPOF(f, i)) > 1)
            make_root(f, i, KR_SHARED);
        if (f->fate[i] == F_INLINE && (OPOF(f, i) == IR_OP_PAD || OPOF(f, i) == IR_OP_CONCAT))
            for (uint32_t u = f->uoff[i]; u < f->uoff[i + 1]; u++)
                if (OPOF(f, f->users[u]) == IR_OP_RESHAPE || f->spread[i])
                    make_root(f, i, KR_RESHAPE);
    }
}

/* ---- the size cap ------------------------------------------------------- */

/* Inlined nodes a kernel rooted at r would compute, r included, each once:
 * listed in out (which must hold g->count) and counted. */
static int inlined_nodes(fz *f, uint32_t r, uint32_t stamp, uint32_t *out)
{
    int n = 0;
    out[n++] = r;
    f->mark[r] = stamp;
    for (int top = 0; top < n; top++) {
        const ir_node *node = &f->g->nodes[out[top]];
        for (int k = 0; k < node->nin; k++) {
            uint32_t x = node->in[k];
            if (f->mark[x] != stamp && (f->fate[x] == F_INLINE || f->fate[x] == F_ROWRED)) {
                f->mark[x] = stamp;
                out[n++] = x;
            }
        }
    }
    return n;
}

/* Split kernels over the cap: an inlined producer becomes a root, until
 * the kernel fits. */
static void apply_cap(fz *f)
{
    kiln_graph *g = f->g;
    size_t cap = g->count ? g->count : 1;
    uint32_t *members = ir_alloc(g, cap * sizeof *members);
    uint32_t *scratch = ir_alloc(g, cap * sizeof *scratch);
    uint32_t stamp = 0;
    for (uint32_t i = 0; members && scratch && i < g->count; i++)
        f->mark[i] = 0;
    for (uint32_t r = g->count; members && scratch && r-- > 0;) {
        if (f->fate[r] != F_ROOT)
            continue;
        int n;
        while ((n = inlined_nodes(f, r, ++stamp, members)) > FUSE_CAP) {
            /* the biggest producer that fits the cap by itself, so both
             * halves are as full as allowed */
            uint32_t best = NONE;
            int most = 1;
            for (int i = 1; i < n; i++) {
                if (f->fate[members[i]] != F_INLINE)
                    continue;
                int c = inlined_nodes(f, members[i], ++stamp, scratch);
                if (c > most && c <= FUSE_CAP) {
                    most = c;
                    best = members[i];
                }
            }
            if (best == NONE)
                break; /* nothing left to split */
            make_root(f, best, KR_CAP);
        }
    }
    ir_free(g, members);
    ir_free(g, scratch);
}

/* Are all paths from `from` to root `to` through inlined elementwise ops
 * of to's shape (so `to` reads `from` at the identity map)? */
/* Are all paths from `from` to root `to` through inlined elementwise ops
 * of to's shape (so `to` reads `from` at the identity map)?  Each node is
 * checked once (stamp marks the ones already found good), so a DAG with
 * many paths costs its size, not its path count. */
static bool identity_walk(fz *f, uint32_t from, uint32_t to, uint32_t stamp)
{
    for (uint32_t u = f->uoff[from]; u < f->uoff[from + 1]; u++) {
        uint32_t c = f->users[u];
        if (f->fate[c] == F_SINK || f->mark[c] == stamp)
            continue;
        const ir_node *cn = &f->g->nodes[c];
        if (ir_ops[cn->op].category != IR_CAT_ELEMENTWISE || !same_shape(&cn->type, T(f, to)))
            return false;
        if (c != to && (f->fate[c] != F_INLINE || !identity_walk(f, c, to, stamp)))
            return false;
        f->mark[c] = stamp;
    }
    return true;
}

static bool identity_path(fz *f, uint32_t from, uint32_t to)
{
    if (!same_shape(T(f, from), T(f, to)))
        return false;
    return identity_walk(f, from, to, IDENTITY_STAMP + from);
}

/* Epilogues and multi-output merges (see the top of the file). */
static void merge_kernels(fz *f)
{
    kiln_graph *g = f->g;
    for (uint32_t i = 0; i < g->count; i++) {
        ir_category ci = ir_ops[OPOF(f, i)].category;
        if (f->fate[i] != F_ROOT || f->sink[i] ||
            (ci != IR_CAT_REDUCTION && ci != IR_CAT_CONTRACTION))
            continue;
        uint32_t r = f->reader[i];
        if (r == NONE || r == MULTI || f->fate[r] != F_ROOT || f->absorb[r] != NONE ||
            f->row_of[r] == r || ir_ops[OPOF(f, r)].category == IR_CAT_SOURCE ||
            !identity_path(f, i, r))
            continue;
        ir_category c = ir_ops[OPOF(f, i)].category;
        bool heavy = c == IR_CAT_REDUCTION || c == IR_CAT_CONTRACTION;
        bool plain_r = ir_ops[OPOF(f, r)].category != IR_CAT_REDUCTION &&
                       ir_ops[OPOF(f, r)].category != IR_CAT_CONTRACTION && f->host[r] == r;
        /* the output buffer accumulates the fold: same dtype needed */
        if (heavy && OPOF(f, i) != IR_OP_ARGMAX && plain_r && f->host[i] == i &&
            T(f, i)->dtype == T(f, r)->dtype) {
            f->absorb[r] = i; /* r is i's epilogue */
            f->host[i] = r;
        }
    }
    for (uint32_t i = 0; i < g->count; i++) {
        /* a row kernel's root stays in its own kernel: its folds live there */
        if (f->fate[i] != F_ROOT || f->host[i] != i || f->absorb[i] != NONE ||
            f->row_of[i] == i)
            continue;
        ir_category c = ir_ops[OPOF(f, i)].category;
        /* only values that must reach memory anyway (outputs, new param
         * values) ride along; a root made for the cap stays apart */
        if (c == IR_CAT_SOURCE || c == IR_CAT_REDUCTION || c == IR_CAT_CONTRACTION ||
            !f->sink[i])
            continue;
        uint32_t r = f->reader[i];
        if (r == NONE || r == MULTI || f->fate[r] != F_ROOT || f->absorb[r] != NONE ||
            ir_ops[OPOF(f, r)].category == IR_CAT_REDUCTION ||
            ir_ops[OPOF(f, r)].category == IR_CAT_CONTRACTION ||
            ir_ops[OPOF(f, r)].category == IR_CAT_SOURCE || !identity_path(f, i, r))
            continue;
        /* r's kernel computes i too: count its outputs */
        uint32_t h = r;
        while (f->host[h] != h)
            h = f->host[h];
        int outs = 0;
        for (uint32_t j = 0; j < g->count; j++)
            outs += f->fate[j] == F_ROOT && j != h && f->host[j] == h;
        if (outs < K_MAX_EXTRA && f->absorb[h] == NONE)
            f->host[i] = h;
    }
}

/* Log why each edge into a kernel reads memory. */
static void log_boundaries(fz *f)
{
    kiln_graph *g = f->g;
    for (uint32_t i = 0; i < g->count; i++) {
        if (f->fate[i] != F_ROOT || f->host[i] != i || ir_ops[OPOF(f, i)].category == IR_CAT_SOURCE)
            continue;
        for (uint32_t u = f->uoff[i]; u < f->uoff[i + 1]; u++) {
            uint32_t c = f->users[u];
            if (f->fate[c] != F_SINK)
                log_edge(f, i, c, f->why[i]);
        }
    }
}

/* ---- maps -------------------------------------------------------------- */

static void map_identity(fz_map *m, int rank)
{
    memset(m, 0, sizeof *m);
    m->rank = rank;
    for (int d = 0; d < rank; d++)
        m->coef[d][d] = 1;
}

/* a . m: `a` maps parent -> child index, m loop -> parent. */
static fz_map map_compose(const fz_map *a, const fz_map *m)
{
    fz_map r;
    memset(&r, 0, sizeof r);
    r.rank = a->rank;
    for (int d = 0; d < a->rank; d++) {
        r.off[d] = a->off[d];
        for (int j = 0; j < m->rank; j++) {
            if (!a->coef[d][j])
                continue;
            r.off[d] += a->coef[d][j] * m->off[j];
            for (int e = 0; e < MAXC; e++)
                r.coef[d][e] += a->coef[d][j] * m->coef[j][e];
        }
    }
    return r;
}

/* The map from a broadcasting op's output index to input `in`'s index. */
static fz_map map_broadcast(const ir_type *in, const ir_type *out)
{
    fz_map a;
    memset(&a, 0, sizeof a);
    a.rank = in->rank;
    int shift = out->rank - in->rank;
    for (int d = 0; d < in->rank; d++)
        if (in->dims[d] != 1)
            a.coef[d][d + shift] = 1;
    return a;
}

static fz_map map_reshape(const ir_type *in, const ir_type *out)
{
    fz_map a;
    memset(&a, 0, sizeof a);
    a.rank = in->rank;
    int j = 0;
    for (int i = 0; i < in->rank; i++) {
        int64_t prod = 1;
        int first = j;
        while (prod < in->dims[i] && j < out->rank)
            prod *= out->dims[j++];
        int64_t stride = 1;
        for (int e = j - 1; e >= first; e--) {
            a.coef[i][e] = out->dims[e] == 1 ? 0 : stride; /* index 0 there */
            stride *= out->dims[e];
        }
    }
    return a;
}

/* Access of a buffer laid out as `t` row-major, read at map m. */
static k_access access_of(uint32_t buf, const ir_type *t, const fz_map *m)
{
    k_access a;
    memset(&a, 0, sizeof a);
    a.buf = buf;
    int64_t rm[KILN_MAX_RANK];
    k_row_major(t, rm);
    for (int d = 0; d < t->rank; d++) {
        a.offset += rm[d] * m->off[d];
        for (int e = 0; e < KILN_MAX_RANK; e++)
            a.stride[e] += rm[d] * m->coef[d][e];
    }
    return a;
}

/* The stride along the extra column (matmul's k). */
static int64_t kstride_of(const ir_type *t, const fz_map *m)
{
    int64_t rm[KILN_MAX_RANK], s = 0;
    k_row_major(t, rm);
    for (int d = 0; d < t->rank; d++)
        s += rm[d] * m->coef[d][KILN_MAX_RANK];
    return s;
}

/* ---- expressions -------------------------------------------------------- */

static int eval(fz *f, uint32_t n, const fz_map *m);

static int add_expr(fz *f, const k_expr *e)
{
    int i = k_add_expr(f->p, f->k, e);
    f->failed |= i < 0;
    return i;
}

static int load_buffer(fz *f, uint32_t buf_node, const ir_type *layout, const fz_map *m)
{
    k_access a = access_of(f->p->node_buf[buf_node], layout, m);
    int acc = k_add_access(f->p, f->k, &a);
    f->failed |= acc < 0;
    return k_load(f->p, f->k, acc, T(f, buf_node)->dtype);
}

/* A guarded read of buffer node x placed at `at` inside node n's index
 * space, seen through map m; inside receives the guard's expression. */
static int guarded_load(fz *f, uint32_t x, const int64_t *at, const fz_map *m, int *inside)
{
    const ir_type *t = T(f, x);
    fz_map shifted = *m;
    for (int d = 0; d < t->rank; d++)
        shifted.off[d] -= at[d];
    k_access a = access_of(f->p->node_buf[x], t, &shifted);
    a.guarded = true;
    bool never = false;
    for (int e = 0; e < KILN_MAX_RANK; e++) {
        a.lo[e] = INT64_MIN / 4;
        a.hi[e] = INT64_MAX / 4;
    }
    for (int d = 0; d < t->rank; d++) {
        int axis = -1, count = 0;
        for (int e = 0; e < KILN_MAX_RANK; e++)
            if (m->coef[d][e]) {
                axis = e;
                count++;
            }
        int64_t lo = at[d] - m->off[d], hi = at[d] + t->dims[d] - m->off[d];
        if (count == 0) {
            never |= !(lo <= 0 && 0 < hi);
            continue;
        }
        int64_t c = m->coef[d][axis];
        if (count > 1 || c <= 0) {
            f->failed = true; /* seed_fates keeps such reads out */
            return -1;
        }
        int64_t l = lo > 0 ? (lo + c - 1) / c : -((-lo) / c);
        int64_t h = hi > 0 ? (hi + c - 1) / c : -((-hi) / c);
        a.lo[axis] = a.lo[axis] > l ? a.lo[axis] : l;
        a.hi[axis] = a.hi[axis] < h ? a.hi[axis] : h;
    }
    for (int e = 0; e < KILN_MAX_RANK; e++) {
        if (e >= f->k->rank) {
            a.lo[e] = 0;
            a.hi[e] = 1;
        }
        if (never)
            a.lo[e] = a.hi[e] = 0;
    }
    if (never) { /* a rank-0 kernel has no axis to be outside on: read element 0 */
        memset(a.stride, 0, sizeof a.stride);
        a.offset = 0;
    }
    int acc = k_add_access(f->p, f->k, &a);
    k_expr in = {.kind = KE_INSIDE, .dtype = KILN_BOOL, .acc = acc};
    if (never)
        in = (k_expr){.kind = KE_CONST, .dtype = KILN_BOOL, .value = 0};
    *inside = acc < 0 ? -1 : add_expr(f, &in);
    return k_load(f->p, f->k, acc, t->dtype);
}

static int op_expr(fz *f, ir_op op, kiln_dtype t, int nargs, const int *args)
{
    int e = k_op(f->p, f->k, op, t, nargs, args);
    f->failed |= e < 0;
    return e;
}

/* An i32 expression for index row d of map m (one_hot's depth index). */
static int index_expr(fz *f, const fz_map *m, int d)
{
    k_expr c = {.kind = KE_CONST, .dtype = KILN_I32, .value = (double)m->off[d]};
    int v = add_expr(f, &c);
    for (int e = 0; e < f->k->rank; e++) {
        if (!m->coef[d][e])
            continue;
        k_expr ix = {.kind = KE_INDEX, .dtype = KILN_I32, .axis = e};
        k_expr co = {.kind = KE_CONST, .dtype = KILN_I32, .value = (double)m->coef[d][e]};
        int term[2] = {add_expr(f, &ix), add_expr(f, &co)};
        int prod = op_expr(f, IR_OP_MUL, KILN_I32, 2, term);
        int sum[2] = {v, prod};
        v = op_expr(f, IR_OP_ADD, KILN_I32, 2, sum);
    }
    return v;
}

/* Node n's own computation at map m (its inputs through eval). */
static int compute(fz *f, uint32_t n, const fz_map *m)
{
    const ir_node node = f->g->nodes[n];
    fz_map a, c;
    int args[3];
    switch (node.op) {
    case IR_OP_TRANSPOSE:
        memset(&a, 0, sizeof a);
        a.rank = node.type.rank;
        for (int d = 0; d < a.rank; d++)
            a.coef[node.attr.u.perm[d]][d] = 1;
        c = map_compose(&a, m);
        return eval(f, node.in[0], &c);
    case IR_OP_BROADCAST_TO:
        a = map_broadcast(T(f, node.in[0]), &node.type);
        c = map_compose(&a, m);
        return eval(f, node.in[0], &c);
    case IR_OP_SLICE:
        memset(&a, 0, sizeof a);
        a.rank = node.type.rank;
        for (int d = 0; d < a.rank; d++) {
            a.coef[d][d] = node.attr.u.slice.step[d];
            a.off[d] = node.attr.u.slice.start[d];
        }
        c = map_compose(&a, m);
        return eval(f, node.in[0], &c);
    case IR_OP_RESHAPE:
        if (f->fate[node.in[0]] == F_ROOT && f->host[node.in[0]] != f->cur &&
            node.in[0] != f->acc_node)
            return load_buffer(f, node.in[0], &node.type, m); /* flat index kept */
        a = map_reshape(T(f, node.in[0]), &node.type);
        c = map_compose(&a, m);
        return eval(f, node.in[0], &c);
    case IR_OP_PAD: {
        int inside, v = guarded_load(f, node.in[0], node.attr.u.pad.lo, m, &inside);
        k_expr fill = {.kind = KE_CONST, .dtype = node.type.dtype, .value = node.attr.u.pad.value};
        int sel[3] = {inside, v, add_expr(f, &fill)};
        return op_expr(f, IR_OP_SELECT, node.type.dtype, 3, sel);
    }
    case IR_OP_CONCAT: {
        int64_t at[KILN_MAX_RANK] = {0};
        int v = -1, inside;
        for (int j = 0; j < node.nin; j++) {
            int l = guarded_load(f, node.in[j], at, m, &inside);
            if (j == 0) {
                v = l;
            } else {
                int sel[3] = {inside, l, v};
                v = op_expr(f, IR_OP_SELECT, node.type.dtype, 3, sel);
            }
            at[node.attr.u.axis] += T(f, node.in[j])->dims[node.attr.u.axis];
        }
        return v;
    }
    case IR_OP_ONE_HOT: {
        map_identity(&a, node.type.rank - 1); /* labels: the leading axes */
        c = map_compose(&a, m);
        int hit[2] = {eval(f, node.in[0], &c), index_expr(f, m, node.type.rank - 1)};
        int eq = op_expr(f, IR_OP_EQ, KILN_BOOL, 2, hit);
        return op_expr(f, IR_OP_CAST, node.type.dtype, 1, &eq);
    }
    case IR_OP_RANDOM_UNIFORM:
    case IR_OP_BERNOULLI: {
        fz_map scalar;
        memset(&scalar, 0, sizeof scalar);
        k_access index = access_of(K_NO_BUFFER, &node.type, m);
        k_expr e = {.kind = KE_RANDOM, .dtype = node.type.dtype, .nargs = 2,
                    .acc = k_add_access(f->p, f->k, &index),
                    .value = node.op == IR_OP_BERNOULLI ? node.attr.u.p : -1};
        e.args[0] = eval(f, node.in[0], &scalar);
        e.args[1] = eval(f, node.in[1], &scalar);
        f->failed |= e.acc < 0;
        return add_expr(f, &e);
    }
    default:
        break;
    }
    if (ir_ops[node.op].category != IR_CAT_ELEMENTWISE) {
        f->failed = true;
        return -1;
    }
    for (int j = 0; j < node.nin; j++) {
        a = map_broadcast(T(f, node.in[j]), &node.type);
        c = map_compose(&a, m);
        args[j] = eval(f, node.in[j], &c);
    }
    return op_expr(f, node.op, node.type.dtype, node.nin, args);
}

static bool map_equal(const fz_map *a, const fz_map *b)
{
    return a->rank == b->rank && memcmp(a->coef, b->coef, sizeof a->coef) == 0 &&
           memcmp(a->off, b->off, sizeof a->off) == 0;
}

/* Which of the current row kernel's folds node n is, or -1. */
static int row_index(const fz *f, uint32_t n)
{
    if (f->fate[n] != F_ROWRED || f->row_of[n] != f->cur)
        return -1;
    for (int j = 0; j < f->k->nrow; j++)
        if (f->row_node[j] == n)
            return j;
    return -1;
}

static bool computed_here(fz *f, uint32_t n)
{
    if (f->fate[n] == F_INLINE)
        return true;
    if (f->fate[n] != F_ROOT)
        return false;
    uint32_t h = n;
    while (f->host[h] != h)
        h = f->host[h];
    return h == f->cur && n != f->acc_node;
}

/* Node n's value at map m: a load, an immediate, KE_ACC or a computation. */
static int eval(fz *f, uint32_t n, const fz_map *m)
{
    if (f->failed)
        return -1;
    for (int i = 0; i < f->nmemo; i++)
        if (f->memo[i].node == n && map_equal(&f->memo[i].map, m))
            return f->memo[i].expr;
    int e;
    const ir_node *node = &f->g->nodes[n];
    int fold = row_index(f, n);
    if (n == f->acc_node || fold >= 0) { /* a folded value; a mean divides it */
        k_expr acc = {.kind = KE_ACC, .dtype = node->type.dtype, .axis = fold > 0 ? fold : 0};
        e = add_expr(f, &acc);
        if (node->op == IR_OP_MEAN) {
            const ir_type *xt = T(f, node->in[0]);
            k_expr c = {.kind = KE_CONST, .dtype = node->type.dtype,
                        .value = (double)ir_numel(xt) / (double)ir_numel(&node->type)};
            int args[2] = {e, add_expr(f, &c)};
            e = op_expr(f, IR_OP_DIV, node->type.dtype, 2, args);
        }
    } else if (f->fate[n] == F_IMMEDIATE) {
        double v;
        if (node->type.dtype == KILN_F32) v = *(const float *)node->data;
        else if (node->type.dtype == KILN_F64) v = *(const double *)node->data;
        else if (node->type.dtype == KILN_I32) v = *(const int32_t *)node->data;
        else v = *(const uint8_t *)node->data;
        k_expr c = {.kind = KE_CONST, .dtype = node->type.dtype, .value = v};
        e = add_expr(f, &c);
    } else if (computed_here(f, n)) {
        e = compute(f, n, m);
    } else {
        e = load_buffer(f, n, &node->type, m);
    }
    if (f->nmemo == f->memocap) {
        int cap = f->memocap ? f->memocap * 2 : 64;
        fz_memo *mm = ir_realloc(f->g, f->memo, (size_t)cap * sizeof *mm);
        if (!mm) {
            f->failed = true;
            return -1;
        }
        f->memo = mm;
        f->memocap = cap;
    }
    f->memo[f->nmemo++] = (fz_memo){n, *m, e};
    return e;
}

/* ---- kernels ----------------------------------------------------------- */

static int store_access(fz *f, uint32_t n, const fz_map *m)
{
    k_access a = access_of(f->p->node_buf[n], T(f, n), m);
    int acc = k_add_access(f->p, f->k, &a);
    f->failed |= acc < 0;
    return acc;
}

/* The extra outputs: roots merged into this kernel. */
static void store_merged(fz *f, const fz_map *m)
{
    for (uint32_t j = 0; j < f->g->count && !f->failed; j++) {
        if (j == f->cur || f->fate[j] != F_ROOT || !computed_here(f, j))
            continue;
        kernel *k = f->k;
        if (k->nextra == K_MAX_EXTRA) { /* merge_kernels keeps under this */
            f->failed = true;
            return;
        }
        k->extra_value[k->nextra] = eval(f, j, m);
        k->extra_out[k->nextra] = store_access(f, j, m);
        k->nextra++;
    }
}

static void build_map(fz *f, uint32_t r)
{
    const ir_type t = *T(f, r);
    f->k = k_add_kernel(f->p, K_MAP, r, t.rank, t.dims);
    if (!f->k) {
        f->failed = true;
        return;
    }
    fz_map id;
    map_identity(&id, t.rank);
    f->k->value = compute(f, r, &id);
    f->k->out = store_access(f, r, &id);
    store_merged(f, &id);
}

/* A reduction of heavy node h; epilogue root r (or h itself). */
static void build_reduce(fz *f, uint32_t h, uint32_t r)
{
    const ir_node n = f->g->nodes[h];
    const ir_type xt = *T(f, n.in[0]);
    f->k = k_add_kernel(f->p, K_REDUCE, r, xt.rank, xt.dims);
    if (!f->k) {
        f->failed = true;
        return;
    }
    kernel *k = f->k;
    uint32_t mask = n.attr.u.reduce.mask;
    k->reduce_mask = mask;
    k->combiner = n.op == IR_OP_MEAN ? IR_OP_SUM : n.op;
    fz_map id, out;
    map_identity(&id, xt.rank);
    memset(&out, 0, sizeof out);
    out.rank = n.type.rank;
    for (int d = 0, j = 0; d < xt.rank; d++) {
        if (!(mask & (1u << d)))
            out.coef[j++][d] = 1;
        else if (n.attr.u.reduce.keepdims)
            j++;
    }
    k->value = eval(f, n.in[0], &id);
    f->acc_node = h;
    if (r != h)
        k->epilogue = compute(f, r, &out);
    else if (n.op == IR_OP_MEAN)
        k->epilogue = eval(f, h, &out);
    k->out = store_access(f, r, &out);
}

/* A matmul of heavy node h; epilogue root r (or h itself). */
static void build_matmul(fz *f, uint32_t h, uint32_t r)
{
    const ir_node n = f->g->nodes[h];
    int rank = n.type.rank;
    f->k = k_add_kernel(f->p, K_MATMUL, r, rank, n.type.dims);
    if (!f->k) {
        f->failed = true;
        return;
    }
    kernel *k = f->k;
    for (int o = 0; o < 2; o++) {
        const ir_type *ot = T(f, n.in[o]);
        fz_map m;
        memset(&m, 0, sizeof m);
        m.rank = ot->rank;
        int shift = (rank - 2) - (ot->rank - 2);
        for (int d = 0; d < ot->rank - 2; d++)
            if (ot->dims[d] != 1)
                m.coef[d][d + shift] = 1;
        /* A[.., m, k]: m is loop axis rank-2, k the extra column; B[.., k, n] */
        m.coef[ot->rank - 2][o == 0 ? rank - 2 : KILN_MAX_RANK] = 1;
        m.coef[ot->rank - 1][o == 0 ? KILN_MAX_RANK : rank - 1] = 1;
        /* walk the views down to the buffer */
        uint32_t x = n.in[o];
        while (f->fate[x] == F_INLINE) {
            const ir_node xn = f->g->nodes[x];
            fz_map a;
            if (xn.op == IR_OP_TRANSPOSE) {
                memset(&a, 0, sizeof a);
                a.rank = xn.type.rank;
                for (int d = 0; d < a.rank; d++)
                    a.coef[xn.attr.u.perm[d]][d] = 1;
            } else if (xn.op == IR_OP_BROADCAST_TO) {
                a = map_broadcast(T(f, xn.in[0]), &xn.type);
            } else if (xn.op == IR_OP_SLICE) {
                memset(&a, 0, sizeof a);
                a.rank = xn.type.rank;
                for (int d = 0; d < a.rank; d++) {
                    a.coef[d][d] = xn.attr.u.slice.step[d];
                    a.off[d] = xn.attr.u.slice.start[d];
                }
            } else {
                f->failed = true;
                return;
            }
            m = map_compose(&a, &m);
            x = xn.in[0];
        }
        k_access acc = access_of(f->p->node_buf[x], T(f, x), &m);
        int id = k_add_access(f->p, k, &acc);
        f->failed |= id < 0;
        if (o == 0) {
            k->a = id;
            k->a_kstride = kstride_of(T(f, x), &m);
        } else {
            k->b = id;
            k->b_kstride = kstride_of(T(f, x), &m);
        }
    }
    k->k_len = T(f, n.in[0])->dims[T(f, n.in[0])->rank - 1];
    fz_map id;
    map_identity(&id, rank);
    f->acc_node = h;
    if (r != h)
        k->epilogue = compute(f, r, &id);
    k->out = store_access(f, r, &id);
}

static void build_row(fz *f, uint32_t r)
{
    const ir_type t = *T(f, r);
    f->k = k_add_kernel(f->p, K_ROW, r, t.rank, t.dims);
    if (!f->k) {
        f->failed = true;
        return;
    }
    kernel *k = f->k;
    k->reduce_mask = 1u << (t.rank - 1); /* keeps the row axis apart */
    fz_map id;
    map_identity(&id, t.rank);
    for (uint32_t i = 0; i < r && !f->failed; i++) {
        if (f->fate[i] != F_ROWRED || f->row_of[i] != r)
            continue;
        const ir_node *n = &f->g->nodes[i];
        /* folds see the earlier folds only: register before evaluating */
        int j = k->nrow;
        k->row_value[j] = eval(f, n->in[0], &id);
        k->row_combiner[j] = n->op == IR_OP_MEAN ? IR_OP_SUM : n->op;
        f->row_node[j] = i;
        k->nrow++;
    }
    k->value = compute(f, r, &id);
    k->out = store_access(f, r, &id);
    store_merged(f, &id);
}

static void build_kernel(fz *f, uint32_t r)
{
    f->nmemo = 0;
    f->cur = r;
    f->acc_node = NONE;
    uint32_t h = f->absorb[r] != NONE ? f->absorb[r] : r;
    if (f->row_of[r] == r) {
        build_row(f, r);
        return;
    }
    switch (ir_ops[OPOF(f, h)].category) {
    case IR_CAT_REDUCTION: build_reduce(f, h, r); break;
    case IR_CAT_CONTRACTION: build_matmul(f, h, r); break;
    default: build_map(f, r); break;
    }
}

/* ---- driver ------------------------------------------------------------ */

static bool alloc_state(fz *f)
{
    kiln_graph *g = f->g;
    size_t n = g->count ? g->count : 1;
    f->fate = ir_alloc(g, n);
    f->why = ir_alloc(g, n * sizeof *f->why);
    f->reader = ir_alloc(g, n * sizeof *f->reader);
    f->host = ir_alloc(g, n * sizeof *f->host);
    f->absorb = ir_alloc(g, n * sizeof *f->absorb);
    f->sink = ir_alloc(g, n * sizeof *f->sink);
    f->row_of = ir_alloc(g, n * sizeof *f->row_of);
    f->mark = ir_alloc(g, n * sizeof *f->mark);
    f->spread = ir_alloc(g, n * sizeof *f->spread);
    if (!f->fate || !f->why || !f->reader || !f->host || !f->absorb || !f->sink ||
        !f->row_of || !f->mark || !f->spread)
        return false;
    for (size_t i = 0; i < n; i++)
        f->row_of[i] = NONE;
    memset(f->sink, 0, n * sizeof *f->sink);
    memset(f->why, 0, n * sizeof *f->why);
    return build_users(f);
}

static void free_state(fz *f)
{
    kiln_graph *g = f->g;
    ir_free(g, f->fate);
    ir_free(g, f->why);
    ir_free(g, f->reader);
    ir_free(g, f->host);
    ir_free(g, f->absorb);
    ir_free(g, f->sink);
    ir_free(g, f->row_of);
    ir_free(g, f->mark);
    ir_free(g, f->spread);
    ir_free(g, f->uoff);
    ir_free(g, f->users);
    ir_free(g, f->memo);
}

/* Buffers: sources bind, every root a temp (absorbed heavy nodes none). */
static bool make_buffers(fz *f)
{
    kiln_graph *g = f->g;
    k_program *p = f->p;
    for (uint32_t i = 0; i < g->count; i++) {
        const ir_node *n = &g->nodes[i];
        uint32_t b = 0;
        if (n->op == IR_OP_INPUT)
            b = k_add_buffer(p, KB_INPUT, i);
        else if (n->op == IR_OP_PARAM)
            b = k_add_buffer(p, KB_PARAM, i);
        else if (n->op == IR_OP_CONST && f->fate[i] == F_ROOT)
            b = k_add_buffer(p, KB_CONST, i);
        else if (f->fate[i] == F_ROOT && !(f->host[i] != i &&
                                           (ir_ops[n->op].category == IR_CAT_REDUCTION ||
                                            ir_ops[n->op].category == IR_CAT_CONTRACTION)))
            b = k_add_buffer(p, KB_TEMP, i);
        if (b == K_NO_BUFFER)
            return false;
    }
    for (uint32_t i = 0; i < g->count; i++) /* an assign's value is its new value */
        if (g->nodes[i].op == IR_OP_ASSIGN)
            p->node_buf[i] = p->node_buf[g->nodes[i].in[1]];
    return true;
}

static bool copies_and_outputs(fz *f)
{
    kiln_graph *g = f->g;
    k_program *p = f->p;
    for (uint32_t i = 0; i < g->count; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->op != IR_OP_ASSIGN)
            continue;
        k_copy *c = ir_realloc(g, p->copies, (size_t)(p->ncopies + 1) * sizeof *c);
        if (!c)
            return false;
        p->copies = c;
        p->copies[p->ncopies++] = (k_copy){p->node_buf[n->in[0]], p->node_buf[n->in[1]], false};
    }
    for (uint32_t o = 0; o < g->noutputs; o++)
        p->outputs[p->noutputs++] = (k_output){g->outputs[o].name, p->node_buf[g->outputs[o].node]};
    return true;
}

k_program *pass_fuse(kiln_graph *g, bool fuse)
{
    k_program *p = ir_alloc(g, sizeof *p);
    if (!p) {
        kiln_graph_free(g);
        return NULL;
    }
    memset(p, 0, sizeof *p);
    p->g = g;
    p->node_buf = ir_alloc(g, (g->count ? g->count : 1) * sizeof *p->node_buf);
    p->outputs = ir_alloc(g, (g->noutputs ? g->noutputs : 1) * sizeof *p->outputs);
    fz f;
    memset(&f, 0, sizeof f);
    f.g = g;
    f.p = p;
    bool ok = p->node_buf && p->outputs && alloc_state(&f);
    if (ok) {
        for (uint32_t i = 0; i < g->count; i++)
            p->node_buf[i] = K_NO_BUFFER;
        seed_fates(&f, fuse);
        if (fuse)
            detect_rows(&f);
        propagate_readers(&f);
        if (fuse) { /* new roots change who reads what */
            apply_cap(&f);
            propagate_readers(&f);
        }
        if (fuse)
            merge_kernels(&f);
        log_boundaries(&f);
        ok = make_buffers(&f);
    }
    for (uint32_t i = 0; ok && i < g->count && !f.failed; i++) {
        ir_category c = ir_ops[OPOF(&f, i)].category;
        if (f.fate[i] != F_ROOT || f.host[i] != i || c == IR_CAT_SOURCE)
            continue;
        if (f.reader[i] == NONE && !f.sink[i])
            continue; /* dead */
        build_kernel(&f, i);
    }
    if (ok && !f.failed)
        ok = copies_and_outputs(&f);
    if ((!ok || f.failed) && g->status == KILN_OK)
        ir_error(g, f.failed && ok ? KILN_ERR_UNSUPPORTED : KILN_ERR_OUT_OF_MEMORY,
                 "fuse: %s", f.failed && ok ? "internal: a fused read could not be expressed"
                                            : "out of memory");
    free_state(&f);
    for (int j = 0; j < p->nk; j++)
        k_collapse(&p->k[j]);
    return p;
}
