package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/table"
)

// withOrigins rewrites the Arrow file at path with an origin column: every
// row whose index is a multiple of every is made (augmented, synthetic
// mask or pseudo label in turn), the rest original. It returns the ids of
// the made rows.
func withOrigins(t *testing.T, path string, every int) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := table.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := table.ReadAll(r)
	r.Release()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	fields := []arrow.Field{table.OriginField}
	schema := table.ExtendSchema(recs[0].Schema(), fields)
	var buf bytes.Buffer
	w, err := table.NewWriter(&buf, schema, table.File)
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{}
	row := 0
	kinds := []table.Origin{table.Augmented, table.SyntheticMask, table.PseudoLabel}
	for _, rec := range recs {
		b := array.NewInt8Builder(memory.DefaultAllocator)
		for _, s := range table.Samples(rec) {
			o := table.Original
			if row%every == 0 {
				o = kinds[row/every%len(kinds)]
				made[s.ID] = true
			}
			b.Append(int8(o))
			row++
		}
		col := b.NewArray()
		ext, err := table.Extend(rec, schema, fields, []arrow.Array{col})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ext); err != nil {
			t.Fatal(err)
		}
		ext.Release()
		col.Release()
		b.Release()
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return made
}

// Rows a stage made are never validation data: facet-train scores and
// predicts the original rows of its validation table only, whatever
// table it is given.
func TestValidationLeavesMadeRowsOut(t *testing.T) {
	data := t.TempDir()
	trainPath := colourTable(t, data, "train", 48, 1)
	valPath := colourTable(t, data, "val", 32, 2)
	made := withOrigins(t, valPath, 4)
	withOrigins(t, trainPath, 4) // training on made rows is what they are for
	out := filepath.Join(t.TempDir(), "run")
	stderr, err := runTrain(append([]string{"--out", out, "--train", trainPath, "--val", valPath, "--epochs", "1"}, fastArgs...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if len(made) != 8 || !strings.Contains(stderr, "8 rows made by facet stages") {
		t.Errorf("%d made rows; stderr does not count them:\n%s", len(made), stderr)
	}
	checkOOF(t, filepath.Join(out, "oof.arrow"), 32-len(made))
	ids := readIDs(t, filepath.Join(out, "oof.arrow"))
	for _, id := range ids {
		if made[id] {
			t.Errorf("made row %s in oof.arrow", id)
		}
	}
	if l := metricLines(t, filepath.Join(out, "metrics.jsonl")); len(l) != 1 || int(l[0]["val_n_18"].(float64)) != 32-len(made) {
		t.Errorf("metrics count %v validation rows, want %d", l[0]["val_n_18"], 32-len(made))
	}
	cfg, _ := os.ReadFile(filepath.Join(out, "config.json"))
	if !strings.Contains(string(cfg), `"val_rows": 24`) || !strings.Contains(string(cfg), `"train_rows": 48`) {
		t.Errorf("config.json counts:\n%s", cfg)
	}
}

// readIDs reads the id column of an Arrow file.
func readIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := table.NewReader(f, table.ColID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var ids []string
	for r.Next() {
		for _, s := range table.Samples(r.RecordBatch()) {
			ids = append(ids, s.ID)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}
