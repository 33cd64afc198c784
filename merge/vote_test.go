package main

import (
	"bytes"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
)

type p18 = map[int]float32

// Two models over three eval rows, the second in another row order.
func voteInputs(t *testing.T) (dir, a, b string) {
	dir = t.TempDir()
	a = writePredTable(t, dir, "a", label.DefaultBins, []string{"eval/x.jpg", "eval/y.jpg", "eval/z.jpg"}, model{
		"eval/x.jpg": {p18{0: 0.6, 1: 0.4}, -1},
		"eval/y.jpg": {p18{0: 0.9, 1: 0.1}, -1},
		"eval/z.jpg": {p18{6: 1}, -1},
	})
	b = writePredTable(t, dir, "b", label.DefaultBins, []string{"eval/y.jpg", "eval/z.jpg", "eval/x.jpg"}, model{
		"eval/x.jpg": {p18{0: 0.2, 1: 0.8}, -1},
		"eval/y.jpg": {p18{0: 0.02, 1: 0.48, 2: 0.5}, -1},
		"eval/z.jpg": {p18{6: 0.5, 7: 0.5}, -1},
	})
	return dir, a, b
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// checkRow compares row i's 18 classes with want (absent classes: 0,
// within 1e-6) and its pred.
func checkRow(t *testing.T, out predOut, i int, want map[int]float64, wantPred int) {
	t.Helper()
	_, _, _, c18 := out.probs.Row(i)
	for c, v := range c18 {
		if !near(float64(v), want[c]) {
			t.Errorf("%s class %d: %.7f, want %.7f", out.ids[i], c, v, want[c])
		}
	}
	if out.probs.Pred18[i] != wantPred {
		t.Errorf("%s pred %d, want %d", out.ids[i], out.probs.Pred18[i], wantPred)
	}
}

func TestVoteSoft(t *testing.T) {
	_, a, b := voteInputs(t)
	stdout, stderr, err := runMerge(t, nil, "vote", a, b)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out := readPredOut(t, stdout)
	if !slices.Equal(out.ids, []string{"eval/x.jpg", "eval/y.jpg", "eval/z.jpg"}) {
		t.Fatalf("rows %v, want the first table's order", out.ids)
	}
	// The first table's columns, in its order: fold stays before the predictions.
	if names := out.schema.Fields(); names[11].Name != "fold" || names[12].Name != "prob_mask" {
		t.Errorf("columns %v", out.schema)
	}
	// x: (0.6+0.2)/2, (0.4+0.8)/2. y: (0.9+0.02)/2, (0.1+0.48)/2, 0.5/2. z: (1+0.5)/2, 0.5/2.
	checkRow(t, out, 0, map[int]float64{0: 0.4, 1: 0.6}, 1)
	checkRow(t, out, 1, map[int]float64{0: 0.46, 1: 0.29, 2: 0.25}, 0)
	checkRow(t, out, 2, map[int]float64{6: 0.75, 7: 0.25}, 6)
	// Heads are the marginals: class 1 is wear/male/middle, 6 incorrect/male/young, 7 incorrect/male/middle.
	m, g, age, _ := out.probs.Row(0)
	if !near(float64(m[0]), 1) || !near(float64(g[0]), 1) || !near(float64(age[0]), 0.4) || !near(float64(age[1]), 0.6) {
		t.Errorf("x heads %v %v %v", m, g, age)
	}
	if m, _, age, _ := out.probs.Row(2); !near(float64(m[1]), 1) || !near(float64(age[0]), 0.75) {
		t.Errorf("z heads mask %v age %v", m, age)
	}
	if out.mask[2] != 1 || out.age[0] != 1 || out.age[1] != 0 {
		t.Errorf("head preds mask %v age %v", out.mask, out.age)
	}

	// Weights 4,1 are 0.8, 0.2. x: 0.8*0.6+0.2*0.2, 0.8*0.4+0.2*0.8.
	stdout, stderr, err = runMerge(t, nil, "vote", "--soft", "--weights", "4,1", a, b)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out = readPredOut(t, stdout)
	checkRow(t, out, 0, map[int]float64{0: 0.52, 1: 0.48}, 0)
	checkRow(t, out, 1, map[int]float64{0: 0.724, 1: 0.176, 2: 0.1}, 0)
}

func TestVoteGeo(t *testing.T) {
	_, a, b := voteInputs(t)
	stdout, stderr, err := runMerge(t, nil, "vote", "--geo", a, b)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out := readPredOut(t, stdout)
	const floor = 1e-12 // a zero counts as 1e-12
	// x: sqrt(0.6*0.2), sqrt(0.4*0.8), and 16 classes at sqrt(floor*floor).
	zx := math.Sqrt(0.12) + math.Sqrt(0.32) + 16*floor
	want := map[int]float64{0: math.Sqrt(0.12) / zx, 1: math.Sqrt(0.32) / zx}
	checkRow(t, out, 0, want, 1)
	// y: the soft vote says 0 (0.46), the geometric mean 1, the class both models find likely.
	zy := math.Sqrt(0.9*0.02) + math.Sqrt(0.1*0.48) + math.Sqrt(floor*0.5) + 15*floor
	checkRow(t, out, 1, map[int]float64{0: math.Sqrt(0.018) / zy, 1: math.Sqrt(0.048) / zy, 2: math.Sqrt(0.5*floor) / zy}, 1)
	// Weighted 4,1: y's class 0 is 0.9^0.8 * 0.02^0.2.
	stdout, _, err = runMerge(t, nil, "vote", "--geo", "--weights", "4,1", a, b)
	if err != nil {
		t.Fatal(err)
	}
	out = readPredOut(t, stdout)
	c0, c1, c2 := math.Pow(0.9, 0.8)*math.Pow(0.02, 0.2), math.Pow(0.1, 0.8)*math.Pow(0.48, 0.2), math.Pow(floor, 0.8)*math.Pow(0.5, 0.2)
	zw := c0 + c1 + c2 + 15*floor
	checkRow(t, out, 1, map[int]float64{0: c0 / zw, 1: c1 / zw, 2: c2 / zw}, 0)
}

func TestVoteHard(t *testing.T) {
	dir := t.TempDir()
	ids := []string{"tie-a", "tie-b", "pred-not-argmax"}
	a := writePredTable(t, dir, "a", label.DefaultBins, ids, model{
		"tie-a":           {p18{0: 0.6, 1: 0.4}, 0},
		"tie-b":           {p18{0: 0.9, 1: 0.1}, 0},
		"pred-not-argmax": {p18{0: 0.7, 5: 0.3}, 5},
	})
	b := writePredTable(t, dir, "b", label.DefaultBins, ids, model{
		"tie-a":           {p18{0: 0.3, 1: 0.7}, 1},
		"tie-b":           {p18{0: 0.45, 1: 0.55}, 1},
		"pred-not-argmax": {p18{0: 0.8, 5: 0.2}, 5},
	})
	stdout, stderr, err := runMerge(t, nil, "vote", "--hard", a, b)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	out := readPredOut(t, stdout)
	// tie-a: one vote each; summed probability 0.9 for 0, 1.1 for 1: class 1.
	// prob18 is the soft mean.
	checkRow(t, out, 0, map[int]float64{0: 0.45, 1: 0.55}, 1)
	// tie-b: sums 1.35 and 0.65: class 0.
	checkRow(t, out, 1, map[int]float64{0: 0.675, 1: 0.325}, 0)
	// Both vote 5 (wear/female/old) though the mean favours 0; the head
	// preds are the winner's parts, not the marginals' argmax (male).
	checkRow(t, out, 2, map[int]float64{0: 0.75, 5: 0.25}, 5)
	if out.mask[2] != 0 || out.gender[2] != 1 || out.age[2] != 2 {
		t.Errorf("head preds of class 5: %d %d %d, want 0 1 2", out.mask[2], out.gender[2], out.age[2])
	}
	// Weights 1,3: the second model outvotes the first.
	stdout, _, err = runMerge(t, nil, "vote", "--hard", "--weights", "1,3", a, b)
	if err != nil {
		t.Fatal(err)
	}
	if out := readPredOut(t, stdout); out.probs.Pred18[0] != 1 || out.probs.Pred18[1] != 1 {
		t.Errorf("weighted hard vote %v, want 1 1 ...", out.probs.Pred18)
	}
	// Weights 0.1,0.2,0.3: 1/6+2/6 ties with 3/6 (in floating point it
	// comes out a hair larger), so the summed probability decides: class 1.
	c := writePredTable(t, dir, "c", label.DefaultBins, ids, model{
		"tie-a":           {p18{1: 1}, 1},
		"tie-b":           {p18{1: 1}, 1},
		"pred-not-argmax": {p18{1: 1}, 1},
	})
	a2 := writePredTable(t, dir, "a2", label.DefaultBins, ids, model{
		"tie-a": {p18{0: 0.6, 1: 0.4}, 0}, "tie-b": {p18{0: 0.6, 1: 0.4}, 0}, "pred-not-argmax": {p18{0: 0.6, 1: 0.4}, 0},
	})
	b2 := filepath.Join(dir, "b2.arrow")
	data, _ := os.ReadFile(a2)
	if err := os.WriteFile(b2, data, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = runMerge(t, nil, "vote", "--hard", "--weights", "0.1,0.2,0.3", a2, b2, c)
	if err != nil {
		t.Fatal(err)
	}
	// soft mean of class 1: (0.1*0.4 + 0.2*0.4 + 0.3*1) / 0.6 = 0.7.
	checkRow(t, readPredOut(t, stdout), 0, map[int]float64{0: 0.3, 1: 0.7}, 1)
}

func TestVoteIDs(t *testing.T) {
	dir, a, _ := voteInputs(t)
	m := model{"eval/x.jpg": {p18{0: 1}, -1}, "eval/y.jpg": {p18{0: 1}, -1}, "eval/z.jpg": {p18{0: 1}, -1}, "eval/w.jpg": {p18{0: 1}, -1}}
	for _, tc := range []struct {
		name string
		ids  []string
		want string
	}{
		{"missing", []string{"eval/x.jpg", "eval/z.jpg"}, `id "eval/y.jpg" of ` + a + " is missing from "},
		{"extra", []string{"eval/x.jpg", "eval/y.jpg", "eval/w.jpg", "eval/z.jpg"}, `id "eval/w.jpg" of `},
		{"doubled", []string{"eval/x.jpg", "eval/y.jpg", "eval/z.jpg", "eval/y.jpg"}, `id "eval/y.jpg" appears twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := writePredTable(t, dir, tc.name, label.DefaultBins, tc.ids, m)
			_, _, err := runMerge(t, nil, "vote", a, other)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), other) {
				t.Errorf("error %v, want %q naming %s", err, tc.want, other)
			}
		})
	}
	other := writePredTable(t, dir, "bins", label.Bins{30, 58}, []string{"eval/x.jpg", "eval/y.jpg", "eval/z.jpg"}, m)
	if _, _, err := runMerge(t, nil, "vote", a, other); err == nil || !strings.Contains(err.Error(), "age bins") {
		t.Errorf("different age bins: %v", err)
	}
}

func TestVoteSubmission(t *testing.T) {
	dir, a, b := voteInputs(t)
	info := filepath.Join(dir, "info.csv")
	if err := os.WriteFile(info, []byte("ImageID,ans\nz.jpg,0\nx.jpg,0\ny.jpg,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub.csv")
	if _, stderr, err := runMerge(t, nil, "vote", "--submission", sub, "--info", info, "-o", filepath.Join(dir, "v.arrow"), a, b); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	got, err := os.ReadFile(sub)
	if err != nil {
		t.Fatal(err)
	}
	// Soft vote: z 6, x 1, y 0, in info.csv's order.
	if want := "ImageID,ans\nz.jpg,6\nx.jpg,1\ny.jpg,0\n"; string(got) != want {
		t.Errorf("submission:\n%s\nwant:\n%s", got, want)
	}
	if err := os.WriteFile(info, []byte("ImageID,ans\nz.jpg,0\nnot-predicted.jpg,0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runMerge(t, nil, "vote", "--submission", sub, "--info", info, "-o", filepath.Join(dir, "v.arrow"), a, b); err == nil || !strings.Contains(err.Error(), "not-predicted.jpg") {
		t.Errorf("info row without a prediction: %v", err)
	}
}

func TestVoteUsage(t *testing.T) {
	_, a, b := voteInputs(t)
	for _, args := range [][]string{
		{"vote", a},
		{"vote", "--soft", "--hard", a, b},
		{"vote", "--weights", "1", a, b},
		{"vote", "--weights", "1,-1", a, b},
		{"vote", "--weights", "0,0", a, b},
		{"vote", "--submission", "s.csv", a, b},
		{"vote", "-", "-"},
		{"vote", "--bogus", a, b},
	} {
		_, _, err := runMerge(t, nil, args...)
		if _, ok := err.(cli.UsageError); !ok {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// --pseudo keeps the rows whose combined confidence reaches the threshold,
// labelled with the combined prediction.
func TestVotePseudo(t *testing.T) {
	dir, a, b := voteInputs(t)
	// combined confidences (TestVoteSoft): x 0.6 (class 1), y 0.46 (class 0), z 0.75 (class 6)
	for _, c := range []struct {
		threshold string
		want      map[string]int8
	}{
		{"0.7", map[string]int8{"eval/z.jpg": 6}},
		{"0.45", map[string]int8{"eval/x.jpg": 1, "eval/y.jpg": 0, "eval/z.jpg": 6}},
	} {
		path := filepath.Join(dir, "pseudo"+c.threshold+".arrow")
		if _, stderr, err := runMerge(t, nil, "vote", "--pseudo", c.threshold, "--pseudo-out", path, a, b); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		r, err := table.NewReader(bytes.NewReader(readFile(t, path)), "id", "source", "pseudo_confidence")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int8{}
		for r.Next() {
			for _, s := range table.Samples(r.RecordBatch()) {
				if s.Source != pred.SourcePseudo || label.Join(s.Mask, s.Gender, s.AgeGroup) != s.Label {
					t.Errorf("%s: source %s, label %d from parts %d,%d,%d", s.ID, s.Source, s.Label, s.Mask, s.Gender, s.AgeGroup)
				}
				got[s.ID] = s.Label
			}
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Release()
		if !maps.Equal(got, c.want) {
			t.Errorf("--pseudo %s: %v, want %v", c.threshold, got, c.want)
		}
	}
	if _, _, err := runMerge(t, nil, "vote", "--pseudo", "0.9", a, b); err == nil {
		t.Error("--pseudo without --pseudo-out accepted")
	}
}

// Pseudo labels say so in their origin, so that no stage ever validates
// on them.
func TestPseudoLabelsOrigin(t *testing.T) {
	dir, a, b := voteInputs(t)
	path := filepath.Join(dir, "pseudo.arrow")
	if _, stderr, err := runMerge(t, nil, "vote", "--pseudo", "0.45", "--pseudo-out", path, a, b); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ins, err := readInputs([]string{path}, nil, table.ColOrigin)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(ins)
	n := 0
	for _, rec := range ins[0].recs {
		for _, o := range table.Origins(rec) {
			if o != table.PseudoLabel {
				t.Errorf("pseudo label of origin %s", o)
			}
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d pseudo labels, want 3", n)
	}
}
