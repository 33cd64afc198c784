package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// origins runs facet-augment and reads id -> origin from its output, and
// the output itself.
func origins(t *testing.T, in []byte, args ...string) (map[string]table.Origin, []byte) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, bytes.NewReader(in), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	out := bytes.Clone(stdout.Bytes())
	r, err := table.NewReader(&stdout, table.ColID, table.ColOrigin)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	got := map[string]table.Origin{}
	for r.Next() {
		rec := r.RecordBatch()
		os := table.Origins(rec)
		for i, s := range table.Samples(rec) {
			got[s.ID] = os[i]
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return got, out
}

// Every row says where it comes from: the input's rows are original, an
// augmented copy and a drawn mask say so, and a second pass keeps what
// the first made.
func TestOrigin(t *testing.T) {
	in := inputTable(t, []testRow{
		{"a", "a.jpg", label.NoMask, label.Female, 45, 2, true},
		{"c", "c.jpg", label.Wear, label.Male, 20, 1, true},
	})
	first, out := origins(t, in, "--out", t.TempDir(), "--copies", "1", "--masks", "wear")
	want := map[string]table.Origin{"a": table.Original, "c": table.Original, "a~mask-wear": table.SyntheticMask}
	copies := 0
	for id, o := range first {
		if w, ok := want[id]; ok {
			if o != w {
				t.Errorf("%s: origin %s, want %s", id, o, w)
			}
			continue
		}
		copies++
		if o != table.Augmented {
			t.Errorf("copy %s: origin %s, want augmented", id, o)
		}
	}
	if copies != 2 || len(first) != 5 {
		t.Fatalf("%d rows, %d copies: %v", len(first), copies, first)
	}
	second, out2 := origins(t, out, "--out", t.TempDir(), "--masks", "incorrect")
	if len(second) != 6 || second["a~mask-incorrect"] != table.SyntheticMask {
		t.Fatalf("second pass: want the 5 rows and a~mask-incorrect (synthetic mask): %v", second)
	}
	for id, o := range first {
		if second[id] != o {
			t.Errorf("second pass: %s: origin %s, was %s", id, second[id], o)
		}
	}
	if parents := parentIDs(t, out2); parents["a~mask-wear"] != "a" || parents["a~mask-incorrect"] != "a" || parents["a"] != "" {
		t.Errorf("second pass: parents %v", parents)
	}
}

// parentIDs reads id -> parent_id ("" for null) of a table.
func parentIDs(t *testing.T, data []byte) map[string]string {
	t.Helper()
	r, err := table.NewReader(bytes.NewReader(data), table.ColID, "parent_id")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	out := map[string]string{}
	for r.Next() {
		rec := r.RecordBatch()
		parent, _ := column[*array.String](rec, "parent_id")
		for i, s := range table.Samples(rec) {
			out[s.ID] = parent.Value(i) // "" for null
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
