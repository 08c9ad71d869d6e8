/* nn_eval.c — not written yet */
