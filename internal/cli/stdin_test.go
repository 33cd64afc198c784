package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A read waiting on a pipe nobody writes to ends when the context does.
func TestCancelReaderEndsWithTheContext(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close() // held open: the read would wait forever
	ctx, cancel := context.WithCancel(context.Background())
	in := stdinFor(ctx, r)
	if _, ok := in.(*cancelReader); !ok {
		t.Fatalf("a pipe as stdin is %T, want a *cancelReader", in)
	}
	got := make(chan error, 1)
	go func() {
		_, err := in.Read(make([]byte, 100))
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("Read returned %v before any input or cancel", err)
	case <-time.After(50 * time.Millisecond):
	}
	start := time.Now()
	cancel()
	select {
	case err := <-got:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Read after cancel: %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Read took %v to end after cancel", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Read still waits 5s after the context ended")
	}
	if _, err := in.Read(make([]byte, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("a later Read: %v", err)
	}
}

// Until the context ends the reader passes every byte on, in order, in
// reads larger and smaller than its own.
func TestCancelReaderPassesDataOn(t *testing.T) {
	data := make([]byte, 3*maxRead+12345)
	for i := range data {
		data[i] = byte(i * 7)
	}
	got, err := io.ReadAll(newCancelReader(context.Background(), bytes.NewReader(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want the %d written", len(got), err, len(data))
	}
	var small bytes.Buffer
	if _, err := io.CopyBuffer(&small, newCancelReader(context.Background(), bytes.NewReader(data)), make([]byte, 7)); err != nil || !bytes.Equal(small.Bytes(), data) {
		t.Fatalf("7-byte reads: %d bytes, %v", small.Len(), err)
	}
}

// A regular file as stdin is passed as it is: it never blocks, and table
// readers read an Arrow file in place.
func TestRegularFileStdinIsNotWrapped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if in := stdinFor(context.Background(), f); in != io.Reader(f) {
		t.Errorf("a regular file as stdin became %T", in)
	}
}
