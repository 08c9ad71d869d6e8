/* gemm_jit.c — JIT the emitted GEMM for tests and the benchmark. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen_cpu/cpu_gemm.h"
#include "gemm_jit.h"

static int fail(char *err, size_t n, const char *what, LLVMErrorRef e)
{
    char *msg = e ? LLVMGetErrorMessage(e) : NULL;
    snprintf(err, n, "%s%s%s", what, msg ? ": " : "", msg ? msg : "");
    if (msg)
        LLVMDisposeErrorMessage(msg);
    return -1;
}

/* An external entry "gemm_entry" that calls the internal kiln_gemm_<t>, as
 * a kernel of the CPU backend would. */
static void add_entry(LLVMModuleRef m, LLVMValueRef gemm, const cpu_target *t)
{
    LLVMTypeRef ty = LLVMGlobalGetValueType(gemm);
    LLVMValueRef fn = LLVMAddFunction(m, "gemm_entry", ty);
    cpu_target_attrs(t, fn);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(LLVMGetModuleContext(m));
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(
                                    LLVMGetModuleContext(m), fn, "entry"));
    LLVMValueRef args[12];
    for (unsigned i = 0; i < 12; i++)
        args[i] = LLVMGetParam(fn, i);
    LLVMBuildCall2(b, ty, gemm, args, 12, "");
    LLVMBuildRetVoid(b);
    LLVMDisposeBuilder(b);
}

static int build_module(LLVMModuleRef m, kiln_dtype t, const cpu_target *tgt,
                        char *err, size_t n)
{
    LLVMSetTarget(m, tgt->triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tgt->machine);
    LLVMSetModuleDataLayout(m, td);
    LLVMDisposeTargetData(td);
    LLVMValueRef gemm = cpu_gemm_function(m, t, tgt);
    if (!gemm)
        return fail(err, n, "cpu_gemm_function returned NULL", NULL);
    if (cpu_gemm_function(m, t, tgt) != gemm)
        return fail(err, n, "second cpu_gemm_function call differs", NULL);
    add_entry(m, gemm, tgt);
    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        snprintf(err, n, "invalid IR: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return -1;
    }
    LLVMDisposeMessage(msg);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(m, "default<O3>", tgt->machine, opts);
    LLVMDisposePassBuilderOptions(opts);
    return e ? fail(err, n, "default<O3>", e) : 0;
}

/* Code generation may rewrite the IR it is given: emit from a clone. */
static int emit_asm(gemm_jit *j, LLVMModuleRef m, const cpu_target *tgt,
                    char *err, size_t n)
{
    LLVMModuleRef clone = LLVMCloneModule(m);
    LLVMMemoryBufferRef buf = NULL;
    char *msg = NULL;
    int bad = LLVMTargetMachineEmitToMemoryBuffer(tgt->machine, clone,
                                                  LLVMAssemblyFile, &msg, &buf);
    LLVMDisposeModule(clone);
    if (bad) {
        snprintf(err, n, "asm: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return -1;
    }
    size_t len = LLVMGetBufferSize(buf);
    j->asm_text = malloc(len + 1);
    if (j->asm_text) {
        memcpy(j->asm_text, LLVMGetBufferStart(buf), len);
        j->asm_text[len] = 0;
    }
    LLVMDisposeMemoryBuffer(buf);
    return j->asm_text ? 0 : fail(err, n, "out of memory", NULL);
}

/* The JIT owns its target machine: hand it a second one for the host. */
static int make_jit(gemm_jit *j, const char *cpu, char *err, size_t n)
{
    cpu_target jt;
    if (cpu_target_init(&jt, cpu, err, n) < 0)
        return -1;
    LLVMOrcJITTargetMachineBuilderRef jtmb =
        LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(jt.machine);
    jt.machine = NULL;
    cpu_target_free(&jt);
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&j->jit, builder);
    if (e)
        return fail(err, n, "LLJIT", e);
    LLVMOrcDefinitionGeneratorRef gen;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL);
    if (e)
        return fail(err, n, "process symbols", e);
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->jit), gen);
    return 0;
}

static int jit_module(gemm_jit *j, LLVMOrcThreadSafeContextRef tsc,
                      LLVMModuleRef m, char *err, size_t n)
{
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
    LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModule(
        j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), tsm);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return fail(err, n, "add module", e);
    }
    LLVMOrcExecutorAddress addr = 0;
    e = LLVMOrcLLJITLookup(j->jit, &addr, "gemm_entry");
    if (e)
        return fail(err, n, "lookup", e);
    j->fn = (void *)(uintptr_t)addr;
    return 0;
}

int gemm_jit_init(gemm_jit *j, kiln_dtype t, const char *cpu, int want_asm,
                  char *err, size_t n)
{
    memset(j, 0, sizeof *j);
    cpu_target tgt;
    if (cpu_target_init(&tgt, cpu, err, n) < 0)
        return -1;
    j->work_bytes = cpu_gemm_work_bytes(t, &tgt);
    cpu_gemm_blocking_for(t, &tgt, &j->blocking);
    snprintf(j->cpu, sizeof j->cpu, "%s", tgt.cpu);
    j->vector_bits = tgt.vector_bits;
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext(
        "gemm", LLVMOrcThreadSafeContextGetContext(tsc));
    int rc = build_module(m, t, &tgt, err, n);
    if (rc == 0 && want_asm)
        rc = emit_asm(j, m, &tgt, err, n);
    cpu_target_free(&tgt);
    if (rc == 0)
        rc = make_jit(j, cpu, err, n);
    if (rc == 0)
        rc = jit_module(j, tsc, m, err, n);
    else
        LLVMDisposeModule(m);
    LLVMOrcDisposeThreadSafeContext(tsc);
    if (rc < 0)
        gemm_jit_free(j);
    return rc;
}

void gemm_jit_free(gemm_jit *j)
{
    if (j->jit)
        LLVMOrcDisposeLLJIT(j->jit);
    free(j->asm_text);
    memset(j, 0, sizeof *j);
}

const char *gemm_jit_asm_function(const gemm_jit *j, const char *name,
                                  size_t *len)
{
    if (!j->asm_text)
        return NULL;
    char label[128];
    snprintf(label, sizeof label, "\n%s:", name);
    const char *s = strstr(j->asm_text, label);
    if (!s)
        return NULL;
    const char *e = strstr(s + 1, "\n.Lfunc_end");
    if (!e)
        e = s + strlen(s);
    *len = (size_t)(e - s);
    return s;
}

void *gemm_jit_alloc(size_t bytes)
{
    size_t rounded = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, rounded ? rounded : 64);
}
