/* nn_loss.c — not written yet */
