/* cmd_bench.c — `kiln bench`: compile one graph fused and unfused, run
 * both on the same seeded inputs, interleaved so that drift in the
 * machine's speed hits both alike, and report medians. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#ifdef KILN_HAVE_CUDA
#include "backends.h"
#endif
#include "ir/kernel.h"
#include "passes/passes.h"

#define USAGE                                                             \
    "kiln bench FILE [--backend cpu|ref|cuda] [--runs N] [--threads N]\n" \
    "                  [--seed N] [--input NAME=FILE.bin ...]\n"          \
    "                  [--per-kernel] [--json]"

const char cli_bench_help[] =
    "usage: " USAGE "\n"
    "\n"
    "Compile FILE twice, fused and unfused (--no-fuse), bind the same\n"
    "inputs to both (seeded random values as 'kiln run' makes them, or\n"
    "--input files), run each once to warm up, then N times each,\n"
    "alternating, and print: the median time per run, kernels launched,\n"
    "arena bytes, an estimate of the bytes moved (every input, param and\n"
    "output binding once; intermediates not counted) with its GB/s, the\n"
    "GFLOP/s of the matmuls, the compile time, and the speed-up of fused\n"
    "over unfused.  A training step keeps updating its params from run\n"
    "to run.\n"
    "\n"
    "  --backend B    cpu (default), ref or cuda (run times include copying\n"
    "                 inputs to the GPU and outputs back; 'device ms' times\n"
    "                 the kernels alone, on GPU events)\n"
    "  --runs N       timed runs of each variant (default and least: 5)\n"
    "  --threads N    worker threads (default 0: one per core)\n"
    "  --seed N       seed for inputs not given by --input (default 0)\n"
    "  --input N=F    raw little-endian values for input N\n"
    "  --per-kernel   also time each kernel alone (cpu): it is called\n"
    "                 directly on one thread, N times after a warm-up;\n"
    "                 rows give its bytes (every buffer it touches once),\n"
    "                 GB/s and, for matmuls, GFLOP/s\n"
    "  --json         the same numbers as one JSON object\n"
    "\n"
    "When the graph has matmuls, GFLOP/s counts their work only\n"
    "(2 * M * N * K per product).\n";

typedef struct bench_args {
    const char *file;
    kiln_compile_options opts;
    int runs, per_kernel, json;
    uint64_t seed;
    int ninputs;
    char *inputs[CLI_MAX_INPUT_FILES];
} bench_args;

static int usage(const char *fmt, const char *arg)
{
    return cli_usage("bench", USAGE, fmt, arg);
}

static int parse_value(bench_args *a, const char *opt, const char *v)
{
    if (strcmp(opt, "--backend") == 0 && !cli_parse_backend(v, &a->opts.backend))
        return usage("unknown backend '%s' (want ref, cpu or cuda)", v);
    /* a median of fewer than 5 runs is mostly noise */
    if (strcmp(opt, "--runs") == 0 && !cli_parse_int(v, 5, 1000000, &a->runs))
        return usage("--runs wants an integer of at least 5, got '%s'", v);
    if (strcmp(opt, "--threads") == 0 &&
        !cli_parse_int(v, 0, 4096, &a->opts.threads))
        return usage("--threads wants an integer in [0, 4096], got '%s'", v);
    if (strcmp(opt, "--seed") == 0 && !cli_parse_u64(v, &a->seed))
        return usage("--seed wants a non-negative integer, got '%s'", v);
    if (strcmp(opt, "--input") == 0) {
        if (!strchr(v, '=') || v[0] == '=')
            return usage("--input wants NAME=FILE, got '%s'", v);
        if (a->ninputs == CLI_MAX_INPUT_FILES)
            return usage("more than 256 --input options%s", "");
        a->inputs[a->ninputs++] = (char *)v;
    }
    return CLI_OK;
}

static int parse_one(bench_args *a, int argc, char **argv, int *i)
{
    static const char *const valued[] = {"--backend", "--runs", "--threads",
                                         "--seed", "--input"};
    int missing = 0;
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
        const char *v = cli_option(valued[k], argc, argv, i, &missing);
        if (v)
            return parse_value(a, valued[k], v);
        if (missing)
            return usage("option '%s' needs a value", argv[*i]);
    }
    const char *arg = argv[*i];
    if (strcmp(arg, "--per-kernel") == 0)
        a->per_kernel = 1;
    else if (strcmp(arg, "--json") == 0)
        a->json = 1;
    else if (arg[0] == '-' && arg[1] != 0)
        return usage("unknown option '%s'", arg);
    else if (a->file)
        return usage("more than one FILE ('%s')", arg);
    else
        a->file = arg;
    return CLI_OK;
}

static int parse_args(bench_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->opts.backend = KILN_BACKEND_CPU;
    a->runs = 5;
    for (int i = 0; i < argc; i++) {
        int rc = parse_one(a, argc, argv, &i);
        if (rc != CLI_OK)
            return rc;
    }
    return a->file ? CLI_OK : usage("missing FILE%s", "");
}

static int run_timed(kiln_program *p, double *ms)
{
    double t0 = cli_now_ms();
    kiln_status s = kiln_run(p);
    *ms = cli_now_ms() - t0;
    return s == KILN_OK ? CLI_OK
                        : cli_fail(CLI_USER, "bench", "%s",
                                   kiln_program_error(p));
}

