/* nn_dataset.c — not written yet */
