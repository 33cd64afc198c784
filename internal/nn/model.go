package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"

	"gorgonia.org/tensor"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
)

// Tensor kinds.
const (
	KindWeight = "weight" // conv and linear weights: trained, weight-decayed
	KindBias   = "bias"   // biases and BN scale/shift: trained, not decayed
	KindStat   = "stat"   // BN running statistics: not trained
)

// Param is one named tensor of a model. Data is the model's own storage:
// writing to it changes the model (checkpoint loading does that).
type Param struct {
	Name  string
	Shape []int // as stored in a checkpoint (PyTorch layout)
	Kind  string
	Data  []float32

	graphShape []int // as the graph sees it
	m, v       []float32
}

// Size is the number of elements of the tensor.
func (p *Param) Size() int { return len(p.Data) }

// Batch is a batch of images with their labels. Images holds N x 3 x S x S
// float32 values, channels first, normalised. Mask, Gender and Age hold N
// labels each (nil means all unknown); -1 marks an unknown label.
type Batch struct {
	N      int
	Images []float32
	Mask   []int8
	Gender []int8
	Age    []int8
}

// Loss is the result of one training step: the total loss (the sum over
// the heads) and each head's part. Labelled counts the rows that carried
// a label for each head. In the single 18-class layout Class18 holds the
// only loss.
type Loss struct {
	Total, Mask, Gender, Age, Class18 float64

	LabelledMask, LabelledGender, LabelledAge, Labelled18 int
}

// Probs are the model's predictions (see package pred).
type Probs = pred.Probs

// Model is a network with its weights, optimiser state and compiled
// graphs. It is not safe for concurrent use.
type Model struct {
	cfg     Config
	params  []*Param
	byName  map[string]*Param
	bns     []bnParams
	bnIndex map[string]int // m.bns[bnIndex[name]] is the batch norm called name

	step   int     // Adam steps taken
	lr     float64 // current learning rate
	smooth [4][][]float64

	train map[int]*graph // training graphs by batch size
	eval  *graph
}

type bnParams struct {
	name                     string
	weight, bias, mean, vari *Param
}

// New builds a model from cfg with weights drawn from a generator seeded
// by cfg.Seed.
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Blocks = append([]int(nil), cfg.Blocks...)
	m := &Model{cfg: cfg, byName: map[string]*Param{}, bnIndex: map[string]int{}, train: map[int]*graph{}, lr: cfg.LR}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	m.declare(rng)
	m.smooth[0] = UniformSmoothing(NumMask, cfg.LabelSmoothing)
	m.smooth[1] = UniformSmoothing(NumGender, cfg.LabelSmoothing)
	m.smooth[2] = NeighbourSmoothing(NumAge, cfg.AgeSmoothing)
	m.smooth[3] = Smoothing18(cfg.LabelSmoothing, cfg.AgeSmoothing)
	return m, nil
}

// Config returns the model's configuration.
func (m *Model) Config() Config {
	c := m.cfg
	c.Blocks = append([]int(nil), c.Blocks...)
	return c
}

// Params returns the model's named tensors in a fixed order: trained
// weights, biases and BN parameters, and BN running statistics. The
// Params share storage with the model.
func (m *Model) Params() []*Param { return m.params }

// Param returns the tensor called name, or nil.
func (m *Model) Param(name string) *Param { return m.byName[name] }

// NumTrainable counts the trained scalars (weights, biases, BN scale and
// shift).
func (m *Model) NumTrainable() int {
	n := 0
	for _, p := range m.params {
		if p.Kind != KindStat {
			n += len(p.Data)
		}
	}
	return n
}

// SetLR sets the learning rate of the following steps (the trainer calls
// SetLR(LR(cfg.LR, cfg.LRDecay, epoch)) at the start of every epoch).
func (m *Model) SetLR(lr float64) { m.lr = lr }

// SetEpoch sets the learning rate for epoch (from 0) by the config's
// schedule (Config.LRAt).
func (m *Model) SetEpoch(epoch int) { m.lr = m.cfg.LRAt(epoch) }

