/* nn_layers.c — not written yet */
