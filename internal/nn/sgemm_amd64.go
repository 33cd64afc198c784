//go:build !(openblas && cgo)

package nn

import "golang.org/x/sys/cpu"

// sgemmKernel4x16 adds A * B to the 4 x 16 tile of C at c (rows ldc
// apart), where a holds k columns of 4 values and b k rows of 16.
//
//go:noescape
func sgemmKernel4x16(k int, a, b, c *float32, ldc int)

// kernel is the micro-kernel sgemm uses, nil without AVX2 and FMA (set
// as a variable, not in init, so that other init functions see it).
var kernel = func() func(k int, a, b, c *float32, ldc int) {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return sgemmKernel4x16
	}
	return nil
}()
