package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/fold"
	"github.com/boostershot/facet/internal/join"
	"github.com/boostershot/facet/internal/table"
)

// fitFolds trains every fold of the fold set o.folds in turn, each in
// RUNDIR/foldK with the same settings, and joins their out-of-fold
// predictions into RUNDIR/oof.arrow as facet-merge join does: one
// prediction for every row that is validation data in some fold.
func (o *options) fitFolds(ctx context.Context, command []string, stderr io.Writer) error {
	m, err := fold.ReadManifest(o.folds)
	if err != nil {
		return fmt.Errorf("--all-folds: %w", err)
	}
	var oofs []string
	for _, f := range m.Files {
		one := *o
		one.fold, one.out = f.Fold, filepath.Join(o.out, fmt.Sprintf("fold%d", f.Fold))
		cli.Printf(stderr, program, "fold %d of %d -> %s", f.Fold+1, len(m.Files), one.out)
		rc, err := one.config(command)
		if err == nil {
			err = one.fit(ctx, rc, stderr)
		}
		if err != nil {
			return fmt.Errorf("fold %d: %w", f.Fold, err)
		}
		oofs = append(oofs, filepath.Join(one.out, "oof.arrow"))
	}
	out := filepath.Join(o.out, "oof.arrow")
	rows, err := joinTables(out, oofs)
	if err != nil {
		return err
	}
	cli.Printf(stderr, program, "wrote %s (%d out-of-fold rows from %d folds)", out, rows, len(oofs))
	return nil
}

// joinTables joins the Arrow files in paths (internal/join, as facet-merge
// join does; an id in two of them is an error) into one Arrow file at out.
func joinTables(out string, paths []string) (int64, error) {
	var tables []join.Table
	defer func() {
		for _, t := range tables {
			for _, rec := range t.Recs {
				rec.Release()
			}
		}
	}()
	for _, p := range paths {
		schema, recs, err := table.ReadFile(p)
		if err != nil {
			return 0, err
		}
		tables = append(tables, join.Table{Name: p, Schema: schema, Recs: recs})
	}
	schema, recs, _, err := join.Tables(tables, join.Refuse)
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	if err != nil {
		return 0, err
	}
	w := &cli.TableOutput{Path: out} // .arrow: the Arrow file format
	if err := w.Open(nil); err != nil {
		return 0, err
	}
	defer w.Abort()
	if err := w.WriteAll(schema, recs...); err != nil {
		return 0, err
	}
	return w.Rows(), w.Commit()
}
