package nn

import (
	"fmt"
	"hash"
	"hash/fnv"
	"runtime"
	"sync"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convOp is a 2-D convolution without bias (square kernel k, stride s,
// zero padding p) on float32 NCHW tensors: inputs x (N, C, H, W) and
// w (O, C, k, k), output (N, O, Ho, Wo).
//
// gorgonia's Conv2d builds im2col over the whole batch, one matrix
// multiply with the batch folded into the rows, a reshape and a
// transpose back to NCHW; each step allocates a batch-sized tensor and
// the transpose walks it with a generic iterator. This op instead works
// sample by sample, the way Caffe does: im2col of one image into a
// reused (C*k*k, Ho*Wo) buffer and y_n = W * col, which is NCHW already
// (on small feature maps a block of samples side by side, whose product
// is then copied out to NCHW). Samples are spread over GOMAXPROCS
// goroutines. The backward pass is
// two ops of the same kind: dW = sum_n dy_n * col_n^T and
// dx_n = col2im(W^T * dy_n). Matrix multiplies go through gorgonia's
// BLAS (this package's sgemm by default, OpenBLAS with -tags openblas).
//
// The op's outputs and scratch space live in its convState and are
// reused from step to step. In a training graph (cache set) the forward
// pass keeps every sample's im2col matrix for the weight gradient,
// which then needs no second im2col.
type convOp struct {
	k, s, p int
	st      *convState
}

// convState is what a convOp shares with its backward ops.
type convState struct {
	cache     bool
	y, dx, dw buffer
	cols      []float32   // the forward pass's im2col matrices, block after block (cache)
	colsBlk   int         // the samples a block of cols
	scratch   [][]float32 // one im2col matrix per worker
	acc       [][]float32 // one weight gradient per worker
}

func newConvOp(k, s, p int, cache bool) convOp {
	return convOp{k: k, s: s, p: p, st: &convState{cache: cache}}
}

// grow returns buf resized to n values, reusing its storage when it is
// large enough. The contents are not cleared.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// workerBufs returns w buffers of n values each from bufs, reusing them.
func workerBufs(bufs *[][]float32, w, n int) [][]float32 {
	for len(*bufs) < w {
		*bufs = append(*bufs, nil)
	}
	for i := range w {
		(*bufs)[i] = grow((*bufs)[i], n)
	}
	return (*bufs)[:w]
}

var (
	_ G.Op              = convOp{}
	_ G.SDOp            = convOp{}
	_ G.UsePreallocDoer = convOp{}
)

func (op convOp) outHW(h, w int) (int, int) {
	return (h+2*op.p-op.k)/op.s + 1, (w+2*op.p-op.k)/op.s + 1
}

func tensor4() hm.Type { return G.TensorType{Dims: 4, Of: tensor.Float32} }

func (op convOp) Arity() int        { return 2 }
func (op convOp) Type() hm.Type     { return hm.NewFnType(tensor4(), tensor4(), tensor4()) }
func (op convOp) ReturnsPtr() bool  { return false }
func (op convOp) CallsExtern() bool { return false }
func (op convOp) OverwritesInput() int {
	return -1
}
func (op convOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "facet.conv{%d,%d,%d,%p}", op.k, op.s, op.p, op.st)
}
func (op convOp) Hashcode() uint32 { return hashOf(op) }
func (op convOp) String() string   { return fmt.Sprintf("Conv{k=%d,s=%d,p=%d}", op.k, op.s, op.p) }

func hashOf(op G.Op) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func shapes(in []G.DimSizer) ([]tensor.Shape, error) {
	out := make([]tensor.Shape, len(in))
	for i, d := range in {
		s, ok := d.(tensor.Shape)
		if !ok || s.Dims() != 4 {
			return nil, fmt.Errorf("conv: input %d: want a 4-D shape, got %v", i, d)
		}
		out[i] = s
	}
	return out, nil
}

func (op convOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapes(in)
	if err != nil {
		return nil, err
	}
	x, w := s[0], s[1]
	if x[1] != w[1] || w[2] != op.k || w[3] != op.k {
		return nil, fmt.Errorf("conv: input %v and filter %v do not fit a %dx%d kernel", x, w, op.k, op.k)
	}
	ho, wo := op.outHW(x[2], x[3])
	if ho < 1 || wo < 1 {
		return nil, fmt.Errorf("conv: input %v too small", x)
	}
	return tensor.Shape{x[0], w[0], ho, wo}, nil
}

func (op convOp) Do(in ...G.Value) (G.Value, error) {
	s, err := op.InferShape(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, err
	}
	return op.UsePreallocDo(op.st.y.get(s), in...)
}

func (op convOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	x, w, y := f32(in[0]), f32(in[1]), f32(out)
	g := op.geom(in[0].Shape(), in[1].Shape())
	if op.st.cache {
		op.st.cols = grow(op.st.cols, g.n*g.colSize())
		op.st.colsBlk = g.blk
	}
	op.eachBlock(g, func(_, n0, nb int, col, tmp []float32) {
		if op.st.cache {
			col = op.st.cols[n0*g.colSize() : (n0+nb)*g.colSize()]
		}
		c := g.im2colBlock(x, col, n0, nb)
		if nb == 1 {
			G.WhichBLAS().Sgemm(blas.NoTrans, blas.NoTrans, g.o, g.hw, g.ckk, 1, w, g.ckk, c, g.hw, 0, y[n0*g.outSize():(n0+1)*g.outSize()], g.hw)
			return
		}
		G.WhichBLAS().Sgemm(blas.NoTrans, blas.NoTrans, g.o, nb*g.hw, g.ckk, 1, w, g.ckk, c, nb*g.hw, 0, tmp, nb*g.hw)
		g.scatter(tmp, y, n0, nb)
	})
	return out, nil
}

func (op convOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op convOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	dx, err := G.ApplyOp(convDxOp{op, x.Shape().Clone()}, w, grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(convDwOp{op, w.Shape().Clone()}, x, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw}, nil
}

// convDxOp computes dx from (w, dy).
type convDxOp struct {
	convOp
	xShape tensor.Shape
}

func (op convDxOp) Arity() int    { return 2 }
func (op convDxOp) Type() hm.Type { return hm.NewFnType(tensor4(), tensor4(), tensor4()) }
func (op convDxOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "facet.convdx{%d,%d,%d,%v,%p}", op.k, op.s, op.p, op.xShape, op.st)
}
func (op convDxOp) Hashcode() uint32 { return hashOf(op) }
func (op convDxOp) String() string   { return "ConvDx" + op.convOp.String()[4:] }
func (op convDxOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.xShape.Clone(), nil
}
func (op convDxOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(op.st.dx.get(op.xShape), in...)
}
func (op convDxOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	w, dy, dx := f32(in[0]), f32(in[1]), f32(out)
	g := op.geom(op.xShape, in[0].Shape())
	op.eachBlock(g, func(_, n0, nb int, col, tmp []float32) {
		if g.direct() { // one sample a block
			G.WhichBLAS().Sgemm(blas.Trans, blas.NoTrans, g.ckk, g.hw, g.o, 1, w, g.ckk, dy[n0*g.outSize():(n0+1)*g.outSize()], g.hw, 0, dx[n0*g.inSize():(n0+1)*g.inSize()], g.hw)
			return
		}
		dyb := g.gather(dy, tmp, n0, nb)
		ld := nb * g.hw
		G.WhichBLAS().Sgemm(blas.Trans, blas.NoTrans, g.ckk, ld, g.o, 1, w, g.ckk, dyb, ld, 0, col, ld)
		for j := range nb {
			n := n0 + j
			g.col2im(col, ld, j*g.hw, dx[n*g.inSize():(n+1)*g.inSize()])
		}
	})
	return out, nil
}

// convDwOp computes dw from (x, dy).
type convDwOp struct {
	convOp
	wShape tensor.Shape
}

func (op convDwOp) Arity() int    { return 2 }
func (op convDwOp) Type() hm.Type { return hm.NewFnType(tensor4(), tensor4(), tensor4()) }
func (op convDwOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "facet.convdw{%d,%d,%d,%v,%p}", op.k, op.s, op.p, op.wShape, op.st)
}
func (op convDwOp) Hashcode() uint32 { return hashOf(op) }
func (op convDwOp) String() string   { return "ConvDw" + op.convOp.String()[4:] }
func (op convDwOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return op.wShape.Clone(), nil
}
func (op convDwOp) Do(in ...G.Value) (G.Value, error) {
	return op.UsePreallocDo(op.st.dw.get(op.wShape), in...)
}
func (op convDwOp) UsePreallocDo(out G.Value, in ...G.Value) (G.Value, error) {
	x, dy, dw := f32(in[0]), f32(in[1]), f32(out)
	g := op.geom(in[0].Shape(), op.wShape)
	workers := g.workers()
	acc := workerBufs(&op.st.acc, workers, len(dw))
	for _, a := range acc {
		clear(a)
	}
	// the forward pass's im2col matrices, if it laid them out in blocks
	// of the same size
	cached := op.st.cache && op.st.colsBlk == g.blk && len(op.st.cols) == g.n*g.colSize() && !g.direct()
	op.eachBlock(g, func(wk, n0, nb int, col, tmp []float32) {
		var c []float32
		if cached {
			c = op.st.cols[n0*g.colSize() : (n0+nb)*g.colSize()]
		} else {
			c = g.im2colBlock(x, col, n0, nb)
		}
		dyb := g.gather(dy, tmp, n0, nb)
		ld := nb * g.hw
		G.WhichBLAS().Sgemm(blas.NoTrans, blas.Trans, g.o, g.ckk, ld, 1, dyb, ld, c, ld, 1, acc[wk], g.ckk)
	})
	copy(dw, acc[0])
	for _, a := range acc[1:] {
		for i, v := range a {
			dw[i] += v
		}
	}
	return out, nil
}

