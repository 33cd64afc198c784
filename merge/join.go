package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/table"
)

// unknownColumns are the columns a table without them fills with -1
// (label.Unknown) instead of null, when they are integers.
var unknownColumns = map[string]bool{
	table.ColMask: true, table.ColGender: true, table.ColAgeGroup: true, table.ColLabel: true, table.ColAge: true,
}

func runJoin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var (
		out    output
		prefer string
	)
	fs := cli.NewFlags("facet-merge join", doc, stdout, stderr)
	fs.StringVar(&prefer, "prefer", "", "on a doubled id keep the `first` or the last row (default: refuse)")
	out.flags(fs)
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
	if prefer != "" && prefer != "first" && prefer != "last" {
		return cli.Usagef("--prefer %q: want first or last", prefer)
	}
	if fs.NArg() == 0 {
		return cli.Usagef("no TABLE to join")
	}
	ins, err := readInputs(fs.Args(), stdin, table.ColID)
	if err != nil {
		return err
	}
	defer releaseAll(ins)
	schema, err := unionSchema(ins)
	if err != nil {
		return err
	}
	keep, dropped, err := dedup(ins, prefer)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var recs []arrow.RecordBatch
	defer func() { releaseRecs(recs) }()
	for t, in := range ins {
		row := 0
		for _, rec := range in.recs {
			n := int(rec.NumRows())
			conf, err := conform(rec, schema)
			if err != nil {
				return fmt.Errorf("%s: %w", in.name, err)
			}
			sel, err := table.Filter(conf, keep[t][row:row+n])
			conf.Release()
			if err != nil {
				return err
			}
			recs = append(recs, sel)
			row += n
		}
	}
	if err := out.write(stdout, schema, recs); err != nil {
		return err
	}
	var parts []string
	total := 0
	for _, in := range ins {
		parts = append(parts, fmt.Sprintf("%d from %s", in.rows, in.name))
		total += in.rows
	}
	msg := fmt.Sprintf("facet-merge: joined %d rows (%s), %d columns", total-dropped, strings.Join(parts, ", "), schema.NumFields())
	if dropped > 0 {
		msg += fmt.Sprintf("; %d rows with a doubled id dropped (--prefer %s)", dropped, prefer)
	}
	fmt.Fprintln(stderr, msg)
	return nil
}

// unionSchema is the first table's columns, then the new columns of the
// others in order, with the first table's metadata. A column that some
// table lacks, and that is not filled with -1, becomes nullable.
func unionSchema(ins []*input) (*arrow.Schema, error) {
	first := ins[0]
	bins, err := table.AgeBins(first.schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", first.name, err)
	}
	var fields []arrow.Field
	from := map[string]int{} // column -> index in fields
	owner := map[string]string{}
	for _, in := range ins {
		b, err := table.AgeBins(in.schema)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.name, err)
		}
		if b != bins {
			return nil, fmt.Errorf("age bins %s in %s and %s in %s: re-run facet-prep with the same --age-bins", bins, first.name, b, in.name)
		}
		for _, f := range in.schema.Fields() {
			i, ok := from[f.Name]
			if !ok {
				from[f.Name] = len(fields)
				owner[f.Name] = in.name
				fields = append(fields, f)
				continue
			}
			if !arrow.TypeEqual(fields[i].Type, f.Type) {
				return nil, fmt.Errorf("column %q is %s in %s and %s in %s", f.Name, fields[i].Type, owner[f.Name], f.Type, in.name)
			}
			fields[i].Nullable = fields[i].Nullable || f.Nullable
		}
	}
	for i, f := range fields {
		for _, in := range ins {
			if !in.schema.HasField(f.Name) && !fillsUnknown(f) {
				fields[i].Nullable = true
			}
		}
	}
	md := first.schema.Metadata()
	return arrow.NewSchema(fields, &md), nil
}

// fillsUnknown says whether a missing column f is filled with -1.
func fillsUnknown(f arrow.Field) bool {
	if !unknownColumns[f.Name] {
		return false
	}
	switch f.Type.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return true
	}
	return false
}

// conform is rec laid out as schema: its own columns where it has them,
// -1 or nulls where it does not.
func conform(rec arrow.RecordBatch, schema *arrow.Schema) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	mem := memory.DefaultAllocator
	for i, f := range schema.Fields() {
		if idx := rec.Schema().FieldIndices(f.Name); len(idx) > 0 {
			if len(idx) > 1 {
				return nil, fmt.Errorf("%d columns named %q", len(idx), f.Name)
			}
			cols[i] = rec.Column(idx[0])
			cols[i].Retain()
			continue
		}
		if !fillsUnknown(f) {
			cols[i] = array.MakeArrayOfNull(mem, f.Type, n)
			continue
		}
		b := array.NewBuilder(mem, f.Type)
		b.Reserve(n)
		for range n {
			switch b := b.(type) {
			case *array.Int8Builder:
				b.Append(-1)
			case *array.Int16Builder:
				b.Append(-1)
			case *array.Int32Builder:
				b.Append(-1)
			case *array.Int64Builder:
				b.Append(-1)
			}
		}
		cols[i] = b.NewArray()
		b.Release()
	}
	return array.NewRecordBatch(schema, cols, int64(n)), nil
}

// dedup decides which rows stay: keep[t][r] for row r of table t, and
// how many rows are dropped. Without prefer a doubled id is an error.
func dedup(ins []*input, prefer string) (keep [][]bool, dropped int, err error) {
	type place struct{ table, row int }
	seen := map[string]place{}
	keep = make([][]bool, len(ins))
	for t, in := range ins {
		ids, err := in.strings(table.ColID)
		if err != nil {
			return nil, 0, err
		}
		keep[t] = make([]bool, len(ids))
		for r, id := range ids {
			keep[t][r] = true
			prev, dup := seen[id]
			if !dup {
				seen[id] = place{t, r}
				continue
			}
			switch prefer {
			case "":
				where := "twice in " + in.name
				if prev.table != t {
					where = fmt.Sprintf("in %s and in %s", ins[prev.table].name, in.name)
				}
				return nil, 0, fmt.Errorf("id %q is %s (--prefer first or last keeps one)", id, where)
			case "first":
				keep[t][r] = false
			case "last":
				keep[prev.table][prev.row] = false
				seen[id] = place{t, r}
			}
			dropped++
		}
	}
	return keep, dropped, nil
}
