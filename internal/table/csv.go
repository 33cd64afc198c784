package table

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// A table written as CSV (--csv, -o FILE.csv) reads back as the same
// table: every column, list columns as JSON arrays (which DuckDB and
// Polars parse), unknown labels and other nulls as empty fields. Columns
// facet knows (CoreFields and what stages Declare) get their types; the
// others get the narrowest of int64, float64, bool, a list of those or of
// strings, and utf8 that holds every value. CSV has no schema metadata:
// the age bins of a CSV table are the default ones unless its age_group
// column says otherwise (write .arrow or .parquet to keep them).

// maxCSVBytes bounds a CSV table read into memory (its types are chosen
// from every value, so it is read whole).
const maxCSVBytes = 1 << 30

// coreStrings are the core columns whose empty field is "", not null.
var coreStrings = map[string]bool{ColID: true, ColPath: true, ColPerson: true, ColSource: true, ColSubset: true, ColRace: true}

// newCSVReader reads a CSV table whole and serves it as one batch.
func newCSVReader(br *bufio.Reader) (*Reader, error) {
	data, err := io.ReadAll(io.LimitReader(br, maxCSVBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading CSV: %w", err)
	}
	if len(data) > maxCSVBytes {
		return nil, fmt.Errorf("CSV table over %d MiB: write large tables as .arrow or .parquet", maxCSVBytes>>20)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.ReuseRecord = false
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("reading CSV: %w", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("empty CSV: no header")
	}
	header := rows[0]
	seen := map[string]bool{}
	for _, name := range header {
		if name == "" || seen[name] {
			return nil, fmt.Errorf("CSV header %q: column names must be unique and not empty", strings.Join(header, ","))
		}
		seen[name] = true
	}
	rows = rows[1:]
	fields := make([]arrow.Field, len(header))
	cols := make([]arrow.Array, len(header))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	values := make([]string, len(rows))
	for j, name := range header {
		for i, row := range rows {
			values[i] = row[j]
		}
		typ := declaredType(name)
		if typ == nil {
			typ = inferCSVType(values)
		}
		fields[j] = arrow.Field{Name: name, Type: typ, Nullable: true}
		col, err := parseCSVColumn(values, typ, !coreStrings[name])
		if err != nil {
			return nil, fmt.Errorf("CSV column %q, %w", name, err)
		}
		cols[j] = col
	}
	schema := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(schema, cols, int64(len(rows)))
	return &Reader{schema: schema, csvBatch: rec}, nil
}

// inferCSVType is the narrowest type holding every non-empty value.
func inferCSVType(values []string) arrow.DataType {
	kinds := []arrow.DataType{arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Boolean}
	for _, k := range kinds {
		if allParse(values, k) {
			return k
		}
	}
	// JSON arrays: of the narrowest element type holding every element.
	var elems []string
	for _, v := range values {
		if v == "" {
			continue
		}
		list, ok := jsonList(v)
		if !ok {
			return arrow.BinaryTypes.String
		}
		elems = append(elems, list...)
	}
	if len(elems) == 0 && !anyValue(values) {
		return arrow.BinaryTypes.String
	}
	for _, k := range kinds {
		if allParse(elems, k) {
			return arrow.ListOf(k)
		}
	}
	return arrow.ListOf(arrow.BinaryTypes.String)
}

func anyValue(values []string) bool {
	for _, v := range values {
		if v != "" {
			return true
		}
	}
	return false
}

// allParse reports whether every non-empty value parses as t (and one
// at least does).
func allParse(values []string, t arrow.DataType) bool {
	n := 0
	for _, v := range values {
		if v == "" {
			continue
		}
		n++
		var err error
		switch t.ID() {
		case arrow.INT64:
			_, err = strconv.ParseInt(v, 10, 64)
		case arrow.FLOAT64:
			_, err = strconv.ParseFloat(v, 64)
		case arrow.BOOL:
			_, err = strconv.ParseBool(v)
		}
		if err != nil {
			return false
		}
	}
	return n > 0
}

// jsonList reads a JSON array into its elements as text (strings
// unquoted, numbers as written).
func jsonList(v string) ([]string, bool) {
	if !strings.HasPrefix(strings.TrimSpace(v), "[") {
		return nil, false
	}
	d := json.NewDecoder(strings.NewReader(v))
	d.UseNumber()
	var raw []any
	if err := d.Decode(&raw); err != nil {
		return nil, false
	}
	out := make([]string, len(raw))
	for i, e := range raw {
		switch e := e.(type) {
		case json.Number:
			out[i] = e.String()
		case string:
			out[i] = e
		case bool:
			out[i] = strconv.FormatBool(e)
		default:
			return nil, false
		}
	}
	return out, true
}

// parseCSVColumn builds an array of type t from CSV fields; an empty
// field is null when emptyNull (else "" for strings).
func parseCSVColumn(values []string, t arrow.DataType, emptyNull bool) (arrow.Array, error) {
	b := array.NewBuilder(memory.DefaultAllocator, t)
	defer b.Release()
	for i, v := range values {
		if err := appendCSV(b, v, emptyNull); err != nil {
			return nil, fmt.Errorf("row %d: %w", i+1, err)
		}
	}
	return b.NewArray(), nil
}

// appendCSV appends one field's value to b.
func appendCSV(b array.Builder, v string, emptyNull bool) error {
	if v == "" {
		if sb, ok := b.(*array.StringBuilder); ok && !emptyNull {
			sb.Append("")
			return nil
		}
		b.AppendNull()
		return nil
	}
	switch bb := b.(type) {
	case *array.StringBuilder:
		bb.Append(v)
		return nil
	case *array.BooleanBuilder:
		x, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		bb.Append(x)
		return nil
	case *array.ListBuilder:
		elems, ok := jsonList(v)
		if !ok {
			return fmt.Errorf("%q is not a JSON array", v)
		}
		bb.Append(true)
		for _, e := range elems {
			if err := appendCSV(bb.ValueBuilder(), e, true); err != nil {
				return err
			}
		}
		return nil
	case *array.Float32Builder, *array.Float64Builder:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		if f, ok := bb.(*array.Float32Builder); ok {
			f.Append(float32(x))
		} else {
			bb.(*array.Float64Builder).Append(x)
		}
		return nil
	}
	// Integers of facet's widths: parsed whole, range checked.
	var lo, hi int64
	switch b.Type().ID() {
	case arrow.UINT64, arrow.UINT32, arrow.UINT16, arrow.UINT8:
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number of %s", v, b.Type())
		}
		_, max := intRange(b.Type())
		if x > max {
			return fmt.Errorf("value %d does not fit %s", x, b.Type())
		}
		appendInt(b, int64(x))
		return nil
	}
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", v)
	}
	lo, h := intRange(b.Type())
	hi = int64(min(h, uint64(1<<63-1)))
	if x < lo || x > hi {
		return fmt.Errorf("value %d does not fit %s", x, b.Type())
	}
	if !appendInt(b, x) {
		return fmt.Errorf("cannot read %s from CSV", b.Type())
	}
	return nil
}

