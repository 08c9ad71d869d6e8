/*
 * graphgen.h — a seeded generator of random, valid, well-conditioned kiln
 * graphs for differential testing (reference vs CPU fused vs unfused).
 *
 * gg_generate(seed) builds one graph through the public API only.  Every
 * seed gives the same graph and the same input data on every machine: the
 * generator uses its own PRNG (splitmix64) and no libm result feeds a
 * decision.  Graphs mix elementwise ops with broadcasting, compare+select,
 * casts, layout chains, multi-use values, reductions, softmax-family ops,
 * layer-norm patterns, matmuls with epilogues, one_hot, random ops and
 * sometimes an SGD or Adam step on top.
 *
 * Alongside every value the generator tracks what it knows about it:
 *   - an interval [lo, hi] holding every element (inputs are drawn inside
 *     theirs, each op maps intervals conservatively);
 *   - exactness: the value lies on the grid 2^-q Z and every op on the way
 *     was exact in the dtype (sums, products of grid values that fit the
 *     mantissa, moves, max/min, compares), so every backend must give the
 *     same number whatever the evaluation order or fusion;
 *   - err: a first-order bound on |backend - reference| caused by
 *     rounding, propagated with Lipschitz bounds taken from the intervals
 *     (see gg_ops.c for the per-op rules).
 * Discontinuous ops (compares, sign, casts to i32/bool, argmax, one_hot
 * labels) only ever read exact values, so no rounding difference can flip
 * them.  Ops whose error bound would exceed a budget relative to their
 * magnitude are not built (another op is chosen), which keeps every
 * tolerance meaningful.
 */
#ifndef KILN_TESTS_GRAPHGEN_H
#define KILN_TESTS_GRAPHGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln.h"

#define GG_MAX_FEEDS 24
#define GG_MAX_OUTS 24
#define GG_MAX_PARAMS 8
#define GG_NAME 24

/* Data for an input (or a param's starting value), numel elements. */
typedef struct gg_feed {
    char name[GG_NAME];
    kiln_dtype dtype;
    size_t nbytes;
    void *data;
} gg_feed;

/* What a backend's output must satisfy against the reference. */
typedef struct gg_expect {
    char name[GG_NAME];
    kiln_dtype dtype;
    bool exact;  /* equal as numbers (i32 and bool always)               */
    double err;  /* floating, not exact: bound on the rounding difference */
} gg_expect;

typedef struct gg_case {
    kiln_graph *g;
    uint64_t seed;
    int nfeeds;
    gg_feed feed[GG_MAX_FEEDS];
    int nparams;                 /* params set to these values before the run */
    gg_feed param[GG_MAX_PARAMS];
    int nouts;
    gg_expect out[GG_MAX_OUTS];
    bool training;               /* an optimizer step: compare every param  */
    char summary[200];           /* the patterns used, for messages          */
} gg_case;

/* Build the graph of `seed` into c (which it overwrites).  Returns false
 * when a builder call failed — a generator bug or a kiln bug: the graph's
 * error says which; c is still to be freed with gg_free. */
bool gg_generate(gg_case *c, uint64_t seed);
void gg_free(gg_case *c);

#endif
