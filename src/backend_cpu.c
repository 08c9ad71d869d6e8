/*
 * backend_cpu.c — the CPU backend: decompose composites, lower to kernel
 * IR, plan memory, emit LLVM IR, optimise and compile it to objects
 * (on several threads), link them in the JIT, and hand the kernels to
 * the runtime's executor.  The program keeps the lowered graph (constants
 * live there) and the JIT alive until it is freed.
 */
#include <stdio.h>
#include <string.h>

#include "backends.h"
#include "codegen_cpu/cpu_codegen.h"
#include "codegen_cpu/cpu_jit.h"
#include "ir/kernel.h"
#include "passes/passes.h"
#include "runtime/exec.h"

typedef struct cpu_program {
    k_program *kp;
    cpu_jit jit;
    rt_exec *exec;
    void **bufs;
    void *arena_raw;
    void *staging; /* copies whose source is a param read it from here */
    bool flush_denormals;
    size_t staging_bytes;
} cpu_program;

static size_t buf_bytes(const k_buffer *b)
{
    return (size_t)b->numel * kiln_dtype_size(b->dtype);
}

static kiln_status cpu_run(kiln_program *p)
{
    cpu_program *c = p->impl;
    k_program *kp = c->kp;
    rt_exec_run(c->exec, c->bufs);
    for (int i = 0; i < p->nbinds; i++) {
        rt_binding *b = &p->binds[i];
        if (b->kind == 'o' && !b->direct)
            memcpy(b->data, c->bufs[b->node], b->nbytes);
    }
    /* Assigns see the values from before the run: stage param sources. */
    unsigned char *stage = c->staging;
    for (int i = 0; i < kp->ncopies; i++) {
        const k_copy *cp = &kp->copies[i];
        if (kp->buf[cp->src].kind == KB_PARAM && !cp->in_place) {
            memcpy(stage, c->bufs[cp->src], buf_bytes(&kp->buf[cp->src]));
            stage += buf_bytes(&kp->buf[cp->src]);
        }
    }
    stage = c->staging;
    for (int i = 0; i < kp->ncopies; i++) {
        const k_copy *cp = &kp->copies[i];
        size_t n = buf_bytes(&kp->buf[cp->dst]);
        if (cp->in_place) /* stored in place by its kernel */
            continue;
        if (kp->buf[cp->src].kind == KB_PARAM) {
            memcpy(c->bufs[cp->dst], stage, n);
            stage += n;
        } else {
            memcpy(c->bufs[cp->dst], c->bufs[cp->src], n);
        }
    }
    return KILN_OK;
}

static void cpu_destroy(kiln_program *p)
{
    cpu_program *c = p->impl;
    if (!c)
        return;
    rt_exec_free(c->exec);
    cpu_jit_free(&c->jit);
    p->alloc.free(c->bufs, p->alloc.user);
    p->alloc.free(c->arena_raw, p->alloc.user);
    p->alloc.free(c->staging, p->alloc.user);
    k_program_free(c->kp);
    p->alloc.free(c, p->alloc.user);
    p->impl = NULL;
}

static const rt_backend cpu_backend = {.name = "cpu", .run = cpu_run, .destroy = cpu_destroy};

/* Point bufs at bindings, constants and the arena; re-point each binding's
 * node at its buffer number. */
