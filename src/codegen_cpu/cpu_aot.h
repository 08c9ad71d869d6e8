/* cpu_aot.h — ahead-of-time object files and their C headers. */
#ifndef KILN_CPU_AOT_H
#define KILN_CPU_AOT_H

#include "cpu_codegen.h"

/* Where things live in the caller's params and workspace blocks (bytes). */
typedef struct cpu_aot_layout {
    int64_t *param_offset; /* per buffer; -1 unless a param */
    int64_t params_bytes;
    int64_t arena_off, staging_off, scratch_off, scratch_stride;
} cpu_aot_layout;

kiln_status cpu_aot_layout_make(const k_program *p, size_t scratch,
                                cpu_aot_layout *l);
void cpu_aot_layout_free(const k_program *p, cpu_aot_layout *l);

/* Kernels + driver in a new module of ctx, named after `name`. */
kiln_status cpu_aot_emit_module(const k_program *p, const cpu_target *t,
                                LLVMContextRef ctx, const char *name,
                                const cpu_aot_layout *l, bool flush_denormals,
                                LLVMModuleRef *out, char *err, size_t errlen);

/* The C header for that object. */
kiln_status cpu_aot_write_header(const k_program *p, const cpu_aot_layout *l,
                                 const char *name, const char *target_cpu,
                                 const char *path, char *err, size_t errlen);

#endif
