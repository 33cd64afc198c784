package nn

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// bnOp is batch normalisation over the channels of a float32 NCHW
// tensor, fused with what follows it in the network: optionally the
// residual sum and a ReLU, y = relu(BN(x) * gamma + beta + r). Inputs
// are x (N, C, H, W), gamma and beta (1, C, 1, 1) and, with res, r
// (N, C, H, W).
//
// gorgonia's BatchNorm + BroadcastHadamardProd + BroadcastAdd (+ Add +
// Rectify) makes five or more passes over the activation per direction,
// each allocating a batch-sized tensor, serially except for the
// normalisation itself, and clones its input twice. This op makes two
// passes forward (statistics, then the output) and two backward, with
// channels spread over GOMAXPROCS goroutines; its output and gradient
// buffers live in the op's state and are reused from step to step.
// Each channel is summed by one goroutine in a fixed order, so results
// do not depend on scheduling.
//
// In training mode the op normalises with the batch statistics and
// updates the running statistics in place (PyTorch's rule: running =
// (1 - momentum) * running + momentum * batch, the variance unbiased);
// in evaluation mode it normalises with the running statistics.
type bnOp struct {
	st        *bnState
	relu, res bool
}

// bnState is what a bnOp shares with its backward ops: the batch
// statistics of the last forward pass, the running statistics (the
// model's own storage), the parameter gradients and reused buffers.
type bnState struct {
	train             bool
	momentum, epsilon float64
	runMean, runVar   []float32

	mean, invStd   []float32 // of the last training forward pass
	dGamma, dBeta  *tensor.Dense
	y, dx, dz      buffer
	scale, shift   []float32
	sumDz, sumDzXc []float64
}

func newBNState(c int, train bool, momentum, epsilon float64, runMean, runVar []float32) *bnState {
	return &bnState{
		train: train, momentum: momentum, epsilon: epsilon, runMean: runMean, runVar: runVar,
		mean: make([]float32, c), invStd: make([]float32, c),
		scale: make([]float32, c), shift: make([]float32, c),
		sumDz: make([]float64, c), sumDzXc: make([]float64, c),
		dGamma: tensor.New(tensor.WithShape(1, c, 1, 1), tensor.Of(tensor.Float32)),
		dBeta:  tensor.New(tensor.WithShape(1, c, 1, 1), tensor.Of(tensor.Float32)),
	}
}

// buffer is an op's output tensor, allocated on first use and reused by
// every later call with the same shape. gorgonia's tape machine forgets
// its values on Reset and would otherwise allocate (and the garbage
// collector clear) every activation and gradient of every step.
type buffer struct{ t *tensor.Dense }

func (b *buffer) get(shape tensor.Shape) *tensor.Dense {
	if b.t == nil || !b.t.Shape().Eq(shape) {
		b.t = tensor.New(tensor.WithShape(shape.Clone()...), tensor.Of(tensor.Float32))
	}
	return b.t
}

var (
	_ G.Op   = bnOp{}
	_ G.SDOp = bnOp{}
)

func (op bnOp) Arity() int {
	if op.res {
		return 4
	}
	return 3
}

func (op bnOp) Type() hm.Type { return tensorFn(op.Arity()) }

// tensorFn is the type of an op from arity 4-D float32 tensors to one.
func tensorFn(arity int) hm.Type {
	ts := make([]hm.Type, arity+1)
	for i := range ts {
		ts[i] = tensor4()
	}
	return hm.NewFnType(ts...)
}

func (op bnOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapes(in)
	if err != nil {
		return nil, err
	}
	x := s[0]
	for i, p := range s[1:3] {
		if !p.Eq(tensor.Shape{1, x[1], 1, 1}) {
			return nil, fmt.Errorf("bn: input %v, parameter %d of shape %v", x, i+1, p)
		}
	}
	if op.res && !s[3].Eq(x) {
		return nil, fmt.Errorf("bn: input %v, residual %v", x, s[3])
	}
	return x.Clone(), nil
}

