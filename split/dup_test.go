package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/dup"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

// hashedTable is n rows, each its own person (as UTKFace is), with a
// crop_hash column: random hashes, except that row dst of each plant is
// a duplicate of row src (flips bits flipped) with other labels.
func hashedTable(t *testing.T, n int, plants [][3]int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 9))
	bins := label.DefaultBins
	var samples []table.Sample
	hashes := make([]uint64, n)
	for i := range n {
		s := table.NewSample(fmt.Sprintf("r%04d", i), "/x.jpg", fmt.Sprintf("p%04d", i), "utkface", "train")
		s.SetLabels(2, int8(i%2), 5+i*13%70, bins)
		samples = append(samples, s)
		hashes[i] = rng.Uint64()
	}
	for _, p := range plants {
		src, dst, flips := p[0], p[1], p[2]
		hashes[dst] = hashes[src]
		for b := range flips {
			hashes[dst] ^= 1 << (b * 7)
		}
	}
	schema := table.NewSchema(bins)
	fields := []arrow.Field{{Name: dup.ColHash, Type: arrow.PrimitiveTypes.Uint64, Nullable: true}}
	ext := table.ExtendSchema(schema, fields)
	var buf bytes.Buffer
	w, err := table.NewWriter(&buf, ext, table.Stream)
	if err != nil {
		t.Fatal(err)
	}
	row := 0
	for _, rec := range table.Records(memory.DefaultAllocator, schema, samples) {
		b := array.NewUint64Builder(memory.DefaultAllocator)
		for range rec.NumRows() {
			b.Append(hashes[row])
			row++
		}
		col := b.NewArray()
		out, err := table.Extend(rec, ext, fields, []arrow.Array{col})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(out); err != nil {
			t.Fatal(err)
		}
		out.Release()
		col.Release()
		b.Release()
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// foldsAndGroups reads id -> fold and id -> dup_group ("" when null or
// absent).
func foldsAndGroups(t *testing.T, data []byte) (map[string]int8, map[string]string) {
	t.Helper()
	r, err := table.NewReader(bytes.NewReader(data), "id", "fold")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	fold, group := map[string]int8{}, map[string]string{}
	for r.Next() {
		rec := r.RecordBatch()
		ids := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.String)
		fs := rec.Column(rec.Schema().FieldIndices("fold")[0]).(*array.Int8)
		var gs *array.String
		if idx := rec.Schema().FieldIndices(dup.ColGroup); len(idx) == 1 {
			gs = rec.Column(idx[0]).(*array.String)
		}
		for i := range ids.Len() {
			fold[ids.Value(i)] = fs.Value(i)
			if gs != nil && gs.IsValid(i) {
				group[ids.Value(i)] = gs.Value(i)
			}
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return fold, group
}

func TestSplitKeepsDuplicatesTogether(t *testing.T) {
	// 40 planted pairs and one chain of three, each row a person of its own.
	var plants [][3]int
	for i := range 40 {
		plants = append(plants, [3]int{i, 100 + i*5, 1 + i%4})
	}
	plants = append(plants, [3]int{50, 51, 2}, [3]int{51, 52, 2})
	in := hashedTable(t, 400, plants)
	for _, tc := range []struct {
		name       string
		args       []string
		together   bool // every planted pair in one fold, with a dup_group
		wantReport string
	}{
		{"default distance", []string{"-k", "5"}, true, "duplicates (crop_hash within 4 bits): 41 groups, 83 rows"},
		{"validation split", []string{"--val", "0.2", "--seed", "3"}, true, "41 groups, 83 rows"},
		{"distance 2 links only the close ones", []string{"-k", "5", "--dup-distance", "2"}, false, "21 groups, 43 rows"},
		{"off", []string{"-k", "5", "--dup-distance", "0"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := runSplit(t, in, tc.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if !strings.Contains(stderr, tc.wantReport) {
				t.Errorf("report lacks %q:\n%s", tc.wantReport, stderr)
			}
			if tc.wantReport == "" && strings.Contains(stderr, "duplicates") {
				t.Errorf("--dup-distance 0 still reports duplicates:\n%s", stderr)
			}
			fold, group := foldsAndGroups(t, out)
			apart := 0
			for _, p := range plants {
				a, b := fmt.Sprintf("r%04d", p[0]), fmt.Sprintf("r%04d", p[1])
				if fold[a] != fold[b] {
					apart++
				}
				if tc.together && (group[a] == "" || group[a] != group[b]) {
					t.Errorf("%s and %s: dup_group %q and %q, want one", a, b, group[a], group[b])
				}
			}
			if tc.together && apart > 0 {
				t.Errorf("%d planted duplicates cross folds", apart)
			}
			if !tc.together && tc.wantReport == "" && len(group) > 0 {
				t.Errorf("dup_group set on %d rows with --dup-distance 0", len(group))
			}
			if g := group["r0052"]; tc.together && g != "r0050" {
				t.Errorf("chain r0050-r0051-r0052: dup_group %q, want r0050 (the group's first row)", g)
			}
		})
	}
}

func TestSplitDuplicateHashType(t *testing.T) {
	// A crop_hash of another type is refused, not misread.
	bins := label.DefaultBins
	s := table.NewSample("a", "/x.jpg", "a", "csv", "train")
	schema := table.NewSchema(bins)
	fields := []arrow.Field{{Name: dup.ColHash, Type: arrow.BinaryTypes.String}}
	ext := table.ExtendSchema(schema, fields)
	var buf bytes.Buffer
	w, _ := table.NewWriter(&buf, ext, table.Stream)
	for _, rec := range table.Records(memory.DefaultAllocator, schema, []table.Sample{s, s}) {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		b.AppendValues([]string{"x", "y"}, nil)
		col := b.NewArray()
		out, err := table.Extend(rec, ext, fields, []arrow.Array{col})
		if err != nil {
			t.Fatal(err)
		}
		_ = w.Write(out)
	}
	_ = w.Close()
	_, _, err := runSplit(t, buf.Bytes(), "-k", "2", "--by", "id")
	if err == nil || !strings.Contains(err.Error(), "want uint64") {
		t.Errorf("err = %v, want a complaint about the type", err)
	}
}
