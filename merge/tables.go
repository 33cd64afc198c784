package main

import (
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/spf13/pflag"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/croptable"
	"github.com/boostershot/facet/internal/table"
)

// input is one table, read whole.
type input struct {
	name   string // as named on the command line, "stdin" for -
	dir    string // its folder, for relative paths (croptable.Resolve); "" for stdin
	schema *arrow.Schema
	recs   []arrow.RecordBatch
	rows   int
}

func (in *input) release() {
	for _, rec := range in.recs {
		rec.Release()
	}
	in.recs = nil
}

func releaseAll(ins []*input) {
	for _, in := range ins {
		in.release()
	}
}

// readInputs reads every named table (- is stdin, once at most), each
// checked for the required columns.
func readInputs(names []string, stdin io.Reader, required ...string) ([]*input, error) {
	stdinUsed := false
	for _, name := range names {
		if name == "-" || name == "" {
			if stdinUsed {
				return nil, cli.Usagef("stdin (-) given twice")
			}
			stdinUsed = true
		}
	}
	var out []*input
	for _, name := range names {
		in, err := readInput(name, stdin, required)
		if err != nil {
			releaseAll(out)
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

func readInput(name string, stdin io.Reader, required []string) (*input, error) {
	r, err := table.Open(name, stdin, required...)
	dir := croptable.TableDir(name)
	if name == "-" || name == "" {
		name = "stdin"
		if err != nil {
			err = fmt.Errorf("stdin: %w", err)
		}
	}
	if err != nil {
		return nil, err // table.Open names the file
	}
	defer r.Release()
	recs, err := table.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &input{name: name, dir: dir, schema: r.Schema(), recs: recs, rows: int(r.Rows())}, nil
}

// strings reads a utf8 column of every batch; a null is an error.
func (in *input) strings(col string) ([]string, error) {
	out := make([]string, 0, in.rows)
	for _, rec := range in.recs {
		idx := rec.Schema().FieldIndices(col)
		if len(idx) != 1 {
			return nil, fmt.Errorf("%s: no single %q column", in.name, col)
		}
		a, ok := rec.Column(idx[0]).(*array.String)
		if !ok {
			return nil, fmt.Errorf("%s: column %q is %s, want utf8", in.name, col, rec.Column(idx[0]).DataType())
		}
		for i := range a.Len() {
			if a.IsNull(i) {
				return nil, fmt.Errorf("%s: row %d has no %s", in.name, len(out), col)
			}
			out = append(out, a.Value(i))
		}
	}
	return out, nil
}

// optionalStrings reads a utf8 column when the table has one (nulls as
// ""), nil otherwise.
func (in *input) optionalStrings(col string) []string {
	if idx := in.schema.FieldIndices(col); len(idx) != 1 || !arrow.TypeEqual(in.schema.Field(idx[0]).Type, arrow.BinaryTypes.String) {
		return nil
	}
	out := make([]string, 0, in.rows)
	for _, rec := range in.recs {
		a := rec.Column(rec.Schema().FieldIndices(col)[0]).(*array.String)
		for i := range a.Len() {
			out = append(out, a.Value(i)) // Value of a null is ""
		}
	}
	return out
}

// output is where a subcommand writes its table: -o, --csv (cli.TableOutput).
type output struct {
	cli.TableOutput
}

func (o *output) flags(fs *pflag.FlagSet) { o.AddFlags(fs) }

// write writes the whole table (whole or not at all when to a file).
func (o *output) write(stdout io.Writer, schema *arrow.Schema, recs []arrow.RecordBatch) error {
	if err := o.Open(stdout); err != nil {
		return err
	}
	defer o.Abort()
	if err := o.WriteAll(schema, recs...); err != nil {
		return err
	}
	return o.Commit()
}

func releaseRecs(recs []arrow.RecordBatch) {
	for _, rec := range recs {
		rec.Release()
	}
}
