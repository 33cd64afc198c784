//go:build !(openblas && cgo)

package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// useKernel makes sgemm use k until the test ends.
func useKernel(tb testing.TB, k sgemmKernel) {
	old := kern
	kern = k
	tb.Cleanup(func() { kern = old })
}

// TestSgemmMatchesGonum checks sgemm with every micro-kernel this CPU
// runs against gonum's Sgemm on sizes around the kernels' tiles and the
// 256-row packing block, every transposition, strided operands, and
// alpha and beta other than 0 and 1.
func TestSgemmMatchesGonum(t *testing.T) {
	if len(kernels) == 0 {
		t.Skip("no sgemm micro-kernel on this CPU (needs amd64 with AVX2 and FMA)")
	}
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			useKernel(t, k)
			testSgemm(t)
		})
	}
}

func testSgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	for _, c := range []struct {
		m, n, k       int
		tA, tB        bool
		alpha, beta   float32
		padA, padB, p int // extra row length of a, b and c
	}{
		{4, 16, 1, false, false, 1, 0, 0, 0, 0},
		{8, 64, 20, false, false, 1, 0, 0, 0, 0},
		{16, 96, 40, true, true, 1, 0, 0, 0, 0},
		{13, 70, 30, false, true, 1, 0, 0, 0, 0},
		{16, 1024, 144, false, false, 1, 0, 0, 0, 0},
		{144, 64, 32, true, false, 1, 0, 0, 0, 0},
		{32, 288, 256, false, true, 1, 1, 0, 0, 0},
		{5, 17, 300, false, false, 0.5, 0, 3, 2, 1},
		{7, 33, 513, true, true, -1.5, 0.25, 1, 4, 5},
		{3, 5, 2, false, true, 2, 1, 0, 0, 0},
		{1, 1, 1, true, false, 1, 0, 0, 0, 0},
		{9, 40, 0, false, false, 1, 0.5, 0, 0, 0},
	} {
		ar, ac := c.m, c.k
		if c.tA {
			ar, ac = c.k, c.m
		}
		br, bc := c.k, c.n
		if c.tB {
			br, bc = c.n, c.k
		}
		lda, ldb, ldc := max(1, ac+c.padA), max(1, bc+c.padB), c.n+c.p
		a, b, c0 := rnd(max(1, ar*lda)), rnd(max(1, br*ldb)), rnd(c.m*ldc)
		tr := func(t bool) blas.Transpose {
			if t {
				return blas.Trans
			}
			return blas.NoTrans
		}
		want := append([]float32(nil), c0...)
		gonum.Implementation{}.Sgemm(tr(c.tA), tr(c.tB), c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, want, ldc)
		got := append([]float32(nil), c0...)
		sgemm(c.tA, c.tB, c.m, c.n, c.k, c.alpha, a, lda, b, ldb, c.beta, got, ldc)
		name := fmt.Sprintf("%+v", c)
		for i := range want {
			if math.Abs(float64(want[i]-got[i])) > 1e-4*(1+math.Abs(float64(want[i]))*math.Sqrt(float64(c.k))) {
				t.Fatalf("%s: c[%d] = %v, gonum gives %v", name, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkSgemm compares sgemm (with each micro-kernel) with gonum's Sgemm on a product of the
// first stage's convolution (16 x 144 filters by a 144 x 1024 im2col
// matrix), in GFLOP/s.
func BenchmarkSgemm(b *testing.B) {
	const m, n, k = 16, 1024, 144
	a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for i := range a {
		a[i] = float32(i%7) - 3
	}
	for i := range bb {
		bb[i] = float32(i%5) - 2
	}
	gflops := func(b *testing.B) {
		b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	b.Run("gonum", func(b *testing.B) {
		for b.Loop() {
			gonum.Implementation{}.Sgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, bb, n, 0, c, n)
		}
		gflops(b)
	})
	for _, kn := range kernels {
		b.Run(kn.name, func(b *testing.B) {
			useKernel(b, kn)
			for b.Loop() {
				sgemm(false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
			}
			gflops(b)
		})
	}
}

// TestSgemmShortOperands checks that sgemm refuses a C or B too short
// for their sizes rather than let the kernel write or read past them.
func TestSgemmShortOperands(t *testing.T) {
	panics := func(name string, f func()) {
		defer func() {
			if recover() == nil {
				t.Error(name)
			}
		}()
		f()
	}
	a, b := make([]float32, 4*8), make([]float32, 8*16)
	panics("sgemm wrote a 4 x 16 product into 63 values", func() {
		sgemm(false, false, 4, 16, 8, 1, a, 8, b, 16, 0, make([]float32, 63), 16)
	})
	panics("sgemm read an 8 x 16 B from 127 values", func() {
		sgemm(false, false, 4, 16, 8, 1, a, 8, b[:127], 16, 0, make([]float32, 64), 16)
	})
}
