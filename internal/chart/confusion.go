package chart

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/boostershot/facet/internal/metrics"
)

// ErrNoLabels is Confusion's error when no head has a row with a known
// label: there is nothing to draw.
var ErrNoLabels = errors.New("no row with a known label: no confusion matrix to draw")

// The confusion chart's geometry: a header (title, note, colour scale)
// above a row of the small heads' matrices (mask, gender, age group) and
// the 18-class matrix below them.
const (
	confusionWidth = 13 * vg.Inch
	headerHeight   = 1.7 * vg.Inch
	smallHeight    = 3.9 * vg.Inch
	largeHeight    = 12 * vg.Inch
	smallPerRow    = 3
)

// ConfusionLayout sorts the heads of hs into those drawn, the small ones
// (up to smallPerRow classes) side by side and the larger below, and the
// titles of those left out because none of their rows has a known label.
func ConfusionLayout(hs []metrics.Head) (small, large []metrics.Head, leftOut []string) {
	for _, h := range hs {
		switch {
		case h.N == 0:
			leftOut = append(leftOut, h.Title)
		case len(h.Names) <= smallPerRow:
			small = append(small, h)
		default:
			large = append(large, h)
		}
	}
	return small, large, leftOut
}

// Confusion draws a confusion matrix of each head of hs that has rows
// with a known label (ConfusionLayout): rows the true class, columns the
// prediction, each cell its count and its share of the row (the
// row-normalised rate; recall on the diagonal) over a colour scale of
// that share, every class named in full with its row count. A note
// names the heads left out. title is the chart's first line.
func Confusion(title string, hs []metrics.Head) (image.Image, error) {
	small, large, leftOut := ConfusionLayout(hs)
	if len(small)+len(large) == 0 {
		return nil, ErrNoLabels
	}
	height := headerHeight + vg.Length(len(large))*largeHeight
	if len(small) > 0 {
		height += vg.Length((len(small)+smallPerRow-1)/smallPerRow) * smallHeight
	}
	// Without a large matrix, the width of the small ones (two at least,
	// for the header's lines).
	width := confusionWidth
	if len(large) == 0 {
		width = confusionWidth * vg.Length(max(2, min(len(small), smallPerRow))) / smallPerRow
	}
	cv := NewCanvas(width, height)
	cmap, err := shareColors()
	if err != nil {
		return nil, err
	}
	const margin = vg.Inch / 4
	c := draw.Crop(cv.Canvas, margin, -margin, margin, -margin/2)
	y := Line(c, Style(14, color.Black), c.Min.X, c.Max.Y, title)
	y = Line(c, Style(11, color.Black), c.Min.X, y,
		"rows: true class (with its number of rows), columns: predicted class; each cell: rows, and their share of the true class's rows")
	if len(leftOut) > 0 {
		y = Line(c, Style(11, color.RGBA{160, 40, 0, 255}), c.Min.X, y,
			"left out, no row with a known label: "+strings.Join(leftOut, ", "))
	}
	scale := plot.New()
	scale.HideY()
	scale.X.Label.Text = "share of the true class's rows (the diagonal is the recall)"
	scale.Add(&plotter.ColorBar{ColorMap: cmap})
	scale.Draw(panel(c, c.Min.X, c.Min.X+(c.Max.X-c.Min.X)/2, y-0.75*vg.Inch, y))

	top := c.Max.Y - headerHeight + margin/2
	for i, h := range small {
		p, err := matrix(h, cmap, 10, true)
		if err != nil {
			return nil, err
		}
		w := (confusionWidth - 2*margin) / smallPerRow
		x0 := c.Min.X + vg.Length(i%smallPerRow)*w
		row := top - vg.Length(i/smallPerRow)*smallHeight
		p.Draw(panel(c, x0, x0+w-margin, row-smallHeight+margin, row))
	}
	if len(small) > 0 {
		top -= vg.Length((len(small)+smallPerRow-1)/smallPerRow) * smallHeight
	}
	for i, h := range large {
		p, err := matrix(h, cmap, 7, false)
		if err != nil {
			return nil, err
		}
		row := top - vg.Length(i)*largeHeight
		p.Draw(panel(c, c.Min.X, c.Max.X, row-largeHeight+margin, row))
	}
	return cv.Image(), nil
}

