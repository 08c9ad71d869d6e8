/*
 * rg_check.h — running one generated graph on the reference and on the
 * CPU backend fused and unfused, comparing, and reporting (used by
 * test_random_graphs.c).
 */
#ifndef KILN_TESTS_RG_CHECK_H
#define KILN_TESTS_RG_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "graphgen.h"

#define RG_MAX_KERNELS 64

typedef struct rg_stats {
    int graphs, training, failures;
    double gen_ms, ref_ms, fused_ms, unfused_ms, run_ms, wall_ms, cpu_ms;
    double max_wall_ms;
    uint64_t slowest_seed;
    long kernels_fused, kernels_unfused;
    int ratio_hist[5];       /* fused/unfused: 1, [.75,1), [.5,.75), [.25,.5), < .25 */
    int fused_hist[RG_MAX_KERNELS + 1]; /* fused kernel counts (last: more) */
    bool *seen;              /* per op of the table: used by some graph     */
    double worst;            /* largest |diff| / tolerance seen (floating)   */
    uint64_t worst_seed;
    char worst_what[96];
    long compared;           /* elements compared                          */
    int verbose;             /* 2: print each graph before compiling it     */
} rg_stats;

/* Generate, compile three ways, run, compare; false on any mismatch or
 * error, after printing the seed, the graph in text form and the first
 * mismatching element.  dump_dir (may be NULL) receives the graph and its
 * inputs as files for `kiln run`. */
bool rg_check_seed(uint64_t seed, rg_stats *st, const char *dump_dir);

/* Print the accumulated statistics (the report of a run). */
void rg_stats_print(const char *what, const rg_stats *st);

#endif
