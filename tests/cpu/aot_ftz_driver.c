/*
 * aot_ftz_driver.c — a plain C program around an ahead-of-time object of
 * y = x * 0.5 (x f32[65536]), built by test_cpu_aot.c with
 *     cc -std=c11 -DAOT_NAME=NAME -DAOT_HEADER='"NAME.h"' -I DIR \
 *        aot_ftz_driver.c DIR/NAME.o -o PROG
 * x86-64 only (it reads MXCSR).  Usage: PROG CALLER_FTZ
 * With CALLER_FTZ = 1 the program sets FTZ|DAZ itself before calling.
 * x[0] = 2^-126 (y subnormal), x[1] = 2^-140 (a subnormal input), the rest
 * 2^-120.  It runs NAME_run, then NAME_run_parallel with a 2-chunk
 * parallel-for, and prints one line for each:
 *     LABEL Y0 Y1 YLAST CSR_KEPT TASKS TASK_CSR_KEPT
 * Y* as hex floats (%a); CSR_KEPT 1 when MXCSR's control bits are the same
 * after the call as before; TASKS the number of NAME_task calls;
 * TASK_CSR_KEPT 1 when every task left the control bits as it found them.
 * Each task runs on the calling thread but under MXCSR without FTZ|DAZ, as
 * a fresh worker thread would, so a task that does not set the mode itself
 * shows up in Y0/Y1.  Exit status 0 on success.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <xmmintrin.h>

#include AOT_HEADER

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(suffix) CAT(AOT_NAME, suffix)

enum { N = 65536 };
#define FTZ_DAZ 0x8040u
/* bits 0-5 are sticky exception flags, which subnormal arithmetic raises */
#define CONTROL(csr) ((csr) & ~0x3fu)

typedef struct pf_state {
    unsigned worker_csr;
    int tasks;
    int task_csr_kept;
} pf_state;

static void two_chunks(void *user, int64_t n, int64_t grain,
                       void (*task)(void *ctx, int64_t begin, int64_t end), void *ctx)
{
    pf_state *s = user;
    unsigned run_csr = _mm_getcsr();
    int64_t chunks = grain >= 1 && n / grain >= 2 ? 2 : 1;
    for (int64_t c = 0; c < chunks; c++) {
        _mm_setcsr(s->worker_csr);
        task(ctx, n * c / chunks, n * (c + 1) / chunks);
        if (CONTROL(_mm_getcsr()) != CONTROL(s->worker_csr))
            s->task_csr_kept = 0;
        s->tasks++;
    }
    _mm_setcsr(run_csr);
}

static void *aligned(size_t n)
{
    return aligned_alloc(64, (n + 63) / 64 * 64 + 64);
}

/* Without DAZ while printing: the float -> double conversion would read a
 * subnormal y as 0. */
static void report(const char *label, const float *y, int kept, const pf_state *s)
{
    unsigned csr = _mm_getcsr();
    _mm_setcsr(csr & ~FTZ_DAZ);
    printf("%s %a %a %a %d %d %d\n", label, (double)y[0], (double)y[1], (double)y[N - 1],
           kept, s->tasks, s->task_csr_kept);
    _mm_setcsr(csr);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    static float x[N], y[N];
    for (int i = 0; i < N; i++)
        x[i] = 0x1p-120f;
    x[0] = 0x1p-126f;
    x[1] = 0x1p-140f;
    unsigned caller = _mm_getcsr() & ~FTZ_DAZ;
    if (atoi(argv[1]))
        caller |= FTZ_DAZ;
    unsigned char *params = aligned(FN(_params_size)());
    void *ws = aligned(FN(_workspace_size)(2));
    if (!params || !ws)
        return 4;
    FN(_init_params)(params);
    FN(_inputs) inputs = {.x = x};
    FN(_outputs) outputs = {.y = y};

    pf_state s = {.worker_csr = caller & ~FTZ_DAZ, .task_csr_kept = 1};
    for (int i = 0; i < N; i++)
        y[i] = -1.0f;
    _mm_setcsr(caller); /* each call starts from the caller's setting */
    unsigned before = _mm_getcsr();
    if (FN(_run)(&inputs, &outputs, params, ws) != 0)
        return 5;
    report("run", y, CONTROL(_mm_getcsr()) == CONTROL(before), &s);

    for (int i = 0; i < N; i++)
        y[i] = -1.0f;
    _mm_setcsr(caller);
    before = _mm_getcsr();
    if (FN(_run_parallel)(&inputs, &outputs, params, ws, 2, two_chunks, &s) != 0)
        return 5;
    report("parallel", y, CONTROL(_mm_getcsr()) == CONTROL(before), &s);
    free(params);
    free(ws);
    return fflush(stdout) == 0 ? 0 : 6;
}
