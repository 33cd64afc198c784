package dataset

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/label"
)

// The name parsers read outside input: they must never panic, and what
// they accept must be what the name says.

func FuzzParseFolder(f *testing.F) {
	for _, s := range []string{"000001_female_Asian_45", "001498-1_male_Asian_38", "x_male_Asian_-1", "a_b_c_d", "___", "1_male_Asian_045"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := ParseFolder(name)
		if err != nil {
			return
		}
		if p.Age < 0 || p.Age > 130 || (p.Gender != label.Male && p.Gender != label.Female) || p.ID == "" || strings.Contains(p.ID, "_") {
			t.Fatalf("ParseFolder(%q) = %+v", name, p)
		}
		again, err := ParseFolder(fmt.Sprintf("%s_%s_%s_%d", p.ID, label.Name(label.HeadGender, p.Gender), p.Race, p.Age))
		if err != nil || again != p {
			t.Fatalf("ParseFolder(%q) = %+v does not round-trip: %+v, %v", name, p, again, err)
		}
	})
}

func FuzzParseAAF(f *testing.F) {
	for _, s := range []string{"00000A02.jpg", "13321A80.jpg", "07381A61.JPG", "0001A02.jpg", "00001A.jpg", "00001A02"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		a, err := ParseAAF(name)
		if err != nil {
			return
		}
		if a.Index < 0 || a.Index > 99999 || a.Age < 0 || a.Age > 999 || (a.Gender == label.Female) != (a.Index <= aafLastFemale) {
			t.Fatalf("ParseAAF(%q) = %+v", name, a)
		}
		if !strings.HasPrefix(name, fmt.Sprintf("%05dA", a.Index)) || !IsImageName(name) {
			t.Fatalf("ParseAAF accepted %q", name)
		}
	})
}

func FuzzParseUTKFace(f *testing.F) {
	for _, s := range []string{"26_0_2_20170116174525125.jpg.chip.jpg", "39_1_20170116174525125.jpg.chip.jpg", "1_1_4_x.jpg", "_0_2_x.jpg", "26_2_2_x.jpg", "26_0_9_x.jpg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		u, err := ParseUTKFace(name)
		if err != nil {
			return
		}
		if u.Age < 0 || u.Age > 999 || (u.Gender != label.Male && u.Gender != label.Female) || !IsImageName(name) {
			t.Fatalf("ParseUTKFace(%q) = %+v", name, u)
		}
		if !strings.HasPrefix(name, fmt.Sprintf("%d_%d_", u.Age, u.Gender)) && !strings.HasPrefix(name, "0") {
			t.Fatalf("ParseUTKFace(%q) = %+v disagrees with the name", name, u)
		}
	})
}

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"competition:data", "imagefolder:mask=x", "csv:a.csv", ":", "imagefolder:=", "aaf::"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		src, err := ParseSource(spec)
		if err != nil {
			return
		}
		if src.Path == "" || filepath.Clean(src.Path) == "" {
			t.Fatalf("ParseSource(%q) = %+v with an empty path", spec, src)
		}
		if again, err := ParseSource(src.String()); err != nil || again != src {
			t.Fatalf("ParseSource(%q) = %+v does not round-trip: %+v, %v", spec, src, again, err)
		}
	})
}
