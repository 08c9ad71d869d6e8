/*
 * test_emu.c — the host emulation itself and the NVRTC wrapper, on
 * hand-written kernels in the generated code's ABI (kiln_k<i>(void *const
 * *kb)), checked against plain C loops: block reductions through shared
 * memory and shuffles, dynamic shared memory, float4 loads, 2-D blocks,
 * votes, and a deadlock the emulator must report instead of hanging.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_tools.h"
#include "emu/emu_host.h"

static const char hand_src[] =
    "extern \"C\" __global__ void kiln_k0(void *const *__restrict__ kb)\n"
    "{ /* one block per row of 100: sum through shuffles and shared memory */\n"
    "    const float *x = (const float *)kb[0];\n"
    "    float *y = (float *)kb[1];\n"
    "    __shared__ float part[32];\n"
    "    extern __shared__ __align__(16) float stage[];\n"
    "    unsigned row = blockIdx.x, t = threadIdx.x;\n"
    "    float v = 0.0f;\n"
    "    for (unsigned c = t; c < 100; c += blockDim.x) v += x[row * 100 + c];\n"
    "    stage[t] = v;\n"
    "    __syncthreads();\n"
    "    v = stage[(t + 1) % blockDim.x]; /* rotate: needs the barrier */\n"
    "    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);\n"
    "    if (t % 32 == 0) part[t / 32] = v;\n"
    "    __syncthreads();\n"
    "    if (t < 32) {\n"
    "        v = t < blockDim.x / 32 ? part[t] : 0.0f;\n"
    "        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);\n"
    "        if (t == 0) y[row] = v;\n"
    "    }\n"
    "}\n"
    "extern \"C\" __global__ void kiln_k1(void *const *__restrict__ kb)\n"
    "{ /* grid-stride float4: y = 2 x + 1 over 4096 floats */\n"
    "    const float4 *x = (const float4 *)kb[0];\n"
    "    float4 *y = (float4 *)kb[2];\n"
    "    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < 1024;\n"
    "         i += gridDim.x * blockDim.x) {\n"
    "        float4 v = x[i];\n"
    "        y[i] = make_float4(2.0f * v.x + 1.0f, 2.0f * v.y + 1.0f,\n"
    "                           2.0f * v.z + 1.0f, 2.0f * v.w + 1.0f);\n"
    "    }\n"
    "}\n"
    "extern \"C\" __global__ void kiln_k2(void *const *__restrict__ kb)\n"
    "{ /* 16x16 tiles: transpose the 64x100 input into 100x64 */\n"
    "    const float *x = (const float *)kb[0];\n"
    "    float *y = (float *)kb[3];\n"
    "    __shared__ float tile[16][17];\n"
    "    unsigned r = blockIdx.y * 16 + threadIdx.y, c = blockIdx.x * 16 + threadIdx.x;\n"
    "    if (r < 64 && c < 100) tile[threadIdx.y][threadIdx.x] = x[r * 100 + c];\n"
    "    __syncthreads();\n"
    "    r = blockIdx.x * 16 + threadIdx.y; c = blockIdx.y * 16 + threadIdx.x;\n"
    "    if (r < 100 && c < 64) y[r * 64 + c] = tile[threadIdx.x][threadIdx.y];\n"
    "}\n"
    "extern \"C\" __global__ void kiln_k3(void *const *__restrict__ kb)\n"
    "{ /* votes over a partial warp: 40 threads, lanes 32.. in a short warp */\n"
    "    unsigned *y = (unsigned *)kb[4];\n"
    "    unsigned b = __ballot_sync(__activemask(), threadIdx.x % 3 == 0);\n"
    "    y[threadIdx.x] = b;\n"
    "}\n"
    "extern \"C\" __global__ void kiln_k4(void *const *__restrict__ kb)\n"
    "{ /* broken on purpose: half a warp shuffles, the other half waits */\n"
    "    float *y = (float *)kb[1];\n"
    "    if (threadIdx.x < 16) y[0] = __shfl_down_sync(0xffffffffu, 1.0f, 1);\n"
    "    else __syncthreads();\n"
    "}\n"
    "extern \"C\" __global__ void kiln_k5(void *const *__restrict__ kb)\n"
    "{ /* neighbours' values through shared memory, with the barrier only\n"
    "   * when kb[6] is non-null: without it this is a race */\n"
    "    float *y = (float *)kb[5];\n"
    "    __shared__ float s[64];\n"
    "    unsigned t = threadIdx.x;\n"
    "    s[t] = (float)(t + 1000 * blockIdx.x);\n"
    "    if (kb[6]) __syncthreads();\n"
    "    y[blockIdx.x * 64 + t] = s[(t + 1) % 64] + s[(t + 63) % 64];\n"
    "}\n";

static const cuda_kernel_info infos[] = {
    {"kiln_k0", {64, 1, 1}, {128, 1, 1}, 128 * sizeof(float)},
    {"kiln_k1", {3, 1, 1}, {96, 1, 1}, 0},
    {"kiln_k2", {7, 4, 1}, {16, 16, 1}, 0},
    {"kiln_k3", {1, 1, 1}, {40, 1, 1}, 0},
    {"kiln_k4", {1, 1, 1}, {32, 1, 1}, 0},
    {"kiln_k5", {4, 1, 1}, {64, 1, 1}, 0},
};

typedef struct hand {
    float x[64 * 100], sums[64], lin[4096], tr[100 * 64];
    unsigned votes[40];
    float nb[256];
    void *kb[7];
} hand;

