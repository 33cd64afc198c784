package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/metrics"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/testdata"
)

// scoreRows are the hand-checked table of TestScore: each row's true
// parts (mask, gender, age group; -1 unknown) and predicted parts.
var scoreRows = []struct{ truth, pred [3]int8 }{
	{[3]int8{0, 0, 0}, [3]int8{0, 0, 0}},
	{[3]int8{0, 0, 1}, [3]int8{0, 0, 1}},
	{[3]int8{0, 1, 2}, [3]int8{0, 1, 1}},  // age wrong
	{[3]int8{0, 1, 0}, [3]int8{2, 1, 0}},  // mask wrong
	{[3]int8{1, 0, 0}, [3]int8{0, 0, 0}},  // mask wrong
	{[3]int8{1, 1, 1}, [3]int8{2, 1, 1}},  // mask wrong
	{[3]int8{2, 0, 2}, [3]int8{2, 0, 2}},  //
	{[3]int8{2, 1, 1}, [3]int8{2, 0, 1}},  // gender wrong
	{[3]int8{2, -1, 0}, [3]int8{2, 0, 0}}, // gender unknown: no 18-class label
	{[3]int8{-1, 0, 1}, [3]int8{0, 0, 1}}, // mask unknown: no 18-class label
}

// writeScoreTable writes scoreRows as a prediction table (one-hot
// 18-class probabilities, heads their marginals) and returns its path.
func writeScoreTable(t *testing.T) string {
	var ss []table.Sample
	p := pred.New(len(scoreRows))
	for i, r := range scoreRows {
		s := table.NewSample(string(rune('a'+i)), "/x.jpg", "p", "test", "train")
		s.Mask, s.Gender, s.AgeGroup = r.truth[0], r.truth[1], r.truth[2]
		s.Relabel()
		ss = append(ss, s)
		c := int(label.Join(r.pred[0], r.pred[1], r.pred[2]))
		p.Class18[i*label.NumClasses+c] = 1
		p.Pred18[i] = c
	}
	p.Marginalise()
	core := table.NewSchema(label.DefaultBins)
	schema := pred.Schema(core)
	var recs []arrow.RecordBatch
	for _, rec := range table.Records(memory.DefaultAllocator, core, ss) {
		ext, err := pred.Extend(rec, schema, p, 0)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, ext)
	}
	return writeRecords(t, filepath.Join(t.TempDir(), "p.arrow"), schema, recs)
}

