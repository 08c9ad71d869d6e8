/*
 * jit_harness.h — build, optimise and JIT small LLVM modules for the host
 * CPU in tests: a host TargetMachine for default<O3>, an ORC LLJIT given
 * the same machine (so AVX-512 is used where present) and the process
 * symbol generator.  Test-only; failures are reported as messages.
 */
#ifndef KILN_TEST_JIT_HARNESS_H
#define KILN_TEST_JIT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include <llvm-c/Core.h>

typedef struct jh jh;

/* NULL on failure, with the reason in err. */
jh *jh_create(char *err, size_t errlen);
void jh_destroy(jh *h);

/* Context to build modules in (owned by the JIT's thread-safe context). */
LLVMContextRef jh_context(jh *h);
/* A module with the host triple and data layout. */
LLVMModuleRef jh_module(jh *h, const char *name);
/* target-cpu, target-features and prefer-vector-width=512 on fn. */
void jh_host_attrs(jh *h, LLVMValueRef fn);
bool jh_host_has(jh *h, const char *feature); /* e.g. "+avx512f" */

/* Builds void NAME(const T *in0, [const T *in1,] T *out, int64_t n):
 * out[i] = body(in0[i] [, in1[i]]) with noalias pointers. */
typedef LLVMValueRef (*jh_body)(LLVMBuilderRef b, LLVMValueRef *x, void *ctx);
LLVMValueRef jh_map_loop(jh *h, LLVMModuleRef mod, const char *name,
                         LLVMTypeRef elem, int nin, jh_body body, void *ctx);

/* Builds void NAME(const T *in0, [const T *in1,] T *out): one unaligned
 * <lanes x T> load per input, out = body(x), one store. */
LLVMValueRef jh_vector_fn(jh *h, LLVMModuleRef mod, const char *name,
                          LLVMTypeRef elem, unsigned lanes, int nin,
                          jh_body body, void *ctx);

/* Verify and run default<O3>; 0 on success. */
int jh_optimize(jh *h, LLVMModuleRef mod, char *err, size_t errlen);
/* Hands mod to the JIT; 0 on success. */
int jh_add(jh *h, LLVMModuleRef mod, char *err, size_t errlen);
void *jh_lookup(jh *h, const char *name);

#endif
