package cli

import (
	"fmt"
	"math"
	"strings"

	"github.com/boostershot/facet/internal/numrange"
)

// DefaultMaxFailed is --max-failed's default: a run in which more than a
// tenth of the rows failed is a failed run (its data or its settings are
// wrong), not a result to pass on.
const DefaultMaxFailed = "10%"

// MaxFailed is the --max-failed N|P% flag of a stage that keeps the rows
// it could not process (with the reason): how many such rows the run may
// have, as a count or a percentage of its rows, before it fails as a
// whole. It is a pflag.Value.
type MaxFailed struct {
	text    string
	count   int
	percent float64 // the limit when isShare
	isShare bool
}

// NewMaxFailed is a limit set to s (e.g. DefaultMaxFailed); it panics on
// a bad s, which is the program's mistake.
func NewMaxFailed(s string) *MaxFailed {
	m := &MaxFailed{}
	if err := m.Set(s); err != nil {
		panic(err)
	}
	return m
}

func (m *MaxFailed) String() string { return m.text }

// Type names the value in --help.
func (m *MaxFailed) Type() string { return "N|P%" }

// Set parses N (a count of rows, 0 or more) or P% (0 to 100).
func (m *MaxFailed) Set(s string) error {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := numrange.ParseFloat(p, numrange.Between(0, 100))
		if err != nil {
			return fmt.Errorf("%q: want a count of rows or a percentage from 0%% to 100%%", s)
		}
		*m = MaxFailed{text: s, percent: v, isShare: true}
		return nil
	}
	n, err := numrange.ParseInt(s, 0, math.MaxInt)
	if err != nil {
		return fmt.Errorf("%q: want a count of rows (0 or more) or a percentage like 10%%", s)
	}
	*m = MaxFailed{text: s, count: n}
	return nil
}

// Check returns an error when failed of rows is past the limit, naming
// what (e.g. "photos"), the limit and the first reasons given.
func (m *MaxFailed) Check(failed, rows int, what string, first []string) error {
	limit := float64(m.count)
	if m.isShare {
		limit = m.percent / 100 * float64(rows)
	}
	if failed == 0 || float64(failed) <= limit {
		return nil
	}
	msg := fmt.Sprintf("%d of %d %s failed, more than --max-failed %s allows", failed, rows, what, m.text)
	if len(first) > 0 {
		msg += " (first: " + strings.Join(first, "; ") + ")"
	}
	return fmt.Errorf("%s", msg)
}
