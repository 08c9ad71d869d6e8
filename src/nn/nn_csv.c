/* nn_csv.c — not written yet */
