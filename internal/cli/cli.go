// Package cli is what every facet program's main shares: its flag set
// with -h/--help (the help text is the program's doc.go, printed on
// stdout), -q/--quiet and --version; exit codes (1 failure, 2 bad usage,
// 128+n after signal n: 130 for Ctrl-C, 143 for SIGTERM); Ctrl-C as
// context cancellation; folder flags that refuse file names; renamed
// flags that keep their old spelling for a release; the table output
// (TableOutput: -o, --csv, the format by extension, commit or abort) and
// other outputs that follow the facet conventions (stdin/stdout by
// default, "-" accepted, no Arrow on a terminal, written through
// internal/outfile: never half a file, never over a special file or
// through a symbolic link), and --max-failed.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/outfile"
)

// Run is a program's body: everything but the process around it.
type Run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error

// Grace is how long a program has after Ctrl-C (or SIGTERM) to stop by
// itself, removing what it had half written, before Main ends it: a
// program blocked where it cannot see the cancellation (a read of a
// terminal or a pipe that sends nothing, a FIFO without its reader)
// still stops promptly. A second signal ends it at once.
const Grace = 3 * time.Second

// Main runs a program and exits with its status. The context is cancelled
// on SIGINT or SIGTERM so the program can remove what it had half
// written (a read of stdin waiting for input, a terminal or an idle pipe,
// then ends with the context's error too: see stdinFor); a program that has not returned Grace later (or at a second
// signal) is ended by Main, which removes the temporary files of its
// uncommitted outputs first (outfile.Interrupt). Either way the exit
// status is 128 plus the signal's number. internal/outfile's notes (stale
// temporary files removed) go to stderr as "name: ...", unless -q.
func Main(name string, run Run) {
	stderr := &messages{w: os.Stderr}
	outfile.SetLog(func(msg string) { fmt.Fprintf(stderr, "%s: %s\n", name, msg) })
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-done:
			return
		}
		cancel(&Interrupted{Signal: sig})
		why := fmt.Errorf("%s; ended at a second signal, its unfinished outputs removed", &Interrupted{Signal: sig})
		select {
		case <-sigs:
		case <-time.After(Grace):
			why = fmt.Errorf("%s; ended %v after the signal, its unfinished outputs removed", &Interrupted{Signal: sig}, Grace)
		case <-done:
			return
		}
		outfile.Interrupt()
		os.Exit(Exit(name, &Interrupted{Signal: sig, Err: why}, os.Stderr))
	}()
	err := run(ctx, os.Args[1:], stdinFor(ctx, os.Stdin), os.Stdout, stderr)
	close(done)
	// A run ended by the signal reports it (exit 128+n) with the run's own
	// error as the message, unless that error already holds the signal
	// (a run returning context.Cause): then it is the report as it is.
	var intr, inErr *Interrupted
	if err != nil && errors.As(context.Cause(ctx), &intr) && !errors.As(err, &inErr) {
		intr.Err = err
		err = intr
	}
	os.Exit(Exit(name, err, os.Stderr))
}

// messages is the stderr Main gives a program: Stderr silences it under
// -q, with internal/outfile's notes, while Main's own error line goes
// to the process's stderr.
type messages struct {
	w     io.Writer
	quiet atomic.Bool
}

func (m *messages) Write(p []byte) (int, error) {
	if m.quiet.Load() {
		return len(p), nil
	}
	return m.w.Write(p)
}

// Interrupted is a run ended by a signal (Ctrl-C: SIGINT, or SIGTERM).
type Interrupted struct {
	Signal os.Signal
	Err    error // what the run returned, if it did
}

// Is makes an interruption a context.Canceled too, as a program that
// checks for that (to say what it left undone) expects.
func (e *Interrupted) Is(target error) bool { return target == context.Canceled }

func (e *Interrupted) Error() string {
	if e.Err != nil && !errors.Is(e.Err, context.Canceled) {
		return e.Err.Error()
	}
	if e.Signal == syscall.SIGTERM {
		return "terminated"
	}
	return "interrupted"
}

func (e *Interrupted) Unwrap() error { return e.Err }

// Status is the exit status of a run ended by the signal: 128 plus its
// number.
func (e *Interrupted) Status() int {
	if s, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
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
// 0 for nil and --help or --version, 128+n for a run ended by signal n
// (an *Interrupted, or a bare context cancellation, taken for Ctrl-C:
// 130), 2 for a UsageError, 1 for anything else.
func Exit(name string, err error, stderr io.Writer) int {
	var (
		usage UsageError
		intr  *Interrupted
	)
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, &intr):
		fmt.Fprintf(stderr, "%s: %v\n", name, intr)
		return intr.Status()
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "%s: interrupted\n", name)
		return 128 + int(syscall.SIGINT)
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s: %v\n%s: see %s --help\n", name, err, name, name)
		return 2
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}
