// Package yunet is the project's small cgo binding to OpenCV 4.6's
// FaceDetectorYN, the YuNet face detector (an ONNX model the user brings,
// e.g. face_detection_yunet_2022mar.onnx), which gocv v0.25 does not wrap.
//
// The C++ side, facet_yunet.cpp, catches every C++ exception (OpenCV's
// ONNX importer throws on a file it cannot read) and hands its message
// back as a Go error; no exception crosses into Go. Images are gocv Mats,
// passed by their native pointer.
package yunet

// #cgo pkg-config: opencv4
// #cgo CXXFLAGS: -std=c++11 -O2
// #include <stdlib.h>
// #include "facet_yunet.h"
import "C"

import (
	"errors"
	"fmt"
	"image"
	"math"
	"unsafe"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/owned"
)

// Face is one detection in image pixels: the box, the five landmarks
// (right eye, left eye, nose tip, right and left mouth corners) and the
// score in [0, 1].
type Face struct {
	Box       image.Rectangle
	Landmarks [5]image.Point
	Score     float64
}

// Detector is a loaded YuNet model. It is meant for one goroutine
// (concurrent calls are serialized).
type Detector struct {
	c *owned.Ptr[*C.facet_yunet]
}

// New loads an ONNX model; score is the lowest score kept, in (0, 1].
func New(model string, score float64) (*Detector, error) {
	if !(score > 0 && score <= 1) {
		return nil, fmt.Errorf("yunet: score threshold %g: want 0 < t <= 1", score)
	}
	cm := C.CString(model)
	defer C.free(unsafe.Pointer(cm))
	var p *C.facet_yunet
	if err := cerr(C.facet_yunet_new(cm, 320, 320, C.float(score), 0.3, 5000, &p)); err != nil {
		return nil, err
	}
	return &Detector{c: owned.New(p, func(p *C.facet_yunet) { C.facet_yunet_free(p) }, "yunet: detector")}, nil
}

func cerr(e *C.char) error {
	if e == nil {
		return nil
	}
	err := errors.New("yunet: " + C.GoString(e))
	C.facet_yunet_free_error(e)
	return err
}

// Close frees the model; closing twice is harmless.
func (d *Detector) Close() { d.c.Close() }

// Detect finds faces in an 8-bit BGR image.
func (d *Detector) Detect(bgr gocv.Mat) ([]Face, error) {
	if bgr.Ptr() == nil || bgr.Empty() || bgr.Type() != gocv.MatTypeCV8UC3 {
		return nil, errors.New("yunet: want a non-empty 8-bit BGR image")
	}
	var faces []Face
	err := d.c.Use(func(p *C.facet_yunet) error {
		var n C.int
		if err := cerr(C.facet_yunet_detect(p, unsafe.Pointer(bgr.Ptr()), &n)); err != nil {
			return err
		}
		faces = decode(unsafe.Slice((*float32)(unsafe.Pointer(C.facet_yunet_faces(p))), int(n)*15))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return faces, nil
}

// decode reads YuNet's rows of 15 values (box x, y, w, h, five landmark
// x,y pairs, score), skipping rows that are not finite or have no area;
// nil when there are none.
func decode(vals []float32) []Face {
	n := len(vals) / 15
	if n == 0 {
		return nil
	}
	faces := make([]Face, 0, n)
	for i := range n {
		v := vals[i*15 : i*15+15]
		ok := true
		for _, x := range v {
			ok = ok && !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
		}
		if !ok || v[2] <= 0 || v[3] <= 0 {
			continue
		}
		px := func(x float32) int { return int(math.Round(float64(x))) }
		f := Face{Box: image.Rect(px(v[0]), px(v[1]), px(v[0]+v[2]), px(v[1]+v[3])), Score: float64(v[14])}
		for k := range f.Landmarks {
			f.Landmarks[k] = image.Pt(px(v[4+2*k]), px(v[5+2*k]))
		}
		faces = append(faces, f)
	}
	return faces
}
