/* cuda_driver.c — dlopen the CUDA driver and resolve its entry points
 * through cuGetProcAddress, so libkiln never needs libcuda to load. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_driver.h"

typedef struct entry {
    const char *symbol; /* base name: cuGetProcAddress picks the version */
    size_t offset;      /* of the function pointer in rt_cuda_api        */
} entry;

#define ENTRY(sym, field) {#sym, offsetof(rt_cuda_api, field)}
static const entry entries[] = {
    ENTRY(cuGetErrorName, get_error_name),
    ENTRY(cuGetErrorString, get_error_string),
    ENTRY(cuInit, init),
    ENTRY(cuDriverGetVersion, driver_get_version),
    ENTRY(cuDeviceGetCount, device_get_count),
    ENTRY(cuDeviceGet, device_get),
    ENTRY(cuDeviceGetName, device_get_name),
    ENTRY(cuDeviceGetAttribute, device_get_attribute),
    ENTRY(cuDevicePrimaryCtxRetain, primary_ctx_retain),
    ENTRY(cuDevicePrimaryCtxRelease, primary_ctx_release),
    ENTRY(cuCtxSetCurrent, ctx_set_current),
    ENTRY(cuModuleLoadData, module_load_data),
    ENTRY(cuModuleUnload, module_unload),
    ENTRY(cuModuleGetFunction, module_get_function),
    ENTRY(cuFuncSetAttribute, func_set_attribute),
    ENTRY(cuLaunchKernel, launch_kernel),
    ENTRY(cuMemAlloc, mem_alloc),
    ENTRY(cuMemFree, mem_free),
    ENTRY(cuMemcpyHtoDAsync, memcpy_htod_async),
    ENTRY(cuMemcpyDtoHAsync, memcpy_dtoh_async),
    ENTRY(cuMemcpyDtoDAsync, memcpy_dtod_async),
    ENTRY(cuMemsetD8Async, memset_d8_async),
    ENTRY(cuStreamCreate, stream_create),
    ENTRY(cuStreamSynchronize, stream_synchronize),
    ENTRY(cuStreamDestroy, stream_destroy),
    ENTRY(cuEventCreate, event_create),
    ENTRY(cuEventRecord, event_record),
    ENTRY(cuEventSynchronize, event_synchronize),
    ENTRY(cuEventElapsedTime, event_elapsed_time),
    ENTRY(cuEventDestroy, event_destroy),
};
#undef ENTRY

bool rt_cuda_ok(const rt_cuda *d, CUresult r, const char *what, char *err,
                size_t errlen)
{
    if (r == CUDA_SUCCESS)
        return true;
    const char *name = NULL, *text = NULL;
    if (!d->api.get_error_name || d->api.get_error_name(r, &name) != CUDA_SUCCESS)
        name = NULL;
    if (!d->api.get_error_string || d->api.get_error_string(r, &text) != CUDA_SUCCESS)
        text = NULL;
    snprintf(err, errlen, "%s: %s (%d): %s", what, name ? name : "CUDA error",
             (int)r, text ? text : "no description from the driver");
    return false;
}

/* Resolve every entry point at the ABI of the cuda.h we were built with
 * (the pointer types in rt_cuda_api are that ABI's). */
static bool resolve(rt_cuda *d, char *err, size_t errlen)
{
    PFN_cuGetProcAddress_v12000 gpa;
    void *sym = dlsym(d->lib, "cuGetProcAddress_v2");
    if (!sym) {
        snprintf(err, errlen,
                 "no CUDA driver found (the driver library has no "
                 "cuGetProcAddress_v2: it predates CUDA 12)");
        return false;
    }
    memcpy(&gpa, &sym, sizeof gpa); /* object -> function pointer, as dlsym wants */
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        void *fn = NULL;
        CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
        CUresult r = gpa(entries[i].symbol, &fn, CUDA_VERSION,
                         CU_GET_PROC_ADDRESS_DEFAULT, &found);
        if (r != CUDA_SUCCESS || found != CU_GET_PROC_ADDRESS_SUCCESS || !fn) {
            snprintf(err, errlen,
                     "CUDA driver: cannot resolve %s (error %d, status %d); "
                     "the driver may be older than CUDA %d.%d",
                     entries[i].symbol, (int)r, (int)found, CUDA_VERSION / 1000,
                     CUDA_VERSION % 1000 / 10);
            return false;
        }
        memcpy((char *)&d->api + entries[i].offset, &fn, sizeof fn);
    }
    return true;
}

