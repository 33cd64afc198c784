package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// presets are named sets of training settings: --preset NAME sets each of
// its flags that the command line leaves alone. The defaults of the flags
// are the settings measured best for training facet's network from
// scratch on the real faces (README, "Choosing the defaults"); "seed" is
// the competition team's settings for fine-tuning a pretrained ResNet:
// Adam at 1e-4 decayed by 0.95 an epoch, early stopping after 5 epochs
// without a better score, no class weights.
var presets = map[string]map[string]string{
	"seed": {
		"lr":            "1e-4",
		"schedule":      "exp",
		"lr-decay":      "0.95",
		"warmup":        "0",
		"patience":      "5",
		"class-weights": "",
		"epochs":        "20",
	},
}

// applyPreset sets the flags of preset name that were not given.
func applyPreset(fs *pflag.FlagSet, name string) error {
	if name == "" {
		return nil
	}
	p, ok := presets[name]
	if !ok {
		return fmt.Errorf("--preset %q: want one of %s", name, strings.Join(slices.Sorted(maps.Keys(presets)), ", "))
	}
	for _, flag := range slices.Sorted(maps.Keys(p)) {
		if fs.Changed(flag) {
			continue
		}
		if err := fs.Set(flag, p[flag]); err != nil {
			return fmt.Errorf("--preset %s: --%s %s: %w", name, flag, p[flag], err)
		}
	}
	return nil
}
