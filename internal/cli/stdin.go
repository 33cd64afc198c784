package cli

import (
	"context"
	"io"
	"os"
)

// stdinFor is the stdin a program's Run gets: os.Stdin itself when it is
// a regular file (reads from a file never wait, and table readers read
// such a file in place), else a reader that ends with the context.
//
// A read from a terminal or a pipe blocks in the kernel until input
// comes, and neither closing the descriptor nor a signal wakes it, so a
// program waiting for a stage that never writes (an idle pipe, a
// terminal) would ignore Ctrl-C. Making the descriptor non-blocking would
// do, but the flag belongs to the open file, which the shell and the other
// stages of the pipe share; a goroutine does not touch it.
func stdinFor(ctx context.Context, f *os.File) io.Reader {
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		return f
	}
	return newCancelReader(ctx, f)
}

// cancelReader reads r in a goroutine, so that a Read waiting for input
// returns ctx's error as soon as ctx ends. After that every Read returns
// the error; the goroutine still waiting in r's Read ends with the
// process (or when input comes).
type cancelReader struct {
	ctx  context.Context
	r    io.Reader
	buf  []byte
	done chan readResult
	err  error // sticky: set when ctx ended, the buffer then stays the goroutine's
}

type readResult struct {
	n   int
	err error
}

// maxRead bounds the reader's own buffer: a Read asks r for at most this.
const maxRead = 1 << 20

// newCancelReader returns a cancelReader of r that ends with ctx.
func newCancelReader(ctx context.Context, r io.Reader) *cancelReader {
	return &cancelReader{ctx: ctx, r: r, done: make(chan readResult, 1)}
}

// Read reads into p what one Read of the underlying reader gives, or
// returns ctx's error when ctx ends first.
func (c *cancelReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	// The goroutine reads into the reader's own buffer, never into p: p is
	// the caller's again once Read returns, perhaps while the goroutine
	// still waits.
	n := min(len(p), maxRead)
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	buf := c.buf[:n]
	go func() {
		n, err := c.r.Read(buf)
		c.done <- readResult{n, err}
	}()
	select {
	case res := <-c.done:
		copy(p, buf[:res.n])
		return res.n, res.err
	case <-c.ctx.Done():
		c.err = c.ctx.Err()
		return 0, c.err
	}
}
