/* compile.c — the driver: verify the graph, create the program's
 * bindings (inputs, initialised params, outputs), hand the graph to the
 * chosen backend. */
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "runtime/pool.h"

#ifndef KILN_FUSE_BY_DEFAULT
#define KILN_FUSE_BY_DEFAULT 1
#endif
#include "ir/eval.h"

static bool bind_params(kiln_program *p, kiln_graph *g)
{
    for (uint32_t i = 0; i < g->count; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->op != IR_OP_PARAM)
            continue;
        if (!rt_program_bind(p, 'p', n->name, n->type.dtype, n->type.rank,
                             n->type.dims, i))
            return false;
        double *tmp = ir_alloc(g, (size_t)ir_numel(&n->type) * sizeof *tmp);
        if (!tmp)
            return false;
        ir_init_fill(&n->attr.u.init, &n->type, tmp);
        ir_from_doubles(n->type.dtype, tmp, ir_numel(&n->type),
                        p->binds[p->nbinds - 1].data);
        ir_free(g, tmp);
    }
    return true;
}

static bool bind_all(kiln_program *p, kiln_graph *g)
{
    for (uint32_t i = 0; i < g->count; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->op == IR_OP_INPUT &&
            !rt_program_bind(p, 'i', n->name, n->type.dtype, n->type.rank,
                             n->type.dims, i))
            return false;
    }
    if (!bind_params(p, g))
        return false;
    for (uint32_t i = 0; i < g->noutputs; i++) {
        const ir_node *n = &g->nodes[g->outputs[i].node];
        if (!rt_program_bind(p, 'o', g->outputs[i].name, n->type.dtype,
                             n->type.rank, n->type.dims, g->outputs[i].node))
            return false;
    }
    return true;
}

static bool backend_built(kiln_graph *g, kiln_backend b)
{
    switch (b) {
    case KILN_BACKEND_REF: return true;
    case KILN_BACKEND_CPU:
#ifdef KILN_HAVE_LLVM
        return true;
#else
        return ir_error(g, KILN_ERR_UNSUPPORTED,
                        "compile: backend 'cpu' is not built into this kiln "
                        "(it needs LLVM 14-19 at build time; available: ref%s)",
#ifdef KILN_HAVE_CUDA
                        ", cuda"
#else
                        ""
#endif
        );
#endif
    case KILN_BACKEND_CUDA:
#ifdef KILN_HAVE_CUDA
        return true;
#else
        return ir_error(g, KILN_ERR_UNSUPPORTED,
                        "compile: backend 'cuda' is not built into this kiln "
                        "(it needs the CUDA toolkit with NVRTC at build time; "
                        "available: ref%s)",
#ifdef KILN_HAVE_LLVM
                        ", cpu"
#else
                        ""
#endif
        );
#endif
    }
    return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                    "compile: unknown backend %d (want KILN_BACKEND_REF, _CPU "
                    "or _CUDA)",
                    (int)b);
}

#ifdef KILN_HAVE_CUDA
static bool attach_cuda(kiln_program *p, kiln_graph *g, const kiln_compile_options *o,
                        bool fuse)
{
    char err[600];
    /* The cache directory may come from the environment so that test
     * suites and scripts share compiled kernels without code changes. */
    const char *cache = o->cache_dir ? o->cache_dir : getenv("KILN_CUDA_CACHE_DIR");
    if (!kiln_backend_cuda_attach(p, g, fuse, o->cuda_arch, cache, err, sizeof err))
        return ir_error(g, KILN_ERR_UNSUPPORTED, "compile: cuda backend: %s", err);
    return true;
}
#endif

/* Hand the verified graph to the backend; errors go to the graph. */
static bool attach(kiln_program *p, kiln_graph *g, const kiln_compile_options *o)
{
    if (o->backend == KILN_BACKEND_REF) {
        if (!kiln_backend_ref_attach(p, g))
            return ir_error(g, KILN_ERR_OUT_OF_MEMORY, "compile: out of memory");
        return true;
    }
    /* Fused unless asked not to (KILN_FUSE_BY_DEFAULT=0 builds flip it). */
    bool fuse = KILN_FUSE_BY_DEFAULT && !o->no_fuse;
#ifdef KILN_HAVE_CUDA
    if (o->backend == KILN_BACKEND_CUDA)
        return attach_cuda(p, g, o, fuse);
#endif
#ifdef KILN_HAVE_LLVM
    char err[400];
    int threads = o->threads > 0 ? o->threads : rt_cpu_count();
    if (!kiln_backend_cpu_attach(p, g, threads, fuse, !o->keep_denormals, err, sizeof err))
        return ir_error(g, KILN_ERR_UNSUPPORTED, "compile: cpu backend: %s", err);
    return true;
#else
    (void)fuse;
    return false;
#endif
}

kiln_program *kiln_compile(kiln_graph *g, const kiln_compile_options *opts)
{
    if (!g || g->status != KILN_OK)
        return NULL;
    kiln_compile_options o;
    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    if (o.threads < 0) {
        ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                 "compile: threads is %d; want 0 (one per core) or more",
                 o.threads);
        return NULL;
    }
    if (ir_verify(g) != KILN_OK)
        return NULL;
    if (!backend_built(g, o.backend))
        return NULL;
    double start = rt_now_ms();
    kiln_program *p = rt_program_new(&g->alloc);
    if (!p || !bind_all(p, g)) {
        kiln_program_free(p);
        ir_error(g, KILN_ERR_OUT_OF_MEMORY, "compile: out of memory");
        return NULL;
    }
    if (!attach(p, g, &o)) {
        kiln_program_free(p);
        return NULL;
    }
    p->stats.total_ms = rt_now_ms() - start;
    return p;
}
