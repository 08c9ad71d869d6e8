/*
 * cpu_aot.c — ahead-of-time compilation: the program's kernels plus a
 * small driver, emitted as one PIC object file whose only external
 * symbols are NAME_run, NAME_run_parallel, NAME_init_params,
 * NAME_params_size and NAME_workspace_size (see cpu_header.c for the C
 * side).  Constants and the params' initial values are read-only data in
 * the object; everything else lives in the caller's params and workspace
 * blocks, so the object has no state and needs no allocator.
 */
#include <stdio.h>
#include <string.h>

#include <llvm-c/Analysis.h>

#include "cpu_aot.h"
#include "ir/eval.h"

#define ALIGN64(x) (((x) + 63) / 64 * 64)

static int64_t bytes_of(const k_buffer *b)
{
    return b->numel * (int64_t)kiln_dtype_size(b->dtype);
}

kiln_status cpu_aot_layout_make(const k_program *p, size_t scratch,
                                cpu_aot_layout *l)
{
    memset(l, 0, sizeof *l);
    l->param_offset = ir_alloc(p->g, (p->nbuf ? p->nbuf : 1) * sizeof(int64_t));
    if (!l->param_offset)
        return KILN_ERR_OUT_OF_MEMORY;
    for (uint32_t b = 0; b < p->nbuf; b++) {
        l->param_offset[b] = -1;
        if (p->buf[b].kind == KB_PARAM) {
            l->param_offset[b] = l->params_bytes;
            l->params_bytes += ALIGN64(bytes_of(&p->buf[b]));
        }
    }
    int64_t staging = 0;
    for (int i = 0; i < p->ncopies; i++)
        if (p->buf[p->copies[i].src].kind == KB_PARAM &&
            !p->copies[i].in_place)
            staging += ALIGN64(bytes_of(&p->buf[p->copies[i].src]));
    l->arena_off = 0;
    l->staging_off = ALIGN64(p->arena_bytes);
    l->scratch_off = l->staging_off + staging;
    l->scratch_stride = ALIGN64((int64_t)scratch);
    return KILN_OK;
}

void cpu_aot_layout_free(const k_program *p, cpu_aot_layout *l)
{
    ir_free(p->g, l->param_offset);
}

/* ---- IR helpers ------------------------------------------------------ */

typedef struct aot {
    cpu_fn f; /* ctx, mod, b, tgt, prog */
    const cpu_aot_layout *l;
    const char *name;
    LLVMTypeRef ptr, i64, i32, vd;
    LLVMValueRef *consts; /* per buffer: global or NULL */
    const cpu_step_info *steps;
    bool flush; /* x86: MXCSR FTZ|DAZ while the object's code runs */
} aot;

static LLVMValueRef byte_gep(aot *a, LLVMValueRef base, LLVMValueRef off)
{
    return LLVMBuildGEP2(a->f.b, LLVMInt8TypeInContext(a->f.ctx), base, &off, 1, "");
}

static LLVMValueRef k64(aot *a, int64_t v) { return LLVMConstInt(a->i64, (unsigned long long)v, 1); }

static LLVMValueRef data_global(aot *a, const char *gname, const void *data, size_t n)
{
    LLVMValueRef init = LLVMConstStringInContext(a->f.ctx, data ? (const char *)data : "",
                                                 (unsigned)n, 1);
    LLVMValueRef g = LLVMAddGlobal(a->f.mod, LLVMTypeOf(init), gname);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    LLVMSetAlignment(g, 64);
    return g;
}

static void memcpy_call(aot *a, LLVMValueRef dst, LLVMValueRef src, int64_t n)
{
    LLVMTypeRef over[3] = {a->ptr, a->ptr, a->i64};
    const char *nm = "llvm.memcpy";
    unsigned id = LLVMLookupIntrinsicID(nm, strlen(nm));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(a->f.mod, id, over, 3);
    LLVMValueRef args[4] = {dst, src, k64(a, n),
                            LLVMConstInt(LLVMInt1TypeInContext(a->f.ctx), 0, 0)};
    LLVMBuildCall2(a->f.b, LLVMIntrinsicGetType(a->f.ctx, id, over, 3), fn, args, 4, "");
}

