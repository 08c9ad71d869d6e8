#!/usr/bin/env python3
"""PyTorch's Iris-sized training step for bench/nn_vs_pytorch.sh: 4-16-3
with ReLU, batch 120, softmax cross-entropy, Adam; the median time of one
step (zero_grad, forward, loss, backward, step) over --steps steps after a
warm-up, on random inputs like bench_nn_train's.  Prints a key=value line.

    python3 bench/pytorch_iris.py [--threads T] [--steps N]
"""
import argparse
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5000)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 3))
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(120, 4) * 4 - 2
    y = torch.randint(0, 3, (120,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    for _ in range(200):  # warm-up
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e6)
    print(f"impl=pytorch threads={a.threads} iris_step_us={statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
