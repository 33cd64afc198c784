package table

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/label"
)

// labelColumns are the core columns whose values label.Check (or
// label.CheckAge) must accept, and the head each holds.
var labelColumns = []struct {
	name string
	head label.Head // "" for the age
}{
	{ColMask, label.HeadMask},
	{ColGender, label.HeadGender},
	{ColAgeGroup, label.HeadAgeGroup},
	{ColLabel, label.HeadLabel},
	{ColAge, ""},
}

// checkLabels checks every label value of rec, whose first row is row
// first+1 of the table (rows count from 1): a mask of 7 or an age of 999
// would otherwise become a class of its own downstream (a stratum, a
// one-hot index out of range). Null values are unknown, as Samples reads
// them. Check has made sure the columns have their core types.
func checkLabels(rec arrow.RecordBatch, first int64) error {
	sch := rec.Schema()
	for _, c := range labelColumns {
		idx := sch.FieldIndices(c.name)
		if len(idx) != 1 {
			continue
		}
		col := rec.Column(idx[0])
		// The range once per column, label.Check only to word a failure:
		// this runs on every value of every table read.
		var check func(int) error
		var value func(int) int
		lo, hi := 0, label.MaxAge
		switch a := col.(type) {
		case *array.Int8:
			check, value, hi = func(v int) error { return label.Check(c.head, v) }, func(i int) int { return int(a.Value(i)) }, label.Size(c.head)-1
		case *array.Int16:
			check, value = label.CheckAge, func(i int) int { return int(a.Value(i)) }
		default:
			return fmt.Errorf("column %q is %s, want a core label type", c.name, col.DataType())
		}
		for i := range col.Len() {
			if col.IsNull(i) {
				continue
			}
			if v := value(i); v != label.Unknown && (v < lo || v > hi) {
				return fmt.Errorf("column %q, row %d: %w", c.name, first+int64(i)+1, check(v))
			}
		}
	}
	return nil
}
