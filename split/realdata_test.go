package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/boostershot/facet/internal/dataset"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
	"github.com/boostershot/facet/internal/testdata"
)

// realTable is the shared UTKFace and mask folders (and, named
// utkface-more, the non-Asian faces) as an Arrow stream.
func realTable(t *testing.T, specs ...string) []byte {
	t.Helper()
	var samples []table.Sample
	for _, spec := range specs {
		src, err := dataset.ParseSource(spec)
		if err != nil {
			t.Fatal(err)
		}
		res, err := dataset.Load(src, label.DefaultBins)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, res.Samples...)
	}
	return streamOf(t, samples, label.DefaultBins)
}

// make real's split: the non-Asian faces as training-only rows leave the
// validation rows exactly as they are without them.
func TestRealDataTrainOnly(t *testing.T) {
	dir := testdata.Dir(t)
	more := filepath.Join(dir, "faces", "utkface-more")
	if _, err := os.Stat(more); err != nil {
		t.Skipf("no %s (the dev split of the test data has it): %v", more, err)
	}
	asian := []string{"utkface:" + filepath.Join(dir, "faces", "utkface"), "imagefolder:mask=" + filepath.Join(dir, "masks")}
	args := []string{"--val", "0.2", "--stratify", "mask,gender,age_group"}
	without, stderr, err := runSplit(t, realTable(t, asian...), args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	withMore := realTable(t, asian[0], "utkface-more=utkface:"+more, asian[1])
	with, stderr, err := runSplit(t, withMore, append(args, "--train-only", "source=utkface-more")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	a, sources := rowFolds(t, with, "source")
	b, _ := rowFolds(t, without, "id")
	val := 0
	for id, f := range b {
		if a[id] != f {
			t.Errorf("row %s: fold %d with the extra faces, %d without", id, a[id], f)
		}
		if f == 0 {
			val++
		}
	}
	more14k := 0
	for id, s := range sources {
		if s == "utkface-more" {
			more14k++
			if a[id] != -1 {
				t.Errorf("utkface-more row %s in fold %d", id, a[id])
			}
		}
	}
	if more14k != 14139 || val < 1200 || val > 1300 {
		t.Errorf("%d utkface-more rows (want 14139), %d validation rows (want about 1270)", more14k, val)
	}
}
