/*
 * cpu_ops.h — the CPU-vs-reference op cases, in groups.
 *
 * Every case is a row {name, op, fn} of a group table.  test_cpu_ops.c
 * runs one group per executable (so meson runs them in parallel) and, in
 * the coverage executable, checks that every op of ops.def — enumerated
 * from the X-macro — has a row, and that every row really compiled a
 * graph containing its op.
 */
#ifndef KILN_TESTS_CPU_OPS_H
#define KILN_TESTS_CPU_OPS_H

#include "cpu_help.h"

typedef struct co_case co_case;

/* Per case: the ops its graphs contained, and the suite's stats. */
typedef struct co_env {
    const co_case *c;
    bool seen[IR_OP_COUNT];
    ch_stats *stats;
} co_env;

struct co_case {
    const char *name;
    int op; /* an ir_op */
    void (*fn)(co_env *e);
};

#define CO_GROUPS(X) X(unary) X(binary) X(layout) X(reduce) X(matmul) X(nn)
#define CO_DECLARE(group) extern const co_case co_cases_##group[];
CO_GROUPS(CO_DECLARE)
#undef CO_DECLARE

/* Start a graph for the case (seeded from the case name and `variant`). */
void co_begin(co_env *e, ch_ctx *c, const char *variant);
/* ch_check, note the ops seen, ch_end. */
void co_check(co_env *e, ch_ctx *c);

/* The dtypes the builder accepts for a one-input op of the given input
 * dtype, found by trying: build(g, input of dtype t) records no error. */
typedef kiln_node (*co_unary_builder)(kiln_graph *g, kiln_node x);
bool co_accepts_unary(co_unary_builder f, kiln_dtype t);
typedef kiln_node (*co_binary_builder)(kiln_graph *g, kiln_node a, kiln_node b);
bool co_accepts_binary(co_binary_builder f, kiln_dtype t);

extern const kiln_dtype co_dtypes[KILN_DTYPE_COUNT];

/* Transpose of a fresh input of the transposed 2-D shape: a [d0, d1]
 * operand that is the transpose of an input [d1, d0]. */
kiln_node co_transposed(ch_ctx *c, kiln_dtype t, int64_t d0, int64_t d1,
                        ch_dist dist);

/* Dtype masks (1 << dtype) for what kiln.h documents an op accepts. */
#define CO_F32 (1u << KILN_F32)
#define CO_F64 (1u << KILN_F64)
#define CO_I32 (1u << KILN_I32)
#define CO_BOOL (1u << KILN_BOOL)
#define CO_FLOAT (CO_F32 | CO_F64)
#define CO_NUMERIC (CO_F32 | CO_F64 | CO_I32)
#define CO_NSPEC(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* f64 transcendental bound: cpu_math.h's plus 2 ulp, glibc's own error
 * (the f64 reference is glibc's double libm; glibc manual, "Errors in
 * Math Functions", x86_64). */
#define CO_LIBM_F64 2

/* i32 edge values: extremes, 0, +-1, squares that wrap. */
extern const double co_int_specials[8];

#endif