static bool wire(kiln_program *p, cpu_program *c, char *err, size_t errlen)
{
    k_program *kp = c->kp;
    c->bufs = p->alloc.malloc((kp->nbuf ? kp->nbuf : 1) * sizeof *c->bufs, p->alloc.user);
    c->arena_raw = p->alloc.malloc((size_t)kp->arena_bytes + 64, p->alloc.user);
    size_t staging = 1;
    for (int i = 0; i < kp->ncopies; i++)
        if (kp->buf[kp->copies[i].src].kind == KB_PARAM &&
            !kp->copies[i].in_place)
            staging += buf_bytes(&kp->buf[kp->copies[i].src]);
    c->staging = p->alloc.malloc(staging, p->alloc.user);
    if (!c->bufs || !c->arena_raw || !c->staging) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    unsigned char *arena = (unsigned char *)(((uintptr_t)c->arena_raw + 63) & ~(uintptr_t)63);
    for (uint32_t b = 0; b < kp->nbuf; b++) {
        k_buffer *buf = &kp->buf[b];
        c->bufs[b] = buf->kind == KB_TEMP ? arena + buf->offset : (void *)buf->data;
        if (buf->kind == KB_INPUT || buf->kind == KB_PARAM) {
            rt_binding *bind = rt_find(p, buf->kind == KB_INPUT ? 'i' : 'p',
                                       kp->g->nodes[buf->node].name);
            if (!bind) {
                snprintf(err, errlen, "internal: no binding for buffer %u", (unsigned)b);
                return false;
            }
            c->bufs[b] = bind->data;
        }
    }
    for (int o = 0; o < kp->noutputs; o++) {
        rt_binding *bind = rt_find(p, 'o', kp->outputs[o].name);
        if (!bind) {
            snprintf(err, errlen, "internal: no output '%s'", kp->outputs[o].name);
            return false;
        }
        bind->node = kp->outputs[o].buf;
        /* A computed output is written straight into the binding: no arena
         * slot read back, no copy (once per buffer). */
        uint32_t b = kp->outputs[o].buf;
        if (kp->buf[b].kind == KB_TEMP && c->bufs[b] != NULL &&
            (unsigned char *)c->bufs[b] >= arena &&
            (unsigned char *)c->bufs[b] < arena + kp->arena_bytes + 64) {
            c->bufs[b] = bind->data;
            bind->direct = true;
        }
    }
    return true;
}

/* GEMM dtypes the program's contractions call: bit 0 f32, bit 1 f64. */
static unsigned gemm_types(const k_program *kp)
{
    unsigned m = 0;
    for (int i = 0; i < kp->nk; i++)
        if (kp->k[i].kind == K_MATMUL) {
            kiln_dtype t = kp->g->nodes[kp->k[i].node].type.dtype;
            m |= t == KILN_F32 ? 1u : t == KILN_F64 ? 2u : 0u;
        }
    return m;
}

/* Kernels go to this many modules: each module costs LLVM about 1.5 ms
 * on top of its code, and eight still keep a few cores busy.  The
 * grouping depends only on the kernel count, never on the thread count. */
#define KERNEL_MODULES 8

/* One unit per GEMM dtype (first: the biggest units start first), then
 * the kernels in KERNEL_MODULES groups.  *n receives the count. */
static bool emit_units(const k_program *kp, const cpu_target *t, cpu_unit *u,
                       int *n, cpu_step_info *info, char *err, size_t errlen)
{
    static const kiln_dtype gemm_dt[2] = {KILN_F32, KILN_F64};
    unsigned gt = gemm_types(kp);
    *n = 0;
    for (int g = 0; g < 2; g++) {
        if (!(gt & (1u << g)))
            continue;
        u[*n].ctx = LLVMContextCreate();
        u[*n].pipeline = CPU_PIPE_GEMM;
        if (cpu_emit_gemm_module(gemm_dt[g], t, u[*n].ctx, &u[*n].mod, err, errlen) != KILN_OK)
            return false;
        (*n)++;
    }
    int groups = kp->nk < KERNEL_MODULES ? kp->nk : KERNEL_MODULES;
    for (int g = 0; g < groups; g++, (*n)++) {
        int first = (int)((int64_t)kp->nk * g / groups);
        int last = (int)((int64_t)kp->nk * (g + 1) / groups);
        u[*n].ctx = LLVMContextCreate();
        u[*n].pipeline = CPU_PIPE_KERNEL;
        if (cpu_emit_kernels_module(kp, t, u[*n].ctx, "kiln", first, last, &u[*n].mod,
                                    &info[first], err, errlen) != KILN_OK)
            return false;
    }
    return true;
}

