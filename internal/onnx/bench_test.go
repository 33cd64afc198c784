package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The benchmark's and TestTorchvision's models are torchvision nets with
// random weights and facet's three heads at 112 px, made by
// testdata/make_fixtures.py with Debian's torch (a ResNet-18 is 45 MB:
// too large to commit) into a cache folder that later runs reuse.
const (
	python    = "/usr/bin/python3"
	benchSize = 112
)

var benchDir = filepath.Join(os.TempDir(), "facet-onnx-bench")

var makeMu sync.Mutex

// torchvisionModel returns the path of arch's ONNX export, making it
// when it is missing, or skips tb when it cannot.
func torchvisionModel(tb testing.TB, arch string) string {
	tb.Helper()
	makeMu.Lock()
	defer makeMu.Unlock()
	path := filepath.Join(benchDir, arch+".onnx")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := exec.Command(python, "-c", "import torch, torchvision").Run(); err != nil {
		tb.Skipf("no %s.onnx in %s, and %s cannot import torch and torchvision (apt-get install python3-torch python3-torchvision) to make it: "+
			"run %s testdata/make_fixtures.py bench %s %s", arch, benchDir, python, python, benchDir, arch)
	}
	tb.Logf("exporting torchvision %s to %s", arch, benchDir)
	out, err := exec.Command(python, "testdata/make_fixtures.py", "bench", benchDir, arch).CombinedOutput()
	if err != nil {
		tb.Fatalf("make_fixtures.py bench: %v\n%s", err, out)
	}
	return path
}

// readFloats reads a raw little-endian float32 file.
func readFloats(tb testing.TB, path string) []float32 {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// TestTorchvision runs torchvision exports (at opset 13, dynamic batch)
// at batch sizes 1, 3 and 256 and compares the probabilities with
// PyTorch's. It takes a minute on two cores, so it runs only when
// FACET_ONNX_TORCHVISION names the architectures ("1" for resnet18 and
// mobilenet_v3_small), e.g.
//
//	FACET_ONNX_TORCHVISION=resnet18,efficientnet_b0 go test -run Torchvision -v ./internal/onnx
func TestTorchvision(t *testing.T) {
	env := os.Getenv("FACET_ONNX_TORCHVISION")
	if env == "" {
		t.Skip("set FACET_ONNX_TORCHVISION=1 (or a list of torchvision architectures) to run torchvision exports")
	}
	archs := strings.Split(env, ",")
	if env == "1" {
		archs = []string{"resnet18", "mobilenet_v3_small"}
	}
	for _, arch := range archs {
		t.Run(arch, func(t *testing.T) {
			path := torchvisionModel(t, arch)
			m, err := Load(path)
			if err != nil {
				t.Fatal(err) // e.g. OpenCV 4.6 cannot load a node
			}
			defer m.Close()
			t.Logf("one image at a time: %v", m.OneAtATime())
			for _, n := range []int{1, 3, 256} {
				x := readFloats(t, filepath.Join(benchDir, fmt.Sprintf("%s-%d.in", arch, n)))
				want := readFloats(t, filepath.Join(benchDir, fmt.Sprintf("%s-%d.probs", arch, n)))
				p, err := m.Predict(x)
				if err != nil {
					t.Fatalf("batch %d: %v", n, err)
				}
				var d float64
				for i := range n {
					pm, pg, pa, c18 := p.Row(i)
					row := append(append(append(append([]float32{}, pm...), pg...), pa...), c18...)
					for j, v := range row {
						d = max(d, math.Abs(float64(v)-float64(want[i*len(row)+j])))
					}
				}
				t.Logf("batch %d: max abs difference of probabilities from PyTorch %.2g", n, d)
				if d > 1e-4 {
					t.Errorf("batch %d: probabilities differ from PyTorch's by %g", n, d)
				}
			}
		})
	}
}

// BenchmarkForward runs a ResNet-18 (three heads, 112 px) on batches of
// 256 and 64 images: Predict (the wrapper: OpenCV's setInput and forward,
// softmax, pred.Probs) against OpenCV's forward pass alone (setInput and
// forward, no outputs read), so the wrapper's overhead shows as the ratio
// of their images/s.
//
//	go test -run - -bench Forward -benchtime 5x ./internal/onnx
func BenchmarkForward(b *testing.B) {
	path := torchvisionModel(b, "resnet18")
	m, err := Load(path)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	b.Logf("OpenCV threads: %d", NumThreads())
	for _, n := range []int{256, 64} {
		x := inputs(n, benchSize)
		b.Run(fmt.Sprintf("batch=%d/opencv", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := m.forwardPass(x, n); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
		b.Run(fmt.Sprintf("batch=%d/predict", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Predict(x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
