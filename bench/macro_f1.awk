# Scores a submission (ImageID,ans) against the answers (ImageID,...,label
# with label the last column), as the competition did: 18-class macro F1
# over the classes present in the answers or the predictions, and accuracy.
# usage: awk -F, -f bench/macro_f1.awk truth.csv submission.csv
FNR == 1 { next }
NR == FNR { truth[$1] = $NF; next }
{
	if (!($1 in truth)) { printf "macro_f1: %s is not in the answers\n", $1 > "/dev/stderr"; bad = 1; exit 1 }
	y = truth[$1]; p = $2; n++; seen[y] = 1; seen[p] = 1
	if (y == p) { tp[y]++; right++ } else { fp[p]++; fn[y]++ }
}
END {
	if (bad || n == 0) exit 1
	for (c in seen) { d = 2 * tp[c] + fp[c] + fn[c]; f += d ? 2 * tp[c] / d : 0; k++ }
	printf "     submission against the eval answers: 18-class macro F1 %.3f, accuracy %.3f (%d images)\n", f / k, right / n, n
}
