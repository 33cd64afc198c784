package fold

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/table"
)

// foldTable is one batch of rows r0, r1, ... with the given folds and
// origins.
func foldTable(t *testing.T, folds []int8, origins []table.Origin) (*arrow.Schema, arrow.RecordBatch) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: table.ColID, Type: arrow.BinaryTypes.String},
		{Name: table.ColFold, Type: arrow.PrimitiveTypes.Int8},
		table.OriginField,
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, f := range folds {
		b.Field(0).(*array.StringBuilder).Append("r" + string(rune('0'+i)))
		b.Field(1).(*array.Int8Builder).Append(f)
		b.Field(2).(*array.Int8Builder).Append(int8(origins[i]))
	}
	return schema, b.NewRecordBatch()
}

// ids reads the ids of an Arrow file.
func ids(t *testing.T, path string) []string {
	t.Helper()
	_, recs, err := table.ReadFile(path, table.ColID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range recs {
		for _, s := range table.Samples(rec) {
			out = append(out, s.ID)
		}
		rec.Release()
	}
	return out
}

func TestWriteAndReadSet(t *testing.T) {
	dir := t.TempDir()
	// An earlier set of more folds: its extra files go.
	for _, name := range []string{TrainFile(2), ValFile(2), "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	schema, rec := foldTable(t,
		[]int8{0, 1, 0, 1, -1, 0},
		[]table.Origin{table.Original, table.Original, table.Augmented, table.Original, table.Original, table.PseudoLabel})
	defer rec.Release()
	m := &Manifest{Folds: 2, By: "person"}
	if err := WriteSet(context.Background(), dir, m, schema, []arrow.RecordBatch{rec}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		TrainFile(0): {"r1", "r3", "r4"}, ValFile(0): {"r0"}, // r2 and r5 follow fold 0 but are made: training only
		TrainFile(1): {"r0", "r2", "r4", "r5"}, ValFile(1): {"r1", "r3"},
	}
	for name, w := range want {
		if got := ids(t, filepath.Join(dir, name)); !slices.Equal(got, w) {
			t.Errorf("%s holds %q, want %q", name, got, w)
		}
	}
	for _, gone := range []string{TrainFile(2), ValFile(2)} {
		if _, err := os.Stat(filepath.Join(dir, gone)); err == nil {
			t.Errorf("%s of the earlier set is still there", gone)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("a file of the user's went: %v", err)
	}
	got, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != 2 || got.Files[1] != (Files{Fold: 1, Train: TrainFile(1), Val: ValFile(1), TrainRows: 4, ValRows: 2}) ||
		!slices.Equal(got.Schema, []string{"id", "fold", "origin"}) || got.By != "person" {
		t.Errorf("manifest read back: %+v", got)
	}
	train, val := Paths(dir, 1)
	if train != filepath.Join(dir, got.Files[1].Train) || val != filepath.Join(dir, got.Files[1].Val) {
		t.Errorf("Paths(dir, 1) = %s, %s", train, val)
	}
}

func TestReadManifest(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"folds": 1, "files": [{"fold": 3}]}`) // names left out: the usual ones
	m, err := ReadManifest(dir)
	if err != nil || m.Files[0].Train != "fold3.train.arrow" || m.Files[0].Val != "fold3.val.arrow" {
		t.Errorf("%+v, %v", m, err)
	}
	for _, bad := range []string{`{"folds": 0, "files": []}`, `{"files": `} {
		write(bad)
		if _, err := ReadManifest(dir); err == nil {
			t.Errorf("%s read", bad)
		}
	}
}
