package cmdtest

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/testdata"
)

// TestScenesToMaskTraining turns a few real scenes with annotated face
// boxes (../shared/data/crowds) into mask training data, as a user with a
// face-detection data set would: facet-prep boxes: -> facet-crop --boxes
// -> facet-split -> facet-train, one short epoch.
func TestScenesToMaskTraining(t *testing.T) {
	crowds := filepath.Join(testdata.Dir(t), "crowds")
	f, err := os.Open(filepath.Join(crowds, "boxes.csv"))
	if err != nil {
		t.Skipf("no crowds/boxes.csv in the test data: %v", err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The faces of the first eight scenes, in a folder of their own.
	dir := t.TempDir()
	scenes := filepath.Join(dir, "scenes")
	if err := os.Mkdir(scenes, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(strings.Join(rows[0], ",") + "\n")
	faces, labels := 0, map[string]int{}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if !seen[r[0]] {
			if len(seen) == 8 {
				break
			}
			seen[r[0]] = true
			if err := os.Symlink(filepath.Join(crowds, r[0]), filepath.Join(scenes, r[0])); err != nil {
				t.Fatal(err)
			}
		}
		b.WriteString(strings.Join(r, ",") + "\n")
		faces++
		labels[r[2]]++
	}
	if err := os.WriteFile(filepath.Join(scenes, "boxes.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `facet-prep -q boxes:scenes/boxes.csv | facet-crop --boxes --out crops --size 64 |
		facet-split --val 0.3 --stratify mask --out folds -o samples.arrow &&
		facet-train --out run --folds folds --fold 0 --epochs 1 --size 32 --batch 8 --workers 1`
	_, stderr, code := sh(t, dir, script, nil)
	if code != 0 {
		t.Fatalf("pipe failed (exit %d):\n%s", code, stderr)
	}
	crops, _ := filepath.Glob(filepath.Join(dir, "crops", "boxes", "*.jpg"))
	if len(crops) != faces {
		t.Errorf("%d crops for %d annotated faces (labels %v)", len(crops), faces, labels)
	}
	for _, want := range []string{"0001.jpg#0.jpg", "0001.jpg#8.jpg"} {
		if _, err := os.Stat(filepath.Join(dir, "crops", "boxes", want)); err != nil {
			t.Errorf("crop of a face: %v", err)
		}
	}
	metrics, err := os.ReadFile(filepath.Join(dir, "run", "metrics.jsonl"))
	if err != nil {
		t.Fatalf("training left no metrics: %v\n%s", err, stderr)
	}
	if !strings.Contains(string(metrics), `"val_f1_mask"`) {
		t.Errorf("metrics do not score the mask head:\n%s", metrics)
	}
}
