/*
 * backend_cuda.c — the CUDA backend: lower to kernel IR, emit CUDA C,
 * compile it with NVRTC (through a cache keyed by the source and the
 * target), load it with the driver and run it on one stream.
 *
 * Memory: one device allocation holds the arena, a buffer per input,
 * param and constant, the staging area for assigns and the kernel buffer
 * table (kb, uploaded once; see cuda_codegen.h for the kernel ABI).
 *
 * Params live on the device between runs: each run uploads every input
 * and only the params whose host bytes are newer (their initial values,
 * or kiln_set_param since: the param_changed hook), launches the kernels,
 * copies the outputs back and applies the assigns on the device.  An
 * assigned param's binding is then stale, and is downloaded only when
 * kiln_get_param asks for it (the param_fetch hook): a training loop
 * moves no params across the bus at all.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends.h"
#include "codegen_cuda/cuda_codegen.h"
#include "ir/kernel.h"
#include "passes/passes.h"
#include "runtime/cuda_driver.h"

typedef struct cuda_program {
    rt_cuda drv;
    k_program *kp;
    CUmodule mod;
    CUfunction *fn;         /* nk */
    cuda_kernel_info *info; /* nk */
    CUdeviceptr base;       /* the one allocation */
    CUdeviceptr *dbuf;      /* nbuf: device address of each buffer */
    CUdeviceptr staging, kb;
    int *bind_of;           /* nbuf: binding index of inputs and params, or -1 */
    uint32_t *out_buf;      /* nbinds: buffer of each output binding */
    uint8_t *newer;         /* nbuf: params, where the current value is */
} cuda_program;

enum { HOST_NEWER = 1, DEVICE_NEWER = 2 };

static size_t buf_bytes(const k_buffer *b)
{
    return (size_t)b->numel * kiln_dtype_size(b->dtype);
}

static void *zalloc(kiln_program *p, size_t n)
{
    void *q = p->alloc.malloc(n ? n : 1, p->alloc.user);
    if (q)
        memset(q, 0, n ? n : 1);
    return q;
}

/* ---- the image cache ---------------------------------------------------- */

/* The file format: magic, source length, image length, source, image.  The
 * whole source is stored and compared, so a hash collision is a miss. */
static const char cache_magic[8] = {'K', 'I', 'L', 'N', 'C', 'U', '1', '\n'};

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *s = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

/* dir/<hash of source, arch and toolkit>-<arch>.kcu */
static void cache_path(const char *dir, const char *src, const char *arch,
                       char *path, size_t len)
{
    int version = CUDA_VERSION;
    uint64_t h = fnv1a(0xcbf29ce484222325ull, src, strlen(src) + 1);
    h = fnv1a(h, arch, strlen(arch) + 1);
    h = fnv1a(h, &version, sizeof version);
    char safe[32];
    size_t i = 0;
    for (; arch[i] && i + 1 < sizeof safe; i++)
        safe[i] = (arch[i] >= 'a' && arch[i] <= 'z') || (arch[i] >= '0' && arch[i] <= '9')
                      ? arch[i] : '_';
    safe[i] = 0;
    snprintf(path, len, "%s/%016llx-%s.kcu", dir, (unsigned long long)h, safe);
}

