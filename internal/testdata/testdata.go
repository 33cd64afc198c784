// Package testdata finds the real face images that tests and benchmarks
// use when they are there: $FACET_TESTDATA, or ../shared/data next to the
// project checkout. They are never part of the project itself.
package testdata

import (
	"encoding/csv"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// Dir is the real-data folder, or skips the test (or benchmark) with a
// message when it is absent.
func Dir(tb testing.TB) string {
	tb.Helper()
	d, ok := dataDir(tb)
	if !ok {
		tb.Skipf("real face data not found at %s (set FACET_TESTDATA): skipping", d)
	}
	return d
}

// dataDir is $FACET_TESTDATA (which must exist) or ../shared/data next
// to the checkout, and whether it is there.
func dataDir(tb testing.TB) (string, bool) {
	if d := os.Getenv("FACET_TESTDATA"); d != "" {
		if _, err := os.Stat(d); err != nil {
			tb.Fatalf("FACET_TESTDATA=%s: %v", d, err)
		}
		return d, true
	}
	_, file, _, _ := runtime.Caller(0)
	// internal/testdata/testdata.go -> project root -> ../shared/data
	d := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data")
	_, err := os.Stat(filepath.Join(d, "README.md"))
	return d, err == nil
}

// Portrait is one of the real 384x512 portraits with its true face box:
// the whole pasted face chip (forehead to chin, some hair).
type Portrait struct {
	Path   string
	Masked bool // a mask covers the face (MaskedFace-Net), worn in any way
	Box    image.Rectangle
}

// Portraits reads portraits/boxes.csv (file,source,masked,x0,y0,x1,y1),
// or skips the test when the data is absent.
func Portraits(tb testing.TB) []Portrait {
	tb.Helper()
	dir := filepath.Join(Dir(tb), "portraits")
	f, err := os.Open(filepath.Join(dir, "boxes.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	if len(rows) < 2 || strings.Join(rows[0], ",") != "file,source,masked,x0,y0,x1,y1" {
		tb.Fatalf("boxes.csv: unexpected header %v", rows[0])
	}
	out := make([]Portrait, 0, len(rows)-1)
	for _, r := range rows[1:] {
		var v [4]int
		for i := range v {
			if v[i], err = strconv.Atoi(r[3+i]); err != nil {
				tb.Fatalf("boxes.csv %s: %v", r[0], err)
			}
		}
		out = append(out, Portrait{Path: filepath.Join(dir, r[0]), Masked: r[2] == "1", Box: image.Rect(v[0], v[1], v[2], v[3])})
	}
	return out
}
