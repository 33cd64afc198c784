// Package fold splits rows into folds so that no group (person) has rows
// in two folds and every fold holds each class in about the same share as
// the whole table.
//
// The algorithm has two steps. A greedy pass places groups, largest
// first (random order among equals, from the seed), each into the fold
// where it most reduces the squared distance between the folds' class
// counts and their targets, as scikit-learn's StratifiedGroupKFold does.
// A local search then moves single groups and swaps pairs of groups
// between folds while that lowers the worst deviation of any class's share
// in any fold from its share in the whole table (ties: the sum of squared
// deviations), keeping fold sizes near their targets. The second step is
// why it is written here rather than taken from a library: no Go library
// does grouped stratification, and the worst-case share is what a
// validation score on rare classes depends on.
//
// The package also holds the fold set, facet-split's hand-over to
// facet-train (set.go): the fold files' names, the manifest, reading it,
// and writing the whole set at once.
package fold

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Problem is a split to make: for every row its group and its stratum
// (class). Strata are small integers 0..NumStrata-1.
type Problem struct {
	Groups    []int // group index per row, 0..NumGroups-1
	Strata    []int // stratum per row
	NumGroups int
	NumStrata int
	// Targets are the fold sizes as fractions summing to 1: K equal
	// fractions for K folds, {1-v, v} for a train/validation split.
	Targets []float64
	Seed    uint64
	// SearchSteps bounds the local search (0: a default that finishes in
	// well under a second for competition-sized tables; negative: none).
	SearchSteps int
}

// Split is the result: the fold of every group.
type Split struct {
	GroupFold []int
	counts    [][]int // [fold][stratum]
}

// Assign splits p.
func Assign(p Problem) (*Split, error) {
	k := len(p.Targets)
	if k < 2 {
		return nil, errors.New("fold: need at least two folds")
	}
	if len(p.Groups) != len(p.Strata) {
		return nil, errors.New("fold: groups and strata differ in length")
	}
	if p.NumGroups < k {
		return nil, fmt.Errorf("fold: %d groups cannot fill %d folds", p.NumGroups, k)
	}
	sum := 0.0
	for _, t := range p.Targets {
		if t <= 0 {
			return nil, errors.New("fold: every target fraction must be positive")
		}
		sum += t
	}
	if math.Abs(sum-1) > 1e-6 {
		return nil, fmt.Errorf("fold: target fractions sum to %g, not 1", sum)
	}
	s := newState(p)
	s.greedy(p)
	steps := p.SearchSteps
	if steps == 0 {
		steps = 4000
	}
	s.search(steps)
	return &Split{GroupFold: s.fold, counts: s.counts}, nil
}

// state is the split being built.
type state struct {
	k, c      int
	groups    [][]int // group -> count per stratum
	sizes     []int   // group -> rows
	members   [][]int // fold -> groups (unordered)
	fold      []int   // group -> fold
	counts    [][]int // fold -> stratum -> rows
	foldRows  []int
	total     []int // stratum -> rows
	n         int
	targets   []float64
	share     []float64 // stratum -> share in the whole table
	rng       *rand.Rand
	slack     []float64 // fold -> allowed size deviation in rows
	largest   int
	positions []int // group -> index in members[fold]
}

func newState(p Problem) *state {
	k := len(p.Targets)
	s := &state{k: k, c: p.NumStrata, targets: p.Targets, rng: rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15))}
	s.groups = make([][]int, p.NumGroups)
	for g := range s.groups {
		s.groups[g] = make([]int, s.c)
	}
	s.sizes = make([]int, p.NumGroups)
	s.total = make([]int, s.c)
	for i, g := range p.Groups {
		s.groups[g][p.Strata[i]]++
		s.sizes[g]++
		s.total[p.Strata[i]]++
	}
	s.n = len(p.Groups)
	s.share = make([]float64, s.c)
	for c, t := range s.total {
		s.share[c] = float64(t) / float64(max(1, s.n))
	}
	s.fold = make([]int, p.NumGroups)
	s.positions = make([]int, p.NumGroups)
	s.members = make([][]int, k)
	s.counts = make([][]int, k)
	for f := range s.counts {
		s.counts[f] = make([]int, s.c)
	}
	s.foldRows = make([]int, k)
	for _, sz := range s.sizes {
		s.largest = max(s.largest, sz)
	}
	s.slack = make([]float64, k)
	for f, t := range p.Targets {
		s.slack[f] = math.Max(0.003*t*float64(s.n), float64(s.largest))
	}
	return s
}

func (s *state) place(g, f int) {
	s.fold[g] = f
	s.positions[g] = len(s.members[f])
	s.members[f] = append(s.members[f], g)
	for c, v := range s.groups[g] {
		s.counts[f][c] += v
	}
	s.foldRows[f] += s.sizes[g]
}

