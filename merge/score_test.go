package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
)

func TestScore(t *testing.T) {
	// label parts (mask, gender, age) and the predicted class of each row
	rows := []struct {
		m, g, a int8
		pred    int
	}{
		{0, 0, 0, 0},  // right
		{0, 1, 1, 4},  // right
		{2, 0, 2, 12}, // (2,0,0): age wrong
		{1, -1, 0, 9}, // (1,1,0): gender unknown, so no 18-class label
	}
	var ss []table.Sample
	p := pred.New(len(rows))
	for i, r := range rows {
		s := table.NewSample(string(rune('a'+i)), "/x.jpg", "p", "test", "train")
		s.Mask, s.Gender, s.AgeGroup = r.m, r.g, r.a
		s.Relabel()
		ss = append(ss, s)
		p.Class18[i*pred.NumClasses+r.pred] = 1
	}
	p.Marginalise()
	core := table.NewSchema(label.DefaultBins)
	schema := pred.Schema(core)
	var recs []arrow.RecordBatch
	for _, rec := range table.Records(memory.DefaultAllocator, core, ss) {
		ext, err := pred.Extend(rec, schema, p, 0)
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, ext)
	}
	path := writeRecords(t, filepath.Join(t.TempDir(), "p.arrow"), schema, recs)
	stdout, stderr, err := runMerge(t, nil, "score", "--json", path)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var got []scoreLine
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	// age: truth 0,1,2,0 pred 0,1,0,0: class 0 F1 4/5, class 1 1, class 2 0.
	// 18 classes: truth 0,4,14 pred 0,4,12: classes 0 and 4 F1 1, 12 and 14 0.
	want := []scoreLine{
		{Head: "mask"}, {Head: "gender"}, {Head: "age_group"}, {Head: "18-class"},
	}
	want[0].N, want[0].Acc, want[0].F1 = 4, 1, 1
	want[1].N, want[1].Acc, want[1].F1 = 3, 1, 1
	want[2].N, want[2].Acc, want[2].F1 = 4, 0.75, 0.6
	want[3].N, want[3].Acc, want[3].F1 = 3, 2.0/3, 0.5
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		g := got[i]
		if g.Head != w.Head || g.N != w.N || math.Abs(g.Acc-w.Acc) > 1e-9 || math.Abs(g.F1-w.F1) > 1e-9 {
			t.Errorf("%s: got %+v, want %+v", w.Head, g, w)
		}
	}
}
