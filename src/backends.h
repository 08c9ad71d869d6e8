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
                             bool fuse, bool flush_denormals, char *err,
                             size_t errlen);
#endif

#ifdef KILN_HAVE_CUDA
/* Open the CUDA driver, lower g, emit CUDA C, compile it with NVRTC for
 * `arch` (NULL: the device's sm_XY) through the image cache (cache_dir
 * NULL or "": memory only), load it and allocate the device buffers.  On
 * failure the message is in err (it begins "no CUDA driver found" or "no
 * CUDA device" when those are the reasons); the program is then only fit
 * to be freed. */
bool kiln_backend_cuda_attach(kiln_program *p, const kiln_graph *g, bool fuse,
                              const char *arch, const char *cache_dir,
                              char *err, size_t errlen);

/* Without a device: lower g, emit CUDA C and compile it with NVRTC for
 * arch ("compute_XY": PTX, "sm_XY": CUBIN).  *source and *image are
 * malloc'd (the caller frees them); *image_size counts the image's bytes
 * (PTX includes its NUL).  false with the message in err. */
bool kiln_backend_cuda_translate(const kiln_graph *g, bool fuse,
                                 const char *arch, char **source,
                                 void **image, size_t *image_size, char *err,
                                 size_t errlen);

/* For benchmarks, on a program of the CUDA backend that has run once:
 * the median over `runs` of the device time of one run's kernel launches
 * alone (no host copies, no assigns), measured with events on the
 * program's stream. */
kiln_status kiln_backend_cuda_time_kernels(kiln_program *p, int runs,
                                           double *ms);
/* Device-to-device copy bandwidth in GB/s (bytes read + bytes written per
 * second) of a `bytes`-long copy, median over runs: the roof for a
 * memory-bound kernel. */
kiln_status kiln_backend_cuda_copy_gbps(kiln_program *p, size_t bytes,
                                        int runs, double *gbps);
#endif

#endif
