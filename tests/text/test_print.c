/*
 * The printer's exact output for small C-API graphs, written out by hand:
 * naming (%name, %N in print order), number spelling (shortest text that
 * reads back to the same bits), fill vs list consts, every attribute and
 * initialiser; and its failure modes (NULL graph, out of memory).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text_util.h"

#define D(...) ((int64_t[]){__VA_ARGS__})

static void assert_prints(kiln_graph *g, const char *want)
{
    if (kiln_graph_status(g) != KILN_OK)
        fail_msg("building: %s", kiln_graph_error(g));
    char *text = kiln_print(g);
    assert_non_null(text);
    assert_string_equal(text, want);
    kiln_graph_free(tu_roundtrip(text, strlen(text), "printed", NULL));
    kiln_text_free(g, text);
}

static void test_names(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, D(2, 3));
    kiln_node c = kiln_scalar(g, KILN_F32, 0.1);
    kiln_node a = kiln_add(g, x, c);
    kiln_node s = kiln_name(g, kiln_sum(g, a, 1, (int[]){1}, 0), "layer1.s");
    kiln_node t = kiln_transpose(g, x, (int[]){1, 0});
    kiln_output(g, "out", s);
    kiln_output(g, "t", t);
    kiln_output(g, "x_again", x);
    assert_prints(g, "%x = input f32[2,3]\n"
                     "%0 = const f32[] 0.1\n"
                     "%1 = add %x, %0 : f32[2,3]\n"
                     "%layer1.s = sum %1 {axes=[1], keepdims=false} : f32[2]\n"
                     "%2 = transpose %x {perm=[1,0]} : f32[3,2]\n"
                     "output out = %layer1.s\n"
                     "output t = %2\n"
                     "output x_again = %x\n");
    kiln_graph_free(g);
}

static void test_empty_and_null(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    assert_prints(g, "");
    kiln_graph_free(g);
    assert_null(kiln_print(NULL));
    kiln_text_free(NULL, NULL);
}

static void test_float_spelling(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_constant(g, KILN_F32, 1, D(10), (float[]){
        0.1f, 1.0f / 3, FLT_TRUE_MIN, FLT_MAX, -0.0f, NAN, INFINITY,
        -INFINITY, 16777216.0f, 1e10f});
    kiln_constant(g, KILN_F64, 1, D(7), (double[]){
        0.1, 1.0 / 3, DBL_MAX, DBL_TRUE_MIN, -NAN, 1e22, -2.5});
    assert_prints(g,
        "%0 = const f32[10] [0.1, 0.33333334, 1e-45, 3.4028235e+38, -0, "
        "nan, inf, -inf, 16777216, 1e+10]\n"
        "%1 = const f64[7] [0.1, 0.3333333333333333, "
        "1.7976931348623157e+308, 5e-324, nan, 1e+22, -2.5]\n");
    kiln_graph_free(g);
}

static void test_int_bool_and_fill(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_constant(g, KILN_I32, 1, D(4), (int32_t[]){INT32_MIN, INT32_MAX, 0, -7});
    kiln_constant(g, KILN_BOOL, 1, D(3), (uint8_t[]){1, 0, 1});
    kiln_fill(g, KILN_F32, 2, D(2, 2), 0.5);
    kiln_fill(g, KILN_BOOL, 1, D(3), 1);
    kiln_fill(g, KILN_I32, 0, NULL, -3);
    /* Equal by value but not by bits: a list, so the sign survives. */
    kiln_constant(g, KILN_F64, 1, D(2), (double[]){0.0, -0.0});
    kiln_fill(g, KILN_F64, 1, D(3), NAN);
    assert_prints(g,
        "%0 = const i32[4] [-2147483648, 2147483647, 0, -7]\n"
        "%1 = const bool[3] [true, false, true]\n"
        "%2 = const f32[2,2] 0.5\n"
        "%3 = const bool[3] true\n"
        "%4 = const i32[] -3\n"
        "%5 = const f64[2] [0, -0]\n"
        "%6 = const f64[3] nan\n");
    kiln_graph_free(g);
}

