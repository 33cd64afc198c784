package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// benchTree is a competition-sized train tree: 4,500 persons x 7 photos
// (31,500 empty files; prep without --verify never opens them).
var benchTree = sync.OnceValues(func() (string, error) {
	root, err := os.MkdirTemp("", "facet-prep-bench-")
	if err != nil {
		return "", err
	}
	benchDir = root
	csv := []byte("id,gender,race,age,path\n")
	for i := range 4500 {
		gender := []string{"male", "female"}[i%2]
		folder := fmt.Sprintf("%06d_%s_Asian_%d", i, gender, 18+i%60)
		csv = fmt.Appendf(csv, "%06d,%s,Asian,%d,%s\n", i, gender, 18+i%60, folder)
		dir := filepath.Join(root, "train", "images", folder)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		for _, stem := range []string{"mask1", "mask2", "mask3", "mask4", "mask5", "incorrect_mask", "normal"} {
			if err := os.WriteFile(filepath.Join(dir, stem+".jpg"), nil, 0o644); err != nil {
				return "", err
			}
		}
	}
	return root, os.WriteFile(filepath.Join(root, "train", "train.csv"), csv, 0o644)
})

// benchDir is the tree to remove when the tests end.
var benchDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func benchRoot(b *testing.B) string {
	root, err := benchTree()
	if err != nil {
		b.Fatal(err)
	}
	return root
}

// BenchmarkPrep31500 is facet-prep on the 31,500-photo tree, table to a
// discarded stdout; compare with BenchmarkWalkFloor, the time to list the
// same tree and nothing else.
func BenchmarkPrep31500(b *testing.B) {
	root := benchRoot(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := run(context.Background(), []string{"-q", "competition:" + filepath.Join(root, "train")}, nil, io.Discard, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(31500*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWalkFloor lists the same tree with filepath.WalkDir: the floor
// any folder-reading tool pays.
func BenchmarkWalkFloor(b *testing.B) {
	root := benchRoot(b)
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := filepath.WalkDir(filepath.Join(root, "train"), func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return err
		})
		if err != nil || n != 31501 {
			b.Fatalf("walked %d files: %v", n, err)
		}
	}
	b.ReportMetric(31500*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
