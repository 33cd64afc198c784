# The competition recipe, one Make target per step, each writing its file:
# a rerun redoes only what changed, and an interrupted run resumes (crops
# that exist are kept, a fold's training continues from its last epoch).
#
#   make all DATA=path/to/competition AAF=path/to/All-Age-Faces
#
# DATA holds the competition's train/ and eval/ folders; AAF (optional)
# the All-Age-Faces images. Everything goes under ALL_DIR. The steps:
#
#   train.arrow     prep (competition train + AAF, age cut at 58, label
#                   corrections) | crop (dlib, cascade, dlib-fine, centre)
#                   | augment (synthetic masks on unmasked faces)
#                   | split (FOLDS person-grouped, class-stratified folds;
#                   AAF rows, and the masks drawn on them, are training-only:
#                   in every fold's train file, never validation, so the
#                   folds and their scores are the competition's faces)
#                   The order is prep | crop | augment | split: split writes
#                   the fold files, so augment comes first for its rows to
#                   reach them; split puts each synthetic mask (origin
#                   column) in the train files of the folds that do not
#                   validate its person and in no val file.
#   eval.arrow      prep | crop of the eval set
#   r1/foldK/       one model per fold (neighbour-age label smoothing)
#   r1/oof.arrow    their out-of-fold predictions, joined
#   suspects.csv    the label-error finder's list (and suspects.png)
#   r1/vote.arrow   soft-voting ensemble of the folds on the eval set,
#   pseudo.arrow    and its confident rows as pseudo labels
#   r2/foldK/       the folds again, trained on their rows + pseudo labels
#   submission.csv  soft-voting ensemble of round 2 (and eval.pred.arrow)

ALL_DIR ?= build/all
AAF ?=
FOLDS ?= 5
# EPOCHS and TRAIN_FLAGS empty: facet-train's defaults (40 epochs; see its --help).
EPOCHS ?=
PSEUDO ?= 0.9
AGE_BINS ?= 30,58
FIX ?= corrections/competition.csv
TRAIN_FLAGS ?=

# TRAINER=facet trains facet's network with the gorgonia back end;
# TRAINER=torch hands every fold to the PyTorch plugin (on a GPU when there
# is one) with TORCH_FLAGS, its own flags, and TORCH_BATCH. The plugin
# hands back ONNX models, which facet-infer and facet-merge use as any other.
TRAINER ?= facet
TORCH_FLAGS ?= --model resnet18 --size 112 --device auto
TORCH_BATCH ?= 128
ifeq ($(TRAINER),facet)
TRAINER_ARGS :=
LAST := last.safetensors
else ifeq ($(TRAINER),torch)
TRAINER_ARGS = --batch $(TORCH_BATCH) --backend exec -- $(PYTHON) plugins/torch_train.py $(TORCH_FLAGS)
LAST := last.pt
else
$(error TRAINER=$(TRAINER): want facet or torch)
endif

A := $(ALL_DIR)
FOLD_IDS := $(shell seq 0 $$(( $(FOLDS) - 1 )))
R1 := $(foreach k,$(FOLD_IDS),$(A)/r1/fold$(k))
R2 := $(foreach k,$(FOLD_IDS),$(A)/r2/fold$(k))

# Every file of the recipe is kept, even those only made on the way.
.SECONDARY:

.PHONY: all recipe-check
## all: the competition recipe on DATA (and AAF), step by step under ALL_DIR
all: recipe-check $(A)/submission.csv $(A)/suspects.csv
	@echo "all: submission $(A)/submission.csv (predictions $(A)/eval.pred.arrow)"
	@echo "     label-error suspects $(A)/suspects.csv, contact sheet $(A)/suspects.png"
	@echo "     class chart $(A)/classes.png; per fold: metrics.jsonl, learning.png, confusion.png in $(A)/r1/foldK and $(A)/r2/foldK"
	@for r in r1 r2; do for d in $(A)/$$r/fold*; do grep -E '"best": ?true' $$d/metrics.jsonl | tail -n 1 \
		| sed -E "s|.*\"val_f1_18\": ?([0-9.]{1,5}).*|\1|"; done \
		| awk -v r=$$r '{ s += $$1; n++ } END { if (n) printf "     %s: mean validation 18-class macro F1 over %d folds %.3f\n", r, n, s / n }'; done
	@if [ -f $(DATA)/eval/truth.csv ]; then awk -F, -f bench/macro_f1.awk $(DATA)/eval/truth.csv $(A)/submission.csv; fi

