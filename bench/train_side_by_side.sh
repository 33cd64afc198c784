#!/bin/bash
# Correctness of the gorgonia back end: trains the same network on the same
# fold for the same epochs with facet-train's gorgonia back end and with the
# PyTorch reference plugin (plugins/torch_train.py, through --backend exec),
# both with flip as the only augmentation, then scores both best checkpoints
# on the validation rows with the same code (facet-train writes oof.arrow
# from the plugin's checkpoint with facet's own network; facet-merge score).
#
# usage: bench/train_side_by_side.sh FOLDS [EPOCHS] [OUT]
#   FOLDS   a facet-split --out folder (default build/real/folds, from make real)
#   EPOCHS  default 10
#   OUT     default build/side
set -euo pipefail
folds=${1:-build/real/folds}
epochs=${2:-10}
out=${3:-build/side}
[ -f "$folds/fold0.train.arrow" ] || { echo "side-by-side: no $folds/fold0.train.arrow (run make real first)" >&2; exit 2; }
rm -rf "$out"
common=(--folds "$folds" --fold 0 --epochs "$epochs" --lr 1e-3 --class-weights auto --patience 0 --ops 'flip:0.5' --seed 1)
bin/facet-train --out "$out/gorgonia" "${common[@]}"
bin/facet-train --out "$out/torch" "${common[@]}" --backend exec -- /usr/bin/python3 plugins/torch_train.py
for b in gorgonia torch; do
	echo "== $b: best epoch $(grep '"best":true' "$out/$b/metrics.jsonl" | tail -n 1 | sed -E 's/^\{"epoch":([0-9]+).*/\1/') of $epochs, scored by facet-merge score on its oof.arrow"
	bin/facet-merge score "$out/$b/oof.arrow"
done
