package table

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Other tools write the same data with other Arrow types: Polars writes
// strings as string_view or large_utf8, pyarrow and DuckDB write small
// integers as int64, pandas writes an integer column with gaps as float64,
// and categorical strings come dictionary-encoded. Reader converts them to
// facet's types as it reads (convert), so every stage sees one schema; a
// value that does not fit is an error naming the column, the row and the
// value.
//
// facet's types are those of CoreFields and of the columns stages declare
// (Declare); a column nobody declared keeps its type, except that strings
// of any kind become utf8.
//
// Unknown labels are -1 inside facet and null outside: Reader turns a
// null in a label or age column into -1, and Writer writes -1 as null, so
// a user's mean(age) in Polars or DuckDB leaves the unknown ages out.

// ColFold is the fold column facet-split adds (int8; -1 for training-only
// rows).
const ColFold = "fold"

var (
	declaredMu sync.RWMutex
	declared   = map[string]arrow.DataType{}
)

// Declare records the Arrow types of columns a stage writes, so that
// Reader converts what other tools write for them (see convert). Packages
// declare their columns in init.
func Declare(fields ...arrow.Field) {
	declaredMu.Lock()
	defer declaredMu.Unlock()
	for _, f := range fields {
		declared[f.Name] = f.Type
	}
}

func declaredType(name string) arrow.DataType {
	declaredMu.RLock()
	defer declaredMu.RUnlock()
	return declared[name]
}

func init() {
	Declare(CoreFields...)
	Declare(arrow.Field{Name: ColFold, Type: arrow.PrimitiveTypes.Int8}, OriginField)
	Declare(BoxFields...)
}

// unknownIsNull are the columns whose unknown value is -1 inside facet
// and null outside.
var unknownIsNull = map[string]bool{ColMask: true, ColGender: true, ColAgeGroup: true, ColLabel: true, ColAge: true}

// conversion is how a table's batches become facet's: the schema they
// get and, for each column, whether it changes.
type conversion struct {
	schema *arrow.Schema
	change []bool
	any    bool
}

// planConversion decides the facet schema of a table's schema. A column
// facet knows in a type that cannot hold its values (a string mask) is an
// error.
func planConversion(s *arrow.Schema) (*conversion, error) {
	fields := make([]arrow.Field, s.NumFields())
	c := &conversion{change: make([]bool, len(fields))}
	for i, f := range s.Fields() {
		to := f.Type
		if want := declaredType(f.Name); want != nil {
			if !convertible(f.Type, want) {
				return nil, fmt.Errorf("column %q is %s, want %s", f.Name, f.Type, describe(want))
			}
			to = want
		} else if isStringLike(f.Type) {
			to = arrow.BinaryTypes.String
		}
		if unknownIsNull[f.Name] {
			f.Nullable = false // nulls become -1
			c.change[i] = true // a null may come in any batch
		}
		if !arrow.TypeEqual(to, f.Type) {
			c.change[i] = true
		}
		c.any = c.any || c.change[i]
		f.Type = to
		fields[i] = f
	}
	md := s.Metadata()
	c.schema = arrow.NewSchema(fields, &md)
	return c, nil
}

// describe names a wanted type with the others accepted for it.
func describe(t arrow.DataType) string {
	switch {
	case isInteger(t):
		return fmt.Sprintf("%s (or another integer type)", t)
	case isFloat(t):
		return fmt.Sprintf("%s (or another number type)", t)
	case t.ID() == arrow.STRING:
		return "utf8 (or large_utf8, string_view, dictionary-encoded strings)"
	case t.ID() == arrow.LIST:
		return fmt.Sprintf("%s (or large_list, list_view, fixed_size_list of the same values)", t)
	}
	return t.String()
}

func isStringLike(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	case arrow.DICTIONARY:
		return isStringLike(t.(*arrow.DictionaryType).ValueType)
	}
	return false
}

func isInteger(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func isFloat(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return true
	}
	return false
}

// listValue is the value type of a list-like type, nil for others.
func listValue(t arrow.DataType) arrow.DataType {
	switch l := t.(type) {
	case *arrow.ListType:
		return l.Elem()
	case *arrow.LargeListType:
		return l.Elem()
	case *arrow.ListViewType:
		return l.Elem()
	case *arrow.LargeListViewType:
		return l.Elem()
	case *arrow.FixedSizeListType:
		return l.Elem()
	}
	return nil
}

// convertible reports whether values of type from can become want.
func convertible(from, want arrow.DataType) bool {
	if arrow.TypeEqual(from, want) || from.ID() == arrow.NULL {
		return true
	}
	switch {
	case want.ID() == arrow.STRING:
		return isStringLike(from)
	case isInteger(want), isFloat(want):
		return isInteger(from) || isFloat(from)
	case want.ID() == arrow.LIST:
		v := listValue(from)
		return v != nil && convertible(v, want.(*arrow.ListType).Elem())
	}
	return false
}

