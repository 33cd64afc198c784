package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/crop"
)

// summary counts what a run did, for the report on stderr.
type summary struct {
	done, rows, reused int
	stages             map[string]int
	stageOrder         []string
	reasons            map[string][]string // reason -> "id: detail"
}

func newSummary() *summary {
	return &summary{stages: map[string]int{}, reasons: map[string][]string{}}
}

func (s *summary) add(outcomes []crop.Outcome) {
	for _, oc := range outcomes {
		s.rows++
		if oc.Reason != "" {
			s.reasons[oc.Reason] = append(s.reasons[oc.Reason], oc.ID+": "+oc.Detail)
			continue
		}
		if oc.Reused {
			s.reused++
		}
		if _, ok := s.stages[oc.Meta.Stage]; !ok {
			s.stageOrder = append(s.stageOrder, oc.Meta.Stage)
		}
		s.stages[oc.Meta.Stage]++
	}
}

// failed is the number of rows without a crop.
func (s *summary) failed() int {
	n := 0
	for _, list := range s.reasons {
		n += len(list)
	}
	return n
}

// first is up to n failures, "reason: id: detail", by reason.
func (s *summary) first(n int) []string {
	var out []string
	for _, r := range slices.Sorted(maps.Keys(s.reasons)) {
		for _, item := range s.reasons[r] {
			if len(out) == n {
				return out
			}
			out = append(out, r+": "+item)
		}
	}
	return out
}

func (s *summary) print(w io.Writer, took time.Duration, steps map[string]time.Duration) {
	failed := s.failed()
	cli.Printf(w, program, "%d photos in %.1fs (%.0f/s): %d cropped, %d reused from an earlier run, %d failed",
		s.done, took.Seconds(), float64(s.done)/max(took.Seconds(), 1e-9), s.rows-failed, s.reused, failed)
	if s.rows != s.done {
		fmt.Fprintf(w, "  %d rows: one per face found (--faces all), one per photo that gave none\n", s.rows)
	}
	for _, st := range s.stageOrder {
		fmt.Fprintf(w, "  found by %-8s %6d (%.1f%%)\n", st, s.stages[st], 100*float64(s.stages[st])/float64(max(1, s.rows)))
	}
	if line := timeShares(steps); line != "" {
		fmt.Fprintf(w, "  worker time: %s\n", line)
	}
	reasons := make([]string, 0, len(s.reasons))
	for r := range s.reasons {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		list := s.reasons[r]
		fmt.Fprintf(w, "  %s: %d\n", r, len(list))
		for i, item := range list {
			if i == 5 {
				fmt.Fprintf(w, "    ... and %d more (the crop_error column lists all)\n", len(list)-5)
				break
			}
			fmt.Fprintf(w, "    %s\n", item)
		}
	}
}

// timeShares reads like "decode 31%, dlib 45%, ...", biggest first.
func timeShares(steps map[string]time.Duration) string {
	var total time.Duration
	names := make([]string, 0, len(steps))
	for k, v := range steps {
		total += v
		names = append(names, k)
	}
	if total == 0 {
		return ""
	}
	sort.Slice(names, func(i, j int) bool { return steps[names[i]] > steps[names[j]] })
	out := ""
	for i, k := range names {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%s %.0f%%", k, 100*float64(steps[k])/float64(total))
	}
	return out
}
