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
	// help on stdout, each command its own section of doc.go
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "\tfacet-merge COMMAND [flags] ARGS..."},
		{[]string{"vote", "--help"}, "\tfacet-merge vote [--soft"},
		{[]string{"join", "-h"}, "\tfacet-merge join [--prefer"},
		{[]string{"suspects", "--help"}, "\tfacet-merge suspects [--heads"},
		{[]string{"score", "--help"}, "\tfacet-merge score [--json]"},
	} {
		stdout, stderr, err := runMerge(t, nil, tc.args...)
		help := string(stdout)
		if !errors.Is(err, pflag.ErrHelp) || !strings.Contains(help, "Examples:") || !strings.Contains(help, tc.want) || stderr != "" {
			t.Errorf("%v: %v, stdout:\n%s\nstderr:\n%s", tc.args, err, help, stderr)
		}
		if len(tc.args) > 1 && strings.Count(help, "Usage:\n") != 1 {
			t.Errorf("%v: the help holds more than its command's section:\n%s", tc.args, help)
		}
	}
}
