/* nn_callbacks.c — not written yet */
