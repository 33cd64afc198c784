package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/nntest"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/testdata"
)

// tinyModel saves a small untrained model (random weights, seeded) as a
// run folder's best checkpoint and returns the folder.
func tinyModel(t *testing.T, heads string) (string, *nn.Model) {
	t.Helper()
	cfg := nntest.Tiny()
	cfg.Blocks, cfg.PredictBatch, cfg.Heads = []int{1, 1}, 5, heads
	return nntest.Dir(t, cfg)
}

// photos writes n random 20x24 JPEGs (left and right halves differ, so a
// mirror image is another input) and returns a table of them.
func photos(t testing.TB, dir string, n int) []table.Sample {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 9))
	var ss []table.Sample
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 20, 24))
		for y := range 24 {
			for x := range 20 {
				v := uint8(rng.IntN(256))
				if x < 10 {
					img.Set(x, y, color.RGBA{v, 40, 200, 255})
				} else {
					img.Set(x, y, color.RGBA{30, v, uint8(x * 10), 255})
				}
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("%d.jpg", i))
		if err := os.WriteFile(path, testdata.JPEG(t, img), 0o644); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, table.NewSample(fmt.Sprintf("eval/%d.jpg", i), path, fmt.Sprintf("p%d", i), "competition", "eval"))
	}
	return ss
}

