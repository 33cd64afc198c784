package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/checkpoint"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/model"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/pred"
)

// ProtocolVersion is the version of the exec backend's protocol
// (train/PROTOCOL.md) facet-train speaks: version 2 lets a backend hand
// back an ONNX model. It reads the outputs of version 1 too; --protocol 1
// writes 1 in the job for a plugin that refuses other versions.
const ProtocolVersion = 2

// job is what an exec backend receives: on stdin, and as the file named
// by $FACET_TRAIN_JOB (RUNDIR/job.json).
type job struct {
	Protocol int          `json:"protocol"`
	Resume   bool         `json:"resume"`
	Train    string       `json:"train"`
	Val      string       `json:"val"`
	TrainCSV string       `json:"train_csv"`
	ValCSV   string       `json:"val_csv"`
	RunDir   string       `json:"run_dir"`
	Fold     int          `json:"fold"`
	Epochs   int          `json:"epochs"`
	Batch    int          `json:"batch"`
	Patience int          `json:"patience"`
	Seed     uint64       `json:"seed"`
	Ops      string       `json:"ops"`
	Mean     [3]float32   `json:"mean"`
	Std      [3]float32   `json:"std"`
	Model    nn.Config    `json:"model"`
	Tensors  []tensorSpec `json:"tensors"`
}

type tensorSpec struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	Dtype string `json:"dtype"`
}

// requiredMetrics are the keys every metrics.jsonl line must have.
var requiredMetrics = []string{"epoch", "lr", "train_loss", "val_loss", "val_acc_mask", "val_f1_mask",
	"val_acc_gender", "val_f1_gender", "val_acc_age", "val_f1_age", "val_acc_18", "val_f1_18", "score"}

// execTrain runs an external trainer by the protocol of PROTOCOL.md and
// checks what it wrote: a model facet loads (best.onnx, or best.safetensors
// holding exactly the tensors of the gorgonia model of the run's config),
// its best.json, and metrics.jsonl with a line per epoch from 0. When the
// plugin writes no oof.arrow, facet-train predicts the validation rows
// with the plugin's model as facet-infer would and writes it, so every
// model a plugin hands back is proven to run in facet.
func execTrain(ctx context.Context, dir string, rc runConfig, tr, va *dataset, workers int, resume bool, stderr io.Writer) error {
	logf := func(format string, args ...any) { cli.Printf(stderr, program, format, args...) }
	fresh, err := nn.New(rc.Model)
	if err != nil {
		return err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	j := job{Protocol: rc.Protocol, Resume: resume, RunDir: absDir, Fold: rc.Fold, Epochs: rc.Epochs, Batch: rc.Batch,
		Patience: rc.Patience, Seed: rc.Seed, Ops: rc.Ops, Mean: augment.MeanRGB, Std: augment.StdRGB, Model: rc.Model}
	if j.Train, err = filepath.Abs(rc.Train); err != nil {
		return err
	}
	if j.Val, err = filepath.Abs(rc.Val); err != nil {
		return err
	}
	j.TrainCSV, j.ValCSV = filepath.Join(absDir, "train.csv"), filepath.Join(absDir, "val.csv")
	if err := tr.writeCSV(j.TrainCSV); err != nil {
		return err
	}
	if err := va.writeCSV(j.ValCSV); err != nil {
		return err
	}
	for _, p := range fresh.Params() {
		j.Tensors = append(j.Tensors, tensorSpec{Name: p.Name, Shape: p.Shape, Dtype: "F32"})
	}
	jb, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	jobPath := filepath.Join(absDir, "job.json")
	if err := outfile.WriteFile(jobPath, append(jb, '\n')); err != nil {
		return err
	}
	// What facet-train makes from the backend's model is made anew: an
	// oof.arrow left by an earlier (resumed) run would describe an older
	// model and be taken for the plugin's own.
	for _, name := range []string{"oof.arrow", "val_probs.csv", "learning.png", "confusion.png"} {
		if err := os.Remove(filepath.Join(absDir, name)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, rc.Command[0], rc.Command[1:]...)
	cmd.Stdin = bytes.NewReader(jb)
	var tail *tailWriter
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if stderr == io.Discard { // -q: the backend's output shows only when it fails
		tail = &tailWriter{max: 4 << 10}
		cmd.Stdout, cmd.Stderr = tail, tail
	}
	cmd.Env = append(os.Environ(), "FACET_TRAIN_JOB="+jobPath)
	logf("running %s", rc.Command)
	begin := time.Now()
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := fmt.Sprintf("backend %s failed (exit status %d); its outputs in %s are not trusted", rc.Command[0], ee.ExitCode(), dir)
			if tail != nil && len(tail.buf) > 0 {
				msg += "; the end of its output:\n" + strings.TrimRight(string(tail.buf), "\n")
			}
			return errors.New(msg)
		}
		return fmt.Errorf("backend %s: %w", rc.Command[0], err)
	}
	logf("backend finished in %.1fs; checking its outputs", time.Since(begin).Seconds())
	m, err := checkModel(dir, rc, fresh)
	if err != nil {
		return fmt.Errorf("backend output: %w", err)
	}
	defer m.Close()
	lines, err := checkMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		return fmt.Errorf("backend output: %w", err)
	}
	logf("backend wrote a valid %s model (input %d) and %d epochs of metrics", m.Kind(), m.Input().Size, lines)
	if ms, err := readMetrics(filepath.Join(dir, "metrics.jsonl")); err != nil {
		return fmt.Errorf("backend output: %w", err)
	} else if err := writeLearningCurve(filepath.Join(dir, "learning.png"), ms); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "oof.arrow")); err == nil {
		return nil
	}
	update, finish := cli.Progress(stderr, "loading "+filepath.Base(va.path))
	err = va.load(ctx, m.Input().Size, workers, update)
	finish()
	if err != nil {
		return err
	}
	p, err := predict(ctx, m, va, workers)
	if err != nil {
		return err
	}
	var em epochMetrics
	heads := rc.Model.Heads
	if m.Single18() {
		heads = nn.HeadsSingle18
	}
	validation(&em, va, p, heads)
	logf("the model run by facet (%s): val acc18 %.3f f1_18 %.3f, mask %.3f gender %.3f age %.3f (acc)",
		m.Kind(), em.ValAcc18, em.ValF118, em.ValAccMask, em.ValAccGender, em.ValAccAge)
	if diff, n, err := compareProbs(filepath.Join(dir, "val_probs.csv"), va, p); err != nil {
		return fmt.Errorf("backend output: %w", err)
	} else if n > 0 {
		logf("largest difference between facet's probabilities and the backend's own (val_probs.csv) over %d rows: %.2g", n, diff)
	}
	if err := writeOOFTable(filepath.Join(dir, "oof.arrow"), va, p); err != nil {
		return err
	}
	if err := writeConfusion(filepath.Join(dir, "confusion.png"), va, p, stderr); err != nil {
		return err
	}
	logf("wrote %s (%d rows), learning.png and confusion.png", filepath.Join(dir, "oof.arrow"), p.N)
	return nil
}