func f32(v G.Value) []float32 { return v.Data().([]float32) }

// eachBlock calls f for every block of g.blk samples (the last may be
// smaller) on GOMAXPROCS goroutines; block i goes to worker wk = i mod
// workers, so what a worker sums does not depend on scheduling. Each
// worker has its own scratch: col for a block's im2col matrix and tmp
// for a block's output or gradient laid out as one matrix.
func (op convOp) eachBlock(g convGeom, f func(wk, n0, nb int, col, tmp []float32)) {
	workers := g.workers()
	cs, ts := g.blk*g.colSize(), g.blk*g.outSize()
	scratch := workerBufs(&op.st.scratch, workers, cs+ts)
	blocks := (g.n + g.blk - 1) / g.blk
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := wk; b < blocks; b += workers {
				n0 := b * g.blk
				f(wk, n0, min(g.blk, g.n-n0), scratch[wk][:cs], scratch[wk][cs:])
			}
		}()
	}
	wg.Wait()
}

// convGeom holds the sizes of one convolution.
type convGeom struct {
	convOp
	n, c, h, w, o, ho, wo, hw, ckk int
	blk                            int // samples a matrix multiply
}

// minBlockCols is the fewest output pixels a matrix multiply should
// have: OpenBLAS runs at about half speed on the 16-column (4 x 4)
// products of the last stage and about 1.9 times faster on 128 columns.
const minBlockCols = 256

