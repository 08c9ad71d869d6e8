/*
 * cuda_ops_cases.h — the table of CUDA op cases: one row per op of
 * ops.def, in groups that run as separate executables (so meson runs
 * them in parallel).  test_cuda_ops.c checks that every op of the table
 * has a row and that each row's graphs really contained its op.
 */
#ifndef KILN_TESTS_CUDA_OPS_CASES_H
#define KILN_TESTS_CUDA_OPS_CASES_H

#include "cuda_ops.h"

typedef enum oc_group { OC_ELEMENTWISE, OC_LAYOUT, OC_REDUCE, OC_MATMUL, OC_NN } oc_group;

typedef struct oc_case {
    const char *name;
    int op; /* an ir_op */
    void (*fn)(const struct oc_case *k, cc_stats *st);
    oc_group group;
} oc_case;

extern const oc_case oc_cases[]; /* ends with a NULL name */

#endif
