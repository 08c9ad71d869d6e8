/*
 * rg_check.c — one generated graph through the reference evaluator (the
 * oracle), the CPU backend fused and the CPU backend unfused.
 *
 * Tolerances (floating outputs the generator could not prove exact):
 *   |backend - ref| <= max(base * (1 + |ref|), err)
 * base is 1e-4 for f32 (the brief's bound, about 840 ulp) and 1e-12 for
 * f64 (the same number of ulp scaled to f64, with margin); err is the
 * generator's first-order bound on the rounding difference for that
 * output (graphgen.h), which is what grows with long sums and matmuls
 * (n + 1 ulp of n |x|max per sum of n terms) and with ill-conditioned ops.
 * The generator keeps err <= 2e-4 (1 + |bound|) in f32 (1e-12 in f64) by
 * not building ops past that.
 * Exact outputs (i32, bool, random bits, values proven exact) must be
 * equal as numbers.  Params after a training step: f32 within the base
 * bound (the gradient graph is kiln's, so no tracked bound exists), i32
 * (Adam's step counter) exactly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ir/ir.h"
#include "rg_check.h"

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

static double get(kiln_dtype t, const void *p, int64_t i)
{
    switch (t) {
    case KILN_F32: return ((const float *)p)[i];
    case KILN_F64: return ((const double *)p)[i];
    case KILN_I32: return ((const int32_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
    }
}

enum { REF, FUSED, UNFUSED, NPROG };
static const char *const prog_name[NPROG] = {"reference", "cpu fused", "cpu unfused"};

typedef struct rg_run {
    gg_case c;
    kiln_program *p[NPROG];
    kiln_compile_stats stats[NPROG];
    rg_stats *st;
    const char *dump_dir;
    bool printed_graph;
} rg_run;

/* ---- failure reports ---------------------------------------------------- */

static void dump_feed(rg_run *r, const gg_feed *feed, const char *kind, char *path, size_t len)
{
    snprintf(path, len, "%s/seed%llu.%s%s.bin", r->dump_dir, (unsigned long long)r->c.seed,
             kind, feed->name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(feed->data, 1, feed->nbytes, f);
        fclose(f);
    }
}

/* The graph and its inputs as files, and the command replaying them. */
static void dump_files(rg_run *r)
{
    char path[512];
    snprintf(path, sizeof path, "%s/seed%llu.kiln", r->dump_dir, (unsigned long long)r->c.seed);
    char *text = kiln_print(r->c.g);
    FILE *f = fopen(path, "w");
    if (f && text)
        fputs(text, f);
    if (f)
        fclose(f);
    kiln_text_free(r->c.g, text);
    printf("  replay: kiln run %s --backend cpu [--no-fuse]", path);
    for (int i = 0; i < r->c.nfeeds; i++) {
        dump_feed(r, &r->c.feed[i], "", path, sizeof path);
        printf(" --input %s=%s", r->c.feed[i].name, path);
    }
    printf("\n");
    for (int i = 0; i < r->c.nparams; i++) { /* kiln run takes no param files */
        dump_feed(r, &r->c.param[i], "param.", path, sizeof path);
        printf("  param %s started from %s (kiln_set_param)\n", r->c.param[i].name, path);
    }
}

/* The seed, the graph as text (once) and, for fused failures, the plan. */
static void report(rg_run *r, const char *msg, const char *detail)
{
    printf("random graph seed %llu FAILED (replay: KILN_RANDOM_SEED=%llu) [%s]\n  %s%s\n",
           (unsigned long long)r->c.seed, (unsigned long long)r->c.seed, r->c.summary,
           msg, detail ? detail : "");
    if (r->printed_graph)
        return;
    r->printed_graph = true;
    char *text = kiln_print(r->c.g);
    printf("---- graph (kiln text format) ----\n%s", text ? text : "(print failed)\n");
    kiln_text_free(r->c.g, text);
    kiln_compile_options o = {.backend = KILN_BACKEND_CPU};
    char *plan = kiln_explain(r->c.g, &o);
    printf("---- fused plan (kiln_explain) ----\n%s----\n", plan ? plan : "(explain failed)\n");
    kiln_text_free(r->c.g, plan);
    if (r->dump_dir)
        dump_files(r);
}

