/*
 * cuda_ops_common.c — inputs, outputs and comparison of the CUDA op
 * cases (see cuda_ops.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_ops.h"

const double oc_float_specials[12] = {0, -0.0, INFINITY, -INFINITY, NAN, 1e-40,
                                      3e38, -3e38, -1, 1, 1e-310, 0.5};
const double oc_int_specials[8] = {-2147483648.0, 2147483647.0, -1, 0, 1,
                                   46341, -46341, 65536};

static double unit(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

void oc_begin(oc *c, const char *what, uint64_t seed, cc_stats *st)
{
    memset(c, 0, sizeof *c);
    c->g = kiln_graph_new();
    assert_non_null(c->g);
    c->what = what;
    c->rng = seed * 0x9e3779b97f4a7c15ull + 12345;
    for (const char *p = what; *p; p++)
        c->rng = c->rng * 31 + (unsigned char)*p;
    c->param_tol = oc_exact();
    c->st = st;
}

static void put(kiln_dtype t, void *bytes, int64_t i, double v)
{
    switch (t) {
    case KILN_F32: ((float *)bytes)[i] = (float)v; break;
    case KILN_F64: ((double *)bytes)[i] = v; break;
    case KILN_I32: ((int32_t *)bytes)[i] = (int32_t)v; break;
    default: ((uint8_t *)bytes)[i] = v != 0; break;
    }
}

kiln_node oc_input(oc *c, kiln_dtype t, int rank, const int64_t *dims, oc_dist d)
{
    assert_true(c->nfeeds < OC_MAX);
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= dims[i];
    size_t bytes = (size_t)n * kiln_dtype_size(t);
    void *data = malloc(bytes ? bytes : 1);
    assert_non_null(data);
    for (int64_t i = 0; i < n; i++) {
        double v = d.lo + (d.hi - d.lo) * unit(&c->rng);
        if (t == KILN_I32)
            v = floor(v);
        else if (t == KILN_BOOL)
            v = unit(&c->rng) < 0.5;
        else if (d.coarse > 0)
            v = round(v / d.coarse) * d.coarse;
        if (i < d.nspecial && t != KILN_BOOL)
            v = d.specials[i];
        put(t, data, i, v);
    }
    int k = c->nfeeds++;
    snprintf(c->feed_name[k], sizeof c->feed_name[k], "x%d", k);
    c->feed[k] = (cc_feed){'i', c->feed_name[k], data, bytes};
    return kiln_input(c->g, c->feed_name[k], t, rank, dims);
}

kiln_node oc_transposed(oc *c, kiln_dtype t, int64_t d0, int64_t d1, oc_dist d)
{
    kiln_node x = oc_input(c, t, 2, (int64_t[]){d1, d0}, d);
    return kiln_transpose(c->g, x, (int[]){1, 0});
}

int oc_output(oc *c, kiln_node y, oc_tol tol)
{
    assert_true(c->nouts < OC_MAX);
    int k = c->nouts++;
    snprintf(c->out_name[k], sizeof c->out_name[k], "y%d", k);
    c->tol[k] = tol;
    kiln_output(c->g, c->out_name[k], y);
    return k;
}

void oc_param_value(oc *c, const char *name, const void *data, size_t nbytes)
{
    assert_true(c->nfeeds < OC_MAX);
    void *copy = malloc(nbytes);
    assert_non_null(copy);
    memcpy(copy, data, nbytes);
    c->feed[c->nfeeds++] = (cc_feed){'p', name, copy, nbytes};
}

/* ---- comparison --------------------------------------------------------- */

static bool same_bits(kiln_dtype t, const void *a, const void *b, size_t i)
{
    size_t w = kiln_dtype_size(t);
    return memcmp((const char *)a + i * w, (const char *)b + i * w, w) == 0;
}

/* Allowed |got - want| (0: exact as numbers); -1: bitwise. */
static double allowed(const oc_tol *tol, kiln_dtype t, double want, double scale)
{
    switch (tol->kind) {
    case OC_EXACT: return -1;
    case OC_VALUE: return 0;
    case OC_ULP: return tol->n * cc_ulp(t, want);
    case OC_REL: return tol->n * fmax(fabs(want), tol->scale);
    case OC_REL_TO: return tol->n * fmax(fabs(want), fabs(scale));
    default: return INFINITY;
    }
}