// apply converts one batch whose first row is row first of the table.
func (c *conversion) apply(rec arrow.RecordBatch, first int64) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, a := range cols {
			if a != nil {
				a.Release()
			}
		}
	}()
	for i, a := range rec.Columns() {
		f := c.schema.Field(i)
		if !c.change[i] {
			a.Retain()
			cols[i] = a
			continue
		}
		fill := int64(math.MinInt64) // no fill
		if unknownIsNull[f.Name] {
			fill = -1
		}
		out, err := convertArray(a, f.Type, fill)
		if err != nil {
			var ve valueError
			if errors.As(err, &ve) {
				return nil, fmt.Errorf("column %q, row %d: %s", f.Name, first+int64(ve.row)+1, ve.msg)
			}
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		cols[i] = out
	}
	return array.NewRecordBatch(c.schema, cols, rec.NumRows()), nil
}

// valueError is a value that does not fit, at a row of the array.
type valueError struct {
	row int
	msg string
}

func (e valueError) Error() string { return fmt.Sprintf("row %d: %s", e.row, e.msg) }

// convertArray makes a into an array of type to; with fill other than
// math.MinInt64, nulls of an integer column become fill.
func convertArray(a arrow.Array, to arrow.DataType, fill int64) (arrow.Array, error) {
	noFill := fill == math.MinInt64
	if arrow.TypeEqual(a.DataType(), to) && (noFill || a.NullN() == 0) {
		a.Retain()
		return a, nil
	}
	mem := memory.DefaultAllocator
	switch {
	case to.ID() == arrow.STRING:
		return toStrings(mem, a)
	case isInteger(to) || isFloat(to):
		return toNumbers(mem, a, to, fill)
	case to.ID() == arrow.LIST:
		return toList(mem, a, to.(*arrow.ListType))
	}
	return nil, fmt.Errorf("cannot convert %s to %s", a.DataType(), to)
}

// stringValues reads the strings of any string-like array (a
// dictionary's through its indices); a null array's are "".
func stringValues(a arrow.Array) (func(i int) string, bool) {
	switch v := a.(type) {
	case *array.String:
		return v.Value, true
	case *array.LargeString:
		return v.Value, true
	case *array.StringView:
		return v.Value, true
	case *array.Null:
		return func(int) string { return "" }, true
	case *array.Dictionary:
		dv, ok := stringValues(v.Dictionary())
		if !ok {
			return nil, false
		}
		return func(i int) string { return dv(v.GetValueIndex(i)) }, true
	}
	return nil, false
}

func toStrings(mem memory.Allocator, a arrow.Array) (arrow.Array, error) {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(a.Len())
	value, ok := stringValues(a)
	if !ok {
		return nil, fmt.Errorf("cannot convert %s to utf8", a.DataType())
	}
	for i := range a.Len() {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(value(i))
	}
	return b.NewArray(), nil
}

// number reads element i of a numeric array as a float64 and, for
// integers, exactly as an int64 (uint64 values above MaxInt64 are
// reported by big).
type number struct {
	f     float64
	i     int64
	isInt bool
	big   bool // a uint64 above MaxInt64
}

// intNumber is an integer that fits an int64.
func intNumber[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32](v T) number {
	return number{f: float64(v), i: int64(v), isInt: true}
}

func numberAt(a arrow.Array, i int) (number, bool) {
	switch v := a.(type) {
	case *array.Int8:
		return intNumber(v.Value(i)), true
	case *array.Int16:
		return intNumber(v.Value(i)), true
	case *array.Int32:
		return intNumber(v.Value(i)), true
	case *array.Int64:
		return intNumber(v.Value(i)), true
	case *array.Uint8:
		return intNumber(v.Value(i)), true
	case *array.Uint16:
		return intNumber(v.Value(i)), true
	case *array.Uint32:
		return intNumber(v.Value(i)), true
	case *array.Uint64:
		u := v.Value(i)
		return number{f: float64(u), i: int64(u), isInt: true, big: u > math.MaxInt64}, true
	case *array.Float16:
		return number{f: float64(v.Value(i).Float32())}, true
	case *array.Float32:
		return number{f: float64(v.Value(i))}, true
	case *array.Float64:
		return number{f: v.Value(i)}, true
	}
	return number{}, false
}

// intRange is the range of an integer type.
func intRange(t arrow.DataType) (lo int64, hi uint64) {
	switch t.ID() {
	case arrow.INT8:
		return math.MinInt8, math.MaxInt8
	case arrow.INT16:
		return math.MinInt16, math.MaxInt16
	case arrow.INT32:
		return math.MinInt32, math.MaxInt32
	case arrow.INT64:
		return math.MinInt64, math.MaxInt64
	case arrow.UINT8:
		return 0, math.MaxUint8
	case arrow.UINT16:
		return 0, math.MaxUint16
	case arrow.UINT32:
		return 0, math.MaxUint32
	}
	return 0, math.MaxUint64
}

