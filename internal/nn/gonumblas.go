//go:build !(openblas && cgo)

package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
)

// BLAS names the matrix multiply in use: gonum's pure Go with this
// package's AVX2 or AVX-512 sgemm where the CPU has them (the pure-Go
// build), or OpenBLAS (built with -tags openblas).
var BLAS = "gonum"

// goBLAS is gonum's BLAS with sgemm for the single-precision multiply.
type goBLAS struct{ gonum.Implementation }

func (goBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func init() {
	if kern.f != nil {
		BLAS = "gonum+" + kern.name
		G.Use(goBLAS{})
	}
}