/* ---- compile, bind, run ------------------------------------------------- */

static bool compile_all(rg_run *r)
{
    kiln_compile_options o[NPROG] = {
        {.backend = KILN_BACKEND_REF},
        {.backend = KILN_BACKEND_CPU, .threads = r->c.seed % 3 == 0 ? 2 : 1},
        {.backend = KILN_BACKEND_CPU, .threads = 1, .no_fuse = 1},
    };
    double *ms[NPROG] = {&r->st->ref_ms, &r->st->fused_ms, &r->st->unfused_ms};
    for (int k = 0; k < NPROG; k++) {
        double t0 = now_ms();
        r->p[k] = kiln_compile(r->c.g, &o[k]);
        *ms[k] += now_ms() - t0;
        if (!r->p[k]) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s: compile failed: %s", prog_name[k],
                     kiln_graph_error(r->c.g));
            kiln_graph_clear_error(r->c.g);
            report(r, msg, NULL);
            return false;
        }
        kiln_program_stats(r->p[k], &r->stats[k]);
    }
    return true;
}

static bool bind_and_run(rg_run *r)
{
    double t0 = now_ms();
    for (int k = 0; k < NPROG; k++) {
        kiln_status s = KILN_OK;
        for (int i = 0; i < r->c.nfeeds && s == KILN_OK; i++)
            s = kiln_set_input(r->p[k], r->c.feed[i].name, r->c.feed[i].data, r->c.feed[i].nbytes);
        for (int i = 0; i < r->c.nparams && s == KILN_OK; i++)
            s = kiln_set_param(r->p[k], r->c.param[i].name, r->c.param[i].data,
                               r->c.param[i].nbytes);
        if (s == KILN_OK)
            s = kiln_run(r->p[k]);
        if (s != KILN_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "%s: bind or run failed: %s", prog_name[k],
                     kiln_program_error(r->p[k]));
            report(r, msg, NULL);
            return false;
        }
    }
    r->st->run_ms += now_ms() - t0;
    return true;
}

/* ---- comparison --------------------------------------------------------- */

static double tolerance(kiln_dtype t, double want, double err)
{
    double base = t == KILN_F32 ? 1e-4 : 1e-12;
    return fmax(base * (1 + fabs(want)), err);
}

/* Index i of a tensor of binding b as "[i0,i1,..]". */
static void index_text(const kiln_binding *b, int64_t i, char *buf, size_t len)
{
    int64_t idx[KILN_MAX_RANK];
    for (int d = b->rank - 1; d >= 0; d--) {
        idx[d] = i % b->dims[d];
        i /= b->dims[d];
    }
    size_t n = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < b->rank && n < len; d++)
        n += (size_t)snprintf(buf + n, len - n, "%s%lld", d ? "," : "", (long long)idx[d]);
    if (n < len)
        snprintf(buf + n, len - n, "]");
}

static bool close_enough(kiln_dtype t, bool exact, double got, double want, double tol)
{
    if (isnan(got) || isnan(want))
        return isnan(got) && isnan(want);
    if (exact || !(t == KILN_F32 || t == KILN_F64) || isinf(got) || isinf(want))
        return got == want;
    return fabs(got - want) <= tol;
}

static void mismatch(rg_run *r, const kiln_binding *b, int k, size_t i, double got,
                     double want, bool exact, double tol, double err)
{
    char where[128], msg[700], tol_text[64] = "0 (exact)";
    index_text(b, (int64_t)i, where, sizeof where);
    if (!exact)
        snprintf(tol_text, sizeof tol_text, "%.3g (bound %.3g)", tol, err);
    snprintf(msg, sizeof msg,
             "%s '%s' (%s, rank %d) of %s: first mismatch at element %zu %s: "
             "got %.9g, reference %.9g, |diff| %.3g, allowed ",
             b->kind == 'o' ? "output" : "param", b->name, kiln_dtype_name(b->dtype),
             b->rank, prog_name[k], i, where, got, want, fabs(got - want));
    report(r, msg, tol_text);
}

