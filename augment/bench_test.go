package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/testdata"
)

// benchImages are up to n real images matching pattern under the data dir.
func benchImages(b *testing.B, pattern string, n int) []string {
	files, err := filepath.Glob(filepath.Join(testdata.Dir(b), pattern))
	if err != nil || len(files) == 0 {
		b.Skipf("no images match %s", pattern)
	}
	return files[:min(n, len(files))]
}

// throughput runs work on every file with all cores and reports images/s.
func throughput(b *testing.B, files []string, work func(i int, path string)) {
	b.ReportAllocs()
	for b.Loop() {
		next := make(chan int)
		var wg sync.WaitGroup
		for range runtime.NumCPU() {
			wg.Go(func() {
				for i := range next {
					work(i, files[i])
				}
			})
		}
		for i := range files {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	b.ReportMetric(float64(len(files)*b.N)/b.Elapsed().Seconds(), "img/s")
}

// decodeAugmentEncode decodes each image, runs the ops of spec on it and
// encodes it again; with spec "" it runs no ops: the floor any
// augmentation pays.
func decodeAugmentEncode(b *testing.B, files []string, spec string) {
	var p augment.Pipeline
	if spec != "" {
		var err error
		if p, err = augment.Parse(spec); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	throughput(b, files, func(i int, path string) {
		img, err := cvimage.Load(path, 0)
		if err != nil {
			b.Error(err)
			return
		}
		img, _ = p.Apply(img, rand.New(rand.NewPCG(uint64(i), 1)))
		buf, err := cvimage.EncodeJPEG(img, 95)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(path)), buf, 0o644)
		}
		if err != nil {
			b.Error(err)
		}
	})
}

func BenchmarkCropsFloor(b *testing.B) {
	decodeAugmentEncode(b, benchImages(b, "faces/utkface/*.jpg", 400), "")
}
func BenchmarkCropsPipeline(b *testing.B) {
	decodeAugmentEncode(b, benchImages(b, "faces/utkface/*.jpg", 400), augment.DefaultSpec)
}
func BenchmarkPhotosFloor(b *testing.B) {
	decodeAugmentEncode(b, benchImages(b, "portraits/*.jpg", 200), "")
}
func BenchmarkPhotosPipeline(b *testing.B) {
	decodeAugmentEncode(b, benchImages(b, "portraits/*.jpg", 200), augment.DefaultSpec)
}
