package demo

import "math"

// This file holds a tiny anti-aliased rasteriser. Every shape is a signed
// distance function in "face units" (the face is about 2 units wide); an
// xform maps face units to canvas pixels, so position, size and rotation of
// the whole head come from one place. Coverage is computed from the signed
// distance in pixels, which gives anti-aliased edges for free and soft
// (feathered) edges for shading blobs.

// rgb is a colour with 0..255 channels kept as float32 while drawing.
type rgb struct{ r, g, b float32 }

func (c rgb) scale(f float64) rgb {
	k := float32(f)
	return rgb{c.r * k, c.g * k, c.b * k}
}

func mix(a, b rgb, t float64) rgb {
	k := float32(t)
	return rgb{a.r + (b.r-a.r)*k, a.g + (b.g-a.g)*k, a.b + (b.b-a.b)*k}
}

// canvas is an RGB float image.
type canvas struct {
	w, h int
	pix  []float32 // 3 per pixel, row major
	soft float64   // minimum feather in pixels (0: 1)
}

func newCanvas(w, h int) *canvas {
	return &canvas{w: w, h: h, pix: make([]float32, 3*w*h)}
}

// xform maps face units (u, v) to pixels (x, y): rotate, scale, translate.
type xform struct {
	cx, cy, s, cos, sin float64
}

func newXform(cx, cy, scale, angle float64) xform {
	return xform{cx: cx, cy: cy, s: scale, cos: math.Cos(angle), sin: math.Sin(angle)}
}

func (t xform) toPix(u, v float64) (float64, float64) {
	return t.cx + t.s*(t.cos*u-t.sin*v), t.cy + t.s*(t.sin*u+t.cos*v)
}

func (t xform) toFace(x, y float64) (float64, float64) {
	dx, dy := x-t.cx, y-t.cy
	return (t.cos*dx + t.sin*dy) / t.s, (-t.sin*dx + t.cos*dy) / t.s
}

// box is an axis-aligned bounding box in face units.
type box struct{ u0, v0, u1, v1 float64 }

func (b box) grow(d float64) box { return box{b.u0 - d, b.v0 - d, b.u1 + d, b.v1 + d} }

func (b box) union(o box) box {
	return box{math.Min(b.u0, o.u0), math.Min(b.v0, o.v0), math.Max(b.u1, o.u1), math.Max(b.v1, o.v1)}
}

func (b box) inter(o box) box {
	return box{math.Max(b.u0, o.u0), math.Max(b.v0, o.v0), math.Min(b.u1, o.u1), math.Min(b.v1, o.v1)}
}

// shape is a region given by an (approximate) signed distance in face units,
// negative inside.
type shape interface {
	sd(u, v float64) float64
	bounds() box
}

// ellipse, optionally rotated by rot radians around its centre.
type ellipse struct {
	cx, cy, rx, ry float64
	c, s           float64 // cos, sin of the rotation
	rot            bool
}

func ell(cx, cy, rx, ry float64) *ellipse {
	return &ellipse{cx: cx, cy: cy, rx: rx, ry: ry, c: 1}
}

func rell(cx, cy, rx, ry, angle float64) *ellipse {
	return &ellipse{cx: cx, cy: cy, rx: rx, ry: ry, c: math.Cos(angle), s: math.Sin(angle), rot: angle != 0}
}

func (e *ellipse) sd(u, v float64) float64 {
	x, y := u-e.cx, v-e.cy
	if e.rot {
		x, y = e.c*x+e.s*y, -e.s*x+e.c*y
	}
	qx, qy := x/e.rx, y/e.ry
	k0 := math.Sqrt(qx*qx + qy*qy)
	gx, gy := qx/e.rx, qy/e.ry
	k1 := math.Sqrt(gx*gx + gy*gy)
	if k1 < 1e-12 {
		return -math.Min(e.rx, e.ry)
	}
	return k0 * (k0 - 1) / k1
}

func (e *ellipse) bounds() box {
	r := math.Max(e.rx, e.ry)
	if !e.rot {
		return box{e.cx - e.rx, e.cy - e.ry, e.cx + e.rx, e.cy + e.ry}
	}
	return box{e.cx - r, e.cy - r, e.cx + r, e.cy + r}
}

// rbox is a rectangle with rounded corners (radius rad).
type rbox struct{ cx, cy, hx, hy, rad float64 }

func (b *rbox) sd(u, v float64) float64 {
	qx := math.Abs(u-b.cx) - b.hx + b.rad
	qy := math.Abs(v-b.cy) - b.hy + b.rad
	ox, oy := max(qx, 0), max(qy, 0)
	return math.Sqrt(ox*ox+oy*oy) + min(max(qx, qy), 0) - b.rad
}

func (b *rbox) bounds() box { return box{b.cx - b.hx, b.cy - b.hy, b.cx + b.hx, b.cy + b.hy} }

// pt is a point in face units.
type pt struct{ u, v float64 }

