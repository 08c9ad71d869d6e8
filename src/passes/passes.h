/*
 * passes.h — graph-to-graph passes: autodiff, optimizers, and the
 * simplification pipeline.  Every pass works on a verified graph, keeps it
 * valid (ir_verify passes afterwards), and reports failure through the
 * graph's sticky error.
 */
#ifndef KILN_PASSES_H
#define KILN_PASSES_H

#include "ir/ir.h"

/* ---- autodiff (grad.c, vjp.c) ---------------------------------------- */

/* A VJP rule: the contribution of node i's adjoint gy to the gradient of
 * its input k, in the shape of node i when the op broadcasts (grad.c sums
 * it back to the input's shape) and in the input's shape otherwise.  The
 * invalid node means "zero", or failure when the graph has an error. */
typedef kiln_node (*pass_vjp_fn)(kiln_graph *g, uint32_t i, int k,
                                 kiln_node gy);
#define OP(id, text, arity, cat, attr, shape, vjp, flags) \
    kiln_node vjp(kiln_graph *g, uint32_t i, int k, kiln_node gy);
#include "ir/ops.def"
#undef OP

/* Does input k of node i carry a gradient? */
bool pass_edge_differentiable(const kiln_graph *g, uint32_t i, int k);
/* Sum `x` over the axes it was broadcast along so it has type t's shape. */
kiln_node pass_unbroadcast(kiln_graph *g, kiln_node x, const ir_type *t);

/* ---- rewriting helpers (rewrite.c) ----------------------------------- */

/* Point every use of node `from` (inputs of later nodes, outputs) at the
 * earlier node `to`. */
void pass_replace_uses(kiln_graph *g, uint32_t from, uint32_t to);
/* Drop nodes with keep[i] false, renumbering inputs and outputs; nodes
 * that are kept must not use dropped ones.  Node handles held by users
 * become stale: passes run on compiled snapshots, not user graphs. */
kiln_status pass_compact(kiln_graph *g, const bool *keep);
/* Turn node i into a constant holding `values` (numel doubles). */
kiln_status pass_make_const(kiln_graph *g, uint32_t i, const double *values);

/* ---- lowering (decompose.c, lower.c, memplan.c) --------------------- */

/* A copy of src with composite ops rewritten into primitives; NULL with
 * the message in err on failure. */
kiln_graph *pass_decompose(const kiln_graph *src, char *err, size_t errlen);

struct k_program;
/* Fused (fuse.c) or one kernel per node when fuse is false: same path,
 * same kernel IR.  Takes ownership of g (the program frees it); on
 * failure returns NULL when out of memory, or a program whose graph holds
 * the error. */
struct k_program *pass_fuse(kiln_graph *g, bool fuse);
/* Assigns whose new value a map kernel can store straight into the param
 * (assign_in_place.c); run before the memory plan. */
void pass_assign_in_place(struct k_program *p);
/* decompose + simplify + fuse + memory plan of a copy of g; NULL with a
 * message. */
struct k_program *pass_lower_program(const kiln_graph *g, bool fuse,
                                     char *err, size_t errlen);

/* ---- simplification pipeline (pipeline.c, one file per pass) --------- */

typedef kiln_status (*pass_fn)(kiln_graph *g);

kiln_status pass_fold(kiln_graph *g);    /* constant folding            */
kiln_status pass_algebra(kiln_graph *g); /* algebraic identities        */
kiln_status pass_cse(kiln_graph *g);     /* common subexpressions       */
kiln_status pass_dce(kiln_graph *g);     /* dead code                   */
/* Nodes that outputs and assigns need (what dce would keep). */
uint32_t pass_live_count(kiln_graph *g);

typedef struct pass_info {
    const char *name;
    pass_fn run;
} pass_info;

/* The pipeline, in order; NULL-terminated. */
extern const pass_info pass_pipeline[];

/* Called after each pass with its name and the graph (for --dump-after
 * and per-pass statistics); may be NULL. */
typedef void (*pass_observer)(const char *pass, kiln_graph *g, void *user);

/* Run the pipeline, verifying after every pass. */
kiln_status pass_simplify(kiln_graph *g, pass_observer obs, void *user);

#endif
