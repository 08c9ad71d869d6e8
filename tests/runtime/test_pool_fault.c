/*
 * Pool creation failures: an allocator that fails the Nth allocation, and
 * (when the linker can wrap symbols) a pthread_create that fails the Kth
 * call.  Each failure gives NULL, leaves no live block and no thread
 * behind (the started workers are joined: /proc/self/task shrinks back).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "runtime/pool.h"

typedef struct faulty {
    long calls;   /* malloc and realloc calls so far          */
    long fail_at; /* the call that fails; 0: none            */
    long live;    /* blocks handed out and not yet freed     */
} faulty;

static void *f_malloc(size_t n, void *user)
{
    faulty *f = user;
    if (++f->calls == f->fail_at)
        return NULL;
    void *p = malloc(n);
    f->live += p != NULL;
    return p;
}

static void *f_realloc(void *old, size_t n, void *user)
{
    faulty *f = user;
    if (++f->calls == f->fail_at)
        return NULL;
    void *p = realloc(old, n);
    f->live += p != NULL && old == NULL;
    return p;
}

static void f_free(void *p, void *user)
{
    faulty *f = user;
    f->live -= p != NULL;
    free(p);
}

static void count_items(void *arg, int64_t begin, int64_t end)
{
    atomic_fetch_add((atomic_llong *)arg, (long long)(end - begin));
}

static void test_failing_allocation(void **state)
{
    (void)state;
    for (long n = 1;; n++) {
        assert_true(n < 100); /* the pool makes a handful of allocations */
        faulty f = {0, n, 0};
        kiln_allocator a = {f_malloc, f_realloc, f_free, &f};
        rt_pool *p = rt_pool_new(&a, 4);
        if (!p) {
            assert_int_equal(f.live, 0);
            continue;
        }
        assert_true(f.calls < n); /* success: nothing was failed */
        atomic_llong items = 0;
        rt_pool_parallel_for(p, 1000, 1, count_items, &items);
        assert_int_equal(atomic_load(&items), 1000);
        rt_pool_free(p);
        assert_int_equal(f.live, 0);
        break;
    }
}

/* Threads of this process, or -1 where /proc is missing. */
static int task_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* A joined thread may linger in /proc for a moment after join returns. */
static int task_count_settled(int want)
{
    int n = task_count();
    for (int i = 0; i < 1000 && n != want; i++) {
        nanosleep(&(struct timespec){0, 1000000}, NULL);
        n = task_count();
    }
    return n;
}

#ifdef POOL_WRAP_CREATE
/* The linker sends the pool's pthread_create here.  A wrapped symbol has
 * no context pointer, hence file-level state (tests only). */
static int create_calls, create_fail_at;

int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg);

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg)
{
    if (++create_calls == create_fail_at)
        return EAGAIN;
    return __real_pthread_create(t, attr, fn, arg);
}

static void test_failing_pthread_create(void **state)
{
    (void)state;
    int before = task_count();
    for (int k = 1; k <= 3; k++) {
        create_calls = 0;
        create_fail_at = k;
        faulty f = {0, 0, 0};
        kiln_allocator a = {f_malloc, f_realloc, f_free, &f};
        assert_null(rt_pool_new(&a, 4)); /* 3 workers; the kth fails */
        assert_int_equal(create_calls, k);
        assert_int_equal(f.live, 0);
        if (before > 0)
            assert_int_equal(task_count_settled(before), before);
    }
    create_calls = 0;
    create_fail_at = 4; /* past the last worker: success */
    faulty f = {0, 0, 0};
    kiln_allocator a = {f_malloc, f_realloc, f_free, &f};
    rt_pool *p = rt_pool_new(&a, 4);
    assert_non_null(p);
    assert_int_equal(create_calls, 3);
    if (before > 0)
        assert_int_equal(task_count(), before + 3);
    rt_pool_free(p);
    assert_int_equal(f.live, 0);
    if (before > 0)
        assert_int_equal(task_count_settled(before), before);
    create_fail_at = 0;
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failing_allocation),
#ifdef POOL_WRAP_CREATE
        cmocka_unit_test(test_failing_pthread_create),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
