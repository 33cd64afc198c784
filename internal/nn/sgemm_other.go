//go:build !amd64 && !(openblas && cgo)

package nn

// kernel is sgemm's micro-kernel: there is none outside amd64, and the
// pure-Go build multiplies with gonum's Sgemm.
var (
	kernel     func(k int, a, b, c *float32, ldc int)
	kernelN    int
	kernelName string
	kernels    []sgemmKernel
)
