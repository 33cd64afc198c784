package nn

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/pred"
)

func tinyConfig() Config {
	c := DefaultConfig()
	c.InputSize = 8
	c.Width = 3
	c.Blocks = []int{1, 1}
	c.PredictBatch = 4
	return c
}

func TestSmoothingMatrices(t *testing.T) {
	const eps = 0.1
	got := NeighbourSmoothing(3, eps)
	want := [][]float64{
		{1 - eps/2, eps / 2, 0},
		{eps / 2, 1 - eps, eps / 2},
		{0, eps / 2, 1 - eps/2},
	}
	near := func(a, b [][]float64) bool {
		for i := range a {
			for j := range a[i] {
				if math.Abs(a[i][j]-b[i][j]) > 1e-12 {
					return false
				}
			}
		}
		return true
	}
	if !near(got, want) {
		t.Errorf("NeighbourSmoothing(3, 0.1) = %v, want %v", got, want)
	}
	// five classes: the middle one spreads to its two neighbours only
	n5 := NeighbourSmoothing(5, 0.2)
	if row := n5[2]; row[0] != 0 || row[4] != 0 || math.Abs(row[1]-0.1) > 1e-12 || math.Abs(row[2]-0.8) > 1e-12 {
		t.Errorf("NeighbourSmoothing(5, 0.2)[2] = %v", row)
	}
	if !near(NeighbourSmoothing(3, 0), [][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}) {
		t.Error("eps 0 is not the identity")
	}
	if got := NeighbourSmoothing(1, 0.3); !near(got, [][]float64{{1}}) {
		t.Errorf("one class: %v", got)
	}
	u := UniformSmoothing(2, 0.2)
	if !near(u, [][]float64{{0.9, 0.1}, {0.1, 0.9}}) {
		t.Errorf("UniformSmoothing(2, 0.2) = %v", u)
	}
	s18 := Smoothing18(0.1, 0.2)
	for c, row := range append(append(NeighbourSmoothing(7, 0.3), UniformSmoothing(4, 0.3)...), s18...) {
		var sum float64
		for _, v := range row {
			sum += v
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("row %d sums to %v", c, sum)
		}
	}
	// class 0 (wear, male, <30): age mass 0.9 stays, 0.1 to age 1
	// class 0 (wear, male, <30): mask and gender smoothed uniformly,
	// age only towards age 1
	m0, g0 := 0.9+0.1/3, 0.95
	if math.Abs(s18[0][0]-m0*g0*0.9) > 1e-12 || math.Abs(s18[0][1]-m0*g0*0.1) > 1e-12 || s18[0][2] != 0 {
		t.Errorf("Smoothing18[0] = %v", s18[0])
	}
	if got := Smoothing18(0, 0.2)[7]; math.Abs(got[6]-0.1) > 1e-12 || math.Abs(got[7]-0.8) > 1e-12 || math.Abs(got[8]-0.1) > 1e-12 || got[1] != 0 {
		t.Errorf("Smoothing18(0, 0.2)[7] = %v", got)
	}
}

func TestLRSchedule(t *testing.T) {
	for _, c := range []struct {
		epoch int
		want  float64
	}{{0, 1e-4}, {1, 0.95e-4}, {2, 0.9025e-4}, {10, 1e-4 * 0.5987369392383789}} {
		if got := LR(1e-4, 0.95, c.epoch); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("LR(epoch %d) = %g, want %g", c.epoch, got, c.want)
		}
	}
	cfg := tinyConfig()
	cfg.LR = 1e-4
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if m.LR() != 1e-4 {
		t.Errorf("initial lr %g", m.LR())
	}
	m.SetEpoch(3)
	if math.Abs(m.LR()-1e-4*0.95*0.95*0.95) > 1e-15 {
		t.Errorf("lr at epoch 3: %g", m.LR())
	}
}

