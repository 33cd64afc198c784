package augment

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"golang.org/x/image/vector"
)

// MaskFit is how a synthetic mask sits on the face.
type MaskFit int

// The fits: worn correctly (nose, mouth and chin covered), pulled under
// the nose (nose out), or down on the chin (nose and mouth out). The last
// two are the competition's "incorrect".
const (
	FitWear MaskFit = iota
	FitNoseOut
	FitChin
)

func (f MaskFit) String() string { return [...]string{"wear", "nose-out", "chin"}[f] }

// maskShapes are the mask models drawn.
var maskShapes = []string{"surgical", "cloth", "kn95"}

// maskColors are the base colours (RGB) of the masks drawn.
var maskColors = []struct {
	name string
	rgb  [3]float64
}{
	{"blue", [3]float64{150, 196, 228}}, {"white", [3]float64{236, 238, 240}}, {"black", [3]float64{38, 38, 42}},
	{"grey", [3]float64{150, 152, 156}}, {"pink", [3]float64{236, 176, 190}}, {"navy", [3]float64{40, 52, 92}},
	{"mint", [3]float64{170, 220, 200}},
}

// ErrLandmarks reports landmarks that cannot carry a mask.
var ErrLandmarks = errors.New("augment: need the 68 dlib face landmarks")

// DrawMask draws a synthetic mask on the face whose 68 dlib landmarks (in
// m's pixels) are lm, fitted as fit, with a shape, colour and pattern
// drawn from rng, and returns a description such as "surgical/blue/plain".
//
// The mask outline follows the jaw (points 1-15 and the chin, 8), closed
// at the top across the nose bridge (wear), under the nose (nose out) or
// under the lower lip (chin). It is shaded like cloth on a curved face:
// darker towards the sides and the bottom, with pleats or seams, fabric
// grain, straps to the ears, and anti-aliased, slightly soft edges.
func DrawMask(m *Image, lm []image.Point, fit MaskFit, rng *rand.Rand) (string, error) {
	if len(lm) != 68 {
		return "", ErrLandmarks
	}
	P := func(i int) [2]float64 { return [2]float64{float64(lm[i].X), float64(lm[i].Y)} }
	faceW := dist(P(1), P(15))
	if faceW < 8 {
		return "", fmt.Errorf("%w: face only %.0f px wide", ErrLandmarks, faceW)
	}
	shape := maskShapes[rng.IntN(len(maskShapes))]
	col := maskColors[rng.IntN(len(maskColors))]
	pattern := "plain"
	if rng.IntN(5) == 0 {
		pattern = "stripes"
	}
	// The top edge: across the nose bridge, under the nose or under the lip.
	var topY float64
	var sideTop [2]int // jaw points where the top edge meets the face contour
	switch fit {
	case FitWear:
		topY = P(28)[1] + 0.25*(P(29)[1]-P(28)[1])
		sideTop = [2]int{1, 15}
	case FitNoseOut:
		topY = P(33)[1] + 0.35*(P(51)[1]-P(33)[1])
		sideTop = [2]int{3, 13}
	case FitChin:
		topY = P(57)[1] + 0.3*(P(8)[1]-P(57)[1])
		sideTop = [2]int{5, 11}
	default:
		return "", fmt.Errorf("augment: unknown mask fit %d", fit)
	}
	// Face axis: from between the eyes (27) to the chin (8).
	centreX := (P(27)[0] + P(8)[0]) / 2
	grow := 0.04 * faceW // masks stand a little off the face
	out := func(p [2]float64) [2]float64 {
		dx := p[0] - centreX
		return [2]float64{p[0] + grow*math.Copysign(1, dx), p[1] + 0.3*grow}
	}
	var poly [][2]float64
	left, right := out(P(sideTop[0])), out(P(sideTop[1]))
	left[1] = math.Min(left[1], topY+0.15*faceW)
	right[1] = math.Min(right[1], topY+0.15*faceW)
	// Top edge, left to right; cloth and kn95 rise to a point over the nose.
	poly = append(poly, left)
	mid := [2]float64{(left[0] + right[0]) / 2, topY}
	switch {
	case shape == "surgical" || fit == FitChin:
		poly = append(poly, [2]float64{left[0] + 0.2*(right[0]-left[0]), topY + 0.02*faceW}, [2]float64{right[0] - 0.2*(right[0]-left[0]), topY + 0.02*faceW})
	default:
		poly = append(poly, [2]float64{left[0] + 0.3*(right[0]-left[0]), topY + 0.05*faceW}, [2]float64{mid[0], topY - 0.03*faceW}, [2]float64{right[0] - 0.3*(right[0]-left[0]), topY + 0.05*faceW})
	}
	poly = append(poly, right)
	// Down the right side of the jaw, round the chin, up the left side.
	drop := 0.06 * faceW
	for i := sideTop[1] - 1; i > sideTop[0]; i-- {
		p := out(P(i))
		if p[1] <= topY {
			continue
		}
		if i >= 6 && i <= 10 {
			p[1] += drop
		}
		poly = append(poly, p)
	}
	// Coverage of the outline, anti-aliased, edges softened by a pixel.
	alpha := coverage(m.W, m.H, poly)
	// Shading and texture.
	base := col.rgb
	top, bottom := topY, P(8)[1]+drop
	halfW := math.Max(1, (right[0]-left[0])/2)
	pleatGap := (bottom - top) / 4
	phase := rng.Float64() * 2
	stripe := math.Max(2, 0.06*faceW) // stripe width in pixels
	for y := range m.H {
		fy := (float64(y) - top) / math.Max(1, bottom-top)
		for x := range m.W {
			a := float64(alpha.Pix[y*alpha.Stride+x]) / 255
			if a == 0 {
				continue
			}
			fx := (float64(x) - mid[0]) / halfW
			// Light from the front: a cylinder darkens towards the sides,
			// the chin's underside is in shadow.
			shade := 0.72 + 0.28*math.Cos(math.Min(1.3, math.Abs(fx))*1.1)
			shade *= 1 - 0.18*math.Max(0, fy-0.7)
			switch shape {
			case "surgical":
				if d := math.Mod(float64(y)-top+pleatGap*0.5, pleatGap); d < 2 && fy > 0.05 && fy < 0.95 {
					shade *= 0.84
				}
			case "kn95":
				if math.Abs(float64(x)-mid[0]) < 1.2 {
					shade *= 0.8
				}
			case "cloth":
				shade *= 0.985 + 0.015*math.Sin(float64(x+y)*0.9)
			}
			c := base
			if pattern == "stripes" && math.Mod((float64(y)-top)/stripe+phase, 2) < 1 {
				c = [3]float64{base[0] * 0.75, base[1] * 0.75, base[2] * 0.8}
			}
			grain := 1 + 0.04*(rng.Float64()-0.5)
			o := 3 * (y*m.W + x)
			for k := range 3 {
				v := c[k] * shade * grain
				m.Pix[o+k] = clamp8(float32(float64(m.Pix[o+k])*(1-a) + v*a))
			}
		}
	}
	// Ear straps, from the mask's upper corners towards the ears.
	strap := [3]float64{base[0] * 0.85, base[1] * 0.85, base[2] * 0.85}
	for _, s := range [][2][2]float64{{left, out(P(0))}, {right, out(P(16))}} {
		drawLine(m, s[0], s[1], math.Max(1, 0.012*faceW), strap)
	}
	return shape + "/" + col.name + "/" + pattern, nil
}

