/*
 * kiln.h — the public API of kiln, a graph compiler for static tensor graphs.
 *
 * This header is the manual.  Read it top to bottom once.
 *
 *  1. Build a graph: kiln_graph_new(), then inputs, params, constants and
 *     ops.  Every builder returns a kiln_node; an invalid node (id 0) means
 *     the call failed.  The graph keeps the FIRST error (sticky): later
 *     builder calls that receive an invalid node return an invalid node
 *     without overwriting it, so a long chain of calls can be checked once
 *     at the end with kiln_graph_status() / kiln_graph_error().
 *  2. Mark outputs with kiln_output().
 *  3. Compile with kiln_compile() (the reference evaluator is one backend),
 *     bind inputs, run, read outputs.
 *
 * Ownership: kiln copies every buffer and string you pass in; you own what
 * you pass.  Objects returned by *_new / kiln_compile / kiln_parse are yours
 * to destroy with their matching *_free; every *_free(NULL) is a no-op.
 *
 * Failure: library code never aborts or exits on bad input.  Functions
 * return a kiln_status, NULL or an invalid node, and say why in an error
 * string owned by the object it concerns.
 *
 * Threads: a graph or a program is used by one thread at a time; distinct
 * objects may be used from distinct threads concurrently.  kiln has no
 * global mutable state.
 */
#ifndef KILN_H
#define KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define KILN_API __attribute__((visibility("default")))
#else
#define KILN_API
#endif

#define KILN_VERSION_MAJOR 0
#define KILN_VERSION_MINOR 1
#define KILN_MAX_RANK 8
/* Names of inputs, params, outputs and nodes: [A-Za-z_][A-Za-z0-9_.]*,
 * at most KILN_MAX_NAME - 1 bytes. */
#define KILN_MAX_NAME 64

/* ------------------------------------------------------------------------ */
/* Status, dtypes, handles                                                  */
/* ------------------------------------------------------------------------ */

typedef enum kiln_status {
    KILN_OK = 0,
    KILN_ERR_INVALID_ARGUMENT, /* NULL pointer, bad handle, bad option     */
    KILN_ERR_SHAPE,            /* shapes do not fit the op                 */
    KILN_ERR_DTYPE,            /* dtypes do not fit the op                 */
    KILN_ERR_NAME,             /* bad, duplicate or unknown name           */
    KILN_ERR_OUT_OF_MEMORY,    /* an allocation failed                     */
    KILN_ERR_PARSE,            /* malformed text                           */
    KILN_ERR_IO,               /* a file could not be read or written      */
    KILN_ERR_RUNTIME,          /* bad data at run time (label out of range) */
    KILN_ERR_UNSUPPORTED       /* valid, but this backend cannot do it     */
} kiln_status;

/* A short constant name for a status ("shape error", ...). */
KILN_API const char *kiln_status_string(kiln_status s);

typedef enum kiln_dtype {
    KILN_F32 = 0,
    KILN_F64,
    KILN_I32,
    KILN_BOOL,
    KILN_DTYPE_COUNT
} kiln_dtype;

/* "f32", "f64", "i32", "bool"; "?" for anything else. */
KILN_API const char *kiln_dtype_name(kiln_dtype t);
/* Bytes per element: 4, 8, 4, 1; 0 for an invalid dtype. */
KILN_API size_t kiln_dtype_size(kiln_dtype t);

/* A node is a small value handle, stable while the graph grows.
 * id 0 is the invalid node. */
typedef struct kiln_node {
    uint32_t id;
} kiln_node;

static inline int kiln_node_valid(kiln_node n) { return n.id != 0; }

typedef struct kiln_graph kiln_graph;
typedef struct kiln_program kiln_program;

/* Allocator hook.  All three functions must be set; `user` is passed back.
 * realloc(NULL, n) must behave as malloc(n).  free(NULL) may happen. */
typedef struct kiln_allocator {
    void *(*malloc)(size_t size, void *user);
    void *(*realloc)(void *ptr, size_t size, void *user);
    void (*free)(void *ptr, void *user);
    void *user;
} kiln_allocator;

/* ------------------------------------------------------------------------ */
/* Graphs                                                                   */
/* ------------------------------------------------------------------------ */

/* A new empty graph using malloc/realloc/free.  NULL only when out of
 * memory. */
