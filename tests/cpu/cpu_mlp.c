/* cpu_mlp.c — the MLP training step of the CPU tests (cpu_mlp.h). */
#include <math.h>

#include "cpu_mlp.h"

void cm_build(kiln_graph *g, cm_optimizer opt)
{
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){CM_N, CM_D});
    kiln_node labels = kiln_input(g, "labels", KILN_I32, 1, (int64_t[]){CM_N});
    kiln_node w1 = kiln_param(g, "w1", KILN_F32, 2, (int64_t[]){CM_D, CM_H}, kiln_init_glorot(1));
    kiln_node b1 = kiln_param(g, "b1", KILN_F32, 1, (int64_t[]){CM_H}, kiln_init_uniform(-0.1, 0.1, 2));
    kiln_node w2 = kiln_param(g, "w2", KILN_F32, 2, (int64_t[]){CM_H, CM_C}, kiln_init_glorot(3));
    kiln_node b2 = kiln_param(g, "b2", KILN_F32, 1, (int64_t[]){CM_C}, kiln_init_zeros());
    kiln_node h = kiln_tanh(g, kiln_add(g, kiln_matmul(g, x, w1), b1));
    kiln_node logits = kiln_add(g, kiln_matmul(g, h, w2), b2);
    kiln_node loss = kiln_softmax_cross_entropy(g, logits, labels);
    if (opt == CM_SGD)
        kiln_sgd(g, loss, &(kiln_sgd_options){.lr = 0.1, .momentum = 0.9});
    else
        kiln_adam(g, loss, &(kiln_adam_options){.lr = 0.01});
    kiln_output(g, "loss", loss);
}

void cm_data(float *x, int32_t *labels)
{
    for (int i = 0; i < CM_N * CM_D; i++)
        x[i] = (float)sin(1.7 * i + 0.3);
    for (int i = 0; i < CM_N; i++)
        labels[i] = (int32_t)((i * 7 + 3) % CM_C);
}
