/*
 * test_cpu_errors.c — error paths of ahead-of-time compilation and the
 * compile statistics of CPU programs.
 *
 *  - kiln_compile_aot with names that are not C identifiers, a NULL graph
 *    or options: KILN_ERR_INVALID_ARGUMENT, recorded in the graph, naming
 *    the bad name, and no file written;
 *  - an unwritable path (missing directory; a header path that is a
 *    directory): KILN_ERR_IO, with a message naming the file;
 *  - a graph that already has an error: its status comes back and its
 *    first message is kept;
 *  - on x86-64, a target CPU LLVM does not know or cannot make 64-bit code
 *    for ("foo", "i686", "", a name with a trailing space, a name longer
 *    than any CPU's): KILN_ERR_INVALID_ARGUMENT naming the CPU and the
 *    valid forms, no file written (LLVM itself would abort the process);
 *    "native" and a few named CPUs compile;
 *  - kiln_program_stats after a CPU compile (fused and unfused) and a
 *    reference compile: stages timed, kernels counted, arena sized.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu_help.h"

#ifndef CPU_AOT_DIR
#error "CPU_AOT_DIR (the build directory) must be defined"
#endif

static kiln_graph *small_graph(void)
{
    kiln_graph *g = kiln_graph_new();
    assert_non_null(g);
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){64, 33});
    kiln_output(g, "y", kiln_add(g, kiln_exp(g, x), kiln_scalar(g, KILN_F32, 1)));
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    return g;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_aot_bad_names(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "1abc", "a-b", "has space", "a.b", "na\xc3\xafve",
                                      "x1234567890123456789012345678901234567890123456789"
                                      "0123456789012345678901234567890123456789012345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kiln_graph *g = small_graph();
        char path[600];
        snprintf(path, sizeof path, "%s/bad_name_%zu", CPU_AOT_DIR, i);
        kiln_aot_options o = {.name = bad[i], .path = path};
        assert_int_equal(kiln_compile_aot(g, &o), KILN_ERR_INVALID_ARGUMENT);
        assert_int_equal(kiln_graph_status(g), KILN_ERR_INVALID_ARGUMENT);
        if (!strstr(kiln_graph_error(g), "name"))
            fail_msg("name '%s': message does not say what is wrong: %s", bad[i],
                     kiln_graph_error(g));
        char file[700];
        snprintf(file, sizeof file, "%s.o", path);
        assert_false(exists(file));
        kiln_graph_free(g);
    }
    kiln_graph *g = small_graph();
    assert_int_equal(kiln_compile_aot(g, &(kiln_aot_options){.name = NULL}),
                     KILN_ERR_INVALID_ARGUMENT);
    kiln_graph_free(g);
    g = small_graph();
    assert_int_equal(kiln_compile_aot(g, NULL), KILN_ERR_INVALID_ARGUMENT);
    kiln_graph_free(g);
    assert_int_equal(kiln_compile_aot(NULL, &(kiln_aot_options){.name = "ok"}),
                     KILN_ERR_INVALID_ARGUMENT);
}

static void expect_io_error(const char *path, const char *file)
{
    kiln_graph *g = small_graph();
    kiln_aot_options o = {.name = "unwritable", .path = path};
    assert_int_equal(kiln_compile_aot(g, &o), KILN_ERR_IO);
    assert_int_equal(kiln_graph_status(g), KILN_ERR_IO);
    const char *msg = kiln_graph_error(g);
    if (!strstr(msg, file) || !strstr(msg, "write"))
        fail_msg("unwritable %s: message should name the file and say it cannot be "
                 "written: %s", file, msg);
    kiln_graph_free(g);
}

static void test_aot_unwritable_path(void **state)
{
    (void)state;
    char path[600], file[700];
    snprintf(path, sizeof path, "%s/no_such_directory/model", CPU_AOT_DIR);
    snprintf(file, sizeof file, "%s.o", path);
    expect_io_error(path, file);
    /* the object can be written but the header path is a directory */
    snprintf(path, sizeof path, "%s/header_is_a_dir", CPU_AOT_DIR);
    snprintf(file, sizeof file, "%s.h", path);
    if (!exists(file))
        assert_int_equal(mkdir(file, 0755), 0);
    expect_io_error(path, file);
}

static void test_aot_graph_with_error(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    assert_non_null(g);
    kiln_node a = kiln_input(g, "a", KILN_F32, 2, (int64_t[]){3, 4});
    kiln_node b = kiln_input(g, "b", KILN_F32, 2, (int64_t[]){5, 6});
    kiln_output(g, "y", kiln_matmul(g, a, b));
    assert_int_equal(kiln_graph_status(g), KILN_ERR_SHAPE);
    char first[512];
    snprintf(first, sizeof first, "%s", kiln_graph_error(g));
    char path[600], file[700];
    snprintf(path, sizeof path, "%s/graph_with_error", CPU_AOT_DIR);
    snprintf(file, sizeof file, "%s.o", path);
    unlink(file);
    assert_int_equal(kiln_compile_aot(g, &(kiln_aot_options){.name = "m", .path = path}),
                     KILN_ERR_SHAPE);
    assert_string_equal(kiln_graph_error(g), first);
    assert_false(exists(file));
    kiln_graph_free(g);
}

