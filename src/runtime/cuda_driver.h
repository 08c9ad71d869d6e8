/*
 * cuda_driver.h — the CUDA driver API, loaded at run time.
 *
 * kiln never links libcuda: rt_cuda_open dlopen()s it (so a machine
 * without a GPU driver still runs every other backend), resolves
 * cuGetProcAddress_v2 and, through it, every entry point below, at the ABI
 * of the cuda.h kiln was built with.  There is no global state: each
 * program owns an rt_cuda (dlopen is reference counted, so several
 * programs share the one library mapping).  Built only with the CUDA
 * toolkit (KILN_HAVE_CUDA), whose cuda.h supplies the types.
 *
 * Every failing call leaves a message in the caller's err buffer that
 * names the call and carries the driver's own error name and string.
 */
#ifndef KILN_RUNTIME_CUDA_DRIVER_H
#define KILN_RUNTIME_CUDA_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include <cuda.h>
#include <cudaTypedefs.h>

/* Environment variable naming the driver library to load instead of
 * libcuda.so.1 (tests use it to load a fake driver). */
#define RT_CUDA_DRIVER_ENV "KILN_CUDA_DRIVER"

typedef struct rt_cuda_api {
    PFN_cuGetErrorName_v6000 get_error_name;
    PFN_cuGetErrorString_v6000 get_error_string;
    PFN_cuInit_v2000 init;
    PFN_cuDriverGetVersion_v2020 driver_get_version;
    PFN_cuDeviceGetCount_v2000 device_get_count;
    PFN_cuDeviceGet_v2000 device_get;
    PFN_cuDeviceGetName_v2000 device_get_name;
    PFN_cuDeviceGetAttribute_v2000 device_get_attribute;
    PFN_cuDevicePrimaryCtxRetain_v7000 primary_ctx_retain;
    PFN_cuDevicePrimaryCtxRelease_v11000 primary_ctx_release;
    PFN_cuCtxSetCurrent_v4000 ctx_set_current;
    PFN_cuModuleLoadData_v2000 module_load_data;
    PFN_cuModuleUnload_v2000 module_unload;
    PFN_cuModuleGetFunction_v2000 module_get_function;
    PFN_cuFuncSetAttribute_v9000 func_set_attribute;
    PFN_cuLaunchKernel_v4000 launch_kernel;
    PFN_cuMemAlloc_v3020 mem_alloc;
    PFN_cuMemFree_v3020 mem_free;
    PFN_cuMemcpyHtoDAsync_v3020 memcpy_htod_async;
    PFN_cuMemcpyDtoHAsync_v3020 memcpy_dtoh_async;
    PFN_cuMemcpyDtoDAsync_v3020 memcpy_dtod_async;
    PFN_cuMemsetD8Async_v3020 memset_d8_async;
    PFN_cuStreamCreate_v2000 stream_create;
    PFN_cuStreamSynchronize_v2000 stream_synchronize;
    PFN_cuStreamDestroy_v4000 stream_destroy;
    PFN_cuEventCreate_v2000 event_create;
    PFN_cuEventRecord_v2000 event_record;
    PFN_cuEventSynchronize_v2000 event_synchronize;
    PFN_cuEventElapsedTime_v2000 event_elapsed_time;
    PFN_cuEventDestroy_v4000 event_destroy;
} rt_cuda_api;

/* An open driver with device 0's primary context current and one
 * stream. */
typedef struct rt_cuda {
    void *lib;          /* dlopen handle; NULL when closed            */
    rt_cuda_api api;
    CUdevice dev;
    CUcontext ctx;      /* device 0's primary context (retained)      */
    bool ctx_retained;
    CUstream stream;    /* every copy and launch goes here, in order  */
    int sm;             /* compute capability * 10 (90 for sm_90)     */
    int max_shared_optin; /* dynamic shared memory a kernel may opt in */
    int driver_version; /* e.g. 13000                                  */
    char device_name[128];
} rt_cuda;

/* Load the driver (path NULL: $KILN_CUDA_DRIVER, else libcuda.so.1),
 * initialise it, pick device 0, retain its primary context, make it
 * current and create the stream.  false with the reason in err; the
 * messages callers (and tests) rely on begin with
 *   "no CUDA driver found (<library>: <dlerror>)"  and  "no CUDA device".
 * On failure d holds nothing (no close needed, though it is harmless). */
bool rt_cuda_open(rt_cuda *d, const char *path, char *err, size_t errlen);

/* Destroy the stream, release the context, unload the library.  Safe on a
 * zeroed or failed rt_cuda and twice. */
void rt_cuda_close(rt_cuda *d);

/* true when r is CUDA_SUCCESS; else writes "<what>: <NAME>: <string>"
 * into err and returns false.  Use as
 *   if (!rt_cuda_ok(d, d->api.mem_alloc(&p, n), "cuMemAlloc", err, len)) */
bool rt_cuda_ok(const rt_cuda *d, CUresult r, const char *what, char *err,
                size_t errlen);

/* Make the context current on the calling thread (the program may be run
 * from another thread than the one that compiled it). */
bool rt_cuda_bind(const rt_cuda *d, char *err, size_t errlen);

#endif
