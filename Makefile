# facet: build, test and run the face classification toolkit.
# Every recipe runs in bash with pipefail, so a stage that fails in the
# middle of a pipe fails the whole target.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := build

GO ?= go
# Every program is a top-level folder with a package main, built as bin/facet-<folder>.
PROGRAMS := $(patsubst %/main.go,%,$(wildcard */main.go))
BINS := $(PROGRAMS:%=bin/facet-%)

# Debian 12 packages the project needs: OpenCV 4.6 and its cascades (gocv),
# dlib and its landmark model (face detector), OpenBLAS (training),
# libjpeg-turbo's headers (internal/cvimage decodes JPEGs with the
# library OpenCV uses), pkg-config (cgo flags). Node.js and npm (Arrow
# interoperability test) come from Debian only when the machine has no
# node and npm of its own.
APT_PACKAGES := libopencv-dev opencv-data libdlib-dev libdlib-data libopenblas-dev libjpeg62-turbo-dev pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The PyTorch plugin (plugins/torch_train.py) and its test: Debian's PyTorch,
# torchvision, Pillow and NumPy, run by Debian's Python ($(PYTHON)).
TORCH_PACKAGES := python3-torch python3-torchvision python3-pil python3-numpy
PYTHON ?= /usr/bin/python3
# For the benchmarks only (besides TORCH_PACKAGES): scikit-learn (facet-split
# and facet-merge score comparisons), GNU time (peak memory of the load test).
BENCH_PACKAGES := python3-sklearn time

# make vet's linter, run at this version from the Go module proxy.
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Training's matrix multiplies (internal/nn) go to OpenBLAS (-tags openblas,
# cgo) when pkg-config finds it, as after `make deps`; without it they go to
# internal/nn's own AVX2/AVX-512 kernel, about 10% slower. `make GOTAGS=`
# builds pure Go.
GOTAGS ?= $(shell pkg-config --exists openblas 2>/dev/null && echo openblas)

DEMO_DIR ?= build/demo
# The real faces of ../shared/data (or $(FACET_TESTDATA)) for `make real`.
DATA ?= $(or $(FACET_TESTDATA),../shared/data)
REAL_DIR ?= build/real
# Extra training-only faces for `make real` (UTKFace's other races; dev
# data only, hence the wildcard): never validation rows, so the validation
# rows are the same Asian faces with and without them. REAL_MORE= turns
# them off.
REAL_MORE ?= $(wildcard $(DATA)/faces/utkface-more)
# make real trains one model a seed of REAL_SEEDS with facet-train's
# defaults (REAL_EPOCHS, when set, overrides its epochs) and prints each
# seed's scores and their spread.
REAL_SEEDS ?= 1 2 3
REAL_EPOCHS ?=
# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 5s

.PHONY: deps test-deps bench-deps build test vet fuzz interop demo real bench bench-split bench-score bench-train bench-infer bench-gpu bench-crowds side-by-side load house clean

# apt-install installs the Debian packages $(1) that are missing, saying so
# as $(2); it does nothing (and no apt-get update) when all are there.
define apt-install
	@missing="$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done)"; \
	$(3) \
	if [ -n "$$missing" ]; then \
		echo "$(2): installing" $$missing; \
		$(SUDO) apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "$(2): all Debian packages present"; fi
endef

## deps: install the Debian packages (apt-get; only what is missing)
deps:
	$(call apt-install,$(APT_PACKAGES),deps,command -v node >/dev/null && command -v npm >/dev/null || missing="$$missing nodejs npm";)

## test-deps: the Debian packages the PyTorch plugin's test needs (PyTorch, torchvision, Pillow)
test-deps: deps
	$(call apt-install,$(TORCH_PACKAGES),test-deps)

## build: every program as bin/facet-<name>
build: $(BINS)

bin/facet-%: FORCE
	@mkdir -p bin
	$(GO) build -buildvcs=auto -tags '$(GOTAGS)' -o $@ ./$*

