package cli

// Every number a facet program takes from its command line goes through
// the one check in this file: numeric flags are declared with the range
// they accept (IntVar, FloatVar, WorkersVar), and numbers written inside
// other flags' values (--balance age_group=0.5, an --ops spec, --center
// fractions, --weights) are read with internal/numrange's ParseInt and
// ParseFloat. NaN and
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
	"fmt"
	"runtime"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/numrange"
)

// intFlag is an int flag that refuses values outside lo..hi when set.
type intFlag struct {
	p      *int
	lo, hi int
}

func (f *intFlag) Set(s string) error {
	v, err := numrange.ParseInt(s, f.lo, f.hi)
	if err != nil {
		return err
	}
	*f.p = v
	return nil
}
func (f *intFlag) String() string { return strconv.Itoa(*f.p) }
func (f *intFlag) Type() string   { return "int" }

// floatFlag is a float64 flag that refuses values outside its numrange.Range.
type floatFlag struct {
	p *float64
	r numrange.Range
}

func (f *floatFlag) Set(s string) error {
	v, err := numrange.ParseFloat(s, f.r)
	if err != nil {
		return err
	}
	*f.p = v
	return nil
}
func (f *floatFlag) String() string { return numrange.Format(*f.p) }
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
func FloatVar(fs *pflag.FlagSet, p *float64, name string, value float64, r numrange.Range, usage string) {
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
