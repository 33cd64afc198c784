package face_test

import (
	"image"
	"reflect"
	"testing"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/face"
)

// stub is a detector that finds boxes given as fractions of the frame it
// sees (x0, y0, x1, y1 in 1/100ths) and records the frame sizes it saw.
type stub struct {
	name  string
	boxes [][4]int
	seen  []image.Point
}

func (s *stub) Name() string { return s.name }
func (s *stub) Close() error { return nil }
func (s *stub) Detect(f face.Frame) ([]face.Detection, error) {
	sz := f.Size()
	s.seen = append(s.seen, sz)
	var out []face.Detection
	for i, b := range s.boxes {
		out = append(out, face.Detection{
			Box:   image.Rect(b[0]*sz.X/100, b[1]*sz.Y/100, b[2]*sz.X/100, b[3]*sz.Y/100),
			Score: float64(i + 1),
		})
	}
	return out, nil
}

// sizedStub is a stub that finds faces down to min pixels (face.Sized).
type sizedStub struct {
	stub
	min int
}

func (s *sizedStub) MinFace() int { return s.min }

func blank(t *testing.T, w, h int) gocv.Mat {
	t.Helper()
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	t.Cleanup(func() { m.Close() })
	return m
}

func boxes(rs []face.Result) []image.Rectangle {
	var out []image.Rectangle
	for _, r := range rs {
		out = append(out, r.Box)
	}
	return out
}

func TestFindAllMergesTheStages(t *testing.T) {
	img := blank(t, 400, 200)
	none := &stub{name: "none"}
	// Scores are 1, 2, 3, 4: the fourth box, on the third's face, wins.
	first := &stub{name: "first", boxes: [][4]int{{50, 10, 60, 30}, {10, 50, 20, 70}, {10, 10, 20, 30}, {11, 11, 21, 31}}}
	// Its first box is on a face the first stage found: dropped.
	second := &stub{name: "second", boxes: [][4]int{{51, 11, 61, 31}, {80, 80, 90, 90}}}
	c := &face.Chain{Stages: []face.Detector{face.PortraitCenter, none, first, second}}
	got, err := c.FindAll(img)
	if err != nil {
		t.Fatal(err)
	}
	want := []face.Result{
		{Box: image.Rect(40, 100, 80, 140), Stage: "first", Score: 2},
		{Box: image.Rect(44, 22, 84, 62), Stage: "first", Score: 4},
		{Box: image.Rect(200, 20, 240, 60), Stage: "first", Score: 1},
		{Box: image.Rect(320, 160, 360, 180), Stage: "second", Score: 2},
	}
	for i := range want {
		want[i].Faces = len(want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("faces\n%v\nwant (left to right, then top to bottom)\n%v", got, want)
	}

	// Nothing but the fixed box: no face.
	c = &face.Chain{Stages: []face.Detector{none, face.PortraitCenter}}
	if got, err := c.FindAll(img); err != nil || len(got) != 0 {
		t.Fatalf("a chain that finds nothing but the fixed box gave %v, %v", got, err)
	}
	// Find still takes the fixed box.
	if res, ok, err := c.Find(img); err != nil || !ok || res.Stage != "center" {
		t.Fatalf("Find gave %+v, %v, %v; want the center stage", res, ok, err)
	}
	// Find takes the first stage that finds a face.
	c = &face.Chain{Stages: []face.Detector{none, second, first}}
	if res, ok, err := c.Find(img); err != nil || !ok || res.Stage != "second" || res.Faces != 2 {
		t.Fatalf("Find gave %+v, %v, %v; want the second stage's face", res, ok, err)
	}
}

func TestOverlaps(t *testing.T) {
	a := image.Rect(0, 0, 10, 10)
	for _, tc := range []struct {
		b    image.Rectangle
		want bool
	}{
		{image.Rect(2, 2, 6, 6), true},    // inside
		{image.Rect(4, 0, 14, 10), true},  // 60% of both
		{image.Rect(5, 0, 15, 10), false}, // half: not more
		{image.Rect(-20, -20, 40, 40), true},
		{image.Rect(10, 0, 20, 10), false},
	} {
		if got := face.Overlaps(a, tc.b); got != tc.want || face.Overlaps(tc.b, a) != got {
			t.Errorf("Overlaps(%v, %v) = %v, want %v", a, tc.b, got, tc.want)
		}
	}
}

func TestChainScalesForMinFace(t *testing.T) {
	img := blank(t, 400, 300)
	for _, tc := range []struct {
		name          string
		side, minFace int
		stageMin      int // 0: not Sized
		want          image.Point
	}{
		{"detect side only", 256, 0, 80, image.Pt(256, 192)},
		{"no min face, full size", 0, 0, 80, image.Pt(400, 300)},
		{"min face enlarges", 0, 20, 80, image.Pt(1600, 1200)},
		{"min face shrinks", 0, 40, 20, image.Pt(200, 150)},
		{"detect side caps", 800, 20, 80, image.Pt(800, 600)},
		{"at most MaxScale", 0, 1, 80, image.Pt(400*face.MaxScale, 300*face.MaxScale)},
		{"unsized stage sees the photo", 0, 20, 0, image.Pt(400, 300)},
		{"unsized stage, detect side", 200, 20, 0, image.Pt(200, 150)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &sizedStub{stub: stub{name: "s", boxes: [][4]int{{25, 50, 50, 100}}}, min: tc.stageMin}
			var d face.Detector = st
			if tc.stageMin == 0 {
				d = &st.stub
			}
			c := &face.Chain{Stages: []face.Detector{d}, DetectSide: tc.side, MinFace: tc.minFace}
			got, err := c.FindAll(img)
			if err != nil {
				t.Fatal(err)
			}
			if len(st.seen) != 1 || st.seen[0] != tc.want {
				t.Fatalf("stage saw frames %v, want one of %v", st.seen, tc.want)
			}
			// The box, a quarter of the frame's width, maps back to the
			// photo's pixels.
			if want := image.Rect(100, 150, 200, 300); len(got) != 1 || got[0].Box != want {
				t.Errorf("faces %v, want one at %v", boxes(got), want)
			}
		})
	}
	// A huge photo is not enlarged past MaxFramePixels.
	big := blank(t, 4000, 3000)
	st := &sizedStub{stub: stub{name: "s"}, min: 80}
	c := &face.Chain{Stages: []face.Detector{st}, MinFace: 20}
	if _, err := c.FindAll(big); err != nil {
		t.Fatal(err)
	}
	if px := st.seen[0].X * st.seen[0].Y; px > face.MaxFramePixels || px < face.MaxFramePixels/2 {
		t.Errorf("a 4000x3000 photo was scaled to %v (%d pixels), want at most %d", st.seen[0], px, face.MaxFramePixels)
	}
}

func TestChainRefusesBadImages(t *testing.T) {
	c := &face.Chain{Stages: []face.Detector{&stub{name: "s"}}}
	gray := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC1)
	defer gray.Close()
	empty := gocv.NewMat()
	defer empty.Close()
	for name, m := range map[string]gocv.Mat{"empty": empty, "gray": gray} {
		if _, err := c.FindAll(m); err == nil {
			t.Errorf("FindAll(%s): no error", name)
		}
		if _, _, err := c.Find(m); err == nil {
			t.Errorf("Find(%s): no error", name)
		}
	}
}