// checkModel loads the model a backend wrote into dir, which proves it
// runs in facet: best.onnx (protocol 2) or best.safetensors, each with its
// best.json. facet's own network must be the run's architecture and hold
// exactly the job's tensors (fresh, the untrained model of the run's
// config).
func checkModel(dir string, rc runConfig, fresh *nn.Model) (model.Model, error) {
	path, err := model.Resolve(dir)
	if err != nil {
		return nil, err
	}
	if filepath.Base(path) == model.ONNX {
		return model.Open(path)
	}
	var got nn.Config
	if err := checkpoint.ReadConfig(path, &got); err != nil {
		return nil, err
	}
	if !sameArchitecture(got, rc.Model) {
		return nil, fmt.Errorf("best.json describes another model (input %d width %d blocks %v heads %s) than the run's (input %d width %d blocks %v heads %s)",
			got.InputSize, got.Width, got.Blocks, got.Heads, rc.Model.InputSize, rc.Model.Width, rc.Model.Blocks, rc.Model.Heads)
	}
	if _, err := checkpoint.Read(path, fresh.Tensors(false)); err != nil {
		return nil, err
	}
	return model.Facet(fresh), nil
}

// sameArchitecture reports whether a and b describe the same network.
func sameArchitecture(a, b nn.Config) bool {
	return a.InputSize == b.InputSize && a.Width == b.Width && a.Heads == b.Heads && reflect.DeepEqual(a.Blocks, b.Blocks)
}

// checkMetrics checks that every line of a metrics.jsonl is a JSON object
// with the required keys and that epochs run 0, 1, 2, ...; it returns the
// number of lines.
func checkMetrics(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return 0, fmt.Errorf("%s is empty", path)
	}
	n := 0
	for i, line := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		var l map[string]json.RawMessage
		if err := json.Unmarshal(line, &l); err != nil {
			return 0, fmt.Errorf("%s: line %d: %w", path, i+1, err)
		}
		for _, k := range requiredMetrics {
			if _, ok := l[k]; !ok {
				return 0, fmt.Errorf("%s: line %d lacks %q", path, i+1, k)
			}
		}
		if e, err := strconv.Atoi(string(l["epoch"])); err != nil || e != i {
			return 0, fmt.Errorf("%s: line %d has epoch %s, want %d", path, i+1, l["epoch"], i)
		}
		n++
	}
	return n, nil
}

// compareProbs reads a backend's own probabilities of the validation rows
// (val_probs.csv: id, then mask0..2, gender0..1, age0..2, or c0..c17 for
// an 18-class model) and returns the largest difference from p, facet's
// probabilities of the same rows, and the number of rows compared; a
// missing file compares nothing. Every row of d must be there, once.
func compareProbs(path string, d *dataset, p *pred.Probs) (float64, int, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0, 0, nil
	} else if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	var want func(i int) []float32
	switch {
	case len(head) == 1+pred.NumMask+pred.NumGender+pred.NumAge && head[1] == "mask0":
		want = func(i int) []float32 {
			m, g, a, _ := p.Row(i)
			return slices.Concat(m, g, a)
		}
	case len(head) == 1+label.NumClasses && head[1] == "c0":
		want = func(i int) []float32 { _, _, _, c := p.Row(i); return c }
	default:
		return 0, 0, fmt.Errorf("%s: header %q: want id,mask0,mask1,mask2,gender0,gender1,age0,age1,age2 or id,c0..c17", path, strings.Join(head, ","))
	}
	row := make(map[string]int, d.Len())
	for i, id := range d.ids {
		row[id] = i
	}
	seen := make([]bool, d.Len())
	var diff float64
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		i, ok := row[rec[0]]
		if !ok || seen[i] {
			return 0, 0, fmt.Errorf("%s: line %d: id %q is not a validation row or is there twice", path, line, rec[0])
		}
		seen[i] = true
		for k, v := range want(i) {
			x, err := strconv.ParseFloat(rec[1+k], 64)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: line %d: %w", path, line, err)
			}
			diff = max(diff, math.Abs(x-float64(v)))
		}
	}
	if i := slices.Index(seen, false); i >= 0 {
		return 0, 0, fmt.Errorf("%s: no row for validation id %q", path, d.ids[i])
	}
	return diff, d.Len(), nil
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	buf []byte
	max int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}