func TestLRAt(t *testing.T) {
	exp := Config{LR: 1, LRDecay: 0.5}
	cos := Config{LR: 1, LRDecay: 0.5, Schedule: ScheduleCosine, Warmup: 2, Epochs: 6}
	for _, c := range []struct {
		name  string
		cfg   Config
		epoch int
		want  float64
	}{
		{"exp start", exp, 0, 1},
		{"exp epoch 3", exp, 3, 0.125},
		{"exp after warm-up", Config{LR: 1, LRDecay: 0.5, Warmup: 1}, 2, 0.5},
		{"warm-up first", cos, 0, 1.0 / 3},
		{"warm-up second", cos, 1, 2.0 / 3},
		{"cosine start", cos, 2, 1},
		{"cosine middle", cos, 4, 0.5},
		{"cosine last epoch", cos, 5, (1 + math.Cos(math.Pi*3/4)) / 2},
		{"cosine past the end", cos, 9, 0},
	} {
		if got := c.cfg.LRAt(c.epoch); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: LRAt(%d) = %g, want %g", c.name, c.epoch, got, c.want)
		}
	}
	bad := DefaultConfig()
	bad.Schedule = ScheduleCosine
	if bad.Validate() == nil {
		t.Error("cosine without the run's epochs validated")
	}
	bad.Schedule = "step"
	if bad.Validate() == nil {
		t.Error("an unknown schedule validated")
	}
}

func TestTargets(t *testing.T) {
	sm := NeighbourSmoothing(3, 0.2)
	tg := make([]float32, 4*3)
	n := targets(tg, []int8{0, -1, 1, 2}, 3, sm, []float64{1, 2, 1})
	if n != 3 {
		t.Errorf("labelled %d", n)
	}
	// weights 1 + 2 + 1 = 4
	want := []float32{0.9 / 4, 0.1 / 4, 0, 0, 0, 0, 0.2 / 4, 1.6 / 4, 0.2 / 4, 0, 0.1 / 4, 0.9 / 4}
	for i := range want {
		if math.Abs(float64(tg[i]-want[i])) > 1e-7 {
			t.Fatalf("targets = %v, want %v", tg, want)
		}
	}
	n = targets(tg, []int8{-1, -1, -1, -1}, 3, sm, nil)
	if n != 0 {
		t.Errorf("labelled %d", n)
	}
	for _, v := range tg {
		if v != 0 {
			t.Fatalf("unknown rows gave targets %v", tg)
		}
	}
}

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, back) {
		t.Errorf("JSON round trip: %+v != %+v", back, c)
	}
	bad := []func(*Config){
		func(c *Config) { c.InputSize = 2 },
		func(c *Config) { c.Width = 0 },
		func(c *Config) { c.Blocks = nil },
		func(c *Config) { c.Blocks = []int{1, 0} },
		func(c *Config) { c.Heads = "two" },
		func(c *Config) { c.Loss = "hinge" },
		func(c *Config) { c.LR = 0 },
		func(c *Config) { c.LRDecay = 1.5 },
		func(c *Config) { c.AgeSmoothing = 1 },
		func(c *Config) { c.MaskWeights = []float64{1, 2} },
		func(c *Config) { c.AgeWeights = []float64{1, -1, 1} },
		func(c *Config) { c.BNMomentum = 0 },
		// hostile values from a config file: sizes that would allocate
		// without bound, NaN and infinities
		func(c *Config) { c.InputSize = 100000 },
		func(c *Config) { c.PredictBatch = 1000000000 },
		func(c *Config) { c.PredictBatch = -1 },
		func(c *Config) { c.Width = 100000 },
		func(c *Config) { c.Blocks = []int{1, 1, 1, 1, 1, 1, 1, 1, 1} },
		func(c *Config) { c.Blocks = []int{1000} },
		func(c *Config) { c.Width, c.Blocks = 256, []int{16, 16, 16, 16, 16, 16} },
		func(c *Config) { c.InputSize, c.PredictBatch, c.Width = 1024, 4096, 64 },
		func(c *Config) { c.LR = math.NaN() },
		func(c *Config) { c.LR = math.Inf(1) },
		func(c *Config) { c.LRDecay = math.NaN() },
		func(c *Config) { c.WeightDecay = math.NaN() },
		func(c *Config) { c.Beta1 = math.NaN() },
		func(c *Config) { c.BNMomentum = math.NaN() },
		func(c *Config) { c.LabelSmoothing = math.NaN() },
		func(c *Config) { c.AgeSmoothing = math.Inf(-1) },
		func(c *Config) { c.Loss, c.FocalGamma = LossFocal, math.NaN() },
		func(c *Config) { c.MaskWeights = []float64{1, math.NaN(), 1} },
		func(c *Config) { c.MaskWeights = []float64{1, math.Inf(1), 1} },
	}
	for i, f := range bad {
		c := DefaultConfig()
		f(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("bad config %d accepted", i)
		}
		if _, err := New(c); err == nil {
			t.Errorf("New accepted bad config %d", i)
		}
	}
}

