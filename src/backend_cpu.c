/*
 * backend_cpu.c — the CPU backend: decompose composites, lower to kernel
 * IR, plan memory, emit LLVM IR, optimise, JIT, and hand the kernels to
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
        if (kp->buf[cp->src].kind == KB_PARAM) {
            memcpy(stage, c->bufs[cp->src], buf_bytes(&kp->buf[cp->src]));
            stage += buf_bytes(&kp->buf[cp->src]);
        }
    }
    stage = c->staging;
    for (int i = 0; i < kp->ncopies; i++) {
        const k_copy *cp = &kp->copies[i];
        size_t n = buf_bytes(&kp->buf[cp->dst]);
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

static const rt_backend cpu_backend = {"cpu", cpu_run, cpu_destroy};

/* Point bufs at bindings, constants and the arena; re-point each binding's
 * node at its buffer number. */
static bool wire(kiln_program *p, cpu_program *c, char *err, size_t errlen)
{
    k_program *kp = c->kp;
    c->bufs = p->alloc.malloc((kp->nbuf ? kp->nbuf : 1) * sizeof *c->bufs, p->alloc.user);
    c->arena_raw = p->alloc.malloc((size_t)kp->arena_bytes + 64, p->alloc.user);
    size_t staging = 1;
    for (int i = 0; i < kp->ncopies; i++)
        if (kp->buf[kp->copies[i].src].kind == KB_PARAM)
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

/* Emit, optimise and JIT the lowered program; fill the executor. */
static bool build(kiln_program *p, cpu_program *c, int threads, char *err, size_t errlen)
{
    k_program *kp = c->kp;
    cpu_target tgt;
    if (cpu_target_init(&tgt, NULL, err, errlen))
        return false;
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    cpu_step_info *info = p->alloc.malloc((size_t)(kp->nk ? kp->nk : 1) * sizeof *info, p->alloc.user);
    rt_step *steps = p->alloc.malloc((size_t)(kp->nk ? kp->nk : 1) * sizeof *steps, p->alloc.user);
    LLVMModuleRef m = NULL;
    double t0 = rt_now_ms();
    bool ok = info && steps &&
              cpu_emit_program(kp, &tgt, ctx, "kiln", &m, info, err, errlen) == KILN_OK;
    double t1 = rt_now_ms();
    ok = ok && cpu_optimize(m, &tgt, err, errlen) == KILN_OK;
    double t2 = rt_now_ms();
    size_t scratch = ok ? cpu_scratch_bytes(kp, &tgt) : 0;
    if (ok) {
        ok = cpu_jit_new(&c->jit, tsc, m, err, errlen) == 0;
        m = NULL;
    }
    for (int i = 0; ok && i < kp->nk; i++) {
        char name[64];
        snprintf(name, sizeof name, "kiln_k%d", i);
        steps[i].fn = (rt_kernel_fn)cpu_jit_lookup(&c->jit, name, err, errlen);
        steps[i].range = info[i].range;
        steps[i].grain = info[i].grain;
        ok = steps[i].fn != NULL;
    }
    p->stats.codegen_ms = t1 - t0;
    p->stats.optimize_ms = t2 - t1;
    p->stats.jit_ms = rt_now_ms() - t2;
    p->stats.kernels = kp->nk;
    p->stats.arena_bytes = kp->arena_bytes;
    if (ok) {
        c->exec = rt_exec_new(&p->alloc, steps, kp->nk, scratch, threads);
        if (!c->exec)
            snprintf(err, errlen, "out of memory or cannot start %d threads", threads);
        ok = c->exec != NULL;
    }
    if (m)
        LLVMDisposeModule(m);
    LLVMOrcDisposeThreadSafeContext(tsc); /* the JIT keeps its own reference */
    p->alloc.free(info, p->alloc.user);
    p->alloc.free(steps, p->alloc.user);
    cpu_target_free(&tgt);
    return ok;
}

bool kiln_backend_cpu_attach(kiln_program *p, const kiln_graph *g, int threads,
                             bool fuse, char *err, size_t errlen)
{
    cpu_program *c = p->alloc.malloc(sizeof *c, p->alloc.user);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    memset(c, 0, sizeof *c);
    p->impl = c;
    p->backend = &cpu_backend;
    double start = rt_now_ms();
    c->kp = pass_lower_program(g, fuse, err, errlen);
    p->stats.lower_ms = rt_now_ms() - start;
    return c->kp && build(p, c, threads, err, errlen) && wire(p, c, err, errlen);
}
