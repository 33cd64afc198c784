package main

import (
	"os"
	"path/filepath"
	"testing"
)

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