// csvSchema is schema as CSV holds it: list columns as utf8 (JSON).
func csvSchema(schema *arrow.Schema) (*arrow.Schema, []int) {
	fields := schema.Fields()
	var lists []int
	for i, f := range fields {
		if listValue(f.Type) != nil {
			fields[i].Type = arrow.BinaryTypes.String
			lists = append(lists, i)
		}
	}
	if lists == nil {
		return schema, nil
	}
	md := schema.Metadata()
	return arrow.NewSchema(fields, &md), lists
}

// listsAsJSON is rec in the CSV schema: its list columns as JSON text.
func listsAsJSON(rec arrow.RecordBatch, schema *arrow.Schema, lists []int) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, rec.NumCols())
	copy(cols, rec.Columns())
	var made []arrow.Array
	defer func() {
		for _, a := range made {
			a.Release()
		}
	}()
	for _, i := range lists {
		ll, ok := cols[i].(array.ListLike)
		if !ok {
			return nil, fmt.Errorf("writing CSV: column %q is %s, not a list", schema.Field(i).Name, cols[i].DataType())
		}
		b := array.NewStringBuilder(memory.DefaultAllocator)
		values := ll.ListValues()
		for r := range ll.Len() {
			if ll.IsNull(r) {
				b.AppendNull()
				continue
			}
			s, e := ll.ValueOffsets(r)
			var sb strings.Builder
			sb.WriteByte('[')
			for k := s; k < e; k++ {
				if k > s {
					sb.WriteByte(',')
				}
				if values.IsNull(int(k)) {
					sb.WriteString("null")
					continue
				}
				j, err := json.Marshal(values.GetOneForMarshal(int(k)))
				if err != nil {
					b.Release()
					return nil, err
				}
				sb.Write(j)
			}
			sb.WriteByte(']')
			b.Append(sb.String())
		}
		a := b.NewArray()
		b.Release()
		made = append(made, a)
		cols[i] = a
	}
	return array.NewRecordBatch(schema, cols, rec.NumRows()), nil
}
