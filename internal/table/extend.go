package table

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ExtendSchema is s with fields added at the end; a field whose name s
// already has replaces it in place (a stage run twice updates its columns
// instead of doubling them). Metadata is kept.
func ExtendSchema(s *arrow.Schema, fields []arrow.Field) *arrow.Schema {
	out := append([]arrow.Field(nil), s.Fields()...)
	for _, f := range fields {
		if idx := s.FieldIndices(f.Name); len(idx) > 0 {
			out[idx[0]] = f
			continue
		}
		out = append(out, f)
	}
	md := s.Metadata()
	return arrow.NewSchema(out, &md)
}

// Extend is rec with cols added as schema's extra columns (schema from
// ExtendSchema(rec.Schema(), fields), cols in the order of fields). Every
// other column passes through untouched. The caller releases the result.
func Extend(rec arrow.RecordBatch, schema *arrow.Schema, fields []arrow.Field, cols []arrow.Array) (arrow.RecordBatch, error) {
	if len(fields) != len(cols) {
		return nil, fmt.Errorf("table: %d fields, %d columns", len(fields), len(cols))
	}
	out := append([]arrow.Array(nil), rec.Columns()...)
	for i, f := range fields {
		if int64(cols[i].Len()) != rec.NumRows() {
			return nil, fmt.Errorf("table: column %s has %d rows, the batch %d", f.Name, cols[i].Len(), rec.NumRows())
		}
		idx := schema.FieldIndices(f.Name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("table: schema has no single column %s", f.Name)
		}
		if idx[0] < len(out) {
			out[idx[0]] = cols[i]
		} else {
			out = append(out, cols[i])
		}
	}
	if len(out) != schema.NumFields() {
		return nil, fmt.Errorf("table: %d columns for a schema of %d", len(out), schema.NumFields())
	}
	return array.NewRecordBatch(schema, out, rec.NumRows()), nil
}

// Filter returns the rows of rec that keep marks, in order (rec itself,
// retained, when keep marks every row). The caller releases the result.
func Filter(rec arrow.RecordBatch, keep []bool) (arrow.RecordBatch, error) {
	if len(keep) != int(rec.NumRows()) {
		return nil, fmt.Errorf("table: %d marks for %d rows", len(keep), rec.NumRows())
	}
	all := true
	for _, k := range keep {
		all = all && k
	}
	if all {
		rec.Retain()
		return rec, nil
	}
	b := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(keep, nil)
	mask := b.NewBooleanArray()
	defer mask.Release()
	sel, err := compute.FilterRecordBatch(context.Background(), rec, mask, compute.DefaultFilterOptions())
	if err != nil {
		return nil, fmt.Errorf("table: selecting rows: %w", err)
	}
	return sel, nil
}

// Take returns the rows of rec at the given indices, in that order; an
// index may repeat (a row copied) or be left out. Any column type is
// taken: runs of consecutive rows are sliced and joined. The caller
// releases the result.
func Take(rec arrow.RecordBatch, rows []int) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	type run struct{ lo, hi int64 }
	var runs []run
	for _, r := range rows {
		if r < 0 || r >= n {
			return nil, fmt.Errorf("table: row %d of a batch of %d", r, n)
		}
		if k := len(runs) - 1; k >= 0 && runs[k].hi == int64(r) {
			runs[k].hi++
			continue
		}
		runs = append(runs, run{int64(r), int64(r) + 1})
	}
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, col := range rec.Columns() {
		parts := make([]arrow.Array, len(runs))
		for k, r := range runs {
			parts[k] = array.NewSlice(col, r.lo, r.hi)
		}
		var err error
		if len(parts) == 0 {
			cols[i] = array.MakeArrayOfNull(memory.DefaultAllocator, col.DataType(), 0)
		} else {
			cols[i], err = array.Concatenate(parts, memory.DefaultAllocator)
		}
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			return nil, fmt.Errorf("table: taking rows of %s: %w", rec.Schema().Field(i).Name, err)
		}
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(rows))), nil
}

// Column is rec's column name as A: the zero A when rec has none, an
// error naming the column and its type when it has one of another type.
func Column[A arrow.Array](rec arrow.RecordBatch, name string) (A, error) {
	var zero A
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return zero, nil
	}
	c := rec.Column(idx[0])
	a, ok := c.(A)
	if !ok {
		return zero, fmt.Errorf("column %s is %s", name, c.DataType())
	}
	return a, nil
}
