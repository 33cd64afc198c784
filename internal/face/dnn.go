package face

// An optional detector: OpenCV's DNN module running the res10 SSD face
// model ("opencv_face_detector"), in its Caffe form (res10_300x300_ssd_
// iter_140000.caffemodel + deploy.prototxt) or its TensorFlow form
// (opencv_face_detector_uint8.pb + opencv_face_detector.pbtxt). The model
// files are not part of the project or of Debian; NewDNN reports clearly
// when they are missing or are not what it expects.
//
// gocv v0.25 does not catch OpenCV's C++ exceptions, and readNet throws on
// a file it cannot parse, which aborts the whole process. So the files are
// checked in Go first (extensions, protobuf wire format of the weights,
// balanced text of the config), and a probe forward pass at load time
// checks the output shape, so that a wrong network fails in NewDNN with an
// error rather than in Detect. A file that is well-formed protobuf but not
// a network OpenCV can build may still abort inside OpenCV; a small C++
// shim with try/catch around readNet and forward would close that gap.

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"gocv.io/x/gocv"
)

// DNN input defaults of the res10 SSD face model.
const (
	DefaultDNNSize      = 300
	DefaultDNNThreshold = 0.5
)

// dnnMean is the per-channel (B, G, R) mean the res10 model was trained with.
var dnnMean = gocv.NewScalar(104, 177, 123, 0)

type dnnDetector struct {
	net       gocv.Net
	size      int
	threshold float64
	tile      bool // NewDNNTiled
	closed    bool
}

// DNNMinFace is the smallest face, in the network's input pixels, a tiled
// DNN stage is given (Sized): about a tenth of the res10 model's 300-pixel
// input. An assumption, not a measurement: no model file was at hand.
const DNNMinFace = 32

// NewDNNTiled is NewDNN for scenes (facet-crop --faces all): a frame
// larger than the network's input is looked at in overlapping tiles of
// the input's size, at their own resolution, besides the whole frame
// shrunk to the input's size (for faces larger than the overlap), so that
// small faces keep their pixels instead of being shrunk with the scene.
// Its MinFace is DNNMinFace, so a Chain with MinFace scales the scene
// until its smallest faces are that wide.
// A YuNet model needs no tiles: it is returned as NewDNN makes it.
func NewDNNTiled(model, config string, size int, threshold float64) (Detector, error) {
	d, err := NewDNN(model, config, size, threshold)
	if err != nil {
		return nil, err
	}
	if _, ok := d.(*dnnDetector); !ok {
		return d, nil
	}
	d.(*dnnDetector).tile = true
	return &tiledDNN{d.(*dnnDetector)}, nil
}

// tiledDNN is a tiled dnn stage; it is Sized, an untiled one is not.
type tiledDNN struct{ *dnnDetector }

// MinFace is DNNMinFace.
func (*tiledDNN) MinFace() int { return DNNMinFace }

