package augment

import (
	"bytes"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Op is one transform. Apply may change m in place; it returns the result.
type Op interface {
	// Spec is the op as the spec string writes it, e.g. "blur(s=0.3..1.2)".
	Spec() string
	Apply(m *Image, rng *rand.Rand) *Image
}

// Range is a closed interval a random value is drawn from.
type Range struct{ Lo, Hi float64 }

func (r Range) draw(rng *rand.Rand) float64 { return r.Lo + (r.Hi-r.Lo)*rng.Float64() }

// Flip mirrors the image left to right.
type Flip struct{}

// Spec is "flip".
func (Flip) Spec() string { return "flip" }

// Apply mirrors m in place.
func (Flip) Apply(m *Image, _ *rand.Rand) *Image {
	for y := range m.H {
		row := m.Pix[3*y*m.W : 3*(y+1)*m.W]
		for l, r := 0, 3*(m.W-1); l < r; l, r = l+3, r-3 {
			row[l], row[r] = row[r], row[l]
			row[l+1], row[r+1] = row[r+1], row[l+1]
			row[l+2], row[r+2] = row[r+2], row[l+2]
		}
	}
	return m
}

// Jitter changes brightness, contrast and saturation by random factors in
// [1-x, 1+x] and turns the hue by up to Hue of a full turn. The four are
// linear in RGB, so they are composed into one 3x4 matrix and applied in a
// single pass.
type Jitter struct{ Brightness, Contrast, Saturation, Hue float64 }

// Spec is "jitter(b=..,c=..,s=..,h=..)".
func (j Jitter) Spec() string {
	return "jitter(b=" + ftoa(j.Brightness) + ",c=" + ftoa(j.Contrast) + ",s=" + ftoa(j.Saturation) + ",h=" + ftoa(j.Hue) + ")"
}

// luma weights (ITU-R BT.601).
var luma = [3]float64{0.299, 0.587, 0.114}

type mat34 [3][4]float64

func (a mat34) then(b mat34) mat34 { // b applied after a
	var out mat34
	for i := range 3 {
		for j := range 4 {
			v := 0.0
			for k := range 3 {
				v += b[i][k] * a[k][j]
			}
			if j == 3 {
				v += b[i][3]
			}
			out[i][j] = v
		}
	}
	return out
}

func identity() mat34 { return mat34{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}} }

// Apply jitters m in place.
func (j Jitter) Apply(m *Image, rng *rand.Rand) *Image {
	b := 1 + j.Brightness*(2*rng.Float64()-1)
	c := 1 + j.Contrast*(2*rng.Float64()-1)
	s := 1 + j.Saturation*(2*rng.Float64()-1)
	h := j.Hue * (2*rng.Float64() - 1) * 2 * math.Pi
	mean := meanLuma(m) * b
	t := identity()
	// brightness
	t = t.then(mat34{{b, 0, 0, 0}, {0, b, 0, 0}, {0, 0, b, 0}})
	// contrast around the mean luminance
	t = t.then(mat34{{c, 0, 0, (1 - c) * mean}, {0, c, 0, (1 - c) * mean}, {0, 0, c, (1 - c) * mean}})
	// saturation: blend with the pixel's own luminance
	var sat mat34
	for i := range 3 {
		for k := range 3 {
			sat[i][k] = (1 - s) * luma[k]
		}
		sat[i][i] += s
	}
	t = t.then(sat)
	// hue: rotate the chroma plane of YIQ
	if h != 0 {
		t = t.then(hueRotation(h))
	}
	var f [12]float32
	for i := range 3 {
		for k := range 4 {
			f[4*i+k] = float32(t[i][k])
		}
	}
	p := m.Pix
	for i := 0; i+2 < len(p); i += 3 {
		r, g, bb := float32(p[i]), float32(p[i+1]), float32(p[i+2])
		p[i] = clamp8(f[0]*r + f[1]*g + f[2]*bb + f[3])
		p[i+1] = clamp8(f[4]*r + f[5]*g + f[6]*bb + f[7])
		p[i+2] = clamp8(f[8]*r + f[9]*g + f[10]*bb + f[11])
	}
	return m
}

