/* cmd_dot.c — `kiln dot`: Graphviz of the lowered graph with each kernel
 * as a cluster.  The kernel IR records which node each kernel stores, not
 * which it inlines, so membership is recovered from the graph: a kernel
 * computes the nodes it stores and every node reached from them through
 * inputs that have no buffer (values without a buffer are recomputed
 * inline by each kernel that reads them, so such a node is drawn in
 * every cluster that reads it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ir/kernel.h"
#include "passes/passes.h"

#define USAGE "kiln dot FILE [--no-fuse] [-o OUT.dot]"

const char cli_dot_help[] =
    "usage: " USAGE "\n"
    "\n"
    "Lower FILE as the CPU backend would and write Graphviz (dot) text of\n"
    "the lowered graph to stdout or OUT.dot: one cluster per kernel with\n"
    "the nodes it computes (a node recomputed by several kernels appears\n"
    "in each), inputs, params and constants outside, dashed edges for\n"
    "assigns.  Render with: dot -Tsvg OUT.dot > OUT.svg\n"
    "\n"
    "  --no-fuse   one kernel per node (the graph before fusion)\n"
    "  -o OUT.dot  write to a file instead of stdout\n";

typedef struct dot {
    FILE *f;
    const k_program *p;
    const kiln_graph *g;
    int *home;         /* node -> kernel storing it, -1: drawn outside */
    uint32_t *mark;    /* node -> stamp of the last walk that reached it */
    uint32_t *members; /* the nodes of the kernel being drawn */
} dot;

static const char *const kind_names[] = {"map", "reduce", "matmul", "row"};

static void node_id(uint32_t n, int k, char *buf, size_t len)
{
    if (k < 0)
        snprintf(buf, len, "n%u", (unsigned)n);
    else
        snprintf(buf, len, "k%d_n%u", k, (unsigned)n);
}

static void node_decl(dot *d, uint32_t n, int k, const char *indent,
                      const char *attrs)
{
    const ir_node *node = &d->g->nodes[n];
    char id[64], type[128], label[KILN_MAX_NAME + 16];
    node_id(n, k, id, sizeof id);
    ir_type_str(&node->type, type, sizeof type);
    if (node->name)
        snprintf(label, sizeof label, "'%s'", node->name);
    else
        snprintf(label, sizeof label, "#%u", (unsigned)n);
    fprintf(d->f, "%s%s [label=\"%s %s\\n%s\"%s];\n", indent, id,
            ir_ops[node->op].name, label, type, attrs);
}

static bool buffered(const dot *d, uint32_t n)
{
    return d->p->node_buf[n] != K_NO_BUFFER;
}

static void add_member(dot *d, uint32_t n, uint32_t stamp, uint32_t *count)
{
    if (d->mark[n] == stamp)
        return;
    d->mark[n] = stamp;
    d->members[(*count)++] = n;
}

/* The nodes kernel ki computes: those it stores, and what they read
 * without a buffer, transitively (members doubles as the work list). */
static uint32_t kernel_members(dot *d, int ki)
{
    const kernel *k = &d->p->k[ki];
    uint32_t count = 0, stamp = (uint32_t)ki + 1;
    add_member(d, k->node, stamp, &count);
    int outs[K_MAX_EXTRA + 1], nouts = 0;
    outs[nouts++] = k->out;
    for (int j = 0; j < k->nextra; j++)
        outs[nouts++] = k->extra_out[j];
    for (int j = 0; j < nouts; j++)
        if (outs[j] >= 0 && k->acc[outs[j]].buf != K_NO_BUFFER)
            add_member(d, d->p->buf[k->acc[outs[j]].buf].node, stamp, &count);
    for (uint32_t m = 0; m < count; m++) {
        const ir_node *node = &d->g->nodes[d->members[m]];
        for (int j = 0; j < node->nin; j++)
            if (!buffered(d, node->in[j]))
                add_member(d, node->in[j], stamp, &count);
    }
    return count;
}

/* Kernel ki's cluster, then the edges into its nodes. */
static void cluster(dot *d, int ki)
{
    const kernel *k = &d->p->k[ki];
    uint32_t count = kernel_members(d, ki);
    fprintf(d->f, "  subgraph cluster_k%d {\n    label=\"k%d: %s [", ki, ki,
            kind_names[k->kind]);
    for (int i = 0; i < k->rank; i++)
        fprintf(d->f, "%s%lld", i ? "," : "", (long long)k->dims[i]);
    fprintf(d->f, "]\";\n    style=rounded;\n    color=blue;\n");
    for (uint32_t m = 0; m < count; m++)
        node_decl(d, d->members[m], ki, "    ", "");
    fprintf(d->f, "  }\n");
    for (uint32_t m = 0; m < count; m++) {
        const ir_node *node = &d->g->nodes[d->members[m]];
        char from[64], to[64];
        node_id(d->members[m], ki, to, sizeof to);
        for (int j = 0; j < node->nin; j++) {
            uint32_t in = node->in[j];
            node_id(in, buffered(d, in) ? d->home[in] : ki, from, sizeof from);
            fprintf(d->f, "  %s -> %s;\n", from, to);
        }
    }
}

/* Which kernel stores each buffered node; -1 for sources (and for any
 * buffer no kernel stores, drawn outside too). */
