package chart

import (
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/metrics"
	"github.com/boostershot/facet/internal/outfile"
)

// heads reports rows with the given true parts, each predicted right
// except every third row's mask, which is predicted one class on.
func heads(mask, gender, age []int8) []metrics.Head {
	n := len(mask)
	pm, pg, pa, p18 := make([]int, n), make([]int, n), make([]int, n), make([]int, n)
	for i := range n {
		pm[i], pg[i], pa[i] = max(0, int(mask[i])), max(0, int(gender[i])), max(0, int(age[i]))
		if i%3 == 0 {
			pm[i] = (pm[i] + 1) % 3
		}
		p18[i] = int(label.Join(int8(pm[i]), int8(pg[i]), int8(pa[i])))
	}
	return metrics.Heads(mask, gender, age, pm, pg, pa, p18, label.DefaultBins)
}

// parts are n rows' labels cycling through the classes of each head,
// unknown (-1) where known is false.
func parts(n int, known [3]bool) (mask, gender, age []int8) {
	for i := range n {
		m, g, a := int8(i%3), int8(i/3%2), int8(i/6%3)
		for k, p := range []*int8{&m, &g, &a} {
			if !known[k] {
				*p = label.Unknown
			}
		}
		mask, gender, age = append(mask, m), append(gender, g), append(age, a)
	}
	return mask, gender, age
}

// inked counts the pixels of r that are not white.
func inked(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA); c.R < 250 || c.G < 250 || c.B < 250 {
				n++
			}
		}
	}
	return n
}

// save writes img to $FACET_CHART_DIR (to look at it) when that is set.
func save(t *testing.T, name string, img image.Image) {
	if dir := os.Getenv("FACET_CHART_DIR"); dir != "" {
		if err := outfile.WritePNG(filepath.Join(dir, name), img); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConfusionLayout(t *testing.T) {
	cases := []struct {
		name              string
		known             [3]bool
		small, large, out []string
	}{
		{"all labelled", [3]bool{true, true, true}, []string{"mask", "gender", "age group"}, []string{"18 classes"}, nil},
		{"mask only", [3]bool{true, false, false}, []string{"mask"}, nil, []string{"gender", "age group", "18 classes"}},
		{"no age", [3]bool{true, true, false}, []string{"mask", "gender"}, nil, []string{"age group", "18 classes"}},
	}
	titles := func(hs []metrics.Head) (out []string) {
		for _, h := range hs {
			out = append(out, h.Title)
		}
		return out
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			small, large, out := ConfusionLayout(heads(parts(36, c.known)))
			if !slices.Equal(titles(small), c.small) || !slices.Equal(titles(large), c.large) || !slices.Equal(out, c.out) {
				t.Errorf("layout: small %v large %v left out %v; want %v %v %v", titles(small), titles(large), out, c.small, c.large, c.out)
			}
		})
	}
}

// TestConfusionMaskOnly draws a mask-only set: one panel, no 18-class
// matrix below it, and the panel is inked (cells and their counts).
func TestConfusionMaskOnly(t *testing.T) {
	only, err := Confusion("mask only", heads(parts(30, [3]bool{true, false, false})))
	if err != nil {
		t.Fatal(err)
	}
	all, err := Confusion("all", heads(parts(36, [3]bool{true, true, true})))
	if err != nil {
		t.Fatal(err)
	}
	save(t, "mask-only.png", only)
	save(t, "all.png", all)
	px := func(l float64) int { return int(math.Ceil(l * DPI / 72)) }
	b := only.Bounds()
	if w, h := px(float64(confusionWidth*2/3)), px(float64(headerHeight+smallHeight)); b.Dy() != h || b.Dx() != w {
		t.Errorf("mask-only chart %v, want %dx%d (header and two thirds of a row of small matrices)", b, w, h)
	}
	if want := px(float64(headerHeight + smallHeight + largeHeight)); all.Bounds().Dy() != want {
		t.Errorf("full chart %v high, want %d (with the 18-class matrix)", all.Bounds().Dy(), want)
	}
	// The mask panel, the first third of the row below the header, is
	// drawn; the rest is empty.
	top := px(float64(headerHeight))
	third := all.Bounds().Dx() / 3
	mask := image.Rect(0, top, third, b.Max.Y)
	rest := image.Rect(third+px(20), top, b.Max.X, b.Max.Y)
	if n := inked(only, mask); n < mask.Dx()*mask.Dy()/10 {
		t.Errorf("mask panel: %d of %d pixels inked, want a tenth or more", n, mask.Dx()*mask.Dy())
	}
	if n := inked(only, rest); n != 0 {
		t.Errorf("%d pixels inked right of the mask panel, want none (gender and age left out)", n)
	}
}

func TestConfusionNoLabels(t *testing.T) {
	if _, err := Confusion("none", heads(parts(9, [3]bool{}))); !errors.Is(err, ErrNoLabels) {
		t.Errorf("no labelled row: err %v, want ErrNoLabels", err)
	}
}
