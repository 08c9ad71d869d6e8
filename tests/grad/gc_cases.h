/*
 * gc_cases.h — the gradient-check case tables.  Each row checks one op
 * (an ir_op) in one shape configuration; test_gradcheck.c runs every row
 * and fails the suite when a differentiable op of ops.def has fewer than
 * GC_MIN_CASES rows, or when a row's graph never contained its op.
 */
#ifndef KILN_TESTS_GC_CASES_H
#define KILN_TESTS_GC_CASES_H

#include "gc.h"

#define GC_MIN_CASES 3

typedef struct gc_case gc_case;
struct gc_case {
    const char *what; /* the shape configuration, for messages */
    int op;           /* the ir_op under test                  */
    void (*fn)(gc *c, const gc_case *k);
    int variant;      /* which configuration fn builds          */
};

/* Tables end with a row whose `what` is NULL. */
extern const gc_case gc_cases_elementwise[];
extern const gc_case gc_cases_layout[];
extern const gc_case gc_cases_reduce[];

#endif
