// Package augment is facet's image augmentation: a seeded, composable
// pipeline of the transforms face classifiers train with (flip, colour
// jitter, small affine moves, blur, noise, cutout, JPEG quality, grayscale)
// written as one readable spec string, plus the conversion of an image to
// a normalised model tensor.
//
// The transforms are written here, on a plain RGB buffer, rather than
// taken from OpenCV or an imaging library: every random draw must come
// from the caller's seeded generator (OpenCV's noise uses a process-wide
// RNG), the trainer calls them per batch on every core, and the hot loops
// are simple enough to write allocation-free.
package augment

import (
	"fmt"
	"image"
	"image/color"
)

// Image is an 8-bit RGB image, 3 bytes per pixel, rows packed.
type Image struct {
	W, H int
	Pix  []byte
}

// NewImage is a black w x h image.
func NewImage(w, h int) *Image { return &Image{W: w, H: h, Pix: make([]byte, 3*w*h)} }

// Clone is a deep copy.
func (m *Image) Clone() *Image {
	return &Image{W: m.W, H: m.H, Pix: append([]byte(nil), m.Pix...)}
}

// FromImage converts any Go image.
func FromImage(src image.Image) *Image {
	b := src.Bounds()
	m := NewImage(b.Dx(), b.Dy())
	i := 0
	switch s := src.(type) {
	case *image.RGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := s.Pix[s.PixOffset(b.Min.X, y):]
			for x := 0; x < m.W; x++ {
				m.Pix[i], m.Pix[i+1], m.Pix[i+2] = row[4*x], row[4*x+1], row[4*x+2]
				i += 3
			}
		}
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := s.YOffset(x, y), s.COffset(x, y)
				m.Pix[i], m.Pix[i+1], m.Pix[i+2] = color.YCbCrToRGB(s.Y[yi], s.Cb[ci], s.Cr[ci])
				i += 3
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.RGBAModel.Convert(src.At(x, y)).(color.RGBA)
				m.Pix[i], m.Pix[i+1], m.Pix[i+2] = c.R, c.G, c.B
				i += 3
			}
		}
	}
	return m
}

// FromBGR wraps packed BGR bytes (an OpenCV 8UC3 Mat's data) as an Image,
// swapping the channels into a new buffer.
func FromBGR(w, h int, bgr []byte) (*Image, error) {
	if w <= 0 || h <= 0 || len(bgr) < 3*w*h {
		return nil, fmt.Errorf("augment: %d bytes for a %dx%d BGR image", len(bgr), w, h)
	}
	m := NewImage(w, h)
	for i := 0; i < 3*w*h; i += 3 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2] = bgr[i+2], bgr[i+1], bgr[i]
	}
	return m, nil
}

// BGR is the image as packed BGR bytes, for OpenCV.
func (m *Image) BGR() []byte {
	out := make([]byte, len(m.Pix))
	for i := 0; i < len(m.Pix); i += 3 {
		out[i], out[i+1], out[i+2] = m.Pix[i+2], m.Pix[i+1], m.Pix[i]
	}
	return out
}

// RGBA converts to a Go image.
func (m *Image) RGBA() *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	for i, j := 0, 0; i < len(m.Pix); i, j = i+3, j+4 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2], out.Pix[j+3] = m.Pix[i], m.Pix[i+1], m.Pix[i+2], 255
	}
	return out
}

func clamp8(v float32) byte {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v + 0.5)
}
