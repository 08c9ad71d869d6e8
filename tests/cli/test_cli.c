/*
 * The `kiln` tool, run as a program: exit codes (0 ok, 1 bad input,
 * 2 bad usage), key lines of stdout and stderr, `kiln run` values and
 * checksums against hand-computed ones, and run determinism for a seed.
 * Arguments (from meson): see harness.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *SQUARE =
    "# y = x * x, plus a constant output\n"
    "%x = input f32[3]\n"
    "%w = param f32[3] zeros\n"
    "%y = mul %x, %x : f32[3]\n"
    "%k = const i32[2] [7, -2]\n"
    "output y = %y\n"
    "output k = %k\n";

static void test_check(void **state)
{
    (void)state;
    result r;
    write_text("sq.kiln", SQUARE);
    kiln(&r, "check '%s/sq.kiln'", dir);
    char want[400];
    snprintf(want, sizeof want,
             "%s/sq.kiln: ok (4 nodes, 1 inputs, 1 params, 2 outputs)\n", dir);
    expect(&r, 0, NULL, NULL);
    assert_string_equal(r.out, want);
    write_text("bad.kiln", "%x = input f32[2]\n%y = neg %x : f32[3]\n");
    kiln(&r, "check '%s/bad.kiln'", dir);
    snprintf(want, sizeof want, "%s/bad.kiln:2:6: type mismatch", dir);
    expect(&r, 1, NULL, want);
    kiln(&r, "check '%s/missing.kiln'", dir);
    expect(&r, 1, NULL, "cannot open");
    kiln(&r, "check");
    expect(&r, 2, NULL, "missing FILE");
    kiln(&r, "check a.kiln b.kiln");
    expect(&r, 2, NULL, "more than one FILE");
    kiln(&r, "check --frob a.kiln");
    expect(&r, 2, NULL, "unknown option '--frob'");
}

static void test_print(void **state)
{
    (void)state;
    result r;
    write_text("p.kiln", "%x=input f64[2] # c\n%9 = exp %x:f64[2]\n"
                         "%c = const f64[2] [0.50, 0.5]\noutput e=%9\n");
    kiln(&r, "print '%s/p.kiln'", dir);
    expect(&r, 0, NULL, NULL);
    assert_string_equal(r.out, "%x = input f64[2]\n%0 = exp %x : f64[2]\n"
                               "%c = const f64[2] 0.5\noutput e = %0\n");
    kiln(&r, "print - < '%s/p.kiln'", dir);
    expect(&r, 0, "%0 = exp %x : f64[2]", NULL);
    write_text("u.kiln", "%x = input f32[2]\n%y = \xff\n");
    kiln(&r, "print '%s/u.kiln'", dir);
    expect(&r, 1, NULL, "u.kiln:2:6: invalid UTF-8");
}

static void test_run_values(void **state)
{
    (void)state;
    result r;
    char want[600];
    write_text("sq.kiln", SQUARE);
    float x[3] = {1, 2, 3}, y[3] = {1, 4, 9}; /* y = x * x */
    int32_t k[2] = {7, -2};
    unsigned char xb[12], yb[12], kb[8];
    le32(x, 3, xb);
    le32(y, 3, yb);
    le32(k, 2, kb);
    write_file("x.bin", xb, sizeof xb);
    kiln(&r, "run '%s/sq.kiln' --backend ref --input x='%s/x.bin' "
             "--out '%s/outs'", dir, dir, dir);
    snprintf(want, sizeof want,
             "y: f32[3] [1, 4, 9] sum=14 fnv1a64=%016llx\n"
             "k: i32[2] [7, -2] sum=5 fnv1a64=%016llx\n",
             (unsigned long long)fnv(yb, sizeof yb),
             (unsigned long long)fnv(kb, sizeof kb));
    expect(&r, 0, NULL, NULL);
    assert_string_equal(r.out, want);
    char path[300], got[64];
    snprintf(path, sizeof path, "%s/outs/y.bin", dir);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(got, 1, sizeof got, f), sizeof yb);
    fclose(f);
    assert_memory_equal(got, yb, sizeof yb);
}

static void test_run_seeded(void **state)
{
    (void)state;
    result a, b, c;
    write_text("r.kiln", "%x = input f32[4,5]\n%l = input i32[4]\n"
                         "%b = input bool[6]\n"
                         "%loss = softmax_cross_entropy %x, %l : f32[]\n"
                         "output loss = %loss\noutput x = %x\n"
                         "output l = %l\noutput b = %b\n");
    kiln(&a, "run '%s/r.kiln' --seed 5", dir);
    kiln(&b, "run --seed=5 '%s/r.kiln'", dir);
    kiln(&c, "run '%s/r.kiln' --seed 6", dir);
    expect(&a, 0, "loss: f32[] [", NULL);
    expect(&c, 0, NULL, NULL);
    assert_string_equal(a.out, b.out);
    assert_string_not_equal(a.out, c.out);
    /* Random inputs stay in their documented ranges. */
    char *line = strstr(a.out, "\nl: i32[4] [");
    assert_non_null(line);
    int v[4];
    assert_int_equal(sscanf(line, "\nl: i32[4] [%d, %d, %d, %d]", &v[0], &v[1],
                            &v[2], &v[3]), 4);
    for (int i = 0; i < 4; i++)
        assert_true(v[i] >= 0 && v[i] < 4);
    assert_non_null(strstr(a.out, "\nx: f32[4,5] ["));
    assert_non_null(strstr(a.out, ", ...] sum="));
    assert_non_null(strstr(a.out, "\nb: bool[6] ["));
}

