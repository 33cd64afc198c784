package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
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
		{fmt.Errorf("wrapped: %w", UsageError{errors.New("bad")}), 2, "facet-x: wrapped: bad\nfacet-x: see facet-x --help\n"},
		{errors.New("disk full"), 1, "facet-x: disk full\n"},
		{fmt.Errorf("reading: %w", context.Canceled), 130, "facet-x: interrupted\n"},
		{&Interrupted{Signal: os.Interrupt, Err: fmt.Errorf("reading: %w", context.Canceled)}, 130, "facet-x: interrupted\n"},
		{&Interrupted{Signal: syscall.SIGTERM, Err: context.Canceled}, 143, "facet-x: terminated\n"},
		{&Interrupted{Signal: os.Interrupt, Err: errors.New("interrupted; nothing written to d")}, 130, "facet-x: interrupted; nothing written to d\n"},
		{&Interrupted{Signal: os.Interrupt, Err: Usagef("x")}, 130, "facet-x: x\n"},
	} {
		var buf bytes.Buffer
		if code := Exit("facet-x", tc.err, &buf); code != tc.code || buf.String() != tc.msg {
			t.Errorf("Exit(%v) = %d, %q; want %d, %q", tc.err, code, buf.String(), tc.code, tc.msg)
		}
	}
}

// testDoc is a doc.go as a program has it.
const testDoc = `// Code comment the tool ignores.

/*
Facet-x does a thing.

Usage:

	facet-x [flags] FILE

Examples:

	facet-x a.arrow

# facet-x sub

Usage:

	facet-x sub [flags]

It does the sub thing.
*/
package main
`

func TestHelp(t *testing.T) {
	top, err := Help(testDoc, "facet-x")
	if want := "Facet-x does a thing.\n\nUsage:\n\n\tfacet-x [flags] FILE\n\nExamples:\n\n\tfacet-x a.arrow\n"; err != nil || top != want {
		t.Errorf("Help = %q, %v; want %q", top, err, want)
	}
	sub, err := Help(testDoc, "facet-x sub")
	if want := "Usage:\n\n\tfacet-x sub [flags]\n\nIt does the sub thing.\n"; err != nil || sub != want {
		t.Errorf("Help of sub = %q, %v; want %q", sub, err, want)
	}
	for _, bad := range []struct{ doc, name string }{
		{"// Facet-x does.\npackage main\n", "facet-x"},
		{testDoc, "facet-x other"},
	} {
		if _, err := Help(bad.doc, bad.name); err == nil {
			t.Errorf("Help(%q, %q) found a text", bad.doc, bad.name)
		}
	}
}

func TestHelpAndVersionOnStdout(t *testing.T) {
	var stdout, stderr bytes.Buffer
	fs := NewFlags("facet-x", testDoc, &stdout, &stderr)
	fs.Int("n", 1, "a number")
	var usage UsageError
	if err := Parse(fs, []string{"--n", "many"}); !errors.As(err, &usage) {
		t.Errorf("bad flag value: err = %v, want a UsageError", err)
	}
	for _, arg := range []string{"--help", "-h"} {
		stdout.Reset()
		if err := Parse(fs, []string{arg}); !errors.Is(err, pflag.ErrHelp) {
			t.Errorf("%s: err = %v", arg, err)
		}
		help := stdout.String()
		// the flags come between the text and its examples
		i, j, k := strings.Index(help, "Usage:\n\n\tfacet-x [flags] FILE"), strings.Index(help, "Flags:\n\n      --n int"), strings.Index(help, "Examples:\n\n\tfacet-x a.arrow")
		if i < 0 || j < i || k < j || !strings.Contains(help, "-q, --quiet") || !strings.Contains(help, "--version") {
			t.Errorf("%s printed:\n%s", arg, help)
		}
	}
	fs = NewFlags("facet-x sub", testDoc, &stdout, &stderr)
	stdout.Reset()
	if err := Parse(fs, []string{"--version"}); !errors.Is(err, pflag.ErrHelp) || !strings.HasPrefix(stdout.String(), "facet-x ") {
		t.Errorf("--version: %v, printed %q", err, stdout.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("stderr got %q", stderr.String())
	}
}

func TestVersion(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "3e406e59fa3c37df6b343967f399f3fc0f2f2ff0"}, {Key: "vcs.modified", Value: "true"},
	}}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{bi, "facet-x v1.2.0 (3e406e59fa3c37df6b343967f399f3fc0f2f2ff0, modified)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: bi.Settings[:2]}, "facet-x devel (3e406e59fa3c37df6b343967f399f3fc0f2f2ff0)"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "facet-x devel (unknown commit)"},
		{nil, "facet-x devel (unknown commit)"},
	} {
		if got := version("facet-x", tc.bi); got != tc.want {
			t.Errorf("version = %q, want %q", got, tc.want)
		}
	}
}

