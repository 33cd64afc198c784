package table

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/boostershot/facet/internal/arrowcheck"
)

// streamMarker starts an Arrow IPC stream (the continuation marker).
var streamMarker = []byte{0xff, 0xff, 0xff, 0xff}

// ErrTruncated reports a stream that stopped without its end-of-stream
// marker: the stage writing it died part way through (arrowcheck's).
var ErrTruncated = arrowcheck.ErrTruncated

// Reader reads a sample table from an Arrow IPC stream or file, or a
// Parquet file, whichever the input holds.
//
// It reads Arrow IPC through internal/arrowcheck, which verifies the
// input before arrow-go trusts it and tells a stream cut short
// (ErrTruncated) from one that ended, and validates every record batch's
// buffers (arrowcheck.Validate), so outside input gives rows or an error.
// It reads Parquet (parquet.go) and facet's CSV (csv.go) too, converts
// other tools' types to facet's (convert.go), and checks the label
// columns (label.Check, label.CheckAge): a mask of 7 or an age of 999 is
// an error naming column, row and value.
type Reader struct {
	schema *arrow.Schema
	stream *arrowcheck.Stream
	file   *arrowcheck.File
	rec    arrow.RecordBatch
	rows   int64
	err    error
	closer io.Closer         // the file Open opened, if any
	conv   *conversion       // other writers' types to facet's (convert.go)
	owned  arrow.RecordBatch // the current batch when conv made it
	// parquet reads a Parquet file (parquet.go), parquetFile is the file.
	parquet     pqarrow.RecordReader
	parquetFile *file.Reader
	// csvBatch is a CSV table, read whole (csv.go); csvDone once served.
	csvBatch arrow.RecordBatch
	csvDone  bool
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
	case bytes.HasPrefix(head, arrowcheck.FileMagic):
		var f *arrowcheck.File
		if f, err = arrowcheck.NewFile(r, br); err == nil {
			tr = &Reader{schema: f.Schema(), file: f}
		}
	case bytes.HasPrefix(head, streamMarker):
		var s *arrowcheck.Stream
		if s, err = arrowcheck.NewStream(br); err == nil {
			tr = &Reader{schema: s.Schema(), stream: s}
		}
	case bytes.HasPrefix(head, parquetMagic):
		tr, err = newParquetReader(r, br)
	case looksLikeCSV(br):
		tr, err = newCSVReader(br)
	default:
		return nil, notArrow(head)
	}
	if err != nil {
		return nil, err
	}
	if tr.conv, err = planConversion(tr.schema); err == nil {
		tr.schema = tr.conv.schema
		err = Check(tr.schema, required...)
	}
	if err != nil {
		tr.Release()
		return nil, err
	}
	return tr, nil
}

// looksLikeCSV reports whether the input starts with the header line of a
// facet CSV table: UTF-8 text without control characters that names an id
// column.
func looksLikeCSV(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Size())
	line, _, _ := bytes.Cut(head, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !utf8.Valid(line) || bytes.ContainsFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' }) {
		return false
	}
	for _, name := range strings.Split(string(line), ",") {
		if strings.Trim(name, `" `) == ColID {
			return true
		}
	}
	return false
}

func notArrow(head []byte) error {
	if utf8.Valid(head) {
		return fmt.Errorf("input is not an Arrow table, Parquet file or facet CSV: it starts with text %q, and a CSV table needs an id column in its header line", head)
	}
	return fmt.Errorf("input is not an Arrow table, Parquet file or facet CSV (starts with bytes % x)", head)
}

// Schema is the table's schema, with its metadata.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Next advances to the next record batch. After it returns false, Err says
// whether the table ended cleanly.
func (r *Reader) Next() (ok bool) {
	if r.err != nil {
		return false
	}
	if r.owned != nil {
		r.owned.Release()
		r.owned, r.rec = nil, nil
	}
	defer func() {
		if p := recover(); p != nil {
			r.rec, r.err = nil, fmt.Errorf("after %d rows: %w", r.rows, arrowcheck.Damaged(fmt.Errorf("%v", p)))
			ok = false
		}
	}()
	var rec arrow.RecordBatch
	switch {
	case r.csvBatch != nil:
		if r.csvDone {
			return false
		}
		rec, r.csvDone = r.csvBatch, true
	case r.parquet != nil:
		var err error
		if rec, err = r.nextParquet(); err != nil || rec == nil {
			r.err = err
			return false
		}
	case r.file != nil:
		var err error
		if rec, err = r.file.Next(); err != nil || rec == nil {
			r.err = err
			return false
		}
	default:
		var err error
		if rec, err = r.stream.Next(); err != nil || rec == nil {
			r.err = err
			return false
		}
	}
	// Buffers that disagree with their offsets or lengths would panic later,
	// in whatever stage reads the values.
	if err := arrowcheck.Validate(rec); err != nil {
		r.err = fmt.Errorf("after %d rows: %w", r.rows, arrowcheck.Damaged(err))
		return false
	}
	if r.conv.any {
		conv, err := r.conv.apply(rec, r.rows)
		if err != nil {
			r.err = err
			return false
		}
		rec, r.owned = conv, conv
	}
	// Labels out of range are refused as they come in, by every stage.
	if err := checkLabels(rec, r.rows); err != nil {
		r.err = err
		return false
	}
	r.rec = rec
	r.rows += rec.NumRows()
	return true
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
	if r.owned != nil {
		r.owned.Release()
		r.owned = nil
	}
	if r.stream != nil {
		r.stream.Release()
	}
	if r.csvBatch != nil {
		r.csvBatch.Release()
		r.csvBatch = nil
	}
	if r.parquet != nil {
		r.parquet.Release()
		_ = r.parquetFile.Close()
	}
	if r.file != nil {
		_ = r.file.Close()
	}
	if r.closer != nil {
		_ = r.closer.Close()
	}
}

// Open reads the table named on a command line: stdin for "" or "-",
// else the file (see NewReader). Release closes the file.
func Open(name string, stdin io.Reader, required ...string) (*Reader, error) {
	if name == "" || name == "-" {
		return NewReader(stdin, required...)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, required...)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	r.closer = f
	return r, nil
}

// ReadFile reads the whole table in the file at path (see Open): its
// schema and its batches, which the caller releases.
func ReadFile(path string, required ...string) (*arrow.Schema, []arrow.RecordBatch, error) {
	r, err := Open(path, nil, required...)
	if err != nil {
		return nil, nil, err
	}
	defer r.Release()
	recs, err := ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return r.Schema(), recs, nil
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