static bool cache_read(const char *dir, const char *src, const char *arch,
                       void **image, size_t *size)
{
    char path[4096];
    cache_path(dir, src, arch, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    char magic[8];
    uint64_t lens[2];
    size_t srclen = strlen(src);
    bool ok = fread(magic, 1, 8, f) == 8 && memcmp(magic, cache_magic, 8) == 0 &&
              fread(lens, sizeof lens[0], 2, f) == 2 && lens[0] == srclen &&
              lens[1] > 0 && lens[1] < ((uint64_t)1 << 32);
    char *text = ok ? malloc(srclen + 1) : NULL;
    void *img = ok ? malloc((size_t)lens[1]) : NULL;
    ok = ok && text && img && fread(text, 1, srclen, f) == srclen &&
         memcmp(text, src, srclen) == 0 &&
         fread(img, 1, (size_t)lens[1], f) == lens[1];
    fclose(f);
    free(text);
    if (!ok) {
        free(img);
        return false;
    }
    *image = img;
    *size = (size_t)lens[1];
    return true;
}

/* Best effort: a cache that cannot be written is only slower.  Written to
 * a temporary name and renamed, so readers never see half a file. */
static void cache_write(const char *dir, const char *src, const char *arch,
                        const void *image, size_t size, const void *unique)
{
    char path[4096], tmp[4160];
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return;
    cache_path(dir, src, arch, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.%ld.%p.tmp", path, (long)getpid(), unique);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return;
    uint64_t lens[2] = {strlen(src), size};
    bool ok = fwrite(cache_magic, 1, 8, f) == 8 && fwrite(lens, sizeof lens[0], 2, f) == 2 &&
              fwrite(src, 1, lens[0], f) == lens[0] && fwrite(image, 1, size, f) == size;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0)
        remove(tmp);
}

/* ---- source and image ----------------------------------------------------- */

/* 90 from "sm_90", "sm_90a" or "compute_90"; 0 if arch is none of those. */
static int arch_sm(const char *arch)
{
    const char *d = strncmp(arch, "sm_", 3) == 0        ? arch + 3
                    : strncmp(arch, "compute_", 8) == 0 ? arch + 8 : NULL;
    int sm = 0;
    for (; d && *d >= '0' && *d <= '9' && sm < 10000; d++)
        sm = sm * 10 + (*d - '0');
    return d && (*d == 0 || ((*d == 'a' || *d == 'f') && d[1] == 0)) ? sm : 0;
}

/* NVRTC through the cache; the log becomes the error. */
static bool compile_image(const char *src, const char *arch, const char *cache_dir,
                          void **image, size_t *size, char *err, size_t errlen)
{
    bool caching = cache_dir && *cache_dir;
    if (caching && cache_read(cache_dir, src, arch, image, size))
        return true;
    char log[4096] = "";
    if (!cuda_nvrtc_compile(src, arch, image, size, log, sizeof log)) {
        snprintf(err, errlen, "NVRTC (%s): %s", arch, log);
        return false;
    }
    if (caching)
        cache_write(cache_dir, src, arch, *image, *size, image);
    return true;
}

/* Emit the CUDA C of a lowered program for arch; src filled on success. */
static bool emit(k_program *kp, const char *arch, cuda_source *src, char *err,
                 size_t errlen)
{
    cuda_emit_options o = {.sm = arch_sm(arch), .tensor_cores = 0};
    memset(src, 0, sizeof *src);
    if (cuda_emit(kp, &o, src))
        return true;
    snprintf(err, errlen, "CUDA C emission: %s", kiln_graph_error(kp->g));
    return false;
}

bool kiln_backend_cuda_translate(const kiln_graph *g, bool fuse, const char *arch,
                                 char **source, void **image, size_t *image_size,
                                 char *err, size_t errlen)
{
    *source = NULL;
    *image = NULL;
    *image_size = 0;
    if (!arch_sm(arch)) {
        snprintf(err, errlen, "cuda arch '%s': want sm_XY or compute_XY", arch);
        return false;
    }
    k_program *kp = pass_lower_program(g, fuse, err, errlen);
    cuda_source src;
    bool ok = kp && emit(kp, arch, &src, err, errlen);
    if (ok) {
        *source = malloc(src.len + 1);
        ok = *source != NULL;
        if (ok)
            memcpy(*source, src.text, src.len + 1);
        else
            snprintf(err, errlen, "out of memory");
        ok = ok && compile_image(src.text, arch, NULL, image, image_size, err, errlen);
        cuda_source_free(kp, &src);
    }
    k_program_free(kp);
    if (!ok) {
        free(*source);
        *source = NULL;
    }
    return ok;
}

/* ---- running -------------------------------------------------------------- */

/* Check a driver call inside a function that has c, err and errlen. */
#define CK(call, what) rt_cuda_ok(&c->drv, (call), (what), err, errlen)

/* Inputs always; params whose host bytes are newer than the device's. */
static bool upload(kiln_program *p, cuda_program *c, char *err, size_t errlen)
{
    const rt_cuda_api *a = &c->drv.api;
    for (uint32_t b = 0; b < c->kp->nbuf; b++) {
        const k_buffer *kb = &c->kp->buf[b];
        if (c->bind_of[b] < 0 || buf_bytes(kb) == 0)
            continue;
        const rt_binding *bind = &p->binds[c->bind_of[b]];
        if (kb->kind == KB_PARAM) {
            if (!(c->newer[b] & HOST_NEWER))
                continue;
            c->newer[b] = 0;
        }
        if (!CK(a->memcpy_htod_async(c->dbuf[b], bind->data, bind->nbytes, c->drv.stream),
                "cuMemcpyHtoDAsync"))
            return false;
    }
    return true;
}

static bool launch_all(cuda_program *c, char *err, size_t errlen)
{
    void *args[1] = {&c->kb};
    for (int i = 0; i < c->kp->nk; i++) {
        const cuda_kernel_info *k = &c->info[i];
        char what[64];
        snprintf(what, sizeof what, "cuLaunchKernel(%s)", k->name);
        if (!CK(c->drv.api.launch_kernel(c->fn[i], k->grid[0], k->grid[1], k->grid[2],
                                         k->block[0], k->block[1], k->block[2],
                                         k->shared_bytes, c->drv.stream, args, NULL),
                what))
            return false;
    }
    return true;
}

/* Assigns read the values from before the run: stage param sources first
 * (a swap reads a param another copy overwrites). */
static bool assign(cuda_program *c, char *err, size_t errlen)
{
    const rt_cuda_api *a = &c->drv.api;
    const k_program *kp = c->kp;
    CUdeviceptr stage = c->staging;
    for (int i = 0; i < kp->ncopies; i++) {
        const k_copy *cp = &kp->copies[i];
        size_t n = buf_bytes(&kp->buf[cp->src]);
        if (kp->buf[cp->src].kind == KB_PARAM && !cp->in_place && n) {
            if (!CK(a->memcpy_dtod_async(stage, c->dbuf[cp->src], n, c->drv.stream),
                    "cuMemcpyDtoDAsync(stage)"))
                return false;
            stage += n;
        }
    }
    stage = c->staging;
    for (int i = 0; i < kp->ncopies; i++) {
        const k_copy *cp = &kp->copies[i];
        size_t n = buf_bytes(&kp->buf[cp->dst]);
        if (cp->in_place) /* stored in place by its kernel */
            continue;
        CUdeviceptr from = c->dbuf[cp->src];
        if (kp->buf[cp->src].kind == KB_PARAM) {
            from = stage;
            stage += n;
        }
        if (n && !CK(a->memcpy_dtod_async(c->dbuf[cp->dst], from, n, c->drv.stream),
                     "cuMemcpyDtoDAsync(assign)"))
            return false;
    }
    return true;
}

/* Outputs, enqueued before the assigns so they see the pre-assign values. */
static bool download(kiln_program *p, cuda_program *c, char *err, size_t errlen)
{
    const rt_cuda_api *a = &c->drv.api;
    for (int i = 0; i < p->nbinds; i++) {
        rt_binding *b = &p->binds[i];
        if (b->kind == 'o' && b->nbytes &&
            !CK(a->memcpy_dtoh_async(b->data, c->dbuf[c->out_buf[i]], b->nbytes,
                                     c->drv.stream),
                "cuMemcpyDtoHAsync(output)"))
            return false;
    }
    return true;
}

static kiln_status cuda_run(kiln_program *p)
{
    cuda_program *c = p->impl;
    char err[400];
    size_t errlen = sizeof err;
    bool ok = rt_cuda_bind(&c->drv, err, errlen) && upload(p, c, err, errlen) &&
              launch_all(c, err, errlen) && download(p, c, err, errlen) &&
              assign(c, err, errlen) &&
              CK(c->drv.api.stream_synchronize(c->drv.stream), "cuStreamSynchronize");
    if (!ok)
        return rt_fail(p, KILN_ERR_RUNTIME, "cuda: %s", err);
    for (int i = 0; i < c->kp->ncopies; i++)
        c->newer[c->kp->copies[i].dst] = DEVICE_NEWER;
    return KILN_OK;
}

/* The buffer of param binding b, or -1 (a param no kernel touches). */
static int64_t buffer_of(const kiln_program *p, const cuda_program *c, const rt_binding *b)
{
    for (uint32_t i = 0; i < c->kp->nbuf; i++)
        if (c->bind_of[i] == (int)(b - p->binds))
            return i;
    return -1;
}

static kiln_status cuda_param_fetch(kiln_program *p, rt_binding *b)
{
    cuda_program *c = p->impl;
    int64_t i = buffer_of(p, c, b);
    if (i < 0 || !(c->newer[i] & DEVICE_NEWER))
        return KILN_OK;
    char err[400];
    size_t errlen = sizeof err;
    bool ok = rt_cuda_bind(&c->drv, err, errlen) &&
              CK(c->drv.api.memcpy_dtoh_async(b->data, c->dbuf[i], b->nbytes, c->drv.stream),
                 "cuMemcpyDtoHAsync(param)") &&
              CK(c->drv.api.stream_synchronize(c->drv.stream), "cuStreamSynchronize");
    if (!ok)
        return rt_fail(p, KILN_ERR_RUNTIME, "cuda: %s", err);
    c->newer[i] = 0;
    return KILN_OK;
}

static void cuda_param_changed(kiln_program *p, rt_binding *b)
{
    cuda_program *c = p->impl;
    int64_t i = buffer_of(p, c, b);
    if (i >= 0)
        c->newer[i] = HOST_NEWER;
}

static void cuda_destroy(kiln_program *p)
{
    cuda_program *c = p->impl;
    if (!c)
        return;
    if (c->drv.lib && c->drv.api.ctx_set_current(c->drv.ctx) == CUDA_SUCCESS) {
        if (c->drv.stream)
            c->drv.api.stream_synchronize(c->drv.stream);
        if (c->base)
            c->drv.api.mem_free(c->base);
        if (c->mod)
            c->drv.api.module_unload(c->mod);
    }
    rt_cuda_close(&c->drv);
    void *arrays[] = {c->fn, c->info, c->dbuf, c->bind_of, c->out_buf, c->newer};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++)
        p->alloc.free(arrays[i], p->alloc.user);
    k_program_free(c->kp);
    p->alloc.free(c, p->alloc.user);
    p->impl = NULL;
}

