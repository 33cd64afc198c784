/*
Facet-train trains the mask / gender / age classifier on a fold's train
and validation tables and writes a run folder: config, per-epoch metrics,
the best and last checkpoints and the out-of-fold predictions.

Usage:

	facet-train --out RUNDIR (--folds DIR (--fold K | --all-folds) | --train T.arrow --val V.arrow) [--epochs N] [--batch 32] [--resume] [--backend gorgonia | --backend exec -- CMD ARGS...]

It trains facet's network (internal/nn: a compact residual CNN with three
heads, Adam; --size, --width and --head-layout shape it) on a train table
and scores it on a validation table every epoch: per-head accuracy and
macro F1 (rows with an unknown part left out of that head), 18-class macro
F1 and accuracy (rows with all three parts). With --patience N, training
stops early when the validation 18-class macro F1 (the mean head macro F1
when no row has all three parts) has not improved for N epochs.

The defaults are the settings measured best for training this network from
scratch on real faces (README, "Choosing the defaults"): Adam at --lr with
the --schedule exp (--lr-decay a epoch) after --warmup epochs, L2
--weight-decay, --loss ce, --age-smoothing towards the neighbouring age
class, no --label-smoothing, --class-weights auto. --preset seed gives the
competition team's settings for fine-tuning a pretrained model instead
(Adam 1e-4 decayed by 0.95 an epoch, 20 epochs, early stopping after 5, no
class weights); flags given beside --preset win. --seed fixes the weights,
the shuffling and the augmentation.

The image of a row is its crop (crop_path) when the table has one, else
the photo (path); a relative path is found from the working directory,
or else from the table's folder. Validation data are the original rows of the
validation table: rows a stage made (an origin column other than 0:
facet-augment's copies and synthetic masks, pseudo labels) are left out,
never scored nor in oof.arrow. Images are decoded once by --workers,
resized to --size,
and augmented online (--ops, seeded per sample and epoch; --ops "" turns
it off).

RUNDIR receives:

	config.json                   the run's settings (facet-train's and the model's)
	metrics.jsonl                 one JSON object per epoch (see train/PROTOCOL.md)
	best.safetensors, best.json   weights of the best epoch and the model config
	last.safetensors, last.json   weights and optimiser state of the last epoch
	learning.png, confusion.png   loss and validation F1 per epoch; the best
	                              model's confusion matrices on validation
	oof.arrow                     the validation rows with the best model's
	                              probabilities (prob_mask, prob_gender, prob_age,
	                              prob18) and predictions (pred, pred_mask,
	                              pred_gender, pred_age_group)

A new run in a RUNDIR that holds an earlier one leaves the earlier run's
files (model, config, metrics) as they are until its first epoch has a
model to replace them: a run stopped before that (Ctrl-C) loses nothing.
With --backend exec they go when the backend starts. --all-folds trains
every fold of --folds in turn, into RUNDIR/foldK, and joins their
out-of-fold predictions into RUNDIR/oof.arrow.

--resume continues a run in RUNDIR from last.safetensors with the settings
of its config.json (--epochs and --patience may be raised); with --backend
exec the job asks the backend to resume from its own checkpoint.

--backend exec -- CMD ARGS... hands the training to an external program
(see train/PROTOCOL.md; --protocol 1 for a plugin that refuses version 2):
the arguments after -- are the program's own. It hands back facet's
network (best.safetensors) or any network as ONNX (best.onnx, protocol 2);
facet-train loads the model, predicts the validation rows with it as
facet-infer would and writes oof.arrow. plugins/torch_train.py trains
facet's network or torchvision's (resnet18, efficientnet_b0, ...) on a GPU
when there is one.

Progress and a line per epoch go to stderr (none with -q; a backend's own
output then shows only when it fails).

Examples:

	facet-train --out runs/f0 --folds build/folds --fold 0 --epochs 20
	facet-train --out runs/all --folds build/folds --all-folds --epochs 20
	facet-train --out runs/x --train a.arrow --val b.arrow --size 48 --width 8 --ops 'flip:0.5'
	facet-train --out runs/f0 --folds build/folds --fold 0 --schedule cosine --warmup 2 --lr 2e-3
	facet-train --out runs/f0 --folds build/folds --fold 0 --backend exec -- python3 plugins/torch_train.py
	facet-train --out runs/r18 --folds build/folds --fold 0 --epochs 30 --batch 256 \
	    --backend exec -- python3 plugins/torch_train.py --model resnet18 --size 112 --device auto
*/
package main
