package pred

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// SourcePseudo is the source of a pseudo-labelled row.
const SourcePseudo = "pseudo"

// pseudoFields are the columns a pseudo-label row gets: its labels from
// the prediction, its source, the confidence it was chosen with, and its
// origin (table.PseudoLabel: never validation data).
var pseudoFields = []arrow.Field{
	{Name: table.ColSource, Type: arrow.BinaryTypes.String},
	{Name: table.ColMask, Type: arrow.PrimitiveTypes.Int8},
	{Name: table.ColGender, Type: arrow.PrimitiveTypes.Int8},
	{Name: table.ColAgeGroup, Type: arrow.PrimitiveTypes.Int8},
	{Name: table.ColLabel, Type: arrow.PrimitiveTypes.Int8},
	{Name: "pseudo_confidence", Type: arrow.PrimitiveTypes.Float32},
	table.OriginField,
}

// PseudoWriter writes confidently predicted rows as labelled rows (pseudo
// labels) ready to join the training data: the input's columns with mask,
// gender, age_group and label set from the prediction, source = pseudo,
// origin = pseudo label, the person kept, and a pseudo_confidence column. The file appears only
// when Commit is called.
type PseudoWriter struct {
	Path      string
	Threshold float64
	Rows      int // rows written so far
	schema    *arrow.Schema
	out       *cli.TableOutput
}

// NewPseudoWriter starts a pseudo-label table at path (Arrow IPC file, or
// CSV for a .csv name) for input rows of schema in, keeping rows whose
// largest 18-class probability is at least threshold.
func NewPseudoWriter(path string, in *arrow.Schema, threshold float64) (*PseudoWriter, error) {
	out := &cli.TableOutput{Path: path}
	if err := out.Open(nil); err != nil {
		return nil, err
	}
	schema := table.ExtendSchema(in, pseudoFields)
	if err := out.Begin(schema); err != nil {
		out.Abort()
		return nil, err
	}
	return &PseudoWriter{Path: path, Threshold: threshold, schema: schema, out: out}, nil
}

// Add writes the confident rows of rec, whose predictions are p's rows
// in order; a row whose usable entry is false is never written (usable
// may be nil: all rows are).
func (w *PseudoWriter) Add(rec arrow.RecordBatch, p *Probs, usable []bool) error {
	if p.N != int(rec.NumRows()) {
		return fmt.Errorf("pred: %d predictions for %d rows", p.N, rec.NumRows())
	}
	keep := make([]bool, p.N)
	for i := range p.N {
		_, _, _, c18 := p.Row(i)
		keep[i] = (usable == nil || usable[i]) && float64(slices.Max(c18)) >= w.Threshold
	}
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
		b.Field(6).(*array.Int8Builder).Append(int8(table.PseudoLabel))
		if k {
			w.Rows++
		}
	}
	cols := b.NewRecordBatch()
	defer cols.Release()
	labelled, err := table.Extend(rec, w.schema, pseudoFields, cols.Columns())
	if err != nil {
		return err
	}
	defer labelled.Release()
	sel, err := table.Filter(labelled, keep)
	if err != nil {
		return err
	}
	defer sel.Release()
	if sel.NumRows() == 0 {
		return nil
	}
	return w.out.Write(sel)
}

// Commit finishes the file and moves it into place.
func (w *PseudoWriter) Commit() error { return w.out.Commit() }

// Abort drops the file unless it was committed (it can be deferred).
func (w *PseudoWriter) Abort() { w.out.Abort() }
