package nn

import (
	"path/filepath"
	"testing"

	"github.com/boostershot/facet/internal/checkpoint"
)

// TestCheckpointRoundTrip trains a little, saves the weights and running
// statistics, loads them into a model with other initial weights and
// asks for identical predictions; a model of another width is refused.
func TestCheckpointRoundTrip(t *testing.T) {
	cfg := tinyConfig()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := colourBatch(6, 8, 1)
	for range 3 {
		if _, err := m.Step(b); err != nil {
			t.Fatal(err)
		}
	}
	if m.Param("stem.bn.running_mean").Data[0] == 0 {
		t.Error("training did not move the BN running mean")
	}
	path := filepath.Join(t.TempDir(), "best.safetensors")
	if err := checkpoint.Save(path, m.Config(), m.Tensors(false), map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := checkpoint.ReadConfig(path, &back); err != nil {
		t.Fatal(err)
	}
	back.Seed = 99
	m2, err := New(back)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.Read(path, m2.Tensors(false)); err != nil {
		t.Fatal(err)
	}
	p1, err := m.Predict(b.Images)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := m2.Predict(b.Images)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p1.Class18 {
		if p1.Class18[i] != p2.Class18[i] {
			t.Fatalf("prediction %d differs after loading: %v vs %v", i, p1.Class18[i], p2.Class18[i])
		}
	}
	wide := cfg
	wide.Width = 4
	m3, _ := New(wide)
	if _, err := checkpoint.Read(path, m3.Tensors(false)); err == nil {
		t.Error("a checkpoint of width 3 loaded into a model of width 4")
	} else {
		t.Log(err)
	}
}

// TestResumeMatches checks that saving and restoring weights, running
// statistics and optimiser state continues training exactly.
func TestResumeMatches(t *testing.T) {
	cfg := tinyConfig()
	a, _ := New(cfg)
	for i := range 2 {
		if _, err := a.Step(colourBatch(6, 8, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "last.safetensors")
	all := func(m *Model) []checkpoint.Tensor {
		ts := m.Tensors(false)
		for _, p := range m.OptimizerParams() {
			ts = append(ts, checkpoint.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data})
		}
		return ts
	}
	if err := checkpoint.Write(path, all(a), nil); err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 5
	b, _ := New(cfg)
	if _, err := checkpoint.Read(path, all(b)); err != nil {
		t.Fatal(err)
	}
	b.SetSteps(a.Steps())
	la, err := a.Step(colourBatch(6, 8, 7))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.Step(colourBatch(6, 8, 7))
	if err != nil {
		t.Fatal(err)
	}
	if la != lb {
		t.Errorf("resumed loss %+v, uninterrupted %+v", lb, la)
	}
	wa, wb := a.Param("head.age.weight").Data, b.Param("head.age.weight").Data
	for i := range wa {
		if wa[i] != wb[i] {
			t.Fatalf("weights differ after a resumed step")
		}
	}
}
