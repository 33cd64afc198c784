#!/usr/bin/python3
"""Inference speed of facet's model (internal/nn, the network facet-infer
runs) against the same network in PyTorch on the CPU, in one run on this
machine.

Both predict 256 random 64x64 images in batches of 32 with the default
model (width 16, one residual block per stage, three heads) in evaluation
mode (batch norm with running statistics, no gradients), after a warm-up.
The PyTorch network is the reference plugin's (plugins/torch_train.py),
with the same layers, names and shapes. The Go figure comes from
`go test ./internal/nn -bench Predict`.

Usage: bench/infer_compare.py [--rounds 10] [--threads 2] [--tags openblas]
Needs Debian's python3-torch (make bench-deps).
"""
import argparse, os, re, subprocess, sys, time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins"))
from torch_train import Net  # noqa: E402

CFG = {"input_size": 64, "width": 16, "blocks": [1, 1, 1, 1], "heads": "three", "bn_epsilon": 1e-5, "bn_momentum": 0.1}


def torch_images_per_s(rounds, threads, n=256, batch=32):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = Net(CFG).eval()
    x = torch.randn(n, 3, CFG["input_size"], CFG["input_size"])

    def predict():
        with torch.no_grad():
            for lo in range(0, n, batch):
                out = net(x[lo:lo + batch])
                for v in out.values():
                    torch.softmax(v, dim=1)

    predict()
    t = time.perf_counter()
    for _ in range(rounds):
        predict()
    return rounds * n / (time.perf_counter() - t)


def go_images_per_s(rounds, tags):
    cmd = ["go", "test", "./internal/nn", "-run", "^$", "-bench", "Predict", "-benchtime", f"{rounds}x", "-count", "1"]
    if tags:
        cmd[2:2] = ["-tags", tags]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"([0-9.]+) images/s", out)
    if not m:
        sys.exit("no images/s in:\n" + out)
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--tags", default="", help="go build tags, e.g. openblas")
    a = ap.parse_args()
    go = go_images_per_s(a.rounds, a.tags)
    pt = torch_images_per_s(a.rounds, a.threads)
    print(f"inference images/s, batches of 32, 64x64, {a.threads} threads, {a.rounds} x 256 images after warm-up:")
    print(f"  PyTorch {torch.__version__} (CPU)      {pt:8.1f}")
    print(f"  facet ({a.tags or 'pure Go BLAS'})     {go:8.1f}")
    print(f"  ratio facet / PyTorch        {go / pt:8.2f}")


if __name__ == "__main__":
    main()
