package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestBNMatchesGorgonia checks bnOp's output, all its gradients and the
// running statistics against gorgonia's BatchNorm + scale + shift (+ Add)
// (+ Rectify), in every fused form the model uses, then the evaluation
// mode against the formula with the running statistics.
func TestBNMatchesGorgonia(t *testing.T) {
	const n, ch, h, w = 3, 4, 5, 3
	const momentum, eps = 0.1, 1e-5
	rng := rand.New(rand.NewPCG(3, 4))
	rnd := func(scale, shift float64, shape ...int) *tensor.Dense {
		t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
		for i := range t.Float32s() {
			t.Float32s()[i] = float32(rng.NormFloat64()*scale + shift)
		}
		return t
	}
	xv, rv, sv := rnd(2, 0.5, n, ch, h, w), rnd(1, 0, n, ch, h, w), rnd(1, 0, n, ch, h, w)
	gv, bv := rnd(0.5, 1, 1, ch, 1, 1), rnd(0.5, 0, 1, ch, 1, 1)
	runMean, runVar := rnd(0.1, 0, ch).Float32s(), rnd(0.1, 1, ch).Float32s()

	type result struct{ y, dx, dg, db, dr, mean, vari []float32 }
	run := func(gorgonia, relu, res bool) result {
		g := G.NewGraph()
		node := func(name string, v *tensor.Dense) *G.Node {
			return G.NewTensor(g, tensor.Float32, v.Dims(), G.WithShape(v.Shape()...), G.WithName(name), G.WithValue(v.Clone()))
		}
		x, gamma, beta, r, s := node("x", xv), node("gamma", gv), node("beta", bv), node("r", rv), node("s", sv)
		mean, vari := append([]float32(nil), runMean...), append([]float32(nil), runVar...)
		var y *G.Node
		var op *G.BatchNormOp
		var err error
		if gorgonia {
			if y, _, _, op, err = G.BatchNorm(x, gamma, beta, momentum, eps); err != nil {
				t.Fatal(err)
			}
			if res {
				y = G.Must(G.Add(y, r))
			}
			if relu {
				y = G.Must(G.Rectify(y))
			}
		} else {
			in := G.Nodes{x, gamma, beta}
			if res {
				in = append(in, r)
			}
			st := newBNState(ch, true, momentum, eps, mean, vari)
			if y, err = G.ApplyOp(bnOp{st: st, relu: relu, res: res}, in...); err != nil {
				t.Fatal(err)
			}
		}
		loss := G.Must(G.Sum(G.Must(G.HadamardProd(y, s))))
		wrt := G.Nodes{x, gamma, beta}
		if res {
			wrt = append(wrt, r)
		}
		if _, err := G.Grad(loss, wrt...); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(wrt...))
		defer vm.Close()
		if gorgonia { // after NewTapeMachine, which resets them
			if err := op.SetStats(tensor.New(tensor.WithBacking(mean)), tensor.New(tensor.WithBacking(vari))); err != nil {
				t.Fatal(err)
			}
		}
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		grad := func(n *G.Node) []float32 {
			v, err := n.Grad()
			if err != nil {
				t.Fatal(err)
			}
			return append([]float32(nil), f32(v)...)
		}
		out := result{y: append([]float32(nil), f32(y.Value())...), dx: grad(x), dg: grad(gamma), db: grad(beta), mean: mean, vari: vari}
		if res {
			out.dr = grad(r)
		}
		if gorgonia {
			m, v := op.Stats()
			out.mean, out.vari = f32(m), f32(v)
		}
		return out
	}
	for _, v := range []struct{ relu, res bool }{{false, false}, {true, false}, {true, true}} {
		want, got := run(true, v.relu, v.res), run(false, v.relu, v.res)
		for _, c := range []struct {
			name string
			a, b []float32
		}{{"output", want.y, got.y}, {"dx", want.dx, got.dx}, {"dgamma", want.dg, got.dg}, {"dbeta", want.db, got.db},
			{"dr", want.dr, got.dr}, {"running mean", want.mean, got.mean}, {"running var", want.vari, got.vari}} {
			if len(c.a) != len(c.b) {
				t.Fatalf("%+v %s: %d values, want %d", v, c.name, len(c.b), len(c.a))
			}
			for i := range c.a {
				if math.Abs(float64(c.a[i]-c.b[i])) > 2e-4*(1+math.Abs(float64(c.a[i]))) {
					t.Fatalf("%+v %s[%d] = %v, gorgonia gives %v", v, c.name, i, c.b[i], c.a[i])
				}
			}
		}
	}

	// evaluation mode: (x - running mean) / sqrt(running var + eps) * gamma + beta, ReLU
	g := G.NewGraph()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(n, ch, h, w), G.WithName("x"), G.WithValue(xv.Clone()))
	gamma := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, ch, 1, 1), G.WithName("gamma"), G.WithValue(gv.Clone()))
	beta := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, ch, 1, 1), G.WithName("beta"), G.WithValue(bv.Clone()))
	mean, vari := append([]float32(nil), runMean...), append([]float32(nil), runVar...)
	y, err := G.ApplyOp(bnOp{st: newBNState(ch, false, momentum, eps, mean, vari), relu: true}, x, gamma, beta)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g, G.EvalMode())
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := f32(y.Value())
	for i, v := range xv.Float32s() {
		c := i / (h * w) % ch
		want := max(0, (float64(v)-float64(runMean[c]))/math.Sqrt(float64(runVar[c])+eps)*float64(gv.Float32s()[c])+float64(bv.Float32s()[c]))
		if math.Abs(want-float64(got[i])) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("evaluation output[%d] = %v, want %v", i, got[i], want)
		}
	}
	if fmt.Sprint(mean, vari) != fmt.Sprint(runMean, runVar) {
		t.Error("evaluation mode changed the running statistics")
	}
}
