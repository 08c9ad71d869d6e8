/*
 * gc.h — helpers of the gradient tests: seeded samplers that keep inputs
 * away from the points where an op is not differentiable, a finite-
 * difference gradient check, norms, and an independent Philox.
 *
 * The oracle is always computed here, never by the code under test: the
 * gradient check differentiates the loss numerically by running the
 * forward graph (compiled BEFORE kiln_grad touched it) at perturbed
 * inputs, and compares with what kiln_grad's nodes compute.  The
 * second-order check differentiates, the same way, the first-order
 * gradient that was just verified.
 */
#ifndef KILN_TESTS_GC_H
#define KILN_TESTS_GC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include "kiln.h"
#include "ir/ir.h"

/* Where sampled values lie.  The non-smooth ops are kept away from their
 * kinks here, by construction, rather than by loose tolerances. */
typedef enum gc_dist {
    GC_UNIFORM,   /* [lo, hi)                                            */
    GC_SIGNED,    /* |x| in [lo, hi), random sign: away from 0           */
    GC_LATTICE_A, /* 0.25 k + [0, 0.1): with GC_LATTICE_B, the two sets  */
    GC_LATTICE_B, /* 0.25 k + 0.125 + [0, 0.1): are >= 0.025 apart       */
    GC_DISTINCT   /* a shuffled grid 0.1 apart + [0, 0.05): no ties      */
} gc_dist;

typedef struct gc_dom {
    gc_dist dist;
    double lo, hi;
} gc_dom;

/* Initialisers: write (gc_dom)GC_ANY where an expression is needed. */
#define GC_ANY {GC_UNIFORM, -2, 2}
#define GC_POS {GC_UNIFORM, 0.2, 3}
#define GC_AWAY0 {GC_SIGNED, 0.2, 2}
#define GC_LATA {GC_LATTICE_A, 0, 0}
#define GC_LATB {GC_LATTICE_B, 0, 0}
#define GC_NOTIES {GC_DISTINCT, 0, 0}

#define GC_MAX_IN 4
#define GC_TOL 1e-6

typedef struct gc_input {
    kiln_node node;
    char name[8];
    int64_t n;
    double *x;
} gc_input;

/* One gradient check under construction. */
typedef struct gc {
    kiln_graph *g;
    uint64_t rng;
    int nin;
    gc_input in[GC_MAX_IN];
    int checks;    /* gc_check calls that completed              */
    double worst;  /* largest relative error of the last check   */
    double worst1; /* ... of its first-order part                */
    /* Also check the Hessian-vector product of the loss (gradients of
     * the gradients) against differences of the gradient. */
    bool second_order;
    kiln_node grad[GC_MAX_IN];
    /* Ops of the forward graph at the last gc_check, so a case can be
     * required to really contain the op it claims to check. */
    bool seen[IR_OP_COUNT];
} gc;

void gc_begin(gc *c, uint64_t seed);
void gc_end(gc *c);

/* Deterministic values: splitmix64. */
uint64_t gc_next(uint64_t *state);
double gc_uniform(uint64_t *state, double lo, double hi);
void gc_sample(uint64_t *state, gc_dom d, double *v, int64_t n);
uint64_t gc_hash(const char *s);

/* An f64 input "x<k>" with values drawn from d; gc_check differentiates
 * with respect to every input made here. */
kiln_node gc_input_f64(gc *c, int rank, const int64_t *dims, gc_dom d);
/* An f64 constant drawn from d (not differentiated). */
kiln_node gc_const_f64(gc *c, int rank, const int64_t *dims, gc_dom d);
/* A bool constant with random elements. */
kiln_node gc_const_bool(gc *c, int rank, const int64_t *dims);

/* loss = sum(y * W), W a random f64 constant of y's shape; check
 * kiln_grad's gradient for every gc input against central differences:
 * ||ad - fd|| <= GC_TOL ||fd|| per input.  With c->second_order, then
 * the same for a Hessian-vector product.  Fails the test otherwise. */
void gc_check(gc *c, kiln_node y);

/* Run a compiled program with every gc input bound, fetching output
 * `name` (n f64 values) into out. */
void gc_run(gc *c, kiln_program *p, const char *name, double *out,
            int64_t n);

/* Euclidean norm of a - b (b may be NULL: norm of a). */
double gc_norm_diff(const double *a, const double *b, int64_t n);

/* Fail unless the graph is error-free (prints the error). */
void gc_graph_ok(kiln_graph *g);
/* Fail unless `msg` contains `part` (prints both). */
void gc_expect_substr(const char *msg, const char *part);

/* Philox-4x32-10 written from the paper (Salmon et al. 2011), and the
 * element rule of kiln.h: element e uses word e % 4 of
 * Philox(key {seed, 0}, counter {e/4 low, e/4 high, offset, 0}). */
void gc_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
uint32_t gc_stream_word(uint32_t seed, uint32_t offset, uint64_t e);

#endif
