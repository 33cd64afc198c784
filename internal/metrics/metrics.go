// Package metrics scores predictions against labels the way the
// competition did: accuracy and macro F1 over the rows whose label is
// known, and the mean cross entropy.
package metrics

import "math"

// Score is the accuracy and macro F1 of one head over the rows whose
// true label is known (>= 0); N counts those rows.
type Score struct {
	N   int     `json:"n"`
	Acc float64 `json:"acc"`
	F1  float64 `json:"f1"`
}

// Of compares predicted with true labels of k classes. Rows whose true
// label is negative (unknown) are left out. Macro F1 is the mean of the
// per-class F1 over the classes that occur in the truth or the
// predictions of the rows kept (as scikit-learn's f1_score with
// average="macro" does); a class with no true positive has F1 0. With no
// row kept every field is 0.
func Of(truth []int8, pred []int, k int) Score {
	tp := make([]int, k)
	fp := make([]int, k)
	fn := make([]int, k)
	var s Score
	correct := 0
	for i, t := range truth {
		if t < 0 || int(t) >= k {
			continue
		}
		s.N++
		p := pred[i]
		if p == int(t) {
			correct++
			tp[p]++
			continue
		}
		fn[t]++
		if p >= 0 && p < k {
			fp[p]++
		}
	}
	if s.N == 0 {
		return s
	}
	s.Acc = float64(correct) / float64(s.N)
	classes, sum := 0, 0.0
	for c := range k {
		if tp[c]+fp[c]+fn[c] == 0 {
			continue
		}
		classes++
		sum += 2 * float64(tp[c]) / float64(2*tp[c]+fp[c]+fn[c])
	}
	s.F1 = sum / float64(classes)
	return s
}

// CrossEntropy is the mean of -log p[i, truth[i]] over the rows whose
// truth is known, with p row major (rows x k); 0 when none is.
func CrossEntropy(truth []int8, p []float32, k int) float64 {
	sum, n := 0.0, 0
	for i, t := range truth {
		if t < 0 || int(t) >= k {
			continue
		}
		sum -= math.Log(math.Max(float64(p[i*k+int(t)]), 1e-12))
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
