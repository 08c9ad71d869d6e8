/* cpu_header.c — the C header of an AOT object: plain declarations and the
 * layout a caller needs, nothing that needs kiln to compile. */
#include <stdio.h>
#include <string.h>

#include "cpu_aot.h"

static const char *c_type(kiln_dtype t)
{
    switch (t) {
    case KILN_F32: return "float";
    case KILN_F64: return "double";
    case KILN_I32: return "int32_t";
    default: return "uint8_t";
    }
}

/* A graph name as a C identifier: '.' becomes '_'. */
static void ident(const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s", name);
    for (char *c = out; *c; c++)
        if (*c == '.')
            *c = '_';
}

static void shape(FILE *f, const ir_type *t)
{
    fprintf(f, "%s[", kiln_dtype_name(t->dtype));
    for (int d = 0; d < t->rank; d++)
        fprintf(f, "%s%lld", d ? "," : "", (long long)t->dims[d]);
    fprintf(f, "]");
}

static void upper(const char *s, char *out, size_t len)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        out[i] = (char)((s[i] >= 'a' && s[i] <= 'z') ? s[i] - 32 : s[i]);
    out[i] = 0;
}

static void structs(FILE *f, const k_program *p, const char *name)
{
    char id[KILN_MAX_NAME + 8];
    fprintf(f, "/* Inputs: pointers to the caller's data, row-major. */\n"
               "typedef struct %s_inputs {\n", name);
    int n = 0;
    for (uint32_t b = 0; b < p->nbuf; b++) {
        const ir_node *node = &p->g->nodes[p->buf[b].node];
        if (p->buf[b].kind != KB_INPUT)
            continue;
        ident(node->name, id, sizeof id);
        fprintf(f, "    const %s *%s; /* ", c_type(node->type.dtype), id);
        shape(f, &node->type);
        fprintf(f, " */\n");
        n++;
    }
    if (!n)
        fprintf(f, "    const void *unused;\n");
    fprintf(f, "} %s_inputs;\n\n/* Outputs: where the run writes them. */\n"
               "typedef struct %s_outputs {\n", name, name);
    for (int o = 0; o < p->noutputs; o++) {
        const ir_node *node = &p->g->nodes[p->buf[p->outputs[o].buf].node];
        ident(p->outputs[o].name, id, sizeof id);
        fprintf(f, "    %s *%s; /* ", c_type(node->type.dtype), id);
        shape(f, &node->type);
        fprintf(f, " */\n");
    }
    if (!p->noutputs)
        fprintf(f, "    void *unused;\n");
    fprintf(f, "} %s_outputs;\n\n", name);
}

static void params(FILE *f, const k_program *p, const cpu_aot_layout *l,
                   const char *name)
{
    char id[KILN_MAX_NAME + 8], up[160];
    upper(name, up, sizeof up);
    fprintf(f, "/* Params live in one block of %s_params_size() bytes, 64-byte\n"
               " * aligned; %s_init_params fills it with the initial values and each\n"
               " * run updates it in place.  Byte offsets: */\n", name, name);
    for (uint32_t b = 0; b < p->nbuf; b++) {
        if (p->buf[b].kind != KB_PARAM)
            continue;
        const ir_node *node = &p->g->nodes[p->buf[b].node];
        ident(node->name, id, sizeof id);
        fprintf(f, "#define %s_PARAM_%s %lld /* %s ", up, id,
                (long long)l->param_offset[b], c_type(node->type.dtype));
        shape(f, &node->type);
        fprintf(f, " */\n");
    }
    fprintf(f, "\n");
}

static void functions(FILE *f, const char *name)
{
    fprintf(f,
            "size_t %s_params_size(void);\n"
            "void %s_init_params(void *params);\n"
            "/* Scratch for a run with up to `threads` concurrent chunks; 64-byte\n"
            " * aligned.  Its contents need not survive between runs. */\n"
            "size_t %s_workspace_size(int threads);\n\n"
            "/* One run (a training step, for a training graph): reads in and\n"
            " * params, writes out and the updated params.  Single-threaded.\n"
            " * Returns 0. */\n"
            "int %s_run(const %s_inputs *in, %s_outputs *out, void *params,\n"
            "           void *workspace);\n\n"
            "/* The same with a parallel-for of yours: parallel_for(user, n, grain,\n"
            " * task, ctx) must call task(ctx, begin, end) over [0, n) in contiguous\n"
            " * chunks of at least `grain` items, at most `threads` of them running\n"
            " * at once, and return when all are done (an OpenMP loop over\n"
            " * `threads` chunks does it).  The workspace must be sized for\n"
            " * `threads`.  Results are bitwise the same for any split. */\n"
            "typedef void (*%s_parallel_for)(void *user, int64_t n, int64_t grain,\n"
            "                                void (*task)(void *ctx, int64_t begin,\n"
            "                                             int64_t end),\n"
            "                                void *ctx);\n"
            "int %s_run_parallel(const %s_inputs *in, %s_outputs *out, void *params,\n"
            "                    void *workspace, int threads,\n"
            "                    %s_parallel_for parallel_for, void *user);\n",
            name, name, name, name, name, name, name, name, name, name, name);
}

kiln_status cpu_aot_write_header(const k_program *p, const cpu_aot_layout *l,
                                 const char *name, const char *target_cpu,
                                 const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s", path);
        return KILN_ERR_IO;
    }
    char up[160];
    upper(name, up, sizeof up);
    fprintf(f, "/* %s.h — generated by kiln for target cpu '%s'; do not edit.\n"
               " * Link %s.o; it needs nothing but memcpy and memset from the C library. */\n"
               "#ifndef %s_KILN_H\n#define %s_KILN_H\n\n"
               "#include <stddef.h>\n#include <stdint.h>\n\n"
               "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
            name, target_cpu, name, up, up);
    structs(f, p, name);
    params(f, p, l, name);
    functions(f, name);
    fprintf(f, "\n#ifdef __cplusplus\n}\n#endif\n#endif\n");
    if (fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s", path);
        return KILN_ERR_IO;
    }
    return KILN_OK;
}
