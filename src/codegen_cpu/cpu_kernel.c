/*
 * cpu_kernel.c — one LLVM function per kernel, loops, map kernels, and the
 * module as a whole.
 *
 * Each kernel is an internal, always-inlined body whose pointer parameters
 * (one per distinct buffer) are noalias, called from the external entry
 * point that loads those pointers from bufs[]: after inlining LLVM keeps
 * the no-alias facts, so the inner loops vectorise without run-time
 * checks.
 */
#include <stdio.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "cpu_codegen.h"
#include "cpu_gemm.h"

/* Elements a chunk should hold before another thread is worth waking. */
#define GRAIN_ELEMENTS 16384

void cpu_loop_begin(cpu_fn *f, cpu_loop *l, LLVMValueRef lo, LLVMValueRef hi,
                    int64_t step)
{
    l->from = LLVMGetInsertBlock(f->b);
    l->header = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "loop");
    l->body = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "body");
    l->exit = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "done");
    LLVMBuildBr(f->b, l->header);
    LLVMPositionBuilderAtEnd(f->b, l->header);
    l->index = LLVMBuildPhi(f->b, LLVMInt64TypeInContext(f->ctx), "i");
    LLVMValueRef more;
    if (step == 1) {
        more = LLVMBuildICmp(f->b, LLVMIntSLT, l->index, hi, "");
    } else { /* a whole step must fit */
        LLVMValueRef last = LLVMBuildAdd(f->b, l->index, cpu_i64(f, step), "");
        more = LLVMBuildICmp(f->b, LLVMIntSLE, last, hi, "");
    }
    LLVMBuildCondBr(f->b, more, l->body, l->exit);
    LLVMPositionBuilderAtEnd(f->b, l->body);
    l->next = cpu_i64(f, step);
    l->ncarry = 0;
    LLVMAddIncoming(l->index, &lo, &l->from, 1);
}

LLVMValueRef cpu_loop_carry(cpu_fn *f, cpu_loop *l, LLVMValueRef init)
{
    LLVMBasicBlockRef here = LLVMGetInsertBlock(f->b);
    LLVMPositionBuilderBefore(f->b, LLVMGetFirstInstruction(l->header));
    LLVMValueRef phi = LLVMBuildPhi(f->b, LLVMTypeOf(init), "carry");
    LLVMAddIncoming(phi, &init, &l->from, 1);
    LLVMPositionBuilderAtEnd(f->b, here);
    l->carry[l->ncarry] = phi;
    l->carry_next[l->ncarry++] = phi;
    return phi;
}

void cpu_loop_end(cpu_fn *f, cpu_loop *l)
{
    LLVMValueRef next = LLVMBuildAdd(f->b, l->index, l->next, "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(f->b);
    LLVMBuildBr(f->b, l->header);
    LLVMAddIncoming(l->index, &next, &latch, 1);
    for (int i = 0; i < l->ncarry; i++)
        LLVMAddIncoming(l->carry[i], &l->carry_next[i], &latch, 1);
    LLVMPositionBuilderAtEnd(f->b, l->exit);
}

/* out[point] = value over [begin, end) of axis 0 and all of the others. */
void cpu_emit_map(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end)
{
    const kernel *k = f->k;
    cpu_loop loops[KILN_MAX_RANK];
    for (int d = 0; d < k->rank; d++) {
        LLVMValueRef lo = d == 0 ? begin : cpu_i64(f, 0);
        LLVMValueRef hi = d == 0 ? end : cpu_i64(f, k->dims[d]);
        cpu_loop_begin(f, &loops[d], lo, hi, 1);
        f->idx[d] = loops[d].index;
    }
    cpu_memo_clear(f);
    LLVMValueRef v = cpu_expr(f, k->value);
    cpu_store(f, k->out, f->prog->g->nodes[k->node].type.dtype, v);
    for (int i = 0; i < k->nextra; i++) /* multi-output fusion */
        cpu_store(f, k->extra_out[i], k->expr[k->extra_value[i]].dtype,
                  cpu_expr(f, k->extra_value[i]));
    for (int d = k->rank - 1; d >= 0; d--)
        cpu_loop_end(f, &loops[d]);
}

/* The buffers a kernel touches, in first-use order; acc_param maps each
 * access to its parameter (-1: no buffer). */
static int kernel_buffers(const kernel *k, uint32_t *bufs, int *acc_param)
{
    int n = 0;
    for (int a = 0; a < k->nacc; a++) {
        acc_param[a] = -1;
        if (k->acc[a].buf == K_NO_BUFFER)
            continue;
        int j = 0;
        while (j < n && bufs[j] != k->acc[a].buf)
            j++;
        if (j == n)
            bufs[n++] = k->acc[a].buf;
        acc_param[a] = j;
    }
    return n;
}

static void add_attr(cpu_fn *f, LLVMValueRef fn, unsigned idx, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(f->ctx, kind, 0));
}

