package outfile

import (
	"errors"
	"os"
	"sync"
)

// live is what this process has half written: the temporary files and
// folders of its uncommitted outputs, for Interrupt.
var live = struct {
	sync.Mutex
	paths   map[string]bool
	stopped bool // Interrupt has run
}{paths: map[string]bool{}}

// errInterrupted is the failure of a Create or Commit after Interrupt.
var errInterrupted = errors.New("the program is being interrupted")

// track records the temporary file or folder path; after Interrupt it
// removes it instead and fails.
func track(path string) error {
	live.Lock()
	defer live.Unlock()
	if live.stopped {
		os.RemoveAll(path)
		return errInterrupted
	}
	live.paths[path] = true
	return nil
}

// untrack forgets path (committed or removed).
func untrack(path string) {
	live.Lock()
	defer live.Unlock()
	delete(live.paths, path)
}

// committing runs put (the renames that put an output in place) unless
// Interrupt has run, and never at the same time as Interrupt, so an
// output is either wholly in place or not at all.
func committing(put func() error) error {
	live.Lock()
	defer live.Unlock()
	if live.stopped {
		return errInterrupted
	}
	return put()
}

// Interrupt removes the temporary files and folders of every output not
// yet committed and makes every later Create and Commit fail: for a
// program about to end before its run has unwound (cli.Main, when a
// program does not stop in time after Ctrl-C). A Commit under way
// finishes first. Earlier files under the outputs' names stay as they
// were.
func Interrupt() {
	live.Lock()
	defer live.Unlock()
	live.stopped = true
	for path := range live.paths {
		os.RemoveAll(path)
	}
	clear(live.paths)
}
