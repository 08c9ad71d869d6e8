/* bind.c — giving a compiled program its inputs: raw files named on the
 * command line, seeded random values for the rest (`kiln run`, `kiln
 * bench`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int find_binding(kiln_program *p, char kind, const char *name,
                        kiln_binding *out)
{
    for (int i = 0; i < kiln_program_binding_count(p); i++)
        if (kiln_program_binding(p, i, out) == KILN_OK && out->kind == kind &&
            strcmp(out->name, name) == 0)
            return 1;
    return 0;
}

/* Bind "NAME=FILE": the file's bytes, exactly the input's size. */
static int bind_file(const char *cmd, kiln_program *p, char *spec)
{
    char *eq = strchr(spec, '='), *path = eq + 1;
    kiln_binding b;
    *eq = 0;
    int found = find_binding(p, 'i', spec, &b);
    *eq = '=';
    if (!found)
        return cli_fail(CLI_USER, cmd, "--input %s: the graph has no "
                                       "input named '%.*s'",
                        spec, (int)(eq - spec), spec);
    size_t len, want = cli_numel(&b) * kiln_dtype_size(b.dtype);
    char *data = cli_read_file(cmd, path, &len);
    if (!data)
        return CLI_USER;
    int rc = CLI_OK;
    if (len != want)
        rc = cli_fail(CLI_USER, cmd, "%s has %zu bytes; input '%s' needs "
                                     "%zu (%zu %s values)",
                      path, len, b.name, want, cli_numel(&b),
                      kiln_dtype_name(b.dtype));
    else {
        cli_to_little_endian(&b, data); /* LE -> native is the same swap */
        if (kiln_set_input(p, b.name, data, len) != KILN_OK)
            rc = cli_fail(CLI_USER, cmd, "%s", kiln_program_error(p));
    }
    free(data);
    return rc;
}

static bool given(const kiln_binding *b, char **specs, int n)
{
    size_t len = strlen(b->name);
    for (int k = 0; k < n; k++)
        if (strncmp(specs[k], b->name, len) == 0 && specs[k][len] == '=')
            return true;
    return false;
}

/* Inputs not given by a spec get seeded random values. */
static int bind_random(const char *cmd, kiln_program *p, char **specs, int n,
                       uint64_t seed)
{
    for (int i = 0; i < kiln_program_binding_count(p); i++) {
        kiln_binding b;
        kiln_program_binding(p, i, &b);
        if (b.kind != 'i' || given(&b, specs, n))
            continue;
        size_t bytes = cli_numel(&b) * kiln_dtype_size(b.dtype);
        void *data = malloc(bytes ? bytes : 1);
        if (!data)
            return cli_fail(CLI_USER, cmd, "out of memory for input '%s'",
                            b.name);
        cli_random_fill(&b, seed, data);
        kiln_status s = kiln_set_input(p, b.name, data, bytes);
        free(data);
        if (s != KILN_OK)
            return cli_fail(CLI_USER, cmd, "%s", kiln_program_error(p));
    }
    return CLI_OK;
}

int cli_bind_inputs(const char *cmd, kiln_program *p, char **specs, int n,
                    uint64_t seed)
{
    for (int k = 0; k < n; k++) {
        int rc = bind_file(cmd, p, specs[k]);
        if (rc != CLI_OK)
            return rc;
    }
    return bind_random(cmd, p, specs, n, seed);
}

size_t cli_binding_bytes(const kiln_program *p, char kind)
{
    size_t total = 0;
    for (int i = 0; i < kiln_program_binding_count(p); i++) {
        kiln_binding b;
        if (kiln_program_binding(p, i, &b) == KILN_OK && b.kind == kind)
            total += cli_numel(&b) * kiln_dtype_size(b.dtype);
    }
    return total;
}