/* Backend k's n elements against the reference's; the closest approach
 * to a tolerance goes to the stats. */
static bool compare_elements(rg_run *r, const kiln_binding *b, int k, void *const *data,
                             size_t n, bool exact, double err)
{
    bool floating = b->dtype == KILN_F32 || b->dtype == KILN_F64;
    for (size_t i = 0; i < n; i++) {
        double want = get(b->dtype, data[REF], (int64_t)i);
        double got = get(b->dtype, data[k], (int64_t)i);
        double tol = tolerance(b->dtype, want, err);
        r->st->compared++;
        if (!exact && floating && isfinite(got) && fabs(got - want) / tol > r->st->worst) {
            r->st->worst = fabs(got - want) / tol;
            r->st->worst_seed = r->c.seed;
            snprintf(r->st->worst_what, sizeof r->st->worst_what, "%s %s, %s",
                     b->kind == 'o' ? "output" : "param", b->name, prog_name[k]);
        }
        if (!close_enough(b->dtype, exact, got, want, tol)) {
            mismatch(r, b, k, i, got, want, exact, tol, err);
            return false;
        }
    }
    return true;
}

/* Compare binding b of every backend with the reference. */
static bool compare(rg_run *r, const kiln_binding *b, bool exact, double err)
{
    size_t n = 1;
    for (int d = 0; d < b->rank; d++)
        n *= (size_t)b->dims[d];
    size_t bytes = n * kiln_dtype_size(b->dtype);
    void *data[NPROG];
    bool ok = true;
    for (int k = 0; k < NPROG; k++) {
        data[k] = malloc(bytes ? bytes : 1);
        kiln_status s = b->kind == 'o' ? kiln_get_output(r->p[k], b->name, data[k], bytes)
                                       : kiln_get_param(r->p[k], b->name, data[k], bytes);
        if (s != KILN_OK && ok) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s: cannot read '%s': %s", prog_name[k], b->name,
                     kiln_program_error(r->p[k]));
            report(r, msg, NULL);
            ok = false;
        }
    }
    for (int k = FUSED; k < NPROG && ok; k++)
        ok = compare_elements(r, b, k, data, n, exact, err);
    for (int k = 0; k < NPROG; k++)
        free(data[k]);
    return ok;
}

static bool compare_all(rg_run *r)
{
    bool ok = true;
    int n = kiln_program_binding_count(r->p[REF]);
    for (int i = 0; i < n; i++) {
        kiln_binding b;
        if (kiln_program_binding(r->p[REF], i, &b) != KILN_OK || b.kind == 'i')
            continue;
        bool exact = !(b.dtype == KILN_F32 || b.dtype == KILN_F64);
        double err = 0;
        for (int o = 0; o < r->c.nouts && b.kind == 'o'; o++)
            if (strcmp(r->c.out[o].name, b.name) == 0) {
                exact |= r->c.out[o].exact;
                err = r->c.out[o].err;
            }
        ok &= compare(r, &b, exact, err);
    }
    return ok;
}

/* ---- statistics --------------------------------------------------------- */

static void count_kernels(rg_run *r)
{
    rg_stats *st = r->st;
    int f = r->stats[FUSED].kernels, u = r->stats[UNFUSED].kernels;
    st->kernels_fused += f;
    st->kernels_unfused += u;
    st->fused_hist[f < RG_MAX_KERNELS ? f : RG_MAX_KERNELS]++;
    double ratio = u > 0 ? (double)f / u : 1;
    st->ratio_hist[ratio >= 1 ? 0 : ratio >= 0.75 ? 1 : ratio >= 0.5 ? 2 : ratio >= 0.25 ? 3 : 4]++;
}

static void note_ops(rg_run *r)
{
    for (uint32_t i = 0; i < r->c.g->count; i++)
        r->st->seen[r->c.g->nodes[i].op] = true;
}

