#!/usr/bin/env python3
"""facet-train exec backend in PyTorch: facet's network or an ImageNet-style
backbone, on the CPU or a CUDA GPU (protocol: train/PROTOCOL.md, versions 1
and 2).

    facet-train --out RUNDIR --folds DIR --fold 0 --backend exec -- \\
        python3 plugins/torch_train.py                       # facet's network, as facet trains it
    facet-train --out RUNDIR --folds DIR --fold 0 --epochs 30 --batch 256 --backend exec -- \\
        python3 plugins/torch_train.py --model resnet18 --size 112 --weights resnet18-imagenet.pth
    python3 plugins/torch_train.py --model resnet18 --resume < RUNDIR/job.json   # continue RUNDIR/last.pt
    python3 plugins/torch_train.py --help

The job (JSON) comes from the file $FACET_TRAIN_JOB, else stdin (or --job).

--model facet (the default) trains internal/nn's network (names and shapes
match the job's tensor list) and writes best.safetensors, best.json (the
job's model config) and metrics.jsonl, as protocol 1 wants. Any other model
(torchvision resnet18, resnet34, resnet50, mobilenet_v3_small,
mobilenet_v3_large, efficientnet_b0, or timm:NAME when timm is installed) is
the backbone with its classifier replaced by identity and one linear layer
per head (mask 3, gender 2, age 3; or one of 18 with --heads single18) on
its pooled features, and the plugin writes best.onnx (opset 13) and
best.json ("format": "facet-onnx/1") instead. Every model also gets
val_probs.csv: PyTorch's softmax probabilities of the best epoch on the
validation rows (eval mode, float32, no TTA), for facet to check that its
own predictions of best.onnx equal PyTorch's.

Nothing is downloaded: --weights loads a local state dict (for example
torchvision's ImageNet weights file); every tensor must fit the backbone
except its classifier, which is dropped.

Data path: every image is decoded ONCE, by --workers threads with Pillow,
the EXIF orientation applied, and resized to S x S as facet does: OpenCV's
INTER_AREA (each target pixel the area-weighted mean of the source pixels
it covers, rounded half up; Pillow's BOX filter is not the same: it takes
whole source pixels and rounds otherwise) when it shrinks, bilinear when
it grows;
the whole table is kept as one uint8 tensor N x 3 x S x S, on the GPU when
it takes less than half its free memory, else in pinned host memory copied
per batch without blocking. Augmentation runs on the device, per batch, in
torch ops: the job's ops spec (facet's internal/augment syntax) with flip,
jitter(b,c,s,h), affine(r,s,t), blur(s), noise(s), cutout(n,f) and gray as
facet defines them (jpeg and unknown ops are skipped with a warning); then
x = (pixel/255 - mean)/std with the job's mean and std.

On CUDA: bf16 autocast (--amp), channels-last memory (--channels-last) and
cudnn.benchmark, all on by default. On the CPU the run is deterministic for
a seed: shuffling and augmentation draw from their own torch.Generators.

Needs torch >= 1.13 and numpy, Pillow (and torchvision for its models):
Debian's python3-torch, python3-torchvision, python3-numpy, python3-pil
suffice on the CPU; a GPU machine's PyTorch 2.x with CUDA works the same.
No Arrow, safetensors or onnx package is needed.
"""
import argparse, concurrent.futures, copy, csv, inspect, json, math, os, struct, sys, threading, time, warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Pillow and torchvision are imported where they are used, so that the
# network (Net) can be imported with torch alone, as bench/train_compare.py does.

PROTOCOLS = (1, 2)
TORCHVISION = ("resnet18", "resnet34", "resnet50", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0")
HEADS = {"three": (("mask", 3), ("gender", 2), ("age", 3)), "single18": (("class18", 18),)}


class Fail(Exception):
    """An error reported as one line (torch_train: ...) and exit status 1."""


# ---------------------------------------------------------------- facet's network (internal/nn)

class ConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, cfg):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=cfg["bn_epsilon"], momentum=cfg["bn_momentum"])

    def forward(self, x):
        return self.bn(self.conv(x))


class Block(nn.Module):
    def __init__(self, cin, cout, stride, cfg):
        super().__init__()
        eps, mom = cfg["bn_epsilon"], cfg["bn_momentum"]
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=eps, momentum=mom)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=eps, momentum=mom)
        self.down = ConvBN(cin, cout, 1, stride, cfg) if (cin != cout or stride != 1) else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class Net(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg["width"]
        self.stem = ConvBN(3, w, 3, 2, cfg)
        self.stages, cin = nn.ModuleList(), w
        for s, nb in enumerate(cfg["blocks"]):
            cout = w << s
            self.stages.append(nn.ModuleList(
                [Block(cin if b == 0 else cout, cout, 2 if (s > 0 and b == 0) else 1, cfg) for b in range(nb)]))
            cin = cout
        self.head = nn.ModuleDict({k: nn.Linear(cin, n) for k, n in HEADS[cfg["heads"]]})

    def forward(self, x):
        x = F.relu(self.stem(x))
        for stage in self.stages:
            for block in stage:
                x = block(x)
        x = x.mean(dim=(2, 3))
        return {k: h(x) for k, h in self.head.items()}


# ---------------------------------------------------------------- other backbones

class Backbone(nn.Module):
    """A backbone whose classifier is identity, so it returns its pooled
    features, with one linear layer per head on them."""

    def __init__(self, body, features, heads):
        super().__init__()
        self.backbone = body
        self.head = nn.ModuleDict({k: nn.Linear(features, n) for k, n in HEADS[heads]})

    def forward(self, x):
        f = torch.flatten(self.backbone(x), 1)
        return {k: h(f) for k, h in self.head.items()}


def make_backbone(name):
    """Returns (module, number of pooled features, prefixes of the dropped
    classifier's tensors in a state dict of the original model)."""
    if name.startswith("timm:"):
        try:
            import timm
        except ImportError:
            raise Fail(f"--model {name}: timm is not installed; use a torchvision model or install timm")
        try:
            m = timm.create_model(name[5:], pretrained=False, num_classes=0)
        except Exception as e:
            raise Fail(f"--model {name}: timm cannot build it: {one_line(e)}")
        cfg = getattr(m, "pretrained_cfg", None) or getattr(m, "default_cfg", None) or {}
        cls = cfg.get("classifier", "head")
        return m, m.num_features, tuple(c + "." for c in ([cls] if isinstance(cls, str) else cls))
    if name not in TORCHVISION:
        raise Fail(f"--model {name}: unknown (want facet, {', '.join(TORCHVISION)} or timm:NAME)")
    try:
        import torchvision
    except ImportError:
        raise Fail(f"--model {name}: torchvision is not installed")
    ctor = getattr(torchvision.models, name)
    try:
        m = ctor(weights=None)
    except TypeError:  # torchvision < 0.13
        m = ctor(pretrained=False)
    if name.startswith("resnet"):
        features, m.fc = m.fc.in_features, nn.Identity()
        return m, features, ("fc.",)
    features = [l for l in m.classifier if isinstance(l, nn.Linear)][0].in_features
    m.classifier = nn.Identity()
    return m, features, ("classifier.",)


def build_model(args, cfg):
    """The model, the prefixes of tensors a --weights file may lack or have
    in another shape (the heads, the dropped classifier), and the ones it
    may hold that the model has not (the dropped classifier)."""
    if args.model == "facet":
        return Net(cfg), ("head.",), ()
    body, features, classifier = make_backbone(args.model)
    return Backbone(body, features, args.heads), ("head.",), classifier


# ---------------------------------------------------------------- weights files

def torch_load(path):
    kw = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kw["weights_only"] = True  # a state dict needs nothing else, and nothing else runs
    return torch.load(path, **kw)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    kinds = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], kinds[v["dtype"]]).reshape(v["shape"]).copy())
    return out


