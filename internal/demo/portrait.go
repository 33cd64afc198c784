package demo

import (
	"image"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/boostershot/facet/internal/label"
)

// Mask states and genders (internal/label's) and the default canvas size
// of a portrait.
const (
	MaskWear      = label.Wear
	MaskIncorrect = label.Incorrect
	MaskNone      = label.NoMask

	Male   = label.Male
	Female = label.Female

	DefaultWidth  = 384
	DefaultHeight = 512
)

// topR is the height of the face above its centre (face units; the face is
// about 2 wide, eyes a little above the centre, chin 1.3 below).
const topR = 1.4

// Attrs are the visible attributes of one portrait.
type Attrs struct {
	Mask   int // MaskWear, MaskIncorrect or MaskNone
	Gender int // Male or Female
	Age    int // years; the drawing is meant for about 16..80
	// Width and Height of the picture; zero means 384x512. The head is
	// scaled with min(Width/384, Height/512).
	Width, Height int
	// Person fixes the identity: the same Person gives the same face shape,
	// skin, hair style and clothes whatever the photo seed. Zero derives the
	// identity from the photo seed.
	Person uint64
}

// AgeGroup is the competition's age class (label.DefaultBins): 0 below 30,
// 1 for 30..59, 2 from 60.
func AgeGroup(age int) int { return int(label.DefaultBins.Group(age)) }

// Label is the competition's 18-way class (label.Join) of a mask state,
// a gender and an age in years.
func Label(mask, gender, age int) int {
	return int(label.Join(int8(mask), int8(gender), label.DefaultBins.Group(age)))
}

// Portrait draws one synthetic portrait with the given attributes. The same
// seed and attributes always give the same pixels. It returns the picture
// and the face box in pixels: the bounding box of the face oval, forehead to
// chin and cheek to cheek (ears and hair excluded), x1/y1 exclusive.
func Portrait(seed uint64, a Attrs) (*image.RGBA, image.Rectangle) {
	if a.Width <= 0 || a.Height <= 0 {
		a.Width, a.Height = DefaultWidth, DefaultHeight
	}
	img := image.NewRGBA(image.Rect(0, 0, a.Width, a.Height))
	s := getScratch(a.Width, a.Height)
	defer scratchPool.Put(s)
	return img, render(seed, a, s, img)
}

// scratch holds the float buffers of one drawing, reused through a pool to
// keep the garbage collector quiet.
type scratch struct {
	c *canvas
}

var scratchPool sync.Pool

func getScratch(w, h int) *scratch {
	if s, ok := scratchPool.Get().(*scratch); ok && s.c.w == w && s.c.h == h {
		return s
	}
	return &scratch{c: newCanvas(w, h)}
}

// look is what stays the same across the photos of one person.
type look struct {
	skin      rgb
	hairDark  rgb
	iris      rgb
	lip       rgb
	clothes   rgb
	clothes2  rgb
	fw, fl    float64 // face half-width and length factors
	jaw, sq   float64 // chin narrowing and jaw squareness
	eyeX      float64
	eyeRX     float64
	eyeRY     float64
	eyeTilt   float64
	browR     float64
	browArch  float64
	browY     float64
	noseW     float64
	mouthW    float64
	hairVol   float64
	hairline  float64 // forehead hairline position when young
	recede    float64 // how far the hairline recedes with age (men)
	hairLen   float64 // women: where the hair ends (face units below centre)
	hairW     float64 // women: half-width of the hair beside the face
	fringe    bool
	part      float64
	neckline  int
	stubble   float64
	ageJit    float64 // shifts greying and wrinkles by a few years
	earring   bool
	blush     float64
	lipDark   float64
	neckW     float64
	eyeliner  float64
	wrinkleAm float64
}

