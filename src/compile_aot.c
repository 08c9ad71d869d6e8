/* compile_aot.c — kiln_compile_aot: lower the graph as for the JIT, then
 * write an object file and its header instead of running them. */
#include <stdio.h>
#include <string.h>

#include "backends.h"

#ifdef KILN_HAVE_LLVM
#include "codegen_cpu/cpu_aot.h"
#include "passes/passes.h"

static bool letter(char c) { return c == '_' || ((c | 32) >= 'a' && (c | 32) <= 'z'); }

static bool c_identifier(const char *s)
{
    if (!s || !letter(s[0]) || strlen(s) > 100)
        return false;
    for (; *s; s++)
        if (!letter(*s) && !(*s >= '0' && *s <= '9'))
            return false;
    return true;
}

/* Distinct graph names can meet as C identifiers ("a.b" and "a_b"). */
static bool names_clash(const k_program *p, char *who, size_t len)
{
    for (uint32_t i = 0; i < p->nbuf; i++)
        for (uint32_t j = i + 1; j < p->nbuf; j++) {
            const char *a = p->g->nodes[p->buf[i].node].name, *b = p->g->nodes[p->buf[j].node].name;
            if (!a || !b || strlen(a) != strlen(b))
                continue;
            bool same = true;
            for (size_t k = 0; a[k] && same; k++)
                same = a[k] == b[k] || ((a[k] == '.' || a[k] == '_') && (b[k] == '.' || b[k] == '_'));
            if (same) {
                snprintf(who, len, "'%s' and '%s'", a, b);
                return true;
            }
        }
    return false;
}

static kiln_status emit(kiln_graph *g, const k_program *kp, const kiln_aot_options *o,
                        const char *path, char *err, size_t errlen)
{
    cpu_target t;
    int bad = cpu_target_init(&t, o->cpu, err, errlen);
    if (bad)
        return bad == -2 ? KILN_ERR_INVALID_ARGUMENT : KILN_ERR_UNSUPPORTED;
    cpu_aot_layout l;
    kiln_status s = cpu_aot_layout_make(kp, cpu_scratch_bytes(kp, &t), &l);
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef m = NULL;
    if (s == KILN_OK)
        s = cpu_aot_emit_module(kp, &t, ctx, o->name, &l, !o->keep_denormals, &m, err,
                                errlen);
    if (s == KILN_OK)
        s = cpu_optimize(m, &t, err, errlen);
    char file[4096];
    if (s == KILN_OK) {
        snprintf(file, sizeof file, "%s.o", path);
        char *msg = NULL;
        if (LLVMTargetMachineEmitToFile(t.machine, m, file, LLVMObjectFile, &msg)) {
            snprintf(err, errlen, "cannot write %.300s: %.150s", file, msg ? msg : "?");
            s = KILN_ERR_IO;
        }
        LLVMDisposeMessage(msg);
    }
    if (s == KILN_OK) {
        snprintf(file, sizeof file, "%s.h", path);
        s = cpu_aot_write_header(kp, &l, o->name, t.cpu, file, err, errlen);
    }
    if (m)
        LLVMDisposeModule(m);
    LLVMContextDispose(ctx);
    cpu_aot_layout_free(kp, &l);
    cpu_target_free(&t);
    (void)g;
    return s;
}
#endif

kiln_status kiln_compile_aot(kiln_graph *g, const kiln_aot_options *opts)
{
    if (!g)
        return KILN_ERR_INVALID_ARGUMENT;
    if (g->status != KILN_OK)
        return g->status;
#ifndef KILN_HAVE_LLVM
    (void)opts;
    return ir_error(g, KILN_ERR_UNSUPPORTED,
                    "compile_aot: the cpu backend is not built into this kiln "
                    "(it needs LLVM 14-19 at build time)"),
           g->status;
#else
    if (!opts || !c_identifier(opts->name))
        return ir_error(g, KILN_ERR_INVALID_ARGUMENT,
                        "compile_aot: name must be a C identifier of at most 100 "
                        "bytes, got '%.80s'",
                        opts && opts->name ? opts->name : "(null)"),
               g->status;
    if (ir_verify(g) != KILN_OK)
        return g->status;
    char err[512];
    k_program *kp = pass_lower_program(g, !opts->no_fuse, err, sizeof err);
    if (!kp)
        return ir_error(g, KILN_ERR_UNSUPPORTED, "compile_aot: %s", err), g->status;
    char who[200];
    kiln_status s;
    if (names_clash(kp, who, sizeof who)) {
        snprintf(err, sizeof err, "names %s are the same C identifier", who);
        s = KILN_ERR_NAME;
    } else {
        s = emit(g, kp, opts, opts->path ? opts->path : opts->name, err, sizeof err);
    }
    k_program_free(kp);
    if (s != KILN_OK)
        ir_error(g, s, "compile_aot: %s", err);
    return s;
#endif
}