def load_weights(model, name, path, allow_missing, drop):
    """Loads a local state dict into model with strict checks: every tensor
    of the model must be in the file with its shape, and every tensor of the
    file must be in the model, except the heads (allow_missing: new here)
    and the original classifier (drop). A file of the whole model (keys
    backbone.*, head.*, as last.pt holds) loads heads too."""
    try:
        sd = read_safetensors(path) if path.endswith(".safetensors") else torch_load(path)
    except Exception as e:
        raise Fail(f"--weights {path}: cannot read it as a state dict: {one_line(e)}")
    for key in ("model", "state_dict", "model_state_dict"):
        while isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not sd or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise Fail(f"--weights {path}: not a state dict (a mapping of names to tensors)")
    sd = {(k[7:] if k.startswith("module.") else k): v for k, v in sd.items()}
    target = model
    if isinstance(model, Backbone) and not any(k.startswith("backbone.") for k in sd):
        target, allow_missing = model.backbone, ()
    own = target.state_dict()
    free = lambda k: k.startswith(allow_missing) or k.startswith(drop)
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked") and not free(k)]
    unexpected = [k for k in sd if k not in own and not free(k)]
    shapes = [f"{k} {list(sd[k].shape)} vs {list(own[k].shape)}" for k in sd
              if k in own and sd[k].shape != own[k].shape and not free(k)]
    if missing or unexpected or shapes:
        show = lambda ks: ", ".join(ks[:4]) + (", ..." if len(ks) > 4 else "")
        parts = [f"{len(missing)} missing ({show(missing)})" if missing else "",
                 f"{len(unexpected)} unexpected ({show(unexpected)})" if unexpected else "",
                 f"{len(shapes)} of another shape (file vs model: {show(shapes)})" if shapes else ""]
        raise Fail(f"--weights {path} does not fit --model {name}: " + "; ".join(p for p in parts if p))
    take = {k: v for k, v in sd.items() if k in own and v.shape == own[k].shape}
    target.load_state_dict(take, strict=False)
    fresh = target is not model or any(k.startswith("head.") and k not in take for k in own)
    return len(take), fresh


def one_line(e):
    s = str(e).strip().splitlines()
    s = s[0] if s else ""
    return (s if isinstance(e, OSError) and s else f"{type(e).__name__}: {s}" if s else type(e).__name__)[:300]


# ---------------------------------------------------------------- augmentation (facet's ops spec, on the device)

OP_KEYS = {"flip": "", "gray": "", "jitter": "bcsh", "affine": "rst", "blur": "s", "noise": "s", "cutout": "nf", "jpeg": "q"}
OP_DEFAULTS = {"jitter": {"b": 0.2, "c": 0.2, "s": 0.2, "h": 0.02}, "affine": {"r": 10, "s": 0.1, "t": 0.05},
               "blur": {"s": (0.5, 1.5)}, "noise": {"s": (2, 8)}, "cutout": {"n": 1, "f": 0.25}, "jpeg": {"q": (40, 90)}}
LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as internal/augment


def parse_ops(spec):
    """Reads facet's spec, NAME[(KEY=VALUE,...)][:PROBABILITY] separated by
    commas, a value a number or LO..HI (internal/augment/spec.go). Returns
    [(name, {key: (lo, hi)}, prob)] of the ops this file does, and the
    names of the ones it skips."""
    items, depth, start = [], 0, 0
    for i, c in enumerate(spec):
        depth += (c == "(") - (c == ")")
        if c == "," and depth == 0:
            items.append(spec[start:i])
            start = i + 1
    items.append(spec[start:])
    ops, skipped = [], []
    for item in (s.strip() for s in items):
        if not item:
            continue
        head, prob = item, 1.0
        colon = item.rfind(":")
        if colon > item.rfind(")"):
            try:
                head, prob = item[:colon], float(item[colon + 1:])
            except ValueError:
                raise Fail(f"ops {spec!r}: {item!r}: bad probability")
        name, kv = head, {}
        if "(" in head:
            name, args = head.split("(", 1)
            for part in args.rstrip(")").split(","):
                if part.strip():
                    k, _, v = part.partition("=")
                    lo, _, hi = v.partition("..")
                    try:
                        kv[k.strip()] = (float(lo), float(hi or lo))
                    except ValueError:
                        raise Fail(f"ops {spec!r}: {item!r}: bad argument {part!r}")
        name = name.strip()
        if name not in OP_KEYS or name == "jpeg":
            skipped.append(name)
            continue
        params = {k: (v if isinstance(v, tuple) else (v, v)) for k, v in OP_DEFAULTS.get(name, {}).items()}
        params.update(kv)
        ops.append((name, params, prob))
    return ops, skipped


