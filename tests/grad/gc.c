/* gc.c — samplers, the finite-difference gradient check, Philox. */
#include "gc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- values -------------------------------------------------------- */

uint64_t gc_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double gc_uniform(uint64_t *state, double lo, double hi)
{
    double u = (double)(gc_next(state) >> 11) * 0x1p-53;
    return lo + (hi - lo) * u;
}

uint64_t gc_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static void sample_distinct(uint64_t *state, double *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        v[i] = (double)i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(gc_next(state) % (uint64_t)(i + 1));
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
    for (int64_t i = 0; i < n; i++)
        v[i] = (v[i] - (double)n / 2) * 0.1 + gc_uniform(state, 0, 0.05);
}

void gc_sample(uint64_t *state, gc_dom d, double *v, int64_t n)
{
    if (d.dist == GC_DISTINCT) {
        sample_distinct(state, v, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        double k = (double)(int)(gc_next(state) % 16) - 8;
        switch (d.dist) {
        case GC_UNIFORM:
            v[i] = gc_uniform(state, d.lo, d.hi);
            break;
        case GC_SIGNED:
            v[i] = gc_uniform(state, d.lo, d.hi) *
                   (gc_next(state) & 1 ? 1 : -1);
            break;
        case GC_LATTICE_A:
            v[i] = 0.25 * k + gc_uniform(state, 0, 0.1);
            break;
        default:
            v[i] = 0.25 * k + 0.125 + gc_uniform(state, 0, 0.1);
            break;
        }
    }
}

/* ---- graphs ---------------------------------------------------------- */

void gc_begin(gc *c, uint64_t seed)
{
    memset(c, 0, sizeof *c);
    c->rng = seed;
    c->g = kiln_graph_new();
    assert_non_null(c->g);
}

void gc_end(gc *c)
{
    for (int k = 0; k < c->nin; k++)
        free(c->in[k].x);
    kiln_graph_free(c->g);
    c->g = NULL;
    c->nin = 0;
}

static int64_t numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

kiln_node gc_input_f64(gc *c, int rank, const int64_t *dims, gc_dom d)
{
    assert_true(c->nin < GC_MAX_IN);
    gc_input *in = &c->in[c->nin];
    snprintf(in->name, sizeof in->name, "x%d", c->nin);
    in->n = numel(rank, dims);
    in->x = malloc((size_t)in->n * sizeof *in->x);
    assert_non_null(in->x);
    gc_sample(&c->rng, d, in->x, in->n);
    in->node = kiln_input(c->g, in->name, KILN_F64, rank, dims);
    c->nin++;
    return in->node;
}

kiln_node gc_const_f64(gc *c, int rank, const int64_t *dims, gc_dom d)
{
    int64_t n = numel(rank, dims);
    double *v = malloc((size_t)n * sizeof *v);
    assert_non_null(v);
    gc_sample(&c->rng, d, v, n);
    kiln_node k = kiln_constant(c->g, KILN_F64, rank, dims, v);
    free(v);
    return k;
}

kiln_node gc_const_bool(gc *c, int rank, const int64_t *dims)
{
    int64_t n = numel(rank, dims);
    uint8_t *v = malloc((size_t)n);
    assert_non_null(v);
    for (int64_t i = 0; i < n; i++)
        v[i] = (uint8_t)(gc_next(&c->rng) & 1);
    kiln_node k = kiln_constant(c->g, KILN_BOOL, rank, dims, v);
    free(v);
    return k;
}

void gc_graph_ok(kiln_graph *g)
{
    if (kiln_graph_status(g) != KILN_OK)
        fail_msg("graph error: %s", kiln_graph_error(g));
}

void gc_expect_substr(const char *msg, const char *part)
{
    if (!msg || !strstr(msg, part))
        fail_msg("message \"%s\" lacks \"%s\"", msg ? msg : "(null)", part);
}

void gc_run(gc *c, kiln_program *p, const char *name, double *out, int64_t n)
{
    for (int k = 0; k < c->nin; k++)
        assert_int_equal(kiln_set_input(p, c->in[k].name, c->in[k].x,
                                        (size_t)c->in[k].n * sizeof(double)),
                         KILN_OK);
    if (kiln_run(p) != KILN_OK)
        fail_msg("run: %s", kiln_program_error(p));
    assert_int_equal(kiln_get_output(p, name, out, (size_t)n * sizeof *out),
                     KILN_OK);
}

double gc_norm_diff(const double *a, const double *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = a[i] - (b ? b[i] : 0);
        s += d * d;
    }
    return sqrt(s);
}

/* ---- the check ------------------------------------------------------- */

/*
 * Central differences, h = 1e-5 * max(1, |x|).  The error of
 * (L(x+h) - L(x-h)) / 2h is the truncation h^2 |L'''| / 6 plus the
 * rounding eps |L| / h of the two f64 losses (eps = 1.1e-16).  With inputs
 * and W of order 1 and losses of order 10, that is about 1e-10 + 1e-10
 * relative: four orders below GC_TOL, so the bound tests kiln_grad and
 * not the oracle.  (The optimum, h ~ eps^(1/3) ~ 5e-6, is close.)  h is
 * scaled to |x| so x +- h stays a relative change, and it is > 1000x
 * smaller than the 0.025 gap the samplers keep from any kink, so no
 * perturbation crosses one.  Dividing by the step actually realised,
 * (x+h) - (x-h), removes the rounding of x +- h itself.
 */