// stroke is a thick polyline whose radius goes linearly from r0 at the first
// point to r1 at the last.
type stroke struct {
	p      []pt
	r      []float64
	bb     box
	maxRad float64
}

func newStroke(p []pt, r0, r1 float64) *stroke {
	s := &stroke{p: p, r: make([]float64, len(p))}
	n := len(p) - 1
	s.bb = box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for i, q := range p {
		t := 0.0
		if n > 0 {
			t = float64(i) / float64(n)
		}
		s.r[i] = r0 + (r1-r0)*t
		s.bb = s.bb.union(box{q.u, q.v, q.u, q.v})
	}
	s.maxRad = math.Max(r0, r1)
	s.bb = s.bb.grow(s.maxRad)
	return s
}

// taper makes a stroke thin at both ends and thick (r) in the middle.
func taperStroke(p []pt, r, end float64) *stroke {
	s := newStroke(p, r, r)
	n := len(p) - 1
	for i := range p {
		t := float64(i) / float64(n)
		s.r[i] = end + (r-end)*math.Sin(math.Pi*t)
	}
	return s
}

func (s *stroke) sd(u, v float64) float64 {
	best := math.Inf(1)
	for i := 0; i+1 < len(s.p); i++ {
		a, b := s.p[i], s.p[i+1]
		bx, by := b.u-a.u, b.v-a.v
		px, py := u-a.u, v-a.v
		l2 := bx*bx + by*by
		h := 0.0
		if l2 > 0 {
			h = (px*bx + py*by) / l2
			h = max(0, min(1, h))
		}
		dx, dy := px-bx*h, py-by*h
		d := math.Sqrt(dx*dx+dy*dy) - (s.r[i] + (s.r[i+1]-s.r[i])*h)
		if d < best {
			best = d
		}
	}
	return best
}

func (s *stroke) bounds() box { return s.bb }

// quad samples a quadratic Bezier curve into n segments.
func quad(a, c, b pt, n int) []pt {
	out := make([]pt, n+1)
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		m := 1 - t
		out[i] = pt{m*m*a.u + 2*m*t*c.u + t*t*b.u, m*m*a.v + 2*m*t*c.v + t*t*b.v}
	}
	return out
}

// poly is a closed polygon (exact signed distance).
type poly struct {
	p  []pt
	bb box
}

func newPoly(p []pt) *poly {
	g := &poly{p: p, bb: box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}}
	for _, q := range p {
		g.bb = g.bb.union(box{q.u, q.v, q.u, q.v})
	}
	return g
}

func (g *poly) sd(u, v float64) float64 {
	p := g.p
	n := len(p)
	d := math.Inf(1)
	s := 1.0
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		ex, ey := p[j].u-p[i].u, p[j].v-p[i].v
		wx, wy := u-p[i].u, v-p[i].v
		h := (wx*ex + wy*ey) / (ex*ex + ey*ey)
		h = max(0, min(1, h))
		bx, by := wx-ex*h, wy-ey*h
		d = min(d, bx*bx+by*by)
		c1 := v >= p[i].v
		c2 := v < p[j].v
		c3 := ex*wy > ey*wx
		if (c1 && c2 && c3) || (!c1 && !c2 && !c3) {
			s = -s
		}
	}
	return s * math.Sqrt(d)
}

func (g *poly) bounds() box { return g.bb }

// implicit is a region {f < 0}; near the edge the distance is estimated as
// f/|grad f| with a numeric gradient, which is plenty for anti-aliasing.
// gmax bounds |grad f|: when |f| > implicitFar*gmax the point is at least
// implicitFar away from the edge, and f/gmax (same sign, at least
// implicitFar in size) is returned without the two extra evaluations. This
// is exact enough for every use here: feathers, offsets and ring widths
// (plus half their feather) all stay below implicitFar.
type implicit struct {
	f    func(u, v float64) float64
	bb   box
	gmax float64
}

const implicitFar = 0.25

func (s *implicit) sd(u, v float64) float64 {
	const e = 1e-3
	f0 := s.f(u, v)
	if f0 > implicitFar*s.gmax || f0 < -implicitFar*s.gmax {
		return f0 / s.gmax
	}
	gx := (s.f(u+e, v) - f0) / e
	gy := (s.f(u, v+e) - f0) / e
	g := math.Sqrt(gx*gx + gy*gy)
	if g < 1e-9 {
		return f0
	}
	return f0 / g
}

func (s *implicit) bounds() box { return s.bb }

type interShape struct{ a, b shape }

func (s interShape) sd(u, v float64) float64 { return max(s.a.sd(u, v), s.b.sd(u, v)) }
func (s interShape) bounds() box             { return s.a.bounds().inter(s.b.bounds()) }

type unionShape struct{ a, b shape }

func (s unionShape) sd(u, v float64) float64 { return min(s.a.sd(u, v), s.b.sd(u, v)) }
func (s unionShape) bounds() box             { return s.a.bounds().union(s.b.bounds()) }

type diffShape struct{ a, b shape }

func (s diffShape) sd(u, v float64) float64 { return max(s.a.sd(u, v), -s.b.sd(u, v)) }
func (s diffShape) bounds() box             { return s.a.bounds() }

