/*
 * gg_struct.c — the generator's layout ops, reductions, matmul, composite
 * and random ops, with their knowledge rules.
 *
 * Layout ops move values: interval, exactness and error carry over (pad
 * and concat take unions).  A sum of n terms has, besides n times the
 * operands' error, at most (n - 1) u sum|x| of rounding in any order
 * (u = eps / 2): charged as n + 1 ulps of the result's magnitude bound
 * n |x|max.  A matmul is K such sums of products.  Composite ops get
 * bounds from their definitions: softmax moves by at most 2 |dx| (the
 * ratio of exponentials changes by e^(2|dx|)), log_softmax likewise, plus
 * the rounding of a length-n sum.
 */
#include <math.h>
#include <string.h>

#include "gg_internal.h"

/* The result of moving a's elements: same knowledge, no new error. */
static gg_val moved(const gg_val *a)
{
    gg_val r = *a;
    r.leaf = false;
    r.uses = 0;
    return r;
}

static int finish(gg *s, gg_val *r, kiln_node n, const int *ops, int nops)
{
    if (!gg_within_budget(r))
        return -1;
    r->n = n;
    return gg_push(s, r, ops, nops);
}

static int norm_axis(int axis, int rank) { return axis < 0 ? axis + rank : axis; }

/* ---- layout ------------------------------------------------------------- */

int gg_transpose(gg *s, int ai, const int *perm)
{
    if (ai < 0)
        return -1;
    gg_val r = moved(&s->v[ai]);
    return finish(s, &r, kiln_transpose(s->g, s->v[ai].n, perm), &ai, 1);
}

int gg_reshape(gg *s, int ai, int rank, const int64_t *dims)
{
    if (ai < 0)
        return -1;
    gg_val r = moved(&s->v[ai]);
    return finish(s, &r, kiln_reshape(s->g, s->v[ai].n, rank, dims), &ai, 1);
}

int gg_broadcast_to(gg *s, int ai, int rank, const int64_t *dims)
{
    if (ai < 0)
        return -1;
    gg_val r = moved(&s->v[ai]);
    return finish(s, &r, kiln_broadcast_to(s->g, s->v[ai].n, rank, dims), &ai, 1);
}

int gg_slice(gg *s, int ai, const int64_t *start, const int64_t *stop,
             const int64_t *step)
{
    if (ai < 0)
        return -1;
    gg_val r = moved(&s->v[ai]);
    return finish(s, &r, kiln_slice(s->g, s->v[ai].n, start, stop, step), &ai, 1);
}

int gg_concat(gg *s, int n, const int *xs, int axis)
{
    kiln_node nodes[8];
    if (n < 1 || n > 8)
        return -1;
    for (int i = 0; i < n; i++)
        if (xs[i] < 0)
            return -1;
    gg_val r = moved(&s->v[xs[0]]);
    bool exact = true;
    for (int i = 0; i < n; i++) {
        const gg_val *x = &s->v[xs[i]];
        nodes[i] = x->n;
        r.lo = fmin(r.lo, x->lo);
        r.hi = fmax(r.hi, x->hi);
        r.err = fmax(r.err, x->err);
        r.q = r.q > x->q ? r.q : x->q;
        r.params |= x->params;
        exact &= x->exact;
    }
    gg_settle(&r, exact, r.q, 0);
    return finish(s, &r, kiln_concat(s->g, n, nodes, axis), xs, n);
}

int gg_pad(gg *s, int ai, const int64_t *lo, const int64_t *hi, double value)
{
    if (ai < 0)
        return -1;
    const gg_val *a = &s->v[ai];
    gg_val r = moved(a);
    r.lo = fmin(a->lo, value);
    r.hi = fmax(a->hi, value);
    int q = a->q > gg_grid_of(value) ? a->q : gg_grid_of(value);
    gg_settle(&r, a->exact, q, 0);
    return finish(s, &r, kiln_pad(s->g, a->n, lo, hi, value), &ai, 1);
}

/* ---- reductions --------------------------------------------------------- */

typedef kiln_node (*red_fn)(kiln_graph *, kiln_node, int, const int *, int);
static const red_fn red_fns[R_ARGMAX] = {kiln_sum, kiln_mean, kiln_max, kiln_min};

static int64_t reduced_count(const gg_val *a, int naxes, const int *axes)
{
    if (naxes == 0)
        return gg_numel(a);
    int64_t n = 1;
    for (int i = 0; i < naxes; i++)
        n *= a->dims[norm_axis(axes[i], a->rank)];
    return n;
}

static int log2_exact(int64_t n)
{
    int k = 0;
    while ((int64_t)1 << k < n)
        k++;
    return ((int64_t)1 << k) == n ? k : -1;
}