// NewDNN loads a face detector network: an SSD (model and config a Caffe
// .caffemodel and .prototxt or a TensorFlow .pb and .pbtxt), or YuNet
// (an .onnx model, no config; run by OpenCV's FaceDetectorYN through
// internal/yunet, at the frame's own size). size is the SSD's square
// input side (DefaultDNNSize when 0), threshold the lowest confidence
// kept, in (0, 1].
func NewDNN(model, config string, size int, threshold float64) (Detector, error) {
	if strings.EqualFold(filepath.Ext(model), ".onnx") {
		if config != "" {
			return nil, fmt.Errorf("face: dnn model %q is YuNet (ONNX), which takes no config (got %q)", model, config)
		}
		if !(threshold > 0 && threshold <= 1) {
			return nil, fmt.Errorf("face: dnn threshold %g: want 0 < t <= 1", threshold)
		}
		return newYuNet(model, threshold)
	}
	if size == 0 {
		size = DefaultDNNSize
	}
	if size < 32 || size > 2048 {
		return nil, fmt.Errorf("face: dnn input size %d: want 32..2048", size)
	}
	if !(threshold > 0 && threshold <= 1) {
		return nil, fmt.Errorf("face: dnn threshold %g: want 0 < t <= 1", threshold)
	}
	format, err := dnnFormat(model, config)
	if err != nil {
		return nil, err
	}
	mb, err := readModelFile("model", model)
	if err != nil {
		return nil, err
	}
	if err := checkModelProto(format, mb); err != nil {
		return nil, fmt.Errorf("face: dnn model %s: %w", model, err)
	}
	cb, err := readModelFile("config", config)
	if err != nil {
		return nil, err
	}
	if err := checkConfigText(format, cb); err != nil {
		return nil, fmt.Errorf("face: dnn config %s: %w", config, err)
	}
	net := gocv.ReadNet(model, config)
	d := &dnnDetector{net: net, size: size, threshold: threshold}
	if net.Empty() {
		d.Close()
		return nil, fmt.Errorf("face: dnn: OpenCV could not build a network from %s and %s", model, config)
	}
	if err := d.probe(); err != nil {
		d.Close()
		return nil, fmt.Errorf("face: dnn %s: %w", model, err)
	}
	return d, nil
}

// dnnFormat tells the framework from the file extensions.
func dnnFormat(model, config string) (string, error) {
	me, ce := strings.ToLower(filepath.Ext(model)), strings.ToLower(filepath.Ext(config))
	switch {
	case me == ".caffemodel" && ce == ".prototxt":
		return "caffe", nil
	case me == ".pb" && ce == ".pbtxt":
		return "tensorflow", nil
	}
	return "", fmt.Errorf("face: dnn model %q and config %q: want a .caffemodel with a .prototxt (Caffe), a .pb with a .pbtxt (TensorFlow), or an .onnx (YuNet) alone", model, config)
}

func readModelFile(what, path string) ([]byte, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("face: dnn %s file %s not found", what, path)
	}
	if err != nil {
		return nil, fmt.Errorf("face: dnn %s file: %w", what, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("face: dnn %s file %s is not a regular file", what, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("face: dnn %s file: %w", what, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("face: dnn %s file %s is empty", what, path)
	}
	return b, nil
}

// probe runs the network once on a blank image and checks its output.
func (d *dnnDetector) probe() error {
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), d.size, d.size, gocv.MatTypeCV8UC3)
	defer m.Close()
	_, err := d.detect(m)
	return err
}

// Name is "dnn".
func (d *dnnDetector) Name() string { return "dnn" }

// Close frees the network; closing twice is harmless.
func (d *dnnDetector) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	return d.net.Close()
}

// Detect finds faces in f.BGR (f.Gray is not used).
func (d *dnnDetector) Detect(f Frame) ([]Detection, error) {
	if d.closed {
		return nil, errors.New("face: dnn detector is closed")
	}
	if err := checkMat(f.BGR, gocv.MatTypeCV8UC3, "BGR frame"); err != nil {
		return nil, err
	}
	sz := f.Size()
	if !d.tile || (sz.X <= d.size*5/4 && sz.Y <= d.size*5/4) {
		return d.detect(f.BGR)
	}
	// The whole frame, then every tile; a face found twice (on a tile
	// border, or whole and in a tile) is kept once, at its best score.
	var all []Detection
	for _, r := range append([]image.Rectangle{{Max: sz}}, Tiles(sz, d.size, d.size/4)...) {
		part := f.BGR
		if r.Size() != sz {
			part = f.BGR.Region(r)
		}
		dets, err := d.detect(part)
		if part.Ptr() != f.BGR.Ptr() {
			part.Close()
		}
		if err != nil {
			return nil, err
		}
		for _, det := range dets {
			det.Box = det.Box.Add(r.Min)
			all = append(all, det)
		}
	}
	slices.SortStableFunc(all, func(a, b Detection) int { return cmp.Compare(b.Score, a.Score) })
	var out []Detection
	for _, det := range all {
		if !slices.ContainsFunc(out, func(k Detection) bool { return Overlaps(k.Box, det.Box) }) {
			out = append(out, det)
		}
	}
	return out, nil
}