func TestParamsNamesAndShapes(t *testing.T) {
	m, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range m.Params() {
		if seen[p.Name] {
			t.Errorf("%s twice", p.Name)
		}
		seen[p.Name] = true
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		if n != len(p.Data) {
			t.Errorf("%s: shape %v but %d values", p.Name, p.Shape, len(p.Data))
		}
	}
	for name, shape := range map[string][]int{
		"stem.conv.weight":               {16, 3, 3, 3},
		"stem.bn.running_var":            {16},
		"stages.1.0.down.conv.weight":    {32, 16, 1, 1},
		"stages.3.0.conv2.weight":        {128, 128, 3, 3},
		"head.mask.weight":               {3, 128},
		"head.age.bias":                  {3},
		"stages.0.0.bn1.running_mean":    {16},
		"stages.2.0.down.bn.running_var": {64},
	} {
		p := m.Param(name)
		if p == nil {
			t.Errorf("no %s", name)
			continue
		}
		if !reflect.DeepEqual(p.Shape, shape) {
			t.Errorf("%s: shape %v, want %v", name, p.Shape, shape)
		}
	}
	if m.Param("stages.0.0.down.conv.weight") != nil {
		t.Error("stage 0 keeps its width and stride: no projection expected")
	}
	t.Logf("default model: %d trained scalars", m.NumTrainable())
}

// colourBatch makes n images of size s whose mean colour encodes the
// labels: red = mask, green = gender, blue = age, plus noise.
func colourBatch(n, s int, seed uint64) Batch {
	rng := rand.New(rand.NewPCG(seed, 7))
	b := Batch{N: n, Images: make([]float32, n*3*s*s), Mask: make([]int8, n), Gender: make([]int8, n), Age: make([]int8, n)}
	for i := 0; i < n; i++ {
		b.Mask[i] = int8(i % NumMask)
		b.Gender[i] = int8(i / 3 % NumGender)
		b.Age[i] = int8(rng.IntN(NumAge))
		level := [3]float64{float64(b.Mask[i]) - 1, 2*float64(b.Gender[i]) - 1, float64(b.Age[i]) - 1}
		for c := 0; c < 3; c++ {
			plane := b.Images[(i*3+c)*s*s : (i*3+c+1)*s*s]
			for j := range plane {
				plane[j] = float32(level[c] + 0.3*rng.NormFloat64())
			}
		}
	}
	return b
}

func lossOf(t *testing.T, m *Model, b Batch) Loss {
	t.Helper()
	gr, res, err := m.forwardBackward(b)
	if err != nil {
		t.Fatal(err)
	}
	gr.vm.Reset()
	return res
}