func (op bnOp) ReturnsPtr() bool      { return false }
func (op bnOp) CallsExtern() bool     { return false }
func (op bnOp) OverwritesInput() int  { return -1 }
func (op bnOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "facet.bn{%p,%t,%t}", op.st, op.relu, op.res) }
func (op bnOp) Hashcode() uint32      { return hashOf(op) }
func (op bnOp) String() string        { return fmt.Sprintf("BN{relu=%t,res=%t}", op.relu, op.res) }

// nchw returns the batch size, channels and plane size of a 4-D shape.
func nchw(s tensor.Shape) (n, c, hw int) { return s[0], s[1], s[2] * s[3] }

// plane returns channel c of sample i of an NCHW slice.
func plane(v []float32, i, c, ch, hw int) []float32 {
	o := (i*ch + c) * hw
	return v[o : o+hw : o+hw]
}

func (op bnOp) Do(in ...G.Value) (G.Value, error) {
	ds := make([]G.DimSizer, len(in))
	for i, v := range in {
		ds[i] = v.Shape()
	}
	if _, err := op.InferShape(ds...); err != nil {
		return nil, err
	}
	st := op.st
	out := st.y.get(in[0].Shape())
	x, gamma, beta, y := f32(in[0]), f32(in[1]), f32(in[2]), f32(out)
	var r []float32
	if op.res {
		r = f32(in[3])
	}
	n, ch, hw := nchw(in[0].Shape())
	cnt := float64(n * hw)
	parallel(ch, func(c int) {
		var mean, invStd float64
		if st.train {
			var s float64
			for i := range n {
				s += float64(sum32(plane(x, i, c, ch, hw)))
			}
			mean = s / cnt
			var ss float64
			for i := range n {
				ss += float64(sqDev32(plane(x, i, c, ch, hw), float32(mean)))
			}
			invStd = 1 / math.Sqrt(ss/cnt+st.epsilon)
			st.mean[c], st.invStd[c] = float32(mean), float32(invStd)
			mo := st.momentum
			st.runMean[c] = float32((1-mo)*float64(st.runMean[c]) + mo*mean)
			st.runVar[c] = float32((1-mo)*float64(st.runVar[c]) + mo*ss/max(cnt-1, 1))
		} else {
			mean = float64(st.runMean[c])
			invStd = 1 / math.Sqrt(float64(st.runVar[c])+st.epsilon)
		}
		a := float32(float64(gamma[c]) * invStd)
		b := beta[c] - float32(mean)*a
		for i := range n {
			xp, yp := plane(x, i, c, ch, hw), plane(y, i, c, ch, hw)
			switch {
			case op.res:
				rp := plane(r, i, c, ch, hw)
				for j, v := range xp {
					yp[j] = max(v*a+b+rp[j], 0)
				}
			case op.relu:
				for j, v := range xp {
					yp[j] = max(v*a+b, 0)
				}
			default:
				for j, v := range xp {
					yp[j] = v*a + b
				}
			}
		}
	})
	return out, nil
}

func (op bnOp) DiffWRT(inputs int) []bool {
	d := make([]bool, inputs)
	for i := range d {
		d[i] = true
	}
	return d
}

// SymDiff returns the gradients of x, gamma, beta (and r). With a ReLU
// the incoming gradient is first masked where the output is 0: by the
// backward op itself, or, where the residual needs the masked gradient
// too, by a reluGradOp whose output both use.
func (op bnOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, gamma := inputs[0], inputs[1]
	var dx, dz *G.Node
	var err error
	switch {
	case op.res:
		if dz, err = G.ApplyOp(reluGradOp{op.st}, output, grad); err != nil {
			return nil, err
		}
		dx, err = G.ApplyOp(bnGradOp{op.st, false}, x, gamma, dz)
	case op.relu:
		dx, err = G.ApplyOp(bnGradOp{op.st, true}, x, gamma, grad, output)
	default:
		dx, err = G.ApplyOp(bnGradOp{op.st, false}, x, gamma, grad)
	}
	if err != nil {
		return nil, err
	}
	dGamma, err := G.ApplyOp(bnParamGradOp{op.st, false}, dx)
	if err != nil {
		return nil, err
	}
	dBeta, err := G.ApplyOp(bnParamGradOp{op.st, true}, dx)
	if err != nil {
		return nil, err
	}
	out := G.Nodes{dx, dGamma, dBeta}
	if op.res {
		out = append(out, dz)
	}
	return out, nil
}

