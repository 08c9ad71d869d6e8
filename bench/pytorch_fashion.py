#!/usr/bin/env python3
"""PyTorch's side of bench/nn_vs_pytorch.sh (issue 7, acceptance 5).

The same work as `bench_nn_train --api low`: Fashion-MNIST, 784-256-128-10
with ReLU, Glorot-uniform weights and zero biases, Adam lr 1e-3, batch 128,
a seeded shuffle every epoch with the last partial batch dropped (468 steps
per epoch), then the test accuracy.  Timed from the model's creation to the
last step; data loading is excluded.  Prints one key=value line.

    python3 bench/pytorch_fashion.py [--threads T] [--epochs N] [--data DIR]
"""
import argparse
import gzip
import resource
import struct
import time

import torch


def read_idx(path):
    """An IDX file (gzipped) as a uint8 tensor of its shape."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    body = bytearray(data[4 + 4 * rank:])
    return torch.frombuffer(body, dtype=torch.uint8).reshape(dims)


def load(data, which):
    x = read_idx(f"{data}/{which}-images-idx3-ubyte.gz")
    y = read_idx(f"{data}/{which}-labels-idx1-ubyte.gz")
    return x.reshape(x.shape[0], -1).float().div_(255.0), y.long()  # in place: no extra copy


def mlp(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "t10k")

    t0 = time.perf_counter()
    model = mlp([784, 256, 128, 10])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(42)
    n = xtr.shape[0]
    for _ in range(a.epochs):
        perm = torch.randperm(n, generator=gen)
        for b in range(0, n - a.batch + 1, a.batch):  # drop the last partial batch
            idx = perm[b:b + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
    train_s = time.perf_counter() - t0

    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = ru.ru_utime + ru.ru_stime  # data loading included, as for kiln
    print(f"impl=pytorch threads={a.threads} epochs={a.epochs} train_s={train_s:.2f} "
          f"cpu_s={cpu_s:.1f} test_acc={acc:.4f} peak_rss_mb={ru.ru_maxrss / 1024.0:.0f} "
          f"torch={torch.__version__}")


if __name__ == "__main__":
    main()
