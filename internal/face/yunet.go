package face

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"

	"github.com/boostershot/facet/internal/yunet"
)

// YuNetMinFace is the smallest face a YuNet stage is given (Sized), in
// frame pixels: the model's smallest anchor box (10 pixels in
// face_detection_yunet_2022mar.onnx). A fact of the model's design, not a
// measurement: no model file was at hand.
const YuNetMinFace = 10

// yunetStage is the dnn stage with a YuNet ONNX model (internal/yunet):
// OpenCV's FaceDetectorYN looks at the frame at its own size, so small
// faces keep their pixels without tiles.
type yunetStage struct {
	d *yunet.Detector
}

// newYuNet loads a YuNet model for the dnn stage.
func newYuNet(model string, threshold float64) (Detector, error) {
	if _, err := readModelFile("model", model); err != nil {
		return nil, err
	}
	d, err := yunet.New(model, threshold)
	if err != nil {
		return nil, fmt.Errorf("face: dnn model %s: %w", model, err)
	}
	return &yunetStage{d: d}, nil
}

// Name is "dnn".
func (*yunetStage) Name() string { return "dnn" }

// MinFace is YuNetMinFace.
func (*yunetStage) MinFace() int { return YuNetMinFace }

// Close frees the model; closing twice is harmless.
func (s *yunetStage) Close() error {
	s.d.Close()
	return nil
}

// Detect finds faces in f.BGR; boxes are clipped to the frame.
func (s *yunetStage) Detect(f Frame) ([]Detection, error) {
	if err := checkMat(f.BGR, gocv.MatTypeCV8UC3, "BGR frame"); err != nil {
		return nil, err
	}
	faces, err := s.d.Detect(f.BGR)
	if err != nil {
		return nil, err
	}
	frame := image.Rectangle{Max: f.Size()}
	var out []Detection
	for _, fc := range faces {
		if b := fc.Box.Intersect(frame); !b.Empty() {
			out = append(out, Detection{Box: b, Score: fc.Score})
		}
	}
	return out, nil
}
