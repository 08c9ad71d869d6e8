/*
 * Malformed text: each case must make kiln_parse return NULL with
 * "bad.kiln:LINE:COL: message", at the position and with the message
 * written here by hand.  Every case is its own cmocka test; under ASan
 * they double as leak checks for each failure path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln.h"

typedef struct bad_case {
    const char *name;
    const char *text;
    size_t len;        /* 0: strlen(text) */
    const char *where; /* "LINE:COL" */
    const char *msg;   /* substring of the message */
} bad_case;

#define X2 "%x = input f32[2]\n"
#define X23 "%x = input f32[2,3]\n"

static const bad_case cases[] = {
    /* ops, inputs and names */
    {"unknown_op", X2 "%y = frobnicate %x : f32[2]\n", 0, "2:6",
     "unknown op 'frobnicate'"},
    {"missing_op", "%x =\n", 0, "1:5", "unexpected end of line: expected an op"},
    {"missing_equals", "%x input f32[2]\n", 0, "1:4",
     "expected '=' after the value name, found 'input'"},
    {"not_a_statement", "x = input f32[2]\n", 0, "1:1",
     "expected '%name = ...' or 'output NAME = %value', found 'x'"},
    {"empty_name", "% = input f32[2]\n", 0, "1:1",
     "expected a name after '%'"},
    {"bad_name", "%1x = input f32[2]\n", 0, "1:1", "bad name '%1x'"},
    {"bad_name_dot", "%.x = input f32[2]\n", 0, "1:1", "bad name '%.x'"},
    {"long_name",
     "%a123456789012345678901234567890123456789012345678901234567890123"
     " = input f32[2]\n", 0, "1:1", "is longer than 63 bytes"},
    {"duplicate_name", X2 "%y = neg %x : f32[2]\n%x = input f32[3]\n", 0,
     "3:1", "duplicate name '%x' (first defined on line 1)"},
    {"duplicate_label", X2 "%0 = neg %x : f32[2]\n%0 = abs %x : f32[2]\n", 0,
     "3:1", "duplicate name '%0' (first defined on line 2)"},
    {"use_before_def", X2 "%y = add %x, %z : f32[2]\n%z = neg %x : f32[2]\n",
     0, "2:14", "use of undefined value '%z'"},
    {"self_use", "%y = neg %y : f32[2]\n", 0, "1:10",
     "use of undefined value '%y'"},
    {"unnamed_input", "%0 = input f32[2]\n", 0, "1:1",
     "input needs a user name such as %x, not %0"},
    {"unnamed_param", "%3 = param f32[2] zeros\n", 0, "1:1",
     "param needs a user name"},
    {"too_few_inputs", X2 "%y = add %x : f32[2]\n", 0, "2:6",
     "wrong number of inputs: add takes 2, got 1"},
    {"too_many_inputs", X2 "%y = neg %x, %x : f32[2]\n", 0, "2:6",
     "wrong number of inputs: neg takes 1, got 2"},
    {"concat_no_inputs", "%y = concat {axis=0} : f32[2]\n", 0, "1:6",
     "concat takes at least 1, got 0"},
    {"input_not_a_value", X2 "%y = add %x, 3 : f32[2]\n", 0, "2:14",
     "expected an input value (%name), found '3'"},
    /* types and shapes */
    {"unknown_dtype", "%x = input f16[2]\n", 0, "1:12",
     "unknown dtype 'f16' (want f32, f64, i32 or bool)"},
    {"missing_type", "%x = input\n", 0, "1:11",
     "unexpected end of line: expected a type such as f32[2,3]"},
    {"zero_dim", "%x = input f32[2,0]\n", 0, "1:18",
     "dimension 0 must be >= 1"},
    {"negative_dim", "%x = input f32[-3]\n", 0, "1:16",
     "dimension -3 must be >= 1"},
    {"huge_dim", "%x = input f32[2000000000000]\n", 0, "1:16",
     "dimension '2000000000000' is larger than 2^40"},
    {"int64_overflow_dim", "%x = input f32[99999999999999999999]\n", 0,
     "1:16", "is larger than 2^40"},
    {"bad_dim", "%x = input f32[2x]\n", 0, "1:16", "bad dimension '2x'"},
    {"numel_overflow", "%x = input f32[1048576,1048576,2]\n", 0, "1:32",
     "element count overflow: the type has more than 2^40 elements"},
    {"rank_9", "%x = input f32[1,1,1,1,1,1,1,1,1]\n", 0, "1:32",
     "more than 8 dimensions"},
    {"type_mismatch", "%x = input f32[4,2]\n"
     "%s = sum %x {axes=[1], keepdims=false} : f32[3]\n", 0, "2:6",
     "type mismatch: the line says f32[3] but sum gives f32[4]"},
    {"dtype_mismatch", X2 "%y = neg %x : f64[2]\n", 0, "2:6",
     "type mismatch: the line says f64[2] but neg gives f32[2]"},
    {"shape_rule", "%a = input f32[2,3]\n%b = input f32[4,5]\n"
     "%h1 = matmul %a, %b : f32[2,5]\n", 0, "3:7",
     "matmul 'h1': inner dimensions differ: f32[2,3] x f32[4,5]"},
    {"shape_rule_label", "%a = input f32[2,3]\n%b = input f32[4,5]\n"
     "%7 = matmul %a, %b : f32[2,5]\n", 0, "3:6",
     "matmul '%7': inner dimensions differ"},
    {"dtype_rule", "%a = input i32[2]\n%b = exp %a : i32[2]\n", 0, "2:6",
     "exp 'b': needs a floating input (f32 or f64), got i32[2]"},
    {"typed_reshape", X23 "%r = reshape %x : f32[5]\n", 0, "2:6",
     "reshape 'r': cannot reshape f32[2,3] to f32[5]"},
    {"assign_twice", "%w = param f32[2] zeros\n%a = assign %w, %w : f32[2]\n"
     "%b = assign %w, %w : f32[2]\n", 0, "3:6",
     "param 'w' is already assigned"},
    {"assign_non_param", X2 "%a = assign %x, %x : f32[2]\n", 0, "2:6",
     "target must be a param"},
    /* attributes */
    {"missing_attrs", X23 "%t = transpose %x : f32[3,2]\n", 0, "2:19",
     "transpose: missing attributes {perm}"},
    {"missing_attr", X2 "%s = sum %x {axes=[0]} : f32[]\n", 0, "2:22",
     "sum: missing attribute 'keepdims'"},
    {"unknown_attr", X2 "%s = sum %x {axes=[0], keepdims=false, foo=1} : f32[]\n",
     0, "2:40", "sum: unknown attribute 'foo' (want axes, keepdims)"},
    {"attr_on_plain_op", X2 "%y = neg %x {axis=1} : f32[2]\n", 0, "2:13",
     "neg takes no attributes"},
    {"attr_twice", X2 "%s = sum %x {axes=[0], axes=[0]} : f32[]\n", 0, "2:24",
     "attribute 'axes' is given twice"},
    {"attr_bad_bool", X2 "%s = sum %x {axes=[0], keepdims=maybe} : f32[]\n", 0,
     "2:33", "bad value for 'keepdims': want true or false"},
    {"attr_bad_int", X2 "%s = softmax %x {axis=1.5} : f32[2]\n", 0, "2:23",
     "bad value for 'axis': want an integer"},
    {"attr_list_for_scalar", X2 "%s = softmax %x {axis=[0]} : f32[2]\n", 0,
     "2:18", "attribute 'axis' takes one value, not a list"},
    {"perm_length", X23 "%t = transpose %x {perm=[0]} : f32[2,3]\n", 0, "2:20",
     "transpose: 'perm' has 1 entries but the input has rank 2"},
    {"perm_range", X23 "%t = transpose %x {perm=[0,99999999999]} : f32[2,3]\n",
     0, "2:40", "perm entry 99999999999 is out of range 0..1"},
    {"perm_repeat", X23 "%t = transpose %x {perm=[1,1]} : f32[3,3]\n", 0, "2:6",
     "perm is not a permutation of 0..1"},
    {"axis_range", X23 "%s = max %x {axes=[2], keepdims=true} : f32[2,3]\n", 0,
     "2:14", "max: axis 2 is out of range for rank 2"},
    {"axis_repeat", X23 "%s = max %x {axes=[1,-1], keepdims=true} : f32[2,1]\n",
     0, "2:14", "max: axis -1 is repeated"},
    {"long_list", X2 "%s = sum %x {axes=[0,0,0,0,0,0,0,0,0], keepdims=true} "
     ": f32[1]\n", 0, "2:36", "list has more than 8 entries"},
    {"slice_range", X23 "%s = slice %x {start=[0,2], stop=[2,1], step=[1,1]} "
     ": f32[2,1]\n", 0, "2:6", "axis 1: need 0 <= start < stop <= 3"},
    {"bernoulli_p", "%s = input i32[]\n"
     "%b = bernoulli %s, %s {p=1.5} : bool[4]\n", 0, "2:6",
     "probability 1.5 is outside [0, 1]"},
    {"unclosed_attrs", X2 "%s = sum %x {axes=[0], keepdims=true : f32[1]\n", 0,
     "2:38", "expected ',' or '}' in the attributes"},
    /* truncation and junk */
    {"truncated_type", "%x = input f32[2", 0, "1:17",
     "unexpected end of line: expected ',' or ']' in the shape"},
    {"truncated_result", X2 "%y = neg %x\n", 0, "2:12",
     "unexpected end of line: expected ':' before the result type"},
    {"truncated_attrs", X2 "%s = sum %x {axes=[0], keep", 0, "2:28",
     "expected '=' after the attribute name"},
    {"truncated_list", "%c = const f32[3] [1, 2,\n", 0, "1:25",
     "unexpected end of line: expected an f32 value"},
    {"trailing_junk", "%x = input f32[2] junk\n", 0, "1:19",
     "trailing junk 'junk' after the statement"},
    {"trailing_value", X2 "output y = %x %x\n", 0, "2:15",
     "trailing junk '%x' after the statement"},
    {"unexpected_char", "%x = input f32[2] @\n", 0, "1:19",
     "unexpected character '@'"},
    {"control_char", "%x = input\x01 f32[2]\n", 0, "1:11",
     "unexpected control character 0x01"},
    /* literals and consts */
    {"bad_literal", "%c = const f32[] 1.2.3\n", 0, "1:18",
     "bad literal '1.2.3': expected an f32 value"},
    {"hex_literal", "%c = const f64[] 0x10\n", 0, "1:18",
     "bad literal '0x10'"},
    {"bad_i32_literal", "%c = const i32[] 1.5\n", 0, "1:18",
     "bad i32 literal '1.5' (want an integer)"},
    {"i32_range", "%c = const i32[] 2147483648\n", 0, "1:18",
     "literal '2147483648' is out of range for i32"},
    {"f32_range", "%c = const f32[] 1e39\n", 0, "1:18",
     "literal '1e39' is out of range for f32"},
    {"f64_range", "%c = const f64[2] [1, -1e999]\n", 0, "1:23",
     "literal '-1e999' is out of range"},
    {"bad_bool", "%c = const bool[] 1\n", 0, "1:19",
     "expected a bool value (true or false), found '1'"},
    {"const_too_few", "%c = const f32[3] [1, 2]\n", 0, "1:24",
     "const f32[3] needs 3 values, found 2"},
    {"const_too_many", "%c = const f32[3] [1, 2, 3, 4]\n", 0, "1:29",
     "const f32[3] needs 3 values, found more"},
    {"const_empty_list", "%c = const f32[2] []\n", 0, "1:20",
     "const f32[2] needs 2 values, found 0"},
    {"const_too_big", "%c = const f32[4097,4096] 0\n", 0, "1:12",
     "const has 16781312 elements; the text format allows at most 2^24"},
    /* params and outputs */
    {"unknown_init", "%w = param f32[2] random\n", 0, "1:19",
     "unknown initialiser 'random'"},
    {"missing_init", "%w = param f32[2]\n", 0, "1:18",
     "missing initialiser, found end of line"},
    {"init_for_int", "%w = param i32[2] glorot(seed=1)\n", 0, "1:6",
     "a i32 param takes only zeros or constant initialisers"},
    {"init_seed_range", "%w = param f32[2] he(seed=4294967296)\n", 0, "1:27",
     "integer 4294967296 is out of range 0..4294967295"},
    {"init_no_seed", "%w = param f32[2] uniform(0, 1)\n", 0, "1:31",
     "expected ',' before 'seed=' in the initialiser, found ')'"},
    {"init_bounds", "%w = param f32[2] uniform(1, 0, seed=1)\n", 0, "1:6",
     "uniform(1, 0) needs low <= high"},
    {"output_undefined", "output y = %y\n", 0, "1:12",
     "use of undefined value '%y'"},
    {"output_percent", X2 "output %x = %x\n", 0, "2:8",
     "expected an output name such as 'loss'"},
    {"output_twice", X2 "output a = %x\noutput a = %x\n", 0, "3:8",
     "output: duplicate output name 'a'"},
    /* bytes */
    {"invalid_utf8", X2 "%y = \xff\n", 0, "2:6", "invalid UTF-8 (byte 0xff)"},
    {"truncated_utf8_comment", "# caf\xc3\n", 0, "1:6",
     "invalid UTF-8 (byte 0xc3)"},
    {"overlong_utf8_comment", "# \xc0\xaf\n", 0, "1:3",
     "invalid UTF-8 (byte 0xc0)"},
    {"surrogate_utf8_comment", "# \xed\xa0\x80\n", 0, "1:3",
     "invalid UTF-8 (byte 0xed)"},
    {"non_ascii_outside_comment", "%x = input f32[2] \xc3\xa9\n", 0, "1:19",
     "non-ASCII character U+00E9 outside a comment"},
    {"non_ascii_name", "%caf\xc3\xa9 = input f32[2]\n", 0, "1:5",
     "non-ASCII character U+00E9 outside a comment"},
    {"utf8_error_after_valid_lines", X2 X2 "# ok \xe2\x82\xac\n%y\xf8\n", 0,
     "4:3", "invalid UTF-8 (byte 0xf8)"},
    {"nul_byte", "%x = input\0 f32[2]\n", 19, "1:11", "NUL byte in the input"},
    {"crlf_columns", "%x = input f32[2]\r\n%y = neg %x : f32[3]\r\n", 0,
     "2:6", "type mismatch"},
};

