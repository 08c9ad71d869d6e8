/* cmd_fusion.c — `kiln explain`: the fusion plan in words (kiln_explain):
 * the kernels, and why each edge left unfused was left so. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define USAGE "kiln explain FILE [--no-fuse]"

const char cli_explain_help[] =
    "usage: " USAGE "\n"
    "\n"
    "Lower FILE as the CPU backend would (decompose composites, simplify,\n"
    "fuse, plan memory) and print the plan: the kernels (which node each\n"
    "computes, its kind and loop domain), the arena size, and for every\n"
    "edge left unfused the reason.  Needs no LLVM.\n"
    "\n"
    "  --no-fuse   one kernel per node (the plan before fusion)\n";

int cli_explain(int argc, char **argv)
{
    if (argc > 0 && cli_is_help(argv[0]))
        return fputs(cli_explain_help, stdout), CLI_OK;
    kiln_compile_options o = {.backend = KILN_BACKEND_CPU};
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--no-fuse") == 0)
            o.no_fuse = 1;
        else if (argv[i][0] == '-' && argv[i][1] != 0)
            return cli_usage("explain", USAGE, "unknown option '%s'", argv[i]);
        else if (file)
            return cli_usage("explain", USAGE, "more than one FILE ('%s' and "
                                               "'%s')",
                             file, argv[i]);
        else
            file = argv[i];
    }
    if (!file)
        return cli_usage("explain", USAGE, "missing FILE");
    kiln_graph *g = cli_load_graph("explain", file);
    if (!g)
        return CLI_USER;
    char *text = kiln_explain(g, &o);
    int rc = text ? cli_write_text("explain", "-", text)
                  : cli_fail(CLI_USER, "explain", "%s: %s", file,
                             kiln_graph_error(g));
    kiln_text_free(g, text);
    kiln_graph_free(g);
    return rc;
}
