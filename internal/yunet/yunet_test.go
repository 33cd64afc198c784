package yunet

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

// onnxWithoutNodes is an ONNX ModelProto (ir_version 7, a graph with a
// name and nothing else): well-formed protobuf that OpenCV's importer
// cannot make a network of.
func onnxWithoutNodes() []byte {
	graph := append([]byte{0x12, 1}, 'g') // GraphProto.name = "g"
	b := []byte{0x08, 7}                  // ModelProto.ir_version = 7
	b = append(b, 0x3a)                   // ModelProto.graph (field 7, bytes)
	b = binary.AppendUvarint(b, uint64(len(graph)))
	return append(b, graph...)
}

// TestRefusesWhatItCannotRun holds that missing and broken model files
// are errors (OpenCV's C++ exceptions caught in the wrapper), never a
// crash. No real YuNet model is at hand, so none is run.
func TestRefusesWhatItCannotRun(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{
		"html.onnx":  []byte("<html><body>404 Not Found</body></html>"),
		"empty.onnx": nil,
		"graph.onnx": onnxWithoutNodes(),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"missing.onnx", "html.onnx", "empty.onnx", "graph.onnx"} {
		d, err := New(filepath.Join(dir, name), 0.6)
		if err == nil {
			d.Close()
			t.Errorf("%s: loaded", name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "yunet: ") {
			t.Errorf("%s: error %q does not say where it came from", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := New(filepath.Join(dir, "graph.onnx"), 0); err == nil || !strings.Contains(err.Error(), "threshold") {
		t.Errorf("threshold 0: err = %v", err)
	}
	// A closed detector and bad images are errors too.
	var d Detector
	img := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC3)
	defer img.Close()
	if _, err := d.Detect(img); err == nil {
		t.Error("Detect on a detector never loaded: no error")
	}
	gray := gocv.NewMatWithSize(10, 10, gocv.MatTypeCV8UC1)
	defer gray.Close()
	if _, err := d.Detect(gray); err == nil {
		t.Error("Detect on a gray image: no error")
	}
}
