package main

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/outfile"
)

// sheetCell is the side of one picture on the contact sheet.
const sheetCell = 160

// writeSheet draws up to 24 faces next to their synthetic masks, with the
// mask drawn written under each, so a person can judge them at a glance.
func writeSheet(path string, s *source, jobs []job, results []result) error {
	type pair struct {
		parent string
		masked string
		label  string
	}
	var pairs []pair
	for i, j := range jobs {
		if j.masked && results[i].err == "" && len(pairs) < 24 {
			pairs = append(pairs, pair{s.images[j.parent], results[i].path, results[i].ops})
		}
	}
	cols := 4
	rows := max(1, (len(pairs)+cols-1)/cols)
	sheet := image.NewRGBA(image.Rect(0, 0, cols*2*sheetCell, rows*(sheetCell+14)))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.RGBA{32, 32, 32, 255}), image.Point{}, draw.Src)
	for k, p := range pairs {
		x, y := (k%cols)*2*sheetCell, (k/cols)*(sheetCell+14)
		for side, file := range []string{p.parent, p.masked} {
			img, err := cvimage.Load(file, 0)
			if err != nil {
				continue
			}
			draw.Draw(sheet, image.Rect(x+side*sheetCell, y, x+(side+1)*sheetCell, y+sheetCell), fit(img), image.Point{}, draw.Src)
		}
		d := font.Drawer{Dst: sheet, Src: image.NewUniform(color.White), Face: basicfont.Face7x13,
			Dot: fixed.P(x+4, y+sheetCell+11)}
		d.DrawString(p.label[len("mask:"):])
	}
	return outfile.WritePNG(path, sheet)
}

// fit scales an image to sheetCell x sheetCell (nearest neighbour).
func fit(m *augment.Image) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, sheetCell, sheetCell))
	for y := range sheetCell {
		sy := y * m.H / sheetCell
		for x := range sheetCell {
			sx := x * m.W / sheetCell
			o := 3 * (sy*m.W + sx)
			out.SetRGBA(x, y, color.RGBA{m.Pix[o], m.Pix[o+1], m.Pix[o+2], 255})
		}
	}
	return out
}
