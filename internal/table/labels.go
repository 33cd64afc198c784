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
		for i := range col.Len() {
			if col.IsNull(i) {
				continue
			}
			var v int
			var err error
			switch a := col.(type) {
			case *array.Int8:
				v = int(a.Value(i))
				err = label.Check(c.head, v)
			case *array.Int16:
				v = int(a.Value(i))
				err = label.CheckAge(v)
			default:
				return fmt.Errorf("column %q is %s, want a core label type", c.name, col.DataType())
			}
			if err != nil {
				return fmt.Errorf("column %q, row %d: %w", c.name, first+int64(i)+1, err)
			}
		}
	}
	return nil
}
