// Package nntest makes small untrained models of internal/nn for tests:
// a run folder facet-infer and model.Open load, in milliseconds.
package nntest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/boostershot/facet/internal/checkpoint"
	"github.com/boostershot/facet/internal/nn"
)

// Tiny is the default network made small: 16x16 input, width 4, one
// block.
func Tiny() nn.Config {
	cfg := nn.DefaultConfig()
	cfg.InputSize, cfg.Width, cfg.Blocks = 16, 4, []int{1}
	return cfg
}

// Save writes m's weights and config as dir's best.safetensors (making
// dir), as facet-train leaves its best epoch.
func Save(tb testing.TB, dir string, m *nn.Model) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := checkpoint.Save(filepath.Join(dir, "best.safetensors"), m.Config(), m.Tensors(false), nil); err != nil {
		tb.Fatal(err)
	}
}

// Dir makes an untrained model of cfg and saves it in a new run folder.
func Dir(tb testing.TB, cfg nn.Config) (string, *nn.Model) {
	tb.Helper()
	m, err := nn.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	Save(tb, dir, m)
	return dir, m
}
