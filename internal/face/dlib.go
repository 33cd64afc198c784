package face

import (
	"errors"
	"fmt"
	"image"
	"math"
	"unsafe"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/dlib"
)

// dlibStage is the "dlib" stage: dlib's HOG frontal face detector on the
// frame's gray image, with the 68 landmarks of the face Pick takes when it
// has a predictor.
type dlibStage struct {
	name     string
	det      *dlib.Detector
	pred     *dlib.Predictor // shared, not owned; nil: no landmarks
	upsample int
	adjust   float64 // added to dlib's threshold
	weak     float64 // lower adjustment for weak faces (see NewDlibWeak); >= adjust: none
}

// NewDlib is the dlib stage: HOG detection on f.Gray after upsampling it
// upsample times (0 to dlib.MaxUpsample; each doubles the size, so faces
// down to about 40 instead of 80 pixels are found at 1, for about 3.5
// times the time), and the 68 landmarks of the face Pick takes from pred
// (nil pred: no landmarks). Score is dlib's detection confidence (>= 0). pred is
// shared, safe for concurrent use, and not closed by Close: its owner
// closes it after every stage using it.
func NewDlib(pred *dlib.Predictor, upsample int) (Detector, error) {
	return NewDlibThreshold(pred, upsample, 0)
}

// NewDlibThreshold is NewDlib with dlib's detection threshold moved by
// adjust: below 0 it finds more faces, masked ones especially, and more
// false ones (on the shared half-size portraits, -0.3 to -0.6 found
// clearly more masked faces and no fewer unmasked ones); Score can then be
// as low as adjust.
func NewDlibThreshold(pred *dlib.Predictor, upsample int, adjust float64) (Detector, error) {
	if upsample < 0 || upsample > dlib.MaxUpsample {
		return nil, fmt.Errorf("face: dlib upsample %d out of range 0..%d", upsample, dlib.MaxUpsample)
	}
	if math.IsNaN(adjust) || math.IsInf(adjust, 0) {
		return nil, fmt.Errorf("face: dlib threshold adjustment %v", adjust)
	}
	det, err := dlib.NewDetector(DlibPoses...)
	if err != nil {
		return nil, err
	}
	return &dlibStage{name: "dlib", det: det, pred: pred, upsample: upsample, adjust: adjust, weak: adjust}, nil
}

// NewDlibWeak is NewDlibThreshold that also reports the faces dlib finds
// with its threshold moved by weak (below adjust) but not by adjust, as
// Weak detections, which a Chain's FindAll keeps only when another stage
// confirms them.
func NewDlibWeak(pred *dlib.Predictor, upsample int, adjust, weak float64) (Detector, error) {
	if !(weak < adjust) {
		return nil, fmt.Errorf("face: dlib weak threshold adjustment %v: want it under %v", weak, adjust)
	}
	d, err := NewDlibThreshold(pred, upsample, adjust)
	if err != nil {
		return nil, err
	}
	d.(*dlibStage).weak = weak
	return d, nil
}

// DlibPoses are the filters of dlib's frontal face detector the stages
// run: frontal, looking left, looking right. The two rotated-frontal
// filters found no face the others missed on the real portraits of
// ../shared/data (same shares by stage, same found rates), and leaving
// them out makes the whole crop stage 20% faster.
var DlibPoses = []int{0, 1, 2}

// DlibAdjust is the threshold adjustment facet-crop's plain dlib stage
// uses by default. On the real portraits of ../shared/data (with
// DlibBoxScale), the default chain finds all unmasked faces at -0.3 to
// -0.7, and of the 150 masked ones 147 at -0.3 and -0.4, 146 at -0.5, 145
// at -0.6, 144 at -0.7 (140 at 0, before the box scale); the lower the
// threshold, the fewer photos go on to the slower dlib-fine stage: 50 at
// -0.3, 45 at -0.4, 40 at -0.6.
const DlibAdjust = -0.4

// SceneDlibAdjust and SceneDlibWeak are the dlib stage's threshold
// adjustments in scenes (facet-crop --faces all): its faces down to -0.3
// are kept, those down to -0.7 are weak ones that the cascade must
// confirm (and that need more skin colour, SceneSkin). Measured on every
// second scene of ../shared/data/crowds (282 scenes, 1,365 faces): dlib
// alone finds 36% of the faces 20-40 pixels wide and 54% of those from 40
// at -0.4, at a precision of 0.91 (31% and 50% at -0.3, 0.94); with weak
// faces to -0.7, the cascade's confirmation and the skin check, 45% and
// 63% at 0.90. The other scenes, not used to choose the numbers, give
// 48% and 59% at 0.92 (dlib alone at -0.4: 41% and 53% at 0.93).
const (
	SceneDlibAdjust = -0.3
	SceneDlibWeak   = -0.7
)

// DlibFineAdjust is the threshold adjustment of the dlib-fine stage.
const DlibFineAdjust = -0.5

// NewDlibFine is the "dlib-fine" stage: dlib again, on the frame
// upsampled once and with a lower threshold (DlibFineAdjust), for the
// photos the plain dlib stage missed (mostly masked faces, whose lower
// half the HOG filters cannot see). It costs about four times the plain
// stage, so it belongs after it in a chain, where it runs on the misses
// only.
func NewDlibFine(pred *dlib.Predictor) (Detector, error) {
	d, err := NewDlibThreshold(pred, 1, DlibFineAdjust)
	if err != nil {
		return nil, err
	}
	d.(*dlibStage).name = "dlib-fine"
	return d, nil
}