static const rt_backend cuda_backend = {.name = "cuda", .run = cuda_run, .destroy = cuda_destroy,
                                        .param_fetch = cuda_param_fetch,
                                        .param_changed = cuda_param_changed};

/* ---- building ------------------------------------------------------------- */

/* Load the image and look up every kernel; opt in to large shared memory. */
static bool load_module(cuda_program *c, const void *image, char *err, size_t errlen)
{
    const rt_cuda_api *a = &c->drv.api;
    if (!CK(a->module_load_data(&c->mod, image), "cuModuleLoadData"))
        return false;
    for (int i = 0; i < c->kp->nk; i++) {
        const cuda_kernel_info *k = &c->info[i];
        char what[96];
        snprintf(what, sizeof what, "cuModuleGetFunction(%s)", k->name);
        if (!CK(a->module_get_function(&c->fn[i], c->mod, k->name), what))
            return false;
        if (k->shared_bytes <= 48 * 1024)
            continue;
        if ((long long)k->shared_bytes > (long long)c->drv.max_shared_optin) {
            snprintf(err, errlen, "%s needs %u bytes of shared memory; %s allows %d",
                     k->name, k->shared_bytes, c->drv.device_name, c->drv.max_shared_optin);
            return false;
        }
        snprintf(what, sizeof what, "cuFuncSetAttribute(%s, shared memory)", k->name);
        if (!CK(a->func_set_attribute(c->fn[i], CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                      (int)k->shared_bytes),
                what))
            return false;
    }
    return true;
}