func TestQuiet(t *testing.T) {
	var stdout, stderr bytes.Buffer
	for _, tc := range []struct {
		args  []string
		quiet bool
	}{{nil, false}, {[]string{"-q"}, true}, {[]string{"--quiet"}, true}} {
		fs := NewFlags("facet-x", testDoc, &stdout, &stderr)
		if err := Parse(fs, tc.args); err != nil {
			t.Fatal(err)
		}
		if got := Stderr(fs, &stderr) == io.Discard; got != tc.quiet {
			t.Errorf("%v: quiet %t, want %t", tc.args, got, tc.quiet)
		}
	}
	// Main's stderr is silenced as a whole: outfile's notes too
	m := &messages{w: &stderr}
	fs := NewFlags("facet-x", testDoc, &stdout, m)
	if err := Parse(fs, []string{"-q"}); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	Stderr(fs, m)
	fmt.Fprint(m, "note")
	if stderr.Len() > 0 || IsTerminal(m) {
		t.Errorf("a quiet program's stderr still writes %q", stderr.String())
	}
}

func TestRenamed(t *testing.T) {
	var stdout, stderr bytes.Buffer
	fs := NewFlags("facet-x sub", testDoc, &stdout, &stderr)
	k := fs.IntP("num-folds", "k", 5, "folds")
	Renamed(fs, "folds", "num-folds")
	if err := Parse(fs, []string{"--folds", "3"}); err != nil {
		t.Fatal(err)
	}
	if *k != 3 || !fs.Changed("num-folds") {
		t.Errorf("--folds 3 set %d (changed %t)", *k, fs.Changed("num-folds"))
	}
	if want := "facet-x: warning: --folds is now -k/--num-folds; the old name goes in the next release\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	err := Parse(fs, []string{"--folds", "many"})
	if err == nil || strings.Count(err.Error(), "invalid argument") != 1 {
		t.Errorf("--folds many: %v", err)
	}
	stdout.Reset()
	Parse(fs, []string{"--help"})
	if strings.Contains(stdout.String(), "--folds") {
		t.Errorf("--help lists the old name:\n%s", stdout.String())
	}
}

func TestDirVar(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "notes")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "v1.arrow"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{filepath.Join(dir, "folds"), true},
		{filepath.Join(dir, "folds.v2"), true},
		{filepath.Join(dir, "v1.arrow"), true}, // an existing folder
		{dir, true},
		{file, false},
		{filepath.Join(dir, "folds.arrow"), false},
		{filepath.Join(dir, "out.Parquet"), false},
		{filepath.Join(dir, "x.csv"), false},
		{filepath.Join(dir, "faces.jpg"), false},
	} {
		var stdout, stderr bytes.Buffer
		fs := NewFlags("facet-x", testDoc, &stdout, &stderr)
		var out string
		DirVar(fs, &out, "out", "", "output `DIR`")
		err := Parse(fs, []string{"--out", tc.path})
		var usage UsageError
		if tc.ok != (err == nil) || (err != nil && !errors.As(err, &usage)) {
			t.Errorf("--out %s: %v", tc.path, err)
		}
		if tc.ok && out != tc.path {
			t.Errorf("--out %s set %q", tc.path, out)
		}
	}
}
