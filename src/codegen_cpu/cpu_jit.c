/* cpu_jit.c — ORC LLJIT for the host, with the process's symbols visible
 * (LLJIT does not add them by itself). */
#include <stdio.h>
#include <string.h>

#include <llvm-c/Error.h>

#include "cpu_jit.h"

static int fail(LLVMErrorRef e, const char *what, char *err, size_t errlen)
{
    char *msg = LLVMGetErrorMessage(e);
    snprintf(err, errlen, "JIT: %s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return -1;
}

int cpu_jit_new(cpu_jit *j, LLVMOrcThreadSafeContextRef tsc, LLVMModuleRef m,
                char *err, size_t errlen)
{
    memset(j, 0, sizeof *j);
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, tsc);
    LLVMOrcJITTargetMachineBuilderRef host;
    LLVMErrorRef e = LLVMOrcJITTargetMachineBuilderDetectHost(&host);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return fail(e, "no host target", err, errlen);
    }
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, host);
    e = LLVMOrcCreateLLJIT(&j->jit, builder);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return fail(e, "cannot create LLJIT", err, errlen);
    }
    LLVMOrcDefinitionGeneratorRef process;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &process, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        cpu_jit_free(j);
        return fail(e, "no process symbols", err, errlen);
    }
    LLVMOrcJITDylibRef main = LLVMOrcLLJITGetMainJITDylib(j->jit);
    LLVMOrcJITDylibAddGenerator(main, process);
    e = LLVMOrcLLJITAddLLVMIRModule(j->jit, main, tsm);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        cpu_jit_free(j);
        return fail(e, "cannot add module", err, errlen);
    }
    return 0;
}

void *cpu_jit_lookup(cpu_jit *j, const char *name, char *err, size_t errlen)
{
    LLVMOrcExecutorAddress addr = 0;
    LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &addr, name);
    if (e) {
        fail(e, name, err, errlen);
        return NULL;
    }
    return (void *)(uintptr_t)addr;
}

void cpu_jit_free(cpu_jit *j)
{
    if (j->jit)
        LLVMOrcDisposeLLJIT(j->jit);
    j->jit = NULL;
}
