/* cuda_emit.c — not written yet */