/* Kernel entry points and schedules into steps. */
static bool look_up(cpu_program *c, const cpu_step_info *info, rt_step *steps,
                    char *err, size_t errlen)
{
    for (int i = 0; i < c->kp->nk; i++) {
        char name[64];
        snprintf(name, sizeof name, "kiln_k%d", i);
        steps[i].fn = (rt_kernel_fn)cpu_jit_lookup(&c->jit, name, err, errlen);
        steps[i].range = info[i].range;
        steps[i].grain = info[i].grain;
        if (!steps[i].fn)
            return false;
    }
    return true;
}

/* Stage times: on several threads optimisation and machine code overlap,
 * so the compile phase's wall time is shared out between them in
 * proportion to the units' summed times. */
static void record_times(kiln_program *p, const cpu_unit *u, int n, double emit,
                         double compile, double link)
{
    double opt = 0, mc = 0;
    for (int i = 0; i < n; i++) {
        opt += u[i].optimize_ms;
        mc += u[i].codegen_ms;
    }
    double share = opt + mc > 0 ? opt / (opt + mc) : 0.5;
    p->stats.codegen_ms = emit;
    p->stats.optimize_ms = compile * share;
    p->stats.jit_ms = compile * (1 - share) + link;
}

/* Emit the kernels in a few modules, optimise and compile them to objects
 * on `threads` threads, link them in one JIT; fill the executor. */
static bool build(kiln_program *p, cpu_program *c, int threads, char *err, size_t errlen)
{
    k_program *kp = c->kp;
    cpu_target tgt;
    if (cpu_target_init(&tgt, NULL, err, errlen))
        return false;
    size_t nk = (size_t)kp->nk;
    cpu_step_info *info = p->alloc.malloc((nk ? nk : 1) * sizeof *info, p->alloc.user);
    rt_step *steps = p->alloc.malloc((nk ? nk : 1) * sizeof *steps, p->alloc.user);
    size_t nu = KERNEL_MODULES + 2;
    cpu_unit *u = p->alloc.malloc(nu * sizeof *u, p->alloc.user);
    if (u)
        memset(u, 0, nu * sizeof *u);
    int n = 0;
    double t0 = rt_now_ms();
    bool ok = info && steps && u;
    if (!ok)
        snprintf(err, errlen, "out of memory");
    ok = ok && emit_units(kp, &tgt, u, &n, info, err, errlen);
    if (u && !ok)
        n += u[n].ctx != NULL; /* the unit that failed holds a context */
    double t1 = rt_now_ms();
    ok = ok && cpu_units_compile(u, n, &tgt, threads, err, errlen) == 0;
    double t2 = rt_now_ms();
    ok = ok && cpu_jit_new_objects(&c->jit, u, n, err, errlen) == 0 &&
         look_up(c, info, steps, err, errlen);
    record_times(p, u, n, t1 - t0, t2 - t1, rt_now_ms() - t2);
    p->stats.kernels = kp->nk;
    p->stats.arena_bytes = kp->arena_bytes;
    size_t scratch = ok ? cpu_scratch_bytes(kp, &tgt) : 0;
    if (ok) {
        c->exec = rt_exec_new(&p->alloc, steps, kp->nk, scratch, threads,
                              c->flush_denormals);
        if (!c->exec)
            snprintf(err, errlen, "out of memory or cannot start %d threads", threads);
        ok = c->exec != NULL;
    }
    if (u)
        cpu_units_free(u, n);
    p->alloc.free(u, p->alloc.user);
    p->alloc.free(info, p->alloc.user);
    p->alloc.free(steps, p->alloc.user);
    cpu_target_free(&tgt);
    return ok;
}

bool kiln_backend_cpu_attach(kiln_program *p, const kiln_graph *g, int threads,
                             bool fuse, bool flush_denormals, char *err,
                             size_t errlen)
{
    cpu_program *c = p->alloc.malloc(sizeof *c, p->alloc.user);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    memset(c, 0, sizeof *c);
    p->impl = c;
    p->backend = &cpu_backend;
    c->flush_denormals = flush_denormals;
    double start = rt_now_ms();
    c->kp = pass_lower_program(g, fuse, err, errlen);
    p->stats.lower_ms = rt_now_ms() - start;
    return c->kp && build(p, c, threads, err, errlen) && wire(p, c, err, errlen);
}
