package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/pred"
)

// writeLearningCurve draws the losses (left) and the validation scores
// (right) per epoch to path as PNG.
func writeLearningCurve(path string, lines []epochMetrics) error {
	series := func(get func(epochMetrics) float64) plotter.XYs {
		xy := make(plotter.XYs, len(lines))
		for i, em := range lines {
			xy[i].X, xy[i].Y = float64(em.Epoch+1), get(em)
		}
		return xy
	}
	losses := plot.New()
	losses.Title.Text = "loss"
	losses.X.Label.Text = "epoch"
	if err := plotutil.AddLinePoints(losses,
		"train", series(func(e epochMetrics) float64 { return e.TrainLoss }),
		"validation", series(func(e epochMetrics) float64 { return e.ValLoss })); err != nil {
		return err
	}
	scores := plot.New()
	scores.Title.Text = "validation macro F1"
	scores.X.Label.Text = "epoch"
	scores.Y.Min, scores.Y.Max = 0, 1
	if err := plotutil.AddLinePoints(scores,
		"18 classes", series(func(e epochMetrics) float64 { return e.ValF118 }),
		"mask", series(func(e epochMetrics) float64 { return e.ValF1Mask }),
		"gender", series(func(e epochMetrics) float64 { return e.ValF1Gender }),
		"age group", series(func(e epochMetrics) float64 { return e.ValF1Age })); err != nil {
		return err
	}
	scores.Legend.Top, scores.Legend.Left = false, false
	const w, h = 10 * vg.Inch, 4 * vg.Inch
	cw, err := vgdraw.NewFormattedCanvas(w, h, "png")
	if err != nil {
		return err
	}
	dc := vgdraw.New(cw)
	losses.Draw(vgdraw.Crop(dc, 0, -w/2, 0, 0))
	scores.Draw(vgdraw.Crop(dc, w/2, 0, 0, 0))
	return writeTo(path, cw)
}

func writeTo(path string, wt io.WriterTo) error {
	return outfile.WriteWith(path, func(w io.Writer) error { _, err := wt.WriteTo(w); return err })
}

// writeConfusion draws the 18-class confusion matrix of the validation
// rows with all three parts known (rows: truth, columns: prediction;
// cells shaded by their share of the row, counts written) to path as PNG.
func writeConfusion(path string, truthMask, truthGender, truthAge []int8, p *pred.Probs) error {
	const k, cell, left, top = label.NumClasses, 34, 180, 44
	var counts [k][k]int
	n := 0
	for i := range p.N {
		t := label.Join(truthMask[i], truthGender[i], truthAge[i])
		if t == label.Unknown {
			continue
		}
		counts[t][p.Pred18[i]]++
		n++
	}
	img := image.NewRGBA(image.Rect(0, 0, left+k*cell+10, top+k*cell+10))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	text := func(x, y int, s string, c color.Color) {
		d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
		d.DrawString(s)
	}
	text(10, 18, fmt.Sprintf("18-class confusion, %d validation rows (rows: truth, columns: prediction)", n), color.Black)
	for c := range k {
		name := fmt.Sprintf("%2d %s", c, label.Name(label.HeadLabel, int8(c)))
		text(4, top+c*cell+cell/2+4, name, color.Black)
		text(left+c*cell+cell/2-7, top-8, fmt.Sprintf("%2d", c), color.Black)
	}
	for t := range k {
		total := 0
		for _, v := range counts[t] {
			total += v
		}
		for q := range k {
			share := 0.0
			if total > 0 {
				share = float64(counts[t][q]) / float64(total)
			}
			shade := uint8(255 - 200*share)
			bg := color.RGBA{shade, shade, 255, 255}
			if t == q {
				bg = color.RGBA{shade, 255, shade, 255}
			}
			r := image.Rect(left+q*cell+1, top+t*cell+1, left+(q+1)*cell, top+(t+1)*cell)
			draw.Draw(img, r, image.NewUniform(bg), image.Point{}, draw.Src)
			if counts[t][q] > 0 {
				text(r.Min.X+4, r.Min.Y+cell/2+4, fmt.Sprint(counts[t][q]), color.Black)
			}
		}
	}
	return outfile.WritePNG(path, img)
}
