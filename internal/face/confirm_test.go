package face

import (
	"image"
	"image/color"
	"reflect"
	"testing"

	"gocv.io/x/gocv"
)

// weakStub finds fixed boxes (frame pixels), some of them weak.
type weakStub struct {
	dets []Detection
}

func (s *weakStub) Name() string                      { return "finder" }
func (s *weakStub) Close() error                      { return nil }
func (s *weakStub) Detect(Frame) ([]Detection, error) { return s.dets, nil }

// landmarks gives each face one landmark, its box's corner.
func (s *weakStub) landmarks(f Frame, d Detection) ([]image.Point, error) {
	return []image.Point{d.Box.Min}, nil
}

// yesStub confirms the faces whose boxes start left of x, and finds none.
type yesStub struct {
	x     int
	asked []image.Rectangle
}

func (s *yesStub) Name() string                      { return "checker" }
func (s *yesStub) Close() error                      { return nil }
func (s *yesStub) Detect(Frame) ([]Detection, error) { return nil, nil }
func (s *yesStub) confirm(f Frame, box image.Rectangle) (float64, bool, error) {
	s.asked = append(s.asked, box)
	return 1, box.Min.X < s.x, nil
}

func TestWeakFacesNeedConfirming(t *testing.T) {
	img := gocv.NewMatWithSize(100, 300, gocv.MatTypeCV8UC3)
	defer img.Close()
	finder := &weakStub{dets: []Detection{
		{Box: image.Rect(10, 10, 30, 30), Score: 1},
		{Box: image.Rect(50, 10, 70, 30), Score: -0.5, Weak: true},   // confirmed
		{Box: image.Rect(200, 10, 220, 30), Score: -0.5, Weak: true}, // not confirmed
	}}
	checker := &yesStub{x: 100}
	c := &Chain{Stages: []Detector{finder, checker}}
	got, err := c.FindAll(img)
	if err != nil {
		t.Fatal(err)
	}
	want := []image.Rectangle{image.Rect(10, 10, 30, 30), image.Rect(50, 10, 70, 30)}
	var boxes []image.Rectangle
	for _, r := range got {
		boxes = append(boxes, r.Box)
	}
	if !reflect.DeepEqual(boxes, want) || got[0].Stage != "finder" || got[1].Stage != "finder+checker" {
		t.Fatalf("faces %+v; want %v, the second confirmed by the checker", got, want)
	}
	for _, r := range got {
		if len(r.Landmarks) != 1 || r.Landmarks[0] != r.Box.Min {
			t.Errorf("face %v: landmarks %v, want its corner", r.Box, r.Landmarks)
		}
	}
	// Only the weak faces were asked about.
	if !reflect.DeepEqual(checker.asked, []image.Rectangle{image.Rect(50, 10, 70, 30), image.Rect(200, 10, 220, 30)}) {
		t.Errorf("asked about %v", checker.asked)
	}
	// Without a stage that confirms, weak faces are dropped; Find never
	// takes one.
	c = &Chain{Stages: []Detector{finder}}
	if got, err := c.FindAll(img); err != nil || len(got) != 1 {
		t.Errorf("no checker: %+v, %v", got, err)
	}
	only := &weakStub{dets: finder.dets[1:]}
	c = &Chain{Stages: []Detector{only}}
	if res, ok, err := c.Find(img); err != nil || ok {
		t.Errorf("Find took a weak face: %+v, %v, %v", res, ok, err)
	}
}

// skinPhoto is a 200x100 photo: a skin-coloured square at x 20-60, a
// green one at x 120-160, grey elsewhere.
func skinPhoto(t *testing.T, grey bool) gocv.Mat {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 200, 100))
	for y := range 100 {
		for x := range 200 {
			c := color.RGBA{128, 128, 128, 255}
			switch {
			case grey:
			case x >= 20 && x < 60 && y >= 20 && y < 60:
				c = color.RGBA{224, 172, 140, 255} // light skin
			case x >= 120 && x < 160 && y >= 20 && y < 60:
				c = color.RGBA{60, 140, 60, 255}
			}
			img.Set(x, y, c)
		}
	}
	m, err := gocv.ImageToMatRGB(img)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSkinCheck(t *testing.T) {
	img := skinPhoto(t, false)
	defer img.Close()
	s := newSkin(img)
	defer s.close()
	// The check looks at a box's upper middle: for these boxes, the
	// squares.
	for _, tc := range []struct {
		box  image.Rectangle
		want float64
	}{
		{image.Rect(14, 8, 66, 88), 1},     // upper middle x 22-58, y 21-48: all skin
		{image.Rect(114, 8, 166, 88), 0},   // green
		{image.Rect(60, 8, 112, 88), 0},    // grey
		{image.Rect(190, 90, 260, 160), 0}, // mostly outside the photo
	} {
		if got := s.share(tc.box); got != tc.want {
			t.Errorf("share(%v) = %v, want %v", tc.box, got, tc.want)
		}
	}
	// In a grey photo nothing is tested.
	grey := skinPhoto(t, true)
	defer grey.Close()
	g := newSkin(grey)
	defer g.close()
	if got := g.share(image.Rect(114, 8, 166, 88)); got != 1 {
		t.Errorf("grey photo: share %v, want 1 (not tested)", got)
	}

	// A chain with the check drops the green face.
	finder := &weakStub{dets: []Detection{
		{Box: image.Rect(14, 8, 66, 88), Score: 1},
		{Box: image.Rect(114, 8, 166, 88), Score: 1},
	}}
	c := &Chain{Stages: []Detector{finder, &yesStub{x: 1000}}, Skin: &SkinCheck{Min: 0.1, Weak: 0.5}}
	got, err := c.FindAll(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Box != image.Rect(14, 8, 66, 88) {
		t.Errorf("faces %+v, want the skin-coloured one", got)
	}
	if got, err := c.FindAll(grey); err != nil || len(got) != 2 {
		t.Errorf("grey photo: %+v, %v; want both faces (no colour to test)", got, err)
	}
}
