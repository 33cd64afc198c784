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
