/*
 * pool.c — persistent worker threads behind rt_pool_parallel_for.
 *
 * Protocol.  One job at a time; only the caller of parallel_for writes the
 * job, and only between jobs.
 *  - Publish: the caller writes the job (fn, ctx, n, grain, chunks), sets
 *    `pending` to the number of workers, then increments `generation`
 *    (seq_cst, so a release: it publishes the job).  Each worker remembers
 *    the last generation it served; one that sees a new generation (acquire)
 *    copies the job, runs its chunk (worker i runs chunk i when i < chunks)
 *    and decrements `pending` (release).  Every worker acknowledges every
 *    job, with or without a chunk, so when pending reaches 0 no worker still
 *    reads the job and the caller may write the next one.  Hence a worker
 *    never misses a generation and never sees two at once.
 *  - Wait: the caller runs chunk 0 itself, then waits for pending == 0
 *    (acquire): every write the chunks made is then visible to it.
 *  - Sleep: both waits first spin (pausing, and yielding now and then) for
 *    at most RT_SPIN_NS, because the hundreds of kernels of a training step
 *    arrive microseconds apart and a futex wake-up costs several; then they
 *    sleep on a condvar, so an idle pool burns no core.  A sleeper announces itself (`sleepers` for
 *    workers, `caller_asleep` for the caller) under the mutex and re-checks
 *    its condition before waiting; a waker changes the condition and then
 *    reads the announcement, both seq_cst.  That is a Dekker pair: at least
 *    one side sees the other's write, so no wake-up is lost, and a waker
 *    takes the mutex (to signal) only when someone actually sleeps.
 *  - Stop: a job with fn == NULL makes workers exit; rt_pool_free joins.
 *  - Misuse: `busy` turns a nested or concurrent call into an inline one
 *    instead of a corrupted job or a deadlock.
 */
#include "runtime/pool.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

enum {
    RT_SPIN_NS = 50000, /* longest spin before sleeping                   */
    RT_SPIN_CHECK = 16  /* pauses between a clock read and a yield        */
};

/* Keeps data written by different threads on different cache lines
 * without asking the user's allocator for 64-byte alignment. */
#define RT_CACHE_PAD(name) char name[64]

typedef struct rt_worker {
    rt_pool *pool;
    int index; /* the chunk it runs: 1 .. threads - 1 */
    pthread_t thread;
} rt_worker;

typedef struct rt_job {
    rt_task_fn fn; /* NULL: stop */
    void *ctx;
    int64_t n, grain;
    int chunks;
} rt_job;

struct rt_pool {
    kiln_allocator alloc;
    int threads;
    int started; /* workers running */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* workers sleep here */
    pthread_cond_t done; /* the caller sleeps here */
    rt_job job;
    RT_CACHE_PAD(pad0);
    atomic_uint generation;
    atomic_int sleepers;
    RT_CACHE_PAD(pad1);
    atomic_uint pending;
    atomic_int caller_asleep;
    RT_CACHE_PAD(pad2);
    atomic_int busy;
    rt_worker workers[]; /* threads - 1 of them */
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Tells the core (and its SMT sibling) that this is a spin loop. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Spins for at most about RT_SPIN_NS until (*w == v) == equal; returns
 * whether that happened.  The load is an acquire.  The spin also yields
 * the core now and then: when there are more runnable threads than cores
 * (two programs at once, a busy host), the thread we wait for may be
 * queued behind us.  On a loaded 2-core machine yielding made a call
 * 10-30x cheaper, and yielding from the start beat pausing for 2 us
 * first; an idle core returns from sched_yield at once. */
static bool spin_for(atomic_uint *w, unsigned v, bool equal)
{
    uint64_t start = 0;
    for (unsigned i = 1;; i++) {
        if ((atomic_load_explicit(w, memory_order_acquire) == v) == equal)
            return true;
        if (i % RT_SPIN_CHECK == 0) {
            uint64_t t = now_ns();
            if (!start)
                start = t;
            else if (t - start >= RT_SPIN_NS)
                return false;
            sched_yield();
        }
        cpu_relax();
    }
}

/* Chunk i of job j (see pool.h): blocks of grain items shared out in
 * order, the last (blocks mod chunks) chunks taking one block more. */
static void run_chunk(const rt_job *j, int i)
{
    int64_t blocks = (j->n - 1) / j->grain + 1;
    int64_t per = blocks / j->chunks;
    int64_t first_big = j->chunks - blocks % j->chunks;
    int64_t lo = i * per + (i > first_big ? i - first_big : 0);
    int64_t hi = (i + 1) * per + (i + 1 > first_big ? i + 1 - first_big : 0);
    int64_t end = i + 1 == j->chunks ? j->n : j->grain * hi;
    j->fn(j->ctx, j->grain * lo, end);
}

/* Caller side: hand the job to every worker. */
static void publish(rt_pool *p, rt_job job)
{
    p->job = job;
    atomic_store_explicit(&p->pending, (unsigned)p->started,
                          memory_order_relaxed); /* released below */
    atomic_fetch_add(&p->generation, 1);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
}

/* Caller side: return once every worker has acknowledged the job. */
static void wait_for_workers(rt_pool *p)
{
    if (spin_for(&p->pending, 0, true))
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->caller_asleep, 1);
    while (atomic_load(&p->pending) != 0)
        pthread_cond_wait(&p->done, &p->lock);
    atomic_store(&p->caller_asleep, 0);
    pthread_mutex_unlock(&p->lock);
}

