//go:build !amd64 && !(openblas && cgo)

package nn

// There are no sgemm micro-kernels outside amd64: the pure-Go build
// multiplies with gonum's Sgemm.
var (
	kernels []sgemmKernel
	kern    sgemmKernel
)
