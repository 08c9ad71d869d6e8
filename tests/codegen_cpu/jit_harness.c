/* jit_harness.c — see jit_harness.h. */
#include "jit_harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

struct jh {
    LLVMOrcThreadSafeContextRef tsc;
    LLVMOrcLLJITRef jit;
    LLVMTargetMachineRef tm; /* for the optimiser; the JIT owns its own */
    char *triple, *cpu, *features;
};

static void set_err(char *err, size_t len, const char *what, LLVMErrorRef e)
{
    char *msg = e ? LLVMGetErrorMessage(e) : NULL;
    snprintf(err, len, "%s%s%s", what, msg ? ": " : "", msg ? msg : "");
    if (msg)
        LLVMDisposeErrorMessage(msg);
}

static LLVMTargetMachineRef host_machine(const jh *h)
{
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(h->triple, &target, &msg)) {
        LLVMDisposeMessage(msg);
        return NULL;
    }
    return LLVMCreateTargetMachine(target, h->triple, h->cpu, h->features,
                                   LLVMCodeGenLevelAggressive, LLVMRelocPIC,
                                   LLVMCodeModelJITDefault);
}

static int make_jit(jh *h, char *err, size_t errlen)
{
    LLVMTargetMachineRef jtm = host_machine(h);
    if (!jtm) {
        set_err(err, errlen, "no host target machine", NULL);
        return -1;
    }
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(
        builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(jtm));
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&h->jit, builder);
    if (e) {
        set_err(err, errlen, "LLJIT", e);
        return -1;
    }
    LLVMOrcDefinitionGeneratorRef gen;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(h->jit), NULL, NULL);
    if (e) {
        set_err(err, errlen, "process symbols", e);
        return -1;
    }
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(h->jit), gen);
    return 0;
}

jh *jh_create(char *err, size_t errlen)
{
    if (LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter()) {
        set_err(err, errlen, "no native target", NULL);
        return NULL;
    }
    jh *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->triple = LLVMGetDefaultTargetTriple();
    h->cpu = LLVMGetHostCPUName();
    h->features = LLVMGetHostCPUFeatures();
    h->tsc = LLVMOrcCreateNewThreadSafeContext();
    h->tm = host_machine(h);
    if (!h->tm) {
        set_err(err, errlen, "no host target machine", NULL);
        jh_destroy(h);
        return NULL;
    }
    if (make_jit(h, err, errlen)) {
        jh_destroy(h);
        return NULL;
    }
    return h;
}

void jh_destroy(jh *h)
{
    if (!h)
        return;
    if (h->jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(h->jit);
        if (e)
            LLVMConsumeError(e);
    }
    if (h->tm)
        LLVMDisposeTargetMachine(h->tm);
    LLVMOrcDisposeThreadSafeContext(h->tsc);
    LLVMDisposeMessage(h->triple);
    LLVMDisposeMessage(h->cpu);
    LLVMDisposeMessage(h->features);
    free(h);
}

LLVMContextRef jh_context(jh *h)
{
    return LLVMOrcThreadSafeContextGetContext(h->tsc);
}

LLVMModuleRef jh_module(jh *h, const char *name)
{
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext(name, jh_context(h));
    LLVMSetTarget(mod, h->triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(h->tm);
    char *layout = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(mod, layout);
    LLVMDisposeMessage(layout);
    LLVMDisposeTargetData(td);
    return mod;
}

static void string_attr(LLVMValueRef fn, const char *key, const char *val)
{
    LLVMContextRef ctx = LLVMGetModuleContext(LLVMGetGlobalParent(fn));
    LLVMAddAttributeAtIndex(
        fn, LLVMAttributeFunctionIndex,
        LLVMCreateStringAttribute(ctx, key, (unsigned)strlen(key), val,
                                  (unsigned)strlen(val)));
}

void jh_host_attrs(jh *h, LLVMValueRef fn)
{
    string_attr(fn, "target-cpu", h->cpu);
    string_attr(fn, "target-features", h->features);
    string_attr(fn, "prefer-vector-width", "512");
}

bool jh_host_has(jh *h, const char *feature)
{
    size_t n = strlen(feature);
    for (const char *p = h->features; (p = strstr(p, feature)); p += n)
        if (p[n] == ',' || p[n] == '\0')
            return true;
    return false;
}

static void noalias(LLVMValueRef fn, unsigned param)
{
    LLVMContextRef ctx = LLVMGetModuleContext(LLVMGetGlobalParent(fn));
    unsigned kind = LLVMGetEnumAttributeKindForName("noalias", 7);
    LLVMAddAttributeAtIndex(fn, param + 1, LLVMCreateEnumAttribute(ctx, kind, 0));
}

/* for (i = 0; i < n; i++) out[i] = body(in[i]) */
static void emit_loop(LLVMBuilderRef b, LLVMValueRef fn, LLVMTypeRef elem,
                      int nin, jh_body body, void *ctx)
{
    LLVMContextRef c = LLVMGetModuleContext(LLVMGetGlobalParent(fn));
    LLVMTypeRef i64 = LLVMInt64TypeInContext(c);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, fn, "entry");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(c, fn, "loop");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c, fn, "done");
    LLVMValueRef n = LLVMGetParam(fn, (unsigned)nin + 1), zero = LLVMConstInt(i64, 0, 0);
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, n, zero, ""), loop, done);
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef i = LLVMBuildPhi(b, i64, "i"), x[2];
    for (int k = 0; k < nin; k++) {
        LLVMValueRef p = LLVMBuildGEP2(b, elem, LLVMGetParam(fn, (unsigned)k), &i, 1, "");
        x[k] = LLVMBuildLoad2(b, elem, p, "");
    }
    LLVMValueRef y = body(b, x, ctx);
    LLVMBuildStore(b, y, LLVMBuildGEP2(b, elem, LLVMGetParam(fn, (unsigned)nin), &i, 1, ""));
    LLVMValueRef next = LLVMBuildAdd(b, i, LLVMConstInt(i64, 1, 0), "");
    LLVMValueRef inc[2] = {zero, next};
    LLVMBasicBlockRef from[2] = {entry, loop};
    LLVMAddIncoming(i, inc, from, 2);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, next, n, ""), loop, done);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
}