// panel is the part of c between x0 and x1, y0 and y1.
func panel(c draw.Canvas, x0, x1, y0, y1 vg.Length) draw.Canvas {
	c.Rectangle = vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x1, Y: y1}}
	return c
}

// shareColors maps a share in [0, 1] from near white to dark blue with the
// lightness falling linearly (moreland's luminance map, reversed so that
// 0 is light).
func shareColors() (palette.ColorMap, error) {
	m, err := moreland.NewLuminance([]color.Color{color.NRGBA{8, 48, 107, 255}, color.NRGBA{247, 251, 255, 255}})
	if err != nil {
		return nil, err
	}
	m.SetMin(0)
	m.SetMax(1)
	return palette.Reverse(m), nil
}

// shares is a confusion matrix as a heat map: Z(col, row) the share of
// the true class's rows, the first true class drawn at the top.
type shares [][]float64

func (s shares) Dims() (c, r int)   { return len(s), len(s) }
func (s shares) Z(c, r int) float64 { return s[len(s)-1-r][c] }
func (s shares) X(c int) float64    { return float64(c) }
func (s shares) Y(r int) float64    { return float64(r) }

// matrix is the plot of one head's confusion matrix, cell text of size
// points; zeros are written when zeros is set.
func matrix(h metrics.Head, cmap palette.ColorMap, size vg.Length, zeros bool) (*plot.Plot, error) {
	k := len(h.Names)
	share := make(shares, k)
	var cells plotter.XYLabels
	var colors []color.Color
	yNames := make([]string, k)
	for t := range k {
		support := 0
		for _, n := range h.Confusion[t] {
			support += n
		}
		yNames[k-1-t] = fmt.Sprintf("%s (%d)", h.Names[t], support)
		share[t] = make([]float64, k)
		for q, n := range h.Confusion[t] {
			if support > 0 {
				share[t][q] = float64(n) / float64(support)
			}
			if n == 0 && !zeros {
				continue
			}
			cells.XYs = append(cells.XYs, plotter.XY{X: float64(q), Y: float64(k - 1 - t)})
			cells.Labels = append(cells.Labels, fmt.Sprintf("%d\n%.2f", n, share[t][q]))
			ink := color.Color(color.Black)
			if share[t][q] > 0.55 {
				ink = color.White
			}
			colors = append(colors, ink)
		}
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %d rows, accuracy %.3f, macro F1 %.3f", h.Title, h.N, h.Acc, h.F1)
	p.Title.TextStyle.Font.Size = 12
	p.X.Label.Text = "predicted"
	p.Y.Label.Text = "true"
	heat := plotter.NewHeatMap(share, cmap.Palette(256))
	heat.Min, heat.Max = 0, 1
	p.Add(heat)
	if len(cells.Labels) > 0 {
		labels, err := plotter.NewLabels(cells)
		if err != nil {
			return nil, err
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].Font.Size = size
			labels.TextStyle[i].Color = colors[i]
			labels.TextStyle[i].XAlign, labels.TextStyle[i].YAlign = draw.XCenter, draw.YCenter
		}
		p.Add(labels)
	}
	p.NominalX(h.Names...)
	p.NominalY(yNames...)
	p.X.Padding, p.Y.Padding = 0, 0
	if k > smallPerRow {
		p.X.Tick.Label.Rotation = math.Pi / 2
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
		// gonum places rotated labels half a line into the data area,
		// where the cells would cover their ends.
		p.X.Padding = p.X.Tick.Label.Font.Size
	}
	return p, nil
}
