// Package pred holds facet's predictions: per-head and 18-class
// probabilities of each row, the table columns they take (facet-train's
// oof.arrow, facet-infer's and facet-merge's output) and how to read them
// back. It depends on no model code, so tools that only combine
// predictions stay small.
package pred

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// Sizes of the heads (the 18 classes: label.NumClasses).
const (
	NumMask   = 3
	NumGender = 2
	NumAge    = 3
)

// Probs holds per-head class probabilities, row major (N x k), and the
// 18-class probabilities with their argmax.
type Probs struct {
	N       int
	Mask    []float32 // N x 3
	Gender  []float32 // N x 2
	Age     []float32 // N x 3
	Class18 []float32 // N x 18
	Pred18  []int     // N
}

// New returns zeroed probabilities for n rows.
func New(n int) *Probs {
	return &Probs{N: n, Mask: make([]float32, n*NumMask), Gender: make([]float32, n*NumGender),
		Age: make([]float32, n*NumAge), Class18: make([]float32, n*label.NumClasses), Pred18: make([]int, n)}
}

// Append adds q's rows after p's.
func (p *Probs) Append(q *Probs) {
	p.N += q.N
	p.Mask = append(p.Mask, q.Mask...)
	p.Gender = append(p.Gender, q.Gender...)
	p.Age = append(p.Age, q.Age...)
	p.Class18 = append(p.Class18, q.Class18...)
	p.Pred18 = append(p.Pred18, q.Pred18...)
}

// Slice returns rows [lo, hi) of p, sharing its storage.
func (p *Probs) Slice(lo, hi int) *Probs {
	return &Probs{N: hi - lo, Mask: p.Mask[lo*NumMask : hi*NumMask], Gender: p.Gender[lo*NumGender : hi*NumGender],
		Age: p.Age[lo*NumAge : hi*NumAge], Class18: p.Class18[lo*label.NumClasses : hi*label.NumClasses], Pred18: p.Pred18[lo:hi]}
}

// Row returns the four probability vectors of row i (slices of p).
func (p *Probs) Row(i int) (mask, gender, age, c18 []float32) {
	return p.Mask[i*NumMask : (i+1)*NumMask], p.Gender[i*NumGender : (i+1)*NumGender],
		p.Age[i*NumAge : (i+1)*NumAge], p.Class18[i*label.NumClasses : (i+1)*label.NumClasses]
}

// CombineHeads sets Class18 to the product of the three heads (the heads
// taken as independent) and Pred18 to its argmax, the most probable
// combination.
func (p *Probs) CombineHeads() {
	for i := range p.N {
		pm, pg, pa, c18 := p.Row(i)
		for c := range c18 {
			m, g, a := label.Split(int8(c))
			c18[c] = pm[m] * pg[g] * pa[a]
		}
		p.Pred18[i] = Argmax(c18)
	}
}

// Marginalise sets the heads to the marginals of Class18 and Pred18 to
// its argmax.
func (p *Probs) Marginalise() {
	for i := range p.N {
		pm, pg, pa, c18 := p.Row(i)
		clear(pm)
		clear(pg)
		clear(pa)
		for c, v := range c18 {
			m, g, a := label.Split(int8(c))
			pm[m] += v
			pg[g] += v
			pa[a] += v
		}
		p.Pred18[i] = Argmax(c18)
	}
}

// Heads returns the argmax of each head for every row.
func (p *Probs) Heads() (mask, gender, age []int) {
	return ArgmaxRows(p.Mask, NumMask), ArgmaxRows(p.Gender, NumGender), ArgmaxRows(p.Age, NumAge)
}

// Argmax returns the index of the largest value (the first on ties), or
// -1 for an empty slice.
func Argmax(p []float32) int {
	best := -1
	for i, v := range p {
		if best < 0 || v > p[best] {
			best = i
		}
	}
	return best
}

// ArgmaxRows returns the argmax of each k-wide row of p.
func ArgmaxRows(p []float32, k int) []int {
	out := make([]int, len(p)/k)
	for i := range out {
		out[i] = Argmax(p[i*k : (i+1)*k])
	}
	return out
}

// Column names of a prediction table.
const (
	ColProbMask   = "prob_mask"
	ColProbGender = "prob_gender"
	ColProbAge    = "prob_age"
	ColProb18     = "prob18"
	ColPred       = "pred"
	ColPredMask   = "pred_mask"
	ColPredGender = "pred_gender"
	ColPredAge    = "pred_age_group"
)

var probList = arrow.ListOf(arrow.PrimitiveTypes.Float32)

// Fields are the columns predictions add to a sample table: the
// probabilities of each head and of the 18 classes, the 18-class
// prediction and each head's prediction.
var Fields = []arrow.Field{
	{Name: ColProbMask, Type: probList},
	{Name: ColProbGender, Type: probList},
	{Name: ColProbAge, Type: probList},
	{Name: ColProb18, Type: probList},
	{Name: ColPred, Type: arrow.PrimitiveTypes.Int8},
	{Name: ColPredMask, Type: arrow.PrimitiveTypes.Int8},
	{Name: ColPredGender, Type: arrow.PrimitiveTypes.Int8},
	{Name: ColPredAge, Type: arrow.PrimitiveTypes.Int8},
}

