/*
 * cpu_target.h — what the CPU code generator knows about its target: the
 * triple, CPU name and features handed to LLVM, and the vector width it
 * sizes loops and GEMM tiles from.
 */
#ifndef KILN_CPU_TARGET_H
#define KILN_CPU_TARGET_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

/* LLVM 14 has opaque pointers behind -opaque-pointers (cpu_target_init
 * turns it on) but not this constructor; with them on, a pointer to
 * anything is the one opaque pointer type. */
#if defined(KILN_LLVM_MAJOR) && KILN_LLVM_MAJOR < 15
static inline LLVMTypeRef kiln_llvm14_ptr(LLVMContextRef c, unsigned as)
{
    return LLVMPointerType(LLVMInt8TypeInContext(c), as);
}
#define LLVMPointerTypeInContext kiln_llvm14_ptr
#endif

typedef struct cpu_target {
    char triple[128];
    char cpu[64];        /* "sapphirerapids", "x86-64-v3", ...           */
    char *features;      /* "+avx512f,..."; owned, freed by cpu_target_free */
    int vector_bits;     /* widest vector register used: 512, 256 or 128  */
    LLVMTargetMachineRef machine;
} cpu_target;

/* The host (cpu = NULL or "native") or a named CPU such as "x86-64-v3".
 * Returns 0; -2 when cpu is not a CPU LLVM can compile 64-bit x86 code for
 * (checked on x86-64 hosts only; err names the valid forms); or -1 with a
 * message in err. */
int cpu_target_init(cpu_target *t, const char *cpu, char *err, size_t errlen);
/* The same target with its own machine (a machine may serve one thread
 * at a time) at another code generation level.  0, or -1 with a message. */
int cpu_target_copy(cpu_target *dst, const cpu_target *src,
                    LLVMCodeGenOptLevel level, char *err, size_t errlen);
void cpu_target_free(cpu_target *t);

/* Set "target-cpu", "target-features" and "prefer-vector-width" on fn so
 * that AVX-512 machines use 512-bit vectors. */
void cpu_target_attrs(const cpu_target *t, LLVMValueRef fn);

#endif
