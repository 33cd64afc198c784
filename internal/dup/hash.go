// Package dup finds duplicate pictures among face crops: a 64-bit
// perceptual hash of each crop, and the grouping of rows whose hashes lie
// within a Hamming distance of each other (the connected components of
// the "near" relation, by union-find).
//
// The hash is a pHash: the crop in grey, area-averaged to 32x32, its 2-D
// DCT, and one bit per low-frequency coefficient (u, v in 1..8): set when
// the coefficient is above the median of the 64. Low frequencies survive
// JPEG re-encoding, resizing, a few percent cropped off an edge and a
// change of brightness or contrast, which move a face's hash by a few
// bits, while two different aligned faces differ in 20-40 of them
// (TestPlantedDuplicates measures both on real UTKFace faces).
//
// Why our own and not github.com/corona10/goimagehash (v1.1.0): its
// PerceptionHash resizes to 64x64 with nfnt/resize's bilinear filter,
// which samples instead of averaging, so a downscaled copy moves more
// bits, and it takes an image.Image, which costs facet-crop a conversion
// of every OpenCV crop. This one reads grey bytes (facet-crop's crop in
// grey, or a decoded JPEG's luma plane, which is the same grey) and area
// averages. BenchmarkHash and TestPlantedDuplicates compare the two on the
// same images: see the README's facet-split section for the figures.
package dup

import (
	"image"
	"image/color"
	"math"
	"math/bits"
	"slices"
	"sync"
)

// Hash is a 64-bit perceptual hash. Tables carry it as uint64 (the
// crop_hash column).
type Hash uint64

// Distance is the Hamming distance between two hashes: the bits in which
// they differ, 0..64.
func Distance(a, b Hash) int { return bits.OnesCount64(uint64(a ^ b)) }

// side is the side of the grey thumbnail the DCT runs on; coeffs is the
// side of the block of low frequencies that make the hash, from lowest.
// Leaving out u = 0 and v = 0 (the frequencies of the average row and
// column, which every aligned face shares) cut the false links between
// different faces to a fifth at the same recall (TestPlantedDuplicates;
// frequencies 2..9 lose the slightly cropped copies).
const (
	side   = 32
	coeffs = 8
	lowest = 1 // the first frequency used: 1..8 (DC row and column left out)
)

// cosTable[u][x] = cos((2x+1) u pi / (2 side)), the DCT-II basis.
var cosTable = func() (t [coeffs][side]float32) {
	for u := range coeffs {
		for x := range side {
			t[u][x] = float32(math.Cos(float64(2*x+1) * float64(u+lowest) * math.Pi / (2 * side)))
		}
	}
	return t
}()

// FromGray hashes a grey image of w x h pixels, row r at pix[r*stride:].
// The image is area-averaged to 32x32 first, so any size works (an image
// smaller than 32x32 is stretched). It returns 0 for an empty image.
func FromGray(pix []byte, w, h, stride int) Hash {
	if w <= 0 || h <= 0 || stride < w || len(pix) < (h-1)*stride+w {
		return 0
	}
	var thumb [side * side]float32
	xs, ys := spansOf(w), spansOf(h)
	// Horizontal pass: every source row to side columns.
	rows := make([]float32, h*side)
	for r := range h {
		line := pix[r*stride : r*stride+w]
		out := rows[r*side : (r+1)*side]
		for c, sp := range xs {
			var s float32
			for i, wt := range sp.w {
				s += wt * float32(line[sp.from+i])
			}
			out[c] = s
		}
	}
	// Vertical pass.
	for r, sp := range ys {
		out := thumb[r*side : (r+1)*side]
		for i, wt := range sp.w {
			in := rows[(sp.from+i)*side : (sp.from+i+1)*side]
			for c := range side {
				out[c] += wt * in[c]
			}
		}
	}
	return fromThumb(&thumb)
}

// FromImage hashes an image: the luma plane of a YCbCr image (what the
// JPEG decoder returns) or a Gray image directly, any other image through
// color.GrayModel (the same weights as OpenCV's BGR to grey).
func FromImage(img image.Image) Hash {
	return FromGray(grey(img))
}

// grey is img's grey pixels: the luma plane of a YCbCr image (what the
// JPEG decoder returns) or a Gray image's own, any other image through
// color.GrayModel.
func grey(img image.Image) (pix []byte, w, h, stride int) {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.YCbCr:
		return m.Y[m.YOffset(b.Min.X, b.Min.Y):], b.Dx(), b.Dy(), m.YStride
	case *image.Gray:
		return m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], b.Dx(), b.Dy(), m.Stride
	}
	g := make([]byte, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g[(y-b.Min.Y)*b.Dx()+x-b.Min.X] = color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
		}
	}
	return g, b.Dx(), b.Dy(), b.Dx()
}

