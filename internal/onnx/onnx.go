// Package onnx runs ONNX classifiers (exported by PyTorch, e.g. a
// torchvision ResNet-18 with facet's three heads) through OpenCV's DNN
// module, next to facet's own safetensors models (internal/nn).
//
// # The model and its config
//
// A model is two files: best.onnx and best.json beside it, a Config:
//
//	{"format": "facet-onnx/1", "arch": "resnet18",
//	 "input_size": 112, "channels": "rgb",
//	 "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
//	 "input": "input", "heads": "three",
//	 "outputs": {"mask": "mask", "gender": "gender", "age": "age"}}
//
// The net takes an N x 3 x S x S float32 batch, each plane normalised as
// (pixel/255 - mean)/std in the order Channels names (the caller does
// that; Predict takes the normalised batch), and gives logits: for heads
// "three" the graph outputs named by outputs' mask, gender and age keys
// (3, 2 and 3 values a row), for "single18" the one output class18
// (18 values a row, class = mask*6 + gender*3 + age_group). Predict
// returns their softmax as *pred.Probs. The batch axis must be dynamic
// (torch.onnx.export(..., dynamic_axes={"input": {0: "n"}})): any batch
// size is run. Unknown config keys are ignored.
//
// # Why its own cgo wrapper
//
// gocv v0.25's ReadNet and Forward do not catch C++ exceptions, and
// OpenCV throws for every model it cannot read or run (an unsupported
// op, a shape mismatch), which aborts the whole process. facet_onnx.cpp
// is a small extern "C" wrapper that catches cv::Exception,
// std::exception and anything else at the boundary and returns the
// message as a Go error. It reads the net from bytes, sets OpenCV's own
// backend on the CPU explicitly, and wraps the caller's batch in a Mat
// header without copying it (cv::dnn::Net::setInput then makes the one
// copy its input layer keeps; the API has no way around it, and it costs
// well under 1% of a ResNet-18 forward pass). Outputs are read in place
// from OpenCV's Mats. OpenCV's own thread pool runs each layer on all
// cores (cv::setNumThreads is left at its default).
//
// # Graph cleaning and what OpenCV 4.6 reads
//
// Load parses the ONNX protobuf itself (protowire, no ONNX binding)
// before OpenCV sees it: so a missing, truncated or garbage file is a
// clear error instead of an OpenCV one, the graph's inputs and outputs
// can be named in errors, and Identity nodes are removed. torch 1.13's
// exporter emits an Identity of an initializer for each deduplicated
// constant (16 in torchvision's resnet18, 37 in mobilenet_v3_small), and
// OpenCV 4.6 cannot load those ("inputs.size()" in the blank layer); it
// does load an Identity of a computed tensor, but the cleaner removes
// every Identity of the main graph alike: it rewires the consumers to
// the Identity's input, or, where the Identity makes a graph output,
// renames the producer to that output's name so the configured names
// stay valid, and keeps every other byte.
//
// OpenCV 4.6 reads ONNX opsets up to about 13-17: Load rejects a default
// domain opset above 17 (newer ones changed ops such as ReduceMean and
// Split, which OpenCV 4.6 reads the old way); opset 13 and 17 exports of
// the same net give the same probabilities. Export with
// torch.onnx.export(..., opset_version=13, dynamo=False). Checked with
// torch 1.13 exports at 112 px (random weights): ResNet-18,
// MobileNetV3-Small, EfficientNet-B0 and RegNetY-400MF load and match
// PyTorch's probabilities within 1e-6. ConvNeXt does not load (OpenCV
// cannot apply its LayerNorm's Div over the channels-last axis), nor do
// nets with ops OpenCV 4.6 has no layer for, such as TopK, NonZero or
// CumSum; the error names the node and op. OpenCV 4.6 runs the nets with
// squeeze-and-excitation blocks (MobileNetV3, EfficientNet, RegNetY) on
// batches of one image only ("start <= (int)shape.size()" for more):
// Load finds out with its test pass and Predict then runs a batch one
// image at a time (see OneAtATime), as it does for a model whose batch
// axis was exported fixed at 1.
//
// Load checks everything before any work: the config, the graph's
// opset, input and output names, the input's declared shape, and then
// one forward pass of a batch of 2 zero images that must give each
// configured output with the right width and 2 rows.
//
// A Model is not safe for concurrent Predict calls (OpenCV's net keeps
// its buffers between calls, and each call already uses all cores): use
// one per goroutine, or one goroutine.
package onnx

