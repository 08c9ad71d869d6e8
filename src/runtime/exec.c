/* exec.c — run kernel steps through the pool.  Each chunk of a step takes
 * a scratch slot from an atomic counter; the pool runs at most one chunk
 * per thread at a time, so `threads` slots suffice. */
#include <stdatomic.h>
#include <string.h>

#include "exec.h"
#include "fpenv.h"

struct rt_exec {
    kiln_allocator alloc;
    rt_pool *pool;
    rt_step *steps;
    int nsteps, threads;
    bool flush; /* subnormals to zero while kernels run (fpenv.h) */
    size_t scratch_bytes;
    unsigned char *scratch; /* threads slots, 64-byte aligned */
    void *scratch_raw;
};

typedef struct chunk_ctx {
    const rt_step *step;
    void **bufs;
    rt_exec *e;
    atomic_int next_slot;
} chunk_ctx;

static void run_chunk(void *arg, int64_t begin, int64_t end)
{
    chunk_ctx *c = arg;
    if (c->e->flush && !rt_fpenv_flushing()) { /* a worker: kiln's own thread */
        rt_fpenv ignored;
        rt_fpenv_flush(&ignored);
    }
    int slot = atomic_fetch_add_explicit(&c->next_slot, 1, memory_order_relaxed);
    void *scratch = c->e->scratch ? c->e->scratch + (size_t)slot * c->e->scratch_bytes
                                  : NULL;
    c->step->fn(c->bufs, begin, end, scratch);
}

rt_exec *rt_exec_new(const kiln_allocator *a, const rt_step *steps, int nsteps,
                     size_t scratch_bytes, int threads, bool flush_denormals)
{
    rt_exec *e = a->malloc(sizeof *e, a->user);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    e->alloc = *a;
    e->threads = threads;
    e->flush = flush_denormals;
    e->nsteps = nsteps;
    e->scratch_bytes = (scratch_bytes + 63) / 64 * 64;
    e->steps = a->malloc((size_t)(nsteps ? nsteps : 1) * sizeof *steps, a->user);
    if (e->scratch_bytes) {
        e->scratch_raw = a->malloc(e->scratch_bytes * (size_t)threads + 64, a->user);
        if (e->scratch_raw)
            e->scratch = (unsigned char *)(((uintptr_t)e->scratch_raw + 63) & ~(uintptr_t)63);
    }
    e->pool = threads > 1 ? rt_pool_new(a, threads) : NULL;
    if (!e->steps || (e->scratch_bytes && !e->scratch) || (threads > 1 && !e->pool)) {
        rt_exec_free(e);
        return NULL;
    }
    memcpy(e->steps, steps, (size_t)nsteps * sizeof *steps);
    return e;
}

void rt_exec_free(rt_exec *e)
{
    if (!e)
        return;
    rt_pool_free(e->pool);
    e->alloc.free(e->steps, e->alloc.user);
    e->alloc.free(e->scratch_raw, e->alloc.user);
    e->alloc.free(e, e->alloc.user);
}

void rt_exec_run(rt_exec *e, void **bufs)
{
    rt_fpenv caller;
    if (e->flush)
        rt_fpenv_flush(&caller);
    for (int i = 0; i < e->nsteps; i++) {
        const rt_step *s = &e->steps[i];
        if (!e->pool || s->range / 2 < s->grain) { /* as the pool decides */
            s->fn(bufs, 0, s->range, e->scratch);
            continue;
        }
        chunk_ctx c = {.step = s, .bufs = bufs, .e = e};
        atomic_init(&c.next_slot, 0);
        rt_pool_parallel_for(e->pool, s->range, s->grain, run_chunk, &c);
    }
    if (e->flush)
        rt_fpenv_restore(&caller);
}
