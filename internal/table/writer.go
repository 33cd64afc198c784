package table

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Format is how a table is written.
type Format int

// The formats: an IPC stream for pipes, an IPC file for files at rest
// (pyarrow and polars open it directly), CSV for people, Parquet for
// DuckDB, pandas and Spark (parquet.go).
const (
	Stream Format = iota
	File
	CSV
	Parquet
)

func (f Format) String() string {
	return [...]string{"arrow stream", "arrow file", "csv", "parquet"}[f]
}

// FormatFor picks the format of an output: CSV when asked or for a named
// file ending in .csv, the IPC file format for .arrow, .feather or .ipc,
// Parquet for .parquet or .pq, and the stream format otherwise (stdout,
// .arrows).
func FormatFor(path string, csvOut bool) Format {
	switch {
	case csvOut:
		return CSV
	case path == "" || path == "-":
		return Stream
	}
	if f, ok := FormatOfExt(filepath.Ext(path)); ok {
		return f
	}
	return Stream
}

// formatExts are the file name endings that name a table format.
var formatExts = map[string]Format{
	".arrow": File, ".feather": File, ".ipc": File, ".arrows": Stream,
	".parquet": Parquet, ".pq": Parquet, ".csv": CSV,
}

// FormatOfExt is the table format a file name ending (".arrow", any
// case) names, and whether it names one.
func FormatOfExt(ext string) (Format, bool) {
	f, ok := formatExts[strings.ToLower(ext)]
	return f, ok
}

// Writer writes record batches in one Format. Unknown labels and ages
// (-1 inside facet) are written as nulls (see convert.go).
type Writer struct {
	stream *ipc.Writer
	file   *ipc.FileWriter
	csv    *csv.Writer
	pq     *pqarrow.FileWriter
	rows   int64
	schema *arrow.Schema // as written: the unknown-as-null columns nullable
	nulled []int         // the columns whose -1 become nulls
	// csvSchema is schema as CSV holds it, lists its list columns
	// (written as JSON arrays, csv.go).
	csvSchema *arrow.Schema
	lists     []int
}

// NewWriter starts a table of schema on w.
func NewWriter(w io.Writer, schema *arrow.Schema, f Format) (*Writer, error) {
	out := &Writer{}
	out.schema, out.nulled = nullableUnknowns(schema)
	schema = out.schema
	switch f {
	case Stream:
		out.stream = ipc.NewWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
	case File:
		fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema), ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			return nil, fmt.Errorf("starting Arrow file: %w", err)
		}
		out.file = fw
	case CSV:
		out.csvSchema, out.lists = csvSchema(schema)
		out.csv = csv.NewWriter(w, out.csvSchema, csv.WithHeader(true), csv.WithNullWriter(""))
	case Parquet:
		// pqarrow closes a writer that has a Close method (stdout, say):
		// hide it; the output is the caller's to close.
		pq, err := newParquetWriter(struct{ io.Writer }{w}, schema)
		if err != nil {
			return nil, err
		}
		out.pq = pq
	default:
		return nil, fmt.Errorf("unknown table format %d", f)
	}
	return out, nil
}

// nullableUnknowns is schema with its integer label and age columns
// nullable, and their indices.
func nullableUnknowns(schema *arrow.Schema) (*arrow.Schema, []int) {
	fields := schema.Fields()
	var idx []int
	for i, f := range fields {
		if unknownIsNull[f.Name] && isInteger(f.Type) {
			fields[i].Nullable = true
			idx = append(idx, i)
		}
	}
	if idx == nil {
		return schema, nil
	}
	md := schema.Metadata()
	return arrow.NewSchema(fields, &md), idx
}

// unknownsAsNulls is rec with the -1 of its unknown-as-null columns
// turned into nulls, in the writer's schema.
func (w *Writer) unknownsAsNulls(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if rec.NumCols() != int64(w.schema.NumFields()) {
		return nil, fmt.Errorf("writing table: a batch of %d columns in a table of %d", rec.NumCols(), w.schema.NumFields())
	}
	cols := slices.Clone(rec.Columns())
	var made []arrow.Array
	defer func() {
		for _, a := range made {
			a.Release()
		}
	}()
	for _, i := range w.nulled {
		if i >= len(cols) || !arrow.TypeEqual(cols[i].DataType(), w.schema.Field(i).Type) {
			return nil, fmt.Errorf("writing table: column %d is not %s", i, w.schema.Field(i).Type)
		}
		a, err := minusOneAsNull(cols[i])
		if err != nil {
			return nil, err
		}
		made = append(made, a)
		cols[i] = a
	}
	return array.NewRecordBatch(w.schema, cols, rec.NumRows()), nil
}

// minusOneAsNull is an integer array with -1 as null: a itself (retained)
// when it holds no -1, as most batches of labelled data do, else a copy.
func minusOneAsNull(a arrow.Array) (arrow.Array, error) {
	if !hasMinusOne(a) {
		a.Retain()
		return a, nil
	}
	b := array.NewBuilder(memory.DefaultAllocator, a.DataType())
	defer b.Release()
	b.Reserve(a.Len())
	for i := range a.Len() {
		n, _ := numberAt(a, i)
		if a.IsNull(i) || n.i == -1 {
			b.AppendNull()
			continue
		}
		if !appendInt(b, n.i) {
			return nil, fmt.Errorf("writing table: unknowns of %s cannot be nulls", a.DataType())
		}
	}
	return b.NewArray(), nil
}

// hasMinusOne reports whether a valid value of a is -1.
func hasMinusOne(a arrow.Array) bool {
	for i := range a.Len() {
		if n, _ := numberAt(a, i); n.i == -1 && a.IsValid(i) {
			return true
		}
	}
	return false
}

// Write appends one record batch.
func (w *Writer) Write(rec arrow.RecordBatch) error {
	if w.nulled != nil {
		var err error
		if rec, err = w.unknownsAsNulls(rec); err != nil {
			return err
		}
		defer rec.Release()
	}
	if w.lists != nil {
		var err error
		if rec, err = listsAsJSON(rec, w.csvSchema, w.lists); err != nil {
			return err
		}
		defer rec.Release()
	}
	var err error
	switch {
	case w.stream != nil:
		err = w.stream.Write(rec)
	case w.file != nil:
		err = w.file.Write(rec)
	case w.pq != nil:
		err = w.pq.WriteBuffered(rec)
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
	case w.pq != nil:
		err = w.pq.Close()
	default:
		w.csv.Flush()
		err = w.csv.Error()
	}
	if err != nil {
		return fmt.Errorf("closing table: %w", err)
	}
	return nil
}

// Encode is samples as a whole table of schema (NewSchema's, extended
// with the columns Records fills) in format f.
func Encode(schema *arrow.Schema, samples []Sample, f Format) ([]byte, error) {
	recs := Records(memory.DefaultAllocator, schema, samples)
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	return EncodeRecords(schema, f, recs...)
}

// EncodeRecords is recs as a whole table of schema in format f.
func EncodeRecords(schema *arrow.Schema, f Format, recs ...arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, schema, f)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		err = errors.Join(err, w.Write(rec))
	}
	if err = errors.Join(err, w.Close()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
