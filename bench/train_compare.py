#!/usr/bin/python3
"""Training speed of facet's gorgonia back end against the same network in
PyTorch on the CPU, in one run on this machine.

Both train the default model of internal/nn (64x64 input, width 16, one
residual block per stage, three heads) on random batches of 32: forward,
backward and an Adam update, after a warm-up. The PyTorch network is the
reference plugin's (plugins/torch_train.py), which has the same layers,
names and shapes. The Go figure comes from `go test ./internal/nn -bench Step/convop`.

Usage: bench/train_compare.py [--steps 30] [--threads 2] [--tags openblas]
Needs Debian's python3-torch (make bench-deps).
"""
import argparse, os, re, subprocess, sys, time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "plugins"))
from torch_train import Net  # noqa: E402

CFG = {"input_size": 64, "width": 16, "blocks": [1, 1, 1, 1], "heads": "three", "bn_epsilon": 1e-5, "bn_momentum": 0.1}


def torch_images_per_s(steps, threads, batch=32):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = Net(CFG)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, weight_decay=1e-4)
    x = torch.randn(batch, 3, CFG["input_size"], CFG["input_size"])
    y = {"mask": torch.randint(0, 3, (batch,)), "gender": torch.randint(0, 2, (batch,)), "age": torch.randint(0, 3, (batch,))}

    def step():
        opt.zero_grad()
        out = net(x)
        loss = sum(F.cross_entropy(out[k], y[k]) for k in y)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - t)


def go_images_per_s(steps, tags):
    cmd = ["go", "test", "./internal/nn", "-run", "^$", "-bench", "Step/convop", "-benchtime", f"{steps}x", "-count", "1"]
    if tags:
        cmd[2:2] = ["-tags", tags]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"([0-9.]+) images/s", out)
    if not m:
        sys.exit("no images/s in:\n" + out)
    rss = re.search(r"([0-9.]+) peak-rss-MiB", out)
    return float(m.group(1)), float(rss.group(1)) if rss else -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--tags", default="", help="go build tags, e.g. openblas")
    a = ap.parse_args()
    go, rss = go_images_per_s(a.steps, a.tags)
    pt = torch_images_per_s(a.steps, a.threads)
    print(f"training images/s, batch 32, 64x64, {a.threads} threads, {a.steps} steps after warm-up:")
    print(f"  PyTorch {torch.__version__} (CPU)      {pt:8.1f}")
    print(f"  facet gorgonia ({a.tags or 'pure Go BLAS'}) {go:8.1f}   peak RSS {rss:.0f} MiB")
    print(f"  ratio facet / PyTorch        {go / pt:8.2f}   (target >= 0.5)")


if __name__ == "__main__":
    main()
