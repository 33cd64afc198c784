package join

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// sampleTable is one batch of rows with ids, mask labels 0, 1, 2, ... and,
// with extra, a note column.
func sampleTable(t *testing.T, name string, ids []string, extra bool) Table {
	t.Helper()
	md := table.NewSchema(label.DefaultBins).Metadata()
	second := arrow.Field{Name: table.ColMask, Type: arrow.PrimitiveTypes.Int8}
	if extra {
		second = arrow.Field{Name: "note", Type: arrow.BinaryTypes.String}
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: table.ColID, Type: arrow.BinaryTypes.String}, second}, &md)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, id := range ids {
		b.Field(0).(*array.StringBuilder).Append(id)
		if extra {
			b.Field(1).(*array.StringBuilder).Append("n" + id)
		} else {
			b.Field(1).(*array.Int8Builder).Append(int8(i % 3))
		}
	}
	return Table{Name: name, Schema: schema, Recs: []arrow.RecordBatch{b.NewRecordBatch()}}
}

func TestTables(t *testing.T) {
	a := sampleTable(t, "a", []string{"x", "y"}, false)
	b := sampleTable(t, "b", []string{"z", "y"}, true)
	defer a.Recs[0].Release()
	defer b.Recs[0].Release()
	if _, _, _, err := Tables([]Table{a, b}, Refuse); err == nil || !strings.Contains(err.Error(), `id "y" is in a and in b`) {
		t.Errorf("a doubled id: %v", err)
	}
	for _, tc := range []struct {
		prefer string
		ids    string
		masks  string
		notes  string
	}{
		{First, "x y z", "0 1 -1", "(null) (null) nz"},
		{Last, "x z y", "0 -1 -1", "(null) nz ny"},
	} {
		schema, recs, dropped, err := Tables([]Table{a, b}, tc.prefer)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(schemaNames(schema), " "); got != "id mask note" || dropped != 1 {
			t.Errorf("%s: columns %s, %d dropped", tc.prefer, got, dropped)
		}
		var ids, masks, notes []string
		for _, rec := range recs {
			for i := range int(rec.NumRows()) {
				ids = append(ids, rec.Column(0).ValueStr(i))
				masks = append(masks, rec.Column(1).ValueStr(i))
				notes = append(notes, rec.Column(2).ValueStr(i))
			}
			rec.Release()
		}
		if strings.Join(ids, " ") != tc.ids || strings.Join(masks, " ") != tc.masks || strings.Join(notes, " ") != tc.notes {
			t.Errorf("%s: ids %v masks %v notes %v", tc.prefer, ids, masks, notes)
		}
	}
}

func schemaNames(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, f.Name)
	}
	return out
}
