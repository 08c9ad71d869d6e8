/* cpu_help.c — building, compiling, running and comparing for the CPU
 * backend tests (see cpu_help.h). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_help.h"

/* ---- values ---------------------------------------------------------- */

double ch_unit(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-53;
}

double ch_get(kiln_dtype t, const void *bytes, int64_t i)
{
    switch (t) {
    case KILN_F32: return ((const float *)bytes)[i];
    case KILN_F64: return ((const double *)bytes)[i];
    case KILN_I32: return ((const int32_t *)bytes)[i];
    default: return ((const uint8_t *)bytes)[i];
    }
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

double ch_ulp_of(kiln_dtype t, double v)
{
    v = fabs(v);
    if (t == KILN_F32) {
        float f = (float)v;
        if (isinf(f))
            return INFINITY;
        return (double)nextafterf(f, INFINITY) - (double)f;
    }
    if (isinf(v))
        return INFINITY;
    return nextafter(v, INFINITY) - v;
}

/* The error tol allows at an element (0 for the exact kinds). */
static double allowed(kiln_dtype t, double want, double scale, const ch_tol *tol)
{
    switch (tol->kind) {
    case CH_ULP: return tol->n * ch_ulp_of(t, want);
    case CH_SCALE: return tol->n * fmax(fabs(want), scale);
    case CH_TENSOR: return tol->n * scale;
    default: return 0;
    }
}

bool ch_close(kiln_dtype t, double got, double want, double scale,
              const ch_tol *tol)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return got == want;
    if (!ir_dtype_is_float(t))
        return got == want;
    double err = fabs(got - want);
    switch (tol->kind) {
    case CH_EXACT: return got == want && signbit(got) == signbit(want);
    case CH_VALUE: return got == want;
    case CH_SKIP: return true;
    default: return err <= allowed(t, want, scale, tol);
    }
}

/* ---- building -------------------------------------------------------- */

void ch_begin(ch_ctx *c, const char *what, uint64_t seed, ch_stats *stats)
{
    memset(c, 0, sizeof *c);
    c->g = kiln_graph_new();
    assert_non_null(c->g);
    c->rng = seed * 0x2545F4914F6CDD1Dull + 1;
    c->runs = 1;
    c->param_tol = ch_exact();
    c->stats = stats;
    snprintf(c->what, sizeof c->what, "%s", what);
}

void ch_end(ch_ctx *c)
{
    for (int i = 0; i < c->nfeeds; i++)
        free(c->feed[i].bytes);
    kiln_graph_free(c->g);
    c->g = NULL;
    c->nfeeds = 0;
}

static int64_t numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

static double draw(ch_ctx *c, kiln_dtype t, const ch_dist *d)
{
    double u = ch_unit(&c->rng);
    if (t == KILN_BOOL)
        return u < 0.5;
    double v = d->lo + (d->hi - d->lo) * u;
    if (t == KILN_I32)
        return floor(v);
    if (d->coarse > 0)
        v = round(v / d->coarse) * d->coarse;
    return v;
}

static kiln_node add_input(ch_ctx *c, const char *name, kiln_dtype t, int rank,
                           const int64_t *dims, const ch_dist *d,
                           const double *vals)
{
    assert_true(c->nfeeds < CH_MAX_FEEDS);
    ch_feed *f = &c->feed[c->nfeeds];
    if (name)
        snprintf(f->name, sizeof f->name, "%s", name);
    else
        snprintf(f->name, sizeof f->name, "x%d", c->nfeeds);
    int64_t n = numel(rank, dims);
    f->nbytes = (size_t)n * kiln_dtype_size(t);
    f->bytes = malloc(f->nbytes ? f->nbytes : 1);
    assert_non_null(f->bytes);
    for (int64_t i = 0; i < n; i++) {
        double v = vals ? vals[i]
                        : (i < d->nspecial ? d->specials[i] : draw(c, t, d));
        put(t, f->bytes, i, v);
    }
    c->nfeeds++;
    return kiln_input(c->g, f->name, t, rank, dims);
}

kiln_node ch_input(ch_ctx *c, kiln_dtype t, int rank, const int64_t *dims,
                   ch_dist dist)
{
    return add_input(c, NULL, t, rank, dims, &dist, NULL);
}

kiln_node ch_input_named(ch_ctx *c, const char *name, kiln_dtype t, int rank,
                         const int64_t *dims, ch_dist dist)
{
    return add_input(c, name, t, rank, dims, &dist, NULL);
}

