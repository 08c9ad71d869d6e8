/*
 * pool.h — the runtime's persistent thread pool: splits a kernel's outer
 * range [0, n) into contiguous chunks, one per thread at most, the calling
 * thread taking part.  Built on pthreads and C11 atomics only (no compiler
 * part, no LLVM), so compiled programs and AOT artifacts can use it.
 */
#ifndef KILN_RUNTIME_POOL_H
#define KILN_RUNTIME_POOL_H

#include <stdint.h>

#include "kiln.h"

typedef struct rt_pool rt_pool;

/* A persistent pool of `threads` - 1 worker threads plus the calling thread
 * (threads >= 1; threads == 1 creates no thread).  Allocates through `a`
 * (copied; never NULL here).  Workers block every signal, so the user's
 * signal handlers run on the user's threads.  NULL on failure: threads < 1,
 * out of memory, or pthread_create failing (already-started workers are
 * joined and everything is freed). */
rt_pool *rt_pool_new(const kiln_allocator *a, int threads);
/* Joins the workers and frees the pool.  NULL is a no-op.  Must not run
 * while a parallel_for on p is in progress. */
void rt_pool_free(rt_pool *p);
/* The `threads` the pool was made with (1 for a NULL pool). */
int rt_pool_threads(const rt_pool *p);

/* One chunk of work: the half-open range [begin, end). */
typedef void (*rt_task_fn)(void *ctx, int64_t begin, int64_t end);

/* Call fn over [0, n) in contiguous chunks and return when every chunk is
 * done; everything the chunks wrote is then visible to the caller.
 *
 * Chunks: grain < 1 counts as 1.  n <= 0 calls nothing.  When n < 2 * grain,
 * or the pool has one thread, or p is NULL, fn(ctx, 0, n) runs inline on
 * the caller with no synchronisation at all.  Otherwise there are
 * k = min(threads, n / grain) chunks (so 2 <= k <= threads); [0, n) is cut
 * into blocks of `grain` items (the last may be short) and the blocks are
 * shared out in order, floor(blocks / k) per chunk and one more for each of
 * the last (blocks mod k) chunks.  Every chunk thus starts at a multiple of
 * grain and holds at least grain items, and the boundaries depend only on
 * n, grain and threads — never on timing.  The caller runs the first chunk.
 *
 * Not reentrant: one parallel_for at a time per pool (a program owns its
 * pool).  A nested call from inside fn, or a call racing another on the
 * same pool, does not deadlock: it runs inline as one chunk. */
void rt_pool_parallel_for(rt_pool *p, int64_t n, int64_t grain, rt_task_fn fn,
                          void *ctx);

/* The number of online cores (sysconf), at least 1. */
int rt_cpu_count(void);

#endif /* KILN_RUNTIME_POOL_H */