// offsetShape grows (d > 0) or shrinks a shape.
type offsetShape struct {
	a shape
	d float64
}

func (s offsetShape) sd(u, v float64) float64 { return s.a.sd(u, v) - s.d }
func (s offsetShape) bounds() box             { return s.a.bounds().grow(math.Max(s.d, 0)) }

// ringShape is the band of width w just inside a shape's edge.
type ringShape struct {
	a shape
	w float64
}

func (s ringShape) sd(u, v float64) float64 {
	d := s.a.sd(u, v)
	return max(d, -(d + s.w))
}
func (s ringShape) bounds() box { return s.a.bounds() }

// blend modes
const (
	over = iota // paint the colour over
	mul         // multiply by the colour (given as factors, 1 = unchanged)
)

// paint is a position dependent colour (face units).
type paint func(u, v float64) rgb

// fill composites a shape. feather is the edge width in pixels (>= 1 gives
// an anti-aliased edge, larger values give soft blobs). col is used when p
// is nil. opacity scales the coverage.
func (c *canvas) fill(t xform, sh shape, feather float64, col rgb, p paint, opacity float64, mode int) {
	feather = max(feather, c.soft, 1)
	bb := sh.bounds().grow(feather / t.s)
	if !(bb.u0 < bb.u1 && bb.v0 < bb.v1) {
		return
	}
	x0, y0 := math.Inf(1), math.Inf(1)
	x1, y1 := math.Inf(-1), math.Inf(-1)
	for _, q := range [4]pt{{bb.u0, bb.v0}, {bb.u1, bb.v0}, {bb.u0, bb.v1}, {bb.u1, bb.v1}} {
		x, y := t.toPix(q.u, q.v)
		x0, y0 = math.Min(x0, x), math.Min(y0, y)
		x1, y1 = math.Max(x1, x), math.Max(y1, y)
	}
	ix0 := max(0, int(math.Floor(x0)))
	iy0 := max(0, int(math.Floor(y0)))
	ix1 := min(c.w, int(math.Ceil(x1))+1)
	iy1 := min(c.h, int(math.Ceil(y1))+1)
	if ix0 >= ix1 || iy0 >= iy1 {
		return
	}
	// Work in 8x8 tiles: one distance at the tile centre tells whether the
	// whole tile is outside (skip it) or deep inside (no per-pixel distance).
	// The distances are approximate, so the margin is generous.
	const tile = 8
	margin := 1.6*tile*math.Sqrt2/2 + feather/2
	du, dv := t.cos/t.s, -t.sin/t.s
	inv := 1 / feather
	soft := feather > 1.5
	for ty := iy0; ty < iy1; ty += tile {
		for tx := ix0; tx < ix1; tx += tile {
			ex, ey := min(tx+tile, ix1), min(ty+tile, iy1)
			cu, cv := t.toFace(float64(tx+ex)/2, float64(ty+ey)/2)
			dc := sh.sd(cu, cv) * t.s
			if dc > margin {
				continue
			}
			inside := dc < -margin
			for y := ty; y < ey; y++ {
				u, v := t.toFace(float64(tx)+0.5, float64(y)+0.5)
				row := c.pix[3*(y*c.w):]
				for x := tx; x < ex; x, u, v = x+1, u+du, v+dv {
					a := 1.0
					if !inside {
						d := sh.sd(u, v) * t.s
						a = 0.5 - d*inv
						if a <= 0 {
							continue
						}
						if a > 1 {
							a = 1
						}
						if soft {
							a = a * a * (3 - 2*a)
						}
					}
					a *= opacity
					k := col
					if p != nil {
						k = p(u, v)
					}
					q := row[3*x : 3*x+3 : 3*x+3]
					af := float32(a)
					switch mode {
					case over:
						q[0] += (k.r - q[0]) * af
						q[1] += (k.g - q[1]) * af
						q[2] += (k.b - q[2]) * af
					case mul:
						q[0] *= 1 + (k.r-1)*af
						q[1] *= 1 + (k.g-1)*af
						q[2] *= 1 + (k.b-1)*af
					}
				}
			}
		}
	}
}

func clamp8(f float32) uint8 {
	if f <= 0 {
		return 0
	}
	if f >= 255 {
		return 255
	}
	return uint8(f + 0.5)
}

func clamp01(x float64) float64 { return max(0, min(1, x)) }

func smoothstep(e0, e1, x float64) float64 {
	t := clamp01((x - e0) / (e1 - e0))
	return t * t * (3 - 2*t)
}

// fsin is a fast sine (error about 0.001), good enough for textures.
func fsin(x float64) float64 {
	const tp = 1 / (2 * math.Pi)
	x = x*tp - 0.25 // sin(x) = cos(x - pi/2)
	x -= 0.25 + math.Floor(x+0.25)
	x *= 16 * (math.Abs(x) - 0.5)
	x += 0.225 * x * (math.Abs(x) - 1)
	return x
}