func (s *state) remove(g int) {
	f := s.fold[g]
	i := s.positions[g]
	last := s.members[f][len(s.members[f])-1]
	s.members[f][i] = last
	s.positions[last] = i
	s.members[f] = s.members[f][:len(s.members[f])-1]
	for c, v := range s.groups[g] {
		s.counts[f][c] -= v
	}
	s.foldRows[f] -= s.sizes[g]
}

// greedy places groups largest first into the fold that most lowers the
// squared distance of class counts from targets (class counts weighted by
// the inverse of the class size, so rare classes count as much as common
// ones), with a penalty for overfilled folds.
func (s *state) greedy(p Problem) {
	order := make([]int, p.NumGroups)
	for i := range order {
		order[i] = i
	}
	s.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	// Largest first; among equal sizes, groups of rare classes first.
	rarity := make([]float64, p.NumGroups)
	for g, counts := range s.groups {
		for c, v := range counts {
			if v > 0 {
				rarity[g] += float64(v) / float64(s.total[c])
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if s.sizes[a] != s.sizes[b] {
			return s.sizes[a] > s.sizes[b]
		}
		return rarity[a] > rarity[b]
	})
	for _, g := range order {
		best, bestCost := 0, math.Inf(1)
		for f := range s.k {
			cost := 0.0
			for c, v := range s.groups[g] {
				if v == 0 {
					continue
				}
				target := s.targets[f] * float64(s.total[c])
				before := float64(s.counts[f][c]) - target
				after := before + float64(v)
				cost += (after*after - before*before) / float64(s.total[c])
			}
			// Fill folds in proportion to their targets.
			fill := float64(s.foldRows[f]+s.sizes[g]) / (s.targets[f] * float64(s.n))
			cost += fill * 1e-9
			over := float64(s.foldRows[f]+s.sizes[g]) - s.targets[f]*float64(s.n)
			if over > s.slack[f] {
				cost += 1e6 * over
			}
			if cost < bestCost {
				best, bestCost = f, cost
			}
		}
		s.place(g, best)
	}
}

// score is the worst share deviation over folds and strata, and the sum of
// squared deviations.
func (s *state) score() (worst, sumsq float64) {
	for f := range s.k {
		rows := float64(max(1, s.foldRows[f]))
		for c := range s.c {
			d := math.Abs(float64(s.counts[f][c])/rows - s.share[c])
			worst = math.Max(worst, d)
			sumsq += d * d
		}
	}
	return worst, sumsq
}

func (s *state) sizeOK(f int) bool {
	return math.Abs(float64(s.foldRows[f])-s.targets[f]*float64(s.n)) <= s.slack[f]
}

func better(w1, q1, w0, q0 float64) bool {
	const eps = 1e-12
	return w1 < w0-eps || (w1 <= w0+eps && q1 < q0-eps)
}

// search improves the split by moves and swaps of random groups out of
// the worst fold, accepting only strict improvements.
func (s *state) search(steps int) {
	worst, sumsq := s.score()
	for range steps {
		if worst == 0 {
			return
		}
		f := s.worstFold()
		if len(s.members[f]) == 0 {
			return
		}
		g := s.members[f][s.rng.IntN(len(s.members[f]))]
		to := s.rng.IntN(s.k - 1)
		if to >= f {
			to++
		}
		// improved keeps the folds as they are now when they are better.
		improved := func() bool {
			if !s.sizeOK(f) || !s.sizeOK(to) {
				return false
			}
			w, q := s.score()
			if !better(w, q, worst, sumsq) {
				return false
			}
			worst, sumsq = w, q
			return true
		}
		// Try the move g: f -> to.
		s.remove(g)
		s.place(g, to)
		if improved() {
			continue
		}
		// Try swapping g with a random group h of fold to.
		if len(s.members[to]) > 1 {
			h := s.members[to][s.rng.IntN(len(s.members[to]))]
			if h != g {
				s.remove(h)
				s.place(h, f)
				if improved() {
					continue
				}
				s.remove(h)
				s.place(h, to)
			}
		}
		s.remove(g)
		s.place(g, f)
	}
}

// worstFold is the fold holding the largest share deviation.
func (s *state) worstFold() int {
	best, bestD := 0, -1.0
	for f := range s.k {
		rows := float64(max(1, s.foldRows[f]))
		for c := range s.c {
			if d := math.Abs(float64(s.counts[f][c])/rows - s.share[c]); d > bestD {
				best, bestD = f, d
			}
		}
	}
	return best
}

// Counts is the number of rows of each stratum in each fold.
func (sp *Split) Counts() [][]int { return sp.counts }
