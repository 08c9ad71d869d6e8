/*
 * test_random_graphs.c — differential testing: seeded random graphs
 * (graphgen.h) run by the reference evaluator, the CPU backend fused and
 * the CPU backend unfused must agree within the tolerances of rg_check.c,
 * and fusion must never add kernels.
 *
 * Usage: test_random_graphs [SHARD NSHARDS]
 * Seeds 1..N (N = $KILN_RANDOM_GRAPHS, default 2000; first seed
 * $KILN_RANDOM_FIRST, default 1), those with seed % NSHARDS == SHARD.
 * $KILN_RANDOM_SEED=S runs only seed S (in shard 0).  $KILN_RANDOM_DUMP=DIR
 * writes each failing graph and its inputs there, for `kiln run`.
 * $KILN_RANDOM_VERBOSE=1 names each seed before running it, =2 also prints
 * its graph (to find the graph behind a crash).
 * Every failure prints the seed, the graph in text form and the first
 * mismatching element; the run goes on so one run shows all failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "rg_check.h"

static int shard, nshards = 1;

static uint64_t env_u64(const char *name, uint64_t fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    return *end ? fallback : (uint64_t)x;
}

/* With enough graphs every op of the table must have been generated, so
 * an op added to kiln without a generator rule fails here. */
static void check_coverage(const rg_stats *st)
{
    int missing = 0;
    for (int k = 0; k < IR_OP_COUNT; k++)
        if (!st->seen[k]) {
            printf("op '%s' appeared in no generated graph\n", ir_ops[k].name);
            missing++;
        }
    if (missing)
        fail_msg("%d ops of the table were never generated in %d graphs", missing, st->graphs);
}

static void test_random_graphs(void **state)
{
    (void)state;
    rg_stats st;
    memset(&st, 0, sizeof st);
    bool seen[IR_OP_COUNT] = {false};
    st.seen = seen;
    const char *dump = getenv("KILN_RANDOM_DUMP");
    uint64_t one = env_u64("KILN_RANDOM_SEED", 0);
    uint64_t first = env_u64("KILN_RANDOM_FIRST", 1);
    uint64_t n = env_u64("KILN_RANDOM_GRAPHS", 2000);
    int verbose = (int)env_u64("KILN_RANDOM_VERBOSE", 0);
    st.verbose = verbose;
    if (one) {
        if (shard == 0 && verbose)
            printf("seed %llu\n", (unsigned long long)one);
        if (shard == 0)
            rg_check_seed(one, &st, dump);
    } else {
        for (uint64_t seed = first; seed < first + n; seed++)
            if (seed % (uint64_t)nshards == (uint64_t)shard) {
                if (verbose) {
                    printf("seed %llu\n", (unsigned long long)seed);
                    fflush(stdout);
                }
                rg_check_seed(seed, &st, dump);
            }
    }
    char what[64];
    snprintf(what, sizeof what, "random graphs, shard %d of %d", shard, nshards);
    rg_stats_print(what, &st);
    if (st.failures)
        fail_msg("%d of %d random graphs failed (seeds printed above)", st.failures, st.graphs);
    if (st.graphs >= 400)
        check_coverage(&st);
}

int main(int argc, char **argv)
{
    if (argc == 3) {
        shard = atoi(argv[1]);
        nshards = atoi(argv[2]);
        if (nshards < 1 || shard < 0 || shard >= nshards) {
            fprintf(stderr, "usage: %s [SHARD NSHARDS]\n", argv[0]);
            return 2;
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_graphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
