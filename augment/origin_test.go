package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// madeRow is what TestOrigin reads of a row.
type madeRow struct {
	origin table.Origin
	parent string
}

// augmentRows runs facet-augment and reads id -> origin and parent_id from
// its output, and the output itself.
func augmentRows(t *testing.T, in []byte, args ...string) (map[string]madeRow, []byte) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, bytes.NewReader(in), &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	out := bytes.Clone(stdout.Bytes())
	r, err := table.NewReader(&stdout, table.ColID, table.ColOrigin, "parent_id")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	got := map[string]madeRow{}
	for r.Next() {
		parent, _ := table.Column[*array.String](r.RecordBatch(), "parent_id")
		for i, s := range table.Samples(r.RecordBatch()) {
			got[s.ID] = madeRow{s.Origin, parent.Value(i)} // "" for null
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
	first, out := augmentRows(t, in, "--out", t.TempDir(), "--copies", "1", "--masks", "wear")
	want := map[string]madeRow{"a": {table.Original, ""}, "c": {table.Original, ""}, "a~mask-wear": {table.SyntheticMask, "a"}}
	copies := 0
	for id, r := range first {
		if w, ok := want[id]; ok {
			if r != w {
				t.Errorf("%s: %+v, want %+v", id, r, w)
			}
			continue
		}
		copies++
		if r.origin != table.Augmented || r.parent == "" {
			t.Errorf("copy %s: %+v, want augmented with a parent", id, r)
		}
	}
	if copies != 2 || len(first) != 5 {
		t.Fatalf("%d rows, %d copies: %v", len(first), copies, first)
	}
	second, _ := augmentRows(t, out, "--out", t.TempDir(), "--masks", "incorrect")
	if len(second) != 6 || second["a~mask-incorrect"] != (madeRow{table.SyntheticMask, "a"}) {
		t.Fatalf("second pass: want the 5 rows and a~mask-incorrect (synthetic mask of a): %v", second)
	}
	for id, r := range first {
		if second[id] != r {
			t.Errorf("second pass: %s: %+v, was %+v", id, second[id], r)
		}
	}
}
