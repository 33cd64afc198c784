package cli

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

func TestRangeContains(t *testing.T) {
	open := Range{Min: 0, Max: 1, MinOpen: true}
	for _, tc := range []struct {
		r    Range
		v    float64
		want bool
	}{
		{Between(0, 2), 0, true},
		{Between(0, 2), 2, true},
		{Between(0, 2), 1.5, true},
		{Between(0, 2), -0.001, false},
		{Between(0, 2), 2.001, false},
		{Between(0, 2), math.NaN(), false},
		{Between(0, 2), math.Inf(1), false},
		{Finite, math.Inf(-1), false},
		{Finite, -1e300, true},
		{open, 0, false},
		{open, 1, true},
		{open, math.SmallestNonzeroFloat64, true},
		{Range{Min: 0, Max: 1, MaxOpen: true}, 1, false},
	} {
		if got := tc.r.Contains(tc.v); got != tc.want {
			t.Errorf("%s contains %g: %t, want %t", tc.r, tc.v, got, tc.want)
		}
	}
}

func TestParseFloat(t *testing.T) {
	r := Range{Min: 0, Max: 1, MinOpen: true}
	for _, s := range []string{"NaN", "nan", "-NaN", "Inf", "+Inf", "-inf", "infinity", "1e400", "x", "", "0", "-0.5", "1.0001"} {
		if v, err := ParseFloat(s, r); err == nil {
			t.Errorf("ParseFloat(%q) = %g, want an error", s, v)
		} else if !strings.Contains(err.Error(), "0 < x <= 1") {
			t.Errorf("ParseFloat(%q): error %q does not give the range", s, err)
		}
	}
	for s, want := range map[string]float64{"1": 1, " 0.25 ": 0.25, "1e-3": 0.001} {
		if v, err := ParseFloat(s, r); err != nil || v != want {
			t.Errorf("ParseFloat(%q) = %g, %v, want %g", s, v, err, want)
		}
	}
}

func TestParseInt(t *testing.T) {
	for _, s := range []string{"0", "4097", "-1", "1e9", "1.5", "NaN", "99999999999999999999", "0x10", ""} {
		if v, err := ParseInt(s, 1, 4096); err == nil {
			t.Errorf("ParseInt(%q) = %d, want an error", s, v)
		} else if !strings.Contains(err.Error(), "1..4096") {
			t.Errorf("ParseInt(%q): error %q does not give the range", s, err)
		}
	}
	// base 10 only: a leading zero is not octal
	if v, err := ParseInt("010", 1, 4096); err != nil || v != 10 {
		t.Errorf("ParseInt(010) = %d, %v, want 10", v, err)
	}
}

// Flags declared with a range refuse NaN, infinities and values outside
// it as usage errors naming the flag and the range, and show the range
// in --help.
func TestRangeFlags(t *testing.T) {
	newFlags := func() (*bytes.Buffer, func(args ...string) error) {
		var help bytes.Buffer
		fs := NewFlags("facet-x", testDoc, &help, io.Discard)
		var n, k, w int
		var f float64
		IntVar(fs, &n, "batch", 32, 1, 4096, "batch size")
		IntVarP(fs, &k, "folds", "k", 5, 2, 100, "folds")
		FloatVar(fs, &f, "margin", 0.17, Between(0, 2), "margin")
		WorkersVar(fs, &w, "workers")
		return &help, func(args ...string) error { return Parse(fs, args) }
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--batch", "100000"}, `"--batch"`},
		{[]string{"--batch", "0"}, "1..4096"},
		{[]string{"--batch=-5"}, "1..4096"},
		{[]string{"--batch", "1e9"}, "not a whole number"},
		{[]string{"-k", "1"}, "2..100"},
		{[]string{"--folds", "101"}, `"-k, --folds"`},
		{[]string{"--margin", "NaN"}, `"--margin"`},
		{[]string{"--margin", "Inf"}, "not a finite number"},
		{[]string{"--margin", "-Inf"}, "0..2"},
		{[]string{"--margin", "2.5"}, "0..2"},
		{[]string{"--workers", "0"}, "1..256"},
		{[]string{"--workers", "100000"}, `"--workers"`},
	} {
		_, parse := newFlags()
		err := parse(tc.args...)
		var u UsageError
		if !errors.As(err, &u) {
			t.Errorf("%v: %v, want a usage error", tc.args, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %q does not say %s", tc.args, err, tc.want)
		}
		if Exit("prog", err, &bytes.Buffer{}) != 2 {
			t.Errorf("%v: exit status is not 2", tc.args)
		}
	}
	_, parse := newFlags()
	if err := parse("--batch", "4096", "-k", "2", "--margin", "0", "--workers", "256"); err != nil {
		t.Errorf("values at the bounds: %v", err)
	}
	help, parse := newFlags()
	_ = parse("--help")
	for _, want := range []string{"batch size (1..4096) (default 32)", "margin (0..2) (default 0.17)", "(1..256)"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("--help does not show %q:\n%s", want, help)
		}
	}
}
