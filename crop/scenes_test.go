package main

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/dlib"
	"github.com/boostershot/facet/internal/facematch"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/testdata"
)

// TestScenesFound runs facet-crop --faces all with its defaults on every
// eighth scene of ../shared/data/crowds and holds the faces found against
// the annotated ones (IoU >= 0.4, each matched once) to floors a little
// under what it found when the defaults were chosen (`make bench-crowds`
// measures every scene). On these 71 scenes it found 44% of the 146
// faces 20-40 pixels wide and 73% of the 62 from 40, at a precision of
// 0.91.
func TestScenesFound(t *testing.T) {
	if _, err := os.Stat(dlib.DefaultModel); err != nil {
		t.Skipf("dlib landmark model not installed (%v): skipping", err)
	}
	dir := filepath.Join(testdata.Dir(t), "crowds")
	all, err := facematch.ReadScenes(dir)
	if err != nil {
		t.Skipf("no crowds scenes in the test data: %v", err)
	}
	var scenes []facematch.Scene
	files := map[string][]byte{}
	var rows []row
	for i := 0; i < len(all); i += 8 {
		s := all[i]
		scenes = append(scenes, s)
		data, err := os.ReadFile(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(s.Path)
		files[name] = data
		rows = append(rows, row{"crowds/" + name, name})
	}
	in, _ := inputTable(t, files, rows)
	out, stderr, err := runCrop(t, in, "--out", t.TempDir(), "--faces", "all")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	found := map[string][]image.Rectangle{}
	r, err := table.NewReader(bytes.NewReader(out), "id", "x0", "y0", "x1", "y1", "crop_face")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	for r.Next() {
		rec := r.RecordBatch()
		col := func(name string) *array.Int32 { return rec.Column(rec.Schema().FieldIndices(name)[0]).(*array.Int32) }
		ids := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.String)
		x0, y0, x1, y1 := col("x0"), col("y0"), col("x1"), col("y1")
		for i := range int(rec.NumRows()) {
			if x0.Value(i) < 0 {
				continue
			}
			scene, _, _ := strings.Cut(ids.Value(i), "#")
			found[scene] = append(found[scene], image.Rect(int(x0.Value(i)), int(y0.Value(i)), int(x1.Value(i)), int(y1.Value(i))))
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	var tl facematch.Tally
	for _, s := range scenes {
		tl.Add(found["crowds/"+filepath.Base(s.Path)], s.Faces, 0.4)
	}
	var line []string
	for i, b := range facematch.Bins {
		line = append(line, fmt.Sprintf("%s %.3f (%d)", b.Name, tl.ByWidth[i].Recall(), tl.ByWidth[i].Faces))
	}
	t.Logf("%d scenes: recall %s; precision %.3f (%d of %d)", len(scenes), strings.Join(line, ", "), tl.Precision(), tl.Right, tl.Boxes)
	if mid, big := tl.ByWidth[1].Recall(), tl.ByWidth[2].Recall(); mid < 0.40 || big < 0.65 || tl.Precision() < 0.87 {
		t.Errorf("recall %.3f (20-40 px), %.3f (>= 40 px), precision %.3f: want at least 0.40, 0.65, 0.87", mid, big, tl.Precision())
	}
}