/* CUDA: the kernels alone too, without the copies at run boundaries. */
static int device_times(kiln_program *p[2], bench_report *r)
{
#ifdef KILN_HAVE_CUDA
    if (strcmp(r->backend, "cuda") != 0)
        return CLI_OK;
    for (int v = 0; v < 2; v++)
        if (kiln_backend_cuda_time_kernels(p[v], r->runs, &r->v[v].device_ms) != KILN_OK)
            return cli_fail(CLI_USER, "bench", "%s", kiln_program_error(p[v]));
#else
    (void)p, (void)r;
#endif
    return CLI_OK;
}

/* Warm up, then alternate which variant goes first in each round. */
static int measure(kiln_program *p[2], bench_report *r)
{
    double ms;
    int rc = run_timed(p[0], &ms);
    if (rc == CLI_OK)
        rc = run_timed(p[1], &ms);
    for (int round = 0; rc == CLI_OK && round < r->runs; round++)
        for (int k = 0; rc == CLI_OK && k < 2; k++) {
            int v = (round + k) % 2;
            rc = run_timed(p[v], &r->v[v].times_ms[round]);
        }
    for (int v = 0; rc == CLI_OK && v < 2; v++) {
        double *sorted = malloc((size_t)r->runs * sizeof *sorted);
        if (!sorted)
            return cli_fail(CLI_USER, "bench", "out of memory");
        memcpy(sorted, r->v[v].times_ms, (size_t)r->runs * sizeof *sorted);
        r->v[v].median_ms = cli_median(sorted, r->runs);
        free(sorted);
        kiln_program_stats(p[v], &r->v[v].stats);
    }
    return rc == CLI_OK ? device_times(p, r) : rc;
}

static int compile_both(kiln_graph *g, const bench_args *a, kiln_program *p[2])
{
    for (int v = 0; v < 2; v++) {
        kiln_compile_options o = a->opts;
        o.no_fuse = v;
        p[v] = kiln_compile(g, &o);
        if (!p[v])
            return cli_fail(CLI_USER, "bench", "%s: %s", a->file,
                            kiln_graph_error(g));
        int rc = cli_bind_inputs("bench", p[v], (char **)a->inputs,
                                 a->ninputs, a->seed);
        if (rc != CLI_OK)
            return rc;
    }
    return CLI_OK;
}

/* Floating-point work of the graph's contractions, from its kernel IR. */
static double matmul_flops(const kiln_graph *g)
{
    char err[256];
    k_program *kp = pass_lower_program(g, false, err, sizeof err);
    double flops = 0;
    for (int i = 0; kp && i < kp->nk; i++) {
        const kernel *k = &kp->k[i];
        double points = 1;
        for (int d = 0; d < k->rank; d++)
            points *= (double)k->dims[d];
        if (k->kind == K_MATMUL)
            flops += 2 * points * (double)k->k_len;
    }
    k_program_free(kp);
    return flops;
}

static int bench(kiln_graph *g, const bench_args *a, bench_report *r)
{
    static const char *const names[] = {"ref", "cpu", "cuda"};
    kiln_program *p[2] = {NULL, NULL};
    *r = (bench_report){.file = a->file, .backend = names[a->opts.backend],
                        .threads = a->opts.threads, .runs = a->runs,
                        .seed = a->seed};
    int rc = compile_both(g, a, p);
    for (int v = 0; rc == CLI_OK && v < 2; v++)
        if (!(r->v[v].times_ms = calloc((size_t)a->runs, sizeof(double))))
            rc = cli_fail(CLI_USER, "bench", "out of memory");
    if (rc == CLI_OK)
        rc = measure(p, r);
    if (rc == CLI_OK)
        r->bytes_moved = cli_binding_bytes(p[0], 'i') +
                         cli_binding_bytes(p[0], 'p') +
                         cli_binding_bytes(p[0], 'o');
    if (rc == CLI_OK)
        r->flops = matmul_flops(g);
    for (int v = 0; rc == CLI_OK && a->per_kernel && v < 2; v++)
        rc = bench_kernel_rows("bench", g, v == 0, a->runs, a->seed,
                               &r->v[v].rows, &r->v[v].nrows);
    kiln_program_free(p[0]);
    kiln_program_free(p[1]);
    return rc;
}

int cli_bench(int argc, char **argv)
{
    bench_args a;
    if (argc > 0 && cli_is_help(argv[0]))
        return fputs(cli_bench_help, stdout), CLI_OK;
    int rc = parse_args(&a, argc, argv);
    if (rc != CLI_OK)
        return rc;
    if (a.per_kernel && a.opts.backend != KILN_BACKEND_CPU)
        return usage("--per-kernel times CPU kernels; it needs --backend "
                     "cpu%s", "");
    kiln_graph *g = cli_load_graph("bench", a.file);
    if (!g)
        return CLI_USER;
    bench_report r;
    rc = bench(g, &a, &r);
    if (rc == CLI_OK && a.json)
        bench_print_json(&r);
    else if (rc == CLI_OK)
        bench_print_table(&r);
    for (int v = 0; v < 2; v++) {
        free(r.v[v].times_ms);
        free(r.v[v].rows);
    }
    kiln_graph_free(g);
    return rc;
}
