package main

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// samplesTable writes core rows (ids, mask = 0, 1, 2, ...) plus a fold
// column of type foldType (nil: none).
func samplesTable(t *testing.T, path string, bins label.Bins, ids []string, foldType arrow.DataType) string {
	t.Helper()
	var samples []table.Sample
	for i, id := range ids {
		s := table.NewSample(id, "/img/"+id+".jpg", "p"+id, "competition", "train")
		s.SetLabels(int8(i%3), 1, 40, bins)
		samples = append(samples, s)
	}
	schema := table.NewSchema(bins)
	recs := table.Records(memory.DefaultAllocator, schema, samples)
	if foldType != nil {
		fields := []arrow.Field{{Name: "fold", Type: foldType}}
		ext := table.ExtendSchema(schema, fields)
		b := array.NewBuilder(memory.DefaultAllocator, foldType)
		for i := range ids {
			switch b := b.(type) {
			case *array.Int8Builder:
				b.Append(int8(i))
			case *array.StringBuilder:
				b.Append("f")
			}
		}
		col := b.NewArray()
		r, err := table.Extend(recs[0], ext, fields, []arrow.Array{col})
		if err != nil {
			t.Fatal(err)
		}
		recs[0].Release()
		col.Release()
		recs[0], schema = r, ext
	}
	return writeRecords(t, path, schema, recs)
}

// pseudoTable writes a table of another shape: id, path, mask, and a
// score column; no person, gender, age...
func pseudoTable(t *testing.T, path string, ids []string) string {
	t.Helper()
	md := arrow.NewMetadata([]string{table.MetaVersion, table.MetaAgeBins}, []string{"1", "30,60"})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "score", Type: arrow.PrimitiveTypes.Float32},
		{Name: "mask", Type: arrow.PrimitiveTypes.Int8},
		{Name: "path", Type: arrow.BinaryTypes.String},
	}, &md)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, id := range ids {
		b.Field(0).(*array.StringBuilder).Append(id)
		b.Field(1).(*array.Float32Builder).Append(0.9)
		b.Field(2).(*array.Int8Builder).Append(2)
		b.Field(3).(*array.StringBuilder).Append("/pseudo/" + id + ".jpg")
	}
	return writeRecords(t, path, schema, []arrow.RecordBatch{b.NewRecordBatch()})
}

type joined struct {
	schema *arrow.Schema
	cols   map[string][]string // column -> values as strings, "(null)" for null
}

