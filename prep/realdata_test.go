package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/testdata"
)

// TestRealData runs facet-prep on the shared UTKFace and mask folders and
// checks the counts their README states.
func TestRealData(t *testing.T) {
	dir := testdata.Dir(t)
	out, stderr, err := runPrep(t, "--verify", "utkface:"+filepath.Join(dir, "faces", "utkface"), "imagefolder:mask="+filepath.Join(dir, "masks"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	samples, _ := readTable(t, out)
	var utk, male, female, old int
	mask := map[int8]int{}
	for _, s := range samples {
		switch s.Source {
		case "utkface":
			utk++
			if s.Race != "Asian" || s.Mask != label.NoMask || s.Label == label.Unknown {
				t.Fatalf("utkface row %+v", s)
			}
			switch s.Gender {
			case label.Male:
				male++
			case label.Female:
				female++
			}
			if s.Age >= 60 {
				old++
			}
		case "imagefolder":
			mask[s.Mask]++
		}
	}
	// Counts from ../shared/data/README.md.
	if utk != 2417 || male != 1104 || female != 1313 || old != 196 {
		t.Errorf("utkface: %d rows, %d male, %d female, %d aged 60+; README says 2417, 1104, 1313, 196", utk, male, female, old)
	}
	if mask[label.Wear] != 2024 || mask[label.Incorrect] != 554 || mask[label.NoMask] != 1354 {
		t.Errorf("masks: %v; README says wear 2024, incorrect 554, none 1354", mask)
	}
}

// TestRealDataNamedSource reads the non-Asian UTKFace faces as a named
// source next to the Asian ones: every row kept, told apart by source and
// id, with the counts the README states.
func TestRealDataNamedSource(t *testing.T) {
	dir := testdata.Dir(t)
	more := filepath.Join(dir, "faces", "utkface-more")
	if _, err := os.Stat(more); err != nil {
		t.Skipf("no %s (the dev split of the test data has it): %v", more, err)
	}
	out, stderr, err := runPrep(t, "utkface:"+filepath.Join(dir, "faces", "utkface"), "utkface-more=utkface:"+more)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	samples, _ := readTable(t, out)
	bySource := map[string]int{}
	races := map[string]int{}
	for _, s := range samples {
		bySource[s.Source]++
		if s.Source == "utkface-more" {
			races[s.Race]++
			if !strings.HasPrefix(s.ID, "utkface-more/") || s.Person != s.ID {
				t.Fatalf("utkface-more row id %q person %q", s.ID, s.Person)
			}
		}
	}
	if bySource["utkface"] != 2417 || bySource["utkface-more"] != 14139 || len(bySource) != 2 {
		t.Errorf("rows by source %v; README says utkface 2417, utkface-more 14139", bySource)
	}
	if races["White"] != 7028 || races["Black"] != 3136 || races["Indian"] != 2790 || races["Others"] != 1185 {
		t.Errorf("utkface-more races %v; README says 7028, 3136, 2790, 1185", races)
	}
}

// TestRealDataBoxes reads ../shared/data/crowds/boxes.csv as a boxes
// source: one row per annotated face, with the counts its README states.
func TestRealDataBoxes(t *testing.T) {
	dir := filepath.Join(testdata.Dir(t), "crowds")
	if _, err := os.Stat(filepath.Join(dir, "boxes.csv")); err != nil {
		t.Skipf("no crowds/boxes.csv in the test data: %v", err)
	}
	out, stderr, err := runPrep(t, "--strict", "boxes:"+filepath.Join(dir, "boxes.csv"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	samples, _ := readTable(t, out)
	mask := map[int8]int{}
	scenes := map[string]bool{}
	for _, s := range samples {
		mask[s.Mask]++
		scenes[s.Person] = true
		if s.Box.Empty() || s.Source != "boxes" || !strings.HasPrefix(s.ID, s.Person+"#") {
			t.Fatalf("row %+v", s)
		}
	}
	// Counts from ../shared/data/README.md.
	if len(samples) != 2744 || len(scenes) != 563 || mask[label.Wear] != 2205 || mask[label.NoMask] != 459 || mask[label.Incorrect] != 80 {
		t.Errorf("%d faces in %d scenes, by mask %v; README says 2744 in 563, wear 2205, none 459, incorrect 80", len(samples), len(scenes), mask)
	}
}
