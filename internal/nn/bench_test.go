package nn

import (
	"bytes"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
)

// randomBatch returns n random images of size s with random labels.
func randomBatch(n, s int, seed uint64) Batch {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := Batch{N: n, Images: make([]float32, n*3*s*s), Mask: make([]int8, n), Gender: make([]int8, n), Age: make([]int8, n)}
	for i := range b.Images {
		b.Images[i] = float32(rng.NormFloat64())
	}
	for i := 0; i < n; i++ {
		b.Mask[i] = int8(rng.IntN(NumMask))
		b.Gender[i] = int8(rng.IntN(NumGender))
		b.Age[i] = int8(rng.IntN(NumAge))
	}
	return b
}

// peakRSS returns the process's peak resident set (VmHWM) in MiB, or -1
// where /proc is not there.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if f := bytes.Fields(line); len(f) == 3 && string(f[0]) == "VmHWM:" {
			kb, err := strconv.ParseFloat(string(f[1]), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return -1
}

// BenchmarkStep measures training throughput: forward + backward + Adam
// on batches of 32 at the default input size (64 x 64, width 16). It
// reports images/s, the Go runtime's memory obtained from the system
// (MemStats.Sys, which the runtime keeps near its peak) and the
// process's peak resident set. "convop" is this package's convolution,
// "gorgonia-conv" gorgonia's Conv2d in the same model.
func BenchmarkStep(b *testing.B) {
	for _, v := range []struct {
		name  string
		stock bool
	}{{"convop", false}, {"gorgonia-conv", true}} {
		b.Run(v.name+"/blas="+BLAS, func(b *testing.B) {
			UseGorgoniaConv = v.stock
			defer func() { UseGorgoniaConv = false }()
			cfg := DefaultConfig()
			m, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			batch := randomBatch(32, cfg.InputSize, 1)
			if _, err := m.Step(batch); err != nil { // compile the graph outside the timing
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Step(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch.N)/b.Elapsed().Seconds(), "images/s")
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MiB")
			b.ReportMetric(peakRSS(), "peak-rss-MiB")
		})
	}
}

// BenchmarkPredict measures inference throughput at the default size.
func BenchmarkPredict(b *testing.B) {
	cfg := DefaultConfig()
	m, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	batch := randomBatch(256, cfg.InputSize, 1)
	if _, err := m.Predict(batch.Images[:3*64*64]); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Predict(batch.Images); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch.N)/b.Elapsed().Seconds(), "images/s")
}
