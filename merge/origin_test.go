package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
)

// Rows made from another row's image (origin augmented or synthetic mask,
// whatever their source) are never suspects: facet-prep does not know
// their ids. The same rows marked original are.
func TestSuspectsLeaveDerivedRowsOut(t *testing.T) {
	for _, tc := range []struct {
		origin table.Origin
		listed bool
	}{{table.SyntheticMask, false}, {table.Augmented, false}, {table.Original, true}} {
		t.Run(tc.origin.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 3))
			n, copies := 120, 10
			p := pred.New(n + copies)
			var samples []table.Sample
			var origins []table.Origin
			for i := range n + copies {
				truth := [3]int8{int8(rng.IntN(3)), int8(rng.IntN(2)), int8(rng.IntN(3))}
				if i >= n {
					truth = [3]int8{samples[i-n].Mask, samples[i-n].Gender, samples[i-n].AgeGroup}
				}
				modelProbs(rng, p, i, truth, 0)
				s := table.NewSample(fmt.Sprintf("row%03d", i), "", fmt.Sprintf("person%03d", i), "test", "train")
				s.Mask, s.Gender, s.AgeGroup = truth[0], truth[1], truth[2]
				o := table.Original
				if i >= n { // a copy of row i-n with the wrong gender
					s.ID, s.Person, s.Gender = fmt.Sprintf("row%03d~copy", i-n), samples[i-n].Person, 1-s.Gender
					o = tc.origin
				}
				s.Relabel()
				samples, origins = append(samples, s), append(origins, o)
			}
			path := oofWithOrigins(t, filepath.Join(t.TempDir(), "oof.arrow"), samples, origins, p)
			stdout, stderr, err := runMerge(t, nil, "suspects", "--by", "id", "--heads", "gender", path)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			listed := strings.Count(string(stdout), "~copy")
			if tc.listed && listed != copies || !tc.listed && listed != 0 {
				t.Errorf("%d of the %d wrong copies listed:\n%s", listed, copies, stdout)
			}
		})
	}
}

// oofWithOrigins writes samples with p's predictions and an origin column.
func oofWithOrigins(t *testing.T, path string, samples []table.Sample, origins []table.Origin, p *pred.Probs) string {
	t.Helper()
	p.CombineHeads()
	core := table.NewSchema(label.DefaultBins)
	fields := []arrow.Field{table.OriginField}
	withOrigin := table.ExtendSchema(core, fields)
	schema := pred.Schema(withOrigin)
	var out []arrow.RecordBatch
	row := 0
	for _, rec := range table.Records(memory.DefaultAllocator, core, samples) {
		b := array.NewInt8Builder(memory.DefaultAllocator)
		for i := range int(rec.NumRows()) {
			b.Append(int8(origins[row+i]))
		}
		col := b.NewArray()
		b.Release()
		ro, err := table.Extend(rec, withOrigin, fields, []arrow.Array{col})
		col.Release()
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		ext, err := pred.Extend(ro, schema, p, row)
		ro.Release()
		if err != nil {
			t.Fatal(err)
		}
		row += int(ext.NumRows())
		out = append(out, ext)
	}
	return writeRecords(t, path, schema, out)
}

// Pseudo labels say so in their origin, so that no stage ever validates
// on them.
func TestPseudoLabelsOrigin(t *testing.T) {
	dir, a, b := voteInputs(t)
	path := filepath.Join(dir, "pseudo.arrow")
	if _, stderr, err := runMerge(t, nil, "vote", "--pseudo", "0.45", "--pseudo-out", path, a, b); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	ins, err := readInputs([]string{path}, nil, table.ColOrigin)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(ins)
	n := 0
	for _, rec := range ins[0].recs {
		for _, o := range table.Origins(rec) {
			if o != table.PseudoLabel {
				t.Errorf("pseudo label of origin %s", o)
			}
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d pseudo labels, want 3", n)
	}
}
