/* workloads.c — see workloads.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "workloads.h"

kiln_graph *wl_chain(int64_t n)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 1, &n);
    kiln_node a = kiln_tanh(g, kiln_add(g, kiln_mul(g, x, kiln_scalar(g, KILN_F32, 0.5)),
                                        kiln_scalar(g, KILN_F32, 0.1)));
    kiln_node y = kiln_add(g, kiln_mul(g, a, kiln_sigmoid(g, x)),
                           kiln_relu(g, kiln_sub(g, x, kiln_scalar(g, KILN_F32, 0.2))));
    kiln_output(g, "y", y);
    return g;
}

kiln_graph *wl_softmax(void)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){4096, 1024});
    kiln_output(g, "y", kiln_softmax(g, x, 1));
    return g;
}

kiln_graph *wl_layernorm(void)
{
    kiln_graph *g = kiln_graph_new();
    int ax = 1;
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){4096, 1024});
    kiln_node xc = kiln_sub(g, x, kiln_mean(g, x, 1, &ax, 1));
    kiln_node var = kiln_mean(g, kiln_square(g, xc), 1, &ax, 1);
    kiln_node y = kiln_mul(g, xc, kiln_rsqrt(g, kiln_add(g, var, kiln_scalar(g, KILN_F32, 1e-5))));
    kiln_output(g, "y", y);
    return g;
}

static kiln_node dense(kiln_graph *g, kiln_node x, int64_t in, int64_t out, int i)
{
    char w[8], b[8];
    snprintf(w, sizeof w, "w%d", i);
    snprintf(b, sizeof b, "b%d", i);
    kiln_node W = kiln_param(g, w, KILN_F32, 2, (int64_t[]){in, out}, kiln_init_glorot((uint32_t)i));
    kiln_node B = kiln_param(g, b, KILN_F32, 1, &out, kiln_init_zeros());
    return kiln_add(g, kiln_matmul(g, x, W), B);
}

kiln_graph *wl_mlp_step(int64_t batch)
{
    kiln_graph *g = kiln_graph_new();
    kiln_node x = kiln_input(g, "x", KILN_F32, 2, (int64_t[]){batch, 784});
    kiln_node y = kiln_input(g, "y", KILN_I32, 1, &batch);
    kiln_node h = kiln_relu(g, dense(g, x, 784, 256, 1));
    h = kiln_relu(g, dense(g, h, 256, 128, 2));
    kiln_node loss = kiln_softmax_cross_entropy(g, dense(g, h, 128, 10, 3), y);
    kiln_output(g, "loss", loss);
    kiln_adam(g, loss, &(kiln_adam_options){.lr = 1e-3});
    return g;
}

void wl_bind_inputs(kiln_program *p)
{
    for (int i = 0; i < kiln_program_binding_count(p); i++) {
        kiln_binding b;
        kiln_program_binding(p, i, &b);
        if (b.kind != 'i')
            continue;
        size_t n = 1;
        for (int d = 0; d < b.rank; d++)
            n *= (size_t)b.dims[d];
        void *data = malloc(n * kiln_dtype_size(b.dtype) + 1);
        for (size_t j = 0; data && j < n; j++) {
            if (b.dtype == KILN_F32)
                ((float *)data)[j] = (float)sin(0.37 * (double)j);
            else if (b.dtype == KILN_I32)
                ((int32_t *)data)[j] = (int32_t)(j % 10);
        }
        if (data)
            kiln_set_input(p, b.name, data, n * kiln_dtype_size(b.dtype));
        free(data);
    }
}
