// Command fakeplugin is a facet-train exec backend for tests: it reads the
// job from stdin, writes a checkpoint with the names and shapes the job
// lists (small random weights, running variances 1) and one metrics line
// per epoch, and exits 0. $FAKE_PLUGIN_MODE makes it misbehave: "fail"
// exits 3, "badshape" writes one tensor with a wrong shape, "nometrics"
// writes no metrics.jsonl.
package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/boostershot/facet/internal/checkpoint"
)

type job struct {
	Protocol int             `json:"protocol"`
	RunDir   string          `json:"run_dir"`
	TrainCSV string          `json:"train_csv"`
	ValCSV   string          `json:"val_csv"`
	Epochs   int             `json:"epochs"`
	Model    json.RawMessage `json:"model"`
	Tensors  []struct {
		Name  string `json:"name"`
		Shape []int  `json:"shape"`
	} `json:"tensors"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeplugin:", err)
		os.Exit(1)
	}
}

func run() error {
	mode := os.Getenv("FAKE_PLUGIN_MODE")
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "fakeplugin: failing as asked")
		os.Exit(3)
	}
	var j job
	if err := json.NewDecoder(os.Stdin).Decode(&j); err != nil {
		return err
	}
	if j.Protocol != 1 {
		return fmt.Errorf("protocol %d: want 1", j.Protocol)
	}
	// the CSV copies of the tables: a header and a row of existing image
	for _, path := range []string{j.TrainCSV, j.ValCSV} {
		rows, err := readCSV(path)
		if err != nil {
			return err
		}
		if len(rows) < 2 || strings.Join(rows[0], ",") != "id,image,mask,gender,age_group" {
			return fmt.Errorf("%s: want a header id,image,mask,gender,age_group and rows", path)
		}
		if _, err := os.Stat(rows[1][1]); err != nil {
			return fmt.Errorf("%s: first image: %w", path, err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var ts []checkpoint.Tensor
	for i, t := range j.Tensors {
		shape := t.Shape
		if mode == "badshape" && i == 0 {
			shape = append([]int{shape[0] + 1}, shape[1:]...)
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := make([]float32, n)
		for k := range data {
			if strings.HasSuffix(t.Name, ".running_var") {
				data[k] = 1
			} else {
				data[k] = float32(rng.NormFloat64() * 0.1)
			}
		}
		ts = append(ts, checkpoint.Tensor{Name: t.Name, Shape: shape, Data: data})
	}
	if err := checkpoint.Save(filepath.Join(j.RunDir, "best.safetensors"), j.Model, ts, map[string]string{"epoch": "0"}); err != nil {
		return err
	}
	if mode == "nometrics" {
		return nil
	}
	f, err := os.Create(filepath.Join(j.RunDir, "metrics.jsonl"))
	if err != nil {
		return err
	}
	for e := range j.Epochs {
		line := map[string]any{"epoch": e, "lr": 1e-4, "train_loss": 1.0, "val_loss": 1.0, "val_acc_mask": 0.5,
			"val_f1_mask": 0.5, "val_acc_gender": 0.5, "val_f1_gender": 0.5, "val_acc_age": 0.5, "val_f1_age": 0.5,
			"val_acc_18": 0.1, "val_f1_18": 0.1, "score": 0.1, "best": e == 0}
		b, _ := json.Marshal(line)
		f.Write(append(b, '\n'))
	}
	return f.Close()
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return csv.NewReader(f).ReadAll()
}
