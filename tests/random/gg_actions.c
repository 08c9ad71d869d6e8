/*
 * gg_actions.c — the random steps a graph grows by: single ops on recent
 * values (unary, binary with a broadcasting partner, compare+select,
 * casts, layout chains) and patterns (reductions feeding elementwise ops,
 * softmax family, layer norm, matmul with bias and activation, one_hot,
 * random ops).  Operands are drawn mostly from the newest values, often
 * from older ones, so values get several consumers.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gg_internal.h"

kiln_dtype gg_main(const gg *s) { return s->ints ? KILN_I32 : s->ft; }

void gg_note(gg *s, const char *what)
{
    size_t len = strlen(s->summary);
    if (len + strlen(what) + 2 < sizeof s->summary)
        snprintf(s->summary + len, sizeof s->summary - len, "%s%s", len ? " " : "", what);
}

static bool wanted(const gg *s, const gg_val *v, int w)
{
    return !v->konst && (!(w & W_MAIN) || v->t == gg_main(s)) &&
           (!(w & W_FLOAT) || gg_is_float(v->t)) && (!(w & W_EXACT) || v->exact) &&
           (!(w & W_RANK1) || v->rank >= 1) && (!(w & W_RANK2) || v->rank >= 2) &&
           (!(w & W_I32) || v->t == KILN_I32) && (!(w & W_BOOL) || v->t == KILN_BOOL);
}

int gg_pick(gg *s, int want)
{
    for (int tries = 0; tries < 16 && s->nv > 0; tries++) {
        int back = 0;
        while (back < s->nv - 1 && gg_chance(s, 0.45))
            back++;
        if (wanted(s, &s->v[s->nv - 1 - back], want))
            return s->nv - 1 - back;
    }
    for (int i = s->nv - 1; i >= 0; i--)
        if (wanted(s, &s->v[i], want))
            return i;
    return -1;
}

int64_t gg_dim(gg *s)
{
    int r = gg_below(s, 100);
    return r < 15 ? 1 : r < 23 ? gg_range(s, 13, 70) : gg_range(s, 2, 12);
}

int gg_shape(gg *s, int64_t *dims)
{
    static const int weights[5] = {4, 16, 40, 28, 12};
    int r = gg_below(s, 100), rank = 0;
    while (r >= weights[rank])
        r -= weights[rank++];
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
        dims[d] = gg_dim(s);
        if (n * dims[d] > 3000) /* keep the reference quick */
            dims[d] = 1 + gg_below(s, 3);
        n *= dims[d];
    }
    return rank;
}

typedef struct range { double lo, hi; int q; } range;

int gg_new_input(gg *s, kiln_dtype t, int rank, const int64_t *dims)
{
    static const range floats[] = {{-2, 2, 3}, {-1, 1, 4}, {-4, 4, 2}, {0.5, 3, 3},
                                   {-1, 1, 16}, {0.25, 2, 8}, {-8, 8, 1}, {-1, 1, 10}};
    static const range ints[] = {{-20, 20, 0}, {0, 9, 0}, {-3, 3, 0}, {-100, 100, 0}};
    const range *r = t == KILN_I32 ? &ints[gg_below(s, 4)] : &floats[gg_below(s, 8)];
    return gg_input(s, t, rank, dims, r->lo, r->hi, r->q);
}

/* ---- partners ----------------------------------------------------------- */

/* A shape that broadcasts against v's: a suffix of it, some dims 1. */
static int variant(gg *s, const gg_val *v, int64_t *dims)
{
    int drop = v->rank > 0 && gg_chance(s, 0.25) ? gg_range(s, 1, v->rank) : 0;
    int rank = v->rank - drop;
    for (int d = 0; d < rank; d++)
        dims[d] = gg_chance(s, 0.3) ? 1 : v->dims[d + drop];
    return rank;
}

/* A bigger shape that v broadcasts to: new leading dims, size-1 dims of
 * v stretched. */
static int grown(gg *s, const gg_val *v, int64_t *dims)
{
    int extra = v->rank >= 4 ? 0 : gg_range(s, 1, 2);
    int64_t n = 1;
    for (int d = 0; d < extra; d++)
        n *= dims[d] = gg_range(s, 2, 5);
    for (int d = 0; d < v->rank; d++) {
        dims[extra + d] = v->dims[d] == 1 && gg_chance(s, 0.5) ? gg_range(s, 2, 6) : v->dims[d];
        n *= dims[extra + d];
    }
    return n > 6000 ? -1 : extra + v->rank;
}

