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
// this runs them five to ten times faster (BenchmarkSgemm). kern.f is
// nil where the CPU lacks AVX2 and FMA, and gonum's Sgemm is used.
//
// C (m x n) = alpha * op(A) * op(B) + beta * C, all row-major, op(X) = X
// or its transpose as tA and tB say.
func sgemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	// the kernel writes C and reads an untransposed B through pointers:
	// check their bounds here (A and B^T are read through slices)
	if m < 0 || n < 0 || k < 0 || ldc < n || m > 0 && len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("nn: sgemm: C of %d values, ldc %d for %d x %d", len(c), ldc, m, n))
	}
	if !tB && k > 0 && n > 0 && (ldb < n || len(b) < (k-1)*ldb+n) {
		panic(fmt.Sprintf("nn: sgemm: B of %d values, ldb %d for %d x %d", len(b), ldb, k, n))
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
		// the kernel reads rows of B in place when they are contiguous
		// and whole; it reads B^T's columns and the last, partial panel
		// packed
		for j := range panels {
			if j0 := j * nr; tB || n-j0 < nr {
				packPanel(tB, b, ldb, p0, kb, j0, min(nr, n-j0), nr, bp[j*kb*nr:(j+1)*kb*nr])
			}
		}
		for i0 := 0; i0 < m; i0 += mr {
			mb := min(mr, m-i0)
			packA(tA, a, lda, alpha, i0, mb, mr, p0, kb, ap)
			for j := range panels {
				j0 := j * nr
				nb := min(nr, n-j0)
				bj, ld := &bp[j*kb*nr], nr
				if !tB && nb == nr {
					bj, ld = &b[p0*ldb+j0], ldb
				}
				if mb == mr && nb == nr {
					kernel(kb, &ap[0], bj, &c[i0*ldc+j0], ld, ldc)
					continue
				}
				// an edge tile: through a zeroed tile, then added to C
				clear(tile[:])
				kernel(kb, &ap[0], bj, &tile[0], ld, nr)
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
// columns of m values and b k rows of n values, ldb apart.
type sgemmKernel struct {
	name string
	f    func(k int, a, b, c *float32, ldb, ldc int)
	m, n int
}

type sgemmBuf struct{ a, b []float32 }

var sgemmBufs = sync.Pool{New: func() any { return new(sgemmBuf) }}

// packPanel lays rows p0 .. p0+kb-1, columns j0 .. j0+nb-1 of op(B)
// out kb x nr, row-major, in dst, the columns past nb zero.
func packPanel(tB bool, b []float32, ldb, p0, kb, j0, nb, nr int, dst []float32) {
	if nb < nr {
		clear(dst)
	}
	if tB { // reading along b's rows, eight columns of the panel at a time
		row := func(jj int) []float32 { return b[(j0+jj)*ldb+p0 : (j0+jj)*ldb+p0+kb] }
		jj := 0
		for ; jj+8 <= nb; jj += 8 {
			s0, s1, s2, s3 := row(jj), row(jj+1), row(jj+2), row(jj+3)
			s4, s5, s6, s7 := row(jj+4), row(jj+5), row(jj+6), row(jj+7)
			for l, v := range s0 {
				d := dst[l*nr+jj : l*nr+jj+8]
				d[0], d[1], d[2], d[3] = v, s1[l], s2[l], s3[l]
				d[4], d[5], d[6], d[7] = s4[l], s5[l], s6[l], s7[l]
			}
		}
		for ; jj < nb; jj++ {
			for l, v := range row(jj) {
				dst[l*nr+jj] = v
			}
		}
		return
	}
	for l := range kb {
		copy(dst[l*nr:l*nr+nb], b[(p0+l)*ldb+j0:])
	}
}

// packA lays rows i0 .. i0+mb-1, columns p0 .. p0+kb-1 of alpha * op(A)
// out column after column (kb x mr), the rows past mb zero.
func packA(tA bool, a []float32, lda int, alpha float32, i0, mb, mr, p0, kb int, ap []float32) {
	ap = ap[:kb*mr]
	if mb < mr {
		clear(ap)
	}
	if tA { // a column of op(A) is part of a row of a
		for l := range kb {
			copy(ap[l*mr:l*mr+mb], a[(p0+l)*lda+i0:])
		}
	} else {
		for ii := range mb {
			src := a[(i0+ii)*lda+p0 : (i0+ii)*lda+p0+kb]
			for l, v := range src {
				ap[l*mr+ii] = v
			}
		}
	}
	if alpha != 1 {
		for i := range ap {
			ap[i] *= alpha
		}
	}
}