static void test_params(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_param(g, "a", KILN_F32, 2, D(4, 3), kiln_init_glorot(1));
    kiln_param(g, "b", KILN_F32, 1, D(3), kiln_init_he(4294967295u));
    kiln_param(g, "c", KILN_F64, 0, NULL, kiln_init_uniform(-0.5, 0.1, 7));
    kiln_param(g, "d", KILN_F32, 1, D(2), kiln_init_normal(0, 0.02, 3));
    kiln_param(g, "e", KILN_I32, 0, NULL, kiln_init_constant(-12));
    kiln_param(g, "f", KILN_BOOL, 1, D(5), kiln_init_zeros());
    assert_prints(g, "%a = param f32[4,3] glorot(seed=1)\n"
                     "%b = param f32[3] he(seed=4294967295)\n"
                     "%c = param f64[] uniform(-0.5, 0.1, seed=7)\n"
                     "%d = param f32[2] normal(0, 0.02, seed=3)\n"
                     "%e = param i32[] constant(-12)\n"
                     "%f = param bool[5] zeros\n");
    kiln_graph_free(g);
}

static void test_attributes(void **state)
{
    (void)state;
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 3, D(2, 3, 4));
    kiln_node s = kiln_input(g, "s", KILN_I32, 0, NULL);
    kiln_node xs[2] = {x, x};
    kiln_transpose(g, x, (int[]){2, 0, 1});
    kiln_slice(g, x, D(0, 1, 0), D(2, 3, 4), D(1, 1, 3));
    kiln_concat(g, 2, xs, -1);
    kiln_pad(g, x, D(0, 1, 2), D(3, 0, 0), -0.25);
    kiln_mean(g, x, 0, NULL, 1);
    kiln_sum(g, x, 0, (int[]){0}, 0); /* no axes: the identity */
    kiln_argmax(g, x, -1, 1);
    kiln_log_softmax(g, x, -2);
    kiln_bernoulli(g, 0.1, 1, D(7), s, s);
    kiln_random_uniform(g, KILN_F64, 2, D(2, 2), s, s);
    kiln_one_hot(g, s, 5, KILN_F32);
    kiln_reshape(g, x, 2, D(-1, 4));
    kiln_broadcast_to(g, x, 4, D(5, 2, 3, 4));
    kiln_cast(g, x, KILN_BOOL);
    assert_prints(g,
        "%x = input f32[2,3,4]\n"
        "%s = input i32[]\n"
        "%0 = transpose %x {perm=[2,0,1]} : f32[4,2,3]\n"
        "%1 = slice %x {start=[0,1,0], stop=[2,3,4], step=[1,1,3]} : "
        "f32[2,2,2]\n"
        "%2 = concat %x, %x {axis=2} : f32[2,3,8]\n"
        "%3 = pad %x {lo=[0,1,2], hi=[3,0,0], value=-0.25} : f32[5,4,6]\n"
        "%4 = mean %x {axes=[0,1,2], keepdims=true} : f32[1,1,1]\n"
        "%5 = sum %x {axes=[], keepdims=false} : f32[2,3,4]\n"
        "%6 = argmax %x {axes=[2], keepdims=true} : i32[2,3,1]\n"
        "%7 = log_softmax %x {axis=1} : f32[2,3,4]\n"
        "%8 = bernoulli %s, %s {p=0.1} : bool[7]\n"
        "%9 = random_uniform %s, %s : f64[2,2]\n"
        "%10 = one_hot %s : f32[5]\n"
        "%11 = reshape %x : f32[6,4]\n"
        "%12 = broadcast_to %x : f32[5,2,3,4]\n"
        "%13 = cast %x : bool[2,3,4]\n");
    kiln_graph_free(g);
}

/* Fail the Nth allocation for every N until printing succeeds. */
static void test_print_out_of_memory(void **state)
{
    (void)state;
    for (long n = 1;; n++) {
        tu_faulty f = {0, 0, 0};
        kiln_allocator a = tu_faulty_allocator(&f);
        kiln_graph *g = kiln_graph_new_with_allocator(&a);
        assert_non_null(g);
        kiln_node x = kiln_input(g, "x", KILN_F32, 1, D(300));
        for (int i = 0; i < 40; i++)
            x = kiln_neg(g, x);
        kiln_output(g, "y", x);
        assert_int_equal(kiln_graph_status(g), KILN_OK);
        f.fail_at = f.calls + n;
        char *text = kiln_print(g);
        if (text) {
            assert_non_null(strstr(text, "output y = %39\n"));
            kiln_text_free(g, text);
            kiln_graph_free(g);
            assert_int_equal(f.live, 0);
            assert_true(n > 2); /* the sweep reached the buffer growth */
            return;
        }
        assert_int_equal(kiln_graph_status(g), KILN_ERR_OUT_OF_MEMORY);
        assert_string_equal(kiln_graph_error(g), "print: out of memory");
        kiln_graph_free(g);
        assert_int_equal(f.live, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_float_spelling),
        cmocka_unit_test(test_int_bool_and_fill),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_attributes),
        cmocka_unit_test(test_print_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
