package summary

import (
	"bytes"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

func TestCounts(t *testing.T) {
	bins := label.Bins{30, 58}
	var samples []table.Sample
	add := func(source, subset string, mask, gender int8, age int) {
		s := table.NewSample("x", "x", "x", source, subset)
		s.Mask, s.Gender = mask, gender
		if age >= 0 {
			s.SetAge(age, bins)
		}
		s.Relabel()
		samples = append(samples, s)
	}
	add("competition", "train", label.Wear, label.Female, 45) // class 4
	add("competition", "train", label.Wear, label.Female, 58) // class 5
	add("competition", "eval", label.Unknown, label.Unknown, -1)
	add("aaf", "train", label.NoMask, label.Male, 20) // class 12
	add("imagefolder", "train", label.Incorrect, label.Unknown, -1)

	c := Of(samples, bins)
	if c.Rows != 5 || c.Labelled != 3 || c.Class[4] != 1 || c.Class[5] != 1 || c.Class[12] != 1 {
		t.Errorf("counts %+v", c)
	}
	if c.Mask != [4]int{2, 1, 1, 1} || c.Gender != [3]int{1, 2, 2} || c.AgeGroup != [4]int{1, 1, 1, 2} {
		t.Errorf("mask %v gender %v age %v", c.Mask, c.Gender, c.AgeGroup)
	}
	if s := c.BySource["competition"]; s.Rows != 3 || s.Train != 2 || s.Eval != 1 {
		t.Errorf("competition %+v", s)
	}
	var buf bytes.Buffer
	if err := c.Write(&buf); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(buf.String()), " ")
	for _, want := range []string{"competition 3 2 1", "wear 2 (40.0%)", ">=58 1 (20.0%)", "18-class label known for 3 of 5 rows", "5 wear female >=58 1 33.3%", "16 none female 30-57 0 0.0%"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
	var png bytes.Buffer
	if err := c.Chart(&png, "png"); err != nil || !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")) {
		t.Errorf("chart: %v", err)
	}
}
