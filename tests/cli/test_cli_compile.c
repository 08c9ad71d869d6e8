/*
 * `kiln compile` (AOT object + header, linked into a C driver with cc),
 * `kiln explain`, `kiln dot` and `kiln bench`, run as a program.
 * Expected values are worked out by hand in the comments.  Arguments:
 * see harness.h.
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

/* One training step: y = x * w, then w <- w - x / 2.  With x = [2, 4]
 * and w = [1, 1]: y = [2, 4], [0, -4], [-2, -12]; w ends at [-2, -5]. */
static const char *STEP =
    "%x = input f32[2]\n"
    "%w = param f32[2] constant(1)\n"
    "%y = mul %x, %w : f32[2]\n"
    "%h = const f32[] 0.5\n"
    "%d = mul %x, %h : f32[2]\n"
    "%wn = sub %w, %d : f32[2]\n"
    "%u = assign %w, %wn : f32[2]\n"
    "output y = %y\n";

static const char *DRIVER =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "#include \"step.h\"\n"
    "static void *block(size_t n) { return aligned_alloc(64, (n + 127) / 64 * 64); }\n"
    "int main(void)\n"
    "{\n"
    "    void *params = block(step_params_size());\n"
    "    void *ws = block(step_workspace_size(1));\n"
    "    float x[2] = {2, 4}, y[2];\n"
    "    step_inputs in = {.x = x};\n"
    "    step_outputs out = {.y = y};\n"
    "    step_init_params(params);\n"
    "    for (int s = 0; s < 3; s++) {\n"
    "        if (step_run(&in, &out, params, ws) != 0)\n"
    "            return 1;\n"
    "        printf(\"%g %g\\n\", y[0], y[1]);\n"
    "    }\n"
    "    const float *w = (const float *)((char *)params + STEP_PARAM_w);\n"
    "    printf(\"w %g %g\\n\", w[0], w[1]);\n"
    "    free(params);\n"
    "    free(ws);\n"
    "    return 0;\n"
    "}\n";

/* Compile STEP with `flags`, link the driver with plain cc (no libkiln,
 * no LLVM), run it if asked, and check the values. */
static void aot_case(const char *flags, int run)
{
    result r;
    char out[256];
    kiln(&r, "compile '%s/step.kiln' -o '%s/step' %s", dir, dir, flags);
    expect(&r, 0, "wrote ", NULL);
    assert_int_equal(shell("'%s' -std=c11 -I'%s' -o '%s/drv' '%s/drv.c' "
                           "'%s/step.o'",
                           cc_cmd, dir, dir, dir, dir),
                     0);
    if (!run)
        return;
    assert_int_equal(shell("'%s/drv' > '%s/drv.out'", dir, dir), 0);
    read_text("drv.out", out, sizeof out);
    assert_string_equal(out, "2 4\n0 -4\n-2 -12\nw -2 -5\n");
}

static int host_runs_x86_64_v3(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("bmi2");
#else
    return 0;
#endif
}

static void test_compile_aot(void **state)
{
    (void)state;
    result r;
    write_text("step.kiln", STEP);
    write_text("drv.c", DRIVER);
    if (!cpu_built) {
        kiln(&r, "compile '%s/step.kiln' -o '%s/step'", dir, dir);
        expect(&r, 1, NULL, "the cpu backend is not built into this kiln");
        return;
    }
    aot_case("", 1);
    aot_case("--no-fuse", 1);
    aot_case("--cpu native", 1);
#if defined(__x86_64__)
    aot_case("--cpu x86-64-v3", host_runs_x86_64_v3());
#endif
    /* --name sets the C prefix; the path only says where */
    shell("mkdir -p '%s/sub'", dir);
    kiln(&r, "compile '%s/step.kiln' -o '%s/sub/model' --name net", dir, dir);
    expect(&r, 0, NULL, NULL);
    char header[16384];
    read_text("sub/model.h", header, sizeof header);
    assert_non_null(strstr(header, "int net_run("));
    assert_non_null(strstr(header, "void net_init_params(void *params);"));
    kiln(&r, "compile '%s/step.kiln' -o '%s/my-model'", dir, dir);
    expect(&r, 1, NULL, "name must be a C identifier");
}

static void test_compile_usage(void **state)
{
    (void)state;
    result r;
    write_text("step.kiln", STEP);
    kiln(&r, "compile '%s/step.kiln'", dir);
    expect(&r, 2, NULL, "missing -o PATH");
    kiln(&r, "compile '%s/step.kiln' -o", dir);
    expect(&r, 2, NULL, "needs a value");
    kiln(&r, "compile '%s/none.kiln' -o '%s/n'", dir, dir);
    expect(&r, 1, NULL, "cannot open");
}