// span is the source pixels one thumbnail pixel averages, with weights
// summing to 1.
type span struct {
	from int
	w    []float32
}

// spanCache holds the spans of the sizes seen (crops are all one size).
var spanCache sync.Map // int -> []span

func spansOf(n int) []span {
	if s, ok := spanCache.Load(n); ok {
		return s.([]span)
	}
	s := spans(n)
	spanCache.Store(n, s)
	return s
}

// spans maps n source pixels onto side thumbnail pixels by area (by the
// nearest pixel when n < side).
func spans(n int) []span {
	out := make([]span, side)
	scale := float64(n) / side
	for i := range out {
		if n < side {
			out[i] = span{from: min(n-1, int((float64(i)+0.5)*scale)), w: []float32{1}}
			continue
		}
		lo, hi := float64(i)*scale, float64(i+1)*scale
		sp := span{from: int(lo)}
		for p := int(lo); p < min(n, int(math.Ceil(hi))); p++ {
			cover := math.Min(hi, float64(p+1)) - math.Max(lo, float64(p))
			sp.w = append(sp.w, float32(cover/scale))
		}
		out[i] = sp
	}
	return out
}

// fromThumb is the pHash of a 32x32 grey thumbnail.
func fromThumb(t *[side * side]float32) Hash {
	// rowDCT[y][u]: the DCT of each row, low frequencies only.
	var rowDCT [side][coeffs]float32
	for y := range side {
		line := t[y*side : (y+1)*side]
		for u := range coeffs {
			var s float32
			for x, v := range line {
				s += v * cosTable[u][x]
			}
			rowDCT[y][u] = s
		}
	}
	var c [coeffs * coeffs]float32
	for v := range coeffs {
		for u := range coeffs {
			var s float32
			for y := range side {
				s += rowDCT[y][u] * cosTable[v][y]
			}
			c[v*coeffs+u] = s
		}
	}
	sorted := c
	slices.Sort(sorted[:])
	median := (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
	// Rounding noise is no signal: a flat picture hashes to 0.
	var sum float32
	for _, v := range t {
		sum += v
	}
	eps := 1e-5 * sum
	var h Hash
	for i, v := range c {
		if v > median+eps {
			h |= 1 << i
		}
	}
	return h
}

// Edges are the hashes of a crop with a little cut off one edge: 2% and
// 4% of its width or height off the left, right, top and bottom in turn.
// A copy of a face cropped a few percent tighter on one side lies 5-24
// bits from the original's hash, as far as two different faces, but
// within a few bits of one of these (Dist). The zero Edges means none
// were taken.
type Edges [8]Hash

// edgeCuts are the fractions Edges cut off: TestPlantedDuplicates found
// 2% and 4% to catch 99.8% of copies cut by 2-5% at distance 4; one cut
// alone misses the far ends of that range.
var edgeCuts = [2]float64{0.02, 0.04}

// EdgesFromGray takes the Edges of a grey image (as FromGray).
func EdgesFromGray(pix []byte, w, h, stride int) Edges {
	var e Edges
	if w <= 0 || h <= 0 || stride < w || len(pix) < (h-1)*stride+w {
		return e
	}
	for k, f := range edgeCuts {
		cx, cy := int(f*float64(w)+0.5), int(f*float64(h)+0.5)
		e[4*k+0] = FromGray(pix[cx:], w-cx, h, stride)        // left
		e[4*k+1] = FromGray(pix, w-cx, h, stride)             // right
		e[4*k+2] = FromGray(pix[cy*stride:], w, h-cy, stride) // top
		e[4*k+3] = FromGray(pix, w, h-cy, stride)             // bottom
	}
	return e
}

// FromImageEdges is FromImage and the image's Edges.
func FromImageEdges(img image.Image) (Hash, Edges) {
	pix, w, h, stride := grey(img)
	return FromGray(pix, w, h, stride), EdgesFromGray(pix, w, h, stride)
}

// Dist is the distance between two crops with their Edges: the least of
// the two hashes' Distance and the distance of each one's edge hashes to
// the other's hash (so a copy cut tighter on one side, on either crop,
// stays near). Zero Edges count as none.
func Dist(a Hash, ae *Edges, b Hash, be *Edges) int {
	d := Distance(a, b)
	if *ae != (Edges{}) {
		for _, h := range ae {
			d = min(d, Distance(h, b))
		}
	}
	if *be != (Edges{}) {
		for _, h := range be {
			d = min(d, Distance(a, h))
		}
	}
	return d
}