// tableOf encodes samples as an Arrow stream in batches of batch rows,
// with an extra column that must pass through.
func tableOf(t testing.TB, ss []table.Sample, batch int) []byte {
	t.Helper()
	schema := table.ExtendSchema(table.NewSchema(label.DefaultBins), []arrow.Field{{Name: "note", Type: arrow.BinaryTypes.String}})
	var buf bytes.Buffer
	w, err := table.NewWriter(&buf, schema, table.Stream)
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < len(ss); lo += batch {
		part := ss[lo:min(lo+batch, len(ss))]
		for _, rec := range table.Records(memory.DefaultAllocator, table.NewSchema(label.DefaultBins), part) {
			nb := array.NewStringBuilder(memory.DefaultAllocator)
			for _, s := range part {
				nb.Append("note " + s.ID)
			}
			note := nb.NewArray()
			ext, err := table.Extend(rec, schema, schema.Fields()[schema.NumFields()-1:], []arrow.Array{note})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(ext); err != nil {
				t.Fatal(err)
			}
			ext.Release()
			note.Release()
			nb.Release()
			rec.Release()
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func runInfer(stdin []byte, args ...string) ([]byte, string, error) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, bytes.NewReader(stdin), &stdout, &stderr)
	return stdout.Bytes(), stderr.String(), err
}

// result is what a test reads back from facet-infer's output.
type result struct {
	ids, notes, errs []string
	p                *pred.Probs
	predMask         []int8
}

func readResult(t *testing.T, data []byte) result {
	t.Helper()
	r, err := table.NewReader(bytes.NewReader(data), "id", "note", "infer_error")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	res := result{p: &pred.Probs{}}
	for r.Next() {
		rec := r.RecordBatch()
		p, err := pred.Read(rec)
		if err != nil {
			t.Fatal(err)
		}
		res.p.Append(p)
		col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
		ids, notes, errs := col("id").(*array.String), col("note").(*array.String), col("infer_error").(*array.String)
		pm := col("pred_mask").(*array.Int8)
		for i := range int(rec.NumRows()) {
			res.ids = append(res.ids, ids.Value(i))
			res.notes = append(res.notes, notes.Value(i))
			e := ""
			if errs.IsValid(i) {
				e = errs.Value(i)
			}
			res.errs = append(res.errs, e)
			res.predMask = append(res.predMask, pm.Value(i))
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return res
}

// expected runs the model directly on the images (optionally mirrored).
func expected(t *testing.T, m *nn.Model, ss []table.Sample, mirror bool) *pred.Probs {
	t.Helper()
	s := m.Config().InputSize
	per := 3 * s * s
	x := make([]float32, len(ss)*per)
	for i, smp := range ss {
		img, err := cvimage.Load(smp.Path, s)
		if err != nil {
			t.Fatal(err)
		}
		if mirror {
			img = augment.Flip{}.Apply(img, nil)
		}
		if err := augment.Tensor(img, x[i*per:(i+1)*per], augment.MeanRGB, augment.StdRGB); err != nil {
			t.Fatal(err)
		}
	}
	p, err := m.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-5 }

// Rows come out in order with their columns, the predictions are the
// model's own, whatever the batch and chunk boundaries.
func TestPredictionsMatchModel(t *testing.T) {
	dir, m := tinyModel(t, nn.HeadsThree)
	ss := photos(t, t.TempDir(), 11)
	want := expected(t, m, ss, false)
	for _, chunk := range []string{"3", "256"} {
		out, stderr, err := runInfer(tableOf(t, ss, 4), "--model", dir, "--chunk", chunk)
		if err != nil {
			t.Fatalf("chunk %s: %v\n%s", chunk, err, stderr)
		}
		got := readResult(t, out)
		if len(got.ids) != len(ss) {
			t.Fatalf("chunk %s: %d rows out of %d", chunk, len(got.ids), len(ss))
		}
		for i, s := range ss {
			if got.ids[i] != s.ID || got.notes[i] != "note "+s.ID || got.errs[i] != "" {
				t.Fatalf("row %d: id %q note %q error %q", i, got.ids[i], got.notes[i], got.errs[i])
			}
			if got.p.Pred18[i] != want.Pred18[i] {
				t.Errorf("row %d: pred %d, the model says %d", i, got.p.Pred18[i], want.Pred18[i])
			}
			if int(got.predMask[i]) != pred.Argmax(want.Mask[i*3:i*3+3]) {
				t.Errorf("row %d: pred_mask %d", i, got.predMask[i])
			}
		}
		for j := range want.Class18 {
			if !near(got.p.Class18[j], want.Class18[j]) {
				t.Fatalf("prob18[%d] = %g, the model says %g", j, got.p.Class18[j], want.Class18[j])
			}
		}
		if !strings.Contains(stderr, "11 rows") {
			t.Errorf("summary: %q", stderr)
		}
	}
}

// --tta flip averages each head over the image and its mirror image; the
// 18 classes follow from the averaged heads.
func TestFlip(t *testing.T) {
	for _, heads := range []string{nn.HeadsThree, nn.HeadsSingle18} {
		dir, m := tinyModel(t, heads)
		ss := photos(t, t.TempDir(), 5)
		plain, mirrored := expected(t, m, ss, false), expected(t, m, ss, true)
		out, stderr, err := runInfer(tableOf(t, ss, 5), "--model", dir, "--tta", "flip")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		got := readResult(t, out).p
		for j := range got.Mask {
			if w := (plain.Mask[j] + mirrored.Mask[j]) / 2; !near(got.Mask[j], w) {
				t.Fatalf("%s: mask prob %d = %g, want the mean %g", heads, j, got.Mask[j], w)
			}
		}
		for i := range got.N {
			pm, pg, pa, c18 := got.Row(i)
			if heads == nn.HeadsThree {
				for c := range c18 {
					mm, g, a := label.Split(int8(c))
					if w := pm[mm] * pg[g] * pa[a]; !near(c18[c], w) {
						t.Fatalf("prob18 of class %d = %g, want the product of the averaged heads %g", c, c18[c], w)
					}
				}
			}
			if got.Pred18[i] != pred.Argmax(c18) {
				t.Fatalf("%s row %d: pred %d is not the argmax of prob18", heads, i, got.Pred18[i])
			}
		}
		if slices.Equal(plain.Mask, got.Mask) {
			t.Fatalf("%s: flip changed nothing (the test images should not be symmetric)", heads)
		}
	}
}

// An unreadable crop falls back to the photo; a row with nothing readable
// keeps its row with the reason, uniform probabilities and --fallback.
func TestUnreadableImages(t *testing.T) {
	dir, m := tinyModel(t, nn.HeadsThree)
	imgs := t.TempDir()
	ss := photos(t, imgs, 3)
	broken := filepath.Join(imgs, "broken.jpg")
	if err := os.WriteFile(broken, []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	ss[2].Path = broken
	want := expected(t, m, ss[:2], false)

	schema := table.ExtendSchema(table.NewSchema(label.DefaultBins), []arrow.Field{
		{Name: "note", Type: arrow.BinaryTypes.String}, {Name: "crop_path", Type: arrow.BinaryTypes.String, Nullable: true}})
	recs := table.Records(memory.DefaultAllocator, table.NewSchema(label.DefaultBins), ss)
	nb := array.NewStringBuilder(memory.DefaultAllocator)
	cb := array.NewStringBuilder(memory.DefaultAllocator)
	nb.AppendValues([]string{"a", "b", "c"}, nil)
	cb.Append(filepath.Join(imgs, "missing-crop.jpg")) // row 0: crop gone, photo fine
	cb.AppendNull()                                    // row 1: no crop
	cb.Append(broken)                                  // row 2: nothing readable
	notes, crops := nb.NewArray(), cb.NewArray()
	rec, err := table.Extend(recs[0], schema, schema.Fields()[schema.NumFields()-2:], []arrow.Array{notes, crops})
	if err != nil {
		t.Fatal(err)
	}
	data, err := table.EncodeRecords(schema, table.Stream, rec)
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runInfer(data, "--model", dir, "--fallback", "7")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	got := readResult(t, out)
	if got.errs[0] != "" || got.errs[1] != "" || got.errs[2] == "" {
		t.Fatalf("infer_error: %q", got.errs)
	}
	for i := range 2 {
		if got.p.Pred18[i] != want.Pred18[i] {
			t.Errorf("row %d: pred %d, want the photo's %d", i, got.p.Pred18[i], want.Pred18[i])
		}
	}
	_, _, _, c18 := got.p.Row(2)
	if got.p.Pred18[2] != 7 || !near(c18[0], 1.0/18) || !near(c18[17], 1.0/18) {
		t.Errorf("unreadable row: pred %d prob18 %v, want the fallback 7 and uniform", got.p.Pred18[2], c18)
	}
	for _, wantMsg := range []string{"1 without a readable image", "1 predicted from the photo", "missing-crop.jpg"} {
		if !strings.Contains(stderr, wantMsg) {
			t.Errorf("stderr lacks %q:\n%s", wantMsg, stderr)
		}
	}
}

// --pseudo keeps exactly the rows whose largest 18-class probability
// reaches the threshold, labelled with their prediction.
func TestPseudoLabels(t *testing.T) {
	dir, _ := tinyModel(t, nn.HeadsThree)
	ss := photos(t, t.TempDir(), 12)
	in := tableOf(t, ss, 5)
	out, _, err := runInfer(in, "--model", dir)
	if err != nil {
		t.Fatal(err)
	}
	all := readResult(t, out)
	conf := make([]float32, all.p.N)
	for i := range conf {
		_, _, _, c18 := all.p.Row(i)
		conf[i] = slices.Max(c18)
	}
	sorted := slices.Clone(conf)
	slices.Sort(sorted)
	threshold := sorted[len(sorted)/2] // half the rows, give or take ties
	wantIDs := map[string]int{}
	for i, c := range conf {
		if c >= threshold {
			wantIDs[all.ids[i]] = all.p.Pred18[i]
		}
	}
	pseudo := filepath.Join(t.TempDir(), "pseudo.arrow")
	if _, stderr, err := runInfer(in, "--model", dir, "--pseudo", strconv.FormatFloat(float64(threshold), 'g', -1, 64), "--pseudo-out", pseudo); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	f, err := os.Open(pseudo)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := table.NewReader(f, "id", "note", "source", "pseudo_confidence", "person")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if _, err := table.AgeBins(r.Schema()); err != nil {
		t.Errorf("pseudo table lost its age bins: %v", err)
	}
	n := 0
	for r.Next() {
		for _, s := range table.Samples(r.RecordBatch()) {
			n++
			want, ok := wantIDs[s.ID]
			if !ok {
				t.Errorf("row %s is below the threshold", s.ID)
				continue
			}
			if int(s.Label) != want || label.Join(s.Mask, s.Gender, s.AgeGroup) != s.Label || s.Source != pred.SourcePseudo || s.Person == "" {
				t.Errorf("row %s: label %d (%d,%d,%d) source %s person %q, want label %d", s.ID, s.Label, s.Mask, s.Gender, s.AgeGroup, s.Source, s.Person, want)
			}
		}
	}
	if n != len(wantIDs) || n == 0 || n == len(ss) {
		t.Errorf("%d pseudo rows, want %d (of %d)", n, len(wantIDs), len(ss))
	}
}

// The submission follows info.csv's order and length; an info row the
// table lacks is an error and leaves no file.
func TestSubmission(t *testing.T) {
	dir, _ := tinyModel(t, nn.HeadsThree)
	tmp := t.TempDir()
	ss := photos(t, tmp, 4)
	in := tableOf(t, ss, 4)
	out, _, err := runInfer(in, "--model", dir)
	if err != nil {
		t.Fatal(err)
	}
	got := readResult(t, out)
	info := filepath.Join(tmp, "info.csv")
	os.WriteFile(info, []byte("ImageID,ans\n3.jpg,0\n0.jpg,0\n2.jpg,0\n1.jpg,0\n"), 0o644)
	sub := filepath.Join(tmp, "submission.csv")
	if _, stderr, err := runInfer(in, "--model", dir, "--submission", sub, "--info", info); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	data, err := os.ReadFile(sub)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("ImageID,ans\n3.jpg,%d\n0.jpg,%d\n2.jpg,%d\n1.jpg,%d\n", got.p.Pred18[3], got.p.Pred18[0], got.p.Pred18[2], got.p.Pred18[1])
	if string(data) != want {
		t.Errorf("submission:\n%s\nwant:\n%s", data, want)
	}
	os.WriteFile(info, []byte("ImageID,ans\n0.jpg,0\n9.jpg,0\n"), 0o644)
	sub2 := filepath.Join(tmp, "short.csv")
	_, _, err = runInfer(in, "--model", dir, "--submission", sub2, "--info", info)
	if err == nil || !strings.Contains(err.Error(), "9.jpg") {
		t.Errorf("info row without a prediction: %v", err)
	}
	if _, serr := os.Stat(sub2); !os.IsNotExist(serr) {
		t.Error("a failed run left a submission file")
	}
}

func TestUsageAndBadInput(t *testing.T) {
	dir, _ := tinyModel(t, nn.HeadsThree)
	ss := photos(t, t.TempDir(), 2)
	in := tableOf(t, ss, 2)
	for _, args := range [][]string{
		{},
		{"--model", dir, "--tta", "rotate"},
		{"--model", dir, "--submission", "x.csv"},
		{"--model", dir, "--pseudo", "0.9"},
		{"--model", dir, "--pseudo", "1.5", "--pseudo-out", "p.arrow"},
		{"--model", dir, "--fallback", "18"},
		{"--model", dir, "a.arrow", "b.arrow"},
		{"--model", dir, "--shard", "2/2"},
		{"--model", dir, "--shard", "0/2", "--submission", "s.csv", "--info", "i.csv"},
	} {
		_, _, err := runInfer(in, args...)
		var ue cli.UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, _, err := runInfer(in, "--model", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no best.safetensors") {
		t.Errorf("empty model folder: %v", err)
	}
	folds := t.TempDir()
	os.MkdirAll(filepath.Join(folds, "fold0"), 0o755)
	os.WriteFile(filepath.Join(folds, "fold0", "best.safetensors"), nil, 0o644)
	if _, _, err := runInfer(in, "--model", folds); err == nil || !strings.Contains(err.Error(), "facet-merge vote") {
		t.Errorf("all-folds run folder: %v", err)
	}
	damaged := t.TempDir()
	os.WriteFile(filepath.Join(damaged, "best.json"), testdata.ReadFile(t, filepath.Join(dir, "best.json")), 0o644)
	os.WriteFile(filepath.Join(damaged, "best.safetensors"), []byte("garbage"), 0o644)
	if _, _, err := runInfer(in, "--model", damaged); err == nil {
		t.Error("damaged checkpoint accepted")
	}
	// a stream cut short is an error, and -o FILE is then not written
	outFile := filepath.Join(t.TempDir(), "out.arrow")
	if _, _, err := runInfer(in[:len(in)-20], "--model", dir, "-o", outFile); err == nil {
		t.Error("truncated input accepted")
	}
	if _, err := os.Stat(outFile); !os.IsNotExist(err) {
		t.Error("a failed run left its output file")
	}
}

// The shards of a run predict disjoint rows that together are the whole
// table, each as the whole run predicts it.
func TestShards(t *testing.T) {
	dir, _ := tinyModel(t, nn.HeadsThree)
	ss := photos(t, t.TempDir(), 9)
	in := tableOf(t, ss, 4)
	out, _, err := runInfer(in, "--model", dir)
	if err != nil {
		t.Fatal(err)
	}
	whole := readResult(t, out)
	predOf := map[string]int{}
	for i, id := range whole.ids {
		predOf[id] = whole.p.Pred18[i]
	}
	seen := map[string]bool{}
	for _, part := range []string{"0/2", "1/2"} {
		out, _, err := runInfer(in, "--model", dir, "--shard", part)
		if err != nil {
			t.Fatal(err)
		}
		got := readResult(t, out)
		if len(got.ids) == 0 || len(got.ids) == len(ss) {
			t.Errorf("shard %s holds %d of %d rows", part, len(got.ids), len(ss))
		}
		for i, id := range got.ids {
			if seen[id] {
				t.Errorf("%s in two shards", id)
			}
			seen[id] = true
			if got.p.Pred18[i] != predOf[id] {
				t.Errorf("shard %s row %s: pred %d, the whole run %d", part, id, got.p.Pred18[i], predOf[id])
			}
		}
	}
	if len(seen) != len(ss) {
		t.Errorf("the shards hold %d of %d rows", len(seen), len(ss))
	}
}
