/*
 * ir.h — the graph IR, internal to kiln.
 *
 * A graph is an array of nodes in creation order, which is a topological
 * order: a node's inputs always have smaller indices.  Internally nodes
 * refer to each other by index; the public kiln_node handle is
 * (graph tag << 24) | (index + 1), so a handle from another graph is
 * caught (with high probability) and id 0 stays invalid.
 */
#ifndef KILN_IR_H
#define KILN_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln.h"

#define IR_INDEX_BITS 24
#define IR_MAX_NODES ((1u << IR_INDEX_BITS) - 2)
#define IR_MAX_NUMEL ((int64_t)1 << 40)
#define IR_NONE UINT32_MAX

typedef enum ir_op {
#define OP(id, text, arity, cat, attr, shape, vjp, flags) IR_OP_##id,
#include "ops.def"
#undef OP
    IR_OP_COUNT
} ir_op;

typedef enum ir_category {
    IR_CAT_SOURCE,
    IR_CAT_ELEMENTWISE,
    IR_CAT_LAYOUT,
    IR_CAT_REDUCTION,
    IR_CAT_CONTRACTION,
    IR_CAT_COMPOSITE,
    IR_CAT_RANDOM,
    IR_CAT_OPAQUE
} ir_category;

typedef enum ir_attr_kind {
    IR_ATTR_NONE,
    IR_ATTR_INIT,   /* param: initialiser                  */
    IR_ATTR_DATA,   /* const: payload in node->data        */
    IR_ATTR_PERM,   /* transpose                           */
    IR_ATTR_SLICE,  /* slice                               */
    IR_ATTR_AXIS,   /* concat, softmax, log_softmax        */
    IR_ATTR_PAD,    /* pad                                 */
    IR_ATTR_REDUCE, /* sum, mean, max, min, argmax         */
    IR_ATTR_PROB    /* bernoulli                           */
} ir_attr_kind;

enum {
    IR_F_DIFF = 1 << 0,
    IR_F_TYPED = 1 << 1
};

typedef struct ir_op_info {
    const char *name;
    int arity;
    ir_category category;
    ir_attr_kind attr;
    unsigned flags;
} ir_op_info;

extern const ir_op_info ir_ops[IR_OP_COUNT];

/* Typed per-op attributes; which member is live is ir_ops[op].attr. */
typedef struct ir_attr {
    union {
        kiln_init init;
        int perm[KILN_MAX_RANK];
        struct {
            int64_t start[KILN_MAX_RANK], stop[KILN_MAX_RANK],
                step[KILN_MAX_RANK];
        } slice;
        int axis; /* normalised: 0 <= axis < rank */
        struct {
            int64_t lo[KILN_MAX_RANK], hi[KILN_MAX_RANK];
            double value;
        } pad;
        struct {
            uint32_t mask; /* bit i: input axis i is reduced */
            bool keepdims;
        } reduce;
        double p;
    } u;
} ir_attr;

typedef struct ir_type {
    kiln_dtype dtype;
    int rank;
    int64_t dims[KILN_MAX_RANK];
} ir_type;

typedef struct ir_node {
    ir_op op;
    ir_type type;
    int nin;
    uint32_t *in; /* nin input indices, owned */
    ir_attr attr;
    char *name;   /* user name or NULL, owned */
    void *data;   /* const payload (numel * dtype size bytes), owned */
} ir_node;

typedef struct ir_output {
    char *name;
    uint32_t node;
} ir_output;

struct kiln_graph {
    kiln_allocator alloc;
    uint32_t tag; /* 1..255, mixed into handles */
    ir_node *nodes;
    uint32_t count, cap;
    ir_output *outputs;
    uint32_t noutputs, outcap;
    kiln_status status;
    char error[512];
    /* Name of the node being built, for messages (the text parser sets
     * it before it calls a builder). */
    const char *pending_name;
};

/* --- graph.c: storage, allocation, errors, names --------------------- */
void *ir_alloc(kiln_graph *g, size_t size);
void *ir_realloc(kiln_graph *g, void *p, size_t size);
void ir_free(kiln_graph *g, void *p);
char *ir_strdup(kiln_graph *g, const char *s);

