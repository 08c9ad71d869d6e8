/*
 * test_cuda_random.c — graphs of the random-graph generator
 * (tests/random/graphgen.h) through the CUDA code generator, fused: every
 * program compiles with NVRTC for compute_90 and ptxas for sm_90, and its
 * host emulation matches the reference evaluator.
 *
 * Tolerances are the random-graph suite's (tests/random/rg_check.c):
 *   |cuda - ref| <= max(base (1 + |ref|), err)
 * base 1e-4 in f32 and 1e-12 in f64, err the generator's bound on the
 * rounding difference of that output; outputs the generator proved exact,
 * i32 and bool must be equal; params after a training step within base.
 *
 * Arguments: shard nshards.  Graphs of seeds first .. first + n - 1 (env
 * KILN_CUDA_RANDOM_FIRST, default 1; KILN_CUDA_RANDOM_GRAPHS, default 400)
 * with seed % nshards == shard; KILN_CUDA_RANDOM_SEED runs one seed.
 * Graphs go CC_BATCH at a time into one translation unit.
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

#include "../random/graphgen.h"
#include "cuda_check.h"

#define RG_BATCH 12

static int shard, nshards = 1;

typedef struct rg_item {
    gg_case c;
    cc_feed feeds[GG_MAX_FEEDS + GG_MAX_PARAMS];
    int nfeeds;
} rg_item;

static uint64_t env_u64(const char *name, uint64_t fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    return *end ? fallback : (uint64_t)x;
}

static const gg_expect *expect_of(const gg_case *c, const char *name)
{
    for (int o = 0; o < c->nouts; o++)
        if (strcmp(c->out[o].name, name) == 0)
            return &c->out[o];
    return NULL;
}

/* Compare every value of one graph; false after printing the mismatch. */
static bool compare(const rg_item *it, const cc_values *v, cc_stats *st)
{
    for (int k = 0; k < v->n; k++) {
        const kiln_binding *b = &v->b[k];
        bool floating = b->dtype == KILN_F32 || b->dtype == KILN_F64;
        const gg_expect *e = b->kind == 'o' ? expect_of(&it->c, b->name) : NULL;
        bool exact = !floating || (e && e->exact);
        double err = e ? e->err : 0, base = b->dtype == KILN_F32 ? 1e-4 : 1e-12;
        size_t n = v->bytes[k] / kiln_dtype_size(b->dtype);
        for (size_t i = 0; i < n; i++) {
            double want = cc_get(b->dtype, v->ref[k], i), got = cc_get(b->dtype, v->got[k], i);
            double tol = fmax(base * (1 + fabs(want)), err);
            bool ok;
            if (isnan(got) || isnan(want))
                ok = isnan(got) && isnan(want);
            else if (exact || isinf(got) || isinf(want))
                ok = got == want;
            else
                ok = fabs(got - want) <= tol;
            if (!exact && isfinite(got) && isfinite(want) && fabs(got - want) / tol > st->worst) {
                st->worst = fabs(got - want) / tol;
                snprintf(st->worst_where, sizeof st->worst_where, "seed %llu, %s '%s'",
                         (unsigned long long)it->c.seed, b->kind == 'o' ? "output" : "param",
                         b->name);
            }
            if (ok)
                continue;
            char where[96];
            cc_index_text(b, i, where, sizeof where);
            char *text = kiln_print(it->c.g);
            printf("seed %llu (%s): %s '%s' (%s) element %zu %s: emulated CUDA %.9g, "
                   "reference %.9g, allowed %s%.3g\ngraph:\n%s\n",
                   (unsigned long long)it->c.seed, it->c.summary,
                   b->kind == 'o' ? "output" : "param", b->name, kiln_dtype_name(b->dtype), i,
                   where, got, want, exact ? "exactly, " : "", exact ? 0 : tol,
                   text ? text : "?");
            kiln_text_free(it->c.g, text);
            return false;
        }
    }
    return true;
}

static void prepare(rg_item *it, uint64_t seed)
{
    memset(it, 0, sizeof *it);
    if (!gg_generate(&it->c, seed))
        fail_msg("seed %llu: the generator failed: %s", (unsigned long long)seed,
                 kiln_graph_error(it->c.g));
    for (int i = 0; i < it->c.nfeeds; i++)
        it->feeds[it->nfeeds++] = (cc_feed){'i', it->c.feed[i].name, it->c.feed[i].data,
                                            it->c.feed[i].nbytes};
    for (int i = 0; i < it->c.nparams; i++)
        it->feeds[it->nfeeds++] = (cc_feed){'p', it->c.param[i].name, it->c.param[i].data,
                                            it->c.param[i].nbytes};
}

/* One batch: returns the number of graphs that failed. */
static int run_batch(rg_item *items, int n, cc_stats *st)
{
    cc_item ci[RG_BATCH];
    memset(ci, 0, sizeof ci);
    for (int j = 0; j < n; j++) {
        ci[j].g = items[j].c.g;
        ci[j].feeds = items[j].feeds;
        ci[j].nfeeds = items[j].nfeeds;
        ci[j].fuse = true;
    }
    char msg[8192];
    int failures = 0;
    if (!cc_run_batch(ci, n, st, msg, sizeof msg)) {
        /* "program j" / "kiln_p<j>_k.." in msg is the j-th seed below;
         * rerun one with KILN_CUDA_RANDOM_SEED=<seed> */
        printf("batch failed: %s\nseeds of the batch, in order:", msg);
        for (int j = 0; j < n; j++)
            printf(" %llu", (unsigned long long)items[j].c.seed);
        printf("\n");
        failures = 1;
    } else {
        for (int j = 0; j < n; j++)
            failures += !compare(&items[j], &ci[j].v, st);
    }
    for (int j = 0; j < n; j++) {
        cc_values_free(&ci[j].v);
        gg_free(&items[j].c);
    }
    return failures;
}

static void test_cuda_random_graphs(void **state)
{
    (void)state;
    static cc_stats st;
    static rg_item items[RG_BATCH];
    uint64_t one = env_u64("KILN_CUDA_RANDOM_SEED", 0);
    uint64_t first = one ? one : env_u64("KILN_CUDA_RANDOM_FIRST", 1);
    uint64_t count = one ? 1 : env_u64("KILN_CUDA_RANDOM_GRAPHS", 400);
    int graphs = 0, failures = 0, n = 0;
    for (uint64_t seed = first; seed < first + count; seed++) {
        if (!one && seed % (uint64_t)nshards != (uint64_t)shard)
            continue;
        prepare(&items[n++], seed);
        graphs++;
        if (n == RG_BATCH) {
            failures += run_batch(items, n, &st);
            n = 0;
        }
    }
    if (n)
        failures += run_batch(items, n, &st);
    char what[96];
    snprintf(what, sizeof what, "cuda random graphs, shard %d of %d (%d graphs)", shard,
             nshards, graphs);
    cc_stats_print(what, &st);
    if (failures)
        fail_msg("%d of %d random graphs (or batches) failed: seeds above", failures, graphs);
}

int main(int argc, char **argv)
{
    if (argc == 3) {
        shard = atoi(argv[1]);
        nshards = atoi(argv[2]);
        if (nshards < 1 || shard < 0 || shard >= nshards) {
            fprintf(stderr, "usage: %s [shard nshards]\n", argv[0]);
            return 2;
        }
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cuda_random_graphs)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
