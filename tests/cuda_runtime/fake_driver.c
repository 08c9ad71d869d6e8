/*
 * fake_driver.c — a stand-in for libcuda.so.1, loaded by kiln through
 * KILN_CUDA_DRIVER, so the CUDA runtime's paths run on a machine without a
 * GPU.  It exports only cuGetProcAddress_v2, as the real driver's entry
 * point kiln uses.  FAKE_CUDA_MODE (read at cuInit) picks the machine:
 *   nodevice  cuInit succeeds, cuDeviceGetCount reports 0
 *   initfail  cuInit fails with CUDA_ERROR_NO_DEVICE
 *   host      one sm_90 device whose memory is host memory: copies are
 *             memcpy, launches only counted (kernels do not run)
 *   oom       like host, but cuMemAlloc fails
 * fake_cuda_state() lets a test look at what happened (live allocations,
 * launches, retained contexts, the start of the last loaded image).
 * A test library, so global state is fine here.
 */
#include <stdlib.h>
#include <string.h>

#include <cuda.h>

typedef struct fake_state {
    int live_allocs, launches, ctx_refs, streams, modules, events;
    size_t htod_bytes, dtoh_bytes; /* host <-> device traffic */
    char last_image[16];
    unsigned last_shared_attr;
} fake_state;

static fake_state st;
static int mode_host, mode_oom;

__attribute__((visibility("default"))) fake_state *fake_cuda_state(void);
fake_state *fake_cuda_state(void)
{
    return &st;
}

static CUresult get_error_name(CUresult e, const char **s)
{
    *s = e == CUDA_ERROR_NO_DEVICE ? "CUDA_ERROR_NO_DEVICE"
         : e == CUDA_ERROR_OUT_OF_MEMORY ? "CUDA_ERROR_OUT_OF_MEMORY" : "CUDA_ERROR_UNKNOWN";
    return CUDA_SUCCESS;
}

static CUresult get_error_string(CUresult e, const char **s)
{
    *s = e == CUDA_ERROR_NO_DEVICE ? "no CUDA-capable device is detected"
         : e == CUDA_ERROR_OUT_OF_MEMORY ? "out of memory" : "unknown error";
    return CUDA_SUCCESS;
}

static CUresult init(unsigned flags)
{
    (void)flags;
    const char *m = getenv("FAKE_CUDA_MODE");
    m = m ? m : "nodevice";
    mode_host = strcmp(m, "host") == 0 || strcmp(m, "oom") == 0;
    mode_oom = strcmp(m, "oom") == 0;
    return strcmp(m, "initfail") == 0 ? CUDA_ERROR_NO_DEVICE : CUDA_SUCCESS;
}

static CUresult driver_get_version(int *v) { *v = 13000; return CUDA_SUCCESS; }
static CUresult device_get_count(int *n) { *n = mode_host; return CUDA_SUCCESS; }
static CUresult device_get(CUdevice *d, int i) { *d = i; return CUDA_SUCCESS; }

static CUresult device_get_name(char *name, int len, CUdevice d)
{
    (void)d;
    strncpy(name, "fake sm_90", (size_t)len);
    return CUDA_SUCCESS;
}

static CUresult device_get_attribute(int *v, CUdevice_attribute a, CUdevice d)
{
    (void)d;
    *v = a == CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR ? 9
         : a == CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN ? 227 * 1024 : 0;
    return CUDA_SUCCESS;
}

static CUresult ctx_retain(CUcontext *c, CUdevice d)
{
    (void)d;
    st.ctx_refs++;
    *c = (CUcontext)&st;
    return CUDA_SUCCESS;
}

static CUresult ctx_release(CUdevice d) { (void)d; st.ctx_refs--; return CUDA_SUCCESS; }
static CUresult ctx_set_current(CUcontext c) { return c ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT; }

static CUresult module_load_data(CUmodule *m, const void *image)
{
    memcpy(st.last_image, image, sizeof st.last_image);
    st.modules++;
    *m = (CUmodule)&st;
    return CUDA_SUCCESS;
}

static CUresult module_unload(CUmodule m) { (void)m; st.modules--; return CUDA_SUCCESS; }

static CUresult module_get_function(CUfunction *f, CUmodule m, const char *name)
{
    (void)m, (void)name;
    *f = (CUfunction)&st;
    return CUDA_SUCCESS;
}

static CUresult func_set_attribute(CUfunction f, CUfunction_attribute a, int v)
{
    (void)f, (void)a;
    st.last_shared_attr = (unsigned)v;
    return CUDA_SUCCESS;
}

static CUresult launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                       unsigned by, unsigned bz, unsigned shared, CUstream s, void **args,
                       void **extra)
{
    (void)f, (void)s, (void)extra, (void)shared;
    if (!gx || !gy || !gz || !bx || !by || !bz || bx * by * bz > 1024 || !args)
        return CUDA_ERROR_INVALID_VALUE;
    st.launches++;
    return CUDA_SUCCESS;
}

