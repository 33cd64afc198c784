package main

import (
	"fmt"
	"image"
	"image/color"

	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/boostershot/facet/internal/imagefile"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/suspect"
)

// The contact sheet's layout: sheetCols cells a row, each a square
// thumbnail above captionLines lines of 7x13 text.
const (
	sheetCols    = 6
	thumbSide    = 182 // 26 characters of basicfont's 7 pixels
	captionLines = 3
	lineHeight   = 14
	cellPad      = 6
)

// writeSheet draws the suspects' images with their id, given and
// predicted label and confidence to path as PNG. For a person the photo
// the model is surest about is shown. An image that cannot be read is a
// grey square with the reason; it does not stop the sheet.
func writeSheet(path string, d *oof, s []suspect.Suspect) error {
	cellW, cellH := thumbSide+cellPad, thumbSide+captionLines*lineHeight+cellPad
	rows := max(1, (len(s)+sheetCols-1)/sheetCols)
	sheet := image.NewRGBA(image.Rect(0, 0, sheetCols*cellW+cellPad, rows*cellH+cellPad))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.RGBA{32, 32, 32, 255}), image.Point{}, draw.Src)
	text := func(x, y int, str string, c color.Color) {
		d := font.Drawer{Dst: sheet, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
		d.DrawString(str)
	}
	for k, x := range s {
		x0, y0 := cellPad+(k%sheetCols)*cellW, cellPad+(k/sheetCols)*cellH
		box := image.Rect(x0, y0, x0+thumbSide, y0+thumbSide)
		row := x.ShownRow(d.Probs)
		file := d.images[row].Image(d.dir)
		img, _, err := imagefile.Decode(file)
		if err != nil {
			draw.Draw(sheet, box, image.NewUniform(color.RGBA{90, 90, 90, 255}), image.Point{}, draw.Src)
			text(box.Min.X+4, box.Min.Y+20, clip(err.Error(), 25), color.White)
		} else {
			draw.CatmullRom.Scale(sheet, fitBox(img.Bounds(), box), img, img.Bounds(), draw.Src, nil)
		}
		key := x.Unit.Key
		if x.Unit.By == "person" {
			key = "person " + key
		}
		yText := box.Max.Y + lineHeight - 2
		text(x0, yText, clip(key, 26), color.White)
		text(x0, yText+lineHeight, clip(fmt.Sprintf("%s: %s > %s", x.Head, label.Name(x.Head, int8(x.Unit.Given)), label.Name(x.Head, int8(x.Predicted))), 26), color.RGBA{255, 210, 90, 255})
		text(x0, yText+2*lineHeight, clip(fmt.Sprintf("p %.2f (given %.2f)", x.Conf, x.Self), 26), color.RGBA{180, 220, 255, 255})
	}
	return outfile.WritePNG(path, sheet)
}

// fitBox is the largest rectangle of src's shape centred in box.
func fitBox(src, box image.Rectangle) image.Rectangle {
	w, h := box.Dx(), box.Dy()
	if src.Dx()*h > src.Dy()*w {
		h = max(1, src.Dy()*w/src.Dx())
	} else {
		w = max(1, src.Dx()*h/src.Dy())
	}
	x0, y0 := box.Min.X+(box.Dx()-w)/2, box.Min.Y+(box.Dy()-h)/2
	return image.Rect(x0, y0, x0+w, y0+h)
}

// clip shortens s to n characters by cutting its middle: ids are told
// apart by their start (data set, person) and end (photo).
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	head := (n - 2) / 2
	return string(r[:head]) + ".." + string(r[len(r)-(n-2-head):])
}
