package dup

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/table"
)

// TableGroups is the duplicate group (see Groups) of every row of recs, a
// table's batches in order: rows whose crop_hash differ in at most maxDist
// bits. Rows without a hash are alone, and so are the rows facet-augment
// made (source augment): they carry their parent's hash and already
// follow its person. It is nil when the table has no crop_hash column or
// maxDist is 0; a crop_hash of another type than uint64 is an error.
func TableGroups(recs []arrow.RecordBatch, maxDist int) ([]int, error) {
	if len(recs) == 0 || maxDist <= 0 {
		return nil, nil
	}
	schema := recs[0].Schema()
	idx := schema.FieldIndices(ColHash)
	if len(idx) != 1 {
		return nil, nil
	}
	if t := schema.Field(idx[0]).Type; !arrow.TypeEqual(t, arrow.PrimitiveTypes.Uint64) {
		return nil, fmt.Errorf("column %s is %s, want uint64 (facet-crop's perceptual hash)", ColHash, t)
	}
	src := schema.FieldIndices(table.ColSource)
	var hashes []Hash
	var ok []bool
	for _, rec := range recs {
		hs := rec.Column(idx[0]).(*array.Uint64)
		var sources *array.String
		if len(src) == 1 {
			sources, _ = rec.Column(src[0]).(*array.String)
		}
		for i := range hs.Len() {
			hashes = append(hashes, Hash(hs.Value(i)))
			ok = append(ok, hs.IsValid(i) && (sources == nil || sources.Value(i) != "augment"))
		}
	}
	return Groups(len(hashes), Near(hashes, ok, maxDist)), nil
}