static CUresult mem_alloc(CUdeviceptr *p, size_t n)
{
    void *q = mode_oom ? NULL : malloc(n ? n : 1);
    if (!q)
        return CUDA_ERROR_OUT_OF_MEMORY;
    st.live_allocs++;
    *p = (CUdeviceptr)(uintptr_t)q;
    return CUDA_SUCCESS;
}

static CUresult mem_free(CUdeviceptr p)
{
    st.live_allocs--;
    free((void *)(uintptr_t)p);
    return CUDA_SUCCESS;
}

static CUresult htod(CUdeviceptr d, const void *h, size_t n, CUstream s)
{
    (void)s;
    memcpy((void *)(uintptr_t)d, h, n);
    st.htod_bytes += n;
    return CUDA_SUCCESS;
}

static CUresult dtoh(void *h, CUdeviceptr d, size_t n, CUstream s)
{
    (void)s;
    memcpy(h, (void *)(uintptr_t)d, n);
    st.dtoh_bytes += n;
    return CUDA_SUCCESS;
}

static CUresult dtod(CUdeviceptr d, CUdeviceptr from, size_t n, CUstream s)
{
    (void)s;
    memmove((void *)(uintptr_t)d, (void *)(uintptr_t)from, n);
    return CUDA_SUCCESS;
}

static CUresult memset_d8(CUdeviceptr d, unsigned char v, size_t n, CUstream s)
{
    (void)s;
    memset((void *)(uintptr_t)d, v, n);
    return CUDA_SUCCESS;
}

static CUresult stream_create(CUstream *s, unsigned flags)
{
    (void)flags;
    st.streams++;
    *s = (CUstream)&st;
    return CUDA_SUCCESS;
}

static CUresult stream_sync(CUstream s) { (void)s; return CUDA_SUCCESS; }
static CUresult stream_destroy(CUstream s) { (void)s; st.streams--; return CUDA_SUCCESS; }

static CUresult event_create(CUevent *e, unsigned flags)
{
    (void)flags;
    st.events++;
    *e = (CUevent)&st;
    return CUDA_SUCCESS;
}

static CUresult event_record(CUevent e, CUstream s) { (void)e, (void)s; return CUDA_SUCCESS; }
static CUresult event_sync(CUevent e) { (void)e; return CUDA_SUCCESS; }
static CUresult event_destroy(CUevent e) { (void)e; st.events--; return CUDA_SUCCESS; }

static CUresult event_elapsed(float *ms, CUevent a, CUevent b)
{
    (void)a, (void)b;
    *ms = 0.25f;
    return CUDA_SUCCESS;
}

typedef struct fake_entry {
    const char *name;
    void (*fn)(void);
} fake_entry;

#define E(n, f) {n, (void (*)(void))f}
static const fake_entry table[] = {
    E("cuGetErrorName", get_error_name), E("cuGetErrorString", get_error_string),
    E("cuInit", init), E("cuDriverGetVersion", driver_get_version),
    E("cuDeviceGetCount", device_get_count), E("cuDeviceGet", device_get),
    E("cuDeviceGetName", device_get_name), E("cuDeviceGetAttribute", device_get_attribute),
    E("cuDevicePrimaryCtxRetain", ctx_retain), E("cuDevicePrimaryCtxRelease", ctx_release),
    E("cuCtxSetCurrent", ctx_set_current), E("cuModuleLoadData", module_load_data),
    E("cuModuleUnload", module_unload), E("cuModuleGetFunction", module_get_function),
    E("cuFuncSetAttribute", func_set_attribute), E("cuLaunchKernel", launch),
    E("cuMemAlloc", mem_alloc), E("cuMemFree", mem_free),
    E("cuMemcpyHtoDAsync", htod), E("cuMemcpyDtoHAsync", dtoh),
    E("cuMemcpyDtoDAsync", dtod), E("cuMemsetD8Async", memset_d8),
    E("cuStreamCreate", stream_create), E("cuStreamSynchronize", stream_sync),
    E("cuStreamDestroy", stream_destroy), E("cuEventCreate", event_create),
    E("cuEventRecord", event_record), E("cuEventSynchronize", event_sync),
    E("cuEventElapsedTime", event_elapsed), E("cuEventDestroy", event_destroy),
};
#undef E

__attribute__((visibility("default"))) CUresult
cuGetProcAddress_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
                    CUdriverProcAddressQueryResult *status);

CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, cuuint64_t flags,
                             CUdriverProcAddressQueryResult *status)
{
    (void)version, (void)flags;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, symbol) == 0) {
            memcpy(pfn, &table[i].fn, sizeof *pfn);
            if (status)
                *status = CU_GET_PROC_ADDRESS_SUCCESS;
            return CUDA_SUCCESS;
        }
    *pfn = NULL;
    if (status)
        *status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    return CUDA_ERROR_NOT_FOUND;
}
