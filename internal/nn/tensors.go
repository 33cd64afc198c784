package nn

import (
	"fmt"

	"github.com/boostershot/facet/internal/checkpoint"
)

// Tensors returns the model's parameters (and with withOptimizer Adam's
// moments) as checkpoint tensors that share storage with the model, so
// checkpoint.Read fills the model and checkpoint.Save writes it.
func (m *Model) Tensors(withOptimizer bool) []checkpoint.Tensor {
	ps := m.Params()
	if withOptimizer {
		ps = append(append([]*Param(nil), ps...), m.OptimizerParams()...)
	}
	ts := make([]checkpoint.Tensor, len(ps))
	for i, p := range ps {
		ts[i] = checkpoint.Tensor{Name: p.Name, Shape: p.Shape, Data: p.Data}
	}
	return ts
}

// Load builds the model a checkpoint describes (the JSON config beside
// the weights file, see checkpoint.ConfigPath) and reads its weights,
// refusing a config that does not validate and a weights file whose
// tensors do not match the model's names, dtypes and shapes.
func Load(weights string) (*Model, error) {
	var cfg Config
	if err := checkpoint.ReadConfig(weights, &cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", checkpoint.ConfigPath(weights), err)
	}
	m, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := checkpoint.Read(weights, m.Tensors(false)); err != nil {
		return nil, err
	}
	return m, nil
}
