/*
 * The thread pool: every index visited exactly once, chunk boundaries as
 * pool.h documents them (checked against hand-computed tables and against
 * the documented rule), the same on every call; back-to-back calls with and
 * without the sleeping paths; two pools driven from two user threads; idle
 * workers that sleep; nested calls that run inline.  Run it under
 * ThreadSanitizer too (tests/runtime/meson.build says how).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "runtime/pool.h"

static void *sys_malloc(size_t n, void *user) { (void)user; return malloc(n); }
static void *sys_realloc(void *p, size_t n, void *user) { (void)user; return realloc(p, n); }
static void sys_free(void *p, void *user) { (void)user; free(p); }
static const kiln_allocator sys_alloc = {sys_malloc, sys_realloc, sys_free, NULL};

enum { MAX_CHUNKS = 64 };

typedef struct chunk {
    int64_t begin, end;
    bool on_caller;
} chunk;

/* What one parallel_for did: visits per index and the chunks it ran. */
typedef struct record {
    uint8_t *visits;
    chunk chunks[MAX_CHUNKS];
    atomic_int nchunks;
    pthread_t caller;
} record;

static void visit(void *arg, int64_t begin, int64_t end)
{
    record *r = arg;
    for (int64_t i = begin; i < end; i++)
        r->visits[i]++;
    int k = atomic_fetch_add(&r->nchunks, 1);
    if (k < MAX_CHUNKS)
        r->chunks[k] = (chunk){begin, end,
                               pthread_equal(pthread_self(), r->caller) != 0};
}

static int by_begin(const void *a, const void *b)
{
    const chunk *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

/* Runs one parallel_for and returns its chunks sorted by begin. */
static int run_recorded(rt_pool *p, record *r, int64_t n, int64_t grain)
{
    memset(r->visits, 0, (size_t)(n > 0 ? n : 1));
    atomic_store(&r->nchunks, 0);
    r->caller = pthread_self();
    rt_pool_parallel_for(p, n, grain, visit, r);
    int k = atomic_load(&r->nchunks);
    assert_in_range(k, 0, MAX_CHUNKS);
    qsort(r->chunks, (size_t)k, sizeof(chunk), by_begin);
    return k;
}

/* The number of chunks pool.h promises. */
static int expected_chunks(int threads, int64_t n, int64_t grain)
{
    if (n <= 0)
        return 0;
    if (threads == 1 || n < 2 * grain)
        return 1;
    return n / grain < threads ? (int)(n / grain) : threads;
}

static void check_partition(const record *r, int k, int64_t n, int64_t grain)
{
    for (int64_t i = 0; i < n; i++)
        if (r->visits[i] != 1)
            fail_msg("n=%lld grain=%lld: index %lld visited %d times",
                     (long long)n, (long long)grain, (long long)i,
                     r->visits[i]);
    int on_caller = 0;
    for (int i = 0; i < k; i++) {
        const chunk *c = &r->chunks[i];
        assert_int_equal(c->begin, i == 0 ? 0 : r->chunks[i - 1].end);
        assert_true(c->end > c->begin);
        if (k > 1) {
            assert_true(c->end - c->begin >= grain);
            assert_int_equal(c->begin % grain, 0);
        }
        on_caller += c->on_caller;
    }
    if (k > 0) {
        assert_int_equal(r->chunks[k - 1].end, n);
        assert_true(r->chunks[0].on_caller); /* the caller takes part */
        assert_int_equal(on_caller, 1);      /* one chunk per thread  */
    }
}

static void check_case(rt_pool *p, record *r, int64_t n, int64_t grain)
{
    chunk first[MAX_CHUNKS];
    int k0 = 0;
    for (int rep = 0; rep < 3; rep++) {
        int k = run_recorded(p, r, n, grain);
        assert_int_equal(k, expected_chunks(rt_pool_threads(p), n, grain));
        check_partition(r, k, n, grain);
        if (rep == 0) {
            k0 = k;
            memcpy(first, r->chunks, sizeof first);
            continue;
        }
        assert_int_equal(k, k0); /* determinism: same boundaries */
        for (int i = 0; i < k; i++) {
            assert_int_equal(r->chunks[i].begin, first[i].begin);
            assert_int_equal(r->chunks[i].end, first[i].end);
        }
    }
}

static void test_every_index_once(void **state)
{
    (void)state;
    static const int threads[] = {1, 2, 3, 8};
    static const int64_t ns[] = {0, 1, 2, 3, 7, 1000, 1000000};
    static const int64_t grains[] = {1, 2, 3, 64, 4096};
    record r = {0};
    r.visits = malloc(1000000);
    assert_non_null(r.visits);
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        rt_pool *p = rt_pool_new(&sys_alloc, threads[t]);
        assert_non_null(p);
        assert_int_equal(rt_pool_threads(p), threads[t]);
        for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
            for (size_t g = 0; g < sizeof grains / sizeof *grains; g++)
                check_case(p, &r, ns[i], grains[g]);
        rt_pool_free(p);
    }
    free(r.visits);
}