/* Lower, emit, compile (cached), load; stats as the CPU backend keeps them. */
static bool build(kiln_program *p, cuda_program *c, const kiln_graph *g, bool fuse,
                  const char *arch, const char *cache_dir, char *err, size_t errlen)
{
    double t0 = rt_now_ms();
    c->kp = pass_lower_program(g, fuse, err, errlen);
    double t1 = rt_now_ms();
    p->stats.lower_ms = t1 - t0;
    if (!c->kp)
        return false;
    p->stats.kernels = c->kp->nk;
    p->stats.arena_bytes = c->kp->arena_bytes;
    if (c->kp->nk == 0)
        return true; /* only copies: nothing to compile */
    int nk = c->kp->nk;
    c->fn = zalloc(p, (size_t)nk * sizeof *c->fn);
    c->info = zalloc(p, (size_t)nk * sizeof *c->info);
    if (!c->fn || !c->info) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    cuda_source src;
    if (!emit(c->kp, arch, &src, err, errlen))
        return false;
    bool ok = src.nk == nk;
    if (ok)
        memcpy(c->info, src.k, (size_t)nk * sizeof *c->info);
    else
        snprintf(err, errlen, "internal: %d kernels emitted for %d", src.nk, nk);
    double t2 = rt_now_ms();
    void *image = NULL;
    size_t size = 0;
    ok = ok && compile_image(src.text, arch, cache_dir, &image, &size, err, errlen) &&
         load_module(c, image, err, errlen);
    free(image);
    cuda_source_free(c->kp, &src);
    p->stats.codegen_ms = t2 - t1;
    p->stats.jit_ms = rt_now_ms() - t2;
    return ok;
}

