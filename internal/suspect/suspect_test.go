package suspect

import (
	"math"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
)

// genderInput is six rows whose gender labels are 0 0 0 1 1 1 and whose
// model gives p(female) p1; persons as given (nil: none).
func genderInput(p1 []float32, persons []string) *Input {
	p := pred.New(len(p1))
	for i, v := range p1 {
		p.Gender[2*i], p.Gender[2*i+1] = 1-v, v
	}
	return &Input{
		IDs:     []string{"a", "b", "c", "d", "e", "f"},
		Persons: persons,
		Labels:  map[label.Head][]int8{label.HeadGender: {0, 0, 0, 1, 1, 1}},
		Probs:   p,
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestFind(t *testing.T) {
	// t0 = mean p0 of the rows labelled 0 = (0.9+0.8+0.1)/3 = 0.6,
	// t1 = (0.8+0.9+0.7)/3 = 0.8. Row c (labelled 0) has p1 0.9 >= t1 and
	// p0 0.1 < t0: the one suspect. Row f reaches no threshold.
	in := genderInput([]float32{0.1, 0.2, 0.9, 0.8, 0.9, 0.7}, nil)
	r := Find(in, label.HeadGender, false, Threshold)
	if r.Rows != 6 || !near(r.Thresholds[0], 0.6) || !near(r.Thresholds[1], 0.8) {
		t.Fatalf("rows %d, thresholds %v", r.Rows, r.Thresholds)
	}
	if len(r.Suspects) != 1 {
		t.Fatalf("suspects %+v, want row c alone", r.Suspects)
	}
	s := r.Suspects[0]
	if s.Unit.Key != "c" || s.Unit.By != "id" || s.Predicted != 1 || !near(s.Conf, 0.9) || !near(s.Self, 0.1) || !near(s.Threshold, 0.8) || !near(s.Margin(), 0.8) {
		t.Errorf("suspect %+v (unit %+v)", s, *s.Unit)
	}
	if got := in.IDs[s.ShownRow(in.Probs)]; got != "c" {
		t.Errorf("shown row %s", got)
	}

	// Judged per person: a, b, c are one person whose photos mostly agree
	// with its label; d, e, f another.
	byPerson := Find(genderInput([]float32{0.1, 0.2, 0.9, 0.8, 0.9, 0.7}, []string{"p", "p", "p", "q", "q", "q"}), label.HeadGender, true, Threshold)
	if byPerson.Persons != 2 || len(byPerson.Suspects) != 0 {
		t.Errorf("per person: %d persons, suspects %+v", byPerson.Persons, byPerson.Suspects)
	}
	// A person whose photos all look female is one suspect of three rows.
	all := Find(genderInput([]float32{0.95, 0.9, 0.9, 0.8, 0.9, 0.7}, []string{"p", "p", "p", "q", "q", "q"}), label.HeadGender, true, Threshold)
	if len(all.Suspects) != 1 || all.Suspects[0].Unit.By != "person" || all.Suspects[0].Unit.Key != "p" || all.Suspects[0].Unit.Votes != 3 || len(all.Suspects[0].Unit.Rows) != 3 {
		t.Errorf("per person: suspects %+v", all.Suspects)
	}

	// Skipped rows are never judged, nor counted in the thresholds.
	in.Skip = []bool{false, false, true, false, false, false}
	r = Find(in, label.HeadGender, false, Threshold)
	if r.Rows != 5 || len(r.Suspects) != 0 || !near(r.Thresholds[0], 0.85) {
		t.Errorf("with c skipped: rows %d, thresholds %v, suspects %+v", r.Rows, r.Thresholds, r.Suspects)
	}
}

func TestRank(t *testing.T) {
	u := func(key string) *Unit { return &Unit{Key: key} }
	s := []Suspect{
		{Head: label.HeadMask, Unit: u("x"), Conf: 0.6, Self: 0.3},   // margin 0.3
		{Head: label.HeadMask, Unit: u("y"), Conf: 0.9, Self: 0.05},  // 0.85
		{Head: label.HeadGender, Unit: u("z"), Conf: 0.7, Self: 0.2}, // 0.5
	}
	order := func() string { return s[0].Unit.Key + s[1].Unit.Key + s[2].Unit.Key }
	if Rank(s, RankMargin); order() != "yzx" {
		t.Errorf("by margin: %s", order())
	}
	if Rank(s, RankSelf); order() != "yzx" {
		t.Errorf("by self-confidence: %s", order())
	}
	s[0].Self = 0.5 // y now the surest of its given label
	if Rank(s, RankSelf); order() != "zxy" {
		t.Errorf("by self-confidence: %s", order())
	}
}
