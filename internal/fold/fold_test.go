package fold

import (
	"math/rand/v2"
	"testing"
)

// randomProblem is a table of random groups (1..maxSize rows each) whose
// rows draw strata from a skewed distribution; a group's rows mostly share
// a stratum, like a person's photos share gender and age.
func randomProblem(seed uint64, groups, maxSize, strata, k int) Problem {
	rng := rand.New(rand.NewPCG(seed, 1))
	p := Problem{NumGroups: groups, NumStrata: strata, Seed: seed}
	for g := range groups {
		base := int(float64(strata) * rng.Float64() * rng.Float64())
		for range 1 + rng.IntN(maxSize) {
			s := base
			if rng.IntN(4) == 0 {
				s = rng.IntN(strata)
			}
			p.Groups = append(p.Groups, g)
			p.Strata = append(p.Strata, s)
		}
	}
	for range k {
		p.Targets = append(p.Targets, 1/float64(k))
	}
	return p
}

func TestProperties(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		k := 2 + int(seed%5)
		p := randomProblem(seed, 20+int(seed*7), 1+int(seed%8), 2+int(seed%17), k)
		sp, err := Assign(p)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		// Every group in exactly one fold (so no group in two), each fold used.
		used := make([]int, k)
		for g, f := range sp.GroupFold {
			if f < 0 || f >= k {
				t.Fatalf("seed %d: group %d in fold %d", seed, g, f)
			}
			used[f]++
		}
		for f, n := range used {
			if n == 0 {
				t.Errorf("seed %d: fold %d is empty", seed, f)
			}
		}
		// Every row in exactly one fold: the counts add up.
		st := StatsOf(p, sp)
		total := 0
		for _, r := range st.Rows {
			total += r
		}
		if total != len(p.Groups) {
			t.Errorf("seed %d: folds hold %d rows, the table %d", seed, total, len(p.Groups))
		}
		// Same seed, same folds; another seed, other folds.
		again, _ := Assign(p)
		for g := range sp.GroupFold {
			if again.GroupFold[g] != sp.GroupFold[g] {
				t.Fatalf("seed %d: two runs differ at group %d", seed, g)
			}
		}
		p2 := p
		p2.Seed = seed + 1000
		other, _ := Assign(p2)
		same := true
		for g := range sp.GroupFold {
			same = same && other.GroupFold[g] == sp.GroupFold[g]
		}
		if same && p.NumGroups > 40 {
			t.Errorf("seed %d: a different seed gave the same folds", seed)
		}
	}
}

// The local search must not make the greedy split worse, and on a
// competition-shaped problem the folds must be close to perfectly
// stratified.
func TestQuality(t *testing.T) {
	p := competitionShaped(2700, 5)
	greedyOnly := p
	greedyOnly.SearchSteps = -1
	g, _ := Assign(greedyOnly)
	full, _ := Assign(p)
	sg, sf := StatsOf(p, g), StatsOf(p, full)
	if sf.Worst > sg.Worst+1e-12 {
		t.Errorf("search made it worse: %.5f -> %.5f", sg.Worst, sf.Worst)
	}
	// 540 persons per fold: the smallest class (about 0.4% of rows) can be
	// off by at most a person or two.
	if sf.Worst > 0.003 {
		t.Errorf("worst share deviation %.4f on a competition-shaped table", sf.Worst)
	}
	if sf.SizeSpread() > 0.02 {
		t.Errorf("fold sizes spread %.3f", sf.SizeSpread())
	}
}

// competitionShaped is persons x 7 photos (5 wear, 1 incorrect, 1 none)
// with the competition's gender x age mix.
func competitionShaped(persons, k int) Problem {
	// Shares of the six gender x age groups in the competition train set.
	mix := []float64{0.175, 0.16, 0.03, 0.24, 0.355, 0.04}
	rng := rand.New(rand.NewPCG(7, 7))
	p := Problem{NumGroups: persons, NumStrata: 18, Seed: 3}
	for g := range persons {
		u, ga := rng.Float64(), 0
		for ga < len(mix)-1 && u > mix[ga] {
			u -= mix[ga]
			ga++
		}
		for _, m := range []int{0, 0, 0, 0, 0, 1, 2} {
			p.Groups = append(p.Groups, g)
			p.Strata = append(p.Strata, m*6+ga)
		}
	}
	for range k {
		p.Targets = append(p.Targets, 1/float64(k))
	}
	return p
}

func TestTrainValSplit(t *testing.T) {
	p := randomProblem(3, 500, 5, 6, 2)
	p.Targets = []float64{0.8, 0.2}
	sp, err := Assign(p)
	if err != nil {
		t.Fatal(err)
	}
	st := StatsOf(p, sp)
	share := float64(st.Rows[1]) / float64(len(p.Groups))
	if share < 0.18 || share > 0.22 {
		t.Errorf("validation share %.3f, want about 0.2", share)
	}
}

func TestErrors(t *testing.T) {
	p := randomProblem(1, 3, 2, 2, 5)
	if _, err := Assign(p); err == nil {
		t.Error("3 groups in 5 folds accepted")
	}
	p = randomProblem(1, 30, 2, 2, 2)
	p.Targets = []float64{0.5, 0.6}
	if _, err := Assign(p); err == nil {
		t.Error("targets summing to 1.1 accepted")
	}
	p.Targets = []float64{1}
	if _, err := Assign(p); err == nil {
		t.Error("one fold accepted")
	}
}

func BenchmarkAssign31500(b *testing.B) {
	p := competitionShaped(4500, 5)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Assign(p); err != nil {
			b.Fatal(err)
		}
	}
}
