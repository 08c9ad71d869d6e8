/* nn_plot.c — not written yet */