static void emit_body(cpu_fn *f, LLVMValueRef begin, LLVMValueRef end)
{
    switch (f->k->kind) {
    case K_MAP: cpu_emit_map(f, begin, end); break;
    case K_REDUCE: cpu_emit_reduce(f, begin, end); break;
    case K_MATMUL: cpu_emit_matmul(f, begin, end); break;
    case K_ROW: cpu_emit_row(f, begin, end); break;
    }
}

/* The body function: (ptr noalias b0, ..., i64 begin, i64 end, ptr scratch).
 * Buffers of an in-place pair (memplan.c) may share bytes and are not
 * noalias, unless `merged`: then each pair is one parameter. */
static LLVMValueRef emit_kernel_body(cpu_fn *f, const char *name, int nbuf,
                                     const uint32_t *bufs, const int *acc_param,
                                     bool merged)
{
    LLVMTypeRef ptr = LLVMPointerTypeInContext(f->ctx, 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(f->ctx);
    LLVMTypeRef params[KILN_MAX_RANK * 8 + 3];
    for (int i = 0; i < nbuf; i++)
        params[i] = ptr;
    params[nbuf] = i64;
    params[nbuf + 1] = i64;
    params[nbuf + 2] = ptr;
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(f->ctx), params,
                                       (unsigned)nbuf + 3, 0);
    f->fn = LLVMAddFunction(f->mod, name, fty);
    LLVMSetLinkage(f->fn, LLVMInternalLinkage);
    cpu_target_attrs(f->tgt, f->fn);
    add_attr(f, f->fn, LLVMAttributeFunctionIndex, "alwaysinline");
    add_attr(f, f->fn, LLVMAttributeFunctionIndex, "nounwind");
    for (int i = 0; i < nbuf; i++) {
        /* an in-place pair (memplan.c) shares bytes: no noalias for it */
        bool shared = false;
        for (int j = 0; j < nbuf && !shared && !merged; j++)
            shared = j != i && k_buffers_share(f->prog, bufs[i], bufs[j]);
        if (!shared)
            add_attr(f, f->fn, (unsigned)i + 1, "noalias");
    }
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(f->ctx, f->fn, "entry");
    LLVMPositionBuilderAtEnd(f->b, entry);
    for (int a = 0; a < f->k->nacc; a++)
        f->base[a] = acc_param[a] >= 0 ? LLVMGetParam(f->fn, (unsigned)acc_param[a]) : NULL;
    f->scratch = LLVMGetParam(f->fn, (unsigned)nbuf + 2);
    emit_body(f, LLVMGetParam(f->fn, (unsigned)nbuf), LLVMGetParam(f->fn, (unsigned)nbuf + 1));
    LLVMBuildRetVoid(f->b);
    return f->fn;
}

/* The pairs (i < j) of a kernel's buffers that may share bytes: in-place
 * pairs of memplan.c.  The planner gives them the same arena slot, so at
 * run time they are one pointer — unless the runtime wrote the output
 * straight into the caller's memory, and then they are disjoint. */
static int shared_pairs(const cpu_fn *f, int nbuf, const uint32_t *bufs, int (*pair)[2])
{
    int n = 0;
    for (int i = 0; i < nbuf; i++)
        for (int j = i + 1; j < nbuf; j++)
            if (n < KILN_MAX_RANK * 8 && k_buffers_share(f->prog, bufs[i], bufs[j])) {
                pair[n][0] = i;
                pair[n++][1] = j;
            }
    return n;
}

/* The entry point: loads the buffer pointers and calls the body.  With
 * in-place pairs, `same` is the body with each pair merged into one
 * noalias parameter, called when every pair is one pointer at run time:
 * otherwise LLVM's run-time overlap check would send the loop (reading and
 * storing the same element) to its scalar version. */