/* Bytes of the one allocation, and each non-temp buffer's place in it. */
static size_t layout(cuda_program *c, size_t *off, size_t *staging_at, size_t *kb_at)
{
    const k_program *kp = c->kp;
    size_t total = ((size_t)kp->arena_bytes + 255) / 256 * 256, staging = 0;
    for (uint32_t b = 0; b < kp->nbuf; b++) {
        off[b] = (size_t)kp->buf[b].offset;
        if (kp->buf[b].kind != KB_TEMP) {
            off[b] = total;
            total += (buf_bytes(&kp->buf[b]) + 255) / 256 * 256;
        }
    }
    for (int i = 0; i < kp->ncopies; i++)
        if (kp->buf[kp->copies[i].src].kind == KB_PARAM &&
            !kp->copies[i].in_place)
            staging += buf_bytes(&kp->buf[kp->copies[i].src]);
    *staging_at = total;
    total += (staging + 255) / 256 * 256;
    *kb_at = total;
    return total + (size_t)(kp->nbuf ? kp->nbuf : 1) * sizeof(CUdeviceptr);
}

/* Find the binding of every input and param buffer and of every output. */
static bool bindings(kiln_program *p, cuda_program *c, char *err, size_t errlen)
{
    const k_program *kp = c->kp;
    for (uint32_t b = 0; b < kp->nbuf; b++) {
        const k_buffer *buf = &kp->buf[b];
        c->bind_of[b] = -1;
        if (buf->kind != KB_INPUT && buf->kind != KB_PARAM)
            continue;
        rt_binding *bind = rt_find(p, buf->kind == KB_INPUT ? 'i' : 'p',
                                   kp->g->nodes[buf->node].name);
        if (!bind || bind->nbytes != buf_bytes(buf)) {
            snprintf(err, errlen, "internal: no binding for buffer %u", (unsigned)b);
            return false;
        }
        c->bind_of[b] = (int)(bind - p->binds);
        if (buf->kind == KB_PARAM)
            c->newer[b] = HOST_NEWER; /* the initial values */
    }
    for (int o = 0; o < kp->noutputs; o++) {
        rt_binding *bind = rt_find(p, 'o', kp->outputs[o].name);
        if (!bind) {
            snprintf(err, errlen, "internal: no output '%s'", kp->outputs[o].name);
            return false;
        }
        c->out_buf[bind - p->binds] = kp->outputs[o].buf;
    }
    return true;
}