// hueRotation turns the hue by angle radians: RGB -> YIQ, rotate (I, Q),
// back to RGB.
func hueRotation(angle float64) mat34 {
	toYIQ := [3][3]float64{{0.299, 0.587, 0.114}, {0.596, -0.274, -0.322}, {0.211, -0.523, 0.312}}
	toRGB := [3][3]float64{{1, 0.956, 0.621}, {1, -0.272, -0.647}, {1, -1.106, 1.703}}
	cs, sn := math.Cos(angle), math.Sin(angle)
	rot := [3][3]float64{{1, 0, 0}, {0, cs, -sn}, {0, sn, cs}}
	mul := func(a, b [3][3]float64) (o [3][3]float64) {
		for i := range 3 {
			for j := range 3 {
				for k := range 3 {
					o[i][j] += a[i][k] * b[k][j]
				}
			}
		}
		return o
	}
	r := mul(toRGB, mul(rot, toYIQ))
	return mat34{{r[0][0], r[0][1], r[0][2], 0}, {r[1][0], r[1][1], r[1][2], 0}, {r[2][0], r[2][1], r[2][2], 0}}
}

func meanLuma(m *Image) float64 {
	var sum float64
	n := 0
	for i := 0; i+2 < len(m.Pix); i += 3 * 7 { // every 7th pixel is plenty
		sum += luma[0]*float64(m.Pix[i]) + luma[1]*float64(m.Pix[i+1]) + luma[2]*float64(m.Pix[i+2])
		n++
	}
	return sum / float64(max(1, n))
}

// Affine rotates by up to Rotate degrees, scales by up to 1±Scale and
// shifts by up to Shift of the image size, about the centre, with
// bilinear sampling and the border pixels repeated outward.
type Affine struct{ Rotate, Scale, Shift float64 }

// Spec is "affine(r=..,s=..,t=..)".
func (a Affine) Spec() string {
	return "affine(r=" + ftoa(a.Rotate) + ",s=" + ftoa(a.Scale) + ",t=" + ftoa(a.Shift) + ")"
}

// Apply returns the moved image (a new buffer).
func (a Affine) Apply(m *Image, rng *rand.Rand) *Image {
	angle := a.Rotate * (2*rng.Float64() - 1) * math.Pi / 180
	scale := 1 + a.Scale*(2*rng.Float64()-1)
	tx := a.Shift * (2*rng.Float64() - 1) * float64(m.W)
	ty := a.Shift * (2*rng.Float64() - 1) * float64(m.H)
	out := NewImage(m.W, m.H)
	cx, cy := float64(m.W-1)/2, float64(m.H-1)/2
	// Inverse map: source = R(-angle)/scale * (dest - centre - shift) + centre.
	cs, sn := math.Cos(angle)/scale, math.Sin(angle)/scale
	w, h := m.W, m.H
	for y := range h {
		dy := float64(y) - cy - ty
		for x := range w {
			dx := float64(x) - cx - tx
			sx := cs*dx + sn*dy + cx
			sy := -sn*dx + cs*dy + cy
			sample(m, sx, sy, out.Pix[3*(y*w+x):])
		}
	}
	return out
}

// sample writes the bilinear sample of m at (x, y) to dst[0:3], clamping
// coordinates to the image.
func sample(m *Image, x, y float64, dst []byte) {
	x = math.Max(0, math.Min(x, float64(m.W-1)))
	y = math.Max(0, math.Min(y, float64(m.H-1)))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, m.W-1), min(y0+1, m.H-1)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	p := m.Pix
	a, b := 3*(y0*m.W+x0), 3*(y0*m.W+x1)
	c, d := 3*(y1*m.W+x0), 3*(y1*m.W+x1)
	for k := range 3 {
		top := float32(p[a+k]) + (float32(p[b+k])-float32(p[a+k]))*fx
		bot := float32(p[c+k]) + (float32(p[d+k])-float32(p[c+k]))*fx
		dst[k] = clamp8(top + (bot-top)*fy)
	}
}

// Blur is a Gaussian blur with a sigma drawn from Sigma (pixels).
type Blur struct{ Sigma Range }

// Spec is "blur(s=lo..hi)".
func (b Blur) Spec() string { return "blur(s=" + rtoa(b.Sigma) + ")" }

