/*
 * cpu_jit.h — an ORC LLJIT instance holding one compiled program, and the
 * compilation of a program's modules into object files on several
 * threads.
 *
 * Compile time is spent almost all in LLVM (optimisation and machine code
 * for each kernel), and kernels do not depend on each other, so each kernel
 * is its own module in its own context (cpu_emit_kernel_module), compiled
 * to an object by whichever thread takes it, and the objects are linked by
 * the one LLJIT.  A module's object depends only on the module and the
 * target, never on the thread or the number of threads.
 */
#ifndef KILN_CPU_JIT_H
#define KILN_CPU_JIT_H

#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "cpu_codegen.h"

typedef struct cpu_jit {
    LLVMOrcLLJITRef jit;
} cpu_jit;

/* One module to compile.  Fill ctx and mod; cpu_units_compile disposes of
 * both and sets obj (or leaves it NULL on failure). */
typedef struct cpu_unit {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    cpu_pipeline pipeline;          /* the passes its module needs    */
    LLVMMemoryBufferRef obj;
    double optimize_ms, codegen_ms; /* this unit's time in each stage */
} cpu_unit;

/* Optimise (cpu_optimize_with) and compile each unit's module to an object for
 * t's triple, CPU and features, on up to `threads` threads (the caller's
 * included), each with its own target machine.  Consumes every ctx and mod.
 * 0, or -1 with the first failing unit's message in err (the objects made
 * are kept: free them with cpu_units_free). */
int cpu_units_compile(cpu_unit *u, int n, const cpu_target *t, int threads,
                      char *err, size_t errlen);
/* Dispose of whatever the units still hold. */
void cpu_units_free(cpu_unit *u, int n);

/* A new JIT for the host linking the units' objects (taken from u; the
 * process's symbols are visible to them).  0, or -1 with a message. */
int cpu_jit_new_objects(cpu_jit *j, cpu_unit *u, int n, char *err,
                        size_t errlen);

/* Take the module (and its thread-safe context) into a new JIT for the
 * host.  Consumes m in every case.  0, or -1 with a message in err. */
int cpu_jit_new(cpu_jit *j, LLVMOrcThreadSafeContextRef tsc, LLVMModuleRef m,
                char *err, size_t errlen);
/* Address of a function, or NULL with a message. */
void *cpu_jit_lookup(cpu_jit *j, const char *name, char *err, size_t errlen);
void cpu_jit_free(cpu_jit *j);

#endif