/* Allocate, upload constants and the kb table (params go up at the first
 * run, being newer on the host). */
static bool place(kiln_program *p, cuda_program *c, char *err, size_t errlen)
{
    const k_program *kp = c->kp;
    uint32_t nbuf = kp->nbuf ? kp->nbuf : 1;
    size_t *off = zalloc(p, nbuf * sizeof *off);
    c->dbuf = zalloc(p, nbuf * sizeof *c->dbuf);
    c->bind_of = zalloc(p, nbuf * sizeof *c->bind_of);
    c->newer = zalloc(p, nbuf * sizeof *c->newer);
    c->out_buf = zalloc(p, (size_t)(p->nbinds ? p->nbinds : 1) * sizeof *c->out_buf);
    bool ok = off && c->dbuf && c->bind_of && c->newer && c->out_buf;
    if (!ok)
        snprintf(err, errlen, "out of memory");
    ok = ok && bindings(p, c, err, errlen);
    size_t staging_at = 0, kb_at = 0, total = ok ? layout(c, off, &staging_at, &kb_at) : 0;
    const rt_cuda_api *a = &c->drv.api;
    ok = ok && CK(a->mem_alloc(&c->base, total), "cuMemAlloc");
    for (uint32_t b = 0; ok && b < kp->nbuf; b++) {
        c->dbuf[b] = c->base + off[b];
        size_t n = buf_bytes(&kp->buf[b]);
        if (kp->buf[b].kind == KB_CONST && n)
            ok = CK(a->memcpy_htod_async(c->dbuf[b], kp->buf[b].data, n, c->drv.stream),
                    "cuMemcpyHtoDAsync(constant)");
    }
    c->staging = c->base + staging_at;
    c->kb = c->base + kb_at;
    ok = ok && (kp->nbuf == 0 ||
                CK(a->memcpy_htod_async(c->kb, c->dbuf, kp->nbuf * sizeof *c->dbuf,
                                        c->drv.stream),
                   "cuMemcpyHtoDAsync(kb)")) &&
         CK(a->stream_synchronize(c->drv.stream), "cuStreamSynchronize");
    p->alloc.free(off, p->alloc.user);
    return ok;
}

