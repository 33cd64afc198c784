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
	"runtime"
	"sync"
	"unsafe"

	"gocv.io/x/gocv"
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
	mu      sync.Mutex
	p       *C.facet_yunet
	cleanup runtime.Cleanup
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
	d := &Detector{p: p}
	d.cleanup = runtime.AddCleanup(d, func(p *C.facet_yunet) { C.facet_yunet_free(p) }, p)
	return d, nil
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
func (d *Detector) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return
	}
	d.cleanup.Stop()
	C.facet_yunet_free(d.p)
	d.p = nil
}

// Detect finds faces in an 8-bit BGR image.
func (d *Detector) Detect(bgr gocv.Mat) ([]Face, error) {
	if bgr.Ptr() == nil || bgr.Empty() || bgr.Type() != gocv.MatTypeCV8UC3 {
		return nil, errors.New("yunet: want a non-empty 8-bit BGR image")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.p == nil {
		return nil, errors.New("yunet: detector is closed")
	}
	var n C.int
	if err := cerr(C.facet_yunet_detect(d.p, unsafe.Pointer(bgr.Ptr()), &n)); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	vals := unsafe.Slice((*float32)(unsafe.Pointer(C.facet_yunet_faces(d.p))), int(n)*15)
	faces := make([]Face, 0, int(n))
	for i := range int(n) {
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
	return faces, nil
}
