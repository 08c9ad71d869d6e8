/*
 * bench/gemm.c — kiln's emitted GEMM against OpenBLAS cblas_sgemm.
 *
 * A program, not a test.  For M = N = K in {256, 512, 1024, 2048} and 1 and
 * 2 threads it prints GFLOP/s (median of RUNS samples; kiln and OpenBLAS
 * samples interleaved so that machine noise hits both alike) and the ratio
 * kiln / OpenBLAS.  kiln's threads split M, each with its own work buffer,
 * as the CPU backend's thread pool does; OpenBLAS uses its own threads.
 *
 *   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 \
 *       build/bench/bench_gemm [--json] [--runs N] [--sizes 256,1024] \
 *       [--cpu-time]
 *
 * --cpu-time times the 1-thread rows by the calling thread's CPU time
 * instead of the wall clock (and skips the 2-thread rows): on a shared,
 * oversubscribed machine that measures the code rather than the queue.
 *
 * Last, the JIT compile time of the MLP 784-256-128-10 Adam training step
 * (batch 128) with 1 and 2 compile threads: median of --compile-runs
 * compiles (default 7) per stage; --compile-only skips the GEMM rows.
 *
 * OPENBLAS_NUM_THREADS must be >= 2 for the 2-thread rows (the 1-thread
 * rows call openblas_set_num_threads(1)).  OpenBLAS picks its kernels from
 * the CPU at load time; the core it chose is printed first, since an old
 * OpenBLAS on a newer CPU falls back to SSE kernels.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "gemm_jit.h"
#include "workloads.h"

enum { MAX_THREADS = 2, MAX_SIZES = 8, DEFAULT_RUNS = 7 };

typedef struct bench_job {
    gemm_f32_fn fn;
    const float *a, *b;
    float *c, *work;
    int64_t n, row0, rows;
} bench_job;

/* Persistent workers: a run is one barrier to start, one to finish. */
typedef struct bench_pool {
    pthread_t tid[MAX_THREADS];
    pthread_barrier_t start, done;
    bench_job job[MAX_THREADS];
    int threads, quit;
} bench_pool;

