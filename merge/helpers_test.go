package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
)

func runMerge(t *testing.T, stdin []byte, args ...string) ([]byte, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, bytes.NewReader(stdin), &stdout, &stderr)
	return stdout.Bytes(), stderr.String(), err
}

// writeRecords writes record batches as an Arrow file and releases them.
func writeRecords(t *testing.T, path string, schema *arrow.Schema, recs []arrow.RecordBatch) string {
	t.Helper()
	data, err := table.EncodeRecords(schema, table.File, recs...)
	for _, rec := range recs {
		rec.Release()
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// model is one prediction table to write: per id, its 18-class
// probabilities (classes not given are 0) and its pred (-1: the argmax).
type model map[string]struct {
	p18  map[int]float32
	pred int
}

// writePredTable writes the rows ids (in that order) with samples' core
// columns, a fold column and m's predictions, as dir/name.arrow.
func writePredTable(t *testing.T, dir, name string, bins label.Bins, ids []string, m model) string {
	t.Helper()
	var samples []table.Sample
	p := pred.New(len(ids))
	for i, id := range ids {
		s := table.NewSample(id, "/images/"+filepath.Base(id), "person-"+id, "test", "eval")
		samples = append(samples, s)
		for c, v := range m[id].p18 {
			p.Class18[i*label.NumClasses+c] = v
		}
	}
	p.Marginalise()
	for i, id := range ids {
		if m[id].pred >= 0 {
			p.Pred18[i] = m[id].pred
		}
	}
	core := table.NewSchema(bins)
	foldField := []arrow.Field{{Name: "fold", Type: arrow.PrimitiveTypes.Int8}}
	withFold := table.ExtendSchema(core, foldField)
	schema := pred.Schema(withFold)
	var out []arrow.RecordBatch
	for _, rec := range table.Records(memory.DefaultAllocator, core, samples) {
		b := array.NewInt8Builder(memory.DefaultAllocator)
		for i := range rec.NumRows() {
			b.Append(int8(i % 5))
		}
		fold := b.NewArray()
		b.Release()
		rf, err := table.Extend(rec, withFold, foldField, []arrow.Array{fold})
		fold.Release()
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
		rp, err := pred.Extend(rf, schema, p, 0)
		rf.Release()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rp)
	}
	return writeRecords(t, filepath.Join(dir, name+".arrow"), schema, out)
}

// predOut is a prediction table read back.
type predOut struct {
	schema            *arrow.Schema
	ids               []string
	probs             *pred.Probs
	mask, gender, age []int8 // pred_mask, pred_gender, pred_age_group
}

func readPredOut(t *testing.T, data []byte) predOut {
	t.Helper()
	ins, err := readInputs([]string{"-"}, bytes.NewReader(data), "id")
	if err != nil {
		t.Fatal(err)
	}
	in := ins[0]
	defer in.release()
	out := predOut{schema: in.schema}
	if out.ids, err = in.strings("id"); err != nil {
		t.Fatal(err)
	}
	if out.probs, err = readProbs(in); err != nil {
		t.Fatal(err)
	}
	for _, rec := range in.recs {
		for _, c := range []struct {
			name string
			dst  *[]int8
		}{{pred.ColPredMask, &out.mask}, {pred.ColPredGender, &out.gender}, {pred.ColPredAge, &out.age}} {
			a := rec.Column(rec.Schema().FieldIndices(c.name)[0]).(*array.Int8)
			*c.dst = append(*c.dst, a.Int8Values()...)
		}
	}
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