static void emit_kernel_entry(cpu_fn *f, const char *name, LLVMValueRef body,
                              int nbuf, const uint32_t *bufs, LLVMValueRef same,
                              const int *merged_param, int npairs, int (*pair)[2])
{
    LLVMTypeRef ptr = LLVMPointerTypeInContext(f->ctx, 0);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(f->ctx);
    LLVMTypeRef params[4] = {ptr, i64, i64, ptr};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(f->ctx), params, 4, 0);
    LLVMValueRef fn = LLVMAddFunction(f->mod, name, fty);
    cpu_target_attrs(f->tgt, fn);
    add_attr(f, fn, LLVMAttributeFunctionIndex, "nounwind");
    LLVMPositionBuilderAtEnd(f->b, LLVMAppendBasicBlockInContext(f->ctx, fn, "entry"));
    LLVMValueRef args[KILN_MAX_RANK * 8 + 3];
    for (int i = 0; i < nbuf; i++) {
        LLVMValueRef at = cpu_i64(f, bufs[i]);
        LLVMValueRef slot = LLVMBuildGEP2(f->b, ptr, LLVMGetParam(fn, 0), &at, 1, "");
        args[i] = LLVMBuildLoad2(f->b, ptr, slot, "");
    }
    LLVMValueRef tail[3] = {LLVMGetParam(fn, 1), LLVMGetParam(fn, 2), LLVMGetParam(fn, 3)};
    if (same) {
        LLVMValueRef all = LLVMConstInt(LLVMInt1TypeInContext(f->ctx), 1, 0);
        for (int i = 0; i < npairs; i++)
            all = LLVMBuildAnd(f->b, all, LLVMBuildICmp(f->b, LLVMIntEQ, args[pair[i][0]],
                                                        args[pair[i][1]], ""), "");
        LLVMBasicBlockRef one = LLVMAppendBasicBlockInContext(f->ctx, fn, "same");
        LLVMBasicBlockRef two = LLVMAppendBasicBlockInContext(f->ctx, fn, "apart");
        LLVMBuildCondBr(f->b, all, one, two);
        LLVMPositionBuilderAtEnd(f->b, one);
        LLVMValueRef margs[KILN_MAX_RANK * 8 + 3];
        int nm = 0;
        for (int i = 0; i < nbuf; i++)
            if (merged_param[i] == nm)
                margs[nm++] = args[i];
        memcpy(&margs[nm], tail, sizeof tail);
        LLVMBuildCall2(f->b, LLVMGlobalGetValueType(same), same, margs, (unsigned)nm + 3, "");
        LLVMBuildRetVoid(f->b);
        LLVMPositionBuilderAtEnd(f->b, two);
    }
    memcpy(&args[nbuf], tail, sizeof tail);
    LLVMBuildCall2(f->b, LLVMGlobalGetValueType(body), body, args, (unsigned)nbuf + 3, "");
    LLVMBuildRetVoid(f->b);
}

static cpu_step_info step_info(const k_program *p, const kernel *k)
{
    cpu_step_info s = {1, 1};
    int64_t total = 1, inner = 1;
    for (int d = 0; d < k->rank; d++)
        total *= k->dims[d];
    int axis = 0;
    if (k->kind == K_REDUCE || k->kind == K_ROW)
        axis = cpu_reduce_parallel_axis(k);
    if (k->kind == K_MATMUL) {
        s.range = total / k->dims[k->rank - 1];
        int64_t work = k->dims[k->rank - 1] * k->k_len;
        s.grain = work >= GRAIN_ELEMENTS ? 16 : GRAIN_ELEMENTS / (work ? work : 1);
        return s;
    }
    (void)p;
    if (k->rank == 0 || axis < 0)
        return s;
    s.range = k->dims[axis];
    inner = total / k->dims[axis];
    s.grain = inner >= GRAIN_ELEMENTS ? 1 : GRAIN_ELEMENTS / inner;
    return s;
}

