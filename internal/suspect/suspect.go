// Package suspect finds likely label errors in out-of-fold predictions
// by confident learning (Northcutt et al., 2021), one head at a time
// (facet-merge suspects). t_j, the threshold of class j, is the mean
// probability of j over the rows labelled j (the model's typical
// self-confidence for j); a row labelled i counts as class j when j is
// the most probable of the classes whose probability reaches their
// threshold (the "confident joint"). With Threshold, the rows labelled i
// that count as some j != i are the suspects; with NoiseRate
// (cleanlab's default, "prune by noise rate"), the confident joint
// estimates how many rows of each label are another class, and that many
// rows with the largest margin are.
//
// Written here rather than taken from cleanlab: it is Python, and the
// part facet needs (per-head thresholds, the two pruning rules, and
// judging a person's photos as one) is a page of code.
package suspect

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
)

// The ways of picking suspects.
const (
	Threshold = "threshold"
	NoiseRate = "noise-rate"
)

// The orders of Rank.
const (
	RankMargin = "margin" // p(predicted) - p(given), largest first
	RankSelf   = "self"   // p(given), lowest first
)

// Heads are the heads confident learning judges.
var Heads = []label.Head{label.HeadMask, label.HeadGender, label.HeadAgeGroup}

// headProbs reads each head's probabilities and class count.
var headProbs = map[label.Head]func(*pred.Probs) ([]float32, int){
	label.HeadMask:     func(p *pred.Probs) ([]float32, int) { return p.Mask, pred.NumMask },
	label.HeadGender:   func(p *pred.Probs) ([]float32, int) { return p.Gender, pred.NumGender },
	label.HeadAgeGroup: func(p *pred.Probs) ([]float32, int) { return p.Age, pred.NumAge },
}

// HeadProbs is head h's probabilities in p (row major, N x k) and k;
// nil for a head it does not judge.
func HeadProbs(p *pred.Probs, h label.Head) ([]float32, int) {
	if f := headProbs[h]; f != nil {
		return f(p)
	}
	return nil, 0
}

// Input is what confident learning reads of an out-of-fold table, row by
// row.
type Input struct {
	IDs     []string
	Persons []string // nil when the table has none: every row judged alone
	Skip    []bool   // rows never judged (facet-augment's: table.Origin Derived)
	Labels  map[label.Head][]int8
	Probs   *pred.Probs
}

// Unit is what a suspect names: one row, or the rows of one person
// with one given label, with their probabilities averaged.
type Unit struct {
	By, Key string // "id" or "person", and its value
	Rows    []int
	Given   int
	Probs   []float64
	Votes   int // of a person: the rows judged to be the class it is suspected of
}

// Suspect is a unit whose label head Head is likely wrong: the model
// takes it for Predicted with probability Conf (the class threshold
// Threshold), its given class with Self.
type Suspect struct {
	Head                  label.Head
	Unit                  *Unit
	Predicted             int
	Conf, Self, Threshold float64
}

// Margin is p(predicted) - p(given).
func (s Suspect) Margin() float64 { return s.Conf - s.Self }

// Result is one head's thresholds and suspects.
type Result struct {
	Rows, Persons int       // rows judged, persons of several rows among them
	Thresholds    []float64 // NaN for a class no row is labelled with
	Suspects      []Suspect
}

// Find runs confident learning (method Threshold or NoiseRate) on the
// rows that know head h and are not skipped. With byPerson, the rows of a
// person whose labels agree give one verdict: the class that more than
// half of them are judged to be, if not their label.
func Find(in *Input, h label.Head, byPerson bool, method string) Result {
	probs, k := HeadProbs(in.Probs, h)
	labels := in.Labels[h]
	var rows []*Unit
	for i, v := range labels {
		if v < 0 || in.Skip != nil && in.Skip[i] {
			continue
		}
		u := &Unit{By: "id", Key: in.IDs[i], Rows: []int{i}, Given: int(v), Probs: make([]float64, k)}
		for c := range k {
			u.Probs[c] = float64(probs[i*k+c])
		}
		rows = append(rows, u)
	}
	res := Result{Rows: len(rows), Thresholds: make([]float64, k)}
	count := make([]int, k)
	for _, u := range rows {
		res.Thresholds[u.Given] += u.Probs[u.Given]
		count[u.Given]++
	}
	for c := range k {
		if count[c] == 0 {
			res.Thresholds[c] = math.NaN() // no class j: nothing is counted as j
		} else {
			res.Thresholds[c] /= float64(count[c])
		}
	}
	// The confident joint: a row labelled i counts as j, the most
	// probable of the classes whose probability reaches their threshold.
	verdict := make([]int, len(rows)) // -1: below every threshold
	joint := make([][]int, k)
	for i := range joint {
		joint[i] = make([]int, k)
	}
	for n, u := range rows {
		verdict[n] = -1
		for c, p := range u.Probs {
			if p >= res.Thresholds[c] && (verdict[n] < 0 || p > u.Probs[verdict[n]]) { // NaN thresholds never pass
				verdict[n] = c
			}
		}
		if verdict[n] >= 0 {
			joint[u.Given][verdict[n]]++
		}
	}
	if method == NoiseRate {
		verdict = pruneByNoiseRate(rows, joint, count)
	}
	units, votes := rows, verdict
	if byPerson && in.Persons != nil {
		units, votes = byPersons(in, rows, verdict, k)
		for _, u := range units {
			if u.By == "person" {
				res.Persons++
			}
		}
	}
	for n, u := range units {
		if j := votes[n]; j >= 0 && j != u.Given {
			res.Suspects = append(res.Suspects, Suspect{Head: h, Unit: u, Predicted: j,
				Conf: u.Probs[j], Self: u.Probs[u.Given], Threshold: res.Thresholds[j]})
		}
	}
	return res
}

