package face

import (
	"errors"
	"fmt"
	"image"
	"math"
	"strings"
	"time"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/cli"
)

// Result is the face a Chain settled on, in the original image's pixels.
type Result struct {
	Box       image.Rectangle
	Stage     string  // name of the detector that found it
	Score     float64 // that detector's confidence
	Faces     int     // how many faces that detector found
	Landmarks []image.Point
}

// Chain runs detectors in order on a downscaled copy of the image and
// takes the first that finds a face; a Center detector at the end makes
// it always succeed. Detection on a small copy is much faster and loses
// little for portrait-sized faces; boxes are mapped back to full size.
type Chain struct {
	Stages []Detector
	// DetectSide is the longest side of the copy detectors see (0: the
	// image as it is). Images already smaller are not enlarged.
	DetectSide int
	// Time accumulates the time spent per stage name ("resize" for the
	// downscaled copy), when not nil. A Chain is used by one goroutine.
	Time map[string]time.Duration
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

// Find finds the face in a BGR image. It reports an error for an empty
// image or a detector failure, and ok=false when no stage found a face.
func (c *Chain) Find(bgr gocv.Mat) (res Result, ok bool, err error) {
	if bgr.Empty() || bgr.Type() != gocv.MatTypeCV8UC3 {
		return Result{}, false, errors.New("face: want a non-empty 8-bit BGR image")
	}
	full := image.Pt(bgr.Cols(), bgr.Rows())
	scale := 1.0
	if long := max(full.X, full.Y); c.DetectSide > 0 && long > c.DetectSide {
		scale = float64(c.DetectSide) / float64(long)
	}
	t := time.Now()
	small := bgr
	if scale != 1 {
		small = gocv.NewMat()
		defer small.Close()
		sz := image.Pt(max(1, int(math.Round(float64(full.X)*scale))), max(1, int(math.Round(float64(full.Y)*scale))))
		gocv.Resize(bgr, &small, sz, 0, 0, gocv.InterpolationArea)
	}
	gray := gocv.NewMat()
	defer gray.Close()
	gocv.CvtColor(small, &gray, gocv.ColorBGRToGray)
	c.clock("resize", t)
	frame := Frame{BGR: small, Gray: gray}
	for _, st := range c.Stages {
		t := time.Now()
		dets, err := st.Detect(frame)
		c.clock(st.Name(), t)
		if err != nil {
			return Result{}, false, fmt.Errorf("%s: %w", st.Name(), err)
		}
		i := Pick(dets, frame.Size())
		if i < 0 {
			continue
		}
		d := dets[i]
		res = Result{Stage: st.Name(), Score: d.Score, Faces: len(dets), Box: scaleRect(d.Box, 1/scale).Intersect(image.Rectangle{Max: full})}
		if d.Landmarks != nil {
			res.Landmarks = make([]image.Point, len(d.Landmarks))
			for j, p := range d.Landmarks {
				res.Landmarks[j] = scalePoint(p, 1/scale)
			}
		}
		if res.Box.Empty() {
			continue
		}
		return res, true, nil
	}
	return Result{}, false, nil
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
// read by cli.ParseFloat like every number of a command line).
func ParseCenter(s string) (Center, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return Center{}, fmt.Errorf("center box %q: want x0,y0,x1,y1 as fractions of the image", s)
	}
	var v [4]float64
	for i, p := range parts {
		var err error
		if v[i], err = cli.ParseFloat(p, cli.Between(0, 1)); err != nil {
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