// Name is "dlib", or "dlib-fine".
func (s *dlibStage) Name() string { return s.name }

// Detect finds faces on f.Gray. Boxes are dlib's scaled by DlibBoxScale
// about their centres, then clipped to the frame. Landmarks are placed on
// the face Pick takes only (the one a Chain uses; each costs about a
// millisecond), are not clipped (a jaw point can lie just outside the
// frame) and are fitted to dlib's own unclipped box, the box the
// predictor was trained on.
func (s *dlibStage) Detect(f Frame) ([]Detection, error) {
	img, err := grayImage(&f.Gray)
	if err != nil {
		return nil, err
	}
	adjust := s.adjust
	if s.weak < adjust {
		adjust = s.weak
	}
	faces, err := s.det.DetectAdjusted(img, s.upsample, adjust)
	if err != nil {
		return nil, err
	}
	frame := image.Rect(0, 0, img.Width, img.Height)
	var dets []Detection
	for _, fc := range faces {
		box := scaleAbout(fc.Box, DlibBoxScale).Intersect(frame)
		if box.Empty() {
			continue
		}
		dets = append(dets, Detection{Box: box, Score: fc.Score, raw: fc.Box, Weak: fc.Score < s.adjust})
	}
	if i := Pick(dets, frame.Max); i >= 0 && s.pred != nil {
		if dets[i].Landmarks, err = s.pred.Landmarks(img, dets[i].raw); err != nil {
			return nil, err
		}
	}
	return dets, nil
}

// landmarks places the 68 landmarks of a face this stage found in f (nil
// without a predictor).
func (s *dlibStage) landmarks(f Frame, d Detection) ([]image.Point, error) {
	if s.pred == nil || d.raw.Empty() {
		return nil, nil
	}
	img, err := grayImage(&f.Gray)
	if err != nil {
		return nil, err
	}
	return s.pred.Landmarks(img, d.raw)
}

// dlibWindow is the side of dlib's frontal face detector's scanning
// window: the smallest face box it reports, before upsampling.
const dlibWindow = 80

// MinFace is the smallest face box side the stage finds in its frame:
// dlib's window, grown by DlibBoxScale, halved by each upsampling.
func (s *dlibStage) MinFace() int {
	return int(math.Round(dlibWindow*DlibBoxScale)) >> s.upsample
}

// DlibBoxScale is how much the dlib stages grow dlib's face box about its
// centre: dlib's HOG boxes run from the brows to the lower lip, tighter
// than a face box that holds the forehead and chin, as the boxes of
// ../shared/data's portraits do. On its 300 unmasked portraits the linear
// scale from dlib's box to the true box is 0.97 / 1.05 / 1.11 / 1.17 /
// 1.27 (5th, 25th, 50th, 75th, 95th percentile; the scale of best mean
// overlap, 1.12). The full fit would make the largest dlib boxes more than
// 1.5 times the true area, so the scale stops at 1.05, the largest that
// keeps every unmasked box within that bound: the mean overlap with the
// true boxes rises from 0.78 to 0.82, and the masked faces whose boxes
// were just under 0.3 of their (looser) true boxes are found. facet-crop's
// default --margin is smaller by as much, so crops show as much of a face
// as before.
const DlibBoxScale = 1.05

// scaleAbout scales r by s about its centre.
func scaleAbout(r image.Rectangle, s float64) image.Rectangle {
	cx, cy := float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2
	hw, hh := float64(r.Dx())*s/2, float64(r.Dy())*s/2
	return image.Rect(int(math.Round(cx-hw)), int(math.Round(cy-hh)), int(math.Round(cx+hw)), int(math.Round(cy+hh)))
}

// Close frees the detector (not the predictor); closing twice is harmless.
func (s *dlibStage) Close() error {
	s.det.Close()
	return nil
}

// grayImage is m's pixels as a dlib.Gray, without a copy. m must be a
// non-empty 8-bit single-channel Mat; it may be a region of a larger Mat
// (rows Step bytes apart). The result is valid while m is open.
func grayImage(m *gocv.Mat) (dlib.Gray, error) {
	if m.Empty() {
		return dlib.Gray{}, errors.New("face: empty gray image")
	}
	if t := m.Type(); t != gocv.MatTypeCV8UC1 {
		return dlib.Gray{}, fmt.Errorf("face: gray image has Mat type %d, want 8-bit single channel (%d)", t, gocv.MatTypeCV8UC1)
	}
	rows, cols, step := m.Rows(), m.Cols(), m.Step()
	if step < cols {
		return dlib.Gray{}, fmt.Errorf("face: gray image step %d < width %d", step, cols)
	}
	// DataPtrUint8 covers Rows*Cols bytes from the first pixel: the whole
	// image when it is continuous, too little for a region of a larger Mat,
	// whose rows are step bytes apart in memory OpenCV owns.
	pix := m.DataPtrUint8()
	if need := (rows-1)*step + cols; len(pix) < need {
		if len(pix) == 0 {
			return dlib.Gray{}, errors.New("face: gray image without pixels")
		}
		pix = unsafe.Slice(&pix[0], need)
	}
	return dlib.Gray{Pix: pix, Stride: step, Width: cols, Height: rows}, nil
}
