package table

import (
	"image"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
)

// Sample is one row of the core columns, and its origin (Original when
// the table has no origin column).
type Sample struct {
	ID, Path, Person, Source, Subset, Race string
	Mask, Gender, AgeGroup, Label          int8
	Age                                    int16
	Origin                                 Origin
	// Box is a given face box in photo pixels (the BoxFields columns,
	// when the schema has them); empty for none.
	Box image.Rectangle
}

// NewSample is a sample with every label part unknown.
func NewSample(id, path, person, source, subset string) Sample {
	return Sample{
		ID: id, Path: path, Person: person, Source: source, Subset: subset,
		Mask: label.Unknown, Gender: label.Unknown, AgeGroup: label.Unknown,
		Label: label.Unknown, Age: label.Unknown,
	}
}

// SetAge sets the age in years and its group under bins.
func (s *Sample) SetAge(age int, bins label.Bins) {
	s.Age = int16(age)
	s.AgeGroup = bins.Group(age)
}

// SetLabels sets the mask, the gender and the age (with its group in
// bins), and the 18-class label they make.
func (s *Sample) SetLabels(mask, gender int8, age int, bins label.Bins) {
	s.Mask, s.Gender = mask, gender
	s.SetAge(age, bins)
	s.Relabel()
}

// Relabel recomputes the 18-class label from the three parts.
func (s *Sample) Relabel() { s.Label = label.Join(s.Mask, s.Gender, s.AgeGroup) }

// BatchRows is the number of rows per record batch facet writes.
const BatchRows = 1 << 14

// Records turns samples into record batches of schema (which must start
// with the core columns, as NewSchema's does, and may have an origin
// column and the BoxFields after them). The caller releases them.
func Records(mem memory.Allocator, schema *arrow.Schema, samples []Sample) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	origin := -1
	if idx := schema.FieldIndices(ColOrigin); len(idx) == 1 {
		origin = idx[0]
	}
	box := boxColumns(schema)
	for start := 0; start < len(samples); start += BatchRows {
		end := min(start+BatchRows, len(samples))
		for _, s := range samples[start:end] {
			appendSample(b, s)
			if origin >= 0 {
				b.Field(origin).(*array.Int8Builder).Append(int8(s.Origin))
			}
			if box != nil {
				v := [4]int32{-1, -1, -1, -1}
				if !s.Box.Empty() {
					v = [4]int32{int32(s.Box.Min.X), int32(s.Box.Min.Y), int32(s.Box.Max.X), int32(s.Box.Max.Y)}
				}
				for k, x := range v {
					b.Field(box[k]).(*array.Int32Builder).Append(x)
				}
			}
		}
		out = append(out, b.NewRecordBatch())
	}
	return out
}

func appendSample(b *array.RecordBuilder, s Sample) {
	str := func(i int, v string) { b.Field(i).(*array.StringBuilder).Append(v) }
	i8 := func(i int, v int8) { b.Field(i).(*array.Int8Builder).Append(v) }
	str(0, s.ID)
	str(1, s.Path)
	str(2, s.Person)
	str(3, s.Source)
	str(4, s.Subset)
	str(5, s.Race)
	i8(6, s.Mask)
	i8(7, s.Gender)
	i8(8, s.AgeGroup)
	i8(9, s.Label)
	b.Field(10).(*array.Int16Builder).Append(s.Age)
}

// boxColumns are the indices of the BoxFields in schema, nil unless it
// has all four.
func boxColumns(schema *arrow.Schema) []int {
	out := make([]int, len(BoxFields))
	for k, f := range BoxFields {
		idx := schema.FieldIndices(f.Name)
		if len(idx) != 1 || !arrow.TypeEqual(schema.Field(idx[0]).Type, f.Type) {
			return nil
		}
		out[k] = idx[0]
	}
	return out
}

// fill sets each sample's field from a's valid values (set).
func fill[T any, A interface {
	IsValid(int) bool
	Value(int) T
}](out []Sample, a A, set func(*Sample, T)) {
	for i := range out {
		if a.IsValid(i) {
			set(&out[i], a.Value(i))
		}
	}
}

// Samples reads the core columns, the origin (Origins) and the box
// (BoxFields) of a record batch back into samples. Columns the batch lacks stay empty / unknown.
func Samples(rec arrow.RecordBatch) []Sample {
	n := int(rec.NumRows())
	out := make([]Sample, n)
	for i := range out {
		out[i] = NewSample("", "", "", "", "")
	}
	sch := rec.Schema()
	col := func(name string) arrow.Array {
		if idx := sch.FieldIndices(name); len(idx) == 1 {
			return rec.Column(idx[0])
		}
		return nil
	}
	strs := map[string]func(*Sample, string){
		ColID: func(s *Sample, v string) { s.ID = v }, ColPath: func(s *Sample, v string) { s.Path = v },
		ColPerson: func(s *Sample, v string) { s.Person = v }, ColSource: func(s *Sample, v string) { s.Source = v },
		ColSubset: func(s *Sample, v string) { s.Subset = v }, ColRace: func(s *Sample, v string) { s.Race = v },
	}
	for name, set := range strs {
		if a, ok := col(name).(*array.String); ok {
			fill(out, a, set)
		}
	}
	i8s := map[string]func(*Sample, int8){
		ColMask: func(s *Sample, v int8) { s.Mask = v }, ColGender: func(s *Sample, v int8) { s.Gender = v },
		ColAgeGroup: func(s *Sample, v int8) { s.AgeGroup = v }, ColLabel: func(s *Sample, v int8) { s.Label = v },
	}
	for name, set := range i8s {
		if a, ok := col(name).(*array.Int8); ok {
			fill(out, a, set)
		}
	}
	if a, ok := col(ColAge).(*array.Int16); ok {
		fill(out, a, func(s *Sample, v int16) { s.Age = v })
	}
	if idx := boxColumns(sch); idx != nil {
		for i := range out {
			v := [4]int{}
			ok := true
			for k, c := range idx {
				a := rec.Column(c).(*array.Int32)
				v[k] = int(a.Value(i))
				ok = ok && a.IsValid(i) && v[k] >= 0
			}
			if ok {
				out[i].Box = image.Rect(v[0], v[1], v[2], v[3])
			}
		}
	}
	for i, o := range Origins(rec) {
		out[i].Origin = o
	}
	return out
}