var (
	skinTones = []rgb{{236, 204, 178}, {228, 192, 160}, {220, 180, 148}, {242, 214, 192}, {212, 170, 136}, {232, 198, 172}}
	hairDarks = []rgb{{22, 18, 17}, {34, 26, 22}, {48, 36, 28}, {28, 24, 24}, {60, 44, 34}}
	irises    = []rgb{{48, 30, 22}, {62, 40, 28}, {36, 24, 20}}
	clothesC  = []rgb{{40, 48, 70}, {200, 200, 205}, {120, 30, 40}, {30, 90, 70}, {70, 70, 75}, {210, 170, 90}, {90, 120, 170}, {240, 240, 236}, {25, 25, 28}, {150, 100, 140}}
	lipsticks = []rgb{{186, 60, 72}, {200, 90, 100}, {170, 50, 60}, {210, 110, 120}, {160, 70, 80}}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func uni(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

func jitter(r *rand.Rand, c rgb, d float64) rgb {
	return rgb{
		float32(float64(c.r) + uni(r, -d, d)),
		float32(float64(c.g) + uni(r, -d, d)),
		float32(float64(c.b) + uni(r, -d, d)),
	}
}

func newLook(r *rand.Rand, gender int) look {
	var l look
	l.skin = jitter(r, pick(r, skinTones), 6)
	l.hairDark = jitter(r, pick(r, hairDarks), 4)
	l.iris = pick(r, irises)
	l.clothes = jitter(r, pick(r, clothesC), 10)
	l.clothes2 = jitter(r, pick(r, clothesC), 10)
	l.fw = uni(r, 0.96, 1.04)
	l.fl = uni(r, 0.96, 1.05)
	l.eyeX = uni(r, 0.37, 0.42)
	l.eyeRX = uni(r, 0.17, 0.2)
	l.eyeRY = uni(r, 0.068, 0.085)
	l.eyeTilt = uni(r, 0.02, 0.12)
	l.noseW = uni(r, 0.9, 1.1)
	l.ageJit = uni(r, -4, 4)
	l.part = uni(r, -0.35, 0.35)
	l.neckline = r.IntN(3)
	l.wrinkleAm = uni(r, 0.85, 1.15)
	l.browY = uni(r, -0.4, -0.36)
	if gender == Female {
		l.jaw = uni(r, 0.32, 0.4)
		l.sq = uni(r, 0.0, 0.12)
		l.browR = uni(r, 0.018, 0.026)
		l.browArch = uni(r, 0.05, 0.08)
		l.mouthW = uni(r, 0.24, 0.27)
		l.hairVol = uni(r, 0.12, 0.2)
		l.hairline = uni(r, -0.95, -0.86)
		l.hairLen = uni(r, 1.6, 3.2)
		l.hairW = uni(r, 1.22, 1.36)
		l.fringe = r.IntN(2) == 0
		l.lip = mix(l.skin, pick(r, lipsticks), uni(r, 0.55, 0.85))
		l.earring = r.IntN(3) == 0
		l.blush = uni(r, 0.3, 0.8)
		l.eyeliner = uni(r, 0.6, 1)
		l.neckW = uni(r, 0.4, 0.46)
	} else {
		l.jaw = uni(r, 0.16, 0.24)
		l.sq = uni(r, 0.25, 0.45)
		l.browR = uni(r, 0.034, 0.046)
		l.browArch = uni(r, 0.015, 0.035)
		l.mouthW = uni(r, 0.27, 0.31)
		l.hairVol = uni(r, 0.06, 0.16)
		l.hairline = uni(r, -0.94, -0.84)
		l.recede = uni(r, 0.05, 0.4)
		l.lip = mix(l.skin, rgb{165, 95, 90}, uni(r, 0.25, 0.4))
		if r.IntN(3) == 0 {
			l.stubble = uni(r, 0.3, 0.7)
		}
		l.neckW = uni(r, 0.5, 0.56)
	}
	l.lipDark = uni(r, 0.9, 1)
	return l
}

// painter holds the state of one drawing.
type painter struct {
	c    *canvas
	t    xform
	a    Attrs
	l    look
	r    *rand.Rand // scene
	d    *rand.Rand // details
	wr   float64    // wrinkle strength 0..1
	grey float64    // hair greyness 0..1
	// lighting
	lx, ly, lz, amb float64
	face            shape
}

// render draws a portrait into dst (a.Width x a.Height) using the scratch
// buffers and returns the face box.
func render(seed uint64, a Attrs, sc *scratch, dst *image.RGBA) image.Rectangle {
	person := a.Person
	if person == 0 {
		person = mix64(seed ^ 0x9e3779b97f4a7c15)
	}
	pr := rand.New(rand.NewPCG(person, 0x70657273))
	// r draws the scene (pose, light, background, camera), d the details
	// (gaze, mask, age spots), so the same seed gives the same scene
	// whatever the attributes.
	r := rand.New(rand.NewPCG(seed, 0x70686f74))
	d := rand.New(rand.NewPCG(seed, 0x64657461))
	p := &painter{c: sc.c, a: a, r: r, d: d}
	p.l = newLook(pr, a.Gender)
	age := float64(a.Age) + p.l.ageJit
	p.wr = clamp01((age-24)/46) * p.l.wrinkleAm
	p.grey = smoothstep(30, 72, age)

	W, H := float64(a.Width), float64(a.Height)
	k := math.Min(W/DefaultWidth, H/DefaultHeight)
	faceW := uni(r, 150, 230) * k
	cx := W/2 + uni(r, -28, 28)*k
	cy := H*0.43 + uni(r, -22, 22)*k
	rot := uni(r, -7, 7) * math.Pi / 180
	p.t = newXform(cx, cy, faceW/2/p.l.fw, rot)

	lx, ly := uni(r, -0.6, 0.6), uni(r, -0.5, 0.05)
	n := math.Sqrt(lx*lx + ly*ly + 1)
	p.lx, p.ly, p.lz = lx/n, ly/n, 1/n
	p.amb = uni(r, 0.42, 0.58)

	p.background()
	// every edge is at least this soft (pixels): the camera's blur
	p.c.soft = uni(r, 1.2, 2.4)
	p.face = p.faceShape()
	if a.Gender == Female {
		p.backHair()
	}
	p.neck()
	p.clothes()
	p.ears()
	p.drawFace()
	switch a.Mask {
	case MaskWear:
		p.mask(uni(d, -0.05, 0.0))
	case MaskIncorrect:
		if d.IntN(2) == 0 {
			p.mask(uni(d, 0.42, 0.46)) // under the nose
		} else {
			p.mask(uni(d, 0.84, 0.9)) // on the chin
		}
	}
	if a.Gender == Female {
		p.curtains()
	}
	p.topHair()
	if a.Gender == Female && p.l.earring {
		// a small gold dot at the ear lobe
		for _, s := range []float64{-1, 1} {
			p.c.fill(p.t, ell(s*1.0*p.l.fw, 0.33, 0.025, 0.025), 1, rgb{230, 210, 150}, nil, 0.9, over)
		}
	}
	p.finish(dst)
	return p.faceBox()
}

// faceF is the implicit face outline: an ellipse on top, a narrowing,
// slightly squared jaw below.
func (p *painter) faceF(u, v float64) float64 {
	fw, fl := p.l.fw, p.l.fl
	if v < 0 {
		x, y := u/fw, v/(topR*fl)
		return math.Sqrt(x*x+y*y) - 1
	}
	y := v / (1.3 * fl)
	w := fw * (1 - p.l.jaw*min(y*y, 1))
	x := u / w
	// the squareness term is at most 0.25*sq on the outline; capping it
	// keeps it from pulling far-away points inside
	return math.Sqrt(x*x+y*y) - 1 - p.l.sq*min(x*x*y*y, 0.25)
}

func (p *painter) faceShape() shape {
	fw, fl := p.l.fw, p.l.fl
	return &implicit{f: p.faceF, bb: box{-fw - 0.05, -topR*fl - 0.05, fw + 0.05, 1.3*fl + 0.05}, gmax: 3}
}

func (p *painter) faceBox() image.Rectangle {
	x0, y0 := math.Inf(1), math.Inf(1)
	x1, y1 := math.Inf(-1), math.Inf(-1)
	fw, fl := p.l.fw, p.l.fl
	for i := 0; i < 128; i++ {
		th := 2 * math.Pi * float64(i) / 128
		// walk out along the ray until the outline
		du, dv := math.Cos(th), math.Sin(th)
		lo, hi := 0.0, 2.0*max(fw, topR*fl, 1.3*fl)
		for j := 0; j < 30; j++ {
			m := (lo + hi) / 2
			if p.faceF(m*du, m*dv) < 0 {
				lo = m
			} else {
				hi = m
			}
		}
		x, y := p.t.toPix(lo*du, lo*dv)
		x0, y0 = math.Min(x0, x), math.Min(y0, y)
		x1, y1 = math.Max(x1, x), math.Max(y1, y)
	}
	r := image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
	return r.Intersect(image.Rect(0, 0, p.c.w, p.c.h))
}

// light is the diffuse shading of a point on an ellipsoid around the head.
func (p *painter) light(u, v, ru, rv float64) float64 {
	nx, ny := u/ru, v/rv
	nz := math.Sqrt(max(0.02, 1-nx*nx-ny*ny))
	d := nx*p.lx + ny*p.ly + nz*p.lz
	if d < 0 {
		d = 0
	}
	return p.amb + (1-p.amb)*d
}

// background draws a smooth backdrop (gradient, soft blobs, sometimes a
// straight edge) at a quarter of the resolution and scales it up.
func (p *painter) background() {
	const k = 4
	r := p.r
	W, H := float64(p.c.w), float64(p.c.h)
	c := newCanvas((p.c.w+k-1)/k+1, (p.c.h+k-1)/k+1)
	c1 := rgb{float32(uni(r, 40, 235)), float32(uni(r, 40, 235)), float32(uni(r, 40, 235))}
	c2 := mix(c1, rgb{float32(uni(r, 30, 240)), float32(uni(r, 30, 240)), float32(uni(r, 30, 240))}, uni(r, 0.3, 0.9))
	ang := uni(r, 0, 2*math.Pi)
	dx, dy := math.Cos(ang), math.Sin(ang)
	norm := math.Abs(dx)*W + math.Abs(dy)*H
	for y := 0; y < c.h; y++ {
		for x := 0; x < c.w; x++ {
			t := 0.5 + ((float64(x*k)-W/2)*dx+(float64(y*k)-H/2)*dy)/norm
			m := mix(c1, c2, t)
			i := 3 * (y*c.w + x)
			c.pix[i], c.pix[i+1], c.pix[i+2] = m.r, m.g, m.b
		}
	}
	// shapes are given in full-size pixels
	id := newXform(0, 0, 1.0/k, 0)
	nb := 2 + r.IntN(5)
	for i := 0; i < nb; i++ {
		rad := uni(r, 0.1, 0.45) * W
		e := rell(uni(r, 0, W), uni(r, 0, H), rad, rad*uni(r, 0.4, 1.6), uni(r, 0, math.Pi))
		col := rgb{float32(uni(r, 20, 245)), float32(uni(r, 20, 245)), float32(uni(r, 20, 245))}
		c.fill(id, e, uni(r, 10, 0.6*rad)/k, col, nil, uni(r, 0.25, 0.7), over)
	}
	// an occasional straight edge (door frame, shelf, window)
	if r.IntN(2) == 0 {
		x0 := uni(r, 0, W)
		b := &rbox{cx: x0, cy: H / 2, hx: uni(r, 4, 40), hy: H, rad: 0}
		col := rgb{float32(uni(r, 30, 240)), float32(uni(r, 30, 240)), float32(uni(r, 30, 240))}
		c.fill(id, b, 1, col, nil, uni(r, 0.3, 0.8), over)
	}
	// bilinear upscale
	dst := p.c
	xi := make([]int, dst.w)
	xw := make([]float32, dst.w)
	for x := range xi {
		fx := max(0, (float64(x)+0.5)/k-0.5)
		xi[x] = int(fx)
		xw[x] = float32(fx - float64(xi[x]))
	}
	for y := 0; y < dst.h; y++ {
		fy := max(0, (float64(y)+0.5)/k-0.5)
		y0 := int(fy)
		wy := float32(fy - float64(y0))
		y1 := min(y0+1, c.h-1)
		r0 := c.pix[3*y0*c.w : 3*(y0+1)*c.w]
		r1 := c.pix[3*y1*c.w : 3*(y1+1)*c.w]
		out := dst.pix[3*y*dst.w : 3*(y+1)*dst.w]
		for x := 0; x < dst.w; x++ {
			i := 3 * xi[x]
			wx := xw[x]
			a := r0[i : i+6 : i+6]
			b := r1[i : i+6 : i+6]
			o := out[3*x : 3*x+3 : 3*x+3]
			for ch := 0; ch < 3; ch++ {
				top := a[ch] + (a[ch+3]-a[ch])*wx
				bot := b[ch] + (b[ch+3]-b[ch])*wx
				o[ch] = top + (bot-top)*wy
			}
		}
	}
}

// strands is one period of an irregular strand texture in -1..1: a sum of
// sines with incommensurate-looking frequencies (16, 43 and 101 cycles per
// period). A table is much cheaper than evaluating the sines per pixel.
var strands = func() (t [2048]float32) {
	for i := range t {
		x := 2 * math.Pi * float64(i) / float64(len(t))
		t[i] = float32(0.5*math.Sin(16*x) + 0.3*math.Sin(43*x+1.3) + 0.2*math.Sin(101*x+2.1))
	}
	return t
}()

// hairPaint returns the hair colour with strands and, for the middle aged,
// salt-and-pepper greying. radial strands fan out from the crown (short
// hair and the top of the head); otherwise they fall down.
func (p *painter) hairPaint(dark, freq float64, radial bool) paint {
	base := p.l.hairDark
	grey := p.grey
	silver := rgb{206, 206, 210}
	salt := 0.9 * grey * (1 - grey)
	// table steps per unit of x: one base cycle (128 steps) per strand
	k := freq / (2 * math.Pi) * 128
	return func(u, v float64) rgb {
		x := u
		if radial {
			x = 1.6 * u / (v + 2.4)
		} else {
			x = u + 0.08*fsin(v*5)
		}
		i := int(x*k+v*23+4096) & 2047
		s := float64(strands[i])
		g := grey
		if salt > 0 {
			g = clamp01(grey + salt*float64(strands[(i*3+517)&2047]))
		}
		c := mix(base, silver, g)
		// a sheen across the crown makes it read as hair, not a cap
		sheen := 0.18 * max(0, 1-math.Abs(v+1.05+0.25*u*u)*5)
		sh := dark * (0.95 + 0.05*s + sheen) * (0.72 + 0.38*p.light(u, v+0.3, 1.3, 1.7))
		return c.scale(sh)
	}
}

func (p *painter) backHair() {
	l := p.l
	top := ell(0, -0.15, l.hairW-0.04, topR*l.fl+l.hairVol+0.08)
	// below the shoulders' top the clothes and the curtains cover it all
	end := min(l.hairLen, 2.1)
	body := &rbox{cx: 0, cy: (end - 0.2) / 2, hx: l.hairW, hy: (end + 0.2) / 2, rad: 0.2}
	p.c.fill(p.t, unionShape{top, body}, 2, rgb{}, p.hairPaint(0.72, 30, false), 1, over)
}

// curtains draws the long hair falling beside the face, over the cheeks'
// edges and the shoulders.
func (p *painter) curtains() {
	l := p.l
	body := &rbox{cx: 0, cy: (l.hairLen - 0.2) / 2, hx: l.hairW, hy: (l.hairLen + 0.2) / 2, rad: 0.35}
	const inset = 0.07
	paint := p.hairPaint(0.9, 34, false)
	for _, sg := range []float64{-1, 1} {
		side := &implicit{f: func(u, v float64) float64 { return 0.5 - sg*u }, bb: box{0.5, -3, 3, 6}, gmax: 1}
		if sg < 0 {
			side.bb = box{-3, -3, -0.5, 6}
		}
		p.c.fill(p.t, interShape{diffShape{body, offsetShape{p.face, -inset}}, side}, 2, rgb{}, paint, 1, over)
		// a soft shadow of the hair on the cheek
		p.c.fill(p.t, interShape{ringShape{p.face, 0.15}, side}, 0.06*p.t.s, rgb{0.8, 0.78, 0.78}, nil, 0.6, mul)
	}
}

// hairline is the lower edge of the front hair.
func (p *painter) hairline(u float64) float64 {
	l := p.l
	if p.a.Gender == Female {
		if l.fringe {
			return -0.68 + 0.4*u*u + 0.012*fsin(u*37) + 0.008*fsin(u*83+1)
		}
		d := u - l.part
		return l.hairline + 0.5*d*d - 0.05*math.Abs(d)
	}
	rec := l.recede * smoothstep(30, 76, float64(p.a.Age)+l.ageJit)
	h0 := l.hairline - rec
	// flat across the forehead, rounded temples, then straight down to the
	// sideburns in front of the ears
	au := math.Abs(u)
	temple := max(0, au-0.7+rec*0.3)
	h := h0 + (0.12+rec*0.5)*u*u + 8*temple*temple + l.part*0.15*u + 0.01*fsin(u*41) + 0.006*fsin(u*97+2)
	if au > 0.96 {
		// short above the ears
		h = min(h, -0.3-2*(au-0.96))
	}
	return h
}

func (p *painter) topHair() {
	l := p.l
	rx := l.fw*1.08 + l.hairVol*0.6
	if p.a.Gender == Male {
		rx = l.fw*1.04 + l.hairVol*0.4
	}
	cap := ell(0, -0.15, rx, topR*l.fl+l.hairVol+0.02)
	line := &implicit{f: func(u, v float64) float64 { return v - p.hairline(u) }, bb: box{-2, -3, 2, 0.3}, gmax: 3}
	freq := 40.0
	if p.a.Gender == Female {
		freq = 30
	}
	p.c.fill(p.t, interShape{cap, line}, 1.6, rgb{}, p.hairPaint(1, freq, true), 1, over)
	// shadow under the hairline on the forehead
	band := interShape{p.face, &implicit{f: func(u, v float64) float64 {
		return math.Abs(v-p.hairline(u)-0.03) - 0.05
	}, bb: box{-1.3, -1.7, 1.3, 0.35}, gmax: 3}}
	p.c.fill(p.t, band, 0.04*p.t.s, rgb{0.85, 0.83, 0.83}, nil, 0.7, mul)
}

func (p *painter) skinPaint(k float64) paint {
	skin := p.l.skin
	return func(u, v float64) rgb {
		return skin.scale(k * p.light(u, v-0.1, 1.08*p.l.fw, 1.45*p.l.fl))
	}
}

func (p *painter) neck() {
	l := p.l
	b := &rbox{cx: 0, cy: 1.5, hx: l.neckW, hy: 0.95, rad: 0.1}
	skin := l.skin
	p.c.fill(p.t, b, 1.5, rgb{}, func(u, v float64) rgb {
		f := 0.6 + 0.28*smoothstep(1.0, 2.0, v)
		x := u / l.neckW
		f *= 1 - 0.25*x*x
		return skin.scale(f * (0.7 + 0.4*p.light(u, 0, 1.2, 2)))
	}, 1, over)
}

func (p *painter) clothes() {
	l := p.l
	body := ell(0, 3.35, 2.55, 1.5)
	var hole shape
	switch l.neckline {
	case 0: // round
		hole = ell(0, 1.85, l.neckW+0.08, 0.3)
	case 1: // V
		hole = newPoly([]pt{{-l.neckW - 0.1, 1.7}, {l.neckW + 0.1, 1.7}, {0, 2.55}})
	default: // high
		hole = ell(0, 1.75, l.neckW+0.02, 0.12)
	}
	c1, c2 := l.clothes, l.clothes2
	stripes := p.a.Gender == Female && l.neckline == 0
	p.c.fill(p.t, diffShape{body, hole}, 1.5, rgb{}, func(u, v float64) rgb {
		c := c1
		if stripes && math.Mod(v*6+10, 1) < 0.35 {
			c = c2
		}
		return c.scale(0.7 + 0.4*p.light(u, v-3.3, 2.7, 1.8))
	}, 1, over)
}

func (p *painter) ears() {
	l := p.l
	for _, s := range []float64{-1, 1} {
		e := rell(s*0.97*l.fw, 0.02, 0.13, 0.25, -s*0.15)
		p.c.fill(p.t, e, 1.5, rgb{}, p.skinPaint(0.88), 1, over)
		in := rell(s*1.0*l.fw, 0.02, 0.06, 0.15, -s*0.15)
		p.c.fill(p.t, in, 0.04*p.t.s, rgb{0.78, 0.74, 0.74}, nil, 1, mul)
	}
}

func (p *painter) drawFace() {
	l := p.l
	c, t, r := p.c, p.t, p.d
	s := t.s
	darken := func(k float64) rgb { return rgb{float32(k), float32(k * 0.96), float32(k * 0.96)} }
	lighten := func(k float64) rgb { return rgb{float32(k), float32(k), float32(k * 0.98)} }

	c.fill(t, p.face, 1.5, rgb{}, p.skinPaint(1), 1, over)
	// forehead and cheek highlights, temple shading
	c.fill(t, ell(0, -0.75, 0.45, 0.3), 0.25*s, lighten(1.07), nil, 1, mul)
	for _, sg := range []float64{-1, 1} {
		c.fill(t, ell(sg*0.42, 0.22, 0.2, 0.13), 0.15*s, lighten(1.06), nil, 1, mul)
		if p.a.Gender == Female {
			c.fill(t, ell(sg*0.46, 0.26, 0.2, 0.12), 0.14*s, rgb{1.03, 0.92, 0.93}, nil, l.blush, mul)
		}
	}
	if l.stubble > 0 {
		jaw := interShape{p.face, &implicit{f: func(u, v float64) float64 { return 0.5 - v + 0.2*u*u }, bb: box{-2, 0, 2, 2}, gmax: 2}}
		c.fill(t, jaw, 0.12*s, rgb{0.93, 0.93, 0.95}, nil, l.stubble, mul)
	}

	gaze := uni(r, -0.025, 0.025)
	ey := -0.16
	eRY := l.eyeRY * (1 - 0.18*p.wr)
	for _, sg := range []float64{-1, 1} {
		ex := sg * l.eyeX
		// eye sockets: darker than cheeks and nose bridge
		c.fill(t, ell(ex, ey-0.04, 0.27, 0.17), 0.13*s, darken(0.8), nil, 1, mul)
		c.fill(t, ell(ex, ey-0.1, 0.22, 0.08), 0.08*s, darken(0.9), nil, 1, mul)
		eye := rell(ex, ey, l.eyeRX, eRY, -sg*l.eyeTilt)
		c.fill(t, eye, 1.2, rgb{}, func(u, v float64) rgb {
			return rgb{205, 198, 192}.scale(0.75 + 0.3*p.light(u, v, 1.1, 1.4))
		}, 1, over)
		ix := ex + gaze
		c.fill(t, interShape{ell(ix, ey, 0.078, 0.078), eye}, 1.2, l.iris, nil, 1, over)
		c.fill(t, interShape{ell(ix, ey, 0.036, 0.036), eye}, 1.2, rgb{10, 8, 8}, nil, 1, over)
		c.fill(t, ell(ix+0.022, ey-0.022, 0.016, 0.016), 1.2, rgb{245, 245, 245}, nil, 0.85, over)
		// upper lid line along the top of the eye, lower lid faint
		ca, sa := math.Cos(-sg*l.eyeTilt), math.Sin(-sg*l.eyeTilt)
		var up, lo []pt
		for i := 0; i <= 10; i++ {
			th := math.Pi * float64(i) / 10
			x, y := l.eyeRX*math.Cos(th), eRY*math.Sin(th)
			up = append(up, pt{ex + ca*x + sa*y, ey + sa*x - ca*y})
			lo = append(lo, pt{ex + ca*x - sa*y, ey + sa*x + ca*y})
		}
		lw := 0.018 + 0.01*l.eyeliner
		c.fill(t, taperStroke(up, lw, 0.006), 1.2, rgb{30, 22, 22}, nil, 1, over)
		c.fill(t, taperStroke(lo, 0.01, 0.003), 1.2, darken(0.7), nil, 0.7, mul)
		// double eyelid crease
		var cr []pt
		for i := 2; i <= 8; i++ {
			th := math.Pi * float64(i) / 10
			x, y := l.eyeRX*math.Cos(th)*0.95, (eRY+0.035)*math.Sin(th)
			cr = append(cr, pt{ex + ca*x + sa*y, ey + sa*x - ca*y})
		}
		c.fill(t, taperStroke(cr, 0.008, 0.002), 1.2, darken(0.8), nil, 0.8, mul)

		// eyebrows: thick and straight for men, thin and arched for women
		by := l.browY
		inner, outer := pt{sg * (l.eyeX - 0.2), by + 0.02}, pt{sg * (l.eyeX + 0.24), by + 0.04}
		peak := pt{sg * (l.eyeX + 0.04), by - 2*l.browArch}
		br := newStroke(quad(inner, peak, outer, 10), l.browR, l.browR*0.45)
		browC := mix(l.hairDark, rgb{190, 188, 185}, p.grey*0.7).scale(0.95)
		c.fill(t, br, 1.4, browC, nil, 0.92, over)
	}

	// nose: bright bridge, darker sides, tip highlight, nostrils
	nw := l.noseW
	c.fill(t, ell(0, -0.02, 0.07, 0.3), 0.09*s, lighten(1.12), nil, 0.9, mul)
	for _, sg := range []float64{-1, 1} {
		c.fill(t, ell(sg*0.13*nw, 0.1, 0.05, 0.22), 0.08*s, darken(0.86), nil, 1, mul)
	}
	c.fill(t, ell(0, 0.29, 0.085*nw, 0.065), 0.06*s, lighten(1.1), nil, 1, mul)
	for _, sg := range []float64{-1, 1} {
		c.fill(t, ell(sg*0.12*nw, 0.33, 0.065*nw, 0.055), 0.035*s, darken(0.86), nil, 1, mul)
		c.fill(t, rell(sg*0.07*nw, 0.375, 0.042*nw, 0.022, -sg*0.35), 1.5, rgb{78, 44, 40}, nil, 0.85, over)
	}
	c.fill(t, ell(0, 0.43, 0.16, 0.04), 0.04*s, darken(0.85), nil, 1, mul)

	// mouth
	my := 0.69
	mw := l.mouthW
	smile := uni(r, -0.01, 0.02)
	lip := l.lip
	c.fill(t, ell(0, my+0.035, mw*0.8, 0.052), 1.3, rgb{}, func(u, v float64) rgb {
		return lip.scale(p.light(u, v-0.1, 1.1, 1.5) * (1.05 - 2.0*(v-my-0.035)))
	}, 1, over)
	upper := interShape{ell(0, my, mw, 0.045), &implicit{f: func(u, v float64) float64 {
		return (my - 0.04 + 0.02*math.Abs(fsin(u*math.Pi/mw*1.2))) - v
	}, bb: box{-1, 0, 1, 1.2}, gmax: 2}}
	c.fill(t, upper, 1.3, rgb{}, func(u, v float64) rgb {
		return lip.scale(0.82 * l.lipDark * p.light(u, v-0.1, 1.1, 1.5))
	}, 1, over)
	line := quad(pt{-mw, my + 0.005 - smile}, pt{0, my + 0.012 + smile}, pt{mw, my + 0.005 - smile}, 12)
	c.fill(t, taperStroke(line, 0.011, 0.004), 1.2, rgb{70, 30, 32}, nil, 0.9, over)
	c.fill(t, ell(0, my+0.13, 0.15, 0.035), 0.04*s, darken(0.86), nil, 1, mul)

	p.wrinkles()
}

func (p *painter) wrinkles() {
	c, t, l := p.c, p.t, p.l
	wr := p.wr
	if wr <= 0 {
		return
	}
	dk := rgb{0.72, 0.66, 0.66}
	// forehead lines
	n := 1 + int(wr*3.5)
	for i := 0; i < n; i++ {
		v := -0.64 - 0.08*float64(i)
		if v < p.hairline(0)+0.06 {
			break
		}
		w := 0.42 - 0.04*float64(i)
		ln := quad(pt{-w, v + 0.03}, pt{0, v - 0.03}, pt{w, v + 0.03}, 10)
		c.fill(t, taperStroke(ln, 0.012, 0.003), 1.3, dk, nil, math.Min(1, 1.3*wr), mul)
	}
	for _, sg := range []float64{-1, 1} {
		ex := sg * l.eyeX
		// crow's feet
		for j := -1; j <= 1; j++ {
			a := float64(j) * 0.35
			x0, y0 := ex+sg*(l.eyeRX+0.04), -0.16+0.01*float64(j)
			ln := []pt{{x0, y0}, {x0 + sg*0.12*math.Cos(a), y0 + 0.12*math.Sin(a)}}
			c.fill(t, taperStroke(ln, 0.008, 0.002), 1.2, dk, nil, clamp01(1.5*wr-0.2), mul)
		}
		// under-eye bags
		bag := quad(pt{ex - sg*0.14, -0.07}, pt{ex, 0.0}, pt{ex + sg*0.16, -0.06}, 8)
		c.fill(t, taperStroke(bag, 0.01, 0.002), 1.3, dk, nil, clamp01(1.3*wr), mul)
		// nasolabial folds (faint when young)
		nl := quad(pt{sg * 0.2, 0.36}, pt{sg * 0.38, 0.55}, pt{sg * 0.36, 0.86}, 10)
		c.fill(t, taperStroke(nl, 0.016, 0.004), 1.5, dk, nil, 0.25+0.7*wr, mul)
		// marionette lines
		ml := quad(pt{sg * 0.3, 0.74}, pt{sg * 0.33, 0.85}, pt{sg * 0.3, 1.0}, 8)
		c.fill(t, taperStroke(ml, 0.012, 0.003), 1.3, dk, nil, clamp01(1.6*wr-0.5), mul)
	}
	// age spots
	if wr > 0.6 {
		k := int((wr - 0.6) * 12)
		for i := 0; i < k; i++ {
			u, v := uni(p.d, -0.7, 0.7), uni(p.d, -0.7, 0.3)
			c.fill(t, ell(u, v, 0.025, 0.02), 0.015*t.s, rgb{0.86, 0.8, 0.76}, nil, clamp01(wr-0.4), mul)
		}
	}
}

// mask draws a face mask whose top edge sits at v = top (face units).
func (p *painter) mask(top float64) {
	c, t, r, l := p.c, p.t, p.d, p.l
	kind := r.IntN(6)
	var base, alt rgb
	switch kind {
	case 0, 1: // light blue surgical
		base = jitter(r, rgb{150, 192, 222}, 8)
	case 2: // white (KF94)
		base = jitter(r, rgb{236, 236, 234}, 6)
	case 3: // black
		base = jitter(r, rgb{34, 34, 38}, 6)
	case 4: // grey or pink
		base = pick(r, []rgb{{128, 128, 134}, {228, 182, 190}, {200, 190, 170}})
	default: // patterned
		base = pick(r, []rgb{{40, 50, 90}, {200, 180, 150}, {230, 230, 230}})
		alt = pick(r, []rgb{{240, 240, 240}, {190, 60, 60}, {60, 120, 90}})
	}
	pattern := r.IntN(3)
	hw := 1.0*l.fw + 0.02
	outline := interShape{
		ell(0, top+0.32, hw, 1.1),
		&implicit{f: func(u, v float64) float64 { return top + 0.14*u*u - v }, bb: box{-2, top - 0.1, 2, top + 2}, gmax: 2},
	}
	// straps to the ears
	strap := rgb{235, 235, 235}
	if kind == 3 {
		strap = base
	}
	for _, sg := range []float64{-1, 1} {
		a := []pt{{sg * (hw - 0.06), top + 0.16}, {sg * 1.0 * l.fw, -0.12}}
		b := []pt{{sg * (hw - 0.2), top + 0.8}, {sg * 1.0 * l.fw, 0.24}}
		c.fill(t, newStroke(a, 0.018, 0.018), 1.3, strap.scale(0.85), nil, 1, over)
		c.fill(t, newStroke(b, 0.018, 0.018), 1.3, strap.scale(0.8), nil, 1, over)
	}
	c.fill(t, outline, 1.4, rgb{}, func(u, v float64) rgb {
		m := v - top
		col := base
		if kind == 5 {
			switch pattern {
			case 0: // dots
				gu, gv := math.Mod(u*8+100, 1)-0.5, math.Mod(m*8+100, 1)-0.5
				if gu*gu+gv*gv < 0.06 {
					col = alt
				}
			case 1: // stripes
				if math.Mod(m*7+100, 1) < 0.4 {
					col = alt
				}
			default: // checks
				if (int(math.Floor(u*6+100))+int(math.Floor(m*6+100)))%2 == 0 {
					col = mix(base, alt, 0.6)
				}
			}
		}
		x := clamp01(math.Abs(u) / (hw + 0.1))
		sh := 0.62 + 0.38*math.Sqrt(1-x*x)
		sh *= 0.8 + 0.3*p.light(u, m-0.3, 1.3, 1.4)
		if kind <= 1 {
			// pleats: three horizontal folds
			for _, pv := range []float64{0.38, 0.62, 0.86} {
				d := (m - pv - 0.03*u*u) / 0.025
				if d > -1 && d < 1 {
					sh *= 1 - 0.16*(1-d*d)
				}
			}
		}
		if kind == 2 {
			// KF94 centre seam
			if math.Abs(u) < 0.015 {
				sh *= 0.85
			}
		}
		return col.scale(sh)
	}, 1, over)
	// nose wire ridge on a worn mask
	if top < 0.2 && kind != 3 {
		ln := quad(pt{-0.28, top + 0.05}, pt{0, top - 0.01}, pt{0.28, top + 0.05}, 8)
		c.fill(t, taperStroke(ln, 0.012, 0.004), 1.3, rgb{1.1, 1.1, 1.1}, nil, 0.8, mul)
	}
	// soft shadow under the mask's lower edge
	c.fill(t, diffShape{offsetShape{outline, 0.05}, outline}, 0.05*t.s, rgb{0.82, 0.8, 0.8}, nil, 0.6, mul)
}

// finish applies global lighting and sensor noise while converting to 8-bit
// RGBA. (Softness comes from the canvas' minimum feather, which is much
// cheaper than a blur pass.)
func (p *painter) finish(dst *image.RGBA) {
	c, r := p.c, p.r
	W, H := float64(c.w), float64(c.h)
	exp := uni(r, 0.85, 1.08)
	gx, gy := uni(r, -0.25, 0.25)+0.2*p.lx, uni(r, -0.15, 0.15)
	tint := rgb{float32(uni(r, 0.95, 1.05)), float32(uni(r, 0.97, 1.03)), float32(uni(r, 0.93, 1.06))}
	sigma := float32(uni(r, 1.5, 5))
	ns := sigma / 147.8 // sum of four uniform bytes: roughly normal, sd about 147.8
	cs := sigma * 0.4 / 104.5
	fx := float32(exp * gx / W)
	for y := 0; y < c.h; y++ {
		f0 := float32(exp * (1 - gx/2 + gy*(float64(y)/H-0.5)))
		src := c.pix[3*y*c.w : 3*(y+1)*c.w]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+4*c.w]
		for x := 0; x < c.w; x++ {
			f := f0 + fx*float32(x)
			b := r.Uint64()
			n := float32(int(b&255)+int(b>>8&255)+int(b>>16&255)+int(b>>24&255)-510) * ns
			cn := float32(int(b>>32&255)-int(b>>40&255)) * cs
			q := src[3*x : 3*x+3 : 3*x+3]
			o := out[4*x : 4*x+4 : 4*x+4]
			o[0] = clamp8(q[0]*f*tint.r + n + cn)
			o[1] = clamp8(q[1]*f*tint.g + n)
			o[2] = clamp8(q[2]*f*tint.b + n - cn)
			o[3] = 255
		}
	}
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
