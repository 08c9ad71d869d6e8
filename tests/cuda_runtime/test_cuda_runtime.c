/*
 * test_cuda_runtime.c — the CUDA backend's runtime without a GPU: the
 * "no CUDA driver found" / "no CUDA device" errors, and, on a fake driver
 * whose device memory is host memory (fake_driver.c), the copies a run
 * makes: inputs up, outputs down, assigns on the device (swaps included),
 * kiln_set_param/kiln_get_param coherence, launches, the image cache,
 * allocation failures and that everything is released.  The oracle for
 * values is the reference backend on the same graph.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln.h"

typedef struct fake_state {
    int live_allocs, launches, ctx_refs, streams, modules, events;
    size_t htod_bytes, dtoh_bytes; /* host <-> device traffic */
    char last_image[16];
    unsigned last_shared_attr;
} fake_state;

/* The fake's counters; the library kiln loads is this same mapping
 * (dlopen of one path is reference counted). */
static fake_state *fake(void)
{
    static void *lib; /* test-only: kept open for the whole run */
    if (!lib)
        lib = dlopen(KILN_FAKE_DRIVER, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(lib);
    fake_state *(*get)(void);
    void *sym = dlsym(lib, "fake_cuda_state");
    assert_non_null(sym);
    memcpy(&get, &sym, sizeof get);
    return get();
}

static void use_fake(const char *mode)
{
    setenv("KILN_CUDA_DRIVER", KILN_FAKE_DRIVER, 1);
    setenv("FAKE_CUDA_MODE", mode, 1);
    unsetenv("KILN_CUDA_CACHE_DIR");
}

static kiln_program *compile_cuda(kiln_graph *g)
{
    return kiln_compile(g, &(kiln_compile_options){.backend = KILN_BACKEND_CUDA});
}

static kiln_graph *tiny_graph(void)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 1, (int64_t[]){3});
    kiln_output(g, "y", kiln_exp(g, x));
    return g;
}