class Augment:
    """facet's augmentation ops, per batch on the device: uint8 N x 3 x S x S
    in, normalised float32 out. Each op runs on each sample with its
    probability, in the spec's order, as internal/augment's Pipeline does
    (values stay in 0..255 between ops). Random draws come from gen."""

    def __init__(self, ops, mean, std, gen):
        self.ops, self.gen, dev = ops, gen, gen.device
        std = torch.tensor(std, dtype=torch.float32, device=dev).view(1, 3, 1, 1)
        self.scale = 1 / (255 * std)
        self.shift = -torch.tensor(mean, dtype=torch.float32, device=dev).view(1, 3, 1, 1) / std
        # constants made once: a tensor made from a list per step would wait for the GPU
        self.luma = torch.tensor(LUMA, device=dev)
        self.eye = torch.eye(3, device=dev)
        self.to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=dev)
        self.to_rgb = torch.tensor([[1, 0.956, 0.621], [1, -0.272, -0.647], [1, -1.106, 1.703]], device=dev)
        self.ident = torch.tensor([[1.0, 0, 0], [0, 1, 0]], device=dev)

    def normalise(self, x):
        return x.float() * self.scale + self.shift

    def __call__(self, xb):
        x = xb.float()
        for name, p, prob in self.ops:
            if prob <= 0:
                continue
            sel = self.rand(len(x)) < prob
            x = getattr(self, name)(x, sel, p)
        return x * self.scale + self.shift

    def rand(self, *shape):
        return torch.rand(*shape, generator=self.gen, device=self.gen.device)

    def uniform(self, n, r):
        return r[0] + (r[1] - r[0]) * self.rand(n)

    def sym(self, n, v):  # v * U(-1, 1)
        return v * (2 * self.rand(n) - 1)

    def flip(self, x, sel, p):
        return torch.where(sel.view(-1, 1, 1, 1), x.flip(3), x)

    def gray(self, x, sel, p):
        y = torch.einsum("c,nchw->nhw", self.luma, x).unsqueeze(1).expand_as(x)
        return torch.where(sel.view(-1, 1, 1, 1), y, x)

    def jitter(self, x, sel, p):
        n, dev = len(x), x.device
        b, c, s = (1 + self.sym(n, p[k][0]) for k in "bcs")
        h = self.sym(n, p["h"][0]) * 2 * math.pi
        eye = self.eye.expand(n, 3, 3)
        mean = torch.einsum("c,nchw->n", self.luma, x) / (x.shape[2] * x.shape[3]) * b
        a = (b * c).view(n, 1, 1) * eye  # brightness, then contrast around the mean luma
        off = ((1 - c) * mean).view(n, 1).expand(n, 3)
        sat = (1 - s).view(n, 1, 1) * self.luma.view(1, 1, 3).expand(n, 3, 3) + s.view(n, 1, 1) * eye
        rot = torch.zeros(n, 3, 3, device=dev)
        rot[:, 0, 0], rot[:, 1, 1], rot[:, 2, 2], rot[:, 1, 2], rot[:, 2, 1] = 1, h.cos(), h.cos(), -h.sin(), h.sin()
        hue = self.to_rgb @ rot @ self.to_yiq
        m = hue @ sat
        a, off = m @ a, (m @ off.unsqueeze(2)).squeeze(2)
        y = torch.einsum("nij,njhw->nihw", a, x) + off.view(n, 3, 1, 1)
        return torch.where(sel.view(-1, 1, 1, 1), y.clamp(0, 255), x)

    def affine(self, x, sel, p):
        """Rotation by up to r degrees, scale 1 +- s, shift up to t of the
        size, about the centre, bilinear, border pixels repeated."""
        n = len(x)
        angle = self.sym(n, p["r"][0]) * math.pi / 180
        scale = 1 + self.sym(n, p["s"][0])
        tx, ty = 2 * self.sym(n, p["t"][0]), 2 * self.sym(n, p["t"][0])  # in [-1, 1] units
        cs, sn = angle.cos() / scale, angle.sin() / scale
        theta = torch.stack([torch.stack([cs, sn, -(cs * tx + sn * ty)], 1),
                             torch.stack([-sn, cs, sn * tx - cs * ty], 1)], 1)
        theta = torch.where(sel.view(-1, 1, 1), theta, self.ident.expand(n, 2, 3))
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def blur(self, x, sel, p):
        n, _, hgt, wid = x.shape
        sigma = torch.where(sel, self.uniform(n, p["s"]), torch.zeros(n, device=x.device))
        r = max(1, math.ceil(3 * p["s"][1]))
        d = torch.arange(-r, r + 1, device=x.device, dtype=torch.float32)
        k = torch.exp(-d.view(1, -1) ** 2 / (2 * sigma.clamp_min(0.05).view(-1, 1) ** 2))
        k = torch.where((sigma < 0.05).view(-1, 1), (d == 0).float().view(1, -1).expand_as(k), k)
        k = (k / k.sum(1, keepdim=True)).repeat_interleave(3, 0)  # one kernel per channel
        y = x.reshape(1, n * 3, hgt, wid)
        y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="replicate"), k.view(n * 3, 1, 1, -1), groups=n * 3)
        y = F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), k.view(n * 3, 1, -1, 1), groups=n * 3)
        return y.view_as(x)

    def noise(self, x, sel, p):
        sigma = torch.where(sel, self.uniform(len(x), p["s"]), torch.zeros(len(x), device=x.device))
        z = torch.randn(x.shape, generator=self.gen, device=x.device)
        return (x + sigma.view(-1, 1, 1, 1) * z).clamp(0, 255)

    def cutout(self, x, sel, p):
        n, _, hgt, wid = x.shape
        side = max(1, int(p["f"][0] * min(hgt, wid)))
        ys = torch.arange(hgt, device=x.device).view(1, -1, 1)
        xs = torch.arange(wid, device=x.device).view(1, 1, -1)
        hole = torch.zeros(n, hgt, wid, dtype=torch.bool, device=x.device)
        for _ in range(int(p["n"][0])):
            x0 = (self.rand(n) * wid).long().view(-1, 1, 1) - side // 2
            y0 = (self.rand(n) * hgt).long().view(-1, 1, 1) - side // 2
            hole |= (xs >= x0) & (xs < x0 + side) & (ys >= y0) & (ys < y0 + side)
        hole &= sel.view(-1, 1, 1)
        return x.masked_fill(hole.unsqueeze(1), 128.0)


