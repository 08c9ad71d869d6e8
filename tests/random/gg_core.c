/* gg_core.c — the generator's PRNG, its knowledge arithmetic and the
 * leaves of a graph (inputs with their data, params, constants). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gg_internal.h"

/* ---- PRNG --------------------------------------------------------------- */

uint64_t gg_next(gg *s)
{
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int gg_below(gg *s, int n) { return n <= 1 ? 0 : (int)(gg_next(s) % (uint64_t)n); }
int gg_range(gg *s, int lo, int hi) { return lo + gg_below(s, hi - lo + 1); }
double gg_unit(gg *s) { return (double)(gg_next(s) >> 11) * 0x1p-53; }
bool gg_chance(gg *s, double p) { return gg_unit(s) < p; }

/* ---- knowledge ---------------------------------------------------------- */

double gg_mag(const gg_val *v) { return fmax(fabs(v->lo), fabs(v->hi)); }

double gg_eps(kiln_dtype t)
{
    return t == KILN_F32 ? 0x1p-23 : t == KILN_F64 ? 0x1p-52 : 0;
}

bool gg_is_float(kiln_dtype t) { return t == KILN_F32 || t == KILN_F64; }

int64_t gg_numel(const gg_val *v)
{
    int64_t n = 1;
    for (int d = 0; d < v->rank; d++)
        n *= v->dims[d];
    return n;
}

bool gg_fits(kiln_dtype t, double m, int q)
{
    switch (t) {
    case KILN_I32: return q == 0 && m < 0x1p30; /* headroom: no wrap anywhere */
    case KILN_BOOL: return true;
    case KILN_F32: return q <= 100 && ldexp(m, q) <= 0x1p24;
    default: return q <= 900 && ldexp(m, q) <= 0x1p53;
    }
}

int gg_grid_of(double v)
{
    for (int q = 0; q < 60; q++)
        if (ldexp(v, q) == floor(ldexp(v, q)))
            return q;
    return 60;
}

void gg_settle(gg_val *r, bool exact, int q, double ulps)
{
    if (!gg_is_float(r->t) || (exact && gg_fits(r->t, gg_mag(r), q))) {
        r->exact = true;
        r->q = gg_is_float(r->t) ? q : 0;
        r->err = 0;
        return;
    }
    r->exact = false;
    r->q = 0;
    r->err += ulps * gg_eps(r->t) * gg_mag(r);
}

/* The largest rounding difference, relative to 1 + magnitude, that a
 * value may carry: about 1700 ulp in f32, 4500 in f64.  Ops that would
 * exceed it are not generated, so no tolerance grows past
 * max(base, budget * (1 + |magnitude bound|)). */
#define GG_BUDGET_F32 2e-4
#define GG_BUDGET_F64 1e-12

bool gg_within_budget(const gg_val *r)
{
    double m = gg_mag(r);
    if (!(m < 1e6) || !(r->err >= 0))
        return false;
    if (r->exact || !gg_is_float(r->t))
        return true;
    double b = r->t == KILN_F32 ? GG_BUDGET_F32 : GG_BUDGET_F64;
    return r->err <= b * (1 + m);
}

/* ---- values ------------------------------------------------------------- */

int gg_push(gg *s, const gg_val *meta, const int *operands, int n)
{
    if (s->nv == GG_MAX_VALS || !kiln_node_valid(meta->n))
        return -1;
    gg_val *r = &s->v[s->nv];
    *r = *meta;
    r->t = kiln_node_dtype(s->g, meta->n);
    r->rank = kiln_node_shape(s->g, meta->n, r->dims);
    r->uses = 0;
    for (int i = 0; i < n; i++)
        s->v[operands[i]].uses++;
    if (!r->leaf)
        s->cost++;
    return s->nv++;
}

static void put(kiln_dtype t, void *data, int64_t i, double v)
{
    switch (t) {
    case KILN_F32: ((float *)data)[i] = (float)v; break;
    case KILN_F64: ((double *)data)[i] = v; break;
    case KILN_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    default: ((uint8_t *)data)[i] = v != 0; break;
    }
}

/* numel grid values in [lo, hi] (lo and hi themselves on the grid). */
static void *draw(gg *s, kiln_dtype t, int64_t numel, double lo, double hi, int q)
{
    void *data = malloc((size_t)(numel ? numel : 1) * kiln_dtype_size(t));
    if (!data)
        return NULL;
    for (int64_t i = 0; i < numel; i++) {
        double v;
        if (t == KILN_BOOL)
            v = (double)gg_below(s, 2);
        else if (t == KILN_I32)
            v = (double)gg_range(s, (int)lo, (int)hi);
        else {
            double steps = floor(ldexp(hi - lo, q));
            v = lo + ldexp(floor(gg_unit(s) * (steps + 1)), -q);
            v = fmin(v, hi);
        }
        put(t, data, i, v);
    }
    return data;
}

static gg_val leaf_meta(kiln_node n, double lo, double hi, int q)
{
    gg_val m;
    memset(&m, 0, sizeof m);
    m.n = n;
    m.lo = lo;
    m.hi = hi;
    m.exact = true;
    m.q = q;
    m.leaf = true;
    return m;
}

static int64_t count(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

int gg_input(gg *s, kiln_dtype t, int rank, const int64_t *dims, double lo,
             double hi, int q)
{
    gg_case *c = s->c;
    if (c->nfeeds == GG_MAX_FEEDS || s->nv == GG_MAX_VALS)
        return -1;
    if (t == KILN_BOOL)
        lo = 0, hi = 1;
    gg_feed *f = &c->feed[c->nfeeds];
    snprintf(f->name, sizeof f->name, "x%d", s->ninputs++);
    f->dtype = t;
    f->nbytes = (size_t)count(rank, dims) * kiln_dtype_size(t);
    f->data = draw(s, t, count(rank, dims), lo, hi, q);
    if (!f->data)
        return -1;
    c->nfeeds++;
    gg_val m = leaf_meta(kiln_input(s->g, f->name, t, rank, dims), lo, hi,
                         gg_is_float(t) ? q : 0);
    return gg_push(s, &m, NULL, 0);
}

int gg_param(gg *s, int rank, const int64_t *dims, double lo, double hi, int q)
{
    gg_case *c = s->c;
    if (c->nparams == GG_MAX_PARAMS || s->nv == GG_MAX_VALS)
        return -1;
    gg_feed *f = &c->param[c->nparams];
    snprintf(f->name, sizeof f->name, "w%d", c->nparams);
    f->dtype = KILN_F32;
    f->nbytes = (size_t)count(rank, dims) * sizeof(float);
    f->data = draw(s, KILN_F32, count(rank, dims), lo, hi, q);
    if (!f->data)
        return -1;
    /* the init spec only matters when the text is replayed by the CLI */
    kiln_node n = kiln_param(s->g, f->name, KILN_F32, rank, dims,
                             kiln_init_uniform(lo, hi, (uint32_t)c->nparams + 1));
    gg_val m = leaf_meta(n, lo, hi, q);
    m.params = 1u << c->nparams++;
    return gg_push(s, &m, NULL, 0);
}

int gg_scalar(gg *s, kiln_dtype t, double v)
{
    gg_val m = leaf_meta(kiln_scalar(s->g, t, v), v, v, gg_is_float(t) ? gg_grid_of(v) : 0);
    m.konst = true;
    return gg_push(s, &m, NULL, 0);
}

int gg_const(gg *s, kiln_dtype t, int rank, const int64_t *dims, double lo,
             double hi, int q, bool uniform)
{
    void *data = draw(s, t, uniform ? 1 : count(rank, dims), lo, hi, q);
    if (!data)
        return -1;
    kiln_node n;
    if (uniform) {
        double v = t == KILN_F32 ? ((float *)data)[0] : t == KILN_F64 ? ((double *)data)[0]
                 : t == KILN_I32 ? ((int32_t *)data)[0] : ((uint8_t *)data)[0];
        n = kiln_fill(s->g, t, rank, dims, v);
        lo = hi = v;
    } else {
        n = kiln_constant(s->g, t, rank, dims, data);
    }
    free(data);
    if (t == KILN_BOOL)
        lo = 0, hi = 1;
    gg_val m = leaf_meta(n, lo, hi, gg_is_float(t) ? q : 0);
    m.konst = true;
    return gg_push(s, &m, NULL, 0);
}