static void no_driver(void **state)
{
    (void)state;
    setenv("KILN_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
    kiln_graph *g = tiny_graph();
    assert_null(compile_cuda(g));
    assert_int_equal(kiln_graph_status(g), KILN_ERR_UNSUPPORTED);
    assert_non_null(strstr(kiln_graph_error(g),
                           "no CUDA driver found (/nonexistent/libcuda.so.1: "));
    /* everything else keeps working on the same graph */
    kiln_graph_clear_error(g);
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    kiln_program_free(p);
    kiln_graph_free(g);
}

/* The default library name, on a machine without a driver (skipped where
 * one is installed: that machine is tested by test_cuda_device). */
static void no_driver_default_name(void **state)
{
    (void)state;
    unsetenv("KILN_CUDA_DRIVER");
    void *real = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (real) {
        dlclose(real);
        skip();
    }
    kiln_graph *g = tiny_graph();
    assert_null(compile_cuda(g));
    assert_non_null(strstr(kiln_graph_error(g), "no CUDA driver found (libcuda.so.1: "));
    kiln_graph_free(g);
}

static void no_device(void **state)
{
    (void)state;
    const char *modes[] = {"nodevice", "initfail"};
    const char *why[] = {"0 devices", "CUDA_ERROR_NO_DEVICE"};
    for (int m = 0; m < 2; m++) {
        use_fake(modes[m]);
        kiln_graph *g = tiny_graph();
        assert_null(compile_cuda(g));
        assert_int_equal(kiln_graph_status(g), KILN_ERR_UNSUPPORTED);
        assert_non_null(strstr(kiln_graph_error(g), "no CUDA device"));
        assert_non_null(strstr(kiln_graph_error(g), why[m]));
        kiln_graph_free(g);
    }
    assert_int_equal(fake()->ctx_refs, 0);
}

static void bad_arch(void **state)
{
    (void)state;
    use_fake("host");
    kiln_graph *g = tiny_graph();
    kiln_compile_options o = {.backend = KILN_BACKEND_CUDA, .cuda_arch = "volta"};
    assert_null(kiln_compile(g, &o));
    assert_non_null(strstr(kiln_graph_error(g), "cuda arch 'volta'"));
    kiln_graph_clear_error(g);
    o.cuda_arch = "sm_10"; /* well formed, but NVRTC has no such target */
    assert_null(kiln_compile(g, &o));
    assert_non_null(strstr(kiln_graph_error(g), "NVRTC (sm_10): "));
    kiln_graph_free(g);
    assert_int_equal(fake()->ctx_refs, 0);
    assert_int_equal(fake()->live_allocs, 0);
}

/* Params a, b swap through assigns; c takes the input; outputs read the
 * input and a param directly.  No kernel computes anything, so the fake
 * device runs it all: the values must be the reference backend's. */
static kiln_graph *copy_graph(void)
{
    kiln_graph *g = kiln_graph_new();
    int64_t n = 5;
    kiln_node x = kiln_input(g, "x", KILN_F32, 1, &n);
    kiln_node a = kiln_param(g, "a", KILN_F32, 1, &n, kiln_init_uniform(-1, 1, 7));
    kiln_node b = kiln_param(g, "b", KILN_F32, 1, &n, kiln_init_constant(2.5));
    kiln_node c = kiln_param(g, "c", KILN_F32, 1, &n, kiln_init_zeros());
    kiln_assign(g, a, b);
    kiln_assign(g, b, a);
    kiln_assign(g, c, x);
    kiln_output(g, "xo", x);
    kiln_output(g, "ao", a);
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    return g;
}

static void expect_same(kiln_program *p, kiln_program *ref, char kind, const char *name)
{
    float got[5], want[5];
    kiln_status (*get)(kiln_program *, const char *, void *, size_t) =
        kind == 'o' ? kiln_get_output : kiln_get_param;
    assert_int_equal(get(p, name, got, sizeof got), KILN_OK);
    assert_int_equal(get(ref, name, want, sizeof want), KILN_OK);
    assert_memory_equal(got, want, sizeof got);
}

static void run_both(kiln_program *p, kiln_program *ref, const float *x)
{
    assert_int_equal(kiln_set_input(p, "x", x, 5 * sizeof *x), KILN_OK);
    assert_int_equal(kiln_set_input(ref, "x", x, 5 * sizeof *x), KILN_OK);
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_int_equal(kiln_run(ref), KILN_OK);
    const char *params[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        expect_same(p, ref, 'p', params[i]);
    expect_same(p, ref, 'o', "xo");
    expect_same(p, ref, 'o', "ao");
}

static void copies_match_reference(void **state)
{
    (void)state;
    use_fake("host");
    kiln_graph *g = copy_graph();
    kiln_program *p = compile_cuda(g);
    assert_non_null(p);
    kiln_program *ref = kiln_compile(g, NULL);
    assert_non_null(ref);
    kiln_compile_stats s;
    kiln_program_stats(p, &s);
    /* the fake runs no kernel: this test needs lowering to leave only
     * copies, which it does for assigns of params and inputs */
    assert_int_equal(s.kernels, 0);
    float x[5] = {1, 2, 3, 4, 5};
    run_both(p, ref, x);
    x[2] = -7;
    run_both(p, ref, x); /* a and b swap back */
    float v[5] = {9, 8, 7, 6, 5};
    assert_int_equal(kiln_set_param(p, "b", v, sizeof v), KILN_OK);
    assert_int_equal(kiln_set_param(ref, "b", v, sizeof v), KILN_OK);
    run_both(p, ref, x); /* the device saw the new b */
    assert_int_equal(kiln_set_param(p, "a", v, sizeof v), KILN_OK);
    assert_int_equal(kiln_set_param(ref, "a", v, sizeof v), KILN_OK);
    float got[5];
    assert_int_equal(kiln_get_param(p, "a", got, sizeof got), KILN_OK);
    assert_memory_equal(got, v, sizeof v);
    run_both(p, ref, x);
    assert_int_equal(fake()->launches, 0);
    kiln_program_free(p);
    kiln_program_free(ref);
    kiln_graph_free(g);
    assert_int_equal(fake()->live_allocs, 0);
    assert_int_equal(fake()->ctx_refs, 0);
    assert_int_equal(fake()->streams, 0);
}

/* Params stay on the device: a run moves the input up and the outputs
 * down, nothing more, until kiln_get_param asks for an assigned param
 * (downloaded once) or kiln_set_param changes one (uploaded once). */
static void params_stay_on_device(void **state)
{
    (void)state;
    use_fake("host");
    kiln_graph *g = copy_graph();
    kiln_program *p = compile_cuda(g), *ref = kiln_compile(g, NULL);
    assert_non_null(p);
    assert_non_null(ref);
    const size_t v = 5 * sizeof(float); /* every value in copy_graph */
    float x[5] = {1, 2, 3, 4, 5};
    assert_int_equal(kiln_set_input(p, "x", x, sizeof x), KILN_OK);
    assert_int_equal(kiln_set_input(ref, "x", x, sizeof x), KILN_OK);
    assert_int_equal(kiln_run(p), KILN_OK); /* the first run uploads a, b, c */
    assert_int_equal(kiln_run(ref), KILN_OK);
    size_t up = fake()->htod_bytes, down = fake()->dtoh_bytes;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(kiln_run(p), KILN_OK);
        assert_int_equal(kiln_run(ref), KILN_OK);
    }
    assert_int_equal(fake()->htod_bytes - up, 3 * v);       /* x */
    assert_int_equal(fake()->dtoh_bytes - down, 3 * 2 * v); /* xo, ao */
    down = fake()->dtoh_bytes;
    expect_same(p, ref, 'p', "a"); /* fetched now */
    assert_int_equal(fake()->dtoh_bytes - down, v);
    expect_same(p, ref, 'p', "a"); /* and current since */
    assert_int_equal(fake()->dtoh_bytes - down, v);
    float w[5] = {9, 8, 7, 6, 5};
    assert_int_equal(kiln_set_param(p, "b", w, sizeof w), KILN_OK);
    assert_int_equal(kiln_set_param(ref, "b", w, sizeof w), KILN_OK);
    up = fake()->htod_bytes;
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_int_equal(kiln_run(ref), KILN_OK);
    assert_int_equal(fake()->htod_bytes - up, 2 * v); /* x and the new b */
    const char *params[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        expect_same(p, ref, 'p', params[i]);
    kiln_program_free(p);
    kiln_program_free(ref);
    kiln_graph_free(g);
    assert_int_equal(fake()->live_allocs, 0);
}

static void out_of_device_memory(void **state)
{
    (void)state;
    use_fake("oom");
    kiln_graph *g = copy_graph();
    assert_null(compile_cuda(g));
    assert_non_null(strstr(kiln_graph_error(g), "cuMemAlloc"));
    assert_non_null(strstr(kiln_graph_error(g), "CUDA_ERROR_OUT_OF_MEMORY"));
    assert_non_null(strstr(kiln_graph_error(g), "out of memory"));
    kiln_graph_free(g);
    assert_int_equal(fake()->ctx_refs, 0);
    assert_int_equal(fake()->streams, 0);
}

/* A graph with kernels: compiled by NVRTC for the fake's sm_90, launched
 * once per kernel per run (the fake does not execute them). */
static void launches_every_kernel(void **state)
{
    (void)state;
    use_fake("host");
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){4, 33});
    kiln_output(g, "y", kiln_softmax(g, kiln_tanh(g, x), 1));
    kiln_program *p = compile_cuda(g);
    if (!p)
        fail_msg("%s", kiln_graph_error(g));
    kiln_compile_stats s;
    kiln_program_stats(p, &s);
    assert_true(s.kernels > 0);
    assert_true(memcmp(fake()->last_image, "\177ELF", 4) == 0); /* a CUBIN */
    float in[4 * 33] = {0};
    kiln_set_input(p, "x", in, sizeof in);
    int before = fake()->launches;
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_int_equal(fake()->launches - before, 2 * s.kernels);
    kiln_program_free(p);
    kiln_graph_free(g);
    assert_int_equal(fake()->live_allocs, 0);
    assert_int_equal(fake()->modules, 0);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".kcu") != NULL && !strstr(e->d_name, ".tmp");
    if (d)
        closedir(d);
    return n;
}