/* y = tanh(exp(-x)): elementwise, so one map kernel fused; one kernel
 * per op (neg, exp, tanh) unfused. */
static const char *CHAIN =
    "%x = input f32[1000]\n"
    "%a = neg %x : f32[1000]\n"
    "%b = exp %a : f32[1000]\n"
    "%y = tanh %b : f32[1000]\n"
    "output y = %y\n";

static void test_explain(void **state)
{
    (void)state;
    result r;
    write_text("chain.kiln", CHAIN);
    kiln(&r, "explain '%s/chain.kiln'", dir);
    expect(&r, 0, "1 kernels, arena ", NULL);
    expect(&r, 0, "kernel 0: map computing tanh 'y' f32[1000]", NULL);
    kiln(&r, "explain '%s/chain.kiln' --no-fuse", dir);
    expect(&r, 0, "3 kernels, arena ", NULL);
    expect(&r, 0, "kernel 1: map computing exp 'b'", NULL);
    kiln(&r, "explain '%s/chain.kiln' --fuse", dir);
    expect(&r, 2, NULL, "unknown option '--fuse'");
}

/* Every "A -> B" of a dot text names declared nodes; the clusters. */
static int check_dot(const char *text)
{
    char declared[1 << 15] = " ";
    int clusters = 0;
    char line[512];
    for (const char *s = text; *s;) {
        size_t n = strcspn(s, "\n");
        snprintf(line, sizeof line, "%.*s", (int)n, s);
        s += n + (s[n] == '\n');
        char a[64];
        if (sscanf(line, " %63s [label=", a) == 1 && strstr(line, "[label=")) {
            strcat(declared, a);
            strcat(declared, " ");
        }
        clusters += strstr(line, "subgraph cluster_") != NULL;
    }
    for (const char *s = text; (s = strstr(s, " -> "));) {
        const char *start = s;
        while (start > text && start[-1] != ' ')
            start--;
        char a[64], b[64], key[80];
        assert_int_equal(sscanf(start, "%63s -> %63[^ ;]", a, b), 2);
        snprintf(key, sizeof key, " %s ", a);
        if (!strstr(declared, key))
            fail_msg("edge from undeclared node %s", a);
        snprintf(key, sizeof key, " %s ", b);
        if (!strstr(declared, key))
            fail_msg("edge to undeclared node %s", b);
        s += 4;
    }
    return clusters;
}

static void test_dot(void **state)
{
    (void)state;
    result r;
    write_text("chain.kiln", CHAIN);
    kiln(&r, "dot '%s/chain.kiln'", dir);
    expect(&r, 0, "digraph kiln {", NULL);
    assert_int_equal(check_dot(r.out), 1);
    expect(&r, 0, "label=\"neg 'a'\\nf32[1000]\"", NULL);
    expect(&r, 0, "shape=ellipse", NULL); /* the input, outside */
    char *stdout_copy = strdup(r.out);
    kiln(&r, "dot '%s/chain.kiln' -o '%s/c.dot'", dir, dir);
    expect(&r, 0, NULL, NULL);
    char file[1 << 16];
    read_text("c.dot", file, sizeof file);
    assert_string_equal(file, stdout_copy);
    free(stdout_copy);
    kiln(&r, "dot '%s/chain.kiln' --no-fuse", dir);
    assert_int_equal(check_dot(r.out), 3);
    /* a training step: the assign is a dashed edge into the param */
    write_text("step.kiln", STEP);
    kiln(&r, "dot '%s/step.kiln'", dir);
    expect(&r, 0, "label=\"assign\"", NULL);
    check_dot(r.out);
    kiln(&r, "dot '%s/chain.kiln' -o '%s/no/such/dir.dot'", dir, dir);
    expect(&r, 1, NULL, "cannot write");
}

/* The number after `"key": ` following `from` in a JSON text. */
static double json_number(const char *from, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *s = strstr(from, pat);
    if (!s)
        fail_msg("no %s in %s", key, from);
    return strtod(s + strlen(pat), NULL);
}

