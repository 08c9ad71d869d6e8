/* cpu_target.c — the LLVM target machine for the host or a named CPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <llvm-c/Support.h>
#include <llvm-c/Target.h>

#include "cpu_target.h"

static int vector_bits_of(const char *features)
{
    if (strstr(features, "+avx512f"))
        return 512;
    if (strstr(features, "+avx2") || strstr(features, "+avx,") ||
        strstr(features, "+avx"))
        return 256;
    return 128;
}

/* LLVM's target registry is process-wide; register the native target once
 * even when programs are compiled from several threads at a time. */
static pthread_once_t native_once = PTHREAD_ONCE_INIT;

static void init_native(void)
{
#if defined(KILN_LLVM_MAJOR) && KILN_LLVM_MAJOR < 15
    const char *argv[] = {"kiln", "-opaque-pointers"};
    LLVMParseCommandLineOptions(2, argv, NULL);
#endif
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
}

int cpu_target_init(cpu_target *t, const char *cpu, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    pthread_once(&native_once, init_native);
    char *triple = LLVMGetDefaultTargetTriple();
    snprintf(t->triple, sizeof t->triple, "%s", triple);
    LLVMDisposeMessage(triple);
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(t->triple, &target, &msg)) {
        snprintf(err, errlen, "no LLVM target for %s: %s", t->triple,
                 msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return -1;
    }
    char *features;
    if (!cpu || strcmp(cpu, "native") == 0) {
        char *name = LLVMGetHostCPUName();
        snprintf(t->cpu, sizeof t->cpu, "%s", name);
        LLVMDisposeMessage(name);
        char *f = LLVMGetHostCPUFeatures();
        features = strdup(f);
        LLVMDisposeMessage(f);
    } else {
        snprintf(t->cpu, sizeof t->cpu, "%s", cpu);
        features = strdup("");
    }
    if (!features) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->features = features;
    t->machine = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features,
                                         LLVMCodeGenLevelAggressive,
                                         LLVMRelocPIC, LLVMCodeModelDefault);
    if (!t->machine) {
        snprintf(err, errlen, "LLVM cannot make a target machine for cpu '%s'",
                 t->cpu);
        cpu_target_free(t);
        return -1;
    }
    /* A named CPU implies its features; ask the machine for them. */
    if (!*t->features) {
        char *f = LLVMGetTargetMachineFeatureString(t->machine);
        t->vector_bits = f && *f ? vector_bits_of(f) : 0;
        LLVMDisposeMessage(f);
        if (!t->vector_bits)
            t->vector_bits = strstr(t->cpu, "v4") ? 512
                             : strstr(t->cpu, "v3") ? 256 : 128;
    } else {
        t->vector_bits = vector_bits_of(t->features);
    }
    return 0;
}

void cpu_target_free(cpu_target *t)
{
    if (t->machine)
        LLVMDisposeTargetMachine(t->machine);
    free(t->features);
    memset(t, 0, sizeof *t);
}

void cpu_target_attrs(const cpu_target *t, LLVMValueRef fn)
{
    char width[16];
    snprintf(width, sizeof width, "%d", t->vector_bits);
    LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", t->cpu);
    if (*t->features)
        LLVMAddTargetDependentFunctionAttr(fn, "target-features", t->features);
    LLVMAddTargetDependentFunctionAttr(fn, "prefer-vector-width", width);
}
