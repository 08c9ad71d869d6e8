/*
 * cpu_codegen.h — kernel IR to LLVM IR, internal to the CPU backend.
 *
 * Every kernel becomes an external function
 *     void <prefix>_k<i>(void **bufs, int64_t begin, int64_t end, void *scratch)
 * that computes the part [begin, end) of its parallel range: rows of the
 * outermost loop axis (map), of the outermost kept axis (reduce), or of
 * the batch * M output rows (matmul).  bufs holds the base address of every
 * buffer of the program, indexed by buffer number; scratch is per-thread
 * memory of cpu_scratch_bytes() bytes (GEMM packing).  The work for an
 * output element never depends on the split, so results are bitwise the
 * same for any thread count.
 */
#ifndef KILN_CPU_CODEGEN_H
#define KILN_CPU_CODEGEN_H

#include <llvm-c/Core.h>

#include "cpu_target.h"
#include "ir/kernel.h"

/* What the runtime needs to schedule kernel i. */
typedef struct cpu_step_info {
    int64_t range; /* size of the parallel range         */
    int64_t grain; /* smallest chunk worth a thread      */
} cpu_step_info;

/* Emit the whole program into a new module of ctx.  steps receives
 * p->nk entries.  Returns KILN_OK or an error with a message in err. */
kiln_status cpu_emit_program(const k_program *p, const cpu_target *t,
                             LLVMContextRef ctx, const char *prefix,
                             LLVMModuleRef *out, cpu_step_info *steps,
                             char *err, size_t errlen);
/* For compiling kernels separately (cpu_jit.h): kernels [first, last) in
 * a new module of ctx, as external <prefix>_k<i>, their GEMM calls going
 * to an external kiln_gemm_<t> (cpu_gemm_declare), steps[i - first]
 * filled; and that GEMM alone in a new module, external.  A kernel's code
 * is the same whatever else its module holds (kernels share nothing but
 * inlined helpers), so results do not depend on the grouping. */
kiln_status cpu_emit_kernels_module(const k_program *p, const cpu_target *t,
                                    LLVMContextRef ctx, const char *prefix,
                                    int first, int last, LLVMModuleRef *out,
                                    cpu_step_info *steps, char *err,
                                    size_t errlen);
kiln_status cpu_emit_gemm_module(kiln_dtype dt, const cpu_target *t,
                                 LLVMContextRef ctx, LLVMModuleRef *out,
                                 char *err, size_t errlen);
/* default<O2> (loop and SLP vectorisation on) with the target machine. */
kiln_status cpu_optimize(LLVMModuleRef m, const cpu_target *t, char *err,
                         size_t errlen);
/* Cheaper pass lists for modules of one kind (cpu_kernel.c says which
 * passes and why); CPU_PIPE_FULL is cpu_optimize's default<O2>. */
typedef enum cpu_pipeline {
    CPU_PIPE_FULL,   /* anything                                     */
    CPU_PIPE_KERNEL, /* a cpu_emit_kernel_module module              */
    CPU_PIPE_GEMM    /* a cpu_emit_gemm_module module                */
} cpu_pipeline;
kiln_status cpu_optimize_with(LLVMModuleRef m, const cpu_target *t,
                              cpu_pipeline which, char *err, size_t errlen);
size_t cpu_scratch_bytes(const k_program *p, const cpu_target *t);
/* Prefetches ahead of the vectorised loops' loads and stores of every
 * function but the GEMM's (cpu_prefetch.c); run after optimisation. */
void cpu_add_prefetches(LLVMModuleRef m);

/* ---- shared by the cpu_*.c emitters ------------------------------------ */

typedef struct cpu_fn {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    const cpu_target *tgt;
    const k_program *prog;
    const kernel *k;
    LLVMValueRef fn;
    LLVMValueRef *base;    /* per access: element pointer base, or NULL */
    LLVMValueRef idx[KILN_MAX_RANK]; /* current loop index per axis (i64) */
    int vec_axis;          /* with lanes > 1: the axis the lanes run along */
    int lanes;
    LLVMValueRef *memo;    /* per expression, for the current point */
    LLVMValueRef accs[K_MAX_ROW]; /* KE_ACC's values, by its axis field */
    int fold_value;        /* the expression a fold combines ...         */
    ir_op fold_combiner;   /* ... and how                                */
    LLVMValueRef scratch;
    bool gemm_extern;      /* declare kiln_gemm_<t>, defined elsewhere */
} cpu_fn;

LLVMTypeRef cpu_type(cpu_fn *f, kiln_dtype t);     /* bool: i1           */
LLVMTypeRef cpu_mem_type(cpu_fn *f, kiln_dtype t); /* bool: i8           */
LLVMTypeRef cpu_vtype(cpu_fn *f, kiln_dtype t, int lanes);
LLVMValueRef cpu_i64(cpu_fn *f, int64_t v);
LLVMValueRef cpu_const(cpu_fn *f, kiln_dtype t, double v, int lanes);
LLVMValueRef cpu_splat(cpu_fn *f, LLVMValueRef v, int lanes);
LLVMValueRef cpu_intrinsic(cpu_fn *f, const char *name, LLVMTypeRef overload,
                           LLVMValueRef *args, unsigned nargs);

/* Expressions (cpu_expr.c): evaluated at the current point, memoised;
 * clear the memo when the point changes. */
void cpu_memo_clear(cpu_fn *f);
LLVMValueRef cpu_expr(cpu_fn *f, int e);
LLVMValueRef cpu_element_ptr(cpu_fn *f, int acc, kiln_dtype t);
void cpu_store(cpu_fn *f, int acc, kiln_dtype t, LLVMValueRef v);
LLVMValueRef cpu_op(cpu_fn *f, ir_op op, kiln_dtype out, kiln_dtype in,
                    LLVMValueRef *args, int lanes);
LLVMValueRef cpu_philox(cpu_fn *f, LLVMValueRef seed, LLVMValueRef offset,
                        LLVMValueRef element); /* cpu_random.c */

/* Loops (cpu_kernel.c): for (i = lo; i < hi; i += step) { body } */
typedef struct cpu_loop {
    LLVMBasicBlockRef header, body, exit;
    LLVMValueRef index, next;
    LLVMBasicBlockRef from;
    int ncarry;
    LLVMValueRef carry[4], carry_next[4]; /* loop-carried values (phis) */
} cpu_loop;
void cpu_loop_begin(cpu_fn *f, cpu_loop *l, LLVMValueRef lo, LLVMValueRef hi,
                    int64_t step);
/* A value carried around the loop: returns its phi (valid in the body and
 * after the loop); set l->carry_next[i] before cpu_loop_end. */
LLVMValueRef cpu_loop_carry(cpu_fn *f, cpu_loop *l, LLVMValueRef init);
void cpu_loop_end(cpu_fn *f, cpu_loop *l);

void cpu_emit_map(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end);
void cpu_emit_reduce(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end);
void cpu_emit_matmul(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end);
void cpu_emit_row(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end);
/* The first kept axis of a reduction, or -1 for a full reduction. */
int cpu_reduce_parallel_axis(const kernel *k);

#endif
