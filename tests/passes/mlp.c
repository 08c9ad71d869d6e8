#include "mlp.h"

#include <math.h>
#include <string.h>

kiln_node mlp_build(kiln_graph *g)
{
    kiln_node x = kiln_input(g, "x", KILN_F64, 2, (int64_t[]){MLP_N, MLP_D});
    kiln_node y = kiln_input(g, "y", KILN_F64, 2, (int64_t[]){MLP_N, MLP_O});
    kiln_node w1 = kiln_param(g, "w1", KILN_F64, 2, (int64_t[]){MLP_D, MLP_H},
                              kiln_init_glorot(1));
    kiln_node b1 = kiln_param(g, "b1", KILN_F64, 1, (int64_t[]){MLP_H},
                              kiln_init_uniform(-0.1, 0.1, 2));
    kiln_node w2 = kiln_param(g, "w2", KILN_F64, 2, (int64_t[]){MLP_H, MLP_O},
                              kiln_init_glorot(3));
    kiln_node b2 = kiln_param(g, "b2", KILN_F64, 1, (int64_t[]){MLP_O},
                              kiln_init_uniform(-0.1, 0.1, 4));
    kiln_node h = kiln_tanh(g, kiln_add(g, kiln_matmul(g, x, w1), b1));
    kiln_node out = kiln_add(g, kiln_matmul(g, h, w2), b2);
    kiln_node loss = kiln_mse(g, out, y);
    kiln_output(g, "loss", loss);
    return loss;
}

void mlp_data_fill(mlp_data *d)
{
    for (int i = 0; i < MLP_N * MLP_D; i++)
        d->x[i] = sin(1.7 * i + 0.3);
    for (int i = 0; i < MLP_N * MLP_O; i++)
        d->y[i] = cos(0.9 * i);
}

double mlp_loss_and_grad(const mlp_params *p, const mlp_data *d,
                         mlp_params *gr)
{
    double h[MLP_N][MLP_H], dout[MLP_N][MLP_O],
        dz[MLP_N][MLP_H], loss = 0;
    memset(gr, 0, sizeof *gr);
    for (int n = 0; n < MLP_N; n++) {
        for (int j = 0; j < MLP_H; j++) {
            double z = p->b1[j];
            for (int i = 0; i < MLP_D; i++)
                z += d->x[n * MLP_D + i] * p->w1[i * MLP_H + j];
            h[n][j] = tanh(z);
        }
        for (int o = 0; o < MLP_O; o++) {
            double z = p->b2[o];
            for (int j = 0; j < MLP_H; j++)
                z += h[n][j] * p->w2[j * MLP_O + o];
            double e = z - d->y[n * MLP_O + o];
            loss += e * e;
            dout[n][o] = 2 * e / (MLP_N * MLP_O);
        }
    }
    for (int n = 0; n < MLP_N; n++) {
        for (int o = 0; o < MLP_O; o++) {
            gr->b2[o] += dout[n][o];
            for (int j = 0; j < MLP_H; j++)
                gr->w2[j * MLP_O + o] += h[n][j] * dout[n][o];
        }
        for (int j = 0; j < MLP_H; j++) {
            double dh = 0;
            for (int o = 0; o < MLP_O; o++)
                dh += dout[n][o] * p->w2[j * MLP_O + o];
            dz[n][j] = dh * (1 - h[n][j] * h[n][j]);
            gr->b1[j] += dz[n][j];
            for (int i = 0; i < MLP_D; i++)
                gr->w1[i * MLP_H + j] += d->x[n * MLP_D + i] * dz[n][j];
        }
    }
    return loss / (MLP_N * MLP_O);
}

void mlp_read(kiln_program *prog, mlp_params *p)
{
    kiln_get_param(prog, "w1", p->w1, sizeof p->w1);
    kiln_get_param(prog, "b1", p->b1, sizeof p->b1);
    kiln_get_param(prog, "w2", p->w2, sizeof p->w2);
    kiln_get_param(prog, "b2", p->b2, sizeof p->b2);
}

void mlp_bind(kiln_program *prog, const mlp_data *d)
{
    kiln_set_input(prog, "x", d->x, sizeof d->x);
    kiln_set_input(prog, "y", d->y, sizeof d->y);
}
