/*
 * What well-formed text means: names and labels, comments and spacing,
 * free attribute order, negative axes, literal conversion, and values
 * checked by running the parsed graph against hand-computed results.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_util.h"

static kiln_graph *parse_ok(const char *text)
{
    char err[800];
    kiln_graph *g = kiln_parse(text, strlen(text), "ok.kiln", NULL, err,
                               sizeof err);
    if (!g)
        fail_msg("%s", err);
    return g;
}

static void assert_canonical(const char *text, const char *want)
{
    kiln_graph *g = parse_ok(text);
    char *got = kiln_print(g);
    assert_non_null(got);
    assert_string_equal(got, want);
    kiln_text_free(g, got);
    kiln_graph_free(g);
}

static void test_names_and_labels(void **state)
{
    (void)state;
    kiln_graph *g = parse_ok("%x = input f32[2]\n"
                             "%17 = neg %x : f32[2]\n"
                             "%3 = abs %17 : f32[2]\n"
                             "%Out_1.b = exp %3 : f32[2]\n");
    assert_int_equal(kiln_graph_node_count(g), 4);
    kiln_node x = kiln_find(g, "x"), o = kiln_find(g, "Out_1.b");
    assert_true(kiln_node_valid(x) && kiln_node_valid(o));
    assert_string_equal(kiln_node_op(g, o), "exp");
    /* Labels are not names. */
    assert_false(kiln_node_valid(kiln_find(g, "17")));
    assert_false(kiln_node_valid(kiln_find(g, "%17")));
    char *text = kiln_print(g);
    assert_string_equal(text, "%x = input f32[2]\n"
                              "%0 = neg %x : f32[2]\n"
                              "%1 = abs %0 : f32[2]\n"
                              "%Out_1.b = exp %1 : f32[2]\n");
    kiln_text_free(g, text);
    kiln_graph_free(g);
}

static void test_layout_of_text(void **state)
{
    (void)state;
    assert_canonical("", "");
    assert_canonical("# only a comment", "");
    assert_canonical("\n\n   \t\n# c\n", "");
    assert_canonical("# caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5 are fine here\r\n"
                     "\t%x  =  input\tf32[ 2 , 3 ]   # trailing comment\r\n"
                     "%y=neg %x:f32[2,3]#no spaces\n"
                     "output   y=%y",
                     "%x = input f32[2,3]\n%y = neg %x : f32[2,3]\n"
                     "output y = %y\n");
}

static void test_attribute_forms(void **state)
{
    (void)state;
    assert_canonical(
        "%x = input f64[2,3]\n"
        "%a = sum %x {keepdims=true, axes=[-1]} : f64[2,1]\n"
        "%b = softmax %x {axis=-2} : f64[2,3]\n"
        "%c = concat %x, %x {axis=-1} : f64[2,6]\n"
        "%d = pad %x {value=nan, hi=[0,1], lo=[+1,0]} : f64[3,4]\n"
        "%e = max %x {axes=[1,0], keepdims=false} : f64[]\n"
        "%f = transpose %x { perm = [ 1 , 0 ] } : f64[3,2]\n",
        "%x = input f64[2,3]\n"
        "%a = sum %x {axes=[1], keepdims=true} : f64[2,1]\n"
        "%b = softmax %x {axis=0} : f64[2,3]\n"
        "%c = concat %x, %x {axis=1} : f64[2,6]\n"
        "%d = pad %x {lo=[1,0], hi=[0,1], value=nan} : f64[3,4]\n"
        "%e = max %x {axes=[0,1], keepdims=false} : f64[]\n"
        "%f = transpose %x {perm=[1,0]} : f64[3,2]\n");
}

