package face

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/numrange"
)

// Result is a face a Chain settled on, in the original image's pixels.
type Result struct {
	Box       image.Rectangle
	Stage     string  // name of the detector that found it
	Score     float64 // that detector's confidence
	Faces     int     // Find: how many faces that detector found; FindAll: how many faces it returns
	Landmarks []image.Point
}

// Chain runs detectors on scaled copies of an image. Find takes the first
// stage that finds a face (a portrait's one face); FindAll takes every
// face of a scene. A Center detector at the end makes Find always
// succeed; FindAll leaves it out.
//
// Without MinFace, every stage sees one copy at most DetectSide pixels
// long: detection on a small copy is much faster and loses little for
// portrait-sized faces. With MinFace, each stage sees a copy scaled so
// that a face MinFace photo pixels wide is the smallest it finds (see
// Sized), enlarged when that is needed, so that small faces in a scene
// are not lost to the small copy. Boxes are mapped back to full size.
type Chain struct {
	Stages []Detector
	// DetectSide is the longest side of the copy detectors see (0: the
	// image as it is). Images already smaller are not enlarged. With
	// MinFace it caps the scaled copies' longest side instead (0: no cap).
	DetectSide int
	// MinFace is the smallest face side looked for, in photo pixels (0:
	// the stages' own smallest on the DetectSide copy).
	MinFace int
	// Skin, when not nil, drops FindAll's faces with too little skin
	// colour (see SkinCheck).
	Skin *SkinCheck
	// Time accumulates the time spent per stage name ("resize" for the
	// scaled copies), when not nil. A Chain is used by one goroutine.
	Time map[string]time.Duration
}

// Sized is a Detector that knows the smallest face it finds: a box side,
// in the pixels of the frame it is given. A Chain with MinFace scales each
// Sized stage's frame by MinFace() / Chain.MinFace.
type Sized interface {
	MinFace() int
}

// MaxScale is how many times a Chain with MinFace enlarges an image at
// most, and MaxFramePixels how many pixels a scaled copy holds at most:
// a face that would need more is looked for at the largest scale within
// both.
const (
	MaxScale       = 8
	MaxFramePixels = 24 << 20
)

// detect runs stage st on its frame of fs (at scale s), timed.
func (c *Chain) detect(fs *frames, st Detector) (dets []Detection, frame Frame, s float64, err error) {
	s = fs.scale(st)
	frame = fs.frame(s)
	t := time.Now()
	dets, err = st.Detect(frame)
	c.clock(st.Name(), t)
	if err != nil {
		return nil, frame, s, fmt.Errorf("%s: %w", st.Name(), err)
	}
	return dets, frame, s, nil
}

func (c *Chain) clock(name string, since time.Time) {
	if c.Time != nil {
		c.Time[name] += time.Since(since)
	}
}

