//go:build !(openblas && cgo)

package nn

import (
	"fmt"
	"sync"
)

// sgemm is a single-precision matrix multiply for the pure-Go build:
// packing in Go around an assembly micro-kernel (sgemm_amd64.s) that
// multiplies an m x kc panel of A by a kc x n panel of B into an m x n
// tile of C held in registers: 4 x 16 with AVX2 and FMA, 8 x 32 with
// AVX-512. gonum's Sgemm, the pure-Go alternative, runs the
// convolutions' products at about 10 GFLOP/s a core (4-wide SSE
// multiplies and adds, no FMA, C rows reloaded for every element of A);
// this runs them five to eight times faster. kern.f is nil where the CPU
// lacks AVX2 and FMA, and gonum's Sgemm is used.
//
// C (m x n) = alpha * op(A) * op(B) + beta * C, all row-major, op(X) = X
// or its transpose as tA and tB say.
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// the kernel writes C through a pointer: check its bounds here (A and
	// B are read through slices)
	if m < 0 || n < 0 || k < 0 || ldc < n || m > 0 && len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("nn: sgemm: C of %d values, ldc %d for %d x %d", len(c), ldc, m, n))
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		switch beta {
		case 1:
		case 0:
			clear(row)
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
	if k == 0 || alpha == 0 {
		return
	}
	kernel, mr, nr := kern.f, kern.m, kern.n
	panels := (n + nr - 1) / nr
	bufs := sgemmBufs.Get().(*sgemmBuf)
	defer sgemmBufs.Put(bufs)
	bp := grow(bufs.b, sgemmKC*panels*nr)
	ap := grow(bufs.a, sgemmKC*mr)
	bufs.a, bufs.b = ap, bp
	var tile [maxKernelM * maxKernelN]float32
	for p0 := 0; p0 < k; p0 += sgemmKC {
		kb := min(sgemmKC, k-p0)
		packB(tB, b, ldb, p0, kb, n, nr, panels, bp)
		for i0 := 0; i0 < m; i0 += mr {
			mb := min(mr, m-i0)
			packA(tA, a, lda, alpha, i0, mb, mr, p0, kb, ap)
			for j := range panels {
				j0 := j * nr
				nb := min(nr, n-j0)
				bj := bp[j*kb*nr:]
				if mb == mr && nb == nr {
					kernel(kb, &ap[0], &bj[0], &c[i0*ldc+j0], ldc)
					continue
				}
				// an edge tile: through a zeroed tile, then added to C
				clear(tile[:])
				kernel(kb, &ap[0], &bj[0], &tile[0], nr)
				for ii := range mb {
					cr := c[(i0+ii)*ldc+j0 : (i0+ii)*ldc+j0+nb]
					for jj := range cr {
						cr[jj] += tile[ii*nr+jj]
					}
				}
			}
		}
	}
}

const (
	maxKernelM, maxKernelN = 8, 32 // the largest kernel's tile
	sgemmKC                = 256   // rows of B a packed block: 16 or 32 KiB a panel, near L1
)

// sgemmKernel is a micro-kernel and the rows and columns of its tile:
// f adds A * B to the tile of C at c (rows ldc apart), where a holds k
// columns of m values and b k rows of n.
type sgemmKernel struct {
	name string
	f    func(k int, a, b, c *float32, ldc int)
	m, n int
}

type sgemmBuf struct{ a, b []float32 }

var sgemmBufs = sync.Pool{New: func() any { return new(sgemmBuf) }}

// packB lays rows p0 .. p0+kb-1 of op(B) out as panels of nr columns,
// each kb x nr row-major, the columns past n zero.
func packB(tB bool, b []float32, ldb, p0, kb, n, nr, panels int, bp []float32) {
	for j := range panels {
		j0 := j * nr
		nb := min(nr, n-j0)
		dst := bp[j*kb*nr : (j+1)*kb*nr]
		for l := range kb {
			d := dst[l*nr : (l+1)*nr]
			if tB {
				for jj := range nb {
					d[jj] = b[(j0+jj)*ldb+p0+l]
				}
			} else {
				copy(d[:nb], b[(p0+l)*ldb+j0:])
			}
			clear(d[nb:])
		}
	}
}

// packA lays rows i0 .. i0+mb-1, columns p0 .. p0+kb-1 of alpha * op(A)
// out column after column (kb x mr), the rows past mb zero.
func packA(tA bool, a []float32, lda int, alpha float32, i0, mb, mr, p0, kb int, ap []float32) {
	for l := range kb {
		d := ap[l*mr : (l+1)*mr]
		for ii := range mr {
			switch {
			case ii >= mb:
				d[ii] = 0
			case tA:
				d[ii] = alpha * a[(p0+l)*lda+i0+ii]
			default:
				d[ii] = alpha * a[(i0+ii)*lda+p0+l]
			}
		}
	}
}