static LLVMValueRef begin_function(aot *a, const char *suffix, LLVMTypeRef ret,
                                   LLVMTypeRef *params, unsigned n, bool exported)
{
    char fname[160];
    snprintf(fname, sizeof fname, "%s_%s", a->name, suffix);
    LLVMValueRef fn = LLVMAddFunction(a->f.mod, fname, LLVMFunctionType(ret, params, n, 0));
    if (!exported)
        LLVMSetLinkage(fn, LLVMInternalLinkage);
    cpu_target_attrs(a->f.tgt, fn);
    LLVMPositionBuilderAtEnd(a->f.b, LLVMAppendBasicBlockInContext(a->f.ctx, fn, "entry"));
    return fn;
}

/* size_t NAME_<what>(void) { return v; }  (threads-dependent for the workspace) */
static void size_function(aot *a, const char *what, int64_t fixed, int64_t per_thread)
{
    LLVMTypeRef params[1] = {a->i32};
    LLVMValueRef fn = begin_function(a, what, a->i64, params, per_thread ? 1 : 0, true);
    LLVMValueRef v = k64(a, fixed);
    if (per_thread) {
        LLVMValueRef t = LLVMBuildSExt(a->f.b, LLVMGetParam(fn, 0), a->i64, "");
        LLVMValueRef one = k64(a, 1);
        t = LLVMBuildSelect(a->f.b, LLVMBuildICmp(a->f.b, LLVMIntSLT, t, one, ""), one, t, "");
        v = LLVMBuildAdd(a->f.b, v, LLVMBuildMul(a->f.b, t, k64(a, per_thread), ""), "");
    }
    LLVMBuildRet(a->f.b, v);
}

static bool init_params_function(aot *a)
{
    const k_program *p = a->f.prog;
    unsigned char *blob = ir_alloc(p->g, (size_t)a->l->params_bytes + 1);
    if (!blob)
        return false;
    memset(blob, 0, (size_t)a->l->params_bytes + 1);
    for (uint32_t b = 0; b < p->nbuf; b++) {
        if (p->buf[b].kind != KB_PARAM)
            continue;
        const ir_node *n = &p->g->nodes[p->buf[b].node];
        double *vals = ir_alloc(p->g, (size_t)p->buf[b].numel * sizeof *vals);
        if (!vals) {
            ir_free(p->g, blob);
            return false;
        }
        ir_init_fill(&n->attr.u.init, &n->type, vals);
        ir_from_doubles(n->type.dtype, vals, p->buf[b].numel, blob + a->l->param_offset[b]);
        ir_free(p->g, vals);
    }
    char gname[160];
    snprintf(gname, sizeof gname, "%s_initial_params", a->name);
    LLVMValueRef init = data_global(a, gname, blob, (size_t)a->l->params_bytes);
    ir_free(p->g, blob);
    LLVMTypeRef params[1] = {a->ptr};
    LLVMValueRef fn = begin_function(a, "init_params", LLVMVoidTypeInContext(a->f.ctx), params, 1, true);
    if (a->l->params_bytes)
        memcpy_call(a, LLVMGetParam(fn, 0), init, a->l->params_bytes);
    LLVMBuildRetVoid(a->f.b);
    return true;
}

/* Subnormals flushed to zero while kernels run, as the JIT's runtime does
 * (runtime/fpenv.h): on x86 the caller's MXCSR is saved in an alloca,
 * FTZ|DAZ set, and fp_restore puts it back.  NULL (nothing done) when not
 * flushing or not on x86. */