static void test_bench_json(void **state)
{
    (void)state;
    result r;
    write_text("chain.kiln", CHAIN);
    if (!cpu_built) {
        kiln(&r, "bench '%s/chain.kiln'", dir);
        expect(&r, 1, NULL, "backend 'cpu' is not built into this kiln");
        return;
    }
    kiln(&r, "bench '%s/chain.kiln' --runs 6 --threads 1 --json --per-kernel",
         dir);
    expect(&r, 0, "\"speedup\": ", NULL);
    const char *fused = strstr(r.out, "\"fused\": {");
    const char *unfused = strstr(r.out, "\"unfused\": {");
    assert_non_null(fused);
    assert_non_null(unfused);
    assert_int_equal(json_number(r.out, "runs"), 6);
    assert_int_equal(json_number(r.out, "bytes_moved"), 8000); /* x + y */
    assert_int_equal(json_number(fused, "kernels"), 1);
    assert_int_equal(json_number(unfused, "kernels"), 3);
    double f = json_number(fused, "median_ms"), u = json_number(unfused, "median_ms");
    double speedup = json_number(r.out, "speedup");
    assert_true(f > 0 && u > 0);
    /* printed with 6 significant digits each */
    double diff = speedup - u / f;
    assert_true((diff < 0 ? -diff : diff) <= 1e-4 * (u / f));
    /* 6 timed runs per variant, and one row per kernel */
    const char *times = strstr(fused, "\"times_ms\": [");
    char list[512];
    assert_non_null(times);
    snprintf(list, sizeof list, "%.*s", (int)strcspn(times, "]"), times);
    assert_int_equal(count(list, ","), 5);
    assert_int_equal(count(fused, "{\"kernel\": ") -
                         count(unfused, "{\"kernel\": "), 1);
    assert_int_equal(count(unfused, "{\"kernel\": "), 3);
    /* the fused kernel reads x and writes y once: 2 * 4000 bytes */
    assert_int_equal(json_number(strstr(fused, "{\"kernel\": 0"), "bytes"),
                     8000);
}

static void test_bench_table(void **state)
{
    (void)state;
    result r;
    write_text("chain.kiln", CHAIN);
    kiln(&r, "bench '%s/chain.kiln' --backend ref --runs 5", dir);
    expect(&r, 0, "median time per run ms", NULL);
    expect(&r, 0, "bytes moved: every input, param and output binding once",
           NULL);
    int kf = -1, ku = -1;
    const char *line = strstr(r.out, "\nkernels launched");
    assert_non_null(line);
    assert_int_equal(sscanf(line, "\nkernels launched %d %d", &kf, &ku), 2);
    assert_int_equal(kf, 0); /* the reference evaluator runs no kernels */
    assert_int_equal(ku, 0);
    /* a [3,5] x [5,7] product: 2 * 3 * 7 * 5 = 210 flops */
    write_text("mm.kiln", "%a = input f32[3,5]\n%b = input f32[5,7]\n"
                          "%c = matmul %a, %b : f32[3,7]\noutput c = %c\n");
    kiln(&r, "bench '%s/mm.kiln' --backend ref --json", dir);
    expect(&r, 0, "\"matmul_flops\": 210,", NULL);
    /* 4 * (15 + 35 + 21) bytes */
    assert_int_equal(json_number(r.out, "bytes_moved"), 284);
    kiln(&r, "bench '%s/mm.kiln' --backend ref", dir);
    expect(&r, 0, "\nGFLOP/s (matmuls) ", NULL);
    kiln(&r, "bench '%s/chain.kiln' --backend ref --per-kernel", dir);
    expect(&r, 2, NULL, "--per-kernel times CPU kernels");
    kiln(&r, "bench '%s/chain.kiln' --runs 4", dir);
    expect(&r, 2, NULL, "--runs wants an integer of at least 5");
    kiln(&r, "bench '%s/chain.kiln' --backend cuda", dir);
    expect(&r, 1, NULL, CUDA_MISSING);
    if (!cpu_built)
        return;
    kiln(&r, "bench '%s/chain.kiln' --per-kernel --threads 2", dir);
    line = strstr(r.out, "\nkernels launched");
    assert_non_null(line);
    assert_int_equal(sscanf(line, "\nkernels launched %d %d", &kf, &ku), 2);
    assert_int_equal(kf, 1);
    assert_int_equal(ku, 3);
    expect(&r, 0, "per kernel, fused (", NULL);
    expect(&r, 0, "per kernel, unfused (", NULL);
    expect(&r, 0, "map     tanh 'y'", NULL);
}

int main(int argc, char **argv)
{
    if (harness_args(argc, argv))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_aot),
        cmocka_unit_test(test_compile_usage),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_dot),
        cmocka_unit_test(test_bench_json),
        cmocka_unit_test(test_bench_table),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
