/*
 * fusion.c — fused against unfused on the fixed workloads of issue 5,
 * measured in one run, interleaved, median of RUNS timed runs each.
 *
 *   build/bench/bench_fusion [threads] [runs]
 *
 * (a) y = tanh(x*0.5+0.1)*sigmoid(x) + relu(x-0.2) on 16M floats, also
 *     against a hand-written C loop (gcc -O3 -march=native -ffast-math);
 * (b) softmax over 4096x1024; (c) layer-norm-like normalisation 4096x1024;
 * (d), (e) MLP 784-256-128-10 Adam training step at batch 128 and 1024,
 *     against the sum of its matmuls (the same 8 GEMMs, timed alone).
 * Bytes are what the graph's inputs and outputs must move (each read or
 * written once); a benchmark, never a test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain_ref.h"
#include "kiln.h"
#include "workloads.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct result {
    double fused_ms, unfused_ms, extra_ms;
    int fused_kernels, unfused_kernels;
    long long fused_arena, unfused_arena;
} result;

/* Compile g both ways and time them interleaved. */
static int measure(kiln_graph *g, int threads, int runs, result *r)
{
    kiln_program *p[2];
    for (int k = 0; k < 2; k++) {
        p[k] = kiln_compile(g, &(kiln_compile_options){.backend = KILN_BACKEND_CPU,
                                                         .threads = threads, .no_fuse = k});
        if (!p[k]) {
            fprintf(stderr, "bench_fusion: %s\n", kiln_graph_error(g));
            return -1;
        }
        wl_bind_inputs(p[k]);
        kiln_run(p[k]); /* warm-up: pages, caches */
        kiln_compile_stats s;
        kiln_program_stats(p[k], &s);
        *(k ? &r->unfused_kernels : &r->fused_kernels) = s.kernels;
        *(k ? &r->unfused_arena : &r->fused_arena) = (long long)s.arena_bytes;
    }
    double t[2][64];
    for (int i = 0; i < runs; i++)
        for (int k = 0; k < 2; k++) {
            double t0 = now_ms();
            kiln_run(p[k]);
            t[k][i] = now_ms() - t0;
        }
    r->fused_ms = median(t[0], runs);
    r->unfused_ms = median(t[1], runs);
    kiln_program_free(p[0]);
    kiln_program_free(p[1]);
    return 0;
}

/* The eight GEMMs of one MLP step (3 forward, 5 backward), alone. */
static kiln_graph *mlp_matmuls(int64_t B)
{
    kiln_graph *g = kiln_graph_new();
    int64_t dims[][3] = {{B, 784, 256}, {B, 256, 128}, {B, 128, 10},  /* forward */
                         {128, B, 10}, {B, 10, 128},                  /* dW3, dh2 */
                         {256, B, 128}, {B, 128, 256}, {784, B, 256}}; /* dW2, dh1, dW1 */
    for (int i = 0; i < 8; i++) {
        char a[8], b[8], o[8];
        snprintf(a, sizeof a, "a%d", i);
        snprintf(b, sizeof b, "b%d", i);
        snprintf(o, sizeof o, "c%d", i);
        kiln_node A = kiln_input(g, a, KILN_F32, 2, (int64_t[]){dims[i][0], dims[i][1]});
        kiln_node Bm = kiln_input(g, b, KILN_F32, 2, (int64_t[]){dims[i][1], dims[i][2]});
        kiln_output(g, o, kiln_matmul(g, A, Bm));
    }
    return g;
}

static void row(const char *name, const result *r, double bytes)
{
    printf("%-28s %9.3f %9.3f %7.2fx %4d %5d %8.1f %8.1f\n", name, r->fused_ms, r->unfused_ms,
           r->unfused_ms / r->fused_ms, r->fused_kernels, r->unfused_kernels,
           bytes / r->fused_ms / 1e6, bytes / r->unfused_ms / 1e6);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, runs = argc > 2 ? atoi(argv[2]) : 7;
    if (runs < 1 || runs > 64)
        runs = 7;
    printf("threads %d, median of %d interleaved runs (ms)\n", threads, runs);
    printf("%-28s %9s %9s %8s %4s %5s %8s %8s\n", "workload", "fused", "unfused", "speedup",
           "kern", "kern", "GB/s", "GB/s");
    result r;
    int64_t n = 16 << 20;
    kiln_graph *g = wl_chain(n);
    if (measure(g, threads, runs, &r) == 0) {
        row("(a) 8-op chain, 16M f32", &r, 8.0 * n);
        float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4);
        double t[64];
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)sin(0.37 * (double)i);
        chain_ref(x, y, (size_t)n);
        for (int i = 0; i < runs; i++) {
            double t0 = now_ms();
            chain_ref(x, y, (size_t)n);
            t[i] = now_ms() - t0;
        }
        double c = median(t, runs);
        printf("%-28s %9.3f %9s %7.2fx (kiln fused / C loop time: %.2f)\n",
               "(a) C loop -O3 -ffast-math", c, "", c / r.fused_ms, r.fused_ms / c);
        free(x);
        free(y);
    }
    kiln_graph_free(g);
    g = wl_softmax();
    if (measure(g, threads, runs, &r) == 0)
        row("(b) softmax 4096x1024", &r, 8.0 * 4096 * 1024);
    kiln_graph_free(g);
    g = wl_layernorm();
    if (measure(g, threads, runs, &r) == 0)
        row("(c) layer norm 4096x1024", &r, 8.0 * 4096 * 1024);
    kiln_graph_free(g);
    int64_t batches[2] = {128, 1024};
    for (int i = 0; i < 2; i++) {
        char name[64];
        g = wl_mlp_step(batches[i]);
        if (measure(g, threads, runs, &r) == 0) {
            snprintf(name, sizeof name, "(%c) MLP Adam step, B=%lld", i ? 'e' : 'd',
                     (long long)batches[i]);
            row(name, &r, 4.0 * (double)batches[i] * 785);
            printf("    arena bytes: fused %lld, unfused %lld\n", r.fused_arena, r.unfused_arena);
        }
        kiln_graph_free(g);
        g = mlp_matmuls(batches[i]);
        result m;
        if (measure(g, threads, runs, &m) == 0)
            printf("    its 8 matmuls alone: %.3f ms; fused step / matmuls = %.2f\n",
                   m.fused_ms, r.fused_ms / m.fused_ms);
        kiln_graph_free(g);
    }
    return 0;
}
