package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/crop"
	"github.com/boostershot/facet/internal/demo"
	"github.com/boostershot/facet/internal/dlib"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/testdata"
)

// photo is a 384x512 test picture: white top half, black bottom half.
func photo() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 384, 512))
	for y := 0; y < 512; y++ {
		for x := 0; x < 384; x++ {
			v := uint8(255)
			if y >= 256 {
				v = 0
			}
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	return img
}

type row struct{ id, file string }

// inputTable writes files into a temp folder and returns a sample table
// (Arrow stream) of them with an extra "note" column that crop must pass on.
func inputTable(t *testing.T, files map[string][]byte, rows []row) ([]byte, string) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var samples []table.Sample
	for _, r := range rows {
		samples = append(samples, table.NewSample(r.id, filepath.Join(dir, r.file), r.id, "test", "train"))
	}
	schema := table.NewSchema(label.DefaultBins)
	recs := table.Records(memory.DefaultAllocator, schema, samples)
	note := arrow.Field{Name: "note", Type: arrow.BinaryTypes.String}
	ext := table.ExtendSchema(schema, []arrow.Field{note})
	var buf bytes.Buffer
	w, err := table.NewWriter(&buf, ext, table.Stream)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		nb := array.NewStringBuilder(memory.DefaultAllocator)
		for i := 0; i < int(rec.NumRows()); i++ {
			nb.Append("note " + rows[i].id)
		}
		col := nb.NewArray()
		out, err := table.Extend(rec, ext, []arrow.Field{note}, []arrow.Array{col})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(out); err != nil {
			t.Fatal(err)
		}
		out.Release()
		col.Release()
		nb.Release()
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), dir
}

func runCrop(t *testing.T, stdin []byte, args ...string) ([]byte, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, bytes.NewReader(stdin), &stdout, &stderr)
	return stdout.Bytes(), stderr.String(), err
}

// result is one output row's crop columns.
type result struct {
	note, cropPath, stage, cropErr string
	box                            image.Rectangle
	face, faces, landmarks         int
}