static LLVMValueRef fp_flush(aot *a)
{
    if (!a->flush || strncmp(a->f.tgt->triple, "x86_64", 6) != 0)
        return NULL;
    LLVMTypeRef fty = LLVMFunctionType(a->vd, &a->ptr, 1, 0);
    LLVMValueRef st = LLVMGetNamedFunction(a->f.mod, "llvm.x86.sse.stmxcsr");
    LLVMValueRef ld = LLVMGetNamedFunction(a->f.mod, "llvm.x86.sse.ldmxcsr");
    if (!st)
        st = LLVMAddFunction(a->f.mod, "llvm.x86.sse.stmxcsr", fty);
    if (!ld)
        ld = LLVMAddFunction(a->f.mod, "llvm.x86.sse.ldmxcsr", fty);
    LLVMValueRef saved = LLVMBuildAlloca(a->f.b, a->i32, "mxcsr");
    LLVMValueRef flushed = LLVMBuildAlloca(a->f.b, a->i32, "mxcsr_ftz");
    LLVMBuildCall2(a->f.b, fty, st, &saved, 1, "");
    LLVMValueRef v = LLVMBuildLoad2(a->f.b, a->i32, saved, "");
    LLVMBuildStore(a->f.b, LLVMBuildOr(a->f.b, v, LLVMConstInt(a->i32, 0x8040, 0), ""), flushed);
    LLVMBuildCall2(a->f.b, fty, ld, &flushed, 1, "");
    return saved;
}

static void fp_restore(aot *a, LLVMValueRef saved)
{
    if (!saved)
        return;
    LLVMTypeRef fty = LLVMFunctionType(a->vd, &a->ptr, 1, 0);
    LLVMBuildCall2(a->f.b, fty, LLVMGetNamedFunction(a->f.mod, "llvm.x86.sse.ldmxcsr"),
                   &saved, 1, "");
}

/* The context a parallel task reads: {fn, bufs, scratch, stride, counter}. */
static LLVMTypeRef task_ctx_type(aot *a)
{
    LLVMTypeRef f[5] = {a->ptr, a->ptr, a->ptr, a->i64, a->i32};
    return LLVMStructTypeInContext(a->f.ctx, f, 5, 0);
}

static LLVMValueRef field(aot *a, LLVMTypeRef st, LLVMValueRef base, unsigned i)
{
    return LLVMBuildStructGEP2(a->f.b, st, base, i, "");
}

static LLVMTypeRef kernel_type(aot *a)
{
    LLVMTypeRef params[4] = {a->ptr, a->i64, a->i64, a->ptr};
    return LLVMFunctionType(a->vd, params, 4, 0);
}

/* void NAME_task(void *ctx, int64_t begin, int64_t end): takes a scratch
 * slot and runs the kernel on the chunk. */
static LLVMValueRef task_function(aot *a)
{
    LLVMTypeRef params[3] = {a->ptr, a->i64, a->i64};
    LLVMValueRef fn = begin_function(a, "task", a->vd, params, 3, false);
    LLVMValueRef fp = fp_flush(a); /* the caller's worker threads too */
    LLVMTypeRef st = task_ctx_type(a);
    LLVMValueRef ctx = LLVMGetParam(fn, 0);
    LLVMValueRef slot = LLVMBuildAtomicRMW(a->f.b, LLVMAtomicRMWBinOpAdd,
                                           field(a, st, ctx, 4), LLVMConstInt(a->i32, 1, 0),
                                           LLVMAtomicOrderingMonotonic, 0);
    LLVMValueRef stride = LLVMBuildLoad2(a->f.b, a->i64, field(a, st, ctx, 3), "");
    LLVMValueRef base = LLVMBuildLoad2(a->f.b, a->ptr, field(a, st, ctx, 2), "");
    LLVMValueRef scratch = byte_gep(a, base, LLVMBuildMul(a->f.b, LLVMBuildSExt(a->f.b, slot, a->i64, ""), stride, ""));
    LLVMValueRef kfn = LLVMBuildLoad2(a->f.b, a->ptr, field(a, st, ctx, 0), "");
    LLVMValueRef args[4] = {LLVMBuildLoad2(a->f.b, a->ptr, field(a, st, ctx, 1), ""),
                            LLVMGetParam(fn, 1), LLVMGetParam(fn, 2), scratch};
    LLVMBuildCall2(a->f.b, kernel_type(a), kfn, args, 4, "");
    fp_restore(a, fp);
    LLVMBuildRetVoid(a->f.b);
    return fn;
}

