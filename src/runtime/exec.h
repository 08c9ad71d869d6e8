/*
 * exec.h — running a compiled program's steps: each step is a kernel entry
 * point called over its parallel range through the thread pool, with
 * per-thread scratch memory.  No compiler part here.
 */
#ifndef KILN_RUNTIME_EXEC_H
#define KILN_RUNTIME_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln.h"
#include "pool.h"

/* The signature every CPU kernel has (see codegen_cpu/cpu_codegen.h). */
typedef void (*rt_kernel_fn)(void **bufs, int64_t begin, int64_t end,
                             void *scratch);

typedef struct rt_step {
    rt_kernel_fn fn;
    int64_t range, grain;
} rt_step;

typedef struct rt_exec rt_exec;

/* Copies steps; `threads` >= 1; scratch_bytes per thread (may be 0);
 * flush_denormals: run kernels with subnormals flushed to zero (fpenv.h),
 * restoring the caller's setting after each run.  NULL when out of memory
 * or threads cannot start. */
rt_exec *rt_exec_new(const kiln_allocator *a, const rt_step *steps, int nsteps,
                     size_t scratch_bytes, int threads, bool flush_denormals);
void rt_exec_free(rt_exec *e);
/* Run every step in order over bufs (buffer number -> base address). */
void rt_exec_run(rt_exec *e, void **bufs);

#endif
