package dup

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/table"
)

// EdgesType is the Arrow type of the crop_hash_edges column.
var EdgesType = arrow.ListOf(arrow.PrimitiveTypes.Uint64)

// Reading a table converts what other tools write for the hash columns
// (int64 hashes, large lists) to facet's types.
func init() {
	table.Declare(
		arrow.Field{Name: ColHash, Type: arrow.PrimitiveTypes.Uint64},
		arrow.Field{Name: ColEdges, Type: EdgesType},
		arrow.Field{Name: ColGroup, Type: arrow.BinaryTypes.String},
	)
}

// TableGroups is the duplicate group (see Groups) of every row of recs, a
// table's batches in order: rows whose crop_hash lie within maxDist bits
// (by Dist, with crop_hash_edges when the table has them). Rows without a
// hash are alone, and so are the rows made from another row's image
// (table.Origin Derived: facet-augment's): they carry their parent's hash
// and already follow its person.
// It is nil when the table has no crop_hash column or maxDist is 0; a
// crop_hash of another type than uint64, or edges that are not lists of 8
// uint64, are an error.
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
	edgeIdx := schema.FieldIndices(ColEdges)
	if len(edgeIdx) == 1 {
		if t := schema.Field(edgeIdx[0]).Type; !arrow.TypeEqual(t, EdgesType) {
			return nil, fmt.Errorf("column %s is %s, want %s (facet-crop's edge hashes)", ColEdges, t, EdgesType)
		}
	}
	var hashes []Hash
	var edges []Edges
	var ok []bool
	for _, rec := range recs {
		hs := rec.Column(idx[0]).(*array.Uint64)
		origins := table.Origins(rec)
		var lists *array.List
		if len(edgeIdx) == 1 {
			lists = rec.Column(edgeIdx[0]).(*array.List)
		}
		for i := range hs.Len() {
			row := len(hashes)
			hashes = append(hashes, Hash(hs.Value(i)))
			ok = append(ok, hs.IsValid(i) && !origins[i].Derived())
			if lists == nil {
				continue
			}
			if edges == nil {
				edges = make([]Edges, row, cap(hashes))
			}
			e, err := EdgesAt(lists, i)
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", row, err)
			}
			if e == nil {
				e = &Edges{}
			}
			edges = append(edges, *e)
		}
	}
	return Groups(len(hashes), Near(hashes, edges, ok, maxDist)), nil
}

// EdgesAt reads row i of a crop_hash_edges column (EdgesType): nil for a
// null (or no column), an error for values of another type or a list of
// another length than len(Edges).
func EdgesAt(lists *array.List, i int) (*Edges, error) {
	if lists == nil || lists.IsNull(i) {
		return nil, nil
	}
	values, ok := lists.ListValues().(*array.Uint64)
	if !ok {
		return nil, fmt.Errorf("column %s is %s, want %s", ColEdges, lists.DataType(), EdgesType)
	}
	var e Edges
	from, to := lists.ValueOffsets(i)
	if to-from != int64(len(e)) {
		return nil, fmt.Errorf("%s holds %d hashes, want %d", ColEdges, to-from, len(e))
	}
	for k := range e {
		e[k] = Hash(values.Value(int(from) + k))
	}
	return &e, nil
}