kiln_node ch_input_values(ch_ctx *c, kiln_dtype t, int rank,
                          const int64_t *dims, const double *vals)
{
    return add_input(c, NULL, t, rank, dims, NULL, vals);
}

int ch_output(ch_ctx *c, kiln_node y, ch_tol tol)
{
    assert_true(c->nouts < CH_MAX_OUTS);
    ch_out *o = &c->out[c->nouts];
    snprintf(o->name, sizeof o->name, "y%d", c->nouts);
    o->tol = tol;
    if (kiln_output(c->g, o->name, y) != KILN_OK)
        fail_msg("%s: output %s: %s", c->what, o->name, kiln_graph_error(c->g));
    return c->nouts++;
}

void ch_tolerate(ch_ctx *c, const char *name, ch_tol tol)
{
    assert_true(c->nouts < CH_MAX_OUTS);
    ch_out *o = &c->out[c->nouts++];
    snprintf(o->name, sizeof o->name, "%s", name);
    o->tol = tol;
}

void ch_feed_bytes(ch_ctx *c, const char *name, const void *bytes, size_t nbytes)
{
    assert_true(c->nfeeds < CH_MAX_FEEDS);
    ch_feed *f = &c->feed[c->nfeeds++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->nbytes = nbytes;
    f->bytes = malloc(nbytes ? nbytes : 1);
    assert_non_null(f->bytes);
    memcpy(f->bytes, bytes, nbytes);
}

int ch_op_of(const char *name)
{
    for (int op = 0; name && op < IR_OP_COUNT; op++)
        if (strcmp(ir_ops[op].name, name) == 0)
            return op;
    return -1;
}

/* ---- compiling and running ------------------------------------------ */

static void add_stats(ch_stats *st, kiln_program *p, const char *what)
{
    kiln_compile_stats s;
    assert_int_equal(kiln_program_stats(p, &s), KILN_OK);
    if (!st)
        return;
    st->programs++;
    st->total_ms += s.total_ms;
    st->lower_ms += s.lower_ms;
    st->codegen_ms += s.codegen_ms;
    st->optimize_ms += s.optimize_ms;
    st->jit_ms += s.jit_ms;
    st->kernels += s.kernels;
    if (s.total_ms > st->max_ms) {
        st->max_ms = s.total_ms;
        snprintf(st->max_what, sizeof st->max_what, "%s", what);
    }
}

kiln_program *ch_compile_with(kiln_graph *g, const kiln_compile_options *o,
                              ch_stats *st, const char *what)
{
    if (kiln_graph_status(g) != KILN_OK)
        fail_msg("%s: graph error: %s", what, kiln_graph_error(g));
    kiln_program *p = kiln_compile(g, o);
    if (!p)
        fail_msg("%s: compile (backend %d, %d threads%s): %s", what, (int)o->backend,
                 o->threads, o->no_fuse ? ", unfused" : "", kiln_graph_error(g));
    if (o->backend == KILN_BACKEND_CPU)
        add_stats(st, p, what);
    return p;
}

kiln_program *ch_compile(kiln_graph *g, kiln_backend b, int threads,
                         ch_stats *st, const char *what)
{
    /* the oracle computes with IEEE subnormals, and so must the code */
    kiln_compile_options o = {.backend = b, .threads = threads, .keep_denormals = 1};
    return ch_compile_with(g, &o, st, what);
}

void ch_bind(ch_ctx *c, kiln_program *p)
{
    for (int i = 0; i < c->nfeeds; i++) {
        const ch_feed *f = &c->feed[i];
        if (kiln_set_input(p, f->name, f->bytes, f->nbytes) != KILN_OK)
            fail_msg("%s: set_input %s: %s", c->what, f->name,
                     kiln_program_error(p));
    }
}

void ch_run(kiln_program *p)
{
    if (kiln_run(p) != KILN_OK)
        fail_msg("run: %s", kiln_program_error(p));
}

void ch_collect(kiln_program *p, char kind, ch_values *v)
{
    memset(v, 0, sizeof *v);
    int n = kiln_program_binding_count(p);
    for (int i = 0; i < n; i++) {
        kiln_binding b;
        assert_int_equal(kiln_program_binding(p, i, &b), KILN_OK);
        if (b.kind != kind)
            continue;
        assert_true(v->n < CH_MAX_OUTS + CH_MAX_FEEDS);
        int k = v->n++;
        v->kind[k] = kind;
        v->name[k] = b.name;
        v->dtype[k] = b.dtype;
        v->nbytes[k] = (size_t)numel(b.rank, b.dims) * kiln_dtype_size(b.dtype);
        v->data[k] = malloc(v->nbytes[k] ? v->nbytes[k] : 1);
        assert_non_null(v->data[k]);
        kiln_status s = kind == 'o' ? kiln_get_output(p, b.name, v->data[k], v->nbytes[k])
                                    : kiln_get_param(p, b.name, v->data[k], v->nbytes[k]);
        if (s != KILN_OK)
            fail_msg("get %s: %s", b.name, kiln_program_error(p));
    }
}

void ch_values_free(ch_values *v)
{
    for (int i = 0; i < v->n; i++)
        free(v->data[i]);
    v->n = 0;
}

void ch_same_bits(const char *what, const ch_values *a, const ch_values *b)
{
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        assert_int_equal(a->nbytes[i], b->nbytes[i]);
        if (memcmp(a->data[i], b->data[i], a->nbytes[i]) == 0)
            continue;
        size_t es = kiln_dtype_size(a->dtype[i]);
        for (size_t e = 0; e * es < a->nbytes[i]; e++)
            if (memcmp((char *)a->data[i] + e * es, (char *)b->data[i] + e * es, es)) {
                fail_msg("%s: '%s' differs bitwise at element %zu: %.17g vs %.17g",
                         what, a->name[i], e, ch_get(a->dtype[i], a->data[i], (int64_t)e),
                         ch_get(b->dtype[i], b->data[i], (int64_t)e));
            }
    }
}

