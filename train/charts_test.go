package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/testdata"
)

// maskOnlyMetrics are epochs of a run whose validation rows have a mask
// label only: gender, age and the 18 classes score 0 on 0 rows.
func maskOnlyMetrics() []epochMetrics {
	var lines []epochMetrics
	for e, f1 := range []float64{0.5, 0.7, 0.8, 0.75} {
		lines = append(lines, epochMetrics{Epoch: e, LR: 1e-3 * float64(4-e) / 4, TrainLoss: 1 - f1/2, ValLoss: 1.1 - f1/2,
			ValAccMask: f1, ValF1Mask: f1, ValNMask: 40, Score: f1, Best: e < 3})
	}
	return lines
}

func TestLabelledSeries(t *testing.T) {
	shown, left := labelledSeries(maskOnlyMetrics())
	var names []string
	for _, i := range shown {
		names = append(names, scoreSeries[i].name)
	}
	if !slices.Equal(names, []string{"mask"}) || !slices.Equal(left, []string{"18 classes", "gender", "age group"}) {
		t.Errorf("mask-only run: drawn %v, left out %v; want [mask], [18 classes gender age group]", names, left)
	}
	// A plugin's metrics without row counts: a head is drawn when it
	// scored above 0 in some epoch.
	lines := []epochMetrics{{ValAccGender: 0.6, ValF1Gender: 0.5}, {ValAccGender: 0.7, ValAccAge: 0.4}}
	shown, left = labelledSeries(lines)
	if !slices.Equal(shown, []int{2, 3}) || !slices.Equal(left, []string{"18 classes", "mask"}) {
		t.Errorf("uncounted metrics: drawn %v, left out %v; want [2 3] (gender, age group), [18 classes mask]", shown, left)
	}
}

func TestBestEpoch(t *testing.T) {
	if got := bestEpoch(maskOnlyMetrics()); got != 2 {
		t.Errorf("best epoch %d, want 2 (the last flagged)", got)
	}
	unflagged := []epochMetrics{{Score: 0.3}, {Score: 0.6}, {Score: 0.6}, {Score: 0.5}}
	if got := bestEpoch(unflagged); got != 1 {
		t.Errorf("best epoch without flags %d, want 1 (the first highest score)", got)
	}
}

// TestLearningCurve draws a mask-only run: a PNG of the chart's size
// (set FACET_CHART_DIR to keep it and look).
func TestLearningCurve(t *testing.T) {
	dir := os.Getenv("FACET_CHART_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "learning-mask-only.png")
	if err := writeLearningCurve(path, maskOnlyMetrics()); err != nil {
		t.Fatal(err)
	}
	img := testdata.DecodePNG(t, path)
	if b := img.Bounds(); b.Dx() != 1536 || b.Dy() != 528 {
		t.Errorf("learning.png %v, want 1536x528 (16 x 5.5 inches at 96 dpi)", b)
	}
}

// TestConfusionNoLabels: validation rows without a known label give no
// confusion.png, and a message saying why.
func TestConfusionNoLabels(t *testing.T) {
	d := &dataset{path: "val.arrow", schema: table.NewSchema(label.DefaultBins),
		mask: []int8{-1, -1}, gender: []int8{-1, -1}, age: []int8{-1, -1}}
	p := pred.New(2)
	p.Class18[0], p.Class18[label.NumClasses+5] = 1, 1
	p.Pred18[1] = 5
	p.Marginalise()
	var msg bytes.Buffer
	path := filepath.Join(t.TempDir(), "confusion.png")
	if err := writeConfusion(path, d, p, &msg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("confusion.png written (%v) with no labelled row", err)
	}
	if !strings.Contains(msg.String(), "no validation row has a known label") {
		t.Errorf("message %q", msg.String())
	}
	// With a mask label the file is written.
	d.mask = []int8{0, 0}
	if err := writeConfusion(path, d, p, &msg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("mask-labelled rows: %v", err)
	}
}
