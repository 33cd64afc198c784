package summary

import (
	"fmt"
	"image/color"
	"io"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/boostershot/facet/internal/label"
)

// Chart writes a bar chart of the 18 classes, stacked by source, in format
// (png, svg or pdf).
func (c Counts) Chart(w io.Writer, format string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("facet: %d of %d rows with an 18-class label", c.Labelled, c.Rows)
	p.Y.Label.Text = "rows"
	p.X.Label.Text = "class (mask / gender / age)"
	names := make([]string, label.NumClasses)
	for k := range names {
		m, g, a := label.Split(int8(k))
		names[k] = fmt.Sprintf("%d %s/%s/%s", k, label.Name(label.HeadMask, m)[:1], label.Name(label.HeadGender, g)[:1], c.Bins.GroupName(a))
	}
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = 1.2
	p.X.Tick.Label.XAlign = -1
	p.X.Tick.Label.YAlign = -0.5
	sources := append([]string(nil), c.Sources...)
	sort.Strings(sources)
	var below *plotter.BarChart
	for i, name := range sources {
		vals := make(plotter.Values, label.NumClasses)
		for k, n := range c.BySource[name].Class {
			vals[k] = float64(n)
		}
		bars, err := plotter.NewBarChart(vals, vg.Points(14))
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		if below != nil {
			bars.StackOn(below)
		}
		below = bars
		p.Add(bars)
		p.Legend.Add(name, bars)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	p.BackgroundColor = color.White
	wt, err := p.WriterTo(10*vg.Inch, 5*vg.Inch, format)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("writing chart: %w", err)
	}
	return nil
}