/* Boundaries worked out by hand from the rule in pool.h:
 * blocks = ceil(n / grain), k = min(threads, n / grain) chunks,
 * floor(blocks / k) blocks each, the last (blocks mod k) one more. */
typedef struct boundary_case {
    int threads;
    int64_t n, grain;
    int k;
    int64_t cuts[9]; /* k + 1 boundaries */
} boundary_case;

static const boundary_case boundary_cases[] = {
    {3, 1000, 1, 3, {0, 333, 666, 1000}},
    {3, 1000, 64, 3, {0, 320, 640, 1000}},  /* 16 blocks: 5, 5, 6   */
    {8, 7, 2, 3, {0, 2, 4, 7}},             /* 4 blocks: 1, 1, 2    */
    {2, 3, 1, 2, {0, 1, 3}},
    {8, 7, 4, 1, {0, 7}},                   /* 7 < 2 * 4: inline    */
    {8, 10, 3, 3, {0, 3, 6, 10}},           /* 4 blocks: 1, 1, 2    */
    {2, 100, 7, 2, {0, 49, 100}},           /* 15 blocks: 7, 8      */
    {2, 10, 0, 2, {0, 5, 10}},              /* grain 0 counts as 1  */
    {4, 10, 1, 4, {0, 2, 4, 7, 10}},        /* 10 blocks: 2, 2, 3, 3 */
    {8, 1000, 100, 8, {0, 100, 200, 300, 400, 500, 600, 800, 1000}},
    {8, 1000000, 1, 8, {0, 125000, 250000, 375000, 500000, 625000,
                        750000, 875000, 1000000}},
};

static void test_hand_computed_boundaries(void **state)
{
    (void)state;
    record r = {0};
    r.visits = malloc(1000000);
    assert_non_null(r.visits);
    size_t count = sizeof boundary_cases / sizeof *boundary_cases;
    for (size_t c = 0; c < count; c++) {
        const boundary_case *bc = &boundary_cases[c];
        rt_pool *p = rt_pool_new(&sys_alloc, bc->threads);
        assert_non_null(p);
        int k = run_recorded(p, &r, bc->n, bc->grain);
        assert_int_equal(k, bc->k);
        for (int i = 0; i < k; i++) {
            assert_int_equal(r.chunks[i].begin, bc->cuts[i]);
            assert_int_equal(r.chunks[i].end, bc->cuts[i + 1]);
        }
        rt_pool_free(p);
    }
    free(r.visits);
}

static void count_items(void *arg, int64_t begin, int64_t end)
{
    atomic_fetch_add((atomic_llong *)arg, (long long)(end - begin));
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* 10,000 back-to-back calls of n items each; returns ns per call. */
static double time_calls(rt_pool *p, int64_t n)
{
    enum { CALLS = 10000 };
    atomic_llong items = 0;
    double t0 = now_s();
    for (int i = 0; i < CALLS; i++)
        rt_pool_parallel_for(p, n, 1, count_items, &items);
    double ns = (now_s() - t0) * 1e9 / CALLS;
    assert_int_equal(atomic_load(&items), (long long)CALLS * n);
    return ns;
}

static void test_back_to_back(void **state)
{
    (void)state;
    static const int threads[] = {2, 3, 8};
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        rt_pool *p = rt_pool_new(&sys_alloc, threads[t]);
        assert_non_null(p);
        double inline_ns = time_calls(p, 1);
        double split_ns = time_calls(p, threads[t]);
        print_message("pool of %d threads (%d cores): %.0f ns per split "
                      "call, %.1f ns per inline call\n",
                      threads[t], rt_cpu_count(), split_ns, inline_ns);
        rt_pool_free(p);
    }
}

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&t, NULL);
}

/* Workers finish long after the caller, so the caller goes to sleep. */
static void slow_workers(void *arg, int64_t begin, int64_t end)
{
    if (begin != 0)
        sleep_us(300);
    count_items(arg, begin, end);
}

/* Gaps longer than the spin put the workers to sleep between calls; slow
 * workers put the caller to sleep: both condvar paths, no lost wake-up. */