/* Worker side: the first generation after `seen`. */
static unsigned wait_for_job(rt_pool *p, unsigned seen)
{
    if (!spin_for(&p->generation, seen, false)) {
        pthread_mutex_lock(&p->lock);
        atomic_fetch_add(&p->sleepers, 1);
        while (atomic_load(&p->generation) == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->lock);
    }
    return atomic_load_explicit(&p->generation, memory_order_acquire);
}

static void *worker_main(void *arg)
{
    rt_worker *w = arg;
    rt_pool *p = w->pool;
    unsigned seen = 0; /* the generation before any job */
    for (;;) {
        seen = wait_for_job(p, seen);
        rt_job job = p->job; /* the caller may rewrite it once we ack */
        if (!job.fn)
            return NULL;
        if (w->index < job.chunks)
            run_chunk(&job, w->index);
        if (atomic_fetch_sub(&p->pending, 1) == 1 &&
            atomic_load(&p->caller_asleep)) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

void rt_pool_parallel_for(rt_pool *p, int64_t n, int64_t grain, rt_task_fn fn,
                          void *ctx)
{
    if (n <= 0 || !fn)
        return;
    if (grain < 1)
        grain = 1;
    /* n / 2 < grain is n < 2 * grain without the overflow. */
    if (!p || p->threads == 1 || n / 2 < grain ||
        atomic_exchange_explicit(&p->busy, 1, memory_order_acquire)) {
        fn(ctx, 0, n);
        return;
    }
    int64_t chunks = n / grain < p->threads ? n / grain : p->threads;
    rt_job job = {fn, ctx, n, grain, (int)chunks};
    publish(p, job);
    run_chunk(&job, 0);
    wait_for_workers(p);
    atomic_store_explicit(&p->busy, 0, memory_order_release);
}

/* Workers take no asynchronous signal, so a user's handler (Ctrl-C to
 * save a checkpoint) runs on a user thread.  Faults stay deliverable:
 * a blocked SIGSEGV would kill the process without the handler that
 * reports it (a sanitizer's, a debugger's). */
static void block_async_signals(sigset_t *old)
{
    sigset_t set;
    sigfillset(&set);
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGBUS);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGILL);
    sigdelset(&set, SIGTRAP);
    sigdelset(&set, SIGSYS);
    pthread_sigmask(SIG_SETMASK, &set, old);
}

static bool start_workers(rt_pool *p)
{
    sigset_t old;
    block_async_signals(&old); /* inherited by the new threads */
    for (int i = 1; i < p->threads; i++) {
        rt_worker *w = &p->workers[i - 1];
        w->pool = p;
        w->index = i;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            break;
        p->started = i;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p->started == p->threads - 1;
}

/* 0, or -1 with whatever it made already destroyed. */
static int init_sync(rt_pool *p)
{
    if (pthread_mutex_init(&p->lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&p->wake, NULL) != 0) {
        pthread_mutex_destroy(&p->lock);
        return -1;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        return -1;
    }
    return 0;
}

rt_pool *rt_pool_new(const kiln_allocator *a, int threads)
{
    if (!a || threads < 1 ||
        (size_t)(threads - 1) >
            (SIZE_MAX - sizeof(rt_pool)) / sizeof(rt_worker))
        return NULL;
    size_t size = sizeof(rt_pool) + (size_t)(threads - 1) * sizeof(rt_worker);
    rt_pool *p = a->malloc(size, a->user);
    if (!p)
        return NULL;
    p->alloc = *a;
    p->threads = threads;
    p->started = 0;
    p->job = (rt_job){0};
    atomic_init(&p->generation, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->caller_asleep, 0);
    atomic_init(&p->busy, 0);
    if (init_sync(p) != 0) {
        a->free(p, a->user);
        return NULL;
    }
    if (!start_workers(p)) {
        rt_pool_free(p);
        return NULL;
    }
    return p;
}

void rt_pool_free(rt_pool *p)
{
    if (!p)
        return;
    if (p->started > 0) {
        publish(p, (rt_job){0});
        for (int i = 0; i < p->started; i++)
            pthread_join(p->workers[i].thread, NULL);
    }
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    p->alloc.free(p, p->alloc.user);
}

int rt_pool_threads(const rt_pool *p)
{
    return p ? p->threads : 1;
}

int rt_cpu_count(void)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c < 1 ? 1 : c > INT_MAX ? INT_MAX : (int)c;
}
