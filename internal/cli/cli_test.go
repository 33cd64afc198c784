package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestOutputIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.arrow")
	o, err := CreateOutput(path, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(o, "half")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("the final name exists before Commit")
	}
	o.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("Abort left %v", entries[0].Name())
	}

	o, err = CreateOutput(path, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(o, "whole")
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	o.Abort() // deferred Abort after Commit keeps the file
	if data, err := os.ReadFile(path); err != nil || string(data) != "whole" {
		t.Fatalf("read %q, %v", data, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the folder, want 1", len(entries))
	}
	if _, err := CreateOutput(filepath.Join(dir, "no", "such", "dir.arrow"), nil, true); err == nil {
		t.Error("output in a missing folder was created")
	}
}

func TestStdoutOutput(t *testing.T) {
	var buf bytes.Buffer
	o, err := CreateOutput("-", &buf, true)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(o, "x")
	if err := o.Commit(); err != nil || buf.String() != "x" {
		t.Errorf("stdout got %q, %v", buf.String(), err)
	}
}

func TestExit(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{nil, 0, ""},
		{pflag.ErrHelp, 0, ""},
		{Usagef("no sources"), 2, "facet-x: no sources\nfacet-x: see facet-x --help\n"},
		{fmt.Errorf("wrapped: %w", UsageError{errors.New("bad")}), 2, "facet-x: wrapped: bad\n"},
		{errors.New("disk full"), 1, "facet-x: disk full\n"},
		{fmt.Errorf("reading: %w", context.Canceled), 1, "facet-x: interrupted\n"},
	} {
		var buf bytes.Buffer
		if code := Exit("facet-x", tc.err, &buf); code != tc.code || !strings.HasPrefix(buf.String(), tc.msg) {
			t.Errorf("Exit(%v) = %d, %q; want %d, %q", tc.err, code, buf.String(), tc.code, tc.msg)
		}
	}
}

func TestParseMakesUsageErrors(t *testing.T) {
	var stderr bytes.Buffer
	fs := NewFlags("facet-x", "facet-x [flags]", "examples:\n  facet-x\n", &stderr)
	fs.Int("n", 1, "a number")
	var usage UsageError
	if err := Parse(fs, []string{"--n", "many"}); !errors.As(err, &usage) {
		t.Errorf("bad flag value: err = %v, want a UsageError", err)
	}
	if err := Parse(fs, []string{"--help"}); !errors.Is(err, pflag.ErrHelp) {
		t.Errorf("--help: err = %v", err)
	}
	if !strings.Contains(stderr.String(), "examples:\n  facet-x") {
		t.Errorf("help lacks the examples:\n%s", stderr.String())
	}
}