// bnGradOp computes dx from (x, gamma, dy[, y]) for a training-mode
// bnOp, masking dy where y is 0 when it has y; it leaves the gradients
// of gamma and beta in the state for bnParamGradOp.
type bnGradOp struct {
	st   *bnState
	relu bool
}

func (op bnGradOp) Arity() int {
	if op.relu {
		return 4
	}
	return 3
}
func (op bnGradOp) Type() hm.Type { return tensorFn(op.Arity()) }
func (op bnGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op bnGradOp) ReturnsPtr() bool      { return false }
func (op bnGradOp) CallsExtern() bool     { return false }
func (op bnGradOp) OverwritesInput() int  { return -1 }
func (op bnGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "facet.bngrad{%p,%t}", op.st, op.relu) }
func (op bnGradOp) Hashcode() uint32      { return hashOf(op) }
func (op bnGradOp) String() string        { return fmt.Sprintf("BNGrad{relu=%t}", op.relu) }

func (op bnGradOp) Do(in ...G.Value) (G.Value, error) {
	st := op.st
	if !st.train {
		return nil, fmt.Errorf("bn: gradient of an evaluation-mode batch norm")
	}
	out := st.dx.get(in[0].Shape())
	x, gamma, dy, dx := f32(in[0]), f32(in[1]), f32(in[2]), f32(out)
	var y []float32
	if op.relu {
		y = f32(in[3])
	}
	n, ch, hw := nchw(in[0].Shape())
	cnt := float64(n * hw)
	dg, db := f32(st.dGamma), f32(st.dBeta)
	parallel(ch, func(c int) {
		mean, invStd := st.mean[c], st.invStd[c]
		var sdz, sdzx float64
		for i := range n {
			var yp []float32
			if op.relu {
				yp = plane(y, i, c, ch, hw)
			}
			s, sx := dzSums(plane(dy, i, c, ch, hw), yp, plane(x, i, c, ch, hw), mean)
			sdz += float64(s)
			sdzx += float64(sx)
		}
		db[c] = float32(sdz)
		dg[c] = float32(sdzx * float64(invStd))
		// dx = gamma*invStd * (dz - mean(dz) - (x-mean)*invStd^2*mean(dz*(x-mean)))
		k1 := float64(gamma[c]) * float64(invStd)
		k2 := -k1 * float64(invStd) * float64(invStd) * sdzx / cnt
		k3 := -k1*sdz/cnt - k2*float64(mean)
		for i := range n {
			var yp []float32
			if op.relu {
				yp = plane(y, i, c, ch, hw)
			}
			dxAffine(plane(dx, i, c, ch, hw), plane(dy, i, c, ch, hw), yp, plane(x, i, c, ch, hw), float32(k1), float32(k2), float32(k3))
		}
	})
	return out, nil
}

// bnParamGradOp returns the gradient of gamma (or, with beta, of beta)
// that bnGradOp left in the state; its input, bnGradOp's output, only
// orders it after that op.
type bnParamGradOp struct {
	st   *bnState
	beta bool
}