func dist(a, b [2]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }

// coverage rasterises a polygon into an alpha image (golang.org/x/image/
// vector, anti-aliased) and softens its edge with a 3x3 box blur.
func coverage(w, h int, poly [][2]float64) *image.Alpha {
	z := vector.NewRasterizer(w, h)
	z.MoveTo(float32(poly[0][0]), float32(poly[0][1]))
	for _, p := range poly[1:] {
		z.LineTo(float32(p[0]), float32(p[1]))
	}
	z.ClosePath()
	a := image.NewAlpha(image.Rect(0, 0, w, h))
	z.Draw(a, a.Bounds(), image.Opaque, image.Point{})
	soft := image.NewAlpha(a.Bounds())
	for y := range h {
		for x := range w {
			sum, n := 0, 0
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					if xx, yy := x+dx, y+dy; xx >= 0 && yy >= 0 && xx < w && yy < h {
						sum += int(a.Pix[yy*a.Stride+xx])
						n++
					}
				}
			}
			soft.Pix[y*soft.Stride+x] = uint8(sum / n)
		}
	}
	return soft
}

// drawLine draws an anti-aliased line of width w.
func drawLine(m *Image, a, b [2]float64, w float64, c [3]float64) {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l := math.Hypot(dx, dy)
	if l < 1 {
		return
	}
	nx, ny := -dy/l*w/2, dx/l*w/2
	poly := [][2]float64{{a[0] + nx, a[1] + ny}, {b[0] + nx, b[1] + ny}, {b[0] - nx, b[1] - ny}, {a[0] - nx, a[1] - ny}}
	z := vector.NewRasterizer(m.W, m.H)
	z.MoveTo(float32(poly[0][0]), float32(poly[0][1]))
	for _, p := range poly[1:] {
		z.LineTo(float32(p[0]), float32(p[1]))
	}
	z.ClosePath()
	alpha := image.NewAlpha(image.Rect(0, 0, m.W, m.H))
	z.Draw(alpha, alpha.Bounds(), image.Opaque, image.Point{})
	r := image.Rect(int(math.Min(a[0], b[0])-w-1), int(math.Min(a[1], b[1])-w-1), int(math.Max(a[0], b[0])+w+2), int(math.Max(a[1], b[1])+w+2)).Intersect(alpha.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			av := float64(alpha.Pix[y*alpha.Stride+x]) / 255
			if av == 0 {
				continue
			}
			o := 3 * (y*m.W + x)
			for k := range 3 {
				m.Pix[o+k] = clamp8(float32(float64(m.Pix[o+k])*(1-av) + c[k]*av))
			}
		}
	}
}