LLVMValueRef jh_map_loop(jh *h, LLVMModuleRef mod, const char *name,
                         LLVMTypeRef elem, int nin, jh_body body, void *ctx)
{
    LLVMContextRef c = LLVMGetModuleContext(mod);
    /* LLVMPointerTypeInContext is LLVM 15+; this one is opaque from 15 on
     * and typed in LLVM 14, where GEP2/Load2 accept it as well. */
    LLVMTypeRef ptr = LLVMPointerType(elem, 0);
    LLVMTypeRef params[4] = {ptr, ptr, ptr, LLVMInt64TypeInContext(c)};
    params[nin + 1] = LLVMInt64TypeInContext(c);
    LLVMValueRef fn = LLVMAddFunction(
        mod, name, LLVMFunctionType(LLVMVoidTypeInContext(c), params, (unsigned)nin + 2, 0));
    jh_host_attrs(h, fn);
    for (int k = 0; k <= nin; k++)
        noalias(fn, (unsigned)k);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
    emit_loop(b, fn, elem, nin, body, ctx);
    LLVMDisposeBuilder(b);
    return fn;
}

static LLVMValueRef vector_access(LLVMValueRef v, LLVMTypeRef elem)
{
    LLVMSetAlignment(v, (unsigned)(LLVMGetTypeKind(elem) == LLVMDoubleTypeKind ? 8 : 4));
    return v;
}

LLVMValueRef jh_vector_fn(jh *h, LLVMModuleRef mod, const char *name,
                          LLVMTypeRef elem, unsigned lanes, int nin,
                          jh_body body, void *ctx)
{
    LLVMContextRef c = LLVMGetModuleContext(mod);
    LLVMTypeRef vt = LLVMVectorType(elem, lanes), ptr = LLVMPointerType(elem, 0);
    LLVMTypeRef params[3] = {ptr, ptr, ptr};
    LLVMValueRef fn = LLVMAddFunction(
        mod, name, LLVMFunctionType(LLVMVoidTypeInContext(c), params, (unsigned)nin + 1, 0));
    jh_host_attrs(h, fn);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c, fn, "entry"));
    LLVMValueRef x[2], p[3];
    for (int k = 0; k <= nin; k++) /* typed pointers (LLVM 14) need the cast */
        p[k] = LLVMBuildBitCast(b, LLVMGetParam(fn, (unsigned)k), LLVMPointerType(vt, 0), "");
    for (int k = 0; k < nin; k++)
        x[k] = vector_access(LLVMBuildLoad2(b, vt, p[k], ""), elem);
    vector_access(LLVMBuildStore(b, body(b, x, ctx), p[nin]), elem);
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
    return fn;
}

int jh_optimize(jh *h, LLVMModuleRef mod, char *err, size_t errlen)
{
    char *msg = NULL;
    if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
        snprintf(err, errlen, "invalid module: %s", msg);
        LLVMDisposeMessage(msg);
        return -1;
    }
    LLVMDisposeMessage(msg);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(mod, "default<O3>", h->tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (e) {
        set_err(err, errlen, "passes", e);
        return -1;
    }
    return 0;
}

int jh_add(jh *h, LLVMModuleRef mod, char *err, size_t errlen)
{
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, h->tsc);
    LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModule(
        h->jit, LLVMOrcLLJITGetMainJITDylib(h->jit), tsm);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        set_err(err, errlen, "add module", e);
        return -1;
    }
    return 0;
}

void *jh_lookup(jh *h, const char *name)
{
    LLVMOrcExecutorAddress addr = 0;
    LLVMErrorRef e = LLVMOrcLLJITLookup(h->jit, &addr, name);
    if (e) {
        LLVMConsumeError(e);
        return NULL;
    }
    return (void *)(uintptr_t)addr;
}