/* Record the first error; later calls keep the first.  Returns false so
 * that `return ir_error(...)` reads naturally in checks. */
bool ir_error(kiln_graph *g, kiln_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool ir_verror(kiln_graph *g, kiln_status s, const char *fmt, va_list ap);

/* handle <-> index.  ir_index returns IR_NONE for a handle that is not a
 * node of g (no error recorded). */
uint32_t ir_index(const kiln_graph *g, kiln_node n);
kiln_node ir_handle(const kiln_graph *g, uint32_t index);
/* ir_index plus an error naming `op` when the handle is bad and no earlier
 * error explains it. */
uint32_t ir_use(kiln_graph *g, kiln_node n, const char *op);

bool ir_name_valid(const char *s);
uint32_t ir_find_name(const kiln_graph *g, const char *name);
uint32_t ir_find_output(const kiln_graph *g, const char *name);

/* A deep copy with the same allocator (no error state), or NULL. */
kiln_graph *ir_clone(const kiln_graph *g);

bool ir_check_new_name(kiln_graph *g, const char *what, const char *name);

/* Append a node built from `proto`: op, nin, in (borrowed, copied), attr,
 * type (the target for IR_F_TYPED ops, else overwritten), name (borrowed,
 * copied, checked unique) and data (OWNED: taken on success and freed on
 * failure).  Runs the op's shape rule; returns the new index or IR_NONE
 * with the error recorded. */
uint32_t ir_add_node(kiln_graph *g, const ir_node *proto);

/* --- type.c: shapes, dtypes and their text ------------------------- */
int64_t ir_numel(const ir_type *t);
bool ir_type_equal(const ir_type *a, const ir_type *b);
bool ir_dtype_is_float(kiln_dtype t);
bool ir_dtype_is_numeric(kiln_dtype t);
bool ir_dtype_valid(kiln_dtype t);
/* "f32[2,3]" into buf (always NUL-terminated); returns buf. */
char *ir_type_str(const ir_type *t, char *buf, size_t len);
/* Check rank/dims for a new tensor, recording an error on failure. */
bool ir_check_shape(kiln_graph *g, const char *what, int rank,
                    const int64_t *dims);
/* numpy broadcast of two shapes into out; false if incompatible. */
bool ir_broadcast_shapes(const ir_type *a, const ir_type *b, ir_type *out);

/* --- shape.c: one rule per op category ------------------------------ */
#define OP(id, text, arity, cat, attr, shape, vjp, flags) \
    bool shape(kiln_graph *g, ir_node *n);
#include "ops.def"
#undef OP
bool ir_infer(kiln_graph *g, ir_node *n);

/* --- init.c: param initialisers ------------------------------------ */
/* Fill numel values of `t` from init into out (as doubles, already rounded
 * to t's dtype). */
void ir_init_fill(const kiln_init *init, const ir_type *t, double *out);
bool ir_init_valid(kiln_graph *g, const kiln_init *init, kiln_dtype t);

/* --- philox.c ---------------------------------------------------------- */
void ir_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                      uint32_t out[4]);
/* The 32-bit word for element e of the stream (seed, offset). */
uint32_t ir_random_bits(uint32_t seed, uint32_t offset, uint64_t e);
/* (bits >> 8) * 2^-24 */
double ir_random_unit(uint32_t bits);
/* bernoulli(p) is true where (bits >> 8) < floor(p * 2^24): integer
 * arithmetic, so every backend agrees bit for bit. */
uint32_t ir_bernoulli_threshold(double p);

/* --- verify.c: whole-graph invariants -------------------------------- */
/* Re-checks every node (inputs earlier, shape rule agrees, attrs valid,
 * names unique, assign targets unique).  For passes and tests. */
kiln_status ir_verify(kiln_graph *g);

/* --- elementwise scalar semantics shared by every backend's oracle --- */
double ir_round_to(kiln_dtype t, double v);

#endif
