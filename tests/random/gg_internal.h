/*
 * gg_internal.h — the generator's working state, shared by graphgen.c (the
 * driver: shapes, inputs, patterns), gg_ops.c (elementwise ops and their
 * interval/error rules) and gg_struct.c (layout, reductions, matmul,
 * composites, random ops).
 *
 * Every builder here takes value indices, checks the op's preconditions
 * on the operands' intervals and exactness, computes the result's
 * knowledge, and only then calls kiln.  It returns the new value's index,
 * or -1 when the op does not apply (the caller picks something else).
 */
#ifndef KILN_TESTS_GG_INTERNAL_H
#define KILN_TESTS_GG_INTERNAL_H

#include "graphgen.h"

#define GG_MAX_VALS 160

typedef struct gg_val {
    kiln_node n;
    kiln_dtype t;
    int rank;
    int64_t dims[KILN_MAX_RANK];
    double lo, hi;     /* every element lies in [lo, hi]                  */
    double err;        /* bound on |backend - reference| (0 when exact)    */
    bool exact;        /* on the grid 2^-q Z, computed exactly everywhere  */
    int q;
    uint32_t params;   /* params it depends on differentiably (bit mask)   */
    int uses;
    bool leaf;         /* input, param or constant                          */
    bool konst;        /* a constant: not worth building ops on             */
} gg_val;

typedef struct gg {
    gg_case *c;
    kiln_graph *g;
    uint64_t rng;
    kiln_dtype ft;     /* the graph's floating dtype                        */
    bool ints;         /* an integer graph (i32 arithmetic)                 */
    bool training;
    gg_val v[GG_MAX_VALS];
    int nv;
    int ninputs, nconsts;
    int cost;          /* roughly the kernels the unfused program will have */
    int seed_in, offset_in; /* random counters (value index, -1 until made) */
    char summary[200];
} gg;

/* ---- PRNG (splitmix64) ------------------------------------------------ */
uint64_t gg_next(gg *s);
/* uniform integer in [0, n) */
int gg_below(gg *s, int n);
/* uniform in [lo, hi] */
int gg_range(gg *s, int lo, int hi);
/* true with probability p */
bool gg_chance(gg *s, double p);
/* uniform double in [0, 1) */
double gg_unit(gg *s);

/* ---- knowledge -------------------------------------------------------- */
double gg_mag(const gg_val *v);              /* max |element| bound        */
double gg_eps(kiln_dtype t);                 /* spacing of 1.0's neighbours */
bool gg_is_float(kiln_dtype t);
int64_t gg_numel(const gg_val *v);
/* Does a grid-2^-q value of magnitude m fit dtype t exactly? */
bool gg_fits(kiln_dtype t, double m, int q);
/* Smallest q >= 0 with v * 2^q an integer (60 if none below that). */
int gg_grid_of(double v);
/* Turn r into an exact value on grid q if it fits, else charge `ulps`
 * roundings of the result to r->err. */
void gg_settle(gg_val *r, bool exact, int q, double ulps);
/* Is r's error bound within the budget relative to its magnitude? */
bool gg_within_budget(const gg_val *r);

/* ---- values ----------------------------------------------------------- */
/* Append value `meta` (node included); -1 if the table is full or the
 * node is invalid.  Counts a use of each operand. */
int gg_push(gg *s, const gg_val *meta, const int *operands, int n);
/* A fresh input with data drawn uniformly on grid 2^-q in [lo, hi]
 * (i32: integers; bool: 0/1). */
int gg_input(gg *s, kiln_dtype t, int rank, const int64_t *dims, double lo,
             double hi, int q);
/* A trainable f32 param with grid values in [lo, hi]. */
int gg_param(gg *s, int rank, const int64_t *dims, double lo, double hi, int q);
/* A rank-0 constant. */
int gg_scalar(gg *s, kiln_dtype t, double v);
/* A constant tensor of random grid values (or all equal when uniform). */
int gg_const(gg *s, kiln_dtype t, int rank, const int64_t *dims, double lo,
             double hi, int q, bool uniform);

