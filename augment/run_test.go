package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/testdata"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/croptable"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// faceLandmarks are 68 plausible dlib points of a frontal face centred at
// (100, 110), 160 pixels wide (jaw, brows, nose, eyes, mouth).
func faceLandmarks() []image.Point {
	lm := make([]image.Point, 68)
	pt := func(u, v float64) image.Point { return image.Pt(int(100+u*160), int(110+v*160)) }
	for i := 0; i <= 16; i++ {
		a := math.Pi * float64(i) / 16
		lm[i] = pt(-0.5*math.Cos(a), -0.1+0.55*math.Sin(a))
	}
	for i := 17; i <= 26; i++ {
		lm[i] = pt(-0.4+0.8*float64(i-17)/9, -0.3)
	}
	for i := 27; i <= 35; i++ {
		lm[i] = pt(0, -0.2+0.04*float64(i-27))
	}
	for i := 36; i <= 47; i++ {
		lm[i] = pt(-0.2+0.4*float64((i-36)/6), -0.18)
	}
	for i := 48; i <= 67; i++ {
		lm[i] = pt(0.12*math.Cos(float64(i)), 0.27+0.04*math.Sin(float64(i)))
	}
	lm[33], lm[51], lm[57] = pt(0, 0.13), pt(0, 0.22), pt(0, 0.32)
	return lm
}

type testRow struct {
	id, file      string
	mask, gender  int8
	age           int
	fold          int8
	withLandmarks bool
}