func (op convOp) geom(x, w tensor.Shape) convGeom {
	ho, wo := op.outHW(x[2], x[3])
	g := convGeom{convOp: op, n: x[0], c: x[1], h: x[2], w: x[3], o: w[0], ho: ho, wo: wo, hw: ho * wo, ckk: x[1] * op.k * op.k}
	// small feature maps: several samples side by side in one product,
	// as long as every worker still gets a block
	g.blk = 1
	if !g.direct() {
		g.blk = max(1, min(minBlockCols/g.hw, g.n/min(runtime.GOMAXPROCS(0), g.n)))
	}
	return g
}

func (g convGeom) workers() int { return min(runtime.GOMAXPROCS(0), (g.n+g.blk-1)/g.blk) }

// im2colBlock lays samples n0 .. n0+nb-1 of x out side by side as one
// (C*k*k, nb*Ho*Wo) matrix in col and returns it; a direct convolution
// (one sample a block) returns the sample itself.
func (g convGeom) im2colBlock(x, col []float32, n0, nb int) []float32 {
	if g.direct() {
		return x[n0*g.inSize() : (n0+1)*g.inSize()]
	}
	for j := range nb {
		n := n0 + j
		g.im2col(x[n*g.inSize():(n+1)*g.inSize()], col, nb*g.hw, j*g.hw)
	}
	return col
}