func toNumbers(mem memory.Allocator, a arrow.Array, to arrow.DataType, fill int64) (arrow.Array, error) {
	if _, ok := a.(*array.Null); !ok {
		if !isInteger(a.DataType()) && !isFloat(a.DataType()) {
			return nil, fmt.Errorf("cannot convert %s to %s", a.DataType(), to)
		}
	}
	b := array.NewBuilder(mem, to)
	defer b.Release()
	b.Reserve(a.Len())
	lo, hi := intRange(to)
	for i := range a.Len() {
		n, ok := numberAt(a, i)
		if a.IsNull(i) || !ok || (!n.isInt && math.IsNaN(n.f)) {
			if fill != math.MinInt64 {
				n, ok = number{f: float64(fill), i: fill, isInt: true}, true
			} else {
				b.AppendNull()
				continue
			}
		}
		if isFloat(to) {
			switch bb := b.(type) {
			case *array.Float32Builder:
				bb.Append(float32(n.f))
			case *array.Float64Builder:
				bb.Append(n.f)
			default:
				return nil, fmt.Errorf("cannot convert %s to %s", a.DataType(), to)
			}
			continue
		}
		if !n.isInt {
			if math.IsInf(n.f, 0) || n.f != math.Trunc(n.f) {
				return nil, valueError{i, fmt.Sprintf("value %v is not a whole number", n.f)}
			}
			if n.f < float64(lo) || n.f > float64(hi) {
				return nil, valueError{i, fmt.Sprintf("value %v does not fit %s", n.f, to)}
			}
			if n.f >= math.MaxInt64 {
				n.big, n.i = true, int64(uint64(n.f))
			} else {
				n.i = int64(n.f)
			}
		} else if n.big && hi < math.MaxUint64 || !n.big && (n.i < lo || n.i >= 0 && uint64(n.i) > hi) {
			if n.big {
				return nil, valueError{i, fmt.Sprintf("value %d does not fit %s", uint64(n.i), to)}
			}
			return nil, valueError{i, fmt.Sprintf("value %d does not fit %s", n.i, to)}
		}
		appendInt(b, n.i)
	}
	return b.NewArray(), nil
}

// appendInt appends v (in range: the callers check) to an integer
// builder of any width; false for another builder. A uint64 above
// MaxInt64 comes as its bits.
func appendInt(b array.Builder, v int64) bool {
	switch bb := b.(type) {
	case *array.Int8Builder:
		bb.Append(int8(v))
	case *array.Int16Builder:
		bb.Append(int16(v))
	case *array.Int32Builder:
		bb.Append(int32(v))
	case *array.Int64Builder:
		bb.Append(v)
	case *array.Uint8Builder:
		bb.Append(uint8(v))
	case *array.Uint16Builder:
		bb.Append(uint16(v))
	case *array.Uint32Builder:
		bb.Append(uint32(v))
	case *array.Uint64Builder:
		bb.Append(uint64(v))
	default:
		return false
	}
	return true
}

// toList converts any list-like array to a list of to's values.
func toList(mem memory.Allocator, a arrow.Array, to *arrow.ListType) (arrow.Array, error) {
	if _, ok := a.(*array.Null); ok {
		b := array.NewListBuilder(mem, to.Elem())
		defer b.Release()
		b.AppendNulls(a.Len())
		return b.NewArray(), nil
	}
	ll, ok := a.(array.ListLike)
	if !ok {
		return nil, fmt.Errorf("cannot convert %s to %s", a.DataType(), to)
	}
	// The values each row uses, in row order, as one array.
	var parts []arrow.Array
	offsets := make([]int32, 1, a.Len()+1)
	valid := make([]bool, a.Len())
	var n int64
	for i := range a.Len() {
		valid[i] = a.IsValid(i)
		if valid[i] {
			s, e := ll.ValueOffsets(i)
			if e > s {
				parts = append(parts, array.NewSlice(ll.ListValues(), s, e))
				n += e - s
			}
		}
		if n > math.MaxInt32 {
			return nil, fmt.Errorf("%s holds over 2^31 values", a.DataType())
		}
		offsets = append(offsets, int32(n))
	}
	defer func() {
		for _, p := range parts {
			p.Release()
		}
	}()
	var values arrow.Array
	if len(parts) == 0 {
		values = array.MakeArrayOfNull(mem, to.Elem(), 0)
	} else {
		joined, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, err
		}
		defer joined.Release()
		if values, err = convertArray(joined, to.Elem(), math.MinInt64); err != nil {
			var ve valueError
			if errors.As(err, &ve) {
				return nil, fmt.Errorf("list value %d: %s", ve.row, ve.msg)
			}
			return nil, err
		}
	}
	defer values.Release()
	offBuf := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets))
	nullBuf, nulls := validity(valid)
	data := array.NewData(to, a.Len(), []*memory.Buffer{nullBuf, offBuf}, []arrow.ArrayData{values.Data()}, nulls, 0)
	defer data.Release()
	return array.NewListData(data), nil
}

// validity is a validity bitmap for valid (nil when every row is valid)
// and the number of nulls.
func validity(valid []bool) (*memory.Buffer, int) {
	nulls := 0
	for _, v := range valid {
		if !v {
			nulls++
		}
	}
	if nulls == 0 {
		return nil, 0
	}
	bits := make([]byte, (len(valid)+7)/8)
	for i, v := range valid {
		if v {
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return memory.NewBufferBytes(bits), nulls
}
