package main

import (
	"encoding/csv"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/dup"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// dupRowSpec is one row of a duplicate test table.
type dupRowSpec struct {
	id           string
	gender, mask int8
	age          int
	group        string // dup_group ("" null)
	hash         uint64
}

// writeDupTable writes rows with dup_group (withGroup) or crop_hash.
func writeDupTable(t *testing.T, rows []dupRowSpec, withGroup bool) string {
	t.Helper()
	bins := label.DefaultBins
	var samples []table.Sample
	for _, r := range rows {
		s := table.NewSample(r.id, "/x/"+r.id+".jpg", r.id, "utkface", "train")
		s.SetLabels(r.mask, r.gender, r.age, bins)
		samples = append(samples, s)
	}
	schema := table.NewSchema(bins)
	var field arrow.Field
	var col arrow.Array
	if withGroup {
		field = arrow.Field{Name: dup.ColGroup, Type: arrow.BinaryTypes.String, Nullable: true}
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for _, r := range rows {
			if r.group == "" {
				b.AppendNull()
			} else {
				b.Append(r.group)
			}
		}
		col = b.NewArray()
	} else {
		field = arrow.Field{Name: dup.ColHash, Type: arrow.PrimitiveTypes.Uint64, Nullable: true}
		b := array.NewUint64Builder(memory.DefaultAllocator)
		for _, r := range rows {
			b.Append(r.hash)
		}
		col = b.NewArray()
	}
	defer col.Release()
	ext := table.ExtendSchema(schema, []arrow.Field{field})
	var recs []arrow.RecordBatch
	for _, rec := range table.Records(memory.DefaultAllocator, schema, samples) {
		out, err := table.Extend(rec, ext, []arrow.Field{field}, []arrow.Array{col})
		if err != nil {
			t.Fatal(err)
		}
		rec.Release()
		recs = append(recs, out)
	}
	return writeRecords(t, filepath.Join(t.TempDir(), "dups.arrow"), ext, recs)
}

func TestSuspectsDuplicates(t *testing.T) {
	rows := []dupRowSpec{
		{id: "a", gender: 0, mask: 2, age: 26, group: "a", hash: 0xff},
		{id: "b", gender: 1, mask: 2, age: 80, group: "a", hash: 0xfe},
		{id: "c", gender: 1, mask: 2, age: 30, group: "c", hash: 0xffff0000},
		{id: "d", gender: 1, mask: 2, age: 32, group: "c", hash: 0xffff0001},
		{id: "e", gender: 0, mask: 2, age: 40, hash: 0x0f0f0f0f00000000},
		{id: "f", gender: 1, mask: 2, age: 41, hash: 0xf0f0f0f000000000},
	}
	want := []string{
		"id,b,gender,male,duplicate of a: gender female vs male (no majority: check which is right)",
		"id,b,age_group,0,duplicate of a: age_group 2 vs 0 (no majority: check which is right)",
		"id,b,age,26,duplicate of a: age 80 vs 26 (no majority: check which is right)",
	}
	for _, tc := range []struct {
		name      string
		withGroup bool
		args      []string
		want      []string
	}{
		{"from dup_group", true, nil, want},
		{"from crop_hash", false, nil, want},
		{"crop_hash check off", false, []string{"--dup-distance", "0"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeDupTable(t, rows, tc.withGroup)
			out, stderr, err := runMerge(t, nil, append(append([]string{"suspects"}, tc.args...), path)...)
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), "out-of-fold predictions") {
					t.Fatalf("err = %v, want a complaint about missing predictions", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			lines, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range lines[1:] {
				got = append(got, strings.Join(l[:5], ","))
			}
			// age_group names: the label package's; compare loosely on them.
			for i := range got {
				got[i] = normaliseAgeGroup(got[i])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("suspects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if !strings.Contains(stderr, "duplicates: 2 groups, 1 with conflicting labels (3 rows listed)") {
				t.Errorf("report:\n%s", stderr)
			}
		})
	}
}

// normaliseAgeGroup writes age_group class names as their numbers.
func normaliseAgeGroup(line string) string {
	f := strings.SplitN(line, ",", 5)
	if f[2] != "age_group" {
		return line
	}
	for c := range int8(3) {
		name := label.Name(label.HeadAgeGroup, c)
		num := string(rune('0' + c))
		f[3] = strings.ReplaceAll(f[3], name, num)
		f[4] = strings.ReplaceAll(f[4], " "+name+" ", " "+num+" ")
		f[4] = strings.ReplaceAll(f[4], " "+name+" (", " "+num+" (")
	}
	return strings.Join(f, ",")
}