// TestScore checks facet-merge score --json against numbers worked out
// by hand from scoreRows (scikit-learn's classification_report with
// zero_division=0 gives the same to 4 decimals).
func TestScore(t *testing.T) {
	path := writeScoreTable(t)
	stdout, stderr, err := runMerge(t, nil, "score", "--json", path)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var got []metrics.Head
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	type cls struct {
		class, support, predicted int
		p, r, f1                  float64
	}
	type avg struct{ p, r, f1 float64 }
	want := []struct {
		head            string
		n               int
		acc             float64
		classes         []cls
		macro, weighted avg
	}{
		// mask, rows 0-8. wear: 4 true, 4 predicted (rows 0,1,2,4), 3
		// right; incorrect: 2 true, never predicted (precision 0 by
		// zero_division=0, recall 0, F1 0); none: 3 true, 5 predicted, 3
		// right: F1 2*3/(3+5). Weighted: by 4, 2, 3 of 9.
		{"mask", 9, 6.0 / 9, []cls{
			{0, 4, 4, 3.0 / 4, 3.0 / 4, 3.0 / 4},
			{1, 2, 0, 0, 0, 0},
			{2, 3, 5, 3.0 / 5, 1, 6.0 / 8},
		}, avg{(0.75 + 0 + 0.6) / 3, (0.75 + 0 + 1) / 3, (0.75 + 0 + 0.75) / 3},
			avg{(4*0.75 + 3*0.6) / 9, 6.0 / 9, (4*0.75 + 3*0.75) / 9}},
		// gender, rows 0-7 and 9. male: 5 true, 6 predicted (row 7 too),
		// 5 right; female: 4 true, 3 predicted, 3 right.
		{"gender", 9, 8.0 / 9, []cls{
			{0, 5, 6, 5.0 / 6, 1, 10.0 / 11},
			{1, 4, 3, 1, 3.0 / 4, 6.0 / 7},
		}, avg{(5.0/6 + 1) / 2, (1 + 0.75) / 2, (10.0/11 + 6.0/7) / 2},
			avg{(5*5.0/6 + 4) / 9, 8.0 / 9, (5*10.0/11 + 4*6.0/7) / 9}},
		// age group, all 10 rows. <30: 4 true, all right, no other
		// predicted; 30-59: 4 true, 5 predicted (row 2 too), 4 right;
		// >=60: 2 true, 1 predicted, right.
		{"age_group", 10, 9.0 / 10, []cls{
			{0, 4, 4, 1, 1, 1},
			{1, 4, 5, 4.0 / 5, 1, 8.0 / 9},
			{2, 2, 1, 1, 1.0 / 2, 2.0 / 3},
		}, avg{(1 + 0.8 + 1) / 3, (1 + 1 + 0.5) / 3, (1 + 8.0/9 + 2.0/3) / 3},
			avg{(4 + 4*0.8 + 2) / 10, 9.0 / 10, (4 + 4*8.0/9 + 2*2.0/3) / 10}},
		// 18 classes, rows 0-7: true 0,1,5,3,6,10,14,16, predicted
		// 0,1,4,15,0,16,14,13. Eleven classes occur; 0 (2 predicted,
		// 1 right), 1 and 14 score, the others 0, including 4, 13 and 15
		// (predicted, never true: recall 0 by zero_division=0).
		{"18-class", 8, 3.0 / 8, []cls{
			{0, 1, 2, 1.0 / 2, 1, 2.0 / 3},
			{1, 1, 1, 1, 1, 1},
			{3, 1, 0, 0, 0, 0},
			{4, 0, 1, 0, 0, 0},
			{5, 1, 0, 0, 0, 0},
			{6, 1, 0, 0, 0, 0},
			{10, 1, 0, 0, 0, 0},
			{13, 0, 1, 0, 0, 0},
			{14, 1, 1, 1, 1, 1},
			{15, 0, 1, 0, 0, 0},
			{16, 1, 1, 0, 0, 0},
		}, avg{2.5 / 11, 3.0 / 11, (2.0/3 + 2) / 11},
			avg{2.5 / 8, 3.0 / 8, (2.0/3 + 2) / 8}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d heads, want %d: %s", len(got), len(want), stdout)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	for i, w := range want {
		g := got[i]
		if g.Head != w.head || g.N != w.n || !near(g.Acc, w.acc) || !near(g.F1, w.macro.f1) {
			t.Errorf("%s: head %q n %d acc %g f1 %g, want n %d acc %g f1 %g", w.head, g.Head, g.N, g.Acc, g.F1, w.n, w.acc, w.macro.f1)
		}
		if len(g.Classes) != len(w.classes) {
			t.Errorf("%s: %d classes, want %d: %+v", w.head, len(g.Classes), len(w.classes), g.Classes)
			continue
		}
		for k, wc := range w.classes {
			gc := g.Classes[k]
			if gc.Class != wc.class || gc.Support != wc.support || gc.Predicted != wc.predicted ||
				!near(gc.Precision, wc.p) || !near(gc.Recall, wc.r) || !near(gc.F1, wc.f1) || gc.Name != g.Names[wc.class] {
				t.Errorf("%s: class %+v, want %+v", w.head, gc, wc)
			}
		}
		for _, a := range []struct {
			name string
			got  metrics.Average
			want avg
		}{{"macro", g.Macro, w.macro}, {"weighted", g.Weighted, w.weighted}} {
			if !near(a.got.Precision, a.want.p) || !near(a.got.Recall, a.want.r) || !near(a.got.F1, a.want.f1) || a.got.Support != w.n {
				t.Errorf("%s: %s avg %+v, want %+v", w.head, a.name, a.got, a.want)
			}
		}
	}
	if g := got[0]; len(g.Confusion) != 3 || !slices.Equal(g.Confusion[1], []int{1, 0, 1}) || !slices.Equal(g.Names, []string{"wear", "incorrect", "none"}) {
		t.Errorf("mask confusion %v names %v, want row incorrect [1 0 1]", g.Confusion, g.Names)
	}
}

// TestScoreText checks the text report's layout, that of scikit-learn's
// classification_report(digits=4): the mask head of scoreRows.
func TestScoreText(t *testing.T) {
	stdout, stderr, err := runMerge(t, nil, "score", writeScoreTable(t))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	want := `
mask (9 rows)
              precision    recall  f1-score   support

        wear     0.7500    0.7500    0.7500         4
   incorrect     0.0000    0.0000    0.0000         2
        none     0.6000    1.0000    0.7500         3

    accuracy                         0.6667         9
   macro avg     0.4500    0.5833    0.5000         9
weighted avg     0.5333    0.6667    0.5833         9
`
	out := string(stdout)
	if !strings.HasPrefix(out, "head          rows  accuracy  macro F1\nmask             9    0.6667    0.5000\n") || !strings.Contains(out, want) {
		t.Errorf("score report:\n%s\nwant the summary, then:%s", out, want)
	}
	if !strings.Contains(out, "\n18 classes (8 rows)\n") || !strings.Contains(out, "\n         wear/male/<30     0.5000    1.0000    0.6667         1\n") {
		t.Errorf("score report: no 18-class table with class names:\n%s", out)
	}
}

// TestScoreConfusion draws the matrices of a mask-only table and refuses
// a table without a known label.
func TestScoreConfusion(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "c.png")
	if _, stderr, err := runMerge(t, nil, "score", "--confusion", png, writeScoreTable(t)); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	img := testdata.DecodePNG(t, png)
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 1500 {
		t.Errorf("confusion chart %v, want the three heads and the 18 classes", b)
	}
	if _, _, err := runMerge(t, nil, "score", "--confusion", "x.jpg", writeScoreTable(t)); err == nil {
		t.Error("--confusion x.jpg accepted")
	}
}