# ---------------------------------------------------------------- data

def read_table(path):
    """A job's CSV copy of a table: id,image,mask,gender,age_group."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise Fail(f"{path}: {e.strerror}")
    if rows and not {"id", "image", "mask", "gender", "age_group"} <= set(rows[0]):
        raise Fail(f"{path}: header {list(rows[0])}: want id,image,mask,gender,age_group")
    if not rows:
        raise Fail(f"{path}: no rows")
    try:
        y = {k: torch.tensor([int(r[c]) for r in rows], dtype=torch.long)
             for k, c in (("mask", "mask"), ("gender", "gender"), ("age", "age_group"))}
    except ValueError as e:
        raise Fail(f"{path}: a label is not a number: {e}")
    return rows, y


_area_taps = {}


def area_taps(n, size):
    """OpenCV's INTER_AREA downscaling from n to size pixels as taps: output
    pixel i is the mean of the source interval [i*n/size, (i+1)*n/size),
    each source pixel weighted by how much of it the interval covers.
    Returns (size x K source indices, size x K float32 weights)."""
    if (n, size) not in _area_taps:
        scale = n / size
        k = math.ceil(scale) + 1
        idx, wt = np.zeros((size, k), np.int64), np.zeros((size, k), np.float32)
        for i in range(size):
            lo, hi = i * scale, (i + 1) * scale
            for t, j in enumerate(range(int(lo), min(n, math.ceil(hi)))):
                idx[i, t], wt[i, t] = j, (min(hi, j + 1) - max(lo, j)) / scale  # float32, as OpenCV's table
        _area_taps[(n, size)] = idx, wt
    return _area_taps[(n, size)]


def area_resize(a, size):
    """Resizes an H x W x 3 uint8 array (H, W >= size) to 3 x size x size as
    facet does (OpenCV 4's INTER_AREA, internal/cvimage). Integer factors
    sum k x k blocks and round as OpenCV does (half up for 2 x 2, else half
    to even); other factors weigh by area in float32, first along rows,
    then along columns, in OpenCV's order, and round half to even."""
    h, w, _ = a.shape
    if h % size == 0 and w % size == 0:
        ky, kx = h // size, w // size
        s = np.zeros((size, size, 3), np.int32)
        for dy in range(ky):
            for dx in range(kx):
                s += a[dy::ky, dx::kx]
        out = (s + 2) // 4 if ky == kx == 2 else np.rint(s / np.float64(ky * kx))
    else:
        iy, wy = area_taps(h, size)
        ix, wx = area_taps(w, size)
        f = a.astype(np.float32)
        t = wx[:, 0, None] * f[:, ix[:, 0]]  # H x size x 3
        for k in range(1, ix.shape[1]):
            t += wx[:, k, None] * f[:, ix[:, k]]
        out = wy[:, 0, None, None] * t[iy[:, 0]]
        for k in range(1, iy.shape[1]):
            out += wy[:, k, None, None] * t[iy[:, k]]
        out = np.rint(out)
    return np.clip(out, 0, 255).astype(np.uint8).transpose(2, 0, 1)


def decode(rows, size, workers):
    """Every image once, on `workers` threads (Pillow and numpy release the
    GIL while they decode and resize), as facet reads an image: RGB, the
    EXIF orientation applied, resized to size x size with OpenCV's
    INTER_AREA (area_resize) when it shrinks, Pillow's BILINEAR when it
    grows. Returns a uint8 array N x 3 x size x size."""
    from PIL import Image, ImageOps
    bilinear = getattr(Image, "Resampling", Image).BILINEAR
    out = np.empty((len(rows), 3, size, size), np.uint8)

    def chunk(lo):
        for i in range(lo, min(lo + 64, len(rows))):
            r = rows[i]
            try:
                with Image.open(r["image"]) as im:
                    im = ImageOps.exif_transpose(im).convert("RGB")
                    if im.width < size or im.height < size:
                        im = im.resize((size, size), bilinear)
                    out[i] = area_resize(np.asarray(im), size)
            except Exception as e:
                raise Fail(f"row {r['id']}: cannot read image {r['image']}: {one_line(e)}")

    with concurrent.futures.ThreadPoolExecutor(max(1, workers)) as ex:
        for f in [ex.submit(chunk, lo) for lo in range(0, len(rows), 64)]:
            f.result()
    return out


class Store:
    """A table's images as one uint8 tensor, on the device when it takes
    less than half the free memory there, else in pinned host memory, from
    which batches are gathered into two alternating pinned buffers and
    copied without blocking."""

    def __init__(self, arr, y, device, batch):
        self.device, self.n = device, len(arr)
        self.y = {k: v.to(device) for k, v in y.items()}
        x = torch.from_numpy(arr)
        self.resident = device.type != "cuda" or x.numel() < free_memory(device) / 2
        if self.resident:
            self.x = x.to(device)
        else:
            self.x = x.pin_memory()
            self.bufs = [torch.empty((batch,) + tuple(x.shape[1:]), dtype=torch.uint8).pin_memory() for _ in range(2)]
            self.events, self.turn = [None, None], 0

    def batch(self, idx, idx_dev):
        """Images of idx (a CPU LongTensor; idx_dev: the same on the device)
        on the device, uint8."""
        if self.resident:
            return self.x.index_select(0, idx_dev)
        k, self.turn = self.turn, 1 - self.turn
        if self.events[k] is not None:
            self.events[k].synchronize()  # the copy out of this buffer is done
        buf = self.bufs[k][:len(idx)]
        torch.index_select(self.x, 0, idx, out=buf)
        out = buf.to(self.device, non_blocking=True)
        self.events[k] = torch.cuda.Event()
        self.events[k].record()
        return out

    def labels(self, idx_dev):
        return {k: v.index_select(0, idx_dev) for k, v in self.y.items()}

    def rows(self, lo, hi):
        """Rows lo..hi on the device, uint8."""
        return self.x[lo:hi] if self.resident else self.x[lo:hi].to(self.device, non_blocking=True)


def free_memory(device):
    try:
        return torch.cuda.mem_get_info(device)[0]
    except Exception:
        return torch.cuda.get_device_properties(device).total_memory - torch.cuda.memory_allocated(device)


# ---------------------------------------------------------------- loss and scores

def smoothing(k, eps, neighbour):
    t = np.zeros((k, k), np.float32)
    for c in range(k):
        if neighbour:
            nb = [d for d in (c - 1, c + 1) if 0 <= d < k]
            t[c, c] = 1 - eps / 2 * len(nb)
            for d in nb:
                t[c, d] = eps / 2
        else:
            t[c] = eps / k
            t[c, c] += 1 - eps
    return torch.from_numpy(t)


def head_loss(logits, labels, target, weights, cfg):
    """-sum_i w_i sum_k T[y_i, k] log p_ik / sum_i w_i over the rows whose
    label is known (w_i = 0 for -1), without a host sync."""
    known = labels >= 0
    lab = labels.clamp_min(0)
    logp = F.log_softmax(logits.float(), dim=1)
    if cfg["loss"] == "focal":
        logp = logp * (1 - logp.exp()) ** cfg["focal_gamma"]
    w = (weights[lab] if weights is not None else torch.ones_like(logp[:, 0])) * known
    return -(w[:, None] * target[lab] * logp).sum() / w.sum().clamp_min(1e-12)


class Loss:
    def __init__(self, cfg, heads, device):
        self.cfg = cfg
        t = {"mask": smoothing(3, cfg["label_smoothing"], False), "gender": smoothing(2, cfg["label_smoothing"], False),
             "age": smoothing(3, cfg["age_smoothing"], True)}
        w = lambda key: torch.tensor(cfg[key], dtype=torch.float32, device=device) if cfg.get(key) else None
        if heads == "single18":
            self.targets = {"class18": torch.einsum("ai,bj,ck->abcijk", t["mask"], t["gender"], t["age"]).reshape(18, 18).to(device)}
            self.weights = {"class18": w("class_weights_18")}
        else:
            self.targets = {k: v.to(device) for k, v in t.items()}
            self.weights = {k: w(f"{k}_weights") for k in t}

    def __call__(self, out, y):
        if "class18" in out:
            y18 = y["mask"] * 6 + y["gender"] * 3 + y["age"]
            y18 = torch.where((y["mask"] < 0) | (y["gender"] < 0) | (y["age"] < 0), torch.full_like(y18, -1), y18)
            return head_loss(out["class18"], y18, self.targets["class18"], self.weights["class18"], self.cfg)
        return sum(head_loss(out[k], y[k], self.targets[k], self.weights[k], self.cfg) for k in out)


def score(truth, pred, k):
    keep = truth >= 0
    t, p = truth[keep], pred[keep]
    if len(t) == 0:
        return 0.0, 0.0, 0
    f1s = []
    for c in range(k):
        tp, fp, fn = int(((p == c) & (t == c)).sum()), int(((p == c) & (t != c)).sum()), int(((p != c) & (t == c)).sum())
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return float((t == p).float().mean()), float(np.mean(f1s)), int(len(t))


def evaluate(logits, y):
    """The validation metrics of PROTOCOL.md from the logits of every
    validation row (CPU float32) and their labels; also returns the
    softmax probabilities of the heads, for val_probs.csv."""
    if "class18" in logits:
        p18 = F.softmax(logits["class18"], 1)
        out = {"class18": p18}
        p18 = p18.view(-1, 3, 2, 3)
        probs = {"mask": p18.sum((2, 3)), "gender": p18.sum((1, 3)), "age": p18.sum((1, 2))}
        p18 = p18.reshape(-1, 18)
    else:
        probs = out = {k: F.softmax(v, 1) for k, v in logits.items()}
        p18 = (probs["mask"][:, :, None, None] * probs["gender"][:, None, :, None] * probs["age"][:, None, None, :]).reshape(-1, 18)
    m = {}
    for k, n in (("mask", 3), ("gender", 2), ("age", 3)):
        m[f"val_acc_{k}"], m[f"val_f1_{k}"], m[f"val_n_{k}"] = score(y[k], probs[k].argmax(1), n)
    known = (y["mask"] >= 0) & (y["gender"] >= 0) & (y["age"] >= 0)
    l18 = torch.where(known, y["mask"] * 6 + y["gender"] * 3 + y["age"], torch.full_like(y["mask"], -1))
    m["val_acc_18"], m["val_f1_18"], m["val_n_18"] = score(l18, p18.argmax(1), 18)
    if "class18" in logits:
        keep = l18 >= 0
        m["val_loss"] = float(-p18[keep, l18[keep]].clamp_min(1e-12).log().mean()) if keep.any() else 0.0
    else:
        m["val_loss"] = sum(float(-probs[k][y[k] >= 0, y[k][y[k] >= 0]].clamp_min(1e-12).log().mean())
                            for k in probs if (y[k] >= 0).any())
    heads = [m[f"val_f1_{k}"] for k in ("mask", "gender", "age") if m[f"val_n_{k}"]]
    m["score"] = m["val_f1_18"] if m["val_n_18"] else (float(np.mean(heads)) if heads else 0.0)
    return m, out


class StrictFloat32:
    """No TF32 in cuDNN convolutions and matmuls: evaluation is plain float32."""

    def __enter__(self):
        with warnings.catch_warnings():  # torch >= 2.9 prefers another API and says so
            warnings.simplefilter("ignore")
            self.saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
            torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False

    def __exit__(self, *exc):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = self.saved


def predict(model, store, aug, batch, channels_last):
    """Logits (CPU float32) of every row of store, in order: eval mode,
    float32, no augmentation."""
    model.eval()
    outs = []
    with torch.no_grad(), StrictFloat32():
        for i in range(0, store.n, batch):
            x = aug.normalise(store.rows(i, min(i + batch, store.n)))
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            outs.append({k: v.float().cpu() for k, v in model(x).items()})
    return {k: torch.cat([o[k] for o in outs]) for k in outs[0]}


# ---------------------------------------------------------------- training

class EMA:
    """An exponential moving average of the weights (buffers copied), with
    the usual warm-up: decay min(d, (1+n)/(10+n)) at update n."""

    def __init__(self, model, decay):
        self.model, self.decay, self.n = copy.deepcopy(model).eval(), decay, 0
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model):
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        mine, theirs = list(self.model.parameters()), [p.detach() for p in model.parameters()]
        if hasattr(torch, "_foreach_mul_"):
            torch._foreach_mul_(mine, d)
            torch._foreach_add_(mine, theirs, alpha=1 - d)
        else:
            for a, b in zip(mine, theirs):
                a.mul_(d).add_(b, alpha=1 - d)
        for a, b in zip(self.model.buffers(), model.buffers()):
            a.copy_(b)


