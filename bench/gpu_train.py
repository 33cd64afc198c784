#!/usr/bin/env python3
"""Training throughput of plugins/torch_train.py end to end, next to the
same training step on data already resident on the device, in one run.

On a machine with an NVIDIA GPU and Python only (torch, torchvision, numpy,
Pillow; no Go, no OpenCV), from the repository root:

    python3 bench/gpu_train.py --images /path/to/faces --rows 50000 --epochs 8

(--images: a folder of face images, e.g. UTKFace's age_gender_race_date.jpg.chip.jpg;
labels come from UTKFace-style names, else at random, and the mask label is
random.) On the CPU, as a test:

    /usr/bin/python3 bench/gpu_train.py --images /work/shared/data/faces/utkface --device cpu --epochs 1 --limit 256

What it does:

1. Makes what facet-train hands a plugin (in --work, default
   /tmp/facet-gpu-bench): 224 x 224 JPEG crops (quality 95, as facet-crop
   writes them) of --limit source images, 80 % of them for training and
   20 % for validation; train.csv with --rows rows cycling over the
   training crops (default: each once), val.csv, and a protocol 2 job per
   model with facet's default model config, its ops spec and the facet
   network's tensor list (from the plugin's own Net).
2. For each model (--models, default facet:64,resnet18:112), runs the
   plugin as facet-train does (the job on stdin and in $FACET_TRAIN_JOB)
   for --epochs epochs at --batch (default 256), with patience 0, and
   times the whole run: Python start, decoding, training, validation,
   export. "end to end" = images trained / that wall time; "epoch" = the
   median training throughput of the epochs after the first (the plugin's
   images_per_s, training loop only).
3. In this process, times the plugin's own training step (its Store,
   Augment, Loss and Step classes: gather, augment on the device, forward,
   backward, optimiser) on a random uint8 tensor resident on the device:
   "resident".
4. Prints a markdown table with the three rates and the ratios to
   resident (the target for end to end is >= 0.8 over enough epochs).
"""
import argparse, glob, json, os, random, statistics, subprocess, sys, time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
PLUGIN = os.path.join(HERE, "..", "plugins", "torch_train.py")
sys.path.insert(0, os.path.join(HERE, "..", "plugins"))
import torch_train as tt  # noqa: E402

# internal/nn.DefaultConfig, and internal/augment's DefaultSpec, MeanRGB and StdRGB.
CONFIG = {"input_size": 64, "width": 16, "blocks": [1, 1, 1, 1], "heads": "three", "seed": 1, "lr": 1e-3, "schedule": "exp",
          "lr_decay": 0.95, "weight_decay": 1e-4, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "bn_momentum": 0.1,
          "bn_epsilon": 1e-5, "loss": "ce", "focal_gamma": 2, "label_smoothing": 0, "age_smoothing": 0.1,
          "predict_batch": 32}
OPS = ("flip:0.5,jitter(b=0.25,c=0.25,s=0.25,h=0.03):0.8,affine(r=10,s=0.08,t=0.05):0.7,"
       "blur(s=0.3..1.2):0.15,noise(s=2..8):0.15,cutout(n=1,f=0.25):0.25,jpeg(q=40..90):0.2,gray:0.05")
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def labels_of(path, rng):
    """mask, gender, age_group: from a UTKFace name (age_gender_...), else at random; mask at random."""
    parts = os.path.basename(path).split("_")
    try:
        age, gender = int(parts[0]), int(parts[1])
        if gender not in (0, 1):
            raise ValueError
        group = 0 if age < 30 else (1 if age < 60 else 2)
    except (ValueError, IndexError):
        gender, group = rng.randrange(2), rng.randrange(3)
    return rng.randrange(3), gender, group