static void find_homes(dot *d)
{
    for (uint32_t n = 0; n < d->g->count; n++)
        d->home[n] = -1;
    for (int ki = 0; ki < d->p->nk; ki++) {
        const kernel *k = &d->p->k[ki];
        int outs[K_MAX_EXTRA + 1], nouts = 0;
        outs[nouts++] = k->out;
        for (int j = 0; j < k->nextra; j++)
            outs[nouts++] = k->extra_out[j];
        for (int j = 0; j < nouts; j++)
            if (outs[j] >= 0 && k->acc[outs[j]].buf != K_NO_BUFFER)
                d->home[d->p->buf[k->acc[outs[j]].buf].node] = ki;
    }
}

/* Inputs, params and constants in memory. */
static void sources(dot *d)
{
    for (uint32_t n = 0; n < d->g->count; n++) {
        ir_op op = d->g->nodes[n].op;
        /* an assign shares its value's buffer: drawn as a dashed edge */
        if (!buffered(d, n) || d->home[n] >= 0 || op == IR_OP_ASSIGN)
            continue;
        node_decl(d, n, -1, "  ",
                  op == IR_OP_INPUT   ? ", shape=ellipse"
                  : op == IR_OP_PARAM ? ", shape=ellipse, style=bold"
                                      : ", shape=note");
    }
}

/* After the clusters, so that every node is declared where it lives. */
static void outputs_and_assigns(dot *d)
{
    for (int o = 0; o < d->p->noutputs; o++) {
        uint32_t n = d->p->buf[d->p->outputs[o].buf].node;
        char from[64];
        node_id(n, d->home[n], from, sizeof from);
        fprintf(d->f, "  out%d [label=\"output %s\", shape=plaintext];\n"
                      "  %s -> out%d;\n",
                o, d->p->outputs[o].name, from, o);
    }
    for (int c = 0; c < d->p->ncopies; c++) {
        uint32_t src = d->p->buf[d->p->copies[c].src].node,
                 dst = d->p->buf[d->p->copies[c].dst].node;
        char from[64], to[64];
        node_id(src, d->home[src], from, sizeof from);
        node_id(dst, d->home[dst], to, sizeof to);
        fprintf(d->f, "  %s -> %s [style=dashed, label=\"assign\", "
                      "constraint=false];\n",
                from, to);
    }
}

static void write_dot(dot *d, const char *file, bool fuse)
{
    fprintf(d->f, "digraph kiln {\n  label=\"");
    for (const char *c = file; *c; c++)
        fprintf(d->f, "%s%c", (*c == '"' || *c == '\\') ? "\\" : "", *c);
    fprintf(d->f, ": %d kernels (%s)\";\n  labelloc=t;\n  node [shape=box, "
                  "fontname=\"monospace\", fontsize=10];\n",
            d->p->nk, fuse ? "fused" : "unfused");
    find_homes(d);
    sources(d);
    for (int ki = 0; ki < d->p->nk; ki++)
        cluster(d, ki);
    outputs_and_assigns(d);
    fprintf(d->f, "}\n");
}

static int parse_args(int argc, char **argv, const char **file,
                      const char **out, bool *fuse)
{
    *file = *out = NULL;
    *fuse = true;
    for (int i = 0; i < argc; i++) {
        int missing = 0;
        const char *v = cli_option("-o", argc, argv, &i, &missing);
        if (missing)
            return cli_usage("dot", USAGE, "-o needs a value");
        if (v)
            *out = v;
        else if (strcmp(argv[i], "--no-fuse") == 0)
            *fuse = false;
        else if (argv[i][0] == '-' && argv[i][1] != 0)
            return cli_usage("dot", USAGE, "unknown option '%s'", argv[i]);
        else if (*file)
            return cli_usage("dot", USAGE, "more than one FILE ('%s' and "
                                           "'%s')",
                             *file, argv[i]);
        else
            *file = argv[i];
    }
    return *file ? CLI_OK : cli_usage("dot", USAGE, "missing FILE");
}

static int draw(const char *cmd, const k_program *p, const char *file,
                const char *out, bool fuse)
{
    FILE *f = out ? fopen(out, "w") : stdout;
    if (!f)
        return cli_fail(CLI_USER, cmd, "cannot write %s", out);
    size_t n = p->g->count ? p->g->count : 1;
    dot d = {f, p, p->g, malloc(n * sizeof(int)), calloc(n, sizeof(uint32_t)),
             malloc(n * sizeof(uint32_t))};
    int rc = CLI_OK;
    if (!d.home || !d.mark || !d.members)
        rc = cli_fail(CLI_USER, cmd, "out of memory");
    else
        write_dot(&d, file, fuse);
    free(d.home);
    free(d.mark);
    free(d.members);
    int bad = out ? fclose(f) != 0 : fflush(f) != 0;
    if (rc == CLI_OK && (bad || (!out && ferror(f))))
        rc = cli_fail(CLI_USER, cmd, "cannot write %s", out ? out : "stdout");
    return rc;
}

int cli_dot(int argc, char **argv)
{
    if (argc > 0 && cli_is_help(argv[0]))
        return fputs(cli_dot_help, stdout), CLI_OK;
    const char *file, *out;
    bool fuse;
    int rc = parse_args(argc, argv, &file, &out, &fuse);
    if (rc != CLI_OK)
        return rc;
    kiln_graph *g = cli_load_graph("dot", file);
    if (!g)
        return CLI_USER;
    char err[512];
    k_program *p = ir_verify(g) == KILN_OK
                       ? pass_lower_program(g, fuse, err, sizeof err)
                       : NULL;
    if (!p)
        rc = cli_fail(CLI_USER, "dot", "%s: %s", file,
                      g->status != KILN_OK ? kiln_graph_error(g) : err);
    else
        rc = draw("dot", p, file, out, fuse);
    k_program_free(p);
    kiln_graph_free(g);
    return rc;
}
