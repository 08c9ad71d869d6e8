/* nn_checkpoint.c — not written yet */
