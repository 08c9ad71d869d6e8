/* nn_json.c — not written yet */
