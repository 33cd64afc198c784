# Summarises facet-merge score tables of several runs (one file a seed):
# per head, the mean accuracy and macro F1 over the runs and their range,
# from the summary at the top of each file (up to the first blank line;
# the per-class reports below it are skipped).
# usage: awk -f bench/seed_spread.awk score-s1.txt score-s2.txt ...
FNR == 1 { runs++; summary = 1; next }
/^[[:space:]]*$/ { summary = 0 }
summary {
	head = $1; acc = $3; f1 = $4
	if (!(head in n)) order[++heads] = head
	n[head]++; sa[head] += acc; sf[head] += f1
	if (!(head in lo_a) || acc < lo_a[head]) lo_a[head] = acc
	if (!(head in hi_a) || acc > hi_a[head]) hi_a[head] = acc
	if (!(head in lo_f) || f1 < lo_f[head]) lo_f[head] = f1
	if (!(head in hi_f) || f1 > hi_f[head]) hi_f[head] = f1
}
END {
	printf "%-10s  %-22s  %-22s  (%d seeds)\n", "head", "accuracy mean (range)", "macro F1 mean (range)", runs
	for (i = 1; i <= heads; i++) {
		h = order[i]
		printf "%-10s  %.3f (%.3f-%.3f)     %.3f (%.3f-%.3f)\n", h, sa[h] / n[h], lo_a[h], hi_a[h], sf[h] / n[h], lo_f[h], hi_f[h]
	}
}