// Tiles covers a frame of size sz with squares of side (or the frame's
// side, when smaller) that overlap by at least overlap pixels, in rows
// from the top left; the last of a row or column ends at the frame's
// edge.
func Tiles(sz image.Point, side, overlap int) []image.Rectangle {
	starts := func(n int) []int {
		if n <= side {
			return []int{0}
		}
		step := max(1, side-overlap)
		var out []int
		for p := 0; ; p += step {
			if p+side >= n {
				return append(out, n-side)
			}
			out = append(out, p)
		}
	}
	var out []image.Rectangle
	for _, y := range starts(sz.Y) {
		for _, x := range starts(sz.X) {
			out = append(out, image.Rect(x, y, x+min(side, sz.X), y+min(side, sz.Y)))
		}
	}
	return out
}

func (d *dnnDetector) detect(bgr gocv.Mat) ([]Detection, error) {
	blob := gocv.BlobFromImage(bgr, 1, image.Pt(d.size, d.size), dnnMean, false, false)
	defer blob.Close()
	d.net.SetInput(blob, "")
	out := d.net.Forward("")
	defer out.Close()
	rows, err := ssdRows(out)
	if err != nil {
		return nil, err
	}
	return parseSSD(rows, image.Pt(bgr.Cols(), bgr.Rows()), d.threshold), nil
}

// ssdRows returns the data of an SSD DetectionOutput blob, 1x1xNx7 floats.
func ssdRows(out gocv.Mat) ([]float32, error) {
	if out.Ptr() == nil || out.Empty() {
		return nil, errors.New("network gave no output")
	}
	dims := out.Size()
	if len(dims) != 4 || dims[0] != 1 || dims[1] != 1 || dims[3] != 7 {
		return nil, fmt.Errorf("network output has shape %v, want 1x1xNx7 (SSD detections)", dims)
	}
	if out.Type() != gocv.MatTypeCV32F {
		return nil, fmt.Errorf("network output type %v, want 32-bit floats", out.Type())
	}
	data, err := out.DataPtrFloat32()
	if err != nil {
		return nil, err
	}
	if len(data) != dims[2]*7 {
		return nil, fmt.Errorf("network output holds %d floats for %d rows of 7", len(data), dims[2])
	}
	return append([]float32(nil), data...), nil
}

// parseSSD turns SSD detection rows (image_id, label, confidence, x0, y0,
// x1, y1, coordinates as fractions of the image) into detections in a
// frame of the given size: rows with a negative image id (padding), the
// background label 0, a confidence under threshold, a non-finite value or
// an empty box after clipping to the frame are left out.
func parseSSD(rows []float32, frame image.Point, threshold float64) []Detection {
	var dets []Detection
	fr := image.Rectangle{Max: frame}
	for i := 0; i+7 <= len(rows); i += 7 {
		r := rows[i : i+7]
		ok := true
		for _, v := range r {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				ok = false
			}
		}
		// reversed corners are garbage (image.Rect would swap them)
		if !ok || r[0] < 0 || r[1] < 1 || float64(r[2]) < threshold || r[5] <= r[3] || r[6] <= r[4] {
			continue
		}
		px := func(v float32, n int) int {
			return int(math.Round(math.Min(math.Max(float64(v), 0), 1) * float64(n)))
		}
		box := image.Rect(px(r[3], frame.X), px(r[4], frame.Y), px(r[5], frame.X), px(r[6], frame.Y)).Intersect(fr)
		if box.Empty() {
			continue
		}
		dets = append(dets, Detection{Box: box, Score: float64(r[2])})
	}
	return dets
}

