package main

import (
	"context"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
)

// SourcePseudo is the source of a pseudo-labelled row.
const SourcePseudo = "pseudo"

// pseudoFields are the columns a pseudo-label row gets: its labels from
// the prediction, its source, and the confidence it was chosen with.
var pseudoFields = []arrow.Field{
	{Name: table.ColSource, Type: arrow.BinaryTypes.String},
	{Name: table.ColMask, Type: arrow.PrimitiveTypes.Int8},
	{Name: table.ColGender, Type: arrow.PrimitiveTypes.Int8},
	{Name: table.ColAgeGroup, Type: arrow.PrimitiveTypes.Int8},
	{Name: table.ColLabel, Type: arrow.PrimitiveTypes.Int8},
	{Name: "pseudo_confidence", Type: arrow.PrimitiveTypes.Float32},
}

// pseudoWriter writes the confidently predicted rows as labelled rows to
// a file that appears only when the run succeeds.
type pseudoWriter struct {
	path      string
	threshold float64
	schema    *arrow.Schema
	out       *cli.Output
	w         *table.Writer
	rows      int
}

func newPseudoWriter(path string, in *arrow.Schema, threshold float64) (*pseudoWriter, error) {
	out, err := cli.CreateOutput(path, nil, true)
	if err != nil {
		return nil, err
	}
	schema := table.ExtendSchema(in, pseudoFields)
	w, err := table.NewWriter(out, schema, table.FormatFor(path, false))
	if err != nil {
		out.Abort()
		return nil, err
	}
	return &pseudoWriter{path: path, threshold: threshold, schema: schema, out: out, w: w}, nil
}

// confident reports which rows of p reach the threshold: rows with an
// image whose largest 18-class probability is at least t.
func confident(p *pred.Probs, errs []string, t float64) []bool {
	keep := make([]bool, p.N)
	for i := range p.N {
		_, _, _, c18 := p.Row(i)
		keep[i] = errs[i] == "" && float64(slices.Max(c18)) >= t
	}
	return keep
}

// add writes the chunk's confident rows.
func (w *pseudoWriter) add(c *chunk, p *pred.Probs) error {
	keep := confident(p, c.errs, w.threshold)
	mem := memory.DefaultAllocator
	b := array.NewRecordBuilder(mem, arrow.NewSchema(pseudoFields, nil))
	defer b.Release()
	for i, k := range keep {
		_, _, _, c18 := p.Row(i)
		m, g, a := label.Split(int8(p.Pred18[i]))
		b.Field(0).(*array.StringBuilder).Append(SourcePseudo)
		b.Field(1).(*array.Int8Builder).Append(m)
		b.Field(2).(*array.Int8Builder).Append(g)
		b.Field(3).(*array.Int8Builder).Append(a)
		b.Field(4).(*array.Int8Builder).Append(int8(p.Pred18[i]))
		b.Field(5).(*array.Float32Builder).Append(slices.Max(c18))
		if k {
			w.rows++
		}
	}
	cols := b.NewRecordBatch()
	defer cols.Release()
	labelled, err := table.Extend(c.rec, w.schema, pseudoFields, cols.Columns())
	if err != nil {
		return err
	}
	defer labelled.Release()
	kb := array.NewBooleanBuilder(mem)
	kb.AppendValues(keep, nil)
	mask := kb.NewBooleanArray()
	kb.Release()
	defer mask.Release()
	sel, err := compute.FilterRecordBatch(context.Background(), labelled, mask, compute.DefaultFilterOptions())
	if err != nil {
		return err
	}
	defer sel.Release()
	if sel.NumRows() == 0 {
		return nil
	}
	return w.w.Write(sel)
}

func (w *pseudoWriter) commit() error {
	if err := w.w.Close(); err != nil {
		return err
	}
	return w.out.Commit()
}

func (w *pseudoWriter) abort() { w.out.Abort() }