bool kiln_backend_cuda_attach(kiln_program *p, const kiln_graph *g, bool fuse,
                              const char *arch, const char *cache_dir, char *err,
                              size_t errlen)
{
    cuda_program *c = zalloc(p, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    p->impl = c;
    p->backend = &cuda_backend;
    if (!rt_cuda_open(&c->drv, NULL, err, errlen))
        return false;
    char own[16];
    if (!arch || !*arch) {
        snprintf(own, sizeof own, "sm_%d", c->drv.sm);
        arch = own;
    } else if (!arch_sm(arch)) {
        snprintf(err, errlen, "cuda arch '%s': want sm_XY or compute_XY", arch);
        return false;
    }
    return build(p, c, g, fuse, arch, cache_dir, err, errlen) && place(p, c, err, errlen);
}

/* ---- benchmark helpers ---------------------------------------------------- */

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Median over runs of the device time of what `work` enqueues. */
static kiln_status time_events(kiln_program *p, cuda_program *c, int runs,
                               bool (*work)(cuda_program *, void *, char *, size_t),
                               void *arg, double *ms)
{
    char err[400];
    size_t errlen = sizeof err;
    const rt_cuda_api *a = &c->drv.api;
    CUevent ev[2] = {NULL, NULL};
    double *t = zalloc(p, (size_t)runs * sizeof *t);
    bool ok = t && rt_cuda_bind(&c->drv, err, errlen) &&
              CK(a->event_create(&ev[0], CU_EVENT_DEFAULT), "cuEventCreate") &&
              CK(a->event_create(&ev[1], CU_EVENT_DEFAULT), "cuEventCreate");
    if (!t)
        snprintf(err, errlen, "out of memory");
    for (int r = 0; ok && r < runs; r++) {
        float f = 0;
        ok = CK(a->event_record(ev[0], c->drv.stream), "cuEventRecord") &&
             work(c, arg, err, errlen) &&
             CK(a->event_record(ev[1], c->drv.stream), "cuEventRecord") &&
             CK(a->event_synchronize(ev[1]), "cuEventSynchronize") &&
             CK(a->event_elapsed_time(&f, ev[0], ev[1]), "cuEventElapsedTime");
        t[r] = f;
    }
    if (ok) {
        qsort(t, (size_t)runs, sizeof *t, cmp_double);
        *ms = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    }
    for (int i = 0; i < 2; i++)
        if (ev[i])
            a->event_destroy(ev[i]);
    p->alloc.free(t, p->alloc.user);
    return ok ? KILN_OK : rt_fail(p, KILN_ERR_RUNTIME, "cuda: %s", err);
}

static bool launches(cuda_program *c, void *arg, char *err, size_t errlen)
{
    (void)arg;
    return launch_all(c, err, errlen);
}

kiln_status kiln_backend_cuda_time_kernels(kiln_program *p, int runs, double *ms)
{
    if (!p || p->backend != &cuda_backend || runs < 1 || !ms)
        return KILN_ERR_INVALID_ARGUMENT;
    return time_events(p, p->impl, runs, launches, NULL, ms);
}

typedef struct copy_job {
    CUdeviceptr dst, src;
    size_t bytes;
} copy_job;

static bool one_copy(cuda_program *c, void *arg, char *err, size_t errlen)
{
    copy_job *j = arg;
    return CK(c->drv.api.memcpy_dtod_async(j->dst, j->src, j->bytes, c->drv.stream),
              "cuMemcpyDtoDAsync");
}

kiln_status kiln_backend_cuda_copy_gbps(kiln_program *p, size_t bytes, int runs,
                                        double *gbps)
{
    if (!p || p->backend != &cuda_backend || runs < 1 || !gbps || bytes == 0)
        return KILN_ERR_INVALID_ARGUMENT;
    cuda_program *c = p->impl;
    char err[400];
    size_t errlen = sizeof err;
    CUdeviceptr mem = 0;
    if (!rt_cuda_bind(&c->drv, err, errlen) ||
        !CK(c->drv.api.mem_alloc(&mem, 2 * bytes), "cuMemAlloc"))
        return rt_fail(p, KILN_ERR_RUNTIME, "cuda: %s", err);
    copy_job j = {mem + bytes, mem, bytes};
    double ms = 0;
    kiln_status s = CK(c->drv.api.memset_d8_async(mem, 1, 2 * bytes, c->drv.stream),
                       "cuMemsetD8Async")
                        ? time_events(p, c, 1, one_copy, &j, &ms) /* warm-up */
                        : rt_fail(p, KILN_ERR_RUNTIME, "cuda: %s", err);
    if (s == KILN_OK)
        s = time_events(p, c, runs, one_copy, &j, &ms);
    c->drv.api.mem_free(mem);
    if (s == KILN_OK)
        *gbps = 2.0 * (double)bytes / (ms * 1e6);
    return s;
}
