// Package face finds the face in a photo with a chain of detectors: a
// strong detector first, others for the photos it missed, and a fixed crop
// for the rest, as the competition recipe does.
//
// Detectors work on a Frame (the colour image and its grayscale copy,
// OpenCV Mats) and return Detections in that frame's pixel coordinates.
// A Detector is not safe for concurrent use: each worker owns its own.
package face

import (
	"image"

	"gocv.io/x/gocv"
)

// Frame is one image as detectors see it. Both Mats have the same size;
// the caller owns and closes them.
type Frame struct {
	BGR  gocv.Mat // 8-bit, 3 channels, BGR order
	Gray gocv.Mat // 8-bit, 1 channel
}

// Size is the frame's width and height.
func (f Frame) Size() image.Point { return image.Pt(f.Gray.Cols(), f.Gray.Rows()) }

// Detection is one face a detector found.
type Detection struct {
	Box image.Rectangle // face box in frame pixels, clipped to the frame
	// Score is the detector's own confidence, higher is surer; scores of
	// different detectors are not comparable.
	Score float64
	// Landmarks are the 68 dlib face points in frame pixels, nil when the
	// detector does not give them.
	Landmarks []image.Point
	// Weak marks a face the detector is unsure of (found below its own
	// threshold, see NewDlibWeak): a Chain keeps it only when another
	// stage confirms it (FindAll), or not at all (Find).
	Weak bool
	// raw is the detector's own box before any rescaling, for a stage
	// that places landmarks on it later (landmarker).
	raw image.Rectangle
}

// Detector finds faces in a frame.
type Detector interface {
	// Name is the stage name recorded in the table (dlib, cascade, dnn, center).
	Name() string
	// Detect returns every face found, in no particular order; none is not
	// an error.
	Detect(f Frame) ([]Detection, error)
	// Close frees the detector's native resources.
	Close() error
}
