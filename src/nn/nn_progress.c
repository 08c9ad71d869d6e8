/* nn_progress.c — not written yet */