/* bufs[b] for every buffer, in an alloca of the run function. */
static LLVMValueRef wire_buffers(aot *a, LLVMValueRef in, LLVMValueRef params, LLVMValueRef ws)
{
    const k_program *p = a->f.prog;
    LLVMValueRef bufs = LLVMBuildArrayAlloca(a->f.b, a->ptr, k64(a, p->nbuf ? p->nbuf : 1), "bufs");
    int input = 0;
    for (uint32_t b = 0; b < p->nbuf; b++) {
        const k_buffer *buf = &p->buf[b];
        LLVMValueRef v;
        switch (buf->kind) {
        case KB_INPUT: {
            LLVMValueRef at = k64(a, input++);
            v = LLVMBuildLoad2(a->f.b, a->ptr, LLVMBuildGEP2(a->f.b, a->ptr, in, &at, 1, ""), "");
            break;
        }
        case KB_PARAM: v = byte_gep(a, params, k64(a, a->l->param_offset[b])); break;
        case KB_CONST: v = a->consts[b]; break;
        default: v = byte_gep(a, ws, k64(a, a->l->arena_off + buf->offset)); break;
        }
        LLVMValueRef at = k64(a, b);
        LLVMBuildStore(a->f.b, v, LLVMBuildGEP2(a->f.b, a->ptr, bufs, &at, 1, ""));
    }
    return bufs;
}

static LLVMValueRef buf_ptr(aot *a, LLVMValueRef bufs, uint32_t b)
{
    LLVMValueRef at = k64(a, b);
    return LLVMBuildLoad2(a->f.b, a->ptr, LLVMBuildGEP2(a->f.b, a->ptr, bufs, &at, 1, ""), "");
}

/* One step: parallel through pf when given and worth it, else inline. */
static void run_step(aot *a, int i, LLVMValueRef bufs, LLVMValueRef ws, LLVMValueRef threads,
                     LLVMValueRef pf, LLVMValueRef user, LLVMValueRef task, LLVMValueRef ctx)
{
    char kname[160];
    snprintf(kname, sizeof kname, "%s_k%d", a->name, i);
    LLVMValueRef kfn = LLVMGetNamedFunction(a->f.mod, kname);
    const cpu_step_info *s = &a->steps[i];
    LLVMValueRef scratch = byte_gep(a, ws, k64(a, a->l->scratch_off));
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(a->f.b));
    if (s->range < 2 * s->grain) {
        LLVMValueRef args[4] = {bufs, k64(a, 0), k64(a, s->range), scratch};
        LLVMBuildCall2(a->f.b, kernel_type(a), kfn, args, 4, "");
        return;
    }
    LLVMBasicBlockRef par = LLVMAppendBasicBlockInContext(a->f.ctx, fn, "par");
    LLVMBasicBlockRef seq = LLVMAppendBasicBlockInContext(a->f.ctx, fn, "seq");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(a->f.ctx, fn, "next");
    LLVMValueRef use_pf = LLVMBuildAnd(a->f.b, LLVMBuildIsNotNull(a->f.b, pf, ""),
                                       LLVMBuildICmp(a->f.b, LLVMIntSGT, threads, LLVMConstInt(a->i32, 1, 0), ""), "");
    LLVMBuildCondBr(a->f.b, use_pf, par, seq);
    LLVMPositionBuilderAtEnd(a->f.b, par);
    LLVMTypeRef st = task_ctx_type(a);
    LLVMBuildStore(a->f.b, kfn, field(a, st, ctx, 0));
    LLVMBuildStore(a->f.b, bufs, field(a, st, ctx, 1));
    LLVMBuildStore(a->f.b, scratch, field(a, st, ctx, 2));
    LLVMBuildStore(a->f.b, k64(a, a->l->scratch_stride), field(a, st, ctx, 3));
    LLVMBuildStore(a->f.b, LLVMConstInt(a->i32, 0, 0), field(a, st, ctx, 4));
    LLVMTypeRef pft[5] = {a->ptr, a->i64, a->i64, a->ptr, a->ptr};
    LLVMValueRef pargs[5] = {user, k64(a, s->range), k64(a, s->grain), task, ctx};
    LLVMBuildCall2(a->f.b, LLVMFunctionType(a->vd, pft, 5, 0), pf, pargs, 5, "");
    LLVMBuildBr(a->f.b, next);
    LLVMPositionBuilderAtEnd(a->f.b, seq);
    LLVMValueRef args[4] = {bufs, k64(a, 0), k64(a, s->range), scratch};
    LLVMBuildCall2(a->f.b, kernel_type(a), kfn, args, 4, "");
    LLVMBuildBr(a->f.b, next);
    LLVMPositionBuilderAtEnd(a->f.b, next);
}

