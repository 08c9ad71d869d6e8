/*
 * ophelp.h — shared helpers of the reference-evaluator op tests.
 *
 * Every test case is a row {name, op, fn} in a group table; the tables
 * are what test_coverage.c checks against ops.def, so an op with no row
 * fails the suite.  A row's op must really run: oh_eval records the ops
 * of every graph it evaluates, and the group runner fails a case whose
 * graphs never contained its op.
 *
 * Expected values in the cases are computed independently of the
 * evaluator: hand-written numbers or plain loops with libm in the test.
 * Nothing here calls the evaluator's helpers; the only internal call is
 * ir_philox4x32_10 in the known-answer test, and this file carries its
 * own Philox (oh_philox) so the stream tests have an independent oracle.
 */
#ifndef KILN_TESTS_OPHELP_H
#define KILN_TESTS_OPHELP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include "kiln.h"
#include "ir/ir.h"

/* A case that runs no graph op of its own (known-answer vectors). */
#define OH_NO_OP IR_OP_COUNT

typedef struct oh_case oh_case;

/* Per-case record: which ops the case's evaluated graphs contained. */
typedef struct oh_t {
    const oh_case *c;
    bool seen[IR_OP_COUNT + 1];
} oh_t;

struct oh_case {
    const char *name;
    int op; /* an ir_op, or OH_NO_OP */
    void (*fn)(oh_t *t);
};

/* The groups; each table ends with a row whose name is NULL. */
#define OH_GROUPS(X) \
    X(source) X(elementwise) X(layout) X(reduce) X(matmul) X(nn) X(random) \
    X(init)
#define OH_DECLARE(group) extern const oh_case oh_cases_##group[];
OH_GROUPS(OH_DECLARE)
#undef OH_DECLARE

/* Run one table as a cmocka group; returns the number of failures. */
int oh_run_group(const char *group, const oh_case *cases);

/* ---- building and running graphs ---------------------------------- */

#define OH_MAX_FEEDS 8

typedef struct oh_feed {
    char name[16];
    void *bytes;
    size_t nbytes;
} oh_feed;

/* A graph under construction, its inputs' data and a run counter. */
typedef struct oh_ctx {
    oh_t *t;
    kiln_graph *g;
    int nfeeds;
    oh_feed feed[OH_MAX_FEEDS];
    int nout;
} oh_ctx;

void oh_begin(oh_ctx *c, oh_t *t);
void oh_end(oh_ctx *c);

/* An input named "x<k>" holding vals converted to dtype t (vals must be
 * representable: integers for i32, anything for bool (v != 0)). */
kiln_node oh_in(oh_ctx *c, kiln_dtype t, int rank, const int64_t *dims,
                const double *vals);
/* Mark y as an output, compile, bind, run once and copy the output into
 * out as doubles (lossless for every dtype); n must be y's numel. */
void oh_eval(oh_ctx *c, kiln_node y, double *out, int64_t n);
/* The same, returning the run status and copying the program's error
 * message into msg (out is untouched unless the run succeeds). */
kiln_status oh_try_eval(oh_ctx *c, kiln_node y, double *out, int64_t n,
                        char *msg, size_t msglen);
/* Compile c's graph as it stands (outputs marked by the caller), bind
 * every oh_in input and record the graph's ops; the caller frees the
 * program. */
kiln_program *oh_compile(oh_ctx *c);
/* Fail unless the graph has no error (prints it). */
void oh_graph_ok(oh_ctx *c);

/* ---- values -------------------------------------------------------- */

/* v as the dtype stores it: float rounding for f32, identity for f64 and
 * i32 (v must be an in-range integer), v != 0 for bool. */
double oh_as(kiln_dtype t, double v);
/* Deterministic test data: a splitmix64 stream in [lo, hi). */
double oh_uniform(uint64_t *state, double lo, double hi);
/* Fill n values in [lo, hi), rounded with oh_as (i32: floor to integers;
 * bool: 0 or 1, each about half the time). */
void oh_fill(uint64_t *state, kiln_dtype t, double lo, double hi, double *v,
             int64_t n);

/* Compare element by element: NaN matches NaN, infinities match exactly,
 * else |got - want| <= rtol * |want| + atol.  On a mismatch print `what`,
 * the index and both values, and fail. */
void oh_check(const char *what, const double *got, const double *want,
              int64_t n, double rtol, double atol);
/* Exact (rtol = atol = 0, NaN matches NaN). */
void oh_check_exact(const char *what, const double *got, const double *want,
                    int64_t n);

/* Row-major helpers for expected-value loops. */
int64_t oh_numel(int rank, const int64_t *dims);
void oh_unflatten(int rank, const int64_t *dims, int64_t i, int64_t *idx);
int64_t oh_flatten(int rank, const int64_t *dims, const int64_t *idx);
/* Flat index into x (rank xr, dims xd) of output multi-index idx (rank
 * or), numpy broadcasting: leading axes dropped, size-1 axes pinned. */
int64_t oh_bcast_index(int xr, const int64_t *xd, int or_,
                       const int64_t *idx);

/* ---- an independent Philox-4x32-10 (Salmon et al. 2011) ------------- */
void oh_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* The kiln.h stream rule: element e uses word e % 4 of
 * Philox(key {seed, 0}, counter {e/4 low, e/4 high, offset, 0}). */
uint32_t oh_stream_word(uint32_t seed, uint32_t offset, uint64_t e);

/* i32 wrapping arithmetic as two's complement hardware does it. */
int32_t oh_wrap(int64_t v);

#endif
