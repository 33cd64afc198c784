package table

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var (
	fileMagic    = []byte("ARROW1")
	streamMarker = []byte{0xff, 0xff, 0xff, 0xff}
)

// ErrTruncated reports a stream that stopped without its end-of-stream
// marker: the stage writing it died part way through.
var ErrTruncated = errors.New("arrow stream ended without its end-of-stream marker: the stage writing it stopped part way (check its error)")

// Reader reads a sample table from an Arrow IPC stream or file, whichever
// the input holds.
//
// arrow-go's stream reader treats input that stops between two messages as
// a normal end, so a crashed upstream stage would look like a smaller
// table. Every Arrow writer (arrow-go, pyarrow, arrow JS) closes a stream
// with an end-of-stream marker, and the IPC reader stops right after
// reading it, so Reader watches the bytes underneath: reaching the end of
// the input itself means the marker never came, and that is ErrTruncated.
type Reader struct {
	schema *arrow.Schema
	stream *ipc.Reader
	file   *ipc.FileReader
	eof    *eofWatcher
	next   int // next record batch of a file
	rec    arrow.RecordBatch
	rows   int64
	err    error
}

// NewReader detects the format of r and reads its schema. It checks the
// schema version and that the required columns exist with facet's types.
func NewReader(r io.Reader, required ...string) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(8)
	if len(head) == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading table: %w", err)
		}
		return nil, errors.New("empty input: no Arrow table (did the stage before this one fail?)")
	}
	var tr *Reader
	switch {
	case bytes.HasPrefix(head, fileMagic):
		tr, err = newFileReader(r, br)
	case bytes.HasPrefix(head, streamMarker):
		w := &eofWatcher{r: br}
		var s *ipc.Reader
		s, err = ipc.NewReader(w, ipc.WithAllocator(memory.DefaultAllocator))
		if err == nil {
			tr = &Reader{schema: s.Schema(), stream: s, eof: w}
		} else {
			err = fmt.Errorf("reading Arrow stream schema: %w", err)
		}
	default:
		return nil, notArrow(head)
	}
	if err != nil {
		return nil, err
	}
	if err := Check(tr.schema, required...); err != nil {
		tr.Release()
		return nil, err
	}
	return tr, nil
}

func notArrow(head []byte) error {
	if utf8.Valid(head) {
		return fmt.Errorf("input is not an Arrow table: it starts with text %q (facet programs read Arrow IPC; CSV is only an output for people)", head)
	}
	return fmt.Errorf("input is not an Arrow IPC stream or file (starts with bytes % x)", head)
}

// newFileReader opens the IPC file format, which needs random access: a
// regular file is read in place, anything else (a pipe) is read into memory.
func newFileReader(orig io.Reader, br *bufio.Reader) (*Reader, error) {
	var ras ipc.ReadAtSeeker
	if f, ok := orig.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if _, err := f.Seek(0, io.SeekStart); err == nil {
				ras = f
			}
		}
	}
	if ras == nil {
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, fmt.Errorf("reading Arrow file: %w", err)
		}
		ras = bytes.NewReader(data)
	}
	fr, err := ipc.NewFileReader(ras, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return nil, fmt.Errorf("reading Arrow file (truncated or damaged?): %w", err)
	}
	return &Reader{schema: fr.Schema(), file: fr}, nil
}

// Schema is the table's schema, with its metadata.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next advances to the next record batch. After it returns false, Err says
// whether the table ended cleanly.
func (r *Reader) Next() bool {
	if r.err != nil {
		return false
	}
	if r.file != nil {
		if r.next >= r.file.NumRecords() {
			return false
		}
		rec, err := r.file.RecordBatch(r.next)
		if err != nil {
			r.err = fmt.Errorf("reading Arrow file batch %d: %w", r.next, err)
			return false
		}
		r.next++
		r.rec = rec
		r.rows += rec.NumRows()
		return true
	}
	if r.stream.Next() {
		r.rec = r.stream.RecordBatch()
		r.rows += r.rec.NumRows()
		return true
	}
	if err := r.stream.Err(); err != nil {
		if r.eof.hit && errors.Is(err, io.ErrUnexpectedEOF) { // cut in the middle of a batch
			err = ErrTruncated
		}
		r.err = fmt.Errorf("reading Arrow stream after %d rows: %w", r.rows, err)
	} else if r.eof.hit {
		r.err = fmt.Errorf("after %d rows: %w", r.rows, ErrTruncated)
	}
	return false
}

// RecordBatch is the current batch, valid until the next call to Next;
// Retain it to keep it longer.
func (r *Reader) RecordBatch() arrow.RecordBatch { return r.rec }

// Rows is the number of rows read so far.
func (r *Reader) Rows() int64 { return r.rows }

// Err is the first error met, nil after a clean end.
func (r *Reader) Err() error { return r.err }

// Release frees the reader's resources.
func (r *Reader) Release() {
	if r.stream != nil {
		r.stream.Release()
	}
	if r.file != nil {
		_ = r.file.Close()
	}
}

// ReadAll reads every batch of r, retained; the caller releases them.
func ReadAll(r *Reader) ([]arrow.RecordBatch, error) {
	var recs []arrow.RecordBatch
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil {
		for _, rec := range recs {
			rec.Release()
		}
		return nil, err
	}
	return recs, nil
}

// eofWatcher notes when the input underneath an IPC stream reader ends.
type eofWatcher struct {
	r   io.Reader
	hit bool
}

func (w *eofWatcher) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if errors.Is(err, io.EOF) {
		w.hit = true
	}
	return n, err
}
