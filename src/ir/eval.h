/*
 * eval.h — the reference evaluator: the oracle every backend is compared
 * with.  Straightforward C: every value is held as doubles rounded to its
 * node's dtype after each op (so f32 results are what exact math rounded
 * to f32 gives), sums and dot products accumulate in f64 (i32: in int64,
 * wrapping to 32 bits at the end), broadcasting by index arithmetic.
 * Clarity over speed.
 */
#ifndef KILN_IR_EVAL_H
#define KILN_IR_EVAL_H

#include "ir.h"

typedef struct ir_eval {
    const kiln_graph *g;
    double **val;       /* per node index: numel doubles, or NULL */
    char *err;          /* message buffer for run-time errors */
    size_t errlen;
} ir_eval;

/* Evaluate every node of g in order.  The caller fills val[i] for each
 * INPUT and PARAM node (numel doubles, allocated with ir_alloc on g);
 * the evaluator allocates and fills the rest.  On failure the message is
 * in err.  ir_eval_release frees every val[i] and the array itself. */
kiln_status ir_eval_graph(kiln_graph *g, double **val, char *err,
                          size_t errlen);
void ir_eval_release(kiln_graph *g, double **val);

/* Raw typed bytes <-> doubles. */
void ir_to_doubles(kiln_dtype t, const void *src, int64_t n, double *dst);
void ir_from_doubles(kiln_dtype t, const double *src, int64_t n, void *dst);

/* One evaluator per op (the eval_ID column implied by ops.def). */
#define OP(id, text, arity, cat, attr, shape, vjp, flags) \
    kiln_status eval_##id(ir_eval *e, const ir_node *n, double *out);
#include "ops.def"
#undef OP

/* Helpers shared by the eval_*.c files. */
#define EVAL_IN(e, n, i) ((e)->val[(n)->in[i]])
#define EVAL_TYPE(e, n, i) (&(e)->g->nodes[(n)->in[i]].type)
/* Row-major strides of t. */
void ir_strides(const ir_type *t, int64_t *strides);
/* Strides to read `in` broadcast against `out` (0 on stretched axes). */
void ir_broadcast_strides(const ir_type *in, const ir_type *out,
                          int64_t *strides);
/* Offset of flat output index i under per-axis strides over out's dims. */
int64_t ir_offset(const ir_type *out, const int64_t *strides, int64_t i);
kiln_status ir_eval_fail(ir_eval *e, const ir_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Wrap an exact integer to i32 two's complement. */
double ir_wrap_i32(int64_t v);

#endif
