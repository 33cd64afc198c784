package table

import (
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Format is how a table is written.
type Format int

// The formats: an IPC stream for pipes, an IPC file for files at rest
// (pyarrow, polars and DuckDB open it directly), CSV for people.
const (
	Stream Format = iota
	File
	CSV
)

func (f Format) String() string {
	return [...]string{"arrow stream", "arrow file", "csv"}[f]
}

// FormatFor picks the format of an output: CSV when asked, the IPC file
// format for a named file ending in .arrow, .feather or .ipc, and the
// stream format otherwise (stdout, .arrows).
func FormatFor(path string, csvOut bool) Format {
	switch {
	case csvOut:
		return CSV
	case path == "" || path == "-":
		return Stream
	}
	p := strings.ToLower(path)
	for _, ext := range []string{".arrow", ".feather", ".ipc"} {
		if strings.HasSuffix(p, ext) {
			return File
		}
	}
	return Stream
}

// Writer writes record batches in one Format.
type Writer struct {
	stream *ipc.Writer
	file   *ipc.FileWriter
	csv    *csv.Writer
	rows   int64
}

// NewWriter starts a table of schema on w.
func NewWriter(w io.Writer, schema *arrow.Schema, f Format) (*Writer, error) {
	switch f {
	case Stream:
		return &Writer{stream: ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))}, nil
	case File:
		fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			return nil, fmt.Errorf("starting Arrow file: %w", err)
		}
		return &Writer{file: fw}, nil
	case CSV:
		return &Writer{csv: csv.NewWriter(w, schema, csv.WithHeader(true), csv.WithNullWriter(""))}, nil
	}
	return nil, fmt.Errorf("unknown table format %d", f)
}

// Write appends one record batch.
func (w *Writer) Write(rec arrow.RecordBatch) error {
	var err error
	switch {
	case w.stream != nil:
		err = w.stream.Write(rec)
	case w.file != nil:
		err = w.file.Write(rec)
	default:
		err = w.csv.Write(rec)
	}
	if err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	w.rows += rec.NumRows()
	return nil
}

// Rows is the number of rows written.
func (w *Writer) Rows() int64 { return w.rows }

// Close ends the table: the stream's end-of-stream marker, the file's
// footer, the last CSV line. A table is incomplete without it.
func (w *Writer) Close() error {
	var err error
	switch {
	case w.stream != nil:
		err = w.stream.Close()
	case w.file != nil:
		err = w.file.Close()
	default:
		w.csv.Flush()
		err = w.csv.Error()
	}
	if err != nil {
		return fmt.Errorf("closing table: %w", err)
	}
	return nil
}