func (op bnParamGradOp) Arity() int    { return 1 }
func (op bnParamGradOp) Type() hm.Type { return tensorFn(1) }
func (op bnParamGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return op.st.dBeta.Shape().Clone(), nil
}
func (op bnParamGradOp) ReturnsPtr() bool     { return false }
func (op bnParamGradOp) CallsExtern() bool    { return false }
func (op bnParamGradOp) OverwritesInput() int { return -1 }
func (op bnParamGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "facet.bnparamgrad{%p,%t}", op.st, op.beta)
}
func (op bnParamGradOp) Hashcode() uint32 { return hashOf(op) }
func (op bnParamGradOp) String() string   { return fmt.Sprintf("BNParamGrad{beta=%t}", op.beta) }
func (op bnParamGradOp) Do(...G.Value) (G.Value, error) {
	if op.beta {
		return op.st.dBeta, nil
	}
	return op.st.dGamma, nil
}

// reluGradOp masks dy where y is 0: the gradient through a ReLU, from
// (y, dy).
type reluGradOp struct{ st *bnState }

func (op reluGradOp) Arity() int    { return 2 }
func (op reluGradOp) Type() hm.Type { return tensorFn(2) }
func (op reluGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return in[0].(tensor.Shape).Clone(), nil
}
func (op reluGradOp) ReturnsPtr() bool      { return false }
func (op reluGradOp) CallsExtern() bool     { return false }
func (op reluGradOp) OverwritesInput() int  { return -1 }
func (op reluGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "facet.relugrad{%p}", op.st) }
func (op reluGradOp) Hashcode() uint32      { return hashOf(op) }
func (op reluGradOp) String() string        { return "ReLUGrad" }
func (op reluGradOp) Do(in ...G.Value) (G.Value, error) {
	out := op.st.dz.get(in[0].Shape())
	y, dy, dz := f32(in[0]), f32(in[1]), f32(out)
	parallelRange(len(y), func(lo, hi int) {
		ys, dys, dzs := y[lo:hi], dy[lo:hi], dz[lo:hi]
		dys, dzs = dys[:len(ys)], dzs[:len(ys)]
		for j, v := range ys {
			dzs[j] = math.Float32frombits(math.Float32bits(dys[j]) & reluKeep(v))
		}
	})
	return out, nil
}

// sum32 and sqDev32 sum with four accumulators: the Go compiler does not
// vectorise, and a single running sum is latency-bound.
func sum32(v []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += v[i]
		s1 += v[i+1]
		s2 += v[i+2]
		s3 += v[i+3]
	}
	for ; i < len(v); i++ {
		s0 += v[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func sqDev32(v []float32, m float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(v); i += 4 {
		d0, d1, d2, d3 := v[i]-m, v[i+1]-m, v[i+2]-m, v[i+3]-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(v); i++ {
		d := v[i] - m
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// reluKeep returns all ones where the ReLU output y is positive and zero
// where it is 0, to mask a gradient without a branch (the sign of a
// ReLU's input is random, so a branch on it is mispredicted half the
// time). y must be a ReLU output: never negative.
func reluKeep(y float32) uint32 { return uint32(-int32(math.Float32bits(y)) >> 31) }

// dzSums returns the sums of dz and dz*(x-mean) over one plane, where dz
// is dy masked by the ReLU output y (or dy itself when y is nil).
func dzSums(dy, y, x []float32, mean float32) (s, sx float32) {
	x = x[:len(dy)]
	if y != nil {
		y = y[:len(dy)]
	}
	var s1, sx1 float32 // two chains of sums: the adds are latency-bound
	for j, d := range dy {
		if y != nil { // the same way every time: predicted
			d = math.Float32frombits(math.Float32bits(d) & reluKeep(y[j]))
		}
		if j&1 == 0 {
			s += d
			sx += d * (x[j] - mean)
		} else {
			s1 += d
			sx1 += d * (x[j] - mean)
		}
	}
	return s + s1, sx + sx1
}

// dxAffine sets dx = a*dz + b*x + e over one plane, dz as in dzSums.
func dxAffine(dx, dy, y, x []float32, a, b, e float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	if y != nil {
		y = y[:len(dx)]
	}
	for j := range dx {
		d := dy[j]
		if y != nil {
			d = math.Float32frombits(math.Float32bits(d) & reluKeep(y[j]))
		}
		dx[j] = a*d + b*x[j] + e
	}
}
