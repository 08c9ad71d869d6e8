/*
 * aot_driver.c — a plain C program around an ahead-of-time object of the
 * MLP training step (tests/cpu/cpu_mlp.h), built by test_cpu_aot.c with
 *     cc -std=c11 -DAOT_NAME=NAME -DAOT_HEADER='"NAME.h"' -I DIR \
 *        aot_driver.c DIR/NAME.o -o PROG
 * and no kiln, no LLVM.  Usage: PROG INPUTS OUT [CHUNKS]
 * INPUTS holds x (f32 [64, 32]) then labels (i32 [64]); the program runs
 * ten steps and writes the ten losses (f32) and then the whole params
 * block to OUT.  With CHUNKS > 1 it runs NAME_run_parallel with a
 * parallel-for that cuts the range into CHUNKS pieces and runs them one
 * after another, last first (any order must give the same bits).
 * Exit status 0 on success.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include AOT_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(suffix) CAT(AOT_NAME, suffix)

enum { N = 64, D = 32, STEPS = 10 };

static void chunked(void *user, int64_t n, int64_t grain,
                    void (*task)(void *ctx, int64_t begin, int64_t end), void *ctx)
{
    int64_t chunks = *(const int *)user;
    if (grain < 1)
        grain = 1;
    if (chunks > n / grain)
        chunks = n / grain > 0 ? n / grain : 1;
    for (int64_t c = chunks - 1; c >= 0; c--)
        task(ctx, n * c / chunks, n * (c + 1) / chunks);
}

static void *aligned(size_t n)
{
    return aligned_alloc(64, (n + 63) / 64 * 64 + 64);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    static float x[N * D];
    static int32_t labels[N];
    FILE *in = fopen(argv[1], "rb");
    if (!in || fread(x, sizeof x, 1, in) != 1 || fread(labels, sizeof labels, 1, in) != 1)
        return 3;
    fclose(in);
    int chunks = argc > 3 ? atoi(argv[3]) : 1;
    size_t psize = FN(_params_size)();
    unsigned char *params = aligned(psize);
    void *ws = aligned(FN(_workspace_size)(chunks));
    if (!params || !ws)
        return 4;
    FN(_init_params)(params);
    FN(_inputs) inputs = {.x = x, .labels = labels};
    float losses[STEPS];
    for (int step = 0; step < STEPS; step++) {
        FN(_outputs) outputs = {.loss = &losses[step]};
        int rc = chunks > 1 ? FN(_run_parallel)(&inputs, &outputs, params, ws, chunks,
                                                chunked, &chunks)
                            : FN(_run)(&inputs, &outputs, params, ws);
        if (rc != 0)
            return 5;
    }
    FILE *out = fopen(argv[2], "wb");
    if (!out || fwrite(losses, sizeof losses, 1, out) != 1 ||
        (psize && fwrite(params, psize, 1, out) != 1) || fclose(out) != 0)
        return 6;
    free(params);
    free(ws);
    return 0;
}
