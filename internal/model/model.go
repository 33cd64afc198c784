// Package model opens a trained model of either kind facet runs behind
// one interface, so facet-infer and facet-train's out-of-fold step predict
// with both:
//
//   - facet's own network (internal/nn): best.safetensors with its
//     best.json model config, written by the gorgonia back end or a
//     plugin that trains the same network;
//   - an ONNX graph (internal/onnx): best.onnx with its best.json
//     (format facet-onnx/1: input size, channel order, mean/std, the
//     outputs of the heads), written by a plugin that trains any other
//     network, run by OpenCV's DNN module.
//
// A model says how it wants its input (Input) and turns a batch of such
// tensors into facet's probabilities (internal/pred).
package model

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/onnx"
	"github.com/boostershot/facet/internal/pred"
)

// Input is what a model takes: n images of Size x Size, channels first,
// each plane (value/255 - Mean[c]) / Std[c], the planes in RGB order, or
// BGR when BGR is set (Mean and Std are then in BGR order too).
type Input struct {
	Size      int
	BGR       bool
	Mean, Std [3]float32
}

// Len is the number of values one image takes.
func (in Input) Len() int { return 3 * in.Size * in.Size }

// Tensor writes img (already Size x Size) into dst as the model wants it.
func (in Input) Tensor(img *augment.Image, dst []float32) error {
	if img.W != in.Size || img.H != in.Size {
		return fmt.Errorf("model: a %dx%d image for a %dx%d input", img.W, img.H, in.Size, in.Size)
	}
	if !in.BGR {
		return augment.Tensor(img, dst, in.Mean, in.Std)
	}
	// augment.Tensor writes R, G, B planes: give it the statistics in that
	// order, then swap the R and B planes.
	m, s := in.Mean, in.Std
	if err := augment.Tensor(img, dst, [3]float32{m[2], m[1], m[0]}, [3]float32{s[2], s[1], s[0]}); err != nil {
		return err
	}
	n := in.Size * in.Size
	r, b := dst[:n], dst[2*n:3*n]
	for i := range n {
		r[i], b[i] = b[i], r[i]
	}
	return nil
}

// Model is a trained classifier with facet's heads.
type Model interface {
	// Input describes the tensors Predict takes.
	Input() Input
	// Single18 reports a model with one 18-class output: its head
	// probabilities are the marginals of the 18 classes (pred.Probs.
	// Marginalise) rather than the 18 classes the product of the heads
	// (pred.Probs.CombineHeads).
	Single18() bool
	// Predict returns the probabilities of n images given as n x
	// Input().Len() values. It is not safe for concurrent use.
	// Outputs that are not finite are an error.
	Predict(x []float32) (*pred.Probs, error)
	// Kind names the model's format for messages: "facet" or "onnx".
	Kind() string
	Close() error
}

// Files a run folder may hold a model in.
const (
	Safetensors = "best.safetensors"
	ONNX        = "best.onnx"
)

// Resolve turns a --model argument into a model file: a run folder's
// best.onnx or best.safetensors (exactly one of them), or the file itself.
func Resolve(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return path, nil
	}
	var found []string
	for _, name := range []string{ONNX, Safetensors} {
		if _, err := os.Stat(filepath.Join(path, name)); err == nil {
			found = append(found, filepath.Join(path, name))
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 2:
		return "", fmt.Errorf("%s holds both %s and %s: name the one to use", path, ONNX, Safetensors)
	}
	if folds, _ := filepath.Glob(filepath.Join(path, "fold*", "best.*")); len(folds) > 0 {
		return "", fmt.Errorf("%s holds fold models and no model of its own: predict with each (%s) and combine them with facet-merge vote",
			path, filepath.Dir(folds[0]))
	}
	return "", fmt.Errorf("%s: no %s or %s in it (not a facet-train run folder?)", path, Safetensors, ONNX)
}

// Open loads the model at path: a run folder (see Resolve), a .onnx file
// or a .safetensors file, each with its .json config beside it. The model
// must give finite outputs on a probe image (see Predict).
func Open(path string) (Model, error) {
	file, err := Resolve(path)
	if err != nil {
		return nil, err
	}
	var m Model
	switch ext := strings.ToLower(filepath.Ext(file)); ext {
	case ".onnx":
		o, err := onnx.Load(file)
		if err != nil {
			return nil, err
		}
		m = onnxModel{o}
	case ".safetensors":
		f, err := nn.Load(file)
		if err != nil {
			return nil, err
		}
		m = facetModel{f}
	default:
		return nil, fmt.Errorf("%s: want a .onnx or .safetensors model (or a run folder)", file)
	}
	if _, err := m.Predict(make([]float32, m.Input().Len())); err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: on a probe image (all zeros): %w", file, err)
	}
	return m, nil
}

// finite returns p, or an error when a probability is NaN or infinite:
// weights that are not finite (or that overflow on some input) give NaN,
// and NaN probabilities would predict class 0 for every row without a
// word.
func finite(p *pred.Probs, err error) (*pred.Probs, error) {
	if err != nil {
		return nil, err
	}
	for _, s := range [][]float32{p.Mask, p.Gender, p.Age, p.Class18} {
		for i, v := range s {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("model outputs are not finite (%v at value %d): its weights are damaged or overflow", v, i)
			}
		}
	}
	return p, nil
}

// Facet is m as a Model.
func Facet(m *nn.Model) Model { return facetModel{m} }

// facetModel is internal/nn's network.
type facetModel struct{ m *nn.Model }

func (f facetModel) Input() Input {
	return Input{Size: f.m.Config().InputSize, Mean: augment.MeanRGB, Std: augment.StdRGB}
}
func (f facetModel) Single18() bool                           { return f.m.Config().Heads == nn.HeadsSingle18 }
func (f facetModel) Predict(x []float32) (*pred.Probs, error) { return finite(f.m.Predict(x)) }
func (f facetModel) Kind() string                             { return "facet" }
func (f facetModel) Close() error                             { return nil }

// onnxModel is an ONNX graph run by OpenCV.
type onnxModel struct{ m *onnx.Model }

func (o onnxModel) Input() Input {
	c := o.m.Config()
	return Input{Size: c.InputSize, BGR: c.Channels == "bgr", Mean: c.Mean, Std: c.Std}
}
func (o onnxModel) Single18() bool                           { return o.m.Config().Heads == onnx.HeadsSingle18 }
func (o onnxModel) Predict(x []float32) (*pred.Probs, error) { return finite(o.m.Predict(x)) }
func (o onnxModel) Kind() string                             { return "onnx" }
func (o onnxModel) Close() error                             { return o.m.Close() }
