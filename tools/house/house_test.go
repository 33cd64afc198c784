package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadHouse(t *testing.T) *house {
	t.Helper()
	h, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// docs/house.md is what the code is now (make house writes it).
func TestPictureUpToDate(t *testing.T) {
	var got bytes.Buffer
	if err := run(&got); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "docs", "house.md"))
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Error("docs/house.md is out of date: run make house")
	}
}

// Every package of internal/ has its row in README's "The packages",
// and every row there is a package.
func TestPackagesInREADME(t *testing.T) {
	h := loadHouse(t)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "### The packages")
	if !ok {
		t.Fatal(`README has no "### The packages"`)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |")
		for _, name := range strings.Split(cell, ",") {
			listed[strings.Trim(strings.TrimSpace(name), "`")] = true
		}
	}
	for _, n := range h.sorted() {
		if !isProgram(n) && !listed[label(n)] {
			t.Errorf("internal/%s is not in README's packages table", label(n))
		}
		delete(listed, label(n))
	}
	delete(listed, "testdata") // the go tool's patterns skip folders of that name
	for name := range listed {
		t.Errorf("README's packages table lists %s, which is not a package of internal/", name)
	}
}

// The programs that only read and write tables, and the packages that
// hold the table's concepts, build without cgo: they run where OpenCV
// and dlib are not installed.
func TestTableToolsWithoutCgo(t *testing.T) {
	h := loadHouse(t)
	for _, n := range []string{"merge", "split", "demodata", "internal/table", "internal/croptable", "internal/pred",
		"internal/label", "internal/dup", "internal/fold", "internal/join", "internal/suspect", "internal/numrange", "internal/cli", "internal/outfile"} {
		if _, ok := h.pkgs[n]; !ok {
			t.Errorf("%s: no such package", n)
		} else if h.needsCgo(n) {
			t.Errorf("%s needs cgo now", n)
		}
	}
	// And the check can fail: the cropper needs OpenCV.
	if !h.needsCgo("crop") {
		t.Error("facet-crop does not need cgo: the check is broken")
	}
}
