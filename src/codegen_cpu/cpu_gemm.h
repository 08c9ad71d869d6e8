/*
 * cpu_gemm.h — a packed, cache-blocked, register-tiled GEMM emitted as LLVM
 * IR, for the CPU code generator's contractions.
 */
#ifndef KILN_CPU_GEMM_H
#define KILN_CPU_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include <llvm-c/Core.h>

#include "kiln.h"
#include "codegen_cpu/cpu_target.h"

/* Emit into module m (once per dtype; later calls return the same function)
 * an internal function
 *   void kiln_gemm_<f32|f64>(const T *A, int64_t a_rs, int64_t a_cs,
 *                           const T *B, int64_t b_rs, int64_t b_cs,
 *                           T *C, int64_t ldc,
 *                           int64_t M, int64_t N, int64_t K, T *work)
 * computing C[i*ldc + j] = sum_k A[i*a_rs + k*a_cs] * B[k*b_rs + j*b_cs]
 * for 0 <= i < M, 0 <= j < N, overwriting C.  M, N >= 0 (0 does nothing);
 * K >= 0 (K = 0 sets C to 0, the empty sum).  Strides may be anything: a
 * transposed operand is just swapped strides.  A and B are only read and
 * may overlap each other; C and work must not overlap A, B or each other
 * (the parameters are noalias).
 * work is scratch for the packed panels: cpu_gemm_work_bytes(t, tgt) bytes,
 * 64-byte aligned, one per concurrent caller.
 *
 * Single-threaded and deterministic: C[i][j] is the sum over K blocks (in
 * order) of fmuladd chains over the block (in order), which depends only on
 * K and the block size, never on i, j, M or N.  Callers may therefore split
 * M (or N) across threads and get bitwise identical results for any split.
 *
 * t is KILN_F32 or KILN_F64; anything else, or an LLVM failure, gives NULL.
 * The functions are emitted with the target's attributes (cpu_target_attrs)
 * in m's context; tgt must stay valid only for the call. */
LLVMValueRef cpu_gemm_function(LLVMModuleRef m, kiln_dtype t,
                               const cpu_target *tgt);

/* Declare kiln_gemm_<t> in m (same signature and parameter attributes,
 * external, no body) for a module linked against another module holding
 * the definition; that one's function is made external by the caller.
 * Returns the existing function if m has one; NULL as above. */
LLVMValueRef cpu_gemm_declare(LLVMModuleRef m, kiln_dtype t,
                              const cpu_target *tgt);

/* Bytes of work buffer kiln_gemm_<t> needs on tgt (0 for another dtype). */
size_t cpu_gemm_work_bytes(kiln_dtype t, const cpu_target *tgt);

/* The blocking chosen for (t, tgt); exposed for tests and the benchmark.
 * Returns -1 for an unsupported dtype. */
typedef struct cpu_gemm_blocking {
    int vec;  /* elements per vector register                        */
    int mr;   /* rows of A per micro-tile (broadcast)                 */
    int nr;   /* columns of B per micro-tile (vec * nv)               */
    int kc;   /* depth of a packed block                              */
    int mc;   /* rows of A per packed block (multiple of mr)          */
    int nc;   /* columns of B per packed block (multiple of nr)       */
} cpu_gemm_blocking;

int cpu_gemm_blocking_for(kiln_dtype t, const cpu_target *tgt,
                          cpu_gemm_blocking *out);

#endif
