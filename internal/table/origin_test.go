package table

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestOrigins(t *testing.T) {
	strs := func(v ...string) func(array.Builder) {
		return func(b array.Builder) { b.(*array.StringBuilder).AppendValues(v, nil) }
	}
	ids := strs("a", "b", "c", "d", "e", "f")
	for _, tc := range []struct {
		name   string
		origin func(array.Builder) // nil: no origin column
		want   [6]Origin
	}{
		{"int64 with a null, as pyarrow writes it; the column wins over the source", func(b array.Builder) {
			b.(*array.Int64Builder).AppendValues([]int64{0, 0, 1, 2, 3}, nil)
			b.AppendNull()
		}, [6]Origin{Original, Original, Augmented, SyntheticMask, PseudoLabel, Original}},
		{"no origin column: source augment is augmented (tables from before the column)", nil,
			[6]Origin{Original, Augmented, Original, Original, Original, Original}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fields := []arrow.Field{{Name: ColID, Type: arrow.BinaryTypes.String}, {Name: ColPath, Type: arrow.BinaryTypes.String}, {Name: ColSource, Type: arrow.BinaryTypes.String}}
			build := []func(array.Builder){ids, ids, strs("x", "augment", "x", "x", "x", "x")}
			if tc.origin != nil {
				fields = append(fields, arrow.Field{Name: ColOrigin, Type: arrow.PrimitiveTypes.Int64, Nullable: true})
				build = append(build, tc.origin)
			}
			samples, schema, err := readSamples(t, foreignTable(t, fields, build, false))
			if err != nil {
				t.Fatal(err)
			}
			if i := schema.FieldIndices(ColOrigin); len(i) == 1 && !arrow.TypeEqual(schema.Field(i[0]).Type, arrow.PrimitiveTypes.Int8) {
				t.Errorf("origin read as %s, want int8", schema.Field(i[0]).Type)
			}
			var got [6]Origin
			for i, s := range samples {
				got[i] = s.Origin
			}
			if got != tc.want {
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

// Records writes an origin column when the schema has one, and Samples
// reads it back.
func TestSampleOrigins(t *testing.T) {
	samples := testSamples(4)
	samples[1].Origin, samples[3].Origin = SyntheticMask, PseudoLabel
	got, schema, err := readSamples(t, encode(t, samples, Stream, 3, true))
	if err != nil {
		t.Fatal(err)
	}
	if !schema.HasField(ColOrigin) || len(got) != 4 || got[1].Origin != SyntheticMask || got[3].Origin != PseudoLabel || got[0].Origin != Original {
		t.Errorf("read back %+v", got)
	}
}
