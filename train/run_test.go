package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/pred"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/checkpoint"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/table"
)

// colourTable writes n synthetic 24x24 PNG images into dir, whose class
// shows as colour (red level: mask, green: gender, blue: age group), and
// an Arrow file of them; it returns the table's path.
func colourTable(t testing.TB, dir, name string, n int, seed uint64) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	schema := table.NewSchema(label.DefaultBins)
	var samples []table.Sample
	for i := range n {
		m, g, a := int8(rng.IntN(3)), int8(rng.IntN(2)), int8(rng.IntN(3))
		img := image.NewRGBA(image.Rect(0, 0, 24, 24))
		for y := range 24 {
			for x := range 24 {
				jit := func(v int) uint8 { return uint8(min(255, max(0, v+rng.IntN(31)-15))) }
				img.Set(x, y, color.RGBA{jit(int(m) * 120), jit(int(g) * 240), jit(int(a) * 120), 255})
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("%s%03d.png", name, i))
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		s := table.NewSample(fmt.Sprintf("%s/%d", name, i), path, fmt.Sprintf("%s%d", name, i), "synthetic", "train")
		s.Mask, s.Gender, s.AgeGroup = m, g, a
		s.Relabel()
		samples = append(samples, s)
	}
	data, err := table.Encode(schema, samples, table.File)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".arrow")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runTrain(args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return stderr.String(), err
}

// fastArgs are the flags of a small, quick model.
var fastArgs = []string{"--size", "16", "--width", "8", "--batch", "16", "--lr", "0.01", "--ops", "flip:0.5", "--workers", "2"}

func TestTrainSynthetic(t *testing.T) {
	data := t.TempDir()
	trainPath := colourTable(t, data, "train", 64, 1)
	valPath := colourTable(t, data, "val", 32, 2)
	out := filepath.Join(t.TempDir(), "run")
	stderr, err := runTrain(append([]string{"--out", out, "--train", trainPath, "--val", valPath, "--epochs", "2"}, fastArgs...)...)
	t.Log(stderr)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "metrics.jsonl", "best.safetensors", "best.json", "last.safetensors", "last.json", "oof.arrow"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	for _, name := range []string{"learning.png", "confusion.png"} {
		if data, err := os.ReadFile(filepath.Join(out, name)); err != nil || !strings.HasPrefix(string(data), "\x89PNG") {
			t.Errorf("%s is not a PNG: %v", name, err)
		}
	}
	lines := metricLines(t, filepath.Join(out, "metrics.jsonl"))
	if len(lines) != 2 {
		t.Fatalf("metrics.jsonl has %d lines, want 2", len(lines))
	}
	for i, l := range lines {
		for _, key := range []string{"epoch", "lr", "train_loss", "val_loss", "val_acc_mask", "val_f1_mask", "val_acc_gender",
			"val_f1_gender", "val_acc_age", "val_f1_age", "val_acc_18", "val_f1_18", "score", "images_per_s"} {
			if _, ok := l[key]; !ok {
				t.Errorf("line %d lacks %s", i, key)
			}
		}
		if l["epoch"].(float64) != float64(i) {
			t.Errorf("line %d: epoch %v", i, l["epoch"])
		}
	}
	last := lines[1]
	meanAcc := (last["val_acc_mask"].(float64) + last["val_acc_gender"].(float64) + last["val_acc_age"].(float64)) / 3
	chance := (1.0/3 + 1.0/2 + 1.0/3) / 3
	t.Logf("mean head accuracy %.3f (chance %.3f), 18-class accuracy %.3f", meanAcc, chance, last["val_acc_18"])
	if meanAcc < chance+0.15 {
		t.Errorf("mean validation head accuracy %.3f does not beat chance %.3f", meanAcc, chance)
	}

	var cfg nn.Config
	if err := checkpoint.ReadConfig(filepath.Join(out, "best.safetensors"), &cfg); err != nil {
		t.Fatal(err)
	}
	m, err := nn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Read(filepath.Join(out, "best.safetensors"), m.Tensors(false)); err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Read(filepath.Join(out, "last.safetensors"), m.Tensors(true)); err != nil {
		t.Fatal(err)
	}
	checkOOF(t, filepath.Join(out, "oof.arrow"), 32)

	// --resume with more epochs continues at the third epoch.
	stderr, err = runTrain("--out", out, "--resume", "--epochs", "3", "--workers", "2")
	t.Log(stderr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "resuming at epoch 3 of 3") {
		t.Errorf("resume did not start at epoch 3")
	}
	if lines := metricLines(t, filepath.Join(out, "metrics.jsonl")); len(lines) != 3 || lines[2]["epoch"].(float64) != 2 {
		t.Errorf("after resume metrics.jsonl has %d lines", len(lines))
	}
}

func metricLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

