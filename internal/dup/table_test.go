package dup

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/table"
)

// A row made from another row's image (origin augmented or synthetic
// mask) carries its hash but is no duplicate of it; a pseudo-labelled or
// original row with the same hash is.
func TestTableGroupsLeaveDerivedRowsAlone(t *testing.T) {
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{{Name: ColHash, Type: arrow.PrimitiveTypes.Uint64}, table.OriginField}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	origins := []table.Origin{table.Original, table.Augmented, table.SyntheticMask, table.PseudoLabel, table.Original}
	for _, o := range origins {
		b.Field(0).(*array.Uint64Builder).Append(42)
		b.Field(1).(*array.Int8Builder).Append(int8(o))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	got, err := TableGroups([]arrow.RecordBatch{rec}, DefaultDistance)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[0 -1 -1 0 0]"; fmt.Sprint(got) != want {
		t.Errorf("groups %v, want %s", got, want)
	}
}
