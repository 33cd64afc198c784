package join

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// samples is a table named name of rows with the given ids, mask labels
// 0, 1, ..., and, with made, an origin column (synthetic masks).
func samples(name string, ids []string, made bool) Table {
	schema := table.NewSchema(label.DefaultBins)
	var ss []table.Sample
	for i, id := range ids {
		s := table.NewSample(id, "/"+id+".jpg", id, "test", "train")
		s.Mask = int8(i)
		if made {
			s.Origin = table.SyntheticMask
			schema = table.NewSchema(label.DefaultBins, table.OriginField)
		}
		ss = append(ss, s)
	}
	return Table{Name: name, Schema: schema, Recs: table.Records(memory.DefaultAllocator, schema, ss)}
}

func TestTables(t *testing.T) {
	a := samples("a", []string{"x", "y"}, false)
	b := samples("b", []string{"z", "y"}, true)
	defer a.Recs[0].Release()
	defer b.Recs[0].Release()
	if _, _, _, err := Tables([]Table{a, b}, Refuse); err == nil || !strings.Contains(err.Error(), `id "y" is in a and in b`) {
		t.Errorf("a doubled id: %v", err)
	}
	for _, tc := range []struct {
		prefer, rows string // id/mask/origin of each row
	}{
		{First, "x/0/(null) y/1/(null) z/0/2"},
		{Last, "x/0/(null) z/0/2 y/1/2"},
	} {
		schema, recs, dropped, err := Tables([]Table{a, b}, tc.prefer)
		if err != nil {
			t.Fatal(err)
		}
		if schema.NumFields() != len(table.CoreFields)+1 || !schema.Field(len(table.CoreFields)).Nullable || dropped != 1 {
			t.Errorf("%s: schema %s, %d dropped", tc.prefer, schema, dropped)
		}
		var rows []string
		for _, rec := range recs {
			for i := range int(rec.NumRows()) {
				cols := []int{0, schema.FieldIndices(table.ColMask)[0], schema.FieldIndices(table.ColOrigin)[0]}
				var row []string
				for _, c := range cols {
					row = append(row, rec.Column(c).ValueStr(i))
				}
				rows = append(rows, strings.Join(row, "/"))
			}
			rec.Release()
		}
		if got := strings.Join(rows, " "); got != tc.rows {
			t.Errorf("%s: rows %s, want %s", tc.prefer, got, tc.rows)
		}
	}
}
