package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExecBackend runs the fake plugin of testdata/fakeplugin through the
// exec protocol: a good run leaves a checked checkpoint, metrics and an
// oof.arrow made by facet-train; a failing plugin, a wrong tensor shape
// and missing metrics are refused.
func TestExecBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	plugin := filepath.Join(t.TempDir(), "fakeplugin")
	if out, err := exec.Command("go", "build", "-o", plugin, "./testdata/fakeplugin").CombinedOutput(); err != nil {
		t.Fatalf("building the fake plugin: %v\n%s", err, out)
	}
	data := t.TempDir()
	trainPath := colourTable(t, data, "train", 16, 1)
	valPath := colourTable(t, data, "val", 8, 2)
	// fakeplugin speaks version 1 and refuses other versions, as version 1
	// asked plugins to: --protocol 1 keeps it working.
	cases := []struct {
		mode, protocol, wantErr string
	}{
		{"", "1", ""},
		{"", "2", "exit status 1"},
		{"fail", "1", "exit status 3"},
		{"badshape", "1", "shape"},
		{"nometrics", "1", "metrics.jsonl"},
	}
	for _, c := range cases {
		t.Run("mode="+c.mode+",protocol="+c.protocol, func(t *testing.T) {
			t.Setenv("FAKE_PLUGIN_MODE", c.mode)
			out := filepath.Join(t.TempDir(), "run")
			stderr, err := runTrain("--out", out, "--train", trainPath, "--val", valPath, "--epochs", "2",
				"--size", "16", "--width", "4", "--workers", "2", "--protocol", c.protocol, "--backend", "exec", "--", plugin)
			t.Log(stderr)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"config.json", "job.json", "best.safetensors", "best.json", "metrics.jsonl", "oof.arrow", "learning.png", "confusion.png"} {
				if _, err := os.Stat(filepath.Join(out, name)); err != nil {
					t.Error(err)
				}
			}
			if n, err := checkMetrics(filepath.Join(out, "metrics.jsonl")); err != nil || n != 2 {
				t.Errorf("metrics: %d lines, %v", n, err)
			}
			checkOOF(t, filepath.Join(out, "oof.arrow"), 8)
		})
	}
	// -q: nothing on stderr, and a failing backend's own words in the error.
	t.Run("quiet failure", func(t *testing.T) {
		t.Setenv("FAKE_PLUGIN_MODE", "fail")
		stderr, err := runTrain("-q", "--out", filepath.Join(t.TempDir(), "run"), "--train", trainPath, "--val", valPath, "--epochs", "2",
			"--size", "16", "--width", "4", "--workers", "2", "--protocol", "1", "--backend", "exec", "--", plugin)
		if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "fakeplugin: failing as asked") || stderr != "" {
			t.Errorf("error %v, stderr %q: want the backend's last words in the error and nothing on stderr", err, stderr)
		}
	})
}

func TestCheckMetrics(t *testing.T) {
	full := `"lr":1,"train_loss":1,"val_loss":1,"val_acc_mask":1,"val_f1_mask":1,"val_acc_gender":1,"val_f1_gender":1,"val_acc_age":1,"val_f1_age":1,"val_acc_18":1,"val_f1_18":1,"score":1`
	cases := []struct {
		name, text string
		ok         bool
	}{
		{"good", `{"epoch":0,` + full + "}\n" + `{"epoch":1,` + full + "}\n", true},
		{"empty", "", false},
		{"gap", `{"epoch":0,` + full + "}\n" + `{"epoch":2,` + full + "}\n", false},
		{"missing key", `{"epoch":0,"lr":1}` + "\n", false},
		{"not json", "epoch 0\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "metrics.jsonl")
			os.WriteFile(path, []byte(c.text), 0o644)
			_, err := checkMetrics(path)
			if (err == nil) != c.ok {
				t.Errorf("checkMetrics: %v, want ok %v", err, c.ok)
			}
		})
	}
}
