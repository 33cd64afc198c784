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
	"gonum.org/v1/plot/vg/draw"

	"github.com/boostershot/facet/internal/chart"
	"github.com/boostershot/facet/internal/label"
)

// Chart draws the class distribution in format (png, svg or pdf): one
// panel per head (mask, gender, age group, unknown included, so partially
// labelled sources show) above the 18 joint classes, bars stacked by
// source, the sources' legend in a column right of the heads' panels.
func (c Counts) Chart(w io.Writer, format string) error {
	const width, height = 12 * vg.Inch, 8 * vg.Inch
	cw, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	dc := draw.New(cw)
	// White background for formats without one.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())

	sources := append([]string(nil), c.Sources...)
	sort.Strings(sources)
	heads := []struct {
		title  string
		names  []string
		counts func(*SourceCounts) []int
	}{
		{"mask", []string{"wear", "incorrect", "none", "unknown"}, func(s *SourceCounts) []int { return s.Mask[:] }},
		{"gender", []string{"male", "female", "unknown"}, func(s *SourceCounts) []int { return s.Gender[:] }},
		{"age group", []string{c.Bins.GroupName(0), c.Bins.GroupName(1), c.Bins.GroupName(2), "unknown"}, func(s *SourceCounts) []int { return s.AgeGroup[:] }},
	}
	const pad = vg.Inch / 6
	dc = draw.Crop(dc, pad, -pad, pad, -pad)
	legend := plot.NewLegend()
	panels := make([]*plot.Plot, len(heads))
	for i, h := range heads {
		l := &legend
		if i > 0 {
			l = nil
		}
		if panels[i], err = c.bars(h.title, h.names, sources, h.counts, l); err != nil {
			return err
		}
	}
	top := chart.LegendRight(draw.Crop(dc, 0, 0, height*0.55, 0), legend)
	pw := (top.Max.X - top.Min.X) / 3
	for i, p := range panels {
		p.Draw(draw.Crop(top, pw*vg.Length(i), -pw*vg.Length(2-i)-pad, 0, 0))
	}
	names := make([]string, label.NumClasses)
	for k := range names {
		m, g, a := label.Split(int8(k))
		names[k] = fmt.Sprintf("%d %s/%s/%s", k, label.Name(label.HeadMask, m)[:1], label.Name(label.HeadGender, g)[:1], c.Bins.GroupName(a))
	}
	joint, err := c.bars(fmt.Sprintf("18 classes (%d of %d rows fully labelled)", c.Labelled, c.Rows), names, sources,
		func(s *SourceCounts) []int { return s.Class[:] }, nil)
	if err != nil {
		return err
	}
	joint.X.Tick.Label.Rotation = 0.8
	joint.X.Tick.Label.XAlign = -1
	joint.X.Tick.Label.YAlign = -0.5
	joint.Draw(draw.Crop(dc, 0, 0, 0, -height*0.45-pad))
	if _, err := cw.WriteTo(w); err != nil {
		return fmt.Errorf("writing chart: %w", err)
	}
	return nil
}

// bars is one panel: a bar per class, stacked by source, the sources
// added to legend unless it is nil.
func (c Counts) bars(title string, names, sources []string, counts func(*SourceCounts) []int, legend *plot.Legend) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "rows"
	p.NominalX(names...)
	p.Add(plotter.NewGrid())
	var below *plotter.BarChart
	for i, name := range sources {
		n := counts(c.BySource[name])
		vals := make(plotter.Values, len(n))
		for k, v := range n {
			vals[k] = float64(v)
		}
		bars, err := plotter.NewBarChart(vals, vg.Points(14))
		if err != nil {
			return nil, fmt.Errorf("chart: %w", err)
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		if below != nil {
			bars.StackOn(below)
		}
		below = bars
		p.Add(bars)
		if legend != nil {
			legend.Add(name, bars)
		}
	}
	return p, nil
}
