package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/cli"
)

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	oof, _, _ := flippedOOF(t, filepath.Join(dir, "oof.arrow"), 60, 3, 1)
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"join"},
		{"join", "--prefer", "middle", oof},
		{"suspects", oof, oof},
		{"suspects", "--heads", "label", oof},
		{"suspects", "--by", "family", oof},
		{"suspects", "--method", "vibes", oof},
		{"suspects", "--rank", "size", oof},
		{"suspects", "--sheet-count", "0", oof},
	} {
		_, _, err := runMerge(t, nil, args...)
		var u cli.UsageError
		if !errors.As(err, &u) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	// suspects without a table reads stdin
	if _, _, err := runMerge(t, readFile(t, oof), "suspects"); err != nil {
		t.Errorf("suspects on stdin: %v", err)
	}
	for _, args := range [][]string{{"--help"}, {"vote", "--help"}, {"join", "-h"}, {"suspects", "--help"}} {
		_, stderr, err := runMerge(t, nil, args...)
		if !errors.Is(err, pflag.ErrHelp) || !strings.Contains(stderr, "examples:") {
			t.Errorf("%v: %v, stderr:\n%s", args, err, stderr)
		}
	}
}