// Reading a table converts what other tools write for these columns
// (float64 probabilities, large lists, int64 predictions) to Fields.
func init() { table.Declare(Fields...) }

// Schema returns s with the prediction columns (replacing any it had).
func Schema(s *arrow.Schema) *arrow.Schema { return table.ExtendSchema(s, Fields) }

// Columns returns the prediction columns (in the order of Fields) of p's
// rows [row, row+n). The caller releases them.
func Columns(p *Probs, row, n int) ([]arrow.Array, error) {
	if row < 0 || n < 0 || row+n > p.N {
		return nil, fmt.Errorf("pred: rows %d..%d of %d predictions", row, row+n, p.N)
	}
	mem := memory.DefaultAllocator
	var cols []arrow.Array
	for _, l := range []struct {
		p []float32
		k int
	}{{p.Mask, NumMask}, {p.Gender, NumGender}, {p.Age, NumAge}, {p.Class18, label.NumClasses}} {
		b := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
		vb := b.ValueBuilder().(*array.Float32Builder)
		b.Reserve(n)
		vb.Reserve(n * l.k)
		for i := row; i < row+n; i++ {
			b.Append(true)
			vb.AppendValues(l.p[i*l.k:(i+1)*l.k], nil)
		}
		cols = append(cols, b.NewArray())
		b.Release()
	}
	rows := p.Slice(row, row+n)
	mask, gender, age := rows.Heads()
	for _, pr := range [][]int{rows.Pred18, mask, gender, age} {
		b := array.NewInt8Builder(mem)
		b.Reserve(n)
		for _, v := range pr {
			b.Append(int8(v))
		}
		cols = append(cols, b.NewArray())
		b.Release()
	}
	return cols, nil
}

// Extend returns rec with the prediction columns of p's rows
// [row, row+rec.NumRows()), in the layout of schema (from Schema).
func Extend(rec arrow.RecordBatch, schema *arrow.Schema, p *Probs, row int) (arrow.RecordBatch, error) {
	cols, err := Columns(p, row, int(rec.NumRows()))
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return table.Extend(rec, schema, Fields, cols)
}

// Read returns the probabilities stored in rec's prediction columns.
// Pred18 is read from the pred column. A missing column, a null or a list
// of the wrong length is an error naming the row's id when there is one.
func Read(rec arrow.RecordBatch) (*Probs, error) {
	n := int(rec.NumRows())
	p := New(n)
	ids := idColumn(rec)
	rowName := func(i int) string {
		if ids != nil {
			return fmt.Sprintf("row %d (id %q)", i, ids.Value(i))
		}
		return fmt.Sprintf("row %d", i)
	}
	for _, l := range []struct {
		name string
		dst  []float32
		k    int
	}{{ColProbMask, p.Mask, NumMask}, {ColProbGender, p.Gender, NumGender}, {ColProbAge, p.Age, NumAge}, {ColProb18, p.Class18, label.NumClasses}} {
		col, err := column(rec, l.name)
		if err != nil {
			return nil, err
		}
		list, ok := col.(*array.List)
		if !ok {
			return nil, fmt.Errorf("pred: column %s is %s, want %s", l.name, col.DataType(), probList)
		}
		vals, ok := list.ListValues().(*array.Float32)
		if !ok {
			return nil, fmt.Errorf("pred: column %s is %s, want %s", l.name, col.DataType(), probList)
		}
		offs := list.Offsets()
		for i := range n {
			lo, hi := int(offs[i]), int(offs[i+1])
			if list.IsNull(i) || hi-lo != l.k {
				return nil, fmt.Errorf("pred: %s: column %s holds %d values, want %d", rowName(i), l.name, hi-lo, l.k)
			}
			copy(l.dst[i*l.k:], vals.Float32Values()[lo:hi])
		}
	}
	col, err := column(rec, ColPred)
	if err != nil {
		return nil, err
	}
	pr, ok := col.(*array.Int8)
	if !ok {
		return nil, fmt.Errorf("pred: column %s is %s, want int8", ColPred, col.DataType())
	}
	for i := range n {
		if pr.IsNull(i) || pr.Value(i) < 0 || int(pr.Value(i)) >= label.NumClasses {
			return nil, fmt.Errorf("pred: %s: %s is not a class of 0..%d", rowName(i), ColPred, label.NumClasses-1)
		}
		p.Pred18[i] = int(pr.Value(i))
	}
	return p, nil
}

func column(rec arrow.RecordBatch, name string) (arrow.Array, error) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil, fmt.Errorf("pred: no column %s: not a prediction table (facet-infer, facet-merge vote or facet-train's oof.arrow write one)", name)
	}
	return rec.Column(idx[0]), nil
}

func idColumn(rec arrow.RecordBatch) *array.String {
	idx := rec.Schema().FieldIndices("id")
	if len(idx) == 0 {
		return nil
	}
	s, _ := rec.Column(idx[0]).(*array.String)
	return s
}
