#!/bin/bash
# Load test: facet-crop and facet-infer on N images, and on N/10, with the
# peak memory (RSS) of each run. Memory that stays flat as the input grows
# gives a ratio near 1. The images are the real UTKFace crops of the test
# data, linked under as many names as needed (the programs still decode,
# detect and predict every one).
#
# usage: bench/load.sh [N] [DATA] [MODEL] [DIR]
#   N      images (default 30000)
#   DATA   the test data (default ../shared/data)
#   MODEL  a facet-train run folder (default build/demo/r1/fold0, from make demo)
#   DIR    scratch folder (default build/load; emptied first)
set -euo pipefail
N=${1:-30000}
DATA=${2:-../shared/data}
MODEL=${3:-build/demo/r1/fold0}
DIR=${4:-build/load}
[ -d "$DATA/faces/utkface" ] || { echo "load: no $DATA/faces/utkface" >&2; exit 2; }
[ -f "$MODEL/best.safetensors" ] || { echo "load: no model in $MODEL (run make demo, or give MODEL)" >&2; exit 2; }
rm -rf "$DIR" && mkdir -p "$DIR"
mapfile -t faces < <(find "$DATA/faces/utkface" -name '*.jpg' | sort)

measure() { # name n command...: runs the command, prints n, seconds, peak RSS in MiB
	local name=$1 n=$2; shift 2
	local start end
	start=$(date +%s.%N)
	/usr/bin/time -f '%M' -o "$DIR/$name.rss" "$@" 2>"$DIR/$name.log"
	end=$(date +%s.%N)
	awk -v name="$name" -v n="$n" -v s0="$start" -v s1="$end" -v kb="$(tail -n 1 "$DIR/$name.rss")" \
		'BEGIN { s = s1 - s0; printf "%-14s %7d images %7.1f s %7.0f images/s   peak RSS %6.0f MiB\n", name, n, s, n / s, kb / 1024 }'
}

for n in $((N / 10)) "$N"; do
	img="$DIR/images$n"
	mkdir -p "$img"
	for ((i = 0; i < n; i++)); do
		ln -s "$(realpath "${faces[i % ${#faces[@]}]}")" "$img/$(printf '%06d' "$i").jpg"
	done
	measure "crop-$n" "$n" bin/facet-crop --in "$img" --out "$DIR/crops$n" -o "$DIR/crop$n.arrow"
	measure "infer-$n" "$n" bin/facet-infer --model "$MODEL" --tta flip "$DIR/crop$n.arrow" -o "$DIR/infer$n.arrow"
done
for prog in crop infer; do
	awk -v p="$prog" -v a="$(tail -n 1 "$DIR/$prog-$((N / 10)).rss")" -v b="$(tail -n 1 "$DIR/$prog-$N.rss")" \
		'BEGIN { printf "%s: peak RSS at %s images / at a tenth of them: %.2f\n", p, "'"$N"'", b / a }'
done
