/*
 * kernel.h — the kernel IR: what lowering (and later fusion) produces and
 * every code generator consumes.  Codegens never look at graph ops other
 * than the elementwise ones named inside expressions.
 *
 * A kernel is a loop nest over an iteration domain (rank <= 8).  It reads
 * buffers through accesses — affine maps from the loop point to an
 * element, so broadcast, transpose, reshape of contiguous data and slices
 * are strides, never copies; pad and concat use guarded accesses.  At each
 * point it evaluates a small expression DAG.  It has at most one heavy
 * part:
 *   K_MAP     out[point] = value
 *   K_REDUCE  out[kept axes] = epilogue(fold(combiner, value over the
 *             reduced axes))
 *   K_MATMUL  out[b.., m, n] = epilogue(sum_k A[b.., m, k] B[b.., k, n]),
 *             domain [b.., M, N]; A and B are accesses with an extra stride
 *             along k.
 *   K_ROW     per row of the last axis: fold row_value[0], then [1], ...
 *             (each may use the earlier results), then out[point] = value;
 *             softmax and normalisations in one pass over memory per row.
 * A program is an ordered list of kernels over numbered buffers, plus the
 * end-of-run copies that implement assign.
 */
#ifndef KILN_IR_KERNEL_H
#define KILN_IR_KERNEL_H

#include "ir.h"

#define K_NO_BUFFER UINT32_MAX
#define K_MAX_EXTRA 7

typedef enum k_buf_kind {
    KB_INPUT, /* bound by name each run             */
    KB_PARAM, /* persistent, owned by the program   */
    KB_CONST, /* data from the graph snapshot       */
    KB_TEMP   /* lives in the arena at `offset`     */
} k_buf_kind;

typedef struct k_buffer {
    k_buf_kind kind;
    kiln_dtype dtype;
    int64_t numel;
    uint32_t node;   /* the graph node whose value it holds */
    int64_t offset;  /* KB_TEMP: byte offset in the arena (memory plan) */
    const void *data; /* KB_CONST: borrowed from the graph */
} k_buffer;

/* element(point) = offset + sum_d stride[d] * point[d], valid only where
 * lo[d] <= point[d] < hi[d] for every axis when guarded.  buf may be
 * K_NO_BUFFER: then the map only computes an index (random streams). */
typedef struct k_access {
    uint32_t buf;
    int64_t offset;
    int64_t stride[KILN_MAX_RANK];
    bool guarded;
    int64_t lo[KILN_MAX_RANK], hi[KILN_MAX_RANK];
} k_access;

typedef enum k_expr_kind {
    KE_LOAD,   /* the element of access `acc` (clamped in range if guarded) */
    KE_INSIDE, /* bool: the point is inside access `acc`'s guard            */
    KE_CONST,  /* `value` in `dtype`                                        */
    KE_OP,     /* elementwise `op` (unary, binary, compare, select, cast)   */
    KE_INDEX,  /* i32: the loop index along `axis`                          */
    KE_RANDOM, /* args (seed, offset); element index from access `acc`;
                * value < 0: uniform in dtype; else bool bernoulli(value)  */
    KE_ACC     /* a folded value: reduction / matmul epilogues (axis 0),
                * K_ROW's row folds (axis j)                                */
} k_expr_kind;

typedef struct k_expr {
    k_expr_kind kind;
    ir_op op;
    kiln_dtype dtype;
    int nargs;
    int args[3];
    int acc;
    int axis;
    double value;
} k_expr;

typedef enum k_kind { K_MAP, K_REDUCE, K_MATMUL, K_ROW } k_kind;

#define K_MAX_ROW 8

typedef struct kernel {
    k_kind kind;
    uint32_t node; /* the graph node it computes (for names and messages) */
    int rank;
    int64_t dims[KILN_MAX_RANK];
    k_access *acc;
    int nacc, acccap;
    k_expr *expr;
    int nexpr, exprcap;
    int value;    /* K_MAP: stored; K_REDUCE: folded; K_MATMUL: unused */
    int out;      /* access the result is stored through */
    /* K_MAP: more values stored at the same point (multi-output fusion) */
    int nextra;
    int extra_value[K_MAX_EXTRA], extra_out[K_MAX_EXTRA];
    int epilogue; /* K_REDUCE, K_MATMUL: expression of KE_ACC stored, or -1 */
    /* K_REDUCE */
    uint32_t reduce_mask; /* loop axes folded */
    ir_op combiner;       /* IR_OP_SUM, MAX, MIN or ARGMAX */
    /* K_ROW: folds over the last axis, in order */
    int nrow;
    int row_value[K_MAX_ROW];
    ir_op row_combiner[K_MAX_ROW];
    /* K_MATMUL: the last two domain axes are m, n */
    int a, b;             /* accesses of A[.., m, k=0] and B[.., k=0, n] */
    int64_t k_len, a_kstride, b_kstride;
} kernel;

/* An assign, applied after the run: param dst <- new value src (equal
 * sizes).  in_place: the kernel computing the new value stores it into the
 * param itself (pass_assign_in_place) and src is never written; nothing is
 * left to copy, but the param still changes at each run. */
typedef struct k_copy {
    uint32_t dst, src;
    bool in_place;
} k_copy;

typedef struct k_output {
    const char *name; /* borrowed from the graph */
    uint32_t buf;
} k_output;

