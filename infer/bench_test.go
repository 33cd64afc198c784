package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/boostershot/facet/internal/checkpoint"
	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/nn"
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
	cfg := nn.DefaultConfig()
	m, err := nn.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := checkpoint.Save(filepath.Join(dir, "best.safetensors"), cfg, m.Tensors(false), nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := run(context.Background(), []string{"--model", dir}, bytes.NewReader(in), io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ss))/b.Elapsed().Seconds(), "images/s")
}