static void test_run_errors(void **state)
{
    (void)state;
    result r;
    write_text("sq.kiln", SQUARE);
    float two[2] = {1, 2};
    write_file("short.bin", two, sizeof two);
    kiln(&r, "run '%s/sq.kiln' --input x='%s/short.bin'", dir, dir);
    expect(&r, 1, NULL, "has 8 bytes; input 'x' needs 12");
    kiln(&r, "run '%s/sq.kiln' --input q='%s/short.bin'", dir, dir);
    expect(&r, 1, NULL, "no input named 'q'");
    kiln(&r, "run '%s/sq.kiln' --input x='%s/none.bin'", dir, dir);
    expect(&r, 1, NULL, "cannot open");
    kiln(&r, "run '%s/sq.kiln' --backend cpu", dir);
    if (cpu_built)
        expect(&r, 0, "y: f32[3] [", NULL);
    else
        expect(&r, 1, NULL, "backend 'cpu' is not built into this kiln");
    kiln(&r, "run '%s/sq.kiln' --backend cuda", dir);
    expect(&r, 1, NULL, CUDA_MISSING);
    kiln(&r, "run '%s/sq.kiln' --backend tpu", dir);
    expect(&r, 2, NULL, "unknown backend 'tpu'");
    kiln(&r, "run '%s/sq.kiln' --seed abc", dir);
    expect(&r, 2, NULL, "--seed wants a non-negative integer");
    kiln(&r, "run '%s/sq.kiln' --seed", dir);
    expect(&r, 2, NULL, "needs a value");
    kiln(&r, "run '%s/sq.kiln' --input x", dir);
    expect(&r, 2, NULL, "--input wants NAME=FILE");
    kiln(&r, "run");
    expect(&r, 2, NULL, "missing FILE");
    write_text("bad.kiln", "%x = input f32[2]\n%y = frob %x : f32[2]\n");
    kiln(&r, "run '%s/bad.kiln'", dir);
    expect(&r, 1, NULL, "bad.kiln:2:6: unknown op 'frob'");
    /* A label out of range is a run-time error, reported, not a crash. */
    write_text("ce.kiln", "%x = input f32[2,3]\n%l = const i32[2] [0, 3]\n"
                          "%c = softmax_cross_entropy %x, %l : f32[]\n"
                          "output c = %c\n");
    kiln(&r, "run '%s/ce.kiln'", dir);
    expect(&r, 1, NULL, "kiln run: ");
}

static void test_usage_and_help(void **state)
{
    (void)state;
    result r;
    kiln(&r, "%s", "");
    expect(&r, 2, NULL, "usage: kiln COMMAND");
    kiln(&r, "frobnicate");
    expect(&r, 2, NULL, "unknown command 'frobnicate'");
    kiln(&r, "help");
    expect(&r, 0, "commands:", NULL);
    kiln(&r, "--help");
    expect(&r, 0, "commands:", NULL);
    kiln(&r, "help run");
    expect(&r, 0, "--seed N", NULL);
    kiln(&r, "run --help");
    expect(&r, 0, "fnv1a64", NULL);
    kiln(&r, "check --help");
    expect(&r, 0, "usage: kiln check FILE", NULL);
    kiln(&r, "print --help");
    expect(&r, 0, "usage: kiln print FILE", NULL);
    kiln(&r, "help nothing");
    expect(&r, 2, NULL, "no command 'nothing'");
}

/* Every command is listed by `kiln help`, has --help, and wants a FILE. */
static void test_every_command(void **state)
{
    (void)state;
    static const char *const commands[] = {"check", "print", "run",
                                           "grad", "compile", "explain",
                                           "dot", "bench"};
    result help, r;
    char want[64];
    kiln(&help, "help");
    expect(&help, 0, NULL, NULL);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        snprintf(want, sizeof want, "\n  %s FILE", commands[i]);
        if (!strstr(help.out, want))
            fail_msg("'kiln help' does not list %s:\n%s", commands[i],
                     help.out);
        snprintf(want, sizeof want, "usage: kiln %s FILE", commands[i]);
        kiln(&r, "%s --help", commands[i]);
        expect(&r, 0, want, NULL);
        kiln(&r, "help %s", commands[i]);
        expect(&r, 0, want, NULL);
        kiln(&r, "%s", commands[i]);
        expect(&r, 2, NULL, "missing FILE");
        kiln(&r, "%s --frob x.kiln", commands[i]);
        expect(&r, 2, NULL, "unknown option '--frob'");
    }
}

int main(int argc, char **argv)
{
    if (harness_args(argc, argv))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_run_values),
        cmocka_unit_test(test_run_seeded),
        cmocka_unit_test(test_run_errors),
        cmocka_unit_test(test_usage_and_help),
        cmocka_unit_test(test_every_command),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