// --- file checks --------------------------------------------------------

// walkProto walks the fields of one protobuf message in wire format,
// calling fn for each (val is the payload of length-delimited fields), and
// reports bytes that are not wire format (bad tags, groups, lengths past
// the end).
func walkProto(b []byte, fn func(num, wire int, val []byte) error) error {
	for len(b) > 0 {
		tag, n := uvarint(b)
		if n <= 0 {
			return errors.New("bad field tag")
		}
		b = b[n:]
		num, wire := tag>>3, int(tag&7)
		if num < 1 || num >= 1<<29 {
			return fmt.Errorf("bad field number %d", num)
		}
		var val []byte
		switch wire {
		case 0:
			_, n := uvarint(b)
			if n <= 0 {
				return errors.New("bad varint")
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return errors.New("truncated fixed64")
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return errors.New("truncated fixed32")
			}
			b = b[4:]
		case 2:
			l, n := uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return errors.New("length past the end (truncated file?)")
			}
			val = b[n : n+int(l)]
			b = b[n+int(l):]
		default:
			return fmt.Errorf("wire type %d (groups or garbage)", wire)
		}
		if fn != nil {
			if err := fn(int(num), wire, val); err != nil {
				return err
			}
		}
	}
	return nil
}

// uvarint decodes a protobuf varint (at most 10 bytes); n <= 0 on error.
func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, -1
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

// checkModelProto checks the weights file: a Caffe NetParameter with
// layers, or a TensorFlow GraphDef with nodes, each a well-formed message.
func checkModelProto(format string, b []byte) error {
	// field number -> wire type of the top-level message's known fields
	known := map[int]int{1: 2, 2: 2, 3: 2, 4: 0, 5: 0, 6: 2, 7: 0, 8: 2, 100: 2} // caffe.NetParameter
	items, what := map[int]bool{2: true, 100: true}, "layers"
	if format == "tensorflow" {
		known = map[int]int{1: 2, 2: 2, 3: 0, 4: 2} // tensorflow.GraphDef
		items, what = map[int]bool{1: true}, "nodes"
	}
	n := 0
	err := walkProto(b, func(num, wire int, val []byte) error {
		want, ok := known[num]
		if !ok {
			return nil // unknown fields are skipped by protobuf readers
		}
		if wire != want && !(want == 0 && wire == 2) { // packed repeated varints
			return fmt.Errorf("field %d has wire type %d, want %d", num, wire, want)
		}
		if items[num] {
			n++
			if err := walkProto(val, nil); err != nil {
				return fmt.Errorf("%s %d: %w", what[:len(what)-1], n, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("not a %s model (protobuf): %w", format, err)
	}
	if n == 0 {
		return fmt.Errorf("not a %s model: no %s", format, what)
	}
	return nil
}

// checkConfigText checks the text config: UTF-8 without NULs, braces
// balanced outside quoted strings and # comments, and the keyword that
// declares layers (Caffe) or nodes (TensorFlow).
func checkConfigText(format string, b []byte) error {
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return errors.New("not a text file")
	}
	depth, line := 0, 1
	var quote byte
	comment := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\n' {
			line++
			comment = false
			if quote != 0 {
				return fmt.Errorf("line %d: string not closed", line-1)
			}
			continue
		}
		switch {
		case comment:
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '#':
			comment = true
		case c == '"' || c == '\'':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth < 0 {
				return fmt.Errorf("line %d: unbalanced }", line)
			}
		}
	}
	if quote != 0 {
		return errors.New("string not closed at the end")
	}
	if depth != 0 {
		return fmt.Errorf("%d unclosed {", depth)
	}
	key := "layer"
	if format == "tensorflow" {
		key = "node"
	}
	if !bytes.Contains(b, []byte(key)) {
		return fmt.Errorf("no %q in a %s config", key, format)
	}
	return nil
}
