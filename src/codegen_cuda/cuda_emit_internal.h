/*
 * cuda_emit_internal.h — what the emitter's files share: a growing text
 * buffer and the per-kernel state of the expression writer.
 *
 * Expressions become C locals ("v<expr>" or "v<expr>_<lane>") written on
 * first use inside the current scope; a kernel writer calls cuda_memo_clear
 * whenever it opens a scope in which earlier locals are not visible (a new
 * loop body, another lane), exactly as the CPU codegen clears its memo.
 * Loop indices are C expressions per axis (idx[d]; "" reads as 0), so the
 * same expression writer serves every kernel kind.
 */
#ifndef KILN_CUDA_EMIT_INTERNAL_H
#define KILN_CUDA_EMIT_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "codegen_cuda/cuda_codegen.h"
#include "ir/ir.h"

typedef struct cuda_text {
    kiln_graph *g; /* allocator */
    char *s;
    size_t len, cap;
    bool oom;
} cuda_text;

void cuda_put(cuda_text *t, const char *s);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void cuda_printf(cuda_text *t, const char *fmt, ...);

#define CUDA_IDX_LEN 96
#define CUDA_VEC 4 /* lanes of the float4 path */

typedef struct cuda_fn {
    cuda_text *out;
    const k_program *p;
    const kernel *k;
    const char *itype;               /* "int", or "long long" for big kernels */
    char idx[KILN_MAX_RANK][CUDA_IDX_LEN]; /* C index per axis; "" is 0    */
    bool *memo;                      /* expression already a local          */
    char (*acc_name)[24];            /* KE_ACC axis j -> C value            */
    int nacc_names;
    int lane;                        /* -1: scalar code; else lane number   */
    bool *vec_acc;                   /* access loaded as float4 ("q<a>")    */
    bool *vec_loaded;                /* its float4 local exists             */
    char vec_base[CUDA_IDX_LEN];     /* lane 0's index on the last axis     */
    int indent;
    bool failed;                     /* an error is recorded in p->g        */
} cuda_fn;

/* ---- cuda_emit_expr.c -------------------------------------------------- */
const char *cuda_ctype(kiln_dtype t);     /* in registers: bool for bool  */
const char *cuda_memtype(kiln_dtype t);   /* in memory: unsigned char     */
const char *cuda_suffix(kiln_dtype t);    /* helper suffix: f, d, i, b    */
kiln_dtype cuda_out_dtype(const cuda_fn *f);
/* Write a line at the current indent. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void cuda_line(cuda_fn *f, const char *fmt, ...);
void cuda_memo_clear(cuda_fn *f);
/* Write a constant of type t as a C literal into buf. */
void cuda_literal(kiln_dtype t, double v, char *buf, size_t len);
/* The element index of access a at the current point, as C. */
void cuda_access_index(const cuda_fn *f, int a, char *buf, size_t len);
/* The guard of access a at the current point ("" when always inside). */
void cuda_access_inside(const cuda_fn *f, int a, char *buf, size_t len);
/* Make expression i a local (writing whatever it needs first) and put its
 * name in name. */
void cuda_expr(cuda_fn *f, int i, char *name, size_t len);
/* Store the C value `v` of dtype t through access a. */
void cuda_store(cuda_fn *f, int a, kiln_dtype t, const char *v);
/* Pointer name of buffer b: "b<b>". */
void cuda_buf_name(uint32_t b, char *buf, size_t len);
/* Largest element offset magnitude any access of k can reach, and the
 * domain size: decides the index type. */
bool cuda_needs_wide_index(const kernel *k);

/* ---- cuda_emit_kernels.c ---------------------------------------------- */
/* The body of kernel i (signature and pointer loads included) and its
 * launch shape.  false with an error recorded in p->g. */
bool cuda_emit_kernel(cuda_text *t, const k_program *p, int i,
                      const cuda_emit_options *o, cuda_kernel_info *info);

/* ---- cuda_math.c ------------------------------------------------------- */
/* The device helpers every translation unit starts with (math, casts,
 * NaN-aware max/min, integer division, Philox, block reductions). */
void cuda_emit_prelude(cuda_text *t);
/* C for elementwise op `op` with result dtype `out` on operands of dtype
 * `in` whose C values are a[0..nargs); NULL name when the op is unknown. */
bool cuda_op_text(ir_op op, kiln_dtype out, kiln_dtype in, char a[][48],
                  int nargs, char *buf, size_t len);

#endif
