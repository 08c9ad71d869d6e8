/*
 * Program API misuse: compiling a graph with an error or with a backend
 * that is not built, binding with wrong names, byte counts and NULL
 * pointers, running with an unset input, run-time errors, and every
 * destroy(NULL).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "expect.h"

/* y = sum(x * w) over a [2,3] input x and param w (constant 0.5);
 * ce = softmax_cross_entropy(x, labels). */
static kiln_graph *small_graph(void)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){2, 3});
    kiln_node labels = kiln_input(g, "labels", KILN_I32, 1, (int64_t[]){2});
    kiln_node w = kiln_param(g, "w", KILN_F32, 2, (int64_t[]){2, 3},
                             kiln_init_constant(0.5));
    kiln_output(g, "y", kiln_sum(g, kiln_mul(g, x, w), 0, NULL, 0));
    kiln_output(g, "ce", kiln_softmax_cross_entropy(g, x, labels));
    return g;
}

static void compile_refuses_graph_with_error(void **state)
{
    (void)state;
    kiln_graph *g = small_graph();
    kiln_node x = kiln_find(g, "x");
    assert_false(kiln_node_valid(kiln_add(g, x, kiln_find(g, "labels"))));
    char first[512];
    snprintf(first, sizeof first, "%s", kiln_graph_error(g));
    assert_null(kiln_compile(g, NULL));
    assert_int_equal(kiln_graph_status(g), KILN_ERR_DTYPE);
    assert_string_equal(kiln_graph_error(g), first);
    kiln_graph_clear_error(g);
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    kiln_program_free(p);
    kiln_graph_free(g);
}

/* KILN_TEST_HAVE_CPU comes from the build: whether LLVM was found and the
 * CPU backend compiled in.  CUDA is not built yet. */
