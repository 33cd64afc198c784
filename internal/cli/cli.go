// Package cli is what every facet program's main shares: flag sets with
// examples in --help, exit codes (1 failure, 2 bad usage), Ctrl-C as
// context cancellation, the table output (TableOutput: -o, --csv, the
// format, commit or abort) and other outputs that follow the facet
// conventions (stdin/stdout by default, "-" accepted, no Arrow on a
// terminal, written through internal/outfile: never half a file, never
// over a special file or through a symbolic link), and --max-failed.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/outfile"
)

// Run is a program's body: everything but the process around it.
type Run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error

// Main runs a program and exits with its status. The context is cancelled
// on SIGINT or SIGTERM so the program can remove what it had half written.
// internal/outfile's notes (stale temporary files removed) go to stderr
// as "name: ...".
func Main(name string, run Run) {
	outfile.SetLog(func(msg string) { fmt.Fprintf(os.Stderr, "%s: %s\n", name, msg) })
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(Exit(name, err, os.Stderr))
}

// UsageError is a mistake in how the program was called (exit status 2).
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// Printf writes a message of the program name on w as a line of its
// own, "name: message", the form Exit gives errors. Programs keep their
// name in one constant and pass it here rather than typing it into every
// message.
func Printf(w io.Writer, name, format string, args ...any) {
	fmt.Fprintf(w, "%s: %s\n", name, fmt.Sprintf(format, args...))
}

// Exit prints err as "name: message" on stderr and returns the exit status:
// 0 for nil and --help, 2 for a UsageError, 1 for anything else.
func Exit(name string, err error, stderr io.Writer) int {
	var usage UsageError
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s: %v\n%s: see %s --help\n", name, err, name, name)
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "%s: interrupted\n", name)
		return 1
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}

// NewFlags is a flag set whose --help prints synopsis, the flags and
// the text after them (examples) on stderr.
func NewFlags(name, synopsis, after string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n\nflags:\n%s\n%s", synopsis, fs.FlagUsages(), after)
	}
	return fs
}

// Parse parses args; a bad flag becomes a UsageError.
func Parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return UsageError{err}
	}
	return nil
}