int gg_reduce(gg *s, int ai, gg_redop op, int naxes, const int *axes, int keepdims)
{
    if (ai < 0)
        return -1;
    const gg_val *a = &s->v[ai];
    if (a->t == KILN_BOOL || (op == R_MEAN && !gg_is_float(a->t)))
        return -1;
    gg_val r = moved(a);
    double n = (double)reduced_count(a, naxes, axes);
    if (op == R_ARGMAX) {
        if (!a->exact || a->rank == 0) /* ties must be the same ties */
            return -1;
        int axis = norm_axis(axes[0], a->rank);
        r.lo = 0, r.hi = (double)(a->dims[axis] - 1), r.params = 0;
        gg_settle(&r, true, 0, 0);
        return finish(s, &r, kiln_argmax(s->g, a->n, axes[0], keepdims), &ai, 1);
    }
    bool exact = a->exact;
    int q = a->q;
    double ulps = 0;
    if (op == R_SUM || op == R_MEAN) {
        r.lo = n * a->lo, r.hi = n * a->hi;
        r.err = n * a->err;
        ulps = n + 1;
        exact &= gg_fits(a->t, gg_mag(&r), q);
        if (op == R_MEAN) {
            int k = log2_exact((int64_t)n);
            exact &= k >= 0;
            q += k > 0 ? k : 0;
            r.lo = a->lo, r.hi = a->hi, r.err = a->err;
            ulps = n + 2;
        }
    }
    gg_settle(&r, exact, q, ulps);
    if (!gg_is_float(r.t) && !gg_fits(r.t, gg_mag(&r), 0))
        return -1;
    return finish(s, &r, red_fns[op](s->g, a->n, naxes, axes, keepdims), &ai, 1);
}

/* ---- matmul ------------------------------------------------------------- */

int gg_matmul(gg *s, int ai, int bi)
{
    if (ai < 0 || bi < 0)
        return -1;
    const gg_val *a = &s->v[ai], *b = &s->v[bi];
    if (a->t != b->t || a->t == KILN_BOOL || a->rank < 2 || b->rank < 2)
        return -1;
    double K = (double)a->dims[a->rank - 1];
    double c[4] = {a->lo * b->lo, a->lo * b->hi, a->hi * b->lo, a->hi * b->hi};
    double plo = c[0], phi = c[0];
    for (int i = 1; i < 4; i++)
        plo = fmin(plo, c[i]), phi = fmax(phi, c[i]);
    gg_val r = moved(a);
    r.lo = K * plo, r.hi = K * phi;
    r.err = K * (a->err * (gg_mag(b) + b->err) + b->err * gg_mag(a));
    r.params = a->params | b->params;
    gg_settle(&r, a->exact && b->exact, a->q + b->q, K + 1);
    if (!gg_is_float(r.t) && !gg_fits(r.t, gg_mag(&r), 0))
        return -1;
    int ops[2] = {ai, bi};
    return finish(s, &r, kiln_matmul(s->g, a->n, b->n), ops, 2);
}

/* ---- composites --------------------------------------------------------- */

int gg_softmax(gg *s, int ai, int axis, bool log_form)
{
    if (ai < 0)
        return -1;
    const gg_val *a = &s->v[ai];
    if (!gg_is_float(a->t) || a->rank == 0)
        return -1;
    double n = (double)a->dims[norm_axis(axis, a->rank)];
    gg_val r = moved(a);
    r.exact = false, r.q = 0;
    if (log_form) {
        r.lo = a->lo - a->hi - log(n), r.hi = 0;
        r.err = 2 * a->err + (n + 8) * gg_eps(a->t) * (1 + gg_mag(&r));
    } else {
        r.lo = 0, r.hi = 1;
        r.err = 2 * a->err + (n + 8) * gg_eps(a->t);
    }
    kiln_node y = log_form ? kiln_log_softmax(s->g, a->n, axis) : kiln_softmax(s->g, a->n, axis);
    return finish(s, &r, y, &ai, 1);
}

int gg_softmax_ce(gg *s, int li, int yi)
{
    if (li < 0 || yi < 0)
        return -1;
    const gg_val *l = &s->v[li], *y = &s->v[yi];
    if (!gg_is_float(l->t) || l->rank != 2 || y->t != KILN_I32 || y->rank != 1 ||
        y->dims[0] != l->dims[0] || y->lo < 0 || y->hi > (double)(l->dims[1] - 1))
        return -1;
    double C = (double)l->dims[1], N = (double)l->dims[0];
    gg_val r = moved(l);
    r.exact = false, r.q = 0;
    r.lo = 0, r.hi = (l->hi - l->lo) + log(C);
    r.err = 2 * l->err + (C + N + 8) * gg_eps(l->t) * (1 + gg_mag(&r));
    int ops[2] = {li, yi};
    return finish(s, &r, kiln_softmax_cross_entropy(s->g, l->n, y->n), ops, 2);
}