func readResults(t *testing.T, data []byte) map[string]result {
	t.Helper()
	r, err := table.NewReader(bytes.NewReader(data), "id", "crop_path", "crop_stage", "crop_error", "x0", "y1", "landmarks")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	out := map[string]result{}
	for r.Next() {
		rec := r.RecordBatch()
		col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
		str := func(name string, i int) string {
			if !rec.Schema().HasField(name) {
				return ""
			}
			a := col(name).(*array.String)
			if a.IsNull(i) {
				return ""
			}
			return a.Value(i)
		}
		i32 := func(name string, i int) int { return int(col(name).(*array.Int32).Value(i)) }
		i16 := func(name string, i int) int { return int(col(name).(*array.Int16).Value(i)) }
		lms := col("landmarks").(*array.List)
		for i := 0; i < int(rec.NumRows()); i++ {
			out[str("id", i)] = result{
				note: str("note", i), cropPath: str("crop_path", i), stage: str("crop_stage", i), cropErr: str("crop_error", i),
				box:  image.Rect(i32("x0", i), i32("y0", i), i32("x1", i), i32("y1", i)),
				face: i16("crop_face", i), faces: i16("crop_faces", i),
			}
			if lms.IsValid(i) {
				lo, hi := lms.ValueOffsets(i)
				r := out[str("id", i)]
				r.landmarks = int(hi-lo) / 2
				out[str("id", i)] = r
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBadInputKeepsEveryRow(t *testing.T) {
	good := testdata.JPEG(t, photo())
	cmyk, err := os.ReadFile("testdata/cmyk.jpg")
	if err != nil {
		t.Fatal(err)
	}
	gray := image.NewGray(image.Rect(0, 0, 300, 400))
	alpha := image.NewNRGBA(image.Rect(0, 0, 300, 400))
	for i := range alpha.Pix {
		alpha.Pix[i] = 128
	}
	files := map[string][]byte{
		"good.jpg": good, "empty.jpg": nil, "truncated.jpg": good[:len(good)/3], "text.jpg": []byte("not an image at all"),
		"cmyk.jpg": cmyk, "gray.jpg": testdata.JPEG(t, gray), "alpha.png": testdata.PNG(t, alpha), "bomb.png": testdata.PNGBomb(t, 60000),
		"rotated.jpg": testdata.WithEXIF(t, testdata.JPEG(t, photo()), 6, nil),
	}
	var rows []row
	for _, name := range []string{"good.jpg", "empty.jpg", "truncated.jpg", "text.jpg", "cmyk.jpg", "gray.jpg", "alpha.png", "bomb.png", "rotated.jpg", "missing.jpg"} {
		rows = append(rows, row{"p/" + strings.TrimSuffix(name, filepath.Ext(name)), name})
	}
	rows = append(rows, row{"../../escape", "good.jpg"})
	in, _ := inputTable(t, files, rows)
	out := t.TempDir()
	data, stderr, err := runCrop(t, in, "--out", out, "--detectors", "center", "--size", "64", "--max-failed", "6")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	res := readResults(t, data)
	if len(res) != len(rows) {
		t.Fatalf("%d rows out, %d in", len(res), len(rows))
	}
	for id, want := range map[string]string{
		"p/good": "", "p/cmyk": "", "p/gray": "", "p/alpha": "", "p/rotated": "",
		"p/empty": crop.ReasonImage, "p/truncated": crop.ReasonTruncated, "p/text": crop.ReasonImage,
		"p/bomb": crop.ReasonLarge, "p/missing": crop.ReasonRead, "../../escape": crop.ReasonPath,
	} {
		r := res[id]
		if r.note != "note "+id {
			t.Errorf("%s: note column %q not passed through", id, r.note)
		}
		if !strings.HasPrefix(r.cropErr, want) || (want == "") != (r.cropErr == "") {
			t.Errorf("%s: crop_error %q, want %q", id, r.cropErr, want)
			continue
		}
		if want != "" {
			if r.cropPath != "" || r.stage != "" || r.box.Min.X != -1 {
				t.Errorf("%s failed but has crop columns %+v", id, r)
			}
			continue
		}
		if r.stage != "center" || r.cropPath != filepath.Join(out, id+".jpg") {
			t.Errorf("%s: %+v", id, r)
		}
		if _, err := os.Stat(r.cropPath); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	// EXIF orientation 6: the 384x512 photo is shown turned, 512 wide.
	if b := res["p/rotated"].box; b.Max.X <= 384 || b.Max.Y > 384 {
		t.Errorf("rotated photo box %v: EXIF orientation not applied", b)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(out), "escape.jpg")); err == nil {
		t.Error("an id with .. wrote outside --out")
	}
	for _, want := range []string{"11 photos", "5 cropped", "6 failed", "image too large: 1", "truncated JPEG"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
}

// Photos that differ only by their extension get crops of their own; a
// doubled id (or an id that meets another with the crop's extension
// added) keeps its row with a reason instead of overwriting the first
// row's crop, across batches too.
func TestUniqueCropNames(t *testing.T) {
	white, black := image.NewGray(image.Rect(0, 0, 64, 64)), image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range white.Pix {
		white.Pix[i] = 255
	}
	files := map[string][]byte{"face.jpg": testdata.JPEG(t, white), "face.png": testdata.PNG(t, black)}
	rows := []row{{"f/face.jpg", "face.jpg"}, {"f/face.png", "face.png"}, {"f/face", "face.png"}, {"f/face.png", "face.jpg"}}
	in, _ := inputTable(t, files, rows)
	out := t.TempDir()
	data, stderr, err := runCrop(t, in, "--out", out, "--detectors", "center", "--size", "16", "--max-failed", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	r, err := table.NewReader(bytes.NewReader(data), "id", "crop_path", "crop_error")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	var paths, errs []string
	for r.Next() {
		rec := r.RecordBatch()
		col := func(name string) *array.String { return rec.Column(rec.Schema().FieldIndices(name)[0]).(*array.String) }
		for i := range int(rec.NumRows()) {
			paths = append(paths, col("crop_path").Value(i))
			errs = append(errs, col("crop_error").Value(i))
		}
	}
	want := []string{filepath.Join(out, "f", "face.jpg"), filepath.Join(out, "f", "face.png.jpg"), "", ""}
	for i := range rows {
		if i >= len(paths) || paths[i] != want[i] {
			t.Fatalf("crop paths %q, want %q", paths, want)
		}
		if (want[i] == "") != strings.HasPrefix(errs[i], crop.ReasonDuplicate) {
			t.Errorf("row %d: crop_error %q", i, errs[i])
		}
	}
	if !strings.Contains(errs[3], "ids must be unique") || !strings.Contains(errs[2], "face.jpg") {
		t.Errorf("doubled id reasons: %q", errs[2:])
	}
	// The first rows' crops are theirs: white from face.jpg, black from face.png.
	for path, white := range map[string]bool{want[0]: true, want[1]: false} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r, _, _, _ := img.At(8, 8).RGBA(); (r>>8 > 128) != white {
			t.Errorf("%s: centre %d, want white %v", path, r>>8, white)
		}
	}
}

func TestCropGeometryAndResume(t *testing.T) {
	in, _ := inputTable(t, map[string][]byte{"a.jpg": testdata.JPEG(t, photo()), "b.png": testdata.PNG(t, photo())}, []row{{"x/a", "a.jpg"}, {"x/b", "b.png"}})
	out := t.TempDir()
	args := []string{"--out", out, "--detectors", "center", "--center", "0.25,0.25,0.75,0.75", "--margin", "0", "--size", "32"}
	data, _, err := runCrop(t, in, args...)
	if err != nil {
		t.Fatal(err)
	}
	res := readResults(t, data)
	// The centre box of a 384x512 photo: x 96..288, y 128..384.
	if b := res["x/a"].box; b != image.Rect(96, 128, 288, 384) {
		t.Errorf("box %v", b)
	}
	cropData, err := os.ReadFile(res["x/a"].cropPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(cropData))
	if err != nil || img.Bounds().Dx() != 32 || img.Bounds().Dy() != 32 {
		t.Fatalf("crop: %v, %v", img.Bounds(), err)
	}
	// Square region 256x256 around the box centre (192,256): rows 128..384,
	// white above y=256 and black below, so the crop's top is white.
	if top, bottom := color.GrayModel.Convert(img.At(16, 4)).(color.Gray).Y, color.GrayModel.Convert(img.At(16, 28)).(color.Gray).Y; top < 200 || bottom > 50 {
		t.Errorf("crop top %d bottom %d: not the expected part of the photo", top, bottom)
	}
	meta, err := crop.Extract(cropData)
	if err != nil || meta.Stage != "center" || meta.Box != res["x/a"].box {
		t.Errorf("crop metadata %+v, %v", meta, err)
	}

	// Resume: both crops are reused; the table says the same.
	data2, stderr, err := runCrop(t, in, append(args, "--resume")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "2 reused") {
		t.Errorf("resume did not reuse:\n%s", stderr)
	}
	if res2 := readResults(t, data2); res2["x/a"] != res["x/a"] || res2["x/b"] != res["x/b"] {
		t.Errorf("resumed table differs: %+v vs %+v", res2, res)
	}
	// A damaged crop and changed settings are redone.
	if err := os.WriteFile(res["x/a"].cropPath, cropData[:len(cropData)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err = runCrop(t, in, append(args, "--resume")...); err != nil || !strings.Contains(stderr, "1 reused") {
		t.Errorf("damaged crop: %v\n%s", err, stderr)
	}
	if _, stderr, err = runCrop(t, in, append(args, "--resume", "--margin", "0.1")...); err != nil || !strings.Contains(stderr, "0 reused") {
		t.Errorf("changed margin: %v\n%s", err, stderr)
	}
}

func TestFolderMode(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/one.jpg", "b/two.png", "b/.hidden.jpg", "notes.txt"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		data := testdata.JPEG(t, photo())
		if strings.HasSuffix(p, ".png") {
			data = testdata.PNG(t, photo())
		}
		os.WriteFile(filepath.Join(dir, p), data, 0o644)
	}
	out := t.TempDir()
	data, stderr, err := runCrop(t, nil, "--in", dir, "--out", out, "--detectors", "center", "--format", "png", "--csv")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "crop_path") || !strings.HasPrefix(lines[1], "a/one.jpg,") {
		t.Errorf("csv:\n%s", data)
	}
	for _, p := range []string{"a/one.jpg.png", "b/two.png"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Error(err)
		}
	}
}

// --resume crops a photo again when it was replaced since its crop was
// made (another size, or the same size written later), and keeps the
// crops of photos left alone.
func TestResumeRecropsReplacedPhotos(t *testing.T) {
	in, dir := inputTable(t, map[string][]byte{"a.jpg": testdata.JPEG(t, photo()), "b.jpg": testdata.JPEG(t, photo())}, []row{{"a", "a.jpg"}, {"b", "b.jpg"}})
	out := t.TempDir()
	args := []string{"--out", out, "--detectors", "center", "--size", "32", "--resume"}
	if _, stderr, err := runCrop(t, in, args...); err != nil || !strings.Contains(stderr, "0 reused") {
		t.Fatalf("first run: %v\n%s", err, stderr)
	}
	// a.jpg becomes another picture (black above, white below), b.jpg is
	// rewritten with the same bytes an hour later.
	flipped := photo()
	for y := range 512 {
		for x := range 384 {
			v := uint8(255)
			if y < 256 {
				v = 0
			}
			flipped.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "a.jpg"), testdata.JPEG(t, flipped), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "b.jpg"), later, later); err != nil {
		t.Fatal(err)
	}
	data, stderr, err := runCrop(t, in, args...)
	if err != nil || !strings.Contains(stderr, "0 reused") {
		t.Fatalf("after replacing: %v\n%s", err, stderr)
	}
	img, err := jpeg.Decode(bytes.NewReader(must(os.ReadFile(readResults(t, data)["a"].cropPath))))
	if err != nil {
		t.Fatal(err)
	}
	if top := color.GrayModel.Convert(img.At(16, 4)).(color.Gray).Y; top > 50 {
		t.Errorf("the crop of the replaced photo still shows the old one (top %d, want dark)", top)
	}
	if _, stderr, err := runCrop(t, in, args...); err != nil || !strings.Contains(stderr, "2 reused") {
		t.Errorf("third run, nothing replaced: %v\n%s", err, stderr)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// --out inside --in is marked and left out of the scan: its crops are not
// photos to crop again on the next run. --out equal to --in is refused.
func TestFolderModeSkipsItsOwnOutput(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/one.jpg", "two.jpg"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), testdata.JPEG(t, photo()), 0o644)
	}
	out := filepath.Join(dir, "crops")
	for run := range 3 {
		data, stderr, err := runCrop(t, nil, "--in", dir, "--out", out, "--detectors", "center", "--csv", "--resume")
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, stderr)
		}
		if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 3 {
			t.Errorf("run %d: %d rows, want 2:\n%s", run, len(lines)-1, data)
		}
		if run > 0 && !strings.Contains(stderr, "skipped crops, a facet output folder") {
			t.Errorf("run %d: stderr does not say the output folder was skipped:\n%s", run, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "crops")); err == nil {
		t.Error("crops of crops were written")
	}
	if _, _, err := runCrop(t, nil, "--in", dir, "--out", dir+"/.", "--detectors", "center", "--csv"); err == nil || !strings.Contains(err.Error(), "replace the photos") {
		t.Errorf("--out = --in: err = %v", err)
	}
}

func TestUsageAndInputErrors(t *testing.T) {
	in, _ := inputTable(t, map[string][]byte{"a.jpg": testdata.JPEG(t, photo())}, []row{{"a", "a.jpg"}})
	out := t.TempDir()
	for name, args := range map[string][]string{
		"no out":                {"--detectors", "center"},
		"bad detector":          {"--out", out, "--detectors", "center,magic"},
		"dnn no model":          {"--out", out, "--detectors", "dnn"},
		"twice":                 {"--out", out, "--detectors", "center,center"},
		"bad size":              {"--out", out, "--size", "0"},
		"bad format":            {"--out", out, "--format", "gif"},
		"bad center":            {"--out", out, "--center", "0.8,0,0.2,1"},
		"in and a table":        {"--out", out, "--in", out, "x.arrow"},
		"faces some":            {"--out", out, "--faces", "some"},
		"min face":              {"--out", out, "--min-face", "-1"},
		"boxes and in":          {"--out", out, "--boxes", "--in", out},
		"boxes and all":         {"--out", out, "--boxes", "--faces", "all"},
		"boxes, no box columns": {"--out", out, "--boxes"},
	} {
		if _, _, err := runCrop(t, in, args...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A truncated stream (the stage before died) fails the run.
	if _, _, err := runCrop(t, in[:len(in)-8], "--out", out, "--detectors", "center"); err == nil || !strings.Contains(err.Error(), "end-of-stream") {
		t.Errorf("truncated input: err = %v", err)
	}
	if _, _, err := runCrop(t, []byte("name,file\nx,y.jpg\n"), "--out", out, "--detectors", "center"); err == nil || !strings.Contains(err.Error(), "not an Arrow table") {
		t.Errorf("text that is no table: err = %v", err)
	}
}

func TestInterruptLeavesNoPartialFiles(t *testing.T) {
	in, _ := inputTable(t, map[string][]byte{"a.jpg": testdata.JPEG(t, photo())}, []row{{"a", "a.jpg"}, {"b", "a.jpg"}})
	out := t.TempDir()
	tableOut := filepath.Join(t.TempDir(), "t.arrow")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"--out", out, "--detectors", "center", "-o", tableOut}, bytes.NewReader(in), &stdout, &stderr)
	if err == nil {
		t.Fatal("a cancelled run succeeded")
	}
	if _, err := os.Stat(tableOut); err == nil {
		t.Error("a cancelled run wrote its table")
	}
	filepath.WalkDir(filepath.Dir(tableOut), func(p string, d os.DirEntry, err error) error {
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// The shards of a run crop disjoint rows that together are every row.
func TestShards(t *testing.T) {
	files := map[string][]byte{}
	var rows []row
	for i := range 8 {
		name := fmt.Sprintf("%d.jpg", i)
		files[name] = testdata.JPEG(t, photo())
		rows = append(rows, row{"x/" + name, name})
	}
	in, _ := inputTable(t, files, rows)
	seen := map[string]bool{}
	for _, s := range []string{"0/2", "1/2"} {
		data, stderr, err := runCrop(t, in, "--out", t.TempDir(), "--detectors", "center", "--shard", s)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		res := readResults(t, data)
		if len(res) == 0 || len(res) == len(rows) {
			t.Errorf("shard %s holds %d of %d rows", s, len(res), len(rows))
		}
		for id, r := range res {
			if seen[id] || r.cropPath == "" {
				t.Errorf("%s: in two shards, or no crop (%+v)", id, r)
			}
			seen[id] = true
		}
	}
	if len(seen) != len(rows) {
		t.Errorf("the shards hold %d of %d rows", len(seen), len(rows))
	}
	if _, _, err := runCrop(t, in, "--out", t.TempDir(), "--shard", "1/1"); err == nil {
		t.Error("--shard 1/1 accepted")
	}
}

// scene is a 384x256 photo of two drawn unmasked faces side by side
// (internal/demo's portraits at half size), and their face boxes.
func scene(t *testing.T) ([]byte, [2]image.Rectangle) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 384, 256))
	var boxes [2]image.Rectangle
	for i := range 2 {
		p, box := demo.Portrait(uint64(7+i), demo.Attrs{Mask: demo.MaskNone, Gender: i, Age: 30 + 10*i, Width: 192, Height: 256})
		off := image.Pt(192*i, 0)
		draw.Draw(img, p.Bounds().Add(off), p, image.Point{}, draw.Src)
		boxes[i] = box.Add(off)
	}
	return testdata.JPEG(t, img), boxes
}

func TestFacesAll(t *testing.T) {
	if _, err := os.Stat(dlib.DefaultModel); err != nil {
		t.Skipf("dlib landmark model not installed (%v): skipping", err)
	}
	photo, truth := scene(t)
	blank := testdata.JPEG(t, image.NewGray(image.Rect(0, 0, 300, 200)))
	in, _ := inputTable(t, map[string][]byte{"scene.jpg": photo, "blank.jpg": blank}, []row{{"s/scene.jpg", "scene.jpg"}, {"s/blank.jpg", "blank.jpg"}})
	out := t.TempDir()
	data, stderr, err := runCrop(t, in, "--out", out, "--faces", "all", "--detectors", "dlib,center", "--min-face", "40", "--max-failed", "100%")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	res := readResults(t, data)
	if len(res) != 3 {
		t.Fatalf("%d rows, want 2 faces and the blank photo: %+v\n%s", len(res), res, stderr)
	}
	for k, want := range truth {
		id := fmt.Sprintf("s/scene.jpg#%d", k)
		r, ok := res[id]
		if !ok {
			t.Fatalf("no row %s: %+v", id, res)
		}
		if r.note != "note s/scene.jpg" || r.stage != "dlib" || r.cropErr != "" || r.face != k || r.faces != 2 {
			t.Errorf("%s: %+v; want the parent's note, stage dlib, face %d of 2", id, r, k)
		}
		if c := r.box.Min.Add(r.box.Max).Div(2); !c.In(want) {
			t.Errorf("%s: box %v, want one centred in %v", id, r.box, want)
		}
		if want := filepath.Join(out, "s", fmt.Sprintf("scene.jpg#%d.jpg", k)); r.cropPath != want {
			t.Errorf("%s: crop %s, want %s", id, r.cropPath, want)
		}
		if _, err := os.Stat(r.cropPath); err != nil {
			t.Error(err)
		}
		if r.landmarks != 68 {
			t.Errorf("%s: %d landmarks, want 68", id, r.landmarks)
		}
	}
	// No fixed-box crop for the blank photo: one row, its own id, the reason.
	if r := res["s/blank.jpg"]; r.cropPath != "" || !strings.HasPrefix(r.cropErr, crop.ReasonNoFace) || r.face != -1 || r.stage != "" {
		t.Errorf("blank photo: %+v", r)
	}
	if !strings.Contains(stderr, "3 rows") {
		t.Errorf("summary does not count rows and photos apart:\n%s", stderr)
	}
	// --faces one takes one face of the scene, under the row's own id.
	data, stderr, err = runCrop(t, in, "--out", t.TempDir(), "--detectors", "dlib", "--max-failed", "100%")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if res := readResults(t, data); len(res) != 2 || res["s/scene.jpg"].cropPath == "" || res["s/scene.jpg"].face != 0 {
		t.Errorf("--faces one: %+v", res)
	}
}

// boxTable writes a photo and a table of rows of it with the given boxes
// (the box columns facet-prep's boxes: source writes; an empty box is -1).
func boxTable(t *testing.T, photo []byte, boxes map[string]image.Rectangle) []byte {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "scene.jpg")
	if err := os.WriteFile(path, photo, 0o644); err != nil {
		t.Fatal(err)
	}
	var samples []table.Sample
	for id, b := range boxes {
		s := table.NewSample(id, path, "scene", "boxes", "train")
		s.Mask, s.Box = label.Wear, b
		samples = append(samples, s)
	}
	slices.SortFunc(samples, func(a, b table.Sample) int { return strings.Compare(a.ID, b.ID) })
	schema := table.ExtendSchema(table.NewSchema(label.DefaultBins), table.BoxFields)
	data, err := table.Encode(schema, samples, table.Stream)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestBoxes(t *testing.T) {
	// 384x512: white top half, black bottom half.
	in := boxTable(t, testdata.JPEG(t, photo()), map[string]image.Rectangle{
		"s#0": image.Rect(100, 226, 160, 286), // across the white/black line
		"s#1": image.Rect(350, 480, 420, 560), // across the photo's corner
		"s#2": image.Rect(400, 10, 440, 50),   // outside the photo
		"s#3": {},                             // no box
	})
	out := t.TempDir()
	args := []string{"--out", out, "--boxes", "--margin", "0.25", "--size", "32", "--max-failed", "100%"}
	data, stderr, err := runCrop(t, in, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	res := readResults(t, data)
	if len(res) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(res), res)
	}
	for id, want := range map[string]image.Rectangle{"s#0": image.Rect(100, 226, 160, 286), "s#1": image.Rect(350, 480, 384, 512)} {
		r := res[id]
		if r.cropErr != "" || r.stage != crop.StageGiven || r.box != want || r.face != 0 {
			t.Errorf("%s: %+v; want box %v (clipped to the photo), stage %s", id, r, want, crop.StageGiven)
			continue
		}
		if want := filepath.Join(out, id+".jpg"); r.cropPath != want {
			t.Errorf("%s: crop %s, want %s", id, r.cropPath, want)
		}
		// The same geometry as a detected box: the box grown by the
		// margin, then to a square.
		m, err := crop.Extract(testdata.ReadFile(t, r.cropPath))
		if err != nil || m.Region != (crop.Geometry{Margin: 0.25, Size: 32}).Region(want) {
			t.Errorf("%s: region %v, %v", id, m.Region, err)
		}
	}
	// Top half of the crop of s#0 is white, bottom half black.
	img, err := jpeg.Decode(bytes.NewReader(testdata.ReadFile(t, res["s#0"].cropPath)))
	if err != nil {
		t.Fatal(err)
	}
	if top, bottom := color.GrayModel.Convert(img.At(16, 4)).(color.Gray).Y, color.GrayModel.Convert(img.At(16, 28)).(color.Gray).Y; top < 200 || bottom > 50 {
		t.Errorf("crop of s#0: top %d, bottom %d; want white over black", top, bottom)
	}
	for _, id := range []string{"s#2", "s#3"} {
		if r := res[id]; r.cropPath != "" || !strings.HasPrefix(r.cropErr, crop.ReasonBox) {
			t.Errorf("%s: %+v; want no crop and %q", id, r, crop.ReasonBox)
		}
	}
	// --resume keeps the crops of the same boxes.
	if _, stderr, err := runCrop(t, in, append(args, "--resume")...); err != nil || !strings.Contains(stderr, "2 reused") {
		t.Errorf("resume: %v\n%s", err, stderr)
	}
	// A table without box columns is refused.
	plain, _ := inputTable(t, map[string][]byte{"a.jpg": testdata.JPEG(t, photo())}, []row{{"a", "a.jpg"}})
	if _, _, err := runCrop(t, plain, "--out", out, "--boxes"); err == nil || !strings.Contains(err.Error(), "box_x0") {
		t.Errorf("a table without boxes: err = %v", err)
	}
}

// A dnn stage needs a model the user brings: a missing or broken one is
// refused before any photo is read, in both modes.
func TestDNNModelRefused(t *testing.T) {
	in, _ := inputTable(t, map[string][]byte{"a.jpg": testdata.JPEG(t, photo())}, []row{{"a", "a.jpg"}})
	dir := t.TempDir()
	bad := filepath.Join(dir, "res10.caffemodel")
	proto := filepath.Join(dir, "deploy.prototxt")
	os.WriteFile(bad, []byte("<html>404 Not Found</html>"), 0o644)
	os.WriteFile(proto, []byte("layer { name: \"data\" }\n"), 0o644)
	for _, faces := range []string{"one", "all"} {
		for model, want := range map[string]string{filepath.Join(dir, "missing.caffemodel"): "not found", bad: "not a caffe model"} {
			_, _, err := runCrop(t, in, "--out", t.TempDir(), "--faces", faces, "--detectors", "dnn,dlib", "--dnn-model", model, "--dnn-config", proto)
			if err == nil || !strings.Contains(err.Error(), "dnn") || !strings.Contains(err.Error(), want) {
				t.Errorf("--faces %s, model %s: err = %v, want one about the dnn model (%q)", faces, filepath.Base(model), err, want)
			}
		}
	}
}

// A run in which more photos fail than --max-failed allows fails: exit 1
// (an error), the count and the first reasons, and no table.
func TestMaxFailed(t *testing.T) {
	good := testdata.JPEG(t, photo())
	files := map[string][]byte{"good.jpg": good, "text.jpg": []byte("not an image")}
	rows := []row{{"a", "good.jpg"}, {"b", "text.jpg"}, {"c", "missing.jpg"}, {"d", "good.jpg"}}
	in, _ := inputTable(t, files, rows)
	for _, tc := range []struct {
		limit string
		fails bool
	}{{"", true}, {"1", true}, {"2", false}, {"49%", true}, {"50%", false}} {
		args := []string{"--out", t.TempDir(), "--detectors", "center", "--size", "32"}
		if tc.limit != "" {
			args = append(args, "--max-failed", tc.limit)
		}
		data, stderr, err := runCrop(t, in, args...)
		if !tc.fails {
			if err != nil || len(readResults(t, data)) != 4 {
				t.Errorf("--max-failed %s: %v\n%s", tc.limit, err, stderr)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "2 of 4 photos failed") || !strings.Contains(err.Error(), "first: ") {
			t.Errorf("--max-failed %q: err %v, want 2 of 4 failed with the first reasons", tc.limit, err)
		}
		// The stream may have begun, but it must not end as a whole table.
		if r, rerr := table.NewReader(bytes.NewReader(data)); rerr == nil {
			for r.Next() {
			}
			if r.Err() == nil {
				t.Errorf("--max-failed %q: a whole table on stdout", tc.limit)
			}
		}
	}
	for _, bad := range []string{"-1", "x", "101%", "NaN%", "%"} {
		if _, _, err := runCrop(t, in, "--out", t.TempDir(), "--max-failed", bad); !errors.As(err, new(cli.UsageError)) {
			t.Errorf("--max-failed %s: %v, want a usage error", bad, err)
		}
	}
}

// A crop that cannot be written is the machine's failure, not the row's:
// the run stops with an error naming the file and the cause, and writes
// no table (here the disk is "full" through a file size limit).
func TestWriteFailureStops(t *testing.T) {
	in, _ := inputTable(t, map[string][]byte{"a.jpg": testdata.JPEG(t, photo())}, []row{{"x/a", "a.jpg"}, {"x/b", "a.jpg"}})
	out := t.TempDir()
	result := filepath.Join(t.TempDir(), "cropped.arrow")
	restore := testdata.LimitFileSize(t, 100)
	_, stderr, err := runCrop(t, in, "--out", out, "--detectors", "center", "--size", "64", "-o", result)
	restore()
	if err == nil || !strings.Contains(err.Error(), "writing "+filepath.Join(out, "x")) || !strings.Contains(err.Error(), "file too large") {
		t.Fatalf("err %v, want the crop file and its cause\n%s", err, stderr)
	}
	if _, err := os.Stat(result); !os.IsNotExist(err) {
		t.Error("the table was written")
	}
	left, _ := filepath.Glob(filepath.Join(out, "x", "*"))
	if len(left) > 0 {
		t.Errorf("left %v", left)
	}
}