static void hand_setup(hand *h)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i < 64 * 100; i++)
        h->x[i] = (float)((i * 37) % 101) / 8.0f; /* exact sums */
    h->kb[0] = h->x;
    h->kb[1] = h->sums;
    h->kb[2] = h->lin;
    h->kb[3] = h->tr;
    h->kb[4] = h->votes;
    h->kb[5] = h->nb;
}

static void test_emu_hand_kernels(void **state)
{
    (void)state;
    emu_module m;
    char err[4096];
    if (!emu_build(&m, hand_src, err, sizeof err))
        fail_msg("%s", err);
    static hand h;
    hand_setup(&h);
    for (int k = 0; k < 4; k++)
        if (!emu_launch_named(&m, &infos[k], h.kb, err, sizeof err))
            fail_msg("%s", err);
    for (int r = 0; r < 64; r++) {
        float want = 0;
        for (int c = 0; c < 100; c++)
            want += h.x[r * 100 + c];
        assert_true(h.sums[r] == want); /* multiples of 1/8, small: exact */
    }
    for (int i = 0; i < 4096; i++) {
        float want = i < 4096 && i < 64 * 100 ? 2.0f * h.x[i] + 1.0f : 0;
        assert_true(h.lin[i] == want);
    }
    for (int r = 0; r < 100; r++)
        for (int c = 0; c < 64; c++)
            assert_true(h.tr[r * 64 + c] == h.x[c * 100 + r]);
    unsigned w0 = 0, w1 = 0;
    for (int t = 0; t < 40; t++)
        if (t % 3 == 0)
            *(t < 32 ? &w0 : &w1) |= 1u << (t % 32);
    for (int t = 0; t < 40; t++)
        assert_int_equal(h.votes[t], t < 32 ? w0 : w1);
    /* the deadlock is reported, and the module still works afterwards */
    assert_false(emu_launch_named(&m, &infos[4], h.kb, err, sizeof err));
    assert_non_null(strstr(err, "deadlock"));
    memset(h.sums, 0, sizeof h.sums);
    assert_true(emu_launch_named(&m, &infos[0], h.kb, err, sizeof err));
    assert_true(h.sums[63] != 0);
    /* a missing barrier shows as wrong neighbour values; with it, none */
    for (int barrier = 0; barrier < 2; barrier++) {
        h.kb[6] = barrier ? (void *)&h : NULL;
        assert_true(emu_launch_named(&m, &infos[5], h.kb, err, sizeof err));
        int wrong = 0;
        for (int b = 0; b < 4; b++)
            for (int t = 0; t < 64; t++)
                wrong += h.nb[b * 64 + t] != (float)((t + 1) % 64 + (t + 63) % 64 + 2000 * b);
        if (barrier)
            assert_int_equal(wrong, 0);
        else
            assert_true(wrong > 0);
    }
    /* a launch the hardware refuses */
    cuda_kernel_info big = infos[0];
    big.block[0] = 2048;
    assert_false(emu_launch_named(&m, &big, h.kb, err, sizeof err));
    emu_close(&m);
}

/* Two programs in one translation unit (how the suites batch): each in
 * its namespace, kernels renamed kiln_p<j>_k<i>, dynamic shared memory
 * still working. */
static void test_emu_batch(void **state)
{
    (void)state;
    char *text = NULL, err[4096];
    size_t len = 0;
    assert_true(emu_batch_source(&text, &len, hand_src, 0));
    assert_true(emu_batch_source(&text, &len, hand_src, 1));
    assert_non_null(strstr(text, "void kiln_p1_k3("));
    assert_null(strstr(text, "void kiln_k0("));
    emu_module m;
    if (!emu_build(&m, text, err, sizeof err))
        fail_msg("%s", err);
    free(text);
    static hand h;
    hand_setup(&h);
    cuda_kernel_info ki = infos[0];
    snprintf(ki.name, sizeof ki.name, "kiln_p1_k0");
    assert_true(emu_launch_named(&m, &ki, h.kb, err, sizeof err));
    float want = 0;
    for (int c = 0; c < 100; c++)
        want += h.x[63 * 100 + c];
    assert_true(h.sums[63] == want);
    emu_close(&m);
}

static void test_emu_compile_error(void **state)
{
    (void)state;
    emu_module m;
    char err[4096];
    assert_false(emu_build(&m, "extern \"C\" __global__ void kiln_k0(void *const *kb) "
                               "{ undeclared_thing(); }\n", err, sizeof err));
    assert_non_null(strstr(err, "undeclared_thing"));
    emu_close(&m);
}

static void test_nvrtc_hand_kernels(void **state)
{
    (void)state;
#ifdef KILN_HAVE_CUDA
    char err[8192];
    /* k4 is broken only at run time: it compiles */
    if (!ct_nvrtc_ptxas(hand_src, err, sizeof err))
        fail_msg("%s", err);
    void *image = NULL;
    size_t size = 0;
    assert_false(cuda_nvrtc_compile("extern \"C\" __global__ void f() { nope; }",
                                    "compute_90", &image, &size, err, sizeof err));
    assert_null(image);
    assert_non_null(strstr(err, "nope"));
    assert_false(cuda_nvrtc_compile(hand_src, "gfx90a", &image, &size, err, sizeof err));
    /* sm_XX gives a CUBIN (an ELF image) */
    assert_true(cuda_nvrtc_compile(hand_src, "sm_90", &image, &size, err, sizeof err));
    assert_true(size > 4 && memcmp(image, "\177ELF", 4) == 0);
    free(image);
#else
    skip(); /* built without the CUDA toolkit: no NVRTC, no ptxas */
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emu_hand_kernels),
        cmocka_unit_test(test_emu_batch),
        cmocka_unit_test(test_emu_compile_error),
        cmocka_unit_test(test_nvrtc_hand_kernels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
