// Package numrange holds the ranges facet's numbers must lie in and the
// one parser that checks them: NaN and the infinities are never numbers
// here, and a number outside its range is an error that names the range.
// Command-line flags (internal/cli) and the numbers inside other values
// (an --ops spec, --center fractions, a model's config) all check here.
package numrange

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Range is the interval a float accepts: Min..Max, each end excluded
// when its Open flag is set. NaN and the infinities are outside every
// Range.
type Range struct {
	Min, Max         float64
	MinOpen, MaxOpen bool
}

// Finite is every finite number, for numbers whose range is checked
// later, against others (an --ops argument's own bounds).
var Finite = Range{Min: -math.MaxFloat64, Max: math.MaxFloat64}

// Between is the closed range lo..hi.
func Between(lo, hi float64) Range { return Range{Min: lo, Max: hi} }

// Contains reports whether v is a finite number in r.
func (r Range) Contains(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	if v < r.Min || v > r.Max || (r.MinOpen && v == r.Min) || (r.MaxOpen && v == r.Max) {
		return false
	}
	return true
}

// String writes r as --help and the errors show it: "0..2" when closed,
// "0 < x <= 1" when an end is open.
func (r Range) String() string {
	if r == Finite {
		return "a finite number"
	}
	if !r.MinOpen && !r.MaxOpen {
		return Format(r.Min) + ".." + Format(r.Max)
	}
	lo, hi := " <= ", " <= "
	if r.MinOpen {
		lo = " < "
	}
	if r.MaxOpen {
		hi = " < "
	}
	return Format(r.Min) + lo + "x" + hi + Format(r.Max)
}

// Format writes v as ranges, --help and errors show numbers.
func Format(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// ParseFloat reads a number that must lie in r. The error says what was
// wrong and the range, for the caller to put after the flag's name.
func ParseFloat(s string, r Range) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case err != nil && !errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%q is not a number (want %s)", s, r)
	case err != nil, math.IsNaN(v), math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is not a finite number (want %s)", s, r)
	case !r.Contains(v):
		return 0, fmt.Errorf("%s is out of range (want %s)", s, r)
	}
	return v, nil
}

// ParseInt reads a whole number that must lie in lo..hi.
func ParseInt(s string, lo, hi int) (int, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, strconv.IntSize)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("%s is out of range (want %d..%d)", s, lo, hi)
	case err != nil:
		return 0, fmt.Errorf("%q is not a whole number (want %d..%d)", s, lo, hi)
	case v < int64(lo) || v > int64(hi):
		return 0, fmt.Errorf("%d is out of range (want %d..%d)", v, lo, hi)
	}
	return int(v), nil
}
