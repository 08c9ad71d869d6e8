/*
 * `kiln grad`, `kiln run --steps` (and its backend, fusion, threads and
 * timing flags) and --dump-after, run as a program.  Expected values are
 * worked out by hand in the comments.  Arguments: see harness.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "harness.h"

/* loss = sum((x * w)^2), w = 2: d/dx = 2 (x w) w = 8 x, d/dw = 2 (x w) x
 * = 4 x^2. */
static const char *QUAD =
    "%x = input f64[3]\n"
    "%w = param f64[3] constant(2)\n"
    "%p = mul %x, %w : f64[3]\n"
    "%q = square %p : f64[3]\n"
    "%loss = sum %q {axes=[0], keepdims=false} : f64[]\n"
    "%n = input f64[3]\n"
    "output loss = %loss\n";

static void test_grad_values(void **state)
{
    (void)state;
    result r;
    write_text("quad.kiln", QUAD);
    kiln(&r, "grad '%s/quad.kiln' --loss loss --wrt x,w,n", dir);
    expect(&r, 0, "\noutput grad_x = ", NULL);
    expect(&r, 0, "\noutput grad_w = ", NULL);
    expect(&r, 0, "\noutput loss = ", NULL);
    write_text("quad_grad.kiln", r.out);
    double x[3] = {1, -2, 0.5}, n[3] = {0, 0, 0};
    unsigned char xb[24], nb[24];
    le64(x, 3, xb);
    le64(n, 3, nb);
    write_file("x.bin", xb, sizeof xb);
    write_file("n.bin", nb, sizeof nb);
    kiln(&r, "run '%s/quad_grad.kiln' --input x='%s/x.bin' "
             "--input n='%s/n.bin'", dir, dir, dir);
    expect(&r, 0, "loss: f64[] [21] sum=21 ", NULL); /* 4 + 16 + 1 */
    expect(&r, 0, "\ngrad_x: f64[3] [8, -16, 4] sum=-4 ", NULL);
    expect(&r, 0, "\ngrad_w: f64[3] [4, 16, 1] sum=21 ", NULL);
    /* n does not reach the loss: an explicit zero gradient */
    expect(&r, 0, "\ngrad_n: f64[3] [0, 0, 0] sum=0 ", NULL);
    /* The gradient named by an output name is the same node. */
    kiln(&r, "grad '%s/quad.kiln' --loss=loss --wrt=p", dir);
    expect(&r, 0, "\noutput grad_p = ", NULL);
}

static void test_grad_errors(void **state)
{
    (void)state;
    result r;
    write_text("quad.kiln", QUAD);
    kiln(&r, "grad '%s/quad.kiln' --loss nope --wrt x", dir);
    expect(&r, 1, NULL, "no node or output named 'nope'");
    kiln(&r, "grad '%s/quad.kiln' --loss loss --wrt x,zz", dir);
    expect(&r, 1, NULL, "no node or output named 'zz'");
    kiln(&r, "grad '%s/quad.kiln' --loss p --wrt x", dir);
    expect(&r, 1, NULL, "the loss must be a floating scalar");
    kiln(&r, "grad '%s/quad.kiln' --loss loss", dir);
    expect(&r, 2, NULL, "missing --wrt");
    kiln(&r, "grad '%s/quad.kiln' --wrt x", dir);
    expect(&r, 2, NULL, "missing --loss");
    kiln(&r, "grad '%s/quad.kiln' --loss loss --wrt", dir);
    expect(&r, 2, NULL, "needs a value");
    kiln(&r, "grad '%s/none.kiln' --loss loss --wrt x", dir);
    expect(&r, 1, NULL, "cannot open");
    /* an integer path carries no gradient */
    write_text("int.kiln", "%x = input f32[3]\n"
                           "%a = argmax %x {axes=[0], keepdims=false} : i32[]\n"
                           "%f = cast %a : f32[]\noutput f = %f\n");
    kiln(&r, "grad '%s/int.kiln' --loss f --wrt x", dir);
    expect(&r, 1, NULL, "kiln grad: ");
}

/* w starts at 1 and doubles each run; the output shows w before the
 * step's assign: 1, 2, 4. */
static const char *DOUBLING =
    "%w = param f32[2] constant(1)\n"
    "%two = const f32[] 2\n"
    "%w2 = mul %w, %two : f32[2]\n"
    "%u = assign %w, %w2 : f32[2]\n"
    "output w = %w\n";

/* "w: f32[2] [v, v] sum=2v fnv1a64=H" with H over the LE bytes. */
static void w_line(float v, char *buf, size_t len)
{
    float w[2] = {v, v};
    unsigned char b[8];
    le32(w, 2, b);
    snprintf(buf, len, "w: f32[2] [%g, %g] sum=%g fnv1a64=%016llx\n", v, v,
             2 * v, (unsigned long long)fnv(b, sizeof b));
}

static void steps_for(const char *flags)
{
    result r;
    char w1[128], w2[128], w4[128], want[512];
    w_line(1, w1, sizeof w1);
    w_line(2, w2, sizeof w2);
    w_line(4, w4, sizeof w4);
    write_text("dbl.kiln", DOUBLING);
    kiln(&r, "run '%s/dbl.kiln' --steps 3 %s", dir, flags);
    expect(&r, 0, NULL, NULL);
    snprintf(want, sizeof want, "step 1:\n%sstep 2:\n%sstep 3:\n%s", w1, w2,
             w4);
    assert_string_equal(r.out, want);
    kiln(&r, "run '%s/dbl.kiln' --steps=3 --quiet --out '%s/o' %s", dir, dir,
         flags);
    expect(&r, 0, NULL, NULL);
    snprintf(want, sizeof want, "step 3:\n%s", w4);
    assert_string_equal(r.out, want);
    float four[2] = {4, 4};
    unsigned char b4[8];
    char got[64];
    le32(four, 2, b4);
    read_text("o/w.bin", got, sizeof got);
    assert_memory_equal(got, b4, sizeof b4);
    kiln(&r, "run '%s/dbl.kiln' %s", dir, flags); /* one step: no header */
    assert_string_equal(r.out, w1);
}