// scatter copies a block's output, one (O, nb*Ho*Wo) matrix, to samples
// n0 .. n0+nb-1 of y (N, O, Ho, Wo).
func (g convGeom) scatter(blk, y []float32, n0, nb int) {
	ld := nb * g.hw
	for j := range nb {
		yn := y[(n0+j)*g.outSize():]
		for o := 0; o < g.o; o++ {
			copy(yn[o*g.hw:(o+1)*g.hw], blk[o*ld+j*g.hw:])
		}
	}
}

// gather is scatter's inverse: it lays samples n0 .. n0+nb-1 of dy out
// as one (O, nb*Ho*Wo) matrix in tmp and returns it, or returns the
// sample itself when the block has one.
func (g convGeom) gather(dy, tmp []float32, n0, nb int) []float32 {
	if nb == 1 {
		return dy[n0*g.outSize() : (n0+1)*g.outSize()]
	}
	ld := nb * g.hw
	for j := range nb {
		dn := dy[(n0+j)*g.outSize():]
		for o := 0; o < g.o; o++ {
			copy(tmp[o*ld+j*g.hw:o*ld+(j+1)*g.hw], dn[o*g.hw:])
		}
	}
	return tmp[:g.o*ld]
}

func (g convGeom) inSize() int  { return g.c * g.h * g.w }
func (g convGeom) outSize() int { return g.o * g.hw }
func (g convGeom) direct() bool { return g.k == 1 && g.s == 1 && g.p == 0 }
func (g convGeom) colSize() int {
	if g.direct() {
		return 0
	}
	return g.ckk * g.hw
}

// cols returns the range [lo, hi) of output columns ox whose input
// column ox*s - p + kj lies inside the image, and that input column for
// ox = 0 (which may be negative).
func (g convGeom) cols(kj int) (lo, hi, ix0 int) {
	ix0 = kj - g.p
	if ix0 < 0 {
		lo = (-ix0 + g.s - 1) / g.s
	}
	if last := g.w - 1 - ix0; last >= 0 {
		hi = min(g.wo, last/g.s+1)
	}
	return lo, max(hi, lo), ix0
}

