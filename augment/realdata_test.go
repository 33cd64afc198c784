package main

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/dlib"
	"github.com/boostershot/facet/internal/testdata"
)

// TestMasksSitOnRealFaces draws masks on real UTKFace faces, with
// landmarks from dlib, and checks that a worn mask covers the mouth and
// the nose tip and leaves the eyes alone, and that a mask under the nose
// leaves the nose tip alone.
func TestMasksSitOnRealFaces(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdata.Dir(t), "faces", "utkface", "2*_0_2_*.jpg"))
	if err != nil || len(files) < 20 {
		t.Skipf("too few UTKFace files: %d", len(files))
	}
	pred, err := dlib.LoadPredictor(dlib.DefaultModel)
	if err != nil {
		t.Skipf("dlib landmark model: %v", err)
	}
	defer pred.Close()
	det, err := dlib.NewDetector()
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	checked := 0
	for i, f := range files[:30] {
		img, err := cvimage.Load(f, 0)
		if err != nil {
			t.Fatal(err)
		}
		g := make([]byte, img.W*img.H)
		for k := range g {
			g[k] = img.Pix[3*k+1]
		}
		gray := dlib.Gray{Pix: g, Stride: img.W, Width: img.W, Height: img.H}
		faces, err := det.Detect(gray, 0)
		if err != nil || len(faces) != 1 {
			continue
		}
		lm, err := pred.Landmarks(gray, faces[0].Box)
		if err != nil {
			t.Fatal(err)
		}
		changed := func(a, b *augment.Image, k int) bool {
			p := lm[k]
			if p.X < 0 || p.Y < 0 || p.X >= a.W || p.Y >= a.H {
				return false
			}
			o := 3 * (p.Y*a.W + p.X)
			return a.Pix[o] != b.Pix[o] || a.Pix[o+1] != b.Pix[o+1] || a.Pix[o+2] != b.Pix[o+2]
		}
		worn := img.Clone()
		if _, err := augment.DrawMask(worn, lm, augment.FitWear, rand.New(rand.NewPCG(uint64(i), 1))); err != nil {
			t.Fatal(err)
		}
		under := img.Clone()
		if _, err := augment.DrawMask(under, lm, augment.FitNoseOut, rand.New(rand.NewPCG(uint64(i), 1))); err != nil {
			t.Fatal(err)
		}
		// 62: inner upper lip, 30: nose tip, 37 and 44: upper eyelids.
		if !changed(img, worn, 62) || !changed(img, worn, 30) || changed(img, worn, 37) || changed(img, worn, 44) {
			t.Errorf("%s: worn mask: mouth %v nose %v eyes %v %v", f, changed(img, worn, 62), changed(img, worn, 30), changed(img, worn, 37), changed(img, worn, 44))
		}
		if changed(img, under, 30) || !changed(img, under, 62) {
			t.Errorf("%s: mask under the nose: nose %v mouth %v", f, changed(img, under, 30), changed(img, under, 62))
		}
		checked++
	}
	if checked < 15 {
		t.Errorf("only %d of 30 faces had one dlib face to check", checked)
	}
}
