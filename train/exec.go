package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"time"

	"github.com/boostershot/facet/internal/atomicfile"
	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/checkpoint"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/nn"
)

// ProtocolVersion is the version of the exec backend's protocol
// (train/PROTOCOL.md).
const ProtocolVersion = 1

// job is what an exec backend receives: on stdin, and as the file named
// by $FACET_TRAIN_JOB (RUNDIR/job.json).
type job struct {
	Protocol int          `json:"protocol"`
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
// checks what it wrote: best.safetensors must hold exactly the tensors
// of the gorgonia model of the run's config, best.json that config's
// architecture, and metrics.jsonl a line per epoch from 0. When the
// plugin writes no oof.arrow, facet-train predicts the validation rows
// with the plugin's checkpoint in the gorgonia model and writes it.
func execTrain(ctx context.Context, dir string, rc runConfig, tr, va *dataset, workers int, stderr io.Writer) error {
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "facet-train: "+format+"\n", args...) }
	m, err := nn.New(rc.Model)
	if err != nil {
		return err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	j := job{Protocol: ProtocolVersion, RunDir: absDir, Fold: rc.Fold, Epochs: rc.Epochs, Batch: rc.Batch,
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
	for _, p := range m.Params() {
		j.Tensors = append(j.Tensors, tensorSpec{Name: p.Name, Shape: p.Shape, Dtype: "F32"})
	}
	jb, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	jobPath := filepath.Join(absDir, "job.json")
	if err := atomicfile.Write(jobPath, append(jb, '\n')); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, rc.Command[0], rc.Command[1:]...)
	cmd.Stdin = bytes.NewReader(jb)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.Env = append(os.Environ(), "FACET_TRAIN_JOB="+jobPath)
	logf("running %s", rc.Command)
	begin := time.Now()
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("backend %s failed (exit status %d); its outputs in %s are not trusted", rc.Command[0], ee.ExitCode(), dir)
		}
		return fmt.Errorf("backend %s: %w", rc.Command[0], err)
	}
	logf("backend finished in %.1fs; checking its outputs", time.Since(begin).Seconds())
	best := filepath.Join(dir, "best.safetensors")
	var got nn.Config
	if err := checkpoint.ReadConfig(best, &got); err != nil {
		return fmt.Errorf("backend output: %w", err)
	}
	if !sameArchitecture(got, rc.Model) {
		return fmt.Errorf("backend output: best.json describes another model (input %d width %d blocks %v heads %s) than the run's (input %d width %d blocks %v heads %s)",
			got.InputSize, got.Width, got.Blocks, got.Heads, rc.Model.InputSize, rc.Model.Width, rc.Model.Blocks, rc.Model.Heads)
	}
	if _, err := checkpoint.Read(best, m.Tensors(false)); err != nil {
		return fmt.Errorf("backend output: %w", err)
	}
	lines, err := checkMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		return fmt.Errorf("backend output: %w", err)
	}
	logf("backend wrote a valid checkpoint and %d epochs of metrics", lines)
	if _, err := os.Stat(filepath.Join(dir, "oof.arrow")); err == nil {
		return nil
	}
	update, finish := cli.Progress(stderr, "loading "+filepath.Base(va.path))
	err = va.load(ctx, rc.Model.InputSize, workers, update)
	finish()
	if err != nil {
		return err
	}
	p, err := predict(ctx, m, va, workers)
	if err != nil {
		return err
	}
	var em epochMetrics
	validation(&em, va, p, rc.Model.Heads)
	logf("the checkpoint in the gorgonia model: val acc18 %.3f f1_18 %.3f, mask %.3f gender %.3f age %.3f (acc)",
		em.ValAcc18, em.ValF118, em.ValAccMask, em.ValAccGender, em.ValAccAge)
	if err := writeOOFTable(filepath.Join(dir, "oof.arrow"), va, p); err != nil {
		return err
	}
	logf("wrote %s (%d rows)", filepath.Join(dir, "oof.arrow"), p.N)
	return nil
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
