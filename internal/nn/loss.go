package nn

import (
	"math"

	"github.com/boostershot/facet/internal/label"
)

// UniformSmoothing returns the k x k target matrix of ordinary label
// smoothing: row c is the target distribution for class c, with
// 1 - eps + eps/k on the diagonal and eps/k elsewhere (PyTorch's
// CrossEntropyLoss(label_smoothing=eps)).
func UniformSmoothing(k int, eps float64) [][]float64 {
	m := make([][]float64, k)
	for c := range m {
		m[c] = make([]float64, k)
		for j := range m[c] {
			m[c][j] = eps / float64(k)
		}
		m[c][c] += 1 - eps
	}
	return m
}

// NeighbourSmoothing returns the k x k target matrix of the age head:
// class c keeps 1 - eps and gives eps/2 to each neighbouring class
// (c-1 and c+1); a class at either end has one neighbour and keeps
// 1 - eps/2. For k = 3 and class 1 the row is (eps/2, 1-eps, eps/2), for
// class 0 it is (1-eps/2, eps/2, 0). Every row sums to 1. For k = 1 the
// matrix is (1).
func NeighbourSmoothing(k int, eps float64) [][]float64 {
	m := make([][]float64, k)
	for c := range m {
		m[c] = make([]float64, k)
		m[c][c] = 1
		if k == 1 {
			continue
		}
		if c > 0 {
			m[c][c-1] = eps / 2
			m[c][c] -= eps / 2
		}
		if c < k-1 {
			m[c][c+1] = eps / 2
			m[c][c] -= eps / 2
		}
	}
	return m
}

// Smoothing18 returns the 18 x 18 target matrix of the single head: the
// product of the mask, gender (uniform, eps) and age (neighbour, ageEps)
// targets, so class m*6+g*3+a spreads its mass as the three heads would.
func Smoothing18(eps, ageEps float64) [][]float64 {
	mm := UniformSmoothing(NumMask, eps)
	gg := UniformSmoothing(NumGender, eps)
	aa := NeighbourSmoothing(NumAge, ageEps)
	out := make([][]float64, label.NumClasses)
	for c := range out {
		out[c] = make([]float64, label.NumClasses)
		m, g, a := label.Split(int8(c))
		for j := range out[c] {
			m2, g2, a2 := label.Split(int8(j))
			out[c][j] = mm[m][m2] * gg[g][g2] * aa[a][a2]
		}
	}
	return out
}

// LR returns the learning rate of an epoch (counted from 0):
// base * decay^epoch.
func LR(base, decay float64, epoch int) float64 {
	return base * math.Pow(decay, float64(epoch))
}

// targets fills t (n x k, row major) with the loss targets of one head:
// row i is smooth[labels[i]] * w[labels[i]] / sum of those weights over
// the labelled rows, and zero for rows whose label is negative (unknown).
// It reports how many rows were labelled. weights may be nil (all 1).
func targets(t []float32, labels []int8, k int, smooth [][]float64, weights []float64) int {
	clear(t)
	var total float64
	labelled := 0
	for _, y := range labels {
		if y < 0 || int(y) >= k {
			continue
		}
		w := 1.0
		if weights != nil {
			w = weights[y]
		}
		total += w
		labelled++
	}
	if total == 0 {
		return labelled
	}
	for i, y := range labels {
		if y < 0 || int(y) >= k {
			continue
		}
		w := 1.0
		if weights != nil {
			w = weights[y]
		}
		row := t[i*k : (i+1)*k]
		for j := range row {
			row[j] = float32(smooth[y][j] * w / total)
		}
	}
	return labelled
}
