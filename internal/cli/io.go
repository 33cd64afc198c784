package cli

import (
	"errors"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/boostershot/facet/internal/outfile"
)

// IsTerminal reports whether w is a terminal (Main's stderr for a
// program is one when the process's is and -q was not given).
func IsTerminal(w io.Writer) bool {
	if m, ok := w.(*messages); ok {
		if m.quiet.Load() {
			return false
		}
		w = m.w
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// errTerminal refuses binary output on a terminal, where it would only be noise.
var errTerminal = UsageError{errors.New("refusing to write an Arrow table to a terminal: pipe it to the next stage, redirect it, or use -o FILE or --csv")}

// Output is where a program writes a result: stdout, or a named file
// written by internal/outfile (a regular file appears whole at Commit, a
// FIFO or device is written to directly, a symbolic link that would be
// replaced is refused).
type Output struct {
	w    io.Writer
	file *outfile.File
}

// CreateOutput opens path for writing (stdout for "" or "-"). binary
// outputs (Arrow) are refused on a terminal, stdout or named.
func CreateOutput(path string, stdout io.Writer, binary bool) (*Output, error) {
	if path == "" || path == "-" {
		if binary && IsTerminal(stdout) {
			return nil, errTerminal
		}
		return &Output{w: stdout}, nil
	}
	f, err := outfile.Create(path)
	if err != nil {
		return nil, err
	}
	if fd := f.Fd(); binary && fd != nil && IsTerminal(fd) {
		f.Abort()
		return nil, errTerminal
	}
	return &Output{w: f, file: f}, nil
}

func (o *Output) Write(p []byte) (int, error) { return o.w.Write(p) }

// Commit finishes the output (see outfile.File.Commit); on stdout it does
// nothing.
func (o *Output) Commit() error {
	if o.file == nil {
		return nil
	}
	return o.file.Commit()
}

// Abort drops an uncommitted output file; after Commit it does nothing,
// so it can be deferred.
func (o *Output) Abort() {
	if o.file != nil {
		o.file.Abort()
	}
}