static void test_steps(void **state)
{
    (void)state;
    result r;
    steps_for("");
    steps_for("--backend ref");
    if (cpu_built) {
        steps_for("--backend cpu");
        steps_for("--backend cpu --no-fuse --threads 2");
    }
    write_text("dbl.kiln", DOUBLING);
    kiln(&r, "run '%s/dbl.kiln' --steps 0", dir);
    expect(&r, 2, NULL, "--steps wants a positive integer");
    kiln(&r, "run '%s/dbl.kiln' --threads x", dir);
    expect(&r, 2, NULL, "--threads wants an integer");
    kiln(&r, "run '%s/dbl.kiln' --backend cuda --steps 2", dir);
    expect(&r, 1, NULL, CUDA_MISSING);
    if (!cpu_built) {
        kiln(&r, "run '%s/dbl.kiln' --backend cpu", dir);
        expect(&r, 1, NULL, "backend 'cpu' is not built into this kiln");
    }
}

/* y = tanh(x) * tanh(x): one map kernel when fused; the unfused program
 * has one per node: tanh, mul. */
static const char *SQTANH =
    "%x = input f32[5]\n"
    "%c = tanh %x : f32[5]\n"
    "%y = mul %c, %c : f32[5]\n"
    "output y = %y\n";

static void test_timings(void **state)
{
    (void)state;
    result r;
    write_text("st.kiln", SQTANH);
    kiln(&r, "run '%s/st.kiln' --timings --steps 4 --quiet", dir);
    expect(&r, 0, "step 4:\ny: f32[5] [", "timings: lower ");
    expect(&r, 0, NULL, "program: 0 kernels"); /* ref runs no kernels */
    expect(&r, 0, NULL, "run: 4 steps in ");
    if (!cpu_built)
        return;
    kiln(&r, "run '%s/st.kiln' --timings --backend cpu", dir);
    expect(&r, 0, NULL, "program: 1 kernels");
    kiln(&r, "run '%s/st.kiln' --timings --backend cpu --no-fuse", dir);
    expect(&r, 0, NULL, "program: 2 kernels");
}

/* x * 1 + 0 -> x (algebra), dead constants and ops go (dce): x, tanh,
 * mul, sum remain: nodes 0-3. */
static const char *IDENT =
    "%x = input f32[4]\n"
    "%one = const f32[] 1\n"
    "%zero = const f32[] 0\n"
    "%a = mul %x, %one : f32[4]\n"
    "%b = add %a, %zero : f32[4]\n"
    "%c = tanh %b : f32[4]\n"
    "%d = mul %c, %c : f32[4]\n"
    "%s = sum %d {axes=[0], keepdims=false} : f32[]\n"
    "output s = %s\n";

static void test_dump_after(void **state)
{
    (void)state;
    result r;
    write_text("id.kiln", IDENT);
    kiln(&r, "print '%s/id.kiln' --dump-after=dce", dir);
    expect(&r, 0, "%b = add %a, %zero : f32[4]\n", NULL); /* stdout as is */
    assert_string_equal(r.err, "# after dce: 4 nodes\n"
                               "%x = input f32[4]\n"
                               "%c = tanh %x : f32[4]\n"
                               "%d = mul %c, %c : f32[4]\n"
                               "%s = sum %d {axes=[0], keepdims=false} : f32[]\n"
                               "output s = %s\n");
    write_text("dumped.kiln", r.err); /* a dump is a graph file */
    kiln(&r, "check '%s/dumped.kiln'", dir);
    expect(&r, 0, "ok (4 nodes, 1 inputs, 0 params, 1 outputs)", NULL);
    kiln(&r, "print '%s/id.kiln' --dump-after all", dir);
    expect(&r, 0, NULL, "# after decompose: 8 nodes\n");
    expect(&r, 0, NULL, "# after algebra: ");
    expect(&r, 0, NULL, "%c = tanh %x : f32[4]\n");
    expect(&r, 0, NULL, "# after dce: 4 nodes\n");
    /* the sum absorbs tanh and mul (input fusion): one reduce kernel */
    expect(&r, 0, NULL, "# after lower: 1 kernels (fused)");
    expect(&r, 0, NULL, "# k0: kernel reduce (sum #3)");
    kiln(&r, "print '%s/id.kiln' --dump-after=cse,dce", dir);
    assert_int_equal(count(r.err, "# after "), 2);
    kiln(&r, "run '%s/id.kiln' --dump-after=lower --no-fuse", dir);
    expect(&r, 0, "s: f32[] [", "# after lower: 3 kernels (unfused)");
    kiln(&r, "grad '%s/id.kiln' --loss s --wrt x --dump-after=fold", dir);
    expect(&r, 0, "output grad_x = ", "# after fold: ");
    kiln(&r, "print '%s/id.kiln' --dump-after=frob", dir);
    expect(&r, 2, NULL, "--dump-after: no pass 'frob' (passes: decompose, ");
    kiln(&r, "run '%s/id.kiln' --dump-after=dce,", dir);
    expect(&r, 2, NULL, "no pass ''");
    kiln(&r, "print '%s/id.kiln' --dump-after", dir);
    expect(&r, 2, NULL, "needs a value");
}

int main(int argc, char **argv)
{
    if (harness_args(argc, argv))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_values),
        cmocka_unit_test(test_grad_errors),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_timings),
        cmocka_unit_test(test_dump_after),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
