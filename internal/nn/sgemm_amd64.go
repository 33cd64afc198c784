//go:build !(openblas && cgo)

package nn

import "golang.org/x/sys/cpu"

// sgemmKernel4x16 adds A * B to the 4 x 16 tile of C at c (rows ldc
// apart), where a holds k columns of 4 values and b k rows of 16.
//
//go:noescape
func sgemmKernel4x16(k int, a, b, c *float32, ldc int)

// sgemmKernel4x32 is sgemmKernel4x16 with AVX-512 and b's rows 32 wide.
//
//go:noescape
func sgemmKernel4x32(k int, a, b, c *float32, ldc int)

// kernels are the micro-kernels this CPU runs, fastest first.
var kernels = func() []sgemmKernel {
	var ks []sgemmKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, sgemmKernel{"avx512", sgemmKernel4x32, 32})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, sgemmKernel{"avx2", sgemmKernel4x16, 16})
	}
	return ks
}()

// kernel is the micro-kernel sgemm uses, kernelN columns wide, nil
// without AVX2 and FMA (set as variables, not in init, so that other init
// functions see them).
var kernel, kernelN, kernelName = func() (func(k int, a, b, c *float32, ldc int), int, string) {
	if len(kernels) == 0 {
		return nil, 0, ""
	}
	return kernels[0].f, kernels[0].n, kernels[0].name
}()