static void test_sleeping_paths(void **state)
{
    (void)state;
    rt_pool *p = rt_pool_new(&sys_alloc, 3);
    assert_non_null(p);
    atomic_llong items = 0;
    for (int i = 0; i < 200; i++) {
        rt_pool_parallel_for(p, 30, 1, count_items, &items);
        sleep_us(i % 2 ? 200 : 1);
        rt_pool_parallel_for(p, 30, 1, slow_workers, &items);
    }
    assert_int_equal(atomic_load(&items), 200LL * 60);
    rt_pool_free(p);
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* An idle pool must not burn a core: over 300 ms of idling, spinning
 * workers would cost the process at least 300 ms of CPU time. */
static void test_idle_workers_sleep(void **state)
{
    (void)state;
    rt_pool *p = rt_pool_new(&sys_alloc, 4);
    assert_non_null(p);
    atomic_llong items = 0;
    rt_pool_parallel_for(p, 100, 1, count_items, &items);
    sleep_us(20000); /* past the spin */
    double c0 = cpu_seconds();
    sleep_us(300000);
    double used = cpu_seconds() - c0;
    print_message("idle pool of 4 threads: %.2f ms CPU in 300 ms\n",
                  used * 1e3);
    /* 50 ms leaves room for a sanitizer's own background thread. */
    assert_true(used < 0.050);
    rt_pool_free(p);
}

/* Each user thread drives its own pool and checks every call's sum. */
typedef struct driver {
    int threads;
    long errors;
} driver;

static void sum_indices(void *arg, int64_t begin, int64_t end)
{
    long long s = 0;
    for (int64_t i = begin; i < end; i++)
        s += i;
    atomic_fetch_add((atomic_llong *)arg, s);
}

static void *drive_pool(void *arg)
{
    driver *d = arg;
    rt_pool *p = rt_pool_new(&sys_alloc, d->threads);
    if (!p) {
        d->errors = -1;
        return NULL;
    }
    for (int call = 0; call < 3000; call++) {
        int64_t n = 1 + call % 1000;
        atomic_llong sum = 0;
        rt_pool_parallel_for(p, n, 8, sum_indices, &sum);
        d->errors += atomic_load(&sum) != (long long)n * (n - 1) / 2;
    }
    rt_pool_free(p);
    return NULL;
}

static void test_two_pools_two_threads(void **state)
{
    (void)state;
    driver d[2] = {{2, 0}, {3, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, drive_pool, &d[i]), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(d[i].errors, 0);
    }
}

/* A call from inside a chunk must not deadlock; it runs inline. */
typedef struct nest {
    rt_pool *pool;
    atomic_llong items;
} nest;

static void inner(void *arg, int64_t begin, int64_t end)
{
    count_items(&((nest *)arg)->items, begin, end);
}

static void outer(void *arg, int64_t begin, int64_t end)
{
    nest *s = arg;
    for (int64_t i = begin; i < end; i++)
        rt_pool_parallel_for(s->pool, 100, 1, inner, s);
}

static void test_nested_call_runs_inline(void **state)
{
    (void)state;
    nest s = {rt_pool_new(&sys_alloc, 3), 0};
    assert_non_null(s.pool);
    rt_pool_parallel_for(s.pool, 30, 1, outer, &s);
    assert_int_equal(atomic_load(&s.items), 30 * 100);
    rt_pool_free(s.pool);
}

static void test_edge_arguments(void **state)
{
    (void)state;
    assert_null(rt_pool_new(&sys_alloc, 0));
    assert_null(rt_pool_new(&sys_alloc, -3));
    assert_null(rt_pool_new(NULL, 2));
    rt_pool_free(NULL);
    assert_int_equal(rt_pool_threads(NULL), 1);

    atomic_llong items = 0;
    rt_pool_parallel_for(NULL, 50, 1, count_items, &items); /* inline */
    assert_int_equal(atomic_load(&items), 50);
    rt_pool *p = rt_pool_new(&sys_alloc, 2);
    assert_non_null(p);
    rt_pool_parallel_for(p, -5, 1, count_items, &items); /* nothing */
    rt_pool_parallel_for(p, 10, 1, NULL, &items);        /* nothing */
    assert_int_equal(atomic_load(&items), 50);
    /* Chunk arithmetic near INT64_MAX must not overflow: 2 chunks of
     * 2 and 2 blocks (the last one short). */
    atomic_llong huge = 0;
    rt_pool_parallel_for(p, INT64_MAX, INT64_MAX / 3, count_items, &huge);
    assert_int_equal(atomic_load(&huge), INT64_MAX);
    huge = 0;
    rt_pool_parallel_for(p, INT64_MAX, INT64_MAX, count_items, &huge);
    assert_int_equal(atomic_load(&huge), INT64_MAX); /* inline */
    rt_pool_free(p);
}

/* The online cores from /sys (a list of ranges like "0-3,6"), or 0. */
static int sys_online_cpus(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/online", "r");
    if (!f)
        return 0;
    int count = 0, lo, hi;
    char sep;
    while (fscanf(f, "%d", &lo) == 1) {
        hi = lo;
        if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
            if (fscanf(f, "%d", &hi) != 1)
                break;
            if (fscanf(f, "%c", &sep) != 1)
                sep = '\n';
        }
        count += hi - lo + 1;
        if (sep != ',')
            break;
    }
    fclose(f);
    return count;
}

static void test_cpu_count(void **state)
{
    (void)state;
    int n = rt_cpu_count();
    assert_true(n >= 1);
    int sys = sys_online_cpus();
    if (sys > 0)
        assert_int_equal(n, sys);
    print_message("rt_cpu_count() = %d (/sys says %d)\n", n, sys);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_index_once),
        cmocka_unit_test(test_hand_computed_boundaries),
        cmocka_unit_test(test_back_to_back),
        cmocka_unit_test(test_sleeping_paths),
        cmocka_unit_test(test_idle_workers_sleep),
        cmocka_unit_test(test_two_pools_two_threads),
        cmocka_unit_test(test_nested_call_runs_inline),
        cmocka_unit_test(test_edge_arguments),
        cmocka_unit_test(test_cpu_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
