/*
 * cuda_ops.h — building the per-op graphs of the CUDA op tests and
 * comparing their emulated outputs with the reference.
 *
 * A case builds one graph with seeded random inputs (awkward shapes:
 * size-1 dims, odd sizes, rank 0, broadcasting, transposed operands; the
 * first elements of some inputs are special values) and marks outputs,
 * each with a tolerance.  oc_check runs it fused and unfused through
 * cc_run (NVRTC + ptxas + emulation) and compares every output and param
 * with the reference.  Tolerances are those of tests/cpu (the CUDA
 * emitter documents the same or tighter bounds, cuda_math.c) except where
 * a case says otherwise.
 */
#ifndef KILN_TESTS_CUDA_OPS_H
#define KILN_TESTS_CUDA_OPS_H

#include "cuda_check.h"

/* How a floating output is compared (i32 and bool: always exactly):
 *   OC_EXACT   the same bits (any NaN matches any NaN)
 *   OC_VALUE   equal as numbers (-0 == +0)
 *   OC_ULP     |got - ref| <= n ulp(ref)
 *   OC_REL     |got - ref| <= n max(|ref|, scale)
 *   OC_REL_TO  the same with scale from output scale_out's reference
 *              value at that element (a sum of |terms|)
 *   OC_SKIP    not compared (a scale output)
 * NaN must match NaN and infinities must match exactly in every mode. */
typedef enum oc_kind { OC_EXACT, OC_VALUE, OC_ULP, OC_REL, OC_REL_TO, OC_SKIP } oc_kind;
typedef struct oc_tol {
    oc_kind kind;
    double n, scale;
    int scale_out;
} oc_tol;

static inline oc_tol oc_exact(void) { oc_tol t = {OC_EXACT, 0, 0, -1}; return t; }
static inline oc_tol oc_value(void) { oc_tol t = {OC_VALUE, 0, 0, -1}; return t; }
static inline oc_tol oc_ulp(double n) { oc_tol t = {OC_ULP, n, 0, -1}; return t; }
static inline oc_tol oc_rel(double n, double scale) { oc_tol t = {OC_REL, n, scale, -1}; return t; }
static inline oc_tol oc_rel_to(double n, int out) { oc_tol t = {OC_REL_TO, n, 0, out}; return t; }
static inline oc_tol oc_skip(void) { oc_tol t = {OC_SKIP, 0, 0, -1}; return t; }

/* tests/cpu's relative bounds for sums, matmuls and composites */
#define OC_REL_F32 1e-5
#define OC_REL_F64 1e-12
static inline double oc_rel_of(kiln_dtype t) { return t == KILN_F64 ? OC_REL_F64 : OC_REL_F32; }

#define OC_MAX 64

typedef struct oc {
    kiln_graph *g;
    const char *what;
    uint64_t rng;
    int nfeeds;
    cc_feed feed[OC_MAX];
    char feed_name[OC_MAX][16];
    int nouts;
    char out_name[OC_MAX][16];
    oc_tol tol[OC_MAX];
    oc_tol param_tol;
    cc_stats *st;
} oc;

/* Input values: uniform in [lo, hi) (i32: integers; bool: 0/1), rounded
 * to multiples of coarse when > 0, the first nspecial from specials. */
typedef struct oc_dist {
    double lo, hi, coarse;
    int nspecial;
    const double *specials;
} oc_dist;
static inline oc_dist oc_uniform(double lo, double hi) { oc_dist d = {lo, hi, 0, 0, NULL}; return d; }

void oc_begin(oc *c, const char *what, uint64_t seed, cc_stats *st);
kiln_node oc_input(oc *c, kiln_dtype t, int rank, const int64_t *dims, oc_dist d);
/* A [d0, d1] operand that is the transpose of a fresh [d1, d0] input. */
kiln_node oc_transposed(oc *c, kiln_dtype t, int64_t d0, int64_t d1, oc_dist d);
/* Mark y as an output; returns its index (for oc_rel_to). */
int oc_output(oc *c, kiln_node y, oc_tol tol);
/* Feed a param's starting value (instead of its initialiser). */
void oc_param_value(oc *c, const char *name, const void *data, size_t nbytes);
/* Run fused and unfused, compare, fail the test on a mismatch; frees. */
void oc_check(oc *c);
/* The same for n cases at once: all 2n programs share one translation
 * unit (one NVRTC, ptxas and host compile: those dominate the time). */
void oc_check_many(oc *cs, int n);

/* Special values for float inputs */
extern const double oc_float_specials[12];
extern const double oc_int_specials[8];

#endif
