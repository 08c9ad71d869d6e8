/*
 * test_cuda_cli.c — `kiln run --backend cuda` and `kiln bench --backend
 * cuda` without a usable GPU: a clean message and exit code 1, for a
 * missing driver and (through the fake driver) a driver without devices.
 * Arguments: PATH-TO-kiln CPU-BUILT(0|1) CC FAKE-DRIVER.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char *fake_driver;

static const char *GRAPH = "%x = input f32[4]\n"
                           "%y = exp %x : f32[4]\n"
                           "output y = %y\n";

static void run_without_driver(void **state)
{
    (void)state;
    write_text("g.kiln", GRAPH);
    result r;
    setenv("KILN_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
    kiln(&r, "run --backend cuda '%s/g.kiln'", dir);
    expect(&r, 1, NULL, "no CUDA driver found (/nonexistent/libcuda.so.1: ");
    assert_int_equal(count(r.err, "\n"), 1); /* one line, no trace */
    assert_string_equal(r.out, "");
    kiln(&r, "bench --backend cuda '%s/g.kiln'", dir);
    expect(&r, 1, NULL, "no CUDA driver found");
    /* the same file still runs on the reference backend */
    kiln(&r, "run '%s/g.kiln'", dir);
    expect(&r, 0, "y: f32[4]", NULL);
    unsetenv("KILN_CUDA_DRIVER");
}

static void run_without_device(void **state)
{
    (void)state;
    write_text("g.kiln", GRAPH);
    setenv("KILN_CUDA_DRIVER", fake_driver, 1);
    setenv("FAKE_CUDA_MODE", "nodevice", 1);
    result r;
    kiln(&r, "run --backend cuda '%s/g.kiln'", dir);
    expect(&r, 1, NULL, "no CUDA device");
    assert_string_equal(r.out, "");
    unsetenv("KILN_CUDA_DRIVER");
}

/* On the fake device (host memory, kernels not run) the commands go
 * through: run prints each step's outputs, bench adds device times. */
static void fake_device(void **state)
{
    (void)state;
    write_text("g.kiln", GRAPH);
    setenv("KILN_CUDA_DRIVER", fake_driver, 1);
    setenv("FAKE_CUDA_MODE", "host", 1);
    result r;
    kiln(&r, "run --backend cuda --steps 2 '%s/g.kiln'", dir);
    expect(&r, 0, "step 2:\ny: f32[4]", NULL);
    kiln(&r, "bench --backend cuda '%s/g.kiln'", dir);
    expect(&r, 0, "device ms (kernels)", NULL);
    kiln(&r, "bench --backend cuda --json '%s/g.kiln'", dir);
    expect(&r, 0, "\"device_ms\": 0.25", NULL);
    unsetenv("KILN_CUDA_DRIVER");
}

/* `kiln compile --backend cuda` needs no GPU: CUDA C, then PTX that
 * ptxas accepts, or a CUBIN (an ELF file). */
static void compile_cuda(void **state)
{
    (void)state;
    write_text("g.kiln", GRAPH);
    result r;
    kiln(&r, "compile --backend cuda '%s/g.kiln' -o '%s/k'", dir, dir);
    expect(&r, 0, "k.ptx (compute_90)", NULL);
    char text[1 << 16];
    read_text("k.cu", text, sizeof text);
    assert_non_null(strstr(text, "extern \"C\" __global__"));
    read_text("k.ptx", text, sizeof text);
    assert_non_null(strstr(text, ".target sm_90"));
    assert_int_equal(shell("test ! -x /usr/local/cuda/bin/ptxas || "
                           "/usr/local/cuda/bin/ptxas -arch=sm_90 '%s/k.ptx' -o '%s/k.o'",
                           dir, dir), 0);
    kiln(&r, "compile --backend cuda --cuda-arch sm_80 '%s/g.kiln' -o '%s/k'", dir, dir);
    expect(&r, 0, "k.cubin (sm_80)", NULL);
    read_text("k.cubin", text, sizeof text);
    assert_memory_equal(text, "\177ELF", 4);
    kiln(&r, "compile --backend cuda --cuda-arch volta '%s/g.kiln' -o '%s/k'", dir, dir);
    expect(&r, 1, NULL, "cuda arch 'volta': want sm_XY or compute_XY");
    kiln(&r, "compile --cuda-arch sm_90 '%s/g.kiln' -o '%s/k'", dir, dir);
    expect(&r, 2, NULL, "--cuda-arch needs --backend cuda");
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return 2;
    fake_driver = argv[4];
    if (harness_args(4, argv))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(run_without_driver),
        cmocka_unit_test(run_without_device),
        cmocka_unit_test(fake_device),
        cmocka_unit_test(compile_cuda),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