enum { NCASES = sizeof cases / sizeof cases[0] };

static void run_case(void **state)
{
    const bad_case *c = *state;
    char err[800], want[64];
    size_t len = c->len ? c->len : strlen(c->text);
    memset(err, 'x', sizeof err);
    kiln_graph *g = kiln_parse(c->text, len, "bad.kiln", NULL, err,
                               sizeof err);
    if (g) {
        kiln_graph_free(g);
        fail_msg("%s: parsed, but should fail", c->name);
    }
    snprintf(want, sizeof want, "bad.kiln:%s: ", c->where);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("%s: wanted position %s, got: %s", c->name, want, err);
    if (!strstr(err, c->msg))
        fail_msg("%s: wanted '%s' in: %s", c->name, c->msg, err);
}

/* Limits that need big inputs, built at run time. */
static void test_line_too_long(void **state)
{
    (void)state;
    size_t n = ((size_t)16 << 20) + 10;
    char *text = malloc(n), err[256];
    assert_non_null(text);
    memset(text, ' ', n);
    memcpy(text, "# a long comment", 16);
    kiln_graph *g = kiln_parse(text, n, "bad.kiln", NULL, err, sizeof err);
    assert_null(g);
    assert_string_equal(err, "bad.kiln:1:16777217: line is longer than "
                             "16777216 bytes");
    /* Exactly at the limit is fine. */
    memset(text, ' ', n);
    text[(size_t)16 << 20] = '\n';
    g = kiln_parse(text, ((size_t)16 << 20) + 1, "ok.kiln", NULL, err,
                   sizeof err);
    assert_non_null(g);
    kiln_graph_free(g);
    free(text);
}