static double grid_scalar(gg *s, kiln_dtype t)
{
    static const double vals[] = {0.5, 2, -1, 1.5, 0.25, 3, -0.75, 0.125};
    return t == KILN_I32 ? (double)gg_range(s, -5, 5) : vals[gg_below(s, 8)];
}

/* A second operand for a binary op on a: another value, a new input or
 * constant of a broadcasting shape, a scalar, or a function of a itself. */
static int partner(gg *s, int a)
{
    kiln_dtype t = s->v[a].t;
    int64_t dims[KILN_MAX_RANK];
    int rank;
    switch (gg_below(s, 8)) {
    case 0:
    case 1:
        for (int tries = 0; tries < 6; tries++) {
            int b = gg_pick(s, W_MAIN);
            if (b >= 0 && b != a && s->v[b].t == t && gg_broadcasts(&s->v[a], &s->v[b]))
                return b;
        }
        /* fall through */
    case 2:
        rank = variant(s, &s->v[a], dims);
        return gg_new_input(s, t, rank, dims);
    case 3: return gg_scalar(s, t, grid_scalar(s, t));
    case 4:
        rank = variant(s, &s->v[a], dims);
        return gg_const(s, t, rank, dims, -2, 2, 2, gg_chance(s, 0.3));
    case 5:
        rank = grown(s, &s->v[a], dims);
        return rank < 0 ? gg_scalar(s, t, 1) : gg_new_input(s, t, rank, dims);
    case 6: return gg_unary(s, a, gg_is_float(t) ? U_TANH : U_ABS);
    default: return a;
    }
}

/* ---- single ops --------------------------------------------------------- */

static void act_unary(gg *s)
{
    int a = gg_pick(s, W_MAIN);
    gg_unop op = s->ints ? (gg_unop)gg_range(s, U_NEG, U_SIGN) : (gg_unop)gg_below(s, U_COUNT);
    if (a < 0)
        return;
    gg_note(s, gg_unop_name[op]);
    if (gg_unary(s, a, op) >= 0 || !gg_chance(s, 0.7))
        return;
    /* condition the operand into the op's domain */
    switch (op) {
    case U_LOG: case U_SQRT: case U_RSQRT: case U_RECIP:
        a = gg_positive(s, a, 0.25);
        break;
    case U_LOG1P: a = gg_positive(s, a, -0.25); break;
    default: a = gg_rescale(s, a, op == U_EXP ? 3 : 8); break;
    }
    gg_unary(s, a, op);
}

static void act_binary(gg *s)
{
    int a = gg_pick(s, W_MAIN);
    if (a < 0)
        return;
    gg_binop op = (gg_binop)(s->ints ? (int[]){B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN}[gg_below(s, 6)]
                                     : gg_below(s, B_LT));
    int b = partner(s, a);
    if (op == B_POW && !s->ints) {
        a = gg_binary(s, gg_unary(s, a, U_SIGMOID), gg_scalar(s, s->ft, 0.5), B_ADD);
        b = gg_rescale(s, b, 2);
    } else if (op == B_DIV && !s->ints && gg_chance(s, 0.8)) {
        b = gg_positive(s, b, 0.5);
    } else if (op == B_MUL) {
        a = gg_rescale(s, a, 16);
        b = gg_rescale(s, b, 16);
    }
    gg_note(s, (const char *[]){"add", "sub", "mul", "div", "pow", "maximum", "minimum"}[op]);
    if (gg_chance(s, 0.5))
        gg_binary(s, a, b, op);
    else
        gg_binary(s, b, a, op);
}

/* An exact value to compare, shaped to broadcast against value a: an
 * exact pool value or a fresh grid input. */
static int exact_operand(gg *s, int a)
{
    int e = gg_pick(s, W_MAIN | W_EXACT);
    if (e >= 0 && gg_chance(s, 0.7) && gg_broadcasts(&s->v[e], &s->v[a]))
        return e;
    int64_t dims[KILN_MAX_RANK];
    int rank = variant(s, &s->v[a], dims);
    return gg_new_input(s, gg_main(s), rank, dims);
}

/* A bool that broadcasts against a: a compare of exact values. */
static int condition(gg *s, int a)
{
    int e = exact_operand(s, a);
    if (e < 0)
        return -1;
    gg_binop op = (gg_binop)gg_range(s, B_LT, B_NE);
    int other = gg_chance(s, 0.5) ? gg_scalar(s, s->v[e].t, s->ints ? 0 : 0.25) : partner(s, e);
    int c = gg_binary(s, e, other, op);
    if (c >= 0 && gg_chance(s, 0.2)) /* bool == bool */
        c = gg_binary(s, c, gg_binary(s, e, gg_scalar(s, s->v[e].t, 0), B_GT), B_NE);
    return c;
}

