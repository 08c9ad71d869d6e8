/* cpu_target.c — the LLVM target machine for the host or a named CPU. */
#include <stdbool.h>
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

/* The x86-64 CPU names LLVM accepts for 64-bit code: `llc -mcpu=help`
 * with the 32-bit-only CPUs (i686, pentium4, athlon, ...) left out, for
 * which LLVM aborts the process ("64-bit code requested on a subtarget
 * that doesn't support it").  An unknown name makes LLVM warn on stderr,
 * fall back to a CPU without 64-bit code and abort likewise, and the C API
 * has no way to ask whether a name is known: hence this list.  The first
 * part is what every supported LLVM (14 and later) knows; LLVM 19 adds
 * the second (older LLVMs know some of those too, but are not asked). */
static const char *const x86_64_cpus[] = {
    "alderlake", "amdfam10", "athlon-fx", "athlon64", "athlon64-sse3", "atom",
    "barcelona", "bdver1", "bdver2", "bdver3", "bdver4", "bonnell",
    "broadwell", "btver1", "btver2", "cannonlake", "cascadelake",
    "cooperlake", "core-avx-i", "core-avx2", "core2", "corei7", "corei7-avx",
    "generic", "goldmont", "goldmont-plus", "haswell", "icelake-client",
    "icelake-server", "ivybridge", "k8", "k8-sse3", "knl", "knm", "nehalem",
    "nocona", "opteron", "opteron-sse3", "penryn", "rocketlake",
    "sandybridge", "sapphirerapids", "silvermont", "skx", "skylake",
    "skylake-avx512", "slm", "tigerlake", "tremont", "westmere", "x86-64",
    "x86-64-v2", "x86-64-v3", "x86-64-v4", "znver1", "znver2", "znver3",
#if defined(KILN_LLVM_MAJOR) && KILN_LLVM_MAJOR >= 19
    "arrowlake", "arrowlake-s", "arrowlake_s", "atom_sse4_2",
    "atom_sse4_2_movbe", "clearwaterforest", "core_2_duo_sse4_1",
    "core_2_duo_ssse3", "core_2nd_gen_avx", "core_3rd_gen_avx",
    "core_4th_gen_avx", "core_4th_gen_avx_tsx", "core_5th_gen_avx",
    "core_5th_gen_avx_tsx", "core_aes_pclmulqdq", "core_i7_sse4_2",
    "emeraldrapids", "goldmont_plus", "gracemont", "grandridge",
    "graniterapids", "graniterapids-d", "graniterapids_d", "icelake_client",
    "icelake_server", "lunarlake", "meteorlake", "mic_avx512", "pantherlake",
    "raptorlake", "sierraforest", "skylake_avx512", "znver4", "znver5",
#endif
};

static bool is_x86_64(const char *triple)
{
    return strncmp(triple, "x86_64-", 7) == 0 || strncmp(triple, "amd64-", 6) == 0;
}

/* 0 if LLVM can compile for cpu on triple (or we cannot tell: another
 * architecture), else -1 with the valid forms in err. */
static int check_cpu(const char *triple, const char *cpu, char *err, size_t errlen)
{
    if (!is_x86_64(triple) && *cpu && strlen(cpu) < sizeof((cpu_target *)0)->cpu)
        return 0;
    for (size_t i = 0; *cpu && i < sizeof x86_64_cpus / sizeof x86_64_cpus[0]; i++)
        if (strcmp(cpu, x86_64_cpus[i]) == 0)
            return 0;
    snprintf(err, errlen,
             "unknown CPU '%.40s' for %s: want 'native' (this host) or an LLVM "
             "name of a 64-bit x86 CPU, such as x86-64, x86-64-v2, x86-64-v3, "
             "x86-64-v4, haswell, skylake-avx512, sapphirerapids, znver3 "
             "(`llc -mcpu=help` lists them)",
             cpu, triple);
    return -1;
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
        if (check_cpu(t->triple, cpu, err, errlen))
            return -2;
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

int cpu_target_copy(cpu_target *dst, const cpu_target *src,
                    LLVMCodeGenOptLevel level, char *err, size_t errlen)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst->triple, src->triple, sizeof dst->triple);
    memcpy(dst->cpu, src->cpu, sizeof dst->cpu);
    dst->vector_bits = src->vector_bits;
    dst->features = strdup(src->features);
    if (!dst->features) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    dst->machine = LLVMCreateTargetMachine(
        LLVMGetTargetMachineTarget(src->machine), dst->triple, dst->cpu,
        dst->features, level, LLVMRelocPIC, LLVMCodeModelDefault);
    if (!dst->machine) {
        snprintf(err, errlen, "LLVM cannot make a target machine for cpu '%s'",
                 dst->cpu);
        cpu_target_free(dst);
        return -1;
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
