package fold

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Stats describe a split.
type Stats struct {
	Groups []int     // per fold
	Rows   []int     // per fold
	Counts [][]int   // [fold][stratum]
	Share  []float64 // stratum share in the whole table
	// Worst is the largest |share of a stratum in a fold - its share in
	// the whole table|, as a fraction; WorstFold and WorstStratum say where.
	Worst                   float64
	WorstFold, WorstStratum int
}

// StatsOf computes the stats of a split of p.
func StatsOf(p Problem, sp *Split) Stats {
	k := len(p.Targets)
	st := Stats{Groups: make([]int, k), Rows: make([]int, k), Counts: make([][]int, k), Share: make([]float64, p.NumStrata)}
	for f := range st.Counts {
		st.Counts[f] = make([]int, p.NumStrata)
	}
	for _, f := range sp.GroupFold {
		st.Groups[f]++
	}
	for i, g := range p.Groups {
		f := sp.GroupFold[g]
		st.Rows[f]++
		st.Counts[f][p.Strata[i]]++
		st.Share[p.Strata[i]]++
	}
	for c := range st.Share {
		st.Share[c] /= float64(max(1, len(p.Groups)))
	}
	for f := range k {
		for c := range p.NumStrata {
			d := math.Abs(float64(st.Counts[f][c])/float64(max(1, st.Rows[f])) - st.Share[c])
			if d > st.Worst {
				st.Worst, st.WorstFold, st.WorstStratum = d, f, c
			}
		}
	}
	return st
}

// SizeSpread is (largest fold - smallest fold) / mean fold size, for equal
// targets.
func (st Stats) SizeSpread() float64 {
	lo, hi, sum := math.MaxInt, 0, 0
	for _, r := range st.Rows {
		lo, hi, sum = min(lo, r), max(hi, r), sum+r
	}
	return float64(hi-lo) / (float64(sum) / float64(len(st.Rows)))
}

// Write prints the stats: a line per fold with groups, rows and every
// stratum's share (percent), then the worst deviation.
func (st Stats) Write(w io.Writer, names []string, foldName func(int) string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "fold\tgroups\trows\t%s\t\n", strings.Join(names, "\t"))
	line := func(name string, groups, rows any, shares func(c int) float64) {
		fmt.Fprintf(tw, "%s\t%v\t%v\t", name, groups, rows)
		for c := range names {
			fmt.Fprintf(tw, "%.2f\t", 100*shares(c))
		}
		fmt.Fprintln(tw)
	}
	for f := range st.Rows {
		line(foldName(f), st.Groups[f], st.Rows[f], func(c int) float64 { return float64(st.Counts[f][c]) / float64(max(1, st.Rows[f])) })
	}
	total := 0
	for _, g := range st.Groups {
		total += g
	}
	rows := 0
	for _, r := range st.Rows {
		rows += r
	}
	line("all", total, rows, func(c int) float64 { return st.Share[c] })
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "worst share deviation: %.3f points (%s in %s), fold sizes spread %.2f%%\n",
		100*st.Worst, names[st.WorstStratum], foldName(st.WorstFold), 100*st.SizeSpread())
	return err
}
