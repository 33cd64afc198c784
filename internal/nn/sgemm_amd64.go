//go:build !(openblas && cgo)

package nn

import "golang.org/x/sys/cpu"

// The micro-kernels of sgemm_amd64.s (see sgemmKernel).
//
//go:noescape
func sgemmKernel4x16(k int, a, b, c *float32, ldb, ldc int)

//go:noescape
func sgemmKernel8x32(k int, a, b, c *float32, ldb, ldc int)

// kernels are the micro-kernels this CPU runs, fastest first.
var kernels = func() []sgemmKernel {
	var ks []sgemmKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, sgemmKernel{"avx512", sgemmKernel8x32, 8, 32})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, sgemmKernel{"avx2", sgemmKernel4x16, 4, 16})
	}
	return ks
}()

// kern is the micro-kernel sgemm uses, with a nil f without AVX2 and FMA
// (set as a variable, not in init, so that other init functions see it).
var kern = func() sgemmKernel {
	if len(kernels) == 0 {
		return sgemmKernel{}
	}
	return kernels[0]
}()
