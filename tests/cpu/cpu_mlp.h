/*
 * cpu_mlp.h — the training-step graph of the CPU backend tests: a 2-layer
 * f32 MLP, logits = tanh(x w1 + b1) w2 + b2, softmax cross-entropy loss,
 * turned into one training step by kiln_sgd (with momentum) or kiln_adam.
 * Inputs "x" f32 [N, D] and "labels" i32 [N]; output "loss"; params w1,
 * b1, w2, b2 and the optimizer's state.
 */
#ifndef KILN_TESTS_CPU_MLP_H
#define KILN_TESTS_CPU_MLP_H

#include "kiln.h"

enum { CM_N = 64, CM_D = 32, CM_H = 48, CM_C = 10 };

typedef enum cm_optimizer { CM_SGD, CM_ADAM } cm_optimizer;

/* Build the step into g (check kiln_graph_status afterwards). */
void cm_build(kiln_graph *g, cm_optimizer opt);
/* Deterministic data: x in [-1, 1), labels in [0, C). */
void cm_data(float *x, int32_t *labels);

#endif
