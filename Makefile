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
# pkg-config (cgo flags). Node.js and npm (Arrow interoperability test)
# come from Debian only when the machine has no node and npm of its own.
APT_PACKAGES := libopencv-dev opencv-data libdlib-dev libdlib-data libopenblas-dev pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Baselines for the benchmarks only: scikit-learn (facet-split comparison),
# PyTorch (facet-train comparison).
BENCH_PACKAGES := python3-sklearn python3-torch

# Training's matrix multiplies (internal/nn) go to OpenBLAS (-tags openblas,
# cgo) when pkg-config finds it, as after `make deps`; without it they go to
# internal/nn's own AVX2/AVX-512 kernel, about 10% slower. `make GOTAGS=`
# builds pure Go.
GOTAGS ?= $(shell pkg-config --exists openblas 2>/dev/null && echo openblas)

DEMO_DIR ?= build/demo
# The real faces of ../shared/data (or $(FACET_TESTDATA)) for `make real`.
DATA ?= $(or $(FACET_TESTDATA),../shared/data)
REAL_DIR ?= build/real
REAL_EPOCHS ?= 14

.PHONY: deps bench-deps build test vet interop demo real bench bench-split bench-train clean

## deps: install the Debian packages (apt-get; only what is missing)
deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done; command -v node >/dev/null && command -v npm >/dev/null || echo nodejs npm); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing" $$missing; \
		$(SUDO) apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "deps: all Debian packages present"; fi

## build: every program as bin/facet-<name>
build: $(BINS)

bin/facet-%: FORCE
	@mkdir -p bin
	$(GO) build -tags '$(GOTAGS)' -o $@ ./$*

# Pure-Go programs are built without cgo, so they run anywhere.
bin/facet-split: export CGO_ENABLED = 0

.PHONY: FORCE
FORCE:

## vet: formatting and go vet
vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:" $$unformatted; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags '$(GOTAGS)' ./internal/nn

## interop: the npm apache-arrow package, for the test that a facet table reads in another Arrow implementation
interop:
	@if ! command -v npm >/dev/null; then echo "interop: npm not found, the interoperability test will skip"; \
	elif npm ci --prefix interop --no-audit --no-fund --loglevel=error >/dev/null; then echo "interop: apache-arrow (npm) ready"; \
	else echo "interop: npm ci failed (registry unreachable?), the interoperability test will skip"; fi

## test: deps, vet, and every test (real-data tests use ../shared/data when present)
test: deps vet interop
	$(GO) test -count=1 -tags '$(GOTAGS)' ./...
	@# the pure-Go matrix multiply too, when the run above used OpenBLAS
	$(if $(GOTAGS),$(GO) test -count=1 ./internal/nn ./train)

## demo: generate the demo dataset and run the pipeline on it
demo: deps build
	rm -rf $(DEMO_DIR)
	bin/facet-demodata --out $(DEMO_DIR)/data
	@echo "demo: training data: prep | crop | augment | split"
	bin/facet-prep --verify --report $(DEMO_DIR)/classes.png \
		competition:$(DEMO_DIR)/data/train aaf:$(DEMO_DIR)/data/aaf \
	| bin/facet-crop --out $(DEMO_DIR)/crops \
	| bin/facet-augment --out $(DEMO_DIR)/augmented --masks wear,incorrect --sheet $(DEMO_DIR)/masks.png \
	| bin/facet-split -k 5 --out $(DEMO_DIR)/folds -o $(DEMO_DIR)/train.arrow
	@echo "demo: eval data: prep | crop"
	bin/facet-prep -q competition:$(DEMO_DIR)/data/eval \
	| bin/facet-crop --out $(DEMO_DIR)/crops -o $(DEMO_DIR)/eval.arrow
	@echo "demo: train on fold 0 (short)"
	bin/facet-train --out $(DEMO_DIR)/run --folds $(DEMO_DIR)/folds --fold 0 --epochs 8 --lr 1e-3 --class-weights auto
	@echo
	@echo "demo: done. Training table $(DEMO_DIR)/train.arrow (folds in $(DEMO_DIR)/folds),"
	@echo "      eval table $(DEMO_DIR)/eval.arrow, face crops in $(DEMO_DIR)/crops,"
	@echo "      class chart $(DEMO_DIR)/classes.png, synthetic masks $(DEMO_DIR)/masks.png,"
	@echo "      model and metrics in $(DEMO_DIR)/run (best.safetensors, metrics.jsonl, oof.arrow)."
	@grep '"best":true' $(DEMO_DIR)/run/metrics.jsonl | tail -n 1 \
		| sed -E 's/.*"epoch":([0-9]+).*"val_acc_18":([0-9.]{1,5}).*"val_f1_18":([0-9.]{1,5}).*/      best epoch \1 (counted from 0): validation 18-class macro F1 \3, accuracy \2/'

## real: train on the real faces of $(DATA) (UTKFace Asian for gender and age, the mask crops for mask); about 12 minutes on 2 cores
real: deps build
	rm -rf $(REAL_DIR) && mkdir -p $(REAL_DIR)
	bin/facet-prep --report $(REAL_DIR)/classes.png utkface:$(DATA)/faces/utkface imagefolder:mask=$(DATA)/masks \
	| bin/facet-split --val 0.2 --stratify mask,gender,age_group --out $(REAL_DIR)/folds -o $(REAL_DIR)/samples.arrow
	bin/facet-train --out $(REAL_DIR)/run --folds $(REAL_DIR)/folds --fold 0 --epochs $(REAL_EPOCHS) --lr 1e-3 --class-weights auto --patience 6
	@echo "real: per-epoch scores in $(REAL_DIR)/run/metrics.jsonl, charts $(REAL_DIR)/run/learning.png and confusion.png"

## bench-deps: the Debian packages the benchmark baselines need
bench-deps: deps
	@missing=$$(for p in $(BENCH_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "bench-deps: installing" $$missing; $(SUDO) apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

## bench: every Go benchmark, then the comparisons with outside baselines
bench: bench-deps build
	$(GO) test -tags '$(GOTAGS)' -run '^$$' -bench . -benchmem ./...
	$(MAKE) --no-print-directory bench-split bench-train

## bench-split: facet-split against scikit-learn's StratifiedGroupKFold
bench-split: bench-deps bin/facet-split bin/facet-prep
	/usr/bin/python3 bench/split_compare.py --facet bin/facet-split --prep bin/facet-prep

## bench-train: facet-train's training speed against the same network in PyTorch (CPU)
bench-train: bench-deps
	/usr/bin/python3 bench/train_compare.py
	/usr/bin/python3 bench/train_compare.py --tags openblas

clean:
	rm -rf bin build interop/node_modules