static void act_select(gg *s)
{
    int a = gg_pick(s, W_MAIN);
    if (a < 0)
        return;
    gg_note(s, "select");
    int c = condition(s, a), b = partner(s, a);
    if (c >= 0 && b >= 0 && !gg_broadcasts(&s->v[c], &s->v[b]))
        b = gg_scalar(s, s->v[a].t, 0);
    if (gg_chance(s, 0.5))
        gg_select(s, c, a, b);
    else
        gg_select(s, c, b, a);
}

static void act_cast(gg *s)
{
    int a = gg_pick(s, W_MAIN);
    if (a < 0)
        return;
    gg_note(s, "cast");
    kiln_dtype t = gg_main(s);
    switch (gg_below(s, 3)) {
    case 0: /* another floating dtype and back, an op in between */
        if (s->ints)
            a = gg_binary(s, gg_cast(s, a, KILN_F32), gg_scalar(s, KILN_F32, 2), B_MUL);
        else
            a = gg_unary(s, gg_cast(s, a, t == KILN_F32 ? KILN_F64 : KILN_F32), U_NEG);
        gg_cast(s, a, t);
        break;
    case 1: /* through i32 (exact values only) */
        a = gg_cast(s, a, s->ints ? KILN_F64 : KILN_I32);
        gg_cast(s, gg_unary(s, a, U_ABS), t);
        break;
    default: { /* a mask: bool to the main dtype, multiplied in */
        int m = gg_cast(s, condition(s, a), t);
        if (m >= 0 && gg_broadcasts(&s->v[m], &s->v[a]))
            gg_binary(s, a, m, B_MUL);
        break;
    }
    }
}

/* ---- layout ------------------------------------------------------------- */

static int random_reshape(gg *s, int a)
{
    const gg_val *v = &s->v[a];
    int64_t dims[KILN_MAX_RANK], n = gg_numel(v);
    int rank = 0;
    switch (gg_below(s, 4)) {
    case 0: dims[rank++] = n; break; /* flatten */
    case 1: /* merge two neighbours */
        if (v->rank < 2)
            return -1;
        {
            int at = gg_below(s, v->rank - 1);
            for (int d = 0; d < v->rank; d++)
                if (d == at + 1)
                    dims[rank - 1] *= v->dims[d];
                else
                    dims[rank++] = v->dims[d];
        }
        break;
    case 2: /* split a dim into two factors, or insert a 1 */
        for (int d = 0; d < v->rank; d++) {
            int64_t f = 2;
            bool room = rank + (v->rank - d) < KILN_MAX_RANK;
            while (f < v->dims[d] && v->dims[d] % f)
                f++;
            if (room && f < v->dims[d] && gg_chance(s, 0.5)) {
                dims[rank++] = f;
                dims[rank++] = v->dims[d] / f;
                continue;
            }
            if (room && gg_chance(s, 0.2))
                dims[rank++] = 1;
            dims[rank++] = v->dims[d];
        }
        break;
    default: /* drop every size-1 dim, one dim given as -1 */
        for (int d = 0; d < v->rank; d++)
            if (v->dims[d] != 1)
                dims[rank++] = v->dims[d];
        if (rank > 0)
            dims[gg_below(s, rank)] = -1;
        break;
    }
    return gg_reshape(s, a, rank, dims);
}

static int random_concat(gg *s, int a)
{
    const gg_val *v = &s->v[a];
    if (v->rank == 0)
        return -1;
    int axis = gg_below(s, v->rank), parts[3] = {a, -1, -1}, n = gg_range(s, 2, 3);
    for (int i = 1; i < n; i++) {
        int64_t dims[KILN_MAX_RANK];
        memcpy(dims, v->dims, sizeof dims);
        if (gg_chance(s, 0.3)) {
            parts[i] = a; /* the same value twice */
        } else if (gg_chance(s, 0.3) && v->dims[axis] > 1) {
            int64_t start[KILN_MAX_RANK] = {0}, step[KILN_MAX_RANK];
            for (int d = 0; d < v->rank; d++)
                step[d] = 1;
            start[axis] = gg_below(s, (int)v->dims[axis]);
            parts[i] = gg_slice(s, a, start, v->dims, step);
        } else {
            dims[axis] = gg_range(s, 1, 5);
            parts[i] = gg_new_input(s, v->t, v->rank, dims);
        }
    }
    return gg_concat(s, n, parts, gg_chance(s, 0.3) ? axis - v->rank : axis);
}

