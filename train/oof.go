package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/atomicfile"
	"github.com/boostershot/facet/internal/checkpoint"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/table"
)

// oofFields are the columns oof.arrow adds to the validation table.
var oofFields = []arrow.Field{
	{Name: "prob_mask", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	{Name: "prob_gender", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	{Name: "prob_age", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	{Name: "prob18", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
	{Name: "pred", Type: arrow.PrimitiveTypes.Int8},
	{Name: "pred_mask", Type: arrow.PrimitiveTypes.Int8},
	{Name: "pred_gender", Type: arrow.PrimitiveTypes.Int8},
	{Name: "pred_age_group", Type: arrow.PrimitiveTypes.Int8},
}

// writeOOF loads best.safetensors, predicts the validation rows and
// writes them with the predictions to oof.arrow.
func (t *trainer) writeOOF() error {
	m, err := nn.New(t.rc.Model)
	if err != nil {
		return err
	}
	if _, err := checkpoint.Read(t.path("best.safetensors"), modelTensors(m, false)); err != nil {
		return err
	}
	p, err := predict(context.Background(), m, t.va, t.workers)
	if err != nil {
		return err
	}
	if err := writeOOFTable(t.path("oof.arrow"), t.va, p); err != nil {
		return err
	}
	if err := writeConfusion(t.path("confusion.png"), t.va.mask, t.va.gender, t.va.age, p); err != nil {
		return err
	}
	t.logf("wrote %s (%d rows)", t.path("oof.arrow"), p.N)
	return nil
}

// writeOOFTable writes d's rows with the columns of oofFields from p (the
// predictions of d's rows in order) as an Arrow IPC file, atomically.
func writeOOFTable(path string, d *dataset, p *nn.Probs) error {
	if p.N != d.Len() {
		return fmt.Errorf("%d predictions for %d rows", p.N, d.Len())
	}
	schema := table.ExtendSchema(d.schema, oofFields)
	var buf bytes.Buffer
	w, err := table.NewWriter(&buf, schema, table.File)
	if err != nil {
		return err
	}
	mem := memory.DefaultAllocator
	row := 0
	for _, rec := range d.recs {
		n := int(rec.NumRows())
		lists := []struct {
			p []float32
			k int
		}{{p.Mask, nn.NumMask}, {p.Gender, nn.NumGender}, {p.Age, nn.NumAge}, {p.Class18, nn.NumClasses}}
		var cols []arrow.Array
		for _, l := range lists {
			b := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
			vb := b.ValueBuilder().(*array.Float32Builder)
			for i := row; i < row+n; i++ {
				b.Append(true)
				vb.AppendValues(l.p[i*l.k:(i+1)*l.k], nil)
			}
			cols = append(cols, b.NewArray())
			b.Release()
		}
		preds := [][]int{p.Pred18, argmaxRows(p.Mask, nn.NumMask), argmaxRows(p.Gender, nn.NumGender), argmaxRows(p.Age, nn.NumAge)}
		for _, pr := range preds {
			b := array.NewInt8Builder(mem)
			for i := row; i < row+n; i++ {
				b.Append(int8(pr[i]))
			}
			cols = append(cols, b.NewArray())
			b.Release()
		}
		out, err := table.Extend(rec, schema, oofFields, cols)
		for _, c := range cols {
			c.Release()
		}
		if err != nil {
			return err
		}
		err = w.Write(out)
		out.Release()
		if err != nil {
			return err
		}
		row += n
	}
	if err := w.Close(); err != nil {
		return err
	}
	return atomicfile.Write(path, buf.Bytes())
}
