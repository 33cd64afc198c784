package numrange

import (
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
