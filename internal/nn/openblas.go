//go:build openblas && cgo

package nn

// Built with -tags openblas, gorgonia's (and gorgonia/tensor's) single
// precision matrix multiply goes to OpenBLAS (Debian's libopenblas-dev)
// instead of this package's sgemm (sgemm.go); everything else stays gonum's.

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
void openblas_set_num_threads(int);
*/
import "C"

import (
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
)

type openBLAS struct{ gonum.Implementation }

func trans(t blas.Transpose) C.enum_CBLAS_TRANSPOSE {
	if t == blas.NoTrans {
		return C.CblasNoTrans
	}
	return C.CblasTrans
}

// Sgemm computes c = alpha * op(a) * op(b) + beta * c in row-major order.
func (openBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || len(a) == 0 || len(b) == 0 {
		gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, trans(tA), trans(tB), C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(unsafe.Pointer(&a[0])), C.blasint(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.blasint(ldb), C.float(beta),
		(*C.float)(unsafe.Pointer(&c[0])), C.blasint(ldc))
}

// BLAS names the matrix multiply in use.
var BLAS = "openblas"

// init makes gorgonia use OpenBLAS, single-threaded: the convolution
// already runs one sample per core, and OpenBLAS's own threads would
// compete with Go's (they spin while waiting).
func init() {
	C.openblas_set_num_threads(1)
	G.Use(openBLAS{})
}
