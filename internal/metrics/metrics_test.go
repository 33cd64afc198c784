package metrics

import (
	"math"
	"testing"
)

func TestScore(t *testing.T) {
	cases := []struct {
		name    string
		truth   []int8
		pred    []int
		k, n    int
		acc, f1 float64
	}{
		{"perfect", []int8{0, 1, 2, 1}, []int{0, 1, 2, 1}, 3, 4, 1, 1},
		{"none known", []int8{-1, -1}, []int{0, 1}, 2, 0, 0, 0},
		// class 0: tp 1, fp 1, fn 0 -> 2/3; class 1: tp 1, fp 0, fn 1 -> 2/3.
		{"binary", []int8{0, 1, 1}, []int{0, 0, 1}, 2, 3, 2.0 / 3, 2.0 / 3},
		// unknown rows are left out whatever their prediction.
		{"unknown excluded", []int8{0, -1, 1, 1, -1}, []int{0, 1, 0, 1, 0}, 2, 3, 2.0 / 3, 2.0 / 3},
		// class 2 never occurs in truth or prediction: not averaged.
		{"absent class", []int8{0, 0, 1, 1}, []int{0, 0, 1, 1}, 3, 4, 1, 1},
		// class 2 predicted but never true: F1 0 and averaged in.
		// class 0: tp 1 fn 1 -> 2/3; class 1: tp 1 -> 1; class 2: fp 1 -> 0.
		{"false class", []int8{0, 0, 1}, []int{0, 2, 1}, 3, 3, 2.0 / 3, (2.0/3 + 1 + 0) / 3},
		// all wrong.
		{"all wrong", []int8{0, 1}, []int{1, 0}, 2, 2, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Of(c.truth, c.pred, c.k)
			if s.N != c.n || math.Abs(s.Acc-c.acc) > 1e-12 || math.Abs(s.F1-c.f1) > 1e-12 {
				t.Errorf("score = %+v, want n %d acc %g f1 %g", s, c.n, c.acc, c.f1)
			}
		})
	}
}

func TestCrossEntropy(t *testing.T) {
	p := []float32{0.5, 0.5, 0.25, 0.75, 0.9, 0.1}
	got := CrossEntropy([]int8{0, 1, -1}, p, 2)
	want := -(math.Log(0.5) + math.Log(0.75)) / 2
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("crossEntropy = %g, want %g", got, want)
	}
	if got := CrossEntropy([]int8{-1}, p[:2], 2); got != 0 {
		t.Errorf("crossEntropy with no known row = %g, want 0", got)
	}
}

// TestClassify works a three-class report by hand: class 1 is never
// predicted (precision 0 by zero_division=0), class 2 is predicted but
// never true (recall 0), a row of unknown truth is left out and a
// prediction of no class (-1) is wrong for its true class.
func TestClassify(t *testing.T) {
	truth := []int8{0, 0, 0, 1, 1, -1, 0}
	pred := []int{0, 0, 2, 0, 2, 1, -1}
	r := Classify(truth, pred, 3)
	// class 0: 4 true, 3 predicted, 2 right: P 2/3, R 1/2, F1 4/7.
	// class 1: 2 true, 0 predicted: 0, 0, 0.
	// class 2: 0 true, 2 predicted: 0, 0, 0.
	want := []Class{
		{Class: 0, Precision: 2.0 / 3, Recall: 0.5, F1: 4.0 / 7, Support: 4, Predicted: 3},
		{Class: 1, Support: 2},
		{Class: 2, Predicted: 2},
	}
	if r.N != 6 || math.Abs(r.Acc-2.0/6) > 1e-12 || len(r.Classes) != len(want) {
		t.Fatalf("report %+v, want 6 rows, accuracy 1/3, 3 classes", r)
	}
	for i, w := range want {
		g := r.Classes[i]
		if g.Class != w.Class || g.Support != w.Support || g.Predicted != w.Predicted ||
			math.Abs(g.Precision-w.Precision) > 1e-12 || math.Abs(g.Recall-w.Recall) > 1e-12 || math.Abs(g.F1-w.F1) > 1e-12 {
			t.Errorf("class %d: %+v, want %+v", i, g, w)
		}
	}
	if m := r.Macro; math.Abs(m.Precision-2.0/9) > 1e-12 || math.Abs(m.Recall-1.0/6) > 1e-12 || math.Abs(m.F1-4.0/21) > 1e-12 || r.F1 != m.F1 {
		t.Errorf("macro %+v (f1 %g), want 2/9, 1/6, 4/21", m, r.F1)
	}
	if w := r.Weighted; math.Abs(w.Precision-4*2.0/3/6) > 1e-12 || math.Abs(w.Recall-2.0/6) > 1e-12 || math.Abs(w.F1-4*4.0/7/6) > 1e-12 {
		t.Errorf("weighted %+v, want 4/9, 1/3, 8/21", w)
	}
	if r.Confusion[0][0] != 2 || r.Confusion[0][2] != 1 || r.Confusion[1][0] != 1 || r.Confusion[1][2] != 1 || r.Confusion[2][1] != 0 {
		t.Errorf("confusion %v", r.Confusion)
	}
}
