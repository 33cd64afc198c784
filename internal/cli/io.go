package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Output is where a program writes its result: stdout, or a named file
// written under a temporary name and renamed into place by Commit, so a
// failed or interrupted run never leaves a partial file.
type Output struct {
	w     io.Writer
	f     *os.File
	final string
	done  bool
}

// CreateOutput opens path for writing (stdout for "" or "-"). binary
// outputs (Arrow) are refused on a terminal, where they would only be noise.
func CreateOutput(path string, stdout io.Writer, binary bool) (*Output, error) {
	if path == "" || path == "-" {
		if binary && IsTerminal(stdout) {
			return nil, UsageError{errors.New("refusing to write an Arrow table to a terminal: pipe it to the next stage, redirect it, or use -o FILE or --csv")}
		}
		return &Output{w: stdout}, nil
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating output: %w", err)
	}
	return &Output{w: f, f: f, final: path}, nil
}

func (o *Output) Write(p []byte) (int, error) { return o.w.Write(p) }

// Commit finishes the output: the temporary file is synced and renamed to
// its final name.
func (o *Output) Commit() error {
	if o.f == nil || o.done {
		return nil
	}
	o.done = true
	tmp := o.f.Name()
	err := o.f.Chmod(0o644) // CreateTemp makes 0600; a result is for others to read too
	if err == nil {
		err = o.f.Sync()
	}
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, o.final)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", o.final, err)
	}
	return nil
}

// Abort drops an uncommitted output file; after Commit it does nothing,
// so it can be deferred.
func (o *Output) Abort() {
	if o.f == nil || o.done {
		return
	}
	o.done = true
	o.f.Close()
	os.Remove(o.f.Name())
}
