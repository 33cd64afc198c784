package augment

import (
	"bytes"
	"errors"
	"image"
	"math"
	"testing"
)

// syntheticLandmarks places the 68 dlib points of a frontal face centred
// at (cx, cy) with width w, in dlib's order: jaw 0-16, brows 17-26, nose
// 27-35, eyes 36-47, mouth 48-67.
func syntheticLandmarks(cx, cy, w float64) []image.Point {
	lm := make([]image.Point, 68)
	pt := func(u, v float64) image.Point { return image.Pt(int(cx+u*w), int(cy+v*w)) }
	for i := 0; i <= 16; i++ { // jaw: a U from ear to ear through the chin
		a := math.Pi * float64(i) / 16
		lm[i] = pt(-0.5*math.Cos(a), -0.1+0.55*math.Sin(a))
	}
	for i := 17; i <= 26; i++ {
		lm[i] = pt(-0.4+0.8*float64(i-17)/9, -0.3)
	}
	for i := 27; i <= 30; i++ { // nose bridge, top to tip
		lm[i] = pt(0, -0.2+0.1*float64(i-27))
	}
	for i := 31; i <= 35; i++ {
		lm[i] = pt(-0.08+0.04*float64(i-31), 0.13)
	}
	for i := 36; i <= 47; i++ {
		side := -0.2
		if i >= 42 {
			side = 0.2
		}
		lm[i] = pt(side+0.05*math.Cos(float64(i)), -0.18+0.02*math.Sin(float64(i)))
	}
	for i := 48; i <= 67; i++ {
		a := 2 * math.Pi * float64(i-48) / 12
		lm[i] = pt(0.15*math.Cos(a), 0.27+0.05*math.Sin(a))
	}
	lm[51], lm[57] = pt(0, 0.22), pt(0, 0.32)
	lm[62], lm[66] = pt(0, 0.26), pt(0, 0.28)
	return lm
}

func TestMaskPlacement(t *testing.T) {
	const w, h = 200, 240
	lm := syntheticLandmarks(100, 110, 160)
	covered := func(orig, m *Image, p image.Point) bool {
		o := 3 * (p.Y*w + p.X)
		return !bytes.Equal(orig.Pix[o:o+3], m.Pix[o:o+3])
	}
	below := func(p image.Point, d int) image.Point { return image.Pt(p.X, p.Y+d) }
	for _, tc := range []struct {
		fit                        MaskFit
		nose, mouth, chin, leftEye bool
	}{
		{FitWear, true, true, true, false},
		{FitNoseOut, false, true, true, false},
		{FitChin, false, false, true, false},
	} {
		for seed := uint64(1); seed <= 6; seed++ {
			orig := NewImage(w, h)
			for i := range orig.Pix {
				orig.Pix[i] = 200 // a flat skin tone no mask colour matches everywhere
			}
			m := orig.Clone()
			desc, err := DrawMask(m, lm, tc.fit, rng(seed))
			if err != nil {
				t.Fatal(err)
			}
			got := []bool{covered(orig, m, lm[30]), covered(orig, m, lm[62]), covered(orig, m, below(lm[8], -3)), covered(orig, m, lm[37])}
			want := []bool{tc.nose, tc.mouth, tc.chin, tc.leftEye}
			for i, part := range []string{"nose tip", "mouth", "chin", "eye"} {
				if got[i] != want[i] {
					t.Errorf("%s %s (seed %d): %s covered = %v, want %v", tc.fit, desc, seed, part, got[i], want[i])
				}
			}
		}
	}
}

func TestMaskDeterministicAndChecked(t *testing.T) {
	lm := syntheticLandmarks(100, 110, 160)
	a, b := NewImage(200, 240), NewImage(200, 240)
	da, _ := DrawMask(a, lm, FitWear, rng(3))
	db, _ := DrawMask(b, lm, FitWear, rng(3))
	if da != db || !bytes.Equal(a.Pix, b.Pix) {
		t.Error("same seed, different masks")
	}
	if _, err := DrawMask(a, lm[:67], FitWear, rng(1)); !errors.Is(err, ErrLandmarks) {
		t.Errorf("67 landmarks: err = %v", err)
	}
	if _, err := DrawMask(a, syntheticLandmarks(100, 110, 4), FitWear, rng(1)); !errors.Is(err, ErrLandmarks) {
		t.Errorf("a 4-pixel face: err = %v", err)
	}
	// Landmarks partly outside the image still draw (clipped), no panic.
	if _, err := DrawMask(NewImage(60, 60), syntheticLandmarks(50, 50, 160), FitWear, rng(1)); err != nil {
		t.Errorf("face larger than the image: %v", err)
	}
}
