/*
 * emu_host.h — the test side of the host emulation of CUDA (cuda_emu.h):
 * compile a generated translation unit for the host, load it, launch its
 * kernels, and run a whole lowered program over host buffers.
 */
#ifndef KILN_TESTS_EMU_HOST_H
#define KILN_TESTS_EMU_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include "codegen_cuda/cuda_codegen.h"

typedef int (*emu_launch_fn)(void (*kernel)(void *const *), const unsigned grid[3],
                             const unsigned block[3], unsigned shared,
                             void *const *kb, char *err, size_t errlen);

typedef struct emu_module {
    void *dl;
    char dir[64];              /* the temp dir holding the source and .so */
    emu_launch_fn launch;
    void (*release)(void);
    double compile_ms;
} emu_module;

/* Compile src (CUDA C from cuda_emit) with c++ and the shim, and load it.
 * false with the compiler's output (or the reason) in err. */
bool emu_build(emu_module *m, const char *src, char *err, size_t errlen);
/* Unload and delete the temp files (a zeroed module is fine). */
void emu_close(emu_module *m);

/* Launch kernel `name` with ki's grid, block and shared memory over kb. */
bool emu_launch_named(emu_module *m, const cuda_kernel_info *ki, void *const *kb,
                      char *err, size_t errlen);

/* Host buffers of a lowered program: kb[b] as the CUDA runtime would
 * give it (temps in one arena at their offsets), each buffer and the
 * arena followed by a guard zone that must survive every kernel. */
typedef struct emu_buffers {
    int nbuf;
    void **kb;
    unsigned char **raw; /* per non-temp buffer; [nbuf] is the arena */
    size_t *bytes;
} emu_buffers;

/* Allocate and fill: consts from the program, the rest zero (temps with a
 * NaN pattern, so a kernel reading a temp before it is written shows). */
bool emu_buffers_new(emu_buffers *eb, const k_program *kp);
void emu_buffers_free(emu_buffers *eb);
/* Bytes of buffer b (numel * dtype size). */
size_t emu_buffer_bytes(const k_program *kp, unsigned b);

/* Launch every kernel of cs in program order, checking guards after
 * each.  prog >= 0: the module holds several programs, this one's kernels
 * renamed kiln_p<prog>_k<i> (see emu_batch_source); -1: plain names.
 * false with the kernel and the reason in err. */
bool emu_run_kernels(emu_module *m, const k_program *kp, const cuda_source *cs,
                     int prog, emu_buffers *eb, char *err, size_t errlen);

/* Append program `prog`'s source to *text (malloc'd, grown) wrapped in
 * namespace kiln_p<prog> with its kernels renamed kiln_p<prog>_k<i>, so
 * several programs share one translation unit (one NVRTC and one host
 * compile).  false when out of memory. */
bool emu_batch_source(char **text, size_t *len, const char *src, int prog);
/* The assign copies after the last kernel (but those in_place, done by
 * their kernel): every source is read before
 * any destination is written.  false when out of memory. */
bool emu_apply_copies(const k_program *kp, emu_buffers *eb, char *err, size_t errlen);

#endif