// Close closes every stage.
func (c *Chain) Close() error {
	var errs []error
	for _, s := range c.Stages {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// frames makes and keeps the scaled copies of one image the stages see,
// one per scale.
type frames struct {
	c      *Chain
	bgr    gocv.Mat // the full image
	full   image.Point
	copies map[float64]Frame
	skin   *skin // made on demand
}

func (c *Chain) newFrames(bgr gocv.Mat) (*frames, error) {
	if bgr.Empty() || bgr.Type() != gocv.MatTypeCV8UC3 {
		return nil, errors.New("face: want a non-empty 8-bit BGR image")
	}
	return &frames{c: c, bgr: bgr, full: image.Pt(bgr.Cols(), bgr.Rows()), copies: map[float64]Frame{}}, nil
}

func (fs *frames) close() {
	for s, f := range fs.copies {
		if s != 1 {
			f.BGR.Close()
		}
		f.Gray.Close()
	}
	fs.skin.close()
}

// skinShare is the share of skin colour in the upper middle of box (photo
// pixels), see SkinCheck.
func (fs *frames) skinShare(box image.Rectangle) float64 {
	t := time.Now()
	defer fs.c.clock("skin", t)
	if fs.skin == nil {
		fs.skin = newSkin(fs.bgr)
	}
	return fs.skin.share(box)
}

// scale is the factor from the photo to the frame stage st sees.
func (fs *frames) scale(st Detector) float64 {
	c, long := fs.c, float64(max(fs.full.X, fs.full.Y))
	sz, ok := st.(Sized)
	if c.MinFace <= 0 || !ok || sz.MinFace() <= 0 {
		if c.DetectSide > 0 && long > float64(c.DetectSide) {
			return float64(c.DetectSide) / long
		}
		return 1
	}
	s := float64(sz.MinFace()) / float64(c.MinFace)
	s = min(s, MaxScale, math.Sqrt(MaxFramePixels/(float64(fs.full.X)*float64(fs.full.Y))))
	if c.DetectSide > 0 {
		s = min(s, float64(c.DetectSide)/long)
	}
	// Scales are kept to 1/16 steps (down), so that stages of similar needs share
	// a copy; the copy is never under one pixel.
	return max(math.Floor(s*16)/16, 1/16.0, 1/float64(min(fs.full.X, fs.full.Y)))
}

// frame is the copy of the image at scale s.
func (fs *frames) frame(s float64) Frame {
	if f, ok := fs.copies[s]; ok {
		return f
	}
	t := time.Now()
	defer fs.c.clock("resize", t)
	f := Frame{BGR: fs.bgr}
	if s != 1 {
		f.BGR = gocv.NewMat()
		sz := image.Pt(max(1, int(math.Round(float64(fs.full.X)*s))), max(1, int(math.Round(float64(fs.full.Y)*s))))
		interp := gocv.InterpolationArea
		if s > 1 {
			interp = gocv.InterpolationLinear
		}
		gocv.Resize(fs.bgr, &f.BGR, sz, 0, 0, interp)
	}
	f.Gray = gocv.NewMat()
	gocv.CvtColor(f.BGR, &f.Gray, gocv.ColorBGRToGray)
	fs.copies[s] = f
	return f
}

// toPhoto maps a detection made at scale s to a Result in photo pixels,
// clipped to the photo; ok is false when nothing of the box is left.
func (fs *frames) toPhoto(st Detector, d Detection, s float64) (Result, bool) {
	res := Result{Stage: st.Name(), Score: d.Score, Box: scaleRect(d.Box, 1/s).Intersect(image.Rectangle{Max: fs.full})}
	if d.Landmarks != nil {
		res.Landmarks = make([]image.Point, len(d.Landmarks))
		for j, p := range d.Landmarks {
			res.Landmarks[j] = scalePoint(p, 1/s)
		}
	}
	return res, !res.Box.Empty()
}

// Find finds the face in a BGR image: the stages run in order and the
// first that finds a face wins; among its faces Pick takes the one a
// portrait means. It reports an error for an empty image or a detector
// failure, and ok=false when no stage found a face.
func (c *Chain) Find(bgr gocv.Mat) (res Result, ok bool, err error) {
	fs, err := c.newFrames(bgr)
	if err != nil {
		return Result{}, false, err
	}
	defer fs.close()
	for _, st := range c.Stages {
		dets, frame, s, err := c.detect(fs, st)
		if err != nil {
			return Result{}, false, err
		}
		i := Pick(dets, frame.Size())
		if i < 0 {
			continue
		}
		res, ok := fs.toPhoto(st, dets[i], s)
		if !ok {
			continue
		}
		res.Faces = len(dets) - countWeak(dets)
		return res, true, nil
	}
	return Result{}, false, nil
}

// FindAll finds every face in a BGR image: every stage runs (Center
// stages are skipped: a fixed box is no face), and their faces are merged
// by non-maximum suppression: a face overlapping one already kept (see
// Overlaps) is dropped, earlier stages' faces being kept first, and a
// stage's surer faces before its others. A Weak face is kept only when a
// later or earlier stage that can confirm faces (the cascade) does; its
// Stage then names both ("dlib+cascade"). With Skin, faces with too
// little skin colour are dropped too. Each face has its landmarks
// when its stage gives them. The faces are ordered left to right (then top to
// bottom) by their boxes. None found is not an error.
func (c *Chain) FindAll(bgr gocv.Mat) ([]Result, error) {
	fs, err := c.newFrames(bgr)
	if err != nil {
		return nil, err
	}
	defer fs.close()
	var kept []Result
	for _, st := range c.Stages {
		if _, fixed := st.(Center); fixed {
			continue
		}
		dets, frame, s, err := c.detect(fs, st)
		if err != nil {
			return nil, err
		}
		slices.SortStableFunc(dets, func(a, b Detection) int { return cmp.Compare(b.Score, a.Score) })
		for _, d := range dets {
			r, ok := fs.toPhoto(st, d, s)
			if !ok || slices.ContainsFunc(kept, func(k Result) bool { return Overlaps(k.Box, r.Box) }) {
				continue
			}
			if c.Skin != nil {
				need := c.Skin.Min
				if d.Weak {
					need = max(need, c.Skin.Weak)
				}
				if fs.skinShare(r.Box) < need {
					continue
				}
			}
			if d.Weak {
				by, err := c.confirm(fs, st, r.Box)
				if err != nil {
					return nil, err
				}
				if by == "" {
					continue
				}
				r.Stage += "+" + by
			}
			if lm, ok := st.(landmarker); ok && d.Landmarks == nil {
				t := time.Now()
				d.Landmarks, err = lm.landmarks(frame, d)
				c.clock(st.Name(), t)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", st.Name(), err)
				}
				withLandmarks, _ := fs.toPhoto(st, d, s)
				r.Landmarks = withLandmarks.Landmarks
			}
			kept = append(kept, r)
		}
	}
	sortResults(kept)
	for i := range kept {
		kept[i].Faces = len(kept)
	}
	return kept, nil
}

// confirm asks the stages other than st that can confirm a face (a
// verifier) whether there is one at box (photo pixels), and returns the
// name of the first that says yes, or "".
func (c *Chain) confirm(fs *frames, st Detector, box image.Rectangle) (string, error) {
	for _, v := range c.Stages {
		vf, ok := v.(verifier)
		if !ok || v == st {
			continue
		}
		s := fs.scale(v)
		t := time.Now()
		_, yes, err := vf.confirm(fs.frame(s), scaleRect(box, s))
		c.clock(v.Name()+" confirm", t)
		if err != nil {
			return "", fmt.Errorf("%s: %w", v.Name(), err)
		}
		if yes {
			return v.Name(), nil
		}
	}
	return "", nil
}

// verifier is a stage that can confirm a face another stage found at a
// box of frame f, with a score of its own.
type verifier interface {
	confirm(f Frame, box image.Rectangle) (score float64, yes bool, err error)
}

func countWeak(dets []Detection) int {
	n := 0
	for _, d := range dets {
		if d.Weak {
			n++
		}
	}
	return n
}

// Overlaps says whether two face boxes are taken for one face: their
// intersection covers more than half of the smaller box. (Intersection
// over union would keep a small box inside a large one, both on the same
// face, as two faces.)
func Overlaps(a, b image.Rectangle) bool {
	in := a.Intersect(b)
	if in.Empty() {
		return false
	}
	return 2*area(in) > min(area(a), area(b))
}

// sortResults orders faces left to right by their boxes' left edges,
// then top to bottom, then by size: the order of FindAll's faces and so
// of their indices.
func sortResults(rs []Result) {
	slices.SortStableFunc(rs, func(a, b Result) int {
		if a.Box.Min.X != b.Box.Min.X {
			return a.Box.Min.X - b.Box.Min.X
		}
		if a.Box.Min.Y != b.Box.Min.Y {
			return a.Box.Min.Y - b.Box.Min.Y
		}
		return area(a.Box) - area(b.Box)
	})
}

// landmarker is a stage that can place the 68 landmarks of a face it
// found in frame f.
type landmarker interface {
	landmarks(f Frame, d Detection) ([]image.Point, error)
}

func scalePoint(p image.Point, s float64) image.Point {
	return image.Pt(int(math.Round(float64(p.X)*s)), int(math.Round(float64(p.Y)*s)))
}

func scaleRect(r image.Rectangle, s float64) image.Rectangle {
	return image.Rectangle{Min: scalePoint(r.Min, s), Max: scalePoint(r.Max, s)}
}

// Center is the last stage: a fixed box at a fixed place, as fractions of
// the image's width and height, for photos where no detector found a face.
// It never fails.
type Center struct {
	X0, Y0, X1, Y1 float64
}

// PortraitCenter is the fixed crop tuned to the competition's 384x512
// portraits, where the face sits a little above the middle.
var PortraitCenter = Center{X0: 0.2, Y0: 0.15, X1: 0.8, Y1: 0.65}

// ParseCenter reads "x0,y0,x1,y1" fractions (finite numbers in 0..1,
// read by numrange.ParseFloat like every number of a command line).
func ParseCenter(s string) (Center, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return Center{}, fmt.Errorf("center box %q: want x0,y0,x1,y1 as fractions of the image", s)
	}
	var v [4]float64
	for i, p := range parts {
		var err error
		if v[i], err = numrange.ParseFloat(p, numrange.Between(0, 1)); err != nil {
			return Center{}, fmt.Errorf("center box %q: %w", s, err)
		}
	}
	c := Center{X0: v[0], Y0: v[1], X1: v[2], Y1: v[3]}
	if c.X0 >= c.X1 || c.Y0 >= c.Y1 {
		return Center{}, fmt.Errorf("center box %q: want 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1", s)
	}
	return c, nil
}

// Name is "center".
func (Center) Name() string { return "center" }

// Detect returns the fixed box.
func (c Center) Detect(f Frame) ([]Detection, error) {
	sz := f.Size()
	r := image.Rect(int(c.X0*float64(sz.X)), int(c.Y0*float64(sz.Y)), int(math.Ceil(c.X1*float64(sz.X))), int(math.Ceil(c.Y1*float64(sz.Y))))
	return []Detection{{Box: r.Intersect(image.Rectangle{Max: sz})}}, nil
}

// Close does nothing.
func (Center) Close() error { return nil }
