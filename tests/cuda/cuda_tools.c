/*
 * cuda_tools.c — NVRTC + ptxas for the CUDA tests (see cuda_tools.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "cuda_tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#ifdef KILN_HAVE_CUDA
#ifndef CT_PTXAS
#error "CT_PTXAS (the path of ptxas) must be defined by the build"
#endif

/* Write the PTX to a temp file and run ptxas on it. */
static bool run_ptxas(const char *ptx, size_t len, char *err, size_t errlen)
{
    char dir[] = "/tmp/kiln-ptx-XXXXXX";
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "ptxas: cannot create a temp dir");
        return false;
    }
    char path[64], out[64], log[64], cmd[512];
    snprintf(path, sizeof path, "%s/k.ptx", dir);
    snprintf(out, sizeof out, "%s/k.cubin", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(ptx, 1, len, f) == len;
    if (f)
        ok = fclose(f) == 0 && ok;
    snprintf(cmd, sizeof cmd, "%s -arch=%s -o %s %s > %s 2>&1", CT_PTXAS,
             CT_ARCH_SASS, out, path, log);
    if (!ok) {
        snprintf(err, errlen, "ptxas: cannot write %s", path);
    } else if (system(cmd) != 0) {
        char text[2048] = "";
        FILE *l = fopen(log, "rb");
        if (l) {
            text[fread(text, 1, sizeof text - 1, l)] = '\0';
            fclose(l);
        }
        snprintf(err, errlen, "ptxas -arch=%s rejected the PTX:\n%s", CT_ARCH_SASS, text);
        ok = false;
    }
    unlink(path);
    unlink(out);
    unlink(log);
    rmdir(dir);
    return ok;
}

bool ct_nvrtc_ptxas_timed(const char *src, ct_times *t, char *err, size_t errlen)
{
    void *ptx = NULL;
    size_t size = 0;
    double t0 = now_ms();
    if (!cuda_nvrtc_compile(src, CT_ARCH_PTX, &ptx, &size, err, errlen))
        return false;
    double t1 = now_ms();
    /* the PTX size includes its NUL */
    bool ok = run_ptxas(ptx, size && ((char *)ptx)[size - 1] == '\0' ? size - 1 : size,
                        err, errlen);
    free(ptx);
    if (t) {
        t->programs++;
        t->nvrtc_ms += t1 - t0;
        t->ptxas_ms += now_ms() - t1;
    }
    return ok;
}
#else
bool ct_nvrtc_ptxas_timed(const char *src, ct_times *t, char *err, size_t errlen)
{
    (void)src;
    (void)t;
    (void)now_ms;
    snprintf(err, errlen, "built without the CUDA toolkit: NVRTC and ptxas skipped");
    return false;
}
#endif

bool ct_nvrtc_ptxas(const char *src, char *err, size_t errlen)
{
    return ct_nvrtc_ptxas_timed(src, NULL, err, errlen);
}
