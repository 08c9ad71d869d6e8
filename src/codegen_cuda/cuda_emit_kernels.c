/* cuda_emit_kernels.c — not written yet */