/* int NAME_run_parallel(in, out, params, ws, threads, pf, user) */
static void run_function(aot *a)
{
    const k_program *p = a->f.prog;
    LLVMTypeRef params[7] = {a->ptr, a->ptr, a->ptr, a->ptr, a->i32, a->ptr, a->ptr};
    LLVMValueRef fn = begin_function(a, "run_parallel", a->i32, params, 7, true);
    LLVMValueRef in = LLVMGetParam(fn, 0), out = LLVMGetParam(fn, 1),
                 prm = LLVMGetParam(fn, 2), ws = LLVMGetParam(fn, 3);
    LLVMValueRef ctx = LLVMBuildAlloca(a->f.b, task_ctx_type(a), "ctx");
    LLVMValueRef fp = fp_flush(a);
    LLVMValueRef bufs = wire_buffers(a, in, prm, ws);
    char tname[160];
    snprintf(tname, sizeof tname, "%s_task", a->name);
    LLVMValueRef task = LLVMGetNamedFunction(a->f.mod, tname);
    for (int i = 0; i < p->nk; i++)
        run_step(a, i, bufs, ws, LLVMGetParam(fn, 4), LLVMGetParam(fn, 5), LLVMGetParam(fn, 6), task, ctx);
    for (int o = 0; o < p->noutputs; o++) {
        LLVMValueRef at = k64(a, o);
        LLVMValueRef dst = LLVMBuildLoad2(a->f.b, a->ptr, LLVMBuildGEP2(a->f.b, a->ptr, out, &at, 1, ""), "");
        memcpy_call(a, dst, buf_ptr(a, bufs, p->outputs[o].buf), bytes_of(&p->buf[p->outputs[o].buf]));
    }
    /* assigns read pre-run values: stage param sources first */
    int64_t stage = a->l->staging_off;
    for (int i = 0; i < p->ncopies; i++)
        if (p->buf[p->copies[i].src].kind == KB_PARAM &&
            !p->copies[i].in_place) {
            memcpy_call(a, byte_gep(a, ws, k64(a, stage)), buf_ptr(a, bufs, p->copies[i].src),
                        bytes_of(&p->buf[p->copies[i].src]));
            stage += ALIGN64(bytes_of(&p->buf[p->copies[i].src]));
        }
    stage = a->l->staging_off;
    for (int i = 0; i < p->ncopies; i++) {
        const k_copy *c = &p->copies[i];
        if (c->in_place) /* stored in place by its kernel */
            continue;
        LLVMValueRef src = buf_ptr(a, bufs, c->src);
        if (p->buf[c->src].kind == KB_PARAM) {
            src = byte_gep(a, ws, k64(a, stage));
            stage += ALIGN64(bytes_of(&p->buf[c->src]));
        }
        memcpy_call(a, buf_ptr(a, bufs, c->dst), src, bytes_of(&p->buf[c->dst]));
    }
    fp_restore(a, fp);
    LLVMBuildRet(a->f.b, LLVMConstInt(a->i32, 0, 0));

    /* int NAME_run(in, out, params, ws): one thread */
    LLVMValueRef run = begin_function(a, "run", a->i32, params, 4, true);
    LLVMValueRef args[7] = {LLVMGetParam(run, 0), LLVMGetParam(run, 1), LLVMGetParam(run, 2),
                            LLVMGetParam(run, 3), LLVMConstInt(a->i32, 1, 0),
                            LLVMConstNull(a->ptr), LLVMConstNull(a->ptr)};
    LLVMBuildRet(a->f.b, LLVMBuildCall2(a->f.b, LLVMGlobalGetValueType(fn), fn, args, 7, ""));
}