# Pure-Go programs are built without cgo, so they run anywhere.
bin/facet-split bin/facet-merge: export CGO_ENABLED = 0

.PHONY: FORCE
FORCE:

## vet: formatting, go vet and staticcheck (unused code, suspicious constructs; a pinned version run from the Go module proxy, not a dependency of facet's)
vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:" $$unformatted; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags '$(GOTAGS)' ./internal/nn
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags '$(GOTAGS)' ./internal/nn

## house: docs/house.md, the picture of the programs and packages (a test fails when it is out of date)
house:
	$(GO) run ./tools/house > docs/house.md.tmp && mv docs/house.md.tmp docs/house.md

## interop: the npm apache-arrow and @duckdb/node-api packages, for the tests that facet tables read in another Arrow implementation and in DuckDB (Parquet both ways)
interop:
	@if ! command -v npm >/dev/null; then echo "interop: npm not found, the interoperability test will skip"; \
	elif npm ci --prefix interop --no-audit --no-fund --loglevel=error >/dev/null; then echo "interop: apache-arrow and DuckDB (npm) ready"; \
	else echo "interop: npm ci failed (registry unreachable?), the interoperability test will skip"; fi

## fuzz: every Fuzz* target of the repository for $(FUZZTIME) each (go test runs one target an invocation)
# Go's fuzzing coordinator can fail a run with "context deadline exceeded"
# and no failing input when the fuzz time runs out while a worker is busy
# (seen on loaded 2-core machines): such a run, which wrote no new input
# under testdata/fuzz, is tried once more; a real failure always writes
# its input.
fuzz: deps
	@grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$file"); do \
			dir=$$(dirname "$${file#./}"); corpus="$$dir/testdata/fuzz/$$name"; \
			echo "fuzz: $$name (./$$dir) for $(FUZZTIME)"; \
			for try in 1 2; do \
				before=$$( (ls "$$corpus" 2>/dev/null || true) | wc -l); \
				if out=$$($(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) "./$$dir" 2>&1); then break; fi; \
				after=$$( (ls "$$corpus" 2>/dev/null || true) | wc -l); \
				if [ $$try = 1 ] && [ "$$before" = "$$after" ] && grep -q 'context deadline exceeded' <<< "$$out"; then \
					echo "fuzz: $$name: the fuzzing engine timed out without a failing input; trying again"; continue; \
				fi; \
				echo "$$out"; echo "fuzz: $$name failed; the failing input is in $$corpus"; exit 1; \
			done; \
		done; \
	done

## test: deps, vet, fuzz (briefly), and every test (real-data tests use ../shared/data when present)
test: deps test-deps vet interop fuzz
	FACET_PYTHON=$(PYTHON) $(GO) test -count=1 -timeout 25m -tags '$(GOTAGS)' ./...
	@# the pure-Go matrix multiply too, when the run above used OpenBLAS
	$(if $(GOTAGS),$(GO) test -count=1 ./internal/nn ./train)

## demo: generate the demo dataset and run the pipeline on it
demo: deps build
	rm -rf $(DEMO_DIR)
	bin/facet-demodata --out $(DEMO_DIR)/data
	$(MAKE) --no-print-directory all ALL_DIR=$(DEMO_DIR) DATA=$(DEMO_DIR)/data AAF=$(DEMO_DIR)/data/aaf \
		FOLDS=3 EPOCHS=8 PSEUDO=0.6 FIX= AGE_BINS=30,60

include recipe.mk

## real: the real faces of $(DATA) (UTKFace Asian for gender and age, the mask crops for mask, REAL_MORE's faces for training only): prep, crop, split, train, infer, score
real: deps build
	rm -rf $(REAL_DIR) && mkdir -p $(REAL_DIR)
	@echo "real: extra training-only faces: $(or $(REAL_MORE),none)"
	bin/facet-prep --report $(REAL_DIR)/classes.png utkface:$(DATA)/faces/utkface \
		$(if $(REAL_MORE),utkface-more=utkface:$(REAL_MORE)) imagefolder:mask=$(DATA)/masks \
	| bin/facet-crop --out $(REAL_DIR)/crops \
	| bin/facet-split --val-share 0.2 --stratify mask,gender,age_group $(if $(REAL_MORE),--train-only source=utkface-more) \
		--out $(REAL_DIR)/folds -o $(REAL_DIR)/samples.arrow
	for s in $(REAL_SEEDS); do \
		bin/facet-train --out $(REAL_DIR)/run-s$$s --folds $(REAL_DIR)/folds --fold 0 --seed $$s $(if $(REAL_EPOCHS),--epochs $(REAL_EPOCHS)) $(TRAINER_ARGS); \
		bin/facet-infer --model $(REAL_DIR)/run-s$$s --tta flip $(REAL_DIR)/folds/fold0.val.arrow -o $(REAL_DIR)/val-s$$s.pred.arrow; \
		echo "real: seed $$s: validation scores of facet-infer --tta flip with the best model:"; \
		bin/facet-merge score $(REAL_DIR)/val-s$$s.pred.arrow | tee $(REAL_DIR)/score-s$$s.txt; \
	done
	@echo "real: over the seeds $(REAL_SEEDS):"
	@awk -f bench/seed_spread.awk $(foreach s,$(REAL_SEEDS),$(REAL_DIR)/score-s$(s).txt)
	@echo "real: per-epoch scores in $(REAL_DIR)/run-sK/metrics.jsonl, charts learning.png and confusion.png beside them"

## bench-deps: the Debian packages the benchmark baselines need
bench-deps: deps
	$(call apt-install,$(BENCH_PACKAGES) $(TORCH_PACKAGES),bench-deps)

## bench: every program's benchmark next to its baseline, written to BENCHMARKS.md
bench: bench-deps build
	GOTAGS='$(GOTAGS)' bench/report.sh BENCHMARKS.md

## bench-split: facet-split against scikit-learn's StratifiedGroupKFold
bench-split: bench-deps bin/facet-split bin/facet-prep
	$(PYTHON) bench/split_compare.py --facet bin/facet-split --prep bin/facet-prep

## bench-score: facet-merge score against scikit-learn's classification_report on the prediction tables of make demo (and make real)
bench-score: bench-deps bin/facet-merge
	$(PYTHON) bench/score_compare.py --merge bin/facet-merge

## bench-train: facet-train's training speed against the same network in PyTorch (CPU)
bench-train: bench-deps
	$(PYTHON) bench/train_compare.py
	$(PYTHON) bench/train_compare.py --tags openblas

## bench-infer: the model's inference speed against the same network in PyTorch (CPU)
bench-infer: bench-deps
	$(PYTHON) bench/infer_compare.py
	$(PYTHON) bench/infer_compare.py --tags openblas

## bench-crowds: face detection on the scenes of $(DATA)/crowds (recall by face width and label, precision, photos/s): facet-crop --faces all next to its stages alone
bench-crowds: deps
	nice $(GO) run -tags '$(GOTAGS)' ./bench/crowds --data $(DATA)/crowds $(CROWDS_ARGS)

## side-by-side: the gorgonia back end and the PyTorch plugin trained alike on make real's fold 0
SIDE_EPOCHS ?= 10
side-by-side: bench-deps build
	bench/train_side_by_side.sh $(REAL_DIR)/folds $(SIDE_EPOCHS) 3 build/side

## bench-gpu: the PyTorch plugin's training speed from the job's files against data resident on the GPU (Python only; on a GPU machine)
bench-gpu:
	$(PYTHON) bench/gpu_train.py --images $(DATA)/faces/utkface

## load: facet-crop and facet-infer on LOAD_N images (30,000) with their peak memory; needs make demo's model
LOAD_N ?= 30000
load: bench-deps build
	bench/load.sh $(LOAD_N) $(DATA) $(DEMO_DIR)/r1/fold0

clean:
	rm -rf bin build interop/node_modules
