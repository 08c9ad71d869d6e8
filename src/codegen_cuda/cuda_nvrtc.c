/* cuda_nvrtc.c — not written yet */
