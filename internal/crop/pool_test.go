package crop

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/face"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/testdata"
)

// fixedFaces is a detector that finds the same boxes (frame pixels) in
// every frame.
type fixedFaces []image.Rectangle

func (fixedFaces) Name() string { return "fixed" }
func (fixedFaces) Close() error { return nil }
func (f fixedFaces) Detect(face.Frame) ([]face.Detection, error) {
	var out []face.Detection
	for _, b := range f {
		out = append(out, face.Detection{Box: b, Score: 1})
	}
	return out, nil
}

// testPhotos writes a 200x100 JPEG (left half black, right half white)
// under a temp folder as a.jpg and b.jpg and returns their paths.
func testPhotos(t *testing.T) (a, b string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for y := range 100 {
		for x := range 200 {
			v := uint8(0)
			if x >= 100 {
				v = 255
			}
			img.Set(x, y, color.RGBA{v, v, v, 255})
		}
	}
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a.jpg"), filepath.Join(dir, "b.jpg")
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, testdata.JPEG(t, img), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

func testPool(t *testing.T, cfg Config, stages ...face.Detector) *Pool {
	t.Helper()
	cfg.Geometry = Geometry{Margin: 0, Size: 32}
	cfg.Ext, cfg.Quality = ".jpg", 90
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	p, err := NewPool(cfg, 2, func() (*face.Chain, error) { return &face.Chain{Stages: stages}, nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestAllFacesOneCropEach(t *testing.T) {
	a, b := testPhotos(t)
	dir := t.TempDir()
	// b.jpg: no face but the fixed box, which --faces all never crops.
	boxes := fixedFaces{image.Rect(120, 10, 160, 50), image.Rect(10, 20, 50, 60)}
	cfg := Config{Mode: AllFaces, Dir: dir, Settings: "s"}
	pool := testPool(t, cfg, face.PortraitCenter, boxes)
	outs, err := pool.Crop(context.Background(), []Job{{ID: "x/a.jpg", Path: a}, {ID: "x/missing.jpg", Path: filepath.Join(dir, "none.jpg")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 3 {
		t.Fatalf("%d outcomes, want 2 faces and a failed photo: %+v", len(outs), outs)
	}
	// Faces left to right: the black one (x 10-50) is face 0.
	for k, want := range []struct {
		id, path string
		box      image.Rectangle
		grey     uint8
	}{
		{"x/a.jpg#0", filepath.Join(dir, "x", "a.jpg#0.jpg"), image.Rect(10, 20, 50, 60), 0},
		{"x/a.jpg#1", filepath.Join(dir, "x", "a.jpg#1.jpg"), image.Rect(120, 10, 160, 50), 255},
	} {
		o := outs[k]
		if o.Reason != "" || o.ID != want.id || o.Job != 0 || o.Face != k || o.CropPath != want.path || o.Meta.Box != want.box || o.Meta.Faces != 2 || o.Meta.Stage != "fixed" {
			t.Errorf("face %d: %+v; want id %s, crop %s, box %v", k, o, want.id, want.path, want.box)
			continue
		}
		m := gocv.IMRead(o.CropPath, gocv.IMReadGrayScale)
		if v := m.GetUCharAt(16, 16); m.Rows() != 32 || (v > 128) != (want.grey > 128) {
			t.Errorf("crop %s: %dx%d, centre %d; want 32x32 of grey %d", o.CropPath, m.Cols(), m.Rows(), v, want.grey)
		}
		m.Close()
	}
	if o := outs[2]; o.Job != 1 || o.ID != "x/missing.jpg" || o.Face != -1 || o.Reason != ReasonRead {
		t.Errorf("missing photo: %+v", o)
	}

	// A photo where nothing but the fixed box is found keeps one row,
	// with the reason, and gets no crop.
	none := testPool(t, Config{Mode: AllFaces, Settings: "s"}, fixedFaces(nil), face.PortraitCenter)
	outs, err = none.Crop(context.Background(), []Job{{ID: "b.jpg", Path: b}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].ID != "b.jpg" || outs[0].Reason != ReasonNoFace || outs[0].CropPath != "" || outs[0].Face != -1 {
		t.Fatalf("photo without a face: %+v", outs)
	}

	// --resume keeps both crops; with one of them gone it crops the photo
	// again. (A pool claims each crop file once: a run is a new pool.)
	cfg.Resume = true
	for round, remove := range []bool{false, true} {
		if remove {
			if err := os.Remove(filepath.Join(dir, "x", "a.jpg#1.jpg")); err != nil {
				t.Fatal(err)
			}
		}
		again := testPool(t, cfg, boxes)
		outs, err = again.Crop(context.Background(), []Job{{ID: "x/a.jpg", Path: a}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(outs) != 2 || outs[0].ID != "x/a.jpg#0" || outs[1].ID != "x/a.jpg#1" || outs[1].Face != 1 || outs[1].Meta.Box != image.Rect(120, 10, 160, 50) {
			t.Fatalf("round %d: %+v", round, outs)
		}
		if outs[0].Reused == remove || outs[1].Reused == remove {
			t.Errorf("round %d (crop removed: %v): reused %v, %v", round, remove, outs[0].Reused, outs[1].Reused)
		}
	}
}

func TestGivenBoxes(t *testing.T) {
	a, _ := testPhotos(t)
	// The detector would find another box: given boxes are not detected.
	pool := testPool(t, Config{Mode: GivenBoxes, Settings: "g"}, fixedFaces{image.Rect(0, 0, 10, 10)})
	jobs := []Job{
		{ID: "in", Path: a, Box: image.Rect(120, 10, 160, 50)},
		{ID: "across the edge", Path: a, Box: image.Rect(180, 60, 220, 100)},
		{ID: "outside", Path: a, Box: image.Rect(300, 10, 340, 50)},
		{ID: "empty", Path: a, Box: image.Rect(20, 20, 20, 40)},
		{ID: "inverted", Path: a, Box: image.Rectangle{Min: image.Pt(60, 60), Max: image.Pt(20, 20)}},
		{ID: "none", Path: a},
	}
	outs, err := pool.Crop(context.Background(), jobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != len(jobs) {
		t.Fatalf("%d outcomes for %d jobs", len(outs), len(jobs))
	}
	for i, want := range []image.Rectangle{image.Rect(120, 10, 160, 50), image.Rect(180, 60, 200, 100)} {
		o := outs[i]
		if o.Reason != "" || o.Meta.Box != want || o.Meta.Given != jobs[i].Box || o.Meta.Stage != StageGiven || o.Face != 0 {
			t.Errorf("%s: %+v; want box %v (clipped to the photo), given %v", jobs[i].ID, o, want, jobs[i].Box)
		}
	}
	for _, o := range outs[2:] {
		if o.Reason != ReasonBox || o.CropPath != "" {
			t.Errorf("%s: %+v; want %q", o.ID, o, ReasonBox)
		}
	}
}

// In AllFaces mode each face's crop file is claimed: of two rows with one
// id the second is refused whole (its face 0 is claimed before any work),
// and a later call of the pool cannot write the faces again.
func TestAllFacesClaimsEveryFace(t *testing.T) {
	a, b := testPhotos(t)
	boxes := fixedFaces{image.Rect(120, 10, 160, 50), image.Rect(10, 20, 50, 60)}
	pool := testPool(t, Config{Mode: AllFaces, Settings: "s"}, boxes)
	outs, err := pool.Crop(context.Background(), []Job{{ID: "p", Path: a}, {ID: "p", Path: b}, {ID: "q", Path: b}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outs {
		got = append(got, fmt.Sprintf("%d %s %d %s", o.Job, o.ID, o.Face, o.Reason))
	}
	want := []string{"0 p#0 0 ", "0 p#1 1 ", "1 p -1 " + ReasonDuplicate, "2 q#0 0 ", "2 q#1 1 "}
	if !slices.Equal(got, want) {
		t.Errorf("outcomes %q, want %q", got, want)
	}
	outs, err = pool.Crop(context.Background(), []Job{{ID: "q", Path: a}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 1 || outs[0].Reason != ReasonDuplicate || outs[0].ID != "q" {
		t.Errorf("a later call with the same id: %+v", outs)
	}
}

// A face crop that cannot be written is the machine's failure in
// AllFaces mode too: Crop stops and returns the write error.
func TestAllFacesWriteFailureStops(t *testing.T) {
	a, _ := testPhotos(t)
	dir := t.TempDir()
	// A folder where face 1's crop file goes: it cannot be replaced.
	if err := os.MkdirAll(filepath.Join(dir, "a.jpg#1.jpg", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	pool := testPool(t, Config{Mode: AllFaces, Dir: dir, Settings: "s"}, fixedFaces{image.Rect(120, 10, 160, 50), image.Rect(10, 20, 50, 60)})
	outs, err := pool.Crop(context.Background(), []Job{{ID: "a.jpg", Path: a}}, nil)
	if !outfile.IsError(err) || !strings.Contains(err.Error(), "a.jpg#1.jpg") || outs != nil {
		t.Fatalf("outcomes %+v, err %v; want the write error of face 1", outs, err)
	}
}
