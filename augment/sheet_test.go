package main

import (
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/testdata"
)

// TestSheetCopies: a contact sheet of augmented copies (no masks) shows
// each parent next to its copy, not a blank sheet.
func TestSheetCopies(t *testing.T) {
	in := inputTable(t, []testRow{{"a", "a.jpg", label.NoMask, label.Male, 30, 0, false}, {"b", "b.jpg", label.Wear, label.Female, 65, 1, false}})
	sheet := filepath.Join(t.TempDir(), "s.png")
	if _, stderr, err := runAugment(t, in, "--out", t.TempDir(), "--copies", "2", "--sheet", sheet); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	img := testdata.DecodePNG(t, sheet)
	// 4 pairs (2 rows x 2 copies): one row of four pairs.
	b := img.Bounds()
	if b.Dx() != 4*2*sheetCell || b.Dy() != sheetCell+14 {
		t.Errorf("sheet %v, want %dx%d", b, 4*2*sheetCell, sheetCell+14)
	}
	drawn := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) != sheetBackground {
				drawn++
			}
		}
	}
	if want := 8 * sheetCell * sheetCell; drawn < want {
		t.Errorf("%d pixels drawn on the sheet, want the 8 pictures' %d at least", drawn, want)
	}
}

// TestSheetNothingToShow: when no new image was made there is nothing
// to show, and no sheet is written.
func TestSheetNothingToShow(t *testing.T) {
	in := inputTable(t, []testRow{{"a", "missing-a.jpg", label.NoMask, label.Male, 30, 0, false}})
	sheet := filepath.Join(t.TempDir(), "s.png")
	_, _, err := runAugment(t, in, "--out", t.TempDir(), "--copies", "2", "--max-failed", "100%", "--sheet", sheet)
	if err == nil || !strings.Contains(err.Error(), "no new image to show") {
		t.Errorf("err %v, want no new image to show", err)
	}
	if _, err := os.Stat(sheet); !os.IsNotExist(err) {
		t.Errorf("sheet written (%v)", err)
	}
}