/* ---- the driver's pieces (gg_actions.c) ------------------------------- */
enum {
    W_MAIN = 1,   /* the graph's arithmetic dtype (s->ft, or i32)           */
    W_FLOAT = 2,
    W_EXACT = 4,
    W_RANK1 = 8,  /* rank >= 1                                              */
    W_RANK2 = 16, /* rank >= 2                                              */
    W_I32 = 32,
    W_BOOL = 64
};
kiln_dtype gg_main(const gg *s);
/* A recent non-constant value with the wanted properties, or -1. */
int gg_pick(gg *s, int want);
/* A random shape: rank 0..4, dims mostly 1..12, sometimes up to 70. */
int gg_shape(gg *s, int64_t *dims);
int64_t gg_dim(gg *s);
/* A fresh input of dtype t with a range and grid suited to it. */
int gg_new_input(gg *s, kiln_dtype t, int rank, const int64_t *dims);
/* Patterns (gg_patterns.c): several ops that fusion treats specially. */
void gg_pattern_reduce(gg *s);
void gg_pattern_softmax(gg *s);
void gg_pattern_layernorm(gg *s);
void gg_pattern_matmul(gg *s);
void gg_pattern_one_hot(gg *s);
void gg_pattern_random(gg *s);
/* One random step (a pattern or a single op) on the current values. */
void gg_step(gg *s);
/* Append a note to the summary. */
void gg_note(gg *s, const char *what);

/* ---- elementwise (gg_ops.c) ------------------------------------------- */
typedef enum gg_unop {
    U_EXP, U_LOG, U_LOG1P, U_SQRT, U_RSQRT, U_RECIP, U_TANH, U_SIGMOID,
    U_GELU, U_SIN, U_COS, U_NEG, U_ABS, U_SQUARE, U_RELU, U_SIGN, U_COUNT
} gg_unop;
typedef enum gg_binop {
    B_ADD, B_SUB, B_MUL, B_DIV, B_POW, B_MAX, B_MIN,
    B_LT, B_LE, B_GT, B_GE, B_EQ, B_NE, B_COUNT
} gg_binop;
extern const char *const gg_unop_name[U_COUNT];
int gg_unary(gg *s, int a, gg_unop op);
int gg_binary(gg *s, int a, int b, gg_binop op);
int gg_select(gg *s, int cond, int a, int b);
int gg_cast(gg *s, int a, kiln_dtype t);
/* Bring |a| under `limit` by a power-of-two scale (exactness kept). */
int gg_rescale(gg *s, int a, double limit);
/* A value >= floor (floating): a shift, |a| + c, a^2 + c or exp. */
int gg_positive(gg *s, int a, double floor);
/* Do the shapes of a and b broadcast? */
bool gg_broadcasts(const gg_val *a, const gg_val *b);

/* ---- structure (gg_struct.c) ------------------------------------------ */
int gg_transpose(gg *s, int a, const int *perm);
int gg_reshape(gg *s, int a, int rank, const int64_t *dims);
int gg_broadcast_to(gg *s, int a, int rank, const int64_t *dims);
int gg_slice(gg *s, int a, const int64_t *start, const int64_t *stop,
             const int64_t *step);
int gg_concat(gg *s, int n, const int *xs, int axis);
int gg_pad(gg *s, int a, const int64_t *lo, const int64_t *hi, double value);
typedef enum gg_redop { R_SUM, R_MEAN, R_MAX, R_MIN, R_ARGMAX, R_COUNT } gg_redop;
/* naxes 0 with axes NULL reduces everything; argmax takes axes[0]. */
int gg_reduce(gg *s, int a, gg_redop op, int naxes, const int *axes,
              int keepdims);
int gg_matmul(gg *s, int a, int b);
int gg_softmax(gg *s, int a, int axis, bool log);
int gg_softmax_ce(gg *s, int logits, int labels);
int gg_one_hot(gg *s, int labels, int depth, kiln_dtype t);
int gg_mse(gg *s, int a, int b);
int gg_random_uniform(gg *s, kiln_dtype t, int rank, const int64_t *dims);
int gg_bernoulli(gg *s, double p, int rank, const int64_t *dims);
int gg_dropout(gg *s, int a, double rate);

#endif
