// Package summary counts a sample table by source, head and class, and
// writes the counts as text for people and as a class-distribution chart.
package summary

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// Counts of a sample table. Label part counts have an extra last slot for
// unknown.
type Counts struct {
	Bins     label.Bins
	Rows     int
	Sources  []string // in order of appearance
	BySource map[string]*SourceCounts
	Mask     [4]int
	Gender   [3]int
	AgeGroup [4]int
	Class    [label.NumClasses]int
	Labelled int // rows with the full 18-class label
}

// SourceCounts are the rows of one source, by subset and class.
type SourceCounts struct {
	Rows, Train, Eval int
	Mask              [4]int
	Gender            [3]int
	AgeGroup          [4]int
	Class             [label.NumClasses]int
}

// Of counts samples.
func Of(samples []table.Sample, bins label.Bins) Counts {
	c := Counts{Bins: bins, Rows: len(samples), BySource: map[string]*SourceCounts{}}
	slot := func(v int8, n int) int {
		if v < 0 || int(v) >= n {
			return n
		}
		return int(v)
	}
	for _, s := range samples {
		src := c.BySource[s.Source]
		if src == nil {
			src = &SourceCounts{}
			c.BySource[s.Source] = src
			c.Sources = append(c.Sources, s.Source)
		}
		src.Rows++
		switch s.Subset {
		case "train":
			src.Train++
		case "eval":
			src.Eval++
		}
		c.Mask[slot(s.Mask, 3)]++
		c.Gender[slot(s.Gender, 2)]++
		c.AgeGroup[slot(s.AgeGroup, 3)]++
		src.Mask[slot(s.Mask, 3)]++
		src.Gender[slot(s.Gender, 2)]++
		src.AgeGroup[slot(s.AgeGroup, 3)]++
		if s.Label >= 0 && s.Label < label.NumClasses {
			c.Class[s.Label]++
			src.Class[s.Label]++
			c.Labelled++
		}
	}
	return c
}

func pct(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// Write prints the counts as aligned text.
func (c Counts) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "source\trows\ttrain\teval\t\n")
	sources := append([]string(nil), c.Sources...)
	sort.Strings(sources)
	for _, name := range sources {
		s := c.BySource[name]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", name, s.Rows, s.Train, s.Eval)
	}
	fmt.Fprintf(tw, "total\t%d\t\t\t\n", c.Rows)
	if err := tw.Flush(); err != nil {
		return err
	}
	part := func(name string, counts []int, names []string) {
		var b strings.Builder
		fmt.Fprintf(&b, "%-10s", name)
		for i, n := range counts {
			fmt.Fprintf(&b, "  %s %d (%s)", names[i], n, pct(n, c.Rows))
		}
		fmt.Fprintln(w, b.String())
	}
	part("mask", c.Mask[:], []string{"wear", "incorrect", "none", "unknown"})
	part("gender", c.Gender[:], []string{"male", "female", "unknown"})
	part("age group", c.AgeGroup[:], []string{c.Bins.GroupName(0), c.Bins.GroupName(1), c.Bins.GroupName(2), "unknown"})
	fmt.Fprintf(w, "18-class label known for %d of %d rows:\n", c.Labelled, c.Rows)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "class\tmask\tgender\tage\trows\tshare\t\n")
	for k, n := range c.Class {
		m, g, a := label.Split(int8(k))
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t\n", k, label.Name(label.HeadMask, m), label.Name(label.HeadGender, g), c.Bins.GroupName(a), n, pct(n, c.Labelled))
	}
	return tw.Flush()
}