class Step:
    """One training step on a batch of uint8 images already on the device:
    augment, normalise, forward (bf16 autocast with amp), loss, backward,
    optimiser step, EMA update. Returns the loss (a device tensor: no sync)."""

    def __init__(self, model, opt, aug, loss, amp, channels_last, ema=None):
        self.model, self.opt, self.aug, self.loss, self.amp, self.cl, self.ema = model, opt, aug, loss, amp, channels_last, ema

    def __call__(self, xb, y):
        x = self.aug(xb)
        if self.cl:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.amp:
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
                out = self.model(x)
        else:
            out = self.model(x)
        loss = self.loss(out, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if self.ema is not None:
            self.ema.update(self.model)
        return loss.detach()


def make_optimizer(args, model, cfg, lr):
    decay = [p for p in model.parameters() if p.ndim > 1]
    other = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": other, "weight_decay": 0}]
    kind = torch.optim.AdamW if args.optimizer == "adamw" else torch.optim.Adam
    return kind(groups, lr=lr, betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["epsilon"])


def lr_at(args, cfg, lr, epoch, step, steps):
    """exp: lr * lr_decay^epoch (facet's). cosine: linear warm-up over
    --warmup epochs, then cosine to 0 at the last epoch, per step."""
    if args.schedule == "exp":
        if epoch < args.warmup:  # facet's warm-up: whole epochs, as internal/nn's Config.LRAt
            return lr * (epoch + 1) / (args.warmup + 1)
        return lr * cfg["lr_decay"] ** (epoch - int(args.warmup))
    t, warm, total = epoch * steps + step, args.warmup * steps, args.epochs_total * steps
    if t < warm:
        return lr * (t + 1) / warm
    return lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (t - warm) / max(1, total - warm))))