// TestGradientCheck compares gorgonia's gradients with central
// differences of the loss for a sample of every trained tensor, for the
// three-head and the 18-class layouts, with smoothing, class weights and
// focal loss.
func TestGradientCheck(t *testing.T) {
	variants := map[string]func(*Config){
		"ce smoothing weights": func(c *Config) {
			c.LabelSmoothing = 0.1
			c.AgeSmoothing = 0.2
			c.MaskWeights = []float64{1, 3, 0.5}
		},
		"focal": func(c *Config) { c.Loss = LossFocal; c.FocalGamma = 2 },
		"focal 1.5": func(c *Config) {
			c.Loss = LossFocal
			c.FocalGamma = 1.5
		},
		"single18": func(c *Config) { c.Heads = HeadsSingle18; c.AgeSmoothing = 0.1 },
	}
	for name, f := range variants {
		t.Run(name, func(t *testing.T) {
			cfg := tinyConfig()
			f(&cfg)
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			b := colourBatch(6, cfg.InputSize, 5)
			b.Age[1] = -1 // a partial label
			gr, _, err := m.forwardBackward(b)
			if err != nil {
				t.Fatal(err)
			}
			gs, err := gr.grads()
			if err != nil {
				t.Fatal(err)
			}
			ana := make([][]float32, len(gs))
			for i := range gs {
				ana[i] = append([]float32(nil), gs[i]...)
			}
			gr.vm.Reset()
			rng := rand.New(rand.NewPCG(11, 12))
			// h = 1e-3 is a compromise: with 1e-2 steps cross ReLU kinks,
			// below 1e-3 float32 rounding of the loss dominates
			const h = 1e-3
			bad, checked := 0, 0
			for i, g := range ana {
				p := m.params[i]
				for range min(4, len(p.Data)) {
					j := rng.IntN(len(p.Data))
					old := p.Data[j]
					p.Data[j] = old + h
					lp := lossOf(t, m, b).Total
					p.Data[j] = old - h
					lm := lossOf(t, m, b).Total
					p.Data[j] = old
					num := (lp - lm) / (2 * h)
					checked++
					if diff := math.Abs(num - float64(g[j])); diff > 1.5e-3+0.05*math.Abs(num) {
						bad++
						t.Logf("%s[%d]: numerical %.6f, gorgonia %.6f", p.Name, j, num, g[j])
					}
				}
			}
			// per tensor, the directional derivative along a random unit
			// direction through all its scalars at once
			for i, g := range ana {
				p := m.params[i]
				d := make([]float32, len(g))
				var dot float64
				for j := range d {
					d[j] = float32(rng.NormFloat64() / math.Sqrt(float64(len(g))))
					dot += float64(d[j]) * float64(g[j])
				}
				shift := func(by float32) {
					for j := range d {
						p.Data[j] += by * d[j]
					}
				}
				shift(h)
				lp := lossOf(t, m, b).Total
				shift(-2 * h)
				lm := lossOf(t, m, b).Total
				shift(h)
				num := (lp - lm) / (2 * h)
				checked++
				if math.Abs(num-dot) > 0.03*math.Abs(dot)+5e-4 {
					bad++
					t.Logf("%s along a random direction: numerical %.6f, gorgonia %.6f", p.Name, num, dot)
				}
			}
			// ReLU kinks can make a rare central difference jump; allow one
			if bad > 1 {
				t.Errorf("%d of %d gradient entries disagree", bad, checked)
			}
		})
	}
}

