// Package join concatenates sample tables into one, as facet-merge join
// does and as facet-train --all-folds joins its folds' out-of-fold
// predictions: rows in the order of the tables, every column of every
// table (the first table's in its order, then the ones the others add).
// Where a table lacks a column its rows get -1 in the label columns (mask,
// gender, age_group, label, age), facet's "unknown", and null elsewhere.
// A column with one name and two types is an error, and so are tables
// with different age bins. An id in two rows is an error unless Prefer
// says which row stays.
package join

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/table"
)

// Table is one table to join, read whole.
type Table struct {
	Name   string // for messages
	Schema *arrow.Schema
	Recs   []arrow.RecordBatch
}

// Which row of a doubled id stays.
const (
	Refuse = ""      // none: a doubled id is an error
	First  = "first" // the earlier row in the order given
	Last   = "last"  // the later row
)

// Tables joins ts. It returns the joined schema and batches (the caller
// releases them) and how many rows a doubled id dropped.
func Tables(ts []Table, prefer string) (*arrow.Schema, []arrow.RecordBatch, int, error) {
	if len(ts) == 0 {
		return nil, nil, 0, fmt.Errorf("join: no table")
	}
	if prefer != Refuse && prefer != First && prefer != Last {
		return nil, nil, 0, fmt.Errorf("join: prefer %q: want first or last", prefer)
	}
	schema, err := unionSchema(ts)
	if err != nil {
		return nil, nil, 0, err
	}
	keep, dropped, err := dedup(ts, prefer)
	if err != nil {
		return nil, nil, 0, err
	}
	var recs []arrow.RecordBatch
	release := func() {
		for _, rec := range recs {
			rec.Release()
		}
	}
	for t, in := range ts {
		row := 0
		for _, rec := range in.Recs {
			n := int(rec.NumRows())
			conf, err := conform(rec, schema)
			if err != nil {
				release()
				return nil, nil, 0, fmt.Errorf("%s: %w", in.Name, err)
			}
			sel, err := table.Filter(conf, keep[t][row:row+n])
			conf.Release()
			if err != nil {
				release()
				return nil, nil, 0, err
			}
			recs = append(recs, sel)
			row += n
		}
	}
	return schema, recs, dropped, nil
}

// unknownColumns are the columns a table without them fills with -1
// (label.Unknown) instead of null, when they are integers.
var unknownColumns = map[string]bool{
	table.ColMask: true, table.ColGender: true, table.ColAgeGroup: true, table.ColLabel: true, table.ColAge: true,
}

// unionSchema is the first table's columns, then the new columns of the
// others in order, with the first table's metadata. A column that some
// table lacks, and that is not filled with -1, becomes nullable.
func unionSchema(ins []Table) (*arrow.Schema, error) {
	first := ins[0]
	bins, err := table.AgeBins(first.Schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", first.Name, err)
	}
	var fields []arrow.Field
	from := map[string]int{} // column -> index in fields
	owner := map[string]string{}
	for _, in := range ins {
		b, err := table.AgeBins(in.Schema)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
		if b != bins {
			return nil, fmt.Errorf("age bins %s in %s and %s in %s: re-run facet-prep with the same --age-bins", bins, first.Name, b, in.Name)
		}
		for _, f := range in.Schema.Fields() {
			i, ok := from[f.Name]
			if !ok {
				from[f.Name] = len(fields)
				owner[f.Name] = in.Name
				fields = append(fields, f)
				continue
			}
			if !arrow.TypeEqual(fields[i].Type, f.Type) {
				return nil, fmt.Errorf("column %q is %s in %s and %s in %s", f.Name, fields[i].Type, owner[f.Name], f.Type, in.Name)
			}
			fields[i].Nullable = fields[i].Nullable || f.Nullable
		}
	}
	for i, f := range fields {
		for _, in := range ins {
			if !in.Schema.HasField(f.Name) && !fillsUnknown(f) {
				fields[i].Nullable = true
			}
		}
	}
	md := first.Schema.Metadata()
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
func dedup(ins []Table, prefer string) (keep [][]bool, dropped int, err error) {
	type place struct{ table, row int }
	seen := map[string]place{}
	keep = make([][]bool, len(ins))
	for t, in := range ins {
		ids, err := in.ids()
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
			case Refuse:
				where := "twice in " + in.Name
				if prev.table != t {
					where = fmt.Sprintf("in %s and in %s", ins[prev.table].Name, in.Name)
				}
				return nil, 0, fmt.Errorf("id %q is %s (--prefer first or last keeps one)", id, where)
			case First:
				keep[t][r] = false
			case Last:
				keep[prev.table][prev.row] = false
				seen[id] = place{t, r}
			}
			dropped++
		}
	}
	return keep, dropped, nil
}

// ids reads the id column of every batch; a null is an error.
func (in Table) ids() ([]string, error) {
	var out []string
	for _, rec := range in.Recs {
		idx := rec.Schema().FieldIndices(table.ColID)
		if len(idx) != 1 {
			return nil, fmt.Errorf("%s: no single %q column", in.Name, table.ColID)
		}
		a, ok := rec.Column(idx[0]).(*array.String)
		if !ok {
			return nil, fmt.Errorf("%s: column %q is %s, want utf8", in.Name, table.ColID, rec.Column(idx[0]).DataType())
		}
		for i := range a.Len() {
			if a.IsNull(i) {
				return nil, fmt.Errorf("%s: row %d has no %s", in.Name, len(out), table.ColID)
			}
			out = append(out, a.Value(i))
		}
	}
	return out, nil
}
