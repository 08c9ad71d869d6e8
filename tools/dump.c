/* dump.c — --dump-after: replay the compiler's graph pipeline (as
 * pass_lower_program runs it: decompose, the simplification passes,
 * lowering to kernel IR) on a copy of the graph and print the IR after
 * the passes asked for.  Dumps go to stderr so that a command's own
 * output stays clean; graph dumps are valid text-format files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ir/kernel.h"
#include "passes/passes.h"

/* Is `name` one of the comma-separated items of spec (or spec "all")? */
static bool wants(const char *spec, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = spec; *s;) {
        size_t len = strcspn(s, ",");
        if ((len == n && strncmp(s, name, n) == 0) ||
            (len == 3 && strncmp(s, "all", 3) == 0))
            return true;
        s += len + (s[len] == ',');
    }
    return false;
}

static bool known(const char *item, size_t len)
{
    static const char *const extra[] = {"all", "decompose", "lower"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (strlen(extra[i]) == len && strncmp(item, extra[i], len) == 0)
            return true;
    for (const pass_info *p = pass_pipeline; p->name; p++)
        if (strlen(p->name) == len && strncmp(item, p->name, len) == 0)
            return true;
    return false;
}

int cli_dump_check(const char *cmd, const char *usage, const char *spec)
{
    char names[512] = "decompose";
    for (const pass_info *p = pass_pipeline; p->name; p++)
        snprintf(names + strlen(names), sizeof names - strlen(names), ", %s",
                 p->name);
    for (const char *s = spec;; s++) {
        size_t len = strcspn(s, ",");
        if (!known(s, len))
            return cli_usage(cmd, usage,
                             "--dump-after: no pass '%.*s' (passes: %s, "
                             "lower; or all)",
                             (int)len, s, names);
        s += len;
        if (!*s)
            return CLI_OK;
    }
}

static void dump_graph(const char *pass, kiln_graph *g)
{
    char *text = kiln_print(g);
    fprintf(stderr, "# after %s: %u nodes\n%s", pass, (unsigned)g->count,
            text ? text : "# (cannot print: out of memory)\n");
    kiln_text_free(g, text);
}

typedef struct dump_ctx {
    const char *spec;
} dump_ctx;

static void observe(const char *pass, kiln_graph *g, void *user)
{
    const dump_ctx *d = user;
    if (wants(d->spec, pass))
        dump_graph(pass, g);
}

static int dump_kernels(const char *cmd, const kiln_graph *g, bool fuse)
{
    char err[512];
    k_program *kp = pass_lower_program(g, fuse, err, sizeof err);
    if (!kp)
        return cli_fail(CLI_USER, cmd, "lower: %s", err);
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    fprintf(stderr, "# after lower: %d kernels (%s), arena %lld bytes\n",
            kp->nk, fuse ? "fused" : "unfused", (long long)kp->arena_bytes);
    for (int i = 0; buf && i < kp->nk; i++) {
        k_print(kp, &kp->k[i], buf, cap);
        fprintf(stderr, "# k%d: %s", i, buf);
    }
    free(buf);
    k_program_free(kp);
    return CLI_OK;
}

int cli_dump_after(const char *cmd, const kiln_graph *g, const char *spec,
                   bool fuse)
{
    if (!spec)
        return CLI_OK;
    char err[512];
    kiln_graph *dg = pass_decompose(g, err, sizeof err);
    if (!dg)
        return cli_fail(CLI_USER, cmd, "decompose: %s", err);
    if (wants(spec, "decompose"))
        dump_graph("decompose", dg);
    dump_ctx d = {spec};
    int rc = CLI_OK;
    if (pass_simplify(dg, observe, &d) != KILN_OK)
        rc = cli_fail(CLI_USER, cmd, "%s", kiln_graph_error(dg));
    kiln_graph_free(dg);
    if (rc == CLI_OK && wants(spec, "lower"))
        rc = dump_kernels(cmd, g, fuse);
    return rc;
}