static kiln_status emit_kernel(cpu_fn *f, const char *prefix, int i,
                               cpu_step_info *step)
{
    uint32_t bufs[KILN_MAX_RANK * 8];
    int acc_param[KILN_MAX_RANK * 8];
    char name[160];
    if (f->k->nacc > KILN_MAX_RANK * 8)
        return KILN_ERR_UNSUPPORTED;
    int nbuf = kernel_buffers(f->k, bufs, acc_param);
    snprintf(name, sizeof name, "%s_k%d_body", prefix, i);
    LLVMValueRef body = emit_kernel_body(f, name, nbuf, bufs, acc_param, false);
    int pair[KILN_MAX_RANK * 8][2], merged[KILN_MAX_RANK * 8];
    int npairs = shared_pairs(f, nbuf, bufs, pair);
    LLVMValueRef same = NULL;
    if (npairs) { /* each buffer takes the parameter of its pair's first */
        uint32_t mbufs[KILN_MAX_RANK * 8];
        int macc[KILN_MAX_RANK * 8], nm = 0;
        for (int j = 0; j < nbuf; j++) {
            int root = j;
            for (int q = 0; q < npairs; q++)
                if (pair[q][1] == j && pair[q][0] < root)
                    root = pair[q][0];
            merged[j] = root == j ? nm : merged[root];
            if (root == j)
                mbufs[nm++] = bufs[j];
        }
        for (int a = 0; a < f->k->nacc; a++)
            macc[a] = acc_param[a] >= 0 ? merged[acc_param[a]] : -1;
        snprintf(name, sizeof name, "%s_k%d_same", prefix, i);
        same = emit_kernel_body(f, name, nm, mbufs, macc, true);
    }
    snprintf(name, sizeof name, "%s_k%d", prefix, i);
    emit_kernel_entry(f, name, body, nbuf, bufs, same, merged, npairs, pair);
    *step = step_info(f->prog, f->k);
    return KILN_OK;
}