kiln_status cpu_aot_emit_module(const k_program *p, const cpu_target *t,
                                LLVMContextRef ctx, const char *name,
                                const cpu_aot_layout *l, bool flush_denormals,
                                LLVMModuleRef *out, char *err, size_t errlen)
{
    cpu_step_info *steps = ir_alloc(p->g, (size_t)(p->nk ? p->nk : 1) * sizeof *steps);
    LLVMValueRef *consts = ir_alloc(p->g, (p->nbuf ? p->nbuf : 1) * sizeof *consts);
    LLVMModuleRef m = NULL;
    kiln_status s = steps && consts ? cpu_emit_program(p, t, ctx, name, &m, steps, err, errlen)
                                    : KILN_ERR_OUT_OF_MEMORY;
    if (s == KILN_OK) {
        aot a;
        memset(&a, 0, sizeof a);
        a.f.ctx = ctx;
        a.f.mod = m;
        a.f.b = LLVMCreateBuilderInContext(ctx);
        a.f.tgt = t;
        a.f.prog = p;
        a.l = l;
        a.name = name;
        a.ptr = LLVMPointerTypeInContext(ctx, 0);
        a.i64 = LLVMInt64TypeInContext(ctx);
        a.i32 = LLVMInt32TypeInContext(ctx);
        a.vd = LLVMVoidTypeInContext(ctx);
        a.consts = consts;
        a.steps = steps;
        a.flush = flush_denormals;
        for (int i = 0; i < p->nk; i++) { /* kernels are internal in an object */
            char kname[160];
            snprintf(kname, sizeof kname, "%s_k%d", name, i);
            LLVMSetLinkage(LLVMGetNamedFunction(m, kname), LLVMInternalLinkage);
        }
        for (uint32_t b = 0; b < p->nbuf; b++) {
            consts[b] = NULL;
            if (p->buf[b].kind == KB_CONST) {
                char gname[160];
                snprintf(gname, sizeof gname, "%s_const%u", name, (unsigned)b);
                consts[b] = data_global(&a, gname, p->buf[b].data, (size_t)bytes_of(&p->buf[b]));
            }
        }
        size_function(&a, "params_size", l->params_bytes, 0);
        size_function(&a, "workspace_size", l->scratch_off, l->scratch_stride);
        if (!init_params_function(&a))
            s = KILN_ERR_OUT_OF_MEMORY;
        task_function(&a);
        run_function(&a);
        LLVMDisposeBuilder(a.f.b);
        char *msg = NULL;
        if (s == KILN_OK && LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
            snprintf(err, errlen, "aot: invalid LLVM IR: %.400s", msg);
            s = KILN_ERR_UNSUPPORTED;
        }
        LLVMDisposeMessage(msg);
    }
    ir_free(p->g, steps);
    ir_free(p->g, consts);
    if (s != KILN_OK) {
        if (m)
            LLVMDisposeModule(m);
        return s;
    }
    *out = m;
    return KILN_OK;
}
