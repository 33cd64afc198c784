package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestConvMatchesGorgonia checks convOp's output and both gradients
// against gorgonia's Conv2d on odd sizes, strides 1 and 2, 3x3 and 1x1,
// with and without the im2col matrices kept from the forward pass, one
// sample and several samples a matrix multiply.
func TestConvMatchesGorgonia(t *testing.T) {
	blocked := 0
	for _, c := range []struct{ n, ch, h, w, o, k, s int }{
		{3, 2, 7, 7, 4, 3, 1},
		{3, 2, 7, 6, 4, 3, 2},
		{2, 3, 8, 8, 5, 1, 2},
		{2, 3, 5, 5, 2, 1, 1},
		{1, 1, 3, 3, 1, 3, 2},
		// small maps: several samples a matrix multiply, the last block short
		{7, 3, 4, 4, 5, 3, 1},
		{7, 3, 5, 4, 5, 3, 2},
		{6, 2, 4, 4, 3, 1, 2},
	} {
		rng := rand.New(rand.NewPCG(uint64(c.k), uint64(c.s)))
		rnd := func(shape ...int) *tensor.Dense {
			t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
			for i := range t.Float32s() {
				t.Float32s()[i] = float32(rng.NormFloat64())
			}
			return t
		}
		xv, wv := rnd(c.n, c.ch, c.h, c.w), rnd(c.o, c.ch, c.k, c.k)
		pad := c.k / 2
		if newConvOp(c.k, c.s, pad, false).geom(xv.Shape(), wv.Shape()).blk > 1 {
			blocked++
		}
		ho, wo := (c.h+2*pad-c.k)/c.s+1, (c.w+2*pad-c.k)/c.s+1
		rv := rnd(c.n, c.o, ho, wo)
		run := func(gorgonia, cache bool) (y, dx, dw []float32) {
			g := G.NewGraph()
			x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(xv.Shape()...), G.WithName("x"), G.WithValue(xv.Clone()))
			w := G.NewTensor(g, tensor.Float32, 4, G.WithShape(wv.Shape()...), G.WithName("w"), G.WithValue(wv.Clone()))
			r := G.NewTensor(g, tensor.Float32, 4, G.WithShape(rv.Shape()...), G.WithName("r"), G.WithValue(rv.Clone()))
			var out *G.Node
			var err error
			if gorgonia {
				out, err = G.Conv2d(x, w, tensor.Shape{c.k, c.k}, []int{pad, pad}, []int{c.s, c.s}, []int{1, 1})
			} else {
				out, err = G.ApplyOp(newConvOp(c.k, c.s, pad, cache), x, w)
			}
			if err != nil {
				t.Fatal(err)
			}
			loss := G.Must(G.Sum(G.Must(G.HadamardProd(out, r))))
			if _, err := G.Grad(loss, x, w); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(g, G.BindDualValues(x, w))
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			gx, _ := x.Grad()
			gw, _ := w.Grad()
			return append([]float32(nil), out.Value().Data().([]float32)...), gx.Data().([]float32), gw.Data().([]float32)
		}
		y1, dx1, dw1 := run(true, false)
		y2, dx2, dw2 := run(false, false)
		y3, dx3, dw3 := run(false, true) // the weight gradient from the forward pass's im2col
		for _, cmp := range []struct {
			name string
			a, b []float32
		}{{"output", y1, y2}, {"dx", dx1, dx2}, {"dw", dw1, dw2}, {"output (cached)", y1, y3}, {"dx (cached)", dx1, dx3}, {"dw (cached)", dw1, dw3}} {
			if len(cmp.a) != len(cmp.b) {
				t.Fatalf("%+v %s: %d values, want %d", c, cmp.name, len(cmp.b), len(cmp.a))
			}
			for i := range cmp.a {
				if math.Abs(float64(cmp.a[i]-cmp.b[i])) > 1e-4*(1+math.Abs(float64(cmp.a[i]))) {
					t.Fatalf("%+v %s[%d] = %v, gorgonia's Conv2d gives %v", c, cmp.name, i, cmp.b[i], cmp.a[i])
				}
			}
		}
	}
	if blocked == 0 {
		t.Error("no case puts several samples in one matrix multiply")
	}
}

// TestModelWithGorgoniaConv checks that a model built on gorgonia's own
// Conv2d gives the same loss as one built on convOp.
func TestModelWithGorgoniaConv(t *testing.T) {
	loss := func(stock bool) float64 {
		UseGorgoniaConv = stock
		defer func() { UseGorgoniaConv = false }()
		m, err := New(tinyConfig())
		if err != nil {
			t.Fatal(err)
		}
		res, err := m.Step(colourBatch(6, 8, 4))
		if err != nil {
			t.Fatal(err)
		}
		res, err = m.Step(colourBatch(6, 8, 4))
		if err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	a, b := loss(true), loss(false)
	if math.Abs(a-b) > 1e-4*math.Abs(a) {
		t.Errorf("loss after a step: gorgonia conv %.6f, convOp %.6f", a, b)
	}
}
