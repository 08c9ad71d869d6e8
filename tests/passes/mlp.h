/* mlp.h — a 2-layer tanh MLP with an mse loss, built through kiln's API
 * and written out by hand (forward, backward) as the tests' oracle. */
#ifndef KILN_TEST_MLP_H
#define KILN_TEST_MLP_H

#include "kiln.h"

enum { MLP_N = 6, MLP_D = 3, MLP_H = 4, MLP_O = 2 };

typedef struct mlp_params {
    double w1[MLP_D * MLP_H], b1[MLP_H], w2[MLP_H * MLP_O], b2[MLP_O];
} mlp_params;

typedef struct mlp_data {
    double x[MLP_N * MLP_D], y[MLP_N * MLP_O];
} mlp_data;

/* Params "w1", "b1", "w2", "b2"; inputs "x", "y"; returns the loss node,
 * also marked as output "loss". */
kiln_node mlp_build(kiln_graph *g);
/* Deterministic inputs. */
void mlp_data_fill(mlp_data *d);
/* Loss and gradients by hand, in f64. */
double mlp_loss_and_grad(const mlp_params *p, const mlp_data *d,
                         mlp_params *grad);
/* Read all four params of a program into p. */
void mlp_read(kiln_program *prog, mlp_params *p);
void mlp_bind(kiln_program *prog, const mlp_data *d);

#endif
