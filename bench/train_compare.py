#!/usr/bin/python3
"""Training speed of facet's gorgonia back end against the same network in
PyTorch on the CPU, in one run on this machine.

Both train the default model of internal/nn (64x64 input, width 16, one
residual block per stage, three heads) on random batches of 32: forward,
backward and an Adam update, after a warm-up. The PyTorch network is the
reference plugin's (plugins/torch_train.py), which has the same layers,
names and shapes. The Go figure comes from internal/nn's BenchmarkStep
(`go test ./internal/nn -bench Step/convop`), run from a test binary built
once.

The machine may be shared, and PyTorch's OpenMP threads in particular slow
down many times over when other processes hold a core, so the two sides
run in alternating rounds and the best round of each counts; the load
average before and after says how busy the machine was.

Usage: bench/train_compare.py [--steps 30] [--rounds 3] [--threads 2] [--tags openblas]
Needs Debian's python3-torch (make bench-deps).
"""
import argparse, os, re, subprocess, sys, tempfile, time

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


def go_test_binary(tags, dir):
    path = os.path.join(dir, "nn.test")
    cmd = ["go", "test", "-c", "-o", path, "./internal/nn"]
    if tags:
        cmd[2:2] = ["-tags", tags]
    subprocess.run(cmd, check=True, cwd=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    return path


def go_images_per_s(binary, steps):
    cmd = [binary, "-test.run", "^$", "-test.bench", "Step/convop", "-test.benchtime", f"{steps}x"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"([0-9.]+) images/s", out)
    if not m:
        sys.exit("no images/s in:\n" + out)
    rss = re.search(r"([0-9.]+) peak-rss-MiB", out)
    return float(m.group(1)), float(rss.group(1)) if rss else -1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--tags", default="", help="go build tags, e.g. openblas")
    a = ap.parse_args()
    load = os.getloadavg()[0]
    gos, pts, rss = [], [], 0.0
    with tempfile.TemporaryDirectory() as dir:
        binary = go_test_binary(a.tags, dir)
        for _ in range(a.rounds):
            go, r = go_images_per_s(binary, a.steps)
            gos.append(go)
            rss = max(rss, r)
            pts.append(torch_images_per_s(a.steps, a.threads))
    go, pt = max(gos), max(pts)
    rounds = lambda v: " ".join(f"{x:.0f}" for x in v)
    print(f"training images/s, batch 32, 64x64, {a.threads} threads, {a.steps} steps after warm-up,")
    print(f"best of {a.rounds} alternating rounds (load average {load:.1f} before, {os.getloadavg()[0]:.1f} after):")
    print(f"  PyTorch {torch.__version__} (CPU)      {pt:8.1f}   rounds {rounds(pts)}")
    print(f"  facet gorgonia ({a.tags or 'pure Go'}) {go:8.1f}   rounds {rounds(gos)}   peak RSS {rss:.0f} MiB")
    print(f"  ratio facet / PyTorch        {go / pt:8.2f}   (target >= 0.5)")


if __name__ == "__main__":
    main()
