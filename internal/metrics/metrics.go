// Package metrics scores predictions against labels the way the
// competition did (accuracy and macro F1 over the rows whose label is
// known, and the mean cross entropy) and reports them per class as
// scikit-learn's classification_report does: precision, recall, F1 and
// support of each class, their macro and support-weighted averages, and
// the confusion matrix.
package metrics

import "math"

// Score is the accuracy and macro F1 of one head over the rows whose
// true label is known (>= 0); N counts those rows.
type Score struct {
	N   int     `json:"n"`
	Acc float64 `json:"acc"`
	F1  float64 `json:"f1"`
}

// Class is one class's line of a report. Support is the number of rows
// of the class in the truth, Predicted the number predicted as it.
type Class struct {
	Class     int     `json:"class"`
	Name      string  `json:"name,omitempty"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
	Predicted int     `json:"predicted"`
}

// Average is the mean precision, recall and F1 over a report's classes,
// unweighted (macro) or weighted by support; Support is the rows.
type Average struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Report is a classification report of one head. Score's F1 is
// Macro.F1. Classes lists the classes that occur in the truth or the
// predictions of the rows kept, in order (scikit-learn's unique_labels);
// Confusion is k x k, Confusion[truth][prediction] counting the rows
// kept, every class included.
type Report struct {
	Score
	Classes   []Class `json:"classes"`
	Macro     Average `json:"macro_avg"`
	Weighted  Average `json:"weighted_avg"`
	Confusion [][]int `json:"confusion"`
}

// Classify compares predicted with true labels of k classes. Rows whose
// true label is negative or not below k (unknown) are left out. A ratio
// with a zero denominator is 0, as scikit-learn's zero_division=0 gives:
// the precision of a class never predicted, and the F1 of a class with
// precision and recall 0. With no row kept, Classes is empty and every
// average 0.
func Classify(truth []int8, pred []int, k int) Report {
	r := Report{Classes: []Class{}, Confusion: make([][]int, k)}
	for c := range r.Confusion {
		r.Confusion[c] = make([]int, k)
	}
	tp := make([]int, k)
	support := make([]int, k)
	predicted := make([]int, k)
	for i, t := range truth {
		if t < 0 || int(t) >= k {
			continue
		}
		r.N++
		support[t]++
		p := pred[i]
		if p < 0 || p >= k {
			continue // a prediction of no class is wrong for every class
		}
		r.Confusion[t][p]++
		predicted[p]++
		if p == int(t) {
			tp[p]++
		}
	}
	if r.N == 0 {
		return r
	}
	correct := 0
	for c := range k {
		correct += tp[c]
		if support[c] == 0 && predicted[c] == 0 {
			continue
		}
		cl := Class{Class: c, Support: support[c], Predicted: predicted[c],
			Precision: ratio(tp[c], predicted[c]), Recall: ratio(tp[c], support[c]),
			F1: ratio(2*tp[c], support[c]+predicted[c])}
		r.Classes = append(r.Classes, cl)
		r.Macro.Precision += cl.Precision
		r.Macro.Recall += cl.Recall
		r.Macro.F1 += cl.F1
		w := float64(cl.Support)
		r.Weighted.Precision += w * cl.Precision
		r.Weighted.Recall += w * cl.Recall
		r.Weighted.F1 += w * cl.F1
	}
	n, rows := float64(len(r.Classes)), float64(r.N)
	r.Macro = Average{r.Macro.Precision / n, r.Macro.Recall / n, r.Macro.F1 / n, r.N}
	r.Weighted = Average{r.Weighted.Precision / rows, r.Weighted.Recall / rows, r.Weighted.F1 / rows, r.N}
	r.Acc = float64(correct) / rows
	r.F1 = r.Macro.F1
	return r
}

// ratio is a/b, 0 when b is 0.
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Of is the accuracy and macro F1 of Classify: macro F1 is the mean of
// the per-class F1 over the classes that occur in the truth or the
// predictions of the rows kept (as scikit-learn's f1_score with
// average="macro" does). With no row kept every field is 0.
func Of(truth []int8, pred []int, k int) Score {
	return Classify(truth, pred, k).Score
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