static double loss_at(gc *c, kiln_program *fwd)
{
    double l;
    gc_run(c, fwd, "loss", &l, 1);
    return l;
}

static void finite_diff(gc *c, kiln_program *fwd, int k, double *fd)
{
    double *x = c->in[k].x;
    for (int64_t e = 0; e < c->in[k].n; e++) {
        double x0 = x[e], h = 1e-5 * fmax(1, fabs(x0));
        double xp = x0 + h, xm = x0 - h;
        x[e] = xp;
        double lp = loss_at(c, fwd);
        x[e] = xm;
        double lm = loss_at(c, fwd);
        x[e] = x0;
        fd[e] = (lp - lm) / (xp - xm);
    }
}

static void compare(gc *c, int k, const char *what, const double *ad,
                    const double *fd)
{
    int64_t n = c->in[k].n, worst = 0;
    double err = gc_norm_diff(ad, fd, n), ref = gc_norm_diff(fd, NULL, n);
    for (int64_t e = 1; e < n; e++)
        if (fabs(ad[e] - fd[e]) > fabs(ad[worst] - fd[worst]))
            worst = e;
    /* Written without a division: a zero gradient (sign, softmax over a
     * size-1 axis) must then be exactly zero. */
    if (!(err <= GC_TOL * ref))
        fail_msg("%s of %s: ||ad - fd|| = %.3g, ||fd|| = %.3g; worst "
                 "element %lld: ad %.12g, fd %.12g",
                 what, c->in[k].name, err, ref, (long long)worst, ad[worst],
                 fd[worst]);
    if (ref > 0 && err / ref > c->worst)
        c->worst = err / ref;
}

static void expect_like(kiln_graph *g, kiln_node grad, kiln_node x)
{
    int64_t gd[KILN_MAX_RANK], xd[KILN_MAX_RANK];
    assert_true(kiln_node_valid(grad));
    assert_int_equal(kiln_node_dtype(g, grad), kiln_node_dtype(g, x));
    int rank = kiln_node_shape(g, x, xd);
    assert_int_equal(kiln_node_shape(g, grad, gd), rank);
    for (int d = 0; d < rank; d++)
        assert_int_equal(gd[d], xd[d]);
}

static kiln_program *add_gradients(gc *c, kiln_node loss)
{
    kiln_graph *g = c->g;
    kiln_node wrt[GC_MAX_IN];
    for (int k = 0; k < c->nin; k++)
        wrt[k] = c->in[k].node;
    if (kiln_grad(g, loss, c->nin, wrt, c->grad, 0) != KILN_OK)
        fail_msg("kiln_grad: %s", kiln_graph_error(g));
    assert_int_equal(ir_verify(g), KILN_OK);
    for (int k = 0; k < c->nin; k++) {
        char name[16];
        expect_like(g, c->grad[k], wrt[k]);
        snprintf(name, sizeof name, "g%d", k);
        assert_int_equal(kiln_output(g, name, c->grad[k]), KILN_OK);
    }
    kiln_program *p = kiln_compile(g, NULL);
    if (!p)
        fail_msg("compile: %s", kiln_graph_error(g));
    return p;
}

static void first_order(gc *c, kiln_program *fwd, kiln_program *full)
{
    for (int k = 0; k < c->nin; k++) {
        int64_t n = c->in[k].n;
        double *ad = malloc((size_t)n * sizeof *ad);
        double *fd = malloc((size_t)n * sizeof *fd);
        assert_true(ad && fd);
        char name[16];
        snprintf(name, sizeof name, "g%d", k);
        gc_run(c, full, name, ad, n);
        finite_diff(c, fwd, k, fd);
        compare(c, k, "gradient", ad, fd);
        free(ad);
        free(fd);
    }
}

/* Every gradient at x0 + sh v (all inputs moved at once), into out[k]. */
static void grads_at(gc *c, kiln_program *full, double *const *x0,
                     double *const *v, double sh, double *const *out)
{
    for (int k = 0; k < c->nin; k++)
        for (int64_t e = 0; e < c->in[k].n; e++)
            c->in[k].x[e] = x0[k][e] + sh * v[k][e];
    for (int k = 0; k < c->nin; k++) {
        char name[16];
        snprintf(name, sizeof name, "g%d", k);
        gc_run(c, full, name, out[k], c->in[k].n);
    }
}

/* sum_k sum(g_k * v_k), with each v_k a constant holding v[k]. */
static kiln_node hv_objective(gc *c, double *const *v)
{
    kiln_graph *g = c->g;
    kiln_node s = {0};
    for (int k = 0; k < c->nin; k++) {
        int64_t dims[KILN_MAX_RANK];
        int rank = kiln_node_shape(g, c->in[k].node, dims);
        kiln_node vk = kiln_constant(g, KILN_F64, rank, dims, v[k]);
        kiln_node t = kiln_sum(g, kiln_mul(g, c->grad[k], vk), 0, NULL, 0);
        s = kiln_node_valid(s) ? kiln_add(g, s, t) : t;
    }
    return s;
}