// inputTable writes a 200x240 photo per row and a sample table with a
// fold column and, where asked, landmarks.
func inputTable(t *testing.T, rows []testRow) []byte {
	t.Helper()
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 200, 240))
	for i := range img.Pix {
		img.Pix[i] = 190
	}
	img.Set(5, 5, color.RGBA{0, 0, 0, 255})
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	var samples []table.Sample
	for _, r := range rows {
		path := filepath.Join(dir, r.file)
		if !strings.HasPrefix(r.file, "missing") {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s := table.NewSample(r.id, path, "person-"+r.id, "test", "train")
		s.SetLabels(r.mask, r.gender, r.age, label.DefaultBins)
		samples = append(samples, s)
	}
	schema := table.NewSchema(label.DefaultBins)
	recs := table.Records(memory.DefaultAllocator, schema, samples)
	fields := []arrow.Field{{Name: "fold", Type: arrow.PrimitiveTypes.Int8}, {Name: "landmarks", Type: arrow.ListOf(arrow.PrimitiveTypes.Int16), Nullable: true}}
	out := table.ExtendSchema(schema, fields)
	fb := array.NewInt8Builder(memory.DefaultAllocator)
	lb := array.NewListBuilder(memory.DefaultAllocator, arrow.PrimitiveTypes.Int16)
	for _, r := range rows {
		fb.Append(r.fold)
		if !r.withLandmarks {
			lb.AppendNull()
			continue
		}
		lb.Append(true)
		for _, p := range faceLandmarks() {
			lb.ValueBuilder().(*array.Int16Builder).AppendValues([]int16{int16(p.X), int16(p.Y)}, nil)
		}
	}
	cols := []arrow.Array{fb.NewArray(), lb.NewArray()}
	rec, err := table.Extend(recs[0], out, fields, cols)
	if err != nil {
		t.Fatal(err)
	}
	data, err := table.EncodeRecords(out, table.Stream, rec)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

type outRow struct {
	id, person, source, parent, ops, path string
	mask, label, fold                     int8
	hasLandmarks                          bool
}

func runAugment(t *testing.T, in []byte, args ...string) ([]outRow, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, bytes.NewReader(in), &stdout, &stderr)
	if err != nil {
		return nil, stderr.String(), err
	}
	r, err := table.NewReader(&stdout, "id", "parent_id", "aug_ops", "fold", "landmarks")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var out []outRow
	for r.Next() {
		rec := r.RecordBatch()
		samples := table.Samples(rec)
		str := func(name string, i int) string {
			a, _ := table.Column[*array.String](rec, name)
			if a.IsNull(i) {
				return ""
			}
			return a.Value(i)
		}
		folds, _ := table.Column[*array.Int8](rec, "fold")
		lms, _ := table.Column[*array.List](rec, "landmarks")
		for i, s := range samples {
			out = append(out, outRow{id: s.ID, person: s.Person, source: s.Source, parent: str("parent_id", i), ops: str("aug_ops", i), path: s.Path,
				mask: s.Mask, label: s.Label, fold: folds.Value(i), hasLandmarks: lms.IsValid(i)})
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out, stderr.String(), nil
}

func TestMasks(t *testing.T) {
	in := inputTable(t, []testRow{
		{"a", "a.jpg", label.NoMask, label.Female, 45, 2, true},
		{"b", "b.jpg", label.NoMask, label.Male, 70, 3, false}, // no landmarks
		{"c", "c.jpg", label.Wear, label.Male, 20, 1, true},    // already masked
		{"d", "missing.jpg", label.NoMask, label.Male, 20, 0, true},
	})
	out := t.TempDir()
	sheet := filepath.Join(t.TempDir(), "sheet.png")
	rows, stderr, err := runAugment(t, in, "--out", out, "--masks", "wear,incorrect", "--sheet", sheet, "--max-failed", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if len(rows) != 4+2 {
		t.Fatalf("%d rows, want the 4 inputs + 2 masked copies of a:\n%s", len(rows), stderr)
	}
	for _, want := range []string{"4 masked copies of 2 unmasked faces", "skipped 1 without landmarks and 1 already masked", "2 new rows", "2 failed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, r := range rows[4:] {
		if r.parent != "a" || r.person != "person-a" || r.fold != 2 || r.source != "augment" || !strings.HasPrefix(r.ops, "mask:") {
			t.Errorf("new row %+v does not keep its parent's person and fold", r)
		}
		if !r.hasLandmarks {
			t.Errorf("%s: a drawn mask moves nothing, the landmarks should stay", r.id)
		}
		if _, err := os.Stat(r.path); err != nil || !strings.HasPrefix(r.path, out) {
			t.Errorf("%s: image %s: %v", r.id, r.path, err)
		}
	}
	if rows[4].id != "a~mask-wear" || rows[4].mask != label.Wear || rows[4].label != label.Join(label.Wear, label.Female, 1) {
		t.Errorf("wear row %+v", rows[4])
	}
	if rows[5].id != "a~mask-incorrect" || rows[5].mask != label.Incorrect {
		t.Errorf("incorrect row %+v", rows[5])
	}
	for _, r := range rows[:4] {
		if r.parent != "" || r.ops != "" {
			t.Errorf("input row %s changed: %+v", r.id, r)
		}
	}
	if data, err := os.ReadFile(sheet); err != nil || !bytes.HasPrefix(data, []byte("\x89PNG")) {
		t.Errorf("contact sheet: %v", err)
	}
}

func TestCopiesAreSeeded(t *testing.T) {
	in := inputTable(t, []testRow{{"a", "a.jpg", 2, 0, 30, 0, false}, {"b", "b.jpg", 0, 1, 65, 1, false}})
	images := func(seed string) map[string][]byte {
		out := t.TempDir()
		rows, stderr, err := runAugment(t, in, "--out", out, "--copies", "2", "--seed", seed, "--ops", "flip:0.5,noise(s=5..10):1")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if len(rows) != 6 {
			t.Fatalf("%d rows, want 6", len(rows))
		}
		got := map[string][]byte{}
		for _, r := range rows[2:] {
			if r.fold != map[string]int8{"a": 0, "b": 1}[r.parent] || !strings.Contains(r.ops, "noise") {
				t.Errorf("copy %+v", r)
			}
			got[r.id], _ = os.ReadFile(r.path)
		}
		return got
	}
	a, b, c := images("1"), images("1"), images("2")
	for id := range a {
		if !bytes.Equal(a[id], b[id]) {
			t.Errorf("%s: same seed, different bytes", id)
		}
		if bytes.Equal(a[id], c[id]) {
			t.Errorf("%s: different seed, same bytes", id)
		}
	}
}

func TestBalance(t *testing.T) {
	var rows []testRow
	for i := range 7 {
		rows = append(rows, testRow{fmt.Sprint("y", i), fmt.Sprint("y", i, ".jpg"), 2, 0, 20, 0, false})
	}
	for i := range 2 {
		rows = append(rows, testRow{fmt.Sprint("o", i), fmt.Sprint("o", i, ".jpg"), 2, 0, 70, 0, false})
	}
	out, stderr, err := runAugment(t, inputTable(t, rows), "--out", t.TempDir(), "--balance", "age_group", "--ops", "flip")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	groups := map[int8]int{}
	for _, r := range out {
		groups[r.label%3]++
	}
	if groups[0] != 7 || groups[2] != 7 || len(out) != 14 {
		t.Errorf("after balancing: %v (%d rows), want 7 and 7", groups, len(out))
	}
	if !strings.Contains(stderr, "age_group=2: 2 -> 7") {
		t.Errorf("report:\n%s", stderr)
	}
}

func TestUsage(t *testing.T) {
	in := inputTable(t, []testRow{{"a", "a.jpg", 2, 0, 30, 0, false}})
	// A table straight from facet-prep has no landmarks to draw masks with.
	schema := table.NewSchema(label.DefaultBins)
	plain, err := table.Encode(schema, []table.Sample{table.NewSample("a", "/a.jpg", "a", "x", "train")}, table.Stream)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := runAugment(t, plain, "--out", t.TempDir(), "--masks", "wear"); err == nil || !strings.Contains(err.Error(), "landmarks") {
		t.Errorf("--masks without landmarks: err = %v", err)
	}
	for name, args := range map[string][]string{
		"no out":      {"--copies", "1"},
		"nothing":     {"--out", t.TempDir()},
		"bad ops":     {"--out", t.TempDir(), "--copies", "1", "--ops", "spin:0.5"},
		"bad masks":   {"--out", t.TempDir(), "--masks", "helmet"},
		"bad balance": {"--out", t.TempDir(), "--balance", "age_group=7.5"},
		"no column":   {"--out", t.TempDir(), "--balance", "mood"},
		"bad sheet":   {"--out", t.TempDir(), "--copies", "1", "--sheet", "x.jpg"},
	} {
		if _, _, err := runAugment(t, in, args...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The shards of a run write disjoint rows (originals and their new rows)
// that together are the whole run's, image for image.
func TestShards(t *testing.T) {
	var rows []testRow
	for i := range 12 {
		rows = append(rows, testRow{fmt.Sprintf("r%02d", i), fmt.Sprintf("r%02d.jpg", i), int8(i % 3), int8(i % 2), 30, 0, false})
	}
	in := inputTable(t, rows)
	run := func(shard string) map[string][]byte {
		args := []string{"--out", t.TempDir(), "--copies", "1", "--ops", "noise(s=5..10):1"}
		if shard != "" {
			args = append(args, "--shard", shard)
		}
		out, stderr, err := runAugment(t, in, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		got := map[string][]byte{}
		for _, r := range out {
			got[r.id], _ = os.ReadFile(r.path)
		}
		return got
	}
	whole := run("")
	union := map[string][]byte{}
	for _, s := range []string{"0/2", "1/2"} {
		part := run(s)
		if len(part) == 0 || len(part) == len(whole) {
			t.Errorf("shard %s holds %d of %d rows", s, len(part), len(whole))
		}
		for id, img := range part {
			if _, dup := union[id]; dup {
				t.Errorf("%s in two shards", id)
			}
			union[id] = img
		}
	}
	if len(union) != len(whole) {
		t.Fatalf("the shards hold %d rows, the whole run %d", len(union), len(whole))
	}
	for id, img := range whole {
		if !bytes.Equal(union[id], img) {
			t.Errorf("%s: the shard's image differs from the whole run's", id)
		}
	}
}

// A new image is named by its row's id: a doubled id, or a new row that
// would take an id the table has (an augmented table augmented again into
// the same --out), is refused before any image is written.
func TestDoubledIDs(t *testing.T) {
	for name, tc := range map[string]struct {
		rows []testRow
		want string
	}{
		"doubled id":       {[]testRow{{"a", "a.jpg", 2, 0, 30, 0, false}, {"b", "b.jpg", 2, 1, 30, 0, false}, {"a", "c.jpg", 2, 1, 30, 0, false}}, `rows 1 and 3 both have id "a"`},
		"new id taken":     {[]testRow{{"a", "a.jpg", 2, 0, 30, 0, false}, {"a~aug1", "b.jpg", 2, 1, 30, 0, false}}, `"a~aug1" of row 1 would take the id of row 2`},
		"unique (control)": {[]testRow{{"a", "a.jpg", 2, 0, 30, 0, false}, {"b", "b.jpg", 2, 1, 30, 0, false}}, ""},
	} {
		out := t.TempDir()
		rows, stderr, err := runAugment(t, inputTable(t, tc.rows), "--out", out, "--copies", "1")
		if tc.want == "" {
			if err != nil || len(rows) != 4 {
				t.Errorf("%s: %d rows, %v\n%s", name, len(rows), err, stderr)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
		if files, _ := os.ReadDir(out); len(files) != 0 {
			t.Errorf("%s: %d files written to --out", name, len(files))
		}
	}
}

// A new image that cannot be written is the machine's failure: the run
// stops with an error naming the file and the cause, and no table, instead
// of passing the table on without its new rows. More failed rows than
// --max-failed fail the run too.
func TestFailures(t *testing.T) {
	var rows []testRow
	for i := range 4 {
		rows = append(rows, testRow{fmt.Sprintf("r%d", i), fmt.Sprintf("r%d.jpg", i), 0, 0, 30, 0, false})
	}
	in := inputTable(t, rows)
	out := t.TempDir()
	result := filepath.Join(t.TempDir(), "augmented.arrow")
	restore := testdata.LimitFileSize(t, 100)
	_, stderr, err := runAugment(t, in, "--out", out, "--copies", "1", "-o", result)
	restore()
	if err == nil || !strings.Contains(err.Error(), "writing "+out) || !strings.Contains(err.Error(), "file too large") {
		t.Fatalf("err %v, want the image file and its cause\n%s", err, stderr)
	}
	if _, err := os.Stat(result); !os.IsNotExist(err) {
		t.Error("the table was written")
	}

	rows[1].file, rows[2].file = "missing1.jpg", "missing2.jpg"
	in = inputTable(t, rows)
	for limit, fails := range map[string]bool{"": true, "1": true, "2": false, "50%": false} {
		args := []string{"--out", t.TempDir(), "--copies", "1"}
		if limit != "" {
			args = append(args, "--max-failed", limit)
		}
		_, _, err := runAugment(t, in, args...)
		if fails != (err != nil) || (fails && !strings.Contains(err.Error(), "2 of 4 new images failed")) {
			t.Errorf("--max-failed %q: %v", limit, err)
		}
	}
}

// A table whose photo and crop paths are relative to its own folder is
// augmented from any working directory (croptable.Resolve), the rule
// train, infer and merge follow too.
func TestPathsRelativeToTheTable(t *testing.T) {
	root := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 150
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"photos/a.jpg", "crops/a.jpg"} {
		p := filepath.Join(root, "data", f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := table.NewSample("a", "photos/a.jpg", "pa", "test", "train")
	recs := table.Records(memory.DefaultAllocator, table.NewSchema(label.DefaultBins), []table.Sample{s})
	rec, err := croptable.Extend(recs[0], []croptable.Row{{Crop: "crops/a.jpg", Box: image.Rect(8, 8, 56, 56), Stage: "dlib", Region: image.Rect(0, 0, 64, 64), Face: 0}})
	recs[0].Release()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	data, err := table.EncodeRecords(rec.Schema(), table.File, rec)
	if err != nil {
		t.Fatal(err)
	}
	tablePath := filepath.Join(root, "data", "cropped.arrow")
	if err := os.WriteFile(tablePath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	err = run(context.Background(), []string{"--out", filepath.Join(root, "aug"), "--copies", "1", "--ops", "flip", tablePath}, strings.NewReader(""), &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	r, err := table.NewReader(&stdout, "id", "aug_ops")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var rows int64
	for r.Next() {
		rows += r.RecordBatch().NumRows()
	}
	if rows != 2 {
		t.Errorf("%d rows out, want the photo and its copy\n%s", rows, stderr.String())
	}
}
