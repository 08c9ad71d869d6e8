/* bench_kernels.c — `kiln bench --per-kernel`: time every kernel of a
 * lowered program on its own.  The runtime runs a program as one unit, so
 * this builds its own copy the way backend_cpu.c does (lower, emit,
 * optimise, JIT) and calls each kernel entry point directly over its
 * whole parallel range on the calling thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "ir/kernel.h"
#include "passes/passes.h"

#ifndef KILN_HAVE_LLVM
int bench_kernel_rows(const char *cmd, const kiln_graph *g, bool fuse,
                      int runs, uint64_t seed, bench_row **rows, int *n)
{
    (void)g, (void)fuse, (void)runs, (void)seed, (void)rows, (void)n;
    return cli_fail(CLI_USER, cmd, "--per-kernel needs the cpu backend, "
                                   "which is not built into this kiln");
}
#else
#include "codegen_cpu/cpu_codegen.h"
#include "codegen_cpu/cpu_jit.h"
#include "ir/eval.h"

typedef void (*kernel_fn)(void **bufs, int64_t begin, int64_t end,
                          void *scratch);

typedef struct jitted {
    k_program *kp;
    cpu_jit jit;
    bool have_jit;
    kernel_fn *fn;
    cpu_step_info *info;
    size_t scratch_bytes;
} jitted;

static void *alloc64(size_t n)
{
    return aligned_alloc(64, (n + 63) / 64 * 64 + 64);
}

static int build(jitted *j, char *err, size_t errlen)
{
    cpu_target t;
    if (cpu_target_init(&t, NULL, err, errlen))
        return -1;
    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef m = NULL;
    int nk = j->kp->nk ? j->kp->nk : 1;
    j->fn = calloc((size_t)nk, sizeof *j->fn);
    j->info = calloc((size_t)nk, sizeof *j->info);
    bool ok = j->fn && j->info &&
              cpu_emit_program(j->kp, &t, LLVMOrcThreadSafeContextGetContext(tsc),
                               "kiln", &m, j->info, err, errlen) == KILN_OK &&
              cpu_optimize(m, &t, err, errlen) == KILN_OK;
    j->scratch_bytes = ok ? cpu_scratch_bytes(j->kp, &t) : 0;
    if (ok) {
        ok = cpu_jit_new(&j->jit, tsc, m, err, errlen) == 0;
        j->have_jit = ok;
        m = NULL;
    }
    for (int i = 0; ok && i < j->kp->nk; i++) {
        char name[64];
        snprintf(name, sizeof name, "kiln_k%d", i);
        j->fn[i] = (kernel_fn)cpu_jit_lookup(&j->jit, name, err, errlen);
        ok = j->fn[i] != NULL;
    }
    if (m)
        LLVMDisposeModule(m);
    LLVMOrcDisposeThreadSafeContext(tsc);
    cpu_target_free(&t);
    return ok ? 0 : -1;
}

/* Seeded inputs (as `kiln run` makes them), initialised params. */
static bool fill_source(const k_program *p, const k_buffer *b, uint64_t seed,
                        void *data)
{
    const ir_node *n = &p->g->nodes[b->node];
    if (b->kind == KB_INPUT) {
        kiln_binding bind = {'i', n->name, n->type.dtype, n->type.rank, {0}};
        memcpy(bind.dims, n->type.dims, sizeof bind.dims);
        cli_random_fill(&bind, seed, data);
        return true;
    }
    double *tmp = malloc((size_t)(b->numel ? b->numel : 1) * sizeof *tmp);
    if (!tmp)
        return false;
    ir_init_fill(&n->attr.u.init, &n->type, tmp);
    ir_from_doubles(n->type.dtype, tmp, b->numel, data);
    free(tmp);
    return true;
}

/* Base address of every buffer; owned memory goes to owned[]. */
static bool wire(const k_program *p, uint64_t seed, void **bufs, void **owned,
                 void **arena)
{
    *arena = alloc64((size_t)p->arena_bytes);
    if (!*arena)
        return false;
    for (uint32_t i = 0; i < p->nbuf; i++) {
        const k_buffer *b = &p->buf[i];
        size_t bytes = (size_t)b->numel * kiln_dtype_size(b->dtype);
        if (b->kind == KB_TEMP)
            bufs[i] = (char *)*arena + b->offset;
        else if (b->kind == KB_CONST)
            bufs[i] = (void *)b->data;
        else if (!(bufs[i] = owned[i] = alloc64(bytes)) ||
                 !fill_source(p, b, seed, owned[i]))
            return false;
    }
    return true;
}