/* hv[k] = the gradient of `s` w.r.t. input k; zeros where the gradient
 * does not depend on it (a linear op). */
static void hv_eval(gc *c, kiln_node s, double *const *hv)
{
    kiln_graph *g = c->g;
    kiln_node wrt[GC_MAX_IN], h[GC_MAX_IN];
    for (int k = 0; k < c->nin; k++)
        wrt[k] = c->in[k].node;
    if (kiln_grad(g, s, c->nin, wrt, h, KILN_GRAD_ZEROS_FOR_UNUSED) != KILN_OK)
        fail_msg("second-order kiln_grad: %s", kiln_graph_error(g));
    assert_int_equal(ir_verify(g), KILN_OK);
    for (int k = 0; k < c->nin; k++) {
        char name[16];
        expect_like(g, h[k], wrt[k]);
        snprintf(name, sizeof name, "h%d", k);
        assert_int_equal(kiln_output(g, name, h[k]), KILN_OK);
    }
    kiln_program *p = kiln_compile(g, NULL);
    if (!p)
        fail_msg("compile: %s", kiln_graph_error(g));
    for (int k = 0; k < c->nin; k++) {
        char name[16];
        snprintf(name, sizeof name, "h%d", k);
        gc_run(c, p, name, hv[k], c->in[k].n);
    }
    kiln_program_free(p);
}

/* The Hessian-vector product of the case's loss: hv = grad of
 * sum_k sum(g_k * v_k) for fixed random v, against central differences
 * of the gradient along v.  The step follows the first-order reasoning
 * (h = 1e-5 scaled to the largest |x|; it moves no element by more than
 * 3e-5, far inside the samplers' gaps). */
static void second_order(gc *c, kiln_program *full)
{
    double *v[GC_MAX_IN], *hv[GC_MAX_IN], *gp[GC_MAX_IN], *gm[GC_MAX_IN],
        *x0[GC_MAX_IN], xmax = 1;
    for (int k = 0; k < c->nin; k++) {
        size_t bytes = (size_t)c->in[k].n * sizeof(double);
        v[k] = malloc(bytes), hv[k] = malloc(bytes), gp[k] = malloc(bytes);
        gm[k] = malloc(bytes), x0[k] = malloc(bytes);
        assert_true(v[k] && hv[k] && gp[k] && gm[k] && x0[k]);
        gc_sample(&c->rng, (gc_dom){GC_UNIFORM, -1, 1}, v[k], c->in[k].n);
        memcpy(x0[k], c->in[k].x, bytes);
        for (int64_t e = 0; e < c->in[k].n; e++)
            xmax = fmax(xmax, fabs(c->in[k].x[e]));
    }
    hv_eval(c, hv_objective(c, v), hv);
    double step = 1e-5 * xmax;
    grads_at(c, full, x0, v, step, gp);
    grads_at(c, full, x0, v, -step, gm);
    for (int k = 0; k < c->nin; k++) {
        memcpy(c->in[k].x, x0[k], (size_t)c->in[k].n * sizeof(double));
        for (int64_t e = 0; e < c->in[k].n; e++)
            gp[k][e] = (gp[k][e] - gm[k][e]) / (2 * step);
        compare(c, k, "Hessian-vector product", hv[k], gp[k]);
        free(v[k]), free(hv[k]), free(gp[k]), free(gm[k]), free(x0[k]);
    }
}

void gc_check(gc *c, kiln_node y)
{
    kiln_graph *g = c->g;
    gc_graph_ok(g);
    for (uint32_t i = 0; i < g->count; i++)
        c->seen[g->nodes[i].op] = true;
    int64_t dims[KILN_MAX_RANK];
    int rank = kiln_node_shape(g, y, dims);
    kiln_node w = gc_const_f64(c, rank, dims, (gc_dom){GC_UNIFORM, -1, 1});
    kiln_node loss = kiln_sum(g, kiln_mul(g, y, w), 0, NULL, 0);
    assert_int_equal(kiln_output(g, "loss", loss), KILN_OK);
    kiln_program *fwd = kiln_compile(g, NULL);
    if (!fwd)
        fail_msg("compile: %s", kiln_graph_error(g));
    kiln_program *full = add_gradients(c, loss);
    first_order(c, fwd, full);
    c->worst1 = c->worst;
    c->worst = 0;
    if (c->second_order)
        second_order(c, full);
    kiln_program_free(fwd);
    kiln_program_free(full);
    c->checks++;
}

/* ---- Philox-4x32-10 -------------------------------------------------- */

void gc_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

uint32_t gc_stream_word(uint32_t seed, uint32_t offset, uint64_t e)
{
    uint64_t block = e / 4;
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), offset, 0};
    uint32_t key[2] = {seed, 0}, out[4];
    gc_philox(ctr, key, out);
    return out[e % 4];
}
