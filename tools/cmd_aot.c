/* cmd_aot.c — `kiln compile`: ahead-of-time compilation of a graph file
 * into NAME.o and NAME.h (kiln_compile_aot), or, with --backend cuda, into
 * the CUDA C source and the PTX or CUBIN NVRTC makes of it (no GPU
 * needed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#ifdef KILN_HAVE_CUDA
#include "backends.h"
#endif

#define USAGE                                                            \
    "kiln compile FILE -o PATH [--name PREFIX] [--cpu native|CPU] "      \
    "[--no-fuse]\n"                                                      \
    "                    [--keep-denormals]\n"                              \
    "                    [--backend cpu|cuda] [--cuda-arch ARCH]"

const char cli_compile_help[] =
    "usage: " USAGE "\n"
    "\n"
    "Compile FILE for the CPU ahead of time: write PATH.o (a PIC object\n"
    "file) and PATH.h (its C header), so a C program can run the graph\n"
    "linking only PATH.o (no libkiln, no LLVM).  The header declares\n"
    "PREFIX_run, PREFIX_init_params and the sizes and layout of the\n"
    "params and workspace blocks.\n"
    "\n"
    "  -o PATH         output path without extension (required)\n"
    "  --name PREFIX   C prefix of the generated names (default: the last\n"
    "                  component of PATH; must be a C identifier)\n"
    "  --cpu CPU       native (default: this host) or an LLVM CPU name\n"
    "                  such as x86-64-v3, to run on other machines\n"
    "  --no-fuse       one kernel per node\n"
    "  --keep-denormals  compute with IEEE subnormals (by default the\n"
    "                  object flushes them to zero while it runs)\n"
    "  --backend B     cpu (default) or cuda: write PATH.cu, the CUDA C of\n"
    "                  every kernel, and PATH.ptx (or PATH.cubin for an\n"
    "                  sm_XY arch) compiled by NVRTC; needs no GPU\n"
    "  --cuda-arch A   compute_XY (PTX, default compute_90) or sm_XY\n";

typedef struct aot_args {
    const char *file, *path, *name, *cpu, *arch;
    kiln_backend backend;
    int no_fuse, keep_denormals;
} aot_args;

static int parse_one(aot_args *a, int argc, char **argv, int *i)
{
    int missing = 0;
    const char *v;
    if ((v = cli_option("-o", argc, argv, i, &missing)) ||
        (!missing && (v = cli_option("--output", argc, argv, i, &missing))))
        a->path = v;
    else if (!missing && (v = cli_option("--name", argc, argv, i, &missing)))
        a->name = v;
    else if (!missing && (v = cli_option("--cpu", argc, argv, i, &missing)))
        a->cpu = v;
    else if (!missing && (v = cli_option("--cuda-arch", argc, argv, i, &missing)))
        a->arch = v;
    else if (!missing && (v = cli_option("--backend", argc, argv, i, &missing))) {
        if (!cli_parse_backend(v, &a->backend) || a->backend == KILN_BACKEND_REF)
            return cli_usage("compile", USAGE, "unknown backend '%s' (want cpu or cuda)", v);
    }
    else if (missing)
        return cli_usage("compile", USAGE, "option '%s' needs a value",
                         argv[*i]);
    else if (strcmp(argv[*i], "--keep-denormals") == 0)
        a->keep_denormals = 1;
    else if (strcmp(argv[*i], "--no-fuse") == 0)
        a->no_fuse = 1;
    else if (argv[*i][0] == '-' && argv[*i][1] != 0)
        return cli_usage("compile", USAGE, "unknown option '%s'", argv[*i]);
    else if (a->file)
        return cli_usage("compile", USAGE, "more than one FILE ('%s')",
                         argv[*i]);
    else
        a->file = argv[*i];
    return CLI_OK;
}

static int parse_args(aot_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->backend = KILN_BACKEND_CPU;
    for (int i = 0; i < argc; i++) {
        int rc = parse_one(a, argc, argv, &i);
        if (rc != CLI_OK)
            return rc;
    }
    if (!a->file)
        return cli_usage("compile", USAGE, "missing FILE");
    if (!a->path || !*a->path)
        return cli_usage("compile", USAGE, "missing -o PATH");
    if (a->arch && a->backend != KILN_BACKEND_CUDA)
        return cli_usage("compile", USAGE, "--cuda-arch needs --backend cuda");
    if (!a->name) {
        const char *slash = strrchr(a->path, '/');
        a->name = slash ? slash + 1 : a->path;
    }
    return CLI_OK;
}

/* PATH.cu and PATH.ptx / PATH.cubin. */
static int compile_cuda(const aot_args *a, kiln_graph *g)
{
#ifdef KILN_HAVE_CUDA
    const char *arch = a->arch ? a->arch : "compute_90";
    char err[4096], path[4096];
    char *src = NULL;
    void *image = NULL;
    size_t size = 0;
    if (!kiln_backend_cuda_translate(g, !a->no_fuse, arch, &src, &image, &size, err,
                                     sizeof err))
        return cli_fail(CLI_USER, "compile", "%s: %s", a->file, err);
    bool ptx = strncmp(arch, "compute_", 8) == 0;
    snprintf(path, sizeof path, "%s.cu", a->path);
    int rc = cli_write_text("compile", path, src);
    FILE *f = NULL;
    if (rc == CLI_OK) {
        snprintf(path, sizeof path, "%s.%s", a->path, ptx ? "ptx" : "cubin");
        f = fopen(path, "wb");
        /* PTX's NUL ends the driver's string, not the file */
        size_t n = ptx && size && ((char *)image)[size - 1] == 0 ? size - 1 : size;
        bool bad = !f || fwrite(image, 1, n, f) != n;
        bad |= f && fclose(f) != 0;
        rc = bad ? cli_fail(CLI_USER, "compile", "cannot write %s", path) : CLI_OK;
    }
    if (rc == CLI_OK)
        printf("wrote %s.cu and %s (%s)\n", a->path, path, arch);
    free(src);
    free(image);
    return rc;
#else
    (void)g;
    return cli_fail(CLI_USER, "compile", "%s: backend 'cuda' is not built into this "
                    "kiln (it needs the CUDA toolkit at build time)", a->file);
#endif
}

int cli_compile(int argc, char **argv)
{
    aot_args a;
    if (argc > 0 && cli_is_help(argv[0]))
        return fputs(cli_compile_help, stdout), CLI_OK;
    int rc = parse_args(&a, argc, argv);
    if (rc != CLI_OK)
        return rc;
    kiln_graph *g = cli_load_graph("compile", a.file);
    if (!g)
        return CLI_USER;
    kiln_aot_options o = {.name = a.name, .path = a.path, .cpu = a.cpu,
                          .no_fuse = a.no_fuse, .keep_denormals = a.keep_denormals};
    if (a.backend == KILN_BACKEND_CUDA)
        rc = compile_cuda(&a, g);
    else if (kiln_compile_aot(g, &o) != KILN_OK)
        rc = cli_fail(CLI_USER, "compile", "%s: %s", a.file,
                      kiln_graph_error(g));
    else
        printf("wrote %s.o and %s.h (prefix %s)\n", a.path, a.path, a.name);
    kiln_graph_free(g);
    return rc;
}
