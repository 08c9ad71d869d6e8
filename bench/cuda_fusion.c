/*
 * cuda_fusion.c — the CUDA backend on issue 5's workloads, fused against
 * unfused, with device-to-device copy bandwidth as the roof, and an MLP
 * training step checked against the reference backend for 10 steps.
 *
 *   build/bench/bench_cuda [runs]
 *
 * Times are device times of one run's kernel launches (events on the
 * program's stream; host<->device copies at run boundaries excluded),
 * median of RUNS.  Bytes are what the graph's inputs and outputs must
 * move, each once.  A benchmark, never a test: it prints a table; its exit
 * code is 1 only when no GPU is usable or the MLP check fails.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends.h"
#include "kiln.h"
#include "workloads.h"

typedef struct result {
    double ms[2]; /* fused, unfused */
    int kernels[2];
} result;

static kiln_program *compile(kiln_graph *g, kiln_backend backend, int no_fuse)
{
    kiln_program *p = kiln_compile(g, &(kiln_compile_options){.backend = backend,
                                                              .no_fuse = no_fuse});
    if (!p)
        fprintf(stderr, "bench_cuda: %s\n", kiln_graph_error(g));
    return p;
}

static int measure(kiln_graph *g, int runs, result *r)
{
    for (int k = 0; k < 2; k++) {
        kiln_program *p = compile(g, KILN_BACKEND_CUDA, k);
        if (!p)
            return -1;
        wl_bind_inputs(p);
        kiln_compile_stats s;
        kiln_program_stats(p, &s);
        r->kernels[k] = s.kernels;
        int bad = kiln_run(p) != KILN_OK || /* warm-up, and the params' upload */
                  kiln_backend_cuda_time_kernels(p, runs, &r->ms[k]) != KILN_OK;
        if (bad)
            fprintf(stderr, "bench_cuda: %s\n", kiln_program_error(p));
        kiln_program_free(p);
        if (bad)
            return -1;
    }
    return 0;
}

static void row(const char *name, const result *r, double bytes, double roof)
{
    double gbs = bytes / r->ms[0] / 1e6;
    printf("%-28s %9.4f %9.4f %7.2fx %4d %5d %8.1f %6.1f%%\n", name, r->ms[0], r->ms[1],
           r->ms[1] / r->ms[0], r->kernels[0], r->kernels[1], gbs, 100 * gbs / roof);
}

/* 10 Adam steps on the GPU and on the reference; the largest relative
 * difference of the losses.  -1 when either cannot run. */
static double mlp_vs_reference(int64_t batch, float *first, float *last)
{
    kiln_graph *g = wl_mlp_step(batch);
    kiln_program *p[2] = {compile(g, KILN_BACKEND_CUDA, 0), compile(g, KILN_BACKEND_REF, 0)};
    double worst = -1;
    for (int k = 0; p[0] && p[1] && k < 2; k++)
        wl_bind_inputs(p[k]);
    for (int step = 0; p[0] && p[1] && step < 10; step++) {
        float loss[2];
        for (int k = 0; k < 2; k++)
            if (kiln_run(p[k]) != KILN_OK ||
                kiln_get_output(p[k], "loss", &loss[k], sizeof loss[k]) != KILN_OK) {
                fprintf(stderr, "bench_cuda: %s\n", kiln_program_error(p[k]));
                step = 10, worst = -1;
                break;
            }
        if (step == 10)
            break;
        double d = fabs((double)loss[0] - loss[1]) / fmax(fabs((double)loss[1]), 1e-30);
        worst = fmax(worst, d);
        if (step == 0)
            *first = loss[1];
        *last = loss[1];
    }
    kiln_program_free(p[0]);
    kiln_program_free(p[1]);
    kiln_graph_free(g);
    return worst;
}

static double copy_roof(int runs, size_t bytes)
{
    kiln_graph *g = wl_chain(16);
    kiln_program *p = compile(g, KILN_BACKEND_CUDA, 0);
    double gbps = -1;
    if (p && kiln_backend_cuda_copy_gbps(p, bytes, runs, &gbps) != KILN_OK) {
        fprintf(stderr, "bench_cuda: %s\n", kiln_program_error(p));
        gbps = -1;
    }
    kiln_program_free(p);
    kiln_graph_free(g);
    return gbps;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 20;
    if (runs < 1 || runs > 10000)
        runs = 20;
    int64_t n = 16 << 20;
    double roof = copy_roof(runs, (size_t)n * 4);
    if (roof <= 0)
        return 1;
    printf("device-to-device copy of %lld MiB: %.1f GB/s (read + write): the roof\n",
           (long long)(n * 4 >> 20), roof);
    printf("device time of one run's kernels, median of %d (ms)\n", runs);
    printf("%-28s %9s %9s %8s %4s %5s %8s %7s\n", "workload", "fused", "unfused",
           "speedup", "kern", "kern", "GB/s", "roof");
    result r;
    kiln_graph *g = wl_chain(n);
    if (measure(g, runs, &r) == 0)
        row("(a) 8-op chain, 16M f32", &r, 8.0 * (double)n, roof);
    kiln_graph_free(g);
    g = wl_softmax();
    if (measure(g, runs, &r) == 0)
        row("(b) softmax 4096x1024", &r, 8.0 * 4096 * 1024, roof);
    kiln_graph_free(g);
    g = wl_layernorm();
    if (measure(g, runs, &r) == 0)
        row("(c) layer norm 4096x1024", &r, 8.0 * 4096 * 1024, roof);
    kiln_graph_free(g);
    int64_t batches[2] = {128, 1024};
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "(%c) MLP Adam step, B=%lld", i ? 'e' : 'd',
                 (long long)batches[i]);
        g = wl_mlp_step(batches[i]);
        if (measure(g, runs, &r) == 0)
            row(name, &r, 4.0 * (double)batches[i] * 785, roof);
        kiln_graph_free(g);
    }
    float first = 0, last = 0;
    double worst = mlp_vs_reference(128, &first, &last);
    /* f32 against the f64 reference through 10 Adam steps */
    int ok = worst >= 0 && worst <= 1e-3;
    printf("MLP 784-256-128-10 Adam, B=128, 10 steps vs reference: loss %.6f -> %.6f, "
           "max relative difference %.2e: %s\n",
           first, last, worst, ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