/* The disk cache: an entry appears, a second compile loads the cached
 * bytes (proved by planting a marker image), a corrupt entry is a miss. */
static void image_cache(void **state)
{
    (void)state;
    use_fake("host");
    char dir[] = "/tmp/kiln-cuda-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    kiln_graph *g = tiny_graph();
    kiln_compile_options o = {.backend = KILN_BACKEND_CUDA, .cache_dir = dir};
    kiln_program *p = kiln_compile(g, &o);
    if (!p)
        fail_msg("%s", kiln_graph_error(g));
    kiln_program_free(p);
    assert_int_equal(count_entries(dir), 1);
    /* overwrite the image part of the entry with a marker */
    DIR *d = opendir(dir);
    char path[512] = "";
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".kcu"))
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    closedir(d);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    uint64_t lens[2];
    assert_int_equal(fseek(f, 8, SEEK_SET), 0);
    assert_int_equal(fread(lens, sizeof lens[0], 2, f), 2);
    assert_int_equal(fseek(f, (long)(24 + lens[0]), SEEK_SET), 0);
    assert_int_equal(fwrite("MARKER-IMAGE-001", 1, 16, f), 16);
    fclose(f);
    p = kiln_compile(g, &o);
    assert_non_null(p);
    assert_memory_equal(fake()->last_image, "MARKER-IMAGE-001", 16);
    kiln_program_free(p);
    /* a corrupt header is a miss: NVRTC again, and the entry rewritten */
    f = fopen(path, "r+b");
    fwrite("XXXX", 1, 4, f);
    fclose(f);
    setenv("KILN_CUDA_CACHE_DIR", dir, 1); /* the environment names it too */
    p = compile_cuda(g);
    assert_non_null(p);
    assert_true(memcmp(fake()->last_image, "\177ELF", 4) == 0);
    kiln_program_free(p);
    assert_int_equal(count_entries(dir), 1);
    remove(path);
    rmdir(dir);
    kiln_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_driver),
        cmocka_unit_test(no_driver_default_name),
        cmocka_unit_test(no_device),
        cmocka_unit_test(bad_arch),
        cmocka_unit_test(copies_match_reference),
        cmocka_unit_test(params_stay_on_device),
        cmocka_unit_test(out_of_device_memory),
        cmocka_unit_test(launches_every_kernel),
        cmocka_unit_test(image_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
