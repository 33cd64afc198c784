package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/table"
)

// foldManifest is what facet-split's manifest.json says of its folds.
type foldManifest struct {
	Files []struct {
		Fold int `json:"fold"`
	} `json:"files"`
}

// allFolds trains every fold of --folds in turn, each in RUNDIR/foldK with
// the same settings, and joins their out-of-fold predictions into
// RUNDIR/oof.arrow: one prediction for every row that is validation data
// in some fold.
func allFolds(ctx context.Context, args []string, out, folds string, stdin io.Reader, stdout, stderr io.Writer) error {
	data, err := os.ReadFile(filepath.Join(folds, "manifest.json"))
	if err != nil {
		return fmt.Errorf("--all-folds: %w", err)
	}
	var m foldManifest
	if err := json.Unmarshal(data, &m); err != nil || len(m.Files) == 0 {
		return fmt.Errorf("--all-folds: %s lists no folds (%v)", filepath.Join(folds, "manifest.json"), err)
	}
	base := withoutFlags(args, "all-folds", "out", "fold")
	var oofs []string
	for _, f := range m.Files {
		dir := filepath.Join(out, fmt.Sprintf("fold%d", f.Fold))
		fmt.Fprintf(stderr, "facet-train: fold %d of %d -> %s\n", f.Fold+1, len(m.Files), dir)
		sub := insertFlags(base, "--out", dir, "--fold", strconv.Itoa(f.Fold))
		if err := run(ctx, sub, stdin, stdout, stderr); err != nil {
			return fmt.Errorf("fold %d: %w", f.Fold, err)
		}
		oofs = append(oofs, filepath.Join(dir, "oof.arrow"))
	}
	rows, err := joinTables(filepath.Join(out, "oof.arrow"), oofs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "facet-train: wrote %s (%d out-of-fold rows from %d folds)\n", filepath.Join(out, "oof.arrow"), rows, len(oofs))
	return nil
}

// withoutFlags drops the named flags (and their values) from args before
// a "--"; what follows "--" is kept as it is.
func withoutFlags(args []string, names ...string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		drop := strings.HasPrefix(a, "-") && slices.Contains(names, name)
		if !drop {
			out = append(out, a)
			continue
		}
		if !hasValue && name != "all-folds" && i+1 < len(args) {
			i++ // the value
		}
	}
	return out
}

// insertFlags puts flags before a "--" in args (or at the end).
func insertFlags(args []string, flags ...string) []string {
	for i, a := range args {
		if a == "--" {
			out := append(append(append([]string(nil), args[:i]...), flags...), args[i:]...)
			return out
		}
	}
	return append(append([]string(nil), args...), flags...)
}

// joinTables writes the rows of every Arrow file in paths, which must
// share one schema, to one Arrow file at out.
func joinTables(out string, paths []string) (int64, error) {
	w := &cli.TableOutput{Path: out} // .arrow: the Arrow file format
	if err := w.Open(nil); err != nil {
		return 0, err
	}
	defer w.Abort()
	var schema *arrow.Schema
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return 0, err
		}
		r, err := table.NewReader(f)
		if err != nil {
			f.Close()
			return 0, fmt.Errorf("%s: %w", p, err)
		}
		if schema == nil {
			schema = r.Schema()
			if err = w.Begin(schema); err != nil {
				r.Release()
				f.Close()
				return 0, err
			}
		} else if !r.Schema().Equal(schema) {
			r.Release()
			f.Close()
			return 0, fmt.Errorf("%s: its columns differ from %s's", p, paths[0])
		}
		for r.Next() {
			if err := w.Write(r.RecordBatch()); err != nil {
				r.Release()
				f.Close()
				return 0, err
			}
		}
		err = r.Err()
		r.Release()
		f.Close()
		if err != nil {
			return 0, fmt.Errorf("%s: %w", p, err)
		}
	}
	return w.Rows(), w.Commit()
}
