/* cmd_run.c — `kiln run`: compile a graph file with a backend, bind
 * inputs (from files or seeded random values), run it once or for N
 * steps (a training step's assigns carry params from one to the next),
 * print each output's summary and optionally write the raw outputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define USAGE                                                              \
    "kiln run FILE [--backend ref|cpu|cuda] [--no-fuse] [--threads N]\n"   \
    "                [--keep-denormals]\n"                                \
    "                [--seed N] [--input NAME=FILE.bin ...] [--out DIR]\n" \
    "                [--steps N] [--quiet] [--timings]\n"                  \
    "                [--dump-after=PASS[,PASS...]|all]"

const char cli_run_help[] =
    "usage: " USAGE "\n"
    "\n"
    "Compile FILE with a backend (default ref, the reference evaluator),\n"
    "run it and print, for each output in order:\n"
    "  NAME: TYPE [first values] sum=S fnv1a64=H\n"
    "where S is the sum of all values in f64 and H the FNV-1a-64 hash of\n"
    "the output's raw little-endian bytes.\n"
    "\n"
    "  --backend B          ref, cpu (LLVM JIT, when built in) or cuda (an\n"
    "                       NVIDIA GPU through its driver, libcuda.so.1 or\n"
    "                       $KILN_CUDA_DRIVER; $KILN_CUDA_CACHE_DIR keeps\n"
    "                       compiled kernels across runs)\n"
    "  --no-fuse            one kernel per node (cpu)\n"
    "  --threads N          worker threads (cpu; default 0: one per core)\n"
    "  --keep-denormals     compute with IEEE subnormals (cpu; by default\n"
    "                       they are flushed to zero, see kiln.h)\n"
    "  --seed N             seed for inputs not given by --input (default 0):\n"
    "                       floating uniform in [-1, 1), i32 in [0, 4),\n"
    "                       bool 0 or 1\n"
    "  --input NAME=FILE    raw little-endian values for input NAME; the\n"
    "                       file size must be exactly the input's bytes\n"
    "  --out DIR            write each output of the last step to\n"
    "                       DIR/NAME.bin (raw, little-endian); DIR is\n"
    "                       created if missing\n"
    "  --steps N            run N times (default 1); params assigned by a\n"
    "                       step are what the next step reads.  With N > 1\n"
    "                       each step's outputs follow a line 'step K:'\n"
    "  --quiet              print only the last step's outputs\n"
    "  --timings            print compile time per stage, kernels, arena\n"
    "                       size and run time to stderr\n"
    "  --dump-after=P       print the graph after the compiler's pass P to\n"
    "                       stderr; P is a comma list of: all, decompose,\n"
    "                       the simplification passes, lower (kernel IR)\n";

typedef struct run_args {
    const char *file, *out, *dump;
    kiln_compile_options opts;
    uint64_t seed;
    int steps, quiet, timings;
    int ninputs;
    char *inputs[CLI_MAX_INPUT_FILES]; /* "NAME=FILE", as given */
} run_args;

static int usage(const char *fmt, const char *arg)
{
    return cli_usage("run", USAGE, fmt, arg);
}

static int parse_value(run_args *a, const char *opt, const char *v)
{
    if (strcmp(opt, "--backend") == 0 && !cli_parse_backend(v, &a->opts.backend))
        return usage("unknown backend '%s' (want ref, cpu or cuda)", v);
    if (strcmp(opt, "--seed") == 0 && !cli_parse_u64(v, &a->seed))
        return usage("--seed wants a non-negative integer, got '%s'", v);
    if (strcmp(opt, "--steps") == 0 && !cli_parse_int(v, 1, 1 << 30, &a->steps))
        return usage("--steps wants a positive integer, got '%s'", v);
    if (strcmp(opt, "--threads") == 0 &&
        !cli_parse_int(v, 0, 4096, &a->opts.threads))
        return usage("--threads wants an integer in [0, 4096], got '%s'", v);
    if (strcmp(opt, "--out") == 0)
        a->out = v;
    if (strcmp(opt, "--dump-after") == 0) {
        a->dump = v;
        return cli_dump_check("run", USAGE, v);
    }
    if (strcmp(opt, "--input") == 0) {
        if (!strchr(v, '=') || v[0] == '=')
            return usage("--input wants NAME=FILE, got '%s'", v);
        if (a->ninputs == CLI_MAX_INPUT_FILES)
            return usage("more than 256 --input options%s", "");
        a->inputs[a->ninputs++] = (char *)v;
    }
    return CLI_OK;
}

