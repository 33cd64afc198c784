package onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Format is the value of Config.Format.
const Format = "facet-onnx/1"

// Heads, in the words of internal/nn.
const (
	HeadsThree    = "three"    // mask, gender and age heads: outputs mask, gender, age
	HeadsSingle18 = "single18" // one head over the 18 classes: output class18
)

// Input sizes Validate accepts.
const (
	MinInputSize = 8
	MaxInputSize = 1024
)

// Config is the JSON file beside a model (best.onnx -> best.json).
// Unknown keys are ignored, so a trainer may add its own (epoch, score).
type Config struct {
	Format    string            `json:"format"`     // must be Format
	InputSize int               `json:"input_size"` // S: input is N x 3 x S x S float32
	Channels  string            `json:"channels"`   // "rgb" (default when empty) or "bgr": the order of the 3 input planes
	Mean      [3]float32        `json:"mean"`       // per input plane, in the order of Channels: x = (pixel/255 - mean)/std
	Std       [3]float32        `json:"std"`
	Input     string            `json:"input"`          // the graph input's name ("" = the only input)
	Heads     string            `json:"heads"`          // "three" or "single18" (same words as internal/nn)
	Outputs   map[string]string `json:"outputs"`        // head -> graph output name: three: mask, gender, age; single18: class18
	Arch      string            `json:"arch,omitempty"` // informative: e.g. "resnet18"
}

// headWidths are the outputs each kind of heads needs and their widths.
var headWidths = map[string][]struct {
	key   string
	width int
}{
	HeadsThree:    {{"mask", 3}, {"gender", 2}, {"age", 3}},
	HeadsSingle18: {{"class18", 18}},
}

// Validate reports every problem of c in one error (one line).
func (c Config) Validate() error {
	var bad []string
	if c.Format != Format {
		bad = append(bad, fmt.Sprintf("format %q, want %q", c.Format, Format))
	}
	if c.InputSize < MinInputSize || c.InputSize > MaxInputSize {
		bad = append(bad, fmt.Sprintf("input_size %d out of range %d..%d", c.InputSize, MinInputSize, MaxInputSize))
	}
	switch c.Channels {
	case "", "rgb", "bgr":
	default:
		bad = append(bad, fmt.Sprintf("channels %q, want \"rgb\" or \"bgr\"", c.Channels))
	}
	for i, s := range c.Std {
		if !(s != 0) || s != s { // zero or NaN
			bad = append(bad, fmt.Sprintf("std[%d] is %v, want a non-zero number", i, s))
		}
	}
	heads, ok := headWidths[c.Heads]
	if !ok {
		bad = append(bad, fmt.Sprintf("heads %q, want %q or %q", c.Heads, HeadsThree, HeadsSingle18))
	} else {
		want := map[string]bool{}
		for _, h := range heads {
			want[h.key] = true
			if name, ok := c.Outputs[h.key]; !ok || name == "" {
				bad = append(bad, fmt.Sprintf("outputs has no %q (heads %q need %s)", h.key, c.Heads, c.headKeys()))
			}
		}
		var extra []string
		for k := range c.Outputs {
			if !want[k] {
				extra = append(extra, fmt.Sprintf("%q", k))
			}
		}
		slices.Sort(extra)
		if len(extra) > 0 {
			bad = append(bad, fmt.Sprintf("outputs has key %s not used by heads %q (want %s)", strings.Join(extra, ", "), c.Heads, c.headKeys()))
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

func (c Config) headKeys() string {
	var ks []string
	for _, h := range headWidths[c.Heads] {
		ks = append(ks, h.key)
	}
	return strings.Join(ks, ", ")
}

// ConfigPath is the config file of a model: path with .json instead of
// .onnx (or .json added when path does not end in .onnx).
func ConfigPath(path string) string {
	return strings.TrimSuffix(path, ".onnx") + ".json"
}

// ReadConfig reads and validates a model's config file.
func ReadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := parseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

func parseConfig(b []byte) (Config, error) {
	// mean and std are read as lists first: a [3]float32 would take a
	// list of 2 or 4 without a word.
	var aux struct {
		Config
		Mean json.RawMessage `json:"mean"`
		Std  json.RawMessage `json:"std"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return Config{}, fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return Config{}, fmt.Errorf("key %q: %s, want %s", strings.TrimPrefix(te.Field, "Config."), te.Value, te.Type)
		}
		return Config{}, err
	}
	c := aux.Config
	for _, v := range []struct {
		key string
		raw json.RawMessage
		dst *[3]float32
	}{{"mean", aux.Mean, &c.Mean}, {"std", aux.Std, &c.Std}} {
		if v.raw == nil {
			return Config{}, fmt.Errorf("key %q missing: want 3 numbers", v.key)
		}
		var l []float32
		if err := json.Unmarshal(v.raw, &l); err != nil || len(l) != 3 {
			return Config{}, fmt.Errorf("key %q is %s, want 3 numbers", v.key, v.raw)
		}
		copy(v.dst[:], l)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
