/*
 * cpu_help.h — shared machinery of the CPU backend tests.
 *
 * A test builds one graph with seeded random inputs and marks outputs,
 * each with a tolerance; ch_check then compiles the graph four times —
 * the reference evaluator (the oracle), the CPU backend as kiln_compile
 * makes it by default with one thread and with two, and the CPU backend
 * unfused (one kernel per node, no_fuse) with one thread — runs them all,
 * and checks
 *   - every output and param of CPU(1) and of unfused CPU(1) against the
 *     reference, within the output's tolerance (i32 and bool always
 *     exactly), and
 *   - every output and param of CPU(2) against CPU(1) bitwise (memcmp).
 * It also records which graph ops the case contained, so a case filed
 * under an op fails if its graphs never used that op, and keeps the JIT
 * compile times for the suite's report.
 */
#ifndef KILN_TESTS_CPU_HELP_H
#define KILN_TESTS_CPU_HELP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include "kiln.h"
#include "ir/ir.h"

#define CH_MAX_FEEDS 64
#define CH_MAX_OUTS 64

/* How an output of CPU(1) is compared with the reference (floating
 * dtypes; i32 and bool are always compared exactly):
 *   CH_EXACT  the same bits (any NaN matches any NaN): ops that are
 *             correctly rounded in both backends (+ - * / sqrt, moves)
 *   CH_VALUE  equal as numbers, so -0 matches +0 (max/min reductions,
 *             whose tie order between signed zeros is not specified)
 *   CH_ULP    |cpu - ref| <= n ulp(ref) in the output dtype
 *             (transcendental functions: the bounds of cpu_math.h)
 *   CH_SCALE  |cpu - ref| <= n * max(|ref|, scale), scale per element
 *             from another output of the reference run (a sum of |terms|)
 *             or a fixed number
 *   CH_TENSOR |cpu - ref| <= n * max_j |ref_j| over the whole tensor
 *             (params after training steps: elements near 0 are judged
 *             against the tensor's magnitude)
 *   CH_SKIP   not compared with the reference (the scale outputs
 *             themselves); CPU(1) vs CPU(2) is still bitwise
 * NaN must match NaN and an infinity must match exactly in every mode. */
typedef enum ch_tol_kind { CH_EXACT, CH_VALUE, CH_ULP, CH_SCALE, CH_TENSOR, CH_SKIP } ch_tol_kind;

typedef struct ch_tol {
    ch_tol_kind kind;
    double n;            /* ulps (CH_ULP) or relative bound (CH_SCALE)     */
    int scale_out;       /* CH_SCALE: index of the scale output, or -1     */
    double scale;        /* CH_SCALE with scale_out < 0: a fixed scale     */
} ch_tol;

static inline ch_tol ch_exact(void) { ch_tol t = {CH_EXACT, 0, -1, 0}; return t; }
static inline ch_tol ch_value(void) { ch_tol t = {CH_VALUE, 0, -1, 0}; return t; }
static inline ch_tol ch_ulp(double n) { ch_tol t = {CH_ULP, n, -1, 0}; return t; }
static inline ch_tol ch_rel(double n) { ch_tol t = {CH_SCALE, n, -1, 0}; return t; }
static inline ch_tol ch_rel_fixed(double n, double scale) { ch_tol t = {CH_SCALE, n, -1, scale}; return t; }
static inline ch_tol ch_rel_to(double n, int scale_out) { ch_tol t = {CH_SCALE, n, scale_out, 0}; return t; }
static inline ch_tol ch_tensor(double n) { ch_tol t = {CH_TENSOR, n, -1, 0}; return t; }
static inline ch_tol ch_skip(void) { ch_tol t = {CH_SKIP, 0, -1, 0}; return t; }
/* The same as initialisers, for static tables. */
#define CH_TOL_EXACT {CH_EXACT, 0, -1, 0}
#define CH_TOL_ULP(n) {CH_ULP, (n), -1, 0}
#define CH_TOL_REL(n) {CH_SCALE, (n), -1, 0}

/* The relative bound of the brief for f32 sums, matmuls and composites,
 * and the one used for f64 (the same kind of bound, scaled to f64's
 * epsilon: 2^-52 * a few thousand terms is still below it). */
#define CH_REL_F32 1e-5
#define CH_REL_F64 1e-12

/* What the suite reports: JIT compile times of the CPU programs built. */
typedef struct ch_stats {
    int programs;
    double total_ms, max_ms, lower_ms, codegen_ms, optimize_ms, jit_ms;
    int kernels;
    char max_what[96];
    double worst;          /* largest error / allowed error seen */
    char worst_where[256];
} ch_stats;

/* A distribution for test inputs: uniform in [lo, hi) (i32: integers in
 * that range; bool: 0/1 at random).  coarse > 0 rounds values to
 * multiples of `coarse` so ties and exact equalities occur.  The first
 * nspecial elements (when the tensor has that many) are specials[]. */
typedef struct ch_dist {
    double lo, hi;
    double coarse;
    int nspecial;
    const double *specials;
} ch_dist;

static inline ch_dist ch_uniform(double lo, double hi) { ch_dist d = {lo, hi, 0, 0, NULL}; return d; }

typedef struct ch_feed {
    char name[KILN_MAX_NAME];
    void *bytes;
    size_t nbytes;
} ch_feed;