static void test_literal_forms(void **state)
{
    (void)state;
    assert_canonical(
        "%a = const f32[] 0.1\n"
        "%b = const f32[4] [1e0, .5, -2., +3.25E+1]\n"
        "%c = const f64[3] [-inf, +inf, 1e-400]\n"
        "%d = const i32[2] [-0, +12]\n"
        "%e = const f32[3] [7, 7, 7]\n"
        "%f = const bool[2,1] [false, true]\n"
        "%g = param f32[] constant(-1e-3)\n",
        "%a = const f32[] 0.1\n"
        "%b = const f32[4] [1, 0.5, -2, 32.5]\n"
        "%c = const f64[3] [-inf, inf, 0]\n"
        "%d = const i32[2] [0, 12]\n"
        "%e = const f32[3] 7\n"
        "%f = const bool[2,1] [false, true]\n"
        "%g = param f32[] constant(-0.001)\n");
}

/* Run a parsed graph and compare with values worked out by hand. */
static void test_values(void **state)
{
    (void)state;
    kiln_graph *g = parse_ok(
        "%x = input f32[3]\n"
        "%c = const f32[3] [1, 2.5, -3]\n"
        "%k = const i32[2,2] [1, -2, 3, 4]\n"
        "%y = mul %x, %c : f32[3]\n"
        "%s = sum %k {axes=[0], keepdims=false} : i32[2]\n"
        "%t = const f32[] 0.1\n"
        "output y = %y\noutput s = %s\noutput t = %t\n");
    kiln_program *p = kiln_compile(g, NULL);
    assert_non_null(p);
    float x[3] = {2, 4, 0.5f}, y[3], t;
    int32_t s[2];
    assert_int_equal(kiln_set_input(p, "x", x, sizeof x), KILN_OK);
    assert_int_equal(kiln_run(p), KILN_OK);
    assert_int_equal(kiln_get_output(p, "y", y, sizeof y), KILN_OK);
    assert_int_equal(kiln_get_output(p, "s", s, sizeof s), KILN_OK);
    assert_int_equal(kiln_get_output(p, "t", &t, sizeof t), KILN_OK);
    assert_true(y[0] == 2 && y[1] == 10 && y[2] == -1.5f);
    assert_true(s[0] == 4 && s[1] == 2);
    assert_true(t == 0.1f); /* rounded once, to the nearest f32 */
    kiln_program_free(p);
    kiln_graph_free(g);
}

static void test_limits_accepted(void **state)
{
    (void)state;
    /* The largest const and the widest concat the format allows. */
    kiln_graph *g = parse_ok("%c = const bool[4096,4096] false\n");
    kiln_graph_free(g);
    size_t cap = 8 * 1024 + 200, used = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    used += (size_t)snprintf(text, cap, "%%x = input f32[1]\n%%c = concat %%x");
    for (int i = 1; i < 1024; i++)
        used += (size_t)snprintf(text + used, cap - used, ", %%x");
    snprintf(text + used, cap - used, " {axis=0} : f32[1024]\n");
    g = parse_ok(text);
    kiln_graph_free(g);
    free(text);
    /* 2^40 elements is a legal input type (it is never allocated here). */
    g = parse_ok("%x = input f32[1048576,1048576]\n");
    kiln_graph_free(g);
}

/* Fail the Nth allocation of a parse for every N: a clean "out of
 * memory" (or success), and nothing leaked. */
static void test_parse_out_of_memory(void **state)
{
    (void)state;
    char *path = tu_source_path("examples/graphs/mlp.kiln");
    size_t len;
    char *text = tu_read_file(path, &len);
    for (long n = 1;; n++) {
        tu_faulty f = {0, n, 0};
        kiln_allocator a = tu_faulty_allocator(&f);
        char err[800];
        kiln_graph *g = kiln_parse(text, len, "mlp", &a, err, sizeof err);
        if (g) {
            kiln_graph_free(g);
            assert_int_equal(f.live, 0);
            assert_true(n > 10);
            break;
        }
        if (!strstr(err, "out of memory"))
            fail_msg("allocation %ld failed: %s", n, err);
        assert_int_equal(f.live, 0);
    }
    free(text);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_labels),
        cmocka_unit_test(test_layout_of_text),
        cmocka_unit_test(test_attribute_forms),
        cmocka_unit_test(test_literal_forms),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_limits_accepted),
        cmocka_unit_test(test_parse_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