KILN_API kiln_graph *kiln_graph_new(void);
/* The same with your allocator (copied; NULL means the C library's).  The
 * graph and every program compiled from it allocate through it. */
KILN_API kiln_graph *kiln_graph_new_with_allocator(const kiln_allocator *a);
KILN_API void kiln_graph_free(kiln_graph *g);

/* KILN_OK, or the status of the first error.  A NULL graph reports
 * KILN_ERR_INVALID_ARGUMENT. */
KILN_API kiln_status kiln_graph_status(const kiln_graph *g);
/* The first error's message, "" when there is none.  Owned by the graph,
 * valid until the graph is freed or the error is cleared. */
KILN_API const char *kiln_graph_error(const kiln_graph *g);
/* Forget the sticky error so the graph can be used again. */
KILN_API void kiln_graph_clear_error(kiln_graph *g);

/* Number of nodes (valid ids are those of nodes the builder returned). */
KILN_API size_t kiln_graph_node_count(const kiln_graph *g);

/* Introspection of a node.  Return 0/KILN_F32/NULL for an invalid node. */
KILN_API kiln_dtype kiln_node_dtype(const kiln_graph *g, kiln_node n);
KILN_API int kiln_node_rank(const kiln_graph *g, kiln_node n);
/* Copies rank dims into dims (which must hold KILN_MAX_RANK); returns rank
 * or -1 for an invalid node. */
KILN_API int kiln_node_shape(const kiln_graph *g, kiln_node n, int64_t *dims);
/* Number of elements (1 for a scalar), 0 for an invalid node. */
KILN_API int64_t kiln_node_numel(const kiln_graph *g, kiln_node n);
/* The node's user name or NULL. */
KILN_API const char *kiln_node_name(const kiln_graph *g, kiln_node n);
/* The op's text name ("matmul", "input", ...) or NULL. */
KILN_API const char *kiln_node_op(const kiln_graph *g, kiln_node n);
/* The node named `name`, or the invalid node (no error is recorded). */
KILN_API kiln_node kiln_find(const kiln_graph *g, const char *name);

/* Give a node a user name (see KILN_MAX_NAME for the alphabet).  Names are
 * unique in a graph.  Returns n, or the invalid node on error. */
KILN_API kiln_node kiln_name(kiln_graph *g, kiln_node n, const char *name);

/* ------------------------------------------------------------------------ */
/* Leaves: inputs, params, constants                                        */
/* ------------------------------------------------------------------------ */

/* Shapes: rank 0..KILN_MAX_RANK; every dim >= 1; at most 2^40 elements.
 * `dims` may be NULL when rank is 0. */

/* A value supplied at every run, bound by name. */
KILN_API kiln_node kiln_input(kiln_graph *g, const char *name, kiln_dtype t,
                              int rank, const int64_t *dims);

/* Param initialisers.  Random ones are reproducible from `seed` (Philox,
 * the same bits on every backend). */
typedef enum kiln_init_kind {
    KILN_INIT_ZEROS = 0,
    KILN_INIT_CONSTANT, /* a                                               */
    KILN_INIT_UNIFORM,  /* U[a, b)                                         */
    KILN_INIT_NORMAL,   /* N(mean a, std b)                                */
    KILN_INIT_GLOROT,   /* U[-l, l), l = sqrt(6 / (fan_in + fan_out))      */
    KILN_INIT_HE        /* N(0, sqrt(2 / fan_in))                          */
} kiln_init_kind;

/* fan_out is the last dim, fan_in the product of the others (1 for rank
 * <= 1: then fan_in = fan_out = numel). */
typedef struct kiln_init {
    kiln_init_kind kind;
    double a, b;
    uint32_t seed;
} kiln_init;

static inline kiln_init kiln_init_zeros(void) { kiln_init i = {KILN_INIT_ZEROS, 0, 0, 0}; return i; }
static inline kiln_init kiln_init_constant(double v) { kiln_init i = {KILN_INIT_CONSTANT, v, 0, 0}; return i; }
static inline kiln_init kiln_init_uniform(double lo, double hi, uint32_t seed) { kiln_init i = {KILN_INIT_UNIFORM, lo, hi, seed}; return i; }
static inline kiln_init kiln_init_normal(double mean, double std, uint32_t seed) { kiln_init i = {KILN_INIT_NORMAL, mean, std, seed}; return i; }
static inline kiln_init kiln_init_glorot(uint32_t seed) { kiln_init i = {KILN_INIT_GLOROT, 0, 0, seed}; return i; }
static inline kiln_init kiln_init_he(uint32_t seed) { kiln_init i = {KILN_INIT_HE, 0, 0, seed}; return i; }

