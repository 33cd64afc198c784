package table

import (
	"bytes"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestOrigins(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []arrow.Field
		build  []func(array.Builder)
		want   []Origin
	}{
		{"int64 with a null, as pyarrow writes it",
			[]arrow.Field{{Name: ColSource, Type: arrow.BinaryTypes.String}, {Name: ColOrigin, Type: arrow.PrimitiveTypes.Int64, Nullable: true}},
			[]func(array.Builder){
				func(b array.Builder) {
					b.(*array.StringBuilder).AppendValues([]string{"x", "augment", "x", "x", "x", "x"}, nil)
				},
				func(b array.Builder) {
					b.(*array.Int64Builder).AppendValues([]int64{0, 0, 1, 2, 3}, nil)
					b.AppendNull()
				},
			},
			// the column wins over the source
			[]Origin{Original, Original, Augmented, SyntheticMask, PseudoLabel, Original},
		},
		{"no origin column: source augment is augmented (tables from before the column)",
			[]arrow.Field{{Name: ColSource, Type: arrow.BinaryTypes.String}},
			[]func(array.Builder){func(b array.Builder) {
				b.(*array.StringBuilder).AppendValues([]string{"competition", "augment", "aaf"}, nil)
			}},
			[]Origin{Original, Augmented, Original},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(foreignTable(t, tc.fields, tc.build, false)))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Release()
			recs, err := ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if i := r.Schema().FieldIndices(ColOrigin); len(i) == 1 && !arrow.TypeEqual(r.Schema().Field(i[0]).Type, arrow.PrimitiveTypes.Int8) {
				t.Errorf("origin read as %s, want int8", r.Schema().Field(i[0]).Type)
			}
			if got := OriginsOf(recs); !slices.Equal(got, tc.want) {
				t.Errorf("origins %v, want %v", got, tc.want)
			}
		})
	}
	for o, want := range map[Origin][2]bool{Original: {true, false}, Augmented: {false, true}, SyntheticMask: {false, true}, PseudoLabel: {false, false}, 9: {false, false}} {
		if o.IsOriginal() != want[0] || o.Derived() != want[1] {
			t.Errorf("%s: original %v derived %v, want %v", o, o.IsOriginal(), o.Derived(), want)
		}
	}
}