def save_safetensors(path, tensors, metadata):
    """Writes float32 tensors in the safetensors format: an 8-byte little-endian
    header length, the JSON header (dtype, shape and byte range of each
    tensor, then __metadata__), padded with spaces to 8 bytes, and the data."""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        b = tensors[name].detach().cpu().float().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def cpu_copy(obj):
    """obj with every tensor copied to the CPU (a snapshot the training
    goes on from)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: cpu_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(cpu_copy(v) for v in obj)
    return obj


class Saver:
    """Writes last.pt (atomically) in a background thread, so that the next
    epoch does not wait for the disk; wait() before the next write and at
    the end."""

    def __init__(self):
        self.thread, self.error = None, None

    def save(self, obj, path):
        self.wait()

        def run():
            try:
                torch.save(obj, path + ".tmp")
                os.replace(path + ".tmp", path)
            except Exception as e:
                self.error = e
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def wait(self):
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.error is not None:
            raise Fail(f"writing last.pt: {one_line(self.error)}")


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def write_val_probs(path, rows, probs):
    """val_probs.csv: id and the softmax probabilities of each head (or of
    the 18 classes), %.9g (float32 round-trips), in val_csv order."""
    if "class18" in probs:
        cols, p = [f"c{i}" for i in range(18)], probs["class18"]
    else:
        cols = ["mask0", "mask1", "mask2", "gender0", "gender1", "age0", "age1", "age2"]
        p = torch.cat([probs["mask"], probs["gender"], probs["age"]], 1)
    lines = ["id," + ",".join(cols)]
    for r, v in zip(rows, p.float().numpy()):
        lines.append(r["id"] + "," + ",".join("%.9g" % x for x in v))
    write_atomic(path, "\n".join(lines) + "\n")


class Outputs(nn.Module):
    """The model with the heads' logits as separate outputs, in order."""

    def __init__(self, model, keys):
        super().__init__()
        self.model, self.keys = model, keys

    def forward(self, x):
        out = self.model(x)
        return tuple(out[k] for k in self.keys)


def export_onnx(model, keys, size, path):
    """best.onnx: the model on the CPU in float32, eval mode, opset 13, the
    TorchScript exporter (dynamo=False where torch has both), batch axis
    dynamic; written to a temporary name, then renamed."""
    m = Outputs(copy.deepcopy(model).cpu().float().to(memory_format=torch.contiguous_format), keys).eval()
    kw = dict(input_names=["input"], output_names=list(keys), opset_version=13, do_constant_folding=True,
              dynamic_axes={n: {0: "n"} for n in ["input"] + list(keys)})
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False
    tmp = path + ".tmp"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(m, torch.zeros(1, 3, size, size), tmp, **kw)
    except Exception as e:
        raise Fail(f"ONNX export failed: {one_line(e)}")
    os.replace(tmp, path)


def read_job(args):
    src = args.job or os.environ.get("FACET_TRAIN_JOB")
    try:
        job = json.load(open(src)) if src else json.load(sys.stdin)
    except (OSError, ValueError) as e:
        raise Fail(f"cannot read the job ({src or 'stdin'}): {one_line(e)}")
    if job.get("protocol") not in PROTOCOLS:
        raise Fail(f"protocol {job.get('protocol')}: want one of {list(PROTOCOLS)}")
    return job