/* Persistent state (weights, optimizer moments, counters), owned by each
 * compiled program and initialised from `init` when the program is made.
 * Integer and bool params accept only zeros and constant. */
KILN_API kiln_node kiln_param(kiln_graph *g, const char *name, kiln_dtype t,
                              int rank, const int64_t *dims, kiln_init init);

/* A constant tensor; `data` holds numel elements of dtype t (bool: one
 * byte each, 0 or 1) and is copied. */
KILN_API kiln_node kiln_constant(kiln_graph *g, kiln_dtype t, int rank,
                                 const int64_t *dims, const void *data);
/* A constant with every element equal to v (converted to t). */
KILN_API kiln_node kiln_fill(kiln_graph *g, kiln_dtype t, int rank,
                             const int64_t *dims, double v);
/* A rank-0 constant; broadcasting makes it usable with any shape. */
KILN_API kiln_node kiln_scalar(kiln_graph *g, kiln_dtype t, double v);

/* ------------------------------------------------------------------------ */
/* Elementwise ops                                                          */
/* ------------------------------------------------------------------------ */

/* Unary math on floating dtypes (f32, f64). */
KILN_API kiln_node kiln_exp(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_log(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_log1p(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_sqrt(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_rsqrt(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_reciprocal(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_tanh(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_sigmoid(kiln_graph *g, kiln_node x);
/* gelu, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
KILN_API kiln_node kiln_gelu(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_sin(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_cos(kiln_graph *g, kiln_node x);
/* Unary on numeric dtypes (f32, f64, i32).  i32 arithmetic wraps. */
KILN_API kiln_node kiln_neg(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_abs(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_square(kiln_graph *g, kiln_node x);
KILN_API kiln_node kiln_relu(kiln_graph *g, kiln_node x);
/* -1, 0 or 1 (NaN stays NaN); its gradient is zero. */
KILN_API kiln_node kiln_sign(kiln_graph *g, kiln_node x);

/* Binary ops with numpy broadcasting; both operands have the same dtype
 * (convert with kiln_cast).  Numeric dtypes; pow on floating dtypes only.
 * i32 div truncates toward zero, and x / 0 is 0 (no trap). */
KILN_API kiln_node kiln_add(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_sub(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_mul(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_div(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_pow(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_maximum(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_minimum(kiln_graph *g, kiln_node a, kiln_node b);
/* Comparisons: numeric operands of one dtype (eq/ne also bool), result
 * bool, broadcasting. */
KILN_API kiln_node kiln_lt(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_le(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_gt(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_ge(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_eq(kiln_graph *g, kiln_node a, kiln_node b);
KILN_API kiln_node kiln_ne(kiln_graph *g, kiln_node a, kiln_node b);
/* cond ? a : b elementwise; cond is bool; all three broadcast. */
KILN_API kiln_node kiln_select(kiln_graph *g, kiln_node cond, kiln_node a,
                               kiln_node b);
/* Convert to dtype t.  Float to i32 truncates toward zero and saturates
 * (NaN gives 0); anything to bool is x != 0. */
KILN_API kiln_node kiln_cast(kiln_graph *g, kiln_node x, kiln_dtype t);

/* ------------------------------------------------------------------------ */
/* Layout ops                                                               */
/* ------------------------------------------------------------------------ */

/* Same elements, new shape (row-major order).  One dim may be -1. */
KILN_API kiln_node kiln_reshape(kiln_graph *g, kiln_node x, int rank,
                                const int64_t *dims);
/* out.dims[i] = x.dims[perm[i]]; perm is a permutation of 0..rank-1. */
KILN_API kiln_node kiln_transpose(kiln_graph *g, kiln_node x,
                                  const int *perm);
/* numpy broadcast_to: rank may grow; size-1 dims stretch. */
KILN_API kiln_node kiln_broadcast_to(kiln_graph *g, kiln_node x, int rank,
                                     const int64_t *dims);
/* Per axis: start, stop (exclusive), step >= 1, all in range
 * 0 <= start < stop <= dim.  NULL step means 1 everywhere. */
KILN_API kiln_node kiln_slice(kiln_graph *g, kiln_node x,
                              const int64_t *start, const int64_t *stop,
                              const int64_t *step);
/* Join n >= 1 tensors of one dtype and rank along `axis` (negative counts
 * from the end); other dims must agree. */
KILN_API kiln_node kiln_concat(kiln_graph *g, int n, const kiln_node *xs,
                               int axis);
/* Pad each axis with lo[i] before and hi[i] after (>= 0), filled with
 * value. */
KILN_API kiln_node kiln_pad(kiln_graph *g, kiln_node x, const int64_t *lo,
                            const int64_t *hi, double value);

/* ------------------------------------------------------------------------ */
/* Reductions                                                               */
/* ------------------------------------------------------------------------ */

/* Reduce over `naxes` distinct axes (negative counts from the end; naxes 0
 * with axes NULL means all axes).  keepdims keeps them as size 1.
 * sum/max/min: numeric; mean: floating. */
KILN_API kiln_node kiln_sum(kiln_graph *g, kiln_node x, int naxes,
                            const int *axes, int keepdims);
KILN_API kiln_node kiln_mean(kiln_graph *g, kiln_node x, int naxes,
                             const int *axes, int keepdims);
KILN_API kiln_node kiln_max(kiln_graph *g, kiln_node x, int naxes,
                            const int *axes, int keepdims);
KILN_API kiln_node kiln_min(kiln_graph *g, kiln_node x, int naxes,
                            const int *axes, int keepdims);
/* Index (i32) of the first maximum along one axis. */
KILN_API kiln_node kiln_argmax(kiln_graph *g, kiln_node x, int axis,
                               int keepdims);

/* ------------------------------------------------------------------------ */
/* Contraction                                                              */
/* ------------------------------------------------------------------------ */

/* a [..., M, K] x b [..., K, N] -> [..., M, N]; both rank >= 2, leading
 * dims broadcast, numeric dtype shared by both. */
KILN_API kiln_node kiln_matmul(kiln_graph *g, kiln_node a, kiln_node b);

/* ------------------------------------------------------------------------ */
/* Composite ops                                                            */
/* ------------------------------------------------------------------------ */

/* Along `axis` (negative counts from the end), floating dtypes.  Computed
 * stably (max subtracted). */
KILN_API kiln_node kiln_softmax(kiln_graph *g, kiln_node x, int axis);
KILN_API kiln_node kiln_log_softmax(kiln_graph *g, kiln_node x, int axis);
/* logits [N, C] floating, labels [N] i32 in [0, C): the mean over the batch
 * of -log_softmax(logits)[i, labels[i]], a scalar.  A label out of range is
 * a run-time error. */
KILN_API kiln_node kiln_softmax_cross_entropy(kiln_graph *g, kiln_node logits,
                                              kiln_node labels);
/* labels i32 [...] -> t [..., depth]; out-of-range labels give all zeros. */
KILN_API kiln_node kiln_one_hot(kiln_graph *g, kiln_node labels, int depth,
                                kiln_dtype t);
/* mean((a - b)^2) over all elements, a scalar; a and b broadcast. */
KILN_API kiln_node kiln_mse(kiln_graph *g, kiln_node a, kiln_node b);

/* ------------------------------------------------------------------------ */
/* Random numbers                                                           */
/* ------------------------------------------------------------------------ */

/* Counter-based (Philox-4x32-10).  seed and offset are rank-0 i32 nodes
 * (usually an input or a param the training step advances), so element e
 * depends only on (seed, offset, e): the same bits on every backend.
 * Element e uses word e % 4 of Philox(key = {seed, 0},
 * counter = {e / 4 low, e / 4 high, offset, 0}). */

/* Uniform in [0, 1): (word >> 8) * 2^-24, exactly representable in f32. */
KILN_API kiln_node kiln_random_uniform(kiln_graph *g, kiln_dtype t, int rank,
                                       const int64_t *dims, kiln_node seed,
                                       kiln_node offset);
/* bool: (word >> 8) < floor(p * 2^24), i.e. uniform < p up to 2^-24. */
KILN_API kiln_node kiln_bernoulli(kiln_graph *g, double p, int rank,
                                  const int64_t *dims, kiln_node seed,
                                  kiln_node offset);
/* Inverted dropout: keeps each element with probability 1 - rate and
 * scales kept ones by 1 / (1 - rate); 0 <= rate < 1. */
KILN_API kiln_node kiln_dropout(kiln_graph *g, kiln_node x, double rate,
                                kiln_node seed, kiln_node offset);

/* ------------------------------------------------------------------------ */
/* State and outputs                                                        */
/* ------------------------------------------------------------------------ */

/* After each run, param takes the value of `value` (same dtype and shape).
 * All assigns of a run read the values from before the run.  A param may
 * be assigned at most once.  Returns the assign node. */
KILN_API kiln_node kiln_assign(kiln_graph *g, kiln_node param,
                               kiln_node value);

/* Name a value the program returns.  Output names are unique. */
KILN_API kiln_status kiln_output(kiln_graph *g, const char *name,
                                 kiln_node value);

/* ------------------------------------------------------------------------ */
/* Gradients and optimizers                                                 */
/* ------------------------------------------------------------------------ */

/* Flags for kiln_grad. */
enum {
    /* A wrt node the loss does not depend on gets an explicit zero tensor
     * instead of the invalid node. */
    KILN_GRAD_ZEROS_FOR_UNUSED = 1u << 0
};

/* Reverse-mode autodiff: append to g the nodes computing d loss / d wrt[i]
 * and store them in grads[i] (same dtype and shape as wrt[i]).  loss must
 * be a floating scalar (rank 0); each wrt[i] a floating node.  Gradients
 * are ordinary nodes, so they can be differentiated again.
 *
 * A wrt node the loss does not depend on gets the invalid node (or zeros,
 * with KILN_GRAD_ZEROS_FOR_UNUSED).  A wrt node that reaches the loss only
 * through non-differentiable ops (argmax, comparisons, casts to integers,
 * ...) is an error naming that op.  Integer and bool edges carry no
 * gradient (select's condition, softmax_cross_entropy's labels).  At a
 * kink the rules pick a subgradient: relu'(0) = 0, abs'(0) = 0, and max,
 * min, maximum, minimum split the gradient evenly between ties (maximum
 * and minimum give it all to their first operand). */
KILN_API kiln_status kiln_grad(kiln_graph *g, kiln_node loss, int n,
                               const kiln_node *wrt, kiln_node *grads,
                               unsigned flags);

/* Which params an optimizer updates: `params` (n of them), or, when n is 0,
 * every floating param of the graph that the loss depends on. */
typedef struct kiln_sgd_options {
    double lr;           /* learning rate, > 0                          */
    double momentum;     /* 0 for plain SGD                             */
    int nesterov;        /* Nesterov momentum (needs momentum > 0)      */
    double weight_decay; /* L2 term added to the gradient               */
    double clip_norm;    /* > 0: clip gradients to this global L2 norm  */
    int nparams;
    const kiln_node *params;
} kiln_sgd_options;

typedef struct kiln_adam_options {
    double lr;           /* 0 means 1e-3                                */
    double beta1;        /* 0 means 0.9                                 */
    double beta2;        /* 0 means 0.999                               */
    double eps;          /* 0 means 1e-8                                */
    double weight_decay; /* L2 term (Adam) or decoupled decay (AdamW)   */
    int decoupled;       /* nonzero: AdamW                              */
    double clip_norm;    /* > 0: clip gradients to this global L2 norm  */
    int nparams;
    const kiln_node *params;
} kiln_adam_options;

/* Turn a loss into a training step: append the gradients and the update of
 * every trained param as kiln_assign nodes, so one kiln_run is one step
 * (forward, backward, update).  Optimizer state lives in new params named
 * after the trained param: "<name>.momentum" (SGD with momentum),
 * "<name>.adam_m", "<name>.adam_v" and one "adam.step" counter (i32), so
 * it survives across runs like any param.  Updates follow PyTorch's
 * torch.optim.SGD / Adam / AdamW.  Returns KILN_OK or the graph's error. */
KILN_API kiln_status kiln_sgd(kiln_graph *g, kiln_node loss,
                              const kiln_sgd_options *opts);
KILN_API kiln_status kiln_adam(kiln_graph *g, kiln_node loss,
                               const kiln_adam_options *opts);

/* ------------------------------------------------------------------------ */
/* Text format (docs/text-format.md)                                        */
/* ------------------------------------------------------------------------ */

/* The graph as text, NUL-terminated, allocated with the graph's allocator;
 * release with kiln_text_free(g, text).  NULL on failure (error recorded
 * in g). */
KILN_API char *kiln_print(kiln_graph *g);
KILN_API void kiln_text_free(kiln_graph *g, char *text);

/* Parse `len` bytes of text.  `filename` is used in messages only (may be
 * NULL: "<input>").  Returns a new graph, or NULL; on failure the message
 * ("file:line:col: message") is copied into err (of errlen bytes) when
 * err is not NULL.  `a` may be NULL. */
KILN_API kiln_graph *kiln_parse(const char *text, size_t len,
                                const char *filename,
                                const kiln_allocator *a, char *err,
                                size_t errlen);

/* ------------------------------------------------------------------------ */
/* Compiling and running                                                    */
/* ------------------------------------------------------------------------ */

typedef enum kiln_backend {
    KILN_BACKEND_REF = 0, /* the reference evaluator: plain C, f64 math  */
    KILN_BACKEND_CPU,     /* LLVM JIT, when built with LLVM 14-19        */
    KILN_BACKEND_CUDA     /* CUDA C -> NVRTC -> an NVIDIA GPU, when built
                           * with the CUDA toolkit.  The driver is loaded at
                           * compile time (dlopen libcuda.so.1, or the file
                           * named by $KILN_CUDA_DRIVER), never linked:
                           * without it kiln_compile fails with "no CUDA
                           * driver found (...)", without a GPU with "no
                           * CUDA device", and every other backend works.
                           * Inputs are copied to the device at each run
                           * and outputs back after it; params stay on the
                           * device (kiln_set_param's value goes up at the
                           * next run, kiln_get_param fetches the current
                           * one), so they see the same values as with the
                           * other backends.  In its
                           * kiln_compile_stats, codegen_ms is emitting CUDA
                           * C and jit_ms is NVRTC (or the cache) plus
                           * loading the module.                          */
} kiln_backend;

/* Zero-initialised fields mean the defaults. */
typedef struct kiln_compile_options {
    kiln_backend backend;
    int threads; /* 0: one per core                                      */
    int no_fuse; /* 1: one kernel per node (to compare with fused code)  */
    /* cuda: the target NVRTC compiles for, "sm_XY" (machine code) or
     * "compute_XY" (PTX the driver compiles when loading it); NULL: the
     * device's own sm_XY. */
    const char *cuda_arch;
    /* cuda: a directory caching compiled kernels across processes (created
     * if missing; entries are written atomically); NULL: the directory in
     * $KILN_CUDA_CACHE_DIR, none when that is unset or empty; "": none. */
    const char *cache_dir;
    /* cpu: 0 (default): kernels run with subnormal floats flushed to zero
     * (inputs read as 0, results below the normal range stored as 0: FTZ
     * and DAZ), as -ffast-math code and GPUs' fast paths do — x86 handles
     * subnormals about 100x slower, and a training step's gradients and
     * Adam moments drift into them.  1: the floating-point environment
     * is left as the calling thread has it (IEEE subnormals unless the
     * caller flushes; the reference backend always keeps them).  The
     * caller's own setting is restored when kiln_run returns.  The CUDA backend keeps
     * IEEE subnormals (GPUs compute them at full speed). */
    int keep_denormals;
} kiln_compile_options;

/* Snapshot the graph into a runnable program.  The graph may be changed
 * or freed afterwards.  opts may be NULL.  Returns NULL on failure, with
 * the reason recorded in g (also when g already had an error). */
KILN_API kiln_program *kiln_compile(kiln_graph *g,
                                    const kiln_compile_options *opts);
KILN_API void kiln_program_free(kiln_program *p);

/* The message of the program's last failed call, "" if none. */
KILN_API const char *kiln_program_error(const kiln_program *p);

/* Bind data by name, copying nbytes (which must equal numel * dtype size;
 * bool is one byte per element).  Inputs keep their value across runs. */
KILN_API kiln_status kiln_set_input(kiln_program *p, const char *name,
                                    const void *data, size_t nbytes);
/* Run once: evaluate outputs, then apply assigns.  Every input must have
 * been set. */
KILN_API kiln_status kiln_run(kiln_program *p);
/* Copy an output of the last run (nbytes must match exactly). */
KILN_API kiln_status kiln_get_output(kiln_program *p, const char *name,
                                     void *data, size_t nbytes);
/* Read or overwrite a param's current value (CUDA: fetched from the
 * device, KILN_ERR_RUNTIME when that fails). */
KILN_API kiln_status kiln_get_param(kiln_program *p, const char *name,
                                    void *data, size_t nbytes);
KILN_API kiln_status kiln_set_param(kiln_program *p, const char *name,
                                    const void *data, size_t nbytes);

/* The fusion plan of g for the CPU backend, as text: the kernels (which
 * nodes each computes, its kind and loop domain) and, for every edge
 * left unfused, why.  Allocated like kiln_print's text (free it with
 * kiln_text_free); NULL with the error in g.  Needs no LLVM. */
KILN_API char *kiln_explain(kiln_graph *g, const kiln_compile_options *opts);

/* How a program was compiled: wall-clock milliseconds per stage (0 for a
 * stage the backend does not have) and what came out. */
typedef struct kiln_compile_stats {
    double lower_ms;    /* decompose, lower to kernel IR, plan memory     */
    double codegen_ms;  /* emit LLVM IR                                   */
    double optimize_ms; /* LLVM's optimisation passes                     */
    double jit_ms;      /* machine code and symbol lookup                 */
    double total_ms;    /* all of kiln_compile                            */
    int kernels;        /* kernels run per kiln_run (0 for ref)           */
    int64_t arena_bytes; /* memory for intermediate values                */
} kiln_compile_stats;
KILN_API kiln_status kiln_program_stats(const kiln_program *p,
                                        kiln_compile_stats *out);

/* Ahead-of-time compilation (CPU backend): write <path>.o, a PIC object
 * file, and <path>.h, a header declaring plain C functions named after
 * `name`, so a C program can run the graph linking only that object (no
 * libkiln, no LLVM; the object needs memcpy and memset from libc).  The header states
 * the layout: one struct of input pointers, one of output pointers, the
 * byte offset of every param in the params block, and the sizes and the
 * 64-byte alignment of the params and workspace blocks. */
typedef struct kiln_aot_options {
    const char *name; /* C prefix: [A-Za-z_][A-Za-z0-9_]*                    */
    const char *path; /* output path without extension (NULL: name)        */
    const char *cpu;  /* NULL or "native": this host; or an LLVM CPU name
                       * such as "x86-64-v3" for other machines            */
    int no_fuse;      /* 1: one kernel per node                            */
    int keep_denormals; /* as in kiln_compile_options: 0 (default) flushes
                         * subnormals to zero while NAME_run runs (x86:
                         * MXCSR FTZ|DAZ, saved and restored around the
                         * run and around each parallel task)             */
} kiln_aot_options;

/* KILN_OK, or an error recorded in g (KILN_ERR_UNSUPPORTED when kiln was
 * built without LLVM, KILN_ERR_IO when a file cannot be written). */
KILN_API kiln_status kiln_compile_aot(kiln_graph *g,
                                      const kiln_aot_options *opts);

/* What a program binds: kind is 'i' (input), 'p' (param) or 'o' (output).
 * kiln_program_binding fills the fields of binding `index` (0-based, in
 * graph order: inputs, params, then outputs) and returns KILN_OK, or
 * KILN_ERR_INVALID_ARGUMENT past the end.  `name` stays owned by p. */
typedef struct kiln_binding {
    char kind;
    const char *name;
    kiln_dtype dtype;
    int rank;
    int64_t dims[KILN_MAX_RANK];
} kiln_binding;
KILN_API int kiln_program_binding_count(const kiln_program *p);
KILN_API kiln_status kiln_program_binding(const kiln_program *p, int index,
                                          kiln_binding *out);

#ifdef __cplusplus
}
#endif
#endif /* KILN_H */