func checkOOF(t *testing.T, path string, rows int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := table.NewReader(f, "id", "prob_mask", "prob_gender", "prob_age", "prob18", "pred", "pred_mask", "pred_gender", "pred_age_group")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	n := 0
	for r.Next() {
		rec := r.RecordBatch()
		p18 := rec.Column(rec.Schema().FieldIndices("prob18")[0]).(*array.List)
		predCol := rec.Column(rec.Schema().FieldIndices("pred")[0]).(*array.Int8)
		vals := p18.ListValues().(*array.Float32)
		for i := range int(rec.NumRows()) {
			lo, hi := p18.ValueOffsets(i)
			if hi-lo != 18 {
				t.Fatalf("row %d: prob18 has %d values", i, hi-lo)
			}
			best := int8(pred.Argmax(vals.Float32Values()[lo:hi]))
			if predCol.Value(i) != best {
				t.Errorf("row %d: pred %d, argmax of prob18 %d", i, predCol.Value(i), best)
			}
		}
		n += int(rec.NumRows())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Errorf("oof.arrow has %d rows, want %d", n, rows)
	}
}

func TestUsage(t *testing.T) {
	cases := map[string][]string{
		"no out":          {"--train", "a", "--val", "b"},
		"no data":         {"--out", "x"},
		"both":            {"--out", "x", "--folds", "f", "--fold", "0", "--train", "a"},
		"fold missing":    {"--out", "x", "--folds", "f"},
		"bad backend":     {"--out", "x", "--train", "a", "--val", "b", "--backend", "jax"},
		"exec no command": {"--out", "x", "--train", "a", "--val", "b", "--backend", "exec"},
		"bad weights":     {"--out", "x", "--train", "a", "--val", "b", "--class-weights", "some"},
		"bad heads":       {"--out", "x", "--train", "a", "--val", "b", "--heads", "two"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := runTrain(args...)
			var ue cli.UsageError
			if !errors.As(err, &ue) {
				t.Errorf("error %v is not a usage error", err)
			}
		})
	}
}

// TestResumeEqualsUninterrupted checks that two epochs plus a resumed
// third give the metrics of three epochs in one go.
func TestResumeEqualsUninterrupted(t *testing.T) {
	data := t.TempDir()
	trainPath := colourTable(t, data, "train", 32, 3)
	valPath := colourTable(t, data, "val", 16, 4)
	one := filepath.Join(t.TempDir(), "one")
	two := filepath.Join(t.TempDir(), "two")
	base := append([]string{"--train", trainPath, "--val", valPath}, fastArgs...)
	if _, err := runTrain(append([]string{"--out", one, "--epochs", "3"}, base...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := runTrain(append([]string{"--out", two, "--epochs", "2"}, base...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := runTrain("--out", two, "--resume", "--epochs", "3"); err != nil {
		t.Fatal(err)
	}
	a, b := metricLines(t, filepath.Join(one, "metrics.jsonl")), metricLines(t, filepath.Join(two, "metrics.jsonl"))
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("%d and %d metrics lines, want 3", len(a), len(b))
	}
	for _, k := range []string{"train_loss", "val_loss", "val_acc_18", "val_f1_18", "lr"} {
		if a[2][k] != b[2][k] {
			t.Errorf("epoch 3 %s: uninterrupted %v, resumed %v", k, a[2][k], b[2][k])
		}
	}
}

// A new run in an existing RUNDIR keeps the earlier run's model, its
// config and metrics until it writes its first model: stopped before (here
// during loading), it leaves them as they were; once it has one, the
// earlier run's outputs are gone.
func TestNewRunKeepsOldModelUntilItHasOne(t *testing.T) {
	data := t.TempDir()
	trainPath := colourTable(t, data, "train", 32, 1)
	valPath := colourTable(t, data, "val", 16, 2)
	out := filepath.Join(t.TempDir(), "run")
	args := append([]string{"--out", out, "--train", trainPath, "--val", valPath, "--epochs", "1"}, fastArgs...)
	if stderr, err := runTrain(args...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	names := []string{"config.json", "best.safetensors", "best.json", "last.safetensors", "metrics.jsonl", "oof.arrow"}
	before := map[string][]byte{}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		before[name] = b
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Ctrl-C before the first epoch ends
	var stderr bytes.Buffer
	newArgs := append(append([]string(nil), args...), "--seed", "2", "--width", "4")
	if err := run(ctx, newArgs, strings.NewReader(""), &bytes.Buffer{}, &stderr); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want cancelled\n%s", err, stderr.String())
	}
	for _, name := range names {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || !bytes.Equal(b, before[name]) {
			t.Errorf("%s changed or went (%v) when a new run stopped before its first model", name, err)
		}
	}
	// Run to the end: the new run's config and model.
	if stderr, err := runTrain(newArgs...); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var cfg nn.Config
	if err := checkpoint.ReadConfig(filepath.Join(out, "best.safetensors"), &cfg); err != nil || cfg.Width != 4 {
		t.Errorf("best.json after the new run: width %d, %v", cfg.Width, err)
	}
	if lines := metricLines(t, filepath.Join(out, "metrics.jsonl")); len(lines) != 1 {
		t.Errorf("metrics.jsonl mixes runs: %d lines", len(lines))
	}
}