int gg_one_hot(gg *s, int li, int depth, kiln_dtype t)
{
    if (li < 0 || s->v[li].t != KILN_I32)
        return -1;
    gg_val r = moved(&s->v[li]);
    r.t = t, r.lo = 0, r.hi = 1, r.params = 0;
    gg_settle(&r, true, 0, 0);
    return finish(s, &r, kiln_one_hot(s->g, s->v[li].n, depth, t), &li, 1);
}

int gg_mse(gg *s, int ai, int bi)
{
    if (ai < 0 || bi < 0)
        return -1;
    const gg_val *a = &s->v[ai], *b = &s->v[bi];
    if (!gg_is_float(a->t) || a->t != b->t || !gg_broadcasts(a, b))
        return -1;
    int rank = a->rank > b->rank ? a->rank : b->rank;
    double n = 1;
    for (int i = 1; i <= rank; i++) {
        int64_t x = i <= a->rank ? a->dims[a->rank - i] : 1;
        int64_t y = i <= b->rank ? b->dims[b->rank - i] : 1;
        n *= (double)(x > y ? x : y);
    }
    double dlo = a->lo - b->hi, dhi = a->hi - b->lo;
    double md = fmax(fabs(dlo), fabs(dhi));
    gg_val r = moved(a);
    r.lo = dlo >= 0 ? dlo * dlo : dhi <= 0 ? dhi * dhi : 0;
    r.hi = md * md;
    r.err = 2 * md * (a->err + b->err);
    r.params = a->params | b->params;
    int q = 2 * (a->q > b->q ? a->q : b->q), k = log2_exact((int64_t)n);
    bool exact = a->exact && b->exact && k >= 0 &&
                 gg_fits(a->t, n * md * md, q) && gg_fits(a->t, md, q / 2);
    gg_settle(&r, exact, q + (k > 0 ? k : 0), n + 5);
    int ops[2] = {ai, bi};
    return finish(s, &r, kiln_mse(s->g, a->n, b->n), ops, 2);
}

/* ---- random ------------------------------------------------------------- */

static bool counters(gg *s)
{
    if (s->seed_in < 0)
        s->seed_in = gg_input(s, KILN_I32, 0, NULL, 0, 1 << 30, 0);
    if (s->offset_in < 0)
        s->offset_in = gg_input(s, KILN_I32, 0, NULL, 0, 1000, 0);
    return s->seed_in >= 0 && s->offset_in >= 0;
}

static int random_value(gg *s, kiln_node n, double lo, double hi, int q)
{
    gg_val r;
    memset(&r, 0, sizeof r);
    r.lo = lo, r.hi = hi;
    r.exact = true, r.q = q;
    int ops[2] = {s->seed_in, s->offset_in};
    return finish(s, &r, n, ops, 2);
}

int gg_random_uniform(gg *s, kiln_dtype t, int rank, const int64_t *dims)
{
    if (!counters(s))
        return -1;
    /* (word >> 8) * 2^-24: exact in f32 and f64 */
    kiln_node n = kiln_random_uniform(s->g, t, rank, dims, s->v[s->seed_in].n,
                                      s->v[s->offset_in].n);
    return random_value(s, n, 0, 1 - 0x1p-24, 24);
}

int gg_bernoulli(gg *s, double p, int rank, const int64_t *dims)
{
    if (!counters(s))
        return -1;
    kiln_node n = kiln_bernoulli(s->g, p, rank, dims, s->v[s->seed_in].n,
                                 s->v[s->offset_in].n);
    return random_value(s, n, 0, 1, 0);
}

int gg_dropout(gg *s, int ai, double rate)
{
    if (ai < 0 || !gg_is_float(s->v[ai].t) || !(rate > 0) || !counters(s))
        return -1;
    const gg_val *a = &s->v[ai];
    /* the scale is rounded to the dtype once, the same in every backend */
    double scale = a->t == KILN_F32 ? (double)(float)(1 / (1 - rate)) : 1 / (1 - rate);
    gg_val r = moved(a);
    r.lo = fmin(a->lo * scale, 0), r.hi = fmax(a->hi * scale, 0);
    r.err = a->err * scale;
    int q = a->q + gg_grid_of(scale);
    gg_settle(&r, a->exact && gg_grid_of(scale) < 8, q, 1);
    int ops[3] = {ai, s->seed_in, s->offset_in};
    return finish(s, &r, kiln_dropout(s->g, a->n, rate, s->v[s->seed_in].n,
                                      s->v[s->offset_in].n),
                  ops, 3);
}
