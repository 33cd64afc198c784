package face

import (
	"image"

	"gocv.io/x/gocv"
)

// SkinCheck drops face boxes in a colour photo whose eye and forehead
// area shows too little skin colour: scenes are full of textures (leaves,
// clothes, walls) that a face detector at a low threshold takes for
// faces, and a mask hides the lower face but never the eyes. The test is
// the classic fixed YCrCb rule (Cr 135-175, Cb 80-130, any Y; Chai and
// Ngan's, slightly narrowed), on the box's upper middle: its middle two
// thirds across, from a sixth to half of its height. A photo without
// colour (grey, or one hue) is not tested. On the scenes of
// ../shared/data/crowds, half of the faces dlib finds there that are not
// annotated faces have under 14% skin in that area, against a tenth of the
// right ones under 38%.
type SkinCheck struct {
	// Min is the share of skin-coloured pixels every face needs.
	Min float64
	// Weak is the share a Weak face needs (besides being confirmed).
	Weak float64
}

// SceneSkin is the check facet-crop --faces all makes.
var SceneSkin = SkinCheck{Min: 0.1, Weak: 0.2}

// skin is a photo's skin-colour mask, made once.
type skin struct {
	mask   gocv.Mat // 255 where skin-coloured; empty for a photo without colour
	colour bool
}

// Skin colour in YCrCb (OpenCV's order: Y, Cr, Cb).
var (
	skinLow  = gocv.NewScalar(0, 135, 80, 0)
	skinHigh = gocv.NewScalar(255, 175, 130, 0)
)

// newSkin makes the mask of a BGR photo.
func newSkin(bgr gocv.Mat) *skin {
	ycc := gocv.NewMat()
	defer ycc.Close()
	gocv.CvtColor(bgr, &ycc, gocv.ColorBGRToYCrCb)
	mean, std := gocv.NewMat(), gocv.NewMat()
	defer mean.Close()
	defer std.Close()
	gocv.MeanStdDev(ycc, &mean, &std)
	// A photo whose Cr and Cb hardly vary has no colour to test.
	if std.GetDoubleAt(1, 0) < 2 && std.GetDoubleAt(2, 0) < 2 {
		return &skin{}
	}
	s := &skin{mask: gocv.NewMat(), colour: true}
	gocv.InRangeWithScalar(ycc, skinLow, skinHigh, &s.mask)
	return s
}

func (s *skin) close() {
	if s != nil && s.colour {
		s.mask.Close()
	}
}

// share is the share of skin-coloured pixels in the upper middle of box
// (photo pixels); 1 for a photo without colour.
func (s *skin) share(box image.Rectangle) float64 {
	if !s.colour {
		return 1
	}
	w, h := box.Dx(), box.Dy()
	r := image.Rect(box.Min.X+w/6, box.Min.Y+h/6, box.Max.X-w/6, box.Min.Y+h/2).
		Intersect(image.Rect(0, 0, s.mask.Cols(), s.mask.Rows()))
	if r.Empty() {
		return 0
	}
	part := s.mask.Region(r)
	defer part.Close()
	return float64(gocv.CountNonZero(part)) / float64(r.Dx()*r.Dy())
}
