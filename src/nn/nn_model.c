/* nn_model.c — not written yet */