static void test_consts_total(void **state)
{
    (void)state;
    char text[512], err[256];
    size_t used = 0;
    for (int i = 0; i < 5; i++)
        used += (size_t)snprintf(text + used, sizeof text - used,
                                 "%%c%d = const bool[4096,4096] true\n", i);
    kiln_graph *g = kiln_parse(text, used, "bad.kiln", NULL, err, sizeof err);
    assert_null(g);
    assert_string_equal(err, "bad.kiln:5:13: consts of this file exceed "
                             "2^26 elements in total");
}

static void test_too_many_inputs(void **state)
{
    (void)state;
    size_t cap = 16 * 1100 + 100, used = 0;
    char *text = malloc(cap), err[256];
    assert_non_null(text);
    used += (size_t)snprintf(text, cap, "%%x = input f32[1]\n%%c = concat %%x");
    for (int i = 0; i < 1024; i++)
        used += (size_t)snprintf(text + used, cap - used, ", %%x");
    used += (size_t)snprintf(text + used, cap - used,
                             " {axis=0} : f32[1025]\n");
    kiln_graph *g = kiln_parse(text, used, "bad.kiln", NULL, err, sizeof err);
    assert_null(g);
    assert_non_null(strstr(err, "more than 1024 inputs"));
    assert_non_null(strstr(err, "bad.kiln:2:"));
    free(text);
}

