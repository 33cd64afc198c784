package cli

import (
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/table"
)

// TableOutput is the table a program writes: its -o FILE and --csv
// flags, the choice of format, the open output and the table writer on
// it. Every program that writes a table uses it:
//
//	var out cli.TableOutput
//	out.AddFlags(fs)
//	...
//	if err := out.Open(stdout); err != nil { return err }
//	defer out.Abort()
//	if err := out.Begin(schema); err != nil { return err }
//	for ... { out.Write(rec) }
//	return out.Commit()
//
// A table that is not committed never appears under its name; on stdout
// or a FIFO it stops without its end-of-stream marker, so the next stage
// fails instead of reading a shorter table.
type TableOutput struct {
	Path string // -o: "-" (or "") for stdout
	CSV  bool   // --csv

	out *Output
	w   *table.Writer
}

// AddFlags adds -o/--output and --csv to fs.
func (t *TableOutput) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&t.Path, "output", "o", "-", "write the table to `FILE` (- for stdout), in the format its name says: .arrow, .feather or .ipc an Arrow file, .parquet or .pq Parquet, .csv CSV, else an Arrow stream")
	fs.BoolVar(&t.CSV, "csv", false, "write the table as CSV for people")
}

// ToStdout reports whether the table goes to stdout.
func (t *TableOutput) ToStdout() bool { return t.Path == "" || t.Path == "-" }

// Format is the table's format: the one place it is chosen.
func (t *TableOutput) Format() table.Format { return table.FormatFor(t.Path, t.CSV) }

// Open opens the output (stdout, or the file, which appears at Commit)
// before the work, so a bad path fails fast. An Arrow table is refused on
// a terminal.
func (t *TableOutput) Open(stdout io.Writer) error {
	if t.out != nil {
		return errors.New("cli: table output opened twice")
	}
	if err := t.checkName(); err != nil {
		return err
	}
	out, err := CreateOutput(t.Path, stdout, t.Format() != table.CSV)
	if err != nil {
		return err
	}
	t.out = out
	return nil
}

// checkName refuses a file name that says another format than the one
// the table would be written in: --csv to a .arrow or .parquet name, or
// a name of another kind of file (.json, .txt, .png, ...), which would
// get Arrow bytes.
func (t *TableOutput) checkName() error {
	if t.ToStdout() {
		return nil
	}
	ext := strings.ToLower(filepath.Ext(t.Path))
	_, isTable := table.FormatOfExt(ext)
	switch {
	case t.CSV && ext != ".csv" && isTable:
		return Usagef("-o %s with --csv: the name says another format (leave out --csv, or name the file .csv)", t.Path)
	case !t.CSV && !isTable && slices.Contains(otherFileExts, ext):
		return Usagef("-o %s: %s is not a table format; name the file .arrow (Arrow file), .arrows (Arrow stream), .parquet or .csv", t.Path, ext)
	}
	return nil
}

// Begin starts the table of schema on the open output.
func (t *TableOutput) Begin(schema *arrow.Schema) error {
	if t.out == nil || t.w != nil {
		return errors.New("cli: Begin needs an open table output, once")
	}
	w, err := table.NewWriter(t.out, schema, t.Format())
	if err != nil {
		return err
	}
	t.w = w
	return nil
}

// Write appends a record batch.
func (t *TableOutput) Write(rec arrow.RecordBatch) error { return t.w.Write(rec) }

// WriteAll begins the table of schema and writes recs (empty ones left out).
func (t *TableOutput) WriteAll(schema *arrow.Schema, recs ...arrow.RecordBatch) error {
	if err := t.Begin(schema); err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.NumRows() == 0 {
			continue
		}
		if err := t.w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

// Rows is the number of rows written.
func (t *TableOutput) Rows() int64 {
	if t.w == nil {
		return 0
	}
	return t.w.Rows()
}

// Commit ends the table (end marker, footer, last CSV line) and puts the
// file in place.
func (t *TableOutput) Commit() error {
	if t.w == nil {
		return errors.New("cli: Commit of a table that was never begun")
	}
	if err := t.w.Close(); err != nil {
		return err
	}
	return t.out.Commit()
}

// Abort drops the table unless it was committed; it can be deferred.
func (t *TableOutput) Abort() {
	if t.out != nil {
		t.out.Abort()
	}
}