static double now(int cpu_time)
{
    struct timespec t;
    clock_gettime(cpu_time ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void run_job(const bench_job *j)
{
    if (j->rows > 0)
        j->fn(j->a + j->row0 * j->n, j->n, 1, j->b, j->n, 1,
              j->c + j->row0 * j->n, j->n, j->rows, j->n, j->n, j->work);
}

static void *worker(void *arg)
{
    bench_pool *p = arg;
    for (;;) {
        pthread_barrier_wait(&p->start);
        if (p->quit)
            return NULL;
        run_job(&p->job[1]);
        pthread_barrier_wait(&p->done);
    }
}

static void kiln_gemm(bench_pool *p, int threads)
{
    if (threads == 1) {
        bench_job whole = p->job[0];
        whole.row0 = 0;
        whole.rows = whole.n;
        run_job(&whole);
        return;
    }
    pthread_barrier_wait(&p->start);
    run_job(&p->job[0]);
    pthread_barrier_wait(&p->done);
}

static void blas_gemm(const bench_job *j)
{
    int n = (int)j->n;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f,
                j->a, n, j->b, n, 0.0f, j->c, n);
}

typedef struct bench_opts {
    int runs, json, cpu_time, nsizes, compile_runs, compile_only;
    int sizes[MAX_SIZES];
} bench_opts;

typedef struct bench_row {
    int n, threads;
    double kiln, blas, maxdiff;
} bench_row;

/* Seconds per call of kiln (which = 0) or OpenBLAS (1), over reps calls. */
static double sample(bench_pool *p, int which, int threads, int reps,
                     int cpu_time)
{
    double t = now(cpu_time);
    for (int r = 0; r < reps; r++) {
        if (which == 0)
            kiln_gemm(p, threads);
        else
            blas_gemm(&p->job[0]);
    }
    return (now(cpu_time) - t) / reps;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Largest |kiln - OpenBLAS| relative to the largest |C| element. */
static double compare(bench_pool *p, int threads, int64_t n, float *ref)
{
    blas_gemm(&p->job[0]);
    memcpy(ref, p->job[0].c, sizeof(float) * (size_t)(n * n));
    kiln_gemm(p, threads);
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < n * n; i++) {
        diff = fmax(diff, fabs((double)p->job[0].c[i] - ref[i]));
        scale = fmax(scale, fabs((double)ref[i]));
    }
    return scale > 0 ? diff / scale : diff;
}

static void measure(bench_pool *p, int threads, const bench_opts *o,
                    bench_row *row)
{
    openblas_set_num_threads(threads);
    double flop = 2.0 * (double)row->n * (double)row->n * (double)row->n;
    double est = sample(p, 0, threads, 1, o->cpu_time) +
                 sample(p, 1, threads, 1, o->cpu_time);
    int reps = (int)(0.05 / (est > 1e-9 ? est : 1e-9)) + 1, runs = o->runs;
    double tk[64], tb[64];
    for (int s = 0; s < runs; s++) {
        tk[s] = sample(p, 0, threads, reps, o->cpu_time);
        tb[s] = sample(p, 1, threads, reps, o->cpu_time);
    }
    row->threads = threads;
    row->kiln = flop / median(tk, runs) * 1e-9;
    row->blas = flop / median(tb, runs) * 1e-9;
}

static float *random_matrix(int64_t n, unsigned *seed)
{
    float *m = gemm_jit_alloc(sizeof(float) * (size_t)(n * n));
    for (int64_t i = 0; m && i < n * n; i++)
        m[i] = (float)rand_r(seed) / (float)RAND_MAX - 0.5f;
    return m;
}

/* One matrix size: both thread counts, rows appended to out. */
static int bench_size(bench_pool *p, const gemm_jit *j, int n,
                      const bench_opts *o, bench_row *out)
{
    unsigned seed = (unsigned)n;
    float *a = random_matrix(n, &seed), *b = random_matrix(n, &seed);
    float *c = gemm_jit_alloc(sizeof(float) * (size_t)n * (size_t)n);
    float *ref = gemm_jit_alloc(sizeof(float) * (size_t)n * (size_t)n);
    int ok = a && b && c && ref;
    /* Split M at a multiple of MR so that no thread gets an extra edge. */
    int64_t mr = j->blocking.mr, half = ((int64_t)n / 2 + mr - 1) / mr * mr;
    for (int t = 0; ok && t < MAX_THREADS; t++) {
        bench_job *job = &p->job[t];
        *job = (bench_job){(gemm_f32_fn)j->fn, a, b, c, job->work, n,
                           t ? half : 0, t ? n - half : half};
    }
    for (int t = 1; ok && t <= (o->cpu_time ? 1 : MAX_THREADS); t++) {
        bench_row *row = &out[t - 1];
        row->n = n;
        measure(p, t, o, row);
        row->maxdiff = compare(p, t, n, ref);
    }
    free(a);
    free(b);
    free(c);
    free(ref);
    return ok ? 0 : -1;
}

static void print_rows(const bench_row *rows, int count, int json)
{
    if (json) {
        printf("[\n");
        for (int i = 0; i < count; i++)
            printf("  {\"n\": %d, \"threads\": %d, \"kiln_gflops\": %.2f, "
                   "\"openblas_gflops\": %.2f, \"ratio\": %.3f, "
                   "\"max_rel_diff\": %.2e}%s\n", rows[i].n, rows[i].threads,
                   rows[i].kiln, rows[i].blas, rows[i].kiln / rows[i].blas,
                   rows[i].maxdiff, i + 1 < count ? "," : "");
        printf("]\n");
        return;
    }
    printf("%6s %7s %12s %14s %8s %12s\n", "M=N=K", "threads", "kiln GF/s",
           "OpenBLAS GF/s", "ratio", "max rel diff");
    for (int i = 0; i < count; i++)
        printf("%6d %7d %12.1f %14.1f %7.0f%% %12.1e\n", rows[i].n,
               rows[i].threads, rows[i].kiln, rows[i].blas,
               100.0 * rows[i].kiln / rows[i].blas, rows[i].maxdiff);
}

/* ---- JIT compile time of a training step ------------------------------ */

enum { STAGES = 6 };

/* Median per stage (lower, codegen, optimize, jit, total wall clock, and
 * the process's CPU time, all threads) over runs. */
static int compile_times(kiln_graph *g, int threads, int runs, double med[STAGES],
                         int *kernels)
{
    double t[STAGES][64];
    for (int r = 0; r < runs; r++) {
        struct timespec c0, c1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
        kiln_program *p = kiln_compile(g, &(kiln_compile_options){
                                              .backend = KILN_BACKEND_CPU, .threads = threads});
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
        kiln_compile_stats s;
        if (!p || kiln_program_stats(p, &s) != KILN_OK) {
            fprintf(stderr, "bench_gemm: %s\n", kiln_graph_error(g));
            kiln_program_free(p);
            return -1;
        }
        double v[STAGES] = {s.lower_ms, s.codegen_ms, s.optimize_ms, s.jit_ms, s.total_ms,
                            (double)(c1.tv_sec - c0.tv_sec) * 1e3 +
                                (double)(c1.tv_nsec - c0.tv_nsec) * 1e-6};
        for (int k = 0; k < STAGES; k++)
            t[k][r] = v[k];
        *kernels = s.kernels;
        kiln_program_free(p);
    }
    for (int k = 0; k < STAGES; k++)
        med[k] = median(t[k], runs);
    return 0;
}

/* Both thread counts, interleaved run by run so noise hits both alike. */
static int bench_compile(const bench_opts *o)
{
    kiln_graph *g = wl_mlp_step(128);
    if (kiln_graph_status(g) != KILN_OK) {
        fprintf(stderr, "bench_gemm: %s\n", kiln_graph_error(g));
        kiln_graph_free(g);
        return -1;
    }
    double t[MAX_THREADS][STAGES][64], med[MAX_THREADS][STAGES];
    int kernels = 0, rc = 0;
    for (int r = 0; rc == 0 && r < o->compile_runs; r++)
        for (int th = 1; rc == 0 && th <= MAX_THREADS; th++) {
            double one[STAGES] = {0};
            rc = compile_times(g, th, 1, one, &kernels);
            for (int k = 0; k < STAGES; k++)
                t[th - 1][k][r] = one[k];
        }
    for (int th = 0; rc == 0 && th < MAX_THREADS; th++)
        for (int k = 0; k < STAGES; k++)
            med[th][k] = median(t[th][k], o->compile_runs);
    for (int th = 0; rc == 0 && th < MAX_THREADS; th++) {
        if (o->json)
            printf("{\"mlp_adam_compile\": {\"threads\": %d, \"kernels\": %d, "
                   "\"lower_ms\": %.1f, \"codegen_ms\": %.1f, \"optimize_ms\": %.1f, "
                   "\"jit_ms\": %.1f, \"total_ms\": %.1f, \"cpu_ms\": %.1f}}\n", th + 1,
                   kernels, med[th][0], med[th][1], med[th][2], med[th][3], med[th][4],
                   med[th][5]);
        else
            printf("MLP 784-256-128-10 Adam step, B=128, %d kernels, %d thread%s: "
                   "compile %.1f ms (lower %.1f, codegen %.1f, optimize %.1f, jit %.1f), "
                   "CPU time %.1f ms; median of %d\n", kernels, th + 1, th ? "s" : "",
                   med[th][4], med[th][0], med[th][1], med[th][2], med[th][3], med[th][5],
                   o->compile_runs);
    }
    kiln_graph_free(g);
    return rc;
}

static int parse_args(int argc, char **argv, bench_opts *o)
{
    *o = (bench_opts){DEFAULT_RUNS, 0, 0, 4, DEFAULT_RUNS, 0, {256, 512, 1024, 2048}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
        } else if (strcmp(argv[i], "--cpu-time") == 0) {
            o->cpu_time = 1;
        } else if (strcmp(argv[i], "--compile-only") == 0) {
            o->compile_only = 1;
        } else if (strcmp(argv[i], "--compile-runs") == 0 && i + 1 < argc) {
            o->compile_runs = atoi(argv[++i]);
            if (o->compile_runs < 1 || o->compile_runs > 64)
                return -1;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            o->runs = atoi(argv[++i]);
            if (o->runs < 1 || o->runs > 64)
                return -1;
        } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            o->nsizes = 0;
            for (char *s = strtok(argv[++i], ","); s && o->nsizes < MAX_SIZES;
                 s = strtok(NULL, ","))
                if ((o->sizes[o->nsizes++] = atoi(s)) < 1)
                    return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

static int pool_start(bench_pool *p, size_t work_bytes)
{
    memset(p, 0, sizeof *p);
    for (int t = 0; t < MAX_THREADS; t++)
        if (!(p->job[t].work = gemm_jit_alloc(work_bytes)))
            return -1;
    pthread_barrier_init(&p->start, NULL, 2);
    pthread_barrier_init(&p->done, NULL, 2);
    return pthread_create(&p->tid[1], NULL, worker, p) ? -1 : 0;
}

static void pool_stop(bench_pool *p)
{
    p->quit = 1;
    pthread_barrier_wait(&p->start);
    pthread_join(p->tid[1], NULL);
    pthread_barrier_destroy(&p->start);
    pthread_barrier_destroy(&p->done);
    for (int t = 0; t < MAX_THREADS; t++)
        free(p->job[t].work);
}

int main(int argc, char **argv)
{
    bench_opts o;
    if (parse_args(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: %s [--json] [--runs N] [--sizes N,N,...] "
                "[--cpu-time] [--compile-runs N] [--compile-only]\n", argv[0]);
        return 2;
    }
    if (o.compile_only)
        return bench_compile(&o) ? 1 : 0;
    char err[512];
    gemm_jit j;
    if (gemm_jit_init(&j, KILN_F32, NULL, 0, err, sizeof err) < 0) {
        fprintf(stderr, "bench_gemm: %s\n", err);
        return 1;
    }
    const cpu_gemm_blocking *k = &j.blocking;
    printf("# kiln: cpu %s, %d-bit vectors, MR %d NR %d KC %d MC %d NC %d\n"
           "# OpenBLAS: core %s (%s)\n# median of %d runs, interleaved, "
           "%s\n", j.cpu, j.vector_bits, k->mr, k->nr, k->kc, k->mc, k->nc,
           openblas_get_corename(), openblas_get_config(), o.runs,
           o.cpu_time ? "thread CPU time" : "wall clock");
    bench_pool pool;
    bench_row rows[MAX_SIZES * MAX_THREADS];
    int count = 0, rc = pool_start(&pool, j.work_bytes);
    int per_size = o.cpu_time ? 1 : MAX_THREADS;
    for (int s = 0; rc == 0 && s < o.nsizes; s++, count += per_size)
        rc = bench_size(&pool, &j, o.sizes[s], &o, rows + count);
    if (rc == 0)
        print_rows(rows, count, o.json);
    if (rc == 0)
        rc = bench_compile(&o);
    else
        fprintf(stderr, "bench_gemm: out of memory\n");
    pool_stop(&pool);
    gemm_jit_free(&j);
    return rc ? 1 : 0;
}
