package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/model"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/nntest"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/testdata"
	"github.com/boostershot/facet/internal/work"
)

// realFaces returns a table of the UTKFace face crops of the test data.
func realFaces(b *testing.B) ([]table.Sample, []byte) {
	files, err := filepath.Glob(filepath.Join(testdata.Dir(b), "faces", "utkface", "*.jpg"))
	if err != nil || len(files) == 0 {
		b.Skipf("no UTKFace crops under the test data (%v)", err)
	}
	files = files[:min(len(files), 1000)]
	var ss []table.Sample
	for _, f := range files {
		ss = append(ss, table.NewSample(filepath.Base(f), f, filepath.Base(f), "utkface", "eval"))
	}
	return ss, tableOf(b, ss, len(ss))
}

// BenchmarkDecodeFloor decodes and resizes the images alone, on all
// cores: the floor facet-infer's throughput is measured against.
func BenchmarkDecodeFloor(b *testing.B) {
	ss, _ := realFaces(b)
	size := nn.DefaultConfig().InputSize
	b.ResetTimer()
	for range b.N {
		if err := work.Each(context.Background(), len(ss), runtime.NumCPU(), func(_, i int) {
			if _, err := cvimage.Load(ss[i].Path, size); err != nil {
				b.Error(err)
			}
		}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ss))/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkInfer is facet-infer end to end (read the table, decode,
// predict with the default model, write the table) on real face crops.
func BenchmarkInfer(b *testing.B) {
	ss, in := realFaces(b)
	dir, _ := nntest.Dir(b, nn.DefaultConfig())
	b.ResetTimer()
	for range b.N {
		if err := run(context.Background(), []string{"--model", dir}, bytes.NewReader(in), io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ss))/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkInferONNX runs an exported torchvision ResNet-18 with facet's
// three heads at 112 px (random weights; made by
// internal/onnx/testdata/make_fixtures.py with Debian's torch, or skipped)
// on 512 real face crops, two ways in each round: OpenCV's forward pass
// alone on the same batches, already decoded (forward-images/s), and
// facet-infer end to end: read the table, decode and resize on all cores
// while the previous chunk is predicted, predict, write (images/s). ratio
// is end to end over forward alone (target >= 0.8).
//
//	go test ./infer -run '^$' -bench InferONNX -benchtime 2x
func BenchmarkInferONNX(b *testing.B) {
	ss, _ := realFaces(b)
	ss = ss[:min(len(ss), 512)]
	in := tableOf(b, ss, len(ss))
	const arch, size = "resnet18", 112
	dir := filepath.Join(os.TempDir(), "facet-onnx-bench")
	path := filepath.Join(dir, arch+".onnx")
	if _, err := os.Stat(path); err != nil {
		if err := exec.Command("/usr/bin/python3", "-c", "import torch, torchvision").Run(); err != nil {
			b.Skipf("no %s and no torch to make it (make test-deps)", path)
		}
		if out, err := exec.Command("/usr/bin/python3", "../internal/onnx/testdata/make_fixtures.py", "bench", dir, arch).CombinedOutput(); err != nil {
			b.Fatalf("make_fixtures.py: %v\n%s", err, out)
		}
	}
	m, err := model.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	if m.Input().Size != size {
		b.Fatalf("%s takes %d px, want %d", path, m.Input().Size, size)
	}
	// The forward pass alone: the same images, decoded beforehand, in
	// facet-infer's chunks.
	const chunk = 256
	per := m.Input().Len()
	x := make([]float32, len(ss)*per)
	for i, s := range ss {
		img, err := cvimage.Load(s.Path, size)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Input().Tensor(img, x[i*per:(i+1)*per]); err != nil {
			b.Fatal(err)
		}
	}
	var forward, whole time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		for lo := 0; lo < len(ss); lo += chunk {
			if _, err := m.Predict(x[lo*per : min(lo+chunk, len(ss))*per]); err != nil {
				b.Fatal(err)
			}
		}
		forward += time.Since(start)
		start = time.Now()
		if err := run(context.Background(), []string{"--model", path, "--chunk", fmt.Sprint(chunk)}, bytes.NewReader(in), io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
		whole += time.Since(start)
	}
	n := float64(b.N * len(ss))
	b.ReportMetric(n/forward.Seconds(), "forward-images/s")
	b.ReportMetric(n/whole.Seconds(), "images/s")
	b.ReportMetric(forward.Seconds()/whole.Seconds(), "ratio")
}
