package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/nn"
)

// --preset sets the flags the command line leaves alone; what is given
// wins; an unknown name is a usage error.
func TestPreset(t *testing.T) {
	data := t.TempDir()
	trainPath := colourTable(t, data, "train", 16, 1)
	valPath := colourTable(t, data, "val", 8, 2)
	read := func(out string) runConfig {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rc runConfig
		if err := json.Unmarshal(b, &rc); err != nil {
			t.Fatal(err)
		}
		return rc
	}
	base := []string{"--train", trainPath, "--val", valPath, "--size", "16", "--width", "4", "--workers", "2", "--ops", ""}
	cases := []struct {
		name     string
		args     []string
		lr       float64
		schedule string
		patience int
		epochs   int
		weights  string
	}{
		{"defaults", []string{"--epochs", "1"}, nn.DefaultConfig().LR, nn.DefaultConfig().Schedule, defaultPatience, 1, defaultClassWeights},
		{"seed", []string{"--preset", "seed", "--epochs", "1"}, 1e-4, "exp", 5, 1, ""},
		{"seed with its lr given", []string{"--preset", "seed", "--lr", "3e-3", "--epochs", "1"}, 3e-3, "exp", 5, 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "run")
			if _, err := runTrain(append(append([]string{"--out", out}, base...), c.args...)...); err != nil {
				t.Fatal(err)
			}
			rc := read(out)
			if rc.Model.LR != c.lr || rc.Model.Schedule != c.schedule || rc.Patience != c.patience || rc.Epochs != c.epochs || rc.ClassWeights != c.weights {
				t.Errorf("lr %g schedule %s patience %d epochs %d class weights %q; want %g %s %d %d %q",
					rc.Model.LR, rc.Model.Schedule, rc.Patience, rc.Epochs, rc.ClassWeights, c.lr, c.schedule, c.patience, c.epochs, c.weights)
			}
		})
	}
	_, err := runTrain(append([]string{"--out", filepath.Join(t.TempDir(), "run"), "--preset", "fast"}, base...)...)
	if err == nil || !strings.Contains(err.Error(), "seed") {
		t.Errorf("unknown preset: %v, want an error listing the presets", err)
	}
}
