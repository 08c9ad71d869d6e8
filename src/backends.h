/* backends.h — how the driver (compile.c) hands a verified graph to a
 * backend.  Each attach function stores its state in p->impl and sets
 * p->backend; false means out of memory. */
#ifndef KILN_BACKENDS_H
#define KILN_BACKENDS_H

#include "ir/ir.h"
#include "runtime/program.h"

bool kiln_backend_ref_attach(kiln_program *p, const kiln_graph *g);
#ifdef KILN_HAVE_LLVM
/* On failure the message is in err; the program is then only fit to be
 * freed. */
bool kiln_backend_cpu_attach(kiln_program *p, const kiln_graph *g, int threads,
                             bool fuse, char *err, size_t errlen);
#endif

#endif