static bool close_enough(kiln_dtype t, const void *got, const void *ref, size_t i,
                         double lim)
{
    double g = cc_get(t, got, i), w = cc_get(t, ref, i);
    if (isnan(g) || isnan(w))
        return isnan(g) && isnan(w);
    if (t != KILN_F32 && t != KILN_F64)
        return g == w;
    if (lim < 0)
        return same_bits(t, got, ref, i);
    if (isinf(g) || isinf(w))
        return g == w;
    return fabs(g - w) <= lim;
}

static const oc_tol *tol_of(const oc *c, const kiln_binding *b, const void **scale,
                            const cc_values *v)
{
    *scale = NULL;
    if (b->kind == 'p')
        return &c->param_tol;
    for (int o = 0; o < c->nouts; o++) {
        if (strcmp(c->out_name[o], b->name) != 0)
            continue;
        if (c->tol[o].kind == OC_REL_TO)
            for (int k = 0; k < v->n; k++)
                if (v->b[k].kind == 'o' &&
                    strcmp(v->b[k].name, c->out_name[c->tol[o].scale_out]) == 0)
                    *scale = v->ref[k];
        return &c->tol[o];
    }
    return NULL;
}

static void compare(oc *c, const cc_values *v, const char *variant)
{
    for (int k = 0; k < v->n; k++) {
        const kiln_binding *b = &v->b[k];
        const void *scale;
        const oc_tol *tol = tol_of(c, b, &scale, v);
        oc_tol exact = oc_exact();
        if (!tol)
            tol = &exact; /* outputs the case did not name: exact */
        if (tol->kind == OC_SKIP)
            continue;
        size_t n = v->bytes[k] / kiln_dtype_size(b->dtype);
        for (size_t i = 0; i < n; i++) {
            double want = cc_get(b->dtype, v->ref[k], i);
            double lim = allowed(tol, b->dtype, want, scale ? cc_get(b->dtype, scale, i) : 0);
            double got = cc_get(b->dtype, v->got[k], i);
            if (lim > 0 && isfinite(got) && isfinite(want) &&
                fabs(got - want) / lim > c->st->worst) {
                c->st->worst = fabs(got - want) / lim;
                snprintf(c->st->worst_where, sizeof c->st->worst_where, "%s %s, %s '%s'",
                         c->what, variant, b->kind == 'o' ? "output" : "param", b->name);
            }
            if (close_enough(b->dtype, v->got[k], v->ref[k], i, lim))
                continue;
            char where[96];
            cc_index_text(b, i, where, sizeof where);
            char *text = kiln_print(c->g);
            fail_msg("%s (%s): %s '%s' (%s) element %zu %s: emulated CUDA %.9g, "
                     "reference %.9g, |diff| %.3g, allowed %.3g\ngraph:\n%s",
                     c->what, variant, b->kind == 'o' ? "output" : "param", b->name,
                     kiln_dtype_name(b->dtype), i, where, got, want, fabs(got - want),
                     lim < 0 ? 0 : lim, text ? text : "?");
        }
    }
}

void oc_check_many(oc *cs, int n)
{
    cc_item *items = calloc((size_t)n * 2, sizeof *items);
    assert_non_null(items);
    for (int i = 0; i < n; i++) {
        if (kiln_graph_status(cs[i].g) != KILN_OK)
            fail_msg("%s: building the graph: %s", cs[i].what, kiln_graph_error(cs[i].g));
        for (int fuse = 0; fuse < 2; fuse++) {
            cc_item *it = &items[2 * i + fuse];
            it->g = cs[i].g;
            it->feeds = cs[i].feed;
            it->nfeeds = cs[i].nfeeds;
            it->fuse = fuse;
        }
    }
    char msg[8192];
    if (!cc_run_batch(items, 2 * n, cs[0].st, msg, sizeof msg))
        fail_msg("%s: %s", cs[0].what, msg);
    for (int j = 0; j < 2 * n; j++) {
        compare(&cs[j / 2], &items[j].v, items[j].fuse ? "fused" : "unfused");
        cc_values_free(&items[j].v);
    }
    free(items);
    for (int i = 0; i < n; i++) {
        for (int f = 0; f < cs[i].nfeeds; f++)
            free((void *)cs[i].feed[f].data);
        kiln_graph_free(cs[i].g);
        cs[i].g = NULL;
    }
}

void oc_check(oc *c)
{
    oc_check_many(c, 1);
}