/* ---- comparing with the reference ----------------------------------- */

/* Keep the largest error seen, as a fraction of what was allowed. */
static void note_error(ch_ctx *c, double err, double bound, const char *out,
                       const char *how)
{
    if (!(bound > 0) || !isfinite(err) || err / bound <= c->worst)
        return;
    c->worst = err / bound;
    snprintf(c->worst_where, sizeof c->worst_where, "'%s'%s", out, how);
}

static const ch_tol *tol_for(const ch_ctx *c, const char *name, char kind)
{
    if (kind == 'p')
        return &c->param_tol;
    for (int i = 0; i < c->nouts; i++)
        if (strcmp(c->out[i].name, name) == 0)
            return &c->out[i].tol;
    fail_msg("%s: output '%s' is not the test's", c->what, name);
    return NULL;
}

static void compare_one(ch_ctx *c, const ch_values *cpu, const ch_values *ref,
                        int i, int run, const char *how)
{
    const ch_tol *tol = tol_for(c, cpu->name[i], cpu->kind[i]);
    if (tol->kind == CH_SKIP)
        return;
    const void *scale = NULL;
    if (tol->kind == CH_SCALE && tol->scale_out >= 0) {
        assert_true(tol->scale_out < ref->n);
        assert_int_equal(ref->nbytes[tol->scale_out], ref->nbytes[i]);
        scale = ref->data[tol->scale_out];
    }
    kiln_dtype t = cpu->dtype[i];
    int64_t n = (int64_t)(cpu->nbytes[i] / kiln_dtype_size(t));
    double biggest = 0;
    for (int64_t e = 0; tol->kind == CH_TENSOR && e < n; e++)
        if (isfinite(ch_get(t, ref->data[i], e)))
            biggest = fmax(biggest, fabs(ch_get(t, ref->data[i], e)));
    for (int64_t e = 0; e < n; e++) {
        double got = ch_get(t, cpu->data[i], e), want = ch_get(t, ref->data[i], e);
        double s = scale ? fabs(ch_get(t, scale, e)) : tol->scale;
        if (tol->kind == CH_TENSOR)
            s = biggest;
        if (ir_dtype_is_float(t) && isfinite(want))
            note_error(c, fabs(got - want), allowed(t, want, s, tol), cpu->name[i], how);
        if (!ch_close(t, got, want, s, tol))
            fail_msg("%s%s: %s '%s' (%s) run %d element %lld: cpu %.9g, reference "
                     "%.9g (|diff| %.3g, %.3g ulp, scale %.3g)",
                     c->what, how, cpu->kind[i] == 'o' ? "output" : "param", cpu->name[i],
                     kiln_dtype_name(t), run, (long long)e, got, want,
                     fabs(got - want), fabs(got - want) / ch_ulp_of(t, want), s);
    }
}

