/* workloads.h — the graphs of issue 5's fixed workloads, shared by the
 * CPU and CUDA fusion benchmarks and the compile-time benchmark. */
#ifndef KILN_BENCH_WORKLOADS_H
#define KILN_BENCH_WORKLOADS_H

#include "kiln.h"

/* (a) y = tanh(x*0.5+0.1)*sigmoid(x) + relu(x-0.2) over n floats. */
kiln_graph *wl_chain(int64_t n);
/* (b) softmax over the rows of x[4096, 1024]. */
kiln_graph *wl_softmax(void);
/* (c) (x - mean) * rsqrt(var + 1e-5) over the rows of x[4096, 1024]. */
kiln_graph *wl_layernorm(void);
/* (d), (e) one Adam step (lr 1e-3) of the 784-256-128-10 ReLU MLP with
 * softmax cross-entropy: inputs x[batch, 784] and y[batch] (i32),
 * Glorot-uniform weights w1..w3, zero biases b1..b3, output "loss". */
kiln_graph *wl_mlp_step(int64_t batch);

/* Bind deterministic values to every input of p: f32 sin(0.37 j),
 * i32 j mod 10 (the MLP's labels). */
void wl_bind_inputs(kiln_program *p);

#endif
