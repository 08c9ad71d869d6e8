/* cmd_grad.c — `kiln grad`: append the gradient of a scalar loss with
 * respect to named nodes (kiln_grad) and print the augmented graph, each
 * gradient an output named grad_<name>. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ir/ir.h"

#define USAGE                                                          \
    "kiln grad FILE --loss NAME --wrt NAME[,NAME...]\n"                \
    "                 [--dump-after=PASS[,PASS...]|all]"
#define MAX_WRT 256

const char cli_grad_help[] =
    "usage: " USAGE "\n"
    "\n"
    "Differentiate the scalar LOSS of FILE with respect to each --wrt node\n"
    "(reverse mode, kiln_grad) and print the augmented graph in text form,\n"
    "with one new output grad_NAME per --wrt name.  Names are node names\n"
    "(%name in the file) or output names.  A node the loss does not depend\n"
    "on gets a zero gradient.  Errors (exit status 1): an unknown name, a\n"
    "loss that is not a floating scalar, a node reaching the loss only\n"
    "through non-differentiable ops.\n"
    "\n"
    "  --loss NAME     the value to differentiate (rank 0, floating)\n"
    "  --wrt A,B,...   what to differentiate with respect to\n"
    "  --dump-after=P  print the augmented graph after the compiler's pass\n"
    "                  P to stderr (see 'kiln run --help')\n";

typedef struct grad_args {
    const char *file, *loss, *wrt, *dump;
} grad_args;

static int parse_args(grad_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        int missing = 0;
        const char *v;
        if ((v = cli_option("--loss", argc, argv, &i, &missing)))
            a->loss = v;
        else if ((v = cli_option("--wrt", argc, argv, &i, &missing)))
            a->wrt = v;
        else if ((v = cli_option("--dump-after", argc, argv, &i, &missing))) {
            a->dump = v;
            if (cli_dump_check("grad", USAGE, v) != CLI_OK)
                return CLI_USAGE;
        } else if (missing)
            return cli_usage("grad", USAGE, "option '%s' needs a value",
                             argv[i]);
        else if (argv[i][0] == '-' && argv[i][1] != 0)
            return cli_usage("grad", USAGE, "unknown option '%s'", argv[i]);
        else if (a->file)
            return cli_usage("grad", USAGE, "more than one FILE ('%s')",
                             argv[i]);
        else
            a->file = argv[i];
    }
    if (!a->file)
        return cli_usage("grad", USAGE, "missing FILE");
    if (!a->loss || !a->wrt)
        return cli_usage("grad", USAGE, "missing --%s",
                         a->loss ? "wrt" : "loss");
    return CLI_OK;
}

/* A node by its name, else by the name of an output it feeds. */
static bool find(kiln_graph *g, const char *name, kiln_node *out)
{
    uint32_t i = ir_find_name(g, name);
    if (i == IR_NONE) {
        uint32_t o = ir_find_output(g, name);
        if (o == IR_NONE)
            return false;
        i = g->outputs[o].node;
    }
    *out = ir_handle(g, i);
    return true;
}

/* Split "a,b" into NUL-terminated names in buf. */
static int split_names(char *buf, char **names)
{
    int n = 0;
    for (char *s = buf; n < MAX_WRT;) {
        names[n++] = s;
        s += strcspn(s, ",");
        if (!*s)
            return n;
        *s++ = 0;
    }
    return -1;
}

static int add_grads(kiln_graph *g, const grad_args *a)
{
    kiln_node loss, wrt[MAX_WRT], grads[MAX_WRT];
    char buf[4096], *names[MAX_WRT], out[KILN_MAX_NAME + 8];
    if (!find(g, a->loss, &loss))
        return cli_fail(CLI_USER, "grad", "--loss: %s has no node or output "
                                          "named '%s'",
                        a->file, a->loss);
    snprintf(buf, sizeof buf, "%s", a->wrt);
    int n = split_names(buf, names);
    if (n < 0)
        return cli_fail(CLI_USER, "grad", "--wrt: more than %d names",
                        MAX_WRT);
    for (int i = 0; i < n; i++)
        if (!find(g, names[i], &wrt[i]))
            return cli_fail(CLI_USER, "grad", "--wrt: %s has no node or "
                                              "output named '%s'",
                            a->file, names[i]);
    if (kiln_grad(g, loss, n, wrt, grads, KILN_GRAD_ZEROS_FOR_UNUSED) !=
        KILN_OK)
        return cli_fail(CLI_USER, "grad", "%s: %s", a->file,
                        kiln_graph_error(g));
    for (int i = 0; i < n; i++) {
        snprintf(out, sizeof out, "grad_%s", names[i]);
        if (kiln_output(g, out, grads[i]) != KILN_OK)
            return cli_fail(CLI_USER, "grad", "%s: %s", a->file,
                            kiln_graph_error(g));
    }
    return CLI_OK;
}

int cli_grad(int argc, char **argv)
{
    grad_args a;
    if (argc > 0 && cli_is_help(argv[0]))
        return fputs(cli_grad_help, stdout), CLI_OK;
    int rc = parse_args(&a, argc, argv);
    if (rc != CLI_OK)
        return rc;
    kiln_graph *g = cli_load_graph("grad", a.file);
    if (!g)
        return CLI_USER;
    rc = add_grads(g, &a);
    char *text = rc == CLI_OK ? kiln_print(g) : NULL;
    if (rc == CLI_OK && !text)
        rc = cli_fail(CLI_USER, "grad", "%s", kiln_graph_error(g));
    if (rc == CLI_OK)
        rc = cli_dump_after("grad", g, a.dump, true);
    if (rc == CLI_OK)
        rc = cli_write_text("grad", "-", text);
    kiln_text_free(g, text);
    kiln_graph_free(g);
    return rc;
}
