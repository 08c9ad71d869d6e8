/* nn_idx.c — not written yet */
