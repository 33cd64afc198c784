package face

import (
	"encoding/binary"
	"image"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

func TestParseSSD(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	frame := image.Pt(200, 100)
	for _, tc := range []struct {
		name string
		rows []float32
		want []Detection
	}{
		{"none", nil, nil},
		{"one face", []float32{0, 1, 0.9, 0.1, 0.2, 0.5, 0.6}, []Detection{{Box: image.Rect(20, 20, 100, 60), Score: float64(float32(0.9))}}},
		{"below threshold", []float32{0, 1, 0.49, 0.1, 0.2, 0.5, 0.6}, nil},
		{"at threshold", []float32{0, 1, 0.5, 0, 0, 1, 1}, []Detection{{Box: image.Rect(0, 0, 200, 100), Score: 0.5}}},
		{"background label", []float32{0, 0, 0.9, 0.1, 0.2, 0.5, 0.6}, nil},
		{"padding row", []float32{-1, 1, 0.9, 0.1, 0.2, 0.5, 0.6}, nil},
		{"clipped to the frame", []float32{0, 1, 0.8, -0.2, -0.1, 1.3, 0.5}, []Detection{{Box: image.Rect(0, 0, 200, 50), Score: float64(float32(0.8))}}},
		{"outside the frame", []float32{0, 1, 0.8, 1.1, 0.2, 1.3, 0.5}, nil},
		{"reversed", []float32{0, 1, 0.8, 0.5, 0.6, 0.1, 0.2}, nil},
		{"empty box", []float32{0, 1, 0.8, 0.3, 0.3, 0.3, 0.6}, nil},
		{"NaN", []float32{0, 1, nan, 0.1, 0.2, 0.5, 0.6}, nil},
		{"Inf", []float32{0, 1, 0.9, 0.1, 0.2, inf, 0.6}, nil},
		{"ragged tail ignored", []float32{0, 1, 0.9, 0.1, 0.2, 0.5, 0.6, 0, 1}, []Detection{{Box: image.Rect(20, 20, 100, 60), Score: float64(float32(0.9))}}},
		{"several", []float32{
			0, 1, 0.95, 0.5, 0.5, 0.75, 1,
			0, 1, 0.3, 0, 0, 0.1, 0.1,
			0, 1, 0.6, 0, 0, 0.25, 0.5,
		}, []Detection{
			{Box: image.Rect(100, 50, 150, 100), Score: float64(float32(0.95))},
			{Box: image.Rect(0, 0, 50, 50), Score: float64(float32(0.6))},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseSSD(tc.rows, frame, 0.5)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// blob4 makes a 1x1xNx7 float blob holding rows, as a DetectionOutput
// layer gives it (BlobFromImage of an Nx7 float image keeps the values).
func blob4(t *testing.T, rows []float32) gocv.Mat {
	t.Helper()
	b := make([]byte, 4*len(rows))
	for i, v := range rows {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	img, err := gocv.NewMatFromBytes(len(rows)/7, 7, gocv.MatTypeCV32F, b)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	return gocv.BlobFromImage(img, 1, image.Pt(7, len(rows)/7), gocv.NewScalar(0, 0, 0, 0), false, false)
}

func TestSSDRows(t *testing.T) {
	rows := []float32{0, 1, 0.9, 0.1, 0.2, 0.5, 0.6, -1, 0, 0, 0, 0, 0, 0}
	blob := blob4(t, rows)
	defer blob.Close()
	if dims := blob.Size(); !reflect.DeepEqual(dims, []int{1, 1, 2, 7}) {
		t.Fatalf("test blob has shape %v", dims)
	}
	got, err := ssdRows(blob)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("rows %v, want %v", got, rows)
	}
	dets := parseSSD(got, image.Pt(100, 100), 0.5)
	if len(dets) != 1 || dets[0].Box != image.Rect(10, 20, 50, 60) {
		t.Fatalf("detections %v", dets)
	}

	flat, _ := gocv.NewMatFromBytes(2, 7, gocv.MatTypeCV32F, make([]byte, 4*14))
	defer flat.Close()
	bytesMat := gocv.NewMatWithSize(2, 7, gocv.MatTypeCV8UC1)
	defer bytesMat.Close()
	empty := gocv.NewMat()
	defer empty.Close()
	for name, m := range map[string]gocv.Mat{"2-D": flat, "bytes": bytesMat, "empty": empty, "zero": {}} {
		if _, err := ssdRows(m); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// --- a tiny Caffe network standing in for the face model ----------------

// pb builds protobuf wire format.
type pb []byte

func (p pb) varint(v uint64) pb { return binary.AppendUvarint(p, v) }
func (p pb) tag(num, wire int) pb {
	return p.varint(uint64(num)<<3 | uint64(wire))
}
func (p pb) bytes(num int, b []byte) pb { return append(p.tag(num, 2).varint(uint64(len(b))), b...) }
func (p pb) str(num int, s string) pb   { return p.bytes(num, []byte(s)) }
func (p pb) floats(num int, fs []float32) pb {
	var b []byte
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return p.bytes(num, b)
}
func (p pb) ints(num int, is []int64) pb {
	var b pb
	for _, i := range is {
		b = b.varint(uint64(i))
	}
	return p.bytes(num, b)
}

// caffeBlob is a caffe.BlobProto: shape (7) and data (5).
func caffeBlob(shape []int64, data []float32) []byte {
	return pb{}.bytes(7, pb{}.ints(1, shape)).floats(5, data)
}

// tinyNetPrototxt: global average pooling, a fully connected layer with
// zero weights whose bias is the output, reshaped to 1x1xNx7: a "detector"
// that always answers the rows in its bias.
const tinyNetPrototxt = `name: "tiny"
input: "data"
input_shape { dim: 1 dim: 3 dim: 300 dim: 300 }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool"
  pooling_param { pool: AVE global_pooling: true } }
layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc"
  inner_product_param { num_output: 14 } }
layer { name: "detection_out" type: "Reshape" bottom: "fc" top: "detection_out"
  reshape_param { shape { dim: 1 dim: 1 dim: -1 dim: 7 } } }
`

var tinyNetRows = []float32{
	0, 1, 0.9, 0.1, 0.2, 0.5, 0.6,
	0, 1, 0.3, 0, 0, 1, 1, // under the threshold
}

func tinyNetModel() []byte {
	layer := pb{}.str(1, "fc").str(2, "InnerProduct").
		bytes(7, caffeBlob([]int64{14, 3}, make([]float32, 14*3))).
		bytes(7, caffeBlob([]int64{14}, tinyNetRows))
	return pb{}.str(1, "tiny").bytes(100, layer)
}

func writeFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDNNTinyCaffeNet(t *testing.T) {
	dir := writeFiles(t, map[string][]byte{
		"tiny.caffemodel": tinyNetModel(),
		"tiny.prototxt":   []byte(tinyNetPrototxt),
	})
	d, err := NewDNN(filepath.Join(dir, "tiny.caffemodel"), filepath.Join(dir, "tiny.prototxt"), 0, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name() != "dnn" {
		t.Errorf("Name() = %q", d.Name())
	}
	f, done := grayFrame(200, 100, 90)
	defer done()
	dets, err := d.Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []Detection{{Box: image.Rect(20, 20, 100, 60), Score: float64(float32(0.9))}}
	if !reflect.DeepEqual(dets, want) {
		t.Fatalf("detections %v, want %v", dets, want)
	}
	// bad frames are errors, not crashes
	gray := f.Gray
	for name, m := range map[string]gocv.Mat{"gray as BGR": gray, "zero": {}} {
		if _, err := d.Detect(Frame{BGR: m, Gray: gray}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := d.Detect(f); err == nil {
		t.Error("Detect after Close: no error")
	}
}

func TestNewDNNErrors(t *testing.T) {
	model, proto := tinyNetModel(), []byte(tinyNetPrototxt)
	truncated := model[:len(model)-10]
	for _, tc := range []struct {
		name          string
		files         map[string][]byte
		model, config string
		size          int
		threshold     float64
		want          string
	}{
		{"model missing", map[string][]byte{"m.prototxt": proto}, "m.caffemodel", "m.prototxt", 300, 0.5, "model file"},
		{"config missing", map[string][]byte{"m.caffemodel": model}, "m.caffemodel", "m.prototxt", 300, 0.5, "config file"},
		{"wrong extensions", map[string][]byte{"m.tflite": model, "m.txt": proto}, "m.tflite", "m.txt", 300, 0.5, "want a .caffemodel"},
		{"onnx with a config", map[string][]byte{"m.onnx": model, "m.txt": proto}, "m.onnx", "m.txt", 300, 0.5, "takes no config"},
		{"mixed frameworks", map[string][]byte{"m.caffemodel": model, "m.pbtxt": proto}, "m.caffemodel", "m.pbtxt", 300, 0.5, "want a .caffemodel"},
		{"empty model", map[string][]byte{"m.caffemodel": nil, "m.prototxt": proto}, "m.caffemodel", "m.prototxt", 300, 0.5, "empty"},
		{"text as model", map[string][]byte{"m.caffemodel": proto, "m.prototxt": proto}, "m.caffemodel", "m.prototxt", 300, 0.5, "not a caffe model"},
		{"html as model", map[string][]byte{"m.caffemodel": []byte("<html><body>404</body></html>"), "m.prototxt": proto}, "m.caffemodel", "m.prototxt", 300, 0.5, "not a caffe model"},
		{"truncated model", map[string][]byte{"m.caffemodel": truncated, "m.prototxt": proto}, "m.caffemodel", "m.prototxt", 300, 0.5, "truncated"},
		{"model without layers", map[string][]byte{"m.caffemodel": pb{}.str(1, "x"), "m.prototxt": proto}, "m.caffemodel", "m.prototxt", 300, 0.5, "no layers"},
		{"binary as config", map[string][]byte{"m.caffemodel": model, "m.prototxt": model}, "m.caffemodel", "m.prototxt", 300, 0.5, "not a text file"},
		{"unbalanced config", map[string][]byte{"m.caffemodel": model, "m.prototxt": proto[:len(proto)-3]}, "m.caffemodel", "m.prototxt", 300, 0.5, "unclosed"},
		{"config without layers", map[string][]byte{"m.caffemodel": model, "m.prototxt": []byte("name: \"x\"\n")}, "m.caffemodel", "m.prototxt", 300, 0.5, "no \"layer\""},
		{"tf garbage", map[string][]byte{"m.pb": []byte("\xff\xd8\xff\xe0 JFIF"), "m.pbtxt": []byte("node { name: \"x\" }")}, "m.pb", "m.pbtxt", 300, 0.5, "not a tensorflow model"},
		{"size", map[string][]byte{"m.caffemodel": model, "m.prototxt": proto}, "m.caffemodel", "m.prototxt", 10, 0.5, "input size"},
		{"threshold zero", map[string][]byte{"m.caffemodel": model, "m.prototxt": proto}, "m.caffemodel", "m.prototxt", 300, 0, "threshold"},
		{"threshold NaN", map[string][]byte{"m.caffemodel": model, "m.prototxt": proto}, "m.caffemodel", "m.prototxt", 300, math.NaN(), "threshold"},
		{"not an SSD", map[string][]byte{"m.caffemodel": model, "m.prototxt": []byte(strings.Replace(tinyNetPrototxt, "dim: 1 dim: 1 dim: -1 dim: 7", "dim: 1 dim: -1", 1))}, "m.caffemodel", "m.prototxt", 300, 0.5, "want 1x1xNx7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, tc.files)
			d, err := NewDNN(filepath.Join(dir, tc.model), filepath.Join(dir, tc.config), tc.size, tc.threshold)
			if err == nil {
				d.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestWalkProto(t *testing.T) {
	good := pb{}.tag(1, 0).varint(300).tag(2, 5)
	good = append(good, 1, 2, 3, 4)
	good = good.tag(3, 1)
	good = append(good, make([]byte, 8)...)
	good = good.str(4, "hello")
	var nums []int
	if err := walkProto(good, func(num, wire int, val []byte) error {
		nums = append(nums, num)
		if num == 4 && string(val) != "hello" {
			t.Errorf("field 4 = %q", val)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(nums, []int{1, 2, 3, 4}) {
		t.Fatalf("fields %v", nums)
	}
	for name, b := range map[string][]byte{
		"field 0":        {0x00, 0x01},
		"group":          pb{}.tag(1, 3),
		"end group":      pb{}.tag(1, 4),
		"long varint":    append(pb{}.tag(1, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
		"open varint":    append(pb{}.tag(1, 0), 0xff),
		"short fixed32":  append(pb{}.tag(1, 5), 1, 2),
		"short fixed64":  append(pb{}.tag(1, 1), 1, 2, 3),
		"length too far": append(pb{}.tag(1, 2), 5, 1),
	} {
		if err := walkProto(b, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCheckConfigText(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"ok", tinyNetPrototxt, ""},
		{"braces in strings and comments", "# } {\nlayer { name: \"}{\" type: 'x\\'}' }\n", ""},
		{"extra }", "layer { } }", "unbalanced"},
		{"open string", "layer { name: \"x }\n", "not closed"},
		{"bad utf-8", "layer {\xff}", "not a text file"},
		{"tf needs node", "layer { }", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			format := "caffe"
			if strings.HasPrefix(tc.name, "tf") {
				format = "tensorflow"
				tc.want = "no \"node\""
			}
			err := checkConfigText(format, []byte(tc.text))
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzCheckModelProto(f *testing.F) {
	f.Add(tinyNetModel())
	f.Add([]byte("\x0a\x02hi"))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkModelProto("caffe", b)
		checkModelProto("tensorflow", b)
		checkConfigText("caffe", b)
	})
}

// TestDNNRealModel runs the real res10 model when FACET_DNN_MODEL and
// FACET_DNN_CONFIG point at it (it cannot be downloaded here), on the
// portraits, and logs its found rates.
func TestDNNRealModel(t *testing.T) {
	model, config := os.Getenv("FACET_DNN_MODEL"), os.Getenv("FACET_DNN_CONFIG")
	if model == "" || config == "" {
		t.Skip("set FACET_DNN_MODEL and FACET_DNN_CONFIG to the res10 SSD face model files to run it")
	}
	ps := loadPortraits(t, 0)
	m, u := runPortraits(t, ps, func() Detector {
		d, err := NewDNN(model, config, DefaultDNNSize, DefaultDNNThreshold)
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
	t.Logf("dnn masked   %v", m)
	t.Logf("dnn unmasked %v", u)
}

func TestTiles(t *testing.T) {
	for _, tc := range []struct {
		sz   image.Point
		want []image.Rectangle
	}{
		{image.Pt(200, 100), []image.Rectangle{image.Rect(0, 0, 200, 100)}},
		{image.Pt(700, 300), []image.Rectangle{image.Rect(0, 0, 300, 300), image.Rect(225, 0, 525, 300), image.Rect(400, 0, 700, 300)}},
		{image.Pt(300, 525), []image.Rectangle{image.Rect(0, 0, 300, 300), image.Rect(0, 225, 300, 525)}},
		{image.Pt(400, 200), []image.Rectangle{image.Rect(0, 0, 300, 200), image.Rect(100, 0, 400, 200)}},
	} {
		if got := Tiles(tc.sz, 300, 75); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Tiles(%v) = %v, want %v", tc.sz, got, tc.want)
		}
	}
}

// TestDNNTiled runs the tiny net (one face at the same place of whatever
// it is shown) tiled over a wide frame: the whole frame's face, and the
// tiles' faces that do not overlap it, in frame pixels.
func TestDNNTiled(t *testing.T) {
	dir := writeFiles(t, map[string][]byte{
		"tiny.caffemodel": tinyNetModel(),
		"tiny.prototxt":   []byte(tinyNetPrototxt),
	})
	d, err := NewDNNTiled(filepath.Join(dir, "tiny.caffemodel"), filepath.Join(dir, "tiny.prototxt"), 300, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if s, ok := d.(Sized); !ok || s.MinFace() != DNNMinFace || d.Name() != "dnn" {
		t.Fatalf("tiled dnn stage %T: not Sized with MinFace %d, or not named dnn", d, DNNMinFace)
	}
	f, done := grayFrame(700, 300, 90)
	defer done()
	dets, err := d.Detect(f)
	if err != nil {
		t.Fatal(err)
	}
	// whole frame: 0.1-0.5 x 700, 0.2-0.6 x 300; the tiles at x 0, 225
	// and 400 give 30-150, 255-375 and 430-550 across: the first two
	// overlap the whole frame's face.
	want := []Detection{{Box: image.Rect(70, 60, 350, 180), Score: float64(float32(0.9))}, {Box: image.Rect(430, 60, 550, 180), Score: float64(float32(0.9))}}
	if !reflect.DeepEqual(dets, want) {
		t.Fatalf("detections %v, want %v", dets, want)
	}
	// A frame about the input's size is looked at whole, as untiled.
	small, done2 := grayFrame(320, 240, 90)
	defer done2()
	if dets, err := d.Detect(small); err != nil || len(dets) != 1 || dets[0].Box != image.Rect(32, 48, 160, 144) {
		t.Fatalf("small frame: %v, %v", dets, err)
	}
}

// A YuNet (.onnx) model goes to internal/yunet; broken or missing files
// are refused with their names. No real model is at hand to run.
func TestNewDNNYuNetRefusals(t *testing.T) {
	dir := writeFiles(t, map[string][]byte{
		"html.onnx":  []byte("<html>404</html>"),
		"empty.onnx": nil,
	})
	for _, tc := range []struct {
		model, config, want string
		threshold           float64
	}{
		{"missing.onnx", "", "not found", 0.6},
		{"empty.onnx", "", "empty", 0.6},
		{"html.onnx", "", "Failed to parse ONNX model", 0.6},
		{"html.onnx", "x.prototxt", "takes no config", 0.6},
		{"html.onnx", "", "threshold", 0},
	} {
		for _, tiled := range []bool{false, true} {
			newDNN := NewDNN
			if tiled {
				newDNN = NewDNNTiled
			}
			config := tc.config
			if config != "" {
				config = filepath.Join(dir, config)
			}
			d, err := newDNN(filepath.Join(dir, tc.model), config, 0, tc.threshold)
			if err == nil {
				d.Close()
				t.Errorf("%s: loaded", tc.model)
				continue
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "dnn") {
				t.Errorf("%s (tiled %v): err = %v, want one about the dnn model mentioning %q", tc.model, tiled, err, tc.want)
			}
		}
	}
}