// #cgo pkg-config: opencv4
// #cgo CXXFLAGS: -std=c++11 -O2
// #include <stdlib.h>
// #include "facet_onnx.h"
import "C"

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"unsafe"

	"github.com/boostershot/facet/internal/owned"
	"github.com/boostershot/facet/internal/pred"
)

// Model is a loaded ONNX model. It is not safe for concurrent Predict
// calls.
type Model struct {
	net        *owned.Ptr[*C.facet_onnx_net]
	cfg        Config
	graph      *graphInfo
	path       string
	in         valueInfo // the graph input
	input      *C.char   // its name, C string, freed with the net
	oneAtATime bool      // OpenCV runs this net on batches of 1 only (see probe)
}

// NumThreads is the number of threads OpenCV's parallel loops use.
func NumThreads() int { return int(C.facet_onnx_num_threads()) }

// cerr turns a wrapper's returned message into an error and frees it.
func cerr(e *C.char) error {
	if e == nil {
		return nil
	}
	err := errors.New(oneLine(C.GoString(e)))
	C.facet_onnx_free_error(e)
	return err
}

// testThrow throws a C++ exception inside the wrapper (0:
// std::runtime_error, 1: cv::Exception, 2: an int). Tests only.
func testThrow(kind int) error { return cerr(C.facet_onnx_test_throw(C.int(kind))) }

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Load reads path (a .onnx file) and its config (ConfigPath(path)),
// cleans the graph and builds the OpenCV net, checking it with one
// forward pass of 2 zero images, so every problem shows before any work.
func Load(path string) (*Model, error) {
	m, err := load(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return m, nil
}

func load(path string) (*Model, error) {
	cfg, err := ReadConfig(ConfigPath(path))
	if err != nil {
		return nil, err
	}
	if cfg.Channels == "" {
		cfg.Channels = "rgb"
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cleaned, g, err := clean(raw)
	if err != nil {
		return nil, fmt.Errorf("not a readable ONNX model: %w", err)
	}
	if g.Opset > MaxOpset {
		return nil, fmt.Errorf("opset %d: OpenCV 4.6 reads ONNX up to opset ~13-17; re-export with torch.onnx.export(..., opset_version=13, dynamo=False)", g.Opset)
	}
	in, err := g.input(cfg)
	if err != nil {
		return nil, err
	}
	heads := headWidths[cfg.Heads]
	names := make([]string, len(heads))
	m := &Model{cfg: cfg, graph: g, path: path}
	for i, h := range heads {
		out := cfg.Outputs[h.key]
		if !slices.Contains(g.Outputs, out) {
			return nil, fmt.Errorf("output %q (outputs.%s in the config) is not a graph output; the graph's outputs are %s",
				out, h.key, quoteList(g.Outputs))
		}
		names[i] = g.Tensor(out)
	}
	if err := m.build(cleaned, in, names); err != nil {
		return nil, err
	}
	if err := m.probe(); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// input returns the graph input the config names (or the only one),
// checking its declared shape against the config where it is fixed.
func (g *graphInfo) input(cfg Config) (valueInfo, error) {
	var in valueInfo
	switch {
	case len(g.Inputs) == 0:
		return in, errors.New("the graph has no inputs")
	case cfg.Input == "" && len(g.Inputs) > 1:
		return in, fmt.Errorf("the graph has %d inputs (%s): name one as \"input\" in the config", len(g.Inputs), quoteList(g.inputNames()))
	case cfg.Input == "":
		in = g.Inputs[0]
	default:
		i := slices.IndexFunc(g.Inputs, func(v valueInfo) bool { return v.Name == cfg.Input })
		if i < 0 {
			return in, fmt.Errorf("input %q (in the config) is not a graph input; the graph's inputs are %s", cfg.Input, quoteList(g.inputNames()))
		}
		in = g.Inputs[i]
	}
	if d := in.Dims; d != nil {
		s := int64(cfg.InputSize)
		if len(d) != 4 || d[1] > 0 && d[1] != 3 || d[2] > 0 && d[2] != s || d[3] > 0 && d[3] != s {
			return in, fmt.Errorf("graph input %q is %s, the config says n x 3 x %d x %d", in.Name, dimString(d), s, s)
		}
	}
	return in, nil
}

func (g *graphInfo) inputNames() []string {
	var s []string
	for _, v := range g.Inputs {
		s = append(s, v.Name)
	}
	return s
}

func dimString(d []int64) string {
	s := make([]string, len(d))
	for i, v := range d {
		if v < 0 {
			s[i] = "?"
		} else {
			s[i] = fmt.Sprint(v)
		}
	}
	return strings.Join(s, " x ")
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// build makes the OpenCV net.
func (m *Model) build(model []byte, in valueInfo, outs []string) error {
	cnames := make([]*C.char, len(outs))
	for i, o := range outs {
		cnames[i] = C.CString(o)
	}
	defer func() {
		for _, c := range cnames {
			C.free(unsafe.Pointer(c))
		}
	}()
	var net *C.facet_onnx_net
	// OpenCV parses the bytes during the call and keeps no pointer to them.
	if e := C.facet_onnx_load((*C.char)(unsafe.Pointer(&model[0])), C.size_t(len(model)), &cnames[0], C.int(len(outs)), &net); e != nil {
		return loadError(cerr(e))
	}
	m.in = in
	input := C.CString(in.Name)
	m.input = input
	m.net = owned.New(net, func(net *C.facet_onnx_net) {
		C.facet_onnx_free(net)
		C.free(unsafe.Pointer(input))
	}, "model")
	return nil
}

// OpenCV 4.6's importer reports a node it cannot load as
//
//	Node [TopK@ai.onnx]:(onnx_node!/TopK) parse error: OpenCV(4.6.0)
//	./modules/dnn/src/net_impl.hpp:108: error: (-2:Unspecified error)
//	Can't create layer "onnx_node!/TopK" of type "TopK" in function
//	'getLayerInstance' > (in handleNode)
//
// which loadError trims to the node, its op and the reason.
var (
	nodeRE     = regexp.MustCompile(`Node \[([^@\]]+)(?:@[^\]]*)?\]:\((?:onnx_node!)?([^)]*)\)`)
	cvPrefixRE = regexp.MustCompile(`OpenCV\([0-9.]+\) \S+:\d+: error: \([-0-9]+:([^)]*)\) `)
	cvFuncRE   = regexp.MustCompile(` in function '[^']*'`)
)

// maxMessage caps OpenCV's part of an error (its assertions can run to
// many lines of C++).
const maxMessage = 300

// trimCV drops OpenCV's version, source file and function names from a
// message.
func trimCV(msg string) string {
	msg = cvPrefixRE.ReplaceAllStringFunc(msg, func(m string) string {
		if strings.Contains(m, "Assertion failed") {
			return "assertion failed: "
		}
		return ""
	})
	msg = cvFuncRE.ReplaceAllString(msg, "")
	msg = strings.ReplaceAll(msg, "onnx_node!", "")
	msg = strings.TrimSuffix(msg, " (in handleNode)")
	msg = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(msg), ">"))
	if r := []rune(msg); len(r) > maxMessage {
		msg = string(r[:maxMessage]) + "..."
	}
	return msg
}

// loadError words an error of OpenCV's ONNX importer as "OpenCV 4.6
// cannot load node X (op Y): why", or "cannot read the model: why".
func loadError(err error) error {
	msg := err.Error()
	why := trimCV(msg)
	if sm := nodeRE.FindStringSubmatch(msg); sm != nil {
		if i := strings.LastIndex(why, "parse error: "); i >= 0 {
			why = why[i+len("parse error: "):]
		}
		if strings.HasPrefix(why, "Can't create layer") {
			why = fmt.Sprintf("OpenCV has no layer for op %s", sm[1])
		}
		return fmt.Errorf("OpenCV 4.6 cannot load node %q (op %s): %s", sm[2], sm[1], why)
	}
	return fmt.Errorf("OpenCV 4.6 cannot read the model: %s", why)
}

// probe runs a batch of 2 zero images and checks the outputs. When OpenCV
// fails on it but runs 1 image, Predict runs images one at a time.
func (m *Model) probe() error {
	s := m.cfg.InputSize
	_, err := m.predict(make([]float32, 2*3*s*s))
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("test forward pass of 2 zero images of 3 x %d x %d", s, s)
	var fe forwardError
	if !errors.As(err, &fe) {
		return fmt.Errorf("%s: %w", what, err)
	}
	m.oneAtATime = true
	if _, err1 := m.predict(make([]float32, 3*s*s)); err1 != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// OneAtATime reports whether Predict runs the images of a batch one at a
// time, because OpenCV failed on a batch of 2 but ran a batch of 1. It
// does so for a batch axis fixed at 1, and (OpenCV 4.6) for nets with
// squeeze-and-excitation blocks such as MobileNetV3, EfficientNet and
// RegNetY. The probabilities are the same, only slower to come.
func (m *Model) OneAtATime() bool { return m.oneAtATime }

// Config returns the model's config (Channels filled in: "rgb" when the
// file left it empty).
func (m *Model) Config() Config { return m.cfg }

// Close frees the C++ net. Closing twice is harmless; Predict after Close
// is an error.
func (m *Model) Close() error {
	m.net.Close()
	return nil
}

// Predict runs x, a batch of n x 3 x S x S float32 (n >= 1, normalised
// and in the config's channel order), and returns its probabilities: for
// heads "three" each head's softmax and their product over the 18
// classes (CombineHeads), for "single18" the softmax of the 18 logits and
// its marginals (Marginalise). Not safe for concurrent use.
func (m *Model) Predict(x []float32) (*pred.Probs, error) {
	p, err := m.predict(x)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return p, nil
}

// forwardError is OpenCV's error in a forward pass.
type forwardError struct{ msg string }

func (e forwardError) Error() string { return "OpenCV's forward pass: " + e.msg }

func (m *Model) predict(x []float32) (*pred.Probs, error) {
	s := m.cfg.InputSize
	img := 3 * s * s
	if len(x) == 0 || len(x)%img != 0 {
		return nil, fmt.Errorf("%d input values are not a whole batch of 3 x %d x %d images", len(x), s, s)
	}
	n := len(x) / img
	if n > math.MaxInt32 {
		return nil, fmt.Errorf("batch of %d images too large", n)
	}
	p := pred.New(n)
	step := n
	if m.oneAtATime {
		step = 1
	}
	err := m.net.Use(func(net *C.facet_onnx_net) error {
		for lo := 0; lo < n; lo += step {
			if err := m.forward(net, x[lo*img:(lo+step)*img], step); err != nil {
				return err
			}
			if err := m.outputs(net, p.Slice(lo, lo+step)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if m.cfg.Heads == HeadsSingle18 {
		p.Marginalise()
	} else {
		p.CombineHeads()
	}
	return p, nil
}

// outputs checks the outputs of the last forward pass and writes their
// softmax to p's heads (p.N rows). The caller is inside m.net.Use.
func (m *Model) outputs(net *C.facet_onnx_net, p *pred.Probs) error {
	n := p.N
	dsts := [][]float32{p.Mask, p.Gender, p.Age}
	if m.cfg.Heads == HeadsSingle18 {
		dsts = [][]float32{p.Class18}
	}
	for k, h := range headWidths[m.cfg.Heads] {
		var ndims C.int
		var dims [8]C.int
		ptr := C.facet_onnx_output(net, C.int(k), &ndims, &dims[0])
		out := m.cfg.Outputs[h.key]
		if ptr == nil {
			return fmt.Errorf("output %q (%s): OpenCV gave no float32 values", out, h.key)
		}
		total := 1
		shape := make([]string, min(int(ndims), 8))
		for i := range shape {
			total *= int(dims[i])
			shape[i] = fmt.Sprint(int(dims[i]))
		}
		if ndims < 1 || int(dims[0]) != n || total != n*h.width {
			if ndims >= 1 && int(dims[0]) == n && total%n == 0 {
				return fmt.Errorf("output %q gives %d values a row, want %d (outputs.%s of heads %q)", out, total/n, h.width, h.key, m.cfg.Heads)
			}
			return fmt.Errorf("output %q is %s for a batch of %d, want %d x %d (is the batch axis dynamic? export with dynamic_axes={%q: {0: \"n\"}})",
				out, strings.Join(shape, " x "), n, n, h.width, m.in.Name)
		}
		softmaxRows(dsts[k], unsafe.Slice((*float32)(unsafe.Pointer(ptr)), total), h.width)
	}
	return nil
}

// forward runs OpenCV's forward pass on the n images of x, leaving the
// outputs in the net. The caller is inside m.net.Use.
func (m *Model) forward(net *C.facet_onnx_net, x []float32, n int) error {
	s := C.int(m.cfg.InputSize)
	// OpenCV reads x in place during the call (cgo keeps it where it is).
	err := cerr(C.facet_onnx_forward(net, m.input, (*C.float)(unsafe.Pointer(&x[0])), C.int(n), 3, s, s))
	if err != nil {
		return forwardError{trimCV(err.Error())}
	}
	return nil
}

// forwardPass is one forward pass of x's n images without reading the
// outputs (BenchmarkForward compares it with Predict).
func (m *Model) forwardPass(x []float32, n int) error {
	return m.net.Use(func(net *C.facet_onnx_net) error { return m.forward(net, x, n) })
}

// softmaxRows writes the softmax of each k-wide row of z to dst.
func softmaxRows(dst, z []float32, k int) {
	for r := 0; r+k <= len(z); r += k {
		row, out := z[r:r+k], dst[r:r+k]
		mx := row[0]
		for _, v := range row[1:] {
			mx = max(mx, v)
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - float64(mx))
		}
		for i, v := range row {
			out[i] = float32(math.Exp(float64(v)-float64(mx)) / sum)
		}
	}
}
