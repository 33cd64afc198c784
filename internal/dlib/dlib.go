// Package dlib is the project's own small cgo binding to dlib (Debian's
// libdlib-dev 19.24): the HOG frontal face detector and the 68-point
// shape predictor, and nothing else.
//
// The C++ side is one extern "C" wrapper, facet_dlib.cpp, that catches
// every C++ exception at the boundary and hands its message back as a Go
// error; no exception ever crosses into Go. Inputs are checked on the Go
// side before they reach dlib. Images are passed in place (dlib reads the
// caller's buffer through its generic image interface), so a gocv Mat's
// bytes can be used without a copy.
//
// Native objects are freed by Close, which is safe to call twice; a
// cleanup frees them too if a value is dropped unclosed, but Close is the
// contract.
//
// Much of dlib's detector and predictor is header templates compiled into
// this package, so its flags matter: -O3 (portable; here it made Detect
// about 20% and Landmarks about 40% faster than -O2), and never
// -march=native or other instruction-set flags, so the binary runs on any
// x86-64 (dlib then uses SSE2).
package dlib

// #cgo pkg-config: dlib-1
// #cgo CXXFLAGS: -std=c++14 -O3
// #include <stdlib.h>
// #include "facet_dlib.h"
import "C"

import (
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"unsafe"

	"github.com/boostershot/facet/internal/owned"
)

// MaxUpsample is the largest upsample Detect accepts; each step doubles
// the image's width and height.
const MaxUpsample = 4

// Landmarks has dlib write image.Points (two Go ints) as C intptr_t
// pairs: these fail to compile where the sizes differ.
var (
	_ [unsafe.Sizeof(int(0)) - unsafe.Sizeof(C.intptr_t(0))]byte
	_ [unsafe.Sizeof(C.intptr_t(0)) - unsafe.Sizeof(int(0))]byte
	_ [unsafe.Sizeof(image.Point{}) - 2*unsafe.Sizeof(int(0))]byte
)

// maxPixels bounds the (upsampled) image dlib is asked to scan.
const maxPixels = 1 << 28

// Gray is an 8-bit grayscale image: row y is Pix[y*Stride : y*Stride+Width].
// A continuous gocv Mat's bytes can be passed as they are:
// Pix = Mat.DataPtrUint8(), Stride = Mat.Step(). (For a region of a larger
// Mat, DataPtrUint8 is Rows*Cols bytes, shorter than the rows span.)
type Gray struct {
	Pix                   []byte
	Stride, Width, Height int
}

// check reports why g is not a usable image, or nil.
func (g Gray) check() error {
	switch {
	case g.Width <= 0 || g.Height <= 0:
		return fmt.Errorf("dlib: empty image %dx%d", g.Width, g.Height)
	case g.Stride < g.Width:
		return fmt.Errorf("dlib: stride %d < width %d", g.Stride, g.Width)
	case g.Pix == nil:
		return errors.New("dlib: nil pixels")
	case g.Height > math.MaxInt32 || g.Stride > math.MaxInt32 ||
		int64(g.Width)*int64(g.Height) > maxPixels:
		return fmt.Errorf("dlib: image %dx%d too large", g.Width, g.Height)
	}
	if need := (g.Height-1)*g.Stride + g.Width; len(g.Pix) < need {
		return fmt.Errorf("dlib: %d pixel bytes for a %dx%d image with stride %d, need %d",
			len(g.Pix), g.Width, g.Height, g.Stride, need)
	}
	return nil
}

func (g Gray) args() (*C.uint8_t, C.long, C.long, C.long) {
	return (*C.uint8_t)(unsafe.Pointer(&g.Pix[0])), C.long(g.Stride), C.long(g.Width), C.long(g.Height)
}

// cerr turns a wrapper's returned message into an error and frees it.
func cerr(e *C.char) error {
	if e == nil {
		return nil
	}
	err := errors.New("dlib: " + C.GoString(e))
	C.facet_dlib_free_error(e)
	return err
}

// testThrow throws a C++ exception inside the wrapper (kind 0:
// std::runtime_error, 1: dlib::error, 2: a non-std exception) and returns
// the error it became. Tests only.
func testThrow(kind int) error { return cerr(C.facet_dlib_test_throw(C.int(kind))) }

// Face is one detection, in the input image's pixels.
type Face struct {
	// Box is the face box; it may reach past the image's edges.
	Box image.Rectangle
	// Score is dlib's detection confidence: the detector's score minus its
	// threshold, so faces found with the default threshold score >= 0.
	Score float64
	// Pose is which of the detector's five filters fired: 0 frontal,
	// 1 looking left, 2 looking right, 3 frontal rotated left,
	// 4 frontal rotated right.
	Pose int
}

// Detector is dlib's HOG frontal face detector (get_frontal_face_detector).
// It keeps scratch buffers between calls, so it is meant for one goroutine:
// make one per worker (concurrent calls are serialized, not parallel).
type Detector struct {
	c *owned.Ptr[*C.facet_dlib_detector]
}

// NewDetector makes a detector with the given poses of dlib's frontal
// face detector (0 frontal, 1 looking left, 2 looking right, 3 frontal
// rotated left, 4 frontal rotated right); none given keeps all five. Each
// pose is one HOG filter run over the whole pyramid, so fewer poses are
// faster. The first call decodes dlib's built-in model (about a quarter
// second); later ones copy it (well under a millisecond).
func NewDetector(poses ...int) (*Detector, error) {
	seen := map[int]bool{}
	cposes := make([]C.int, len(poses))
	for i, p := range poses {
		if p < 0 || p > 4 || seen[p] {
			return nil, fmt.Errorf("dlib: poses %v: want distinct poses 0..4", poses)
		}
		seen[p] = true
		cposes[i] = C.int(p)
	}
	var p *C.facet_dlib_detector
	var ptr *C.int
	if len(cposes) > 0 {
		ptr = &cposes[0]
	}
	if err := cerr(C.facet_dlib_detector_new(ptr, C.int(len(cposes)), &p)); err != nil {
		return nil, err
	}
	return &Detector{c: owned.New(p, func(p *C.facet_dlib_detector) { C.facet_dlib_detector_free(p) }, "dlib: detector")}, nil
}

