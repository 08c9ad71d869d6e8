/*
 * cuda_nvrtc.c — CUDA C -> CUBIN or PTX through NVRTC.
 *
 * NVRTC is a plain library with no driver dependency, so this file links
 * it directly; the driver (libcuda) is never linked (see
 * runtime/cuda_driver.c).  Every NVRTC status is checked; a failure
 * reports nvrtcGetErrorString and, for a compile error, the program log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvrtc.h>

#include "cuda_codegen.h"

/* Copy the NVRTC log (or as much as fits) after `prefix`. */
static void take_log(nvrtcProgram prog, const char *prefix, char *log,
                     size_t loglen)
{
    int n = snprintf(log, loglen, "%s", prefix);
    size_t used = n < 0 ? 0 : (size_t)n;
    size_t size = 0;
    if (used >= loglen || nvrtcGetProgramLogSize(prog, &size) != NVRTC_SUCCESS ||
        size <= 1)
        return;
    char *text = malloc(size);
    if (!text)
        return;
    if (nvrtcGetProgramLog(prog, text) == NVRTC_SUCCESS)
        snprintf(log + used, loglen - used, "\n%s", text);
    free(text);
}

static bool failed(nvrtcResult r, const char *what, char *log, size_t loglen)
{
    if (r == NVRTC_SUCCESS)
        return false;
    snprintf(log, loglen, "nvrtc: %s: %s", what, nvrtcGetErrorString(r));
    return true;
}

/* Fetch the CUBIN (sm_XX) or the PTX (compute_XX) of a compiled program. */
static bool take_image(nvrtcProgram prog, bool cubin, void **image,
                       size_t *size, char *log, size_t loglen)
{
    size_t n = 0;
    nvrtcResult r = cubin ? nvrtcGetCUBINSize(prog, &n) : nvrtcGetPTXSize(prog, &n);
    if (failed(r, cubin ? "nvrtcGetCUBINSize" : "nvrtcGetPTXSize", log, loglen))
        return false;
    char *bytes = malloc(n ? n : 1);
    if (!bytes) {
        snprintf(log, loglen, "nvrtc: out of memory (%zu bytes of image)", n);
        return false;
    }
    r = cubin ? nvrtcGetCUBIN(prog, bytes) : nvrtcGetPTX(prog, bytes);
    if (failed(r, cubin ? "nvrtcGetCUBIN" : "nvrtcGetPTX", log, loglen)) {
        free(bytes);
        return false;
    }
    *image = bytes;
    *size = n;
    return true;
}

bool cuda_nvrtc_compile(const char *src, const char *arch, void **image,
                        size_t *size, char *log, size_t loglen)
{
    *image = NULL;
    *size = 0;
    if (log && loglen)
        log[0] = '\0';
    bool cubin = strncmp(arch, "sm_", 3) == 0;
    if (!cubin && strncmp(arch, "compute_", 8) != 0) {
        snprintf(log, loglen, "nvrtc: architecture '%s': want sm_XX (CUBIN) "
                 "or compute_XX (PTX)", arch);
        return false;
    }
    char archopt[64];
    snprintf(archopt, sizeof archopt, "--gpu-architecture=%s", arch);
    /* No -lineinfo (smaller images); fmad stays on, as nvcc's default:
     * the documented accuracy bounds of the emitted math assume it. */
    const char *opts[] = {archopt, "--std=c++17", "--fmad=true"};
    nvrtcProgram prog;
    if (failed(nvrtcCreateProgram(&prog, src, "kiln.cu", 0, NULL, NULL),
               "nvrtcCreateProgram", log, loglen))
        return false;
    bool ok = false;
    nvrtcResult r = nvrtcCompileProgram(prog, 3, opts);
    if (r == NVRTC_ERROR_COMPILATION) {
        char prefix[128];
        snprintf(prefix, sizeof prefix, "nvrtc: compiling for %s: %s", arch,
                 nvrtcGetErrorString(r));
        take_log(prog, prefix, log, loglen);
    } else if (!failed(r, "nvrtcCompileProgram", log, loglen)) {
        ok = take_image(prog, cubin, image, size, log, loglen);
    }
    nvrtcDestroyProgram(&prog);
    return ok;
}