def parse_args(argv):
    p = argparse.ArgumentParser(prog="torch_train.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="examples:\n" + __doc__.split("\n\n")[1])
    p.add_argument("--model", default="facet",
                   help="facet (default: internal/nn's network, writes best.safetensors), " + ", ".join(TORCHVISION) +
                        " or timm:NAME (writes best.onnx)")
    p.add_argument("--size", type=int, help="input size S (default: the job's input_size for facet, 112 for others)")
    p.add_argument("--heads", choices=["three", "single18"], help="default: the job's model heads")
    p.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"], help="auto: CUDA when available")
    p.add_argument("--weights", help="a local state dict (.pt/.pth, or .safetensors) to start from; nothing is downloaded")
    p.add_argument("--lr", type=float, help="base learning rate (default: the job's)")
    p.add_argument("--schedule", choices=["cosine", "exp"],
                   help="exp: lr*lr_decay^epoch (facet's); cosine: --warmup epochs linear, then cosine to 0 "
                        "(default: exp for facet, cosine for others)")
    p.add_argument("--warmup", type=float, help="warm-up epochs (default: the job's warmup for facet, 1 for others)")
    p.add_argument("--optimizer", choices=["adamw", "adam"],
                   help="default: adam for facet (L2 weight decay, as facet), adamw for others")
    p.add_argument("--ema", type=float, default=0, help="EMA decay of the weights, e.g. 0.999 (0: off); "
                   "evaluation, checkpoints and export use the EMA model")
    p.add_argument("--ops", help="augmentation spec in facet's syntax (default: the job's ops)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="image decoding threads (default: all cores)")
    p.add_argument("--resume", action="store_true", help="continue from run_dir/last.pt (written each epoch)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, help="channels-last memory (default: on CUDA)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, help="bf16 autocast in training (default: on CUDA)")
    p.add_argument("--job", help="read the job from this file (default: $FACET_TRAIN_JOB, else stdin)")
    return p.parse_args(argv)


def resolve(args, job):
    """Fills the defaults that depend on the job and the machine; checks
    the combination."""
    cfg = job["model"]
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    elif args.device == "cuda" and not torch.cuda.is_available():
        raise Fail("--device cuda: CUDA is not available to this torch " + torch.__version__)
    cuda = args.device == "cuda"
    if args.amp and not cuda:
        print("torch_train: --amp needs CUDA; training in float32", file=sys.stderr)
    args.amp = cuda if args.amp is None else (args.amp and cuda)
    args.channels_last = cuda if args.channels_last is None else args.channels_last
    facet = args.model == "facet"
    if facet:
        if args.size is not None and args.size != cfg["input_size"]:
            raise Fail(f"--size {args.size}: the job's facet model has input_size {cfg['input_size']}")
        if args.heads is not None and args.heads != cfg["heads"]:
            raise Fail(f"--heads {args.heads}: the job's facet model has heads {cfg['heads']}")
        if not job.get("tensors"):
            raise Fail("the job has no tensors list, which --model facet needs")
    args.size = args.size or (cfg["input_size"] if facet else 112)
    args.heads = args.heads or cfg["heads"]
    # facet's network trains by the job's schedule (facet-train's --schedule,
    # --warmup), the cosine per step rather than per epoch; the others by
    # AdamW's usual warm-up and cosine.
    args.schedule = args.schedule or ((cfg.get("schedule") or "exp") if facet else "cosine")
    if args.warmup is None:
        args.warmup = cfg.get("warmup", 0) if facet else 1
    args.optimizer = args.optimizer or ("adam" if facet else "adamw")
    args.ops = job.get("ops", "") if args.ops is None else args.ops
    args.epochs_total = job["epochs"]
    if args.size < 8:
        raise Fail(f"--size {args.size}: want >= 8")
    if not 0 <= args.ema < 1:
        raise Fail(f"--ema {args.ema}: want 0 (off) or a decay in (0, 1)")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        train(args)
    except Fail as e:
        print(f"torch_train: {e}", file=sys.stderr)
        sys.exit(1)


def train(args):
    started = time.time()
    log = lambda msg: print("torch_train: " + msg, file=sys.stderr, flush=True)
    job = read_job(args)
    resolve(args, job)
    cfg, run_dir, B = job["model"], job["run_dir"], job["batch"]
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    else:
        # Debian's torch 1.13 starts with one OpenMP thread (its
        # omp_get_max_threads() is 1 here): use every core we may run on,
        # twice the speed on two cores, unless OMP_NUM_THREADS says how many.
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0))))
    torch.manual_seed(job["seed"])
    shuffle_gen = torch.Generator().manual_seed(job["seed"])
    aug_gen = torch.Generator(device=device).manual_seed(job["seed"] + 1)
    ops, skipped = parse_ops(args.ops)
    if skipped:
        log(f"skipping augmentation ops {', '.join(skipped)} (not done on the device)")
    aug = Augment(ops, job["mean"], job["std"], aug_gen)

    model, allow_missing, drop = build_model(args, cfg)
    if args.weights:
        n, fresh = load_weights(model, args.model, args.weights, allow_missing, drop)
        log(f"loaded {n} tensors from {args.weights}" + ("; the heads start fresh" if fresh else ""))
    rows_t, yt = read_table(job["train_csv"])
    rows_v, yv = read_table(job["val_csv"])
    t0 = time.time()
    xt, xv = decode(rows_t, args.size, args.workers), decode(rows_v, args.size, args.workers)
    decode_s = time.time() - t0
    train_set, val_set = Store(xt, yt, device, B), Store(xv, yv, device, B)
    del xt, xv
    log(f"decoded {train_set.n} + {val_set.n} images at {args.size}x{args.size} in {decode_s:.1f}s "
        f"({args.workers} threads), kept {'on ' + args.device if train_set.resident else 'in pinned host memory'}")

    model.to(device)
    if args.channels_last:
        model.to(memory_format=torch.channels_last)
    base_lr = args.lr or cfg["lr"]
    opt = make_optimizer(args, model, cfg, base_lr)
    ema = EMA(model, args.ema) if args.ema else None
    step = Step(model, opt, aug, Loss(cfg, args.heads, device), args.amp, args.channels_last, ema)
    keys = [k for k, _ in HEADS[args.heads]]
    want = {t["name"]: t["shape"] for t in job.get("tensors") or []}
    sig = {"model": args.model, "size": args.size, "heads": args.heads}

    start, best, since, best_snap = 0, -1.0, 0, None
    last = os.path.join(run_dir, "last.pt")
    metrics_path = os.path.join(run_dir, "metrics.jsonl")
    # facet-train --resume sets the job's resume key: continue when there is
    # a last.pt, else start over (protocol 2).
    if job.get("resume") and not args.resume and os.path.exists(last):
        args.resume = True
    if args.resume:
        if not os.path.exists(last):
            raise Fail(f"--resume: no {last}")
        st = torch.load(last, map_location="cpu")
        if st["sig"] != sig:
            raise Fail(f"--resume: {last} is of {st['sig']}, not {sig}")
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        if ema is not None:
            if st.get("ema") is None:
                raise Fail(f"--resume --ema: {last} was written without EMA")
            ema.model.load_state_dict(st["ema"])
            ema.n = st["ema_n"]
        shuffle_gen.set_state(st["shuffle_gen"])
        aug_gen.set_state(st["aug_gen"])
        start, best, since, best_snap = st["epoch"] + 1, st["best"], st["since"], st["best_snap"]
        kept = [l for l in open(metrics_path) if json.loads(l)["epoch"] < start] if os.path.exists(metrics_path) else []
        write_atomic(metrics_path, "".join(kept))
        log(f"resuming after epoch {start} of {job['epochs']} (best score {best:.4f})")
    elif os.path.exists(metrics_path):
        os.remove(metrics_path)
    setup_s = time.time() - started

    src = ema.model if ema is not None else model  # evaluated, checkpointed and exported
    n = train_set.n
    steps = n // B if n >= B else 1
    size = B if n >= B else n
    metrics, saver = open(metrics_path, "a"), Saver()
    for epoch in range(start, job["epochs"]):
        if job["patience"] and since >= job["patience"]:
            break
        model.train()
        t0, total = time.time(), torch.zeros((), device=device)
        perm = torch.randperm(n, generator=shuffle_gen)
        perm_dev = perm.to(device)
        lr0 = None
        for s in range(steps):
            lr = lr_at(args, cfg, base_lr, epoch, s, steps)
            lr0 = lr if lr0 is None else lr0
            for g in opt.param_groups:
                g["lr"] = lr
            idx, idx_dev = perm[s * size:(s + 1) * size], perm_dev[s * size:(s + 1) * size]
            total += step(train_set.batch(idx, idx_dev), train_set.labels(idx_dev))
        train_loss = float(total) / steps  # waits for the device
        secs = time.time() - t0
        m, probs = evaluate(predict(src, val_set, aug, B, args.channels_last), {k: v.cpu() for k, v in yv.items()})
        m = {"epoch": epoch, "lr": lr0, "train_loss": train_loss, **m, "seconds": secs,
             "images_per_s": steps * size / secs, "setup_seconds": setup_s, "decode_seconds": decode_s}
        m["best"] = m["score"] > best
        if m["best"]:
            best, since = m["score"], 0
            write_val_probs(os.path.join(run_dir, "val_probs.csv"), rows_v, probs)
            if args.model == "facet":
                write_facet(run_dir, src, want, cfg, epoch, m["score"])
            else:  # exported once, at the end, from this snapshot
                best_snap = {"state": cpu_copy(src.state_dict()),
                             "epoch": epoch, "score": m["score"]}
        else:
            since += 1
        metrics.write(json.dumps(m, separators=(",", ":")) + "\n")
        metrics.flush()
        saver.save(cpu_copy({"sig": sig, "model": model.state_dict(), "opt": opt.state_dict(),
                             "ema": ema.model.state_dict() if ema is not None else None, "ema_n": ema.n if ema is not None else 0,
                             "shuffle_gen": shuffle_gen.get_state(), "aug_gen": aug_gen.get_state(),
                             "epoch": epoch, "best": best, "since": since, "best_snap": best_snap}), last)
        log(f"epoch {epoch + 1} loss {m['train_loss']:.4f} val f1_18 {m['val_f1_18']:.3f} "
            f"acc18 {m['val_acc_18']:.3f} {m['images_per_s']:.0f} img/s")
    metrics.close()
    saver.wait()
    if args.model != "facet":
        if best_snap is None:
            raise Fail("no epoch was trained: nothing to export")
        t0 = time.time()
        out = copy.deepcopy(src).cpu()
        out.load_state_dict(best_snap["state"])
        export_onnx(out, keys, args.size, os.path.join(run_dir, "best.onnx"))
        info = {"format": "facet-onnx/1", "input_size": args.size, "channels": "rgb", "mean": list(job["mean"]),
                "std": list(job["std"]), "input": "input", "heads": args.heads, "outputs": {k: k for k in keys},
                "arch": args.model, "epoch": best_snap["epoch"], "score": best_snap["score"]}
        write_atomic(os.path.join(run_dir, "best.json"), json.dumps(info, indent=2) + "\n")
        log(f"exported epoch {best_snap['epoch'] + 1} (score {best_snap['score']:.4f}) to best.onnx "
            f"in {time.time() - t0:.1f}s")


def write_facet(run_dir, model, want, cfg, epoch, score):
    """best.safetensors (exactly the job's tensors) and best.json (the job's
    model config)."""
    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items() if k in want}
    missing = set(want) - set(state)
    if missing:
        raise Fail(f"the model lacks tensors of the job: {sorted(missing)[:5]}")
    write_atomic(os.path.join(run_dir, "best.json"), json.dumps(cfg, indent=2))
    tmp = os.path.join(run_dir, "best.safetensors.tmp")
    save_safetensors(tmp, state, {"epoch": str(epoch), "score": str(score)})
    os.replace(tmp, os.path.join(run_dir, "best.safetensors"))


if __name__ == "__main__":
    main()
