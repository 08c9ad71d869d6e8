/* cmd_text.c — `kiln check` (parse and verify, then a one-line summary)
 * and `kiln print` (the canonical text, optionally with pass dumps). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ir/ir.h"

const char cli_check_help[] =
    "usage: kiln check FILE\n"
    "\n"
    "Parse FILE (\"-\" for stdin) and verify the graph.  Prints\n"
    "  FILE: ok (N nodes, I inputs, P params, O outputs)\n"
    "or the first error as FILE:LINE:COL: message (exit status 1).\n";

#define PRINT_USAGE "kiln print FILE [--dump-after=PASS[,PASS...]|all]"

const char cli_print_help[] =
    "usage: " PRINT_USAGE "\n"
    "\n"
    "Parse FILE (\"-\" for stdin) and print it in canonical form: unnamed\n"
    "values renumbered %0, %1, ..., numbers in their shortest exact\n"
    "spelling, attributes in a fixed order, comments dropped.\n"
    "\n"
    "  --dump-after=P  also run the compiler's graph pipeline on a copy and\n"
    "                  print the graph after pass P to stderr; P is a comma\n"
    "                  list of: all, decompose, the simplification passes\n"
    "                  (a wrong name lists them), lower (kernel IR)\n";

int cli_check(int argc, char **argv)
{
    if (argc > 0 && cli_is_help(argv[0]))
        return fputs(cli_check_help, stdout), CLI_OK;
    const char *file = cli_one_file("check", "kiln check FILE", argc, argv);
    if (!file)
        return CLI_USAGE;
    kiln_graph *g = cli_load_graph("check", file);
    if (!g)
        return CLI_USER;
    /* The parser builds through the shape rules; verify re-checks the
     * whole graph's invariants as passes will see them. */
    if (ir_verify(g) != KILN_OK) {
        cli_fail(CLI_USER, "check", "%s: %s", file, kiln_graph_error(g));
        kiln_graph_free(g);
        return CLI_USER;
    }
    unsigned counts[IR_OP_COUNT] = {0};
    for (uint32_t i = 0; i < g->count; i++)
        counts[g->nodes[i].op]++;
    printf("%s: ok (%u nodes, %u inputs, %u params, %u outputs)\n", file,
           (unsigned)g->count, counts[IR_OP_INPUT], counts[IR_OP_PARAM],
           (unsigned)g->noutputs);
    kiln_graph_free(g);
    return CLI_OK;
}

/* FILE and an optional --dump-after. */
static int print_args(int argc, char **argv, const char **file,
                      const char **dump)
{
    *file = *dump = NULL;
    for (int i = 0; i < argc; i++) {
        int missing = 0;
        const char *v = cli_option("--dump-after", argc, argv, &i, &missing);
        if (missing)
            return cli_usage("print", PRINT_USAGE, "--dump-after needs a "
                                                   "value");
        if (v) {
            *dump = v;
            if (cli_dump_check("print", PRINT_USAGE, v) != CLI_OK)
                return CLI_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1] != 0)
            return cli_usage("print", PRINT_USAGE, "unknown option '%s'",
                             argv[i]);
        else if (*file)
            return cli_usage("print", PRINT_USAGE, "more than one FILE ('%s' "
                                                   "and '%s')",
                             *file, argv[i]);
        else
            *file = argv[i];
    }
    return *file ? CLI_OK : cli_usage("print", PRINT_USAGE, "missing FILE");
}

int cli_print(int argc, char **argv)
{
    if (argc > 0 && cli_is_help(argv[0]))
        return fputs(cli_print_help, stdout), CLI_OK;
    const char *file, *dump;
    if (print_args(argc, argv, &file, &dump) != CLI_OK)
        return CLI_USAGE;
    kiln_graph *g = cli_load_graph("print", file);
    if (!g)
        return CLI_USER;
    char *text = kiln_print(g);
    int rc = text ? cli_dump_after("print", g, dump, true)
                  : cli_fail(CLI_USER, "print", "%s", kiln_graph_error(g));
    if (rc == CLI_OK && (fputs(text, stdout) == EOF || fflush(stdout) != 0))
        rc = cli_fail(CLI_USER, "print", "cannot write the output");
    kiln_text_free(g, text);
    kiln_graph_free(g);
    return rc;
}
