package main

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/boostershot/facet/internal/chart"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/metrics"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
)

// scoreSeries are the validation scores learning.png can draw; each has
// its colour and glyph (plotutil's, by index after the two losses'), so
// a head looks the same in every run.
var scoreSeries = []struct {
	name string
	n    func(epochMetrics) int
	acc  func(epochMetrics) float64
	f1   func(epochMetrics) float64
}{
	{"18 classes", func(e epochMetrics) int { return e.ValN18 }, func(e epochMetrics) float64 { return e.ValAcc18 }, func(e epochMetrics) float64 { return e.ValF118 }},
	{"mask", func(e epochMetrics) int { return e.ValNMask }, func(e epochMetrics) float64 { return e.ValAccMask }, func(e epochMetrics) float64 { return e.ValF1Mask }},
	{"gender", func(e epochMetrics) int { return e.ValNGender }, func(e epochMetrics) float64 { return e.ValAccGender }, func(e epochMetrics) float64 { return e.ValF1Gender }},
	{"age group", func(e epochMetrics) int { return e.ValNAge }, func(e epochMetrics) float64 { return e.ValAccAge }, func(e epochMetrics) float64 { return e.ValF1Age }},
}

// labelledSeries picks the scoreSeries to draw: those with labelled
// validation rows in some epoch (indexes into scoreSeries), and the names
// of the others. A plugin's metrics.jsonl need not count the rows
// (val_n_*); without any count, a score counts as labelled when its
// accuracy is above 0 in some epoch.
func labelledSeries(lines []epochMetrics) (shown []int, leftOut []string) {
	counted := false
	for _, em := range lines {
		for _, s := range scoreSeries {
			counted = counted || s.n(em) > 0
		}
	}
	for i, s := range scoreSeries {
		labelled := false
		for _, em := range lines {
			labelled = labelled || s.n(em) > 0 || (!counted && s.acc(em) > 0)
		}
		if labelled {
			shown = append(shown, i)
		} else {
			leftOut = append(leftOut, s.name)
		}
	}
	return shown, leftOut
}

// bestEpoch is the index into lines of the best epoch: the last flagged
// best, or, when no line is flagged, the first with the highest score.
func bestEpoch(lines []epochMetrics) int {
	best, flagged := 0, false
	for i, em := range lines {
		if em.Best {
			best, flagged = i, true
		}
	}
	if flagged {
		return best
	}
	for i, em := range lines {
		if em.Score > lines[best].Score {
			best = i
		}
	}
	return best
}