static bool generate(rg_run *r, uint64_t seed)
{
    if (!gg_generate(&r->c, seed)) {
        char msg[600];
        snprintf(msg, sizeof msg, "the generator's graph is invalid: %s",
                 r->c.g ? kiln_graph_error(r->c.g) : "out of memory");
        report(r, msg, NULL);
        return false;
    }
    if (r->st->verbose >= 2) {
        char *text = kiln_print(r->c.g);
        printf("[%s]\n%s", r->c.summary, text ? text : "");
        fflush(stdout);
        kiln_text_free(r->c.g, text);
    }
    return true;
}

/* Outputs and params agree, and fusion did not add kernels. */
static bool check(rg_run *r)
{
    note_ops(r);
    count_kernels(r);
    bool ok = compare_all(r);
    if (r->stats[FUSED].kernels > r->stats[UNFUSED].kernels) {
        char msg[200];
        snprintf(msg, sizeof msg, "fused program has %d kernels, unfused %d",
                 r->stats[FUSED].kernels, r->stats[UNFUSED].kernels);
        report(r, msg, NULL);
        ok = false;
    }
    return ok;
}

static void account(rg_run *r, bool ok, double wall, double cpu)
{
    rg_stats *st = r->st;
    if (st->verbose)
        printf("  seed %llu: %s, kernels %d/%d, compile %.0f/%.0f ms [%s]\n",
               (unsigned long long)r->c.seed, ok ? "ok" : "FAILED", r->stats[FUSED].kernels,
               r->stats[UNFUSED].kernels, r->stats[FUSED].total_ms, r->stats[UNFUSED].total_ms,
               r->c.summary);
    st->graphs++;
    st->training += r->c.training;
    st->failures += !ok;
    st->wall_ms += wall;
    st->cpu_ms += cpu;
    if (wall > st->max_wall_ms) {
        st->max_wall_ms = wall;
        st->slowest_seed = r->c.seed;
    }
}

bool rg_check_seed(uint64_t seed, rg_stats *st, const char *dump_dir)
{
    double t0 = now_ms(), c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
    rg_run *r = calloc(1, sizeof *r);
    if (!r)
        return false;
    r->st = st;
    r->dump_dir = dump_dir;
    r->c.seed = seed;
    bool ok = generate(r, seed);
    st->gen_ms += now_ms() - t0;
    ok = ok && compile_all(r) && bind_and_run(r) && check(r);
    account(r, ok, now_ms() - t0, clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0);
    for (int k = 0; k < NPROG; k++)
        kiln_program_free(r->p[k]);
    gg_free(&r->c);
    free(r);
    return ok;
}

void rg_stats_print(const char *what, const rg_stats *st)
{
    int n = st->graphs ? st->graphs : 1;
    printf("%s: %d graphs (%d with a training step), %d failed, %ld elements compared\n",
           what, st->graphs, st->training, st->failures, st->compared);
    printf("  per graph: %.1f ms CPU time, %.1f ms wall (generate %.2f, compile ref %.2f, fused %.1f, "
           "unfused %.1f, run %.2f); slowest %.0f ms (seed %llu)\n",
           st->cpu_ms / n, st->wall_ms / n, st->gen_ms / n, st->ref_ms / n, st->fused_ms / n,
           st->unfused_ms / n, st->run_ms / n, st->max_wall_ms,
           (unsigned long long)st->slowest_seed);
    printf("  kernels: fused %.2f, unfused %.2f per graph; fused/unfused ratio: "
           "=1 %d, [.75,1) %d, [.5,.75) %d, [.25,.5) %d, <.25 %d\n",
           (double)st->kernels_fused / n, (double)st->kernels_unfused / n, st->ratio_hist[0],
           st->ratio_hist[1], st->ratio_hist[2], st->ratio_hist[3], st->ratio_hist[4]);
    printf("  fused kernel counts:");
    for (int k = 0; k <= RG_MAX_KERNELS; k++)
        if (st->fused_hist[k])
            printf(" %s%d:%d", k == RG_MAX_KERNELS ? ">=" : "", k, st->fused_hist[k]);
    printf("\n  closest to tolerance: %.3g of the allowed difference (seed %llu, %s)\n",
           st->worst, (unsigned long long)st->worst_seed, st->worst_what);
}
