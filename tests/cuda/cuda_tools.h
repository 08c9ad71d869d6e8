/*
 * cuda_tools.h — the toolkit side of the CUDA tests: NVRTC to PTX for
 * compute_90, then ptxas -arch=sm_90 on that PTX.  Only with the toolkit
 * (KILN_HAVE_CUDA); without it the tests skip these checks and say so.
 */
#ifndef KILN_TESTS_CUDA_TOOLS_H
#define KILN_TESTS_CUDA_TOOLS_H

#include <stdbool.h>
#include <stddef.h>

#include "codegen_cuda/cuda_codegen.h"

#define CT_ARCH_PTX "compute_90"
#define CT_ARCH_SASS "sm_90"

/* Compile src with NVRTC for compute_90 and assemble the PTX with ptxas
 * for sm_90.  false with NVRTC's log or ptxas's output in err (and
 * always false without the toolkit).  The timed form adds the wall times
 * to t (may be NULL). */
bool ct_nvrtc_ptxas(const char *src, char *err, size_t errlen);
typedef struct ct_times {
    int programs;
    double nvrtc_ms, ptxas_ms;
} ct_times;
bool ct_nvrtc_ptxas_timed(const char *src, ct_times *t, char *err, size_t errlen);

#endif