/* Why a value was left in memory instead of fused into its consumer. */
typedef enum k_reason {
    KR_SOURCE,       /* an input, param or non-uniform constant            */
    KR_OUTPUT,       /* an output or a param's new value                   */
    KR_HEAVY,        /* a reduction or matmul result (a kernel boundary)   */
    KR_SHARED,       /* several consumers, too costly to recompute         */
    KR_OPERAND,      /* a GEMM operand must be in memory                   */
    KR_RESHAPE,      /* a reshape that merges axes of a computed value     */
    KR_EPILOGUE,     /* read by the consumer through a non-identity map    */
    KR_CAP,          /* the consumer's kernel reached the size cap         */
    KR_UNFUSED       /* fusion is off                                      */
} k_reason;

typedef struct k_decision {
    uint32_t producer, consumer; /* graph nodes of the edge left unfused */
    k_reason reason;
} k_decision;

const char *k_reason_text(k_reason r);

typedef struct k_program {
    kiln_graph *g;  /* the snapshot the program was lowered from (owned) */
    kernel *k;
    int nk, kcap;
    k_buffer *buf;
    uint32_t nbuf, bufcap;
    uint32_t *node_buf; /* graph node -> buffer, K_NO_BUFFER if none */
    k_copy *copies;
    int ncopies;
    k_output *outputs;
    int noutputs;
    int64_t arena_bytes;
    k_decision *log; /* fusion decisions, one per edge left unfused */
    int nlog, logcap;
} k_program;

/* --- kernel.c: construction helpers ------------------------------------ */
void k_program_free(k_program *p);
/* Append an empty kernel; NULL on OOM (error recorded in p->g). */
kernel *k_add_kernel(k_program *p, k_kind kind, uint32_t node, int rank,
                     const int64_t *dims);
uint32_t k_add_buffer(k_program *p, k_buf_kind kind, uint32_t node);
int k_add_access(k_program *p, kernel *k, const k_access *a);
int k_add_expr(k_program *p, kernel *k, const k_expr *e);
/* Shorthands returning the new expression's index (-1 on OOM). */
int k_load(k_program *p, kernel *k, int acc, kiln_dtype t);
int k_const(k_program *p, kernel *k, kiln_dtype t, double v);
int k_op(k_program *p, kernel *k, ir_op op, kiln_dtype t, int nargs,
         const int *args);
/* Row-major strides of a type, in elements. */
void k_row_major(const ir_type *t, int64_t *strides);
/* Merge adjacent loop axes that every access walks contiguously (and that
 * are both reduced or both kept), so inner loops are long. */
void k_collapse(kernel *k);
/* Human-readable dump of one kernel (for --dump-after=lower and tests). */
void k_print(const k_program *p, const kernel *k, char *buf, size_t len);

/* --- memplan.c, memcheck.c: the memory plan ---------------------------- */
#define K_ARENA_ALIGN 64

/* When a buffer is live, in kernel indices.  `write`: the first kernel
 * storing it; `read`: the first kernel loading it; `last`: the last
 * kernel touching it, or p->nk when it must survive the run (an output or
 * an assign's source).  -1 where there is none; a temp with write == -1
 * is dead and gets no space. */
typedef struct k_live {
    int write, read, last;
} k_live;

/* Fill live[0..nbuf) (temps only; other buffers get -1s). */
void k_live_ranges(const k_program *p, k_live *live);

/* Give every live temp a K_ARENA_ALIGN-aligned arena offset, reusing bytes
 * of temps that are dead by then (best fit, largest first) and letting an
 * elementwise kernel's output take the slot of an input dying there when
 * k_inplace_refusal allows it.  Sets arena_bytes; non-temps get offset -1,
 * dead temps offset 0 (never touched).  Always leaves a valid plan: out of
 * memory, it falls back to one slice per temp. */
kiln_status k_plan_memory(k_program *p);

/* Max over kernels of the bytes of the temps live at that kernel: no plan
 * without in-place reuse can use less.  -1 when out of memory. */
int64_t k_plan_lower_bound(const k_program *p);

/* NULL when temp o may be stored over temp x's bytes by kernel t (x dies
 * there, t is a map kernel reading x only through o's store map, ...);
 * otherwise why not, as a phrase. */
const char *k_inplace_refusal(const k_program *p, const k_live *live, int t,
                              uint32_t x, uint32_t o);

/* Which kernel stores buffer b: its index, -1 for none, -2 for several. */
int k_sole_writer(const k_program *p, uint32_t b);

/* NULL when map kernel t may store param P's new value, held in buffer o
 * (a temp, or P itself once rewritten), straight into P: t reads P only at
 * the element it stores, nothing after t reads P's old value, nobody else
 * reads the new one; otherwise why not, as a phrase. */
const char *k_assign_in_place_refusal(const k_program *p, int t, uint32_t P,
                                      uint32_t o);

/* Prove the plan: temps live at the same time share no byte unless they
 * are a legal in-place pair, every temp lies inside the arena at an
 * aligned offset, non-temps have no offset, no temp is read before it is
 * written, a param is stored only by its legal in-place assign.  KILN_OK,
 * or an error with the first violation in err. */
kiln_status k_check_plan(const k_program *p, char *err, size_t len);

/* Do buffers a and b occupy overlapping arena bytes (both temps)?  True
 * for in-place pairs: a codegen must not mark their pointers noalias. */
bool k_buffers_share(const k_program *p, uint32_t a, uint32_t b);

#endif