// TestPartialLabels checks that a head whose labels are all unknown gets
// zero loss and zero gradient, and that a fully unlabelled batch gives
// zero gradient everywhere.
func TestPartialLabels(t *testing.T) {
	m, err := New(tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	b := colourBatch(6, 8, 1)
	b.Age = []int8{-1, -1, -1, -1, -1, -1}
	gr, res, err := m.forwardBackward(b)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := gr.grads()
	if err != nil {
		t.Fatal(err)
	}
	if res.Age != 0 || res.LabelledAge != 0 || res.Mask <= 0 || res.Gender <= 0 {
		t.Errorf("loss %+v", res)
	}
	for i, g := range gs {
		p := m.params[i]
		zero := true
		for _, v := range g {
			if v != 0 {
				zero = false
			}
		}
		if strings.HasPrefix(p.Name, "head.age.") && !zero {
			t.Errorf("%s has gradient %v with no age labels", p.Name, g)
		}
		if strings.HasPrefix(p.Name, "head.mask.") && zero {
			t.Errorf("%s has no gradient", p.Name)
		}
	}
	gr.vm.Reset()

	// nothing labelled: no loss, no gradient, Step leaves weights alone
	// apart from weight decay
	none := Batch{N: 6, Images: b.Images, Mask: []int8{-1, -1, -1, -1, -1, -1}}
	gr, res, err = m.forwardBackward(none)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 0 {
		t.Errorf("loss %+v with no labels", res)
	}
	gs, _ = gr.grads()
	for i, g := range gs {
		for _, v := range g {
			if v != 0 {
				t.Fatalf("%s has gradient with no labels", m.params[i].Name)
			}
		}
	}
	gr.vm.Reset()
}

// TestTrainingLowersLoss trains on 32 synthetic 3x16x16 images whose
// classes show as colours and asks for a clearly lower loss and correct
// predictions.
func TestTrainingLowersLoss(t *testing.T) {
	for _, heads := range []string{HeadsThree, HeadsSingle18} {
		t.Run(heads, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.InputSize = 16
			cfg.Width = 8
			cfg.Blocks = []int{1, 1}
			cfg.LR = 3e-3
			cfg.Heads = heads
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			b := colourBatch(32, 16, 2)
			var first, last float64
			for step := range 40 {
				res, err := m.Step(b)
				if err != nil {
					t.Fatal(err)
				}
				if step == 0 {
					first = res.Total
				}
				last = res.Total
			}
			t.Logf("loss %.3f -> %.3f", first, last)
			if !(last < 0.4*first) {
				t.Errorf("loss %.3f -> %.3f: not clearly lower", first, last)
			}
			p, err := m.Predict(b.Images)
			if err != nil {
				t.Fatal(err)
			}
			right := 0
			for i := 0; i < b.N; i++ {
				if p.Pred18[i] == int(label.Join(b.Mask[i], b.Gender[i], b.Age[i])) {
					right++
				}
			}
			t.Logf("18-class training accuracy %d/32", right)
			if right < 24 {
				t.Errorf("only %d/32 right after training", right)
			}
		})
	}
}

func TestPredict(t *testing.T) {
	for _, heads := range []string{HeadsThree, HeadsSingle18} {
		cfg := tinyConfig()
		cfg.Heads = heads
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b := colourBatch(6, 8, 3)
		if _, err := m.Step(b); err != nil {
			t.Fatal(err)
		}
		all, err := m.Predict(b.Images) // 6 rows: one full chunk of 4, one padded
		if err != nil {
			t.Fatal(err)
		}
		one, err := m.Predict(b.Images[5*3*64:])
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range one.Class18 {
			if math.Abs(float64(v-all.Class18[5*label.NumClasses+k])) > 1e-6 {
				t.Fatalf("%s: row 5 alone differs from row 5 in a batch", heads)
			}
		}
		for i := 0; i < all.N; i++ {
			for _, head := range [][]float32{all.Mask[i*3 : i*3+3], all.Gender[i*2 : i*2+2], all.Age[i*3 : i*3+3], all.Class18[i*18 : i*18+18]} {
				var s float64
				for _, v := range head {
					s += float64(v)
				}
				if math.Abs(s-1) > 1e-4 {
					t.Fatalf("%s: probabilities sum to %v", heads, s)
				}
			}
			if all.Pred18[i] != pred.Argmax(all.Class18[i*18:i*18+18]) {
				t.Fatalf("Pred18 is not the argmax")
			}
		}
	}
	m, _ := New(tinyConfig())
	if _, err := m.Predict(make([]float32, 10)); err == nil {
		t.Error("Predict accepted a partial image")
	}
	if _, err := m.Step(Batch{N: 2, Images: make([]float32, 5)}); err == nil {
		t.Error("Step accepted a short batch")
	}
	if _, err := m.Step(Batch{N: 1, Images: make([]float32, 3*64)}); err == nil {
		t.Error("Step accepted a batch of one")
	}
	if _, err := m.Step(Batch{N: 2, Images: make([]float32, 2*3*64), Mask: []int8{1}}); err == nil {
		t.Error("Step accepted a short label column")
	}
}