// Apply blurs m in place (two separable passes).
func (b Blur) Apply(m *Image, rng *rand.Rand) *Image {
	sigma := b.Sigma.draw(rng)
	if sigma < 0.05 {
		return m
	}
	r := max(1, int(math.Ceil(3*sigma)))
	k := make([]float32, 2*r+1)
	var sum float32
	for i := range k {
		d := float64(i - r)
		k[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	w, h := m.W, m.H
	tmp := make([]float32, len(m.Pix))
	for y := range h {
		for x := range w {
			var acc [3]float32
			for i, kv := range k {
				xx := min(max(x+i-r, 0), w-1)
				o := 3 * (y*w + xx)
				acc[0] += kv * float32(m.Pix[o])
				acc[1] += kv * float32(m.Pix[o+1])
				acc[2] += kv * float32(m.Pix[o+2])
			}
			o := 3 * (y*w + x)
			tmp[o], tmp[o+1], tmp[o+2] = acc[0], acc[1], acc[2]
		}
	}
	for y := range h {
		for x := range w {
			var acc [3]float32
			for i, kv := range k {
				yy := min(max(y+i-r, 0), h-1)
				o := 3 * (yy*w + x)
				acc[0] += kv * tmp[o]
				acc[1] += kv * tmp[o+1]
				acc[2] += kv * tmp[o+2]
			}
			o := 3 * (y*w + x)
			m.Pix[o], m.Pix[o+1], m.Pix[o+2] = clamp8(acc[0]), clamp8(acc[1]), clamp8(acc[2])
		}
	}
	return m
}

// Noise adds Gaussian noise whose standard deviation (in 0..255 levels)
// is drawn from Sigma.
type Noise struct{ Sigma Range }

// Spec is "noise(s=lo..hi)".
func (n Noise) Spec() string { return "noise(s=" + rtoa(n.Sigma) + ")" }

// normal holds standard normal quantiles at (i+0.5)/1024: a 10-bit random
// index into it is a Gaussian draw, six of them from one 64-bit number.
var normal = func() [1024]float32 {
	var t [1024]float32
	for i := range t {
		t[i] = float32(math.Sqrt2 * math.Erfinv(2*(float64(i)+0.5)/1024-1))
	}
	return t
}()

// Apply adds noise in place.
func (n Noise) Apply(m *Image, rng *rand.Rand) *Image {
	s := float32(n.Sigma.draw(rng))
	p := m.Pix
	for i := 0; i < len(p); {
		bits := rng.Uint64()
		for j := 0; j < 6 && i < len(p); j++ {
			p[i] = clamp8(float32(p[i]) + s*normal[bits&1023])
			bits >>= 10
			i++
		}
	}
	return m
}

// Cutout blanks Count squares with sides of Size of the shorter image side,
// at random places, with mid grey (random erasing).
type Cutout struct {
	Count int
	Size  float64
}

// Spec is "cutout(n=..,f=..)".
func (c Cutout) Spec() string { return "cutout(n=" + itoa(c.Count) + ",f=" + ftoa(c.Size) + ")" }

// Apply blanks m in place.
func (c Cutout) Apply(m *Image, rng *rand.Rand) *Image {
	side := max(1, int(c.Size*float64(min(m.W, m.H))))
	for range c.Count {
		x0 := rng.IntN(m.W) - side/2
		y0 := rng.IntN(m.H) - side/2
		for y := max(0, y0); y < min(m.H, y0+side); y++ {
			for x := max(0, x0); x < min(m.W, x0+side); x++ {
				o := 3 * (y*m.W + x)
				m.Pix[o], m.Pix[o+1], m.Pix[o+2] = 128, 128, 128
			}
		}
	}
	return m
}

// JPEG re-encodes the image at a quality drawn from Quality, for the
// compression artefacts photos carry.
type JPEG struct{ Quality Range }

// Spec is "jpeg(q=lo..hi)".
func (j JPEG) Spec() string { return "jpeg(q=" + rtoa(j.Quality) + ")" }

// Apply returns the re-encoded image.
func (j JPEG) Apply(m *Image, rng *rand.Rand) *Image {
	q := int(math.Round(j.Quality.draw(rng)))
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m.RGBA(), &jpeg.Options{Quality: min(100, max(1, q))}); err != nil {
		return m // encoding an in-memory RGBA image does not fail
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		return m
	}
	return FromImage(img)
}

// Gray turns the image to its luminance (kept as three equal channels).
type Gray struct{}

// Spec is "gray".
func (Gray) Spec() string { return "gray" }

// Apply grays m in place.
func (Gray) Apply(m *Image, _ *rand.Rand) *Image {
	p := m.Pix
	for i := 0; i+2 < len(p); i += 3 {
		v := clamp8(float32(luma[0])*float32(p[i]) + float32(luma[1])*float32(p[i+1]) + float32(luma[2])*float32(p[i+2]))
		p[i], p[i+1], p[i+2] = v, v, v
	}
	return m
}
