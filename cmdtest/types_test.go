package cmdtest

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/testdata"
)

// polarsTable is a sample table as Polars, pyarrow or DuckDB write one:
// string_view and large_utf8 and dictionary strings, int64 and uint8
// labels with nulls, float64 ages with NaN, in the Arrow file format.
func polarsTable(t *testing.T, n int) []byte {
	t.Helper()
	dict := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	md := table.NewSchema(label.DefaultBins).Metadata()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.StringView},
		{Name: "path", Type: arrow.BinaryTypes.LargeString},
		{Name: "person", Type: dict},
		{Name: "source", Type: arrow.BinaryTypes.LargeString},
		{Name: "subset", Type: arrow.BinaryTypes.StringView},
		{Name: "mask", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "gender", Type: arrow.PrimitiveTypes.Uint8, Nullable: true},
		{Name: "age_group", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "label", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "age", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, &md)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.StringViewBuilder).Append(fmt.Sprintf("train/%05d", i))
		b.Field(1).(*array.LargeStringBuilder).Append(fmt.Sprintf("/nonexistent/%05d.jpg", i))
		_ = b.Field(2).(*array.BinaryDictionaryBuilder).AppendString(fmt.Sprintf("p%d", i/2))
		b.Field(3).(*array.LargeStringBuilder).Append("competition")
		b.Field(4).(*array.StringViewBuilder).Append("train")
		m, g, a := i%3, i/3%2, i/6%3
		b.Field(5).(*array.Int64Builder).Append(int64(m))
		if i%5 == 4 { // unknown gender: null, and so the label
			b.Field(6).(*array.Uint8Builder).AppendNull()
			b.Field(8).(*array.Int64Builder).AppendNull()
		} else {
			b.Field(6).(*array.Uint8Builder).Append(uint8(g))
			b.Field(8).(*array.Int64Builder).Append(int64(m*6 + g*3 + a))
		}
		b.Field(7).(*array.Int32Builder).Append(int32(a))
		if i%4 == 3 {
			b.Field(9).(*array.Float64Builder).Append(math.NaN()) // pandas' unknown
		} else {
			b.Field(9).(*array.Float64Builder).Append(float64([]int{20, 45, 70}[a]))
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return testdata.ForeignArrow(t, rec, true)
}

// TestOtherToolsTables runs every table-reading program on a table with
// the types other tools write, as an Arrow file, as the Parquet and the
// CSV facet makes of it, and checks each reads every row.
func TestOtherToolsTables(t *testing.T) {
	const n = 12
	dir := t.TempDir()
	polars := filepath.Join(dir, "polars.arrow")
	if err := os.WriteFile(polars, polarsTable(t, n), 0o644); err != nil {
		t.Fatal(err)
	}
	// facet's own Parquet and CSV of it, by extension.
	for _, ext := range []string{"parquet", "csv"} {
		_, stderr, code := sh(t, dir, "facet-merge join -o polars."+ext+" polars.arrow", nil)
		if code != 0 {
			t.Fatalf("join to .%s: exit %d\n%s", ext, code, stderr)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "polars.parquet")); !bytes.HasPrefix(data, []byte("PAR1")) {
		t.Errorf("-o polars.parquet is not Parquet")
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "polars.csv")); !bytes.HasPrefix(data, []byte("id,path,")) {
		t.Errorf("-o polars.csv is not CSV: %.40q", data)
	}
	readers := tableReaders(t)
	readers["facet-crop"] += " --max-failed 100%"
	readers["facet-augment"] += " --max-failed 100%"
	for _, in := range []string{"polars.arrow", "polars.parquet", "polars.csv"} {
		for prog, flags := range readers {
			what := prog + " on " + in
			out := filepath.Join(t.TempDir(), "out.arrow")
			script := fmt.Sprintf("%s %s -o %s < %s", prog, strings.ReplaceAll(flags, "OUT", filepath.Join(t.TempDir(), "o")), out, filepath.Join(dir, in))
			_, stderr, code := sh(t, dir, script, nil)
			if code != 0 {
				t.Errorf("%s: exit %d\n%s", what, code, stderr)
				continue
			}
			got := readTable(t, out)
			if got.rows < n {
				t.Errorf("%s: %d rows out, want %d at least", what, got.rows, n)
			}
			if got.unknownGenders == 0 {
				t.Errorf("%s: the null genders did not come through as unknown", what)
			}
		}
	}
}

// tableSummary is what TestOtherToolsTables checks of an output.
type tableSummary struct{ rows, unknownGenders int }

func readTable(t *testing.T, path string) tableSummary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := table.NewReader(f, "id", "gender")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var s tableSummary
	for r.Next() {
		for _, smp := range table.Samples(r.RecordBatch()) {
			s.rows++
			if smp.Gender == label.Unknown {
				s.unknownGenders++
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}
