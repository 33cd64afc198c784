package onnx

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/boostershot/facet/internal/pred"
)

// inputs is make_fixtures.py's inputs(): x[i] = ((i*7919) % 2003)/1001.5 - 1.
func inputs(n, s int) []float32 {
	x := make([]float32, n*3*s*s)
	for i := range x {
		x[i] = float32(float64((i*7919)%2003)/1001.5 - 1)
	}
	return x
}

type expected struct {
	Mask, Gender, Age, Class18 [][]float64
}

func readExpected(t testing.TB) map[string]expected {
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func mustLoad(t testing.TB, path string) *Model {
	t.Helper()
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// maxDiff compares p's rows with want's first p.N rows.
func maxDiff(t testing.TB, p *pred.Probs, want expected) float64 {
	t.Helper()
	var d float64
	for _, c := range []struct {
		name string
		got  []float32
		want [][]float64
	}{{"mask", p.Mask, want.Mask}, {"gender", p.Gender, want.Gender}, {"age", p.Age, want.Age}, {"class18", p.Class18, want.Class18}} {
		k := len(c.want[0])
		if len(c.got) != p.N*k {
			t.Fatalf("%s: %d values for %d rows of %d", c.name, len(c.got), p.N, k)
		}
		for i := range p.N {
			for j := range k {
				d = max(d, math.Abs(float64(c.got[i*k+j])-c.want[i][j]))
			}
		}
	}
	for i := range p.N {
		if w := argmax64(want.Class18[i]); p.Pred18[i] != w {
			t.Errorf("row %d: pred %d, PyTorch's argmax %d", i, p.Pred18[i], w)
		}
	}
	return d
}

func argmax64(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// TestMatchesPyTorch runs each fixture at batch sizes 1, 2 and 7 and
// compares the probabilities with PyTorch's.
func TestMatchesPyTorch(t *testing.T) {
	exp := readExpected(t)
	for _, name := range []string{"three", "single18", "identity", "opset17", "fixed"} {
		t.Run(name, func(t *testing.T) {
			m := mustLoad(t, "testdata/"+name+".onnx")
			if m.OneAtATime() != (name == "fixed") {
				t.Errorf("OneAtATime %v", m.OneAtATime())
			}
			s := m.Config().InputSize
			for _, n := range []int{1, 2, 7, 1} {
				p, err := m.Predict(inputs(n, s))
				if err != nil {
					t.Fatalf("batch %d: %v", n, err)
				}
				if p.N != n {
					t.Fatalf("batch %d: %d rows", n, p.N)
				}
				if d := maxDiff(t, p, exp[name]); d > 1e-5 {
					t.Errorf("batch %d: probabilities differ from PyTorch's by up to %g", n, d)
				} else {
					t.Logf("batch %d: max abs difference from PyTorch %.2g", n, d)
				}
			}
		})
	}
}

func TestConfig(t *testing.T) {
	m := mustLoad(t, "testdata/single18.onnx")
	c := m.Config()
	if c.Channels != "bgr" || c.Heads != HeadsSingle18 || c.InputSize != 32 || c.Std[2] != 0.225 || c.Outputs["class18"] != "logits" {
		t.Errorf("config %+v", c)
	}
	m = mustLoad(t, "testdata/three.onnx")
	if c := m.Config(); c.Channels != "rgb" || c.Arch != "tiny" {
		t.Errorf("config %+v", c)
	}
}

// writeModel copies testdata/<from>.onnx to a temp dir as model.onnx
// (through edit when not nil) and writes model.json: testdata/<from>.json
// with the keys in set replaced (a nil value deletes the key), or the
// literal config when config is not "".
func writeModel(t *testing.T, from string, edit func([]byte) []byte, set map[string]any, config string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/" + from + ".onnx")
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		b = edit(b)
	}
	path := filepath.Join(dir, "model.onnx")
	if b != nil {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if config == "" {
		raw, err := os.ReadFile("testdata/" + from + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		for k, v := range set {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		raw, _ = json.Marshal(c)
		config = string(raw)
	}
	if config != "none" {
		if err := os.WriteFile(filepath.Join(dir, "model.json"), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestLoadErrors: every problem is one error line that names it.
func TestLoadErrors(t *testing.T) {
	threeOut := map[string]any{"mask": "mask", "gender": "gender", "age": "age"}
	cases := []struct {
		name   string
		from   string
		edit   func([]byte) []byte
		set    map[string]any
		config string
		want   []string // substrings of the error
	}{
		{name: "missing onnx", from: "three", edit: func([]byte) []byte { return nil },
			want: []string{"model.onnx", "no such file"}},
		{name: "empty onnx", from: "three", edit: func([]byte) []byte { return []byte{} },
			want: []string{"not a readable ONNX model", "empty file"}},
		{name: "truncated onnx", from: "three", edit: func(b []byte) []byte { return b[:len(b)/2] },
			want: []string{"not a readable ONNX model", "model: field 7", "unexpected EOF"}},
		{name: "text file", from: "three", edit: func([]byte) []byte { return []byte("hello, this is not a model\n") },
			want: []string{"not a readable ONNX model"}},
		{name: "garbage", from: "three", edit: func([]byte) []byte { return []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02} },
			want: []string{"not a readable ONNX model"}},
		{name: "missing json", from: "three", config: "none",
			want: []string{"config", "model.json", "no such file"}},
		{name: "json syntax", from: "three", config: `{"format": "facet-onnx/1",`,
			want: []string{"config", "model.json", "not valid JSON"}},
		{name: "json type", from: "three", set: map[string]any{"input_size": "big"},
			want: []string{`key "input_size"`, "string", "int"}},
		{name: "json mean short", from: "three", set: map[string]any{"mean": []float32{0.5, 0.5}},
			want: []string{`key "mean"`, "3 numbers"}},
		{name: "json std missing", from: "three", set: map[string]any{"std": nil},
			want: []string{`key "std" missing`}},
		{name: "bad config values", from: "three", set: map[string]any{"format": "facet/0", "input_size": 4, "channels": "rgba", "std": []float32{1, 0, 1}, "heads": "two"},
			want: []string{`format "facet/0"`, "input_size 4 out of range 8..1024", `channels "rgba"`, "std[1] is 0", `heads "two"`}},
		{name: "outputs keys", from: "three", set: map[string]any{"outputs": map[string]any{"mask": "mask", "gender": "gender", "class18": "age"}},
			want: []string{`outputs has no "age"`, `outputs has key "class18" not used by heads "three"`}},
		{name: "single18 keys", from: "single18", set: map[string]any{"outputs": threeOut},
			want: []string{`outputs has no "class18"`, `"age", "gender", "mask"`}},
		{name: "output not in graph", from: "three", set: map[string]any{"outputs": map[string]any{"mask": "mask", "gender": "sex", "age": "age"}},
			want: []string{`output "sex" (outputs.gender in the config) is not a graph output`, `"mask", "gender", "age"`}},
		{name: "input not in graph", from: "three", set: map[string]any{"input": "image"},
			want: []string{`input "image"`, `graph's inputs are "input"`}},
		{name: "width mismatch", from: "three", set: map[string]any{"outputs": map[string]any{"mask": "gender", "gender": "mask", "age": "age"}},
			want: []string{`output "gender" gives 2 values a row, want 3`}},
		{name: "single18 width", from: "three", set: map[string]any{"heads": "single18", "outputs": map[string]any{"class18": "mask"}},
			want: []string{`output "mask" gives 3 values a row, want 18`}},
		{name: "unsupported op", from: "unsupported",
			want: []string{"OpenCV 4.6 cannot load node", "TopK"}},
		{name: "opset 18", from: "opset18",
			want: []string{"opset 18", "opset_version=13, dynamo=False"}},
		{name: "one channel", from: "gray",
			want: []string{`graph input "input" is ? x 1 x 32 x 32, the config says n x 3 x 32 x 32`}},
		{name: "size mismatch", from: "fixed", set: map[string]any{"input_size": 32},
			want: []string{`graph input "input" is 1 x 3 x 16 x 16, the config says n x 3 x 32 x 32`}},
		{name: "one channel undeclared", from: "gray_undeclared",
			want: []string{`OpenCV 4.6 cannot load node "/body/body.0/Conv" (op Conv)`, "input channels"}},
		{name: "size mismatch undeclared", from: "fixed", edit: symbolicSize, set: map[string]any{"input_size": 32},
			want: []string{"test forward pass of 2 zero images of 3 x 32 x 32: OpenCV's forward pass: assertion failed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeModel(t, c.from, c.edit, c.set, c.config)
			m, err := Load(path)
			if err == nil {
				m.Close()
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error of more than one line: %q", msg)
			}
			if !strings.HasPrefix(msg, "onnx: "+path+": ") {
				t.Errorf("error %q does not start with onnx: <path>:", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\ndoes not say %q", msg, w)
				}
			}
			t.Log(msg)
		})
	}
}

func TestPredictErrors(t *testing.T) {
	m := mustLoad(t, "testdata/three.onnx")
	for _, c := range []struct {
		name string
		x    []float32
	}{{"empty", nil}, {"part of an image", make([]float32, 3*32*32+5)}} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := m.Predict(c.x); err == nil || !strings.Contains(err.Error(), "not a whole batch of 3 x 32 x 32 images") {
				t.Errorf("err %v", err)
			}
		})
	}
	m.Close()
	if err := m.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := m.Predict(inputs(1, 32)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("predict after close: %v", err)
	}
}

// TestExceptions: every kind of C++ exception becomes an error.
func TestExceptions(t *testing.T) {
	for kind, want := range []string{"test runtime_error", "test cv::Exception", "unknown C++ exception"} {
		if err := testThrow(kind); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("kind %d: %v, want %q", kind, err, want)
		}
	}
}

func TestThreads(t *testing.T) {
	if n := NumThreads(); n < runtime.NumCPU() {
		t.Errorf("OpenCV uses %d threads on %d CPUs", n, runtime.NumCPU())
	}
}

// TestOpenCVRefusesIdentity is why the cleaner exists: OpenCV 4.6 cannot
// load an Identity of an initializer (torch 1.13 emits them for
// deduplicated constants: 16 in torchvision's resnet18).
func TestOpenCVRefusesIdentity(t *testing.T) {
	m := &Model{}
	err := m.build(readFixture(t, "identity"), valueInfo{Name: "input"}, []string{"mask", "gender", "age"})
	if err == nil {
		m.Close()
		t.Fatal("OpenCV loaded the uncleaned model: is the cleaner still needed?")
	}
	if !strings.Contains(err.Error(), `node "id_init" (op Identity)`) {
		t.Errorf("error %q does not name the Identity node", err)
	}
}

// symbolicSize declares a model's graph inputs as float32 n x 3 x h x w,
// so only a forward pass can tell the size the net takes.
func symbolicSize(model []byte) []byte {
	msg := func(num protowire.Number, parts ...[]byte) []byte {
		var inner []byte
		for _, p := range parts {
			inner = append(inner, p...)
		}
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), inner)
	}
	str := func(num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), s)
	}
	float32Type := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1) // elem_type FLOAT
	shape := msg(tensorTypeShape,
		msg(shapeDim, str(dimParam, "n")),
		msg(shapeDim, protowire.AppendVarint(protowire.AppendTag(nil, dimValue, protowire.VarintType), 3)),
		msg(shapeDim, str(dimParam, "h")),
		msg(shapeDim, str(dimParam, "w")))
	mf, err := fields(model, "model")
	if err != nil {
		panic(err)
	}
	var out []byte
	for _, f := range mf {
		if f.num != modelGraph {
			out = append(out, f.raw...)
			continue
		}
		gf, err := fields(f.val, "graph")
		if err != nil {
			panic(err)
		}
		var g []byte
		for _, gfld := range gf {
			if gfld.num != graphInput {
				g = append(g, gfld.raw...)
				continue
			}
			name, _ := stringField(gfld.val, valueName, "")
			g = append(g, msg(graphInput, str(valueName, name), msg(valueType, msg(typeTensor, float32Type, shape)))...)
		}
		out = append(out, msg(modelGraph, g)...)
	}
	return out
}
