/* cuda_emit_expr.c — not written yet */
