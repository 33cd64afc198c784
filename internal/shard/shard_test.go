package shard

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/table"
)

func TestParse(t *testing.T) {
	for _, ok := range []string{"", "0/1", "3/4"} {
		if _, err := Parse(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"4/4", "-1/3", "1", "a/b", "0/0", "1/2/3"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The shards of a table are disjoint, cover every row, and are about
// equal in size.
func TestShardsPartitionRows(t *testing.T) {
	var ss []table.Sample
	for i := range 3000 {
		ss = append(ss, table.NewSample(fmt.Sprintf("train/%05d/img.jpg", i), "x.jpg", "p", "s", "train"))
	}
	schema := table.NewSchema(label.DefaultBins)
	recs := table.Records(memory.DefaultAllocator, schema, ss)
	seen := map[string]int{}
	for i := range 3 {
		s := Shard{I: i, N: 3}
		n := 0
		for _, rec := range recs {
			part, err := s.Filter(rec)
			if err != nil {
				t.Fatal(err)
			}
			for _, smp := range table.Samples(part) {
				seen[smp.ID]++
				if !s.Has(smp.ID) {
					t.Fatalf("shard %v kept %s", s, smp.ID)
				}
			}
			n += int(part.NumRows())
			part.Release()
		}
		if n < 900 || n > 1100 {
			t.Errorf("shard %v holds %d of 3000 rows", s, n)
		}
	}
	if len(seen) != len(ss) {
		t.Fatalf("the shards hold %d distinct rows of %d", len(seen), len(ss))
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s in %d shards", id, c)
		}
	}
	all, err := Shard{}.Filter(recs[0])
	if err != nil || all.NumRows() != recs[0].NumRows() {
		t.Fatalf("the zero shard dropped rows: %v", err)
	}
}