static bool load(rt_cuda *d, const char *path, char *err, size_t errlen)
{
    if (!path)
        path = getenv(RT_CUDA_DRIVER_ENV);
    if (!path || !*path)
        path = "libcuda.so.1";
    d->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!d->lib) {
        const char *why = dlerror();
        snprintf(err, errlen, "no CUDA driver found (%s: %s)", path,
                 why ? why : "cannot load");
        return false;
    }
    return resolve(d, err, errlen);
}

/* Device 0: its capability, shared memory limit and name. */
static bool pick_device(rt_cuda *d, char *err, size_t errlen)
{
    char what[160];
    int n = 0, major = 0, minor = 0;
    CUresult r = d->api.init(0);
    if (r == CUDA_SUCCESS)
        r = d->api.device_get_count(&n);
    if (r != CUDA_SUCCESS || n < 1) {
        const char *name = NULL;
        if (r != CUDA_SUCCESS && d->api.get_error_name(r, &name) != CUDA_SUCCESS)
            name = NULL;
        snprintf(what, sizeof what, "%s", r != CUDA_SUCCESS && name ? name : "no device");
        snprintf(err, errlen, "no CUDA device (the driver loaded: %s)",
                 r == CUDA_SUCCESS ? "it reports 0 devices" : what);
        return false;
    }
    const rt_cuda_api *a = &d->api;
    bool ok = rt_cuda_ok(d, a->device_get(&d->dev, 0), "cuDeviceGet", err, errlen) &&
              rt_cuda_ok(d, a->driver_get_version(&d->driver_version),
                         "cuDriverGetVersion", err, errlen) &&
              rt_cuda_ok(d, a->device_get_attribute(&major,
                             CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d->dev),
                         "cuDeviceGetAttribute(major)", err, errlen) &&
              rt_cuda_ok(d, a->device_get_attribute(&minor,
                             CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d->dev),
                         "cuDeviceGetAttribute(minor)", err, errlen) &&
              rt_cuda_ok(d, a->device_get_attribute(&d->max_shared_optin,
                             CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                             d->dev),
                         "cuDeviceGetAttribute(shared memory)", err, errlen) &&
              rt_cuda_ok(d, a->device_get_name(d->device_name,
                                               (int)sizeof d->device_name, d->dev),
                         "cuDeviceGetName", err, errlen);
    d->device_name[sizeof d->device_name - 1] = 0;
    d->sm = major * 10 + minor;
    return ok;
}

bool rt_cuda_bind(const rt_cuda *d, char *err, size_t errlen)
{
    return rt_cuda_ok(d, d->api.ctx_set_current(d->ctx), "cuCtxSetCurrent", err,
                      errlen);
}

bool rt_cuda_open(rt_cuda *d, const char *path, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    bool ok = load(d, path, err, errlen) && pick_device(d, err, errlen);
    if (ok) {
        ok = rt_cuda_ok(d, d->api.primary_ctx_retain(&d->ctx, d->dev),
                        "cuDevicePrimaryCtxRetain", err, errlen);
        d->ctx_retained = ok;
    }
    ok = ok && rt_cuda_bind(d, err, errlen) &&
         rt_cuda_ok(d, d->api.stream_create(&d->stream, CU_STREAM_NON_BLOCKING),
                    "cuStreamCreate", err, errlen);
    if (!ok)
        rt_cuda_close(d);
    return ok;
}

void rt_cuda_close(rt_cuda *d)
{
    if (!d->lib)
        return;
    if (d->stream && d->api.ctx_set_current(d->ctx) == CUDA_SUCCESS)
        d->api.stream_destroy(d->stream);
    if (d->ctx_retained)
        d->api.primary_ctx_release(d->dev);
    dlclose(d->lib);
    memset(d, 0, sizeof *d);
}
