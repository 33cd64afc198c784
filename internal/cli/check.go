package cli

// Every number a facet program takes from its command line goes through
// the one check in this file: numeric flags are declared with the range
// they accept (IntVar, FloatVar, WorkersVar), and numbers written inside
// other flags' values (--balance age_group=0.5, an --ops spec, --center
// fractions, --weights) are read with ParseInt and ParseFloat. NaN and
// the infinities are never numbers here, every number must lie in its
// range, and every number that sizes an allocation has an upper bound. A
// value out of range is a usage error (exit 2) naming the flag and the
// range, and --help shows each flag's range beside its usage.
//
// pflag's own Int and Float64 flags accept NaN, Inf and any size, and a
// check written after parsing (v < lo || v > hi) lets NaN through, since
// every comparison with NaN is false: hence flags that check as they are
// set.

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
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
		return ftoa(r.Min) + ".." + ftoa(r.Max)
	}
	lo, hi := " <= ", " <= "
	if r.MinOpen {
		lo = " < "
	}
	if r.MaxOpen {
		hi = " < "
	}
	return ftoa(r.Min) + lo + "x" + hi + ftoa(r.Max)
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

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

// intFlag is an int flag that refuses values outside lo..hi when set.
type intFlag struct {
	p      *int
	lo, hi int
}

func (f *intFlag) Set(s string) error {
	v, err := ParseInt(s, f.lo, f.hi)
	if err != nil {
		return err
	}
	*f.p = v
	return nil
}
func (f *intFlag) String() string { return strconv.Itoa(*f.p) }
func (f *intFlag) Type() string   { return "int" }

// floatFlag is a float64 flag that refuses values outside its Range.
type floatFlag struct {
	p *float64
	r Range
}

func (f *floatFlag) Set(s string) error {
	v, err := ParseFloat(s, f.r)
	if err != nil {
		return err
	}
	*f.p = v
	return nil
}
func (f *floatFlag) String() string { return ftoa(*f.p) }
func (f *floatFlag) Type() string   { return "float" }

// IntVar defines an int flag that accepts lo..hi; --help shows the range.
// The default need not lie in it (-1 for "not given" is common); only
// values given on the command line (or through fs.Set) are checked.
func IntVar(fs *pflag.FlagSet, p *int, name string, value, lo, hi int, usage string) {
	IntVarP(fs, p, name, "", value, lo, hi, usage)
}

// IntVarP is IntVar with a one-letter shorthand.
func IntVarP(fs *pflag.FlagSet, p *int, name, short string, value, lo, hi int, usage string) {
	*p = value
	fs.VarP(&intFlag{p: p, lo: lo, hi: hi}, name, short, fmt.Sprintf("%s (%d..%d)", usage, lo, hi))
}

// FloatVar defines a float64 flag that accepts the finite numbers of r.
func FloatVar(fs *pflag.FlagSet, p *float64, name string, value float64, r Range, usage string) {
	*p = value
	fs.Var(&floatFlag{p: p, r: r}, name, fmt.Sprintf("%s (%s)", usage, r))
}

// MaxWorkers bounds every --workers flag: each worker holds its own
// buffers (and in facet-crop its own detectors), so the count sizes the
// memory a run takes.
const MaxWorkers = 256

// WorkersVar defines the --workers flag every program that works in
// parallel has: 1..MaxWorkers, by default the machine's CPUs.
func WorkersVar(fs *pflag.FlagSet, p *int, usage string) {
	IntVar(fs, p, "workers", min(runtime.NumCPU(), MaxWorkers), 1, MaxWorkers, usage)
}