/* A tiny or absent error buffer must not be overrun. */
static void test_error_buffer(void **state)
{
    (void)state;
    char small[8];
    memset(small, 'x', sizeof small);
    assert_null(kiln_parse("%x = oops", 9, "f", NULL, small, sizeof small));
    assert_string_equal(small, "f:1:6: ");
    assert_null(kiln_parse("%x = oops", 9, NULL, NULL, NULL, 0));
    char err[128];
    assert_null(kiln_parse("%x = oops", 9, NULL, NULL, err, sizeof err));
    assert_string_equal(err, "<input>:1:6: unknown op 'oops'");
    assert_null(kiln_parse(NULL, 3, NULL, NULL, err, sizeof err));
    assert_string_equal(err, "<input>:1:1: text is NULL");
    kiln_allocator incomplete = {NULL, NULL, NULL, NULL};
    assert_null(kiln_parse("", 0, NULL, &incomplete, err, sizeof err));
    assert_non_null(strstr(err, "allocator"));
}

int main(void)
{
    struct CMUnitTest tests[NCASES + 4];
    for (int i = 0; i < NCASES; i++)
        tests[i] = (struct CMUnitTest){cases[i].name, run_case, NULL, NULL,
                                       (void *)&cases[i]};
    tests[NCASES] = (struct CMUnitTest)cmocka_unit_test(test_line_too_long);
    tests[NCASES + 1] = (struct CMUnitTest)cmocka_unit_test(test_consts_total);
    tests[NCASES + 2] = (struct CMUnitTest)cmocka_unit_test(test_too_many_inputs);
    tests[NCASES + 3] = (struct CMUnitTest)cmocka_unit_test(test_error_buffer);
    return _cmocka_run_group_tests("parse_errors", tests, NCASES + 4, NULL,
                                   NULL);
}
