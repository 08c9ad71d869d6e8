/* cuda_math.c — not written yet */