func TestDeterministic(t *testing.T) {
	run := func(seed uint64) ([]float64, []float32) {
		cfg := tinyConfig()
		cfg.Seed = seed
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var losses []float64
		for i := range 3 {
			res, err := m.Step(colourBatch(6, 8, uint64(i)))
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, res.Total)
		}
		return losses, append([]float32(nil), m.Param("stem.conv.weight").Data...)
	}
	l1, w1 := run(1)
	l2, w2 := run(1)
	l3, w3 := run(2)
	if !reflect.DeepEqual(l1, l2) || !reflect.DeepEqual(w1, w2) {
		t.Error("same seed, different results")
	}
	if reflect.DeepEqual(l1, l3) || reflect.DeepEqual(w1, w3) {
		t.Error("different seeds, same results")
	}
}

// TestLossValue zeroes the head weights so that every row's logits are
// the head biases, and compares the loss with the formula computed here
// in float64: cross entropy with neighbour smoothing, class weights,
// unknown rows, and focal loss.
func TestLossValue(t *testing.T) {
	bias := map[string][]float64{"mask": {0.3, -1, 0.5}, "gender": {1.2, -0.4}, "age": {-0.2, 0.7, 0.1}}
	logSoftmax := func(z []float64) []float64 {
		mx := math.Inf(-1)
		for _, v := range z {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range z {
			s += math.Exp(v - mx)
		}
		out := make([]float64, len(z))
		for i, v := range z {
			out[i] = v - mx - math.Log(s)
		}
		return out
	}
	// expected returns the head's loss for labels under smoothing sm,
	// weights w (nil = 1) and focal gamma (0 = plain cross entropy)
	expected := func(z []float64, labels []int8, sm [][]float64, w []float64, gamma float64) float64 {
		lp := logSoftmax(z)
		var num, den float64
		for _, y := range labels {
			if y < 0 {
				continue
			}
			wy := 1.0
			if w != nil {
				wy = w[y]
			}
			var ce float64
			for k := range z {
				f := 1.0
				if gamma != 0 {
					f = math.Pow(1-math.Exp(lp[k]), gamma)
				}
				ce -= sm[y][k] * f * lp[k]
			}
			num += wy * ce
			den += wy
		}
		if den == 0 {
			return 0
		}
		return num / den
	}
	for _, gamma := range []float64{0, 2, 0.5} {
		cfg := tinyConfig()
		cfg.AgeSmoothing = 0.2
		cfg.LabelSmoothing = 0.1
		cfg.AgeWeights = []float64{2, 1, 0.5}
		if gamma != 0 {
			cfg.Loss = LossFocal
			cfg.FocalGamma = gamma
		}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for head, bs := range bias {
			clear(m.Param("head." + head + ".weight").Data)
			for i, v := range bs {
				m.Param("head." + head + ".bias").Data[i] = float32(v)
			}
		}
		b := colourBatch(6, 8, 9)
		b.Mask[2] = -1
		b.Age = []int8{0, 2, -1, 1, 1, 2}
		res := lossOf(t, m, b)
		want := map[string]float64{
			"mask":   expected(bias["mask"], b.Mask, UniformSmoothing(3, 0.1), nil, gamma),
			"gender": expected(bias["gender"], b.Gender, UniformSmoothing(2, 0.1), nil, gamma),
			"age":    expected(bias["age"], b.Age, NeighbourSmoothing(3, 0.2), cfg.AgeWeights, gamma),
		}
		got := map[string]float64{"mask": res.Mask, "gender": res.Gender, "age": res.Age}
		for head := range want {
			if math.Abs(got[head]-want[head]) > 1e-5 {
				t.Errorf("gamma %g, %s loss %.7f, want %.7f", gamma, head, got[head], want[head])
			}
		}
		if sum := want["mask"] + want["gender"] + want["age"]; math.Abs(res.Total-sum) > 3e-5 {
			t.Errorf("gamma %g, total %.7f, want %.7f", gamma, res.Total, sum)
		}
		if res.LabelledMask != 5 || res.LabelledGender != 6 || res.LabelledAge != 5 {
			t.Errorf("labelled counts %+v", res)
		}
	}
}