static int random_layout(gg *s, int a)
{
    const gg_val *v = &s->v[a];
    int64_t x[KILN_MAX_RANK], y[KILN_MAX_RANK], z[KILN_MAX_RANK];
    int perm[KILN_MAX_RANK];
    switch (gg_below(s, 6)) {
    case 0:
        if (v->rank < 2)
            return random_reshape(s, a);
        for (int d = 0; d < v->rank; d++)
            perm[d] = d;
        for (int d = v->rank - 1; d > 0; d--) {
            int j = gg_below(s, d + 1), t = perm[d];
            perm[d] = perm[j], perm[j] = t;
        }
        gg_note(s, "transpose");
        return gg_transpose(s, a, perm);
    case 1: gg_note(s, "reshape"); return random_reshape(s, a);
    case 2: {
        int extra = v->rank < 4 && gg_chance(s, 0.5) ? 1 : 0;
        if (extra)
            x[0] = gg_range(s, 2, 4);
        for (int d = 0; d < v->rank; d++)
            x[extra + d] = v->dims[d] == 1 ? gg_range(s, 1, 7) : v->dims[d];
        gg_note(s, "broadcast_to");
        return gg_broadcast_to(s, a, extra + v->rank, x);
    }
    case 3:
        for (int d = 0; d < v->rank; d++) {
            x[d] = gg_below(s, (int)v->dims[d]);
            y[d] = gg_range(s, (int)x[d] + 1, (int)v->dims[d]);
            z[d] = gg_chance(s, 0.6) ? 1 : gg_range(s, 2, 3);
        }
        gg_note(s, "slice");
        return gg_slice(s, a, x, y, z);
    case 4: gg_note(s, "concat"); return random_concat(s, a);
    default:
        for (int d = 0; d < v->rank; d++) {
            x[d] = gg_below(s, 3);
            y[d] = gg_below(s, 3);
        }
        gg_note(s, "pad");
        return gg_pad(s, a, x, y, (double[]){0, 1, -1, 0.5, -2}[gg_below(s, 5)]);
    }
}

static void act_layout(gg *s)
{
    int a = gg_pick(s, gg_chance(s, 0.8) ? W_MAIN : 0);
    for (int i = gg_range(s, 1, 3); i > 0 && a >= 0; i--) {
        int b = random_layout(s, a);
        a = b >= 0 ? b : a;
    }
    if (a >= 0 && s->v[a].t == gg_main(s) && gg_chance(s, 0.5))
        gg_binary(s, a, partner(s, a), B_ADD); /* views read by arithmetic */
}

/* ---- patterns ------------------------------------------------------------ */

static void act_multi(gg *s)
{
    gg_note(s, "reuse");
    for (int tries = 0; tries < 8; tries++) {
        int a = gg_below(s, s->nv), b = gg_pick(s, W_MAIN);
        if (b >= 0 && a != b && wanted(s, &s->v[a], W_MAIN) &&
            gg_broadcasts(&s->v[a], &s->v[b])) {
            gg_binary(s, a, b, (gg_binop)gg_range(s, B_ADD, B_MUL));
            return;
        }
    }
}

typedef struct action {
    void (*fn)(gg *s);
    int weight_float, weight_int;
} action;

static const action actions[] = {
    {act_unary, 14, 6},           {act_binary, 14, 12},
    {act_select, 6, 6},           {act_cast, 4, 4},
    {act_layout, 12, 10},         {gg_pattern_reduce, 11, 10},
    {gg_pattern_softmax, 5, 0},   {gg_pattern_layernorm, 4, 0},
    {gg_pattern_matmul, 5, 3},    {gg_pattern_one_hot, 3, 3},
    {gg_pattern_random, 4, 3},    {act_multi, 4, 4},
};

void gg_step(gg *s)
{
    int total = 0, n = (int)(sizeof actions / sizeof *actions);
    for (int i = 0; i < n; i++)
        total += s->ints ? actions[i].weight_int : actions[i].weight_float;
    int r = gg_below(s, total);
    for (int i = 0; i < n; i++) {
        r -= s->ints ? actions[i].weight_int : actions[i].weight_float;
        if (r < 0) {
            actions[i].fn(s);
            return;
        }
    }
}