static void compare_ref(ch_ctx *c, const ch_values *cpu, const ch_values *ref,
                        int run, const char *how)
{
    assert_int_equal(cpu->n, ref->n);
    for (int i = 0; i < cpu->n; i++) {
        assert_string_equal(cpu->name[i], ref->name[i]);
        assert_int_equal(cpu->nbytes[i], ref->nbytes[i]);
        compare_one(c, cpu, ref, i, run, how);
    }
}

static void record_ops(ch_ctx *c)
{
    size_t n = kiln_graph_node_count(c->g);
    for (size_t i = 0; i < n; i++) {
        int op = ch_op_of(kiln_node_op(c->g, ir_handle(c->g, (uint32_t)i)));
        if (op >= 0)
            c->seen[op] = true;
    }
}

void ch_compare_all(ch_ctx *c, kiln_program *p[CH_NPROG], char kind, int run)
{
    ch_values v[CH_NPROG];
    for (int i = 0; i < CH_NPROG; i++)
        ch_collect(p[i], kind, &v[i]);
    compare_ref(c, &v[1], &v[0], run, "");
    compare_ref(c, &v[3], &v[0], run, " (unfused)");
    char what[160];
    snprintf(what, sizeof what, "%s: threads 2 vs 1, run %d", c->what, run);
    ch_same_bits(what, &v[1], &v[2]);
    for (int i = 0; i < CH_NPROG; i++)
        ch_values_free(&v[i]);
}

void ch_compile_all(ch_ctx *c, kiln_program *p[CH_NPROG])
{
    record_ops(c);
    kiln_compile_options unfused = {.backend = KILN_BACKEND_CPU, .threads = 1, .no_fuse = 1,
                                    .keep_denormals = 1};
    p[0] = ch_compile(c->g, KILN_BACKEND_REF, 0, NULL, c->what);
    p[1] = ch_compile(c->g, KILN_BACKEND_CPU, 1, c->stats, c->what);
    p[2] = ch_compile(c->g, KILN_BACKEND_CPU, 2, NULL, c->what);
    p[3] = ch_compile_with(c->g, &unfused, NULL, c->what);
    for (int i = 0; i < CH_NPROG; i++)
        ch_bind(c, p[i]);
}

void ch_run_all(kiln_program *p[CH_NPROG])
{
    for (int i = 0; i < CH_NPROG; i++)
        ch_run(p[i]);
}

void ch_free_all(kiln_program *p[CH_NPROG])
{
    for (int i = 0; i < CH_NPROG; i++)
        kiln_program_free(p[i]);
}

void ch_check(ch_ctx *c)
{
    kiln_program *p[CH_NPROG];
    ch_compile_all(c, p);
    for (int run = 1; run <= c->runs; run++) {
        ch_run_all(p);
        ch_compare_all(c, p, 'o', run);
    }
    ch_compare_all(c, p, 'p', c->runs);
    ch_free_all(p);
    ch_report_worst(c);
}

void ch_report_worst(ch_ctx *c)
{
    if (c->worst > 0)
        printf("  %s: largest error %.3g of its bound (%s)\n", c->what, c->worst,
               c->worst_where);
    if (c->stats && c->worst > c->stats->worst) {
        c->stats->worst = c->worst;
        snprintf(c->stats->worst_where, sizeof c->stats->worst_where, "%s %s", c->what,
                 c->worst_where);
    }
}

void ch_stats_print(const char *suite, const ch_stats *st)
{
    if (!st->programs)
        return;
    printf("%s: %d CPU programs compiled, %d kernels; JIT compile "
           "time total %.1f ms, mean %.1f ms (lower %.1f, codegen %.1f, "
           "optimize %.1f, jit %.1f), slowest %.1f ms (%s)\n",
           suite, st->programs, st->kernels, st->total_ms,
           st->total_ms / st->programs, st->lower_ms / st->programs,
           st->codegen_ms / st->programs, st->optimize_ms / st->programs,
           st->jit_ms / st->programs, st->max_ms, st->max_what);
    if (st->worst > 0)
        printf("%s: largest error of any toleranced comparison: %.3g of its bound (%s)\n",
               suite, st->worst, st->worst_where);
}