static void test_aot_bad_cpu(void **state)
{
    (void)state;
#if defined(__x86_64__)
    static const char *const bad[] = {
        "foo", "i686", "pentium4", "", "x86-64-v3 ", "Haswell",
        "x86-64-v3x86-64-v3x86-64-v3x86-64-v3x86-64-v3x86-64-v3x86-64-v3x86-64-v3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kiln_graph *g = small_graph();
        char path[600], file[700];
        snprintf(path, sizeof path, "%s/bad_cpu_%zu", CPU_AOT_DIR, i);
        snprintf(file, sizeof file, "%s.o", path);
        unlink(file);
        kiln_aot_options o = {.name = "m", .path = path, .cpu = bad[i]};
        assert_int_equal(kiln_compile_aot(g, &o), KILN_ERR_INVALID_ARGUMENT);
        assert_int_equal(kiln_graph_status(g), KILN_ERR_INVALID_ARGUMENT);
        const char *msg = kiln_graph_error(g);
        char quoted[80];
        snprintf(quoted, sizeof quoted, "'%.40s'", bad[i]);
        if (!strstr(msg, quoted) || !strstr(msg, "native") || !strstr(msg, "x86-64-v3"))
            fail_msg("cpu '%s': message should name it and the valid forms: %s", bad[i], msg);
        assert_false(exists(file));
        kiln_graph_free(g);
    }
    static const char *const good[] = {"native", "x86-64", "x86-64-v2", "haswell"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        kiln_graph *g = small_graph();
        char path[600], file[700];
        snprintf(path, sizeof path, "%s/good_cpu_%zu", CPU_AOT_DIR, i);
        snprintf(file, sizeof file, "%s.o", path);
        unlink(file);
        kiln_aot_options o = {.name = "m", .path = path, .cpu = good[i]};
        if (kiln_compile_aot(g, &o) != KILN_OK)
            fail_msg("cpu '%s': %s", good[i], kiln_graph_error(g));
        assert_true(exists(file));
        kiln_graph_free(g);
    }
#else
    skip(); /* only x86-64 CPU names are checked */
#endif
}

static void check_cpu_stats(const kiln_compile_stats *s, const char *what)
{
    if (!(s->total_ms > 0 && s->lower_ms >= 0 && s->codegen_ms > 0 &&
          s->optimize_ms > 0 && s->jit_ms > 0))
        fail_msg("%s: stages not timed: total %g lower %g codegen %g optimize %g jit %g",
                 what, s->total_ms, s->lower_ms, s->codegen_ms, s->optimize_ms, s->jit_ms);
    double parts = s->lower_ms + s->codegen_ms + s->optimize_ms + s->jit_ms;
    if (parts > s->total_ms * 1.001 + 0.01)
        fail_msg("%s: stages (%g ms) exceed the total (%g ms)", what, parts, s->total_ms);
    printf("%s: total %.1f ms (lower %.2f, codegen %.2f, optimize %.1f, jit %.1f), "
           "%d kernels, arena %lld bytes\n", what, s->total_ms, s->lower_ms,
           s->codegen_ms, s->optimize_ms, s->jit_ms, s->kernels, (long long)s->arena_bytes);
}

static void test_program_stats(void **state)
{
    (void)state;
    kiln_graph *g = small_graph();
    kiln_compile_stats s;
    /* unfused: exp and add are one kernel each; exp's value is an arena temp */
    kiln_program *p = kiln_compile(g, &(kiln_compile_options){.backend = KILN_BACKEND_CPU,
                                                              .threads = 1, .no_fuse = 1});
    assert_non_null(p);
    assert_int_equal(kiln_program_stats(p, &s), KILN_OK);
    check_cpu_stats(&s, "cpu unfused");
    assert_int_equal(s.kernels, 2);
    assert_true(s.arena_bytes >= 64 * 33 * 4);
    assert_int_equal(s.arena_bytes % 64, 0);
    int unfused = s.kernels;
    assert_int_equal(kiln_program_stats(p, NULL), KILN_ERR_INVALID_ARGUMENT);
    kiln_program_free(p);

    p = kiln_compile(g, &(kiln_compile_options){.backend = KILN_BACKEND_CPU, .threads = 1});
    assert_non_null(p);
    assert_int_equal(kiln_program_stats(p, &s), KILN_OK);
    check_cpu_stats(&s, "cpu default");
    assert_true(s.kernels >= 1 && s.kernels <= unfused);
    assert_true(s.arena_bytes >= 0);
    kiln_program_free(p);

    p = kiln_compile(g, NULL);
    assert_non_null(p);
    assert_int_equal(kiln_program_stats(p, &s), KILN_OK);
    assert_int_equal(s.kernels, 0);
    assert_true(s.codegen_ms == 0 && s.optimize_ms == 0 && s.jit_ms == 0);
    assert_true(s.total_ms >= 0);
    kiln_program_free(p);
    assert_int_equal(kiln_program_stats(NULL, &s), KILN_ERR_INVALID_ARGUMENT);
    kiln_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aot_bad_names),
        cmocka_unit_test(test_aot_unwritable_path),
        cmocka_unit_test(test_aot_graph_with_error),
        cmocka_unit_test(test_aot_bad_cpu),
        cmocka_unit_test(test_program_stats),
    };
    return cmocka_run_group_tests_name("cpu_errors", tests, NULL, NULL);
}
