// Package table is the Arrow sample table that facet programs pass to each
// other: its schema, its rows, and reading and writing it as an Arrow IPC
// stream (pipes), an Arrow IPC file (files at rest) or CSV (people).
//
// One row is one image. Programs add columns and pass every other column
// through untouched, so a column added upstream survives the whole pipe.
// Reading checks that a stream really ended (see Reader), so a crashed
// upstream stage is an error, never a quietly shorter table.
package table

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/boostershot/facet/internal/label"
)

// SchemaVersion is the version of the sample table layout this code writes;
// tables with a newer version are refused.
const SchemaVersion = 1

// Schema metadata keys.
const (
	MetaVersion = "facet.schema_version"
	MetaAgeBins = "facet.age_bins"
)

// Core column names.
const (
	ColID       = "id"
	ColPath     = "path"
	ColPerson   = "person"
	ColSource   = "source"
	ColSubset   = "subset"
	ColRace     = "race"
	ColMask     = "mask"
	ColGender   = "gender"
	ColAgeGroup = "age_group"
	ColLabel    = "label"
	ColAge      = "age"
)

// CoreFields are the columns facet-prep writes, in order. Label parts are
// int8 and age is int16, with -1 for unknown (never null), so every Arrow
// reader sees plain integers.
var CoreFields = []arrow.Field{
	{Name: ColID, Type: arrow.BinaryTypes.String},
	{Name: ColPath, Type: arrow.BinaryTypes.String},
	{Name: ColPerson, Type: arrow.BinaryTypes.String},
	{Name: ColSource, Type: arrow.BinaryTypes.String},
	{Name: ColSubset, Type: arrow.BinaryTypes.String},
	{Name: ColRace, Type: arrow.BinaryTypes.String},
	{Name: ColMask, Type: arrow.PrimitiveTypes.Int8},
	{Name: ColGender, Type: arrow.PrimitiveTypes.Int8},
	{Name: ColAgeGroup, Type: arrow.PrimitiveTypes.Int8},
	{Name: ColLabel, Type: arrow.PrimitiveTypes.Int8},
	{Name: ColAge, Type: arrow.PrimitiveTypes.Int16},
}

// BoxFields are the columns of a given face box in photo pixels (x1, y1
// exclusive), which facet-prep writes for a source of annotated boxes and
// facet-crop --boxes crops; -1 where a row has no box.
var BoxFields = []arrow.Field{
	{Name: "box_x0", Type: arrow.PrimitiveTypes.Int32},
	{Name: "box_y0", Type: arrow.PrimitiveTypes.Int32},
	{Name: "box_x1", Type: arrow.PrimitiveTypes.Int32},
	{Name: "box_y1", Type: arrow.PrimitiveTypes.Int32},
}

// NewSchema is the core schema with its metadata (version, age bins),
// and the extra fields after the core ones.
func NewSchema(bins label.Bins, extra ...arrow.Field) *arrow.Schema {
	md := arrow.NewMetadata(
		[]string{MetaVersion, MetaAgeBins},
		[]string{strconv.Itoa(SchemaVersion), bins.String()},
	)
	return arrow.NewSchema(append(append([]arrow.Field(nil), CoreFields...), extra...), &md)
}

// AgeBins reads the age bins from a schema's metadata, DefaultBins when the
// table does not say (a table written by another tool).
func AgeBins(s *arrow.Schema) (label.Bins, error) {
	md := s.Metadata()
	i := md.FindKey(MetaAgeBins)
	if i < 0 {
		return label.DefaultBins, nil
	}
	return label.ParseBins(md.Values()[i])
}

// Check verifies that a schema holds the named columns with the types facet
// gives them (core columns) and that its version is one this code reads.
func Check(s *arrow.Schema, required ...string) error {
	md := s.Metadata()
	if i := md.FindKey(MetaVersion); i >= 0 {
		v, err := strconv.Atoi(md.Values()[i])
		if err != nil {
			return fmt.Errorf("table metadata %s=%q is not a number", MetaVersion, md.Values()[i])
		}
		if v > SchemaVersion {
			return fmt.Errorf("table has schema version %d, this facet reads up to %d: upgrade facet", v, SchemaVersion)
		}
	}
	for _, name := range required {
		if !s.HasField(name) {
			return fmt.Errorf("table has no %q column (columns: %s)", name, columnList(s))
		}
	}
	for _, f := range CoreFields {
		idx := s.FieldIndices(f.Name)
		if len(idx) > 1 {
			return fmt.Errorf("table has %d columns named %q", len(idx), f.Name)
		}
		if len(idx) == 1 && !arrow.TypeEqual(s.Field(idx[0]).Type, f.Type) {
			return fmt.Errorf("column %q is %s, want %s", f.Name, s.Field(idx[0]).Type, f.Type)
		}
	}
	return nil
}

func columnList(s *arrow.Schema) string {
	out := ""
	for i, f := range s.Fields() {
		if i > 0 {
			out += ", "
		}
		out += f.Name
	}
	if out == "" {
		return "none"
	}
	return out
}