static int parse_one(run_args *a, int argc, char **argv, int *i)
{
    static const char *const valued[] = {"--backend", "--out", "--seed",
                                         "--input", "--steps", "--threads",
                                         "--dump-after"};
    int missing = 0;
    for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) {
        const char *v = cli_option(valued[k], argc, argv, i, &missing);
        if (v)
            return parse_value(a, valued[k], v);
        if (missing)
            return usage("option '%s' needs a value", argv[*i]);
    }
    const char *arg = argv[*i];
    if (strcmp(arg, "--no-fuse") == 0)
        a->opts.no_fuse = 1;
    else if (strcmp(arg, "--keep-denormals") == 0)
        a->opts.keep_denormals = 1;
    else if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0)
        a->quiet = 1;
    else if (strcmp(arg, "--timings") == 0)
        a->timings = 1;
    else if (arg[0] == '-' && arg[1] != 0)
        return usage("unknown option '%s'", arg);
    else if (a->file)
        return usage("more than one FILE ('%s')", arg);
    else
        a->file = arg;
    return CLI_OK;
}

static int parse_args(run_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->opts.backend = KILN_BACKEND_REF;
    a->steps = 1;
    for (int i = 0; i < argc; i++) {
        int rc = parse_one(a, argc, argv, &i);
        if (rc != CLI_OK)
            return rc;
    }
    return a->file ? CLI_OK : usage("missing FILE%s", "");
}

static int write_output(const char *dir, const kiln_binding *b,
                        const void *le_data, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.bin", dir, b->name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return cli_fail(CLI_USER, "run", "cannot write %s: %s", path,
                        strerror(errno));
    int bad = fwrite(le_data, 1, bytes, f) != bytes;
    bad |= fclose(f) != 0;
    return bad ? cli_fail(CLI_USER, "run", "cannot write %s", path) : CLI_OK;
}

static int report_outputs(kiln_program *p, const char *out_dir)
{
    if (out_dir && mkdir(out_dir, 0777) != 0 && errno != EEXIST)
        return cli_fail(CLI_USER, "run", "cannot create %s: %s", out_dir,
                        strerror(errno));
    for (int i = 0; i < kiln_program_binding_count(p); i++) {
        kiln_binding b;
        kiln_program_binding(p, i, &b);
        if (b.kind != 'o')
            continue;
        size_t bytes = cli_numel(&b) * kiln_dtype_size(b.dtype);
        void *data = malloc(bytes ? bytes : 1);
        if (!data)
            return cli_fail(CLI_USER, "run", "out of memory");
        kiln_get_output(p, b.name, data, bytes);
        cli_print_summary(&b, data);
        cli_to_little_endian(&b, data);
        int rc = out_dir ? write_output(out_dir, &b, data, bytes) : CLI_OK;
        free(data);
        if (rc != CLI_OK)
            return rc;
    }
    return CLI_OK;
}

static void print_timings(const kiln_program *p, int steps, double run_ms)
{
    kiln_compile_stats s;
    if (kiln_program_stats(p, &s) != KILN_OK)
        return;
    fprintf(stderr,
            "timings: lower %.3f ms, codegen %.3f ms, optimize %.3f ms, "
            "jit %.3f ms, compile total %.3f ms\n"
            "program: %d kernels, arena %lld bytes\n"
            "run: %d steps in %.3f ms, %.3f ms per step\n",
            s.lower_ms, s.codegen_ms, s.optimize_ms, s.jit_ms, s.total_ms,
            s.kernels, (long long)s.arena_bytes, steps, run_ms,
            run_ms / steps);
}

/* Run the steps, printing outputs as asked; the last step's go to --out. */
static int run_steps(kiln_program *p, const run_args *a)
{
    double run_ms = 0;
    for (int step = 1; step <= a->steps; step++) {
        double t0 = cli_now_ms();
        if (kiln_run(p) != KILN_OK)
            return cli_fail(CLI_USER, "run", "%s: step %d: %s", a->file, step,
                            kiln_program_error(p));
        run_ms += cli_now_ms() - t0;
        bool last = step == a->steps;
        if (a->quiet && !last)
            continue;
        if (a->steps > 1)
            printf("step %d:\n", step);
        int rc = report_outputs(p, last ? a->out : NULL);
        if (rc != CLI_OK)
            return rc;
    }
    if (a->timings) {
        fflush(stdout);
        print_timings(p, a->steps, run_ms);
    }
    return CLI_OK;
}

int cli_run(int argc, char **argv)
{
    run_args a;
    if (argc > 0 && cli_is_help(argv[0]))
        return fputs(cli_run_help, stdout), CLI_OK;
    int rc = parse_args(&a, argc, argv);
    if (rc != CLI_OK)
        return rc;
    kiln_graph *g = cli_load_graph("run", a.file);
    if (!g)
        return CLI_USER;
    rc = cli_dump_after("run", g, a.dump, !a.opts.no_fuse);
    kiln_program *p = rc == CLI_OK ? kiln_compile(g, &a.opts) : NULL;
    if (rc == CLI_OK && !p)
        rc = cli_fail(CLI_USER, "run", "%s: %s", a.file, kiln_graph_error(g));
    if (rc == CLI_OK)
        rc = cli_bind_inputs("run", p, a.inputs, a.ninputs, a.seed);
    if (rc == CLI_OK)
        rc = run_steps(p, &a);
    kiln_program_free(p);
    kiln_graph_free(g);
    return rc;
}
