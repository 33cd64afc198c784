package augment

import "fmt"

// ImageNet channel statistics, the usual normalisation for face CNNs.
var (
	MeanRGB = [3]float32{0.485, 0.456, 0.406}
	StdRGB  = [3]float32{0.229, 0.224, 0.225}
)

// Tensor writes m normalised for a model into dst, channels first
// (C x H x W): (value/255 - mean[c]) / std[c]. dst must hold 3*W*H values.
func Tensor(m *Image, dst []float32, mean, std [3]float32) error {
	n := m.W * m.H
	if len(dst) < 3*n {
		return fmt.Errorf("augment: tensor of %d values for a %dx%d image", len(dst), m.W, m.H)
	}
	var scale, shift [3]float32
	for c := range 3 {
		scale[c] = 1 / (255 * std[c])
		shift[c] = -mean[c] / std[c]
	}
	r, g, b := dst[:n], dst[n:2*n], dst[2*n:3*n]
	for i := range n {
		p := m.Pix[3*i : 3*i+3]
		r[i] = float32(p[0])*scale[0] + shift[0]
		g[i] = float32(p[1])*scale[1] + shift[1]
		b[i] = float32(p[2])*scale[2] + shift[2]
	}
	return nil
}