// im2col lays one image (C, H, W) out as a (C*k*k, Ho*Wo) matrix in
// the columns from off of col, whose rows are ld apart.
func (g convGeom) im2col(x, col []float32, ld, off int) {
	if g.same() {
		g.im2colSame(x, col, ld, off)
		return
	}
	row := 0
	for c := 0; c < g.c; c++ {
		plane := x[c*g.h*g.w : (c+1)*g.h*g.w]
		for ki := 0; ki < g.k; ki++ {
			for kj := 0; kj < g.k; kj++ {
				dst := col[row*ld+off : row*ld+off+g.hw]
				row++
				lo, hi, ix0 := g.cols(kj)
				for oy := 0; oy < g.ho; oy++ {
					d := dst[oy*g.wo : (oy+1)*g.wo]
					iy := oy*g.s - g.p + ki
					if iy < 0 || iy >= g.h {
						clear(d)
						continue
					}
					src := plane[iy*g.w : (iy+1)*g.w]
					clear(d[:lo])
					clear(d[hi:])
					if lo == hi {
						continue
					}
					switch g.s {
					case 1:
						copy(d[lo:hi], src[lo+ix0:hi+ix0])
					case 2:
						sub := src[2*lo+ix0 : 2*(hi-1)+ix0+1]
						dd := d[lo:hi]
						for i := range dd {
							dd[i] = sub[2*i]
						}
					default:
						for ox := lo; ox < hi; ox++ {
							d[ox] = src[ox*g.s+ix0]
						}
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it sets x (C, H, W) to the sum of the
// col entries that im2col read from each pixel.
func (g convGeom) col2im(col []float32, ld, off int, x []float32) {
	if g.same() {
		g.col2imSame(col, ld, off, x)
		return
	}
	clear(x)
	row := 0
	for c := 0; c < g.c; c++ {
		plane := x[c*g.h*g.w : (c+1)*g.h*g.w]
		for ki := 0; ki < g.k; ki++ {
			for kj := 0; kj < g.k; kj++ {
				src := col[row*ld+off : row*ld+off+g.hw]
				row++
				lo, hi, ix0 := g.cols(kj)
				if lo == hi {
					continue
				}
				for oy := 0; oy < g.ho; oy++ {
					iy := oy*g.s - g.p + ki
					if iy < 0 || iy >= g.h {
						continue
					}
					s := src[oy*g.wo+lo : oy*g.wo+hi]
					dst := plane[iy*g.w : (iy+1)*g.w]
					switch g.s {
					case 1:
						d := dst[lo+ix0 : hi+ix0]
						d = d[:len(s)]
						for i, v := range s {
							d[i] += v
						}
					case 2:
						d := dst[2*lo+ix0 : 2*(hi-1)+ix0+1]
						for i, v := range s {
							d[2*i] += v
						}
					default:
						for i, v := range s {
							dst[(lo+i)*g.s+ix0] += v
						}
					}
				}
			}
		}
	}
}

// same reports a stride-1 convolution whose output has the input's size
// (3x3 with padding 1): im2col's row for kernel offset (ki, kj) is then
// the whole image shifted by (ki-p)*W + (kj-p) values, with the pixels
// that fall off the top and bottom and those that wrap around from the
// neighbouring row set to zero. One copy per row of col and a few
// stores per image row replace a copy per image row.
func (g convGeom) same() bool { return g.s == 1 && g.ho == g.h && g.wo == g.w && g.p < g.w }

// shift returns the offset of kernel position (ki, kj) and the range
// [lo, hi) of output pixels whose input pixel lies inside the image
// rows (the columns that wrap are handled apart).
func (g convGeom) shift(ki, kj int) (off, lo, hi int) {
	off = (ki-g.p)*g.w + (kj - g.p)
	return off, max(0, -off), min(g.hw, g.hw-off)
}

// sameRows calls f for every row of the image's im2col matrix (in the
// columns from at of col, rows ld apart) with the image plane it reads
// and the kernel column, offset and range of shift.
func (g convGeom) sameRows(x, col []float32, ld, at int, f func(plane, row []float32, kj, off, lo, hi int)) {
	hw := g.hw
	for c := 0; c < g.c; c++ {
		plane := x[c*hw : (c+1)*hw]
		for ki := 0; ki < g.k; ki++ {
			for kj := 0; kj < g.k; kj++ {
				r := (c*g.k+ki)*g.k + kj
				off, lo, hi := g.shift(ki, kj)
				f(plane, col[r*ld+at:r*ld+at+hw], kj, off, lo, hi)
			}
		}
	}
}

func (g convGeom) im2colSame(x, col []float32, ld, at int) {
	g.sameRows(x, col, ld, at, func(plane, dst []float32, kj, off, lo, hi int) {
		clear(dst[:lo])
		clear(dst[hi:])
		copy(dst[lo:hi], plane[lo+off:hi+off])
		g.clearWrapped(dst, kj)
	})
}

// clearWrapped zeroes the columns of an im2col row (kernel column kj)
// that read across the left or right edge of the image.
func (g convGeom) clearWrapped(dst []float32, kj int) {
	dx := kj - g.p
	first, last := 0, 0 // the columns to clear
	switch {
	case dx < 0:
		first, last = 0, -dx
	case dx > 0:
		first, last = g.w-dx, g.w
	}
	for j := first; j < last; j++ {
		for i := j; i < len(dst); i += g.w {
			dst[i] = 0
		}
	}
}

func (g convGeom) col2imSame(col []float32, ld, at int, x []float32) {
	clear(x)
	g.sameRows(x, col, ld, at, func(plane, src []float32, kj, off, lo, hi int) {
		g.clearWrapped(src, kj) // col is scratch: drop what im2col would have zeroed
		// gonum's Saxpy is SIMD assembly on amd64, where a Go loop adds
		// one value at a time
		gonum.Implementation{}.Saxpy(hi-lo, 1, src[lo:hi], 1, plane[lo+off:hi+off], 1)
	})
}
