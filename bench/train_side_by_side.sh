#!/bin/bash
# Correctness of the gorgonia back end: trains the same network on the same
# fold for the same epochs with facet-train's gorgonia back end and with the
# PyTorch reference plugin (plugins/torch_train.py, through --backend exec),
# both with flip as the only augmentation, for several seeds. A validation
# set of a few hundred rows moves a few points from epoch to epoch, so the
# comparison is of each back end's validation accuracy averaged over the
# second half of the epochs and over the seeds. Each plugin checkpoint is
# also scored with facet's own network (facet-train writes oof.arrow from
# it; facet-merge score), which shows the checkpoints are interchangeable.
#
# usage: bench/train_side_by_side.sh [FOLDS] [EPOCHS] [SEEDS] [OUT]
#   FOLDS   a facet-split --out folder (default build/real/folds, from make real)
#   EPOCHS  default 10;  SEEDS  default 3;  OUT  default build/side
set -euo pipefail
folds=${1:-build/real/folds}
epochs=${2:-10}
seeds=${3:-3}
out=${4:-build/side}
[ -f "$folds/fold0.train.arrow" ] || { echo "side-by-side: no $folds/fold0.train.arrow (run make real first)" >&2; exit 2; }
rm -rf "$out"
for seed in $(seq 1 "$seeds"); do
	common=(--folds "$folds" --fold 0 --epochs "$epochs" --lr 1e-3 --class-weights auto --patience 0 --ops 'flip:0.5' --seed "$seed")
	bin/facet-train --out "$out/gorgonia-$seed" "${common[@]}"
	bin/facet-train --out "$out/torch-$seed" "${common[@]}" --backend exec -- /usr/bin/python3 plugins/torch_train.py
	echo "== torch seed $seed: its best checkpoint scored by facet's network (facet-merge score)"
	bin/facet-merge score "$out/torch-$seed/oof.arrow"
done
/usr/bin/python3 - "$out" "$epochs" <<'PY'
import glob, json, os, sys
out, epochs = sys.argv[1], int(sys.argv[2])
keys = ["val_acc_mask", "val_acc_gender", "val_acc_age", "val_acc_18", "val_f1_18"]
print(f"\nvalidation scores averaged over epochs {epochs // 2 + 1}-{epochs} and over the seeds (per-seed means in brackets)")
print(f"{'':10}" + "".join(f"{k[4:]:>24}" for k in keys))
means = {}
for backend in ("gorgonia", "torch"):
    runs = []
    for d in sorted(glob.glob(os.path.join(out, backend + "-*"))):
        lines = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl"))][epochs // 2:]
        runs.append({k: sum(l[k] for l in lines) / len(lines) for k in keys})
    means[backend] = {k: sum(r[k] for r in runs) / len(runs) for k in keys}
    print(f"{backend:10}" + "".join(f"{means[backend][k]:7.3f} [{' '.join(f'{r[k]:.3f}' for r in runs)}]".rjust(24) for k in keys))
print(f"{'difference':10}" + "".join(f"{(means['gorgonia'][k] - means['torch'][k]) * 100:+21.1f} pt" for k in keys))
PY
