package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"regexp"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/outfile"
)

// sheetCell is the side of one picture on the contact sheet.
const sheetCell = 160

// sheetPairs is the most pairs a contact sheet shows.
const sheetPairs = 24

// sheetPair is one cell pair of the contact sheet: a parent image, a new
// image made from it, and a caption.
type sheetPair struct {
	parent, made, caption string
}

// pickSheet chooses what the contact sheet shows: the new images that
// were made, synthetic masks first (what --sheet is mainly for), then
// augmented and balancing copies, up to sheetPairs, each captioned with
// the mask drawn or the names of the ops applied.
func pickSheet(s *source, jobs []job, results []result) []sheetPair {
	var masked, copies []int
	for i, j := range jobs {
		if r := results[i]; r.err != "" || r.path == "" {
			continue
		}
		if j.masked {
			masked = append(masked, i)
		} else {
			copies = append(copies, i)
		}
	}
	shown := append(masked, copies...)
	pairs := make([]sheetPair, min(len(shown), sheetPairs))
	for k := range pairs {
		j, r := jobs[shown[k]], results[shown[k]]
		caption := strings.TrimPrefix(r.ops, "mask:")
		if !j.masked {
			caption = opParams.ReplaceAllString(r.ops, "") // the op names fit, their settings would not
			if caption == "" {
				caption = "no op applied"
			}
			caption = strings.TrimPrefix(j.suffix, "~") + ": " + caption
		}
		pairs[k] = sheetPair{s.image(j.parent), r.path, caption}
	}
	return pairs
}

// writeSheet draws up to sheetPairs faces next to a new image made from
// each (pickSheet), with what was done written under each, so a person
// can judge them at a glance. An image that cannot be read is a grey
// square with the reason. With no new image, or none readable, it writes
// nothing and says why: a blank sheet would look like a result.
func writeSheet(path string, s *source, jobs []job, results []result) error {
	pairs := pickSheet(s, jobs, results)
	if len(pairs) == 0 {
		return fmt.Errorf("--sheet %s: no new image to show (%d jobs, none made an image)", path, len(jobs))
	}
	cols := min(4, len(pairs))
	rows := (len(pairs) + cols - 1) / cols
	sheet := image.NewRGBA(image.Rect(0, 0, cols*2*sheetCell, rows*(sheetCell+14)))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(sheetBackground), image.Point{}, draw.Src)
	text := func(x, y int, str string) {
		d := font.Drawer{Dst: sheet, Src: image.NewUniform(color.White), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
		d.DrawString(str)
	}
	shown := 0
	for k, p := range pairs {
		x, y := (k%cols)*2*sheetCell, (k/cols)*(sheetCell+14)
		for side, file := range []string{p.parent, p.made} {
			cell := image.Rect(x+side*sheetCell, y, x+(side+1)*sheetCell, y+sheetCell)
			img, err := cvimage.Load(file, 0)
			if err != nil {
				draw.Draw(sheet, cell, image.NewUniform(color.RGBA{90, 90, 90, 255}), image.Point{}, draw.Src)
				text(cell.Min.X+4, cell.Min.Y+20, clip(err.Error(), sheetCell/7-1))
				continue
			}
			draw.Draw(sheet, cell, fit(img), image.Point{}, draw.Src)
			shown++
		}
		text(x+4, y+sheetCell+11, clip(p.caption, 2*sheetCell/7-1))
	}
	if shown == 0 {
		return fmt.Errorf("--sheet %s: none of the %d images to show could be read", path, 2*len(pairs))
	}
	return outfile.WritePNG(path, sheet)
}

// opParams are the settings of the ops in an aug_ops value: "(b=0.25,...)".
var opParams = regexp.MustCompile(`\([^)]*\)`)

// sheetBackground is the contact sheet's dark grey.
var sheetBackground = color.RGBA{32, 32, 32, 255}

// clip shortens s to n characters, ".." marking the cut.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-2]) + ".."
	}
	return s
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