// Close frees the detector; later calls return an error. Closing twice is
// harmless.
func (d *Detector) Close() { d.c.Close() }

// Detect finds faces with dlib's default threshold after upsampling img
// upsample times (0 to MaxUpsample; each step doubles the size and lets
// dlib find faces half as large, the smallest being about 80x80 pixels
// at 0). None found is not an error.
func (d *Detector) Detect(img Gray, upsample int) ([]Face, error) {
	return d.DetectAdjusted(img, upsample, 0)
}

// DetectAdjusted is Detect with dlib's threshold moved by adjust: negative
// values find more faces (and more false ones), and Score is then still
// relative to the default threshold, so it can be negative.
func (d *Detector) DetectAdjusted(img Gray, upsample int, adjust float64) ([]Face, error) {
	if err := img.check(); err != nil {
		return nil, err
	}
	if upsample < 0 || upsample > MaxUpsample {
		return nil, fmt.Errorf("dlib: upsample %d out of range 0..%d", upsample, MaxUpsample)
	}
	if int64(img.Width)*int64(img.Height)<<(2*upsample) > maxPixels {
		return nil, fmt.Errorf("dlib: image %dx%d too large to upsample %d times", img.Width, img.Height, upsample)
	}
	if math.IsNaN(adjust) || math.IsInf(adjust, 0) {
		return nil, fmt.Errorf("dlib: threshold adjustment %v", adjust)
	}
	var faces []Face
	err := d.c.Use(func(p *C.facet_dlib_detector) error {
		pix, stride, w, h := img.args()
		if err := cerr(C.facet_dlib_detect(p, pix, stride, w, h, C.int(upsample), C.double(adjust))); err != nil {
			return err
		}
		n := int(C.facet_dlib_detector_count(p))
		if n == 0 {
			return nil
		}
		faces = make([]Face, n)
		for i, f := range unsafe.Slice(C.facet_dlib_detector_faces(p), n) {
			faces[i] = Face{
				Box:   image.Rect(int(f.x0), int(f.y0), int(f.x1), int(f.y1)),
				Score: float64(f.score),
				Pose:  int(f.pose),
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return faces, nil
}

// Predictor is a shape predictor, such as dlib's 68-point face landmark
// model. Load it once (the 68-point .dat is about 100 MB and takes about
// half a second) and share it: Landmarks is safe for concurrent use.
type Predictor struct {
	c     *owned.Ptr[*C.facet_dlib_predictor]
	parts int
}

// DefaultModel is where Debian's libdlib-data puts the 68-point landmark model.
const DefaultModel = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

// LoadPredictor reads a dlib shape predictor model, such as DefaultModel.
func LoadPredictor(path string) (*Predictor, error) { return loadPredictor(path, false) }

// loadPredictor is LoadPredictor; reference makes Landmarks run dlib's
// own shape_predictor instead of the wrapper's faster copy of it (tests
// compare the two).
func loadPredictor(path string, reference bool) (*Predictor, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dlib: shape predictor model: %w", err) // names the path
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("dlib: shape predictor model %s is not a regular file", path)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var p *C.facet_dlib_predictor
	ref := C.int(0)
	if reference {
		ref = 1
	}
	if e := C.facet_dlib_predictor_load(cpath, ref, &p); e != nil {
		msg := C.GoString(e)
		C.facet_dlib_free_error(e)
		return nil, fmt.Errorf("dlib: %s: %s", path, msg)
	}
	parts := int(C.facet_dlib_predictor_parts(p))
	return &Predictor{c: owned.New(p, func(p *C.facet_dlib_predictor) { C.facet_dlib_predictor_free(p) }, "dlib: predictor"), parts: parts}, nil
}

// Parts is the number of points Landmarks returns (68 for DefaultModel).
func (p *Predictor) Parts() int { return p.parts }

// Close frees the model; later calls return an error. Closing twice is
// harmless.
func (p *Predictor) Close() { p.c.Close() }

// Landmarks places the model's points (68 for DefaultModel, in dlib's
// order: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67) for
// the face in box, in img's pixels. box must be non-empty and overlap img.
func (p *Predictor) Landmarks(img Gray, box image.Rectangle) ([]image.Point, error) {
	if err := img.check(); err != nil {
		return nil, err
	}
	if box.Empty() || !box.Overlaps(image.Rect(0, 0, img.Width, img.Height)) {
		return nil, fmt.Errorf("dlib: face box %v empty or outside the %dx%d image", box, img.Width, img.Height)
	}
	pts := make([]image.Point, p.parts)
	// image.Point is two ints and Go's int has the size of C's intptr_t,
	// so dlib writes the points straight into pts.
	xy := (*C.intptr_t)(unsafe.Pointer(unsafe.SliceData(pts)))
	pix, stride, w, h := img.args()
	err := p.c.Share(func(c *C.facet_dlib_predictor) error {
		return cerr(C.facet_dlib_landmarks(c, pix, stride, w, h,
			C.long(box.Min.X), C.long(box.Min.Y), C.long(box.Max.X), C.long(box.Max.Y), xy))
	})
	if err != nil {
		return nil, err
	}
	return pts, nil
}