// LR returns the current learning rate.
func (m *Model) LR() float64 { return m.lr }

func (m *Model) add(name, kind string, shape, graphShape []int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	p := &Param{Name: name, Shape: shape, Kind: kind, Data: make([]float32, n), graphShape: graphShape}
	if kind != KindStat {
		p.m = make([]float32, n)
		p.v = make([]float32, n)
	}
	m.params = append(m.params, p)
	m.byName[name] = p
	return p
}

// declare creates every tensor in a fixed order with its initial value.
func (m *Model) declare(rng *rand.Rand) {
	conv := func(name string, out, in, k int) {
		p := m.add(name+".weight", KindWeight, []int{out, in, k, k}, []int{out, in, k, k})
		// PyTorch's nn.Conv2d default, U(-1/sqrt(fan in), 1/sqrt(fan in)),
		// as the reference plugin's network starts (make side-by-side).
		bound := 1 / math.Sqrt(float64(in*k*k))
		for i := range p.Data {
			p.Data[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	bn := func(name string, c int) {
		w := m.add(name+".weight", KindBias, []int{c}, []int{1, c, 1, 1})
		b := m.add(name+".bias", KindBias, []int{c}, []int{1, c, 1, 1})
		for i := range w.Data {
			w.Data[i] = 1
		}
		m.bnIndex[name] = len(m.bns)
		m.bns = append(m.bns, bnParams{name: name, weight: w, bias: b})
	}
	linear := func(name string, out, in int) {
		w := m.add(name+".weight", KindWeight, []int{out, in}, []int{out, in})
		b := m.add(name+".bias", KindBias, []int{out}, []int{1, out})
		bound := 1 / math.Sqrt(float64(in)) // PyTorch's nn.Linear default
		for i := range w.Data {
			w.Data[i] = float32((2*rng.Float64() - 1) * bound)
		}
		for i := range b.Data {
			b.Data[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	c := m.cfg
	conv("stem.conv", c.Width, 3, 3)
	bn("stem.bn", c.Width)
	in := c.Width
	for s, nb := range c.Blocks {
		out := c.Width << s
		for b := 0; b < nb; b++ {
			pre := fmt.Sprintf("stages.%d.%d.", s, b)
			conv(pre+"conv1", out, in, 3)
			bn(pre+"bn1", out)
			conv(pre+"conv2", out, out, 3)
			bn(pre+"bn2", out)
			if in != out || (s > 0 && b == 0) {
				conv(pre+"down.conv", out, in, 1)
				bn(pre+"down.bn", out)
			}
			in = out
		}
	}
	if c.Heads == HeadsSingle18 {
		linear("head.class18", label.NumClasses, in)
	} else {
		linear("head.mask", NumMask, in)
		linear("head.gender", NumGender, in)
		linear("head.age", NumAge, in)
	}
	// running statistics last, so trained tensors form a prefix
	for i := range m.bns {
		b := &m.bns[i]
		ch := b.weight.Shape[0]
		b.mean = m.add(b.name+".running_mean", KindStat, []int{ch}, []int{ch})
		b.vari = m.add(b.name+".running_var", KindStat, []int{ch}, []int{ch})
		for j := range b.vari.Data {
			b.vari.Data[j] = 1
		}
	}
}

// graph is one compiled expression graph for a batch size, for training
// (forward + backward, BN in batch mode) or inference (forward only, BN
// with running statistics).
type graph struct {
	n     int
	train bool
	ran   bool // has run at least once (gradients exist)
	g     *G.ExprGraph
	vm    G.VM

	x     *tensor.Dense
	tgt   []*tensor.Dense // per head, n x k
	loss  *G.Node
	heads []*G.Node // per head: losses (train) or probabilities (eval)

	nodes []*G.Node // parallel to the trained prefix of m.params
}

func (m *Model) headSizes() []int {
	if m.cfg.Heads == HeadsSingle18 {
		return []int{label.NumClasses}
	}
	return []int{NumMask, NumGender, NumAge}
}

// build compiles the graph for batch size n.
func (m *Model) build(n int, train bool) (gr *graph, err error) {
	defer func() {
		// gorgonia reports some shape errors by panicking
		if r := recover(); r != nil {
			gr, err = nil, fmt.Errorf("nn: building the graph: %v", r)
		}
	}()
	c := m.cfg
	g := G.NewGraph()
	gr = &graph{n: n, train: train, g: g}
	nodeOf := map[*Param]*G.Node{}
	for _, p := range m.params {
		if p.Kind == KindStat {
			continue
		}
		t := tensor.New(tensor.WithShape(p.graphShape...), tensor.WithBacking(p.Data))
		nd := G.NewTensor(g, tensor.Float32, len(p.graphShape), G.WithShape(p.graphShape...), G.WithName(p.Name), G.WithValue(t))
		nodeOf[p] = nd
		gr.nodes = append(gr.nodes, nd)
	}
	s := c.InputSize
	gr.x = tensor.New(tensor.WithShape(n, 3, s, s), tensor.Of(tensor.Float32))
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(n, 3, s, s), G.WithName("x"), G.WithValue(gr.x))

	// bn is batch norm over x, then + res when res is not nil, then a
	// ReLU when relu is set (or res is not nil), as one bnOp
	bn := func(x *G.Node, name string, relu bool, res *G.Node) (*G.Node, error) {
		p := m.bns[m.bnIndex[name]]
		st := newBNState(p.weight.Size(), train, c.BNMomentum, c.BNEpsilon, p.mean.Data, p.vari.Data)
		in := G.Nodes{x, nodeOf[p.weight], nodeOf[p.bias]}
		if res != nil {
			in = append(in, res)
		}
		y, err := G.ApplyOp(bnOp{st: st, relu: relu || res != nil, res: res != nil}, in...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return y, nil
	}
	cv := func(x *G.Node, name string, k, stride int) (*G.Node, error) {
		y, err := conv2d(x, nodeOf[m.byName[name+".weight"]], k, stride, train)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return y, nil
	}
	must := func(n *G.Node, e error) *G.Node {
		if e != nil && err == nil {
			err = e
		}
		return n
	}

	h := must(cv(x, "stem.conv", 3, 2))
	h = must(bn(h, "stem.bn", true, nil))
	in := c.Width
	for st, nb := range c.Blocks {
		out := c.Width << st
		for b := 0; b < nb; b++ {
			if err != nil {
				return nil, err
			}
			pre := fmt.Sprintf("stages.%d.%d.", st, b)
			stride := 1
			if st > 0 && b == 0 {
				stride = 2
			}
			y := must(cv(h, pre+"conv1", 3, stride))
			y = must(bn(y, pre+"bn1", true, nil))
			y = must(cv(y, pre+"conv2", 3, 1))
			short := h
			if m.byName[pre+"down.conv.weight"] != nil {
				short = must(cv(h, pre+"down.conv", 1, stride))
				short = must(bn(short, pre+"down.bn", false, nil))
			}
			h = must(bn(y, pre+"bn2", true, short))
			in = out
		}
	}
	if err != nil {
		return nil, err
	}
	sh := h.Shape()
	feat := must(G.Reshape(h, tensor.Shape{n, in, sh[2] * sh[3]}))
	feat = must(G.Mean(feat, 2)) // n x in

	var heads []string
	if c.Heads == HeadsSingle18 {
		heads = []string{"head.class18"}
	} else {
		heads = []string{"head.mask", "head.gender", "head.age"}
	}
	for i, name := range heads {
		k := m.headSizes()[i]
		w := nodeOf[m.byName[name+".weight"]]
		b := nodeOf[m.byName[name+".bias"]]
		z := must(G.Mul(feat, must(G.Transpose(w, 1, 0)))) // n x k
		z = must(G.BroadcastAdd(z, b, nil, []byte{0}))
		if err != nil {
			return nil, err
		}
		if !train {
			gr.heads = append(gr.heads, must(G.SoftMax(z)))
			continue
		}
		t := tensor.New(tensor.WithShape(n, k), tensor.Of(tensor.Float32))
		gr.tgt = append(gr.tgt, t)
		tn := G.NewMatrix(g, tensor.Float32, G.WithShape(n, k), G.WithName("target_"+name), G.WithValue(t))
		logp := must(G.LogSoftMax(z))
		term := logp
		if c.Loss == LossFocal && c.FocalGamma != 0 {
			p := must(G.Exp(logp))
			one := G.NewConstant(float32(1))
			q := must(G.Sub(one, p))
			var f *G.Node
			if c.FocalGamma == 2 {
				f = must(G.Square(q))
			} else {
				// (1-p)^gamma = exp(gamma * log(1-p)); 1-p is kept above
				// a tiny floor so that a saturated p gives no NaN
				q = must(G.Add(q, G.NewConstant(float32(1e-12))))
				f = must(G.Exp(must(G.Mul(must(G.Log(q)), G.NewConstant(float32(c.FocalGamma))))))
			}
			term = must(G.HadamardProd(f, logp))
		}
		l := must(G.Neg(must(G.Sum(must(G.HadamardProd(tn, term))))))
		gr.heads = append(gr.heads, l)
		if gr.loss == nil {
			gr.loss = l
		} else {
			gr.loss = must(G.Add(gr.loss, l))
		}
	}
	if err != nil {
		return nil, err
	}
	if train {
		if _, err := G.Grad(gr.loss, gr.nodes...); err != nil {
			return nil, fmt.Errorf("nn: gradient: %w", err)
		}
		gr.vm = G.NewTapeMachine(g, G.BindDualValues(gr.nodes...))
	} else {
		gr.vm = G.NewTapeMachine(g, G.EvalMode())
	}
	return gr, nil
}

// conv2d is a 3x3 (pad 1) or 1x1 (pad 0) convolution without bias; see
// convOp for why it is not gorgonia's Conv2d (UseGorgoniaConv switches
// back, for comparison). A training graph's convolution keeps its
// im2col matrices for the backward pass.
func conv2d(x, w *G.Node, k, stride int, train bool) (*G.Node, error) {
	pad := k / 2
	if UseGorgoniaConv {
		return G.Conv2d(x, w, tensor.Shape{k, k}, []int{pad, pad}, []int{stride, stride}, []int{1, 1})
	}
	return G.ApplyOp(newConvOp(k, stride, pad, train), x, w)
}

// UseGorgoniaConv makes models built afterwards use gorgonia's own
// Conv2d (im2col over the batch + matmul + transpose) instead of this
// package's convolution op. It exists for benchmarks and tests.
var UseGorgoniaConv = false

func (m *Model) trainGraph(n int) (*graph, error) {
	if gr := m.train[n]; gr != nil {
		return gr, nil
	}
	gr, err := m.build(n, true)
	if err != nil {
		return nil, err
	}
	m.train[n] = gr
	return gr, nil
}

func (m *Model) checkBatch(b Batch) error {
	s := m.cfg.InputSize
	if b.N < 1 {
		return fmt.Errorf("nn: batch of %d rows", b.N)
	}
	if len(b.Images) != b.N*3*s*s {
		return fmt.Errorf("nn: batch of %d images of 3x%dx%d needs %d values, got %d", b.N, s, s, b.N*3*s*s, len(b.Images))
	}
	for _, l := range []struct {
		name string
		v    []int8
	}{{"mask", b.Mask}, {"gender", b.Gender}, {"age", b.Age}} {
		if l.v != nil && len(l.v) != b.N {
			return fmt.Errorf("nn: %d %s labels for %d rows", len(l.v), l.name, b.N)
		}
	}
	return nil
}

func labelsOr(v []int8, n int) []int8 {
	if v != nil {
		return v
	}
	out := make([]int8, n)
	for i := range out {
		out[i] = -1
	}
	return out
}

// forwardBackward runs the training graph on b and leaves the gradients
// in the graph's nodes; the caller must call gr.vm.Reset() when done.
func (m *Model) forwardBackward(b Batch) (*graph, Loss, error) {
	var res Loss
	if err := m.checkBatch(b); err != nil {
		return nil, res, err
	}
	if b.N < 2 {
		return nil, res, errors.New("nn: a training batch needs at least 2 rows (batch normalisation)")
	}
	gr, err := m.trainGraph(b.N)
	if err != nil {
		return nil, res, err
	}
	// gorgonia adds each run's gradients to the previous ones (Reset
	// does not clear them): start from zero
	if gr.ran {
		gs, err := gr.grads()
		if err != nil {
			return nil, res, err
		}
		for _, g := range gs {
			clear(g)
		}
	}
	copy(gr.x.Float32s(), b.Images)
	mask, gender, age := labelsOr(b.Mask, b.N), labelsOr(b.Gender, b.N), labelsOr(b.Age, b.N)
	c := m.cfg
	if c.Heads == HeadsSingle18 {
		y := make([]int8, b.N)
		for i := range y {
			y[i] = label.Join(mask[i], gender[i], age[i])
		}
		res.Labelled18 = targets(gr.tgt[0].Float32s(), y, label.NumClasses, m.smooth[3], c.ClassWeights18)
	} else {
		res.LabelledMask = targets(gr.tgt[0].Float32s(), mask, NumMask, m.smooth[0], c.MaskWeights)
		res.LabelledGender = targets(gr.tgt[1].Float32s(), gender, NumGender, m.smooth[1], c.GenderWeights)
		res.LabelledAge = targets(gr.tgt[2].Float32s(), age, NumAge, m.smooth[2], c.AgeWeights)
	}
	if err := m.exec(gr); err != nil {
		return nil, res, err
	}
	gr.ran = true
	val := func(n *G.Node) float64 { return float64(n.Value().Data().(float32)) }
	res.Total = val(gr.loss)
	if c.Heads == HeadsSingle18 {
		res.Class18 = val(gr.heads[0])
	} else {
		res.Mask, res.Gender, res.Age = val(gr.heads[0]), val(gr.heads[1]), val(gr.heads[2])
	}
	return gr, res, nil
}

// exec runs the graph; a training graph's batch norms update the
// model's running statistics as they go. The caller resets the machine
// after reading the values it needs.
func (m *Model) exec(gr *graph) error {
	if err := gr.vm.RunAll(); err != nil {
		gr.vm.Reset()
		return fmt.Errorf("nn: %w", err)
	}
	return nil
}

// grads returns the gradient of each trained tensor after forwardBackward.
func (gr *graph) grads() ([][]float32, error) {
	out := make([][]float32, len(gr.nodes))
	for i, nd := range gr.nodes {
		gv, err := nd.Grad()
		if err != nil {
			return nil, fmt.Errorf("nn: gradient of %s: %w", nd.Name(), err)
		}
		out[i] = gv.Data().([]float32)
	}
	return out, nil
}

// Step runs one forward and backward pass on b and updates the weights
// with Adam at the current learning rate. It returns the loss before the
// update.
func (m *Model) Step(b Batch) (Loss, error) {
	gr, res, err := m.forwardBackward(b)
	if err != nil {
		return res, err
	}
	defer gr.vm.Reset()
	grads, err := gr.grads()
	if err != nil {
		return res, err
	}
	if math.IsNaN(res.Total) || math.IsInf(res.Total, 0) {
		return res, fmt.Errorf("nn: loss is %g", res.Total)
	}
	m.adam(grads)
	return res, nil
}

// adam applies one Adam step (Kingma and Ba, with bias correction) with
// L2 weight decay added to the gradient of KindWeight tensors, as
// PyTorch's torch.optim.Adam(weight_decay=...) does.
func (m *Model) adam(grads [][]float32) {
	c := m.cfg
	m.step++
	b1, b2 := c.Beta1, c.Beta2
	bc1 := 1 - math.Pow(b1, float64(m.step))
	bc2 := 1 - math.Pow(b2, float64(m.step))
	stepSize := float32(m.lr / bc1)
	sqrtBC2 := float32(math.Sqrt(bc2))
	eps := float32(c.Epsilon)
	fb1, fb2 := float32(b1), float32(b2)
	for i, g := range grads {
		p := m.params[i]
		wd := float32(0)
		if p.Kind == KindWeight {
			wd = float32(c.WeightDecay)
		}
		w, mm, vv := p.Data, p.m, p.v
		for j := range w {
			gj := g[j] + wd*w[j]
			mm[j] = fb1*mm[j] + (1-fb1)*gj
			vv[j] = fb2*vv[j] + (1-fb2)*gj*gj
			w[j] -= stepSize * mm[j] / (float32(math.Sqrt(float64(vv[j])))/sqrtBC2 + eps)
		}
	}
}

// Predict returns the class probabilities of every image of images
// (N x 3 x S x S, as in Batch), with BN using its running statistics.
func (m *Model) Predict(images []float32) (*Probs, error) {
	s := m.cfg.InputSize
	per := 3 * s * s
	if len(images)%per != 0 {
		return nil, fmt.Errorf("nn: %d values are not a whole number of 3x%dx%d images", len(images), s, s)
	}
	n := len(images) / per
	pb := m.cfg.predictBatch()
	if m.eval == nil {
		gr, err := m.build(pb, false)
		if err != nil {
			return nil, err
		}
		m.eval = gr
	}
	gr := m.eval
	out := pred.New(n)
	for lo := 0; lo < n; lo += pb {
		hi := min(lo+pb, n)
		x := gr.x.Float32s()
		copy(x, images[lo*per:hi*per])
		clear(x[(hi-lo)*per:])
		if err := m.exec(gr); err != nil {
			return nil, err
		}
		if m.cfg.Heads == HeadsSingle18 {
			p := gr.heads[0].Value().Data().([]float32)
			copy(out.Class18[lo*label.NumClasses:hi*label.NumClasses], p)
		} else {
			pm := gr.heads[0].Value().Data().([]float32)
			pg := gr.heads[1].Value().Data().([]float32)
			pa := gr.heads[2].Value().Data().([]float32)
			copy(out.Mask[lo*NumMask:hi*NumMask], pm)
			copy(out.Gender[lo*NumGender:hi*NumGender], pg)
			copy(out.Age[lo*NumAge:hi*NumAge], pa)
		}
		gr.vm.Reset()
	}
	if m.cfg.Heads == HeadsSingle18 {
		out.Marginalise()
	} else {
		out.CombineHeads()
	}
	return out, nil
}

// OptimizerParams returns Adam's moment estimates as named tensors that
// share storage with the optimiser ("optim.<name>.exp_avg" and
// "optim.<name>.exp_avg_sq", as PyTorch names them), for a checkpoint
// that a run can resume from. Together with Steps and SetSteps they are
// the whole optimiser state.
func (m *Model) OptimizerParams() []*Param {
	var out []*Param
	for _, p := range m.params {
		if p.Kind == KindStat {
			continue
		}
		out = append(out,
			&Param{Name: "optim." + p.Name + ".exp_avg", Shape: p.Shape, Kind: KindStat, Data: p.m},
			&Param{Name: "optim." + p.Name + ".exp_avg_sq", Shape: p.Shape, Kind: KindStat, Data: p.v})
	}
	return out
}

// Steps returns the number of Adam steps taken (for bias correction).
func (m *Model) Steps() int { return m.step }

// SetSteps sets the number of Adam steps taken, when resuming.
func (m *Model) SetSteps(n int) { m.step = n }