typedef struct ch_out {
    char name[KILN_MAX_NAME];
    ch_tol tol;
} ch_out;

typedef struct ch_ctx {
    kiln_graph *g;
    uint64_t rng;
    int nfeeds;
    ch_feed feed[CH_MAX_FEEDS];
    int nouts;
    ch_out out[CH_MAX_OUTS];
    ch_tol param_tol;  /* params after the runs, CPU(1) vs reference   */
    int runs;          /* kiln_run calls per program (default 1)       */
    bool seen[IR_OP_COUNT];
    ch_stats *stats;   /* may be NULL                                  */
    char what[96];     /* a label for messages and the stats           */
    double worst;      /* largest error / allowed error so far         */
    char worst_where[128];
} ch_ctx;

/* Start a graph; seed drives every input of the case. */
void ch_begin(ch_ctx *c, const char *what, uint64_t seed, ch_stats *stats);
/* Free the graph and the inputs (ch_check does not). */
void ch_end(ch_ctx *c);

/* An input "x<k>" filled from dist, or from vals (numel doubles). */
kiln_node ch_input(ch_ctx *c, kiln_dtype t, int rank, const int64_t *dims,
                   ch_dist dist);
/* The same with a name of the caller's. */
kiln_node ch_input_named(ch_ctx *c, const char *name, kiln_dtype t, int rank,
                         const int64_t *dims, ch_dist dist);
kiln_node ch_input_values(ch_ctx *c, kiln_dtype t, int rank,
                          const int64_t *dims, const double *vals);
/* Mark y as output "y<k>" compared with tol; returns k (for ch_rel_to). */
int ch_output(ch_ctx *c, kiln_node y, ch_tol tol);

/* Compare an output the graph already has (named by the caller) with tol. */
void ch_tolerate(ch_ctx *c, const char *name, ch_tol tol);
/* Bind raw bytes to input `name` of every program ch_check compiles. */
void ch_feed_bytes(ch_ctx *c, const char *name, const void *bytes, size_t nbytes);

/* Compile the reference, CPU(1), CPU(2) and unfused CPU(1); run each
 * c->runs times; compare after every run (outputs) and after the last
 * (params).  Fails the test on any mismatch or error. */
void ch_check(ch_ctx *c);

/* The programs of ch_check, compiled and bound: p[0] reference, p[1] CPU
 * with 1 thread, p[2] with 2, p[3] unfused with 1; the caller runs
 * them. */
#define CH_NPROG 4
void ch_compile_all(ch_ctx *c, kiln_program *p[CH_NPROG]);
void ch_run_all(kiln_program *p[CH_NPROG]);
void ch_free_all(kiln_program *p[CH_NPROG]);
/* Compare kind 'o' (outputs) or 'p' (params) as ch_check does. */
void ch_compare_all(ch_ctx *c, kiln_program *p[CH_NPROG], char kind, int run);

/* ---- lower-level pieces, also used by the training and AOT tests ---- */

/* Compile with a backend (threads for the CPU), failing the test with the
 * graph's error when it does not compile; adds CPU compile times to st. */
kiln_program *ch_compile(kiln_graph *g, kiln_backend b, int threads,
                         ch_stats *st, const char *what);
kiln_program *ch_compile_with(kiln_graph *g, const kiln_compile_options *o,
                              ch_stats *st, const char *what);
/* Bind every feed of c to p. */
void ch_bind(ch_ctx *c, kiln_program *p);
/* Run once, failing the test with the program's error on failure. */
void ch_run(kiln_program *p);

/* Every output ('o') or param ('p') of p, in binding order, as bytes. */
typedef struct ch_values {
    int n;
    char kind[CH_MAX_OUTS + CH_MAX_FEEDS];
    const char *name[CH_MAX_OUTS + CH_MAX_FEEDS];
    kiln_dtype dtype[CH_MAX_OUTS + CH_MAX_FEEDS];
    size_t nbytes[CH_MAX_OUTS + CH_MAX_FEEDS];
    void *data[CH_MAX_OUTS + CH_MAX_FEEDS];
} ch_values;
void ch_collect(kiln_program *p, char kind, ch_values *v);
void ch_values_free(ch_values *v);
/* Bitwise equality of two collections, naming the first difference. */
void ch_same_bits(const char *what, const ch_values *a, const ch_values *b);

/* Element i of typed bytes as a double (exact for every dtype). */
double ch_get(kiln_dtype t, const void *bytes, int64_t i);
/* Compare one float element; returns true when within tol. */
bool ch_close(kiln_dtype t, double got, double want, double scale,
              const ch_tol *tol);
/* Spacing of dtype t's values at |v| (the smallest subnormal at 0). */
double ch_ulp_of(kiln_dtype t, double v);

/* splitmix64 in [0, 1) */
double ch_unit(uint64_t *state);

/* Print c's largest error relative to its bound and add it to the stats
 * (ch_check does it; callers of the lower-level pieces may). */
void ch_report_worst(ch_ctx *c);

/* Print the accumulated stats (to stdout, as the suite's report). */
void ch_stats_print(const char *suite, const ch_stats *st);

/* The op with text name `name`, or -1. */
int ch_op_of(const char *name);

#endif