recipe-check:
	@[ -n "$(DATA)" ] && [ -d "$(DATA)/train" ] && [ -d "$(DATA)/eval" ] \
		|| { echo "make all: DATA=DIR must hold the competition's train/ and eval/ folders" >&2; exit 2; }

$(A)/train.arrow: | build
	@mkdir -p $(A)
	bin/facet-prep --age-bins $(AGE_BINS) $(if $(FIX),--fix $(FIX)) --report $(A)/classes.png \
		competition:$(DATA)/train $(if $(AAF),aaf:$(AAF)) \
	| bin/facet-crop --resume --out $(A)/crops \
	| bin/facet-augment --out $(A)/augmented --masks wear,incorrect --sheet $(A)/masks.png \
	| bin/facet-split -k $(FOLDS) $(if $(AAF),--train-only source=aaf) --out $(A)/folds -o $@

$(A)/eval.arrow: | build
	@mkdir -p $(A)
	bin/facet-prep -q --age-bins $(AGE_BINS) competition:$(DATA)/eval \
	| bin/facet-crop --resume --out $(A)/crops -o $@

# A fold is done when its oof.arrow exists; a run stopped part way resumes
# from its last checkpoint (last.safetensors, or the plugin's last.pt) when
# that is newer than the data it trains on.
$(A)/r1/fold%/oof.arrow: $(A)/train.arrow
	bin/facet-train --out $(@D) --folds $(A)/folds --fold $* $(if $(EPOCHS),--epochs $(EPOCHS)) $(TRAIN_FLAGS) \
		$$([ $(@D)/$(LAST) -nt $< ] && echo --resume) $(TRAINER_ARGS)

$(A)/r2/fold%/oof.arrow: $(A)/r2/data/fold%.train.arrow
	bin/facet-train --out $(@D) --train $< --val $(A)/folds/fold$*.val.arrow $(if $(EPOCHS),--epochs $(EPOCHS)) $(TRAIN_FLAGS) \
		$$([ $(@D)/$(LAST) -nt $< ] && echo --resume) $(TRAINER_ARGS)

$(A)/r2/data/fold%.train.arrow: $(A)/pseudo.arrow
	@mkdir -p $(@D)
	bin/facet-merge join $(A)/folds/fold$*.train.arrow $< -o $@

$(A)/%/eval.arrow: $(A)/%/oof.arrow $(A)/eval.arrow
	bin/facet-infer --model $(@D) --tta flip $(A)/eval.arrow -o $@

$(A)/r1/oof.arrow: $(R1:%=%/oof.arrow)
	bin/facet-merge join $^ -o $@

$(A)/suspects.csv: $(A)/r1/oof.arrow
	bin/facet-merge suspects --sheet $(A)/suspects.png $< -o $@

$(A)/r1/vote.arrow $(A)/pseudo.arrow &: $(R1:%=%/eval.arrow)
	bin/facet-merge vote --soft --pseudo $(PSEUDO) --pseudo-out $(A)/pseudo.arrow $^ -o $(A)/r1/vote.arrow

$(A)/submission.csv $(A)/eval.pred.arrow &: $(R2:%=%/eval.arrow)
	bin/facet-merge vote --soft --submission $(A)/submission.csv --info $(DATA)/eval/info.csv $^ -o $(A)/eval.pred.arrow
