/*
 * cuda_codegen.h — kernel IR -> CUDA C, and CUDA C -> PTX/CUBIN (NVRTC).
 *
 * The emitter walks the same kernel IR as the CPU codegen (src/ir/kernel.h)
 * and writes one readable translation unit: a prelude (math
 * approximations, Philox), then one `extern "C" __global__` function per
 * kernel, named "kiln_k<index>", with the fused expression visible.
 *
 * Kernel ABI (shared by the CUDA runtime and the host emulation):
 *     extern "C" __global__ void kiln_k<i>(void *const *__restrict__ kb)
 * kb[b] is the device address of k_buffer b of the program (temps: arena
 * base + offset; inputs, params, outputs and constants: their own device
 * buffers).  Every size is a compile-time constant in the source (graphs
 * are static), so that table is the only argument.  A kernel is launched
 * with its cuda_kernel_info's grid, block and dynamic shared memory, on
 * one stream, in program order.  Assign copies (k_program.copies) are
 * device-to-device copies after the last kernel, done by the runtime.
 *
 * Alignment: f32 accesses may be read and written as float4, so every
 * kb[b] must be 16-byte aligned (device allocations are 256-byte aligned
 * and arena offsets K_ARENA_ALIGN = 64; a host emulation must align its
 * buffers too).  Launch shapes: at most 256 threads per block (so no
 * kernel can fail to launch for want of registers), blockDim.x a multiple
 * of 32 except for the 16 x 16 matmul blocks; shared memory is static
 * (shared_bytes is 0 today).  Results are deterministic: every fold's
 * order is fixed by the launch shape.  The CUDA builtins the source uses
 * are listed at the top of cuda_emit.c.
 *
 * No LLVM and no CUDA headers here: the emitter is plain C and always
 * built.  NVRTC (cuda_nvrtc.c) is built only with the toolkit
 * (KILN_HAVE_CUDA).
 */
#ifndef KILN_CODEGEN_CUDA_H
#define KILN_CODEGEN_CUDA_H

#include "ir/kernel.h"

typedef struct cuda_kernel_info {
    char name[32];         /* "kiln_k<index>"                            */
    unsigned grid[3];      /* blocks                                     */
    unsigned block[3];     /* threads per block                          */
    unsigned shared_bytes; /* dynamic shared memory per block            */
} cuda_kernel_info;

typedef struct cuda_source {
    char *text;            /* the translation unit, NUL-terminated       */
    size_t len;
    int nk;                /* == the program's nk, in the same order     */
    cuda_kernel_info *k;
} cuda_source;

/* Options that change the generated code. */
typedef struct cuda_emit_options {
    int sm;                /* target compute capability * 10 (90 = sm_90);
                            * 0 means 90                                  */
    int tensor_cores;      /* matmul through WMMA (f32 via tf32); 0: off.
                            * Not implemented yet: ignored (SIMT tiles). */
} cuda_emit_options;

/* Emit CUDA C for every kernel of p.  false on failure, with the reason
 * recorded in p->g (KILN_ERR_UNSUPPORTED for something the emitter cannot
 * express, KILN_ERR_OUT_OF_MEMORY).  Allocates with p->g's allocator. */
bool cuda_emit(const k_program *p, const cuda_emit_options *o,
               cuda_source *out);
void cuda_source_free(const k_program *p, cuda_source *s);

#ifdef KILN_HAVE_CUDA
/* Compile src with NVRTC for `arch`: "sm_90"-style gives CUBIN, and
 * "compute_90"-style gives PTX.  On success *image (malloc'd, caller
 * frees) holds the bytes and *size their count (PTX includes its NUL).
 * On failure returns false with NVRTC's log (or the reason) in log. */
bool cuda_nvrtc_compile(const char *src, const char *arch, void **image,
                        size_t *size, char *log, size_t loglen);
#endif

#endif
