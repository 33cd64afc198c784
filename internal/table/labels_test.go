package table

import (
	"strings"
	"testing"
)

// A label out of range is refused as the table is read, with its column,
// row (counted from 1 over the whole table) and value; -1 (unknown) is
// not out of range.
func TestLabelsOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Sample)
		want string
	}{
		{"mask 7", func(s *Sample) { s.Mask = 7 }, `column "mask", row 43: 7 is not a mask class`},
		{"gender 3", func(s *Sample) { s.Gender = 3 }, `column "gender", row 43: 3 is not a gender class`},
		{"age group -2", func(s *Sample) { s.AgeGroup = -2 }, `column "age_group", row 43: -2`},
		{"label 50", func(s *Sample) { s.Label = 50 }, `column "label", row 43: 50 is not a label class (want 0..17`},
		{"age 999", func(s *Sample) { s.Age = 999 }, `column "age", row 43: 999 is not an age`},
		{"age 200", func(s *Sample) { s.Age = 200 }, `column "age", row 43: 200`},
	} {
		for _, f := range []Format{Stream, File} {
			samples := testSamples(60)
			tc.set(&samples[42])
			_, _, err := readSamples(t, encode(t, samples, f, 20, true))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s (%v): err = %v, want %q", tc.name, f, err, tc.want)
			}
		}
	}
	samples := testSamples(60)
	samples[3].Mask, samples[3].Gender, samples[3].AgeGroup, samples[3].Label, samples[3].Age = -1, -1, -1, -1, -1
	if _, _, err := readSamples(t, encode(t, samples, Stream, 20, true)); err != nil {
		t.Errorf("unknown labels: %v", err)
	}
}
