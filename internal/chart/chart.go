// Package chart holds what facet's charts share, drawn with gonum/plot:
// an image canvas, lines of text (titles, notes), a legend in a column of
// its own beside the data rather than over it, a vertical marker line,
// and the confusion matrices facet-train and facet-merge score draw.
package chart

import (
	"image"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// DPI is the resolution of the charts' images.
const DPI = 96

// Canvas is a white image canvas of w x h.
type Canvas struct {
	img *vgimg.Canvas
	draw.Canvas
}

// NewCanvas returns a white w x h canvas at DPI.
func NewCanvas(w, h vg.Length) *Canvas {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	return &Canvas{img: img, Canvas: draw.New(img)}
}

// Image is what was drawn.
func (c *Canvas) Image() image.Image { return c.img.Image() }

// Style is the text style of size points, aligned by its top left corner.
func Style(size vg.Length, c color.Color) text.Style {
	return text.Style{Color: c, Font: font.From(plot.DefaultFont, size), Handler: plot.DefaultTextHandler,
		XAlign: draw.XLeft, YAlign: draw.YTop}
}

// Line writes s in style sty with its top left at (x, top) and returns
// the y of the next line below it.
func Line(c draw.Canvas, sty text.Style, x, top vg.Length, s string) vg.Length {
	c.FillText(sty, vg.Point{X: x, Y: top}, s)
	return top - sty.Height(s) - sty.Font.Size/3
}

// LegendRight draws l in a column at the right edge of c, its top at the
// top of c, and returns the rest of c to its left, where the data goes:
// the legend never covers a bar or a line. An empty legend takes no room.
func LegendRight(c draw.Canvas, l plot.Legend) draw.Canvas {
	r := l.Rectangle(c)
	w := r.Max.X - r.Min.X
	if w == 0 {
		return c
	}
	pad := l.TextStyle.Font.Size
	l.Top, l.Left = true, true
	l.Draw(draw.Crop(c, c.Max.X-c.Min.X-w-pad/2, 0, 0, -pad))
	return draw.Crop(c, 0, -w-pad, 0, 0)
}

// VLine is a vertical line at X across a plot's data area (X inside the
// range of the plot's other data); it is its own legend thumbnail.
type VLine struct {
	X     float64
	Style draw.LineStyle
}

// Plot draws the line (plot.Plotter).
func (v VLine) Plot(c draw.Canvas, p *plot.Plot) {
	tx, _ := p.Transforms(&c)
	x := tx(v.X)
	c.StrokeLine2(v.Style, x, c.Min.Y, x, c.Max.Y)
}

// Thumbnail draws the legend's sample of the line.
func (v VLine) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(v.Style, x, c.Min.Y, x, c.Max.Y)
}
