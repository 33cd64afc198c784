package table

import (
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ColOrigin is the column that says where a row comes from (an Origin,
// int8). A table without it holds photos of the data set only.
const ColOrigin = "origin"

// Origin says where a row comes from: a photo of the data set, or a row
// that a facet stage made. Only original rows are ever validation data:
// facet-split puts the others in training files only, facet-train leaves
// them out of its validation table, and what is made from another row's
// image (Derived) follows that row's person and is never a duplicate or a
// label-error suspect of its own.
type Origin int8

// The origins. The values are stored in tables: never renumber them.
const (
	Original      Origin = 0 // a photo of the data set
	Augmented     Origin = 1 // an augmented copy of another row (facet-augment --copies, --balance)
	SyntheticMask Origin = 2 // another row's face with a drawn mask (facet-augment --masks)
	PseudoLabel   Origin = 3 // a row labelled by a model's prediction (facet-merge vote --pseudo-out)
)

// OriginField is the origin column's field.
var OriginField = arrow.Field{Name: ColOrigin, Type: arrow.PrimitiveTypes.Int8}

// IsOriginal reports whether the row is a photo of the data set, the only
// rows that may be validation data.
func (o Origin) IsOriginal() bool { return o == Original }

// Derived reports whether the row's image was made from another row's
// (an augmented copy or a drawn mask): it carries that row's person and
// crop hash.
func (o Origin) Derived() bool { return o == Augmented || o == SyntheticMask }

func (o Origin) String() string {
	switch o {
	case Original:
		return "original"
	case Augmented:
		return "augmented"
	case SyntheticMask:
		return "synthetic mask"
	case PseudoLabel:
		return "pseudo label"
	}
	return "origin " + strconv.Itoa(int(o))
}

// sourceAugment is the source facet-augment gives its rows.
const sourceAugment = "augment"

// Origins reads the origin of every row of rec. A null is Original, and so
// is every row of a table without the column, except that in a table
// written before the column existed the rows of source "augment" (which
// facet-augment made) are Augmented.
func Origins(rec arrow.RecordBatch) []Origin {
	out := make([]Origin, rec.NumRows())
	schema := rec.Schema()
	if idx := schema.FieldIndices(ColOrigin); len(idx) == 1 {
		if a, ok := rec.Column(idx[0]).(*array.Int8); ok {
			for i := range out {
				if a.IsValid(i) {
					out[i] = Origin(a.Value(i))
				}
			}
		}
		return out
	}
	if idx := schema.FieldIndices(ColSource); len(idx) == 1 {
		if a, ok := rec.Column(idx[0]).(*array.String); ok {
			for i := range out {
				if a.IsValid(i) && a.Value(i) == sourceAugment {
					out[i] = Augmented
				}
			}
		}
	}
	return out
}

// OriginsOf reads the origins of a table's batches, in order.
func OriginsOf(recs []arrow.RecordBatch) []Origin {
	var out []Origin
	for _, rec := range recs {
		out = append(out, Origins(rec)...)
	}
	return out
}
