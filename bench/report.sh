#!/bin/bash
# Runs every program's benchmark, each next to its baseline measured in the
# same command, and writes BENCHMARKS.md: the machine, the date, and for
# each figure the command that gives it and what it printed.
#
# usage: bench/report.sh [OUT]   (default BENCHMARKS.md; run by make bench)
# Needs the bench packages (make bench-deps) and the test data
# (../shared/data or $FACET_TESTDATA) for the figures on real faces.
set -euo pipefail
out=${1:-BENCHMARKS.md}
export FACET_TESTDATA=${FACET_TESTDATA:-$(realpath ../shared/data 2>/dev/null || true)}
tmp=$(mktemp "$out.tmp.XXXXXX")
trap 'rm -f "$tmp"' EXIT

{
	echo "# facet benchmarks"
	echo
	echo "Written by \`make bench\` (bench/report.sh); every figure below comes with"
	echo "its baseline from the same command, so compare ratios, not absolute"
	echo "numbers, between machines or runs."
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- Go: $(go env GOVERSION), build tags: ${GOTAGS:-none}; test data: ${FACET_TESTDATA:-none}"
} >"$tmp"

section() { # title, what the baseline is, command... (gobench: go test with the tags)
	local title=$1 about=$2
	shift 2
	echo "== $title" >&2
	{
		echo
		echo "## $title"
		echo
		echo "$about"
		echo
		echo '```'
		if [ "$1" = gobench ]; then
			shift
			set -- go test -tags "$tags" -run '^$' -count 1 "$@"
		fi
		echo "\$ $(shell_words "$@")"
	} >>"$tmp"
	if ! "$@" 2>&1 | grep -v '^\(goos\|goarch\|pkg\|cpu\|PASS\|ok \)' >>"$tmp"; then
		echo "(failed)" >>"$tmp"
	fi
	echo '```' >>"$tmp"
}

tags=${GOTAGS:-}

# shell_words prints its arguments as a command to paste into a shell.
shell_words() {
	local out=() a
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./=:,-]+$ ]]; then out+=("$a"); else out+=("'$a'"); fi
	done
	echo "${out[*]}"
}

section "facet-prep" "Listing and parsing a competition-sized tree (31,500 photos) against filepath.WalkDir over the same files." \
	gobench -bench 'Prep31500|WalkFloor' ./prep
section "facet-crop" "Faces found on the real portraits, and throughput against decoding the same JPEGs alone (DecodeFloor), all cores." \
	gobench -bench 'DecodeFloor|Crop$' -benchtime 3x ./crop
section "facet-split" "Fold quality and speed against scikit-learn's StratifiedGroupKFold." \
	/usr/bin/python3 bench/split_compare.py --facet bin/facet-split --prep bin/facet-prep
section "facet-augment" "Augmenting face crops and photos against decoding and encoding them alone." \
	gobench -bench . -benchtime 2x ./augment
section "facet-train (pure Go)" "Training images per second (batch 32, 64x64) against the same network in PyTorch on the CPU; internal/nn's own matrix multiply." \
	/usr/bin/python3 bench/train_compare.py
section "facet-infer: the model (pure Go)" "Inference images per second against the same network in PyTorch on the CPU; internal/nn's own matrix multiply." \
	/usr/bin/python3 bench/infer_compare.py
if [ -n "$tags" ]; then
	section "facet-train ($tags)" "The same with the build tags make uses here (GOTAGS)." \
		/usr/bin/python3 bench/train_compare.py --tags "$tags"
	section "facet-infer: the model ($tags)" "The same with the build tags make uses here (GOTAGS)." \
		/usr/bin/python3 bench/infer_compare.py --tags "$tags"
fi
section "facet-infer: end to end" "Reading a table, decoding, predicting and writing, against decoding the same real face crops alone." \
	gobench -bench . -benchtime 2x ./infer
section "Arrow tables" "Reading a 31,500-row table (stream and file) with the checks facet adds before arrow-go, against arrow-go's stream reader alone (ReadStreamArrowGo)." \
	gobench -bench . ./internal/table
mv "$tmp" "$out"
trap - EXIT
echo "wrote $out" >&2