def make_data(a):
    from PIL import Image
    files = sorted(f for e in ("jpg", "jpeg", "png", "JPG", "JPEG", "PNG") for f in glob.glob(os.path.join(a.images, "**", "*." + e), recursive=True))
    if not files:
        sys.exit(f"gpu_train: no images in {a.images}")
    rng = random.Random(1)
    rng.shuffle(files)
    files = files[:a.limit] if a.limit else files
    crops = os.path.join(a.work, "crops")
    os.makedirs(crops, exist_ok=True)
    rows = []
    for i, f in enumerate(files):
        out = os.path.join(crops, f"{i:06d}.jpg")
        if not os.path.exists(out):
            with Image.open(f) as im:
                im.convert("RGB").resize((224, 224), getattr(Image, "Resampling", Image).BICUBIC).save(out + ".tmp.jpg", quality=95)
            os.replace(out + ".tmp.jpg", out)
        rows.append((out,) + labels_of(f, rng))
    nval = max(1, len(rows) // 5)
    val, train = rows[:nval], rows[nval:]
    n = a.rows or len(train)
    write_csv(os.path.join(a.work, "train.csv"), [train[i % len(train)] for i in range(n)])
    write_csv(os.path.join(a.work, "val.csv"), val)
    return n, len(val)


def write_csv(path, rows):
    with open(path, "w") as f:
        f.write("id,image,mask,gender,age_group\n")
        for i, (img, m, g, a) in enumerate(rows):
            f.write(f"{i},{img},{m},{g},{a}\n")


def make_job(a, run_dir):
    cfg = dict(CONFIG)
    tensors = [{"name": k, "shape": list(v.shape), "dtype": "F32"} for k, v in tt.Net(cfg).state_dict().items()
               if not k.endswith("num_batches_tracked")]
    return {"protocol": 2, "train": "", "val": "", "train_csv": os.path.join(a.work, "train.csv"),
            "val_csv": os.path.join(a.work, "val.csv"), "run_dir": run_dir, "fold": -1, "epochs": a.epochs,
            "batch": a.batch, "patience": 0, "seed": 1, "ops": OPS, "mean": MEAN, "std": STD, "model": cfg, "tensors": tensors}


def run_plugin(a, model, size):
    run_dir = os.path.join(a.work, "run-" + model.replace(":", "_"))
    os.makedirs(run_dir, exist_ok=True)
    job = make_job(a, run_dir)
    path = os.path.join(run_dir, "job.json")
    with open(path, "w") as f:
        json.dump(job, f, indent=2)
    cmd = [sys.executable, PLUGIN, "--model", model, "--size", str(size), "--device", a.device] + \
          (["--workers", str(a.workers)] if a.workers else [])
    print("gpu_train: " + " ".join(cmd), file=sys.stderr, flush=True)
    t0 = time.time()
    p = subprocess.run(cmd, input=json.dumps(job).encode(), env=dict(os.environ, FACET_TRAIN_JOB=path))
    wall = time.time() - t0
    if p.returncode:
        sys.exit(f"gpu_train: the plugin failed (exit status {p.returncode})")
    lines = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    trained = sum(l["images_per_s"] * l["seconds"] for l in lines)
    steady = statistics.median(l["images_per_s"] for l in (lines[1:] or lines))
    return {"wall": wall, "decode": lines[0]["decode_seconds"], "e2e": trained / wall, "epoch": steady, "epochs": len(lines)}


def resident(a, model, size, steps):
    """The plugin's training step on random uint8 images resident on the device."""
    dev = torch.device(a.device)
    cfg = dict(CONFIG)
    args = tt.parse_args(["--model", model, "--size", str(size), "--device", a.device])
    job = {"model": cfg, "epochs": a.epochs, "ops": OPS, "tensors": [{"name": "x"}]}
    tt.resolve(args, job)
    torch.manual_seed(1)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    n = max(a.batch * 8, 2048) if dev.type == "cuda" else a.batch * 2
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g).numpy()
    y = {k: torch.randint(0, c, (n,), generator=g) for k, c in (("mask", 3), ("gender", 2), ("age", 3))}
    store = tt.Store(x, y, dev, a.batch)
    model_, _, _ = tt.build_model(args, cfg)
    model_.to(dev)
    if args.channels_last:
        model_.to(memory_format=torch.channels_last)
    opt = tt.make_optimizer(args, model_, cfg, cfg["lr"])
    aug = tt.Augment(tt.parse_ops(OPS)[0], MEAN, STD, torch.Generator(device=dev).manual_seed(2))
    step = tt.Step(model_.train(), opt, aug, tt.Loss(cfg, args.heads, dev), args.amp, args.channels_last)

    def run(k):  # as the plugin's epoch loop: a permutation, then its slices
        perm = torch.randperm(n, generator=g)
        perm_dev, total = perm.to(dev), torch.zeros((), device=dev)
        for s in range(k):
            i = s % (n // a.batch) * a.batch
            idx, idx_dev = perm[i:i + a.batch], perm_dev[i:i + a.batch]
            total += step(store.batch(idx, idx_dev), store.labels(idx_dev))
        float(total)  # waits for the device

    run(max(3, steps // 5))  # warm-up (cudnn.benchmark picks its kernels)
    t0 = time.time()
    run(steps)
    return steps * a.batch / (time.time() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--images", required=True, help="folder of face images (searched recursively)")
    p.add_argument("--work", default="/tmp/facet-gpu-bench", help="where crops, tables and runs go")
    p.add_argument("--limit", type=int, default=0, help="use at most this many source images (0: all)")
    p.add_argument("--rows", type=int, default=0, help="training rows, cycling over the training crops (0: each once)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    p.add_argument("--models", default="facet:64,resnet18:112", help="MODEL:SIZE,... (plugin --model and --size)")
    p.add_argument("--steps", type=int, default=0, help="timed steps of the resident measurement (default 100 on CUDA, 5 on the CPU)")
    p.add_argument("--workers", type=int, default=0, help="the plugin's --workers (0: its default, all cores)")
    a = p.parse_args()
    if a.device == "auto":
        a.device = "cuda" if torch.cuda.is_available() else "cpu"
    a.work = os.path.abspath(a.work)
    os.makedirs(a.work, exist_ok=True)
    ntrain, nval = make_data(a)
    what = torch.cuda.get_device_name() if a.device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    print(f"gpu_train: {ntrain} training rows, {nval} validation rows, {a.epochs} epochs, batch {a.batch}, "
          f"on {what}, torch {torch.__version__}", file=sys.stderr, flush=True)
    results = []
    for spec in a.models.split(","):
        model, size = spec.rsplit(":", 1)
        r = run_plugin(a, model, int(size))
        r["resident"] = resident(a, model, int(size), a.steps or (100 if a.device == "cuda" else 5))
        results.append((model, int(size), r))
    print(f"\n{ntrain} training + {nval} validation rows, batch {a.batch}, {a.epochs} epochs, {what}, torch {torch.__version__}\n")
    print("| model | size | decode s | wall s | end to end img/s | epoch img/s | resident img/s | end to end / resident | epoch / resident |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model, size, r in results:
        print(f"| {model} | {size} | {r['decode']:.1f} | {r['wall']:.1f} | {r['e2e']:.0f} | {r['epoch']:.0f} | "
              f"{r['resident']:.0f} | {r['e2e'] / r['resident']:.2f} | {r['epoch'] / r['resident']:.2f} |")


if __name__ == "__main__":
    main()
