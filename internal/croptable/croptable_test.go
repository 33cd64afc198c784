package croptable

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/dup"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// testRows are a detected face with landmarks and edges, a photo that
// gave no crop, and a face without landmarks whose region starts left of
// and above the photo (facet-crop pads it).
func testRows() []Row {
	lms := make([]image.Point, NumLandmarks)
	for k := range lms {
		lms[k] = image.Pt(10+k, 200-k)
	}
	edges := &dup.Edges{1, 2, 3, 4, 5, 6, 7, 1 << 63}
	return []Row{
		{Photo: "p/a.jpg", Crop: "c/a.jpg", Box: image.Rect(40, 50, 140, 160), Stage: "dlib", Score: 1.25, Faces: 2,
			Landmarks: lms, Region: image.Rect(20, 30, 180, 190), Angle: -7.5, Hash: 0xfeedface, Edges: edges, Face: 0},
		{Photo: "p/b.jpg", Error: "no face: nothing found", Face: -1},
		{Photo: "p/c.jpg", Crop: "c/c.jpg", Box: image.Rect(0, 2, 30, 40), Stage: "cascade", Score: 0.5, Faces: 1,
			Region: image.Rect(-12, -8, 48, 52), Hash: 7, Face: 3},
	}
}

// cropped is a sample table of rows' photos with their crop columns.
func cropped(t *testing.T, rows []Row) arrow.RecordBatch {
	t.Helper()
	samples := make([]table.Sample, len(rows))
	for i, r := range rows {
		samples[i] = table.NewSample(string(rune('a'+i)), r.Photo, "person", "test", "train")
	}
	recs := table.Records(memory.DefaultAllocator, table.NewSchema(label.DefaultBins), samples)
	defer recs[0].Release()
	rec, err := Extend(recs[0], rows)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestExtendReadRoundTrip(t *testing.T) {
	want := testRows()
	rec := cropped(t, want)
	defer rec.Release()
	for _, f := range Fields {
		if idx := rec.Schema().FieldIndices(f.Name); len(idx) != 1 || !arrow.TypeEqual(rec.Schema().Field(idx[0]).Type, f.Type) {
			t.Errorf("column %s missing or of another type in %s", f.Name, rec.Schema())
		}
	}
	// The failed row is nulls and -1s, as facet-crop always wrote it.
	crop := rec.Column(rec.Schema().FieldIndices(ColCrop)[0])
	x0 := rec.Column(rec.Schema().FieldIndices(ColX0)[0]).(*array.Int32)
	side := rec.Column(rec.Schema().FieldIndices(ColSide)[0]).(*array.Int32)
	if crop.IsValid(1) || x0.Value(1) != -1 || side.Value(1) != -1 {
		t.Errorf("failed row: crop_path valid %v, x0 %d, crop_side %d; want null, -1, -1", crop.IsValid(1), x0.Value(1), side.Value(1))
	}
	got, err := Read(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
}

// The types survive the formats other tools read: CSV (lists as JSON)
// and Parquet, by table.Declare.
func TestFormatsRoundTrip(t *testing.T) {
	want := testRows()
	rec := cropped(t, want)
	defer rec.Release()
	for _, f := range []table.Format{table.Stream, table.File, table.CSV, table.Parquet} {
		data, err := table.EncodeRecords(rec.Schema(), f, rec)
		if err != nil {
			t.Fatal(err)
		}
		r, err := table.NewReader(bytes.NewReader(data), table.ColID)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !r.Next() {
			t.Fatalf("%s: %v", f, r.Err())
		}
		got, err := Read(r.RecordBatch())
		if err != nil {
			t.Errorf("%s: %v", f, err)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read back\n%+v\nwant\n%+v", f, got, want)
		}
		r.Release()
	}
}

func TestReadUncropped(t *testing.T) {
	samples := []table.Sample{table.NewSample("a", "p/a.jpg", "x", "test", "train")}
	recs := table.Records(memory.DefaultAllocator, table.NewSchema(label.DefaultBins), samples)
	defer recs[0].Release()
	got, err := Read(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{{Photo: "p/a.jpg", Face: -1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got[0].Cropped() || got[0].Image("") != "p/a.jpg" {
		t.Errorf("an uncropped row's image is %q (cropped %v), want its photo", got[0].Image(""), got[0].Cropped())
	}
}

func TestReadRefuses(t *testing.T) {
	rec := cropped(t, testRows())
	defer rec.Release()
	replace := func(name string, a arrow.Array) arrow.RecordBatch {
		f := arrow.Field{Name: name, Type: a.DataType(), Nullable: true}
		out, err := table.Extend(rec, table.ExtendSchema(rec.Schema(), []arrow.Field{f}), []arrow.Field{f}, []arrow.Array{a})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	mem := memory.DefaultAllocator
	ib := array.NewInt32Builder(mem)
	ib.AppendValues([]int32{1, 2, 3}, nil)
	ints := ib.NewArray()
	defer ints.Release()
	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int16)
	lv := lb.ValueBuilder().(*array.Int16Builder)
	lb.Append(true)
	lv.AppendValues([]int16{1, 2, 3, 4}, nil)
	lb.AppendNull()
	lb.AppendNull()
	short := lb.NewArray()
	defer short.Release()
	for _, c := range []struct {
		name string
		a    arrow.Array
		want string
	}{
		{ColCrop, ints, "column crop_path is int32"},
		{ColLandmarks, short, "row 0: column landmarks holds 4 values, want 136"},
	} {
		bad := replace(c.name, c.a)
		_, err := Read(bad)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.name, err, c.want)
		}
		// ReadImages reads the two file columns only: bad landmarks are
		// no concern of a stage that only opens images.
		_, err = ReadImages(bad)
		if c.name == ColLandmarks && err != nil {
			t.Errorf("ReadImages with bad landmarks: %v", err)
		}
		if c.name == ColCrop && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("ReadImages with an int32 crop_path: got %v, want an error with %q", err, c.want)
		}
		bad.Release()
	}
}

func TestResolve(t *testing.T) {
	root := t.TempDir()
	tables := filepath.Join(root, "tables")
	for _, f := range []string{"tables/crops/a.jpg", "work/crops/a.jpg", "tables/only.jpg"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(filepath.Join(root, "work"))
	abs := filepath.Join(root, "tables", "only.jpg")
	for _, c := range []struct{ path, dir, want string }{
		{"crops/a.jpg", tables, "crops/a.jpg"},                  // found from the working directory first
		{"only.jpg", tables, filepath.Join(tables, "only.jpg")}, // else from the table's folder
		{"missing.jpg", tables, "missing.jpg"},                  // neither: itself, for the reader to report
		{"only.jpg", "", "only.jpg"},                            // standard input has no folder
		{abs, tables, abs},                                      // absolute
		{"", tables, ""},                                        // no path
	} {
		if got := Resolve(c.path, c.dir); got != c.want {
			t.Errorf("Resolve(%q, %q) = %q, want %q", c.path, c.dir, got, c.want)
		}
	}
	r := Row{Photo: "only.jpg", Crop: "crops/a.jpg"}
	if got := r.Image(tables); got != "crops/a.jpg" {
		t.Errorf("Image = %q, want the crop", got)
	}
	r.Crop = ""
	if got := r.Image(tables); got != filepath.Join(tables, "only.jpg") {
		t.Errorf("Image without a crop = %q, want the photo from the table's folder", got)
	}
	for name, want := range map[string]string{"-": "", "": "", "t.arrow": ".", "x/y/t.arrow": "x/y"} {
		if got := TableDir(name); got != want {
			t.Errorf("TableDir(%q) = %q, want %q", name, got, want)
		}
	}
}
