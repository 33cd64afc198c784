package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/boostershot/facet/internal/model"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
)

// writeOOF loads best.safetensors, predicts the validation rows and
// writes them with the predictions to oof.arrow.
func (t *trainer) writeOOF() error {
	m, err := nn.Load(t.path("best.safetensors"))
	if err != nil {
		return err
	}
	p, err := predict(context.Background(), model.Facet(m), t.va, t.workers)
	if err != nil {
		return err
	}
	if err := writeOOFTable(t.path("oof.arrow"), t.va, p); err != nil {
		return err
	}
	if err := writeConfusion(t.path("confusion.png"), t.va, p, t.stderr); err != nil {
		return err
	}
	t.logf("wrote %s (%d rows)", t.path("oof.arrow"), p.N)
	return nil
}

// writeOOFTable writes d's rows with the prediction columns from p (the
// predictions of d's rows in order) as an Arrow IPC file, atomically.
func writeOOFTable(path string, d *dataset, p *pred.Probs) error {
	if p.N != d.Len() {
		return fmt.Errorf("%d predictions for %d rows", p.N, d.Len())
	}
	schema := pred.Schema(d.schema)
	var buf bytes.Buffer
	w, err := table.NewWriter(&buf, schema, table.File)
	if err != nil {
		return err
	}
	row := 0
	for _, rec := range d.recs {
		out, err := pred.Extend(rec, schema, p, row)
		if err != nil {
			return err
		}
		err = w.Write(out)
		out.Release()
		if err != nil {
			return err
		}
		row += int(rec.NumRows())
	}
	if err := w.Close(); err != nil {
		return err
	}
	return outfile.WriteFile(path, buf.Bytes())
}
