package model

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/nntest"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	cases := []struct {
		name    string
		files   []string
		want    string // the file Resolve returns, relative to the folder
		wantErr string
	}{
		{"safetensors", []string{"best.safetensors", "best.json"}, "best.safetensors", ""},
		{"onnx", []string{"best.onnx", "best.json"}, "best.onnx", ""},
		{"both", []string{"best.onnx", "best.safetensors"}, "", "both"},
		{"empty", nil, "", "no best.safetensors or best.onnx"},
		{"fold models", []string{"fold0/best.onnx", "fold1/best.onnx"}, "", "facet-merge vote"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range c.files {
				touch(t, filepath.Join(dir, f))
			}
			got, err := Resolve(dir)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Resolve: %v, want an error saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != filepath.Join(dir, c.want) {
				t.Fatalf("Resolve = %q, %v; want %s", got, err, c.want)
			}
		})
	}
	if _, err := Resolve(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing path resolved")
	}
}

// A BGR input holds the same planes as an RGB one, B and R swapped, each
// normalised with its own statistics.
func TestTensorBGR(t *testing.T) {
	img := augment.NewImage(2, 2)
	for i := range img.Pix {
		img.Pix[i] = byte(17 * i)
	}
	mean, std := [3]float32{0.1, 0.2, 0.3}, [3]float32{0.5, 0.6, 0.7}
	rgb := make([]float32, 12)
	if err := (Input{Size: 2, Mean: mean, Std: std}).Tensor(img, rgb); err != nil {
		t.Fatal(err)
	}
	bgr := make([]float32, 12)
	in := Input{Size: 2, BGR: true, Mean: [3]float32{mean[2], mean[1], mean[0]}, Std: [3]float32{std[2], std[1], std[0]}}
	if err := in.Tensor(img, bgr); err != nil {
		t.Fatal(err)
	}
	for c := range 3 {
		for i := range 4 {
			if got, want := bgr[c*4+i], rgb[(2-c)*4+i]; got != want {
				t.Fatalf("plane %d value %d: %g, want %g", c, i, got, want)
			}
		}
	}
	if err := in.Tensor(augment.NewImage(3, 2), bgr); err == nil {
		t.Error("an image of the wrong size was accepted")
	}
}

// Open loads both kinds and says what they want as input.
func TestOpen(t *testing.T) {
	dir, _ := nntest.Dir(t, nntest.Tiny())
	onnxFile := filepath.Join("..", "onnx", "testdata", "three.onnx")
	for _, c := range []struct {
		path, kind string
		size       int
	}{{dir, "facet", 16}, {onnxFile, "onnx", 32}} {
		m, err := Open(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		in := m.Input()
		if m.Kind() != c.kind || in.Size != c.size || in.BGR || m.Single18() {
			t.Errorf("%s: kind %s input %+v single18 %v", c.path, m.Kind(), in, m.Single18())
		}
		p, err := m.Predict(make([]float32, 3*in.Len()))
		if err != nil || p.N != 3 {
			t.Errorf("%s: Predict: %v", c.path, err)
		}
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	}
	bad := filepath.Join(t.TempDir(), "model.bin")
	touch(t, bad)
	if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), ".onnx or .safetensors") {
		t.Errorf("Open of a .bin: %v", err)
	}
}

// A model whose outputs are not finite is refused when opened: weights of
// NaN by the checkpoint reader, finite weights that overflow to NaN on
// the probe image by Open itself.
func TestNonFiniteModelRefused(t *testing.T) {
	cfg := nntest.Tiny()
	for _, tc := range []struct {
		name string
		v    float32
		want string
	}{
		{"NaN weights", float32(math.NaN()), "not finite"},
		{"overflowing weights", 3e38, "model outputs are not finite"},
	} {
		m, err := nn.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			if strings.HasPrefix(p.Name, "head.") || strings.HasSuffix(p.Name, ".bias") {
				for i := range p.Data {
					p.Data[i] = tc.v
				}
			}
		}
		dir := t.TempDir()
		nntest.Save(t, dir, m)
		if got, err := Open(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			if got != nil {
				got.Close()
			}
			t.Errorf("%s: Open: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}
