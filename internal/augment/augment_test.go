package augment

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// testImage is a w x h image with a gradient and a bright block in the
// top-left corner, so flips and moves are visible.
func testImage(w, h int) *Image {
	m := NewImage(w, h)
	for y := range h {
		for x := range w {
			o := 3 * (y*w + x)
			m.Pix[o], m.Pix[o+1], m.Pix[o+2] = byte(x*255/w), byte(y*255/h), byte((x+y)%256)
			if x < w/4 && y < h/4 {
				m.Pix[o], m.Pix[o+1], m.Pix[o+2] = 250, 240, 10
			}
		}
	}
	return m
}

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

func at(m *Image, x, y int) [3]byte {
	o := 3 * (y*m.W + x)
	return [3]byte{m.Pix[o], m.Pix[o+1], m.Pix[o+2]}
}

func stats(m *Image) (mean, std float64) {
	for _, v := range m.Pix {
		mean += float64(v)
	}
	mean /= float64(len(m.Pix))
	for _, v := range m.Pix {
		std += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(std / float64(len(m.Pix)))
}

func TestFlipFlips(t *testing.T) {
	m := testImage(31, 20)
	orig := m.Clone()
	Flip{}.Apply(m, nil)
	for y := range 20 {
		for x := range 31 {
			if at(m, x, y) != at(orig, 30-x, y) {
				t.Fatalf("pixel (%d,%d) = %v, want the mirror's %v", x, y, at(m, x, y), at(orig, 30-x, y))
			}
		}
	}
	Flip{}.Apply(m, nil)
	if !bytes.Equal(m.Pix, orig.Pix) {
		t.Error("flipping twice is not the identity")
	}
}

func TestIdentityParameters(t *testing.T) {
	for _, op := range []Op{Jitter{}, Affine{}, Blur{Sigma: Range{0, 0}}, Noise{Sigma: Range{0, 0}}} {
		m := testImage(40, 30)
		orig := m.Clone()
		out := op.Apply(m, rng(1))
		diff := 0
		for i := range out.Pix {
			d := int(out.Pix[i]) - int(orig.Pix[i])
			diff = max(diff, d, -d)
		}
		if diff > 1 { // rounding
			t.Errorf("%s with neutral parameters changed a value by %d", op.Spec(), diff)
		}
	}
}

func TestJPEGIsLossyButClose(t *testing.T) {
	m := testImage(64, 64)
	out := JPEG{Quality: Range{90, 90}}.Apply(m.Clone(), rng(1))
	sum := 0
	for i := range out.Pix {
		d := int(out.Pix[i]) - int(m.Pix[i])
		sum += max(d, -d)
	}
	if mean := float64(sum) / float64(len(m.Pix)); mean == 0 || mean > 6 {
		t.Errorf("jpeg(q=90) mean absolute change %.2f, want small but not zero", mean)
	}
}

func TestZeroProbabilityChangesNothing(t *testing.T) {
	p, err := Parse("flip:0,noise(s=50):0,cutout(n=3,f=0.5):0")
	if err != nil {
		t.Fatal(err)
	}
	m := testImage(32, 32)
	orig := m.Clone()
	r1, r2 := rng(5), rng(5)
	out, ran := p.Apply(m, r1)
	if !bytes.Equal(out.Pix, orig.Pix) || len(ran) != 0 {
		t.Errorf("ops with probability 0 ran: %v", ran)
	}
	if r1.Uint64() != r2.Uint64() {
		t.Error("ops with probability 0 drew random numbers")
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	p, err := Parse(DefaultSpec)
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64) []byte {
		out, _ := p.Apply(testImage(64, 48), rng(seed))
		return out.Pix
	}
	if !bytes.Equal(run(7), run(7)) {
		t.Error("same seed, different bytes")
	}
	differ := 0
	for s := uint64(1); s <= 5; s++ {
		if !bytes.Equal(run(s), run(s+100)) {
			differ++
		}
	}
	if differ < 4 {
		t.Errorf("only %d of 5 seed pairs gave different images", differ)
	}
}

func TestOpsDoWhatTheySay(t *testing.T) {
	base := testImage(64, 64)
	_, std0 := stats(base)

	g := Gray{}.Apply(base.Clone(), nil)
	for i := 0; i < len(g.Pix); i += 3 {
		if g.Pix[i] != g.Pix[i+1] || g.Pix[i] != g.Pix[i+2] {
			t.Fatal("gray left colour")
		}
	}
	if _, s := stats(Blur{Sigma: Range{2, 2}}.Apply(base.Clone(), rng(1))); s >= std0 {
		t.Errorf("blur did not smooth: std %.1f -> %.1f", std0, s)
	}
	flat := NewImage(100, 100)
	for i := range flat.Pix {
		flat.Pix[i] = 128
	}
	if _, s := stats(Noise{Sigma: Range{10, 10}}.Apply(flat, rng(1))); s < 9 || s > 11 {
		t.Errorf("noise of sigma 10 gave std %.2f", s)
	}
	// Brightness only: a factor in [0.5, 1.5] scales every value alike.
	bright := Jitter{Brightness: 0.5}.Apply(base.Clone(), rng(3))
	m0, _ := stats(base)
	m1, _ := stats(bright)
	ratio := m1 / m0
	if ratio < 0.45 || ratio > 1.55 || math.Abs(ratio-1) < 0.01 {
		t.Errorf("brightness changed the mean by %.3f", ratio)
	}
	// Saturation to zero is gray.
	desat := Jitter{Saturation: 1}
	for seed := uint64(1); seed < 50; seed++ {
		r := rng(seed)
		r.Float64()
		r.Float64()
		if s := r.Float64(); s < 0.02 { // 1 + (2s-1) ~ 0
			out := desat.Apply(base.Clone(), rng(seed))
			for i := 0; i < len(out.Pix); i += 3 {
				if d := int(out.Pix[i]) - int(out.Pix[i+2]); d > 8 || d < -8 {
					t.Fatalf("saturation ~0 left colour %v", out.Pix[i:i+3])
				}
			}
			break
		}
	}
	// Cutout blanks about n*side^2 pixels with grey 128.
	c := Cutout{Count: 1, Size: 0.25}.Apply(NewImage(80, 80), rng(2))
	grey := 0
	for i := 0; i < len(c.Pix); i += 3 {
		if c.Pix[i] == 128 {
			grey++
		}
	}
	if grey == 0 || grey > 400 {
		t.Errorf("cutout blanked %d pixels, want up to 20x20", grey)
	}
	// A pure shift moves the bright corner block.
	moved := Affine{Shift: 0.2}.Apply(base.Clone(), rng(9))
	if bytes.Equal(moved.Pix, base.Pix) {
		t.Error("affine shift changed nothing")
	}
}

func TestParse(t *testing.T) {
	p, err := Parse(DefaultSpec)
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != DefaultSpec {
		t.Errorf("round trip:\n%s\n%s", p.String(), DefaultSpec)
	}
	if q, err := Parse("flip , gray:0.25"); err != nil || len(q) != 2 || q[0].P != 1 || q[1].P != 0.25 {
		t.Errorf("Parse(flip , gray:0.25) = %v, %v", q, err)
	}
	for _, bad := range []string{"", "flip,", "spin", "flip:2", "flip:x", "blur(s=3..1)", "blur(q=1)", "jitter(b=0.1,b=0.2)",
		"affine(r=400)", "cutout(n=1.5)", "noise(s=)", "blur(s=1", "jpeg(q=0..50)", "jitter(b=0.1..0.2)"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultSpec)
	f.Add("flip:0.5,blur(s=1..2)")
	f.Add("cutout(n=2,f=0.1):1")
	f.Fuzz(func(t *testing.T, spec string) {
		p, err := Parse(spec)
		if err != nil {
			return
		}
		q, err := Parse(p.String())
		if err != nil || q.String() != p.String() {
			t.Fatalf("%q -> %q does not parse back: %v", spec, p.String(), err)
		}
		if strings.Contains(p.String(), "NaN") {
			t.Fatalf("%q parsed to NaN values", spec)
		}
	})
}

func TestTensor(t *testing.T) {
	m := NewImage(2, 1)
	copy(m.Pix, []byte{255, 0, 0, 0, 255, 0})
	dst := make([]float32, 6)
	if err := Tensor(m, dst, [3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5}); err != nil {
		t.Fatal(err)
	}
	want := []float32{1, -1, -1, 1, -1, -1} // R plane, G plane, B plane
	for i := range want {
		if math.Abs(float64(dst[i]-want[i])) > 1e-6 {
			t.Fatalf("tensor %v, want %v", dst, want)
		}
	}
	if Tensor(m, dst[:5], MeanRGB, StdRGB) == nil {
		t.Error("short tensor accepted")
	}
}

func BenchmarkDefaultPipeline224(b *testing.B) {
	p, _ := Parse(DefaultSpec)
	src := testImage(224, 224)
	r := rng(1)
	b.ReportAllocs()
	for b.Loop() {
		p.Apply(src.Clone(), r)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "img/s/core")
}
