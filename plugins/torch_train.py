#!/usr/bin/env python3
"""Reference facet-train exec backend in PyTorch (protocol: train/PROTOCOL.md).

    facet-train --out RUNDIR --folds DIR --fold 0 --backend exec -- python3 plugins/torch_train.py

Reads the job (JSON) from stdin, trains the same network as internal/nn
(names and shapes match the job's tensor list), and writes best.safetensors,
best.json and metrics.jsonl into run_dir. Augmentation: horizontal flip
only (the job's ops spec is not interpreted). Needs only Debian's packages:
python3-torch, python3-numpy and python3-pil. It reads the tables from the
job's CSV copies (train_csv, val_csv) and writes safetensors itself, so it
needs no Arrow or safetensors library. Not run in the facet CI (no torch
there); bench/train_side_by_side.sh runs it.
"""
import csv, json, os, struct, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Pillow is imported where the images are read, so the network (Net) can
# be imported without it, as bench/train_compare.py does.


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
        sizes = {"class18": 18} if cfg["heads"] == "single18" else {"mask": 3, "gender": 2, "age": 3}
        self.head = nn.ModuleDict({k: nn.Linear(cin, n) for k, n in sizes.items()})

    def forward(self, x):
        x = F.relu(self.stem(x))
        for stage in self.stages:
            for block in stage:
                x = block(x)
        x = x.mean(dim=(2, 3))
        return {k: h(x) for k, h in self.head.items()}


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
    known = labels >= 0
    if not known.any():
        return logits.sum() * 0
    lab = labels[known]
    logp = F.log_softmax(logits[known], dim=1)
    if cfg["loss"] == "focal":
        logp = logp * (1 - logp.exp()) ** cfg["focal_gamma"]
    w = weights[lab] if weights is not None else torch.ones(len(lab))
    return -(w[:, None] * target[lab] * logp).sum() / w.sum()


def load_table(path, size, mean, std):
    """Reads a job's CSV copy of a table (id,image,mask,gender,age_group)."""
    from PIL import Image
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    x = np.zeros((len(rows), 3, size, size), np.float32)
    for i, r in enumerate(rows):
        img = np.asarray(Image.open(r["image"]).convert("RGB").resize((size, size), Image.BOX), np.float32) / 255
        x[i] = ((img - mean) / std).transpose(2, 0, 1)
    y = {k: torch.tensor([int(r[c]) for r in rows], dtype=torch.long) for k, c in
         (("mask", "mask"), ("gender", "gender"), ("age", "age_group"))}
    return torch.from_numpy(x), y


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


def evaluate(net, x, y, batch):
    net.eval()
    with torch.no_grad():
        outs = [net(x[i:i + batch]) for i in range(0, len(x), batch)]
    logits = {k: torch.cat([o[k] for o in outs]) for k in outs[0]}
    if "class18" in logits:
        p18 = F.softmax(logits["class18"], 1).view(-1, 3, 2, 3)
        probs = {"mask": p18.sum((2, 3)), "gender": p18.sum((1, 3)), "age": p18.sum((1, 2))}
        p18 = p18.reshape(-1, 18)
    else:
        probs = {k: F.softmax(v, 1) for k, v in logits.items()}
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
    return m


def main():
    job = json.load(sys.stdin)
    if job["protocol"] != 1:
        sys.exit(f"torch_train: protocol {job['protocol']}: want 1")
    cfg, run_dir = job["model"], job["run_dir"]
    torch.manual_seed(job["seed"])
    mean, std = np.array(job["mean"], np.float32), np.array(job["std"], np.float32)
    xt, yt = load_table(job["train_csv"], cfg["input_size"], mean, std)
    xv, yv = load_table(job["val_csv"], cfg["input_size"], mean, std)
    net = Net(cfg)
    decay = [p for p in net.parameters() if p.ndim > 1]
    other = [p for p in net.parameters() if p.ndim <= 1]
    opt = torch.optim.Adam([{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": other, "weight_decay": 0}],
                           lr=cfg["lr"], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["epsilon"])
    targets = {"mask": smoothing(3, cfg["label_smoothing"], False), "gender": smoothing(2, cfg["label_smoothing"], False),
               "age": smoothing(3, cfg["age_smoothing"], True)}
    cw = {k: (torch.tensor(cfg[f"{k}_weights"], dtype=torch.float32) if cfg.get(f"{k}_weights") else None)
          for k in ("mask", "gender", "age")}
    want = {t["name"]: t["shape"] for t in job["tensors"]}
    best, since, B, n = -1.0, 0, job["batch"], len(xt)
    metrics = open(os.path.join(run_dir, "metrics.jsonl"), "w")
    for epoch in range(job["epochs"]):
        if job["patience"] and since >= job["patience"]:
            break
        lr = cfg["lr"] * cfg["lr_decay"] ** epoch
        for g in opt.param_groups:
            g["lr"] = lr
        net.train()
        start, total, steps = time.time(), 0.0, 0
        perm = torch.randperm(n)
        for i in range(0, n - B + 1 if n >= B else 1, B):
            idx = perm[i:i + B]
            x = xt[idx]
            flip = torch.rand(len(idx)) < 0.5
            x[flip] = x[flip].flip(3)
            out = net(x)
            if "class18" in out:
                y = yt["mask"][idx] * 6 + yt["gender"][idx] * 3 + yt["age"][idx]
                y[(yt["mask"][idx] < 0) | (yt["gender"][idx] < 0) | (yt["age"][idx] < 0)] = -1
                t18 = torch.einsum("ai,bj,ck->abcijk", targets["mask"], targets["gender"], targets["age"]).reshape(18, 18)
                loss = head_loss(out["class18"], y, t18, None, cfg)
            else:
                loss = sum(head_loss(out[k], yt[k][idx], targets[k], cw[k], cfg) for k in out)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, steps = total + float(loss), steps + 1
        secs = time.time() - start
        m = {"epoch": epoch, "lr": lr, "train_loss": total / max(steps, 1), **evaluate(net, xv, yv, B),
             "seconds": secs, "images_per_s": steps * B / secs}
        m["best"] = m["score"] > best
        if m["best"]:
            best, since = m["score"], 0
            state = {k: v.detach().float().contiguous() for k, v in net.state_dict().items() if k in want}
            missing = set(want) - set(state)
            if missing:
                sys.exit(f"torch_train: model lacks {sorted(missing)[:5]}")
            tmp = os.path.join(run_dir, "best.safetensors.tmp")
            with open(os.path.join(run_dir, "best.json.tmp"), "w") as f:
                json.dump(cfg, f, indent=2)
            os.replace(os.path.join(run_dir, "best.json.tmp"), os.path.join(run_dir, "best.json"))
            save_safetensors(tmp, state, {"epoch": str(epoch), "score": str(m["score"])})
            os.replace(tmp, os.path.join(run_dir, "best.safetensors"))
        else:
            since += 1
        metrics.write(json.dumps(m) + "\n")
        metrics.flush()
        print(f"torch_train: epoch {epoch + 1} loss {m['train_loss']:.4f} val f1_18 {m['val_f1_18']:.3f} "
              f"acc18 {m['val_acc_18']:.3f} {m['images_per_s']:.0f} img/s", file=sys.stderr)
    metrics.close()


if __name__ == "__main__":
    main()
