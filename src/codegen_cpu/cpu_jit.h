/* cpu_jit.h — an ORC LLJIT instance holding one compiled program. */
#ifndef KILN_CPU_JIT_H
#define KILN_CPU_JIT_H

#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "cpu_target.h"

typedef struct cpu_jit {
    LLVMOrcLLJITRef jit;
} cpu_jit;

/* Take the module (and its thread-safe context) into a new JIT for the
 * host.  Consumes m in every case.  0, or -1 with a message in err. */
int cpu_jit_new(cpu_jit *j, LLVMOrcThreadSafeContextRef tsc, LLVMModuleRef m,
                char *err, size_t errlen);
/* Address of a function, or NULL with a message. */
void *cpu_jit_lookup(cpu_jit *j, const char *name, char *err, size_t errlen);
void cpu_jit_free(cpu_jit *j);

#endif