func readJoined(t *testing.T, data []byte) joined {
	t.Helper()
	r, err := table.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	j := joined{schema: r.Schema(), cols: map[string][]string{}}
	for r.Next() {
		rec := r.RecordBatch()
		for c, f := range rec.Schema().Fields() {
			col := rec.Column(c)
			for i := range col.Len() {
				j.cols[f.Name] = append(j.cols[f.Name], col.ValueStr(i))
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return j
}

func TestJoinSchemas(t *testing.T) {
	dir := t.TempDir()
	a := samplesTable(t, filepath.Join(dir, "a.arrow"), label.DefaultBins, []string{"a1", "a2"}, arrow.PrimitiveTypes.Int8)
	p := pseudoTable(t, filepath.Join(dir, "p.arrow"), []string{"p1"})
	stdout, stderr, err := runMerge(t, nil, "join", a, p)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	j := readJoined(t, stdout)
	var names []string
	for _, f := range j.schema.Fields() {
		names = append(names, f.Name)
	}
	want := []string{"id", "path", "person", "source", "subset", "race", "mask", "gender", "age_group", "label", "age", "fold", "score"}
	if !slices.Equal(names, want) {
		t.Fatalf("columns %v, want %v", names, want)
	}
	for col, vals := range map[string][]string{
		"id":        {"a1", "a2", "p1"},
		"path":      {"/img/a1.jpg", "/img/a2.jpg", "/pseudo/p1.jpg"},
		"mask":      {"0", "1", "2"},
		"gender":    {"1", "1", "-1"},   // missing label column: -1
		"age_group": {"1", "1", "-1"},   //
		"label":     {"4", "10", "-1"},  // mask*6 + gender*3 + age_group
		"age":       {"40", "40", "-1"}, // int16 -1
		"person":    {"pa1", "pa2", "(null)"},
		"fold":      {"0", "1", "(null)"},
		"score":     {"(null)", "(null)", "0.9"},
	} {
		if !slices.Equal(j.cols[col], vals) {
			t.Errorf("%s = %v, want %v", col, j.cols[col], vals)
		}
	}
	if bins, _ := table.AgeBins(j.schema); bins != label.DefaultBins {
		t.Errorf("age bins %v", bins)
	}
	if f, _ := j.schema.FieldsByName("score"); !f[0].Nullable {
		t.Error("score, null in some rows, is not nullable")
	}

	// A fold column of text: refused as the table is read, naming it.
	s := samplesTable(t, filepath.Join(dir, "s.arrow"), label.DefaultBins, []string{"s1"}, arrow.BinaryTypes.String)
	if _, _, err := runMerge(t, nil, "join", a, s); err == nil || !strings.Contains(err.Error(), s+`: column "fold" is utf8, want int8`) {
		t.Errorf("type clash: %v", err)
	}
	// Different age bins are refused.
	b58 := samplesTable(t, filepath.Join(dir, "b58.arrow"), label.Bins{30, 58}, []string{"b1"}, nil)
	if _, _, err := runMerge(t, nil, "join", a, b58); err == nil || !strings.Contains(err.Error(), "age bins 30,60 in "+a+" and 30,58 in "+b58) {
		t.Errorf("different age bins: %v", err)
	}
}

func TestJoinDuplicates(t *testing.T) {
	dir := t.TempDir()
	a := samplesTable(t, filepath.Join(dir, "a.arrow"), label.DefaultBins, []string{"x", "y", "z"}, nil)
	p := pseudoTable(t, filepath.Join(dir, "p.arrow"), []string{"new", "y"})
	if _, _, err := runMerge(t, nil, "join", a, p); err == nil || !strings.Contains(err.Error(), `id "y" is in `+a+" and in "+p) {
		t.Errorf("doubled id: %v", err)
	}
	for _, tc := range []struct {
		prefer   string
		ids, msk []string
	}{
		{"first", []string{"x", "y", "z", "new"}, []string{"0", "1", "2", "2"}},
		{"last", []string{"x", "z", "new", "y"}, []string{"0", "2", "2", "2"}},
	} {
		stdout, stderr, err := runMerge(t, nil, "join", "--prefer", tc.prefer, a, p)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		j := readJoined(t, stdout)
		if !slices.Equal(j.cols["id"], tc.ids) || !slices.Equal(j.cols["mask"], tc.msk) {
			t.Errorf("--prefer %s: ids %v masks %v, want %v %v", tc.prefer, j.cols["id"], j.cols["mask"], tc.ids, tc.msk)
		}
		if !strings.Contains(stderr, "1 rows with a doubled id dropped") {
			t.Errorf("--prefer %s report: %s", tc.prefer, stderr)
		}
	}
	// A table doubled within itself, read from stdin.
	twice := samplesTable(t, filepath.Join(dir, "twice.arrow"), label.DefaultBins, []string{"q", "q"}, nil)
	data := readFile(t, twice)
	if _, _, err := runMerge(t, data, "join", "-"); err == nil || !strings.Contains(err.Error(), `id "q" is twice in stdin`) {
		t.Errorf("id twice in one table: %v", err)
	}
}

func TestJoinCSV(t *testing.T) {
	dir := t.TempDir()
	a := samplesTable(t, filepath.Join(dir, "a.arrow"), label.DefaultBins, []string{"x"}, nil)
	p := pseudoTable(t, filepath.Join(dir, "p.arrow"), []string{"y"})
	stdout, _, err := runMerge(t, nil, "join", "--csv", a, p)
	if err != nil {
		t.Fatal(err)
	}
	// Unknown labels are empty (null), not -1.
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	if len(lines) != 3 || lines[0] != "id,path,person,source,subset,race,mask,gender,age_group,label,age,score" ||
		!strings.HasPrefix(lines[2], "y,/pseudo/y.jpg,,,,,2,,,,,0.9") {
		t.Errorf("csv:\n%s", stdout)
	}
}