// byPersons groups the judged rows of each person whose rows share a
// label into one unit, with the class more than half its rows were judged
// to be (-1 when none is); a person with one row, or rows that disagree,
// stays row by row.
func byPersons(in *Input, rows []*Unit, verdict []int, k int) ([]*Unit, []int) {
	members := map[string][]int{} // person -> indexes into rows
	var order []string
	for n, u := range rows {
		p := in.Persons[u.Rows[0]]
		if _, ok := members[p]; !ok {
			order = append(order, p)
		}
		members[p] = append(members[p], n)
	}
	var units []*Unit
	var votes []int
	for _, p := range order {
		ms := members[p]
		agree := p != ""
		for _, n := range ms {
			agree = agree && rows[n].Given == rows[ms[0]].Given
		}
		if len(ms) < 2 || !agree {
			for _, n := range ms {
				units, votes = append(units, rows[n]), append(votes, verdict[n])
			}
			continue
		}
		u := &Unit{By: "person", Key: p, Given: rows[ms[0]].Given, Probs: make([]float64, k)}
		tally := make([]int, k)
		for _, n := range ms {
			u.Rows = append(u.Rows, rows[n].Rows[0])
			for c, v := range rows[n].Probs {
				u.Probs[c] += v / float64(len(ms))
			}
			if verdict[n] >= 0 {
				tally[verdict[n]]++
			}
		}
		vote := -1
		for c, t := range tally {
			if 2*t > len(ms) {
				vote, u.Votes = c, t
			}
		}
		units, votes = append(units, u), append(votes, vote)
	}
	return units, votes
}

// pruneByNoiseRate is Northcutt et al.'s "prune by noise rate": the
// confident joint, calibrated so that each given class i keeps its count
// (count[i] units), estimates how many units labelled i are really j;
// that many units labelled i, those with the largest margin p(j) - p(i),
// are suspects of being j. A unit picked for several classes goes to the
// most probable; one whose most probable class is its label is kept, as
// cleanlab does. It returns the class each unit is suspected to be, -1
// for none.
func pruneByNoiseRate(units []*Unit, joint [][]int, count []int) []int {
	out := make([]int, len(units))
	for n := range out {
		out[n] = -1
	}
	byGiven := make([][]int, len(count))
	for n, u := range units {
		byGiven[u.Given] = append(byGiven[u.Given], n)
	}
	for i, row := range joint {
		sum := 0
		for _, v := range row {
			sum += v
		}
		if sum == 0 {
			continue
		}
		for j, v := range row {
			prune := int(math.Round(float64(v) / float64(sum) * float64(count[i])))
			if j == i || prune == 0 {
				continue
			}
			cands := slices.Clone(byGiven[i])
			margin := func(n int) float64 { return units[n].Probs[j] - units[n].Probs[i] }
			slices.SortStableFunc(cands, func(a, b int) int { return cmp.Compare(margin(b), margin(a)) })
			for _, n := range cands[:min(prune, len(cands))] {
				if out[n] < 0 || units[n].Probs[j] > units[n].Probs[out[n]] {
					out[n] = j
				}
			}
		}
	}
	for n, u := range units {
		if out[n] >= 0 && slices.Index(u.Probs, slices.Max(u.Probs)) == u.Given { // the first most probable class
			out[n] = -1
		}
	}
	return out
}

// Rank orders suspects best first: largest margin, or lowest
// self-confidence; ties by head and key, so the order is deterministic.
func Rank(s []Suspect, rank string) {
	slices.SortStableFunc(s, func(a, b Suspect) int {
		c := cmp.Compare(b.Margin(), a.Margin())
		if rank == RankSelf {
			c = cmp.Compare(a.Self, b.Self)
		}
		return cmp.Or(c, strings.Compare(string(a.Head), string(b.Head)), strings.Compare(a.Unit.Key, b.Unit.Key))
	})
}

// ShownRow is the row of the suspect's unit whose probability of the
// predicted class is largest (the photo to show for a person).
func (s Suspect) ShownRow(p *pred.Probs) int {
	probs, k := HeadProbs(p, s.Head)
	best := s.Unit.Rows[0]
	for _, r := range s.Unit.Rows {
		if probs[r*k+s.Predicted] > probs[best*k+s.Predicted] {
			best = r
		}
	}
	return best
}