static void compile_reports_missing_backends(void **state)
{
    (void)state;
    kiln_graph *g = small_graph();
    kiln_compile_options o = {.backend = KILN_BACKEND_CPU};
    kiln_program *p = kiln_compile(g, &o);
#ifdef KILN_TEST_HAVE_CPU
    assert_non_null(p);
    assert_int_equal(kiln_graph_status(g), KILN_OK);
    kiln_program_free(p);
#else
    assert_null(p);
    assert_int_equal(kiln_graph_status(g), KILN_ERR_UNSUPPORTED);
    EXPECT_MSG(kiln_graph_error(g),
               "compile: backend 'cpu' is not built into this kiln",
               "available: ref");
    kiln_graph_clear_error(g);
#endif
    o.backend = KILN_BACKEND_CUDA;
#ifdef KILN_TEST_HAVE_CUDA
    /* built in: with no driver to load, a clear message */
    setenv("KILN_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
    assert_null(kiln_compile(g, &o));
    assert_int_equal(kiln_graph_status(g), KILN_ERR_UNSUPPORTED);
    EXPECT_MSG(kiln_graph_error(g), "no CUDA driver found (/nonexistent/libcuda.so.1");
    unsetenv("KILN_CUDA_DRIVER");
#else
    assert_null(kiln_compile(g, &o));
    assert_int_equal(kiln_graph_status(g), KILN_ERR_UNSUPPORTED);
    EXPECT_MSG(kiln_graph_error(g),
               "compile: backend 'cuda' is not built into this kiln",
               "available: ref");
#endif
    kiln_graph_clear_error(g);
    o.backend = (kiln_backend)77;
    assert_null(kiln_compile(g, &o));
    assert_int_equal(kiln_graph_status(g), KILN_ERR_INVALID_ARGUMENT);
    EXPECT_MSG(kiln_graph_error(g), "compile: unknown backend 77");
    kiln_graph_clear_error(g);
    o = (kiln_compile_options){.threads = -2};
    assert_null(kiln_compile(g, &o));
    assert_int_equal(kiln_graph_status(g), KILN_ERR_INVALID_ARGUMENT);
    EXPECT_MSG(kiln_graph_error(g), "compile: threads is -2");
    kiln_graph_free(g);
}

static void binding_misuse(void **state)
{
    (void)state;
    kiln_graph *g = small_graph();
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    kiln_graph_free(g); /* the program does not need the graph */
    float x[6] = {1, 2, 3, 4, 5, 6}, y, w[6];
    int32_t labels[2] = {0, 2};

    assert_int_equal(kiln_set_input(p, "x", x, 5 * sizeof(float)),
                     KILN_ERR_SHAPE);
    EXPECT_MSG(kiln_program_error(p),
               "input 'x' is f32[2,3], 24 bytes; got 20 bytes");
    assert_int_equal(kiln_set_input(p, "q", x, sizeof x), KILN_ERR_NAME);
    EXPECT_MSG(kiln_program_error(p), "no input named 'q'");
    /* An output or param name is not an input name. */
    assert_int_equal(kiln_set_input(p, "y", &y, sizeof y), KILN_ERR_NAME);
    assert_int_equal(kiln_set_input(p, "w", w, sizeof w), KILN_ERR_NAME);
    assert_int_equal(kiln_set_input(p, "x", NULL, sizeof x),
                     KILN_ERR_INVALID_ARGUMENT);
    EXPECT_MSG(kiln_program_error(p), "input: name or data is NULL");
    assert_int_equal(kiln_set_input(p, NULL, x, sizeof x),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_get_output(p, "y", &y, sizeof y + 1),
                     KILN_ERR_SHAPE);
    EXPECT_MSG(kiln_program_error(p), "output 'y' is f32[], 4 bytes; got 5");
    assert_int_equal(kiln_get_output(p, "x", x, sizeof x), KILN_ERR_NAME);
    EXPECT_MSG(kiln_program_error(p), "no output named 'x'");
    assert_int_equal(kiln_get_output(p, "y", NULL, 4),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_get_param(p, "nope", w, sizeof w), KILN_ERR_NAME);
    EXPECT_MSG(kiln_program_error(p), "no param named 'nope'");
    assert_int_equal(kiln_set_param(p, "w", w, 3), KILN_ERR_SHAPE);
    assert_int_equal(kiln_set_param(p, "w", NULL, sizeof w),
                     KILN_ERR_INVALID_ARGUMENT);

    /* Only x set: labels is missing. */
    assert_int_equal(kiln_set_input(p, "x", x, sizeof x), KILN_OK);
    assert_int_equal(kiln_run(p), KILN_ERR_INVALID_ARGUMENT);
    EXPECT_MSG(kiln_program_error(p), "input 'labels' was never set");

    /* A label outside [0, 3) is a run-time error, not a crash. */
    labels[1] = 3;
    assert_int_equal(kiln_set_input(p, "labels", labels, sizeof labels),
                     KILN_OK);
    assert_int_equal(kiln_run(p), KILN_ERR_RUNTIME);
    EXPECT_MSG(kiln_program_error(p), "softmax_cross_entropy", "3");

    labels[1] = 2;
    assert_int_equal(kiln_set_input(p, "labels", labels, sizeof labels),
                     KILN_OK);
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_string_equal(kiln_program_error(p), "");
    assert_int_equal(kiln_get_output(p, "y", &y, sizeof y), KILN_OK);
    assert_float_equal(y, 0.5f * 21, 0); /* 0.5 * (1+...+6), exact */
    assert_int_equal(kiln_get_param(p, "w", w, sizeof w), KILN_OK);
    assert_float_equal(w[5], 0.5f, 0);
    kiln_program_free(p);
}

static void null_program_and_bindings(void **state)
{
    (void)state;
    float v = 0;
    kiln_binding b;
    assert_int_equal(kiln_set_input(NULL, "x", &v, 4),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_get_output(NULL, "x", &v, 4),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_get_param(NULL, "x", &v, 4),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_set_param(NULL, "x", &v, 4),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_run(NULL), KILN_ERR_INVALID_ARGUMENT);
    assert_non_null(kiln_program_error(NULL));
    assert_int_equal(kiln_program_binding_count(NULL), 0);
    assert_int_equal(kiln_program_binding(NULL, 0, &b),
                     KILN_ERR_INVALID_ARGUMENT);
    kiln_program_free(NULL);
    kiln_graph_free(NULL);

    kiln_graph *g = small_graph();
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    /* inputs x, labels; param w; outputs y, ce */
    assert_int_equal(kiln_program_binding_count(p), 5);
    assert_int_equal(kiln_program_binding(p, 5, &b), KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_program_binding(p, -1, &b),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_program_binding(p, 0, NULL),
                     KILN_ERR_INVALID_ARGUMENT);
    assert_int_equal(kiln_program_binding(p, 2, &b), KILN_OK);
    assert_int_equal(b.kind, 'p');
    assert_string_equal(b.name, "w");
    kiln_program_free(p);
    kiln_graph_free(g);
}

/* A graph without inputs still compiles and runs; its output is fixed. */
static void graph_without_inputs(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_output(g, "k", kiln_add(g, kiln_scalar(g, KILN_I32, 40),
                                 kiln_scalar(g, KILN_I32, 2)));
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    int32_t k = 0;
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_int_equal(kiln_get_output(p, "k", &k, sizeof k), KILN_OK);
    assert_int_equal(k, 42);
    kiln_program_free(p);
    kiln_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compile_refuses_graph_with_error),
        cmocka_unit_test(compile_reports_missing_backends),
        cmocka_unit_test(binding_misuse),
        cmocka_unit_test(null_program_and_bindings),
        cmocka_unit_test(graph_without_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
