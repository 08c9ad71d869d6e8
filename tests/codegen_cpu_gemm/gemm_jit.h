/*
 * gemm_jit.h — JIT kiln_gemm_<t> alone (module -> default<O3> -> ORC LLJIT)
 * for the GEMM tests and the benchmark, and its assembly for inspection.
 */
#ifndef KILN_TEST_GEMM_JIT_H
#define KILN_TEST_GEMM_JIT_H

#include <stddef.h>
#include <stdint.h>

#include <llvm-c/LLJIT.h>

#include "kiln.h"
#include "codegen_cpu/cpu_gemm.h"
#include "codegen_cpu/cpu_target.h"

typedef void (*gemm_f32_fn)(const float *A, int64_t a_rs, int64_t a_cs,
                            const float *B, int64_t b_rs, int64_t b_cs,
                            float *C, int64_t ldc, int64_t M, int64_t N,
                            int64_t K, float *work);
typedef void (*gemm_f64_fn)(const double *A, int64_t a_rs, int64_t a_cs,
                            const double *B, int64_t b_rs, int64_t b_cs,
                            double *C, int64_t ldc, int64_t M, int64_t N,
                            int64_t K, double *work);

typedef struct gemm_jit {
    LLVMOrcLLJITRef jit;
    void *fn;            /* gemm_f32_fn or gemm_f64_fn                  */
    size_t work_bytes;   /* cpu_gemm_work_bytes for the same target     */
    cpu_gemm_blocking blocking;
    char cpu[64];        /* the host CPU LLVM compiled for              */
    int vector_bits;
    char *asm_text;      /* the optimised module's assembly, if asked   */
} gemm_jit;

/* JIT kiln_gemm_<t> for cpu (NULL: the host; or a name such as
 * "x86-64-v3", which must run on the host).  With want_asm, also keep the
 * assembly of the module after default<O3>.  Returns 0, or -1 with a
 * message in err. */
int gemm_jit_init(gemm_jit *j, kiln_dtype t, const char *cpu, int want_asm,
                  char *err, size_t errlen);
void gemm_jit_free(gemm_jit *j);

/* The text of one function's body in asm (from its label to the next
 * .size or .Lfunc_end); NULL if absent.  Points into asm_text. */
const char *gemm_jit_asm_function(const gemm_jit *j, const char *name,
                                  size_t *len);

/* 64-byte aligned allocation for the work buffer and test matrices. */
void *gemm_jit_alloc(size_t bytes);

#endif
