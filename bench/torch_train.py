#!/usr/bin/python3
"""PyTorch side of bench_train: the same 784-1000-1000-1000-10 ReLU network,
batch 128, SGD momentum 0.9, lr 0.01, on Fashion-MNIST (random data of the
same shape when the dataset package is missing). Prints seconds per epoch and
samples per second, dense and with a 5% mask on the hidden layers (the usual
way sparsity is simulated in PyTorch: the mask costs a full dense product).

Run with Debian's python3-torch:
    GOMP_SPINCOUNT=1000 /usr/bin/python3 bench/torch_train.py --threads 2

PyTorch's CPU matrix products go through the system BLAS. Debian's reference
BLAS (what a bare python3-torch install may link) runs at a few GFLOP/s; install
OpenBLAS (apt-get install libopenblas0-pthread) for a fair comparison. The
script measures the BLAS first and warns when it is that slow.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"


def load():
    try:
        with gzip.open(os.path.join(DATA, "train-images-idx3-ubyte.gz")) as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
        with gzip.open(os.path.join(DATA, "train-labels-idx1-ubyte.gz")) as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)
        return torch.tensor(x, dtype=torch.float32) / 255.0, torch.tensor(y, dtype=torch.long)
    except OSError:
        g = torch.Generator().manual_seed(7)
        return torch.rand(60000, 784, generator=g), torch.randint(0, 10, (60000,), generator=g)


def run(x, y, epochs, density):
    torch.manual_seed(1)
    layers, sizes = [], [784, 1000, 1000, 1000]
    for i in range(3):
        layers += [torch.nn.Linear(sizes[i], sizes[i + 1]), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(1000, 10))
    net = torch.nn.Sequential(*layers)
    masks = []
    if density < 1.0:
        for m in net:
            if isinstance(m, torch.nn.Linear) and m.out_features != 10:
                mask = (torch.rand_like(m.weight) < density).float()
                m.weight.data *= mask
                masks.append((m, mask))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for s in range(0, n, 128):
            idx = perm[s:s + 128]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            for m, mask in masks:
                m.weight.data *= mask
    sec = (time.perf_counter() - t0) / epochs
    return sec, n / sec


def blas_gflops(threads):
    """GFLOP/s of a 1000x1000 float32 product through PyTorch's BLAS."""
    a = torch.rand(1000, 1000)
    b = torch.rand(1000, 1000)
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        a @ b
        best = max(best, 2e9 / (time.perf_counter() - t0) / 1e9)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gf = blas_gflops(a.threads)
    core = os.environ.get("OPENBLAS_CORETYPE", "auto-detected")
    print(f"  torch {torch.__version__}, BLAS matmul {gf:.0f} GFLOP/s "
          f"(OPENBLAS_CORETYPE {core})", flush=True)
    if gf < 20:
        print("  warning: PyTorch's BLAS is slow (the reference BLAS?); install "
              "OpenBLAS: apt-get install libopenblas0-pthread", flush=True)
    x, y = load()
    for density in (1.0, 0.05):
        sec, sps = run(x, y, a.epochs, density)
        label = "dense" if density == 1.0 else "mask-5%"
        print(f"  torch {label:8s} {sec:8.2f} s/epoch {sps:10.0f} samples/s", flush=True)


if __name__ == "__main__":
    main()
