package pred

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

func randomDist(rng *rand.Rand, v []float32) {
	var s float32
	for i := range v {
		v[i] = rng.Float32() + 1e-3
		s += v[i]
	}
	for i := range v {
		v[i] /= s
	}
}

func randomHeads(n int, seed uint64) *Probs {
	rng := rand.New(rand.NewPCG(seed, 1))
	p := New(n)
	for i := range n {
		pm, pg, pa, _ := p.Row(i)
		randomDist(rng, pm)
		randomDist(rng, pg)
		randomDist(rng, pa)
	}
	p.CombineHeads()
	return p
}

// The argmax of the product of the heads is the argmax of the sum of
// their logs, and the product's marginals are the heads again.
func TestCombineHeads(t *testing.T) {
	p := randomHeads(100, 3)
	for i := range p.N {
		pm, pg, pa, c18 := p.Row(i)
		best, bestLog := -1, math.Inf(-1)
		for c := range c18 {
			m, g, a := label.Split(int8(c))
			l := math.Log(float64(pm[m])) + math.Log(float64(pg[g])) + math.Log(float64(pa[a]))
			if l > bestLog {
				best, bestLog = c, l
			}
		}
		if p.Pred18[i] != best {
			t.Fatalf("row %d: argmax product %d, argmax log-sum %d", i, p.Pred18[i], best)
		}
	}
	q := New(p.N)
	copy(q.Class18, p.Class18)
	q.Marginalise()
	for j := range p.Mask {
		if math.Abs(float64(q.Mask[j]-p.Mask[j])) > 1e-6 {
			t.Fatalf("mask marginal %d: %g, head %g", j, q.Mask[j], p.Mask[j])
		}
	}
	for j := range p.Age {
		if math.Abs(float64(q.Age[j]-p.Age[j])) > 1e-6 {
			t.Fatalf("age marginal %d: %g, head %g", j, q.Age[j], p.Age[j])
		}
	}
}

func TestArgmax(t *testing.T) {
	if Argmax(nil) != -1 || Argmax([]float32{1, 3, 3, 2}) != 1 {
		t.Error("argmax: want -1 for empty and the first of ties")
	}
	got := ArgmaxRows([]float32{0.1, 0.9, 0.7, 0.3}, 2)
	if len(got) != 2 || got[0] != 1 || got[1] != 0 {
		t.Errorf("ArgmaxRows = %v", got)
	}
}

func sampleRecord(t *testing.T, n int) (arrow.RecordBatch, *arrow.Schema) {
	t.Helper()
	var ss []table.Sample
	for i := range n {
		ss = append(ss, table.NewSample("r"+string(rune('a'+i)), "/x.jpg", "p", "s", "train"))
	}
	schema := table.NewSchema(label.Bins{30, 60})
	recs := table.Records(memory.DefaultAllocator, schema, ss)
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	return recs[0], schema
}

func TestExtendReadRoundTrip(t *testing.T) {
	p := randomHeads(5, 7)
	rec, schema := sampleRecord(t, 3)
	defer rec.Release()
	out, err := Extend(rec, Schema(schema), p, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	q, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if q.N != 3 {
		t.Fatalf("read %d rows", q.N)
	}
	for i := range 3 {
		_, _, _, want := p.Row(i + 2)
		_, _, _, got := q.Row(i)
		for c := range want {
			if got[c] != want[c] {
				t.Fatalf("row %d class %d: %g, want %g", i, c, got[c], want[c])
			}
		}
		if q.Pred18[i] != p.Pred18[i+2] {
			t.Fatalf("row %d pred %d, want %d", i, q.Pred18[i], p.Pred18[i+2])
		}
	}
	if _, err := Extend(rec, Schema(schema), p, 3); err == nil {
		t.Error("rows past the end of the predictions: no error")
	}
	if _, err := Read(rec); err == nil || !strings.Contains(err.Error(), "not a prediction table") {
		t.Errorf("reading a table without predictions: %v", err)
	}
}
