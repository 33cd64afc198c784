// Package shard splits a table's rows between machines: --shard i/n keeps
// the rows whose id hashes to i among n, so n runs of one stage with
// i = 0..n-1 (Kubernetes indexed Jobs, Slurm array tasks, GNU parallel)
// each take a disjoint part and together take every row once, whatever
// the order or batching of their input. facet-merge join puts the parts
// back together.
package shard

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/boostershot/facet/internal/table"
)

// Shard is part I of N (0 <= I < N). The zero value is "everything".
type Shard struct{ I, N int }

// Parse reads "i/n" ("" is everything).
func Parse(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard %q: want i/n with 0 <= i < n, e.g. 0/4", s)
	}
	return Shard{I: i, N: n}, nil
}

// All reports whether the shard is the whole table.
func (s Shard) All() bool { return s.N <= 1 }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// Has reports whether the row with this id belongs to the shard: the
// FNV-1a hash of the id, modulo N, is I.
func (s Shard) Has(id string) bool {
	if s.All() {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()%uint64(s.N) == uint64(s.I)
}

// Filter returns rec's rows that belong to the shard (rec itself, retained,
// when the shard is everything). The caller releases the result.
func (s Shard) Filter(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if s.All() {
		rec.Retain()
		return rec, nil
	}
	idx := rec.Schema().FieldIndices(table.ColID)
	if len(idx) != 1 {
		return nil, fmt.Errorf("--shard: the table has no single %s column", table.ColID)
	}
	ids, ok := rec.Column(idx[0]).(*array.String)
	if !ok {
		return nil, fmt.Errorf("--shard: column %s is %s, want utf8", table.ColID, rec.Column(idx[0]).DataType())
	}
	keep := make([]bool, ids.Len())
	for i := range keep {
		keep[i] = s.Has(ids.Value(i))
	}
	return table.Filter(rec, keep)
}