static LLVMModuleRef new_module(const cpu_target *t, LLVMContextRef ctx,
                                const char *name)
{
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext(name, ctx);
    LLVMSetTarget(m, t->triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(t->machine);
    LLVMSetModuleDataLayout(m, layout);
    LLVMDisposeTargetData(layout);
    return m;
}

/* Verify m; on failure (or s != KILN_OK) dispose of it. */
static kiln_status finish_module(LLVMModuleRef m, kiln_status s,
                                 LLVMModuleRef *out, char *err, size_t errlen)
{
    char *msg = NULL;
    if (s == KILN_OK && LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        snprintf(err, errlen, "cpu codegen: invalid LLVM IR: %.400s", msg);
        s = KILN_ERR_UNSUPPORTED;
    }
    LLVMDisposeMessage(msg);
    if (s != KILN_OK) {
        LLVMDisposeModule(m);
        return s;
    }
    *out = m;
    return KILN_OK;
}

/* Kernels [first, last) into m. */
static kiln_status emit_kernels(const k_program *p, const cpu_target *t,
                                LLVMModuleRef m, const char *prefix,
                                int first, int last, bool gemm_extern,
                                cpu_step_info *steps, char *err, size_t errlen)
{
    cpu_fn f;
    memset(&f, 0, sizeof f);
    f.ctx = LLVMGetModuleContext(m);
    f.mod = m;
    f.b = LLVMCreateBuilderInContext(f.ctx);
    f.tgt = t;
    f.prog = p;
    f.gemm_extern = gemm_extern;
    kiln_status s = KILN_OK;
    for (int i = first; i < last && s == KILN_OK; i++) {
        f.k = &p->k[i];
        f.lanes = 1;
        f.vec_axis = -1;
        memset(f.idx, 0, sizeof f.idx);
        f.base = ir_alloc(p->g, ((size_t)f.k->nacc + 1) * sizeof *f.base);
        f.memo = ir_alloc(p->g, ((size_t)f.k->nexpr + 1) * sizeof *f.memo);
        if (!f.base || !f.memo)
            s = KILN_ERR_OUT_OF_MEMORY;
        else
            s = emit_kernel(&f, prefix, i, &steps[i - first]);
        ir_free(p->g, f.base);
        ir_free(p->g, f.memo);
        if (s != KILN_OK)
            snprintf(err, errlen, "cpu codegen: kernel %d (%s): %s", i,
                     ir_ops[p->g->nodes[f.k->node].op].name, kiln_status_string(s));
    }
    LLVMDisposeBuilder(f.b);
    return s;
}

kiln_status cpu_emit_program(const k_program *p, const cpu_target *t,
                             LLVMContextRef ctx, const char *prefix,
                             LLVMModuleRef *out, cpu_step_info *steps,
                             char *err, size_t errlen)
{
    LLVMModuleRef m = new_module(t, ctx, prefix);
    kiln_status s = emit_kernels(p, t, m, prefix, 0, p->nk, false, steps, err, errlen);
    return finish_module(m, s, out, err, errlen);
}

kiln_status cpu_emit_kernels_module(const k_program *p, const cpu_target *t,
                                    LLVMContextRef ctx, const char *prefix,
                                    int first, int last, LLVMModuleRef *out,
                                    cpu_step_info *steps, char *err,
                                    size_t errlen)
{
    char name[160];
    snprintf(name, sizeof name, "%s_k%d", prefix, first);
    LLVMModuleRef m = new_module(t, ctx, name);
    kiln_status s = emit_kernels(p, t, m, prefix, first, last, true, steps, err, errlen);
    return finish_module(m, s, out, err, errlen);
}

kiln_status cpu_emit_gemm_module(kiln_dtype dt, const cpu_target *t,
                                 LLVMContextRef ctx, LLVMModuleRef *out,
                                 char *err, size_t errlen)
{
    LLVMModuleRef m = new_module(t, ctx, "kiln_gemm");
    LLVMValueRef fn = cpu_gemm_function(m, dt, t);
    if (fn)
        LLVMSetLinkage(fn, LLVMExternalLinkage);
    else
        snprintf(err, errlen, "cpu codegen: no GEMM for %s", kiln_dtype_name(dt));
    return finish_module(m, fn ? KILN_OK : KILN_ERR_UNSUPPORTED, out, err, errlen);
}

/* The pass list for each cpu_pipeline.  Kernel modules are small loop
 * nests that only need their body inlined, cleaned up and the innermost
 * loop vectorised (reductions and the GEMM vectorise themselves); the GEMM
 * is written with explicit vectors and only needs scalar clean-up and SLP
 * for its packing copies.  Both measured as fast at run time as
 * default<O2> for a fraction of its compile time (bench/gemm.c, bench/fusion.c). */
/* From LLVM 18 a spelled-out instcombine aborts the process when one
 * iteration does not reach a fixpoint; default<On> turns that check off,
 * and so must we. */
#if defined(KILN_LLVM_MAJOR) && KILN_LLVM_MAJOR >= 18
#define IC "instcombine<no-verify-fixpoint>"
#else
#define IC "instcombine"
#endif

static const char *pipeline_for(cpu_pipeline which)
{
#if defined(KILN_LLVM_MAJOR) && KILN_LLVM_MAJOR < 15
    /* LLVM 14's opaque pointers are experimental: its loop access analysis
     * crashes on them (loop-vectorize, loop-load-elim), so LLVM 14 gets a
     * shorter pipeline without loop vectorisation: correct, not fast. */
    (void)which;
    return "always-inline,function(sroa,early-cse,instcombine,simplifycfg,"
           "loop-mssa(loop-rotate,licm),indvars,slp-vectorizer,instcombine,"
           "simplifycfg)";
#else
    switch (which) {
    case CPU_PIPE_KERNEL:
        return "always-inline,function(sroa,early-cse," IC ",simplifycfg,"
               "loop-mssa(loop-rotate,licm),indvars,loop-vectorize," IC ","
               "simplifycfg)";
    case CPU_PIPE_GEMM:
        return "function(sroa,early-cse," IC ",simplifycfg,loop-mssa(licm),"
               "slp-vectorizer," IC ",simplifycfg)";
    case CPU_PIPE_FULL:
        break;
    }
    return "default<O2>";
#endif
}

kiln_status cpu_optimize_with(LLVMModuleRef m, const cpu_target *t,
                              cpu_pipeline which, char *err, size_t errlen)
{
    LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(o, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(o, 1);
    LLVMErrorRef e = LLVMRunPasses(m, pipeline_for(which), t->machine, o);
    LLVMDisposePassBuilderOptions(o);
    if (!e && which != CPU_PIPE_GEMM)
        cpu_add_prefetches(m);
    if (e) {
        char *msg = LLVMGetErrorMessage(e);
        snprintf(err, errlen, "LLVM optimisation failed: %s", msg);
        LLVMDisposeErrorMessage(msg);
        return KILN_ERR_UNSUPPORTED;
    }
    return KILN_OK;
}

kiln_status cpu_optimize(LLVMModuleRef m, const cpu_target *t, char *err,
                         size_t errlen)
{
    return cpu_optimize_with(m, t, CPU_PIPE_FULL, err, errlen);
}

size_t cpu_scratch_bytes(const k_program *p, const cpu_target *t)
{
    size_t most = 0;
    for (int i = 0; i < p->nk; i++)
        if (p->k[i].kind == K_MATMUL) {
            kiln_dtype dt = p->g->nodes[p->k[i].node].type.dtype;
            if (ir_dtype_is_float(dt)) {
                size_t need = cpu_gemm_work_bytes(dt, t);
                most = need > most ? need : most;
            }
        }
    return most;
}
