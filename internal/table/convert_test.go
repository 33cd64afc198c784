package table

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/testdata"
)

// foreignTable writes one batch with arrow-go's own IPC writer (not
// facet's, which would write facet's types), columns built by each
// column's build function, in the given format.
func foreignTable(t *testing.T, fields []arrow.Field, build []func(array.Builder), file bool) []byte {
	t.Helper()
	md := NewSchema(label.DefaultBins).Metadata()
	schema := arrow.NewSchema(fields, &md)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i, f := range build {
		f(b.Field(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return testdata.ForeignArrow(t, rec, file)
}

// TestReadOtherWritersTypes reads a table written the way Polars, pyarrow
// and DuckDB write facet's data (string_view and large_utf8 and
// dictionary strings, int64 and uint8 and float64 labels with nulls,
// int64 folds, large lists of float64 probabilities) and gets facet's
// types and values.
func TestReadOtherWritersTypes(t *testing.T) {
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	fields := []arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.StringView},
		{Name: ColPath, Type: arrow.BinaryTypes.LargeString},
		{Name: ColPerson, Type: dictType, Nullable: true},
		{Name: ColMask, Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: ColGender, Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
		{Name: ColAgeGroup, Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: ColAge, Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: ColFold, Type: arrow.PrimitiveTypes.Int64},
		{Name: "prob18", Type: arrow.LargeListOf(arrow.PrimitiveTypes.Float64), Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.LargeString}, // undeclared: strings still become utf8
	}
	probs := []float64{0.25, 0.75}
	build := []func(array.Builder){
		func(b array.Builder) { b.(*array.StringViewBuilder).AppendValues([]string{"a", "b", "c"}, nil) },
		func(b array.Builder) {
			b.(*array.LargeStringBuilder).AppendValues([]string{"/x/a.jpg", "/x/b.jpg", "/x/c.jpg"}, nil)
		},
		func(b array.Builder) {
			d := b.(*array.BinaryDictionaryBuilder)
			_ = d.AppendString("p1")
			_ = d.AppendString("p1")
			d.AppendNull()
		},
		func(b array.Builder) {
			b.(*array.Int64Builder).AppendValues([]int64{0, 2, 0}, []bool{true, true, false})
		},
		func(b array.Builder) {
			b.(*array.Uint8Builder).AppendValues([]uint8{1, 0, 0}, []bool{true, true, false})
		},
		func(b array.Builder) {
			b.(*array.Int32Builder).AppendValues([]int32{2, 0, 0}, []bool{true, true, false})
		},
		func(b array.Builder) {
			b.(*array.Float64Builder).AppendValues([]float64{70, math.NaN(), 0}, []bool{true, true, false})
		},
		func(b array.Builder) { b.(*array.Int64Builder).AppendValues([]int64{0, 1, -1}, nil) },
		func(b array.Builder) {
			l := b.(*array.LargeListBuilder)
			v := l.ValueBuilder().(*array.Float64Builder)
			l.Append(true)
			v.AppendValues(probs, nil)
			l.AppendNull()
			l.Append(true)
			v.AppendValues(probs, nil)
		},
		func(b array.Builder) { b.(*array.LargeStringBuilder).AppendValues([]string{"x", "y", "z"}, nil) },
	}
	for _, file := range []bool{false, true} {
		data := foreignTable(t, fields, build, file)
		r, err := NewReader(bytes.NewReader(data), ColID, ColPath)
		if err != nil {
			t.Fatalf("file=%v: %v", file, err)
		}
		want := map[string]arrow.DataType{
			ColID: arrow.BinaryTypes.String, ColPath: arrow.BinaryTypes.String, ColPerson: arrow.BinaryTypes.String,
			ColMask: arrow.PrimitiveTypes.Int8, ColGender: arrow.PrimitiveTypes.Int8, ColAgeGroup: arrow.PrimitiveTypes.Int8,
			ColAge: arrow.PrimitiveTypes.Int16, ColFold: arrow.PrimitiveTypes.Int8, "note": arrow.BinaryTypes.String,
		}
		for name, typ := range want {
			f, _ := r.Schema().FieldsByName(name)
			if !arrow.TypeEqual(f[0].Type, typ) {
				t.Errorf("file=%v: %s read as %s, want %s", file, name, f[0].Type, typ)
			}
		}
		// prob18 is not declared by table itself (internal/pred does), so
		// here it keeps its type.
		if !r.Next() {
			t.Fatalf("file=%v: no batch: %v", file, r.Err())
		}
		rec := r.RecordBatch()
		s := Samples(rec)
		if s[0].ID != "a" || s[1].Path != "/x/b.jpg" || s[0].Person != "p1" || s[2].Person != "" {
			t.Errorf("file=%v: strings %+v", file, s)
		}
		for i, w := range []struct{ mask, gender, group, age int }{{0, 1, 2, 70}, {2, 0, 0, -1}, {-1, -1, -1, -1}} {
			if int(s[i].Mask) != w.mask || int(s[i].Gender) != w.gender || int(s[i].AgeGroup) != w.group || int(s[i].Age) != w.age {
				t.Errorf("file=%v: row %d: mask %d gender %d age group %d age %d, want %v", file, i, s[i].Mask, s[i].Gender, s[i].AgeGroup, s[i].Age, w)
			}
		}
		folds := rec.Column(rec.Schema().FieldIndices(ColFold)[0]).(*array.Int8)
		if folds.Value(0) != 0 || folds.Value(1) != 1 || folds.Value(2) != -1 {
			t.Errorf("file=%v: folds %v", file, folds)
		}
		if r.Next() || r.Err() != nil {
			t.Errorf("file=%v: a second batch or an error: %v", file, r.Err())
		}
		r.Release()
	}
}

// TestReadDeclaredList converts a large list of float64 to a declared
// list of float32, nulls kept.
func TestReadDeclaredList(t *testing.T) {
	Declare(arrow.Field{Name: "test_probs", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)})
	fields := []arrow.Field{
		{Name: ColID, Type: arrow.BinaryTypes.String},
		{Name: "test_probs", Type: arrow.LargeListOf(arrow.PrimitiveTypes.Float64), Nullable: true},
	}
	build := []func(array.Builder){
		func(b array.Builder) { b.(*array.StringBuilder).AppendValues([]string{"a", "b", "c"}, nil) },
		func(b array.Builder) {
			l := b.(*array.LargeListBuilder)
			v := l.ValueBuilder().(*array.Float64Builder)
			l.Append(true)
			v.AppendValues([]float64{0.5, 0.5}, nil)
			l.AppendNull()
			l.Append(true)
			v.AppendValues([]float64{1, 0, 0}, nil)
		},
	}
	r, err := NewReader(bytes.NewReader(foreignTable(t, fields, build, false)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatal(r.Err())
	}
	l, ok := r.RecordBatch().Column(1).(*array.List)
	if !ok {
		t.Fatalf("test_probs is %s, want list<float32>", r.RecordBatch().Column(1).DataType())
	}
	vals := l.ListValues().(*array.Float32)
	if got := vals.Float32Values(); len(got) != 5 || got[0] != 0.5 || got[2] != 1 {
		t.Errorf("values %v", got)
	}
	if !l.IsNull(1) || l.IsNull(2) {
		t.Error("nulls not kept")
	}
	if s, e := l.ValueOffsets(2); s != 2 || e != 5 {
		t.Errorf("row 2 offsets %d..%d, want 2..5", s, e)
	}
}

// TestReadValuesThatDoNotFit: a value no facet type holds is an error
// naming the column, the table's row and the value.
func TestReadValuesThatDoNotFit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		field arrow.Field
		build func(array.Builder)
		want  string
	}{
		{"mask 300", arrow.Field{Name: ColMask, Type: arrow.PrimitiveTypes.Int64},
			func(b array.Builder) { b.(*array.Int64Builder).AppendValues([]int64{1, 300}, nil) },
			`column "mask", row 2: value 300 does not fit int8`},
		{"age 2.5", arrow.Field{Name: ColAge, Type: arrow.PrimitiveTypes.Float64},
			func(b array.Builder) { b.(*array.Float64Builder).AppendValues([]float64{2.5, 3}, nil) },
			`column "age", row 1: value 2.5 is not a whole number`},
		{"age infinite", arrow.Field{Name: ColAge, Type: arrow.PrimitiveTypes.Float32},
			func(b array.Builder) { b.(*array.Float32Builder).AppendValues([]float32{3, float32(math.Inf(1))}, nil) },
			`column "age", row 2: value +Inf is not a whole number`},
		{"fold as text", arrow.Field{Name: ColFold, Type: arrow.BinaryTypes.String},
			func(b array.Builder) { b.(*array.StringBuilder).AppendValues([]string{"0", "1"}, nil) },
			`column "fold" is utf8, want int8 (or another integer type)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := []arrow.Field{{Name: ColID, Type: arrow.BinaryTypes.String}, tc.field}
			build := []func(array.Builder){
				func(b array.Builder) { b.(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil) },
				tc.build,
			}
			r, err := NewReader(bytes.NewReader(foreignTable(t, fields, build, false)))
			if err == nil {
				for r.Next() {
				}
				err = r.Err()
				r.Release()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestUnknownsWrittenAsNulls: facet's -1 for an unknown label or age is
// a null in what Writer writes, and reads back as -1.
func TestUnknownsWrittenAsNulls(t *testing.T) {
	s := NewSample("a", "/a.jpg", "p", "csv", "train")
	s.Mask = 1 // gender, age group, label and age unknown
	schema := NewSchema(label.DefaultBins)
	data, err := Encode(schema, []Sample{s}, Stream)
	if err != nil {
		t.Fatal(err)
	}
	// What any Arrow reader sees.
	raw, err := ipc.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Release()
	if !raw.Next() {
		t.Fatal(raw.Err())
	}
	rec := raw.RecordBatch()
	for _, col := range []string{ColGender, ColAgeGroup, ColLabel, ColAge} {
		a := rec.Column(rec.Schema().FieldIndices(col)[0])
		if !a.IsNull(0) {
			t.Errorf("%s: unknown written as %v, want null", col, a)
		}
		if f, _ := rec.Schema().FieldsByName(col); !f[0].Nullable {
			t.Errorf("%s: field not nullable", col)
		}
	}
	if m := rec.Column(rec.Schema().FieldIndices(ColMask)[0]).(*array.Int8); m.IsNull(0) || m.Value(0) != 1 {
		t.Errorf("mask %v, want 1", m)
	}
	// What facet reads back.
	got, _, err := readSamples(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Mask != 1 || got[0].Gender != -1 || got[0].AgeGroup != -1 || got[0].Label != -1 || got[0].Age != -1 {
		t.Errorf("read back %+v", got[0])
	}
}

// TestParquetRoundTrip writes samples as Parquet and reads them back:
// the same rows, facet's types, the schema metadata (age bins) kept, and
// unknowns null in the file.
func TestParquetRoundTrip(t *testing.T) {
	bins := label.Bins{30, 58}
	samples := testSamples(5)
	samples[1].Gender, samples[1].Label = -1, -1
	schema := NewSchema(bins)
	data, err := Encode(schema, samples, FormatFor("x.parquet", false))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("PAR1")) {
		t.Fatalf("not Parquet: starts % x", data[:8])
	}
	got, gotSchema, err := readSamples(t, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(samples) {
		t.Fatalf("%d rows back, want %d", len(got), len(samples))
	}
	for i := range samples {
		if got[i] != samples[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], samples[i])
		}
	}
	if b, err := AgeBins(gotSchema); err != nil || b != bins {
		t.Errorf("age bins %v (%v), want %v", b, err, bins)
	}
	if f, _ := gotSchema.FieldsByName(ColMask); !arrow.TypeEqual(f[0].Type, arrow.PrimitiveTypes.Int8) {
		t.Errorf("mask read as %s", f[0].Type)
	}
}

// TestCSVRoundTrip writes a table with core, declared and undeclared
// columns (lists among them, unknowns and nulls) as CSV and reads it
// back: every column comes back with its type and values.
func TestCSVRoundTrip(t *testing.T) {
	Declare(
		arrow.Field{Name: "test_points", Type: arrow.ListOf(arrow.PrimitiveTypes.Int16)},
		arrow.Field{Name: "test_hash", Type: arrow.PrimitiveTypes.Uint64},
		arrow.Field{Name: "test_x0", Type: arrow.PrimitiveTypes.Int32},
	)
	samples := testSamples(4)
	samples[2].Gender, samples[2].Label, samples[2].Age, samples[2].AgeGroup = -1, -1, -1, -1
	samples[3].Race = ""
	base := NewSchema(label.DefaultBins)
	extra := []arrow.Field{
		{Name: ColFold, Type: arrow.PrimitiveTypes.Int8},
		{Name: "test_points", Type: arrow.ListOf(arrow.PrimitiveTypes.Int16), Nullable: true},
		{Name: "test_hash", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: "test_x0", Type: arrow.PrimitiveTypes.Int32},
		{Name: "crop_path", Type: arrow.BinaryTypes.String, Nullable: true}, // undeclared: utf8, empty is null
		{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true}, // undeclared: float64
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}
	schema := ExtendSchema(base, extra)
	mem := memory.DefaultAllocator
	b := array.NewRecordBuilder(mem, arrow.NewSchema(extra, nil))
	defer b.Release()
	b.Field(0).(*array.Int8Builder).AppendValues([]int8{0, 1, -1, 2}, nil)
	pts := b.Field(1).(*array.ListBuilder)
	pv := pts.ValueBuilder().(*array.Int16Builder)
	pts.Append(true)
	pv.AppendValues([]int16{1, -2, 300}, nil)
	pts.AppendNull()
	pts.Append(true) // an empty list
	pts.Append(true)
	pv.AppendValues([]int16{7}, nil)
	b.Field(2).(*array.Uint64Builder).AppendValues([]uint64{1 << 63, 0, 42, 18446744073709551615}, []bool{true, false, true, true})
	b.Field(3).(*array.Int32Builder).AppendValues([]int32{-1, 0, 12, 99}, nil)
	b.Field(4).(*array.StringBuilder).AppendValues([]string{"c/a.jpg", "", "c/b,\"x\".jpg", "c/d.jpg"}, []bool{true, false, true, true})
	b.Field(5).(*array.Float64Builder).AppendValues([]float64{0.5, 1e-7, 0, 2}, []bool{true, true, false, true})
	tags := b.Field(6).(*array.ListBuilder)
	tv := tags.ValueBuilder().(*array.StringBuilder)
	for _, ts := range [][]string{{"a", "b,c"}, nil, {"x"}, {}} {
		if ts == nil {
			tags.AppendNull()
			continue
		}
		tags.Append(true)
		tv.AppendValues(ts, nil)
	}
	cols := b.NewRecordBatch()
	defer cols.Release()
	recs := Records(mem, base, samples)
	rec, err := Extend(recs[0], schema, extra, cols.Columns())
	if err != nil {
		t.Fatal(err)
	}
	recs[0].Release()
	defer rec.Release()

	data, err := EncodeRecords(schema, FormatFor("t.csv", false), rec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"[1,-2,300]"`) {
		t.Errorf("lists not written as JSON arrays:\n%s", data)
	}
	r, err := NewReader(bytes.NewReader(data), ColID, ColPath)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatal(r.Err())
	}
	back := r.RecordBatch()
	if back.NumCols() != rec.NumCols() || back.NumRows() != rec.NumRows() {
		t.Fatalf("%d columns x %d rows back, want %d x %d", back.NumCols(), back.NumRows(), rec.NumCols(), rec.NumRows())
	}
	for i, f := range rec.Schema().Fields() {
		got := back.Column(i)
		if back.Schema().Field(i).Name != f.Name || !arrow.TypeEqual(got.DataType(), f.Type) {
			t.Errorf("column %d: %s %s back, want %s %s", i, back.Schema().Field(i).Name, got.DataType(), f.Name, f.Type)
			continue
		}
		if !array.Equal(got, rec.Column(i)) {
			t.Errorf("column %s: %v back, want %v", f.Name, got, rec.Column(i))
		}
	}
}