// writeLearningCurve draws three panels per epoch to path as PNG: the
// losses, the validation macro F1 of the heads with labelled rows (the
// others are named in a note) and the learning rate, the best epoch
// marked in each, every legend beside its panel's data.
func writeLearningCurve(path string, lines []epochMetrics) error {
	if len(lines) == 0 {
		return errors.New("learning.png: no epoch in metrics.jsonl")
	}
	series := func(get func(epochMetrics) float64) plotter.XYs {
		xy := make(plotter.XYs, len(lines))
		for i, em := range lines {
			xy[i].X, xy[i].Y = float64(em.Epoch+1), get(em)
		}
		return xy
	}
	best := lines[bestEpoch(lines)]
	marker := chart.VLine{X: float64(best.Epoch + 1),
		Style: draw.LineStyle{Color: color.RGBA{200, 30, 30, 255}, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}}
	shown, leftOut := labelledSeries(lines)
	type line struct {
		name  string
		xy    plotter.XYs
		style int
	}
	panel := func(title string, lines []line) (*plot.Plot, plot.Legend, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "epoch"
		p.Add(plotter.NewGrid())
		legend := plot.NewLegend()
		for _, l := range lines {
			lp, pts, err := plotter.NewLinePoints(l.xy)
			if err != nil {
				return nil, legend, err
			}
			lp.Color, pts.Color, pts.Shape = plotutil.Color(l.style), plotutil.Color(l.style), plotutil.Shape(l.style)
			p.Add(lp, pts)
			legend.Add(l.name, lp, pts)
		}
		p.Add(marker)
		legend.Add(fmt.Sprintf("best epoch %d", best.Epoch+1), marker)
		return p, legend, nil
	}
	lossLines := []line{{"train", series(func(e epochMetrics) float64 { return e.TrainLoss }), 0}}
	if len(shown) > 0 {
		lossLines = append(lossLines, line{"validation", series(func(e epochMetrics) float64 { return e.ValLoss }), 1})
	}
	var f1Lines []line
	for _, i := range shown {
		f1Lines = append(f1Lines, line{scoreSeries[i].name, series(scoreSeries[i].f1), 2 + i})
	}
	losses, lossLegend, err := panel("loss", lossLines)
	if err != nil {
		return err
	}
	scores, scoreLegend, err := panel("validation macro F1", f1Lines)
	if err != nil {
		return err
	}
	scores.Y.Min, scores.Y.Max = 0, 1
	lr, lrLegend, err := panel("learning rate", []line{{"lr", series(func(e epochMetrics) float64 { return e.LR }), 2 + len(scoreSeries)}})
	if err != nil {
		return err
	}
	lr.Y.Min = 0
	lr.Y.Tick.Marker = sciTicks{}

	const w, h, margin = 16 * vg.Inch, 5.5 * vg.Inch, vg.Inch / 6
	cv := chart.NewCanvas(w, h)
	c := draw.Crop(cv.Canvas, margin, -margin, margin, -margin/2)
	score := "18-class macro F1"
	if best.ValN18 == 0 {
		score = "mean macro F1 of the labelled heads"
	}
	y := chart.Line(c, chart.Style(13, color.Black), c.Min.X, c.Max.Y,
		fmt.Sprintf("%d epochs; best epoch %d (dashed line), validation score %.4f (%s)", len(lines), best.Epoch+1, best.Score, score))
	if len(leftOut) > 0 {
		y = chart.Line(c, chart.Style(11, color.RGBA{160, 40, 0, 255}), c.Min.X, y,
			"not drawn, no labelled validation row: "+strings.Join(leftOut, ", "))
	}
	c.Max.Y = y
	third := (c.Max.X - c.Min.X) / 3
	for i, pl := range []struct {
		p *plot.Plot
		l plot.Legend
	}{{losses, lossLegend}, {scores, scoreLegend}, {lr, lrLegend}} {
		part := draw.Crop(c, vg.Length(i)*third, -vg.Length(2-i)*third-margin, 0, 0)
		pl.p.Draw(chart.LegendRight(part, pl.l))
	}
	return outfile.WritePNG(path, cv.Image())
}

// sciTicks are gonum's default ticks labelled in scientific notation
// (learning rates: 1e-03, 5e-04).
type sciTicks struct{}

func (sciTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = fmt.Sprintf("%.1e", ticks[i].Value)
		}
	}
	return ticks
}

// writeConfusion draws the confusion matrices of d's rows (the
// validation rows) predicted as p: each head with labelled rows and the
// 18 classes (chart.Confusion). With no labelled row there is nothing to
// draw: it writes no file and says so on w.
func writeConfusion(path string, d *dataset, p *pred.Probs, w io.Writer) error {
	bins, err := table.AgeBins(d.schema)
	if err != nil {
		return fmt.Errorf("%s: %w", d.path, err)
	}
	pm, pg, pa := p.Heads()
	heads := metrics.Heads(d.mask, d.gender, d.age, pm, pg, pa, p.Pred18, bins)
	img, err := chart.Confusion(fmt.Sprintf("confusion matrices of the best epoch's model on %s (%d validation rows)", filepath.Base(d.path), p.N), heads)
	if errors.Is(err, chart.ErrNoLabels) {
		cli.Printf(w, program, "no %s: no validation row has a known label", filepath.Base(path))
		return nil
	}
	if err != nil {
		return err
	}
	return outfile.WritePNG(path, img)
}
