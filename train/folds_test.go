package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// withOrigins rewrites the Arrow file at path with an origin column: every
// row whose index is a multiple of every is made (augmented, synthetic
// mask or pseudo label in turn), the rest original. It returns the ids of
// the made rows.
func withOrigins(t *testing.T, path string, every int) map[string]bool {
	t.Helper()
	samples := readSamples(t, path)
	made := map[string]bool{}
	kinds := []table.Origin{table.Augmented, table.SyntheticMask, table.PseudoLabel}
	for i := range samples {
		if i%every == 0 {
			samples[i].Origin = kinds[i/every%len(kinds)]
			made[samples[i].ID] = true
		}
	}
	schema := table.NewSchema(label.DefaultBins, table.OriginField)
	out := &cli.TableOutput{Path: path}
	if err := out.Open(nil); err != nil {
		t.Fatal(err)
	}
	defer out.Abort()
	if err := out.WriteAll(schema, table.Records(memory.DefaultAllocator, schema, samples)...); err != nil {
		t.Fatal(err)
	}
	if err := out.Commit(); err != nil {
		t.Fatal(err)
	}
	return made
}

// Rows a stage made are never validation data: facet-train scores and
// predicts the original rows of its validation table only, whatever
// table it is given.
func TestValidationLeavesMadeRowsOut(t *testing.T) {
	data := t.TempDir()
	trainPath := colourTable(t, data, "train", 48, 1)
	valPath := colourTable(t, data, "val", 32, 2)
	made := withOrigins(t, valPath, 4)
	withOrigins(t, trainPath, 4) // training on made rows is what they are for
	out := filepath.Join(t.TempDir(), "run")
	stderr, err := runTrain(append([]string{"--out", out, "--train", trainPath, "--val", valPath, "--epochs", "1"}, fastArgs...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if len(made) != 8 || !strings.Contains(stderr, "8 rows made by facet stages") {
		t.Errorf("%d made rows; stderr does not count them:\n%s", len(made), stderr)
	}
	checkOOF(t, filepath.Join(out, "oof.arrow"), 32-len(made))
	for _, s := range readSamples(t, filepath.Join(out, "oof.arrow")) {
		if made[s.ID] {
			t.Errorf("made row %s in oof.arrow", s.ID)
		}
	}
	if l := metricLines(t, filepath.Join(out, "metrics.jsonl")); len(l) != 1 || int(l[0]["val_n_18"].(float64)) != 32-len(made) {
		t.Errorf("metrics count %v validation rows, want %d", l[0]["val_n_18"], 32-len(made))
	}
	cfg, _ := os.ReadFile(filepath.Join(out, "config.json"))
	if !strings.Contains(string(cfg), `"val_rows": 24`) || !strings.Contains(string(cfg), `"train_rows": 48`) {
		t.Errorf("config.json counts:\n%s", cfg)
	}
}

// readSamples reads the samples of an Arrow file.
func readSamples(t *testing.T, path string) []table.Sample {
	t.Helper()
	_, recs, err := table.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []table.Sample
	for _, rec := range recs {
		out = append(out, table.Samples(rec)...)
		rec.Release()
	}
	return out
}

func TestAllFolds(t *testing.T) {
	folds := t.TempDir()
	// Two folds: each fold's validation rows are the other's training rows.
	a := colourTable(t, folds, "a", 32, 1)
	b := colourTable(t, folds, "b", 32, 2)
	for _, link := range [][2]string{{a, "fold0.train.arrow"}, {b, "fold0.val.arrow"}, {b, "fold1.train.arrow"}, {a, "fold1.val.arrow"}} {
		data, err := os.ReadFile(link[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(folds, link[1]), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := `{"folds": 2, "files": [{"fold": 0}, {"fold": 1}]}`
	if err := os.WriteFile(filepath.Join(folds, "manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "run")
	stderr, err := runTrain(append([]string{"--out", out, "--folds", folds, "--all-folds", "--epochs", "1"}, fastArgs...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, f := range []string{"fold0/best.safetensors", "fold1/best.safetensors", "fold0/oof.arrow", "fold1/oof.arrow"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	checkOOF(t, filepath.Join(out, "oof.arrow"), 64)
	if _, err := runTrain("--out", out, "--all-folds"); err == nil {
		t.Error("--all-folds without --folds accepted")
	}
	if _, err := runTrain("--out", out, "--folds", folds, "--all-folds", "--fold", "1"); err == nil {
		t.Error("--all-folds with --fold accepted")
	}
}
