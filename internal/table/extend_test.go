package table

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
)

func TestExtendAddsAndReplaces(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := NewSchema(label.Bins{30, 58})
	recs := Records(mem, schema, testSamples(3))
	rec := recs[0]
	defer rec.Release()

	fold := arrow.Field{Name: "fold", Type: arrow.PrimitiveTypes.Int8}
	mk := func(vals ...int8) arrow.Array {
		b := array.NewInt8Builder(mem)
		defer b.Release()
		b.AppendValues(vals, nil)
		return b.NewArray()
	}
	a := mk(0, 1, 2)
	defer a.Release()
	s1 := ExtendSchema(rec.Schema(), []arrow.Field{fold})
	r1, err := Extend(rec, s1, []arrow.Field{fold}, []arrow.Array{a})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Release()
	if r1.NumCols() != int64(len(CoreFields))+1 || r1.Schema().Field(len(CoreFields)).Name != "fold" {
		t.Fatalf("extended schema %v", r1.Schema())
	}
	if bins, _ := AgeBins(r1.Schema()); bins != (label.Bins{30, 58}) {
		t.Error("metadata lost")
	}
	// Extending again replaces the column instead of adding a second.
	b := mk(4, 4, 4)
	defer b.Release()
	s2 := ExtendSchema(r1.Schema(), []arrow.Field{fold})
	r2, err := Extend(r1, s2, []arrow.Field{fold}, []arrow.Array{b})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Release()
	if r2.NumCols() != r1.NumCols() || r2.Column(len(CoreFields)).(*array.Int8).Value(0) != 4 {
		t.Errorf("re-extending gave %d columns", r2.NumCols())
	}
	if got := Samples(r2); got[2] != testSamples(3)[2] {
		t.Errorf("core columns changed: %+v", got[2])
	}
	short := mk(1)
	defer short.Release()
	if r, err := Extend(rec, s1, []arrow.Field{fold}, []arrow.Array{short}); err == nil {
		r.Release()
		t.Error("a column of the wrong length was accepted")
	}
}

func TestFilter(t *testing.T) {
	schema := NewSchema(label.Bins{30, 58})
	recs := Records(memory.DefaultAllocator, schema, testSamples(4))
	rec := recs[0]
	defer rec.Release()
	sel, err := Filter(rec, []bool{true, false, false, true})
	if err != nil {
		t.Fatal(err)
	}
	got := Samples(sel)
	sel.Release()
	want := Samples(rec)
	if len(got) != 2 || got[0] != want[0] || got[1] != want[3] {
		t.Errorf("kept %v, want rows 0 and 3", got)
	}
	all, err := Filter(rec, []bool{true, true, true, true})
	if err != nil || all.NumRows() != 4 {
		t.Fatalf("keeping every row: %v", err)
	}
	all.Release()
	if _, err := Filter(rec, []bool{true}); err == nil {
		t.Error("one mark for four rows accepted")
	}
}

func TestTake(t *testing.T) {
	schema := NewSchema(label.Bins{30, 58})
	recs := Records(memory.DefaultAllocator, schema, testSamples(4))
	rec := recs[0]
	defer rec.Release()
	// a list column too, as facet-crop's landmarks
	lf := arrow.Field{Name: "points", Type: arrow.ListOf(arrow.PrimitiveTypes.Int16), Nullable: true}
	lb := array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Int16)
	defer lb.Release()
	for i := range 4 {
		if i == 2 {
			lb.AppendNull()
			continue
		}
		lb.Append(true)
		lb.ValueBuilder().(*array.Int16Builder).AppendValues([]int16{int16(i), int16(10 * i)}, nil)
	}
	list := lb.NewArray()
	defer list.Release()
	s := ExtendSchema(rec.Schema(), []arrow.Field{lf})
	withList, err := Extend(rec, s, []arrow.Field{lf}, []arrow.Array{list})
	if err != nil {
		t.Fatal(err)
	}
	defer withList.Release()

	rows := []int{1, 1, 1, 2, 0, 3, 3}
	got, err := Take(withList, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if got.NumRows() != int64(len(rows)) || !got.Schema().Equal(withList.Schema()) {
		t.Fatalf("took %d rows of schema %v", got.NumRows(), got.Schema())
	}
	in, out := Samples(withList), Samples(got)
	pts := got.Column(len(CoreFields)).(*array.List)
	for i, r := range rows {
		if out[i] != in[r] {
			t.Errorf("row %d is %+v, want row %d %+v", i, out[i], r, in[r])
		}
		if pts.IsNull(i) != (r == 2) {
			t.Errorf("row %d: points null %v, want %v", i, pts.IsNull(i), r == 2)
		}
		if r != 2 {
			lo, _ := pts.ValueOffsets(i)
			if v := pts.ListValues().(*array.Int16).Value(int(lo) + 1); v != int16(10*r) {
				t.Errorf("row %d: points[1] = %d, want %d", i, v, 10*r)
			}
		}
	}
	none, err := Take(withList, nil)
	if err != nil || none.NumRows() != 0 {
		t.Fatalf("taking no row: %v rows, %v", none.NumRows(), err)
	}
	none.Release()
	for _, bad := range [][]int{{4}, {-1}} {
		if r, err := Take(withList, bad); err == nil {
			r.Release()
			t.Errorf("rows %v of 4 accepted", bad)
		}
	}
}
