/* nn_fit.c — not written yet */
