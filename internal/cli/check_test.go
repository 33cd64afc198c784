package cli

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/numrange"
)

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
		FloatVar(fs, &f, "margin", 0.17, numrange.Between(0, 2), "margin")
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