static void describe(const k_program *p, const kernel *k, bench_row *r)
{
    static const char *const kinds[] = {"map", "reduce", "matmul", "row"};
    const ir_node *n = &p->g->nodes[k->node];
    memset(r, 0, sizeof *r);
    r->kind = kinds[k->kind];
    if (n->name)
        snprintf(r->computes, sizeof r->computes, "%s '%s'",
                 ir_ops[n->op].name, n->name);
    else
        snprintf(r->computes, sizeof r->computes, "%s #%u",
                 ir_ops[n->op].name, (unsigned)k->node);
    size_t used = 0;
    double points = 1;
    for (int d = 0; d < k->rank && used < sizeof r->domain; d++) {
        int w = snprintf(r->domain + used, sizeof r->domain - used, "%s%lld",
                         d ? "," : "[", (long long)k->dims[d]);
        used += w > 0 ? (size_t)w : 0;
        points *= (double)k->dims[d];
    }
    if (used + 2 < sizeof r->domain)
        strcat(r->domain, k->rank ? "]" : "[]");
    for (int a = 0; a < k->nacc; a++) {
        uint32_t b = k->acc[a].buf;
        bool seen = b == K_NO_BUFFER;
        for (int e = 0; e < a && !seen; e++)
            seen = k->acc[e].buf == b;
        if (!seen)
            r->bytes += p->buf[b].numel * (int64_t)kiln_dtype_size(p->buf[b].dtype);
    }
    if (k->kind == K_MATMUL)
        r->flops = 2 * points * (double)k->k_len;
}

/* Call every kernel `runs` times after a warm-up; median per kernel. */
static int time_kernels(jitted *j, int runs, uint64_t seed, bench_row *rows)
{
    const k_program *p = j->kp;
    void **bufs = calloc(p->nbuf ? p->nbuf : 1, sizeof *bufs);
    void **owned = calloc(p->nbuf ? p->nbuf : 1, sizeof *owned);
    double *ms = malloc((size_t)runs * sizeof *ms);
    void *arena = NULL, *scratch = alloc64(j->scratch_bytes);
    bool ok = bufs && owned && ms && scratch && wire(p, seed, bufs, owned, &arena);
    for (int i = 0; ok && i < p->nk; i++) {
        describe(p, &p->k[i], &rows[i]);
        j->fn[i](bufs, 0, j->info[i].range, scratch); /* warm-up */
        for (int r = 0; r < runs; r++) {
            double t0 = cli_now_ms();
            j->fn[i](bufs, 0, j->info[i].range, scratch);
            ms[r] = cli_now_ms() - t0;
        }
        rows[i].ms = cli_median(ms, runs);
    }
    for (uint32_t i = 0; owned && i < p->nbuf; i++)
        free(owned[i]);
    free(owned);
    free(bufs);
    free(ms);
    free(arena);
    free(scratch);
    return ok ? 0 : -1;
}

int bench_kernel_rows(const char *cmd, const kiln_graph *g, bool fuse,
                      int runs, uint64_t seed, bench_row **rows, int *n)
{
    char err[512] = "out of memory";
    jitted j;
    memset(&j, 0, sizeof j);
    *rows = NULL;
    *n = 0;
    j.kp = pass_lower_program(g, fuse, err, sizeof err);
    int rc = j.kp && build(&j, err, sizeof err) == 0 ? CLI_OK : CLI_USER;
    if (rc == CLI_OK) {
        *rows = calloc((size_t)(j.kp->nk ? j.kp->nk : 1), sizeof **rows);
        if (!*rows || time_kernels(&j, runs, seed, *rows) != 0) {
            snprintf(err, sizeof err, "out of memory");
            rc = CLI_USER;
        } else
            *n = j.kp->nk;
    }
    if (rc != CLI_OK) {
        free(*rows);
        *rows = NULL;
        cli_fail(CLI_USER, cmd, "--per-kernel: %s", err);
    }
    if (j.have_jit)
        cpu_jit_free(&j.jit);
    free(j.fn);
    free(j.info);
    k_program_free(j.kp);
    return rc;
}
#endif
